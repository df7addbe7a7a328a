//! The org's security configuration: network zones, ThreatInsight, authenticators, policies
//! and their rules, log streams, OAuth service apps and app grants. Drawn from a stream of
//! its own (the org seed xor [`POSTURE_SEED_SALT`]) after everything else, so every object,
//! id and event generated before it is what it was before orgs had a configuration.
//!
//! Every generated org is configured the same way, and on purpose not safely, so that
//! posture checks (DISA Okta IDaaS STIG, `posture.md` §3.2 and §3.3) have findings to make;
//! some settings are safe, so that each check also has something to pass:
//!
//! | what | generated | unsafe because |
//! |---|---|---|
//! | password policy "Default Policy" (Everyone) | `minLength` 8, `minSymbol` 0, `dictionary.common.exclude` false, `maxAgeDays` 0, `minAgeMinutes` 0, `historyCount` 4, `lockout.maxAttempts` 10 | STIG V-273195 (≥15), V-273199 (symbol), V-273208, V-273201 (0 = never expires), V-273200, V-273209 (≥5), V-273189 (≤3) |
//! | password policy "Admins password policy" (the groups holding admin roles) | 15, every class, common passwords excluded, 60 days, 1 day, 24, 3 | safe |
//! | global session policy "Global session policy" (Everyone, priority 1), rule "Everyone" (priority 2) | `maxSessionIdleMinutes` 120, `maxSessionLifetimeMinutes` 1440, `usePersistentCookie` true, `requireFactor` false | STIG V-273186 (≤15), V-273203 (≤18 h is met, HealthInsight's 2 h is not), V-273206 |
//! | same policy, rule "Admins" (priority 1, the admin groups) | 15, 720, false, MFA every sign-in | safe |
//! | global session "Default Policy" "Default Rule" | Okta's defaults: 120, 0 (no limit), false | V-273186, V-273203 |
//! | app sign-in policy "Okta Admin Console", rule "Admins on corporate network" (priority 0, network zone "Corporate offices") | `factorMode` 1FA, password only | STIG V-273193 (HIGH) |
//! | same policy, "Catch-all Rule" | 2FA, possession `phishingResistant` OPTIONAL | STIG V-273191 |
//! | app sign-in policy "Okta Dashboard", "Catch-all Rule" | 2FA, possession `phishingResistant` REQUIRED | safe (V-273190, V-273194) |
//! | authenticator Okta Verify | `compliance.fips` OPTIONAL | STIG V-273205 |
//! | authenticators Phone (SMS) and Security Question | ACTIVE, allowed for authentication | weak factors (HealthInsight) |
//! | authenticator Smart Card | INACTIVE | STIG V-273204 |
//! | network zone DefaultEnhancedDynamicZone (BLOCKLIST of `ALL_ANONYMIZERS`) | INACTIVE, and no other anonymizer zone | STIG V-279692, check 31 |
//! | network zone "Corporate offices" | IP zone of the office egress networks the activity generator signs in from (`places::office_cidrs`) | (used by the Admin Console rule above) |
//! | ThreatInsight | `action` audit | check 30 (not `block`) |
//! | log streams | one Splunk Cloud stream, INACTIVE | STIG V-273202 (HIGH): nothing is streamed |
//! | service app "Provisioning Automation" (see below) | grants `okta.users.manage`, `okta.groups.manage` | check 17: a service app holding admin scopes |
//! | service app "SIEM Log Collector" | grant `okta.logs.read` | safe |
//! | service app "Access Review Bot" (orgs of 100 users or more) | `okta.users.read`, `okta.groups.read`, `okta.apps.read` | safe |
//! | every OIDC app of the org (`Customer Portal`, `Analytics Dashboard`, … in orgs with 18 apps or more) | grant `okta.users.read` | safe |
//! | API token "Terraform Cloud" | owned by the Super Admin, network ANYWHERE | STIG V-279689 (not limited to a zone) and MDI "highly privileged API token" (a Super Admin's) |
//! | API token "Help desk reports" (orgs with an admin holding a lesser role) | owned by that admin, network ZONE including only "Corporate offices" | safe (passes both checks) |
//!
//! The service apps are in `Org::service_apps`, not `Org::apps`, only so that churn,
//! activity and the scenarios, which pick from `Org::apps`, pick what they picked before the
//! service apps existed. The API serves them as Okta does, like any other app:
//! `GET /api/v1/apps` lists them (merged by id), the default export has them under `apps`
//! and their grants under `app_grants`.
//!
//! The two API tokens come on top of the Super Admin's tokens `generate.rs` makes from a
//! stream of its own.

use super::{DAY_MS, add_every_app_fields, time_between};
use crate::model::{
    ApiToken, App, AssigneeType, Authenticator, Grant, Id, LogStream, NetworkZone, Org, Policy,
    PolicyRule, PolicyType, ThreatInsight, TokenNetwork, Ts, UserStatus, client_id_of,
};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::OnceLock;

/// Mixed into the seed of the security configuration's generator.
pub(super) const POSTURE_SEED_SALT: u64 = 0x706f_7374_7572_6521;

/// Builds the whole configuration, in a fixed order of draws.
pub(super) fn generate_posture(org: &mut Org, org_created: Ts, anchor: Ts, rng: &mut ChaCha8Rng) {
    let when = When {
        org_created,
        anchor,
    };
    let corporate = generate_zones(org, &when, rng);
    generate_threat_insight(org, &when, rng);
    generate_authenticators(org, &when, rng);
    generate_policies(org, &when, corporate, rng);
    generate_log_streams(org, &when, rng);
    generate_grants(org, &when, rng);
    generate_api_tokens(org, &when, corporate, rng);
}

/// The two ends of the org's history.
struct When {
    org_created: Ts,
    anchor: Ts,
}

impl When {
    /// When Okta made a built-in object: the `k`th minute of the org's life.
    fn built_in(&self, k: i64) -> Ts {
        self.org_created + k * 60_000
    }

    /// When an admin made a custom object: between a month after the org's creation and two
    /// months before now.
    fn custom(&self, rng: &mut ChaCha8Rng) -> Ts {
        time_between(
            rng,
            self.org_created + 30 * DAY_MS,
            self.anchor - 60 * DAY_MS,
        )
    }

    /// A last change after `created`, at least a day before now.
    fn changed(&self, rng: &mut ChaCha8Rng, created: Ts) -> Ts {
        time_between(rng, created, self.anchor - DAY_MS)
    }
}

// ---- network zones ----

/// The zones every org has, plus "Corporate offices"; returns the latter's id.
fn generate_zones(org: &mut Org, when: &When, rng: &mut ChaCha8Rng) -> Id {
    let no_addresses = || json!({"gateways": null, "proxies": null});
    let gateways: Vec<Value> = crate::places::office_cidrs()
        .into_iter()
        .map(|cidr| json!({"type": "CIDR", "value": cidr}))
        .collect();
    let specs: [(&str, &str, &str, bool, bool, Value); 5] = [
        ("LegacyIpZone", "IP", "POLICY", true, true, no_addresses()),
        (
            "BlockedIpZone",
            "IP",
            "BLOCKLIST",
            true,
            true,
            no_addresses(),
        ),
        (
            "DefaultEnhancedDynamicZone",
            "DYNAMIC_V2",
            "BLOCKLIST",
            false,
            true,
            json!({
                "locations": {"include": [], "exclude": []},
                "asns": {"include": [], "exclude": []},
                "ipServiceCategories": {"include": ["ALL_ANONYMIZERS"], "exclude": []},
            }),
        ),
        (
            "DefaultExemptIpZone",
            "IP",
            "POLICY",
            true,
            true,
            no_addresses(),
        ),
        (
            "Corporate offices",
            "IP",
            "POLICY",
            true,
            false,
            json!({"gateways": gateways, "proxies": null}),
        ),
    ];
    let mut corporate = None;
    for (k, (name, kind, usage, active, system, body)) in specs.into_iter().enumerate() {
        let id = Id::random(b"nzo", rng);
        let created = if system {
            when.built_in(k as i64)
        } else {
            when.custom(rng)
        };
        let last_updated = when.changed(rng, created);
        let Value::Object(body) = body else { continue };
        org.zones.insert(
            id,
            NetworkZone {
                id,
                name: name.to_string(),
                kind,
                usage,
                active,
                system,
                created,
                last_updated,
                body,
                json: OnceLock::new(),
            },
        );
        if !system {
            corporate = Some(id);
        }
    }
    corporate.unwrap_or_else(|| Id::random(b"nzo", rng))
}

// ---- ThreatInsight ----

/// Logging only (`audit`), excluding no zone. Okta's ThreatInsight times carry milliseconds.
fn generate_threat_insight(org: &mut Org, when: &When, rng: &mut ChaCha8Rng) {
    let created = when.built_in(10) + rng.random_range(0..1000);
    let last_updated = when.changed(rng, created) + rng.random_range(0..1000);
    org.threat_insight = ThreatInsight {
        action: "audit",
        exclude_zones: Vec::new(),
        created,
        last_updated,
    };
}

// ---- authenticators ----

fn generate_authenticators(org: &mut Org, when: &When, rng: &mut ChaCha8Rng) {
    let okta_verify_app = Id::random(b"0oa", rng);
    let specs: [(&str, &str, &str, bool, Option<Value>); 7] = [
        (
            "okta_email",
            "email",
            "Email",
            true,
            Some(json!({"allowedFor": "any", "tokenLifetimeInMinutes": 5})),
        ),
        ("okta_password", "password", "Password", true, None),
        (
            "okta_verify",
            "app",
            "Okta Verify",
            true,
            Some(json!({
                "channelBinding": {"style": "NUMBER_CHALLENGE", "required": "HIGH_RISK_ONLY"},
                "compliance": {"fips": "OPTIONAL"},
                "appInstanceId": okta_verify_app,
                "userVerification": "PREFERRED",
            })),
        ),
        (
            "phone_number",
            "phone",
            "Phone",
            true,
            Some(json!({"allowedFor": "any"})),
        ),
        (
            "security_question",
            "security_question",
            "Security Question",
            true,
            Some(json!({"allowedFor": "any"})),
        ),
        (
            "webauthn",
            "security_key",
            "Security Key or Biometric",
            true,
            None,
        ),
        (
            "smart_card_idp",
            "federated",
            "Smart Card Authenticator",
            false,
            None,
        ),
    ];
    for (k, (key, kind, name, active, settings)) in specs.into_iter().enumerate() {
        let id = Id::random(b"aut", rng);
        let created = when.built_in(20 + k as i64);
        let last_updated = when.changed(rng, created);
        org.authenticators.push(Authenticator {
            id,
            key,
            kind,
            name,
            active,
            created,
            last_updated,
            settings,
            json: OnceLock::new(),
        });
    }
}

// ---- policies ----

/// One rule to generate.
struct RuleSpec {
    name: &'static str,
    priority: u32,
    system: bool,
    conditions: Value,
    actions: Value,
}

/// One policy to generate.
struct PolicySpec {
    kind: PolicyType,
    name: &'static str,
    description: &'static str,
    priority: u32,
    system: bool,
    conditions: Value,
    settings: Option<Value>,
    rules: Vec<RuleSpec>,
}

fn add_policy(org: &mut Org, when: &When, rng: &mut ChaCha8Rng, k: i64, spec: PolicySpec) {
    let (policy_prefix, rule_prefix) = spec.kind.id_prefixes();
    let id = Id::random(policy_prefix, rng);
    let created = if spec.system {
        when.built_in(30 + k)
    } else {
        when.custom(rng)
    };
    let last_updated = when.changed(rng, created);
    let mut rules: Vec<PolicyRule> = spec
        .rules
        .into_iter()
        .map(|r| {
            let rule_created = if r.system {
                created
            } else {
                time_between(rng, created, last_updated)
            };
            PolicyRule {
                id: Id::random(rule_prefix, rng),
                name: r.name.to_string(),
                priority: r.priority,
                system: r.system,
                active: true,
                created: rule_created,
                last_updated: when.changed(rng, rule_created),
                conditions: r.conditions,
                actions: r.actions,
                json: OnceLock::new(),
            }
        })
        .collect();
    rules.sort_by_key(|r| r.priority);
    org.policies.insert(
        id,
        Policy {
            id,
            kind: spec.kind,
            name: spec.name.to_string(),
            description: Some(spec.description.to_string()),
            priority: spec.priority,
            system: spec.system,
            active: true,
            created,
            last_updated,
            conditions: spec.conditions,
            settings: spec.settings,
            rules,
            json: OnceLock::new(),
        },
    );
}

/// A global session rule's `actions`.
fn sign_on(require_factor: bool, idle: u32, lifetime: u32, persistent: bool) -> Value {
    json!({"signon": {
        "access": "ALLOW",
        "requireFactor": require_factor,
        "factorPromptMode": "ALWAYS",
        "primaryFactor": if require_factor { "PASSWORD_IDP" } else { "PASSWORD_IDP_ANY_FACTOR" },
        "rememberDeviceByDefault": false,
        "session": {
            "maxSessionIdleMinutes": idle,
            "maxSessionLifetimeMinutes": lifetime,
            "usePersistentCookie": persistent,
        },
    }})
}

/// A global session rule's `conditions` for `groups` (everyone the policy applies to when
/// empty).
fn sign_on_conditions(groups: &[Id]) -> Value {
    let mut people = json!({"users": {"exclude": []}});
    if !groups.is_empty() {
        people["groups"] = json!({"include": groups});
    }
    json!({
        "people": people,
        "network": {"connection": "ANYWHERE"},
        "risk": {"behaviors": []},
        "riskScore": {"level": "ANY"},
        "identityProvider": {"provider": "ANY"},
    })
}

/// A password policy's `settings`.
struct Password {
    min_length: u32,
    min_symbol: u32,
    exclude_common: bool,
    max_age_days: u32,
    expire_warn_days: u32,
    min_age_minutes: u32,
    history: u32,
    max_attempts: u32,
    notify: bool,
}

impl Password {
    fn settings(&self) -> Value {
        json!({
            "password": {
                "complexity": {
                    "minLength": self.min_length,
                    "minLowerCase": 1,
                    "minUpperCase": 1,
                    "minNumber": 1,
                    "minSymbol": self.min_symbol,
                    "excludeUsername": true,
                    "excludeAttributes": [],
                    "dictionary": {"common": {"exclude": self.exclude_common}},
                },
                "age": {
                    "maxAgeDays": self.max_age_days,
                    "expireWarnDays": self.expire_warn_days,
                    "minAgeMinutes": self.min_age_minutes,
                    "historyCount": self.history,
                },
                "lockout": {
                    "maxAttempts": self.max_attempts,
                    "autoUnlockMinutes": 0,
                    "userLockoutNotificationChannels": if self.notify { json!(["EMAIL"]) } else { json!([]) },
                    "showLockoutFailures": false,
                },
            },
            "recovery": {"factors": {
                "recovery_question": {"status": "ACTIVE", "properties": {"complexity": {"minLength": 4}}},
                "okta_email": {"status": "ACTIVE", "properties": {"recoveryToken": {"tokenLifetimeMinutes": 10080}}},
                "okta_sms": {"status": "INACTIVE"},
                "okta_call": {"status": "INACTIVE"},
            }},
            "delegation": {"options": {"skipUnlock": false}},
        })
    }
}

/// A password rule: password change allowed, self-service reset by email, unlock as given.
fn password_rule(name: &'static str, system: bool, unlock: &str) -> RuleSpec {
    RuleSpec {
        name,
        priority: 1,
        system,
        conditions: json!({"people": {"users": {"exclude": []}}, "network": {"connection": "ANYWHERE"}}),
        actions: json!({
            "passwordChange": {"access": "ALLOW"},
            "selfServicePasswordReset": {
                "access": "ALLOW",
                "requirement": {"primary": {"methods": ["email"]}, "stepUp": {"required": false}},
            },
            "selfServiceUnlock": {"access": unlock},
        }),
    }
}

/// An app sign-in rule's `actions`.
fn app_sign_on(factor_mode: &str, reauthenticate: &str, constraints: Value) -> Value {
    json!({"appSignOn": {
        "access": "ALLOW",
        "verificationMethod": {
            "factorMode": factor_mode,
            "type": "ASSURANCE",
            "reauthenticateIn": reauthenticate,
            "constraints": constraints,
        },
    }})
}

/// A possession constraint, phishing resistant or not.
fn possession(phishing_resistant: bool) -> Value {
    let required = if phishing_resistant {
        "REQUIRED"
    } else {
        "OPTIONAL"
    };
    json!([{"possession": {
        "required": true,
        "deviceBound": required,
        "hardwareProtection": "OPTIONAL",
        "phishingResistant": required,
        "userPresence": "REQUIRED",
    }}])
}

fn catch_all(actions: Value) -> RuleSpec {
    RuleSpec {
        name: "Catch-all Rule",
        priority: 99,
        system: true,
        conditions: Value::Null,
        actions,
    }
}

fn generate_policies(org: &mut Org, when: &When, corporate: Id, rng: &mut ChaCha8Rng) {
    let everyone = vec![org.everyone];
    let admin_groups: Vec<Id> = org
        .roles
        .values()
        .filter(|r| r.assignee_type == AssigneeType::Group)
        .map(|r| r.assignee)
        .collect::<BTreeSet<Id>>()
        .into_iter()
        .collect();
    let for_groups = |groups: &[Id]| json!({"people": {"groups": {"include": groups}}});
    let mut specs = vec![
        PolicySpec {
            kind: PolicyType::OktaSignOn,
            name: "Default Policy",
            description: "The default policy applies in all situations if no other policy applies.",
            priority: 2,
            system: true,
            conditions: for_groups(&everyone),
            settings: None,
            rules: vec![RuleSpec {
                name: "Default Rule",
                priority: 1,
                system: true,
                conditions: sign_on_conditions(&[]),
                actions: sign_on(false, 120, 0, false),
            }],
        },
        PolicySpec {
            kind: PolicyType::OktaSignOn,
            name: "Global session policy",
            description: "Sessions of every employee",
            priority: 1,
            system: false,
            conditions: for_groups(&everyone),
            settings: None,
            rules: vec![
                RuleSpec {
                    name: "Admins",
                    priority: 1,
                    system: false,
                    conditions: sign_on_conditions(&admin_groups),
                    actions: sign_on(true, 15, 720, false),
                },
                RuleSpec {
                    name: "Everyone",
                    priority: 2,
                    system: false,
                    conditions: sign_on_conditions(&[]),
                    actions: sign_on(false, 120, 1440, true),
                },
            ],
        },
        PolicySpec {
            kind: PolicyType::Password,
            name: "Default Policy",
            description: "The default policy applies in all situations if no other policy applies.",
            priority: 2,
            system: true,
            conditions: json!({"people": {"groups": {"include": everyone}}, "authProvider": {"provider": "OKTA"}}),
            settings: Some(
                Password {
                    min_length: 8,
                    min_symbol: 0,
                    exclude_common: false,
                    max_age_days: 0,
                    expire_warn_days: 0,
                    min_age_minutes: 0,
                    history: 4,
                    max_attempts: 10,
                    notify: false,
                }
                .settings(),
            ),
            rules: vec![password_rule("Default Rule", true, "DENY")],
        },
    ];
    if !admin_groups.is_empty() {
        specs.push(PolicySpec {
            kind: PolicyType::Password,
            name: "Admins password policy",
            description: "Stricter passwords for the groups that hold admin roles",
            priority: 1,
            system: false,
            conditions: json!({"people": {"groups": {"include": admin_groups}}, "authProvider": {"provider": "OKTA"}}),
            settings: Some(
                Password {
                    min_length: 15,
                    min_symbol: 1,
                    exclude_common: true,
                    max_age_days: 60,
                    expire_warn_days: 7,
                    min_age_minutes: 1440,
                    history: 24,
                    max_attempts: 3,
                    notify: true,
                }
                .settings(),
            ),
            rules: vec![password_rule("Admins password rule", false, "DENY")],
        });
    }
    let enroll = |key: &str, how: &str| json!({"key": key, "enroll": {"self": how}});
    specs.extend([
        PolicySpec {
            kind: PolicyType::MfaEnroll,
            name: "Default Policy",
            description: "The default policy applies in all situations if no other policy applies.",
            priority: 1,
            system: true,
            conditions: for_groups(&everyone),
            settings: Some(json!({"type": "AUTHENTICATORS", "authenticators": [
                enroll("okta_email", "REQUIRED"),
                enroll("okta_password", "REQUIRED"),
                enroll("okta_verify", "OPTIONAL"),
                enroll("phone_number", "OPTIONAL"),
                enroll("security_question", "OPTIONAL"),
                enroll("webauthn", "OPTIONAL"),
            ]})),
            rules: vec![RuleSpec {
                name: "Default Rule",
                priority: 1,
                system: true,
                conditions: json!({"people": {"users": {"exclude": []}}, "network": {"connection": "ANYWHERE"}}),
                actions: json!({"enroll": {"self": "CHALLENGE"}}),
            }],
        },
        PolicySpec {
            kind: PolicyType::AccessPolicy,
            name: "Default Policy",
            description: "The default app sign-in policy",
            priority: 1,
            system: true,
            conditions: Value::Null,
            settings: None,
            rules: vec![catch_all(app_sign_on("1FA", "PT12H", json!([])))],
        },
        PolicySpec {
            kind: PolicyType::AccessPolicy,
            name: "Okta Admin Console",
            description: "Sign-in to the Okta Admin Console",
            priority: 2,
            system: true,
            conditions: Value::Null,
            settings: None,
            rules: vec![
                RuleSpec {
                    name: "Admins on corporate network",
                    priority: 0,
                    system: false,
                    conditions: json!({
                        "people": {"users": {"exclude": []}, "groups": {"include": admin_groups}},
                        "network": {"connection": "ZONE", "include": [corporate]},
                        "riskScore": {"level": "ANY"},
                    }),
                    actions: app_sign_on(
                        "1FA",
                        "PT12H",
                        json!([{"knowledge": {"required": true, "types": ["PASSWORD"]}}]),
                    ),
                },
                catch_all(app_sign_on("2FA", "PT12H", possession(false))),
            ],
        },
        PolicySpec {
            kind: PolicyType::AccessPolicy,
            name: "Okta Dashboard",
            description: "Sign-in to the Okta End-User Dashboard",
            priority: 3,
            system: true,
            conditions: Value::Null,
            settings: None,
            rules: vec![catch_all(app_sign_on("2FA", "PT2H", possession(true)))],
        },
        PolicySpec {
            kind: PolicyType::IdpDiscovery,
            name: "Idp Discovery Policy",
            description: "Default Policy for IdP Discovery",
            priority: 1,
            system: true,
            conditions: Value::Null,
            settings: None,
            rules: vec![RuleSpec {
                name: "Default Rule",
                priority: 1,
                system: true,
                conditions: json!({
                    "network": {"connection": "ANYWHERE"},
                    "platform": {"include": [], "exclude": []},
                    "userIdentifier": {"patterns": []},
                    "app": {"include": [], "exclude": []},
                }),
                actions: json!({"idp": {
                    "providers": [{"type": "OKTA"}],
                    "idpSelectionType": "SPECIFIC",
                    "shouldFallBackToOkta": false,
                }}),
            }],
        },
    ]);
    let ui_schema = Id::random(b"uis", rng);
    specs.push(PolicySpec {
        kind: PolicyType::ProfileEnrollment,
        name: "Default Policy",
        description: "The default user profile policy",
        priority: 1,
        system: true,
        conditions: Value::Null,
        settings: None,
        rules: vec![catch_all(json!({"profileEnrollment": {
            "access": "ALLOW",
            "preRegistrationInlineHooks": null,
            "profileAttributes": [
                {"name": "email", "label": "Email", "required": true},
                {"name": "firstName", "label": "First name", "required": true},
                {"name": "lastName", "label": "Last name", "required": true},
            ],
            "targetGroupIds": null,
            "unknownUserAction": "DENY",
            "activationRequirements": {"emailVerification": true},
            "uiSchemaId": ui_schema,
            "progressiveProfilingAction": "DISABLED",
        }}))],
    });
    for (k, spec) in specs.into_iter().enumerate() {
        add_policy(org, when, rng, k as i64, spec);
    }
}

// ---- log streams ----

/// One Splunk Cloud stream, deactivated: the org streams nothing.
fn generate_log_streams(org: &mut Org, when: &When, rng: &mut ChaCha8Rng) {
    let id = Id::random(b"0oa", rng);
    let created = when.custom(rng);
    let last_updated = when.changed(rng, created);
    org.log_streams.insert(
        id,
        LogStream {
            id,
            kind: "splunk_cloud_logstreaming",
            name: "Splunk Cloud".into(),
            active: false,
            created,
            last_updated,
            settings: json!({"edition": "aws", "host": "example-corp.splunkcloud.com"}),
            json: OnceLock::new(),
        },
    );
}

// ---- service apps and grants ----

/// A service app of the org's own (client credentials with a private key).
fn service_app(org: &Org, id: Id, label: &str, created: Ts, last_updated: Ts) -> App {
    let mut credentials = json!({
        "userNameTemplate": {"template": "${source.login}", "type": "BUILT_IN"},
        "oauthClient": {"autoKeyRotation": true, "client_id": id, "token_endpoint_auth_method": "private_key_jwt"},
    });
    let mut settings = json!({"app": {}, "oauthClient": {
        "redirect_uris": [],
        "response_types": ["token"],
        "grant_types": ["client_credentials"],
        "application_type": "service",
    }});
    add_every_app_fields(&mut credentials, &mut settings);
    App {
        id,
        name: "oidc_client".into(),
        label: label.to_string(),
        active: true,
        created,
        last_updated,
        sign_on_mode: "OPENID_CONNECT",
        features: Vec::new(),
        credentials,
        settings,
        orn: format!("orn:okta:idp:{}:apps:oidc_client:{id}", org.org_id),
        json: OnceLock::new(),
    }
}

/// The service apps with their grants, then one `okta.users.read` grant on every OIDC app of
/// the org (by id). Granted by the Super Admin.
fn generate_grants(org: &mut Org, when: &When, rng: &mut ChaCha8Rng) {
    let Some(admin) = org.super_admin else {
        return;
    };
    let mut specs: Vec<(&str, &[&'static str])> = vec![
        (
            "Provisioning Automation",
            &["okta.users.manage", "okta.groups.manage"],
        ),
        ("SIEM Log Collector", &["okta.logs.read"]),
    ];
    if org.users.len() >= 100 {
        specs.push((
            "Access Review Bot",
            &["okta.users.read", "okta.groups.read", "okta.apps.read"],
        ));
    }
    let mut grants: Vec<(Id, String, Ts, &'static str)> = Vec::new();
    for (label, scopes) in specs {
        let id = Id::random(b"0oa", rng);
        let created = when.custom(rng);
        let last_updated = when.changed(rng, created);
        let app = service_app(org, id, label, created, last_updated);
        for scope in scopes {
            grants.push((id, app.id.to_string(), created, scope));
        }
        org.service_apps.insert(id, app);
    }
    for app in org.apps.values() {
        if app.sign_on_mode == "OPENID_CONNECT" {
            grants.push((app.id, client_id_of(app), app.created, "okta.users.read"));
        }
    }
    for (app_id, client_id, after, scope_id) in grants {
        let created = time_between(rng, after, when.anchor - DAY_MS);
        org.app_grants.entry(app_id).or_default().push(Grant {
            id: Id::random(b"oag", rng),
            app_id,
            client_id,
            scope_id,
            created_by: admin.to_string(),
            created_by_type: "User",
            created,
            last_updated: created,
        });
    }
    for list in org.app_grants.values_mut() {
        list.sort_by_key(|g| g.id);
    }
}

// ---- API tokens ----

/// The Super Admin's "Terraform Cloud" token, usable from anywhere, and the "Help desk
/// reports" token of an admin with a lesser role (the first such ACTIVE user by id, holding
/// Super Admin neither directly nor through a group), usable only from the offices. Both were made before the month of
/// System Log history (so they have no `system.api_token.create` event) and used in the last
/// three weeks: `lastUpdated` is the last use, so `expiresAt` (30 days after it) is ahead.
fn generate_api_tokens(org: &mut Org, when: &When, corporate: Id, rng: &mut ChaCha8Rng) {
    let mut super_admins = BTreeSet::new();
    for r in org
        .roles
        .values()
        .filter(|r| r.role_type.0 == "SUPER_ADMIN")
    {
        match r.assignee_type {
            AssigneeType::User => {
                super_admins.insert(r.assignee);
            }
            AssigneeType::Group => {
                super_admins.extend(org.members.get(&r.assignee).into_iter().flatten());
            }
        }
    }
    let lesser_admin = org
        .roles
        .values()
        .filter(|r| r.assignee_type == AssigneeType::User && !super_admins.contains(&r.assignee))
        .map(|r| r.assignee)
        .filter(|u| {
            org.users
                .get(u)
                .is_some_and(|u| u.status == UserStatus::Active)
        })
        .min();
    let mut specs = Vec::new();
    if let Some(admin) = org.super_admin {
        specs.push(("Terraform Cloud", admin, TokenNetwork::anywhere()));
    }
    if let Some(admin) = lesser_admin {
        specs.push((
            "Help desk reports",
            admin,
            TokenNetwork::zones(vec![corporate.to_string()]),
        ));
    }
    for (name, owner, network) in specs {
        let id = Id::random(b"00T", rng);
        let created = time_between(
            rng,
            when.org_created + 30 * DAY_MS,
            when.anchor - 35 * DAY_MS,
        );
        let mut token = ApiToken::new(id, name, owner, created, network);
        token.last_updated = time_between(rng, when.anchor - 21 * DAY_MS, when.anchor - DAY_MS);
        org.api_tokens.insert(id, token);
    }
}
