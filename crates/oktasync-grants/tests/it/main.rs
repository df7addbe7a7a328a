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
    DbLocation, GrantFilter, GrantState, Grants, Mirror, MirrorWriter, NewGrant, OrgId,
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
