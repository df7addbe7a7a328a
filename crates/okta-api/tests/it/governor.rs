//! With Okta's Workforce limits (time-scaled), many pages listed at once in one bucket: no
//! 429 at all, every member read, and a finish within two windows of what the limits allow.
//! How close to the limit it finishes is a benchmark figure (`benches/pacing.rs`): on a
//! loaded machine a tight ratio measures the machine, not the governor.

use crate::pacing::members_in_one_bucket;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workforce_limits_paced_without_429s_and_within_the_windows() {
    let (paced, members) = members_in_one_bucket().await;
    println!("{paced}");
    let bucket = &paced.buckets[0];
    assert!(members > 0, "members read");
    assert_eq!(paced.http_429, 0, "no 429 at all");
    assert_eq!(bucket.throttled, 0, "the emulator sent none");
    assert!(bucket.windows() > 3.0, "the test spans several windows");
    // Generous: a governor that waited a whole extra window for each of them, or sent one
    // request per slot per round trip regardless of the budget, takes longer.
    let bound = paced.floor_s + 2.0 * paced.window_s;
    assert!(
        paced.elapsed_s <= bound,
        "finished in {:.2}s, more than two windows over the floor of {:.2}s",
        paced.elapsed_s,
        paced.floor_s
    );
}
