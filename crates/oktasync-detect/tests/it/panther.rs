//! Every rule that Panther's Okta unit tests cover fires on their positive events and stays
//! quiet on their negative ones (`shared/okta/logs/panther_rule_tests.jsonl`, Apache-2.0).
//! Windowed rules are checked at the event level: the sample must be (or must not be) one of
//! the events the rule counts; their thresholds are tested in `windows.rs`.

use oktasync_detect::{Context, Detector, Event, Logic};
use serde_json::Value;

/// Panther rule → ours. Panther rules without an entry are listed in [`NOT_PORTED`].
pub const MAPPING: &[(&str, &str)] = &[
    ("Okta.Support.Access", "okta.support.impersonation"),
    ("Okta.AdminRoleAssigned", "okta.admin_role.granted_to_user"),
    ("Okta.APIKeyCreated", "okta.api_token.created"),
    ("Okta.APIKeyRevoked", "okta.api_token.revoked"),
    (
        "Okta.Anonymizing.VPN.Login",
        "okta.signin.anonymizing_proxy",
    ),
    (
        "Okta.App.Unauthorized.Access.Attempt",
        "okta.app.unauthorized_access",
    ),
    (
        "Okta.Global.MFA.Disabled",
        "okta.mfa.factor_disabled_org_wide",
    ),
    (
        "Okta.Group.Admin.Role.Assigned",
        "okta.admin_role.granted_to_group",
    ),
    (
        "Okta.Identity.Provider.Created.Modified",
        "okta.idp.created_or_changed",
    ),
    (
        "Okta.New.Behavior.Accessing.Admin.Console",
        "okta.admin_console.new_behavior",
    ),
    (
        "Okta.Org2org.Creation.Modification",
        "okta.app.org2org_changed",
    ),
    (
        "Okta.Password.Extraction.via.SCIM",
        "okta.app.password_push_via_scim",
    ),
    ("Okta.PasswordAccess", "okta.app.password_revealed"),
    (
        "Okta.Phishing.Attempt.Blocked.FastPass",
        "okta.fastpass.phishing_blocked",
    ),
    ("Okta.Rate.Limits", "okta.rate_limit.violation"),
    (
        "Okta.Refresh.Access.Token.Reuse",
        "okta.oauth.refresh_token_reuse",
    ),
    ("Okta.Support.Reset", "okta.support.reset"),
    (
        "Okta.ThreatInsight.Security.Threat.Detected",
        "okta.threatinsight.threat_detected",
    ),
    ("Okta.User.Account.Locked", "okta.user.account_locked"),
    ("Okta.User.MFA.Factor.Suspend", "okta.mfa.factor_suspended"),
    ("Okta.User.MFA.Reset.All", "okta.mfa.factor_reset"),
    ("Okta.User.MFA.Reset.Single", "okta.mfa.factor_reset_self"),
    (
        "Okta.User.Reported.Suspicious.Activity",
        "okta.user.reported_suspicious_activity",
    ),
    ("Standard.BruteForceByIP", "okta.brute_force.ip"),
    ("Standard.BruteForceByUser", "okta.brute_force.user"),
    ("Standard.MFADisabled", "okta.mfa.factor_reset"),
];

/// Panther rules with no rule of ours, and why.
const NOT_PORTED: &[(&str, &str)] = &[
    (
        "Okta.ADAgent.TokenAbuse.Behavioral",
        "a scheduled query against a 90-day baseline table",
    ),
    (
        "Okta.Identity.Provider.SignIn",
        "disabled in Panther; every IdP sign-in is normal",
    ),
    (
        "Okta.Login.Success",
        "a signal (every sign-in), not a detection",
    ),
    (
        "Okta.Login.Without.Push.Marker",
        "needs Push Security's browser marker",
    ),
    (
        "Okta.SSO.to.AWS",
        "a signal (every AWS sign-in), not a detection",
    ),
    (
        "Okta.PotentiallyStolenSession",
        "stateful (a KV cache): okta.session.cookie_reuse, tested in windows.rs",
    ),
    (
        "Standard.ImpossibleTravel.Login",
        "stateful (a KV cache): okta.signin.multiple_countries, tested in windows.rs",
    ),
    (
        "Standard.SignInFromRogueState",
        "needs a configured list of countries",
    ),
];

fn fixtures() -> Vec<Value> {
    let path = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/okta/logs/panther_rule_tests.jsonl");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A fixture's event; those without `published` get one (rules never read it).
fn event(fixture: &Value) -> Event {
    let mut raw = fixture["event"].clone();
    if raw.get("published").and_then(Value::as_str).is_none() {
        raw["published"] = "2026-01-01T00:00:00.000Z".into();
    }
    Event::from_raw(1, raw).expect("an event")
}

#[test]
fn every_panther_okta_rule_is_ported_or_said_why_not() {
    let mut ids: Vec<String> = fixtures()
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids.dedup();
    for id in ids {
        assert!(
            MAPPING.iter().any(|(p, _)| *p == id) || NOT_PORTED.iter().any(|(p, _)| *p == id),
            "Panther rule {id} is neither mapped nor listed as not ported"
        );
    }
}

#[test]
fn rules_fire_on_panthers_positive_samples_and_not_on_the_negative_ones() {
    let detector = Detector::builtin();
    let ctx = Context::default();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for fixture in fixtures() {
        let panther = fixture["rule_id"].as_str().unwrap();
        let Some((_, ours)) = MAPPING.iter().find(|(p, _)| *p == panther) else {
            continue;
        };
        let expected = fixture["expected_result"].as_bool().unwrap();
        // Samples whose expectation depends on Panther's mocks say nothing about the match:
        // a threshold or a lookup decides.
        if fixture["has_mocks"].as_bool().unwrap() && !expected {
            continue;
        }
        let rule = detector
            .rules()
            .iter()
            .find(|r| r.id == *ours)
            .unwrap_or_else(|| panic!("no rule {ours}"));
        let e = event(&fixture);
        let matched = match &rule.logic {
            Logic::Event { matcher, .. } => matcher.matches(&e, &ctx),
            Logic::Window(w) => w.selects(&e),
            Logic::Absence(a) => (a.first)(&e),
        };
        checked += 1;
        if matched != expected {
            wrong.push(format!(
                "{ours} ({panther} / {}): expected {expected}",
                fixture["test_name"].as_str().unwrap()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    assert!(checked >= 60, "only {checked} samples checked");
}
