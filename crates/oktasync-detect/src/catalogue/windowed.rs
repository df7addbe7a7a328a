//! Rules over a window of events: counts and distinct counts per entity, and sequences
//! (denied pushes, then a success). The thresholds are the published ones, as params a user
//! can change; each rule names the rule sets it follows. The logic is reimplemented, not copied
//! (Elastic's rules are under the Elastic License: posture.md §2.1).

use super::{CHRONICLE, ELASTIC, PANTHER, SENTINEL, SPLUNK};
use crate::event::Event;
use crate::rule::{AbsenceRule, Finding, Key, Logic, Params, Rule, WindowRule};
use oktasync_store::Severity::{self, *};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

const SIGN_IN_TYPES: &[&str] = &["user.session.start", "user.authentication.*"];

fn rule(
    id: &str,
    title: &str,
    severity: Severity,
    description: &str,
    sources: &[String],
    logic: Logic,
    params: &[(&str, f64)],
) -> Rule {
    Rule {
        id: id.into(),
        title: title.into(),
        severity,
        description: description.into(),
        sources: sources.to_vec(),
        author: None,
        logic,
        params: Params::new(params),
    }
}

pub(crate) fn rules() -> Vec<Rule> {
    vec![
        rule(
            "okta.mfa.push_bombing",
            "MFA push bombing",
            High,
            "Many Okta Verify pushes denied for one user in minutes: someone with the password \
             is pushing until the user gives in.",
            &[
                format!(
                    "{ELASTIC} rules/integrations/okta/credential_access_okta_mfa_bombing_via_push_notifications.toml (reimplemented)"
                ),
                format!(
                    "{CHRONICLE} rules/community/okta/okta_user_rejected_multiple_push_notifications.yaral"
                ),
                format!("{SENTINEL} Solutions/Okta Single Sign-On/Analytic Rules/MFAFatigue.yaml"),
            ],
            Logic::Window(WindowRule {
                event_types: &[
                    "user.mfa.okta_verify.deny_push",
                    "user.authentication.auth_via_mfa",
                ],
                select: is_push_denial,
                trigger: |_| true,
                key: Key::Actor,
                evaluate: push_bombing,
            }),
            &[("window_minutes", 10.0), ("min_denials", 5.0)],
        ),
        rule(
            "okta.mfa.push_bombing_success",
            "MFA push bombing followed by a success",
            Critical,
            "After a run of denied pushes the user approved one, or the attacker got in: treat \
             the account as taken.",
            &[
                format!(
                    "{ELASTIC} rules/integrations/okta/credential_access_okta_potentially_successful_okta_bombing_via_push_notifications.toml (reimplemented)"
                ),
                format!("{CHRONICLE} rules/community/okta/okta_mfa_brute_force_attack.yaral"),
            ],
            Logic::Window(WindowRule {
                event_types: &[
                    "user.mfa.okta_verify.deny_push",
                    "user.authentication.auth_via_mfa",
                    "user.authentication.sso",
                    "user.authentication.verify",
                    "user.session.start",
                ],
                select: |e| is_push_denial(e) || e.is_sign_in_success(),
                trigger: Event::is_sign_in_success,
                key: Key::Actor,
                evaluate: push_bombing_then_success,
            }),
            &[("window_minutes", 10.0), ("min_denials", 5.0)],
        ),
        rule(
            "okta.password_spray.single_source",
            "Password spray from one source",
            High,
            "One IP tried a few passwords against many users: a password spray.",
            &[
                format!(
                    "{ELASTIC} rules/integrations/okta/credential_access_okta_password_spray_single_source.toml (reimplemented)"
                ),
                format!(
                    "{SPLUNK} detections/application/okta_multiple_users_failing_to_authenticate_from_ip.yml"
                ),
                format!(
                    "{SENTINEL} Solutions/Okta Single Sign-On/Analytic Rules/PasswordSpray.yaml"
                ),
            ],
            Logic::Window(WindowRule {
                event_types: SIGN_IN_TYPES,
                select: Event::is_credential_failure,
                trigger: |_| true,
                key: Key::ClientIp,
                evaluate: spray_single_source,
            }),
            &[
                ("window_minutes", 60.0),
                ("min_users", 5.0),
                ("min_attempts", 15.0),
                ("min_tries_per_user", 2.0),
                ("max_tries_per_user", 8.0),
                ("min_share_of_users", 0.6),
                ("min_spread_minutes", 5.0),
            ],
        ),
        rule(
            "okta.password_spray.distributed",
            "Password spray from many sources",
            Medium,
            "Across the org, many users failed a few times each from many IPs, and none of \
             them went on to sign in: a spray spread over a botnet or proxies.",
            &[format!(
                "{ELASTIC} rules/integrations/okta/credential_access_okta_password_spray_multi_source.toml (reimplemented)"
            )],
            Logic::Window(WindowRule {
                event_types: &["user.session.start", "user.authentication.*"],
                select: |e| {
                    e.is_credential_failure()
                        || (e.event_type() == "user.session.start" && e.outcome() == "SUCCESS")
                },
                trigger: Event::is_credential_failure,
                key: Key::Org,
                evaluate: spray_distributed,
            }),
            &[
                ("window_minutes", 15.0),
                ("min_ips", 5.0),
                ("min_users", 8.0),
                ("min_attempts", 25.0),
                ("max_tries_per_user", 5.0),
            ],
        ),
        rule(
            "okta.credential_stuffing",
            "Credential stuffing",
            High,
            "One IP tried many different users once or twice each: leaked user name and \
             password pairs being replayed.",
            &[format!(
                "{ELASTIC} rules/integrations/okta/credential_access_okta_credential_stuffing_single_source.toml (reimplemented)"
            )],
            Logic::Window(WindowRule {
                event_types: SIGN_IN_TYPES,
                select: Event::is_credential_failure,
                trigger: |_| true,
                key: Key::ClientIp,
                evaluate: credential_stuffing,
            }),
            &[
                ("window_minutes", 15.0),
                ("min_attempts", 25.0),
                ("min_users", 15.0),
                ("max_tries_per_user", 2.0),
                ("min_share_of_users", 0.8),
            ],
        ),
        rule(
            "okta.brute_force.user",
            "Brute force against one user",
            Medium,
            "Many failed sign-ins for one user.",
            &[format!(
                "{PANTHER} rules/standard_rules/brute_force_by_user.yml"
            )],
            Logic::Window(WindowRule {
                event_types: &["user.session.start"],
                select: is_failed_session_start,
                trigger: |_| true,
                key: Key::Actor,
                evaluate: |w, p| at_least(w, p, "min_failures", "failed sign-ins for the user"),
            }),
            &[("window_minutes", 60.0), ("min_failures", 20.0)],
        ),
        rule(
            "okta.brute_force.ip",
            "Brute force from one IP",
            Medium,
            "Many failed sign-ins from one IP.",
            &[format!(
                "{PANTHER} rules/standard_rules/brute_force_by_ip.yml"
            )],
            Logic::Window(WindowRule {
                event_types: &["user.session.start"],
                select: is_failed_session_start,
                trigger: |_| true,
                key: Key::ClientIp,
                evaluate: |w, p| at_least(w, p, "min_failures", "failed sign-ins from the IP"),
            }),
            &[("window_minutes", 60.0), ("min_failures", 20.0)],
        ),
        rule(
            "okta.brute_force.multi_source",
            "Brute force against one user from many sources",
            Medium,
            "One user's password tried from many IPs, countries, networks or clients.",
            &[format!(
                "{ELASTIC} rules/integrations/okta/credential_access_okta_brute_force_multi_source.toml (reimplemented)"
            )],
            Logic::Window(WindowRule {
                event_types: SIGN_IN_TYPES,
                select: Event::is_credential_failure,
                trigger: |_| true,
                key: Key::Actor,
                evaluate: brute_force_multi_source,
            }),
            &[
                ("window_minutes", 30.0),
                ("min_ips", 5.0),
                ("min_attempts", 10.0),
                ("min_countries", 2.0),
                ("min_networks", 3.0),
                ("many_ips", 8.0),
                ("min_user_agents", 3.0),
            ],
        ),
        rule(
            "okta.lockouts.repeated",
            "One user locked out again and again",
            Medium,
            "The same account locked out several times: someone keeps guessing.",
            &[format!(
                "{ELASTIC} rules/integrations/okta/credential_access_attempts_to_brute_force_okta_user_account.toml (reimplemented)"
            )],
            Logic::Window(WindowRule {
                event_types: &["user.account.lock", "user.account.lock.limit"],
                select: |_| true,
                trigger: |_| true,
                key: Key::Actor,
                evaluate: |w, p| at_least(w, p, "min_lockouts", "lockouts of the user"),
            }),
            &[("window_minutes", 180.0), ("min_lockouts", 3.0)],
        ),
        rule(
            "okta.lockouts.many_accounts",
            "Many accounts locked out from one IP",
            Medium,
            "Several different accounts locked out from the same IP in minutes.",
            &[format!(
                "{SPLUNK} detections/application/okta_multiple_accounts_locked_out.yml"
            )],
            Logic::Window(WindowRule {
                event_types: &["user.account.lock", "user.account.lock.limit"],
                select: |_| true,
                trigger: |_| true,
                key: Key::ClientIp,
                evaluate: |w, p| {
                    let users = distinct(w, Event::actor);
                    (users.len() >= p.count("min_users")).then(|| Finding {
                        summary: format!("{} accounts locked out", users.len()),
                        detail: json!({"users": users}),
                        events: vec![],
                    })
                },
            }),
            &[("window_minutes", 5.0), ("min_users", 6.0)],
        ),
        rule(
            "okta.signin.success_after_failures",
            "Sign-in after many failures from several places",
            High,
            "A user signed in after a run of failed attempts from more than one IP: the \
             guessing may have worked.",
            &[
                format!(
                    "{ELASTIC} rules/integrations/okta/credential_access_okta_successful_login_after_credential_attack.toml (reimplemented)"
                ),
                format!("{PANTHER} test_scenarios/okta-add-administrator"),
            ],
            Logic::Window(WindowRule {
                event_types: &["user.session.start"],
                select: |e| {
                    e.event_type() == "user.session.start"
                        && (e.outcome() == "SUCCESS" || e.is_credential_failure())
                },
                trigger: |e| e.outcome() == "SUCCESS",
                key: Key::Actor,
                evaluate: success_after_failures,
            }),
            &[
                ("window_minutes", 180.0),
                ("min_failures", 5.0),
                ("min_failure_ips", 2.0),
            ],
        ),
        rule(
            "okta.signin.success_from_attacking_ip",
            "Sign-in from an IP that was attacking other accounts",
            High,
            "A sign-in succeeded from an IP where many other users' sign-ins had just failed \
             (and those users never got in from it): stuffing or spraying that found a match.",
            &[format!(
                "{ELASTIC} rules/integrations/okta/credential_access_okta_successful_login_after_credential_attack.toml (reimplemented)"
            )],
            Logic::Window(WindowRule {
                event_types: &["user.session.start"],
                select: |e| {
                    e.event_type() == "user.session.start"
                        && (e.outcome() == "SUCCESS" || e.is_credential_failure())
                },
                trigger: |e| e.outcome() == "SUCCESS",
                key: Key::ClientIp,
                evaluate: success_from_attacking_ip,
            }),
            &[("window_minutes", 180.0), ("min_failed_users", 10.0)],
        ),
        rule(
            "okta.session.cookie_reuse",
            "Session cookie used from another place and client",
            High,
            "The same device token (dtHash) of one user seen from several IPs with a different \
             operating system or browser: a stolen session cookie replayed.",
            &[
                format!("{OKTA_CD} detections/suspicious_use_of_an_Okta_Session_Cookie.yml"),
                format!(
                    "{SPLUNK} detections/application/okta_suspicious_use_of_a_session_cookie.yml"
                ),
                format!(
                    "{CHRONICLE} rules/community/okta/okta_suspicious_use_of_a_session_cookie.yaral"
                ),
                format!(
                    "{ELASTIC} rules/integrations/okta/credential_access_okta_aitm_session_cookie_replay.toml (reimplemented)"
                ),
            ],
            Logic::Window(WindowRule {
                event_types: &[
                    "policy.evaluate_sign_on",
                    "user.authentication.sso",
                    "user.session.start",
                ],
                select: |e| e.dt_hash().is_some() && e.succeeded(),
                trigger: |_| true,
                key: Key::DeviceAndActor,
                evaluate: cookie_reuse,
            }),
            &[("window_minutes", 60.0), ("min_ips", 2.0)],
        ),
        rule(
            "okta.signin.multiple_countries",
            "Sign-ins from several countries",
            Medium,
            "One user signed in from more than one country within the window (proxies \
             excluded): impossible travel, or shared credentials.",
            &[
                format!("{ELASTIC} (multiple countries in 30 minutes, reimplemented)"),
                format!(
                    "{SENTINEL} Solutions/Okta Single Sign-On/Analytic Rules/LoginfromUsersfromDifferentCountrieswithin3hours.yaml"
                ),
                format!("{PANTHER} rules/standard_rules/impossible_travel_login.yml"),
            ],
            Logic::Window(WindowRule {
                event_types: &["user.session.start"],
                select: |e| {
                    e.event_type() == "user.session.start"
                        && e.outcome() == "SUCCESS"
                        && !e.is_proxy()
                        && e.country().is_some()
                },
                trigger: |_| true,
                key: Key::Actor,
                evaluate: |w, p| {
                    let countries = distinct(w, |e| e.country().map(str::to_string));
                    (countries.len() >= p.count("min_countries")).then(|| Finding {
                        summary: format!("signed in from {}", join(&countries)),
                        detail: json!({"countries": countries}),
                        events: vec![],
                    })
                },
            }),
            &[("window_minutes", 60.0), ("min_countries", 2.0)],
        ),
        rule(
            "okta.mfa.removed_not_reenrolled",
            "MFA removed and not enrolled again",
            Medium,
            "A user's factors were reset or deactivated and no factor was activated for them \
             afterwards: the account signs in with a password alone.",
            &[
                format!(
                    "{ELASTIC} (MFA deactivated with no re-enrolment within 12 hours, reimplemented)"
                ),
                format!(
                    "{CHRONICLE} rules/community/okta/okta_user_password_and_mfa_factor_reset_or_deactivated.yaral"
                ),
            ],
            Logic::Absence(AbsenceRule {
                event_types: &[
                    "user.mfa.factor.deactivate",
                    "user.mfa.factor.reset_all",
                    "user.mfa.factor.activate",
                ],
                first: |e| {
                    matches!(
                        e.event_type(),
                        "user.mfa.factor.deactivate" | "user.mfa.factor.reset_all"
                    ) && e.outcome() != "FAILURE"
                },
                then: |e| e.event_type() == "user.mfa.factor.activate" && e.outcome() != "FAILURE",
                key: Key::TargetUser,
            }),
            &[("within_minutes", 720.0)],
        ),
        rule(
            "okta.password_reset_storm",
            "Many password reset or unlock messages",
            Medium,
            "Many reset or unlock emails, texts or calls for one user in an hour.",
            &[format!(
                "{ELASTIC} rules/integrations/okta/defense_evasion_suspicious_okta_user_password_reset_or_unlock_attempts.toml (reimplemented)"
            )],
            Logic::Window(WindowRule {
                event_types: &[
                    "system.email.account_unlock.sent_message",
                    "system.email.password_reset.sent_message",
                    "system.sms.send_account_unlock_message",
                    "system.sms.send_password_reset_message",
                    "system.voice.send_account_unlock_call",
                    "system.voice.send_password_reset_call",
                ],
                select: |_| true,
                trigger: |_| true,
                key: Key::Actor,
                evaluate: |w, p| at_least(w, p, "min_messages", "reset or unlock messages"),
            }),
            &[("window_minutes", 60.0), ("min_messages", 5.0)],
        ),
        rule(
            "okta.mfa.abandonment",
            "MFA challenges left unanswered",
            Low,
            "Many MFA challenges abandoned or unanswered from one IP: someone holding \
             passwords but not the factors.",
            &[format!(
                "{OKTA_CD} detections/suspicious_mfa_abandonment.yml (reimplemented)"
            )],
            Logic::Window(WindowRule {
                event_types: &["user.authentication.auth_via_mfa"],
                select: |e| matches!(e.outcome(), "UNANSWERED" | "ABANDONED"),
                trigger: |_| true,
                key: Key::ClientIp,
                evaluate: |w, p| {
                    let users = distinct(w, Event::actor);
                    (w.len() >= p.count("min_events") || users.len() >= p.count("min_users")).then(
                        || Finding {
                            summary: format!(
                                "{} challenges unanswered for {} users",
                                w.len(),
                                users.len()
                            ),
                            detail: json!({"users": users, "events": w.len()}),
                            events: vec![],
                        },
                    )
                },
            }),
            &[
                ("window_minutes", 60.0),
                ("min_events", 6.0),
                ("min_users", 6.0),
            ],
        ),
        rule(
            "okta.mfa.many_failures",
            "Many failed MFA challenges for one user",
            Medium,
            "Repeated MFA failures: someone with the password guessing codes or pushing.",
            &[format!(
                "{SPLUNK} detections/application/okta_multiple_failed_mfa_requests_for_user.yml"
            )],
            Logic::Window(WindowRule {
                event_types: &["user.authentication.auth_via_mfa"],
                select: |e| {
                    e.outcome() == "FAILURE" && e.debug("factor") != Some("PASSWORD_AS_FACTOR")
                },
                trigger: |_| true,
                key: Key::Actor,
                evaluate: |w, p| at_least(w, p, "min_failures", "failed MFA challenges"),
            }),
            &[("window_minutes", 5.0), ("min_failures", 10.0)],
        ),
        rule(
            "okta.app.unauthorized_access",
            "Repeated attempts to open apps without access",
            Medium,
            "A user kept trying apps they are not assigned.",
            &[
                format!("{PANTHER} rules/okta_rules/okta_app_unauthorized_access_attempt.yml"),
                format!(
                    "{SPLUNK} detections/application/okta_unauthorized_access_to_application.yml"
                ),
            ],
            Logic::Window(WindowRule {
                event_types: &["app.generic.unauth_app_access_attempt"],
                select: |_| true,
                trigger: |_| true,
                key: Key::Actor,
                evaluate: |w, p| at_least(w, p, "min_attempts", "unauthorized app access attempts"),
            }),
            &[("window_minutes", 60.0), ("min_attempts", 5.0)],
        ),
    ]
}

/// Okta's customer-detections repository.
const OKTA_CD: &str = super::OKTA;

/// A denied Okta Verify push: `deny_push`, or a push factor failing on credentials.
pub(crate) fn is_push_denial(e: &Event) -> bool {
    match e.event_type() {
        "user.mfa.okta_verify.deny_push" => true,
        "user.authentication.auth_via_mfa" => {
            e.debug("factor") == Some("OKTA_VERIFY_PUSH")
                && e.outcome() == "FAILURE"
                && e.reason() == "INVALID_CREDENTIALS"
        }
        _ => false,
    }
}

fn is_failed_session_start(e: &Event) -> bool {
    e.event_type() == "user.session.start" && e.outcome() == "FAILURE"
}

/// Denials in a window: Okta writes a `deny_push` and an `auth_via_mfa` failure for one
/// denial, so the larger of the two counts, not their sum.
fn denials(w: &[&Event]) -> usize {
    let deny = w
        .iter()
        .filter(|e| e.event_type() == "user.mfa.okta_verify.deny_push")
        .count();
    let failed = w
        .iter()
        .filter(|e| is_push_denial(e) && e.event_type() == "user.authentication.auth_via_mfa")
        .count();
    deny.max(failed)
}

fn push_bombing(w: &[&Event], p: &Params) -> Option<Finding> {
    let n = denials(w);
    (n >= p.count("min_denials")).then(|| Finding {
        summary: format!("{n} pushes denied"),
        detail: json!({"denials": n, "ips": distinct(w, |e| e.ip().map(str::to_string))}),
        events: vec![],
    })
}

fn push_bombing_then_success(w: &[&Event], p: &Params) -> Option<Finding> {
    let (last, before) = w.split_last()?;
    if !last.is_sign_in_success() {
        return None;
    }
    let n = denials(before);
    (n >= p.count("min_denials")).then(|| {
        let events = w
            .iter()
            .enumerate()
            .filter(|(i, e)| is_push_denial(e) || *i == w.len() - 1)
            .map(|(i, _)| i)
            .collect();
        Finding {
            summary: format!("{n} pushes denied, then {}", last.event_type()),
            detail: json!({"denials": n, "success": last.event_type(), "ip": last.ip()}),
            events,
        }
    })
}

/// Attempts per user in a window.
fn tries_per_user(w: &[&Event]) -> BTreeMap<String, usize> {
    let mut tries = BTreeMap::new();
    for e in w {
        if let Some(user) = e.actor() {
            *tries.entry(user).or_insert(0) += 1;
        }
    }
    tries
}

fn spray_single_source(w: &[&Event], p: &Params) -> Option<Finding> {
    let tries = tries_per_user(w);
    let attempts: usize = tries.values().sum();
    if tries.len() < p.count("min_users") || attempts < p.count("min_attempts") {
        return None;
    }
    let (lo, hi) = (p.count("min_tries_per_user"), p.count("max_tries_per_user"));
    let sprayed = tries.values().filter(|n| (lo..=hi).contains(*n)).count();
    let share = sprayed as f64 / tries.len() as f64;
    let spread = w.last()?.published - w.first()?.published;
    (share >= p.get("min_share_of_users") && spread >= p.minutes("min_spread_minutes")).then(|| {
        Finding {
            summary: format!(
                "{attempts} failed sign-ins for {} users over {} minutes",
                tries.len(),
                spread.num_minutes()
            ),
            detail: json!({"users": tries.len(), "attempts": attempts,
                           "minutes": spread.num_minutes(), "tries_per_user": tries}),
            events: vec![],
        }
    })
}

fn spray_distributed(w: &[&Event], p: &Params) -> Option<Finding> {
    let signed_in: BTreeSet<String> = w
        .iter()
        .filter(|e| e.outcome() == "SUCCESS")
        .filter_map(|e| e.actor())
        .collect();
    let failures: Vec<&Event> = w
        .iter()
        .copied()
        .filter(|e| e.is_credential_failure() && e.actor().is_some_and(|a| !signed_in.contains(&a)))
        .collect();
    let tries = tries_per_user(&failures);
    let ips = distinct(&failures, |e| e.ip().map(str::to_string));
    let attempts = failures.len();
    let fires = ips.len() >= p.count("min_ips")
        && tries.len() >= p.count("min_users")
        && attempts >= p.count("min_attempts")
        && tries.values().all(|n| *n <= p.count("max_tries_per_user"));
    fires.then(|| Finding {
        summary: format!(
            "{attempts} failed sign-ins for {} users from {} IPs",
            tries.len(),
            ips.len()
        ),
        detail: json!({"users": tries.len(), "ips": ips, "attempts": attempts}),
        events: w
            .iter()
            .enumerate()
            .filter(|(_, e)| {
                e.is_credential_failure() && e.actor().is_some_and(|a| !signed_in.contains(&a))
            })
            .map(|(i, _)| i)
            .collect(),
    })
}

fn credential_stuffing(w: &[&Event], p: &Params) -> Option<Finding> {
    let tries = tries_per_user(w);
    let attempts: usize = tries.values().sum();
    if attempts < p.count("min_attempts") || tries.len() < p.count("min_users") {
        return None;
    }
    let few = tries
        .values()
        .filter(|n| **n <= p.count("max_tries_per_user"))
        .count();
    (few as f64 / tries.len() as f64 >= p.get("min_share_of_users")).then(|| Finding {
        summary: format!(
            "{attempts} failed sign-ins for {} different users",
            tries.len()
        ),
        detail: json!({"users": tries.len(), "attempts": attempts}),
        events: vec![],
    })
}

fn brute_force_multi_source(w: &[&Event], p: &Params) -> Option<Finding> {
    let ips = distinct(w, |e| e.ip().map(str::to_string));
    if ips.len() < p.count("min_ips") || w.len() < p.count("min_attempts") {
        return None;
    }
    let countries = distinct(w, |e| e.country().map(str::to_string));
    let networks = distinct(w, |e| {
        e.text("securityContext.asOrg")
            .map(str::to_string)
            .or_else(|| {
                e.raw
                    .pointer("/securityContext/asNumber")
                    .map(|n| n.to_string())
            })
    });
    let agents = distinct(w, |e| e.user_agent().map(str::to_string));
    let diverse = countries.len() >= p.count("min_countries")
        || networks.len() >= p.count("min_networks")
        || ips.len() >= p.count("many_ips")
        || agents.len() >= p.count("min_user_agents");
    diverse.then(|| Finding {
        summary: format!(
            "{} failed sign-ins from {} IPs in {} countries",
            w.len(),
            ips.len(),
            countries.len()
        ),
        detail: json!({"attempts": w.len(), "ips": ips, "countries": countries}),
        events: vec![],
    })
}

fn success_after_failures(w: &[&Event], p: &Params) -> Option<Finding> {
    let (last, before) = w.split_last()?;
    if last.outcome() != "SUCCESS" {
        return None;
    }
    let failures: Vec<&Event> = before
        .iter()
        .copied()
        .filter(|e| e.is_credential_failure())
        .collect();
    let ips = distinct(&failures, |e| e.ip().map(str::to_string));
    (failures.len() >= p.count("min_failures") && ips.len() >= p.count("min_failure_ips")).then(
        || Finding {
            summary: format!(
                "signed in from {} after {} failures from {} IPs",
                last.ip().unwrap_or("an unknown IP"),
                failures.len(),
                ips.len()
            ),
            detail: json!({"failures": failures.len(), "failure_ips": ips,
                           "success_ip": last.ip(), "success_country": last.country()}),
            events: vec![],
        },
    )
}

fn success_from_attacking_ip(w: &[&Event], p: &Params) -> Option<Finding> {
    let (last, before) = w.split_last()?;
    if last.outcome() != "SUCCESS" {
        return None;
    }
    let signed_in: BTreeSet<String> = before
        .iter()
        .filter(|e| e.outcome() == "SUCCESS")
        .filter_map(|e| e.actor())
        .collect();
    let victim = last.actor();
    let failed = distinct(before, |e| {
        e.actor().filter(|a| {
            e.is_credential_failure() && !signed_in.contains(a) && Some(a) != victim.as_ref()
        })
    });
    (failed.len() >= p.count("min_failed_users")).then(|| Finding {
        summary: format!(
            "{} signed in from {} after {} other users failed from it",
            victim.as_deref().unwrap_or("a user"),
            last.ip().unwrap_or("an IP"),
            failed.len()
        ),
        detail: json!({"user": victim, "failed_users": failed.len()}),
        events: vec![],
    })
}

fn cookie_reuse(w: &[&Event], p: &Params) -> Option<Finding> {
    let ips = distinct(w, |e| e.ip().map(str::to_string));
    let os = distinct(w, |e| e.os().map(str::to_string));
    let browsers = distinct(w, |e| e.browser().map(str::to_string));
    (ips.len() >= p.count("min_ips") && (os.len() > 1 || browsers.len() > 1)).then(|| Finding {
        summary: format!(
            "one device token from {} IPs with {} operating systems and {} browsers",
            ips.len(),
            os.len(),
            browsers.len()
        ),
        detail: json!({"ips": ips, "os": os, "browsers": browsers,
                       "countries": distinct(w, |e| e.country().map(str::to_string))}),
        events: vec![],
    })
}

/// Fires when the window holds at least `param` events.
fn at_least(w: &[&Event], p: &Params, param: &str, what: &str) -> Option<Finding> {
    (w.len() >= p.count(param)).then(|| Finding {
        summary: format!("{} {what}", w.len()),
        detail: json!({"count": w.len(),
                       "ips": distinct(w, |e| e.ip().map(str::to_string))}),
        events: vec![],
    })
}

/// The distinct values of a field in a window, sorted.
fn distinct(w: &[&Event], field: impl Fn(&Event) -> Option<String>) -> Vec<String> {
    w.iter()
        .filter_map(|e| field(e))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}

fn join(values: &[String]) -> String {
    values.join(", ")
}
