//! The single-event rules Panther's samples do not cover, each on an event it must match and
//! on the nearest event it must not; and every single-event rule is covered by this or by
//! Panther's samples.

use crate::{E, detect_with, fired};
use oktasync_detect::{Context, Detector, Logic};

fn case(positive: E, negative: E) -> (E, E) {
    (positive, negative)
}

fn cases() -> Vec<(&'static str, E, E)> {
    let t = |kind: &str| E::new(0, kind, "admin");
    let rows: Vec<(&str, (E, E))> = vec![
        (
            "okta.admin_role.super_admin_granted",
            case(
                t("user.account.privilege.grant").debug("privilegeGranted", "Super administrator"),
                t("user.account.privilege.grant")
                    .debug("privilegeGranted", "Help Desk administrator"),
            ),
        ),
        (
            "okta.admin_role.binding_created",
            case(
                t("iam.resourceset.bindings.add"),
                t("iam.resourceset.bindings.delete"),
            ),
        ),
        (
            "okta.api_token.network_anywhere",
            case(
                t("system.api_token.create").debug("networkConnection", "ANYWHERE"),
                t("system.api_token.create").debug("networkConnection", "ZONE"),
            ),
        ),
        (
            "okta.mfa.bypass_attempt",
            case(t("user.mfa.attempt_bypass"), t("user.mfa.factor.activate")),
        ),
        (
            "okta.policy.weakened",
            case(t("policy.rule.deactivate"), t("policy.rule.activate")),
        ),
        (
            "okta.policy.modified",
            case(t("policy.lifecycle.update"), t("policy.lifecycle.create")),
        ),
        (
            "okta.zone.weakened",
            case(t("zone.deactivate"), t("zone.activate")),
        ),
        (
            "okta.log_stream.tampering",
            case(
                t("system.log_stream.lifecycle.deactivate"),
                t("system.log_stream.read"),
            ),
        ),
        (
            "okta.admin_console.access_denied",
            case(
                t("user.session.access_admin_app").failed("INSUFFICIENT_PERMISSIONS"),
                t("user.session.access_admin_app"),
            ),
        ),
        (
            "okta.session.roaming_blocked",
            case(
                t("security.session.detect_client_roaming"),
                t("user.session.end"),
            ),
        ),
        (
            "okta.itp.user_risk_high",
            case(
                t("user.risk.detect").debug("risk", "{level=HIGH, reasons=Session hijacked}"),
                t("user.risk.detect").debug("risk", "{level=LOW}"),
            ),
        ),
        (
            "okta.oauth.client_secret_read",
            case(
                t("app.oauth2.client.read_client_secret"),
                t("app.oauth2.client.lifecycle.update"),
            ),
        ),
        (
            "okta.ad_agent.created",
            case(
                t("system.agent.ad.create"),
                t("system.agent.ad.read_config"),
            ),
        ),
        (
            "okta.user.created",
            case(t("user.lifecycle.create"), t("user.lifecycle.activate")),
        ),
        ("okta.signin.password_in_username", {
            let mut typed = t("user.session.start").failed("VERIFICATION_ERROR");
            typed.v["legacyEventType"] = "core.user_auth.login_failed".into();
            typed.v["actor"]["alternateId"] = "Summer2026!".into();
            let mut mistyped = t("user.session.start").failed("VERIFICATION_ERROR");
            mistyped.v["legacyEventType"] = "core.user_auth.login_failed".into();
            (typed, mistyped)
        }),
    ];
    rows.into_iter().map(|(id, (p, n))| (id, p, n)).collect()
}

#[test]
fn each_rule_matches_its_event_and_not_the_nearest_other() {
    let detector = Detector::builtin();
    for (id, positive, negative) in cases() {
        let hit = fired(&detect_with(&detector, vec![positive], &Context::default()));
        assert!(hit.contains(&id.to_string()), "{id} did not fire: {hit:?}");
        let miss = fired(&detect_with(&detector, vec![negative], &Context::default()));
        assert!(
            !miss.contains(&id.to_string()),
            "{id} fired on its negative"
        );
    }
}

#[test]
fn every_single_event_rule_has_a_positive_and_a_negative_test() {
    let covered: Vec<String> = cases()
        .into_iter()
        .map(|(id, _, _)| id.to_string())
        .chain(
            crate::panther::MAPPING
                .iter()
                .map(|(_, ours)| ours.to_string()),
        )
        // windows.rs: failed_sign_ins_for_a_look_alike_of_a_real_login
        .chain(["okta.signin.lookalike_username".to_string()])
        .collect();
    for rule in Detector::builtin().rules() {
        if matches!(rule.logic, Logic::Event { .. }) {
            assert!(covered.contains(&rule.id), "{} has no test", rule.id);
        }
    }
}
