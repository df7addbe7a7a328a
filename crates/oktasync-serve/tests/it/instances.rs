//! Several instances on one PostgreSQL database share the orgs: a run of one org is done by
//! one instance at a time, and when one stops the other goes on.

use crate::support::*;
use okta_emulator::OrgSize;
use oktasync_store::{MirrorReader, SyncRunRecord, TokenScope};
use std::time::Duration;

/// Whether two runs of one org overlapped in time.
fn overlapping(runs: &[SyncRunRecord]) -> Option<(i64, i64)> {
    let mut spans: Vec<(&str, &str, i64)> = runs
        .iter()
        .map(|r| {
            (
                r.started_at.as_str(),
                r.ended_at.as_deref().unwrap_or("9999"),
                r.run_id,
            )
        })
        .collect();
    spans.sort();
    spans
        .windows(2)
        .find(|w| w[1].0 < w[0].1)
        .map(|w| (w[0].2, w[1].2))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_share_two_orgs_one_run_at_a_time() {
    let Some(backend) = Backend::postgres("serve_two_instances").await else {
        return;
    };
    let (acme, beta) = (
        emulator(21, OrgSize::Tiny).await,
        emulator(22, OrgSize::Tiny).await,
    );
    let store_a = backend.open().await;
    let store_b = backend.open().await;
    let read = token(&store_a, "reader", TokenScope::Read, None).await;
    let every = Duration::from_secs(1);
    let orgs = || {
        vec![
            schedule("acme", &acme, every),
            schedule("beta", &beta, every),
        ]
    };
    let a = Server::start(store_a.clone(), orgs()).await;
    let b = Server::start(store_b.clone(), orgs()).await;
    until_synced(&a, "acme", &read).await;
    until_synced(&b, "beta", &read).await;
    for round in 0..4u64 {
        acme.churn(100 + round, 20);
        beta.churn(200 + round, 20);
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    // One instance stops; the other keeps both orgs fresh.
    a.stop().await;
    acme.churn(300, 20);
    beta.churn(301, 20);
    for (name, emu) in [("acme", &acme), ("beta", &beta)] {
        let org = store_b.find_org_by_name(name).await.unwrap().unwrap();
        let mut exact = false;
        for _ in 0..300 {
            if store_b.export_json(org).await.unwrap() == emu.export() {
                exact = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(
            exact,
            "{name}: the remaining instance brings the mirror up to date"
        );
    }
    b.stop().await;
    for name in ["acme", "beta"] {
        let org = store_b.find_org_by_name(name).await.unwrap().unwrap();
        let runs = store_b.runs_page(org, None, 1000).await.unwrap();
        assert!(runs.len() >= 3, "{name}: {} runs", runs.len());
        assert_eq!(overlapping(&runs), None, "{name}: two runs at once");
        // A stopping instance abandons its run (interrupted); none failed or was left running.
        assert!(
            runs.iter()
                .all(|r| r.outcome == "succeeded" || r.outcome == "interrupted"),
            "{name}: {runs:?}"
        );
    }
}
