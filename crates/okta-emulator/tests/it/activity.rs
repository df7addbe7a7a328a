//! Normal sign-in activity (`/__emulator/activity`): its events' shapes, and that whatever
//! the draws it stays below what attack detections look for.

use crate::common::Emu;
use okta_emulator::OrgSize;
use okta_emulator::activity::Activity;
use okta_emulator::generate::{GenParams, generate};
use okta_emulator::model::{Org, parse_ts};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};

const MINUTE: i64 = 60_000;
const HOUR: i64 = 60 * MINUTE;

fn published(ev: &Value) -> i64 {
    parse_ts(ev["published"].as_str().unwrap()).unwrap()
}

fn text<'a>(ev: &'a Value, pointer: &str) -> &'a str {
    ev.pointer(pointer).and_then(Value::as_str).unwrap_or("")
}

/// The most of `times` (sorted) inside any window of `width`, and where it starts.
fn densest(times: &[i64], width: i64) -> usize {
    let mut best = 0;
    let mut start = 0;
    for end in 0..times.len() {
        while times[end] - times[start] >= width {
            start += 1;
        }
        best = best.max(end - start + 1);
    }
    best
}

fn sorted(mut v: Vec<i64>) -> Vec<i64> {
    v.sort_unstable();
    v
}

/// Checks every bound normal activity keeps (see the activity module), over `events`.
fn assert_below_detection_limits(events: &[Value]) {
    let mut user_failures: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    let mut ip_failures: BTreeMap<&str, Vec<(i64, &str)>> = BTreeMap::new();
    let mut user_locks: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    let mut ip_locks: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    let mut denies: BTreeMap<&str, Vec<i64>> = BTreeMap::new();
    let mut devices: BTreeMap<&str, BTreeSet<(&str, &str)>> = BTreeMap::new();
    let mut successes: BTreeMap<&str, Vec<(i64, &str)>> = BTreeMap::new();
    for ev in events {
        let (t, kind) = (published(ev), text(ev, "/eventType"));
        let actor = text(ev, "/actor/id");
        let ip = text(ev, "/client/ipAddress");
        assert!(
            !matches!(
                kind,
                "user.account.privilege.grant"
                    | "group.privilege.grant"
                    | "system.api_token.create"
                    | "security.threat.detected"
                    | "security.attack.start"
            ) && !kind.starts_with("user.session.impersonation"),
            "{kind} in normal activity"
        );
        assert_ne!(actor, "unknown", "{ev}");
        assert_eq!(text(ev, "/debugContext/debugData/threatSuspected"), "false");
        let failed = text(ev, "/outcome/result") == "FAILURE";
        if failed {
            user_failures.entry(actor).or_default().push(t);
            ip_failures.entry(ip).or_default().push((t, actor));
        }
        if kind == "user.account.lock" {
            user_locks.entry(actor).or_default().push(t);
            ip_locks.entry(ip).or_default().push(t);
        }
        if failed
            && (kind == "user.mfa.okta_verify.deny_push"
                || text(ev, "/debugContext/debugData/factor") == "OKTA_VERIFY_PUSH")
        {
            denies.entry(actor).or_default().push(t);
        }
        if let Some(dt) = ev.pointer("/debugContext/debugData/dtHash") {
            let agent = (
                text(ev, "/client/userAgent/os"),
                text(ev, "/client/userAgent/browser"),
            );
            devices
                .entry(dt.as_str().unwrap())
                .or_default()
                .insert(agent);
        }
        if kind == "user.session.start" && !failed {
            let country = text(ev, "/client/geographicalContext/country");
            successes.entry(actor).or_default().push((t, country));
        }
    }
    for (user, times) in user_failures {
        let n = densest(&sorted(times), HOUR);
        assert!(n <= 3, "{user}: {n} failures in an hour");
    }
    for (ip, list) in ip_failures {
        let mut list = list;
        list.sort_unstable();
        let times: Vec<i64> = list.iter().map(|x| x.0).collect();
        assert!(densest(&times, HOUR) <= 5, "{ip}: over 5 failures an hour");
        for (i, (t, _)) in list.iter().enumerate() {
            let users: BTreeSet<&str> = list[i..]
                .iter()
                .take_while(|(x, _)| x - t < HOUR)
                .map(|(_, u)| *u)
                .collect();
            assert!(
                users.len() <= 3,
                "{ip}: {} failing users in an hour",
                users.len()
            );
        }
    }
    for (user, times) in user_locks {
        assert!(
            densest(&sorted(times), 3 * HOUR) <= 1,
            "{user}: locked twice in 3 h"
        );
    }
    for (ip, times) in ip_locks {
        assert!(
            densest(&sorted(times), 5 * MINUTE) <= 2,
            "{ip}: 3 locks in 5 min"
        );
    }
    for (user, times) in denies {
        let n = densest(&sorted(times), 10 * MINUTE);
        assert!(n <= 2, "{user}: {n} push denials in 10 min");
    }
    for (dt, agents) in devices {
        assert_eq!(agents.len(), 1, "dtHash {dt} seen with {agents:?}");
    }
    for (user, mut list) in successes {
        list.sort_unstable();
        for w in list.windows(2) {
            if w[0].1 != w[1].1 {
                assert!(
                    w[1].0 - w[0].0 >= 4 * HOUR,
                    "{user}: {} then {} within 4 h",
                    w[0].1,
                    w[1].1
                );
            }
        }
    }
}

/// The events logged from `seq` on.
fn events_from(org: &Org, seq: usize) -> Vec<Value> {
    org.log[seq..]
        .iter()
        .map(|e| serde_json::from_slice(&e.json).unwrap())
        .collect()
}

/// Plays `minutes` of activity at the default rate on a generated org, in-process.
fn activity_on(size: OrgSize, seed: u64, minutes: i64) -> Vec<Value> {
    let anchor = crate::common::anchor();
    let mut org = generate(GenParams::new(seed, size, None, None, None, anchor));
    let start = org.log.len();
    let end = anchor.timestamp_millis();
    let mut activity = Activity::new(&org);
    let rate = Activity::default_rate(&org);
    // In chunks, as the live server writes it, so that sessions span runs.
    let chunk = 7 * MINUTE;
    let mut from = end - minutes * MINUTE;
    while from < end {
        let to = (from + chunk).min(end);
        activity.run(&mut org, from, to, rate);
        from = to;
    }
    events_from(&org, start)
}

/// A medium org's day takes ~20 s unoptimised: the test plays a small org's day, and
/// `medium_day_figures` (ignored) a medium one's.
#[test]
fn an_hour_of_a_medium_org_and_a_day_of_a_small_one_stay_below_detection_limits() {
    let hour = activity_on(OrgSize::Medium, 81, 60);
    // About 3 sign-ins a day for each of ~7,800 ACTIVE users: ~1,000 sign-ins an hour.
    assert!((3_000..8_000).contains(&hour.len()), "{}", hour.len());
    assert_below_detection_limits(&hour);
    let day = activity_on(OrgSize::Small, 82, 24 * 60);
    assert!((8_000..20_000).contains(&day.len()), "{}", day.len());
    assert_below_detection_limits(&day);
    let kinds: BTreeSet<&str> = day.iter().map(|e| text(e, "/eventType")).collect();
    for kind in [
        "user.session.start",
        "user.authentication.auth_via_mfa",
        "system.push.send_factor_verify_push",
        "policy.evaluate_sign_on",
        "user.authentication.sso",
    ] {
        assert!(kinds.contains(kind), "no {kind} in a day");
    }
    let failures = day
        .iter()
        .filter(|e| text(e, "/outcome/result") == "FAILURE")
        .count();
    assert!(failures > 0, "a day has some mistyped passwords");
    assert!(
        day.iter()
            .any(|e| e["securityContext"]["isProxy"] == json!(true)),
        "a day has VPN sign-ins"
    );
}

#[tokio::test]
async fn the_activity_route_writes_sessions_read_back_through_the_log() {
    let e = Emu::start(OrgSize::Small, 83).await;
    let before = e.log_len();
    let r = e
        .call(
            Method::POST,
            "/__emulator/activity",
            Some(json!({"minutes": 60})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let written = r.body["events"].as_u64().unwrap() as usize;
    assert!(r.body["sign_ins"].as_u64().unwrap() > 20, "{}", r.body);
    assert_eq!(e.log_len(), before + written);
    let now = e.clock_now_ms();
    let since = okta_emulator::model::format_ts(now - 2 * HOUR);
    let events = e
        .walk(&format!(
            "/api/v1/logs?since={since}&until={}&limit=1000",
            okta_emulator::model::format_ts(now + 1)
        ))
        .await;
    // Sessions that started in the last minute or two finish after now: not yet written.
    assert_eq!(events.len(), written);
    let times: Vec<i64> = events.iter().map(published).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]));
    assert!(times[0] >= now - HOUR && *times.last().unwrap() <= now);
    let mut by_session: BTreeMap<&str, Vec<&Value>> = BTreeMap::new();
    for ev in &events {
        for (k, v) in ev["debugContext"]["debugData"].as_object().unwrap() {
            assert!(v.is_string(), "debugData.{k} = {v}");
        }
        let geo = &ev["client"]["geographicalContext"];
        for key in ["city", "state", "country", "postalCode"] {
            assert!(geo[key].is_string(), "{ev}");
        }
        assert!(geo["geolocation"]["lat"].is_f64());
        assert_eq!(ev["request"]["ipChain"][0]["ip"], ev["client"]["ipAddress"]);
        assert!(ev["securityContext"]["asNumber"].is_u64());
        let dt = text(ev, "/debugContext/debugData/dtHash");
        assert!(
            dt.len() == 64 && dt.chars().all(|c| c.is_ascii_hexdigit()),
            "{ev}"
        );
        let session = text(ev, "/authenticationContext/externalSessionId");
        if session != "unknown" {
            by_session.entry(session).or_default().push(ev);
        }
    }
    // One session: one user, one browser, one address; it starts with user.session.start.
    for (session, evs) in &by_session {
        let one = |p: &str| {
            evs.iter()
                .map(|e| text(e, p))
                .collect::<BTreeSet<_>>()
                .len()
        };
        assert_eq!(one("/actor/id"), 1, "{session}");
        assert_eq!(one("/debugContext/debugData/dtHash"), 1, "{session}");
        assert_eq!(one("/client/ipAddress"), 1, "{session}");
        assert_eq!(
            text(evs[0], "/eventType"),
            "user.session.start",
            "{session}"
        );
        for ev in evs
            .iter()
            .filter(|e| e["eventType"] == "user.authentication.sso")
        {
            let types: Vec<&str> = ev["target"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t["type"].as_str().unwrap())
                .collect();
            assert_eq!(types, ["AppInstance", "AppUser"]);
        }
    }
    // The rest is written by the next run; the org's objects never change.
    let export = e.export();
    e.tick();
    let r = e
        .call(
            Method::POST,
            "/__emulator/activity",
            Some(json!({"minutes": 0})),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["sign_ins"], 0);
    assert_eq!(e.export(), export);

    for bad in [
        json!({}),
        json!({"minutes": -1}),
        json!({"minutes": 1_000_000}),
        json!({"from": "2026-11-02T00:00:00Z"}),
        json!({"minutes": 5, "rate": "fast"}),
    ] {
        let r = e
            .call(Method::POST, "/__emulator/activity", Some(bad.clone()))
            .await;
        assert_eq!((r.status, r.error_code()), (400, "E0000001"), "{bad}");
    }
}

#[tokio::test]
async fn a_live_rate_writes_activity_as_the_clock_moves() {
    let e = Emu::start_with(okta_emulator::EmulatorConfig {
        size: OrgSize::Tiny,
        seed: 84,
        activity_rate: 30.0,
        activity_minutes: 30,
        ..Default::default()
    })
    .await;
    let generated = e.log_len();
    let history_end = crate::common::anchor().timestamp_millis();
    let org_events = events_from(&e.emu.state().org.read(), 0);
    let activity: Vec<&Value> = org_events
        .iter()
        .filter(|ev| published(ev) >= history_end - 30 * MINUTE)
        .collect();
    assert!(activity.len() > 100, "the history ends with activity");
    // The clock stands still: nothing new.
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    assert_eq!(e.log_len(), generated);
    e.clock.advance(chrono::Duration::minutes(10));
    let mut waited = 0;
    while e.log_len() == generated && waited < 50 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    assert!(e.log_len() > generated + 100, "ten minutes at 30 a minute");
}

/// The rate and speed figures: `cargo test --release -p okta-emulator --test it
/// medium_day -- --ignored --nocapture`.
#[test]
#[ignore]
fn medium_day_figures() {
    let anchor = crate::common::anchor();
    let started = std::time::Instant::now();
    let mut org = generate(GenParams::new(
        85,
        OrgSize::Medium,
        None,
        None,
        None,
        anchor,
    ));
    let generated = started.elapsed();
    let start = org.log.len();
    let end = anchor.timestamp_millis();
    let mut activity = Activity::new(&org);
    let rate = Activity::default_rate(&org);
    let started = std::time::Instant::now();
    activity.run(&mut org, end - 24 * HOUR, end, rate);
    let elapsed = started.elapsed();
    eprintln!("org generated in {generated:.2?}; default rate {rate:.1} sign-ins a minute");
    let day = events_from(&org, start);
    let sign_ins = day
        .iter()
        .filter(|e| e["eventType"] == "user.session.start" && e["outcome"]["result"] == "SUCCESS")
        .count();
    eprintln!(
        "a medium org's day: {} events, {sign_ins} sign-ins, written in {elapsed:.2?}",
        day.len()
    );
    assert_below_detection_limits(&day);
}
