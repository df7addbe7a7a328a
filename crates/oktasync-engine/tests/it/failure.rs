//! A failed run leaves the previous mirror intact and records why it failed.

use crate::support::{
    Mirror, assert_exact, client, client_with, emulator, served_requests, set_latency, sync,
    truth_options,
};
use okta_emulator::OrgSize;
use oktasync_engine::{EngineError, NoProgress, full_sync};
use oktasync_store::MirrorReader;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_sync_keeps_the_previous_mirror_and_says_why() {
    let emu = emulator(3, OrgSize::Tiny).await;
    let mirror = Mirror::new().await;
    let good = client(&emu);
    sync(&good, &mirror.store).await;
    let previous = mirror.export(&good).await;
    assert_exact(&previous, &emu.export());

    emu.churn(5, 50);
    emu.gate()
        .set_faults(serde_json::json!({"fault_rate": 1.0}))
        .unwrap();
    let flaky = client_with(&emu, 1);
    let err = full_sync(
        &flaky,
        &mirror.store,
        &truth_options(),
        Arc::new(NoProgress),
    )
    .await
    .expect_err("every request fails");
    let EngineError::RunFailed {
        run_id,
        cause,
        summary,
    } = &err
    else {
        panic!("expected RunFailed, got {err:?}");
    };
    assert!(matches!(**cause, EngineError::Okta { .. }), "{cause:?}");
    assert_eq!(summary.outcome, "failed");
    assert!(err.to_string().contains("kept its previous state"), "{err}");

    // Untouched: the mirror still equals what the first run read.
    assert_eq!(mirror.export(&good).await, previous);
    let org = mirror.org(&good).await;
    let runs = mirror.store.recent_runs(org, 5).await.unwrap();
    assert_eq!(runs[0].run_id, *run_id);
    assert_eq!(runs[0].outcome, "failed");
    assert!(
        runs[0]
            .error
            .as_deref()
            .unwrap()
            .contains("from Okta failed"),
        "{:?}",
        runs[0].error
    );
    assert!(runs[0].ended_at.is_some());

    // Once Okta answers again, the next run catches up.
    emu.gate()
        .set_faults(serde_json::json!({"fault_rate": 0.0}))
        .unwrap();
    sync(&good, &mirror.store).await;
    assert_exact(&mirror.export(&good).await, &emu.export());
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_org_that_goes_away_mid_run_fails_the_run_cleanly() {
    let emu = emulator(4, OrgSize::Small).await;
    let mirror = Mirror::new().await;
    let client = client_with(&emu, 1);
    let first_served = served_requests(&emu);
    sync(&client, &mirror.store).await;
    let run_requests = served_requests(&emu) - first_served;
    let previous = mirror.export(&client).await;
    let org = mirror.org(&client).await;
    let first_run = mirror.store.recent_runs(org, 1).await.unwrap()[0].run_id;

    // Latency stretches the run over many requests (about 1,200 at 16 in flight, over a
    // second), so that the server stops while it is reading.
    set_latency(&emu, 30);
    let store = mirror.store.clone();
    let syncing = {
        let client = client.clone();
        tokio::spawn(async move {
            full_sync(&client, &store, &truth_options(), Arc::new(NoProgress)).await
        })
    };
    // Stop the server once the run is recorded and a fifth of its requests are answered.
    let served_before = served_requests(&emu);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        assert!(!syncing.is_finished(), "the run ended before the shutdown");
        assert!(
            tokio::time::Instant::now() < deadline,
            "the run never got going"
        );
        let last = &mirror.store.recent_runs(org, 1).await.unwrap()[0];
        let served = served_requests(&emu) - served_before;
        if last.run_id > first_run && last.outcome == "running" && served >= run_requests / 5 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
    }
    emu.shutdown().await;
    match syncing.await.unwrap() {
        Err(EngineError::RunFailed { cause, run_id, .. }) => {
            println!("the run failed as expected: {cause}");
            assert!(run_id > first_run);
            assert_eq!(mirror.store.export_json(org).await.unwrap(), previous);
            let last = &mirror.store.recent_runs(org, 1).await.unwrap()[0];
            assert_eq!((last.run_id, last.outcome.as_str()), (run_id, "failed"));
        }
        Ok(summary) => panic!("the run finished although the org went away: {summary:?}"),
        Err(other) => panic!("unexpected error: {other}"),
    }
}
