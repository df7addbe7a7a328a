//! The suite must not rot as the calendar moves: an emulator and a sync whose clocks are a
//! year ahead of today behave exactly as they do today (the generated org is anchored to the
//! emulator's clock, the engine reads time only from its own).

use crate::support::{Mirror, assert_exact, client, truth_options};
use futures::StreamExt;
use okta_emulator::{EmulatorConfig, OffsetClock, OrgSize};
use oktasync_engine::{LOGS_CHECKPOINT, NoProgress, SyncMode, SyncOptions, sync};
use oktasync_store::MirrorWriter;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_year_ahead_full_then_incremental_sync_is_exact() {
    let ahead = chrono::Duration::days(365);
    let emu = okta_emulator::start(EmulatorConfig {
        seed: 11,
        size: OrgSize::Small,
        clock: Arc::new(OffsetClock(ahead)),
        ..Default::default()
    })
    .await
    .expect("emulator starts");
    let client = client(&emu);
    let mirror = Mirror::new().await;
    let opts = SyncOptions {
        clock: Arc::new(okta_api::OffsetClock(ahead)),
        ..truth_options()
    };
    // The generated org's history is the week before the (shifted) present.
    let week_ago = opts.clock.now() - chrono::Duration::days(7);
    let mut pages = client.poll_logs(okta_api::LogStart::Since(week_ago));
    let mut recent = Vec::new();
    while let Some(page) = pages.next().await {
        recent.extend(page.expect("log page").items);
    }
    assert!(
        recent.len() > 10,
        "{} events in the last week",
        recent.len()
    );
    let run = |mode| sync(&client, &mirror.store, &opts, mode, Arc::new(NoProgress));

    let full = run(SyncMode::Auto).await.expect("full sync");
    assert_eq!(full.kind, "full");
    assert_eq!(full.fallback, None);
    assert_exact(&mirror.export(&client).await, &emu.export());
    let org = mirror.org(&client).await;
    let checkpoint = mirror.store.checkpoint(org, LOGS_CHECKPOINT).await.unwrap();
    assert!(checkpoint.is_some(), "a full sync leaves a checkpoint");

    let (started, ended) = (full.started_at.clone(), full.ended_at.clone());
    let year = (chrono::Utc::now() + ahead).format("%Y").to_string();
    assert!(
        started.starts_with(&year) && ended.starts_with(&year),
        "run times come from the injected clock: {started} .. {ended}"
    );

    let churned = emu.churn(5, 60);
    assert!(churned.events > 0, "{churned:?}");
    let inc = run(SyncMode::Auto).await.expect("incremental sync");
    assert_eq!(inc.kind, "incremental", "{inc:?}");
    assert_eq!(inc.fallback, None);
    assert!(inc.events.unwrap_or(0) > 0, "the churn's events were read");
    assert_exact(&mirror.export(&client).await, &emu.export());

    let reconcile = run(SyncMode::Full).await.expect("reconcile");
    assert_eq!(reconcile.drift, Some(0), "{:?}", reconcile.changes);
    emu.shutdown().await;
}
