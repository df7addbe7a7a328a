//! Attack scenarios (`/__emulator/scenario`): the events each writes, read back through
//! `/api/v1/logs`, and the org changes they make.

use crate::common::{Emu, event_types};
use okta_emulator::OrgSize;
use okta_emulator::model::{format_ts, parse_ts};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const NAMES: [&str; 7] = [
    "okta-add-administrator",
    "compromised-root-creds",
    "password-spray",
    "credential-stuffing",
    "push-bombing",
    "cookie-replay",
    "api-token-anywhere",
];

/// Plays `name` (against `user` when given) and returns the answer and its events as
/// `/api/v1/logs` serves them, in log order.
async fn play(e: &Emu, name: &str, user: Option<&str>) -> (Value, Vec<Value>) {
    let mut body = json!({"name": name});
    if let Some(u) = user {
        body["user"] = u.into();
    }
    let r = e
        .call(Method::POST, "/__emulator/scenario", Some(body))
        .await;
    assert_eq!(r.status, 200, "{name}: {}", r.body);
    let since = format_ts(e.clock_now_ms() - 40 * 60_000);
    let all = e
        .get(&format!("/api/v1/logs?since={since}&limit=1000"))
        .await;
    assert_eq!(all.status, 200);
    let uuids: Vec<&str> = r.body["uuids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    let events: Vec<Value> = all
        .array()
        .iter()
        .filter(|ev| uuids.contains(&ev["uuid"].as_str().unwrap()))
        .cloned()
        .collect();
    assert_eq!(events.len(), uuids.len(), "{name}: every event is served");
    assert_eq!(r.body["events"], uuids.len());
    assert_eq!(r.body["name"], name);
    check_common(name, &r.body, &events, e.clock_now_ms());
    (r.body, events)
}

fn published(ev: &Value) -> i64 {
    parse_ts(ev["published"].as_str().unwrap()).unwrap()
}

/// Shapes every scenario keeps: published strictly increasing, in the last 25 minutes and
/// ending now; every debugData value a string; every sign-in event geolocated.
fn check_common(name: &str, answer: &Value, events: &[Value], now: i64) {
    let times: Vec<i64> = events.iter().map(published).collect();
    assert!(
        times.windows(2).all(|w| w[0] < w[1]),
        "{name}: strictly increasing: {:?}",
        event_types(events)
    );
    assert_eq!(
        *times.last().unwrap(),
        now,
        "{name}: ends at the clock's now"
    );
    assert!(now - times[0] <= 25 * 60_000, "{name}: within 25 minutes");
    assert_eq!(answer["first_published"], events[0]["published"]);
    assert_eq!(
        answer["last_published"],
        events.last().unwrap()["published"]
    );
    for ev in events {
        for (k, v) in ev["debugContext"]["debugData"].as_object().unwrap() {
            assert!(v.is_string(), "{name}: debugData.{k} = {v}");
        }
        let client = &ev["client"];
        assert!(
            client["geographicalContext"]["country"].is_string(),
            "{name}: {ev}"
        );
        assert_eq!(
            ev["request"]["ipChain"][0]["ip"], client["ipAddress"],
            "{name}"
        );
        assert!(ev["securityContext"]["asNumber"].is_u64(), "{name}");
        assert!(ev["securityContext"]["isProxy"].is_boolean(), "{name}");
        for key in ["externalSessionId", "rootSessionId"] {
            assert!(ev["authenticationContext"][key].is_string(), "{name}");
        }
    }
}

fn outcome(ev: &Value) -> (&str, Option<&str>) {
    (
        ev["outcome"]["result"].as_str().unwrap(),
        ev["outcome"]["reason"].as_str(),
    )
}

fn country(ev: &Value) -> &str {
    ev["client"]["geographicalContext"]["country"]
        .as_str()
        .unwrap()
}

fn ip(ev: &Value) -> &str {
    ev["client"]["ipAddress"].as_str().unwrap()
}

#[tokio::test]
async fn the_list_names_the_seven_scenarios_and_errors_are_oktas() {
    let e = Emu::start(OrgSize::Tiny, 61).await;
    let r = e.get("/__emulator/scenario").await;
    assert_eq!(r.status, 200);
    let names: Vec<&str> = r.body["scenarios"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            assert!(s["description"].as_str().is_some_and(|d| !d.is_empty()));
            s["name"].as_str().unwrap()
        })
        .collect();
    assert_eq!(names, NAMES);

    let before = e.log_len();
    let r = e
        .call(
            Method::POST,
            "/__emulator/scenario",
            Some(json!({"name": "nope"})),
        )
        .await;
    assert_eq!((r.status, r.error_code()), (404, "E0000007"));
    let summary = r.body["errorSummary"].as_str().unwrap();
    assert!(NAMES.iter().all(|n| summary.contains(n)), "{summary}");
    let r = e
        .call(
            Method::POST,
            "/__emulator/scenario",
            Some(json!({"name": "password-spray", "user": "nobody@example.com"})),
        )
        .await;
    assert_eq!((r.status, r.error_code()), (404, "E0000007"));
    let r = e
        .http
        .post(e.url("/__emulator/scenario"))
        .header(
            "Authorization",
            format!("SSWS {}", okta_emulator::config::DEFAULT_TOKEN),
        )
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["errorCode"], "E0000003");
    let r = e
        .call(Method::POST, "/__emulator/scenario", Some(json!({})))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(e.log_len(), before, "refused requests write nothing");
}

#[tokio::test]
async fn add_administrator_brute_forces_then_makes_a_real_admin() {
    let e = Emu::start(OrgSize::Small, 62).await;
    let (answer, events) = play(&e, "okta-add-administrator", None).await;
    let victim = answer["user"]["id"].as_str().unwrap();
    let login = answer["user"]["login"].as_str().unwrap();
    assert!(login.split('@').next().unwrap().contains('.'), "{login}");
    let roles = e.get(&format!("/api/v1/users/{victim}/roles")).await;
    assert!(roles.array().is_empty(), "the victim is no admin");
    // The new user gets the apps assigned to Everyone, as on Okta.
    let created = answer["created_user"]["id"].as_str().unwrap();
    let (apps, events): (Vec<Value>, Vec<Value>) = events
        .into_iter()
        .partition(|ev| ev["eventType"] == "application.user_membership.add");
    for ev in &apps {
        assert_eq!(ev["target"][0]["id"], created);
    }
    assert_eq!(
        event_types(&events),
        [
            vec!["user.session.start"; 12],
            vec![
                "user.lifecycle.create",
                "user.lifecycle.activate",
                "user.account.privilege.grant"
            ]
        ]
        .concat()
    );
    for ev in &events {
        assert_eq!(ev["actor"]["id"], victim);
    }
    for ev in &events[..2] {
        assert_eq!(outcome(ev), ("SUCCESS", None));
        assert_eq!(ev["legacyEventType"], "core.user_auth.login_success");
        assert_eq!(country(ev), "United States");
    }
    let failures = &events[2..11];
    let countries: Vec<&str> = failures.iter().map(country).collect();
    assert_eq!(
        countries,
        [
            "Argentina",
            "Japan",
            "Italy",
            "Argentina",
            "France",
            "France",
            "France",
            "France",
            "France"
        ]
    );
    for (i, ev) in failures.iter().enumerate() {
        assert_eq!(outcome(ev), ("FAILURE", Some("VERIFICATION_ERROR")));
        assert_eq!(ev["legacyEventType"], "core.user_auth.login_failed");
        let debug = &ev["debugContext"]["debugData"];
        assert_eq!(debug["loginResult"], "VERIFICATION_ERROR");
        assert_eq!(debug["requestUri"], "/api/v1/authn");
        if i > 0 {
            let gap = published(ev) - published(&failures[i - 1]);
            assert!((60_000..61_000).contains(&gap), "a minute apart: {gap}");
        }
    }
    let french_ip = ip(&failures[8]).to_string();
    for ev in &events[11..] {
        assert_eq!(outcome(ev), ("SUCCESS", None));
        assert_eq!(ip(ev), french_ip);
        assert_eq!(country(ev), "France");
    }
    assert_eq!(events[12]["target"][0]["id"], created);
    let grant = &events[14];
    assert_eq!(grant["target"][0]["id"], created);
    assert_eq!(
        grant["debugContext"]["debugData"]["privilegeGranted"],
        "Organization administrator, Application administrator (all)"
    );
    let user = e.get(&format!("/api/v1/users/{created}")).await;
    assert_eq!(user.body["status"], "ACTIVE");
    let roles = e.get(&format!("/api/v1/users/{created}/roles")).await;
    let types: BTreeSet<&str> = roles
        .array()
        .iter()
        .map(|r| r["type"].as_str().unwrap())
        .collect();
    assert_eq!(types, BTreeSet::from(["APP_ADMIN", "ORG_ADMIN"]));

    // The same org picks the same victim; a second play writes new events.
    let (again, _) = play(&e, "okta-add-administrator", None).await;
    assert_eq!(again["user"]["id"], victim);
    let first: BTreeSet<&str> = answer["uuids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u.as_str().unwrap())
        .collect();
    assert!(
        again["uuids"]
            .as_array()
            .unwrap()
            .iter()
            .all(|u| !first.contains(u.as_str().unwrap()))
    );
    assert_ne!(again["created_user"]["id"], created);
}

#[tokio::test]
async fn compromised_root_creds_fails_for_a_lookalike_from_romania() {
    let e = Emu::start(OrgSize::Small, 63).await;
    let export = e.export();
    let (answer, events) = play(&e, "compromised-root-creds", None).await;
    let login = answer["user"]["login"].as_str().unwrap();
    let (local, domain) = login.split_once('@').unwrap();
    let lookalike = format!("{}@{domain}", local.replacen('.', "_", 1));
    assert_eq!(answer["lookalike"], lookalike.as_str());
    assert_eq!(event_types(&events), vec!["user.session.start"; 3]);
    assert_eq!(outcome(&events[0]), ("SUCCESS", None));
    assert_eq!(events[0]["actor"]["id"], answer["user"]["id"]);
    assert_eq!(country(&events[0]), "United States");
    for ev in &events[1..] {
        assert_eq!(outcome(ev), ("FAILURE", Some("VERIFICATION_ERROR")));
        assert_eq!(
            ev["actor"],
            json!({"id": "unknown", "type": "User", "alternateId": lookalike, "displayName": "unknown", "detailEntry": null})
        );
        assert_eq!(ip(ev), "92.55.146.245");
        assert_eq!(ev["client"]["geographicalContext"]["city"], "Bucharest");
        assert_eq!(country(ev), "Romania");
    }
    assert_eq!(e.export(), export, "the org does not change");

    // A named user without a dot gets a changed first letter.
    let (answer, _) = play(&e, "compromised-root-creds", Some("admin@example.com")).await;
    assert_eq!(answer["lookalike"], "xdmin@example.com");
}

#[tokio::test]
async fn password_spray_tries_ten_users_three_times_from_one_address() {
    let e = Emu::start(OrgSize::Small, 64).await;
    let (answer, events) = play(&e, "password-spray", None).await;
    assert_eq!(events.len(), 30);
    let first = &events[0];
    assert_eq!(first["actor"]["id"], answer["user"]["id"]);
    let ips: BTreeSet<&str> = events.iter().map(ip).collect();
    assert_eq!(ips.len(), 1);
    assert_eq!(first["securityContext"]["isProxy"], false);
    let actors: Vec<&str> = events
        .iter()
        .map(|ev| ev["actor"]["id"].as_str().unwrap())
        .collect();
    let distinct: BTreeSet<&str> = actors.iter().copied().collect();
    assert_eq!(distinct.len(), 10);
    assert!(!distinct.contains("unknown"));
    for a in &distinct {
        assert_eq!(actors.iter().filter(|x| *x == a).count(), 3);
    }
    assert_ne!(actors[0], actors[1], "interleaved");
    for ev in &events {
        assert_eq!(ev["eventType"], "user.session.start");
        assert_eq!(outcome(ev), ("FAILURE", Some("INVALID_CREDENTIALS")));
        assert_eq!(ev["legacyEventType"], "core.user_auth.login_failed");
        let user = e
            .get(&format!(
                "/api/v1/users/{}",
                ev["actor"]["id"].as_str().unwrap()
            ))
            .await;
        assert_eq!(user.body["status"], "ACTIVE");
    }
    let span = published(events.last().unwrap()) - published(first);
    assert!((10 * 60_000..=25 * 60_000).contains(&span), "{span}");
}

#[tokio::test]
async fn credential_stuffing_tries_forty_names_once_then_gets_in() {
    let e = Emu::start(OrgSize::Small, 65).await;
    let (answer, events) = play(&e, "credential-stuffing", None).await;
    assert_eq!(events.len(), 41);
    let ips: BTreeSet<&str> = events.iter().map(ip).collect();
    assert_eq!(ips.len(), 1);
    let failures = &events[..40];
    let names: BTreeSet<&str> = failures
        .iter()
        .map(|ev| ev["actor"]["alternateId"].as_str().unwrap())
        .collect();
    assert_eq!(names.len(), 40, "one try per name");
    let unknown = failures
        .iter()
        .filter(|ev| ev["actor"]["id"] == "unknown")
        .inspect(|ev| assert_eq!(ev["actor"]["displayName"], "unknown"))
        .count();
    assert_eq!(unknown, 20);
    for ev in failures {
        assert_eq!(outcome(ev), ("FAILURE", Some("INVALID_CREDENTIALS")));
    }
    let last = &events[40];
    assert_eq!(outcome(last), ("SUCCESS", None));
    assert_eq!(last["actor"]["id"], answer["user"]["id"]);
    let span = published(last) - published(&events[0]);
    assert!((8 * 60_000..=12 * 60_000).contains(&span), "{span}");
}

#[tokio::test]
async fn push_bombing_denies_six_pushes_then_approves_in_one_session() {
    let e = Emu::start(OrgSize::Small, 66).await;
    let (answer, events) = play(&e, "push-bombing", None).await;
    let mut want = vec!["user.authentication.verify"];
    for _ in 0..6 {
        want.extend([
            "system.push.send_factor_verify_push",
            "user.mfa.okta_verify.deny_push",
            "user.authentication.auth_via_mfa",
        ]);
    }
    want.extend([
        "system.push.send_factor_verify_push",
        "user.authentication.auth_via_mfa",
        "user.session.start",
    ]);
    assert_eq!(event_types(&events), want);
    let session = &events[0]["authenticationContext"]["externalSessionId"];
    let address = ip(&events[0]);
    let victim_home = e
        .emu
        .state()
        .org
        .read()
        .users
        .values()
        .find(|u| u.id.as_str() == answer["user"]["id"].as_str().unwrap())
        .map(|u| okta_emulator::places::persona(&e.emu.state().org.read(), u))
        .unwrap()
        .home;
    assert_ne!(country(&events[0]), victim_home.geo.country);
    for ev in &events {
        assert_eq!(ev["actor"]["id"], answer["user"]["id"]);
        assert_eq!(&ev["authenticationContext"]["externalSessionId"], session);
        assert_eq!(ip(ev), address);
    }
    assert_eq!(outcome(&events[0]), ("SUCCESS", None));
    let denies: Vec<&Value> = events
        .iter()
        .filter(|ev| ev["eventType"] == "user.mfa.okta_verify.deny_push")
        .collect();
    let failed_mfa: Vec<&Value> = events
        .iter()
        .filter(|ev| {
            ev["eventType"] == "user.authentication.auth_via_mfa"
                && ev["outcome"]["result"] == "FAILURE"
        })
        .collect();
    assert_eq!((denies.len(), failed_mfa.len()), (6, 6));
    for ev in denies.iter().chain(&failed_mfa) {
        assert_eq!(outcome(ev), ("FAILURE", Some("INVALID_CREDENTIALS")));
        assert_eq!(
            ev["debugContext"]["debugData"]["factor"],
            "OKTA_VERIFY_PUSH"
        );
    }
    let approved = &events[events.len() - 2];
    assert_eq!(outcome(approved), ("SUCCESS", None));
    assert_eq!(
        approved["debugContext"]["debugData"]["factor"],
        "OKTA_VERIFY_PUSH"
    );
    assert_eq!(outcome(events.last().unwrap()), ("SUCCESS", None));
    assert!(published(events.last().unwrap()) - published(denies[0]) <= 10 * 60_000);
}

#[tokio::test]
async fn cookie_replay_reuses_the_device_token_and_session_from_abroad() {
    let e = Emu::start(OrgSize::Small, 67).await;
    let (answer, events) = play(&e, "cookie-replay", None).await;
    assert_eq!(
        event_types(&events),
        [
            "user.session.start",
            "policy.evaluate_sign_on",
            "user.authentication.sso",
            "policy.evaluate_sign_on",
            "user.authentication.sso"
        ]
    );
    let app = answer["app_id"].as_str().unwrap();
    let victim = answer["user"]["id"].as_str().unwrap();
    let users = e.walk(&format!("/api/v1/apps/{app}/users")).await;
    assert!(
        users.iter().any(|u| u["id"] == victim),
        "one of the victim's apps"
    );
    let dt = answer["dt_hash"].as_str().unwrap();
    assert!(dt.len() == 64 && dt.chars().all(|c| c.is_ascii_hexdigit()));
    for ev in &events {
        assert_eq!(ev["debugContext"]["debugData"]["dtHash"], dt);
        assert_eq!(
            ev["authenticationContext"]["externalSessionId"],
            answer["external_session_id"]
        );
        assert_eq!(
            ev["authenticationContext"]["rootSessionId"],
            events[0]["authenticationContext"]["rootSessionId"]
        );
        assert_eq!(ev["actor"]["id"], victim);
    }
    for ev in [&events[1], &events[3]] {
        assert_eq!(ev["outcome"]["result"], "ALLOW");
    }
    for ev in [&events[2], &events[4]] {
        assert_eq!(outcome(ev), ("SUCCESS", None));
        let types: Vec<&str> = ev["target"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["type"].as_str().unwrap())
            .collect();
        assert_eq!(types, ["AppInstance", "AppUser"]);
        assert_eq!(ev["target"][0]["id"], app);
    }
    let (home, replay) = (&events[2], &events[4]);
    assert_eq!(
        home["client"]["userAgent"]["browser"],
        events[0]["client"]["userAgent"]["browser"]
    );
    assert_ne!(ip(home), ip(replay));
    assert_ne!(country(home), country(replay));
    assert_ne!(
        home["securityContext"]["asNumber"],
        replay["securityContext"]["asNumber"]
    );
    assert_ne!(
        home["client"]["userAgent"]["rawUserAgent"],
        replay["client"]["userAgent"]["rawUserAgent"]
    );
    let gap = published(&events[3]) - published(&events[2]);
    assert!((10 * 60_000..=20 * 60_000).contains(&gap), "{gap}");
}

#[tokio::test]
async fn api_token_anywhere_adds_a_token_the_api_lists() {
    let e = Emu::start(OrgSize::Small, 68).await;
    let before = e.get("/api/v1/api-tokens").await;
    assert_eq!(before.status, 200);
    let generated = before.array().len();
    // the Super Admin's two (three from 100 users) and the configuration's two (see
    // `generate/posture.rs`)
    assert!((4..=5).contains(&generated), "{generated}");
    let connections: BTreeSet<&str> = before
        .array()
        .iter()
        .map(|t| t["network"]["connection"].as_str().unwrap())
        .collect();
    assert_eq!(connections, BTreeSet::from(["ANYWHERE", "ZONE"]));

    let (answer, events) = play(&e, "api-token-anywhere", None).await;
    assert_eq!(event_types(&events), ["system.api_token.create"]);
    let ev = &events[0];
    let admin = answer["user"]["id"].as_str().unwrap();
    assert_eq!(ev["actor"]["id"], admin);
    let roles = e.get(&format!("/api/v1/users/{admin}/roles")).await;
    assert!(roles.array().iter().any(|r| r["type"] == "SUPER_ADMIN"));
    let token = answer["token_id"].as_str().unwrap();
    assert!(token.starts_with("00T") && token.len() == 20, "{token}");
    assert_eq!(
        ev["target"][0],
        json!({"id": token, "type": "Token", "alternateId": "unknown", "displayName": answer["token_name"], "detailEntry": null})
    );
    assert_eq!(
        ev["debugContext"]["debugData"]["networkConnection"],
        "ANYWHERE"
    );

    let listed = e.walk("/api/v1/api-tokens?limit=1").await;
    assert_eq!(listed.len(), generated + 1);
    let got = e.get(&format!("/api/v1/api-tokens/{token}")).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.body["name"], answer["token_name"]);
    assert_eq!(got.body["userId"], admin);
    assert_eq!(got.body["clientName"], "Okta API");
    assert_eq!(got.body["tokenWindow"], "P30D");
    assert_eq!(
        got.body["network"],
        json!({"connection": "ANYWHERE", "include": null, "exclude": null})
    );
    assert!(
        got.body["_links"]["self"]["href"]
            .as_str()
            .unwrap()
            .ends_with(token)
    );
    assert!(got.body.get("token").is_none() && got.body.get("secret").is_none());
    let missing = e.get("/api/v1/api-tokens/00Tnobody000000000000").await;
    assert_eq!((missing.status, missing.error_code()), (404, "E0000007"));

    // A named user who is no Super Admin becomes one to create the token.
    let victim = listed[0]["userId"].as_str().unwrap().to_string();
    let other = e.get("/api/v1/users?limit=5").await;
    let someone = other
        .array()
        .iter()
        .find(|u| u["id"] != victim.as_str() && u["status"] == "ACTIVE")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (answer, events) = play(&e, "api-token-anywhere", Some(&someone)).await;
    assert_eq!(answer["user"]["id"], someone.as_str());
    assert_eq!(events.len(), 1);
    let roles = e.get(&format!("/api/v1/users/{someone}/roles")).await;
    assert!(roles.array().iter().any(|r| r["type"] == "SUPER_ADMIN"));
}
