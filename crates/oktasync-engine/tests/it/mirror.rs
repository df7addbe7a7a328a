//! The mirror equals the emulator's export after a full sync, and deletions propagate.

use crate::support::{Mirror, admin_ids, assert_exact, client, emulator, in_factor_scope, sync};
use okta_emulator::OrgSize;
use oktasync_engine::{FactorScope, NoProgress, SyncOptions, full_sync};
use oktasync_store::Store;
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tiny_org_is_mirrored_exactly_with_the_fewest_calls() {
    let emu = emulator(7, OrgSize::Tiny).await;
    let client = client(&emu);
    let mirror = Mirror::new().await;
    // The default options: factors of admins only.
    let default_sync = || async {
        full_sync(
            &client,
            &mirror.store,
            &SyncOptions::default(),
            Arc::new(NoProgress),
        )
        .await
        .expect("sync succeeds")
    };
    let summary = default_sync().await;
    let source = emu.export();
    let in_scope = in_factor_scope(&source, FactorScope::Admins);
    assert_exact(&mirror.export(&client).await, &in_scope);

    let len = |key: &str| source[key].as_array().unwrap().len() as u64;
    assert_eq!(summary.users, Some(len("users")));
    assert_eq!(summary.groups, Some(len("groups")));
    assert_eq!(summary.memberships, Some(len("group_members")));
    assert_eq!(summary.apps, Some(len("apps")));
    assert_eq!(summary.app_users, Some(len("app_users")));
    assert_eq!(summary.app_groups, Some(len("app_groups")));
    assert_eq!(summary.role_assignments, Some(len("role_assignments")));
    assert_eq!(summary.idps, Some(len("idps")));
    assert_eq!(summary.outcome, "succeeded");
    assert_eq!(summary.http_429, 0);
    assert_eq!(summary.retries, 0);
    assert_eq!(
        summary.api_calls, summary.fewest_calls,
        "calls made vs the plan: {:?}",
        summary.calls_by_bucket
    );
    assert_eq!(summary.changes["users"].added, len("users"));
    assert_eq!(
        summary.calls_by_bucket.values().sum::<u64>(),
        summary.api_calls
    );

    // The run is recorded with its figures.
    let org = mirror.org(&client).await;
    let runs = mirror.store.recent_runs(org, 5).await.unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].outcome, "succeeded");
    assert_eq!(runs[0].api_calls, Some(summary.api_calls as i64));
    let counts: serde_json::Value =
        serde_json::from_str(runs[0].counts.as_deref().unwrap()).unwrap();
    assert_eq!(counts["users"], len("users"));

    // The JSON summary has the keys the CLI contract names.
    let json = serde_json::to_value(&summary).unwrap();
    for key in [
        "api_calls",
        "http_429",
        "retries",
        "duration_s",
        "rate_limit_wait_s",
        "calls_by_bucket",
        "fewest_calls",
        "users",
        "groups",
        "memberships",
        "apps",
        "app_users",
        "app_groups",
        "role_assignments",
        "idps",
        "factors",
        "changes",
        "run_id",
        "outcome",
    ] {
        assert!(json.get(key).is_some(), "summary lacks {key}: {json}");
    }

    // Factors were read for every admin (default scope), direct or through a group, and
    // for no one else.
    assert!(!admin_ids(&source).is_empty());
    let expected_factors = in_scope["factors"].as_array().unwrap().len();
    assert!(expected_factors > 0);
    assert_eq!(summary.factors, Some(expected_factors as u64));

    // A second run against an unchanged org changes nothing.
    let again = default_sync().await;
    assert_eq!(again.rows_changed(), 0, "{:?}", again.changes);

    // With every user's factors, the mirror is the whole export.
    let all = sync(&client, &mirror.store).await;
    assert_eq!(all.factors, Some(len("factors")));
    assert_exact(&mirror.export(&client).await, &source);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn medium_org_is_mirrored_exactly() {
    let emu = emulator(42, OrgSize::Medium).await;
    let client = client(&emu);
    let mirror = Mirror::new().await;
    let summary = sync(&client, &mirror.store).await;
    assert_exact(&mirror.export(&client).await, &emu.export());
    assert_eq!(summary.api_calls, summary.fewest_calls);
    assert!(summary.users.unwrap() >= 10_000, "{summary:?}");
    println!(
        "medium full sync: {}",
        serde_json::to_string(&summary).unwrap()
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_and_deletions_propagate() {
    let emu = emulator(11, OrgSize::Tiny).await;
    let client = client(&emu);
    let mirror = Mirror::new().await;
    sync(&client, &mirror.store).await;
    let before = emu.export();

    for round in 0..3u64 {
        let churn = emu.churn(100 + round, 60);
        assert!(churn.ops > 0);
        let source = emu.export();
        let summary = sync(&client, &mirror.store).await;
        assert_exact(&mirror.export(&client).await, &source);
        assert!(
            summary.rows_changed() > 0,
            "churn {churn:?} changed nothing"
        );
    }
    let after = emu.export();
    // Churn removed things (users deleted, members removed), and the mirror followed.
    let gone = |key: &str| {
        let now: Vec<&serde_json::Value> = after[key].as_array().unwrap().iter().collect();
        before[key]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| !now.contains(v))
            .count()
    };
    assert!(
        gone("group_members") + gone("users") + gone("app_users") > 0,
        "churn deleted nothing"
    );
    emu.shutdown().await;
}
