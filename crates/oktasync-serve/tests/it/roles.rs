//! Roles over HTTP: the roles configured for an org are applied after each run, and answered
//! per user and per role, each with the way it comes.

use crate::support::*;
use okta_emulator::OrgSize;
use oktasync_store::{GroupPattern, RoleSpec, TokenScope};
use oktasync_testkit::org::members;
use serde_json::Value;
use std::collections::BTreeSet;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn roles_are_applied_after_runs_and_answered_per_user_and_per_role() {
    let backend = Backend::sqlite().await;
    let store = backend.open().await;
    let emu = emulator(73, OrgSize::Tiny).await;
    let read = token(&store, "reader", TokenScope::Read, None).await;
    let export = emu.export();
    // The group with the most members gives the role.
    let group = export["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["type"] == "OKTA_GROUP")
        .map(|g| g["id"].as_str().unwrap().to_owned())
        .max_by_key(|g| members(&export, g).len())
        .unwrap();
    let holders = members(&export, &group);
    assert!(!holders.is_empty());
    let mut org = schedule("emu", &emu, Duration::from_secs(3600));
    org.roles = vec![RoleSpec {
        name: "operator".into(),
        groups: vec![GroupPattern::parse(group.as_str()).unwrap()],
        apps: Vec::new(),
    }];
    let server = Server::start(store.clone(), vec![org]).await;
    until_synced(&server, "emu", &read).await;
    let url = server.url("/v1/orgs/emu/roles/operator/users");
    // Applied right after the run.
    let mut got = Vec::new();
    for _ in 0..100 {
        got = all_pages(&url, &read, 2).await;
        if !got.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let users: BTreeSet<String> = got
        .iter()
        .map(|r| r["user_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(users, holders);
    assert!(
        got.iter()
            .all(|r| r["via"] == "group" && r["via_id"] == group.as_str())
    );

    let user = holders.iter().next().unwrap();
    let (status, _, page) = get(
        &server.url(&format!("/v1/orgs/emu/users/{user}/roles")),
        Some(&read),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    let roles: Vec<&Value> = page["items"].as_array().unwrap().iter().collect();
    assert_eq!(roles.len(), 1, "{page}");
    assert_eq!(roles[0]["role"], "operator");
    let (status, _, detail) = get(
        &server.url(&format!("/v1/orgs/emu/users/{user}")),
        Some(&read),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(detail["roles"][0]["role"], "operator", "{detail}");
    let (status, _, _) = get(&server.url("/v1/orgs/emu/users/nobody/roles"), Some(&read)).await;
    assert_eq!(status, 404);
    let (status, _, _) = get(&server.url("/v1/orgs/emu/roles/nosuch/users"), Some(&read)).await;
    assert_eq!(status, 404);
    let (_, _, doc) = get(&server.url("/openapi.json"), Some(&read)).await;
    for path in [
        "/v1/orgs/{org}/users/{user}/roles",
        "/v1/orgs/{org}/roles/{role}/users",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the document"
        );
    }
    server.stop().await;
}
