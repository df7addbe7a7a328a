//! Grants over HTTP: asked for with a `grant` token (an Idempotency-Key answers the same
//! grant again), listed and shown with their audit, extended and ended early through their
//! actions; written to the emulator; refused with problem documents, nothing called.

use crate::support::*;
use okta_emulator::OrgSize;
use oktasync_grants::policy::{GrantPolicy, Policies, PolicyConfig};
use oktasync_store::TokenScope;
use oktasync_testkit::org::{group_and_outsiders, members};
use serde_json::{Value, json};
use std::time::Duration;

async fn post(
    url: &str,
    token: &str,
    body: Value,
    key: Option<&str>,
) -> (u16, Value, Option<String>) {
    let mut request = reqwest::Client::new()
        .post(url)
        .bearer_auth(token)
        .json(&body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.expect("server answers");
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (
        status,
        response.json().await.unwrap_or(Value::Null),
        location,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn grants_are_asked_for_extended_and_ended_over_http() {
    let backend = Backend::sqlite().await;
    let store = backend.open().await;
    let emu = emulator(72, OrgSize::Tiny).await;
    let read = token(&store, "reader", TokenScope::Read, None).await;
    let granter = token(&store, "jit", TokenScope::Grant, None).await;
    let policy = GrantPolicy::from_config(
        &PolicyConfig {
            groups: vec!["*".into()],
            max_duration: "1h".into(),
            require_reason: true,
            require_approval: false,
            cleanup_after_days: None,
        },
        "test policy",
    )
    .unwrap();
    let server = Server::start_full(
        store.clone(),
        vec![schedule("emu", &emu, Duration::from_secs(3600))],
        Vec::new(),
        Policies(vec![policy]),
    )
    .await;
    until_synced(&server, "emu", &read).await;
    let export = emu.export();
    let (group, outsiders) = group_and_outsiders(&export, 1).expect("a grantable group");
    let user = outsiders[0].clone();
    let grants = server.url("/v1/orgs/emu/grants");
    let ask = json!({"user": user, "group": group, "for": "10m", "reason": "INC-42"});

    // A read token may look, not ask.
    let (status, problem, _) = post(&grants, &read, ask.clone(), None).await;
    assert_eq!(status, 403, "{problem}");
    // Asked for: recorded, added in Okta, named by Location.
    let (status, created, location) = post(&grants, &granter, ask.clone(), Some("req-1")).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["grant"]["state"], "active");
    assert_eq!(created["grant"]["requested_by"], "token:jit");
    let id = created["grant"]["grant_id"].as_i64().unwrap();
    assert_eq!(
        location.as_deref(),
        Some(format!("/v1/orgs/emu/grants/{id}").as_str())
    );
    assert!(members(&emu.export(), &group).contains(&user));
    // The same Idempotency-Key: the same grant, nothing new.
    let (status, again, _) = post(&grants, &granter, ask.clone(), Some("req-1")).await;
    assert_eq!(
        (status, again["grant"]["grant_id"].as_i64()),
        (200, Some(id))
    );
    let listed = all_pages(&grants, &read, 10).await;
    assert_eq!(listed.len(), 1);

    // Extended by 20 minutes; then ended early: the membership goes.
    let (status, extended, _) = post(
        &server.url(&format!("/v1/orgs/emu/grants/{id}:extend")),
        &granter,
        json!({"for": "20m"}),
        None,
    )
    .await;
    assert_eq!(status, 200, "{extended}");
    let (status, too_long, _) = post(
        &server.url(&format!("/v1/orgs/emu/grants/{id}:extend")),
        &granter,
        json!({"for": "2h"}),
        None,
    )
    .await;
    assert_eq!(status, 422, "{too_long}");
    assert_eq!(too_long["type"], "urn:oktasync:problem:grant-refused");
    let (status, revoked, _) = post(
        &server.url(&format!("/v1/orgs/emu/grants/{id}:revoke")),
        &granter,
        Value::Null,
        None,
    )
    .await;
    assert_eq!(status, 200, "{revoked}");
    assert_eq!(revoked["grant"]["state"], "revoked");
    assert!(!members(&emu.export(), &group).contains(&user));
    let (status, _, detail) = get(
        &server.url(&format!("/v1/orgs/emu/grants/{id}")),
        Some(&read),
    )
    .await;
    assert_eq!(status, 200);
    let actions: Vec<&str> = detail["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "requested",
            "checked",
            "added",
            "extended",
            "revoke_requested",
            "revoked"
        ]
    );
    // The change log (and so the feed) carries the grant's life as records of its own.
    let (status, _, changes) = get(
        &server.url(&format!("/v1/orgs/emu/changes?user={user}")),
        Some(&read),
    )
    .await;
    assert_eq!(status, 200, "{changes}");
    let records: Vec<&str> = changes["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["entity"] == "grants" && c["grant_id"] == json!(id))
        .map(|c| c["new"]["action"].as_str().unwrap())
        .collect();
    assert_eq!(records, actions, "{changes}");
    // Ended: no action applies any more; unknown actions and grants are 404s.
    let (status, _, _) = post(
        &server.url(&format!("/v1/orgs/emu/grants/{id}:revoke")),
        &granter,
        Value::Null,
        None,
    )
    .await;
    assert_eq!(status, 409);
    for path in [
        format!("{id}:bless"),
        "abc:revoke".into(),
        "999999:revoke".into(),
    ] {
        let (status, problem, _) = post(
            &server.url(&format!("/v1/orgs/emu/grants/{path}")),
            &granter,
            Value::Null,
            None,
        )
        .await;
        assert_eq!(status, 404, "{path}: {problem}");
    }
    // Refused before any call: Everyone is not an Okta group.
    let everyone = export["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["type"] == "BUILT_IN")
        .unwrap()["id"]
        .clone();
    let before = emu.export()["group_members"].clone();
    let (status, refused, _) = post(
        &grants,
        &granter,
        json!({"user": user, "group": everyone, "for": "10m", "reason": "x"}),
        None,
    )
    .await;
    assert_eq!(status, 422, "{refused}");
    assert!(refused["detail"].as_str().unwrap().contains("BUILT_IN"));
    assert_eq!(emu.export()["group_members"], before);

    // The document lists the grant routes, actions included.
    let (_, _, doc) = get(&server.url("/openapi.json"), Some(&read)).await;
    for path in [
        "/v1/orgs/{org}/grants",
        "/v1/orgs/{org}/grants/{grant}",
        "/v1/orgs/{org}/grants/{id}:revoke",
        "/v1/orgs/{org}/grants/{id}:extend",
        "/v1/orgs/{org}/grants/{id}:approve",
        "/v1/orgs/{org}/grants/{id}:deny",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the document"
        );
    }
    server.stop().await;
}
