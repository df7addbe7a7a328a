//! Figures for a push of a generated org's users into a real SCIM 2.0 service provider (not a
//! test: it prints; it exits non-zero only when a push fails or reports per-user errors).
//!
//! `cargo bench -p oktasync-push --bench push -- [--users 10000] [--churn 100] [--seed 7]
//! [--kind scim|webhook]`
//!
//! 1. The emulator (in-process, a medium org: about 10,000 users, 1,000 groups) gives the users:
//!    its export's `users` (id, status, profile), each with every group it is in
//!    (`group_members`, names from `groups[].profile.name`); the first `--users` of them (by
//!    id). Every user is in Everyone, so a target whose scope is Everyone receives them all:
//!    the caller does the selection, so all of them are passed.
//! 2. The target: scim2-server (PyPI, as the push tests run it) on 127.0.0.1, or with
//!    `--kind webhook` an in-process receiver that verifies each batch's signature and parses
//!    it; the default attributes plus `title = "{profile.title}"`, and a `group_map` of the
//!    three largest Okta groups (the first one to two target groups), the push state in memory.
//! 3. Pushes: the first (everyone is created); then `--churn` users change (half change
//!    `profile.title`, a quarter leave the selection and are deactivated, a quarter are new
//!    users with fresh ids and logins) and an incremental push; then a push with no change.
//!    Each prints its plan, what it did, the target's HTTP calls by operation, wall time and
//!    users a second.

use okta_emulator::{EmulatorConfig, OrgSize};
use oktasync_push::{
    MemoryPushState, PushOptions, PushReport, SourceGroup, SourceUser, Target, TargetConfig, push,
};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Instant;

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

const TARGET_NAME: &str = "bench-scim";

struct Options {
    users: usize,
    churn: usize,
    seed: u64,
    kind: String,
}

impl Options {
    fn parse() -> std::result::Result<Self, String> {
        let options = Self {
            users: value("--users", 10_000)?,
            churn: value("--churn", 100)?,
            seed: value("--seed", 7)?,
            kind: value("--kind", "scim".to_owned())?,
        };
        if !matches!(options.kind.as_str(), "scim" | "webhook") {
            return Err(format!(
                "--kind {} is neither scim nor webhook",
                options.kind
            ));
        }
        if options.users == 0 {
            return Err("--users must be at least 1".into());
        }
        if options.churn > options.users {
            return Err(format!(
                "--churn {} is more than --users {}",
                options.churn, options.users
            ));
        }
        Ok(options)
    }

    /// The command that runs this configuration again.
    fn command(&self) -> String {
        format!(
            "cargo bench -p oktasync-push --bench push -- --users {} --churn {} --seed {} --kind {}",
            self.users, self.churn, self.seed, self.kind
        )
    }
}

/// The value after `name`, or `default`; a value that does not parse is an error naming it.
/// (`cargo bench` adds `--bench`, which is ignored.)
fn value<T: FromStr>(name: &str, default: T) -> std::result::Result<T, String> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        None => Ok(default),
        Some(i) => {
            let text = args
                .get(i + 1)
                .ok_or_else(|| format!("{name} needs a value"))?;
            text.parse()
                .map_err(|_| format!("{name} {text:?} is not a valid value"))
        }
    }
}

/// The smallest generated org size with at least `users` users.
fn size_for(users: usize) -> OrgSize {
    [
        OrgSize::Tiny,
        OrgSize::Small,
        OrgSize::Medium,
        OrgSize::Large,
    ]
    .into_iter()
    .find(|s| s.counts().0 >= users)
    .unwrap_or(OrgSize::Large)
}

/// Group id -> (name, type).
fn groups_by_id(export: &Value) -> HashMap<String, (String, String)> {
    export["groups"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|g| {
            Some((
                g["id"].as_str()?.to_owned(),
                (
                    g["profile"]["name"].as_str()?.to_owned(),
                    g["type"].as_str().unwrap_or_default().to_owned(),
                ),
            ))
        })
        .collect()
}

/// The export's first `n` users (by id), each with every group it is in.
fn source_users(export: &Value, n: usize) -> Vec<SourceUser> {
    let groups = groups_by_id(export);
    let mut member_of: HashMap<&str, Vec<SourceGroup>> = HashMap::new();
    for m in export["group_members"].as_array().into_iter().flatten() {
        let (Some(user), Some(group)) = (m["user_id"].as_str(), m["group_id"].as_str()) else {
            continue;
        };
        if let Some((name, _)) = groups.get(group) {
            member_of.entry(user).or_default().push(SourceGroup {
                id: group.to_owned(),
                name: name.clone(),
            });
        }
    }
    let mut users: Vec<SourceUser> = export["users"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| {
            let id = u["id"].as_str()?;
            Some(SourceUser {
                id: id.to_owned(),
                status: u["status"].as_str()?.to_owned(),
                profile: u["profile"].clone(),
                groups: member_of.remove(id).unwrap_or_default(),
            })
        })
        .collect();
    users.sort_by(|a, b| a.id.cmp(&b.id));
    users.truncate(n);
    users
}

/// The `k` Okta groups (type OKTA_GROUP) with the most members among `users`: (name, members).
fn largest_groups(users: &[SourceUser], export: &Value, k: usize) -> Vec<(String, usize)> {
    let groups = groups_by_id(export);
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for u in users {
        for g in &u.groups {
            if groups.get(&g.id).is_some_and(|(_, t)| t == "OKTA_GROUP") {
                *counts.entry(g.name.as_str()).or_default() += 1;
            }
        }
    }
    let mut ranked: Vec<(String, usize)> = counts
        .into_iter()
        .map(|(name, n)| (name.to_owned(), n))
        .collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    ranked.truncate(k);
    ranked
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

const WEBHOOK_SECRET: &str = "whsec_YmVuY2gtd2ViaG9vay1zZWNyZXQ=";

fn target_config(kind: &str, url: &str, mapped: &[(String, usize)]) -> Result<TargetConfig> {
    let mut group_map = String::new();
    for (i, (name, _)) in mapped.iter().enumerate() {
        // the largest group joins two target groups, the others one each
        let targets = if i == 0 {
            format!("[\"bench-group-{i}\", \"bench-largest\"]")
        } else {
            format!("[\"bench-group-{i}\"]")
        };
        group_map.push_str(&format!("{} = {targets}\n", toml_str(name)));
    }
    let text = format!(
        r#"
name = "{TARGET_NAME}"
kind = "{kind}"
groups = ["Everyone"]
url = "{url}"
{credential}
[attributes]
title = "{{profile.title}}"
[group_map]
{group_map}"#,
        credential = match kind {
            "webhook" => format!("secret = \"{WEBHOOK_SECRET}\""),
            _ => format!("bearer_token = \"{}\"", oktasync_testkit::scim::TOKEN),
        },
    );
    toml::from_str(&text).map_err(|e| format!("the target configuration: {e}\n{text}").into())
}

/// Prints one push's figures; `Err` when it reported per-user errors.
fn print_report(
    label: &str,
    users: usize,
    report: &PushReport,
    wall_s: f64,
) -> std::result::Result<(), String> {
    let plan = &report.plan;
    println!("## {label}");
    println!("users in scope: {users}");
    println!(
        "plan: creates {}, updates {}, deactivations {}, deletions {}, group adds {}, group \
         removes {}, unchanged {}",
        plan.creates.len(),
        plan.updates.len(),
        plan.deactivations.len(),
        plan.deletions.len(),
        plan.group_adds.len(),
        plan.group_removes.len(),
        plan.unchanged,
    );
    let d = &report.done;
    println!(
        "done: created {}, updated {}, deactivated {}, deleted {}, group adds {}, group removes \
         {}, groups created {}",
        d.created,
        d.updated,
        d.deactivated,
        d.deleted,
        d.group_adds,
        d.group_removes,
        d.groups_created
    );
    let calls = &report.http_calls;
    let by_op: Vec<String> = calls
        .by_operation
        .iter()
        .map(|(op, n)| format!("{op} {n}"))
        .collect();
    println!(
        "target HTTP calls: {} [{}], retries {}",
        calls.total(),
        by_op.join(", "),
        calls.retries
    );
    let changed = plan.creates.len() + plan.updates.len() + plan.deactivations.len();
    println!(
        "wall: {wall_s:.2} s; {:.0} users/s in scope, {:.1} changed users/s, {:.1} calls/s",
        users as f64 / wall_s,
        changed as f64 / wall_s,
        calls.total() as f64 / wall_s,
    );
    println!(
        "errors: {}, skipped: {}",
        report.errors.len(),
        report.skipped.len()
    );
    if let Some(refused) = &report.refused {
        return Err(format!("{label}: the push was refused: {refused:?}"));
    }
    if !report.errors.is_empty() {
        let first: Vec<String> = report
            .errors
            .iter()
            .take(5)
            .map(|e| format!("{}: {}", e.login, e.message))
            .collect();
        return Err(format!(
            "{label}: {} per-user errors, the first: {}",
            report.errors.len(),
            first.join("; ")
        ));
    }
    Ok(())
}

async fn timed_push(
    label: &str,
    target: &Target,
    users: &[SourceUser],
    state: &MemoryPushState,
) -> Result<()> {
    let started = Instant::now();
    let report = push(target, users, state, &PushOptions::default())
        .await
        .map_err(|e| format!("{label}: the push failed: {e}"))?;
    let wall_s = started.elapsed().as_secs_f64();
    print_report(label, users.len(), &report, wall_s)?;
    Ok(())
}

#[tokio::main]
async fn main() -> ExitCode {
    let options = match Options::parse() {
        Ok(options) => options,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    match run(&options).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("push benchmark failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(options: &Options) -> Result<()> {
    let started = Instant::now();
    println!("# {}", options.command());

    // 1. The users.
    let size = size_for(options.users);
    let emu = okta_emulator::start(EmulatorConfig {
        seed: options.seed,
        size,
        ..EmulatorConfig::default()
    })
    .await?;
    let export = emu.export();
    emu.shutdown().await;
    let mut users = source_users(&export, options.users);
    if users.len() < options.users {
        return Err(format!(
            "the {size:?} org has only {} users, fewer than --users {}",
            users.len(),
            options.users
        )
        .into());
    }
    let memberships: usize = users.iter().map(|u| u.groups.len()).sum();
    let active = users.iter().filter(|u| u.is_active()).count();
    let mapped = largest_groups(&users, &export, 3);
    drop(export);
    println!(
        "org: {size:?}, seed {}: {} users ({active} pushed active), {memberships} Okta group \
         memberships; generated and exported in {:.1} s",
        options.seed,
        users.len(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "group_map: {}",
        mapped
            .iter()
            .enumerate()
            .map(|(i, (name, n))| format!(
                "{name:?} ({n} members) -> bench-group-{i}{}",
                if i == 0 { ", bench-largest" } else { "" }
            ))
            .collect::<Vec<_>>()
            .join("; ")
    );

    // 2. The target.
    let target_started = Instant::now();
    let (url, server, received) = if options.kind == "webhook" {
        let (url, received) = start_receiver().await?;
        println!("target: an in-process webhook receiver at {url} (verifies, parses)");
        (url, None, Some(received))
    } else {
        let server = oktasync_testkit::scim::ScimServer::start().await;
        println!(
            "target: scim2-server {} at {} (started in {:.1} s)",
            oktasync_testkit::scim::SCIM2_SERVER_VERSION,
            server.url,
            target_started.elapsed().as_secs_f64()
        );
        (server.url.clone(), Some(server), None)
    };
    let target = Target::new(
        target_config(&options.kind, &url, &mapped)?,
        Arc::new(okta_api::SystemClock),
    )?;
    let state = MemoryPushState::default();

    // 3. Pushes.
    timed_push("first push", &target, &users, &state).await?;

    // Churn: titles, leavers, joiners.
    let n = options.churn;
    let (retitled, removed) = (n / 2, n / 4);
    let added = n - retitled - removed;
    for (i, u) in users.iter_mut().take(retitled).enumerate() {
        u.profile["title"] = Value::String(format!("Benchmark Title {i}"));
    }
    let templates: Vec<SourceUser> = users[retitled + removed..retitled + removed + added].to_vec();
    let leavers_inactive = users[retitled..retitled + removed]
        .iter()
        .filter(|u| !u.is_active())
        .count();
    users.drain(retitled..retitled + removed);
    for (i, template) in templates.into_iter().enumerate() {
        let login = format!("bench.joiner.{i}@example.com");
        let mut joiner = template;
        joiner.id = format!("00ubenchjoiner{i:06}");
        joiner.profile["login"] = Value::String(login.clone());
        joiner.profile["email"] = Value::String(login);
        users.push(joiner);
    }
    println!(
        "churn: {retitled} users change profile.title, {removed} leave the selection \
         ({leavers_inactive} of them were pushed inactive, so need no deactivation), {added} new \
         users join (fresh ids and logins, the groups of existing users)"
    );
    timed_push("incremental push after churn", &target, &users, &state).await?;
    timed_push("incremental push, no change", &target, &users, &state).await?;

    if let Some(received) = received {
        let r = received.lock();
        println!(
            "webhook receiver: {} batches, {} operations, {:.1} MB of JSON",
            r.batches,
            r.operations,
            r.bytes as f64 / 1e6
        );
    }
    println!("wall (all): {:.1} s", started.elapsed().as_secs_f64());
    drop(server);
    Ok(())
}

/// What the webhook receiver got.
#[derive(Default)]
struct Received {
    batches: u64,
    operations: u64,
    bytes: u64,
}

/// A receiver that verifies each batch's signature (401 otherwise) and parses it.
async fn start_receiver() -> Result<(String, Arc<parking_lot::Mutex<Received>>)> {
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    type Shared = Arc<parking_lot::Mutex<Received>>;
    async fn receive(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
        let now = chrono::Utc::now().timestamp();
        let verified = oktasync_webhook::Signer::from_secret(WEBHOOK_SECRET).verify(
            |name| headers.get(name).and_then(|v| v.to_str().ok()),
            &body,
            now,
            300,
        );
        if verified.is_err() {
            return StatusCode::UNAUTHORIZED;
        }
        let Ok(batch) = serde_json::from_slice::<Value>(&body) else {
            return StatusCode::BAD_REQUEST;
        };
        let operations = batch["operations"].as_array().map_or(0, Vec::len);
        let mut r = shared.lock();
        r.batches += 1;
        r.operations += operations as u64;
        r.bytes += body.len() as u64;
        StatusCode::NO_CONTENT
    }
    let shared: Shared = Arc::default();
    let app = axum::Router::new()
        .route("/push", axum::routing::post(receive))
        .with_state(shared.clone());
    let url = oktasync_testkit::serve_local(app).await + "/push";
    Ok((url, shared))
}
