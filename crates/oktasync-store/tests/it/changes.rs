//! Deltas, the change log and history: applying is idempotent, every changed row is logged
//! once with its cause, a full sync after the baseline logs adds, updates and removes, and
//! `rows_at` undoes later changes.

use crate::backend::{Backend, TestMirror, on_both_backends};
use chrono::{DateTime, TimeZone, Utc};
use oktasync_store::history::Concern;
use oktasync_store::{
    Batch, Cause, ChangeQuery, Delta, DeltaOp, MirrorReader, MirrorWriter, OrgId, RunKind, RunLog,
    RunOutcome, RunStart, RunStats, Scope, Store, Table,
};

on_both_backends!(
    deltas_are_logged_idempotent_and_undoable,
    a_failing_delta_applies_nothing_and_records_the_failure,
);
use serde_json::{Value, json};

fn t(minute: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 12, minute, 0).unwrap()
}

fn user(id: &str, dept: &str) -> Value {
    json!({"id": id, "status": "ACTIVE", "lastUpdated": "2026-03-01T12:00:00.000Z",
           "profile": {"login": format!("{id}@example.com"), "department": dept}})
}

fn group(id: &str) -> Value {
    json!({"id": id, "type": "OKTA_GROUP", "profile": {"name": id},
           "lastUpdated": "2026-03-01T11:00:00.000Z",
           "lastMembershipUpdated": "2026-03-01T11:30:00.000Z"})
}

fn stats(at: DateTime<Utc>) -> RunStats {
    RunStats {
        ended_at: at,
        ..Default::default()
    }
}

async fn full(store: &dyn Store, org: OrgId, kind: RunKind, at: DateTime<Utc>, batches: &[Batch]) {
    let mut session = store
        .begin_full_sync(
            org,
            RunStart {
                started_at: at,
                kind,
                resources: vec![],
            },
        )
        .await
        .unwrap();
    session.stage_all(batches).await.unwrap();
    session.set_checkpoint("logs.next", format!("next-after-{kind}"));
    session
        .commit(
            &[Table::Users, Table::Groups, Table::GroupMembers],
            stats(at),
        )
        .await
        .unwrap();
}

async fn delta(
    store: &dyn Store,
    org: OrgId,
    at: DateTime<Utc>,
    delta: Delta,
) -> oktasync_store::Changes {
    let run = store
        .begin_run(
            org,
            RunStart {
                started_at: at,
                kind: RunKind::Incremental,
                resources: vec![],
            },
        )
        .await
        .unwrap();
    store.apply_delta(org, run, delta, stats(at)).await.unwrap()
}

fn members(group: &str, users: &[&str]) -> Batch {
    Batch::group_members(group, users.iter().map(|u| (*u).to_owned()).collect())
}

async fn deltas_are_logged_idempotent_and_undoable(backend: Backend) {
    let test = "deltas_are_logged_idempotent_and_undoable";
    let Some((m, org)) = TestMirror::with_org(backend, test, t(0)).await else {
        return;
    };
    let store = &m.store;
    full(
        store,
        org,
        RunKind::Full,
        t(1),
        &[
            Batch::users(vec![user("u1", "eng"), user("u2", "ops")]),
            Batch::groups(vec![group("g1")]),
            members("g1", &["u1"]),
        ],
    )
    .await;
    // The baseline writes no per-row changes, but its checkpoint.
    assert!(
        store
            .changes(org, &ChangeQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.checkpoint(org, "logs.next").await.unwrap().as_deref(),
        Some("next-after-full")
    );

    let mut d = Delta::default();
    d.push(
        DeltaOp::Upsert(members("g1", &["u2"])),
        Cause::event(t(10), "ev-add"),
    );
    d.push(
        DeltaOp::Remove(Scope::membership("g1", "u1")),
        Cause::event(t(11), "ev-remove"),
    );
    d.push(
        DeltaOp::Upsert(Batch::users(vec![user("u2", "sales")])),
        Cause::read_at(t(12)),
    );
    d.checkpoints.insert("logs.next".into(), "next-2".into());
    let changes = delta(store, org, t(12), d.clone()).await;
    assert_eq!(changes["group_members"].added, 1);
    assert_eq!(changes["group_members"].removed, 1);
    assert_eq!(changes["users"].updated, 1);
    assert_eq!(
        store.checkpoint(org, "logs.next").await.unwrap().as_deref(),
        Some("next-2")
    );

    let log = store.changes(org, &ChangeQuery::default()).await.unwrap();
    assert_eq!(log.len(), 3);
    assert_eq!(
        (log[0].op.as_str(), log[0].entity_id.as_str()),
        ("add", "g1/u2")
    );
    assert_eq!(log[0].event_uuid.as_deref(), Some("ev-add"));
    assert_eq!(log[0].source, "delta");
    assert_eq!(log[1].old["user_id"], "u1");
    assert_eq!(log[2].changed_fields, vec!["profile.department"]);
    assert_eq!(log[2].old["profile.department"], "ops");
    assert_eq!(log[2].new["profile.department"], "sales");

    // The same delta again changes nothing and logs nothing.
    let again = delta(store, org, t(13), d).await;
    assert!(again.values().all(|c| c.total() == 0), "{again:?}");
    assert_eq!(
        store
            .changes(org, &ChangeQuery::default())
            .await
            .unwrap()
            .len(),
        3
    );

    // Filters.
    let u1 = ChangeQuery {
        user_id: Some("u1".into()),
        ..Default::default()
    };
    assert_eq!(store.changes(org, &u1).await.unwrap().len(), 1);
    let since = ChangeQuery {
        since: Some(t(11)),
        ..Default::default()
    };
    assert_eq!(store.changes(org, &since).await.unwrap().len(), 2);
    let g1 = ChangeQuery {
        group_id: Some("g1".into()),
        limit: Some(1),
        ..Default::default()
    };
    let newest = store.changes(org, &g1).await.unwrap();
    assert_eq!(newest.len(), 1);
    assert_eq!(newest[0].entity_id, "g1/u1");

    // History: at minute 5, g1 had u1 only; at 10:30, both; now, u2 only.
    let at = |m| store.rows_at(org, Table::GroupMembers, Concern::Group("g1"), t(m));
    let ids = |rows: Vec<Value>| {
        rows.iter()
            .map(|r| r["user_id"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(at(5).await.unwrap()), vec!["u1"]);
    assert_eq!(ids(at(10).await.unwrap()), vec!["u1", "u2"]);
    assert_eq!(ids(at(30).await.unwrap()), vec!["u2"]);
    let u1_groups = store
        .rows_at(org, Table::GroupMembers, Concern::User("u1"), t(5))
        .await
        .unwrap();
    assert_eq!(u1_groups.len(), 1);

    // Replace: the scope ends up exactly the batch.
    let mut d = Delta::default();
    d.push(
        DeltaOp::Replace {
            scope: Scope::members_of_group("g1"),
            batch: members("g1", &["u1"]),
        },
        Cause::read_at(t(20)),
    );
    let changes = delta(store, org, t(20), d).await;
    assert_eq!(
        (
            changes["group_members"].added,
            changes["group_members"].removed
        ),
        (1, 1)
    );
    assert_eq!(
        store
            .keys(org, &Scope::members_of_group("g1"))
            .await
            .unwrap(),
        vec![oktasync_store::RowKey::new(Table::GroupMembers, ["g1", "u1"]).unwrap()]
    );

    // A reconcile logs what it changes as drift, with its source.
    full(
        store,
        org,
        RunKind::Reconcile,
        t(40),
        &[
            Batch::users(vec![user("u1", "eng")]),
            Batch::groups(vec![group("g1")]),
            members("g1", &["u1"]),
        ],
    )
    .await;
    let log = store
        .changes(
            org,
            &ChangeQuery {
                since: Some(t(40)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(
        (
            log[0].source.as_str(),
            log[0].op.as_str(),
            log[0].entity_id.as_str()
        ),
        ("reconcile", "remove", "u2")
    );
    // The user is gone from the mirror: the change names them by the login it recorded.
    assert_eq!(log[0].user_login.as_deref(), Some("u2@example.com"));
    let runs = store.recent_runs(org, 1).await.unwrap();
    assert_eq!(
        (runs[0].kind, runs[0].outcome),
        (RunKind::Reconcile, RunOutcome::Succeeded)
    );

    let marks = store.watermarks(org).await.unwrap();
    assert_eq!(
        marks.users_last_updated.as_deref(),
        Some("2026-03-01T12:00:00.000Z")
    );
    assert_eq!(
        marks.groups_last_membership_updated.as_deref(),
        Some("2026-03-01T11:30:00.000Z")
    );
}

async fn a_failing_delta_applies_nothing_and_records_the_failure(backend: Backend) {
    let test = "a_failing_delta_applies_nothing_and_records_the_failure";
    let Some((m, org)) = TestMirror::with_org(backend, test, t(0)).await else {
        return;
    };
    let store = &m.store;
    full(
        store,
        org,
        RunKind::Full,
        t(1),
        &[Batch::users(vec![user("u1", "eng")])],
    )
    .await;
    let before = store.export_json(org).await.unwrap();
    let run = store
        .begin_run(
            org,
            RunStart {
                started_at: t(2),
                kind: RunKind::Incremental,
                resources: vec![],
            },
        )
        .await
        .unwrap();
    let mut d = Delta::default();
    d.push(DeltaOp::Remove(Scope::user("u1")), Cause::read_at(t(2)));
    // A user without an id cannot be stored: the whole delta is refused.
    d.push(
        DeltaOp::Upsert(Batch::users(vec![json!({"status": "ACTIVE"})])),
        Cause::read_at(t(2)),
    );
    d.checkpoints.insert("logs.next".into(), "never".into());
    assert!(store.apply_delta(org, run, d, stats(t(2))).await.is_err());
    assert_eq!(store.export_json(org).await.unwrap(), before);
    assert_eq!(
        store.checkpoint(org, "logs.next").await.unwrap().as_deref(),
        Some("next-after-full")
    );
    let runs = store.recent_runs(org, 1).await.unwrap();
    assert_eq!(runs[0].outcome, RunOutcome::Failed);
    assert!(
        store
            .changes(org, &ChangeQuery::default())
            .await
            .unwrap()
            .is_empty()
    );
}
