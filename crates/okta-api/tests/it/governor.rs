//! With Okta's Workforce limits (time-scaled), many pages listed at once: no 429 beyond the
//! first window, and a finish close to what the limits allow.

use crate::{collect, emulator, fast_config, ssws_client};
use futures::{StreamExt, TryStreamExt};
use okta_api::{ClientConfig, User};
use okta_emulator::{EmulatorConfig, OrgSize, RateLimitMode};

/// Page size for member listing: small, so there are many pages.
const MEMBER_PAGE: u32 = 10;
/// Streams read at once.
const PARALLEL_STREAMS: usize = 16;

// the emulator serves from the same runtime: give it and the client two worker threads
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workforce_limits_paced_without_429s_and_close_to_the_limit() {
    let time_scale = 20.0;
    let emu = emulator(EmulatorConfig {
        size: OrgSize::Small,
        rate_limits: RateLimitMode::Workforce,
        time_scale,
        ..EmulatorConfig::default()
    })
    .await;
    // the group list itself comes from another principal's view: read it without limits on
    // the measured client
    let setup = ssws_client(&emu, fast_config());
    let groups = collect(setup.list_groups(None, false)).await.unwrap();
    let before = crate::bucket_stats(&emu, "groups");

    let client = ssws_client(
        &emu,
        ClientConfig {
            max_concurrency: PARALLEL_STREAMS,
            ..fast_config()
        },
    );
    let started = std::time::Instant::now();
    let members: usize = futures::stream::iter(groups.iter().map(|g| g.id.clone()))
        .map(|id| {
            let client = client.clone();
            async move {
                let pages: Vec<_> = client
                    .paginate::<User>(&format!("/api/v1/groups/{id}/users?limit={MEMBER_PAGE}"))
                    .try_collect()
                    .await?;
                Ok::<_, okta_api::Error>(pages.iter().map(|p| p.items.len()).sum::<usize>())
            }
        })
        .buffer_unordered(PARALLEL_STREAMS)
        .try_fold(0, |acc, n| async move { Ok(acc + n) })
        .await
        .expect("all members read");
    let elapsed = started.elapsed().as_secs_f64();

    let export = emu.export();
    assert_eq!(members, export["group_members"].as_array().unwrap().len());
    let stats = emu.gate().stats();
    let bucket = &stats["buckets"]["groups"];
    let share = bucket["limit"].as_f64().unwrap();
    let window = bucket["window_s"].as_f64().unwrap();
    let m = client.metrics();
    let requests = m.buckets["groups"].requests as f64;
    let (after_requests, after_throttled) = crate::bucket_stats(&emu, "groups");
    // what the limits allow: `share` requests per window, so requests / share windows
    let allowed = requests / share * window;
    // the absolute floor: full windows back to back, the last one's burst instantaneous
    let floor = ((requests / share).ceil() - 1.0) * window;
    println!(
        "workforce x{time_scale}: {requests} requests in bucket groups (share {share}/window of {window}s), \
         elapsed {elapsed:.2}s, allowed by the rate {allowed:.2}s (ratio {:.3}), burst floor {floor:.2}s, \
         429s {}, rate-limit wait {:.2}s, emulator counted {} requests and {} throttled",
        elapsed / allowed,
        m.http_429,
        m.rate_limit_wait,
        after_requests - before.0,
        after_throttled - before.1,
    );
    assert_eq!(m.http_429, 0, "no 429 at all");
    assert_eq!(after_throttled, before.1);
    assert!(requests > 3.0 * share, "the test spans several windows");
    assert!(
        elapsed <= allowed * 1.15,
        "finished within 15% of the limit: {elapsed:.2}s vs {allowed:.2}s"
    );
}
