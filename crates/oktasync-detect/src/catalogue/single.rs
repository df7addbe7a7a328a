//! Rules that match one event, written in the Okta System Log filter syntax (the syntax of
//! Okta's own `customer-detections`, so they read like, and can be adapted into, user rules).
//! The logic is reimplemented from the rule sets named in each rule's sources; no rule file is
//! copied (posture.md §2.1).

use super::{ELASTIC, OKTA, PANTHER, SIGMA};
use crate::event::Event;
use crate::rule::{Context, Key, Logic, Matcher, Params, Rule, login_shape};
use oktasync_store::Severity::{self, *};

/// One single-event rule, as data.
struct Spec {
    id: &'static str,
    title: &'static str,
    severity: Severity,
    filter: &'static str,
    entity: Key,
    /// Matches about one entity within this many minutes are one alert.
    dedup_minutes: f64,
    sources: &'static [&'static str],
    description: &'static str,
}

const SPECS: &[Spec] = &[
    Spec {
        id: "okta.admin_role.granted_to_user",
        title: "Admin role granted to a user",
        severity: Medium,
        filter: r#"eventType eq "user.account.privilege.grant" and not (outcome.result eq "FAILURE")"#,
        entity: Key::TargetUser,
        dedup_minutes: 15.0,
        sources: &[
            "Sigma rules/identity/okta/okta_admin_role_assigned_to_user_or_group.yml",
            "Panther rules/okta_rules/okta_admin_role_assigned.yml",
            "Elastic rules/integrations/okta (administrator role assigned)",
        ],
        description: "A user was given an Okta admin role. Attackers who take an admin account \
            grant roles to accounts they control to keep access.",
    },
    Spec {
        id: "okta.admin_role.super_admin_granted",
        title: "Super or organization administrator granted or revoked",
        severity: High,
        filter: r#"eventType sw "user.account.privilege" and (debugContext.debugData.privilegeGranted co "Super administrator" or debugContext.debugData.privilegeGranted co "Organization administrator" or debugContext.debugData.privilegeRevoked co "Super administrator" or debugContext.debugData.privilegeRevoked co "Organization administrator")"#,
        entity: Key::TargetUser,
        dedup_minutes: 15.0,
        sources: &["Okta customer-detections detections/new_super_admin_added_or_removed.yml"],
        description: "The most powerful roles changed hands: every super and organization \
            administrator grant or revocation deserves a second look.",
    },
    Spec {
        id: "okta.admin_role.granted_to_group",
        title: "Admin role granted to a group",
        severity: Medium,
        filter: r#"eventType eq "group.privilege.grant""#,
        entity: Key::TargetGroup,
        dedup_minutes: 60.0,
        sources: &[
            "Sigma rules/identity/okta/okta_admin_role_assigned_to_user_or_group.yml",
            "Panther rules/okta_rules/okta_group_admin_role_assigned.yml",
        ],
        description: "A group now grants an admin role: everyone added to it later, by hand or \
            by a group rule, becomes an admin.",
    },
    Spec {
        id: "okta.admin_role.binding_created",
        title: "Admin role assignment (resource set binding) created",
        severity: Medium,
        filter: r#"eventType eq "iam.resourceset.bindings.add""#,
        entity: Key::Actor,
        dedup_minutes: 60.0,
        sources: &["Sigma rules/identity/okta/okta_admin_role_assignment_created.yml"],
        description: "A custom admin role was bound to a resource set.",
    },
    Spec {
        id: "okta.api_token.created",
        title: "API token created",
        severity: Medium,
        filter: r#"eventType eq "system.api_token.create" and not (outcome.result eq "FAILURE")"#,
        entity: Key::Actor,
        dedup_minutes: 15.0,
        sources: &[
            "Sigma rules/identity/okta/okta_api_token_created.yml",
            "Panther rules/okta_rules/okta_api_key_created.yml",
            "Okta customer-detections detections/new_api_token_created.yml",
        ],
        description: "An Okta API token acts with its creator's admin rights until revoked; \
            a token made by an intruder outlives a password reset.",
    },
    Spec {
        id: "okta.api_token.network_anywhere",
        title: "API token usable from any network",
        severity: High,
        filter: r#"eventType in ["system.api_token.create", "system.api_token.update"] and debugContext.debugData.networkConnection eq "ANYWHERE""#,
        entity: Key::TargetToken,
        dedup_minutes: 15.0,
        sources: &[
            "Okta customer-detections detections/api_token_excessive_network_access.yml",
            "DISA Okta IDaaS STIG V-279689",
        ],
        description: "An API token was created or changed without a network restriction: \
            stolen, it works from anywhere.",
    },
    Spec {
        id: "okta.api_token.revoked",
        title: "API token revoked",
        severity: Low,
        filter: r#"eventType eq "system.api_token.revoke" and not (outcome.result eq "FAILURE")"#,
        entity: Key::Actor,
        dedup_minutes: 15.0,
        sources: &[
            "Sigma rules/identity/okta/okta_api_token_revoked.yml",
            "Panther rules/okta_rules/okta_api_key_revoked.yml",
        ],
        description: "An API token was revoked: expected in rotation, disruptive when an \
            integration depends on it.",
    },
    Spec {
        id: "okta.mfa.factor_reset",
        title: "MFA factor reset or deactivated for a user",
        severity: Medium,
        filter: r#"eventType in ["user.mfa.factor.deactivate", "user.mfa.factor.reset_all"] and not (outcome.result eq "FAILURE") and not (outcome.reason sw "User reset")"#,
        entity: Key::TargetUser,
        dedup_minutes: 60.0,
        sources: &[
            "Sigma rules/identity/okta/okta_mfa_reset_or_deactivated.yml",
            "Panther rules/okta_rules/okta_user_mfa_reset_all.yml",
            "Panther rules/standard_rules/mfa_disabled.yml",
        ],
        description: "A user's factors were removed by someone else (an admin, or an API \
            client): the next sign-in enrols new ones, which is how an attacker with the \
            password takes over an account.",
    },
    Spec {
        id: "okta.mfa.factor_reset_self",
        title: "User reset their own MFA factor",
        severity: Info,
        filter: r#"eventType in ["user.mfa.factor.deactivate", "user.mfa.factor.suspend"] and outcome.reason sw "User reset""#,
        entity: Key::Actor,
        dedup_minutes: 60.0,
        sources: &["Panther rules/okta_rules/okta_user_mfa_reset.yml"],
        description: "A user removed one of their own factors (self-service).",
    },
    Spec {
        id: "okta.mfa.factor_suspended",
        title: "MFA factor suspended",
        severity: Medium,
        filter: r#"eventType eq "user.mfa.factor.suspend" and outcome.result eq "SUCCESS""#,
        entity: Key::TargetUser,
        dedup_minutes: 60.0,
        sources: &["Panther rules/okta_rules/okta_user_mfa_factor_suspend.yml"],
        description: "A user's factor was suspended.",
    },
    Spec {
        id: "okta.mfa.factor_disabled_org_wide",
        title: "MFA factor type deactivated for the whole org",
        severity: High,
        filter: r#"eventType eq "system.mfa.factor.deactivate""#,
        entity: Key::Actor,
        dedup_minutes: 15.0,
        sources: &["Panther rules/okta_rules/okta_admin_disabled_mfa.yml"],
        description: "An admin turned off a factor type for everyone.",
    },
    Spec {
        id: "okta.mfa.bypass_attempt",
        title: "Attempt to bypass MFA",
        severity: High,
        filter: r#"eventType eq "user.mfa.attempt_bypass""#,
        entity: Key::TargetUser,
        dedup_minutes: 15.0,
        sources: &[
            "Elastic rules/integrations/okta/credential_access_attempted_bypass_of_okta_mfa.toml (reimplemented)",
        ],
        description: "Someone tried to skip a user's MFA challenge.",
    },
    Spec {
        id: "okta.support.impersonation",
        title: "Okta support or admin impersonation",
        severity: High,
        filter: r#"eventType in ["user.session.impersonation.initiate", "user.session.impersonation.grant"]"#,
        entity: Key::Actor,
        dedup_minutes: 15.0,
        sources: &[
            "Panther rules/okta_rules/okta_account_support_access.yml",
            "Elastic rules/integrations/okta/credential_access_user_impersonation_access.toml (reimplemented)",
        ],
        description: "A session acting as another user was granted or started: legitimate \
            only for a support case you opened.",
    },
    Spec {
        id: "okta.support.reset",
        title: "Credentials reset by Okta support",
        severity: High,
        filter: r#"eventType in ["user.account.reset_password", "user.mfa.factor.update", "system.mfa.factor.deactivate", "user.mfa.attempt_bypass"] and actor.alternateId eq "system@okta.com" and transaction.id eq "unknown" and not (client.userAgent.rawUserAgent pr) and not (client.geographicalContext.country pr)"#,
        entity: Key::TargetUser,
        dedup_minutes: 15.0,
        sources: &["Panther rules/okta_rules/okta_support_reset.yml"],
        description: "A password or factor was reset by Okta itself with no client: the shape \
            of a reset made through Okta support.",
    },
    Spec {
        id: "okta.threatinsight.threat_detected",
        title: "ThreatInsight detected a threat",
        severity: Medium,
        filter: r#"eventType eq "security.threat.detected" or eventType eq "security.attack.start""#,
        entity: Key::ClientIp,
        dedup_minutes: 60.0,
        sources: &[
            "Sigma rules/identity/okta/okta_security_threat_detected.yml",
            "Panther rules/okta_rules/okta_threatinsight_security_threat_detected.yml",
            "Okta customer-detections detections/threat_insight_password_spray.yml",
        ],
        description: "Okta ThreatInsight flagged requests (password spray, high unknown-user \
            failure counts, known bad IPs).",
    },
    Spec {
        id: "okta.fastpass.phishing_blocked",
        title: "FastPass blocked a phishing attempt",
        severity: High,
        filter: r#"eventType eq "user.authentication.auth_via_mfa" and outcome.result eq "FAILURE" and outcome.reason eq "FastPass declined phishing attempt""#,
        entity: Key::Actor,
        dedup_minutes: 30.0,
        sources: &[
            "Sigma rules/identity/okta/okta_fastpass_phishing_detection.yml",
            "Okta customer-detections detections/detect_aitm_phishing_using_okta_fastpass.yml",
            "Panther rules/okta_rules/okta_phishing_attempt_blocked_by_fastpass.yml",
        ],
        description: "A user reached a phishing (adversary-in-the-middle) page; FastPass \
            refused to sign in there, but the user's password may be exposed.",
    },
    Spec {
        id: "okta.idp.created_or_changed",
        title: "Identity provider created or changed",
        severity: Medium,
        filter: r#"eventType sw "system.idp.lifecycle""#,
        entity: Key::Actor,
        dedup_minutes: 30.0,
        sources: &[
            "Sigma rules/identity/okta/okta_identity_provider_created.yml",
            "Panther rules/okta_rules/okta_idp_create_modify.yml",
            "Okta customer-detections detections/new_idp_created.yml",
        ],
        description: "An inbound identity provider can sign anyone in as your users \
            (cross-tenant impersonation).",
    },
    Spec {
        id: "okta.policy.weakened",
        title: "Policy or policy rule deactivated or deleted",
        severity: Medium,
        filter: r#"eventType in ["policy.lifecycle.deactivate", "policy.lifecycle.delete", "policy.rule.deactivate", "policy.rule.delete", "application.policy.sign_on.rule.delete"]"#,
        entity: Key::Actor,
        dedup_minutes: 60.0,
        sources: &[
            "Sigma rules/identity/okta/okta_policy_rule_modified_or_deleted.yml",
            "Elastic rules/integrations/okta (policy deactivate/delete rules, reimplemented)",
        ],
        description: "A sign-on, password or MFA policy (or one of its rules) was switched \
            off or removed.",
    },
    Spec {
        id: "okta.policy.modified",
        title: "Policy or policy rule modified",
        severity: Low,
        filter: r#"eventType in ["policy.lifecycle.update", "policy.rule.update", "application.policy.sign_on.update"]"#,
        entity: Key::Actor,
        dedup_minutes: 60.0,
        sources: &[
            "Sigma rules/identity/okta/okta_policy_modified_or_deleted.yml",
            "Sigma rules/identity/okta/okta_application_sign_on_policy_modified_or_deleted.yml",
        ],
        description: "A policy changed; compare it with the mirror's copy to see whether it \
            got weaker.",
    },
    Spec {
        id: "okta.zone.weakened",
        title: "Network zone deactivated, deleted or modified",
        severity: Medium,
        filter: r#"eventType in ["zone.deactivate", "zone.delete", "zone.update", "network_zone.rule.disabled", "zone.remove_blacklist"]"#,
        entity: Key::Actor,
        dedup_minutes: 60.0,
        sources: &[
            "Sigma rules/identity/okta/okta_network_zone_deactivated_or_deleted.yml",
            "Elastic rules/integrations/okta (zone rules, reimplemented)",
        ],
        description: "Network zones block anonymisers and pin admin access; changing them \
            opens the door.",
    },
    Spec {
        id: "okta.log_stream.tampering",
        title: "Log stream changed",
        severity: High,
        filter: r#"eventType sw "system.log_stream.lifecycle""#,
        entity: Key::Actor,
        dedup_minutes: 30.0,
        sources: &["Okta customer-detections detections/log_stream_tampering.yml"],
        description: "A log stream to a SIEM was created, changed, deactivated or deleted: \
            attackers blind defenders this way.",
    },
    Spec {
        id: "okta.signin.anonymizing_proxy",
        title: "Sign-in through an anonymising proxy",
        severity: Medium,
        filter: r#"eventType eq "user.session.start" and securityContext.isProxy eq "true""#,
        entity: Key::Actor,
        dedup_minutes: 360.0,
        sources: &[
            "Sigma rules/identity/okta/okta_user_session_start_via_anonymised_proxy.yml",
            "Panther rules/okta_rules/okta_anonymizing_vpn_login.yml",
        ],
        description: "Okta saw the sign-in come through an anonymiser (Tor, open proxy, \
            anonymising VPN).",
    },
    Spec {
        id: "okta.user.reported_suspicious_activity",
        title: "User reported suspicious activity",
        severity: High,
        filter: r#"eventType eq "user.account.report_suspicious_activity_by_enduser""#,
        entity: Key::Actor,
        dedup_minutes: 60.0,
        sources: &[
            "Sigma rules/identity/okta/okta_suspicious_activity_enduser_report.yml",
            "Okta customer-detections detections/user_reported_suspicious_activity.yml",
            "Panther rules/okta_rules/okta_user_reported_suspicious_activity.yml",
        ],
        description: "A user said a sign-in or enrolment notification was not theirs.",
    },
    Spec {
        id: "okta.user.account_locked",
        title: "User account locked out",
        severity: Low,
        filter: r#"eventType in ["user.account.lock", "user.account.lock.limit"] or displayMessage eq "Max sign in attempts exceeded""#,
        entity: Key::Actor,
        dedup_minutes: 60.0,
        sources: &[
            "Sigma rules/identity/okta/okta_user_account_locked_out.yml",
            "Panther rules/okta_rules/okta_user_account_locked.yml",
        ],
        description: "Too many failed sign-ins locked an account.",
    },
    Spec {
        id: "okta.admin_console.access_denied",
        title: "Access to the Admin Console denied",
        severity: Low,
        filter: r#"eventType eq "user.session.access_admin_app" and outcome.result eq "FAILURE""#,
        entity: Key::Actor,
        dedup_minutes: 60.0,
        sources: &["Okta customer-detections detections/access_to_admin_console_denied.yml"],
        description: "Someone without admin rights tried the Admin Console.",
    },
    Spec {
        id: "okta.rate_limit.violation",
        title: "Rate limit violated",
        severity: Medium,
        filter: r#"(eventType sw "system.client.rate_limit" or eventType sw "system.operation.rate_limit" or eventType sw "system.org.rate_limit" or eventType sw "system.client.concurrency_rate_limit" or eventType eq "core.concurrency.org.limit.violation" or eventType eq "app.oauth2.client_id_rate_limit_warning" or eventType eq "application.integration.rate_limit_exceeded") and eventType co "violation""#,
        entity: Key::Actor,
        dedup_minutes: 1440.0,
        sources: &[
            "Panther rules/okta_rules/okta_rate_limits.yml",
            "Elastic rules/integrations/okta/impact_possible_okta_dos_attack.toml (reimplemented)",
        ],
        description: "A client or the org hit a rate limit hard enough for Okta to refuse \
            requests: a denial of service, or a runaway integration.",
    },
    Spec {
        id: "okta.oauth.refresh_token_reuse",
        title: "OAuth refresh token reused",
        severity: High,
        filter: r#"eventType in ["app.oauth2.as.token.detect_reuse", "app.oauth2.token.detect_reuse"]"#,
        entity: Key::Actor,
        dedup_minutes: 60.0,
        sources: &["Panther rules/okta_rules/okta_app_refresh_access_token_reuse.yml"],
        description: "A rotated refresh token was presented again: one copy of it is stolen.",
    },
    Spec {
        id: "okta.app.password_push_via_scim",
        title: "User passwords pushed to an app through provisioning",
        severity: High,
        filter: r#"eventType eq "application.lifecycle.update" and outcome.reason co "Pushing user passwords""#,
        entity: Key::Actor,
        dedup_minutes: 30.0,
        sources: &["Panther rules/okta_rules/okta_password_extraction_via_scim.yml"],
        description: "An app was set to receive users' passwords: an attacker's SCIM server \
            collects them.",
    },
    Spec {
        id: "okta.app.org2org_changed",
        title: "Org2Org app created or changed",
        severity: Medium,
        filter: r#"eventType in ["application.lifecycle.update", "application.lifecycle.create", "application.lifecycle.activate"] and target.displayName co "Org2Org""#,
        entity: Key::Actor,
        dedup_minutes: 60.0,
        sources: &["Panther rules/okta_rules/okta_org2org_creation_modification.yml"],
        description: "An Org2Org app federates another Okta org into this one.",
    },
    Spec {
        id: "okta.session.roaming_blocked",
        title: "Session bound to a client used from elsewhere",
        severity: Medium,
        filter: r#"eventType eq "security.session.detect_client_roaming""#,
        entity: Key::Actor,
        dedup_minutes: 60.0,
        sources: &[
            "Okta customer-detections detections/user_denied_access_due_to_session_binding.yml",
        ],
        description: "Okta refused a session used from a different client than the one it \
            was issued to.",
    },
    Spec {
        id: "okta.itp.user_risk_high",
        title: "User risk changed to high",
        severity: High,
        filter: r#"eventType eq "user.risk.detect" and debugContext.debugData.risk co "level=HIGH""#,
        entity: Key::Actor,
        dedup_minutes: 60.0,
        sources: &["Okta customer-detections detections/itp_user_risk_changed_to_high.yml"],
        description: "Identity Threat Protection rated the user's risk high.",
    },
    Spec {
        id: "okta.oauth.client_secret_read",
        title: "OAuth client secret read",
        severity: Medium,
        filter: r#"eventType eq "app.oauth2.client.read_client_secret""#,
        entity: Key::Actor,
        dedup_minutes: 60.0,
        sources: &["Okta customer-detections detections/oauth_client_secret_read.yml"],
        description: "An admin displayed an app's client secret.",
    },
    Spec {
        id: "okta.ad_agent.created",
        title: "Active Directory agent registered",
        severity: Medium,
        filter: r#"eventType eq "system.agent.ad.create""#,
        entity: Key::Actor,
        dedup_minutes: 60.0,
        sources: &["Okta customer-detections detections/new_ad_agent_created.yml"],
        description: "A new AD agent can authenticate users with delegated authentication.",
    },
    Spec {
        id: "okta.user.created",
        title: "User created",
        severity: Info,
        filter: r#"eventType eq "user.lifecycle.create""#,
        entity: Key::TargetUser,
        dedup_minutes: 60.0,
        sources: &["Sigma rules/identity/okta/okta_user_created.yml"],
        description: "A new Okta user.",
    },
];

/// The single-event rules written in Rust: they compare fields with each other or with the
/// mirror.
fn native() -> Vec<Rule> {
    vec![
        Rule {
            id: "okta.admin_console.new_behavior".into(),
            title: "Admin Console reached from a new device and a new IP".into(),
            severity: High,
            description: "An admin session came from a device and an IP Okta had not seen for \
                that admin."
                .into(),
            sources: vec![
                format!(
                    "{OKTA} detections/request_to_access_admin_console_from_new_device_or_ip.yml"
                ),
                format!("{PANTHER} rules/okta_rules/okta_new_behavior_accessing_admin_console.yml"),
                format!("{SIGMA} rules/identity/okta/okta_new_behaviours_admin_console.yml"),
            ],
            author: None,
            logic: Logic::Event {
                matcher: Matcher::Native(admin_console_new_behavior),
                entity: Key::Actor,
            },
            params: Params::new(&[("dedup_minutes", 60.0)]),
        },
        Rule {
            id: "okta.app.password_revealed".into(),
            title: "A user's app password revealed by someone else".into(),
            severity: Medium,
            description: "Someone displayed the stored (SWA) password of an app account that \
                is not theirs."
                .into(),
            sources: vec![format!(
                "{PANTHER} rules/okta_rules/okta_password_accessed.yml"
            )],
            author: None,
            logic: Logic::Event {
                matcher: Matcher::Native(password_revealed),
                entity: Key::Actor,
            },
            params: Params::new(&[("dedup_minutes", 60.0)]),
        },
        Rule {
            id: "okta.signin.password_in_username".into(),
            title: "A password typed into the username field".into(),
            severity: High,
            description: "A failed sign-in whose user name is neither an email address nor an \
                app id: often a password typed in the wrong field, now in your logs."
                .into(),
            sources: vec![format!(
                "{SIGMA} rules/identity/okta/okta_password_in_alternateid_field.yml"
            )],
            author: None,
            logic: Logic::Event {
                matcher: Matcher::Native(password_in_username),
                entity: Key::ClientIp,
            },
            params: Params::new(&[("dedup_minutes", 60.0)]),
        },
        Rule {
            id: "okta.signin.lookalike_username".into(),
            title: "Sign-in attempts for a look-alike of a real login".into(),
            severity: High,
            description: "A sign-in failed for a user name Okta does not know that differs \
                from a real user's login only by separators (tracey_stone for tracey.stone): \
                someone guessing at a known person."
                .into(),
            sources: vec![format!(
                "{PANTHER} test_scenarios/compromised-root-creds (the scenario; logic ours)"
            )],
            author: None,
            logic: Logic::Event {
                matcher: Matcher::Native(lookalike_username),
                entity: Key::Actor,
            },
            params: Params::new(&[("dedup_minutes", 1440.0)]),
        },
    ]
}

/// Whether Okta flagged a behaviour (`New Device`, `New IP`) as POSITIVE for the request:
/// in `behaviors` (`{New Device=POSITIVE, ...}`, or a list) or `logOnlySecurityData` (a JSON
/// string, or an object).
fn behavior_positive(e: &Event, name: &str) -> bool {
    let debug = e.raw.pointer("/debugContext/debugData");
    let flagged = format!("{name}=POSITIVE");
    let in_behaviors = match debug.and_then(|d| d.get("behaviors")) {
        Some(serde_json::Value::String(s)) => s.contains(&flagged),
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .any(|i| i.as_str().is_some_and(|s| s.trim() == flagged)),
        _ => false,
    };
    let security = match debug.and_then(|d| d.get("logOnlySecurityData")) {
        Some(serde_json::Value::String(s)) => serde_json::from_str(s).ok(),
        Some(v @ serde_json::Value::Object(_)) => Some(v.clone()),
        _ => None,
    };
    in_behaviors
        || security.is_some_and(|s: serde_json::Value| {
            s.pointer("/behaviors")
                .and_then(|b| b.get(name))
                .and_then(|v| v.as_str())
                == Some("POSITIVE")
        })
}

fn admin_console_new_behavior(e: &Event, _: &Context) -> bool {
    e.event_type() == "policy.evaluate_sign_on"
        && e.targets().iter().any(|t| {
            t.get("displayName")
                .and_then(|d| d.as_str())
                .is_some_and(|d| d.to_lowercase().contains("okta admin console"))
        })
        && behavior_positive(e, "New Device")
        && behavior_positive(e, "New IP")
}

fn password_revealed(e: &Event, _: &Context) -> bool {
    if e.event_type() != "application.user_membership.show_password" {
        return false;
    }
    // The owner is the `User` target, else the app account; logins are compared, ids only
    // when a login is missing.
    let owner = e
        .targets()
        .iter()
        .find(|t| t["type"] == "User")
        .or_else(|| e.targets().iter().find(|t| t["type"] == "AppUser"));
    let Some(owner) = owner else {
        return false;
    };
    match (e.actor_login(), owner["alternateId"].as_str()) {
        (Some(actor), Some(owner)) => !actor.eq_ignore_ascii_case(owner),
        _ => e.actor_id().is_some() && e.actor_id() != owner["id"].as_str(),
    }
}

fn password_in_username(e: &Event, _: &Context) -> bool {
    if e.text("legacyEventType") != Some("core.user_auth.login_failed") {
        return false;
    }
    let Some(name) = e.actor_login() else {
        return false;
    };
    !(name.starts_with("0oa") || looks_like_email(name) || name.eq_ignore_ascii_case("unknown"))
}

fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !s.contains(char::is_whitespace)
}

fn lookalike_username(e: &Event, ctx: &Context) -> bool {
    if e.event_type() != "user.session.start" || e.outcome() != "FAILURE" {
        return false;
    }
    let Some(name) = e.actor_login().map(str::to_lowercase) else {
        return false;
    };
    if ctx.logins.contains(&name) {
        return false;
    }
    ctx.logins_by_shape
        .get(&login_shape(&name))
        .is_some_and(|real| *real != name)
}

/// Whether a rule needs the mirror's logins ([`Context`]).
pub(crate) fn needs_logins(rule_id: &str) -> bool {
    rule_id == "okta.signin.lookalike_username"
}

pub(crate) fn rules() -> Vec<Rule> {
    let mut rules: Vec<Rule> = SPECS
        .iter()
        .map(|s| Rule {
            id: s.id.into(),
            title: s.title.into(),
            severity: s.severity,
            description: s.description.into(),
            sources: s.sources.iter().map(|s| cite(s)).collect(),
            author: None,
            logic: Logic::Event {
                // The catalogue is tested to parse (`every_builtin_rule_parses`).
                matcher: Matcher::filter(s.filter)
                    .unwrap_or_else(|e| panic!("built-in rule {}: {e}", s.id)),
                entity: s.entity,
            },
            params: Params::new(&[("dedup_minutes", s.dedup_minutes)]),
        })
        .collect();
    rules.extend(native());
    rules
}

/// A source line with its repository: `Sigma rules/...` → `SigmaHQ/sigma rules/...`.
fn cite(source: &str) -> String {
    for (set, repo) in [
        ("Sigma ", SIGMA),
        ("Panther ", PANTHER),
        ("Elastic ", ELASTIC),
        ("Okta customer-detections ", OKTA),
    ] {
        if let Some(rest) = source.strip_prefix(set) {
            return format!("{repo} {rest}");
        }
    }
    source.to_string()
}
