//! Every route through the real server: answers equal the mirror, pages cover lists once,
//! errors are problem documents, tokens and scopes are enforced.

use crate::support::*;
use okta_emulator::OrgSize;
use oktasync_store::{Mirror, MirrorReader, TokenScope};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_route_answers_from_the_mirror_on_sqlite() {
    let backend = Backend::sqlite().await;
    story(backend.open().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_route_answers_from_the_mirror_on_postgres() {
    let Some(backend) = Backend::postgres("serve_every_route").await else {
        return;
    };
    story(backend.open().await).await;
}

fn ids(items: &[Value], key: &str) -> Vec<String> {
    items
        .iter()
        .map(|i| i[key].as_str().expect("an id").to_owned())
        .collect()
}

async fn story(store: Arc<Mirror>) {
    let emu = emulator(11, OrgSize::Tiny).await;
    let read = token(&store, "reader", TokenScope::Read, None).await;
    let sync = token(&store, "syncer", TokenScope::Sync, None).await;
    let other_org = token(&store, "elsewhere", TokenScope::Admin, Some("other")).await;
    let server = Server::start(
        store.clone(),
        vec![schedule("emu", &emu, Duration::from_secs(3600))],
    )
    .await;

    // The first scheduled run (no checkpoint yet) is a full sync.
    let detail = until_synced(&server, "emu", &read).await;
    let export = emu.export();
    let org = store.find_org_by_name("emu").await.unwrap().unwrap();
    assert_eq!(
        store.export_json(org).await.unwrap(),
        export,
        "the mirror is exact"
    );
    assert_eq!(detail["name"], "emu");
    assert_eq!(detail["url"], emu.base_url().trim_end_matches('/'));
    assert_eq!(
        detail["counts"]["users"],
        export["users"].as_array().unwrap().len()
    );
    assert_eq!(detail["scheduled"], true);

    // orgs
    let (status, _, orgs) = get(&server.url("/v1/orgs"), Some(&read)).await;
    assert_eq!(status, 200);
    assert_eq!(ids(orgs["items"].as_array().unwrap(), "name"), ["emu"]);

    // users: all pages equal the mirror, in id order, each user once
    let users = all_pages(&server.url("/v1/orgs/emu/users"), &read, 7).await;
    let mut expected: Vec<String> = ids(export["users"].as_array().unwrap(), "id");
    expected.sort();
    assert_eq!(ids(&users, "id"), expected);
    // filters
    let active = all_pages(&server.url("/v1/orgs/emu/users?status=active"), &read, 100).await;
    let expected_active: BTreeSet<String> = export["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["status"] == "ACTIVE")
        .map(|u| u["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        ids(&active, "id").into_iter().collect::<BTreeSet<_>>(),
        expected_active
    );
    let first = &export["users"][0];
    let login = first["profile"]["login"].as_str().unwrap();
    let found = all_pages(
        &server.url(&format!(
            "/v1/orgs/emu/users?search={}",
            &login[..login.find('@').unwrap()].to_uppercase()
        )),
        &read,
        100,
    )
    .await;
    assert!(ids(&found, "login").iter().any(|l| l == login), "{found:?}");
    let (status, _, none) = get(
        &server.url("/v1/orgs/emu/users?updated_since=2999-01-01T00:00:00Z"),
        Some(&read),
    )
    .await;
    assert_eq!((status, none["items"].as_array().unwrap().len()), (200, 0));

    // one user, by id and by login
    let id = first["id"].as_str().unwrap();
    let (status, _, by_id) = get(
        &server.url(&format!("/v1/orgs/emu/users/{id}")),
        Some(&read),
    )
    .await;
    assert_eq!(status, 200);
    let (_, _, by_login) = get(
        &server.url(&format!("/v1/orgs/emu/users/{}", login.to_uppercase())),
        Some(&read),
    )
    .await;
    assert_eq!(by_id, by_login);
    let memberships: BTreeSet<&str> = export["group_members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["user_id"] == id)
        .map(|m| m["group_id"].as_str().unwrap())
        .collect();
    let groups_of_user: BTreeSet<&str> = by_id["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["group_id"].as_str().unwrap())
        .collect();
    assert_eq!(groups_of_user, memberships);

    // groups, one group, its members (all pages equal the export's memberships)
    let groups = all_pages(&server.url("/v1/orgs/emu/groups"), &read, 3).await;
    let mut expected: Vec<String> = ids(export["groups"].as_array().unwrap(), "id");
    expected.sort();
    assert_eq!(ids(&groups, "id"), expected);
    let okta_groups = all_pages(
        &server.url("/v1/orgs/emu/groups?type=okta_group"),
        &read,
        100,
    )
    .await;
    assert!(okta_groups.iter().all(|g| g["type"] == "OKTA_GROUP"));
    assert!(!okta_groups.is_empty());
    // Filters combine, and a page of them is filled across what the name search skips.
    let word = okta_groups[okta_groups.len() / 2]["name"].as_str().unwrap()[..3].to_uppercase();
    let mut expected: Vec<String> = export["groups"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["type"] == "OKTA_GROUP")
        .filter(|g| {
            g["profile"]["name"]
                .as_str()
                .is_some_and(|n| n.to_lowercase().contains(&word.to_lowercase()))
        })
        .map(|g| g["id"].as_str().unwrap().to_owned())
        .collect();
    expected.sort();
    let found = all_pages(
        &server.url(&format!(
            "/v1/orgs/emu/groups?type=OKTA_GROUP&search={}",
            urlencode(&word)
        )),
        &read,
        2,
    )
    .await;
    assert_eq!(ids(&found, "id"), expected, "groups named like {word:?}");
    assert!(!expected.is_empty());
    // A page token belongs to its list: the same route with other filters refuses it.
    let (_, _, first) = get(
        &server.url("/v1/orgs/emu/users?status=ACTIVE&page_size=1"),
        Some(&read),
    )
    .await;
    let token = first["next_page_token"].as_str().unwrap();
    let (status, _, problem) = get(
        &server.url(&format!(
            "/v1/orgs/emu/users?status=SUSPENDED&page_size=1&page_token={token}"
        )),
        Some(&read),
    )
    .await;
    assert_eq!(status, 400, "{problem}");
    assert!(
        problem["type"]
            .as_str()
            .unwrap()
            .ends_with("invalid-page-token")
    );
    let biggest = groups
        .iter()
        .max_by_key(|g| g["members"].as_i64().unwrap())
        .unwrap();
    let gid = biggest["id"].as_str().unwrap();
    let name = biggest["name"].as_str().unwrap();
    let (status, _, group) = get(
        &server.url(&format!("/v1/orgs/emu/groups/{}", urlencode(name))),
        Some(&read),
    )
    .await;
    assert_eq!((status, group["id"].as_str()), (200, Some(gid)));
    let members = all_pages(
        &server.url(&format!("/v1/orgs/emu/groups/{gid}/members")),
        &read,
        4,
    )
    .await;
    let mut expected: Vec<String> = export["group_members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["group_id"] == gid)
        .map(|m| m["user_id"].as_str().unwrap().to_owned())
        .collect();
    expected.sort();
    assert_eq!(ids(&members, "id"), expected);

    // apps, one app's access, groups assigned to an app
    let apps = all_pages(&server.url("/v1/orgs/emu/apps"), &read, 2).await;
    assert_eq!(apps.len(), export["apps"].as_array().unwrap().len());
    let app = apps
        .iter()
        .max_by_key(|a| a["groups"].as_i64().unwrap())
        .unwrap();
    let aid = app["id"].as_str().unwrap();
    let access = all_pages(
        &server.url(&format!("/v1/orgs/emu/apps/{aid}/access")),
        &read,
        5,
    )
    .await;
    let detail = store.app(org, aid).await.unwrap().unwrap();
    assert_eq!(access.len(), detail.access.len());
    let assigned = all_pages(
        &server.url(&format!("/v1/orgs/emu/groups?app={aid}")),
        &read,
        100,
    )
    .await;
    let expected: BTreeSet<String> = detail
        .assigned_groups
        .iter()
        .map(|g| g.group_id.clone())
        .collect();
    assert_eq!(
        ids(&assigned, "id").into_iter().collect::<BTreeSet<_>>(),
        expected
    );

    // admins, runs
    let admins = all_pages(&server.url("/v1/orgs/emu/admins"), &read, 2).await;
    assert_eq!(admins.len(), store.admins(org).await.unwrap().len());
    let runs = all_pages(&server.url("/v1/orgs/emu/runs"), &read, 1).await;
    assert!(!runs.is_empty());
    assert!(
        runs.windows(2)
            .all(|w| w[0]["run_id"].as_i64() > w[1]["run_id"].as_i64())
    );

    // The org as it is now, to ask for it with ?at= after the churn.
    let before = emu.export();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let t0 = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    tokio::time::sleep(Duration::from_millis(1100)).await;

    // A sync asked for while one runs answers the running one.
    emu.churn(5, 30);
    let client = reqwest::Client::new();
    let post = || {
        client
            .post(server.url("/v1/orgs/emu/syncs"))
            .bearer_auth(&sync)
            .json(&serde_json::json!({"full": false}))
            .send()
    };
    let (a, b) = tokio::join!(post(), post());
    let (a, b) = (a.unwrap(), b.unwrap());
    let statuses = BTreeSet::from([a.status().as_u16(), b.status().as_u16()]);
    assert!(statuses.contains(&202), "{statuses:?}");
    let location = a.headers()["location"].to_str().unwrap().to_owned();
    let (a, b): (Value, Value) = (a.json().await.unwrap(), b.json().await.unwrap());
    assert_eq!(a["id"], b["id"], "one run for two requests");
    assert_eq!(location, format!("/v1/orgs/emu/syncs/{}", a["id"]));
    let mut run = Value::Null;
    for _ in 0..300 {
        run = get(&server.url(&location), Some(&read)).await.2;
        if run["outcome"] != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(run["outcome"], "succeeded", "{run}");
    assert_eq!(
        store.export_json(org).await.unwrap(),
        emu.export(),
        "exact after churn"
    );

    // ?at= answers as of before the churn: memberships as the export had them then.
    let members_then = |export: &Value, gid: &str| -> Vec<String> {
        let mut ids: Vec<String> = export["group_members"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["group_id"] == gid)
            .map(|m| m["user_id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let (status, _, then) = get(
        &server.url(&format!("/v1/orgs/emu/groups/{gid}?at={t0}")),
        Some(&read),
    )
    .await;
    assert_eq!(status, 200, "{then}");
    let mut got: Vec<String> = ids(then["members"].as_array().unwrap(), "id");
    got.sort();
    assert_eq!(got, members_then(&before, gid), "group {gid} as of {t0}");
    let (_, _, then) = get(
        &server.url(&format!("/v1/orgs/emu/users/{id}?at={t0}")),
        Some(&read),
    )
    .await;
    let groups_then: BTreeSet<String> = then["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["group_id"].as_str().unwrap().to_owned())
        .collect();
    let expected: BTreeSet<String> = before["group_members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["user_id"] == id)
        .map(|m| m["group_id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(groups_then, expected, "user {id} as of {t0}");
    assert_eq!(then["at"], t0);
    let (status, _, bad) = get(
        &server.url(&format!("/v1/orgs/emu/users/{id}?at=yesterday")),
        Some(&read),
    )
    .await;
    assert_eq!(
        (status, &bad["type"]),
        (400, &Value::from("urn:oktasync:problem:invalid-request"))
    );

    // changes: the churn's, oldest first, paged
    let changes = all_pages(&server.url("/v1/orgs/emu/changes"), &read, 5).await;
    assert!(!changes.is_empty());
    assert!(
        changes
            .windows(2)
            .all(|w| w[0]["change_id"].as_i64() < w[1]["change_id"].as_i64())
    );

    // logs: the kept System Log (the full sync's backfill, the churn's events), newest
    // first, each event once across pages; filtered by a type glob.
    let logs = all_pages(&server.url("/v1/orgs/emu/logs"), &read, 7).await;
    assert!(logs.len() > 7, "{} events", logs.len());
    let key = |e: &Value| {
        (
            e["published"].as_str().unwrap().to_owned(),
            e["seq"].as_i64().unwrap(),
        )
    };
    assert!(
        logs.windows(2).all(|w| key(&w[0]) > key(&w[1])),
        "newest first"
    );
    let uuids: BTreeSet<&str> = logs.iter().map(|e| e["uuid"].as_str().unwrap()).collect();
    assert_eq!(uuids.len(), logs.len(), "each event once");
    let sessions = all_pages(
        &server.url("/v1/orgs/emu/logs?type=user.session.*"),
        &read,
        50,
    )
    .await;
    assert!(sessions.iter().all(|e| {
        e["event_type"]
            .as_str()
            .unwrap()
            .starts_with("user.session.")
    }));
    assert!(
        sessions.iter().all(|e| e["raw"]["uuid"] == e["uuid"]),
        "the event whole"
    );

    // alerts: as detection saves them, newest first, by severity and rule
    {
        use oktasync_store::{Detections, NewAlert};
        let at = |minute: i64| chrono::Utc::now() - chrono::Duration::minutes(60 - minute);
        let alert = |rule: &str, severity: &str, minute: i64| NewAlert {
            rule_id: rule.into(),
            severity: severity.into(),
            title: format!("{rule} fired"),
            entity: "ana@example.com".into(),
            window_start: at(minute),
            first_event: at(minute),
            last_event: at(minute),
            event_uuids: vec![format!("uuid-{minute}")],
            summary: "something".into(),
            detail: serde_json::json!({"sources": ["test"]}),
        };
        let saved = store
            .save_alerts(
                org,
                &[
                    alert("okta.mfa.push_bombing", "high", 1),
                    alert("okta.user.created", "info", 2),
                    alert("okta.mfa.push_bombing_success", "critical", 3),
                ],
                &Default::default(),
                chrono::Utc::now(),
            )
            .await
            .unwrap();
        assert!(saved.iter().all(|s| s.new));
    }
    let alerts = all_pages(&server.url("/v1/orgs/emu/alerts"), &read, 2).await;
    assert_eq!(
        alerts
            .iter()
            .map(|a| a["rule_id"].as_str().unwrap())
            .collect::<Vec<_>>(),
        [
            "okta.mfa.push_bombing_success",
            "okta.user.created",
            "okta.mfa.push_bombing"
        ]
    );
    let high = all_pages(&server.url("/v1/orgs/emu/alerts?severity=high"), &read, 10).await;
    assert_eq!(high.len(), 2);
    let mfa = all_pages(
        &server.url("/v1/orgs/emu/alerts?rule=okta.mfa.*"),
        &read,
        10,
    )
    .await;
    assert_eq!(mfa.len(), 2);
    let (status, _, _) = get(
        &server.url("/v1/orgs/emu/alerts?severity=urgent"),
        Some(&read),
    )
    .await;
    assert_eq!(status, 400);
    // A raised alert is on the change log (so on the change feed) too.
    let raised = all_pages(&server.url("/v1/orgs/emu/changes"), &read, 100).await;
    assert_eq!(
        raised
            .iter()
            .filter(|c| c["entity"] == "alerts" && c["op"] == "add")
            .count(),
        3
    );

    // posture: the kept findings, by check and subject, filtered by severity and check
    {
        use oktasync_store::{CheckOutcome, PostureStore};
        let finding = |subject: &str| {
            let mut evidence = serde_json::Map::new();
            evidence.insert("subject".into(), subject.into());
            (subject.to_string(), evidence)
        };
        let outcomes = [
            CheckOutcome {
                check_id: "okta.users.inactive".into(),
                severity: "medium".into(),
                evaluated: true,
                findings: vec![finding("a@example.com"), finding("b@example.com")],
            },
            CheckOutcome {
                check_id: "okta.admins.without_mfa".into(),
                severity: "critical".into(),
                evaluated: true,
                findings: vec![finding("root@example.com")],
            },
        ];
        let recorded = store
            .record_posture(org, &outcomes, chrono::Utc::now())
            .await
            .unwrap();
        assert_eq!(recorded.new.values().map(Vec::len).sum::<usize>(), 3);
    }
    let findings = all_pages(&server.url("/v1/orgs/emu/posture"), &read, 2).await;
    assert_eq!(findings.len(), 3);
    let critical = all_pages(
        &server.url("/v1/orgs/emu/posture?min_severity=high"),
        &read,
        10,
    )
    .await;
    assert_eq!(critical.len(), 1);
    assert_eq!(critical[0]["subject"], "root@example.com");
    let inactive = all_pages(
        &server.url("/v1/orgs/emu/posture?check=okta.users.inactive"),
        &read,
        10,
    )
    .await;
    assert_eq!(inactive.len(), 2);

    // Errors are problem documents with a stable type.
    let problem = |body: &Value, kind: &str| {
        assert_eq!(
            body["type"],
            format!("urn:oktasync:problem:{kind}"),
            "{body}"
        );
        assert!(body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    };
    for (url, token, status, kind) in [
        ("/v1/orgs", None, 401, "unauthorized"),
        ("/v1/orgs", Some("oks_not-a-token"), 401, "unauthorized"),
        ("/v1/orgs/emu", Some(other_org.as_str()), 403, "forbidden"),
        ("/v1/orgs/nope", Some(read.as_str()), 404, "not-found"),
        (
            "/v1/orgs/emu/users/nobody",
            Some(read.as_str()),
            404,
            "not-found",
        ),
        (
            "/v1/orgs/emu/users?page_size=1001",
            Some(read.as_str()),
            400,
            "invalid-request",
        ),
        (
            "/v1/orgs/emu/users?page_size=0",
            Some(read.as_str()),
            400,
            "invalid-request",
        ),
        (
            "/v1/orgs/emu/users?status=happy",
            Some(read.as_str()),
            400,
            "invalid-request",
        ),
        (
            "/v1/orgs/emu/users?updated_since=yesterday",
            Some(read.as_str()),
            400,
            "invalid-request",
        ),
        (
            "/v1/orgs/emu/users?page_token=Z3JvdXBzCjAwZzE",
            Some(read.as_str()),
            400,
            "invalid-page-token",
        ),
        ("/v2/nothing", Some(read.as_str()), 404, "not-found"),
        (
            "/v1/orgs/emu/users?page_size=abc",
            Some(read.as_str()),
            400,
            "invalid-request",
        ),
        (
            "/v1/orgs/emu/syncs/abc",
            Some(read.as_str()),
            404,
            "not-found",
        ),
    ] {
        let (got, content_type, body) = get(&server.url(url), token).await;
        assert_eq!(got, status, "{url}: {body}");
        assert_eq!(content_type, "application/problem+json", "{url}");
        problem(&body, kind);
    }
    // other_org reaches nothing here: its org list is empty
    let (_, _, mine) = get(&server.url("/v1/orgs"), Some(&other_org)).await;
    assert_eq!(mine["items"], serde_json::json!([]));
    // a read token cannot start a sync
    let denied = client
        .post(server.url("/v1/orgs/emu/syncs"))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap();
    assert_eq!(denied.status().as_u16(), 403);
    let malformed = client
        .post(server.url("/v1/orgs/emu/syncs"))
        .bearer_auth(&sync)
        .body(r#"{"full": "yes"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status().as_u16(), 400);
    assert_eq!(
        malformed.headers()["content-type"],
        "application/problem+json"
    );

    // Operations need no token.
    assert_eq!(get(&server.url("/livez"), None).await.0, 200);
    assert_eq!(get(&server.url("/readyz"), None).await.0, 200);
    let metrics = reqwest::get(server.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "oktasync_http_requests_total",
        "oktasync_runs_total",
        "oktasync_okta_api_calls_total",
        "oktasync_mirror_age_seconds",
    ] {
        assert!(metrics.contains(name), "{name} missing from /metrics");
    }
    assert!(!metrics.contains(id), "no user id in metrics");

    // The OpenAPI document lists every route; /docs is a page of them.
    assert_eq!(get(&server.url("/openapi.json"), None).await.0, 401);
    let (status, _, doc) = get(&server.url("/openapi.json"), Some(&read)).await;
    assert_eq!(status, 200);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths: BTreeSet<&str> = doc["paths"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    for route in [
        "/v1/orgs",
        "/v1/orgs/{org}",
        "/v1/orgs/{org}/users",
        "/v1/orgs/{org}/users/{user}",
        "/v1/orgs/{org}/groups",
        "/v1/orgs/{org}/groups/{group}",
        "/v1/orgs/{org}/groups/{group}/members",
        "/v1/orgs/{org}/apps",
        "/v1/orgs/{org}/apps/{app}/access",
        "/v1/orgs/{org}/admins",
        "/v1/orgs/{org}/changes",
        "/v1/orgs/{org}/logs",
        "/v1/orgs/{org}/alerts",
        "/v1/orgs/{org}/posture",
        "/v1/orgs/{org}/runs",
        "/v1/orgs/{org}/syncs",
        "/v1/orgs/{org}/syncs/{id}",
        "/livez",
        "/readyz",
        "/metrics",
    ] {
        assert!(
            paths.contains(route),
            "{route} missing from the OpenAPI document"
        );
    }
    assert_eq!(get(&server.url("/docs"), None).await.0, 401);
    let docs = reqwest::Client::new()
        .get(server.url("/docs"))
        .bearer_auth(&read)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(docs.contains("/v1/orgs/{org}/users") && !docs.contains("<script"));

    server.stop().await;
    let runs = store.recent_runs(org, 50).await.unwrap();
    assert!(
        runs.iter().all(|r| r.outcome != "running"),
        "a stopped server leaves no run running"
    );
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
