//! The change feed to webhooks: a local receiver gets every change of the log after churn and
//! sync, in order, signed per Standard Webhooks; one that fails for a while still gets
//! everything once it recovers; an entity filter delivers only its entities.

use crate::support::*;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use okta_emulator::OrgSize;
use oktasync_engine::SystemClock;
use oktasync_serve::feed::{Signer, Sink, Webhook};
use oktasync_store::{ChangeQuery, MirrorReader, TokenScope};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A webhook receiver: verifies each delivery's signature, answers 503 to the first
/// `fail_first` deliveries, and keeps the change ids of those it accepted.
#[derive(Clone, Default)]
struct Receiver {
    accepted: Arc<Mutex<Vec<i64>>>,
    entities: Arc<Mutex<BTreeSet<String>>>,
    attempts: Arc<AtomicUsize>,
    fail_first: usize,
}

async fn receive(
    receiver: axum::extract::State<Receiver>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let now = chrono::Utc::now().timestamp();
    let verified = Signer::from_secret(SECRET).verify(
        |name| headers.get(name).and_then(|v| v.to_str().ok()),
        &body,
        now,
        300,
    );
    assert_eq!(verified, Ok(()), "the signature verifies");
    if receiver.attempts.fetch_add(1, Ordering::SeqCst) < receiver.fail_first {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let batch: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(batch["type"], "oktasync.changes");
    assert_eq!(batch["org"], "emu");
    for change in batch["changes"].as_array().unwrap() {
        receiver
            .accepted
            .lock()
            .unwrap()
            .push(change["change_id"].as_i64().unwrap());
        receiver
            .entities
            .lock()
            .unwrap()
            .insert(change["entity"].as_str().unwrap().to_owned());
    }
    StatusCode::NO_CONTENT
}

async fn start_receiver(fail_first: usize) -> (Receiver, String) {
    let receiver = Receiver {
        fail_first,
        ..Receiver::default()
    };
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(receiver.clone());
    let url = oktasync_testkit::serve_local(app).await + "/hook";
    (receiver, url)
}

fn webhook(name: &str, url: &str, entities: &[&str]) -> Arc<dyn Sink> {
    Arc::new(Webhook {
        name: name.to_owned(),
        url: url.to_owned(),
        signer: Signer::from_secret(SECRET),
        orgs: Vec::new(),
        entities: entities.iter().map(|e| e.to_string()).collect(),
        http: reqwest::Client::new(),
        clock: Arc::new(SystemClock),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn webhooks_get_every_change_in_order_even_after_failing_for_a_while() {
    let backend = Backend::sqlite().await;
    let store = backend.open().await;
    let emu = emulator(31, OrgSize::Tiny).await;
    let read = token(&store, "reader", TokenScope::Read, None).await;
    let (all, all_url) = start_receiver(0).await;
    let (flaky, flaky_url) = start_receiver(3).await;
    let (members, members_url) = start_receiver(0).await;
    let server = Server::start_with(
        store.clone(),
        vec![schedule("emu", &emu, Duration::from_secs(1))],
        vec![
            webhook("all", &all_url, &[]),
            webhook("flaky", &flaky_url, &[]),
            webhook("members", &members_url, &["group_members"]),
        ],
    )
    .await;
    until_synced(&server, "emu", &read).await;
    let org = store.find_org_by_name("emu").await.unwrap().unwrap();
    for round in 0..3 {
        emu.churn(40 + round, 25);
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    // Wait until the mirror is exact, then until every receiver has the whole log.
    let mut exact = false;
    for _ in 0..300 {
        if store.export_json(org).await.unwrap() == emu.export() {
            exact = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(exact, "the mirror catches up with the churn");
    let log: Vec<i64> = store
        .changes(org, &ChangeQuery::default())
        .await
        .unwrap()
        .iter()
        .map(|c| c.change_id)
        .collect();
    assert!(log.len() > 20, "churn left changes: {}", log.len());
    let member_changes: Vec<i64> = store
        .changes(org, &ChangeQuery::default())
        .await
        .unwrap()
        .iter()
        .filter(|c| c.entity == "group_members")
        .map(|c| c.change_id)
        .collect();
    let first_seen = |ids: &[i64]| -> Vec<i64> {
        let mut seen = BTreeSet::new();
        ids.iter().copied().filter(|id| seen.insert(*id)).collect()
    };
    for _ in 0..300 {
        let done = first_seen(&all.accepted.lock().unwrap()) == log
            && first_seen(&flaky.accepted.lock().unwrap()) == log
            && first_seen(&members.accepted.lock().unwrap()) == member_changes;
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        first_seen(&all.accepted.lock().unwrap()),
        log,
        "every change, in order"
    );
    assert_eq!(
        first_seen(&flaky.accepted.lock().unwrap()),
        log,
        "a receiver that failed at first gets everything, in order"
    );
    assert!(flaky.attempts.load(Ordering::SeqCst) > 3);
    assert_eq!(
        first_seen(&members.accepted.lock().unwrap()),
        member_changes
    );
    assert_eq!(
        members.entities.lock().unwrap().iter().collect::<Vec<_>>(),
        ["group_members"]
    );

    let (status, _, hooks) = get(&server.url("/v1/webhooks"), Some(&read)).await;
    assert_eq!(status, 200);
    let flaky_state = hooks["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["name"] == "flaky")
        .unwrap();
    let delivery = &flaky_state["deliveries"][0];
    assert_eq!(delivery["org"], "emu");
    assert_eq!(
        delivery["delivered_change_id"].as_i64(),
        log.last().copied()
    );
    assert_eq!(delivery["pending"], 0);
    assert_eq!(delivery["failures"], 0);
    assert!(delivery["last_error"].as_str().unwrap().contains("503"));
    let metrics = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("oktasync_feed_deliveries_total"));
    server.stop().await;
}

/// The NATS server the tests use (`OKTASYNC_TEST_NATS`, default 127.0.0.1:4222); outside CI a
/// test without one is skipped with a note, under CI it fails.
async fn nats() -> Option<async_nats::Client> {
    let url =
        std::env::var("OKTASYNC_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    match async_nats::connect(url.as_str()).await {
        Ok(client) => Some(client),
        Err(e) if std::env::var_os("CI").is_some() => panic!(
            "NATS with JetStream is not reachable at {url} ({e}); start it (nats-server -js) or set OKTASYNC_TEST_NATS"
        ),
        Err(e) => {
            eprintln!("skipped: no NATS at {url} ({e})");
            None
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn nats_gets_every_change_once_in_order() {
    let Some(client) = nats().await else {
        return;
    };
    let suffix = format!("{:08x}", rand_u32());
    let (prefix, stream_name) = (
        format!("oktasynctest{suffix}"),
        format!("OKTASYNC_TEST_{suffix}"),
    );
    let jetstream = async_nats::jetstream::new(client);
    let backend = Backend::sqlite().await;
    let store = backend.open().await;
    let emu = emulator(32, OrgSize::Tiny).await;
    let read = token(&store, "reader", TokenScope::Read, None).await;
    let sink: Arc<dyn Sink> = Arc::new(oktasync_serve::feed::Nats::new(
        "nats://127.0.0.1:4222",
        &prefix,
        &stream_name,
    ));
    let server = Server::start_with(
        store.clone(),
        vec![schedule("emu", &emu, Duration::from_secs(1))],
        vec![sink],
    )
    .await;
    until_synced(&server, "emu", &read).await;
    let org = store.find_org_by_name("emu").await.unwrap().unwrap();
    emu.churn(50, 30);
    let mut log = Vec::new();
    let mut published = Vec::new();
    for _ in 0..300 {
        log = store
            .changes(org, &ChangeQuery::default())
            .await
            .unwrap()
            .iter()
            .map(|c| c.change_id)
            .collect::<Vec<_>>();
        if let Ok(mut stream) = jetstream.get_stream(&stream_name).await {
            let count = stream.info().await.map(|i| i.state.messages).unwrap_or(0);
            published.clear();
            for seq in 1..=count {
                let message = stream.get_raw_message(seq).await.unwrap();
                assert_eq!(message.subject.as_str(), format!("{prefix}.emu.changes"));
                assert_eq!(
                    message
                        .headers
                        .get("Nats-Msg-Id")
                        .map(|v| v.as_str().to_owned()),
                    {
                        let record: Value = serde_json::from_slice(&message.payload).unwrap();
                        Some(format!("emu-{}", record["change_id"]))
                    }
                );
                let record: Value = serde_json::from_slice(&message.payload).unwrap();
                published.push(record["change_id"].as_i64().unwrap());
            }
        }
        if !log.is_empty() && published == log {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(!log.is_empty());
    assert_eq!(
        published, log,
        "one message per change, in order, none twice"
    );
    server.stop().await;
    let _ = jetstream.delete_stream(&stream_name).await;
}

fn rand_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos(),
    );
    h.finish() as u32
}
