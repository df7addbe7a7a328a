//! Enforcement against the emulator over HTTP and a real database: two enforcers on one
//! PostgreSQL database remove each due membership exactly once (DELETEs counted on the
//! emulator); removals that fail under injected faults are retried until they succeed; a
//! process that died between recording a grant and calling Okta leaves work the next pass
//! finishes. Time is the `now` each pass is given, so nothing sleeps.

use chrono::{DateTime, Duration, TimeZone, Utc};
use okta_api::{ClientConfig, Credentials, OktaClient, OrgUrl, SecretString};
use okta_emulator::{EmulatorConfig, OrgSize, RunningEmulator};
use oktasync_grants::enforce::{Enforcer, PassReport};
use oktasync_store::{
    DbLocation, GrantFilter, GrantState, Grants, Mirror, MirrorReader, MirrorWriter, NewGrant,
    OrgId,
};
use oktasync_testkit::PgDatabase;
use oktasync_testkit::org::{group_and_outsiders, members};
use serde_json::json;

fn t(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap() + Duration::seconds(seconds)
}

async fn emulator() -> RunningEmulator {
    okta_emulator::start(EmulatorConfig {
        seed: 71,
        size: OrgSize::Small,
        ..Default::default()
    })
    .await
    .expect("emulator starts")
}

fn client(emu: &RunningEmulator, max_retries: u32) -> OktaClient {
    OktaClient::new(
        OrgUrl::parse(&emu.base_url()).unwrap(),
        Credentials::ApiToken(SecretString::from(emu.token().to_owned())),
        ClientConfig {
            max_retries,
            backoff_base: std::time::Duration::from_millis(5),
            backoff_cap: std::time::Duration::from_millis(20),
            ..Default::default()
        },
    )
    .unwrap()
}

/// Membership writes the emulator has answered (PUT and DELETE share their bucket).
fn membership_writes(emu: &RunningEmulator) -> u64 {
    emu.gate().stats()["buckets"]["group_membership"]["requests"]
        .as_u64()
        .unwrap_or(0)
}

async fn request(
    store: &Mirror,
    org: OrgId,
    user: &str,
    group: &str,
    expires: DateTime<Utc>,
) -> i64 {
    let new = NewGrant {
        user_id: user.into(),
        group_id: group.into(),
        reason: Some("test".into()),
        expires_at: Some(expires),
        ..Default::default()
    };
    store
        .request_grant(org, &new, t(0))
        .await
        .unwrap()
        .0
        .grant_id
}

fn enforcer<'a>(
    client: &'a OktaClient,
    store: &'a Mirror,
    org: OrgId,
    holder: &str,
) -> Enforcer<'a> {
    Enforcer {
        client,
        store,
        org,
        holder: holder.into(),
        org_name: "emu".into(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_enforcers_on_postgres_remove_each_due_membership_exactly_once() {
    let Some(db) = PgDatabase::create("two_enforcers_remove_once").await else {
        return;
    };
    let location = DbLocation::parse(&db.url).unwrap();
    let emu = emulator().await;
    let (group, users) = group_and_outsiders(&emu.export(), 12).expect("a grantable group");
    let (first, second) = (
        oktasync_store::open_writer(&location).await.unwrap(),
        oktasync_store::open_writer(&location).await.unwrap(),
    );
    let client = client(&emu, 2);
    let org = first
        .ensure_org(&client.org().origin(), t(0))
        .await
        .unwrap();
    for user in &users {
        request(&first, org, user, &group, t(60)).await;
    }
    let added = enforcer(&client, &first, org, "a")
        .pass(t(1))
        .await
        .unwrap();
    assert_eq!(added.added, 12);
    assert!(
        users
            .iter()
            .all(|u| members(&emu.export(), &group).contains(u))
    );
    let writes_before = membership_writes(&emu);
    // Both at once, past the expiry.
    let (enforcer_a, enforcer_b) = (
        enforcer(&client, &first, org, "a"),
        enforcer(&client, &second, org, "b"),
    );
    let (a, b) = tokio::join!(enforcer_a.pass(t(61)), enforcer_b.pass(t(61)));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.revoked + b.revoked, 12, "{a:?} {b:?}");
    assert_eq!(
        membership_writes(&emu) - writes_before,
        12,
        "one DELETE per grant"
    );
    assert!(
        users
            .iter()
            .all(|u| !members(&emu.export(), &group).contains(u))
    );
    // Nothing left to do for anyone.
    let again = enforcer(&client, &second, org, "b")
        .pass(t(62))
        .await
        .unwrap();
    assert_eq!(again, PassReport::default());
    first.close().await;
    second.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_removals_are_retried_until_okta_takes_them() {
    let dir = tempfile::tempdir().unwrap();
    let store = oktasync_store::open_writer(&DbLocation::Sqlite(dir.path().join("m.db")))
        .await
        .unwrap();
    let emu = emulator().await;
    let (group, users) = group_and_outsiders(&emu.export(), 3).expect("a grantable group");
    let client = client(&emu, 0);
    let org = store
        .ensure_org(&client.org().origin(), t(0))
        .await
        .unwrap();
    for user in &users {
        request(&store, org, user, &group, t(60)).await;
    }
    assert_eq!(
        enforcer(&client, &store, org, "a")
            .pass(t(1))
            .await
            .unwrap()
            .added,
        3
    );
    // Okta answers 503 to everything: every removal fails, and waits for its retry.
    let faults = |rate: f64| {
        let url = format!("{}/__emulator/faults", emu.base_url());
        let token = emu.token().to_owned();
        async move {
            let response = reqwest::Client::new()
                .put(url)
                .header("authorization", format!("SSWS {token}"))
                .json(&json!({"fault_rate": rate, "kinds": {
                    "500": 0, "502": 0, "503": 1, "504": 0, "drop": 0, "truncate": 0, "slow": 0
                }}))
                .send()
                .await
                .unwrap();
            assert!(response.status().is_success());
        }
    };
    faults(1.0).await;
    let failed = enforcer(&client, &store, org, "a")
        .pass(t(61))
        .await
        .unwrap();
    assert_eq!(failed.retrying, 3, "{failed:?}");
    let open = GrantFilter {
        open: true,
        ..Default::default()
    };
    let waiting = store.grants(org, &open).await.unwrap();
    assert!(
        waiting
            .iter()
            .all(|g| g.state == GrantState::RevokeFailed && g.attempts == 1)
    );
    assert!(
        waiting
            .iter()
            .all(|g| g.last_error.as_deref().is_some_and(|e| e.contains("503")))
    );
    // Before the retry time nothing is tried; after it, with Okta back, all are removed.
    assert_eq!(
        enforcer(&client, &store, org, "a")
            .pass(t(62))
            .await
            .unwrap(),
        PassReport::default()
    );
    faults(0.0).await;
    let retried = enforcer(&client, &store, org, "a")
        .pass(t(70))
        .await
        .unwrap();
    assert_eq!(retried.revoked, 3, "{retried:?}");
    assert!(store.grants(org, &open).await.unwrap().is_empty());
    let now = emu.export();
    assert!(users.iter().all(|u| !members(&now, &group).contains(u)));
    let audit = store.grant_audit(org, waiting[0].grant_id).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        ["requested", "checked", "added", "revoke_failed", "revoked"]
    );
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_process_that_died_between_the_record_and_the_call_leaves_work_the_next_pass_does() {
    let dir = tempfile::tempdir().unwrap();
    let store = oktasync_store::open_writer(&DbLocation::Sqlite(dir.path().join("m.db")))
        .await
        .unwrap();
    let emu = emulator().await;
    let (group, users) = group_and_outsiders(&emu.export(), 2).expect("a grantable group");
    let client = client(&emu, 2);
    let org = store
        .ensure_org(&client.org().origin(), t(0))
        .await
        .unwrap();
    // Died after recording, before any call: the next pass adds the membership.
    let recorded = request(&store, org, &users[0], &group, t(60)).await;
    // Died after the check and the add, before recording the add: the membership is in Okta,
    // the grant says `adding` with `pre_existing` false.
    let adding = request(&store, org, &users[1], &group, t(60)).await;
    let checked = oktasync_store::GrantUpdate {
        state: Some(GrantState::Adding),
        pre_existing: Some(false),
        ..Default::default()
    };
    store
        .update_grant(
            org,
            adding,
            &[GrantState::Pending],
            &checked,
            &oktasync_store::AuditNote::new("checked"),
            t(1),
        )
        .await
        .unwrap()
        .unwrap();
    client.add_group_member(&group, &users[1]).await.unwrap();

    let pass = enforcer(&client, &store, org, "restarted")
        .pass(t(2))
        .await
        .unwrap();
    assert_eq!(pass.added, 2, "{pass:?}");
    for id in [recorded, adding] {
        let grant = store.grant(org, id).await.unwrap().unwrap();
        assert_eq!(grant.state, GrantState::Active);
        assert!(
            !grant.pre_existing,
            "oktasync's own add is not someone else's membership"
        );
    }
    // At expiry both memberships go, however the process had died.
    let ended = enforcer(&client, &store, org, "restarted")
        .pass(t(61))
        .await
        .unwrap();
    assert_eq!(ended.revoked, 2, "{ended:?}");
    let now = emu.export();
    assert!(users.iter().all(|u| !members(&now, &group).contains(u)));
    store.close().await;
}

/// Syncs the emulated org into the mirror (`full`, or incremental from the last checkpoint).
async fn sync(client: &OktaClient, store: &Mirror, full: bool) {
    let mode = if full {
        oktasync_engine::SyncMode::Full
    } else {
        oktasync_engine::SyncMode::Auto
    };
    oktasync_engine::sync(
        client,
        store,
        &oktasync_engine::SyncOptions::default(),
        mode,
        std::sync::Arc::new(oktasync_engine::NoProgress),
    )
    .await
    .expect("sync");
}

/// Someone other than oktasync changes a membership, straight through the API.
async fn by_hand(emu: &RunningEmulator, method: reqwest::Method, group: &str, user: &str) {
    let url = format!("{}/api/v1/groups/{group}/users/{user}", emu.base_url());
    let response = reqwest::Client::new()
        .request(method, url)
        .header("authorization", format!("SSWS {}", emu.token()))
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
}

/// An emulated org synced into a SQLite mirror.
struct Synced {
    dir: tempfile::TempDir,
    store: Mirror,
    emu: RunningEmulator,
    client: OktaClient,
    org: OrgId,
}

async fn synced() -> Synced {
    let dir = tempfile::tempdir().unwrap();
    let store = oktasync_store::open_writer(&DbLocation::Sqlite(dir.path().join("m.db")))
        .await
        .unwrap();
    let emu = emulator().await;
    let client = client(&emu, 2);
    sync(&client, &store, true).await;
    let org = store
        .find_org(&client.org().origin())
        .await
        .unwrap()
        .unwrap();
    Synced {
        dir,
        store,
        emu,
        client,
        org,
    }
}

/// Waits (real time: the emulator's System Log is stamped with it) until `at` has passed.
async fn sleep_past(at: DateTime<Utc>) {
    let wait = (at - Utc::now()).to_std().unwrap_or_default();
    tokio::time::sleep(wait + std::time::Duration::from_millis(50)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drift_both_ways_is_reported_once_and_every_call_is_tied_to_its_log_event() {
    let Synced {
        dir: _dir,
        store,
        emu,
        client,
        org,
    } = synced().await;
    let (group, users) = group_and_outsiders(&emu.export(), 3).expect("a grantable group");
    let start = Utc::now();
    let grant = |user: &str, until: DateTime<Utc>| NewGrant {
        user_id: user.into(),
        group_id: group.clone(),
        reason: Some("test".into()),
        expires_at: Some(until),
        ..Default::default()
    };
    // `early` is removed by someone else before its end; `ended` ends and is then re-added
    // by someone else; `quiet` is left alone.
    let early = store
        .request_grant(org, &grant(&users[0], start + Duration::hours(1)), start)
        .await
        .unwrap()
        .0
        .grant_id;
    let ended_at = start + Duration::seconds(1);
    let ended = store
        .request_grant(org, &grant(&users[1], ended_at), start)
        .await
        .unwrap()
        .0
        .grant_id;
    let quiet = store
        .request_grant(org, &grant(&users[2], start + Duration::hours(1)), start)
        .await
        .unwrap()
        .0
        .grant_id;
    let e = enforcer(&client, &store, org, "a");
    assert_eq!(e.pass(Utc::now()).await.unwrap().added, 3);
    by_hand(&emu, reqwest::Method::DELETE, &group, &users[0]).await;
    sleep_past(ended_at).await;
    assert_eq!(e.pass(Utc::now()).await.unwrap().revoked, 1);
    by_hand(&emu, reqwest::Method::PUT, &group, &users[1]).await;

    // The sync brings the events; the next pass reads what they changed.
    sync(&client, &store, false).await;
    let report = e.pass(Utc::now()).await.unwrap();
    assert_eq!(report.ended_externally, 1, "{report:?}");
    assert_eq!(report.re_added, 1, "{report:?}");
    let state = |id| {
        let store = &store;
        async move { store.grant(org, id).await.unwrap().unwrap() }
    };
    assert_eq!(state(early).await.state, GrantState::EndedExternally);
    assert_eq!(state(ended).await.state, GrantState::Revoked);
    assert_eq!(state(quiet).await.state, GrantState::Active);
    // Nothing is fought: the removed membership stays removed, the re-added one stays.
    let now = emu.export();
    assert!(!members(&now, &group).contains(&users[0]));
    assert!(members(&now, &group).contains(&users[1]));

    // Each of oktasync's calls is tied to the System Log event that shows it.
    for id in [early, ended, quiet] {
        let audit = store.grant_audit(org, id).await.unwrap();
        let added = audit.iter().find(|a| a.action == "added").unwrap();
        assert!(added.okta_request_id.is_some(), "{added:?}");
        assert!(added.log_event_uuid.is_some(), "{added:?}");
    }
    let audit = store.grant_audit(org, ended).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        ["requested", "checked", "added", "revoked", "re_added"]
    );
    assert!(audit[3].log_event_uuid.is_some(), "{:?}", audit[3]);
    let audit = store.grant_audit(org, early).await.unwrap();
    let last = audit.last().unwrap();
    assert_eq!(last.action, "ended_externally");
    assert!(last.detail.as_deref().unwrap().contains("System Log event"));

    // `changes` tells grant-made membership changes from others, and carries the grants'
    // own records.
    let changes = store
        .changes(
            org,
            &oktasync_store::ChangeQuery {
                user_id: Some(users[1].clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let membership: Vec<(&str, Option<i64>)> = changes
        .iter()
        .filter(|c| c.entity == "group_members")
        .map(|c| (c.op.as_str(), c.grant_id))
        .collect();
    assert_eq!(
        membership,
        [("add", Some(ended)), ("remove", Some(ended)), ("add", None)]
    );
    let actions: Vec<&str> = changes
        .iter()
        .filter(|c| c.entity == "grants")
        .map(|c| c.new["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["requested", "checked", "added", "revoked", "re_added"]
    );

    // Reported once: more syncs and passes find nothing new.
    sync(&client, &store, false).await;
    let again = e.pass(Utc::now()).await.unwrap();
    assert_eq!(again, PassReport::default());
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_created_for_a_grant_are_deleted_days_after_their_last_grant_and_no_others() {
    use oktasync_grants::actions::Grantor;
    use oktasync_grants::check::{GrantRequest, NewAccount, Principal};
    use oktasync_grants::policy::{GrantPolicy, Policies, PolicyConfig};
    let Synced {
        dir: _dir,
        store,
        emu,
        client,
        org,
    } = synced().await;
    let (group, users) = group_and_outsiders(&emu.export(), 1).expect("a grantable group");
    let policy = GrantPolicy::from_config(
        &PolicyConfig {
            groups: vec![group.clone()],
            max_duration: "1h".into(),
            require_reason: true,
            require_approval: false,
            cleanup_after_days: Some(30),
        },
        "test policy",
    )
    .unwrap();
    let policies = Policies(vec![policy]);
    let grantor = Grantor {
        client: &client,
        store: &store,
        org,
        org_name: "emu".into(),
        policies: &policies,
        principal: Principal::default(),
        holder: "test".into(),
    };
    let start = Utc::now();
    let until = start + Duration::seconds(1);
    let ask = |user: &str, create: bool| GrantRequest {
        user: user.into(),
        group: group.clone(),
        until: Some(until),
        reason: Some("contractor".into()),
        create_user: create.then(|| NewAccount {
            email: "pat.new@example.com".into(),
            first_name: "Pat".into(),
            last_name: "New".into(),
        }),
        ..Default::default()
    };
    let (created, _, _) = grantor
        .request(&ask("pat.new@example.com", true), start)
        .await
        .unwrap();
    let (existing, _, _) = grantor
        .request(&ask(&users[0], false), start)
        .await
        .unwrap();
    assert_eq!(created.state, GrantState::Active);
    let new_user = created.user_id.clone();
    assert!(new_user.starts_with("00u"), "{created:?}");
    assert!(members(&emu.export(), &group).contains(&new_user));
    // The same login again is refused: the account exists.
    assert!(
        grantor
            .request(&ask("pat.new@example.com", true), start)
            .await
            .is_err()
    );

    sleep_past(until).await;
    let ended = Utc::now();
    assert_eq!(grantor.enforcer().pass(ended).await.unwrap().revoked, 2);
    let exists = |id: String| {
        let base = emu.base_url();
        let token = emu.token().to_owned();
        async move {
            let r = reqwest::Client::new()
                .get(format!("{base}/api/v1/users/{id}"))
                .header("authorization", format!("SSWS {token}"))
                .send()
                .await
                .unwrap();
            match r.status().as_u16() {
                200 => Some(r.json::<serde_json::Value>().await.unwrap()["status"].clone()),
                404 => None,
                other => panic!("GET user: {other}"),
            }
        }
    };
    // 29 days on: nothing yet. 30 days on: deactivated, then deleted. The account oktasync
    // did not create is never touched.
    let later = enforcer(&client, &store, org, "test")
        .pass(ended + Duration::days(29))
        .await
        .unwrap();
    assert_eq!(later.users_cleaned_up, 0);
    assert!(exists(new_user.clone()).await.is_some());
    let cleaned = enforcer(&client, &store, org, "test")
        .pass(ended + Duration::days(30) + Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(cleaned.users_cleaned_up, 1, "{cleaned:?}");
    assert_eq!(exists(new_user.clone()).await, None);
    assert_eq!(
        exists(existing.user_id.clone()).await,
        Some(json!("ACTIVE"))
    );
    let accounts = store.grant_users(org).await.unwrap();
    assert_eq!(accounts.len(), 1);
    assert_eq!(accounts[0].state, oktasync_store::GrantUserState::Deleted);
    let audit = store.grant_audit(org, created.grant_id).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "requested",
            "checked",
            "added",
            "revoked",
            "user_deactivated",
            "user_deleted"
        ]
    );
    // Done once.
    let again = enforcer(&client, &store, org, "test")
        .pass(ended + Duration::days(31))
        .await
        .unwrap();
    assert_eq!(again, PassReport::default());
    store.close().await;
}
