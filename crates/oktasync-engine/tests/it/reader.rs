//! A reader in another connection pool on the same file never sees part of a run.

use crate::support::{Mirror, client, emulator, set_latency, sync};
use okta_emulator::OrgSize;
use oktasync_store::{MirrorReader, SqliteStore};
use std::collections::BTreeSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_concurrent_reader_sees_the_previous_or_the_new_mirror() {
    let emu = emulator(21, OrgSize::Small).await;
    let client = client(&emu);
    let mirror = Mirror::new().await;
    sync(&client, &mirror.store).await;
    let org = mirror.org(&client).await;
    let before = mirror.store.counts(org).await.unwrap();

    emu.churn(99, 400);
    // Latency stretches the run over a second or more, so the reader reads during it.
    set_latency(&emu, 20);
    let reader = SqliteStore::open(mirror.path()).await.unwrap();
    let writer = mirror.store.clone();
    let syncing = {
        let client = client.clone();
        tokio::spawn(async move { sync(&client, &writer).await })
    };
    let mut seen = BTreeSet::new();
    let mut readings = 0;
    while !syncing.is_finished() {
        seen.insert(reader.counts(org).await.unwrap());
        readings += 1;
        tokio::task::yield_now().await;
    }
    let summary = syncing.await.unwrap();
    let after = reader.counts(org).await.unwrap();
    assert!(summary.rows_changed() > 0);
    assert_ne!(before, after, "churn should change the counts");
    // The reader did read while the run was under way, and saw the previous mirror then.
    assert!(readings >= 10, "only {readings} readings during the run");
    assert!(
        seen.contains(&before),
        "no reading during the run: {seen:?}"
    );
    seen.insert(after.clone());
    for counts in &seen {
        assert!(
            counts == &before || counts == &after,
            "partial run seen: {counts:?}\nbefore {before:?}\nafter {after:?}"
        );
    }
    println!(
        "reader saw {} distinct states in {readings} readings",
        seen.len()
    );
    emu.shutdown().await;
}
