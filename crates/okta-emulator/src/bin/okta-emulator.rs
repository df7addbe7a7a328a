//! `okta-emulator`: serve a synthetic Okta org, write OAuth key pairs, or benchmark.

use anyhow::{Context, bail};
use clap::{Args, Parser, Subcommand};
use okta_emulator::config::{DEFAULT_TOKEN, OAuthClientConfig};
use okta_emulator::{EmulatorConfig, OrgSize, RateLimitMode};
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Concurrent HTTP clients the benchmark drives the server with.
const BENCH_CLIENTS: usize = 8;

#[derive(Parser, Debug)]
#[command(
    name = "okta-emulator",
    version,
    about = "A faithful Okta Management API emulator"
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve an org (the default when no subcommand is given).
    Serve(Box<ServeArgs>),
    /// Write an OAuth key pair (PEM and JWK) for a service app.
    Keygen {
        /// Directory to write the key files into.
        #[arg(long)]
        out: PathBuf,
        /// RS256 or ES256.
        #[arg(long, default_value = "RS256")]
        alg: String,
    },
    /// Measure generation time, memory held and pages/s of `GET /api/v1/users?limit=200`.
    Bench {
        #[arg(long, value_enum, default_value = "large")]
        size: OrgSize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Seconds to drive the server for.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Concurrent clients.
        #[arg(long, default_value_t = BENCH_CLIENTS)]
        clients: usize,
    },
}

#[derive(Args, Debug, Clone)]
struct ServeArgs {
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// 0 picks a free port.
    #[arg(long, default_value_t = 0)]
    port: u16,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, value_enum, default_value = "tiny")]
    size: OrgSize,
    /// Number of users (overrides --size).
    #[arg(long)]
    users: Option<usize>,
    #[arg(long)]
    groups: Option<usize>,
    #[arg(long)]
    apps: Option<usize>,
    /// An accepted SSWS API token of a Super Admin (repeatable). Without any, the demo token
    /// is accepted.
    #[arg(long = "token")]
    tokens: Vec<String>,
    /// An accepted SSWS API token of an admin who is not a Super Admin, such as a Group Admin
    /// (repeatable): refused (403 E0000006) membership changes of groups holding admin roles
    /// and group rule changes.
    #[arg(long = "non-super-admin-token", value_name = "TOKEN")]
    non_super_admin_tokens: Vec<String>,
    /// A TOML file of OAuth service apps: `[[client]]` tables with client_id, scopes,
    /// require_dpop, either public_jwk or public_key_pem_file (private_key_jwt) or
    /// client_secret (client_secret_basic / client_secret_post), and super_admin (default
    /// true; false for an app whose admin role is not Super Admin).
    #[arg(long)]
    oauth_config: Option<PathBuf>,
    /// off, workforce, or a TOML file of bucket limits.
    #[arg(long, default_value = "off")]
    rate_limits: String,
    /// Share of each bucket one principal may use.
    #[arg(long, default_value_t = 0.5)]
    principal_share: f64,
    #[arg(long, default_value_t = 75)]
    concurrency_limit: usize,
    /// A rate-limit window lasts 60/K seconds.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Added latency per request (with jitter).
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// Share of requests that fail.
    #[arg(long, default_value_t = 0.0)]
    fault_rate: f64,
    #[arg(long, default_value_t = 1)]
    fault_seed: u64,
    /// The generated org's "now" (RFC 3339, e.g. 2026-11-01T00:00:00Z): its timestamps and
    /// month of System Log history end here. Default: the time the emulator starts. Give the
    /// same --seed and --anchor for byte-identical exports across runs.
    #[arg(long, value_name = "TIME", value_parser = parse_anchor)]
    anchor: Option<chrono::DateTime<chrono::Utc>>,
    /// Normal sign-ins per minute written to the System Log in the background as time passes
    /// (0: none). About 3 a day per ACTIVE user is an org's usual rate (a medium org: 16).
    #[arg(long, default_value_t = 0.0, value_name = "N")]
    activity_rate: f64,
    /// Minutes of normal sign-in activity the generated history ends with (0: none), at
    /// --activity-rate, or at the org's usual rate when that is 0.
    #[arg(long, default_value_t = 0, value_name = "MINUTES")]
    activity_minutes: u64,
    /// Serve HTTPS with a fresh self-signed certificate, written as PEM to this file.
    #[arg(long, value_name = "CERTFILE")]
    tls: Option<PathBuf>,
}

#[derive(serde::Deserialize)]
struct OAuthFile {
    #[serde(default, alias = "clients")]
    client: Vec<OAuthClientEntry>,
}

/// One `[[client]]` table: the client, and whether its admin role is Super Admin.
#[derive(serde::Deserialize)]
struct OAuthClientEntry {
    #[serde(flatten)]
    client: OAuthClientConfig,
    #[serde(default = "super_admin_by_default")]
    super_admin: bool,
}

fn super_admin_by_default() -> bool {
    true
}

impl ServeArgs {
    fn to_config(&self) -> anyhow::Result<EmulatorConfig> {
        let rate_limits = match self.rate_limits.as_str() {
            "off" => RateLimitMode::Off,
            "workforce" => RateLimitMode::Workforce,
            path => RateLimitMode::File(PathBuf::from(path)),
        };
        let clients = match &self.oauth_config {
            None => Vec::new(),
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading --oauth-config {}", path.display()))?;
                let file: OAuthFile = toml::from_str(&text).with_context(|| {
                    format!(
                        "parsing --oauth-config {} (expected [[client]] tables)",
                        path.display()
                    )
                })?;
                file.client
            }
        };
        let non_super_admin_clients = clients
            .iter()
            .filter(|c| !c.super_admin)
            .map(|c| c.client.client_id.clone())
            .collect();
        let oauth_clients = clients.into_iter().map(|c| c.client).collect();
        let tokens = if self.tokens.is_empty() {
            vec![DEFAULT_TOKEN.to_string()]
        } else {
            self.tokens.clone()
        };
        Ok(EmulatorConfig {
            host: self.host.clone(),
            port: self.port,
            seed: self.seed,
            size: self.size,
            users: self.users,
            groups: self.groups,
            apps: self.apps,
            tokens,
            non_super_admin_tokens: self.non_super_admin_tokens.clone(),
            oauth_clients,
            non_super_admin_clients,
            rate_limits,
            principal_share: self.principal_share,
            concurrency_limit: self.concurrency_limit,
            time_scale: self.time_scale,
            latency_ms: self.latency_ms,
            fault_rate: self.fault_rate,
            fault_seed: self.fault_seed,
            anchor: self.anchor,
            activity_rate: self.activity_rate,
            activity_minutes: self.activity_minutes,
            ..EmulatorConfig::default()
        })
    }
}

fn parse_anchor(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|e| format!("{e}: give an RFC 3339 time such as 2026-11-01T00:00:00Z"))
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Keygen { out, alg }) => okta_emulator::gate::keygen::run(&out, &alg),
        Some(Command::Bench {
            size,
            seed,
            seconds,
            clients,
        }) => runtime()?.block_on(bench(size, seed, seconds, clients)),
        Some(Command::Serve(args)) => runtime()?.block_on(serve(*args)),
        None => runtime()?.block_on(serve(cli.serve)),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let config = args.to_config()?;
    let emulator = match &args.tls {
        Some(cert) => okta_emulator::start_tls(config, cert).await?,
        None => okta_emulator::start(config).await?,
    };
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "okta-emulator listening on {}", emulator.base_url())?;
        out.flush()?;
    }
    tokio::signal::ctrl_c()
        .await
        .context("waiting for Ctrl-C")?;
    emulator.shutdown().await;
    Ok(())
}

/// Resident memory of this process in KiB (Linux `/proc/self/status` VmRSS).
fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU seconds (user + system) this process has used, from `/proc/self/stat` (100 ticks/s).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

async fn bench(size: OrgSize, seed: u64, seconds: u64, clients: usize) -> anyhow::Result<()> {
    let rss_before = rss_kib().unwrap_or(0);
    let started = Instant::now();
    let gen_cpu0 = cpu_seconds().unwrap_or(0.0);
    let config = EmulatorConfig {
        seed,
        size,
        ..EmulatorConfig::default()
    };
    let org = okta_emulator::server::build_org(&config).await?;
    let generate_s = started.elapsed().as_secs_f64();
    let generate_cpu = cpu_seconds().unwrap_or(0.0) - gen_cpu0;
    let rss_after = rss_kib().unwrap_or(0);
    let (users, groups, memberships) = (
        org.users.len(),
        org.groups.len(),
        org.members.values().map(|m| m.len()).sum::<usize>(),
    );
    println!(
        "generate {size:?} (seed {seed}): {generate_s:.2} s ({generate_cpu:.2} s CPU); {users} users, {groups} groups, {memberships} memberships"
    );
    let active_rules = org
        .rules
        .values()
        .filter(|r| r.status == okta_emulator::model::RuleStatus::Active)
        .count();
    println!(
        "group rules: {} ({active_rules} ACTIVE), holding {} memberships",
        org.rules.len(),
        org.rule_memberships.len()
    );
    println!(
        "memory held by the org: {:.1} MiB (RSS delta)",
        (rss_after.saturating_sub(rss_before)) as f64 / 1024.0
    );
    let emulator = okta_emulator::server::start_with_org(config, org).await?;
    let base = emulator.base_url();
    let token = emulator.token().to_string();
    if clients == 0 {
        bail!("--clients must be at least 1");
    }
    let pages = Arc::new(AtomicU64::new(0));
    let bytes = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (pages, bytes, base, token) =
            (pages.clone(), bytes.clone(), base.clone(), token.clone());
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::builder().build()?;
            let first = format!("{base}/api/v1/users?limit=200");
            let mut url = first.clone();
            while Instant::now() < deadline {
                let resp = http
                    .get(&url)
                    .header("Authorization", format!("SSWS {token}"))
                    .send()
                    .await?;
                if !resp.status().is_success() {
                    bail!("GET {url}: {}", resp.status());
                }
                let next = resp
                    .headers()
                    .get_all("link")
                    .iter()
                    .filter_map(|v| v.to_str().ok())
                    .find(|v| v.contains("rel=\"next\""))
                    .and_then(|v| {
                        v.split_once('<')
                            .and_then(|(_, r)| r.split_once('>'))
                            .map(|(u, _)| u.to_string())
                    });
                let body = resp.bytes().await?;
                bytes.fetch_add(body.len() as u64, Ordering::Relaxed);
                pages.fetch_add(1, Ordering::Relaxed);
                url = next.unwrap_or_else(|| first.clone());
            }
            anyhow::Ok(())
        }));
    }
    let t0 = Instant::now();
    let cpu0 = cpu_seconds().unwrap_or(0.0);
    for t in tasks {
        t.await??;
    }
    let elapsed = t0.elapsed().as_secs_f64();
    let n = pages.load(Ordering::Relaxed);
    let cpu = cpu_seconds().unwrap_or(0.0) - cpu0;
    println!(
        "served {n} pages of GET /api/v1/users?limit=200 in {elapsed:.2} s with {clients} clients: {:.0} pages/s ({:.1} MiB/s)",
        n as f64 / elapsed,
        bytes.load(Ordering::Relaxed) as f64 / elapsed / 1_048_576.0
    );
    // The machine may be shared: CPU time per page (server and clients together) says what
    // two idle cores would do.
    if n > 0 && cpu > 0.0 {
        let per_page_ms = cpu * 1000.0 / n as f64;
        println!(
            "cpu {cpu:.2} s for {n} pages (server + clients): {per_page_ms:.3} ms per page, about {:.0} pages/s on 2 idle cores",
            2000.0 / per_page_ms
        );
    }
    emulator.shutdown().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_clients_that_are_not_super_admins_come_from_flags_and_the_oauth_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("clients.toml");
        std::fs::write(
            &file,
            "[[client]]\nclient_id = \"0oa-admin\"\nscopes = [\"okta.groups.manage\"]\nclient_secret = \"s1\"\n\n\
             [[client]]\nclient_id = \"0oa-helpdesk\"\nscopes = [\"okta.groups.manage\"]\nclient_secret = \"s2\"\nsuper_admin = false\n",
        )
        .unwrap();
        let cli = Cli::try_parse_from([
            "okta-emulator",
            "--token",
            "00super",
            "--non-super-admin-token",
            "00group-admin",
            "--oauth-config",
            file.to_str().unwrap(),
        ])
        .unwrap();
        let config = cli.serve.to_config().unwrap();
        assert_eq!(config.tokens, ["00super"]);
        assert_eq!(config.non_super_admin_tokens, ["00group-admin"]);
        let ids: Vec<&str> = config
            .oauth_clients
            .iter()
            .map(|c| c.client_id.as_str())
            .collect();
        assert_eq!(ids, ["0oa-admin", "0oa-helpdesk"]);
        assert_eq!(config.non_super_admin_clients, ["0oa-helpdesk"]);
    }
}
