//! `oktasync bench`: sync a seeded emulated org (the emulator in its own process, so that
//! this process's peak memory is oktasync's alone) and report speed, calls and memory.

use crate::cli::{BenchArgs, BenchRateLimits, BenchSize};
use crate::output::{print_json, write_stdout};
use crate::sync;
use anyhow::{Context, Result, bail};
use okta_api::{ClientConfig, Credentials, OktaClient, OrgUrl, SecretString};
use oktasync_engine::bench::{BenchReport, peak_memory_bytes};
use oktasync_engine::{Resource, RunSummary, SyncMode, SyncOptions};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::process::{ExitCode, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// How long a spawned emulator may take to generate its org and start listening (`large`
/// generates in seconds; a debug build is slower).
const EMULATOR_START_TIMEOUT: Duration = Duration::from_secs(600);

/// The API token given to a spawned emulator.
const BENCH_TOKEN: &str = "00oktasync-bench-token";

/// One bucket of the emulator's `GET /__emulator/stats`.
#[derive(Debug, Deserialize)]
struct BucketStats {
    requests: u64,
    #[serde(default)]
    throttled: u64,
    /// This principal's share per window.
    limit: u64,
    window_s: f64,
}

#[derive(Debug, Deserialize)]
struct EmulatorStats {
    buckets: BTreeMap<String, BucketStats>,
}

/// What the rate limits allow for the calls made, per bucket.
#[derive(Debug, Serialize)]
pub struct BucketFloor {
    pub bucket: String,
    pub calls: u64,
    pub limit_per_window: u64,
    pub window_s: f64,
    /// ceil(calls / limit_per_window)
    pub windows: u64,
    /// A bucket needing n windows can make its last call no earlier than the start of its
    /// n-th window: (n - 1) × window_s.
    pub floor_s: f64,
    pub http_429: u64,
}

#[derive(Debug, Serialize)]
pub struct RateLimitReport {
    /// The slowest bucket's floor: the least time the rate limits allow for the calls made.
    pub allowed_s: f64,
    /// Wall seconds / allowed seconds (1.0 is as fast as the limits allow).
    pub ratio: Option<f64>,
    pub buckets: Vec<BucketFloor>,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub size: String,
    pub seed: u64,
    pub rate_limits: String,
    pub time_scale: f64,
    pub latency_ms: u64,
    #[serde(flatten)]
    pub bench: BenchReport,
    pub objects: u64,
    pub summary: RunSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate_limited: Option<RateLimitReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub incremental: Option<IncrementalReport>,
}

/// `--churn-users-pct`: an incremental sync after churn, and the reconcile that checks it.
#[derive(Debug, Serialize)]
pub struct IncrementalReport {
    pub churn_ops: u64,
    /// System Log events the churn wrote.
    pub churn_events: u64,
    pub incremental_kind: String,
    pub incremental_events: Option<u64>,
    pub incremental_api_calls: u64,
    pub full_api_calls: u64,
    /// incremental_api_calls / full_api_calls
    pub calls_fraction: f64,
    pub incremental_wall_s: f64,
    pub rows_changed: u64,
    /// Rows the following `sync --full` had to change (0 for an exact incremental sync).
    pub drift: u64,
    pub reconcile_wall_s: f64,
}

#[derive(Debug, Deserialize)]
struct ChurnReply {
    #[serde(default)]
    events: u64,
}

async fn churn(url: &str, token: &str, seed: u64, ops: u64) -> Result<ChurnReply> {
    let response = reqwest::Client::new()
        .post(format!("{}/__emulator/churn", url.trim_end_matches('/')))
        .header("Authorization", format!("SSWS {token}"))
        .json(&serde_json::json!({"seed": seed, "ops": ops}))
        .send()
        .await
        .context("cannot ask the emulator to churn")?;
    if !response.status().is_success() {
        bail!("the emulator's churn answered HTTP {}", response.status());
    }
    response
        .json()
        .await
        .context("unexpected emulator churn reply")
}

async fn incremental_round(
    args: &BenchArgs,
    pct: f64,
    client: &OktaClient,
    db: &oktasync_store::DbLocation,
    opts: &SyncOptions,
    (url, token): (&str, &str),
    full: &RunSummary,
) -> Result<IncrementalReport> {
    let users = full.count(Resource::Users).unwrap_or(0);
    let churn_ops = ((users as f64) * pct / 100.0).round().max(1.0) as u64;
    let reply = churn(url, token, args.seed.wrapping_add(1000), churn_ops).await?;
    eprintln!(
        "Churned {churn_ops} operations ({} events); syncing incrementally...",
        reply.events
    );
    let inc = match sync::run(
        client,
        db,
        opts,
        SyncMode::Auto,
        None,
        sync::WhenHeld::Refuse,
    )
    .await?
    {
        Ok(s) => s,
        Err((_, message)) => bail!("the incremental sync failed: {message}"),
    };
    eprintln!("Reconciling with a full sync...");
    let rec = match sync::run(
        client,
        db,
        opts,
        SyncMode::Full,
        None,
        sync::WhenHeld::Refuse,
    )
    .await?
    {
        Ok(s) => s,
        Err((_, message)) => bail!("the reconcile failed: {message}"),
    };
    let total = |s: &RunSummary| s.changes.values().map(|c| c.total()).sum::<u64>();
    Ok(IncrementalReport {
        churn_ops,
        churn_events: reply.events,
        incremental_kind: inc.kind.to_string(),
        incremental_events: inc.events,
        incremental_api_calls: inc.api_calls,
        full_api_calls: full.api_calls,
        calls_fraction: inc.api_calls as f64 / full.api_calls.max(1) as f64,
        incremental_wall_s: inc.duration_s,
        rows_changed: total(&inc),
        drift: rec.drift.unwrap_or_else(|| total(&rec)),
        reconcile_wall_s: rec.duration_s,
    })
}

fn size_name(size: BenchSize) -> &'static str {
    match size {
        BenchSize::Tiny => "tiny",
        BenchSize::Small => "small",
        BenchSize::Medium => "medium",
        BenchSize::Large => "large",
    }
}

/// The `okta-emulator` binary built alongside this one.
fn emulator_binary() -> Result<std::path::PathBuf> {
    let exe = std::env::current_exe().context("cannot locate the oktasync executable")?;
    let dir = exe
        .parent()
        .context("the oktasync executable has no directory")?;
    // Test binaries live in target/<profile>/deps; the emulator sits one level up.
    for candidate in [dir.join("okta-emulator"), dir.join("../okta-emulator")] {
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    let profile = if cfg!(debug_assertions) {
        ""
    } else {
        " --release"
    };
    bail!(
        "the okta-emulator binary is not next to oktasync ({}); build it with \
         `cargo build{profile} -p okta-emulator`, or pass --emulator-url URL --token T",
        dir.display()
    )
}

/// Starts the emulator binary and waits for its `listening on http://…` line.
async fn spawn_emulator(args: &BenchArgs) -> Result<(Child, String)> {
    let binary = emulator_binary()?;
    let rate_limits = match args.rate_limits {
        BenchRateLimits::Off => "off",
        BenchRateLimits::Workforce => "workforce",
    };
    let mut child = Command::new(&binary)
        .args(["--port", "0", "--seed", &args.seed.to_string()])
        .args(["--size", size_name(args.size), "--token", BENCH_TOKEN])
        .args(["--rate-limits", rate_limits])
        .args(["--time-scale", &args.time_scale.to_string()])
        .args(["--latency-ms", &args.latency_ms.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let stdout = child.stdout.take().context("no stdout from the emulator")?;
    let mut lines = BufReader::new(stdout).lines();
    let wait = async {
        while let Some(line) = lines.next_line().await? {
            if let Some(rest) = line.split("listening on ").nth(1) {
                let url = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                return Ok::<_, anyhow::Error>(Some(url));
            }
        }
        Ok(None)
    };
    let url = match tokio::time::timeout(EMULATOR_START_TIMEOUT, wait).await {
        Ok(Ok(Some(url))) => url,
        Ok(Ok(None)) => bail!("the emulator exited before it was listening"),
        Ok(Err(e)) => return Err(e),
        Err(_) => bail!(
            "the emulator was not listening after {}s",
            EMULATOR_START_TIMEOUT.as_secs()
        ),
    };
    // Keep draining its stdout so that it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Ok((child, url))
}

async fn fetch_stats(url: &str, token: &str) -> Result<EmulatorStats> {
    let response = reqwest::Client::new()
        .get(format!("{}/__emulator/stats", url.trim_end_matches('/')))
        .header("Authorization", format!("SSWS {token}"))
        .send()
        .await
        .context("cannot read the emulator's stats")?;
    if !response.status().is_success() {
        bail!("the emulator's stats answered HTTP {}", response.status());
    }
    response.json().await.context("unexpected emulator stats")
}

/// Per bucket ceil(calls / limit) windows; the slowest bucket bounds the run.
fn rate_limit_report(stats: &EmulatorStats, wall_s: f64) -> RateLimitReport {
    let mut buckets: Vec<BucketFloor> = stats
        .buckets
        .iter()
        .filter(|(_, b)| b.requests > 0 && b.limit > 0)
        .map(|(name, b)| {
            let windows = b.requests.div_ceil(b.limit);
            BucketFloor {
                bucket: name.clone(),
                calls: b.requests,
                limit_per_window: b.limit,
                window_s: b.window_s,
                windows,
                floor_s: windows.saturating_sub(1) as f64 * b.window_s,
                http_429: b.throttled,
            }
        })
        .collect();
    buckets.sort_by(|a, b| {
        b.floor_s
            .total_cmp(&a.floor_s)
            .then(a.bucket.cmp(&b.bucket))
    });
    let allowed_s = buckets.first().map(|b| b.floor_s).unwrap_or(0.0);
    RateLimitReport {
        allowed_s,
        ratio: (allowed_s > 0.0).then(|| wall_s / allowed_s),
        buckets,
    }
}

pub async fn bench(args: &BenchArgs, json: bool) -> Result<ExitCode> {
    let (child, url, token) = match (&args.emulator_url, &args.token) {
        (Some(url), Some(token)) => (None, url.clone(), token.clone()),
        (Some(_), None) => bail!("--emulator-url needs --token"),
        _ => {
            eprintln!(
                "Starting okta-emulator (size {}, seed {}, rate limits {:?}, time scale {}, latency {} ms)...",
                size_name(args.size),
                args.seed,
                args.rate_limits,
                args.time_scale,
                args.latency_ms
            );
            let (child, url) = spawn_emulator(args).await?;
            (Some(child), url, BENCH_TOKEN.to_owned())
        }
    };
    let dir = tempfile::tempdir().context("cannot create a temporary directory")?;
    // A temporary SQLite file unless --db names a mirror (e.g. a PostgreSQL URL).
    let db = match &args.db {
        Some(db) => {
            oktasync_store::DbLocation::parse(db).map_err(|e| crate::exit::config(e.into()))?
        }
        None => oktasync_store::DbLocation::Sqlite(dir.path().join("bench.db")),
    };
    let client = OktaClient::new(
        OrgUrl::parse(&url)?,
        Credentials::ApiToken(SecretString::from(token.clone())),
        ClientConfig::default(),
    )?;
    let opts = SyncOptions {
        factors: args.factors,
        ..SyncOptions::default()
    };
    eprintln!("Syncing {url} into {db}");
    let summary = match sync::run(
        &client,
        &db,
        &opts,
        SyncMode::Auto,
        None,
        sync::WhenHeld::Refuse,
    )
    .await?
    {
        Ok(summary) => summary,
        Err((_, message)) => bail!("the benchmark sync failed: {message}"),
    };
    let peak = peak_memory_bytes();
    let stats = fetch_stats(&url, &token).await;
    let incremental = match args.churn_users_pct {
        Some(pct) => {
            Some(incremental_round(args, pct, &client, &db, &opts, (&url, &token), &summary).await?)
        }
        None => None,
    };
    if let Some(mut child) = child {
        let _ = child.kill().await;
    }
    let bench = BenchReport::new(&summary, peak);
    let rate_limited = match (args.rate_limits, stats) {
        (BenchRateLimits::Off, _) if args.emulator_url.is_none() => None,
        (_, Ok(stats)) => Some(rate_limit_report(&stats, bench.wall_s)),
        (_, Err(e)) => {
            eprintln!("warning: {e:#}; the rate-limit floor is not reported");
            None
        }
    };
    let report = Report {
        size: size_name(args.size).to_owned(),
        seed: args.seed,
        rate_limits: format!("{:?}", args.rate_limits).to_ascii_lowercase(),
        time_scale: args.time_scale,
        latency_ms: args.latency_ms,
        objects: summary.objects(),
        bench,
        summary,
        rate_limited,
        incremental,
    };
    if json {
        print_json(&report)?;
    } else {
        write_stdout(&describe(&report))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn describe(r: &Report) -> String {
    let b = &r.bench;
    let mut text = format!(
        "oktasync bench: size {}, seed {}, rate limits {}, time scale {}, latency {} ms\n\n",
        r.size, r.seed, r.rate_limits, r.time_scale, r.latency_ms
    );
    let rows: Vec<(&str, String)> = vec![
        ("users", b.users.to_string()),
        ("groups", b.groups.to_string()),
        ("memberships", b.memberships.to_string()),
        ("objects (all resources)", r.objects.to_string()),
        ("API calls", b.api_calls.to_string()),
        ("fewest calls the plan needs", b.fewest_calls.to_string()),
        ("wall seconds", format!("{:.2}", b.wall_s)),
        ("rows per second", format!("{:.0}", b.rows_per_s)),
        (
            "peak memory (oktasync, VmHWM)",
            b.peak_memory_mb
                .map(|m| format!("{m:.1} MB"))
                .unwrap_or_else(|| "not available on this OS".into()),
        ),
        ("HTTP 429s", b.http_429.to_string()),
        ("retries", r.summary.retries.to_string()),
        (
            "rate-limit wait seconds (wall)",
            format!("{:.2}", r.summary.rate_limit_wait_s),
        ),
    ];
    for (k, v) in rows {
        text.push_str(&format!("  {k:<32} {v}\n"));
    }
    if let Some(rl) = &r.rate_limited {
        text.push_str(&format!(
            "\n  time the rate limits allow      {:.2} s\n  wall / allowed                  {}\n\n",
            rl.allowed_s,
            rl.ratio
                .map(|x| format!("{x:.3}"))
                .unwrap_or_else(|| "- (every bucket fit in one window)".into())
        ));
        text.push_str("  bucket                          calls  limit/window  window_s  windows  floor_s  429s\n");
        for bk in &rl.buckets {
            text.push_str(&format!(
                "  {:<30} {:>6} {:>13} {:>9.2} {:>8} {:>8.2} {:>5}\n",
                bk.bucket,
                bk.calls,
                bk.limit_per_window,
                bk.window_s,
                bk.windows,
                bk.floor_s,
                bk.http_429
            ));
        }
    }
    if let Some(i) = &r.incremental {
        text.push_str(&format!(
            "\nAfter churn of {} operations ({} events):\n  \
             incremental run ({})             {} events, {} API calls = {:.2}% of the full sync's {}\n  \
             incremental wall seconds        {:.2}\n  \
             rows changed                    {}\n  \
             drift found by sync --full      {} (reconcile {:.2} s)\n",
            i.churn_ops,
            i.churn_events,
            i.incremental_kind,
            i.incremental_events.unwrap_or(0),
            i.incremental_api_calls,
            i.calls_fraction * 100.0,
            i.full_api_calls,
            i.incremental_wall_s,
            i.rows_changed,
            i.drift,
            i.reconcile_wall_s
        ));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slowest_bucket_sets_the_floor() {
        let stats: EmulatorStats = serde_json::from_value(serde_json::json!({
            "buckets": {
                "users": {"requests": 61, "throttled": 0, "limit": 30, "window_s": 6.0},
                "groups": {"requests": 10, "throttled": 1, "limit": 250, "window_s": 6.0},
                "idle": {"requests": 0, "throttled": 0, "limit": 10, "window_s": 6.0}
            }
        }))
        .unwrap();
        let r = rate_limit_report(&stats, 13.2);
        assert_eq!(r.buckets.len(), 2);
        assert_eq!(r.buckets[0].bucket, "users");
        assert_eq!(r.buckets[0].windows, 3);
        assert_eq!(r.allowed_s, 12.0);
        assert!((r.ratio.unwrap() - 1.1).abs() < 1e-9);
    }
}
