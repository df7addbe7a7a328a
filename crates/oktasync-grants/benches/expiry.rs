//! Figures for many grants ending at once (not a test: it prints; it exits non-zero only when
//! the memberships in Okta are wrong afterwards, or the grants did not all end).
//!
//! The requirement: "1,000 grants expiring within the same minute under Workforce rate limits
//! (time-scaled): revocation lag p50/p99/max, 429s, and calls."
//!
//! `cargo bench -p oktasync-grants --bench expiry -- [--grants 1000] [--time-scale 10]
//!  [--enforce-every SECONDS] [--okta-latency-ms 0] [--seed 7] [--postgres]`
//!
//! 1. The emulator with Okta's Workforce limits, time-scaled (a rate-limit window lasts
//!    60 / time_scale s), over a small generated org (1,000 users, 100 groups), synced into a
//!    SQLite mirror in a temp dir (`--postgres`: a database of its own on the test server,
//!    `OKTASYNC_TEST_PG`). The sync uses a second token, so the grants' principal starts with
//!    its whole share of every bucket.
//! 2. Add: `--grants` grants on distinct (user, group) pairs, ACTIVE users not already members
//!    of grantable Okta groups (no active rule feeds them, no admin role), each asked through
//!    `Grantor::request` as the CLI and the REST API ask (checked against the mirror,
//!    recorded, added by the pass that follows).
//! 3. Expiry: once all are active and the add's rate-limit windows have ended, their ends are
//!    moved into one scaled minute, evenly spread, and `enforce_continuously` runs as `watch`
//!    and `serve` run it, every `ENFORCE_EVERY / time_scale`, until no grant is open.
//! 4. Figures: revocation lag per grant, from the store (`ended_at - expires_at`) and from
//!    Okta's side (the System Log time of the removal - `expires_at`), beside the least lag
//!    the rate limits allow; calls, retries and 429s per phase; then a check of the
//!    emulator's memberships against those before the grants.
//!
//! Time: every period in the model is divided by the time scale: the rate-limit window, the
//! minute the grants end in, the enforcement interval. Lags are measured in real seconds, and
//! shown also in Okta time (x time_scale). Round trips and store writes are not scaled, so
//! their share of a figure in Okta time is overstated time_scale times. The emulator answers
//! in about a millisecond where Okta takes 100-400 ms: `--okta-latency-ms` adds a round trip,
//! given in Okta time like the rest (the emulator adds it divided by the time scale, ±50%).

use chrono::{DateTime, Utc};
use okta_api::{ClientConfig, Credentials, MetricsSnapshot, OktaClient, OrgUrl, SecretString};
use okta_emulator::{EmulatorConfig, OrgSize, RateLimitMode, RunningEmulator};
use oktasync_engine::{NoProgress, Resource, SyncOptions};
use oktasync_grants::actions::Grantor;
use oktasync_grants::check::{GrantRequest, Principal};
use oktasync_grants::enforce::{ENFORCE_EVERY, enforce_continuously, holder};
use oktasync_grants::policy::{GrantPolicy, Policies, PolicyConfig};
use oktasync_store::{
    AuditNote, DbLocation, Grant, GrantFilter, GrantState, GrantUpdate, Grants, Mirror,
    MirrorReader, OrgId, timestamp,
};
use oktasync_testkit::org::{grantable_groups, ids_where, members};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The token the mirror is synced with: another principal, whose calls do not count against
/// the grants' share of the buckets.
const SYNC_TOKEN: &str = "00sync-token-for-the-expiry-benchmark";

/// The bucket of membership writes (PUT and DELETE /api/v1/groups/{id}/users/{userId}).
const MEMBERSHIP_BUCKET: &str = "group_membership";

/// How often the revoke phase looks whether any grant is still open.
const POLL: Duration = Duration::from_millis(100);

/// (user id, group id)
type Pair = (String, String);

struct Options {
    grants: usize,
    time_scale: f64,
    /// Real seconds between enforcement passes.
    enforce_every: f64,
    /// Added latency per request, in Okta time.
    okta_latency_ms: u64,
    seed: u64,
    postgres: bool,
}

impl Options {
    fn parse() -> std::result::Result<Self, String> {
        let time_scale: f64 = value("--time-scale", 10.0)?;
        if !(time_scale > 0.0 && time_scale.is_finite()) {
            return Err(format!("--time-scale must be positive, got {time_scale}"));
        }
        let options = Self {
            grants: value("--grants", 1000)?,
            time_scale,
            enforce_every: value("--enforce-every", ENFORCE_EVERY.as_secs_f64() / time_scale)?,
            okta_latency_ms: value("--okta-latency-ms", 0)?,
            seed: value("--seed", 7)?,
            postgres: std::env::args().any(|a| a == "--postgres"),
        };
        if options.grants == 0 {
            return Err("--grants must be at least 1".into());
        }
        if !(options.enforce_every > 0.0 && options.enforce_every.is_finite()) {
            return Err(format!(
                "--enforce-every must be a positive number of seconds, got {}",
                options.enforce_every
            ));
        }
        Ok(options)
    }

    /// The command that runs this configuration again.
    fn command(&self) -> String {
        format!(
            "cargo bench -p oktasync-grants --bench expiry -- --grants {} --time-scale {} \
             --enforce-every {} --okta-latency-ms {} --seed {}{}",
            self.grants,
            self.time_scale,
            self.enforce_every,
            self.okta_latency_ms,
            self.seed,
            if self.postgres { " --postgres" } else { "" }
        )
    }

    /// Real seconds as Okta seconds.
    fn okta_s(&self, real_s: f64) -> f64 {
        real_s * self.time_scale
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

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn client(emu: &RunningEmulator, token: &str) -> Result<OktaClient> {
    // The defaults a production org gets (`watch` and `serve` build theirs the same way).
    Ok(OktaClient::new(
        OrgUrl::parse(&emu.base_url())?,
        Credentials::ApiToken(SecretString::from(token.to_owned())),
        ClientConfig::default(),
    )?)
}

/// (requests, throttled) the emulator counted in `bucket`, every principal.
fn emulator_counts(emu: &RunningEmulator, bucket: &str) -> (u64, u64) {
    let stats = emu.gate().stats();
    let b = &stats["buckets"][bucket];
    (
        b["requests"].as_u64().unwrap_or(0),
        b["throttled"].as_u64().unwrap_or(0),
    )
}

/// What a client sent between two snapshots.
struct Calls {
    requests: u64,
    retries: u64,
    http_429: u64,
    concurrency_429: u64,
    rate_limit_wait_s: f64,
    /// bucket -> (requests, retries, 429s)
    buckets: BTreeMap<String, (u64, u64, u64)>,
}

impl Calls {
    fn between(before: &MetricsSnapshot, after: &MetricsSnapshot) -> Self {
        let buckets = after
            .buckets
            .iter()
            .map(|(name, b)| {
                let a = before.buckets.get(name).cloned().unwrap_or_default();
                (
                    name.clone(),
                    (
                        b.requests - a.requests,
                        b.retries - a.retries,
                        b.http_429 - a.http_429,
                    ),
                )
            })
            .filter(|(_, (requests, _, _))| *requests > 0)
            .collect();
        Self {
            requests: after.requests - before.requests,
            retries: after.retries - before.retries,
            http_429: after.http_429 - before.http_429,
            concurrency_429: after.concurrency_429 - before.concurrency_429,
            rate_limit_wait_s: after.rate_limit_wait - before.rate_limit_wait,
            buckets,
        }
    }

    fn describe(&self) -> String {
        let per_bucket: Vec<String> = self
            .buckets
            .iter()
            .map(|(name, (requests, retries, http_429))| {
                format!("{name} {requests} (retries {retries}, 429s {http_429})")
            })
            .collect();
        format!(
            "{} calls [{}], retries {}, 429s {} (concurrency {}), waiting for rate limits {:.1} s",
            self.requests,
            per_bucket.join(", "),
            self.retries,
            self.http_429,
            self.concurrency_429,
            self.rate_limit_wait_s
        )
    }
}

/// `n` distinct (user, group) pairs: grantable groups in turn, each with the next ACTIVE user
/// not already a member (each group starting at another place in the user list, so the grants
/// spread over users as well).
fn pick_pairs(export: &Value, n: usize) -> std::result::Result<Vec<Pair>, String> {
    let groups = grantable_groups(export);
    let active = ids_where(export, "users", |u| u["status"] == "ACTIVE");
    if groups.is_empty() || active.is_empty() {
        return Err("the org has no grantable group or no ACTIVE user".into());
    }
    let outsiders: Vec<Vec<&String>> = groups
        .iter()
        .enumerate()
        .map(|(i, group)| {
            let inside = members(export, group);
            let start = i * active.len() / groups.len();
            active[start..]
                .iter()
                .chain(&active[..start])
                .filter(|u| !inside.contains(*u))
                .collect()
        })
        .collect();
    let mut pairs = Vec::with_capacity(n);
    for round in 0.. {
        let before = pairs.len();
        for (group, users) in groups.iter().zip(&outsiders) {
            if pairs.len() == n {
                return Ok(pairs);
            }
            if let Some(user) = users.get(round) {
                pairs.push(((*user).clone(), group.clone()));
            }
        }
        if pairs.len() == n {
            return Ok(pairs);
        }
        if pairs.len() == before {
            break;
        }
    }
    Err(format!(
        "the org has only {} grantable (user, group) pairs, fewer than --grants {n}",
        pairs.len()
    ))
}

/// Every membership of the org as (user id, group id).
fn memberships(export: &Value) -> BTreeSet<Pair> {
    export["group_members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| {
            Some((
                m["user_id"].as_str()?.to_owned(),
                m["group_id"].as_str()?.to_owned(),
            ))
        })
        .collect()
}

/// Sorted request times (ms) grouped into fixed windows as the emulator opens them: a window
/// starts at the first request after the previous one ended. (first, last, count) each.
fn windows(sorted: &[i64], window_ms: i64) -> Vec<(i64, i64, usize)> {
    let mut windows: Vec<(i64, i64, usize)> = Vec::new();
    for &t in sorted {
        match windows.last_mut() {
            Some((first, last, count)) if t < *first + window_ms => {
                *last = t;
                *count += 1;
            }
            _ => windows.push((t, t, 1)),
        }
    }
    windows
}

fn millis(rfc3339: &str) -> Option<i64> {
    DateTime::parse_from_rfc3339(rfc3339)
        .ok()
        .map(|t| t.timestamp_millis())
}

/// "p50 x s, p99 y s, max z s" in real seconds, then in Okta time.
fn spread(options: &Options, sorted: &[f64]) -> String {
    let (p50, p99, max) = (
        percentile(sorted, 0.5),
        percentile(sorted, 0.99),
        sorted.last().copied().unwrap_or(f64::NAN),
    );
    format!(
        "p50 {p50:.2} s, p99 {p99:.2} s, max {max:.2} s real = p50 {:.2}, p99 {:.2}, max {:.2} Okta minutes",
        options.okta_s(p50) / 60.0,
        options.okta_s(p99) / 60.0,
        options.okta_s(max) / 60.0,
    )
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
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("the benchmark could not run: {e}");
            ExitCode::from(2)
        }
    }
}

/// Runs the benchmark; `Ok(false)` when the check after it fails.
async fn run(options: &Options) -> Result<bool> {
    let started = Instant::now();
    let n = options.grants;
    println!("# {}", options.command());
    println!(
        "# {n} grants ending within one minute under Okta's Workforce rate limits, time-scaled \
         x{}: periods are divided by {}, so lags are real seconds (x{} = Okta time)",
        options.time_scale, options.time_scale, options.time_scale
    );

    let emu = okta_emulator::start(EmulatorConfig {
        seed: options.seed,
        size: OrgSize::Small,
        rate_limits: RateLimitMode::Workforce,
        time_scale: options.time_scale,
        latency_ms: (options.okta_latency_ms as f64 / options.time_scale).round() as u64,
        tokens: vec![
            okta_emulator::config::DEFAULT_TOKEN.to_owned(),
            SYNC_TOKEN.to_owned(),
        ],
        ..EmulatorConfig::default()
    })
    .await?;
    let stats = emu.gate().stats();
    let bucket = |name: &str| {
        (
            stats["buckets"][name]["limit"].as_f64().unwrap_or(f64::NAN),
            stats["buckets"][name]["window_s"]
                .as_f64()
                .unwrap_or(f64::NAN),
        )
    };
    let (share, window_s) = bucket(MEMBERSHIP_BUCKET);
    let (other_share, _) = bucket("other");
    println!(
        "limits: a window lasts {window_s:.2} s (one Okta minute); per principal and window: \
         {MEMBERSHIP_BUCKET} {share} (membership PUT/DELETE: Workforce 500 a minute org-wide, \
         50% share), other {other_share} (GET /api/v1/users/{{id}}/groups); added latency \
         {} ms Okta = {} ms real a request",
        options.okta_latency_ms,
        (options.okta_latency_ms as f64 / options.time_scale).round()
    );

    // The mirror.
    let pg = if options.postgres {
        match oktasync_testkit::PgDatabase::create("grants_expiry_bench").await {
            Some(db) => Some(db),
            None => return Err("--postgres: the test server cannot be reached".into()),
        }
    } else {
        None
    };
    let dir = tempfile::tempdir()?;
    let location = match &pg {
        Some(db) => DbLocation::parse(&db.url)?,
        None => DbLocation::Sqlite(dir.path().join("mirror.db")),
    };
    let store = oktasync_store::open_writer(&location).await?;
    let sync_client = client(&emu, SYNC_TOKEN)?;
    let synced = Instant::now();
    let summary = oktasync_engine::full_sync(
        &sync_client,
        &store,
        &SyncOptions::default(),
        Arc::new(NoProgress),
    )
    .await?;
    let client = client(&emu, emu.token())?;
    let org: OrgId = store
        .find_org(&client.org().origin())
        .await?
        .ok_or("the sync recorded no org")?;
    println!(
        "mirror: {} ({} users, {} groups, {} memberships) synced in {:.1} s with another token",
        if pg.is_some() { "PostgreSQL" } else { "SQLite" },
        summary.count(Resource::Users).unwrap_or(0),
        summary.count(Resource::Groups).unwrap_or(0),
        summary.count(Resource::Memberships).unwrap_or(0),
        synced.elapsed().as_secs_f64()
    );

    let before_grants = emu.export();
    let pairs = pick_pairs(&before_grants, n)?;
    let groups_used: BTreeSet<&String> = pairs.iter().map(|(_, g)| g).collect();
    let users_used: BTreeSet<&String> = pairs.iter().map(|(u, _)| u).collect();

    // 2. Add.
    // Every group, eight hours at most, a reason needed, no approver (as written in the config).
    let policy: PolicyConfig = serde_json::from_value(serde_json::json!({
        "groups": ["*"],
        "max_duration": "8h",
        "require_reason": true,
        "require_approval": false,
    }))?;
    let policies = Policies(vec![GrantPolicy::from_config(
        &policy,
        "the benchmark's policy",
    )?]);
    let grantor = Grantor {
        client: &client,
        store: &store,
        org,
        org_name: "bench".into(),
        policies: &policies,
        principal: Principal::default(),
        holder: holder("bench"),
    };
    let metrics_before_add = client.metrics();
    let adding = Instant::now();
    let mut ids = Vec::with_capacity(n);
    for (i, (user, group)) in pairs.iter().enumerate() {
        let now = Utc::now();
        let request = GrantRequest {
            user: user.clone(),
            group: group.clone(),
            until: Some(now + chrono::Duration::hours(1)),
            reason: Some("expiry benchmark".into()),
            requested_by: Some("bench".into()),
            ..Default::default()
        };
        let (grant, _, _) = grantor.request(&request, now).await?;
        ids.push(grant.grant_id);
        if (i + 1) % 250 == 0 {
            eprintln!(
                "  asked {} of {n} in {:.1} s",
                i + 1,
                adding.elapsed().as_secs_f64()
            );
        }
    }
    // A step that failed waits for its retry: passes until every grant is active.
    let open = GrantFilter {
        open: true,
        ..Default::default()
    };
    let add_deadline = Instant::now() + Duration::from_secs_f64(window_s * 10.0 + 60.0);
    let mut extra_passes = 0;
    loop {
        let waiting = store
            .grants(org, &open)
            .await?
            .into_iter()
            .filter(|g| g.state != GrantState::Active)
            .count();
        if waiting == 0 {
            break;
        }
        if Instant::now() > add_deadline {
            return Err(format!("{waiting} grants are still not active").into());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        grantor.enforcer().pass(Utc::now()).await?;
        extra_passes += 1;
    }
    let add_s = adding.elapsed().as_secs_f64();
    let add_calls = Calls::between(&metrics_before_add, &client.metrics());
    let active: Vec<Grant> = store
        .grants(org, &open)
        .await?
        .into_iter()
        .filter(|g| g.state == GrantState::Active)
        .collect();
    let pre_existing = active.iter().filter(|g| g.pre_existing).count();
    println!(
        "add: {n} grants on {} groups and {} users, all active in {add_s:.1} s ({} passes after \
         the requests' own), {pre_existing} memberships found there before; {}",
        groups_used.len(),
        users_used.len(),
        extra_passes,
        add_calls.describe()
    );

    // 3. Expiry: one scaled minute, starting once the add's windows are over (a window opens
    // at a principal's first request in it, so a window after the last add they all are) and
    // the new ends are written (allowing 3 ms a grant).
    let window = Duration::from_secs_f64(window_s);
    let writing = Duration::from_millis(3 * n as u64);
    let first_end =
        Utc::now() + chrono::Duration::from_std(window.max(writing) + Duration::from_millis(500))?;
    let step_ms = window_s * 1000.0 / n as f64;
    for (k, id) in ids.iter().enumerate() {
        let end = first_end + chrono::Duration::milliseconds((k as f64 * step_ms).round() as i64);
        let update = GrantUpdate {
            expires_at: Some(end),
            ..Default::default()
        };
        let note = AuditNote {
            detail: Some(format!(
                "expiry benchmark: ends at {}, within one scaled minute with the others",
                timestamp(end)
            )),
            ..AuditNote::new("expiry_moved")
        };
        store
            .update_grant(org, *id, &[GrantState::Active], &update, &note, Utc::now())
            .await?
            .ok_or_else(|| format!("grant {id} is no longer active"))?;
    }
    let late_by = (Utc::now() - first_end).num_milliseconds();
    if late_by > 0 {
        println!(
            "warning: the new ends were written {late_by} ms after the first of them: the \
             earliest grants' lag includes that"
        );
    }
    let every = Duration::from_secs_f64(options.enforce_every);
    println!(
        "expiry: ends spread evenly over {window_s:.2} s (one scaled minute) from {}; \
         enforce_continuously every {:.2} s (ENFORCE_EVERY {} s / {}: the pass interval keeps its \
         proportion to the rate-limit window and to the minute the grants end in)",
        timestamp(first_end),
        options.enforce_every,
        ENFORCE_EVERY.as_secs(),
        options.time_scale,
    );

    // Revoke, the way `watch` and `serve` do, until nothing is open.
    let metrics_before_revoke = client.metrics();
    let emulator_before_revoke = emulator_counts(&emu, MEMBERSHIP_BUCKET);
    let log_before = emu.state().org.read().log.len();
    let windows_of_work = (n as f64 / share).ceil();
    let revoke_deadline =
        Instant::now() + Duration::from_secs_f64(window_s * (4.0 * windows_of_work + 10.0) + 60.0);
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let enforcer_name = holder("bench");
    let enforcing = enforce_continuously(
        &client,
        &store,
        "bench",
        &enforcer_name,
        every,
        &okta_api::SystemClock,
        async move {
            let _ = stop_rx.await;
        },
    );
    let store_ref: &Mirror = &store;
    let watching = async move {
        let mut ended_all = None;
        loop {
            tokio::time::sleep(POLL).await;
            match store_ref.grants(org, &open).await {
                Ok(left) if left.is_empty() => {
                    ended_all = Some(Utc::now());
                    break;
                }
                Ok(_) => {}
                Err(e) => eprintln!("  cannot read the grants: {e}"),
            }
            if Instant::now() > revoke_deadline {
                break;
            }
        }
        let _ = stop_tx.send(());
        ended_all
    };
    let ((), ended_all) = tokio::join!(enforcing, watching);
    let revoke_calls = Calls::between(&metrics_before_revoke, &client.metrics());
    let emulator_after_revoke = emulator_counts(&emu, MEMBERSHIP_BUCKET);

    // 4. Figures.
    let wanted: BTreeSet<i64> = ids.iter().copied().collect();
    let grants: Vec<Grant> = store
        .grants(org, &GrantFilter::default())
        .await?
        .into_iter()
        .filter(|g| wanted.contains(&g.grant_id))
        .collect();
    let mut states: BTreeMap<String, usize> = BTreeMap::new();
    for g in &grants {
        *states.entry(g.state.to_string()).or_default() += 1;
    }
    // When each membership left the group, as Okta's System Log says.
    let removed_at: BTreeMap<Pair, i64> = {
        let org = emu.state().org.read();
        let mut removed = BTreeMap::new();
        for e in &org.log[log_before..] {
            if e.event_type == "group.user_membership.remove"
                && let [user, group, ..] = e.target_ids.as_slice()
            {
                removed
                    .entry((user.clone(), group.clone()))
                    .or_insert(e.published);
            }
        }
        removed
    };
    let mut stored_lags = Vec::new();
    let mut okta_lags = Vec::new();
    // A pass's `now` -> (grants it ended, the last of their removals in Okta).
    let mut passes: BTreeMap<i64, (usize, i64)> = BTreeMap::new();
    let mut last_end = i64::MIN;
    for g in &grants {
        let Some(expires) = millis(&g.expires_at) else {
            continue;
        };
        last_end = last_end.max(expires);
        if let Some(ended) = g.ended_at.as_deref().and_then(millis) {
            stored_lags.push((ended - expires) as f64 / 1000.0);
            let removed = removed_at.get(&(g.user_id.clone(), g.group_id.clone()));
            let pass = passes.entry(ended).or_insert((0, ended));
            pass.0 += 1;
            if let Some(removed) = removed {
                okta_lags.push((removed - expires) as f64 / 1000.0);
                pass.1 = pass.1.max(*removed);
            }
        }
    }
    stored_lags.sort_by(|a, b| a.total_cmp(b));
    okta_lags.sort_by(|a, b| a.total_cmp(b));
    // The least lag the limits allow: removals in order of their ends, `share` a window, the
    // first window opening at the first end.
    let mut floor: Vec<f64> = (0..n)
        .map(|k| {
            let window_index = (k as f64 / share).floor();
            (window_index * window_s - k as f64 * window_s / n as f64).max(0.0)
        })
        .collect();
    floor.sort_by(|a, b| a.total_cmp(b));

    let first_end_ms = first_end.timestamp_millis();
    match ended_all {
        Some(at) => {
            let at = at.timestamp_millis();
            println!(
                "revoke: every grant ended {:.1} s after the first end, {:.1} s after the last \
                 (as seen by polling the store every {} ms)",
                (at - first_end_ms) as f64 / 1000.0,
                (at - last_end) as f64 / 1000.0,
                POLL.as_millis()
            );
        }
        None => println!("revoke: NOT every grant ended before the deadline"),
    }
    let (emu_requests, emu_throttled) = (
        emulator_after_revoke.0 - emulator_before_revoke.0,
        emulator_after_revoke.1 - emulator_before_revoke.1,
    );
    println!(
        "revoke: {}; the emulator counted {emu_requests} membership writes and answered \
         {emu_throttled} of them 429",
        revoke_calls.describe()
    );
    println!(
        "states: {}",
        states
            .iter()
            .map(|(s, c)| format!("{s} {c}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    println!("grants: {n}");
    println!(
        "lag in the store (ended_at - expires_at, {} grants): {}",
        stored_lags.len(),
        spread(options, &stored_lags)
    );
    println!(
        "lag in Okta (System Log removal - expires_at, {} grants): {}",
        okta_lags.len(),
        spread(options, &okta_lags)
    );
    println!(
        "least lag the limits allow ({share} removals a window, back to back): {}",
        spread(options, &floor)
    );
    let longest = passes
        .iter()
        .map(|(now, (count, last))| (last - now, *count))
        .max();
    if let Some((ms, count)) = longest {
        println!(
            "passes that ended grants: {}; the longest ended {count} grants and made its last \
             removal {:.2} s after its `now`, the time its grants' ended_at says",
            passes.len(),
            ms as f64 / 1000.0
        );
    }
    let mut removal_times: Vec<i64> = removed_at.values().copied().collect();
    removal_times.sort_unstable();
    let windows: Vec<String> = windows(&removal_times, (window_s * 1000.0).round() as i64)
        .iter()
        .map(|(first, last, count)| {
            format!(
                "{count} at +{:.2}..+{:.2} s",
                (first - first_end_ms) as f64 / 1000.0,
                (last - first_end_ms) as f64 / 1000.0
            )
        })
        .collect();
    println!(
        "removals per rate-limit window (opened by the first removal after the last window \
         ended; times from the first end): {}",
        windows.join("; ")
    );

    // The check: the org's memberships are those before the grants.
    let after = memberships(&emu.export());
    let before = memberships(&before_grants);
    let granted: BTreeSet<Pair> = pairs.iter().cloned().collect();
    let still_there = granted.intersection(&after).count();
    let others_removed = before.difference(&after).count();
    let others_added = after
        .difference(&before)
        .filter(|p| !granted.contains(*p))
        .count();
    let all_revoked = states.get("revoked").copied().unwrap_or(0) == n;
    let ok = ended_all.is_some()
        && all_revoked
        && still_there == 0
        && others_removed == 0
        && others_added == 0
        && removed_at.len() == n;
    println!(
        "check (emulator export): granted memberships still there {still_there} of {n}; other \
         memberships removed {others_removed}, added {others_added} (of {} before); removal \
         events {}; all grants revoked: {all_revoked} -> {}",
        before.len(),
        removed_at.len(),
        if ok { "OK" } else { "FAILED" }
    );
    println!("wall: {:.1} s", started.elapsed().as_secs_f64());
    store.close().await;
    emu.shutdown().await;
    Ok(ok)
}
