//! Roles applied to a mirror, on both backends: groups by id, name or glob and apps by id or
//! label resolve to their holders (the view `user_roles`, with the way each comes); a role
//! applied for the first time is its own baseline; later applications log who gained or lost
//! a role, once.

use crate::backend::{Backend, TestMirror, on_both_backends};
use chrono::{DateTime, TimeZone, Utc};
use oktasync_store::{
    Batch, Cause, ChangeQuery, Delta, DeltaOp, GroupPattern, MirrorReader, MirrorWriter,
    RoleFilter, RoleSpec, Roles, RunKind, RunLog, RunStart, RunStats, Scope, Table,
};
use serde_json::{Value, json};

on_both_backends!(roles_resolve_to_holders_and_log_gains_and_losses_once);

fn t(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 4, 1, 9, minute, 0).unwrap()
}

fn user(id: &str) -> Value {
    json!({"id": id, "status": "ACTIVE", "lastUpdated": "2026-04-01T09:00:00.000Z",
           "profile": {"login": format!("{id}@example.com")}})
}

fn group(id: &str, name: &str) -> Value {
    json!({"id": id, "type": "OKTA_GROUP", "profile": {"name": name},
           "lastUpdated": "2026-04-01T09:00:00.000Z",
           "lastMembershipUpdated": "2026-04-01T09:00:00.000Z"})
}

fn stats(at: DateTime<Utc>) -> RunStats {
    RunStats {
        ended_at: at,
        ..Default::default()
    }
}

fn holders(rows: &[oktasync_store::UserRole], role: &str) -> Vec<String> {
    let mut users: Vec<String> = rows
        .iter()
        .filter(|r| r.role == role)
        .map(|r| r.user_id.clone())
        .collect();
    users.dedup();
    users
}

async fn roles_resolve_to_holders_and_log_gains_and_losses_once(backend: Backend) {
    let test = "roles_resolve_to_holders_and_log_gains_and_losses_once";
    let Some((m, org)) = TestMirror::with_org(backend, test, t(0)).await else {
        return;
    };
    let store = &m.store;
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
            Batch::users(vec![user("u1"), user("u2"), user("u3")]),
            Batch::groups(vec![
                group("g1", "SRE-east"),
                group("g2", "sre-west"),
                group("g3", "Sales"),
            ]),
            Batch::group_members("g1", vec!["u1".into()]),
            Batch::group_members("g2", vec!["u2".into()]),
            Batch::group_members("g3", vec!["u3".into()]),
            Batch::apps(vec![
                json!({"id": "0oa1", "label": "Runbooks", "status": "ACTIVE"}),
            ]),
            Batch::app_users("0oa1", vec![json!({"id": "u3", "scope": "USER"})]),
        ])
        .await
        .unwrap();
    session
        .commit(
            &[
                Table::Users,
                Table::Groups,
                Table::GroupMembers,
                Table::Apps,
                Table::AppUsers,
            ],
            stats(t(1)),
        )
        .await
        .unwrap();
    let roles = vec![
        RoleSpec {
            name: "sre".into(),
            groups: vec![GroupPattern::parse("SRE-*").unwrap()],
            apps: vec![],
        },
        RoleSpec {
            name: "runbooks".into(),
            groups: vec![],
            apps: vec!["runbooks".into()],
        },
        RoleSpec {
            name: "nobody".into(),
            groups: vec![GroupPattern::parse("no such group").unwrap()],
            apps: vec![],
        },
    ];
    let applied = store.apply_roles(org, &roles, t(2)).await.unwrap();
    assert_eq!(applied.new_roles, ["sre", "runbooks", "nobody"]);
    assert_eq!(applied.empty_roles, ["nobody"]);
    assert!(
        applied.gained.is_empty(),
        "a first application is the baseline"
    );
    let rows = store.user_roles(org, &RoleFilter::default()).await.unwrap();
    assert_eq!(holders(&rows, "sre"), ["u1", "u2"]);
    assert_eq!(holders(&rows, "runbooks"), ["u3"]);
    let via: Vec<(&str, &str)> = rows
        .iter()
        .filter(|r| r.role == "sre")
        .map(|r| (r.via.as_str(), r.via_name.as_deref().unwrap()))
        .collect();
    assert_eq!(via, [("group", "SRE-east"), ("group", "sre-west")]);
    let mine = RoleFilter {
        user_id: Some("u3".into()),
        ..Default::default()
    };
    let u3 = store.user_roles(org, &mine).await.unwrap();
    assert_eq!((u3[0].via.as_str(), u3[0].via_id.as_str()), ("app", "0oa1"));

    // u3 joins SRE-east, u1 leaves it: after the delta, applying logs both, once.
    let run = store
        .begin_run(
            org,
            RunStart {
                started_at: t(3),
                kind: RunKind::Incremental,
                resources: vec![],
            },
        )
        .await
        .unwrap();
    let mut d = Delta::default();
    d.push(
        DeltaOp::Upsert(Batch::group_members("g1", vec!["u3".into()])),
        Cause::event(t(3), "ev-1"),
    );
    d.push(
        DeltaOp::Remove(Scope::membership("g1", "u1")),
        Cause::event(t(3), "ev-2"),
    );
    store.apply_delta(org, run, d, stats(t(3))).await.unwrap();
    let applied = store.apply_roles(org, &roles, t(4)).await.unwrap();
    assert_eq!(applied.gained, [("sre".to_owned(), "u3".to_owned())]);
    assert_eq!(applied.lost, [("sre".to_owned(), "u1".to_owned())]);
    let again = store.apply_roles(org, &roles, t(5)).await.unwrap();
    assert!(again.gained.is_empty() && again.lost.is_empty() && again.new_roles.is_empty());
    let query = ChangeQuery {
        entity: Some("user_roles".into()),
        ..Default::default()
    };
    let logged: Vec<(String, String)> = store
        .changes(org, &query)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.op, c.entity_id))
        .collect();
    assert_eq!(
        logged,
        [
            ("add".to_owned(), "sre/u3".to_owned()),
            ("remove".to_owned(), "sre/u1".to_owned())
        ]
    );
}
