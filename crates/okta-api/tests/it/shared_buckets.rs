//! Many listings at once over two rate-limit buckets, the way the sync engine runs them
//! (see [`crate::pacing::listings_on_two_buckets`]): at most one 429 per bucket, and every
//! bucket done within two windows of the least time its windows allow. The ratio to that
//! floor is a benchmark figure (`benches/pacing.rs`).

use crate::pacing::listings_on_two_buckets;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_listings_on_two_buckets_finish_within_the_windows() {
    let paced = listings_on_two_buckets().await;
    println!("{paced}");
    assert_eq!(paced.buckets.len(), 2);
    for b in &paced.buckets {
        assert!(b.windows() > 3.0, "{} spans several windows", b.bucket);
        assert!(
            b.throttled <= 1,
            "{}: at most one 429, got {}",
            b.bucket,
            b.throttled
        );
    }
    // Generous: the old pacing (the budget spread over each window) measured 1.37-1.45 of the
    // floor; the benchmark holds the figure, the test only catches gross regressions.
    let bound = paced.floor_s + 2.0 * paced.window_s;
    assert!(
        paced.elapsed_s <= bound,
        "finished in {:.2}s, more than two windows over the floor of {:.2}s",
        paced.elapsed_s,
        paced.floor_s
    );
}
