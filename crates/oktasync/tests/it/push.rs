//! `oktasync push` against a real SCIM server (scim2-server on 127.0.0.1): the first push
//! creates exactly the group's members with the mapped attributes and target group; after
//! changes in Okta and a sync, a push sends only the changes; a dry run changes nothing; a run
//! over `max_deletions` changes nothing until allowed; runs are recorded.

use crate::{Synced, oktasync};
use oktasync_testkit::org::{grantable_groups, ids_where, members};
use oktasync_testkit::scim::{ScimServer, TOKEN};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

/// An admin call on the emulator.
async fn okta(s: &Synced, method: reqwest::Method, path: &str, body: Option<Value>) {
    let mut request = reqwest::Client::new()
        .request(method.clone(), format!("{}{path}", s.emu.base_url()))
        .header("authorization", format!("SSWS {}", s.emu.token()));
    request = match body {
        Some(body) => request.json(&body),
        None => request.header("content-length", "0"),
    };
    let response = request.send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{method} {path}: {}",
        response.status()
    );
}

async fn sync(s: &Synced) {
    let url = s.emu.base_url();
    let args = [
        "sync",
        "--org-url",
        &url,
        "--db",
        "m.db",
        "--factors",
        "all",
        "--json",
    ];
    let token = [("OKTASYNC_API_TOKEN_FILE", s.token_file.to_str().unwrap())];
    oktasync(s.dir.path(), &args, &token).await.expect_ok();
}

async fn push(s: &Synced, extra: &[&str]) -> crate::Out {
    let mut args = vec!["push", "wiki", "--db", "m.db", "--json"];
    args.extend(extra);
    oktasync(
        s.dir.path(),
        &args,
        &[("OKTASYNC_TARGET_WIKI_BEARER_TOKEN", TOKEN)],
    )
    .await
}

/// Okta login → user, of the export.
fn logins(export: &Value, ids: &BTreeSet<String>) -> BTreeMap<String, Value> {
    export["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| ids.contains(u["id"].as_str().unwrap()))
        .map(|u| {
            (
                u["profile"]["login"].as_str().unwrap().to_lowercase(),
                u.clone(),
            )
        })
        .collect()
}

fn active_logins(scim: &BTreeMap<String, Value>) -> BTreeSet<String> {
    scim.iter()
        .filter(|(_, u)| u["active"] == true)
        .map(|(name, _)| name.to_lowercase())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_creates_then_sends_only_changes_and_keeps_to_the_deletion_limit() {
    let s = Synced::with(crate::emulator(91, okta_emulator::OrgSize::Small).await).await;
    let export = s.emu.export();
    let active: BTreeSet<String> = ids_where(&export, "users", |u| u["status"] == "ACTIVE")
        .into_iter()
        .collect();
    // An Okta group with a few active members, and active outsiders to add.
    let group = grantable_groups(&export)
        .into_iter()
        .find(|g| {
            let m = members(&export, g);
            m.len() <= 80 && m.intersection(&active).count() >= 4
        })
        .expect("a group of at most 80 members, 4 of them active");
    let name = export["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == group.as_str())
        .unwrap()["profile"]["name"]
        .as_str()
        .unwrap()
        .to_owned();
    let scim = ScimServer::start().await;
    std::fs::write(
        s.dir.path().join("oktasync.toml"),
        format!(
            r#"
[[targets]]
name = "wiki"
kind = "scim"
url = "{url}"
groups = ["{name}"]
max_deletions = 1

[targets.attributes]
title = "{{profile.title}}"

[targets.group_map]
"{name}" = ["wiki-users"]
"#,
            url = scim.url
        ),
    )
    .unwrap();
    let expected = logins(&export, &members(&export, &group));
    // Members who can sign in are pushed active; the others too, inactive.
    let active_members = |export: &Value| -> BTreeSet<String> {
        logins(export, &members(export, &group))
            .into_iter()
            .filter(|(_, u)| {
                ["ACTIVE", "PASSWORD_EXPIRED", "LOCKED_OUT", "RECOVERY"]
                    .contains(&u["status"].as_str().unwrap())
            })
            .map(|(login, _)| login)
            .collect()
    };

    // A dry run plans every member's creation and sends nothing.
    let dry = push(&s, &["--dry-run"]).await;
    let plan = dry.expect_ok().json()["report"]["plan"].clone();
    assert_eq!(
        plan["creates"].as_array().unwrap().len(),
        expected.len(),
        "{plan}"
    );
    assert!(scim.users().await.is_empty(), "a dry run created accounts");

    // The first push creates exactly the members, mapped, in the mapped target group.
    let first = push(&s, &[]).await;
    let first = first.expect_ok().json();
    assert_eq!(first["outcome"], "succeeded", "{first}");
    let users = scim.users().await;
    let all: BTreeSet<String> = users.keys().map(|n| n.to_lowercase()).collect();
    assert_eq!(all, expected.keys().cloned().collect::<BTreeSet<_>>());
    assert_eq!(active_logins(&users), active_members(&export));
    for (login, okta_user) in &expected {
        let pushed = users
            .iter()
            .find(|(n, _)| n.to_lowercase() == *login)
            .unwrap()
            .1;
        assert_eq!(pushed["title"], okta_user["profile"]["title"], "{login}");
        assert_eq!(
            pushed["name"]["givenName"],
            okta_user["profile"]["firstName"]
        );
    }
    let in_group: BTreeSet<String> = scim.group_members().await["wiki-users"]
        .iter()
        .map(|n| n.to_lowercase())
        .collect();
    assert_eq!(in_group, expected.keys().cloned().collect());

    // One leaves, one joins, one's title changes: a push sends only that.
    let ids: Vec<String> = members(&export, &group)
        .intersection(&active)
        .cloned()
        .collect();
    let (leaver, changed) = (ids[0].clone(), ids[1].clone());
    let joiner = active
        .iter()
        .find(|u| !ids.contains(u))
        .expect("an active outsider")
        .clone();
    let delete = reqwest::Method::DELETE;
    let put = reqwest::Method::PUT;
    okta(
        &s,
        delete.clone(),
        &format!("/api/v1/groups/{group}/users/{leaver}"),
        None,
    )
    .await;
    okta(
        &s,
        put.clone(),
        &format!("/api/v1/groups/{group}/users/{joiner}"),
        None,
    )
    .await;
    let profile = json!({"profile": {"title": "Chief Wiki Gardener"}});
    okta(
        &s,
        reqwest::Method::POST,
        &format!("/api/v1/users/{changed}"),
        Some(profile),
    )
    .await;
    sync(&s).await;
    let second = push(&s, &[]).await.expect_ok().json();
    let plan = &second["report"]["plan"];
    let count = |key: &str| plan[key].as_array().unwrap().len();
    assert_eq!(
        (
            count("creates"),
            count("updates"),
            count("deactivations"),
            count("deletions")
        ),
        (1, 1, 1, 0),
        "{plan}"
    );
    assert_eq!(plan["unchanged"], expected.len() - 2);
    let calls: u64 = second["report"]["http_calls"]["by_operation"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert!(
        calls <= 12,
        "{calls} target calls for three changes: {second}"
    );
    let users = scim.users().await;
    assert_eq!(active_logins(&users), active_members(&s.emu.export()));
    let changed_login = logins(&s.emu.export(), &BTreeSet::from([changed.clone()]));
    let changed_login = changed_login.keys().next().unwrap();
    let changed_user = users
        .iter()
        .find(|(n, _)| n.to_lowercase() == *changed_login)
        .unwrap()
        .1;
    assert_eq!(changed_user["title"], "Chief Wiki Gardener");

    // Nothing changed: nothing is sent.
    let idle = push(&s, &[]).await.expect_ok().json();
    assert_eq!(
        idle["report"]["http_calls"]["by_operation"],
        json!({}),
        "{idle}"
    );

    // Two leave, over max_deletions = 1: nothing changes until allowed for one run.
    for user in &ids[2..4] {
        okta(
            &s,
            delete.clone(),
            &format!("/api/v1/groups/{group}/users/{user}"),
            None,
        )
        .await;
    }
    sync(&s).await;
    let before = scim.users().await;
    let refused = push(&s, &[]).await;
    assert_eq!(refused.code, Some(1), "{refused:?}");
    let refused = refused.json();
    assert_eq!(refused["outcome"], "refused");
    assert_eq!(
        scim.users().await,
        before,
        "a refused push changed the target"
    );
    let allowed = push(&s, &["--allow-deletions", "2"])
        .await
        .expect_ok()
        .json();
    assert_eq!(allowed["report"]["done"]["deactivated"], 2, "{allowed}");
    assert_eq!(
        active_logins(&scim.users().await),
        active_members(&s.emu.export())
    );

    // The runs are recorded, newest first.
    let history = push(&s, &["--history"]).await.expect_ok().json();
    let outcomes: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(
        outcomes,
        [
            "succeeded",
            "refused",
            "succeeded",
            "succeeded",
            "succeeded",
            "succeeded"
        ]
    );
    assert_eq!(history.as_array().unwrap().last().unwrap()["dry_run"], true);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_is_missing_or_wrong_is_a_configuration_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = oktasync(dir.path(), &["push", "wiki"], &[]).await;
    assert_eq!(out.code, Some(2), "{out:?}");
    assert!(
        out.stderr.contains("no target is configured"),
        "{}",
        out.stderr
    );
    std::fs::write(
        dir.path().join("oktasync.toml"),
        "[[targets]]\nname = \"wiki\"\nkind = \"scim\"\nurl = \"ftp://x\"\ngroups = [\"re:(\"]\n",
    )
    .unwrap();
    let out = oktasync(dir.path(), &["push", "wiki"], &[]).await;
    assert_eq!(out.code, Some(2), "{out:?}");
    for says in ["`url`", "`groups`", "OKTASYNC_TARGET_<NAME>_BEARER_TOKEN"] {
        assert!(out.stderr.contains(says), "{says}: {}", out.stderr);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_pushes_after_a_run_that_changed_the_mirror() {
    let s = Synced::with(crate::emulator(92, okta_emulator::OrgSize::Tiny).await).await;
    let export = s.emu.export();
    let active: BTreeSet<String> = ids_where(&export, "users", |u| u["status"] == "ACTIVE")
        .into_iter()
        .collect();
    let (group, joiner) = grantable_groups(&export)
        .into_iter()
        .find_map(|g| {
            let m = members(&export, &g);
            let joiner = active.iter().find(|u| !m.contains(*u))?.clone();
            Some((g, joiner))
        })
        .expect("a group and an active outsider");
    let scim = ScimServer::start().await;
    std::fs::write(
        s.dir.path().join("oktasync.toml"),
        format!(
            "[[targets]]\nname = \"wiki\"\nkind = \"scim\"\nurl = \"{}\"\ngroups = [\"{group}\"]\n\
             push_after_sync = true\n",
            scim.url
        ),
    )
    .unwrap();
    push(&s, &[]).await.expect_ok();
    let before = scim.users().await.len();
    let mut watch = tokio::process::Command::new(env!("CARGO_BIN_EXE_oktasync"))
        .current_dir(s.dir.path())
        .args([
            "watch",
            "--interval",
            "1s",
            "--org-url",
            &s.emu.base_url(),
            "--db",
            "m.db",
        ])
        .env("OKTASYNC_API_TOKEN_FILE", &s.token_file)
        .env("OKTASYNC_TARGET_WIKI_BEARER_TOKEN", TOKEN)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let put = reqwest::Method::PUT;
    okta(
        &s,
        put,
        &format!("/api/v1/groups/{group}/users/{joiner}"),
        None,
    )
    .await;
    let login = logins(&s.emu.export(), &BTreeSet::from([joiner.clone()]))
        .into_keys()
        .next()
        .unwrap();
    let started = std::time::Instant::now();
    let pushed = loop {
        let users = scim.users().await;
        if users.keys().any(|n| n.to_lowercase() == login) {
            break true;
        }
        if started.elapsed() > std::time::Duration::from_secs(30) {
            break false;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let _ = watch.kill().await;
    assert!(
        pushed,
        "watch did not push {login} after the run that brought them in"
    );
    assert_eq!(scim.users().await.len(), before + 1);
}

/// A webhook receiver for `oktasync push`: verifies each batch's signature and keeps the
/// logins created and the batches' webhook-ids.
#[derive(Default)]
struct Receiver {
    created: BTreeSet<String>,
    ids: Vec<String>,
    bad_signatures: usize,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_to_a_webhook_target_posts_the_members_in_signed_batches() {
    use axum::body::Bytes;
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use std::sync::{Arc, Mutex};
    const SECRET: &str = "whsec_Y2xpLXdlYmhvb2stc2VjcmV0";

    let s = Synced::with(crate::emulator(92, okta_emulator::OrgSize::Small).await).await;
    let export = s.emu.export();
    let group = grantable_groups(&export)
        .into_iter()
        .find(|g| (3..=150).contains(&members(&export, g).len()))
        .expect("a group of 3 to 150 members");
    let shared: Arc<Mutex<Receiver>> = Arc::default();
    let receive = |State(shared): State<Arc<Mutex<Receiver>>>, headers: HeaderMap, body: Bytes| async move {
        let verified = oktasync_serve::feed::Signer::from_secret(SECRET).verify(
            |name| headers.get(name).and_then(|v| v.to_str().ok()),
            &body,
            chrono::Utc::now().timestamp(),
            300,
        );
        let mut r = shared.lock().unwrap();
        if verified.is_err() {
            r.bad_signatures += 1;
            return StatusCode::UNAUTHORIZED;
        }
        r.ids
            .push(headers["webhook-id"].to_str().unwrap().to_owned());
        let batch: Value = serde_json::from_slice(&body).unwrap();
        for op in batch["operations"].as_array().unwrap() {
            if op["op"] == "create" {
                r.created
                    .insert(op["login"].as_str().unwrap().to_lowercase());
            }
        }
        StatusCode::NO_CONTENT
    };
    let app = axum::Router::new()
        .route("/in", axum::routing::post(receive))
        .with_state(shared.clone());
    let url = oktasync_testkit::serve_local(app).await + "/in";
    std::fs::write(
        s.dir.path().join("oktasync.toml"),
        format!("[[targets]]\nname = \"audit\"\nkind = \"webhook\"\nurl = \"{url}\"\ngroups = [\"{group}\"]\n"),
    )
    .unwrap();
    let run = |extra: &'static [&'static str]| {
        let mut args = vec!["push", "audit", "--db", "m.db", "--json"];
        args.extend(extra);
        let dir = s.dir.path().to_owned();
        async move { oktasync(&dir, &args, &[("OKTASYNC_TARGET_AUDIT_SECRET", SECRET)]).await }
    };

    let out = run(&[]).await.expect_ok().json();
    let expected: BTreeSet<String> = logins(&export, &members(&export, &group))
        .into_keys()
        .collect();
    {
        let r = shared.lock().unwrap();
        assert_eq!(r.bad_signatures, 0);
        assert_eq!(r.created, expected, "every member, once");
        assert_eq!(r.ids.len(), expected.len().div_ceil(100));
    }
    assert_eq!(out["report"]["done"]["created"], expected.len());
    // nothing changed since: nothing is posted
    let out = run(&[]).await.expect_ok().json();
    assert_eq!(
        out["report"]["http_calls"]["by_operation"],
        json!({}),
        "{out}"
    );

    // without its secret the target is a configuration error naming the variable
    let out = oktasync(s.dir.path(), &["push", "audit", "--db", "m.db"], &[]).await;
    assert_eq!(out.code, Some(2), "{}", out.stderr);
    assert!(
        out.stderr.contains("OKTASYNC_TARGET_<NAME>_SECRET"),
        "{}",
        out.stderr
    );
}
