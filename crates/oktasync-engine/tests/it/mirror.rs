//! The mirror equals the emulator's export after a full sync, and deletions propagate.

use crate::support::{
    Mirror, admin_ids, assert_exact, calls_as_served, client, emulator, in_factor_scope, sync,
};
use okta_api::{
    API_TOKENS_PAGE_LIMIT, APP_GROUPS_PAGE_LIMIT, APP_USERS_PAGE_LIMIT, APPS_PAGE_LIMIT,
    GROUP_RULES_PAGE_LIMIT, GROUP_USERS_PAGE_LIMIT, GROUPS_PAGE_LIMIT, IDPS_PAGE_LIMIT,
    LOG_STREAMS_PAGE_LIMIT, POLICY_TYPES, ROLE_ASSIGNEES_PAGE_LIMIT, USERS_PAGE_LIMIT,
};
use okta_emulator::{OrgSize, RunningEmulator};
use oktasync_engine::{FactorScope, NoProgress, Resource, RunSummary, SyncOptions, full_sync};
use oktasync_store::MirrorReader;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::Arc;

/// Calls to list `items` objects `limit` at a time (an empty list still takes one).
fn pages(items: usize, limit: u32) -> u64 {
    (items as u64).div_ceil(u64::from(limit)).max(1)
}

/// The fewest requests a full sync of the org in `export` can make, per rate-limit bucket,
/// counted from the export alone (the System Log's `logs` bucket is left out: how many pages
/// positioning takes depends on the log, not on the org). `factor_users` are the users whose
/// factors the run reads.
fn fewest_calls_by_bucket(export: &Value, factor_users: usize) -> BTreeMap<&'static str, u64> {
    let list = |key: &str| export[key].as_array().expect("export list");
    let count_by = |key: &str, field: &str| {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for row in list(key) {
            *counts.entry(row[field].as_str().unwrap()).or_default() += 1;
        }
        counts
    };
    let members = count_by("group_members", "group_id");
    let app_users = count_by("app_users", "app_id");
    let app_groups = count_by("app_groups", "app_id");
    let role_holders = |kind: &str| {
        list("role_assignments")
            .iter()
            .filter(|r| r["assignee_type"] == kind)
            .map(|r| r["assignee_id"].as_str().unwrap())
            .collect::<BTreeSet<_>>()
            .len()
    };
    let (user_admins, group_admins) = (role_holders("USER"), role_holders("GROUP"));
    let app_ids = list("apps").iter().map(|a| a["id"].as_str().unwrap());
    let oauth_apps = list("apps")
        .iter()
        .filter(|a| a["signOnMode"] == "OPENID_CONNECT")
        .count() as u64;
    BTreeMap::from([
        ("users", pages(list("users").len(), USERS_PAGE_LIMIT)),
        (
            "groups",
            // the list, each non-empty group's members, each admin group's roles, the rules
            pages(list("groups").len(), GROUPS_PAGE_LIMIT)
                + pages(list("group_rules").len(), GROUP_RULES_PAGE_LIMIT)
                + members
                    .values()
                    .map(|&n| pages(n, GROUP_USERS_PAGE_LIMIT))
                    .sum::<u64>()
                + group_admins as u64,
        ),
        (
            "apps",
            // the list, then each app's users and groups, and each OAuth app's grants
            pages(list("apps").len(), APPS_PAGE_LIMIT)
                + oauth_apps
                + app_ids
                    .map(|a| {
                        pages(app_users.get(a).copied().unwrap_or(0), APP_USERS_PAGE_LIMIT)
                            + pages(
                                app_groups.get(a).copied().unwrap_or(0),
                                APP_GROUPS_PAGE_LIMIT,
                            )
                    })
                    .sum::<u64>(),
        ),
        (
            "other",
            // the users holding roles, each one's roles, the IdPs, each factor listing; the
            // policies of each type and each one's rules, the authenticators, zones, API
            // tokens, log streams and ThreatInsight
            pages(user_admins, ROLE_ASSIGNEES_PAGE_LIMIT)
                + user_admins as u64
                + pages(list("idps").len(), IDPS_PAGE_LIMIT)
                + factor_users as u64
                + POLICY_TYPES.len() as u64
                + list("policies").len() as u64
                + 2
                + pages(list("okta_api_tokens").len(), API_TOKENS_PAGE_LIMIT)
                + pages(list("log_streams").len(), LOG_STREAMS_PAGE_LIMIT)
                + 1,
        ),
    ])
}

/// Runs `sync`, checks its calls against the emulator's count (see [`calls_as_served`]),
/// and that every request was answered once, without error.
async fn calls_as_served_ok<F: Future<Output = RunSummary>>(
    emu: &RunningEmulator,
    sync: F,
) -> RunSummary {
    let (summary, answered) = calls_as_served(emu, sync).await;
    assert_eq!(
        answered,
        BTreeMap::from([("200".to_owned(), summary.api_calls)]),
        "every request answered once, without error"
    );
    summary
}

/// The run's calls per bucket equal the fewest the org needs (the `logs` bucket aside).
#[track_caller]
fn assert_fewest(summary: &RunSummary, export: &Value, factor_users: usize) {
    for (bucket, fewest) in fewest_calls_by_bucket(export, factor_users) {
        assert_eq!(
            summary.calls_by_bucket.get(bucket).copied().unwrap_or(0),
            fewest,
            "calls in bucket {bucket}: {:?}",
            summary.calls_by_bucket
        );
    }
    assert!(summary.calls_by_bucket.get("logs").copied().unwrap_or(0) >= 1);
}

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
    let summary = calls_as_served_ok(&emu, default_sync()).await;
    let source = emu.export();
    let in_scope = in_factor_scope(&source, FactorScope::Admins);
    assert_fewest(&summary, &source, admin_ids(&source).len());
    assert_exact(&mirror.export(&client).await, &in_scope);

    let len = |key: &str| source[key].as_array().unwrap().len() as u64;
    assert_eq!(summary.count(Resource::Users), Some(len("users")));
    assert_eq!(summary.count(Resource::Groups), Some(len("groups")));
    assert_eq!(
        summary.count(Resource::Memberships),
        Some(len("group_members"))
    );
    assert_eq!(summary.count(Resource::Apps), Some(len("apps")));
    assert_eq!(summary.count(Resource::AppUsers), Some(len("app_users")));
    assert_eq!(summary.count(Resource::AppGroups), Some(len("app_groups")));
    assert_eq!(
        summary.count(Resource::Roles),
        Some(len("role_assignments"))
    );
    assert_eq!(summary.count(Resource::Idps), Some(len("idps")));
    assert_eq!(summary.outcome, "succeeded");
    assert_eq!(summary.http_429, 0);
    assert_eq!(summary.retries, 0);
    // The plan's own figure agrees with what was made.
    assert_eq!(
        summary.api_calls, summary.fewest_calls,
        "calls made vs the plan: {:?}",
        summary.calls_by_bucket
    );
    assert_eq!(summary.changes["users"].added, len("users"));

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
    assert_eq!(
        summary.count(Resource::Factors),
        Some(expected_factors as u64)
    );

    // A second run against an unchanged org changes nothing.
    let again = default_sync().await;
    assert_eq!(again.rows_changed(), 0, "{:?}", again.changes);

    // With every user's factors, the mirror is the whole export.
    let all = calls_as_served_ok(&emu, sync(&client, &mirror.store)).await;
    assert_fewest(&all, &source, len("users") as usize);
    assert_eq!(all.count(Resource::Factors), Some(len("factors")));
    assert_exact(&mirror.export(&client).await, &source);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn medium_org_is_mirrored_exactly() {
    let emu = emulator(42, OrgSize::Medium).await;
    let client = client(&emu);
    let mirror = Mirror::new().await;
    let summary = calls_as_served_ok(&emu, sync(&client, &mirror.store)).await;
    let source = emu.export();
    assert_exact(&mirror.export(&client).await, &source);
    assert_fewest(&summary, &source, source["users"].as_array().unwrap().len());
    assert_eq!(summary.api_calls, summary.fewest_calls);
    assert!(
        summary.count(Resource::Users).unwrap() >= 10_000,
        "{summary:?}"
    );
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
