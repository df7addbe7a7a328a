//! Incremental sync against random churn: after every round the mirror equals the emulator's
//! export, with far fewer calls than a full sync; a following full sync finds no drift.
//! Fallbacks to a full sync, and watch.

use crate::support::{
    Mirror, admin_ids, assert_exact, calls_as_served, churn, client, emulator, in_factor_scope,
    okta_call, served_by_bucket, source, truth_options,
};
use okta_api::{ClientConfig, Credentials, OAuthCredentials, OktaClient, OrgUrl, PrivateKey};
use okta_emulator::config::OAuthClientConfig;
use okta_emulator::{EmulatorConfig, OrgSize};
use oktasync_engine::{
    FactorScope, LOGS_CHECKPOINT, NoProgress, Resource, RunSummary, SyncMode, SyncOptions,
    WatchOptions, sync, watch,
};
use oktasync_store::{MirrorReader, MirrorWriter, Scope, SqliteStore};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

async fn run(client: &OktaClient, store: &SqliteStore, mode: SyncMode) -> RunSummary {
    run_scoped(client, store, mode, FactorScope::All).await
}

async fn run_scoped(
    client: &OktaClient,
    store: &SqliteStore,
    mode: SyncMode,
    factors: FactorScope,
) -> RunSummary {
    let opts = SyncOptions {
        factors,
        ..truth_options()
    };
    sync(client, store, &opts, mode, Arc::new(NoProgress))
        .await
        .unwrap_or_else(|e| panic!("{mode:?} sync failed: {e}"))
}

/// A seeded org, a full sync, then one incremental sync per churn round (seed, ops); the
/// mirror must equal the emulator's export (its factors narrowed to `factors`' users) after
/// each, and a final `--full` must find no drift.
async fn churn_rounds(org_seed: u64, size: OrgSize, factors: FactorScope, rounds: &[(u64, u64)]) {
    let emu = emulator(org_seed, size).await;
    let client = client(&emu);
    let mirror = Mirror::new().await;
    // Every run's reported calls are checked against the emulator's own count.
    let (emu_ref, client_ref, store) = (&emu, &client, &mirror.store);
    let run = |mode| async move {
        calls_as_served(emu_ref, run_scoped(client_ref, store, mode, factors))
            .await
            .0
    };
    let expected_now = || async { in_factor_scope(&source(&emu).await, factors) };
    let full = run(SyncMode::Auto).await;
    assert_eq!(full.kind, "full");
    assert_eq!(full.fallback, None);
    assert_exact(&mirror.export(&client).await, &expected_now().await);
    let org = mirror.org(&client).await;
    assert!(
        mirror
            .store
            .checkpoint(org, LOGS_CHECKPOINT)
            .await
            .unwrap()
            .is_some(),
        "a full sync leaves a System Log checkpoint"
    );

    let mut before = source(&emu).await;
    let mut applied: BTreeMap<String, u64> = BTreeMap::new();
    for (round, &(seed, ops)) in rounds.iter().enumerate() {
        let churned = churn(&emu, seed, ops).await;
        for (kind, n) in churned["applied"].as_object().unwrap() {
            *applied.entry(kind.clone()).or_default() += n.as_u64().unwrap();
        }
        let whole = source(&emu).await;
        // Each user who became an admin costs one factor listing (factor scope `admins`),
        // however few events: a role granted to a big group makes many admins at once.
        let new_admins = match factors {
            FactorScope::Admins => admin_ids(&whole).difference(&admin_ids(&before)).count() as u64,
            _ => 0,
        };
        let expected = in_factor_scope(&whole, factors);
        before = whole;
        let inc = run(SyncMode::Auto).await;
        assert_eq!(inc.kind, "incremental", "round {round}: {inc:?}");
        assert_eq!(inc.fallback, None);
        assert_eq!(inc.outcome, "succeeded");
        assert!(inc.events.unwrap() > 0, "round {round}: no events read");
        let mirrored = mirror.export(&client).await;
        assert!(
            mirrored == expected,
            "round {round} (org seed {org_seed}, churn {churned}): mirror differs from source: {}",
            crate::support::first_difference(&mirrored, &expected)
        );
        // A tiny org costs a few calls to read in full; elsewhere churn costs a fraction.
        assert!(
            size == OrgSize::Tiny || inc.api_calls.saturating_sub(new_admins) * 2 < full.api_calls,
            "round {round}: incremental took {} calls ({new_admins} new admins), full {} ({:?})",
            inc.api_calls,
            full.api_calls,
            inc.calls_by_bucket
        );
    }

    // The rounds changed factors, IdPs and app lifecycles, not only users and groups.
    println!("churn applied over the rounds: {applied:?}");
    for family in ["factor.", "idp.", "app.deactivate", "app.update"] {
        assert!(
            applied.keys().any(|k| k.starts_with(family)),
            "no {family}* churn in {applied:?}"
        );
    }

    let reconcile = run(SyncMode::Full).await;
    assert_eq!(reconcile.kind, "reconcile");
    assert_eq!(
        reconcile.drift,
        Some(0),
        "drift after incremental rounds: {:?}",
        reconcile.changes
    );
    assert_exact(&mirror.export(&client).await, &expected_now().await);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_rounds_small_org_a() {
    // The default factor scope: the admins' factors follow roles and memberships.
    churn_rounds(
        3,
        OrgSize::Small,
        FactorScope::Admins,
        &[
            (1, 40),
            (2, 80),
            (3, 10),
            (4, 120),
            (5, 60),
            (6, 1),
            (7, 90),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_rounds_small_org_b() {
    churn_rounds(
        17,
        OrgSize::Small,
        FactorScope::All,
        &[
            (101, 150),
            (102, 30),
            (103, 70),
            (104, 5),
            (105, 110),
            (106, 45),
            (107, 200),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn churn_rounds_tiny_org() {
    // A tiny org: churn deletes and re-creates a large share of it.
    churn_rounds(
        29,
        OrgSize::Tiny,
        FactorScope::All,
        &[
            (201, 20),
            (202, 35),
            (203, 8),
            (204, 50),
            (205, 25),
            (206, 40),
            (207, 15),
        ],
    )
    .await;
}

/// The figures of the issue: incremental sync vs full sync on `medium` after churn of 1%
/// of users (ops = users / 100).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn medium_org_one_percent_churn() {
    let emu = emulator(42, OrgSize::Medium).await;
    let client = client(&emu);
    let mirror = Mirror::new().await;
    // The default factor scope (admins), as the figures are for what users run.
    let run = |mode| run_scoped(&client, &mirror.store, mode, FactorScope::Admins);
    let full = run(SyncMode::Auto).await;
    let users = full.count(Resource::Users).unwrap();
    let churned = churn(&emu, 4242, users / 100).await;
    let expected = in_factor_scope(&source(&emu).await, FactorScope::Admins);
    let inc = run(SyncMode::Auto).await;
    assert_eq!(inc.kind, "incremental");
    assert_exact(&mirror.export(&client).await, &expected);
    let reconcile = run(SyncMode::Full).await;
    assert_eq!(reconcile.drift, Some(0), "{:?}", reconcile.changes);
    let figures = json!({
        "users": users,
        "churn": churned,
        "full": {"api_calls": full.api_calls, "duration_s": full.duration_s},
        "incremental": {
            "api_calls": inc.api_calls,
            "calls_by_bucket": inc.calls_by_bucket,
            "events": inc.events,
            "duration_s": inc.duration_s,
            "rows_changed": inc.rows_changed(),
        },
        "calls_ratio": inc.api_calls as f64 / full.api_calls as f64,
        "reconcile": {"drift": reconcile.drift, "duration_s": reconcile.duration_s},
    });
    println!("medium 1% churn: {figures}");
    assert!(
        inc.api_calls * 20 < full.api_calls,
        "incremental calls are not under 5% of a full sync's: {figures}"
    );
    emu.shutdown().await;
}

/// An OAuth service app granted every read scope but `okta.logs.read`.
fn no_logs_app(dir: &std::path::Path) -> (OAuthClientConfig, PrivateKey, Vec<String>) {
    okta_emulator::gate::keygen::run(dir, "ES256").expect("keygen");
    let read = |name: &str| std::fs::read_to_string(dir.join(name)).expect("key file");
    // Every scope the resources need, and not the log's.
    let scopes: Vec<String> = Resource::ALL
        .map(|r| r.okta_scope().to_owned())
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let config = OAuthClientConfig {
        client_id: "0oanologs".into(),
        public_jwk: Some(
            serde_json::from_str(&read(okta_emulator::gate::keygen::PUBLIC_JWK)).expect("jwk"),
        ),
        public_key_pem_file: None,
        scopes: scopes.clone(),
        require_dpop: false,
        client_secret: None,
    };
    let key = PrivateKey::from_pem(&read(okta_emulator::gate::keygen::PRIVATE_PEM)).expect("key");
    (config, key, scopes)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_log_or_an_old_checkpoint_falls_back_to_a_full_sync() {
    let keys = tempfile::tempdir().unwrap();
    let (app, key, scopes) = no_logs_app(keys.path());
    let emu = okta_emulator::start(EmulatorConfig {
        seed: 5,
        size: OrgSize::Tiny,
        oauth_clients: vec![app],
        ..Default::default()
    })
    .await
    .expect("emulator starts");
    let ssws = client(&emu);
    let mirror = Mirror::new().await;
    run(&ssws, &mirror.store, SyncMode::Auto).await;
    let org = mirror.org(&ssws).await;

    // The checkpoint is there, but this app may not read the log.
    churn(&emu, 9, 30).await;
    let oauth = OktaClient::new(
        OrgUrl::parse(&emu.base_url()).unwrap(),
        Credentials::OAuth(OAuthCredentials {
            client_id: "0oanologs".into(),
            private_key: key,
            scopes,
            key_id: None,
        }),
        ClientConfig::default(),
    )
    .unwrap();
    let fell_back = run(&oauth, &mirror.store, SyncMode::Auto).await;
    assert_eq!(fell_back.kind, "full");
    let reason = fell_back.fallback.clone().expect("a fallback reason");
    assert!(reason.contains("okta.logs.read"), "{reason}");
    assert_exact(&mirror.export(&ssws).await, &source(&emu).await);
    let runs = mirror.store.recent_runs(org, 3).await.unwrap();
    assert_eq!(runs[0].kind, "full");
    assert_eq!(runs[0].outcome, "succeeded");
    assert_eq!(runs[1].kind, "incremental");
    assert_eq!(runs[1].outcome, "failed");

    // A checkpoint older than Okta keeps logs is not followed either.
    let mut old = BTreeMap::new();
    old.insert(
        LOGS_CHECKPOINT.to_owned(),
        mirror
            .store
            .checkpoint(org, LOGS_CHECKPOINT)
            .await
            .unwrap()
            .expect("checkpoint kept"),
    );
    old.insert(
        "logs.next_at".to_owned(),
        (chrono::Utc::now() - chrono::Duration::days(100)).to_rfc3339(),
    );
    mirror.store.set_checkpoints(org, &old).await.unwrap();
    churn(&emu, 10, 30).await;
    let fell_back = run(&ssws, &mirror.store, SyncMode::Auto).await;
    assert_eq!(fell_back.kind, "full");
    let reason = fell_back.fallback.expect("a fallback reason");
    assert!(reason.contains("100 days old"), "{reason}");
    assert_exact(&mirror.export(&ssws).await, &source(&emu).await);

    // The full sync moved the checkpoint: the next sync is incremental again.
    churn(&emu, 11, 30).await;
    let inc = run(&ssws, &mirror.store, SyncMode::Auto).await;
    assert_eq!(inc.kind, "incremental");
    assert_exact(&mirror.export(&ssws).await, &source(&emu).await);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_applies_a_membership_change_at_the_next_poll() {
    let emu = emulator(8, OrgSize::Tiny).await;
    let client = client(&emu);
    let mirror = Mirror::new().await;
    run(&client, &mirror.store, SyncMode::Auto).await;
    let org = mirror.org(&client).await;
    let export = source(&emu).await;
    // An OKTA_GROUP and a user who is not in it.
    let group = export["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["type"] == "OKTA_GROUP")
        .expect("an OKTA_GROUP")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let members: Vec<&str> = export["group_members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["group_id"] == group.as_str())
        .map(|m| m["user_id"].as_str().unwrap())
        .collect();
    let user = export["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .find(|u| !members.contains(u))
        .expect("a user outside the group")
        .to_owned();

    let options = WatchOptions {
        interval: Duration::from_secs(1),
        max_interval: Duration::from_secs(2),
        reconcile_every: None,
        reconcile_first: false,
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let opts = truth_options();
    let watcher = watch(
        &client,
        &mirror.store,
        &opts,
        options,
        Arc::new(NoProgress),
        async {
            let _ = stopped.await;
        },
    );
    let logs_polls = || served_by_bucket(&emu).get("logs").copied().unwrap_or(0);
    let driver = async {
        // Let watch go idle and back off to its longest wait (polls at about 0, 1, 3, 5 and
        // 7 s), noting when each idle poll reaches the emulator.
        let idle_until = tokio::time::Instant::now() + Duration::from_secs(7);
        let mut seen = logs_polls();
        let mut polled_at = Vec::new();
        while tokio::time::Instant::now() < idle_until {
            tokio::time::sleep(Duration::from_millis(10)).await;
            let now = logs_polls();
            if now != seen {
                polled_at.push(tokio::time::Instant::now());
                seen = now;
            }
        }
        let gaps: Vec<Duration> = polled_at.windows(2).map(|w| w[1] - w[0]).collect();
        println!(
            "idle polls {} apart",
            gaps.iter()
                .map(|g| format!("{g:.2?}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        assert!(
            gaps.len() >= 2,
            "too few idle polls to see the back-off: {gaps:?}"
        );
        // Never faster than `interval`, never slower than `max_interval` (with a second of
        // slack for a loaded machine).
        for gap in &gaps {
            assert!(
                *gap >= options.interval / 2
                    && *gap <= options.max_interval + Duration::from_secs(1),
                "idle polls {gaps:?} apart, for an interval of {:?} backing off to {:?}",
                options.interval,
                options.max_interval
            );
        }
        let runs_before = mirror.store.recent_runs(org, 100).await.unwrap().len();
        // Change the org just after an idle poll: the next poll is `max_interval` away.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        while logs_polls() == seen {
            assert!(
                tokio::time::Instant::now() < deadline,
                "watch stopped polling"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        client.add_group_member(&group, &user).await.unwrap();
        let polls_at_change = logs_polls();
        let added = tokio::time::Instant::now();
        // Only to stop a watch that never applies it; the bound is checked below.
        let limit = options.max_interval * 2 + Duration::from_secs(10);
        loop {
            let keys = mirror
                .store
                .keys(org, &Scope::membership(group.as_str(), user.as_str()))
                .await
                .unwrap();
            if !keys.is_empty() {
                break;
            }
            assert!(
                added.elapsed() < limit,
                "the membership did not reach the mirror within {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        let took = added.elapsed();
        let polls = logs_polls() - polls_at_change;
        let runs = mirror.store.recent_runs(org, 100).await.unwrap();
        // Idle polls record no runs: only the one that applied the change.
        assert_eq!(runs.len(), runs_before + 1);
        let time = |t: &Option<String>| {
            chrono::DateTime::parse_from_rfc3339(t.as_deref().expect("a finished run")).unwrap()
        };
        let run = (time(&runs[0].ended_at) - time(&Some(runs[0].started_at.clone())))
            .to_std()
            .unwrap();
        println!(
            "membership mirrored after {took:?} ({run:?} of it the run) and {polls} System Log requests"
        );
        // The next poll applied it: one read of the log (the page with the event and the
        // empty page after it), due `max_interval` after the last; a second of slack for a
        // loaded machine.
        assert!(
            polls <= 2,
            "{polls} System Log requests before the change was applied: a poll missed it"
        );
        assert!(
            took <= options.max_interval + run + Duration::from_secs(1),
            "applied {took:?} after the change, the run taking {run:?}: the next poll came late"
        );
        let _ = stop.send(());
    };
    let (watched, ()) = tokio::join!(watcher, driver);
    watched.expect("watch stops cleanly");
    assert_exact(&mirror.export(&client).await, &source(&emu).await);
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_rules_and_the_memberships_they_make_follow_incrementally() {
    let emu = emulator(41, OrgSize::Small).await;
    let client = client(&emu);
    let mirror = Mirror::new().await;
    let full = run(&client, &mirror.store, SyncMode::Auto).await;
    assert_eq!(full.kind, "full");
    let export = source(&emu).await;
    assert!(
        !export["group_rules"].as_array().unwrap().is_empty(),
        "the seeded org has group rules"
    );
    assert_exact(&mirror.export(&client).await, &export);

    // A rule over a department no one is in yet, targeting an Okta group, activated.
    let group = export["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["type"] == "OKTA_GROUP")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let post = reqwest::Method::POST;
    let rule = okta_call(
        &emu,
        post.clone(),
        "/api/v1/groups/rules",
        json!({
            "type": "group_rule",
            "name": "Mirror test rule",
            "conditions": {"expression": {
                "value": "user.department==\"Mirror Test\"",
                "type": "urn:okta:expression:1.0"
            }},
            "actions": {"assignUserToGroups": {"groupIds": [group]}}
        }),
    )
    .await;
    let rule_id = rule["id"].as_str().unwrap().to_owned();
    okta_call(
        &emu,
        post.clone(),
        &format!("/api/v1/groups/rules/{rule_id}/lifecycle/activate"),
        Value::Null,
    )
    .await;
    // A user moves into that department: the rule puts them in the group.
    let user = export["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["status"] == "ACTIVE")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    okta_call(
        &emu,
        post.clone(),
        &format!("/api/v1/users/{user}"),
        json!({"profile": {"department": "Mirror Test"}}),
    )
    .await;
    let inc = run(&client, &mirror.store, SyncMode::Auto).await;
    assert_eq!(inc.kind, "incremental", "{inc:?}");
    let mirrored = mirror.export(&client).await;
    let now = source(&emu).await;
    assert!(
        now["group_members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["group_id"] == group.as_str() && m["user_id"] == user.as_str()),
        "the rule added the user"
    );
    assert_exact(&mirrored, &now);

    // Deactivated: the mirror's rule says so after the next incremental sync.
    okta_call(
        &emu,
        post,
        &format!("/api/v1/groups/rules/{rule_id}/lifecycle/deactivate"),
        Value::Null,
    )
    .await;
    let inc = run(&client, &mirror.store, SyncMode::Auto).await;
    assert_eq!(inc.kind, "incremental", "{inc:?}");
    assert_eq!(inc.count(Resource::GroupRules), Some(1), "{inc:?}");
    assert_exact(&mirror.export(&client).await, &source(&emu).await);
    emu.shutdown().await;
}

/// A full sync keeps the last `log_backfill` of the System Log; an incremental run keeps
/// every event it read (`log_events`), once per uuid, with its targets: each event of a churn
/// is there after the run, and a quiet run that re-reads the lookback adds none.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_runs_keep_the_events_they_read() {
    use oktasync_store::LogQuery;
    let emu = emulator(33, OrgSize::Tiny).await;
    let client = client(&emu);
    let mirror = Mirror::new().await;
    assert_eq!(
        run(&client, &mirror.store, SyncMode::Auto).await.kind,
        "full"
    );
    let org = mirror.org(&client).await;
    let kept = |q: LogQuery| {
        let store = &mirror.store;
        async move { store.log_events(org, &q).await.unwrap() }
    };
    // The full sync kept the generated history of the last 7 days (the default backfill),
    // and nothing older.
    let week_ago = chrono::Utc::now() - chrono::Duration::days(7);
    let backfilled = kept(LogQuery::default()).await;
    let history = okta_call(
        &emu,
        reqwest::Method::GET,
        &format!(
            "/api/v1/logs?since={}&limit=1000",
            (week_ago + chrono::Duration::minutes(1))
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        ),
        Value::Null,
    )
    .await;
    let history = history.as_array().unwrap();
    assert!(!history.is_empty(), "the tiny org has a week of history");
    for event in history {
        let uuid = event["uuid"].as_str().unwrap();
        assert!(
            backfilled.iter().any(|e| e.uuid == uuid),
            "event {uuid} of {} not backfilled",
            event["published"]
        );
    }
    let oldest = week_ago.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    assert!(
        backfilled.iter().all(|e| e.published >= oldest),
        "nothing older than the backfill"
    );

    let before = chrono::Utc::now() - chrono::Duration::seconds(1);
    churn(&emu, 5, 20).await;
    let since = before.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let logged = okta_call(
        &emu,
        reqwest::Method::GET,
        &format!("/api/v1/logs?since={since}&limit=1000"),
        Value::Null,
    )
    .await;
    let logged = logged.as_array().unwrap();
    assert!(
        logged.len() >= 5,
        "the churn logged {} events",
        logged.len()
    );
    assert_eq!(
        run(&client, &mirror.store, SyncMode::Auto).await.kind,
        "incremental"
    );
    let all = kept(LogQuery::default()).await;
    for event in logged {
        let uuid = event["uuid"].as_str().unwrap();
        let stored = all
            .iter()
            .find(|e| e.uuid == uuid)
            .unwrap_or_else(|| panic!("event {uuid} ({}) not kept", event["eventType"]));
        assert_eq!(stored.event_type.as_deref(), event["eventType"].as_str());
        assert_eq!(
            stored.actor_id.as_deref(),
            event["actor"]["id"].as_str(),
            "{uuid}"
        );
    }
    // an event's target finds it
    let with_target = logged
        .iter()
        .find(|e| e["target"][0]["id"].is_string())
        .expect("an event with a target");
    let by_target = kept(LogQuery {
        target: with_target["target"][0]["id"].as_str().map(str::to_owned),
        ..LogQuery::default()
    })
    .await;
    assert!(by_target.iter().any(|e| e.uuid == with_target["uuid"]));

    // a quiet run re-reads the lookback and keeps nothing twice
    let count = all.len();
    assert_eq!(
        run(&client, &mirror.store, SyncMode::Auto).await.kind,
        "incremental"
    );
    assert_eq!(kept(LogQuery::default()).await.len(), count);

    // a retention of zero keeps none: what was kept is pruned by the next run
    let keep_none = SyncOptions {
        log_retention: Duration::ZERO,
        ..truth_options()
    };
    churn(&emu, 6, 5).await;
    let summary = sync(
        &client,
        &mirror.store,
        &keep_none,
        SyncMode::Auto,
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    assert_eq!(summary.kind, "incremental");
    assert!(kept(LogQuery::default()).await.is_empty());
}

/// The security configuration follows incrementally: each setting changed in Okta (a zone
/// deactivated, ThreatInsight set to block, a policy rule deactivated, a log stream
/// activated, an API token revoked, a scope granted to an app and another revoked, an
/// authenticator activated) is re-listed after its event, and the mirror equals the source.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_security_configuration_follows_incrementally() {
    let emu = emulator(43, OrgSize::Small).await;
    let client = client(&emu);
    let mirror = Mirror::new().await;
    let full = run(&client, &mirror.store, SyncMode::Auto).await;
    assert_eq!(full.kind, "full");
    let export = source(&emu).await;
    for key in [
        "policies",
        "policy_rules",
        "authenticators",
        "network_zones",
        "okta_api_tokens",
        "log_streams",
        "org_settings",
        "app_grants",
    ] {
        assert!(
            !export[key].as_array().unwrap().is_empty(),
            "the seeded org has {key}"
        );
    }
    assert_exact(&mirror.export(&client).await, &export);

    let list = |key: &str| export[key].as_array().unwrap().clone();
    let id = |v: &Value| v["id"].as_str().unwrap().to_owned();
    let (post, delete) = (reqwest::Method::POST, reqwest::Method::DELETE);
    let zone = list("network_zones")
        .into_iter()
        .find(|z| z["status"] == "ACTIVE" && z["system"] == false)
        .expect("an active custom zone");
    okta_call(
        &emu,
        post.clone(),
        &format!("/api/v1/zones/{}/lifecycle/deactivate", id(&zone)),
        Value::Null,
    )
    .await;
    okta_call(
        &emu,
        post.clone(),
        "/api/v1/threats/configuration",
        json!({"action": "block", "excludeZones": []}),
    )
    .await;
    let rule = list("policy_rules")
        .into_iter()
        .find(|r| r["rule"]["status"] == "ACTIVE" && r["rule"]["system"] != true)
        .expect("an active custom policy rule");
    okta_call(
        &emu,
        post.clone(),
        &format!(
            "/api/v1/policies/{}/rules/{}/lifecycle/deactivate",
            rule["policy_id"].as_str().unwrap(),
            id(&rule["rule"])
        ),
        Value::Null,
    )
    .await;
    let stream = list("log_streams")
        .into_iter()
        .find(|s| s["status"] == "INACTIVE")
        .expect("an inactive log stream");
    okta_call(
        &emu,
        post.clone(),
        &format!("/api/v1/logStreams/{}/lifecycle/activate", id(&stream)),
        Value::Null,
    )
    .await;
    let token = id(&list("okta_api_tokens")[0]);
    okta_call(
        &emu,
        delete.clone(),
        &format!("/api/v1/api-tokens/{token}"),
        Value::Null,
    )
    .await;
    let grants = list("app_grants");
    let granted = &grants[0];
    okta_call(
        &emu,
        delete,
        &format!(
            "/api/v1/apps/{}/grants/{}",
            granted["app_id"].as_str().unwrap(),
            id(&granted["grant"])
        ),
        Value::Null,
    )
    .await;
    let oauth_app = grants.last().unwrap()["app_id"]
        .as_str()
        .unwrap()
        .to_owned();
    okta_call(
        &emu,
        post.clone(),
        &format!("/api/v1/apps/{oauth_app}/grants"),
        json!({"issuer": emu.base_url(), "scopeId": "okta.groups.read"}),
    )
    .await;
    let authenticator = list("authenticators")
        .into_iter()
        .find(|a| a["status"] == "INACTIVE")
        .expect("an inactive authenticator");
    okta_call(
        &emu,
        post,
        &format!(
            "/api/v1/authenticators/{}/lifecycle/activate",
            id(&authenticator)
        ),
        Value::Null,
    )
    .await;

    let inc = run(&client, &mirror.store, SyncMode::Auto).await;
    assert_eq!(inc.kind, "incremental", "{inc:?}");
    let now = source(&emu).await;
    assert_ne!(now, export, "the writes changed the org");
    assert_exact(&mirror.export(&client).await, &now);
    emu.shutdown().await;
}

/// A mirror holds only what its last full sync read (`sync.resources`): a run that wants a
/// resource it lacks (newly selected, or added by an upgrade) is a full sync that says so,
/// and the next run is incremental again. A run wanting fewer resources stays incremental.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_the_mirror_lacks_is_read_by_a_full_sync() {
    let emu = emulator(45, OrgSize::Tiny).await;
    let client = client(&emu);
    let mirror = Mirror::new().await;
    let with = |resources: &[Resource]| SyncOptions {
        resources: resources.iter().copied().collect(),
        ..truth_options()
    };
    let narrow = with(&[Resource::Users, Resource::Groups, Resource::Memberships]);
    let go = |opts: SyncOptions| {
        let (client, store) = (&client, &mirror.store);
        async move {
            sync(client, store, &opts, SyncMode::Auto, Arc::new(NoProgress))
                .await
                .unwrap()
        }
    };
    assert_eq!(go(narrow.clone()).await.kind, "full");
    let fewer = go(with(&[Resource::Users])).await;
    assert_eq!((fewer.kind.as_str(), fewer.fallback), ("incremental", None));

    let all = go(truth_options()).await;
    assert_eq!(all.kind, "full", "{all:?}");
    let reason = all.fallback.expect("a fallback reason");
    assert!(
        reason.contains("policies")
            && reason.contains("app_grants")
            && !reason.contains("memberships"),
        "{reason}"
    );
    assert_exact(&mirror.export(&client).await, &source(&emu).await);
    let again = go(truth_options()).await;
    assert_eq!((again.kind.as_str(), again.fallback), ("incremental", None));
    emu.shutdown().await;
}
