//! Okta's object timestamps are whole seconds, so many changes share one `lastUpdated`: the
//! emulator's clock stands still within one second while churn rounds and incremental syncs
//! alternate, and the mirror must stay exact after each (ties at the watermark included).

use crate::support::{Mirror, assert_exact, client, first_difference, truth_options};
use chrono::{DateTime, Utc};
use okta_emulator::{EmulatorConfig, ManualClock, OrgSize};
use oktasync_engine::{NoProgress, RunSummary, SyncMode, sync};
use oktasync_store::SqliteStore;
use serde_json::Value;
use std::sync::Arc;

async fn run(client: &okta_api::OktaClient, store: &SqliteStore, mode: SyncMode) -> RunSummary {
    sync(client, store, &truth_options(), mode, Arc::new(NoProgress))
        .await
        .unwrap_or_else(|e| panic!("{mode:?} sync failed: {e}"))
}

/// How many users and groups of `export` were last changed at `second` (Okta text, `.000Z`).
fn changed_at(export: &Value, second: &str) -> (usize, usize) {
    let users = export["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["lastUpdated"] == second)
        .count();
    let groups = export["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["lastUpdated"] == second || g["lastMembershipUpdated"] == second)
        .count();
    (users, groups)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_sync_stays_exact_when_many_changes_share_one_second() {
    // A clock that moves only when told, 100 ms into a second.
    let second = DateTime::from_timestamp(Utc::now().timestamp(), 0).unwrap();
    let clock = ManualClock::new(second + chrono::Duration::milliseconds(100));
    let emu = okta_emulator::start(EmulatorConfig {
        seed: 23,
        size: OrgSize::Small,
        clock: Arc::new(clock.clone()),
        ..Default::default()
    })
    .await
    .expect("emulator starts");
    let client = client(&emu);
    let mirror = Mirror::new().await;
    let full = run(&client, &mirror.store, SyncMode::Auto).await;
    assert_eq!(full.kind, "full");
    assert_exact(&mirror.export(&client).await, &emu.export());

    let text = |t: DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S.000Z").to_string();
    let mut last_users = 0;
    // Six rounds inside the first second (events published 100 ms apart), then two in the
    // next one: the watermark ties with the objects changed after it, then moves on.
    for round in 0..8u64 {
        if round == 6 {
            clock.set(second + chrono::Duration::milliseconds(1_050));
        } else if round > 0 {
            clock.advance(chrono::Duration::milliseconds(100));
        }
        let churned = emu.churn(300 + round, 40);
        assert!(churned.events > 0, "round {round}: {churned:?}");
        let expected = emu.export();
        let inc = run(&client, &mirror.store, SyncMode::Auto).await;
        assert_eq!(inc.kind, "incremental", "round {round}: {inc:?}");
        assert_eq!(inc.fallback, None);
        assert!(inc.events.unwrap_or(0) > 0, "round {round}: no events read");
        let mirrored = mirror.export(&client).await;
        assert!(
            mirrored == expected,
            "round {round}: mirror differs from source: {}",
            first_difference(&mirrored, &expected)
        );
        if round < 6 {
            // The rounds so far all changed objects in the same second, and more each time.
            let (users, groups) = changed_at(&expected, &text(second));
            assert!(
                users > last_users && groups > 0,
                "round {round}: {users} users, {groups} groups changed at {}",
                text(second)
            );
            last_users = users;
        }
    }
    assert!(last_users >= 20, "only {last_users} users share the second");
    let (users, _) = changed_at(&emu.export(), &text(second + chrono::Duration::seconds(1)));
    assert!(
        users > 0,
        "the last rounds changed users in the next second"
    );

    let reconcile = run(&client, &mirror.store, SyncMode::Full).await;
    assert_eq!(reconcile.kind, "reconcile");
    assert_eq!(
        reconcile.drift,
        Some(0),
        "drift after same-second rounds: {:?}",
        reconcile.changes
    );
    assert_exact(&mirror.export(&client).await, &emu.export());
    emu.shutdown().await;
}
