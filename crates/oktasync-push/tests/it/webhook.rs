//! `kind = "webhook"` targets against a local receiver that verifies every batch's Standard
//! Webhooks signature and applies the operations to its own copy of the users: the copy must
//! equal what the push state says was pushed, after first, incremental, leaving and full
//! pushes; faults are retried; a batch that fails leaves its users (and those after it) for the
//! next push.

use crate::{okta_user, target};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use oktasync_push::{
    MemoryPushState, PushOptions, PushReport, PushState, SourceUser, TargetConfig, TargetOperation,
    push,
};
use oktasync_webhook::Signer;
use parking_lot::Mutex;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

const SECRET: &str = "whsec_dGVzdC1zaWduaW5nLXNlY3JldA==";

/// A user as the receiver holds it.
#[derive(Debug, Clone, PartialEq)]
struct Held {
    attributes: BTreeMap<String, Value>,
    groups: BTreeSet<String>,
}

#[derive(Default)]
struct Receiver {
    users: BTreeMap<String, Held>,
    /// Every POST: (webhook-id, batch number, operations).
    batches: Vec<(String, u64, usize)>,
    /// Answer 503 to this many POSTs first.
    unavailable: usize,
    /// Answer 400 to the batch with this number (every attempt).
    refuse_batch: Option<u64>,
    bad_signatures: usize,
}

type Shared = Arc<Mutex<Receiver>>;

async fn receive(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let now = chrono::Utc::now().timestamp();
    let verified = Signer::from_secret(SECRET).verify(
        |name| headers.get(name).and_then(|v| v.to_str().ok()),
        &body,
        now,
        300,
    );
    let mut r = shared.lock();
    if verified.is_err() {
        r.bad_signatures += 1;
        return StatusCode::UNAUTHORIZED;
    }
    if r.unavailable > 0 {
        r.unavailable -= 1;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let batch: Value = serde_json::from_slice(&body).expect("a batch is JSON");
    assert_eq!(batch["type"], "oktasync.push");
    assert_eq!(batch["target"], "audit");
    let number = batch["batch"].as_u64().unwrap();
    if r.refuse_batch == Some(number) {
        return StatusCode::BAD_REQUEST;
    }
    let id = headers["webhook-id"].to_str().unwrap().to_owned();
    let operations = batch["operations"].as_array().unwrap();
    r.batches.push((id, number, operations.len()));
    for op in operations {
        let user = op["okta_user_id"].as_str().unwrap().to_owned();
        match op["op"].as_str().unwrap() {
            "create" => {
                let attributes = serde_json::from_value(op["attributes"].clone()).unwrap();
                r.users.insert(
                    user,
                    Held {
                        attributes,
                        groups: BTreeSet::new(),
                    },
                );
            }
            "update" => {
                let held = r.users.get_mut(&user).expect("an update of a known user");
                for change in op["changes"].as_array().unwrap() {
                    let path = change["path"].as_str().unwrap().to_owned();
                    match change["op"].as_str().unwrap() {
                        "replace" => held.attributes.insert(path, change["value"].clone()),
                        "remove" => held.attributes.remove(&path),
                        other => panic!("unknown change {other}"),
                    };
                }
            }
            "deactivate" => {
                let held = r.users.get_mut(&user).expect("a known user");
                held.attributes.insert("active".into(), json!(false));
            }
            "delete" => {
                r.users.remove(&user).expect("a known user");
            }
            "group_add" => {
                let group = op["group"].as_str().unwrap().to_owned();
                r.users.get_mut(&user).unwrap().groups.insert(group);
            }
            "group_remove" => {
                let group = op["group"].as_str().unwrap();
                r.users.get_mut(&user).unwrap().groups.remove(group);
            }
            other => panic!("unknown operation {other}"),
        }
    }
    StatusCode::NO_CONTENT
}

async fn start_receiver() -> (Shared, String) {
    let shared: Shared = Arc::default();
    let app = axum::Router::new()
        .route("/push", axum::routing::post(receive))
        .with_state(shared.clone());
    let url = oktasync_testkit::serve_local(app).await + "/push";
    (shared, url)
}

fn webhook_config(url: &str, secret: &str, extra: &str) -> TargetConfig {
    let text = format!(
        r#"
        name = "audit"
        kind = "webhook"
        groups = ["Engineering", "Sales"]
        url = "{url}"
        secret = "{secret}"
        {extra}
        [attributes]
        title = "{{profile.title}}"
        [group_map]
        "Engineering" = ["eng", "all-staff"]
        "Sales" = ["sales", "all-staff"]
        "#
    );
    toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn team() -> Vec<SourceUser> {
    let mut carol = okta_user("00u3", "carol@example.com", None, &["Sales"]);
    carol.status = "SUSPENDED".into();
    let mut bob = okta_user("00u2", "bob@example.com", None, &["Sales", "Engineering"]);
    bob.profile["title"] = json!("Account Executive");
    vec![
        okta_user("00u1", "alice@example.com", None, &["Engineering"]),
        bob,
        carol,
    ]
}

fn ok(report: &PushReport) {
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert!(report.refused.is_none(), "{:?}", report.refused);
}

/// The receiver holds exactly what the push state says was pushed.
async fn assert_receiver_matches_state(shared: &Shared, state: &MemoryPushState) {
    let records = state.load("audit").await.unwrap();
    let expected: BTreeMap<String, Held> = records
        .into_iter()
        .map(|r| {
            assert_eq!(
                r.target_user_id, r.okta_user_id,
                "a webhook's ids are Okta's"
            );
            (
                r.okta_user_id,
                Held {
                    attributes: r.attributes,
                    groups: r.target_groups,
                },
            )
        })
        .collect();
    assert_eq!(shared.lock().users, expected);
}

#[tokio::test]
async fn a_webhook_target_receives_the_plan_signed_and_stays_equal_to_the_push_state() {
    let (shared, url) = start_receiver().await;
    let target = target(webhook_config(&url, SECRET, ""));
    let state = MemoryPushState::default();

    // a dry run posts nothing
    let dry = PushOptions {
        dry_run: true,
        ..PushOptions::default()
    };
    let report = push(&target, &team(), &state, &dry).await.unwrap();
    assert_eq!(report.plan.creates.len(), 3);
    assert_eq!(report.http_calls.total(), 0);
    assert!(shared.lock().batches.is_empty());

    // first push: one batch, every user created with its groups
    let report = push(&target, &team(), &state, &PushOptions::default())
        .await
        .unwrap();
    ok(&report);
    assert_eq!(report.done.created, 3);
    assert_eq!(report.done.group_adds, 7, "alice 2, bob 3, carol 2");
    assert_eq!(report.http_calls.of(TargetOperation::PostBatch), 1);
    assert_receiver_matches_state(&shared, &state).await;
    {
        let r = shared.lock();
        assert_eq!(r.bad_signatures, 0);
        let bob = &r.users["00u2"];
        assert_eq!(bob.attributes["userName"], json!("bob@example.com"));
        assert_eq!(bob.attributes["title"], json!("Account Executive"));
        assert_eq!(
            bob.groups,
            BTreeSet::from(["all-staff".into(), "eng".into(), "sales".into()])
        );
        assert_eq!(r.users["00u3"].attributes["active"], json!(false));
        assert!(r.batches[0].0.starts_with("msg_push_audit_"));
    }

    // nothing changed: no call
    let report = push(&target, &team(), &state, &PushOptions::default())
        .await
        .unwrap();
    ok(&report);
    assert_eq!(report.http_calls.total(), 0);

    // alice gets a title and joins Sales; bob leaves the scope
    let mut users = team();
    users[0].profile["title"] = json!("Engineer");
    users[0].groups.push(oktasync_push::SourceGroup {
        id: "00g-Sales".into(),
        name: "Sales".into(),
    });
    users.remove(1);
    let report = push(&target, &users, &state, &PushOptions::default())
        .await
        .unwrap();
    ok(&report);
    assert_eq!(
        (
            report.done.updated,
            report.done.group_adds,
            report.done.deactivated
        ),
        (1, 1, 1),
        "{:#?}",
        report.plan
    );
    assert_eq!(report.http_calls.of(TargetOperation::PostBatch), 1);
    assert_eq!(
        shared.lock().batches.last().unwrap().2,
        3,
        "three operations"
    );
    assert_receiver_matches_state(&shared, &state).await;
    assert_eq!(
        shared.lock().users["00u1"].attributes["title"],
        json!("Engineer")
    );

    // the receiver loses its copy; a full push sends every user in scope again
    shared.lock().users.retain(|id, _| id == "00u2");
    let full = PushOptions {
        full: true,
        ..PushOptions::default()
    };
    let report = push(&target, &users, &state, &full).await.unwrap();
    ok(&report);
    assert_eq!(report.done.created, 2, "alice and carol, whole");
    assert_eq!(report.done.deactivated, 0, "bob was deactivated already");
    assert_receiver_matches_state(&shared, &state).await;
}

#[tokio::test]
async fn faults_are_retried_and_a_failed_batch_leaves_its_users_for_the_next_push() {
    let (shared, url) = start_receiver().await;
    let target = target(webhook_config(&url, SECRET, ""));
    let state = MemoryPushState::default();
    let mut users: Vec<SourceUser> = (0..250)
        .map(|i| {
            okta_user(
                &format!("00u{i:04}"),
                &format!("user{i:04}@example.com"),
                None,
                &["Engineering"],
            )
        })
        .collect();
    users[0].profile["title"] = json!("Founder");

    // batch 2 of 3 is refused: batch 1's users are pushed, batch 2's and 3's are not
    shared.lock().refuse_batch = Some(2);
    let report = push(&target, &users, &state, &PushOptions::default())
        .await
        .unwrap();
    assert_eq!(report.done.created, 100);
    assert_eq!(report.errors.len(), 150, "{:?}", &report.errors[..2]);
    assert!(
        report.errors[0].message.contains("HTTP 400"),
        "{}",
        report.errors[0].message
    );
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.message.starts_with("not sent: batch 2 failed")),
        "{:?}",
        report.errors.last()
    );
    assert_eq!(
        report.http_calls.of(TargetOperation::PostBatch),
        2,
        "a refused batch is not retried, and nothing after it is sent"
    );
    assert_eq!(state.load("audit").await.unwrap().len(), 100);
    assert_receiver_matches_state(&shared, &state).await;

    // the receiver is back after two 503s: the next push sends the other 150, retrying
    {
        let mut r = shared.lock();
        r.refuse_batch = None;
        r.unavailable = 2;
    }
    let report = push(&target, &users, &state, &PushOptions::default())
        .await
        .unwrap();
    ok(&report);
    assert_eq!(report.done.created, 150);
    assert_eq!(report.http_calls.retries, 2);
    assert_eq!(report.http_calls.of(TargetOperation::PostBatch), 4);
    assert_receiver_matches_state(&shared, &state).await;
    let r = shared.lock();
    assert_eq!(r.users.len(), 250);
    // every user's operations travel together: one create and its two group adds
    assert!(
        r.batches.iter().all(|(_, _, ops)| ops % 3 == 0),
        "{:?}",
        r.batches
    );
}

#[tokio::test]
async fn a_receiver_with_another_secret_refuses_and_the_error_says_so() {
    let (shared, url) = start_receiver().await;
    let target = target(webhook_config(&url, "whsec_b3RoZXItc2VjcmV0", ""));
    let state = MemoryPushState::default();
    let report = push(&target, &team(), &state, &PushOptions::default())
        .await
        .unwrap();
    assert_eq!(report.errors.len(), 3);
    assert!(
        report.errors[0].message.contains("HTTP 401")
            && report.errors[0].message.contains("verifies signatures"),
        "{}",
        report.errors[0].message
    );
    assert!(
        !report.errors[0].message.contains("b3RoZXI"),
        "no secret in errors"
    );
    assert_eq!(shared.lock().bad_signatures, 1);
    assert!(state.load("audit").await.unwrap().is_empty());
}

#[test]
fn webhook_targets_are_checked_for_what_only_scim_targets_take() {
    let text = r#"
        name = "audit"
        kind = "webhook"
        groups = ["Engineering"]
        url = "http://127.0.0.1:1/push"
        bearer_token = "t"
        target_only_users = "delete"
    "#;
    let config: TargetConfig = toml::from_str(text).unwrap();
    let errors: Vec<String> = config
        .validate()
        .unwrap_err()
        .iter()
        .map(ToString::to_string)
        .collect();
    let all = errors.join("\n");
    assert!(all.contains("`secret_file`: is missing"), "{all}");
    assert!(
        all.contains("`bearer_token`: is for kind = \"scim\""),
        "{all}"
    );
    assert!(all.contains("`target_only_users`: needs a target"), "{all}");
}
