//! Pacing scenarios against the emulator with Okta's Workforce limits (time-scaled): many
//! listings at once, measured. The integration tests (`governor.rs`, `shared_buckets.rs`)
//! check what must always hold (no 429 beyond the first, the work spans several windows) and
//! a generous time bound that a loaded 2-core machine keeps; how close a run comes to what
//! the windows allow is a benchmark figure, checked by `benches/pacing.rs` (`cargo bench -p
//! okta-api --bench pacing`), which includes this file.
//!
//! Self-contained (no helpers of the test crate), so that the benchmark can include it.

use futures::{StreamExt, TryStreamExt};
use okta_api::{ClientConfig, Credentials, OktaClient, OrgUrl, Page, PageStream, SecretString};
use okta_emulator::{EmulatorConfig, OrgSize, RateLimitMode, RunningEmulator};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, Instant};

/// Windows last 60 s / `TIME_SCALE`: 3 s.
pub const TIME_SCALE: f64 = 20.0;
/// Page size of the single-bucket member listing: small, so there are many pages.
const MEMBER_PAGE: u32 = 10;
/// Streams read at once in the single-bucket scenario.
const PARALLEL_STREAMS: usize = 16;
/// Listings in progress at once in the two-bucket scenario (the engine's
/// `CONCURRENT_LISTINGS`), half per bucket.
const LISTINGS: usize = 64;
/// Requests wanted per bucket, as windows of the bucket's share: a few full windows and a
/// part of one more, like the medium benchmark (groups 1036 of 250, apps 243 of 50).
const GROUPS_WINDOWS_OF_WORK: f64 = 4.15;
const APPS_WINDOWS_OF_WORK: f64 = 4.85;
/// A second token (another principal) reads what the listings need, so the measured
/// principal starts with fresh windows.
const SETUP_TOKEN: &str = "00setup-token-for-the-listing-plan";

/// How one bucket's share of a scenario went.
#[derive(Debug, Clone)]
pub struct BucketRun {
    pub bucket: &'static str,
    /// Requests the emulator counted in the bucket for the measured principal.
    pub requests: u64,
    /// 429s the emulator sent in the bucket.
    pub throttled: u64,
    /// One principal's share per window.
    pub share: f64,
    /// When the bucket's last listing finished, from the start.
    pub finished_s: f64,
    /// The least time its windows allow: full windows back to back, the last one's
    /// requests at once.
    pub floor_s: f64,
}

impl BucketRun {
    /// Windows the bucket's requests fill.
    pub fn windows(&self) -> f64 {
        (self.requests as f64 / self.share).ceil()
    }
}

/// What one scenario measured.
#[derive(Debug, Clone)]
pub struct Paced {
    pub scenario: &'static str,
    pub window_s: f64,
    pub buckets: Vec<BucketRun>,
    /// Wall time of the whole scenario.
    pub elapsed_s: f64,
    /// The least time the windows allow for all of it (the slowest bucket's floor).
    pub floor_s: f64,
    /// 429s the client met.
    pub http_429: u64,
    /// Seconds the client spent waiting for rate limits.
    pub rate_limit_wait_s: f64,
}

impl Paced {
    /// Wall time over what the windows allow.
    pub fn ratio(&self) -> f64 {
        self.elapsed_s / self.floor_s
    }
}

impl fmt::Display for Paced {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {:.2}s for a floor of {:.2}s (ratio {:.3}); client 429s {}, rate-limit wait {:.1}s",
            self.scenario,
            self.elapsed_s,
            self.floor_s,
            self.ratio(),
            self.http_429,
            self.rate_limit_wait_s
        )?;
        for b in &self.buckets {
            writeln!(
                f,
                "  {}: {} requests ({:.0} windows of {}/{}s), finished at {:.2}s, floor {:.2}s \
                 (ratio {:.3}), 429s {}",
                b.bucket,
                b.requests,
                b.windows(),
                b.share,
                self.window_s,
                b.finished_s,
                b.floor_s,
                b.finished_s / b.floor_s,
                b.throttled
            )?;
        }
        Ok(())
    }
}

async fn emulator(config: EmulatorConfig) -> RunningEmulator {
    okta_emulator::start(config).await.expect("emulator starts")
}

fn client(emu: &RunningEmulator, token: &str, max_concurrency: usize) -> OktaClient {
    let config = ClientConfig {
        backoff_base: Duration::from_millis(20),
        backoff_cap: Duration::from_millis(300),
        request_timeout: Duration::from_secs(10),
        max_concurrency,
        ..ClientConfig::default()
    };
    OktaClient::new(
        OrgUrl::parse(&emu.base_url()).expect("emulator URL"),
        Credentials::ApiToken(SecretString::from(token.to_string())),
        config,
    )
    .expect("client")
}

async fn collect<T>(stream: PageStream<T>) -> Vec<T> {
    let pages: Vec<Page<T>> = stream.try_collect().await.expect("listing");
    pages.into_iter().flat_map(|p| p.items).collect()
}

/// (requests, throttled) the emulator counted in `bucket`.
fn counted(emu: &RunningEmulator, bucket: &str) -> (u64, u64) {
    let stats = emu.gate().stats();
    let b = &stats["buckets"][bucket];
    (
        b["requests"].as_u64().unwrap_or(0),
        b["throttled"].as_u64().unwrap_or(0),
    )
}

/// `(share per window, window seconds)` of `bucket`.
fn share(emu: &RunningEmulator, bucket: &str) -> (f64, f64) {
    let stats = emu.gate().stats();
    let b = &stats["buckets"][bucket];
    (
        b["limit"].as_f64().expect("limit"),
        b["window_s"].as_f64().expect("window"),
    )
}

/// Every group's members of a small org, ten a page, sixteen listings at once: all in the
/// groups bucket. Returns the measurements and the members read.
pub async fn members_in_one_bucket() -> (Paced, usize) {
    let emu = emulator(EmulatorConfig {
        size: OrgSize::Small,
        rate_limits: RateLimitMode::Workforce,
        time_scale: TIME_SCALE,
        tokens: vec![
            okta_emulator::config::DEFAULT_TOKEN.to_string(),
            SETUP_TOKEN.to_string(),
        ],
        ..EmulatorConfig::default()
    })
    .await;
    let groups = collect(client(&emu, SETUP_TOKEN, 16).list_groups(None, false)).await;
    let before = counted(&emu, "groups");
    let measured = client(&emu, emu.token(), PARALLEL_STREAMS);
    let started = Instant::now();
    let members: usize = futures::stream::iter(groups.iter().map(|g| g.id.clone()))
        .map(|id| {
            let client = measured.clone();
            async move {
                let pages: Vec<_> = client
                    .paginate::<Value>(&format!("/api/v1/groups/{id}/users?limit={MEMBER_PAGE}"))
                    .try_collect()
                    .await?;
                Ok::<_, okta_api::Error>(pages.iter().map(|p| p.items.len()).sum::<usize>())
            }
        })
        .buffer_unordered(PARALLEL_STREAMS)
        .try_fold(0, |acc, n| async move { Ok(acc + n) })
        .await
        .expect("all members read");
    let elapsed_s = started.elapsed().as_secs_f64();
    let (share, window_s) = share(&emu, "groups");
    let after = counted(&emu, "groups");
    let m = measured.metrics();
    let mut bucket = BucketRun {
        bucket: "groups",
        requests: after.0 - before.0,
        throttled: after.1 - before.1,
        share,
        finished_s: elapsed_s,
        floor_s: 0.0,
    };
    bucket.floor_s = (bucket.windows() - 1.0) * window_s;
    let paced = Paced {
        scenario: "members in one bucket",
        window_s,
        floor_s: bucket.floor_s,
        buckets: vec![bucket],
        elapsed_s,
        http_429: m.http_429,
        rate_limit_wait_s: m.rate_limit_wait,
    };
    let expected = emu.export()["group_members"].as_array().unwrap().len();
    assert_eq!(members, expected, "every member read");
    emu.shutdown().await;
    (paced, members)
}

/// The smallest page size (up to 200) whose listings of `counts` take at most `calls`
/// requests (an empty listing still takes one).
fn page_size_for(counts: &[usize], calls: usize) -> usize {
    let needed = |p: usize| counts.iter().map(|c| c.div_ceil(p).max(1)).sum::<usize>();
    (1..=200).find(|&p| needed(p) <= calls).unwrap_or(200)
}

/// Many listings at once over two rate-limit buckets, the way the sync engine runs them: 64
/// listings share the client's 16 request slots, member listings in the groups bucket (250 a
/// window per principal) and app-user listings in the apps bucket (50 a window).
pub async fn listings_on_two_buckets() -> Paced {
    let emu = emulator(EmulatorConfig {
        // the medium org's shape (a thousand groups, a hundred apps), fewer users
        size: OrgSize::Small,
        users: Some(2_000),
        groups: Some(1_000),
        apps: Some(100),
        rate_limits: RateLimitMode::Workforce,
        time_scale: TIME_SCALE,
        latency_ms: 50,
        tokens: vec![
            okta_emulator::config::DEFAULT_TOKEN.to_string(),
            SETUP_TOKEN.to_string(),
        ],
        ..EmulatorConfig::default()
    })
    .await;
    // the plan, read by another principal
    let setup = client(&emu, SETUP_TOKEN, 16);
    let groups = collect(setup.list_groups(None, true)).await;
    let member_counts: Vec<usize> = groups
        .iter()
        .map(|g| {
            g.stats
                .as_ref()
                .and_then(|s| s.users_count)
                .unwrap_or(0)
                .max(0) as usize
        })
        .collect();
    let apps = collect(setup.list_apps()).await;
    let mut app_user_counts = Vec::new();
    for app in &apps {
        app_user_counts.push(collect(setup.list_app_users(&app.id)).await.len());
    }
    let groups_share = share(&emu, "groups").0;
    let apps_share = share(&emu, "apps").0;
    let window_s = share(&emu, "groups").1;
    let member_page = page_size_for(
        &member_counts,
        (groups_share * GROUPS_WINDOWS_OF_WORK) as usize,
    );
    let app_page = page_size_for(
        &app_user_counts,
        (apps_share * APPS_WINDOWS_OF_WORK) as usize,
    );
    let member_jobs: Vec<String> = groups
        .iter()
        .map(|g| format!("/api/v1/groups/{}/users?limit={member_page}", g.id))
        .collect();
    let app_jobs: Vec<String> = apps
        .iter()
        .map(|a| format!("/api/v1/apps/{}/users?limit={app_page}", a.id))
        .collect();
    let before: BTreeMap<&str, (u64, u64)> = ["groups", "apps"]
        .into_iter()
        .map(|b| (b, counted(&emu, b)))
        .collect();

    // the default cap on requests in flight (16), as in a sync
    let measured = client(&emu, emu.token(), ClientConfig::default().max_concurrency);
    let started = Instant::now();
    // each bucket's listings have their own slots (a listing waiting on one bucket must not
    // keep the other bucket's listings from starting), all share the client's request slots
    let run = |jobs: Vec<String>| {
        let measured = measured.clone();
        async move {
            futures::stream::iter(jobs)
                .map(|path| {
                    let client = measured.clone();
                    async move {
                        // raw JSON items: the scenario needs the timing, not the users
                        let _: Vec<_> = client.paginate::<Value>(&path).try_collect().await?;
                        Ok::<_, okta_api::Error>(started.elapsed().as_secs_f64())
                    }
                })
                .buffer_unordered(LISTINGS / 2)
                .try_fold(0.0, |last: f64, t| async move { Ok(last.max(t)) })
                .await
                .expect("every listing read")
        }
    };
    let (groups_last, apps_last) = tokio::join!(run(member_jobs), run(app_jobs));
    let elapsed_s = started.elapsed().as_secs_f64();

    let m = measured.metrics();
    let buckets: Vec<BucketRun> = [
        ("groups", groups_share, groups_last),
        ("apps", apps_share, apps_last),
    ]
    .into_iter()
    .map(|(bucket, share, finished_s)| {
        let (requests, throttled) = counted(&emu, bucket);
        let mut run = BucketRun {
            bucket,
            requests: requests - before[bucket].0,
            throttled: throttled - before[bucket].1,
            share,
            finished_s,
            floor_s: 0.0,
        };
        run.floor_s = (run.windows() - 1.0) * window_s;
        run
    })
    .collect();
    emu.shutdown().await;
    Paced {
        scenario: "listings on two buckets",
        window_s,
        floor_s: buckets.iter().map(|b| b.floor_s).fold(0.0, f64::max),
        buckets,
        elapsed_s,
        http_429: m.http_429,
        rate_limit_wait_s: m.rate_limit_wait,
    }
}
