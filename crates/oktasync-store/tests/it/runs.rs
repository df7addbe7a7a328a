//! Runs: staging, the set-based apply with change counts, atomicity, run records, export.
//! Every story runs on both backends.

use crate::backend::{Backend, TestMirror, on_both_backends};
use chrono::{TimeZone, Utc};
use oktasync_store::{
    AssigneeType, Batch, ChangeCounts, MirrorReader, MirrorWriter, RunKind, RunOutcome, RunStart,
    RunStats, Store, Table,
};
use serde_json::{Value, json};

on_both_backends!(
    factors_are_exported_with_their_user_in_key_order,
    second_run_applies_only_the_difference,
    failed_and_abandoned_runs_leave_the_mirror_alone,
    a_reader_sees_the_previous_or_the_new_mirror,
    keys_that_sort_differently_by_locale_export_in_byte_order,
    orgs_have_short_names_unique_in_the_mirror,
    a_key_staged_twice_keeps_its_first_row_however_much_comes_between,
    lookups_by_name_fold_ascii_case_alike,
    the_security_configuration_exports_as_the_emulator_and_is_replaced_whole,
);

fn start() -> RunStart {
    RunStart {
        started_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
        kind: RunKind::Full,
        resources: vec!["users".into(), "groups".into(), "memberships".into()],
    }
}

fn stats() -> RunStats {
    RunStats {
        ended_at: Utc.with_ymd_and_hms(2026, 1, 1, 0, 1, 0).unwrap(),
        api_calls: 3,
        ..Default::default()
    }
}

fn user(id: &str, status: &str) -> Value {
    json!({"id": id, "status": status, "profile": {"login": format!("{id}@example.com")},
           "_links": {"self": {"href": "x"}}})
}

async fn sync(
    store: &dyn Store,
    org: oktasync_store::OrgId,
    batches: Vec<Batch>,
) -> oktasync_store::Changes {
    let mut session = store.begin_full_sync(org, start()).await.unwrap();
    for batch in &batches {
        session.stage(batch).await.unwrap();
    }
    session
        .commit(
            &[
                Table::Users,
                Table::Groups,
                Table::GroupMembers,
                Table::RoleAssignments,
            ],
            stats(),
        )
        .await
        .unwrap()
}

/// A full sync of `users` users into `org`, so that the file has pages to read.
pub async fn fill(store: &dyn Store, org: oktasync_store::OrgId, users: usize) {
    let batch = (0..users)
        .map(|i| user(&format!("00u{i:06}"), "ACTIVE"))
        .collect();
    sync(store, org, vec![Batch::users(batch)]).await;
}

async fn factors_are_exported_with_their_user_in_key_order(backend: Backend) {
    let test = "factors_are_exported_with_their_user_in_key_order";
    let Some((m, org)) = TestMirror::with_org(backend, test, Utc::now()).await else {
        return;
    };
    let store = &m.store;
    let factor = |id: &str| {
        json!({"id": id, "factorType": "sms", "status": "ACTIVE", "profile": {"phoneNumber": "+1"},
               "_links": {"self": {"href": "x"}}})
    };
    let mut session = store.begin_full_sync(org, start()).await.unwrap();
    for batch in [
        Batch::factors("u2", vec![factor("mbl2"), factor("emf1")]),
        Batch::factors("u1", vec![factor("opf9")]),
    ] {
        session.stage(&batch).await.unwrap();
    }
    session.commit(&[Table::Factors], stats()).await.unwrap();
    let export = store.export_json(org).await.unwrap();
    let bare = |id: &str| json!({"id": id, "factorType": "sms", "status": "ACTIVE", "profile": {"phoneNumber": "+1"}});
    // The emulator's form: `{factor, user_id}`, by user then factor id, without `_links`.
    assert_eq!(
        export["factors"],
        json!([
            {"factor": bare("opf9"), "user_id": "u1"},
            {"factor": bare("emf1"), "user_id": "u2"},
            {"factor": bare("mbl2"), "user_id": "u2"},
        ])
    );
}

/// The security configuration's tables: typed columns, the emulator's export shapes
/// (`{policy_id, rule}`, `{app_id, grant}`, `{name, setting}`), and a whole-table replace
/// that keeps, changes and removes rows.
async fn the_security_configuration_exports_as_the_emulator_and_is_replaced_whole(
    backend: Backend,
) {
    use oktasync_store::{Cause, Delta, DeltaOp, RunLog as _, Scope};
    let test = "the_security_configuration_exports_as_the_emulator_and_is_replaced_whole";
    let Some((m, org)) = TestMirror::with_org(backend, test, Utc::now()).await else {
        return;
    };
    let store = &m.store;
    let zone = |id: &str, status: &str| {
        json!({"id": id, "type": "IP", "name": id, "status": status, "usage": "POLICY",
               "system": false, "_links": {"self": {"href": "x"}}})
    };
    let tables = [
        Table::Policies,
        Table::PolicyRules,
        Table::NetworkZones,
        Table::OrgSettings,
        Table::AppGrants,
    ];
    let mut session = store.begin_full_sync(org, start()).await.unwrap();
    for batch in [
        Batch::policies(vec![
            json!({"id": "00p1", "type": "PASSWORD", "name": "Default Policy",
                                    "priority": 2, "system": true}),
        ]),
        Batch::policy_rules(
            "00p1",
            vec![
                json!({"id": "0pr2", "name": "b", "priority": 2}),
                json!({"id": "0pr1", "name": "a", "priority": 1}),
            ],
        ),
        Batch::network_zones(vec![zone("nzo2", "ACTIVE"), zone("nzo1", "ACTIVE")]),
        Batch::threat_insight(json!({"action": "audit", "excludeZones": []})),
        Batch::app_grants(
            "0oa1",
            vec![json!({"id": "oag1", "scopeId": "okta.users.manage"})],
        ),
    ] {
        session.stage(&batch).await.unwrap();
    }
    session.commit(&tables, stats()).await.unwrap();
    let export = store.export_json(org).await.unwrap();
    assert_eq!(export["policies"][0]["priority"], 2);
    assert_eq!(
        export["policy_rules"],
        json!([
            {"policy_id": "00p1", "rule": {"id": "0pr1", "name": "a", "priority": 1}},
            {"policy_id": "00p1", "rule": {"id": "0pr2", "name": "b", "priority": 2}},
        ])
    );
    assert_eq!(
        export["org_settings"],
        json!([{"name": "threat_insight", "setting": {"action": "audit", "excludeZones": []}}])
    );
    assert_eq!(
        export["app_grants"],
        json!([{"app_id": "0oa1", "grant": {"id": "oag1", "scopeId": "okta.users.manage"}}])
    );
    let ids: Vec<&str> = export["network_zones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| z["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["nzo1", "nzo2"]);

    // Re-listed whole: nzo1 deactivated, nzo2 gone, nzo3 new.
    let run = store
        .begin_run(
            org,
            RunStart {
                started_at: Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap(),
                kind: RunKind::Incremental,
                resources: vec![],
            },
        )
        .await
        .unwrap();
    let mut d = Delta::default();
    d.push(
        DeltaOp::Replace {
            scope: Scope::all(Table::NetworkZones),
            batch: Batch::network_zones(vec![zone("nzo1", "INACTIVE"), zone("nzo3", "ACTIVE")]),
        },
        Cause::event(Utc.with_ymd_and_hms(2026, 1, 2, 0, 0, 0).unwrap(), "ev-1"),
    );
    let changes = store.apply_delta(org, run, d, stats()).await.unwrap();
    let zones = &changes["network_zones"];
    assert_eq!((zones.added, zones.updated, zones.removed), (1, 1, 1));
    let export = store.export_json(org).await.unwrap();
    let now: Vec<(&str, &str)> = export["network_zones"]
        .as_array()
        .unwrap()
        .iter()
        .map(|z| (z["id"].as_str().unwrap(), z["status"].as_str().unwrap()))
        .collect();
    assert_eq!(now, [("nzo1", "INACTIVE"), ("nzo3", "ACTIVE")]);
}

async fn second_run_applies_only_the_difference(backend: Backend) {
    let test = "second_run_applies_only_the_difference";
    let Some((m, org)) = TestMirror::with_org(backend, test, Utc::now()).await else {
        return;
    };
    let store = &m.store;
    let first = sync(store, org, vec![
        Batch::users(vec![user("u1", "ACTIVE"), user("u2", "ACTIVE"), user("u3", "STAGED")]),
        Batch::groups(vec![json!({"id": "g1", "type": "OKTA_GROUP", "profile": {"name": "Eng"}, "_embedded": {"stats": {"usersCount": 2}}})]),
        Batch::group_members("g1", vec!["u1".into(), "u2".into()]),
        Batch::role_assignments(AssigneeType::Group, "g1", vec![json!({"id": "ra1", "type": "ORG_ADMIN", "label": "Org admin"})]),
    ]).await;
    assert_eq!(
        first["users"],
        ChangeCounts {
            added: 3,
            updated: 0,
            removed: 0
        }
    );
    assert_eq!(first["group_members"].added, 2);

    let second = sync(store, org, vec![
        Batch::users(vec![user("u1", "ACTIVE"), user("u2", "SUSPENDED"), user("u4", "ACTIVE")]),
        // the same user twice keeps the first copy
        Batch::users(vec![user("u4", "DEPROVISIONED")]),
        Batch::groups(vec![json!({"id": "g1", "type": "OKTA_GROUP", "profile": {"name": "Eng"}, "_embedded": {"stats": {"usersCount": 1}}})]),
        Batch::group_members("g1", vec!["u2".into()]),
        Batch::role_assignments(AssigneeType::Group, "g1", vec![json!({"id": "ra1", "type": "ORG_ADMIN", "label": "Org admin"})]),
    ]).await;
    assert_eq!(
        second["users"],
        ChangeCounts {
            added: 1,
            updated: 1,
            removed: 1
        }
    );
    // `_embedded` (stats) is not part of the mirror, so the group did not change.
    assert_eq!(second["groups"], ChangeCounts::default());
    assert_eq!(
        second["group_members"],
        ChangeCounts {
            added: 0,
            updated: 0,
            removed: 1
        }
    );

    let export = store.export_json(org).await.unwrap();
    let ids: Vec<&str> = export["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["u1", "u2", "u4"]);
    assert_eq!(export["users"][2]["status"], "ACTIVE");
    assert!(export["users"][0].get("_links").is_none());
    assert_eq!(
        export["group_members"],
        json!([{"group_id": "g1", "user_id": "u2"}])
    );
    assert_eq!(
        export["role_assignments"],
        json!([{"assignee_type": "GROUP", "assignee_id": "g1", "role_type": "ORG_ADMIN", "id": "ra1"}])
    );
    let keys: Vec<&String> = export.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "app_grants",
            "app_groups",
            "app_users",
            "apps",
            "authenticators",
            "factors",
            "group_members",
            "group_rules",
            "groups",
            "idps",
            "log_streams",
            "network_zones",
            "okta_api_tokens",
            "org_settings",
            "policies",
            "policy_rules",
            "role_assignments",
            "users"
        ]
    );

    // The views answer through typed columns.
    let admins: Vec<(String, String, Option<String>)> = store
        .admins(org)
        .await
        .unwrap()
        .into_iter()
        .map(|a| (a.user_id, a.via, a.via_group_name))
        .collect();
    assert_eq!(
        admins,
        [("u2".to_owned(), "GROUP".to_owned(), Some("Eng".to_owned()))]
    );

    let runs = store.recent_runs(org, 10).await.unwrap();
    assert_eq!(runs.len(), 2);
    assert!(runs.iter().all(|r| r.outcome == RunOutcome::Succeeded));
    let changes: Value = serde_json::from_str(runs[0].changes.as_deref().unwrap()).unwrap();
    assert_eq!(changes["users"]["removed"], 1);
}

async fn failed_and_abandoned_runs_leave_the_mirror_alone(backend: Backend) {
    let test = "failed_and_abandoned_runs_leave_the_mirror_alone";
    let Some((m, org)) = TestMirror::with_org(backend, test, Utc::now()).await else {
        return;
    };
    let store = &m.store;
    sync(store, org, vec![Batch::users(vec![user("u1", "ACTIVE")])]).await;
    let before = store.export_json(org).await.unwrap();

    let mut session = store.begin_full_sync(org, start()).await.unwrap();
    session
        .stage(&Batch::users(vec![user("u9", "ACTIVE")]))
        .await
        .unwrap();
    session
        .fail("the Okta org stopped answering", stats())
        .await
        .unwrap();
    assert_eq!(store.export_json(org).await.unwrap(), before);

    // Dropped without commit: as if the process died before applying.
    let mut session = store.begin_full_sync(org, start()).await.unwrap();
    session
        .stage(&Batch::users(vec![user("u8", "ACTIVE")]))
        .await
        .unwrap();
    drop(session);
    assert_eq!(store.export_json(org).await.unwrap(), before);

    let runs = store.recent_runs(org, 10).await.unwrap();
    assert_eq!(runs[0].outcome, RunOutcome::Running);
    assert_eq!(runs[1].outcome, RunOutcome::Failed);
    assert_eq!(
        runs[1].error.as_deref(),
        Some("the Okta org stopped answering")
    );
    // A run row whose process is gone becomes `interrupted` when the next run starts.
    m.execute(&format!(
        "UPDATE sync_runs SET pid = 999999999 WHERE run_id = {}",
        runs[0].run_id
    ))
    .await;
    sync(store, org, vec![Batch::users(vec![user("u1", "ACTIVE")])]).await;
    let runs = store.recent_runs(org, 10).await.unwrap();
    assert_eq!(runs[1].outcome, RunOutcome::Interrupted);
}

async fn a_reader_sees_the_previous_or_the_new_mirror(backend: Backend) {
    let test = "a_reader_sees_the_previous_or_the_new_mirror";
    let Some((m, org)) = TestMirror::with_org(backend, test, Utc::now()).await else {
        return;
    };
    let store = m.store.clone();
    let reader = oktasync_store::open_reader(&m.location).await.unwrap();
    let users = |n: usize| {
        Batch::users(
            (0..n)
                .map(|i| user(&format!("u{i:05}"), "ACTIVE"))
                .collect(),
        )
    };
    sync(&store, org, vec![users(100)]).await;

    let mut session = store.begin_full_sync(org, start()).await.unwrap();
    for chunk in 0..20 {
        session
            .stage(&Batch::users(
                (0..500)
                    .map(|i| user(&format!("v{chunk:02}{i:04}"), "ACTIVE"))
                    .collect(),
            ))
            .await
            .unwrap();
        // staged rows are invisible to other connections
        assert_eq!(reader.counts(org).await.unwrap()["users"], 100);
    }
    let commit =
        tokio::spawn(async move { session.commit(&[Table::Users], stats()).await.unwrap() });
    let mut seen = std::collections::BTreeSet::new();
    while !commit.is_finished() {
        seen.insert(reader.counts(org).await.unwrap()["users"]);
    }
    let changes = commit.await.unwrap();
    assert_eq!(
        changes["users"],
        ChangeCounts {
            added: 10_000,
            updated: 0,
            removed: 100
        }
    );
    seen.insert(reader.counts(org).await.unwrap()["users"]);
    assert!(
        seen.iter().all(|n| *n == 100 || *n == 10_000),
        "partial state seen: {seen:?}"
    );
}

/// Keys whose order differs between byte order and a language's collation (upper case, digits,
/// punctuation) export in byte order on both backends, as the emulator sorts them.
async fn keys_that_sort_differently_by_locale_export_in_byte_order(backend: Backend) {
    let test = "keys_that_sort_differently_by_locale_export_in_byte_order";
    let Some((m, org)) = TestMirror::with_org(backend, test, Utc::now()).await else {
        return;
    };
    let ids = ["b", "B", "a", "_x", "A1", "a-2", "a10", "a2", "é", "Z"];
    sync(
        &m.store,
        org,
        vec![Batch::users(
            ids.iter().map(|id| user(id, "ACTIVE")).collect(),
        )],
    )
    .await;
    let export = m.store.export_json(org).await.unwrap();
    let exported: Vec<&str> = export["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    let mut expected = ids.to_vec();
    expected.sort();
    assert_eq!(exported, expected);
    // Listings sort by login, in byte order too.
    expected.sort_by_key(|id| format!("{id}@example.com"));
    let listed: Vec<String> = m
        .store
        .users(org, &Default::default())
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    assert_eq!(listed, expected);
}

async fn orgs_have_short_names_unique_in_the_mirror(backend: Backend) {
    let test = "orgs_have_short_names_unique_in_the_mirror";
    let Some((m, acme)) = TestMirror::with_org(backend, test, Utc::now()).await else {
        return;
    };
    let store = &m.store;
    let preview = store
        .ensure_org("https://acme.oktapreview.com", Utc::now())
        .await
        .unwrap();
    // Asking again for a known URL gives the same org, its name unchanged.
    assert_eq!(
        store
            .ensure_org("https://acme.okta.com", Utc::now())
            .await
            .unwrap(),
        acme
    );
    let names = |orgs: Vec<oktasync_store::OrgRecord>| -> Vec<(String, String)> {
        orgs.into_iter().map(|o| (o.name, o.url)).collect()
    };
    assert_eq!(
        names(store.org_list().await.unwrap()),
        [
            ("acme".to_owned(), "https://acme.okta.com".to_owned()),
            (
                "acme-2".to_owned(),
                "https://acme.oktapreview.com".to_owned()
            ),
        ]
    );
    assert_eq!(store.find_org_by_name("ACME").await.unwrap(), Some(acme));
    assert_eq!(store.find_org_by_name("nope").await.unwrap(), None);
    store.set_org_name(preview, "Acme-Preview").await.unwrap();
    assert_eq!(
        store.find_org_by_name("acme-preview").await.unwrap(),
        Some(preview)
    );
    let taken = store.set_org_name(preview, "acme").await.unwrap_err();
    assert!(
        matches!(&taken, oktasync_store::StoreError::OrgNameTaken { taken_by, .. } if taken_by == "https://acme.okta.com"),
        "{taken:?}"
    );
    let bad = store
        .set_org_name(preview, "acme preview")
        .await
        .unwrap_err();
    assert!(
        matches!(bad, oktasync_store::StoreError::BadOrgName { .. }),
        "{bad:?}"
    );
    // Renaming an org to its own name is no clash.
    store.set_org_name(acme, "acme").await.unwrap();
}

/// More than one `COPY` chunk (PostgreSQL sends 4 MiB at a time) between two copies of a key:
/// the first staged copy is the one applied, as when both sit in one batch.
async fn a_key_staged_twice_keeps_its_first_row_however_much_comes_between(backend: Backend) {
    let test = "a_key_staged_twice_keeps_its_first_row";
    let Some((m, org)) = TestMirror::with_org(backend, test, Utc::now()).await else {
        return;
    };
    let padding = "x".repeat(2000);
    let big = |id: String, status: &str| json!({"id": id, "status": status, "profile": {"login": "l", "notes": padding}});
    let mut session = m.store.begin_full_sync(org, start()).await.unwrap();
    session
        .stage(&Batch::users(vec![big("u-dup".into(), "ACTIVE")]))
        .await
        .unwrap();
    for page in 0..30 {
        let users = (0..100)
            .map(|i| big(format!("u{page:02}{i:03}"), "ACTIVE"))
            .collect();
        session.stage(&Batch::users(users)).await.unwrap();
    }
    session
        .stage(&Batch::users(vec![big("u-dup".into(), "SUSPENDED")]))
        .await
        .unwrap();
    let changes = session.commit(&[Table::Users], stats()).await.unwrap();
    assert_eq!(changes["users"].added, 3001);
    let export = m.store.export_json(org).await.unwrap();
    let dup = export["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["id"] == "u-dup")
        .unwrap();
    assert_eq!(dup["status"], "ACTIVE");
}

/// Users, groups and apps are found by id, then by name ignoring ASCII case, and beyond ASCII
/// exactly: both backends answer alike (SQLite's LOWER folds ASCII only).
async fn lookups_by_name_fold_ascii_case_alike(backend: Backend) {
    let test = "lookups_by_name_fold_ascii_case_alike";
    let Some((m, org)) = TestMirror::with_org(backend, test, Utc::now()).await else {
        return;
    };
    let group =
        |id: &str, name: &str| json!({"id": id, "type": "OKTA_GROUP", "profile": {"name": name}});
    let mut session = m.store.begin_full_sync(org, start()).await.unwrap();
    session
        .stage_all(&[
            Batch::users(vec![
                json!({"id": "u1", "profile": {"login": "Ada@Example.com"}}),
            ]),
            Batch::groups(vec![
                group("g1", "Eng"),
                group("g2", "Ärzte"),
                group("g3", "eng"),
            ]),
            Batch::apps(vec![json!({"id": "a1", "label": "Salesforce"})]),
        ])
        .await
        .unwrap();
    session
        .commit(&[Table::Users, Table::Groups, Table::Apps], stats())
        .await
        .unwrap();
    let s = &m.store;
    let user = |q: &'static str| async move { s.user(org, q).await.unwrap().map(|u| u.user.id) };
    assert_eq!(user("u1").await.as_deref(), Some("u1"));
    assert_eq!(user("ada@example.COM").await.as_deref(), Some("u1"));
    assert_eq!(user("ada@example.org").await, None);
    let group = |q: &'static str| async move { s.group(org, q).await.unwrap().map(|g| g.group.id) };
    // The exact name first, then any letter case (the lowest id of those).
    assert_eq!(group("eng").await.as_deref(), Some("g3"));
    assert_eq!(group("Eng").await.as_deref(), Some("g1"));
    assert_eq!(group("ENG").await.as_deref(), Some("g1"));
    assert_eq!(group("Ärzte").await.as_deref(), Some("g2"));
    assert_eq!(group("ärzte").await, None);
    assert_eq!(group("g2").await.as_deref(), Some("g2"));
    let app = s.app(org, "SALESFORCE").await.unwrap().map(|a| a.app.id);
    assert_eq!(app.as_deref(), Some("a1"));
}
