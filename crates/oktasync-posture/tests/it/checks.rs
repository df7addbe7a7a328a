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
    /// The security configuration: policies by id, their rules by policy id, then the
    /// org-wide lists by id.
    policies: BTreeMap<String, Value>,
    policy_rules: BTreeMap<String, Vec<Value>>,
    authenticators: BTreeMap<String, Value>,
    zones: BTreeMap<String, Value>,
    api_tokens: BTreeMap<String, Value>,
    log_streams: BTreeMap<String, Value>,
    threat_insight: Option<Value>,
    app_grants: BTreeMap<String, Vec<Value>>,
    /// The resources the full sync read (its `sync.resources` checkpoint), if recorded.
    synced: Option<Vec<&'static str>>,
}

/// Every resource a default full sync reads, as the engine names them.
const ALL_RESOURCES: [&str; 18] = [
    "users",
    "groups",
    "memberships",
    "apps",
    "app_users",
    "app_groups",
    "roles",
    "idps",
    "factors",
    "group_rules",
    "policies",
    "policy_rules",
    "authenticators",
    "network_zones",
    "api_tokens",
    "log_streams",
    "threat_insight",
    "app_grants",
];

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

/// A global session policy rule.
fn session_rule(
    id: &str,
    name: &str,
    priority: i64,
    access: &str,
    idle: i64,
    lifetime: i64,
    persistent: bool,
) -> Value {
    json!({"id": id, "type": "SIGN_ON", "name": name, "status": "ACTIVE", "priority": priority,
           "system": false, "created": ago(400), "lastUpdated": ago(100),
           "conditions": {"people": {"users": {"exclude": []}},
                          "network": {"connection": "ANYWHERE"}},
           "actions": {"signon": {"access": access, "requireFactor": true,
                                  "factorPromptMode": "ALWAYS",
                                  "rememberDeviceByDefault": false,
                                  "session": {"maxSessionIdleMinutes": idle,
                                              "maxSessionLifetimeMinutes": lifetime,
                                              "usePersistentCookie": persistent}}}})
}

/// An app sign-in policy rule.
fn app_rule(
    id: &str,
    name: &str,
    priority: i64,
    access: &str,
    factor_mode: &str,
    constraints: Value,
) -> Value {
    json!({"id": id, "type": "ACCESS_POLICY", "name": name, "status": "ACTIVE",
           "priority": priority, "system": priority == 99, "created": ago(400),
           "lastUpdated": ago(100),
           "conditions": {"people": {"users": {"exclude": []}},
                          "network": {"connection": "ANYWHERE"}},
           "actions": {"appSignOn": {"access": access, "verificationMethod": {
               "type": "ASSURANCE", "factorMode": factor_mode, "reauthenticateIn": "PT2H",
               "constraints": constraints}}}})
}

/// A possession constraint, phishing resistant `REQUIRED` or `OPTIONAL`.
fn possession(phishing_resistant: &str) -> Value {
    json!([{"possession": {"required": true, "deviceBound": "REQUIRED",
                           "phishingResistant": phishing_resistant,
                           "userPresence": "REQUIRED"}}])
}

/// An Okta API scope granted to an app.
fn grant(id: &str, app: &str, scope: &str) -> Value {
    json!({"id": id, "status": "ACTIVE", "created": ago(200), "lastUpdated": ago(200),
           "createdBy": {"id": "sa1", "type": "User"}, "issuer": "https://safe.okta.com",
           "clientId": app, "scopeId": scope, "source": "ADMIN"})
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
            policies: BTreeMap::new(),
            policy_rules: BTreeMap::new(),
            authenticators: BTreeMap::new(),
            zones: BTreeMap::new(),
            api_tokens: BTreeMap::new(),
            log_streams: BTreeMap::new(),
            threat_insight: None,
            app_grants: BTreeMap::new(),
            synced: Some(ALL_RESOURCES.to_vec()),
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
        org.safe_security_configuration();
        org
    }

    /// A configuration every check of it passes: STIG password and session settings (and a
    /// weak policy of directory users, which Okta does not enforce, and a weak rule that
    /// denies access), an Admin Console policy requiring phishing-resistant MFA, ThreatInsight
    /// blocking, anonymizers blocked, an active log stream, an org admin's API token limited
    /// to a zone, a web app granted a read scope, strong authenticators (Phone for recovery
    /// only).
    fn safe_security_configuration(&mut self) {
        let policy = |id: &str, kind: &str, name: &str, priority: i64, extra: Value| {
            let mut p = json!({"id": id, "type": kind, "name": name, "status": "ACTIVE",
                               "priority": priority, "system": false, "created": ago(400),
                               "lastUpdated": ago(100), "conditions": null});
            for (k, v) in extra.as_object().unwrap() {
                p[k] = v.clone();
            }
            p
        };
        let password = |provider: &str, min_length: i64| {
            json!({
                "conditions": {"people": {"groups": {"include": ["00geveryone"]}},
                               "authProvider": {"provider": provider}},
                "settings": {"password": {
                    "complexity": {"minLength": min_length, "minLowerCase": 1, "minUpperCase": 1,
                                   "minNumber": 1, "minSymbol": 1, "excludeUsername": true,
                                   "excludeAttributes": [],
                                   "dictionary": {"common": {"exclude": true}}},
                    "age": {"maxAgeDays": 60, "expireWarnDays": 7, "minAgeMinutes": 1440,
                            "historyCount": 24},
                    "lockout": {"maxAttempts": 3, "autoUnlockMinutes": 0,
                                "userLockoutNotificationChannels": ["EMAIL"],
                                "showLockoutFailures": false}}}
            })
        };
        self.policies.insert(
            "00ppw".into(),
            policy(
                "00ppw",
                "PASSWORD",
                "Default Policy",
                2,
                password("OKTA", 15),
            ),
        );
        self.policies.insert(
            "00ppwad".into(),
            policy(
                "00ppwad",
                "PASSWORD",
                "Directory users",
                1,
                password("ACTIVE_DIRECTORY", 8),
            ),
        );
        self.policies.insert(
            "00psession".into(),
            policy("00psession", "OKTA_SIGN_ON", "Default Policy", 1, json!({})),
        );
        self.policy_rules.insert(
            "00psession".into(),
            vec![
                session_rule("0prlegacy", "Deny legacy", 1, "DENY", 120, 0, false),
                session_rule("0prdefault", "Default Rule", 2, "ALLOW", 15, 720, false),
            ],
        );
        self.policies.insert(
            "rstconsole".into(),
            policy(
                "rstconsole",
                "ACCESS_POLICY",
                "Okta Admin Console",
                2,
                json!({"system": true}),
            ),
        );
        self.policy_rules.insert(
            "rstconsole".into(),
            vec![
                app_rule(
                    "rulconsole",
                    "Admins",
                    0,
                    "ALLOW",
                    "2FA",
                    possession("REQUIRED"),
                ),
                app_rule(
                    "rulcatchall",
                    "Catch-all Rule",
                    99,
                    "DENY",
                    "1FA",
                    json!([]),
                ),
            ],
        );
        self.policies.insert(
            "rstdefault".into(),
            policy(
                "rstdefault",
                "ACCESS_POLICY",
                "Default Policy",
                1,
                json!({}),
            ),
        );
        self.policy_rules.insert(
            "rstdefault".into(),
            vec![app_rule(
                "rulappdefault",
                "Catch-all Rule",
                99,
                "ALLOW",
                "1FA",
                json!([]),
            )],
        );
        for (id, key, name, status, settings) in [
            ("autpw", "okta_password", "Password", "ACTIVE", Value::Null),
            (
                "autemail",
                "okta_email",
                "Email",
                "ACTIVE",
                json!({"allowedFor": "any"}),
            ),
            (
                "autov",
                "okta_verify",
                "Okta Verify",
                "ACTIVE",
                json!({"compliance": {"fips": "REQUIRED"}, "userVerification": "REQUIRED"}),
            ),
            (
                "autphone",
                "phone_number",
                "Phone",
                "ACTIVE",
                json!({"allowedFor": "recovery"}),
            ),
            (
                "autquestion",
                "security_question",
                "Security Question",
                "INACTIVE",
                json!({"allowedFor": "any"}),
            ),
            (
                "autwebauthn",
                "webauthn",
                "Security Key or Biometric",
                "ACTIVE",
                Value::Null,
            ),
        ] {
            let mut a = json!({"id": id, "key": key, "type": key, "name": name,
                               "status": status, "created": ago(400), "lastUpdated": ago(100)});
            if !settings.is_null() {
                a["settings"] = settings;
            }
            self.authenticators.insert(id.into(), a);
        }
        self.zones.insert(
            "nzoanon".into(),
            json!({"id": "nzoanon", "type": "DYNAMIC_V2", "name": "DefaultEnhancedDynamicZone",
                   "status": "ACTIVE", "usage": "BLOCKLIST", "system": true,
                   "created": ago(400), "lastUpdated": ago(100),
                   "locations": {"include": [], "exclude": []},
                   "asns": {"include": [], "exclude": []},
                   "ipServiceCategories": {"include": ["ALL_ANONYMIZERS"], "exclude": []}}),
        );
        self.zones.insert(
            "nzooffice".into(),
            json!({"id": "nzooffice", "type": "IP", "name": "Corporate offices",
                   "status": "ACTIVE", "usage": "POLICY", "system": false,
                   "created": ago(400), "lastUpdated": ago(100),
                   "gateways": [{"type": "CIDR", "value": "198.51.100.0/24"}], "proxies": null}),
        );
        self.threat_insight = Some(json!({"action": "block", "excludeZones": [],
                                          "created": ago(400), "lastUpdated": ago(100)}));
        self.log_streams.insert(
            "0oastream".into(),
            json!({"id": "0oastream", "type": "splunk_cloud_logstreaming", "name": "Splunk",
                   "status": "ACTIVE", "created": ago(300), "lastUpdated": ago(100),
                   "settings": {"edition": "aws", "host": "example.splunkcloud.com"}}),
        );
        self.api_tokens.insert(
            "00Treports".into(),
            json!({"id": "00Treports", "name": "Help desk reports", "userId": "admin1",
                   "clientName": "Okta API", "tokenWindow": "P30D", "created": ago(200),
                   "lastUpdated": ago(3), "expiresAt": ago(-27),
                   "network": {"connection": "ZONE", "include": ["nzooffice"], "exclude": []}}),
        );
        self.apps.insert(
            "0oaportal".into(),
            json!({"id": "0oaportal", "name": "oidc_client", "label": "Portal",
                   "status": "ACTIVE", "signOnMode": "OPENID_CONNECT", "created": ago(400),
                   "settings": {"oauthClient": {"application_type": "web",
                                                "grant_types": ["authorization_code"]}}}),
        );
        self.app_groups.insert(
            "0oaportal".into(),
            vec![json!({"id": "00geng", "priority": 0})],
        );
        self.log.push(event(
            "e-sso-portal",
            2,
            "user.authentication.sso",
            "u2",
            json!([{"id": "0oaportal", "type": "AppInstance", "alternateId": "Portal"}]),
        ));
        self.app_grants.insert(
            "0oaportal".into(),
            vec![grant("oagportal", "0oaportal", "okta.users.read")],
        );
        // A service app reading the log: no assignees (it acts as itself), no admin scope.
        self.apps.insert(
            "0oasiem".into(),
            json!({"id": "0oasiem", "name": "oidc_client", "label": "SIEM Log Collector",
                   "status": "ACTIVE", "signOnMode": "OPENID_CONNECT", "created": ago(300),
                   "settings": {"oauthClient": {"application_type": "service",
                                                "grant_types": ["client_credentials"]}}}),
        );
        self.app_grants.insert(
            "0oasiem".into(),
            vec![grant("oagsiem", "0oasiem", "okta.logs.read")],
        );
    }

    /// Removes the whole security configuration, and the record of having read it.
    fn without_security_configuration(&mut self) {
        self.policies.clear();
        self.policy_rules.clear();
        self.authenticators.clear();
        self.zones.clear();
        self.api_tokens.clear();
        self.log_streams.clear();
        self.threat_insight = None;
        self.app_grants.clear();
        // Without its grants, nothing says the service app acts as itself rather than for
        // assignees it lacks: it goes too.
        self.apps.remove("0oasiem");
        self.synced = None;
    }

    fn policy_mut(&mut self, id: &str) -> &mut Value {
        self.policies.get_mut(id).expect("a policy of the org")
    }

    fn rule_mut(&mut self, policy: &str, id: &str) -> &mut Value {
        self.policy_rules
            .get_mut(policy)
            .and_then(|rules| rules.iter_mut().find(|r| r["id"] == id))
            .expect("a rule of the policy")
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
            Batch::policies(self.policies.values().cloned().collect()),
            Batch::authenticators(self.authenticators.values().cloned().collect()),
            Batch::network_zones(self.zones.values().cloned().collect()),
            Batch::okta_api_tokens(self.api_tokens.values().cloned().collect()),
            Batch::log_streams(self.log_streams.values().cloned().collect()),
        ];
        if let Some(setting) = &self.threat_insight {
            b.push(Batch::threat_insight(setting.clone()));
        }
        for (policy, rules) in &self.policy_rules {
            b.push(Batch::policy_rules(policy.clone(), rules.clone()));
        }
        for (app, grants) in &self.app_grants {
            b.push(Batch::app_grants(app.clone(), grants.clone()));
        }
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
        if let Some(resources) = &self.synced {
            // As the engine records what a full sync read.
            session.set_checkpoint("sync.resources", resources.join(","));
        }
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
        (
            "okta.policies.weak_password",
            Box::new(|o| {
                let c = &mut o.policy_mut("00ppw")["settings"]["password"]["complexity"];
                c["minLength"] = 8.into();
                c["minSymbol"] = 0.into();
                c["dictionary"]["common"]["exclude"] = false.into();
            }),
        ),
        (
            "okta.policies.password_age",
            Box::new(|o| {
                o.policy_mut("00ppw")["settings"]["password"]["age"]["maxAgeDays"] = 0.into();
            }),
        ),
        (
            "okta.policies.account_lockout",
            Box::new(|o| {
                o.policy_mut("00ppw")["settings"]["password"]["lockout"]["maxAttempts"] = 10.into();
            }),
        ),
        (
            "okta.policies.weak_session",
            Box::new(|o| {
                let s = &mut o.rule_mut("00psession", "0prdefault")["actions"]["signon"]["session"];
                s["maxSessionIdleMinutes"] = 120.into();
                s["usePersistentCookie"] = true.into();
            }),
        ),
        (
            "okta.admin_console.single_factor",
            Box::new(|o| {
                o.policy_rules.get_mut("rstconsole").unwrap().push(app_rule(
                    "caloffice",
                    "Admins on corporate network",
                    1,
                    "ALLOW",
                    "1FA",
                    json!([{"knowledge": {"required": true, "types": ["PASSWORD"]}}]),
                ));
            }),
        ),
        (
            "okta.admin_console.not_phishing_resistant",
            Box::new(|o| {
                o.rule_mut("rstconsole", "rulconsole")["actions"]["appSignOn"]["verificationMethod"]
                    ["constraints"] = possession("OPTIONAL");
            }),
        ),
        (
            "okta.threat_insight.not_blocking",
            Box::new(|o| {
                o.threat_insight.as_mut().unwrap()["action"] = "audit".into();
            }),
        ),
        (
            "okta.zones.no_anonymizer_block",
            Box::new(|o| {
                o.zones.get_mut("nzoanon").unwrap()["status"] = "INACTIVE".into();
            }),
        ),
        (
            "okta.log.not_streamed",
            Box::new(|o| {
                o.log_streams.get_mut("0oastream").unwrap()["status"] = "INACTIVE".into();
            }),
        ),
        (
            "okta.api_tokens.usable_anywhere",
            Box::new(|o| {
                o.api_tokens.get_mut("00Treports").unwrap()["network"] =
                    json!({"connection": "ANYWHERE"});
            }),
        ),
        (
            "okta.api_tokens.owned_by_super_admin",
            Box::new(|o| {
                o.api_tokens.get_mut("00Treports").unwrap()["userId"] = "sa1".into();
            }),
        ),
        (
            "okta.api_tokens.owner_not_active",
            Box::new(|o| {
                // Its owner left: not in the mirror any more.
                o.api_tokens.get_mut("00Treports").unwrap()["userId"] = "00uformer".into();
            }),
        ),
        (
            "okta.apps.admin_scopes_granted",
            Box::new(|o| {
                o.apps.insert(
                    "0oaprov".into(),
                    json!({"id": "0oaprov", "name": "oidc_client",
                           "label": "Provisioning Automation", "status": "ACTIVE",
                           "signOnMode": "OPENID_CONNECT", "created": ago(300),
                           "settings": {"oauthClient": {"application_type": "service",
                                                        "grant_types": ["client_credentials"]}}}),
                );
                o.app_grants.insert(
                    "0oaprov".into(),
                    vec![
                        grant("oagprov1", "0oaprov", "okta.users.manage"),
                        grant("oagprov2", "0oaprov", "okta.groups.manage"),
                        grant("oagprov3", "0oaprov", "okta.logs.read"),
                    ],
                );
            }),
        ),
        (
            "okta.authenticators.weak_enabled",
            Box::new(|o| {
                o.authenticators.get_mut("autphone").unwrap()["settings"]["allowedFor"] =
                    "any".into();
            }),
        ),
        (
            "okta.authenticators.okta_verify_not_fips",
            Box::new(|o| {
                o.authenticators.get_mut("autov").unwrap()["settings"]["compliance"]["fips"] =
                    "OPTIONAL".into();
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
    assert!(all.len() >= 45, "{} checks", all.len());
    let evidence = expected_evidence();
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
        // The security configuration's checks name what fails, with the same evidence on
        // both backends.
        if let Some((subject, key, value)) = evidence.get(id) {
            assert_eq!(result.findings.len(), 1, "{id}: {:?}", result.findings);
            let finding = &result.findings[0];
            assert_eq!(finding.subject, *subject, "{id}");
            assert_eq!(finding.evidence.get(*key), Some(value), "{id}: {finding:?}");
        }
    }
}

/// For the checks of the security configuration, the one finding each unsafe org makes: its
/// subject and one column of its evidence.
fn expected_evidence() -> BTreeMap<&'static str, (&'static str, &'static str, Value)> {
    BTreeMap::from([
        (
            "okta.policies.weak_password",
            (
                "Default Policy",
                "failing",
                json!("minLength, minSymbol, dictionary.common.exclude"),
            ),
        ),
        (
            "okta.policies.password_age",
            ("Default Policy", "failing", json!("maxAgeDays")),
        ),
        (
            "okta.policies.account_lockout",
            ("Default Policy", "lockout_max_attempts", json!(10)),
        ),
        (
            "okta.policies.weak_session",
            (
                "Default Policy / Default Rule",
                "failing",
                json!("maxSessionIdleMinutes, usePersistentCookie"),
            ),
        ),
        (
            "okta.admin_console.single_factor",
            (
                "Okta Admin Console / Admins on corporate network",
                "factor_mode",
                json!("1FA"),
            ),
        ),
        (
            "okta.admin_console.not_phishing_resistant",
            ("Okta Admin Console / Admins", "factor_mode", json!("2FA")),
        ),
        (
            "okta.threat_insight.not_blocking",
            ("ThreatInsight", "action", json!("audit")),
        ),
        (
            "okta.zones.no_anonymizer_block",
            (
                "org",
                "inactive_blocklist_zone",
                json!("DefaultEnhancedDynamicZone"),
            ),
        ),
        ("okta.log.not_streamed", ("org", "log_streams", json!(1))),
        (
            "okta.api_tokens.usable_anywhere",
            (
                "Help desk reports (00Treports)",
                "network_connection",
                json!("ANYWHERE"),
            ),
        ),
        (
            "okta.api_tokens.owned_by_super_admin",
            (
                "Help desk reports (00Treports)",
                "owner_login",
                json!("sa1@example.com"),
            ),
        ),
        (
            "okta.api_tokens.owner_not_active",
            (
                "Help desk reports (00Treports)",
                "owner_status",
                Value::Null,
            ),
        ),
        (
            "okta.apps.admin_scopes_granted",
            ("Provisioning Automation", "admin_scopes", json!(2)),
        ),
        (
            "okta.authenticators.weak_enabled",
            ("Phone", "allowed_for", json!("any")),
        ),
        (
            "okta.authenticators.okta_verify_not_fips",
            ("Okta Verify", "fips", json!("OPTIONAL")),
        ),
    ])
}

/// The checks of the security configuration, and the Okta scope each one's resource needs.
const SECURITY_CHECKS: [(&str, &str); 15] = [
    ("okta.policies.weak_password", "okta.policies.read"),
    ("okta.policies.password_age", "okta.policies.read"),
    ("okta.policies.account_lockout", "okta.policies.read"),
    ("okta.policies.weak_session", "okta.policies.read"),
    ("okta.admin_console.single_factor", "okta.policies.read"),
    (
        "okta.admin_console.not_phishing_resistant",
        "okta.policies.read",
    ),
    (
        "okta.threat_insight.not_blocking",
        "okta.threatInsights.read",
    ),
    ("okta.zones.no_anonymizer_block", "okta.networkZones.read"),
    ("okta.log.not_streamed", "okta.logStreams.read"),
    ("okta.api_tokens.usable_anywhere", "okta.apiTokens.read"),
    (
        "okta.api_tokens.owned_by_super_admin",
        "okta.apiTokens.read",
    ),
    ("okta.api_tokens.owner_not_active", "okta.apiTokens.read"),
    ("okta.apps.admin_scopes_granted", "okta.appGrants.read"),
    (
        "okta.authenticators.weak_enabled",
        "okta.authenticators.read",
    ),
    (
        "okta.authenticators.okta_verify_not_fips",
        "okta.authenticators.read",
    ),
];

/// A mirror that never read the security configuration cannot judge it: each of its checks
/// says which resource to sync and the scope it needs. Once a full sync read the resources,
/// an org with none of a list (no log stream, no API token, no grant) is judged: no stream
/// fails, no token passes; the Admin Console checks still need the Admin Console's policy.
async fn security_checks_without_their_data_say_why(postgres: bool) {
    let Some((store, _dir, _db)) = mirror(postgres, "posture_security_applies").await else {
        return;
    };
    let posture = Posture::builtin();
    let mut org = Org::safe();
    org.without_security_configuration();
    let unread = org.save(&store, "unread").await;
    let report = posture.run(&store, unread, now(), false).await.unwrap();
    let result = |report: &oktasync_posture::PostureReport, id: &str| {
        report.checks.iter().find(|c| c.id == id).cloned().unwrap()
    };
    for (id, scope) in SECURITY_CHECKS {
        let c = result(&report, id);
        assert_eq!(c.status, CheckStatus::NotApplicable, "{id}");
        assert!(
            c.reason.as_deref().is_some_and(|r| r.contains(scope)),
            "{id}: {:?}",
            c.reason
        );
    }
    // Everything else still passes.
    assert!(
        report
            .checks
            .iter()
            .filter(|c| !SECURITY_CHECKS.iter().any(|(id, _)| *id == c.id))
            .all(|c| c.status == CheckStatus::Pass)
    );

    org.synced = Some(ALL_RESOURCES.to_vec());
    let read = org.save(&store, "read").await;
    let report = posture.run(&store, read, now(), false).await.unwrap();
    for (id, status) in [
        ("okta.log.not_streamed", CheckStatus::Fail),
        ("okta.api_tokens.usable_anywhere", CheckStatus::Pass),
        ("okta.apps.admin_scopes_granted", CheckStatus::Pass),
        ("okta.policies.weak_password", CheckStatus::Pass),
        (
            "okta.admin_console.single_factor",
            CheckStatus::NotApplicable,
        ),
    ] {
        assert_eq!(result(&report, id).status, status, "{id}");
    }
    let console = result(&report, "okta.admin_console.not_phishing_resistant");
    assert!(
        console
            .reason
            .as_deref()
            .is_some_and(|r| r.contains("Okta Admin Console")),
        "{:?}",
        console.reason
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_checks_without_their_data_on_sqlite() {
    security_checks_without_their_data_say_why(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn security_checks_without_their_data_on_postgres() {
    security_checks_without_their_data_say_why(true).await;
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
