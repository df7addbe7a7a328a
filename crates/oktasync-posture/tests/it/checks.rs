//! Every check against an org built to pass it and one built to fail it, in real mirrors
//! (SQLite and PostgreSQL): a safe baseline org passes every check; for each check, the
//! baseline with one thing made unsafe fails it. Then the history of findings across runs
//! (new, seen again, resolved, back again), the checks that cannot apply, and the settings.

use chrono::{DateTime, Duration, TimeZone, Utc};
use oktasync_posture::{CheckStatus, Posture, PostureSettings, sarif};
use oktasync_store::{
    AssigneeType, Batch, DbLocation, Mirror, MirrorReader, MirrorWriter, OrgId, RunKind, RunStart,
    RunStats, SystemLogStore, Table,
};
use oktasync_testkit::PgDatabase;
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 12, 0, 0).unwrap()
}

/// `days` before [`now`], as Okta writes times.
fn ago(days: i64) -> String {
    (now() - Duration::days(days)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// An org as the objects a sync would stage, and the System Log it would keep.
#[derive(Clone)]
struct Org {
    users: BTreeMap<String, Value>,
    groups: BTreeMap<String, Value>,
    members: BTreeMap<String, Vec<String>>,
    apps: BTreeMap<String, Value>,
    app_users: BTreeMap<String, Vec<Value>>,
    app_groups: BTreeMap<String, Vec<Value>>,
    roles: Vec<(AssigneeType, String, Value)>,
    factors: BTreeMap<String, Vec<Value>>,
    idps: Vec<Value>,
    rules: Vec<Value>,
    log: Vec<Value>,
}

fn user(id: &str, status: &str) -> Value {
    json!({"id": id, "status": status, "created": ago(400), "lastLogin": ago(1),
           "lastUpdated": ago(1), "passwordChanged": ago(30),
           "profile": {"login": format!("{id}@example.com"), "email": format!("{id}@example.com"),
                       "firstName": id, "lastName": "Test"}})
}

fn factor(id: &str, kind: &str) -> Value {
    json!({"id": id, "factorType": kind, "provider": "OKTA", "status": "ACTIVE", "created": ago(300)})
}

fn role(id: &str, kind: &str, created: &str) -> Value {
    json!({"id": id, "type": kind, "label": kind, "status": "ACTIVE",
           "assignmentType": "USER", "created": created, "lastUpdated": created})
}

fn event(uuid: &str, days: i64, event_type: &str, actor: &str, targets: Value) -> Value {
    json!({"uuid": uuid, "published": ago(days), "eventType": event_type,
           "actor": {"id": actor, "type": "User", "alternateId": format!("{actor}@example.com")},
           "client": {"ipAddress": "198.51.100.7"},
           "securityContext": {"isProxy": false},
           "outcome": {"result": "SUCCESS"}, "target": targets})
}

impl Org {
    /// An org every check passes: two super admins and an org admin with two factors each
    /// (one phishing-resistant), recent sign-ins and passwords; users with MFA in a group
    /// assigned an app they use; a kept log reaching back 100 days.
    fn safe() -> Org {
        let mut org = Org {
            users: BTreeMap::new(),
            groups: BTreeMap::new(),
            members: BTreeMap::new(),
            apps: BTreeMap::new(),
            app_users: BTreeMap::new(),
            app_groups: BTreeMap::new(),
            roles: Vec::new(),
            factors: BTreeMap::new(),
            idps: Vec::new(),
            rules: Vec::new(),
            log: Vec::new(),
        };
        for id in ["sa1", "sa2", "admin1", "u1", "u2", "u3"] {
            org.users.insert(id.into(), user(id, "ACTIVE"));
            org.factors.insert(
                id.into(),
                vec![
                    factor(&format!("{id}-p"), "push"),
                    factor(&format!("{id}-w"), "webauthn"),
                ],
            );
        }
        org.roles.push((
            AssigneeType::User,
            "sa1".into(),
            role("ra1", "SUPER_ADMIN", &ago(400)),
        ));
        org.roles.push((
            AssigneeType::User,
            "sa2".into(),
            role("ra2", "SUPER_ADMIN", &ago(400)),
        ));
        org.roles.push((
            AssigneeType::User,
            "admin1".into(),
            role("ra3", "ORG_ADMIN", &ago(400)),
        ));
        org.group(
            "00geveryone",
            "Everyone",
            "BUILT_IN",
            &["sa1", "sa2", "admin1", "u1", "u2", "u3"],
        );
        org.group("00geng", "Engineering", "OKTA_GROUP", &["u1", "u2", "u3"]);
        org.apps.insert(
            "0oawiki".into(),
            json!({"id": "0oawiki", "name": "wiki", "label": "Wiki", "status": "ACTIVE",
                   "signOnMode": "SAML_2_0", "created": ago(400),
                   "features": ["PUSH_NEW_USERS", "PUSH_USER_DEACTIVATION"]}),
        );
        org.apps.insert(
            "0oaadmin".into(),
            json!({"id": "0oaadmin", "name": "saasure", "label": "Okta Admin Console",
                   "status": "ACTIVE", "signOnMode": "OPENID_CONNECT", "created": ago(400)}),
        );
        org.app_groups.insert(
            "0oawiki".into(),
            vec![json!({"id": "00geng", "priority": 0})],
        );
        org.app_users.insert(
            "0oawiki".into(),
            ["u1", "u2", "u3"]
                .iter()
                .map(|u| json!({"id": u, "scope": "GROUP", "status": "PROVISIONED"}))
                .collect(),
        );
        org.log
            .push(event("e-old", 100, "user.session.start", "u1", json!([])));
        org.log.push(event(
            "e-sso",
            1,
            "user.authentication.sso",
            "u1",
            json!([{"id": "0oawiki", "type": "AppInstance", "alternateId": "Wiki"}]),
        ));
        org
    }

    fn group(&mut self, id: &str, name: &str, kind: &str, members: &[&str]) {
        self.groups.insert(
            id.into(),
            json!({"id": id, "type": kind, "created": ago(400), "lastUpdated": ago(400),
                   "lastMembershipUpdated": ago(400), "profile": {"name": name}}),
        );
        self.members
            .insert(id.into(), members.iter().map(|m| m.to_string()).collect());
    }

    fn user_mut(&mut self, id: &str) -> &mut Value {
        self.users.get_mut(id).expect("a user of the org")
    }

    fn admin_with(&mut self, id: &str, role_type: &str) {
        self.users.insert(id.into(), user(id, "ACTIVE"));
        self.factors.insert(
            id.into(),
            vec![
                factor(&format!("{id}-p"), "push"),
                factor(&format!("{id}-w"), "webauthn"),
            ],
        );
        self.roles.push((
            AssigneeType::User,
            id.into(),
            role(&format!("ra-{id}"), role_type, &ago(400)),
        ));
    }

    fn batches(&self) -> Vec<Batch> {
        let mut b = vec![
            Batch::users(self.users.values().cloned().collect()),
            Batch::groups(self.groups.values().cloned().collect()),
            Batch::apps(self.apps.values().cloned().collect()),
            Batch::idps(self.idps.clone()),
            Batch::new(Table::GroupRules, vec![], self.rules.clone()).unwrap(),
        ];
        for (group, users) in &self.members {
            b.push(Batch::group_members(group.clone(), users.clone()));
        }
        for (app, users) in &self.app_users {
            b.push(Batch::app_users(app.clone(), users.clone()));
        }
        for (app, groups) in &self.app_groups {
            b.push(Batch::app_groups(app.clone(), groups.clone()));
        }
        for (kind, assignee, r) in &self.roles {
            b.push(Batch::role_assignments(
                *kind,
                assignee.clone(),
                vec![r.clone()],
            ));
        }
        for (user, factors) in &self.factors {
            b.push(Batch::factors(user.clone(), factors.clone()));
        }
        b
    }

    /// Writes the org into `store` as a full sync would, under its own URL.
    async fn save(&self, store: &Mirror, name: &str) -> OrgId {
        let org = store
            .ensure_org(&format!("https://{name}.okta.com"), now())
            .await
            .unwrap();
        let mut session = store
            .begin_full_sync(
                org,
                RunStart {
                    started_at: now(),
                    kind: RunKind::Full,
                    resources: vec![],
                },
            )
            .await
            .unwrap();
        session.stage_all(&self.batches()).await.unwrap();
        session
            .commit(&Table::ALL, RunStats::default())
            .await
            .unwrap();
        store
            .store_log_events(org, None, &self.log, None)
            .await
            .unwrap();
        org
    }
}

/// What makes the baseline fail one check.
type Unsafe = Box<dyn Fn(&mut Org)>;

/// For each check, the baseline made to fail it.
fn failing_orgs() -> Vec<(&'static str, Org)> {
    let mut cases: Vec<(&'static str, Unsafe)> = vec![
        (
            "okta.admins.too_many_super_admins",
            Box::new(|o| {
                for i in 0..4 {
                    o.admin_with(&format!("extra-sa{i}"), "SUPER_ADMIN");
                }
            }),
        ),
        (
            "okta.admins.too_many_admins",
            Box::new(|o| {
                for i in 0..25 {
                    o.admin_with(&format!("extra-admin{i}"), "USER_ADMIN");
                }
            }),
        ),
        (
            "okta.admins.without_mfa",
            Box::new(|o| {
                o.factors.remove("admin1");
            }),
        ),
        (
            "okta.admins.without_phishing_resistant_factor",
            Box::new(|o| {
                o.factors.insert(
                    "admin1".into(),
                    vec![factor("a-p", "push"), factor("a-s", "sms")],
                );
            }),
        ),
        (
            "okta.admins.single_factor",
            Box::new(|o| {
                o.factors
                    .insert("admin1".into(), vec![factor("a-w", "webauthn")]);
            }),
        ),
        (
            "okta.admins.dormant",
            Box::new(|o| {
                o.user_mut("admin1")["lastLogin"] = ago(100).into();
            }),
        ),
        (
            "okta.admins.stale_password",
            Box::new(|o| {
                o.user_mut("admin1")["passwordChanged"] = ago(200).into();
            }),
        ),
        (
            "okta.admins.roles_on_inactive_accounts",
            Box::new(|o| {
                o.user_mut("admin1")["status"] = "SUSPENDED".into();
            }),
        ),
        (
            "okta.admins.super_admin_through_group",
            Box::new(|o| {
                o.group("00gadmins", "Admins", "OKTA_GROUP", &["u3"]);
                o.roles.push((
                    AssigneeType::Group,
                    "00gadmins".into(),
                    role("ra-g", "SUPER_ADMIN", &ago(400)),
                ));
            }),
        ),
        (
            "okta.admins.granted_recently",
            Box::new(|o| {
                o.roles.retain(|(_, a, _)| a != "admin1");
                o.roles.push((
                    AssigneeType::User,
                    "admin1".into(),
                    role("ra3", "ORG_ADMIN", &ago(1)),
                ));
            }),
        ),
        (
            "okta.admins.sign_in_through_proxy",
            Box::new(|o| {
                let mut e = event("e-proxy", 2, "user.session.start", "admin1", json!([]));
                e["securityContext"]["isProxy"] = true.into();
                o.log.push(e);
            }),
        ),
        (
            "okta.users.inactive",
            Box::new(|o| {
                o.user_mut("u3")["lastLogin"] = ago(100).into();
            }),
        ),
        (
            "okta.users.never_signed_in",
            Box::new(|o| {
                let u = o.user_mut("u3");
                u["lastLogin"] = Value::Null;
                u["created"] = ago(60).into();
            }),
        ),
        (
            "okta.users.without_mfa",
            Box::new(|o| {
                o.factors.remove("u3");
            }),
        ),
        (
            "okta.users.only_weak_factors",
            Box::new(|o| {
                o.factors.insert("u3".into(), vec![factor("u3-s", "sms")]);
            }),
        ),
        (
            "okta.users.suspended_with_access",
            Box::new(|o| {
                o.user_mut("u3")["status"] = "SUSPENDED".into();
            }),
        ),
        (
            "okta.users.locked_out",
            Box::new(|o| {
                o.user_mut("u3")["status"] = "LOCKED_OUT".into();
            }),
        ),
        (
            "okta.apps.direct_assignments",
            Box::new(|o| {
                o.app_users.get_mut("0oawiki").unwrap()[2]["scope"] = "USER".into();
            }),
        ),
        (
            "okta.apps.unassigned",
            Box::new(|o| {
                o.apps.insert(
                    "0oaidle".into(),
                    json!({"id": "0oaidle", "name": "idle", "label": "Idle",
                "status": "ACTIVE", "signOnMode": "SAML_2_0", "created": ago(400)}),
                );
            }),
        ),
        (
            "okta.apps.unused",
            Box::new(|o| {
                o.log.retain(|e| e["uuid"] != "e-sso");
            }),
        ),
        (
            "okta.apps.password_vaulting",
            Box::new(|o| {
                o.apps.get_mut("0oawiki").unwrap()["signOnMode"] = "BROWSER_PLUGIN".into();
            }),
        ),
        (
            "okta.apps.provisioning_without_deprovisioning",
            Box::new(|o| {
                o.apps.get_mut("0oawiki").unwrap()["features"] = json!(["PUSH_NEW_USERS"]);
            }),
        ),
        (
            "okta.apps.assigned_to_everyone",
            Box::new(|o| {
                o.app_groups
                    .get_mut("0oawiki")
                    .unwrap()
                    .push(json!({"id": "00geveryone", "priority": 1}));
            }),
        ),
        (
            "okta.groups.grant_admin_roles",
            Box::new(|o| {
                o.roles.push((
                    AssigneeType::Group,
                    "00geng".into(),
                    role("ra-eng", "HELP_DESK_ADMIN", &ago(400)),
                ));
            }),
        ),
        (
            "okta.groups.admin_group_fed_by_rule",
            Box::new(|o| {
                o.group("00gops", "Ops admins", "OKTA_GROUP", &["u2"]);
                o.roles.push((
                    AssigneeType::Group,
                    "00gops".into(),
                    role("ra-ops", "ORG_ADMIN", &ago(400)),
                ));
                o.rules.push(
                    json!({"id": "0props", "name": "Ops by department", "status": "ACTIVE",
                "type": "group_rule", "created": ago(400), "lastUpdated": ago(400),
                "conditions": {"expression": {"value": "user.department==\"Ops\"",
                                              "type": "urn:okta:expression:1.0"}},
                "actions": {"assignUserToGroups": {"groupIds": ["00gops"]}}}),
                );
            }),
        ),
        (
            "okta.groups.empty_with_entitlements",
            Box::new(|o| {
                o.group("00gempty", "Empty", "OKTA_GROUP", &[]);
                o.app_groups
                    .get_mut("0oawiki")
                    .unwrap()
                    .push(json!({"id": "00gempty", "priority": 2}));
            }),
        ),
        (
            "okta.groups.orphaned",
            Box::new(|o| {
                o.group("00gnothing", "Nothing", "OKTA_GROUP", &[]);
            }),
        ),
        (
            "okta.idps.auto_provisioning",
            Box::new(|o| {
                o.idps.push(
                    json!({"id": "0oaidp", "name": "Partner", "type": "SAML2", "status": "ACTIVE",
                "created": ago(400), "policy": {"provisioning": {"action": "AUTO"},
                                                 "accountLink": {"action": "AUTO"}}}),
                );
            }),
        ),
        (
            "okta.idps.created_recently",
            Box::new(|o| {
                o.idps.push(json!({"id": "0oaidp2", "name": "New partner", "type": "OIDC", "status": "ACTIVE",
                "created": ago(2), "policy": {"provisioning": {"action": "DISABLED"},
                                               "accountLink": {"action": "DISABLED"}}}));
            }),
        ),
        (
            "okta.log.not_kept",
            Box::new(|o| {
                o.log.clear();
            }),
        ),
    ];
    cases
        .drain(..)
        .map(|(id, make)| {
            let mut org = Org::safe();
            make(&mut org);
            (id, org)
        })
        .collect()
}

async fn mirror(
    postgres: bool,
    test: &str,
) -> Option<(Mirror, Option<tempfile::TempDir>, Option<PgDatabase>)> {
    if postgres {
        let db = PgDatabase::create(test).await?;
        let store = oktasync_store::open_writer(&DbLocation::parse(&db.url).unwrap())
            .await
            .unwrap();
        Some((store, None, Some(db)))
    } else {
        let dir = tempfile::tempdir().unwrap();
        let store = oktasync_store::open_writer(&DbLocation::Sqlite(dir.path().join("m.db")))
            .await
            .unwrap();
        Some((store, Some(dir), None))
    }
}

async fn every_check_passes_on_a_safe_org_and_fails_on_one_built_to_fail_it(postgres: bool) {
    let Some((store, _dir, _db)) = mirror(postgres, "posture_every_check").await else {
        return;
    };
    let posture = Posture::builtin();
    let safe = Org::safe().save(&store, "safe").await;
    let report = posture.run(&store, safe, now(), false).await.unwrap();
    let not_passing: Vec<String> = report
        .checks
        .iter()
        .filter(|c| c.status != CheckStatus::Pass)
        .map(|c| format!("{} {:?} {:?}", c.id, c.status, c.findings))
        .collect();
    assert!(
        not_passing.is_empty(),
        "the safe org fails: {not_passing:#?}"
    );

    let cases = failing_orgs();
    let mut covered: Vec<&str> = cases.iter().map(|(id, _)| *id).collect();
    covered.sort();
    let mut all: Vec<&str> = posture.checks().iter().map(|c| c.id).collect();
    all.sort();
    assert_eq!(covered, all, "every check has an org built to fail it");
    assert!(all.len() >= 30, "{} checks", all.len());
    for (i, (id, org)) in cases.iter().enumerate() {
        let org_id = org.save(&store, &format!("fails{i}")).await;
        let report = posture.run(&store, org_id, now(), false).await.unwrap();
        let result = report.checks.iter().find(|c| c.id == *id).unwrap();
        assert_eq!(
            result.status,
            CheckStatus::Fail,
            "{id} does not fail on the org built to fail it"
        );
        assert!(
            !result.findings.is_empty() && result.findings.iter().all(|f| f.subject != "-"),
            "{id}: {:?}",
            result.findings
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_on_sqlite() {
    every_check_passes_on_a_safe_org_and_fails_on_one_built_to_fail_it(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_check_on_postgres() {
    every_check_passes_on_a_safe_org_and_fails_on_one_built_to_fail_it(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn findings_are_kept_new_seen_resolved_and_back_again() {
    let Some((store, _dir, _db)) = mirror(false, "posture_history").await else {
        return;
    };
    let posture = Posture::builtin();
    let mut org = Org::safe();
    org.user_mut("u3")["lastLogin"] = ago(100).into();
    let id = org.save(&store, "acme").await;

    let first = posture.run(&store, id, now(), true).await.unwrap();
    let inactive = first
        .checks
        .iter()
        .find(|c| c.id == "okta.users.inactive")
        .unwrap();
    assert_eq!(inactive.findings.len(), 1);
    assert!(inactive.findings[0].new, "first seen in this run");

    let later = now() + Duration::hours(1);
    let second = posture.run(&store, id, later, true).await.unwrap();
    let inactive = second
        .checks
        .iter()
        .find(|c| c.id == "okta.users.inactive")
        .unwrap();
    assert!(!inactive.findings[0].new, "seen again, not new");
    let kept = store.posture_findings(id, false).await.unwrap();
    let f = kept
        .iter()
        .find(|f| f.check_id == "okta.users.inactive")
        .unwrap();
    assert_eq!(f.subject, "u3@example.com");
    assert!(f.first_seen < f.last_seen);

    // u3 signs in: the finding is resolved by the next run.
    org.user_mut("u3")["lastLogin"] = ago(0).into();
    org.save(&store, "acme").await;
    let third = posture
        .run(&store, id, later + Duration::hours(1), true)
        .await
        .unwrap();
    let inactive = third
        .checks
        .iter()
        .find(|c| c.id == "okta.users.inactive")
        .unwrap();
    assert_eq!(inactive.status, CheckStatus::Pass);
    assert_eq!(inactive.resolved, ["u3@example.com"]);
    assert!(
        store
            .posture_findings(id, false)
            .await
            .unwrap()
            .iter()
            .all(|f| f.check_id != "okta.users.inactive")
    );
    let all = store.posture_findings(id, true).await.unwrap();
    assert!(
        all.iter()
            .any(|f| f.check_id == "okta.users.inactive" && f.resolved_at.is_some())
    );
    let run = store.last_posture_run(id).await.unwrap().unwrap();
    assert_eq!((run.resolved, run.new_findings), (1, 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_without_their_data_say_why_and_settings_change_thresholds() {
    let Some((store, _dir, _db)) = mirror(false, "posture_applies").await else {
        return;
    };
    let mut org = Org::safe();
    org.factors.clear();
    org.log.retain(|e| e["uuid"] != "e-old");
    let id = org.save(&store, "bare").await;
    let report = Posture::builtin()
        .run(&store, id, now(), true)
        .await
        .unwrap();
    for check in [
        "okta.admins.without_mfa",
        "okta.users.without_mfa",
        "okta.apps.unused",
    ] {
        let c = report.checks.iter().find(|c| c.id == check).unwrap();
        assert_eq!(c.status, CheckStatus::NotApplicable, "{check}");
        assert!(c.reason.as_deref().is_some_and(|r| !r.is_empty()));
    }

    let strict = Posture::from_settings(&PostureSettings {
        params: BTreeMap::from([(
            "okta.users.inactive".to_string(),
            BTreeMap::from([("inactive_days".to_string(), 0.5)]),
        )]),
        disabled: vec!["okta.apps.unused".into()],
    })
    .unwrap();
    let report = strict.run(&store, id, now(), false).await.unwrap();
    let inactive = report
        .checks
        .iter()
        .find(|c| c.id == "okta.users.inactive")
        .unwrap();
    assert_eq!(inactive.findings.len(), 6, "every user signed in a day ago");
    assert!(report.checks.iter().all(|c| c.id != "okta.apps.unused"));
    for (settings, says) in [
        (
            PostureSettings {
                disabled: vec!["okta.nope".into()],
                ..Default::default()
            },
            "okta.nope",
        ),
        (
            PostureSettings {
                params: BTreeMap::from([(
                    "okta.users.inactive".to_string(),
                    BTreeMap::from([("days".to_string(), 1.0)]),
                )]),
                ..Default::default()
            },
            "inactive_days",
        ),
    ] {
        let err = Posture::from_settings(&settings).unwrap_err().to_string();
        assert!(err.contains(says), "{err}");
    }

    // SARIF: a rule per check, a result per finding, with the subject as its location.
    let sarif = sarif::to_sarif(&report, "https://bare.okta.com");
    assert_eq!(sarif["version"], "2.1.0");
    let run = &sarif["runs"][0];
    assert_eq!(
        run["tool"]["driver"]["rules"].as_array().unwrap().len(),
        report.checks.len()
    );
    let results = run["results"].as_array().unwrap();
    let failing: usize = report
        .checks
        .iter()
        .filter(|c| c.status == CheckStatus::Fail)
        .map(|c| c.findings.len())
        .sum();
    assert_eq!(results.len(), failing);
    assert!(results.iter().any(|r| r["ruleId"] == "okta.users.inactive"
        && r["locations"][0]["logicalLocations"][0]["name"] == "u1@example.com"
        && r["level"] == "warning"));
}
