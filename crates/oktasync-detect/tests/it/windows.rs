//! The windowed rules on built event sequences: each fires on the attack it names and stays
//! quiet on the normal activity that looks most like it; params change thresholds.

use crate::{E, detect, detect_with, fired};
use oktasync_detect::{Context, DetectionSettings, Detector};
use std::collections::BTreeMap;

fn denial(t: i64, who: &str) -> Vec<E> {
    vec![
        E::new(t, "user.mfa.okta_verify.deny_push", who).failed("INVALID_CREDENTIALS"),
        E::new(t, "user.authentication.auth_via_mfa", who)
            .failed("INVALID_CREDENTIALS")
            .debug("factor", "OKTA_VERIFY_PUSH"),
    ]
}

fn sign_in(t: i64, who: &str) -> E {
    E::new(t, "user.session.start", who)
}

fn failure(t: i64, who: &str) -> E {
    E::new(t, "user.session.start", who).failed("INVALID_CREDENTIALS")
}

#[test]
fn push_bombing_and_the_success_after_it() {
    let mut events: Vec<E> = (0..6).flat_map(|i| denial(i * 60, "ana")).collect();
    events.push(
        E::new(400, "user.authentication.auth_via_mfa", "ana").debug("factor", "OKTA_VERIFY_PUSH"),
    );
    let alerts = detect(events);
    let ids = fired(&alerts);
    assert!(ids.contains(&"okta.mfa.push_bombing".into()), "{ids:?}");
    assert!(
        ids.contains(&"okta.mfa.push_bombing_success".into()),
        "{ids:?}"
    );
    let bombing: Vec<_> = alerts
        .iter()
        .filter(|a| a.rule_id == "okta.mfa.push_bombing")
        .collect();
    assert_eq!(bombing.len(), 1, "one attack, one alert");
    assert_eq!(bombing[0].entity, "ana@example.com");
    assert_eq!(bombing[0].event_uuids.len(), 12, "every denial event");
    let success = alerts
        .iter()
        .find(|a| a.rule_id == "okta.mfa.push_bombing_success")
        .unwrap();
    assert_eq!(success.severity, "critical");
    assert_eq!(success.event_uuids.len(), 13, "the denials and the success");

    // Two denials, then an approval: a user who mis-tapped.
    let mut normal: Vec<E> = (0..2).flat_map(|i| denial(i * 60, "bo")).collect();
    normal.push(sign_in(200, "bo"));
    assert!(fired(&detect(normal)).is_empty());
    // Five denials spread over an hour: not a burst.
    let slow: Vec<E> = (0..5).flat_map(|i| denial(i * 900, "cy")).collect();
    assert!(!fired(&detect(slow)).contains(&"okta.mfa.push_bombing".into()));
}

#[test]
fn password_spray_credential_stuffing_and_brute_force_by_source() {
    // 10 users, 3 tries each, from one IP over 20 minutes.
    let spray: Vec<E> = (0..30)
        .map(|i| failure(i * 40, &format!("user{}", i % 10)).from("203.0.113.9", "Romania"))
        .collect();
    let ids = fired(&detect(spray));
    assert!(
        ids.contains(&"okta.password_spray.single_source".into()),
        "{ids:?}"
    );
    assert!(ids.contains(&"okta.brute_force.ip".into()), "{ids:?}");
    assert!(!ids.contains(&"okta.credential_stuffing".into()), "{ids:?}");

    // 40 users once each from one IP in 10 minutes.
    let stuffing: Vec<E> = (0..40)
        .map(|i| failure(i * 15, &format!("leaked{i}")).from("203.0.113.50", "Vietnam"))
        .collect();
    let ids = fired(&detect(stuffing));
    assert!(ids.contains(&"okta.credential_stuffing".into()), "{ids:?}");
    assert!(
        !ids.contains(&"okta.password_spray.single_source".into()),
        "{ids:?}"
    );

    // An office: a few typos from a shared IP in an hour, each followed by a sign-in.
    let office: Vec<E> = (0..4)
        .flat_map(|i| {
            let who = format!("staff{i}");
            [failure(i * 600, &who), sign_in(i * 600 + 30, &who)]
        })
        .collect();
    assert!(fired(&detect(office)).is_empty());
}

#[test]
fn a_spray_spread_over_many_sources_is_seen_tenant_wide() {
    let ips = [
        "192.0.2.1",
        "192.0.2.2",
        "192.0.2.3",
        "192.0.2.4",
        "192.0.2.5",
        "192.0.2.6",
    ];
    let spray = |typos: bool| -> Vec<E> {
        (0..30)
            .flat_map(|i| {
                let who = format!("user{}", i % 10);
                let mut events = vec![failure(i * 20, &who).from(ips[i as usize % 6], "Brazil")];
                if typos {
                    events.push(sign_in(i * 20 + 10, &who).from(ips[i as usize % 6], "Brazil"));
                }
                events
            })
            .collect()
    };
    assert!(fired(&detect(spray(false))).contains(&"okta.password_spray.distributed".into()));
    // The same failures, each followed by the user signing in: people mistyping, not a spray.
    assert!(!fired(&detect(spray(true))).contains(&"okta.password_spray.distributed".into()));
}

#[test]
fn brute_force_on_one_user_lockouts_and_success_after_failures() {
    let twenty: Vec<E> = (0..20).map(|i| failure(i * 60, "ana")).collect();
    assert!(fired(&detect(twenty)).contains(&"okta.brute_force.user".into()));
    let nineteen: Vec<E> = (0..19).map(|i| failure(i * 60, "ana")).collect();
    assert!(!fired(&detect(nineteen)).contains(&"okta.brute_force.user".into()));

    let places = [
        ("195.154.58.200", "Argentina"),
        ("157.7.164.178", "Japan"),
        ("94.177.183.28", "Italy"),
        ("194.88.246.242", "France"),
        ("203.0.113.77", "Spain"),
    ];
    let mut many: Vec<E> = (0..10)
        .map(|i| {
            let (ip, country) = places[i % 5];
            failure(i as i64 * 60, "bo").from(ip, country)
        })
        .collect();
    let ids = fired(&detect(std::mem::take(&mut many)));
    assert!(
        ids.contains(&"okta.brute_force.multi_source".into()),
        "{ids:?}"
    );

    // The okta-add-administrator story: 9 failures from 4 countries, then a success.
    let mut story: Vec<E> = (0..9)
        .map(|i| {
            failure(i * 60, "cy")
                .failed("VERIFICATION_ERROR")
                .from(places[i as usize % 4].0, places[i as usize % 4].1)
        })
        .collect();
    story.push(sign_in(600, "cy").from("194.88.246.242", "France"));
    assert!(fired(&detect(story)).contains(&"okta.signin.success_after_failures".into()));
    // The same from one IP: a user who forgot the password and found it.
    let mut forgot: Vec<E> = (0..9).map(|i| failure(i * 60, "di")).collect();
    forgot.push(sign_in(600, "di"));
    assert!(!fired(&detect(forgot)).contains(&"okta.signin.success_after_failures".into()));

    let locks: Vec<E> = (0..3)
        .map(|i| E::new(i * 3000, "user.account.lock", "ed"))
        .collect();
    assert!(fired(&detect(locks)).contains(&"okta.lockouts.repeated".into()));
    let two: Vec<E> = (0..2)
        .map(|i| E::new(i * 3000, "user.account.lock", "ed"))
        .collect();
    let ids = fired(&detect(two));
    assert!(!ids.contains(&"okta.lockouts.repeated".into()));
    assert!(
        ids.contains(&"okta.user.account_locked".into()),
        "each lockout is a low alert"
    );

    let many_accounts: Vec<E> = (0..6)
        .map(|i| {
            E::new(i * 30, "user.account.lock", &format!("u{i}")).from("198.51.100.99", "Chile")
        })
        .collect();
    assert!(fired(&detect(many_accounts)).contains(&"okta.lockouts.many_accounts".into()));
}

#[test]
fn a_success_from_an_ip_that_failed_for_many_others() {
    let mut events: Vec<E> = (0..12)
        .map(|i| failure(i * 20, &format!("victim{i}")).from("203.0.113.66", "Russia"))
        .collect();
    events.push(sign_in(400, "lucky").from("203.0.113.66", "Russia"));
    assert!(fired(&detect(events)).contains(&"okta.signin.success_from_attacking_ip".into()));
    // An office IP: twelve typos, each user then signs in from it.
    let office: Vec<E> = (0..12)
        .flat_map(|i| {
            let who = format!("staff{i}");
            [failure(i * 20, &who), sign_in(i * 20 + 5, &who)]
        })
        .collect();
    assert!(!fired(&detect(office)).contains(&"okta.signin.success_from_attacking_ip".into()));
}

#[test]
fn a_session_cookie_replayed_from_elsewhere_and_sign_ins_from_two_countries() {
    let hash = "9f2c".repeat(16);
    let replay = vec![
        sign_in(0, "ana").debug("dtHash", &hash),
        E::new(60, "user.authentication.sso", "ana").debug("dtHash", &hash),
        E::new(900, "policy.evaluate_sign_on", "ana")
            .outcome("ALLOW")
            .debug("dtHash", &hash)
            .from("185.220.101.5", "Netherlands")
            .agent("Unknown", "UNKNOWN"),
    ];
    let ids = fired(&detect(replay));
    assert!(ids.contains(&"okta.session.cookie_reuse".into()), "{ids:?}");

    // A traveller: the same laptop (same hash, OS and browser) from a hotel.
    let travel = vec![
        sign_in(0, "bo").debug("dtHash", &hash),
        E::new(1200, "user.authentication.sso", "bo")
            .debug("dtHash", &hash)
            .from("203.0.113.20", "Canada"),
    ];
    assert!(!fired(&detect(travel)).contains(&"okta.session.cookie_reuse".into()));

    let two = vec![
        sign_in(0, "cy"),
        sign_in(1200, "cy").from("194.88.246.242", "France"),
    ];
    assert!(fired(&detect(two)).contains(&"okta.signin.multiple_countries".into()));
    let apart = vec![
        sign_in(0, "cy"),
        sign_in(5 * 3600, "cy").from("194.88.246.242", "France"),
    ];
    assert!(!fired(&detect(apart)).contains(&"okta.signin.multiple_countries".into()));
    let vpn = vec![
        sign_in(0, "cy"),
        sign_in(600, "cy").from("185.220.101.5", "Germany").proxy(),
    ];
    let ids = fired(&detect(vpn));
    assert!(!ids.contains(&"okta.signin.multiple_countries".into()));
    assert!(ids.contains(&"okta.signin.anonymizing_proxy".into()));
}

#[test]
fn resets_abandoned_challenges_mfa_failures_and_unauthorized_apps() {
    let resets: Vec<E> = (0..5)
        .map(|i| E::new(i * 60, "system.email.password_reset.sent_message", "ana"))
        .collect();
    assert!(fired(&detect(resets)).contains(&"okta.password_reset_storm".into()));

    let abandoned: Vec<E> = (0..6)
        .map(|i| {
            E::new(i * 60, "user.authentication.auth_via_mfa", &format!("u{i}"))
                .outcome("UNANSWERED")
                .from("203.0.113.3", "Peru")
        })
        .collect();
    assert!(fired(&detect(abandoned)).contains(&"okta.mfa.abandonment".into()));

    let mfa: Vec<E> = (0..10)
        .map(|i| {
            E::new(i * 20, "user.authentication.auth_via_mfa", "bo")
                .failed("INVALID_CREDENTIALS")
                .debug("factor", "TOTP")
        })
        .collect();
    assert!(fired(&detect(mfa)).contains(&"okta.mfa.many_failures".into()));

    let apps = |n: i64| -> Vec<E> {
        (0..n)
            .map(|i| {
                E::new(i * 60, "app.generic.unauth_app_access_attempt", "cy").outcome("FAILURE")
            })
            .collect()
    };
    assert!(fired(&detect(apps(5))).contains(&"okta.app.unauthorized_access".into()));
    assert!(!fired(&detect(apps(4))).contains(&"okta.app.unauthorized_access".into()));
}

#[test]
fn thresholds_are_settings() {
    let three: Vec<E> = (0..3).flat_map(|i| denial(i * 60, "ana")).collect();
    assert!(!fired(&detect(three)).contains(&"okta.mfa.push_bombing".into()));
    let settings = DetectionSettings {
        params: BTreeMap::from([(
            "okta.mfa.push_bombing".to_string(),
            BTreeMap::from([("min_denials".to_string(), 3.0)]),
        )]),
        disabled: vec!["okta.user.account_locked".into()],
        ..DetectionSettings::default()
    };
    let tuned = Detector::from_settings(&settings).unwrap();
    let three: Vec<E> = (0..3).flat_map(|i| denial(i * 60, "ana")).collect();
    assert!(
        fired(&detect_with(&tuned, three, &Context::default()))
            .contains(&"okta.mfa.push_bombing".into())
    );
    assert!(
        tuned
            .rules()
            .iter()
            .all(|r| r.id != "okta.user.account_locked")
    );

    for (settings, says) in [
        (
            DetectionSettings {
                disabled: vec!["okta.no_such_rule".into()],
                ..DetectionSettings::default()
            },
            "okta.no_such_rule",
        ),
        (
            DetectionSettings {
                params: BTreeMap::from([(
                    "okta.mfa.push_bombing".to_string(),
                    BTreeMap::from([("min_pushes".to_string(), 3.0)]),
                )]),
                ..DetectionSettings::default()
            },
            "it has: min_denials, window_minutes",
        ),
    ] {
        let err = Detector::from_settings(&settings).unwrap_err().to_string();
        assert!(err.contains(says), "{err}");
    }
}

#[test]
fn the_catalogue_is_large_unique_and_cited() {
    let rules = oktasync_detect::builtin();
    assert!(rules.len() >= 50, "{}", rules.len());
    let mut ids: Vec<&str> = rules.iter().map(|r| r.id.as_str()).collect();
    ids.sort();
    let n = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), n, "ids are unique");
    for r in &rules {
        assert!(!r.sources.is_empty(), "{} names no source", r.id);
        assert!(!r.description.is_empty() && !r.title.is_empty(), "{}", r.id);
    }
    let windowed = rules
        .iter()
        .filter(|r| !matches!(r.logic, oktasync_detect::Logic::Event { .. }))
        .count();
    assert!(windowed >= 15, "{windowed}");
}

#[test]
fn failed_sign_ins_for_a_look_alike_of_a_real_login() {
    let ctx = Context::with_logins(["tracey.stone@acme.io".to_string(), "bo@acme.io".to_string()]);
    let attempt = |name: &str| {
        let mut e = failure(0, "x").failed("VERIFICATION_ERROR");
        e.v["actor"] = serde_json::json!({"id": "unknown", "type": "User",
                                          "alternateId": name, "displayName": "unknown"});
        e
    };
    let hits = detect_with(
        &Detector::builtin(),
        vec![attempt("tracey_stone@acme.io")],
        &ctx,
    );
    assert!(fired(&hits).contains(&"okta.signin.lookalike_username".into()));
    for name in ["tracey.stone@acme.io", "nobody@acme.io"] {
        let quiet = detect_with(&Detector::builtin(), vec![attempt(name)], &ctx);
        assert!(
            !fired(&quiet).contains(&"okta.signin.lookalike_username".into()),
            "{name}"
        );
    }
}

#[test]
fn below_their_thresholds_the_count_rules_stay_quiet() {
    // Ten failures for one user from four IPs in one country: not many sources.
    let few_sources: Vec<E> = (0..10)
        .map(|i| failure(i * 60, "bo").from(&format!("192.0.2.{}", i % 4), "Chile"))
        .collect();
    assert!(!fired(&detect(few_sources)).contains(&"okta.brute_force.multi_source".into()));
    // Five accounts locked from one IP: one short of many.
    let five: Vec<E> = (0..5)
        .map(|i| {
            E::new(i * 30, "user.account.lock", &format!("u{i}")).from("198.51.100.99", "Chile")
        })
        .collect();
    assert!(!fired(&detect(five)).contains(&"okta.lockouts.many_accounts".into()));
    // Four reset emails in an hour.
    let resets: Vec<E> = (0..4)
        .map(|i| E::new(i * 60, "system.email.password_reset.sent_message", "ana"))
        .collect();
    assert!(!fired(&detect(resets)).contains(&"okta.password_reset_storm".into()));
    // Five unanswered challenges for five users from one IP.
    let abandoned: Vec<E> = (0..5)
        .map(|i| {
            E::new(i * 60, "user.authentication.auth_via_mfa", &format!("u{i}"))
                .outcome("UNANSWERED")
                .from("203.0.113.3", "Peru")
        })
        .collect();
    assert!(!fired(&detect(abandoned)).contains(&"okta.mfa.abandonment".into()));
    // Nine MFA failures in five minutes, and ten spread over an hour.
    let nine: Vec<E> = (0..9)
        .map(|i| {
            E::new(i * 20, "user.authentication.auth_via_mfa", "bo").failed("INVALID_CREDENTIALS")
        })
        .collect();
    assert!(!fired(&detect(nine)).contains(&"okta.mfa.many_failures".into()));
    let spread: Vec<E> = (0..10)
        .map(|i| {
            E::new(i * 400, "user.authentication.auth_via_mfa", "bo").failed("INVALID_CREDENTIALS")
        })
        .collect();
    assert!(!fired(&detect(spread)).contains(&"okta.mfa.many_failures".into()));
}
