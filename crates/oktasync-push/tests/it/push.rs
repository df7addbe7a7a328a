use crate::proxy::{Fault, FaultProxy};
use crate::{DEPARTMENT, okta_user, target, target_config};
use oktasync_push::{
    MemoryPushState, PushError, PushOptions, PushReport, PushState, SourceUser, TargetOperation,
    push,
};
use oktasync_testkit::scim::ScimServer;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

const MAPPING: &str = r#"
[attributes]
"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department" = "{profile.department}"
title = "{profile.title}"
"#;

fn team() -> Vec<SourceUser> {
    let mut carol = okta_user("00u3", "carol@example.com", None, &["Sales"]);
    carol.status = "SUSPENDED".into();
    let mut bob = okta_user(
        "00u2",
        "bob@example.com",
        Some("Sales"),
        &["Sales", "Engineering"],
    );
    bob.profile["title"] = json!("Account Executive");
    vec![
        okta_user("00u1", "alice@example.com", Some("R&D"), &["Engineering"]),
        bob,
        carol,
    ]
}

fn names(items: impl IntoIterator<Item = impl AsRef<str>>) -> BTreeSet<String> {
    items.into_iter().map(|s| s.as_ref().to_owned()).collect()
}

fn ok(report: &PushReport) {
    assert!(report.errors.is_empty(), "{:#?}", report.errors);
    assert!(report.refused.is_none(), "{:?}", report.refused);
}

fn options() -> PushOptions {
    PushOptions::default()
}

fn full() -> PushOptions {
    PushOptions {
        full: true,
        ..PushOptions::default()
    }
}

#[tokio::test]
async fn first_push_creates_the_mapped_users_and_memberships() {
    let server = ScimServer::start().await;
    let target = target(target_config(&server.url, MAPPING));
    let state = MemoryPushState::default();
    let report = push(&target, &team(), &state, &options()).await.unwrap();
    ok(&report);
    assert_eq!(report.done.created, 3);
    assert_eq!(report.done.groups_created, 3, "eng, all-staff and sales");

    let users = server.users().await;
    assert_eq!(
        names(users.keys()),
        names(["alice@example.com", "bob@example.com", "carol@example.com"])
    );
    let alice = &users["alice@example.com"];
    assert_eq!(
        alice["name"],
        json!({"givenName": "alice", "familyName": "Example"})
    );
    assert_eq!(alice["displayName"], json!("alice Example"));
    assert_eq!(
        alice["emails"],
        json!([{"value": "alice@example.com", "primary": true, "type": "work"}])
    );
    assert_eq!(alice[DEPARTMENT], json!({"department": "R&D"}));
    assert_eq!(alice["active"], json!(true));
    assert!(
        alice.get("title").is_none(),
        "an empty source value omits the attribute"
    );
    assert!(
        alice["schemas"]
            .as_array()
            .unwrap()
            .contains(&json!(DEPARTMENT))
    );
    let carol = &users["carol@example.com"];
    assert_eq!(
        carol["active"],
        json!(false),
        "SUSPENDED is pushed inactive"
    );
    assert!(carol.get(DEPARTMENT).is_none());

    let groups = server.group_members().await;
    assert_eq!(
        groups["eng"],
        names(["alice@example.com", "bob@example.com"])
    );
    assert_eq!(
        groups["sales"],
        names(["bob@example.com", "carol@example.com"])
    );
    assert_eq!(
        groups["all-staff"],
        names(["alice@example.com", "bob@example.com", "carol@example.com"])
    );

    let records = state.load("scim-test").await.unwrap();
    assert_eq!(records.len(), 3);
    for r in &records {
        assert_eq!(users[&r.user_name]["id"], json!(r.target_user_id));
    }
}

#[tokio::test]
async fn an_incremental_push_sends_only_the_change() {
    let server = ScimServer::start().await;
    let target = target(target_config(&server.url, MAPPING));
    let state = MemoryPushState::default();
    ok(&push(&target, &team(), &state, &options()).await.unwrap());

    // nothing changed: no call at all
    let report = push(&target, &team(), &state, &options()).await.unwrap();
    ok(&report);
    assert_eq!(report.http_calls.total(), 0, "{:?}", report.http_calls);
    assert_eq!(report.plan.unchanged, 3);

    // alice moves to Ops and joins Sales
    let mut users = team();
    users[0].profile["department"] = json!("Ops");
    users[0].groups.push(oktasync_push::SourceGroup {
        id: "00g-Sales".into(),
        name: "Sales".into(),
    });
    let report = push(&target, &users, &state, &options()).await.unwrap();
    ok(&report);
    assert_eq!(report.plan.updates.len(), 1);
    let paths: Vec<&str> = report.plan.updates[0]
        .changes
        .iter()
        .map(|c| c.path())
        .collect();
    assert_eq!(paths, [format!("{DEPARTMENT}:department")]);
    let calls = &report.http_calls;
    assert_eq!(calls.of(TargetOperation::UpdateUser), 1, "{calls:?}");
    assert_eq!(calls.of(TargetOperation::FindGroup), 1, "{calls:?}");
    assert_eq!(
        calls.of(TargetOperation::UpdateGroupMembers),
        1,
        "{calls:?}"
    );
    assert_eq!(calls.total(), 3, "{calls:?}");

    let alice = &server.users().await["alice@example.com"];
    assert_eq!(alice[DEPARTMENT]["department"], json!("Ops"));
    assert_eq!(alice["name"]["givenName"], json!("alice"), "untouched");
    assert!(server.group_members().await["sales"].contains("alice@example.com"));

    // and then nothing again
    let report = push(&target, &users, &state, &options()).await.unwrap();
    assert_eq!(report.http_calls.total(), 0);
}

#[tokio::test]
async fn a_full_push_repairs_drift_an_incremental_push_cannot_see() {
    let server = ScimServer::start().await;
    let target = target(target_config(&server.url, MAPPING));
    let state = MemoryPushState::default();
    ok(&push(&target, &team(), &state, &options()).await.unwrap());
    let alice_id = server.users().await["alice@example.com"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    server
        .patch_user(&alice_id, "name.givenName", json!("Mallory"))
        .await;

    let report = push(&target, &team(), &state, &options()).await.unwrap();
    assert_eq!(report.http_calls.total(), 0);

    let report = push(&target, &team(), &state, &full()).await.unwrap();
    ok(&report);
    assert_eq!(report.done.updated, 1);
    assert_eq!(report.plan.updates[0].changes[0].path(), "name.givenName");
    assert_eq!(report.http_calls.of(TargetOperation::UpdateUser), 1);
    assert_eq!(
        server.users().await["alice@example.com"]["name"]["givenName"],
        json!("alice")
    );
}

#[tokio::test]
async fn a_dry_run_changes_nothing() {
    let server = ScimServer::start().await;
    let target = target(target_config(&server.url, MAPPING));
    let state = MemoryPushState::default();
    let dry = PushOptions {
        dry_run: true,
        ..PushOptions::default()
    };
    let report = push(&target, &team(), &state, &dry).await.unwrap();
    ok(&report);
    assert_eq!(report.plan.creates.len(), 3);
    assert_eq!(report.plan.group_adds.len(), 7);
    assert_eq!(report.done, Default::default());
    assert_eq!(report.http_calls.total(), 0);
    assert!(server.users().await.is_empty());
    assert!(state.load("scim-test").await.unwrap().is_empty());

    // a full dry run only reads
    let report = push(&target, &team(), &state, &PushOptions { full: true, ..dry })
        .await
        .unwrap();
    assert_eq!(report.plan.creates.len(), 3);
    let calls = &report.http_calls;
    assert_eq!(
        calls.total(),
        calls.of(TargetOperation::ListUsers) + calls.of(TargetOperation::ListGroups),
        "{calls:?}"
    );
    assert!(server.users().await.is_empty());
}

#[tokio::test]
async fn a_run_over_max_deletions_changes_nothing() {
    let server = ScimServer::start().await;
    let many: Vec<SourceUser> = (0..6)
        .map(|i| {
            okta_user(
                &format!("00u{i}"),
                &format!("u{i}@example.com"),
                None,
                &["Engineering"],
            )
        })
        .collect();
    let state = MemoryPushState::default();
    let first = target(target_config(&server.url, ""));
    ok(&push(&first, &many, &state, &options()).await.unwrap());

    // four of six leave the scope; "50%" allows three
    let target = target(target_config(&server.url, "max_deletions = \"50%\""));
    let report = push(&target, &many[..2], &state, &options()).await.unwrap();
    let refused = report.refused.clone().expect("refused");
    assert_eq!((refused.removals, refused.limit), (4, 3));
    assert!(refused.to_string().contains("allow_deletions"), "{refused}");
    assert_eq!(report.http_calls.total(), 0);
    assert_eq!(report.done, Default::default());
    let users = server.users().await;
    assert!(users.values().all(|u| u["active"] == json!(true)));
    assert_eq!(state.load("scim-test").await.unwrap().len(), 6);

    // the override for one run lets them through
    let allowed = PushOptions {
        allow_deletions: Some(4),
        ..PushOptions::default()
    };
    let report = push(&target, &many[..2], &state, &allowed).await.unwrap();
    ok(&report);
    assert_eq!(report.done.deactivated, 4);
    let users = server.users().await;
    let inactive: BTreeSet<String> = users
        .iter()
        .filter(|(_, u)| u["active"] == json!(false))
        .map(|(n, _)| n.clone())
        .collect();
    assert_eq!(
        inactive,
        names([
            "u2@example.com",
            "u3@example.com",
            "u4@example.com",
            "u5@example.com"
        ])
    );
    // deactivated, not deleted; the next run has nothing to do
    assert_eq!(users.len(), 6);
    let report = push(&target, &many[..2], &state, &options()).await.unwrap();
    assert_eq!(report.http_calls.total(), 0, "{:#?}", report.plan);

    // they come back: reactivated
    let report = push(&target, &many, &state, &options()).await.unwrap();
    ok(&report);
    assert_eq!(report.done.updated, 4);
    assert!(
        server
            .users()
            .await
            .values()
            .all(|u| u["active"] == json!(true))
    );
}

/// A target with two accounts of its own (one in a managed group) and one excluded account.
async fn target_with_strangers() -> (ScimServer, String) {
    let server = ScimServer::start().await;
    let stranger = server.create_user("stranger@example.com").await;
    let robot = server.create_user("svc-robot").await;
    server.create_group("eng", &[&stranger, &robot]).await;
    server.create_group("unmanaged", &[&stranger]).await;
    (server, stranger)
}

#[tokio::test]
async fn target_only_accounts_follow_the_policy() {
    let scope = || {
        vec![
            okta_user("00u1", "alice@example.com", None, &["Engineering"]),
            // in scope but excluded: never created
            okta_user("00u9", "svc-okta@example.com", None, &["Engineering"]),
        ]
    };
    let exclude = "exclude_users = [\"re:^svc-\"]";
    for policy in [
        "preserve",
        "deactivate",
        "remove-groups",
        "delete",
        "write-file",
    ] {
        let (server, _) = target_with_strangers().await;
        let config = target_config(
            &server.url,
            &format!("target_only_users = \"{policy}\"\n{exclude}"),
        );
        let target = target(config);
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("target-only.json");
        let options = PushOptions {
            full: true,
            write_file_path: Some(file.clone()),
            ..PushOptions::default()
        };
        let state = MemoryPushState::default();
        let report = push(&target, &scope(), &state, &options).await.unwrap();
        ok(&report);
        assert_eq!(report.plan.target_only.len(), 1, "{policy}");
        assert_eq!(
            names(&report.plan.excluded),
            names(["svc-okta@example.com", "svc-robot"]),
            "{policy}"
        );

        let users = server.users().await;
        let groups = server.group_members().await;
        assert!(!users.contains_key("svc-okta@example.com"), "{policy}");
        let robot = &users["svc-robot"];
        assert_eq!(
            robot["active"],
            json!(true),
            "{policy}: excluded, untouched"
        );
        assert!(
            groups["eng"].contains("svc-robot"),
            "{policy}: excluded, untouched"
        );
        assert!(groups["eng"].contains("alice@example.com"), "{policy}");
        let stranger = users.get("stranger@example.com");
        let in_eng = groups["eng"].contains("stranger@example.com");
        // (scim2-server keeps a deleted user's id in its groups)
        assert!(
            policy == "delete" || groups["unmanaged"].contains("stranger@example.com"),
            "{policy}: unmanaged groups are never touched"
        );
        match policy {
            "preserve" | "write-file" => {
                assert_eq!(stranger.unwrap()["active"], json!(true), "{policy}");
                assert!(in_eng, "{policy}");
            }
            "deactivate" => {
                assert_eq!(stranger.unwrap()["active"], json!(false));
                assert!(in_eng);
                assert_eq!(report.done.deactivated, 1);
            }
            "remove-groups" => {
                assert_eq!(stranger.unwrap()["active"], json!(true));
                assert!(!in_eng);
                assert_eq!(report.done.group_removes, 1);
            }
            "delete" => {
                assert!(stranger.is_none());
                assert_eq!(report.done.deleted, 1);
            }
            _ => unreachable!(),
        }
        if policy == "write-file" {
            assert_eq!(report.target_only_file.as_deref(), Some(file.as_path()));
            let written: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
            assert_eq!(written.as_array().unwrap().len(), 1);
            assert_eq!(written[0]["userName"], json!("stranger@example.com"));
        } else {
            assert!(!file.exists(), "{policy}");
        }
    }
}

#[tokio::test]
async fn write_file_needs_a_path() {
    let target = target(target_config(
        "http://127.0.0.1:9",
        "target_only_users = \"write-file\"",
    ));
    let e = push(&target, &team(), &MemoryPushState::default(), &full())
        .await
        .unwrap_err();
    assert!(matches!(e, PushError::MissingWriteFilePath { .. }), "{e}");
}

#[tokio::test]
async fn a_template_naming_a_field_nobody_has_is_refused() {
    let target = target(target_config(
        "http://127.0.0.1:9",
        "[attributes]\ntitle = \"{profile.titel}\"",
    ));
    let e = push(&target, &team(), &MemoryPushState::default(), &options())
        .await
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("{profile.titel}") && text.contains("title"),
        "{text}"
    );
}

#[tokio::test]
async fn the_hook_renames_skips_and_fails_per_user() {
    let server = ScimServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let hook = dir.path().join("adjust.rhai");
    std::fs::write(
        &hook,
        r#"// contractors stay out; bob's profile is broken on purpose
if user.profile.login.starts_with("carol") { skip("contractor"); }
let name = user.login;
name.replace("@example.com", "@corp.example");
if user.login.starts_with("bob") { throw "bob has no badge"; }
attributes.userName = name;
if "Engineering" in groups { target_groups.push("hooked"); }
"#,
    )
    .unwrap();
    let config = target_config(
        &server.url,
        &format!("hook = {:?}", hook.display().to_string()),
    );
    let target = target(config);
    let state = MemoryPushState::default();
    let report = push(&target, &team(), &state, &options()).await.unwrap();

    assert_eq!(report.skipped.len(), 1);
    assert_eq!(report.skipped[0].login, "carol@example.com");
    assert_eq!(report.skipped[0].reason.as_deref(), Some("contractor"));
    assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
    let error = &report.errors[0];
    assert_eq!(error.login, "bob@example.com");
    assert!(
        error.message.contains("line 5") && error.message.contains("bob has no badge"),
        "{}",
        error.message
    );
    assert!(
        error.message.contains("bob@example.com"),
        "{}",
        error.message
    );

    let users = server.users().await;
    assert_eq!(names(users.keys()), names(["alice@corp.example"]));
    let groups = server.group_members().await;
    assert_eq!(groups["hooked"], names(["alice@corp.example"]));
    assert_eq!(state.load("scim-test").await.unwrap().len(), 1);

    // skipped and failed users are never counted as having left: nothing is removed
    let report = push(&target, &team(), &state, &full()).await.unwrap();
    assert!(report.plan.deactivations.is_empty() && report.plan.deletions.is_empty());
    assert_eq!(report.plan.unchanged, 1);
}

#[tokio::test]
async fn transient_target_faults_are_retried() {
    let server = ScimServer::start().await;
    let proxy = FaultProxy::start(
        &server.url,
        vec![
            Fault::Unavailable,
            Fault::TooManyRequests {
                retry_after_secs: 1,
            },
            Fault::Unavailable,
        ],
    )
    .await;
    let target = target(target_config(&proxy.url, ""));
    let state = MemoryPushState::default();
    let started = std::time::Instant::now();
    let report = push(&target, &team()[..1], &state, &options())
        .await
        .unwrap();
    ok(&report);
    assert!(
        started.elapsed() >= std::time::Duration::from_secs(1),
        "Retry-After: 1 was not honoured"
    );
    assert_eq!(report.done.created, 1);
    assert_eq!(report.http_calls.retries, 3, "{:?}", report.http_calls);
    let statuses: Vec<u16> = proxy.seen().iter().map(|(_, s)| *s).collect();
    assert_eq!(&statuses[..4], [503, 429, 503, 200], "{:?}", proxy.seen());
    assert_eq!(
        report.http_calls.total() as usize,
        proxy.seen().len(),
        "every attempt is counted"
    );
    assert_eq!(server.users().await.len(), 1);
}

#[tokio::test]
async fn a_target_that_keeps_failing_fails_users_not_the_run() {
    let server = ScimServer::start().await;
    let state = MemoryPushState::default();
    let direct = target(target_config(&server.url, ""));
    ok(&push(&direct, &team(), &state, &options()).await.unwrap());

    let proxy = FaultProxy::start(&server.url, vec![Fault::AlwaysFailing]).await;
    let target = target(target_config(&proxy.url, ""));
    let mut users = team();
    for u in &mut users {
        u.profile["firstName"] = json!("Renamed");
    }
    let report = push(&target, &users, &state, &options()).await.unwrap();
    assert_eq!(report.errors.len(), 3, "{:?}", report.errors);
    let logins: BTreeSet<&str> = report.errors.iter().map(|e| e.login.as_str()).collect();
    assert_eq!(
        logins,
        BTreeSet::from(["alice@example.com", "bob@example.com", "carol@example.com"])
    );
    assert!(
        report.errors[0]
            .message
            .contains("gave up after 4 attempts"),
        "{:?}",
        report.errors
    );
    assert_eq!(report.done.updated, 0);
    // the records still hold what was pushed before: the next push sends the change again
    let by_name: BTreeMap<String, String> = state
        .load("scim-test")
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.user_name, r.attributes["name.givenName"].to_string()))
        .collect();
    assert_eq!(by_name["alice@example.com"], "\"alice\"");
    let report = push(&direct, &users, &state, &options()).await.unwrap();
    ok(&report);
    assert_eq!(report.done.updated, 3);
}

#[tokio::test]
async fn a_wrong_token_is_reported_without_the_token() {
    let server = ScimServer::start().await;
    let mut config = target_config(&server.url, "");
    config.bearer_token = Some("not-the-token".to_owned().into());
    let target = target(config);
    let report = push(
        &target,
        &team()[..1],
        &MemoryPushState::default(),
        &options(),
    )
    .await
    .unwrap();
    assert_eq!(report.errors.len(), 1);
    let message = &report.errors[0].message;
    assert!(
        message.contains("401") && message.contains("bearer token"),
        "{message}"
    );
    assert!(!message.contains("not-the-token"), "{message}");
    let e = push(&target, &team()[..1], &MemoryPushState::default(), &full())
        .await
        .unwrap_err();
    assert!(
        !e.to_string().contains("not-the-token") && e.to_string().contains("401"),
        "{e}"
    );
}

/// `n` users in Engineering: more than a listing page of 200 when over 200.
fn many_engineers(n: usize) -> Vec<SourceUser> {
    (0..n)
        .map(|i| {
            okta_user(
                &format!("00u{i}"),
                &format!("u{i}@example.com"),
                None,
                &["Engineering"],
            )
        })
        .collect()
}

#[tokio::test]
async fn a_full_push_pages_through_the_target() {
    let server = ScimServer::start().await;
    // more than one page of 200
    let many: Vec<SourceUser> = many_engineers(230);
    let target = target(target_config(&server.url, ""));
    let state = MemoryPushState::default();
    let report = push(&target, &many, &state, &full()).await.unwrap();
    ok(&report);
    assert_eq!(report.done.created, 230);
    assert_eq!(report.done.group_adds, 460, "eng and all-staff");
    assert_eq!(
        report.http_calls.of(TargetOperation::UpdateGroupMembers),
        6,
        "100 members per PATCH: 3 for each group"
    );

    // the same push from an empty state finds everyone and changes nothing
    let fresh = MemoryPushState::default();
    let report = push(&target, &many, &fresh, &full()).await.unwrap();
    ok(&report);
    assert_eq!(report.plan.unchanged, 230);
    assert_eq!(report.http_calls.of(TargetOperation::ListUsers), 2);
    assert_eq!(report.http_calls.total(), 3, "{:?}", report.http_calls);
    assert_eq!(fresh.load("scim-test").await.unwrap().len(), 230, "adopted");
    assert_eq!(server.group_members().await["eng"].len(), 230);
}

#[tokio::test]
async fn two_users_with_one_user_name_push_only_the_first() {
    // nothing is called: an incremental dry run plans from the push state alone
    let target = target(target_config("http://127.0.0.1:9", ""));
    let users = vec![
        okta_user("00u1", "dup@example.com", None, &["Engineering"]),
        okta_user("00u2", "DUP@example.com", None, &["Engineering"]),
    ];
    let dry = PushOptions {
        dry_run: true,
        ..PushOptions::default()
    };
    let report = push(&target, &users, &MemoryPushState::default(), &dry)
        .await
        .unwrap();
    assert_eq!(report.plan.creates.len(), 1);
    assert_eq!(report.plan.creates[0].okta_user_id, "00u1");
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].login, "DUP@example.com");
    assert!(
        report.errors[0].message.contains("dup@example.com"),
        "{:?}",
        report.errors
    );
}

#[tokio::test]
async fn deprovision_delete_deletes_users_who_left() {
    let server = ScimServer::start().await;
    let target = target(target_config(&server.url, "deprovision = \"delete\""));
    let state = MemoryPushState::default();
    ok(&push(&target, &team(), &state, &options()).await.unwrap());
    let report = push(&target, &team()[..2], &state, &options())
        .await
        .unwrap();
    ok(&report);
    assert_eq!(report.done.deleted, 1);
    assert_eq!(
        names(server.users().await.keys()),
        names(["alice@example.com", "bob@example.com"])
    );
    assert_eq!(state.load("scim-test").await.unwrap().len(), 2, "forgotten");
}

#[tokio::test]
async fn many_creates_list_the_target_once_instead_of_looking_each_up() {
    let server = ScimServer::start().await;
    let many: Vec<SourceUser> = many_engineers(230);
    let target = target(target_config(&server.url, ""));
    let report = push(&target, &many, &MemoryPushState::default(), &options())
        .await
        .unwrap();
    ok(&report);
    assert_eq!(report.done.created, 230);
    let calls = &report.http_calls;
    assert_eq!(calls.of(TargetOperation::FindUser), 0, "{calls:?}");
    assert_eq!(
        calls.of(TargetOperation::ListUsers),
        1,
        "one count: the target was empty"
    );
    assert_eq!(calls.of(TargetOperation::CreateUser), 230);

    // the same users from an empty push state: one listing finds them all, none is created
    let fresh = MemoryPushState::default();
    let report = push(&target, &many, &fresh, &options()).await.unwrap();
    ok(&report);
    let calls = &report.http_calls;
    assert_eq!(calls.of(TargetOperation::FindUser), 0, "{calls:?}");
    assert_eq!(calls.of(TargetOperation::CreateUser), 0, "{calls:?}");
    assert_eq!(
        calls.of(TargetOperation::ListUsers),
        3,
        "a count, then two pages of 200"
    );
    assert_eq!(fresh.load("scim-test").await.unwrap().len(), 230, "adopted");
    assert_eq!(server.users().await.len(), 230);
}
