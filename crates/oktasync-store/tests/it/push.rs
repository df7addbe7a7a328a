//! Push state and push runs on both backends: records are saved, replaced and forgotten per
//! target; runs are recorded and listed newest first; the mirror reads as a push's source
//! (users with the groups they are in).

use crate::backend::{Backend, TestMirror, on_both_backends};
use chrono::{DateTime, TimeZone, Utc};
use oktasync_store::{
    Batch, MirrorWriter, PushRunRecord, PushStates, PushedUser, RunKind, RunStart, RunStats, Table,
};
use serde_json::json;

on_both_backends!(push_state_runs_and_source);

fn t(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 9, minute, 0).unwrap()
}

fn pushed(id: &str, hash: &str) -> PushedUser {
    PushedUser {
        okta_user_id: id.into(),
        target_user_id: format!("scim-{id}"),
        user_name: format!("{id}@example.com"),
        content_hash: hash.into(),
        attributes: json!({"userName": format!("{id}@example.com"), "name.givenName": "Ada"}),
        target_groups: vec!["wiki-users".into()],
        pushed_at: "2026-05-01T09:00:00Z".into(),
    }
}

fn run(target: &str, outcome: &str) -> PushRunRecord {
    PushRunRecord {
        id: 0,
        target: target.into(),
        started_at: "2026-05-01T09:00:00Z".into(),
        ended_at: "2026-05-01T09:00:01Z".into(),
        dry_run: outcome == "succeeded",
        full: false,
        outcome: outcome.into(),
        counts: json!({"done": {"created": 2}}),
        errors: json!([{"login": "x@example.com", "message": "409"}]),
        http_calls: json!({"by_operation": {"create_user": 2}}),
        message: None,
    }
}

async fn push_state_runs_and_source(backend: Backend) {
    let Some((m, org)) = TestMirror::with_org(backend, "push_state_runs_and_source", t(0)).await
    else {
        return;
    };
    let store = &m.store;
    store
        .save_pushed(org, "wiki", &[pushed("u1", "h1"), pushed("u2", "h2")])
        .await
        .unwrap();
    store
        .save_pushed(org, "wiki", &[pushed("u1", "h1b")])
        .await
        .unwrap();
    store
        .save_pushed(org, "hr", &[pushed("u3", "h3")])
        .await
        .unwrap();
    store
        .forget_pushed(org, "wiki", &["u2".into()])
        .await
        .unwrap();
    let wiki = store.pushed_users(org, "wiki").await.unwrap();
    assert_eq!(wiki, vec![pushed("u1", "h1b")]);
    assert_eq!(store.pushed_users(org, "hr").await.unwrap().len(), 1);
    assert!(store.pushed_users(org, "none").await.unwrap().is_empty());

    let first = store
        .record_push_run(org, &run("wiki", "succeeded"))
        .await
        .unwrap();
    let second = store
        .record_push_run(org, &run("wiki", "refused"))
        .await
        .unwrap();
    store
        .record_push_run(org, &run("hr", "partial"))
        .await
        .unwrap();
    assert!(second > first);
    let runs = store.push_runs(org, Some("wiki"), 10).await.unwrap();
    let ids: Vec<i64> = runs.iter().map(|r| r.id).collect();
    assert_eq!(ids, [second, first]);
    assert_eq!(
        runs[1],
        PushRunRecord {
            id: first,
            ..run("wiki", "succeeded")
        }
    );
    assert_eq!(store.push_runs(org, None, 10).await.unwrap().len(), 3);
    assert_eq!(store.push_runs(org, None, 1).await.unwrap().len(), 1);

    let mut session = store
        .begin_full_sync(
            org,
            RunStart {
                started_at: t(1),
                kind: RunKind::Full,
                resources: vec![],
            },
        )
        .await
        .unwrap();
    session
        .stage_all(&[
            Batch::users(vec![
                json!({"id": "u1", "status": "ACTIVE", "profile": {"login": "u1@example.com"}}),
                json!({"id": "u2", "status": "SUSPENDED", "profile": {"login": "u2@example.com"}}),
            ]),
            Batch::groups(vec![json!({"id": "g1", "type": "OKTA_GROUP",
                                      "profile": {"name": "Wiki editors"}})]),
            Batch::group_members("g1", vec!["u1".into()]),
        ])
        .await
        .unwrap();
    session
        .commit(
            &[Table::Users, Table::Groups, Table::GroupMembers],
            RunStats {
                ended_at: t(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let source = store.push_source(org).await.unwrap();
    assert_eq!(source.len(), 2);
    assert_eq!(source[0].id, "u1");
    assert_eq!(
        source[0].groups,
        vec![("g1".to_owned(), "Wiki editors".to_owned())]
    );
    assert_eq!(source[0].raw["profile"]["login"], "u1@example.com");
    assert_eq!(source[1].status, "SUSPENDED");
    assert!(source[1].groups.is_empty());
}
