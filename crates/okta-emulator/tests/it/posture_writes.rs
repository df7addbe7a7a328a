//! Writes to the security configuration over HTTP: network zones, policies and their rules,
//! ThreatInsight, log streams, API tokens, app grants and authenticators. Each write changes
//! what the API serves and the export, moves `lastUpdated`, and writes the System Log event
//! Okta writes (read back through `/api/v1/logs`); unknown ids are 404 E0000007, bad bodies
//! 400; each write needs its `.manage` scope. Also the API tokens the generator adds to the
//! configuration.

use crate::common::{Emu, bare};
use okta_emulator::config::OAuthClientConfig;
use okta_emulator::{EmulatorConfig, OrgSize};
use reqwest::Method;
use serde_json::{Value, json};

const SECRET: &str = "posture-writes-secret-0123456789";

/// Every scope the configuration's writes need.
const MANAGE_SCOPES: [&str; 7] = [
    "okta.policies.manage",
    "okta.authenticators.manage",
    "okta.networkZones.manage",
    "okta.threatInsights.manage",
    "okta.logStreams.manage",
    "okta.appGrants.manage",
    "okta.apiTokens.manage",
];

/// The read scopes of the same resources, which cover no write.
const READ_SCOPES: [&str; 7] = [
    "okta.policies.read",
    "okta.authenticators.read",
    "okta.networkZones.read",
    "okta.threatInsights.read",
    "okta.logStreams.read",
    "okta.appGrants.read",
    "okta.apiTokens.read",
];

/// A small org with a client that manages the configuration and one that only reads it.
async fn org(seed: u64) -> Emu {
    Emu::start_with(EmulatorConfig {
        size: OrgSize::Small,
        seed,
        oauth_clients: vec![
            OAuthClientConfig::with_secret("0oa-config-writer", SECRET, &MANAGE_SCOPES),
            OAuthClientConfig::with_secret("0oa-config-reader", SECRET, &READ_SCOPES),
        ],
        ..EmulatorConfig::default()
    })
    .await
}

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

fn named<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("nothing named {name:?} in {list:?}"))
}

/// The events written from `since` on (a bounded request, so that it ends).
async fn events_since(e: &Emu, since: &str) -> Vec<Value> {
    let until = okta_emulator::model::format_ts(e.clock_now_ms() + 1000);
    e.walk(&format!(
        "/api/v1/logs?since={since}&until={until}&limit=1000"
    ))
    .await
}

/// The only event of `event_type` since `since`.
async fn one_event(e: &Emu, since: &str, event_type: &str) -> Value {
    let events: Vec<Value> = events_since(e, since)
        .await
        .into_iter()
        .filter(|ev| ev["eventType"] == event_type)
        .collect();
    assert_eq!(events.len(), 1, "{event_type}: {events:?}");
    events.into_iter().next().unwrap()
}

/// `(type, id, displayName)` of each target of an event.
fn targets(event: &Value) -> Vec<(String, String, String)> {
    event["target"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            (
                t["type"].as_str().unwrap().to_string(),
                t["id"].as_str().unwrap().to_string(),
                t["displayName"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn assert_error(r: &crate::common::Resp, status: u16, code: &str, what: &str) {
    assert_eq!(
        (r.status, r.error_code()),
        (status, code),
        "{what}: {}",
        r.body
    );
}

/// Moves the clock on and returns the time writes after it happen at (whole seconds, as
/// Okta's object timestamps are).
fn next_second(e: &Emu) -> String {
    e.tick();
    e.now_text()
}

#[tokio::test]
async fn network_zones_are_replaced_activated_and_deactivated_with_their_events() {
    let e = org(31).await;
    let zones = e.walk("/api/v1/zones").await;
    let corporate = named(&zones, "Corporate offices").clone();
    let zid = id(&corporate).to_string();
    let path = format!("/api/v1/zones/{zid}");

    let since = next_second(&e);
    let body = json!({
        "type": "IP",
        "name": "Corporate offices and VPN",
        "gateways": [{"type": "CIDR", "value": "203.0.113.0/24"}, {"type": "RANGE", "value": "198.51.100.10-198.51.100.20"}],
        "proxies": [{"type": "CIDR", "value": "192.0.2.0/28"}],
        // read-only properties a client sends back are ignored
        "id": zid, "system": true, "status": "INACTIVE", "created": "2001-01-01T00:00:00.000Z",
    });
    let r = e.call(Method::PUT, &path, Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], "Corporate offices and VPN");
    assert_eq!(
        r.body["gateways"][1]["value"],
        "198.51.100.10-198.51.100.20"
    );
    assert_eq!(r.body["proxies"][0]["value"], "192.0.2.0/28");
    for key in ["id", "type", "usage", "system", "status", "created"] {
        assert_eq!(r.body[key], corporate[key], "{key} stays");
    }
    assert_eq!(r.body["lastUpdated"], since.as_str());
    assert!(
        r.body["_links"]["self"]["href"]
            .as_str()
            .unwrap()
            .ends_with(&zid)
    );
    let got = e.get(&path).await;
    assert_eq!(got.body, r.body, "GET serves the replaced zone");
    let event = one_event(&e, &since, "zone.update").await;
    assert_eq!(
        targets(&event),
        [(
            "NetworkZone".into(),
            zid.clone(),
            "Corporate offices and VPN".into()
        )]
    );
    assert_eq!(event["displayMessage"], "Update network zone");
    assert_eq!(
        event["debugContext"]["debugData"]["requestUri"],
        path.as_str()
    );
    // the export holds the zone as served
    let export = e.export();
    let exported = export["network_zones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["id"] == zid.as_str())
        .unwrap();
    assert_eq!(exported, &bare(&got.body));

    // a property left out keeps its value
    let r = e
        .call(
            Method::PUT,
            &path,
            Some(json!({"type": "IP", "name": "Offices"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["gateways"], got.body["gateways"]);

    // deactivate, again (nothing changes, no event), activate
    let since = next_second(&e);
    let r = e
        .call(Method::POST, &format!("{path}/lifecycle/deactivate"), None)
        .await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("INACTIVE"))
    );
    assert_eq!(r.body["lastUpdated"], since.as_str());
    assert!(r.body["_links"]["activate"]["href"].is_string());
    let again = e
        .call(Method::POST, &format!("{path}/lifecycle/deactivate"), None)
        .await;
    assert_eq!(again.body, r.body);
    let event = one_event(&e, &since, "zone.deactivate").await;
    assert_eq!(targets(&event)[0].1, zid);
    assert_eq!(e.get(&path).await.body["status"], "INACTIVE");
    let since = next_second(&e);
    let r = e
        .call(Method::POST, &format!("{path}/lifecycle/activate"), None)
        .await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("ACTIVE")));
    one_event(&e, &since, "zone.activate").await;

    // Okta's refusals; none of them changes anything or writes an event
    let before = e.get(&path).await.body;
    let since = next_second(&e);
    let log_len = e.log_len();
    for (body, what) in [
        (json!({"type": "IP"}), "no name"),
        (json!({"type": "IP", "name": "  "}), "a blank name"),
        (
            json!({"type": "IP", "name": "x".repeat(129)}),
            "a long name",
        ),
        (json!({"name": "Offices"}), "no type"),
        (
            json!({"type": "DYNAMIC", "name": "Offices"}),
            "another type",
        ),
        (
            json!({"type": "IP", "name": "LegacyIpZone"}),
            "a name in use",
        ),
        (
            json!({"type": "IP", "name": "Offices", "usage": "EVERYTHING"}),
            "an unknown usage",
        ),
        (
            json!({"type": "IP", "name": "Offices", "gateways": [{"type": "CIDR", "value": "10.0.0.0/40"}]}),
            "a bad CIDR",
        ),
        (
            json!({"type": "IP", "name": "Offices", "gateways": [{"type": "RANGE", "value": "10.0.0.9-10.0.0.1"}]}),
            "a backwards range",
        ),
        (
            json!({"type": "IP", "name": "Offices", "gateways": "10.0.0.0/8"}),
            "gateways not a list",
        ),
    ] {
        let r = e.call(Method::PUT, &path, Some(body)).await;
        assert_error(&r, 400, "E0000001", what);
    }
    let exempt = id(named(&zones, "DefaultExemptIpZone")).to_string();
    let r = e
        .call(
            Method::PUT,
            &format!("/api/v1/zones/{exempt}"),
            Some(json!({"type": "IP", "name": "DefaultExemptIpZone", "proxies": [{"type": "CIDR", "value": "10.0.0.0/8"}]})),
        )
        .await;
    assert_error(&r, 400, "E0000001", "proxies on the exempt zone");
    let malformed = e
        .http
        .put(e.url(&path))
        .header(
            "Authorization",
            format!("SSWS {}", okta_emulator::config::DEFAULT_TOKEN),
        )
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
    let malformed: Value = malformed.json().await.unwrap();
    assert_eq!(malformed["errorCode"], "E0000003");
    for (method, p) in [
        (
            Method::PUT,
            "/api/v1/zones/nzonothing0000000000".to_string(),
        ),
        (
            Method::POST,
            "/api/v1/zones/nzonothing0000000000/lifecycle/activate".to_string(),
        ),
        (Method::POST, format!("{path}/lifecycle/explode")),
    ] {
        let r = e
            .call(method, &p, Some(json!({"type": "IP", "name": "Offices"})))
            .await;
        assert_error(&r, 404, "E0000007", &p);
    }
    assert_eq!(e.get(&path).await.body, before);
    assert_eq!(e.log_len(), log_len, "refusals write no event");
    assert!(events_since(&e, &since).await.is_empty());

    // a dynamic zone's own properties
    let enhanced = id(named(&zones, "DefaultEnhancedDynamicZone")).to_string();
    let r = e
        .call(
            Method::PUT,
            &format!("/api/v1/zones/{enhanced}"),
            Some(
                json!({"type": "DYNAMIC_V2", "name": "DefaultEnhancedDynamicZone",
                "locations": {"include": [{"country": "KP", "region": null}], "exclude": []}}),
            ),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["locations"]["include"][0]["country"], "KP");
    assert_eq!(
        r.body["ipServiceCategories"]["include"][0],
        "ALL_ANONYMIZERS"
    );
    let r = e
        .call(
            Method::PUT,
            &format!("/api/v1/zones/{enhanced}"),
            Some(
                json!({"type": "DYNAMIC_V2", "name": "DefaultEnhancedDynamicZone",
                "locations": {"include": [{"country": "Korea"}]}}),
            ),
        )
        .await;
    assert_error(&r, 400, "E0000001", "a country that is not a code");
}

#[tokio::test]
async fn policies_and_rules_are_replaced_and_change_status_with_their_events() {
    let e = org(32).await;
    let sign_on = e
        .get("/api/v1/policies?type=OKTA_SIGN_ON")
        .await
        .array()
        .clone();
    let global = named(&sign_on, "Global session policy").clone();
    let pid = id(&global).to_string();
    let path = format!("/api/v1/policies/{pid}");

    // replace: name, description, conditions; type and status stay
    let since = next_second(&e);
    let mut body = bare(&global);
    body["name"] = json!("Global session policy (employees)");
    body["description"] = json!("Every employee's sessions");
    body["status"] = json!("INACTIVE");
    let r = e.call(Method::PUT, &path, Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["name"], "Global session policy (employees)");
    assert_eq!(r.body["description"], "Every employee's sessions");
    assert_eq!(
        r.body["status"], "ACTIVE",
        "status changes through the lifecycle"
    );
    assert_eq!(r.body["conditions"], global["conditions"]);
    assert_eq!(r.body["created"], global["created"]);
    assert_eq!(r.body["lastUpdated"], since.as_str());
    assert_eq!(e.get(&path).await.body, r.body);
    let event = one_event(&e, &since, "policy.lifecycle.update").await;
    assert_eq!(
        targets(&event),
        [(
            "PolicyEntity".into(),
            pid.clone(),
            "Global session policy (employees)".into()
        )]
    );
    assert_eq!(event["displayMessage"], "Update policy");

    // deactivate (204), GET says INACTIVE, the list filters it; activate
    let since = next_second(&e);
    let r = e
        .call(Method::POST, &format!("{path}/lifecycle/deactivate"), None)
        .await;
    assert_eq!((r.status, &r.body), (204, &Value::Null));
    let got = e.get(&path).await.body;
    assert_eq!(got["status"], "INACTIVE");
    assert_eq!(got["lastUpdated"], since.as_str());
    assert!(got["_links"]["activate"]["href"].is_string());
    let inactive = e
        .get("/api/v1/policies?type=OKTA_SIGN_ON&status=INACTIVE")
        .await;
    assert_eq!(inactive.array().len(), 1);
    let event = one_event(&e, &since, "policy.lifecycle.deactivate").await;
    assert_eq!(targets(&event)[0].0, "PolicyEntity");
    assert_eq!(targets(&event)[0].1, pid);
    let since = next_second(&e);
    let r = e
        .call(Method::POST, &format!("{path}/lifecycle/activate"), None)
        .await;
    assert_eq!(r.status, 204);
    one_event(&e, &since, "policy.lifecycle.activate").await;
    assert_eq!(e.get(&path).await.body["status"], "ACTIVE");

    // a rule: the second one moves first, the other moves down; the rule list follows
    let rules_path = format!("{path}/rules");
    let rules = e.get(&rules_path).await.array().clone();
    let names: Vec<&str> = rules.iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Admins", "Everyone"]);
    let everyone = rules[1].clone();
    let rid = id(&everyone).to_string();
    let rule_path = format!("{rules_path}/{rid}");
    let since = next_second(&e);
    let mut body = bare(&everyone);
    body["priority"] = json!(1);
    body["actions"]["signon"]["session"]["maxSessionIdleMinutes"] = json!(15);
    let r = e.call(Method::PUT, &rule_path, Some(body)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["priority"], 1);
    assert_eq!(
        r.body["actions"]["signon"]["session"]["maxSessionIdleMinutes"],
        15
    );
    assert_eq!(r.body["lastUpdated"], since.as_str());
    let rules = e.get(&rules_path).await.array().clone();
    let order: Vec<(&str, u64)> = rules
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["priority"].as_u64().unwrap()))
        .collect();
    assert_eq!(order, [("Everyone", 1), ("Admins", 2)]);
    assert_eq!(&rules[0], &r.body);
    let event = one_event(&e, &since, "policy.rule.update").await;
    assert_eq!(
        targets(&event),
        [
            (
                "PolicyEntity".into(),
                pid.clone(),
                "Global session policy (employees)".into()
            ),
            ("PolicyRule".into(), rid.clone(), "Everyone".into()),
        ]
    );
    // the export follows: the rule by its id within the policy
    let export = e.export();
    let exported: Vec<&Value> = export["policy_rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["policy_id"] == pid.as_str())
        .collect();
    assert_eq!(exported.len(), 2);
    for x in exported {
        let listed = rules.iter().find(|r| r["id"] == x["rule"]["id"]).unwrap();
        assert_eq!(x["rule"], bare(listed));
    }

    // a rule's lifecycle
    let since = next_second(&e);
    let r = e
        .call(
            Method::POST,
            &format!("{rule_path}/lifecycle/deactivate"),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(e.get(&rule_path).await.body["status"], "INACTIVE");
    let event = one_event(&e, &since, "policy.rule.deactivate").await;
    assert_eq!(
        targets(&event)[1],
        ("PolicyRule".into(), rid.clone(), "Everyone".into())
    );
    let since = next_second(&e);
    e.call(
        Method::POST,
        &format!("{rule_path}/lifecycle/activate"),
        None,
    )
    .await;
    one_event(&e, &since, "policy.rule.activate").await;
    assert_eq!(e.get(&rule_path).await.body["status"], "ACTIVE");

    // Okta's refusals
    let default = named(&sign_on, "Default Policy");
    let default_rule = e
        .get(&format!("/api/v1/policies/{}/rules", id(default)))
        .await
        .array()[0]
        .clone();
    let access = e
        .get("/api/v1/policies?type=ACCESS_POLICY")
        .await
        .array()
        .clone();
    let console = named(&access, "Okta Admin Console");
    let console_rules = e
        .get(&format!("/api/v1/policies/{}/rules", id(console)))
        .await
        .array()
        .clone();
    let catch_all = named(&console_rules, "Catch-all Rule");
    let enroll = e.get("/api/v1/policies?type=MFA_ENROLL").await.array()[0].clone();
    let enroll_rule = e
        .get(&format!("/api/v1/policies/{}/rules", id(&enroll)))
        .await
        .array()[0]
        .clone();
    let log_len = e.log_len();
    for (method, p, body, what) in [
        (
            Method::POST,
            format!("/api/v1/policies/{}/lifecycle/deactivate", id(default)),
            None,
            "deactivating a default policy",
        ),
        (
            Method::POST,
            format!(
                "/api/v1/policies/{}/rules/{}/lifecycle/deactivate",
                id(console),
                id(catch_all)
            ),
            None,
            "deactivating a catch-all rule",
        ),
        (
            Method::PUT,
            path.clone(),
            Some(json!({"type": "OKTA_SIGN_ON"})),
            "a policy without a name",
        ),
        (
            Method::PUT,
            path.clone(),
            Some(json!({"name": "x"})),
            "a policy without a type",
        ),
        (
            Method::PUT,
            path.clone(),
            Some(json!({"name": "x", "type": "PASSWORD"})),
            "another type",
        ),
        (
            Method::PUT,
            path.clone(),
            Some(json!({"name": "Default Policy", "type": "OKTA_SIGN_ON"})),
            "a name in use",
        ),
        (
            Method::PUT,
            path.clone(),
            Some(json!({"name": "x", "type": "OKTA_SIGN_ON", "settings": {}})),
            "settings on a type without them",
        ),
        (
            Method::PUT,
            path.clone(),
            Some(json!({"name": "x", "type": "OKTA_SIGN_ON", "priority": -1})),
            "a negative priority",
        ),
        (
            Method::PUT,
            format!("/api/v1/policies/{}", id(default)),
            Some(json!({"name": "Default Policy", "type": "OKTA_SIGN_ON", "priority": 1})),
            "moving a default policy",
        ),
        (
            Method::PUT,
            rule_path.clone(),
            Some(json!({"name": "Everyone", "type": "PASSWORD"})),
            "a rule of another type",
        ),
        (
            Method::PUT,
            rule_path.clone(),
            Some(json!({"name": "Admins"})),
            "a rule name in use",
        ),
        (
            Method::PUT,
            rule_path.clone(),
            Some(json!({"name": "Everyone", "actions": "allow"})),
            "actions not an object",
        ),
        (
            Method::PUT,
            format!(
                "/api/v1/policies/{}/rules/{}",
                id(&enroll),
                id(&enroll_rule)
            ),
            Some(json!({"name": "Default Rule"})),
            "editing the default enrollment rule",
        ),
    ] {
        let r = e.call(method, &p, body).await;
        assert_error(&r, 400, "E0000001", what);
    }
    // a default rule of a global session policy can be edited
    let mut body = bare(&default_rule);
    body["name"] = json!("Default Rule (edited)");
    let r = e
        .call(
            Method::PUT,
            &format!(
                "/api/v1/policies/{}/rules/{}",
                id(default),
                id(&default_rule)
            ),
            Some(body),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        e.log_len(),
        log_len + 1,
        "only the accepted write is logged"
    );
    for (method, p) in [
        (
            Method::PUT,
            "/api/v1/policies/00pnothing0000000000".to_string(),
        ),
        (
            Method::POST,
            "/api/v1/policies/00pnothing0000000000/lifecycle/activate".to_string(),
        ),
        (Method::PUT, format!("{rules_path}/0prnothing0000000000")),
        (
            Method::POST,
            format!("{rules_path}/0prnothing0000000000/lifecycle/deactivate"),
        ),
        (Method::POST, format!("{path}/lifecycle/explode")),
    ] {
        let r = e
            .call(
                method,
                &p,
                Some(json!({"name": "x", "type": "OKTA_SIGN_ON"})),
            )
            .await;
        assert_error(&r, 404, "E0000007", &p);
    }
}

#[tokio::test]
async fn threat_insight_is_updated_with_its_event() {
    let e = org(33).await;
    let before = e.get("/api/v1/threats/configuration").await.body;
    let zones = e.walk("/api/v1/zones").await;
    let corporate = id(named(&zones, "Corporate offices")).to_string();
    let since = next_second(&e);
    let r = e
        .call(
            Method::POST,
            "/api/v1/threats/configuration",
            Some(json!({"action": "block", "excludeZones": [corporate]})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["action"], "block");
    assert_eq!(r.body["excludeZones"], json!([corporate]));
    assert_eq!(r.body["created"], before["created"]);
    // Okta writes this object's times with milliseconds: the change's own time
    let updated = chrono::DateTime::parse_from_rfc3339(r.body["lastUpdated"].as_str().unwrap())
        .unwrap()
        .timestamp_millis();
    assert_eq!(updated, e.clock_now_ms());
    assert_eq!(e.get("/api/v1/threats/configuration").await.body, r.body);
    let event = one_event(&e, &since, "security.threat.configuration.update").await;
    assert_eq!(event["target"], Value::Null);
    assert_eq!(
        event["displayMessage"],
        "Update ThreatInsight configuration"
    );
    let export = e.export();
    assert_eq!(
        export["org_settings"],
        json!([{"name": "threat_insight", "setting": bare(&r.body)}])
    );
    // excludeZones left out stays; Okta's refusals
    let r = e
        .call(
            Method::POST,
            "/api/v1/threats/configuration",
            Some(json!({"action": "audit"})),
        )
        .await;
    assert_eq!(r.body["excludeZones"], json!([corporate]));
    for (body, what) in [
        (json!({"action": "quarantine"}), "another action"),
        (json!({}), "no action"),
        (
            json!({"action": "none", "excludeZones": ["nzonothing0000000000"]}),
            "an unknown zone",
        ),
        (
            json!({"action": "none", "excludeZones": "all"}),
            "zones not a list",
        ),
    ] {
        let r = e
            .call(Method::POST, "/api/v1/threats/configuration", Some(body))
            .await;
        assert_error(&r, 400, "E0000001", what);
    }
    assert_eq!(
        e.get("/api/v1/threats/configuration").await.body["action"],
        "audit"
    );
}

#[tokio::test]
async fn log_streams_are_activated_deactivated_and_deleted_with_their_events() {
    let e = org(34).await;
    let stream = e.get("/api/v1/logStreams").await.array()[0].clone();
    let lid = id(&stream).to_string();
    let path = format!("/api/v1/logStreams/{lid}");
    let since = next_second(&e);
    let r = e
        .call(Method::POST, &format!("{path}/lifecycle/activate"), None)
        .await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("ACTIVE")));
    assert_eq!(r.body["lastUpdated"], since.as_str());
    assert_eq!(r.body["_links"]["deactivate"]["method"], "POST");
    assert_eq!(e.get(&path).await.body, r.body);
    let event = one_event(&e, &since, "system.log_stream.lifecycle.activate").await;
    assert_eq!(
        targets(&event),
        [("LogStream".into(), lid.clone(), "Splunk Cloud".into())]
    );
    let since = next_second(&e);
    let r = e
        .call(Method::POST, &format!("{path}/lifecycle/deactivate"), None)
        .await;
    assert_eq!(r.body["status"], "INACTIVE");
    one_event(&e, &since, "system.log_stream.lifecycle.deactivate").await;

    let since = next_second(&e);
    let r = e.call(Method::DELETE, &path, None).await;
    assert_eq!((r.status, &r.body), (204, &Value::Null));
    assert_error(&e.get(&path).await, 404, "E0000007", "a deleted stream");
    assert!(e.get("/api/v1/logStreams").await.array().is_empty());
    assert!(e.export()["log_streams"].as_array().unwrap().is_empty());
    let event = one_event(&e, &since, "system.log_stream.lifecycle.delete").await;
    assert_eq!(targets(&event)[0].1, lid);
    for (method, p) in [
        (Method::DELETE, path.clone()),
        (Method::POST, format!("{path}/lifecycle/activate")),
    ] {
        let r = e.call(method, &p, None).await;
        assert_error(&r, 404, "E0000007", &p);
    }
}

#[tokio::test]
async fn api_tokens_are_revoked_with_their_event() {
    let e = org(35).await;
    let tokens = e.walk("/api/v1/api-tokens").await;
    let token = tokens[0].clone();
    let tid = id(&token).to_string();
    let since = next_second(&e);
    let r = e
        .call(Method::DELETE, &format!("/api/v1/api-tokens/{tid}"), None)
        .await;
    assert_eq!((r.status, &r.body), (204, &Value::Null));
    let after = e.walk("/api/v1/api-tokens").await;
    assert_eq!(after.len(), tokens.len() - 1);
    assert!(after.iter().all(|t| t["id"] != tid.as_str()));
    assert_error(
        &e.get(&format!("/api/v1/api-tokens/{tid}")).await,
        404,
        "E0000007",
        "a revoked token",
    );
    assert!(
        e.export()["okta_api_tokens"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["id"] != tid.as_str())
    );
    // as Okta's recorded revoke event names the token
    let event = one_event(&e, &since, "system.api_token.revoke").await;
    assert_eq!(
        event["target"],
        json!([{"id": tid, "type": "Token", "alternateId": "unknown", "displayName": token["name"], "detailEntry": null}])
    );
    assert_eq!(event["legacyEventType"], "api.token.revoke");
    assert_eq!(event["displayMessage"], "Revoke API token");
    for p in [
        format!("/api/v1/api-tokens/{tid}"),
        "/api/v1/api-tokens/nope".to_string(),
    ] {
        let r = e.call(Method::DELETE, &p, None).await;
        assert_error(&r, 404, "E0000007", &p);
    }
}

#[tokio::test]
async fn app_grants_are_granted_and_revoked_with_their_events() {
    let e = org(36).await;
    let apps = e.walk("/api/v1/apps?limit=200").await;
    let oidc = apps
        .iter()
        .find(|a| a["signOnMode"] == "OPENID_CONNECT")
        .expect("an OIDC app")
        .clone();
    let aid = id(&oidc).to_string();
    let path = format!("/api/v1/apps/{aid}/grants");
    let before = e.get(&path).await.array().clone();
    let origin = e.emu.base_url();

    let since = next_second(&e);
    let r = e
        .call(
            Method::POST,
            &path,
            Some(json!({"issuer": origin, "scopeId": "okta.groups.read"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let g = r.body.clone();
    let gid = id(&g).to_string();
    assert!(gid.starts_with("oag") && gid.len() == 20);
    assert_eq!(
        (
            g["scopeId"].as_str(),
            g["issuer"].as_str(),
            g["status"].as_str(),
            g["source"].as_str()
        ),
        (
            Some("okta.groups.read"),
            Some(origin.as_str()),
            Some("ACTIVE"),
            Some("ADMIN")
        )
    );
    assert_eq!(
        g["clientId"],
        oidc["credentials"]["oauthClient"]["client_id"]
    );
    assert_eq!(
        (g["created"].as_str(), g["lastUpdated"].as_str()),
        (Some(since.as_str()), Some(since.as_str()))
    );
    // the API token acts as the org's Super Admin
    let event = one_event(&e, &since, "app.oauth2.admin.consent.grant").await;
    assert_eq!(
        g["createdBy"],
        json!({"id": event["actor"]["id"], "type": "User"})
    );
    assert_eq!(
        targets(&event),
        [(
            "AppInstance".into(),
            aid.clone(),
            oidc["label"].as_str().unwrap().into()
        )]
    );
    assert_eq!(g["_links"]["app"]["title"], oidc["label"]);
    let listed = e.get(&path).await.array().clone();
    assert_eq!(listed.len(), before.len() + 1);
    let ids: Vec<&str> = listed.iter().map(id).collect();
    assert!(ids.is_sorted(), "grants in id order: {ids:?}");
    let one = e.get(&format!("{path}/{gid}")).await;
    assert_eq!(one.body, g);
    // the export holds it, in order
    let export = e.export();
    let exported: Vec<Value> = export["app_grants"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["app_id"] == aid.as_str())
        .map(|x| x["grant"].clone())
        .collect();
    assert_eq!(exported, listed.iter().map(bare).collect::<Vec<_>>());

    // Okta's refusals
    let saml = apps
        .iter()
        .find(|a| a["signOnMode"] == "SAML_2_0")
        .expect("a SAML app");
    let log_len = e.log_len();
    for (p, body, what) in [
        (
            path.clone(),
            json!({"issuer": origin, "scopeId": "okta.groups.read"}),
            "a scope granted already",
        ),
        (
            path.clone(),
            json!({"issuer": origin, "scopeId": "okta.everything"}),
            "an unknown scope",
        ),
        (path.clone(), json!({"issuer": origin}), "no scope"),
        (
            path.clone(),
            json!({"issuer": "https://evil.example.com", "scopeId": "okta.users.manage"}),
            "another issuer",
        ),
        (
            path.clone(),
            json!({"scopeId": "okta.users.manage"}),
            "no issuer",
        ),
        (
            format!("/api/v1/apps/{}/grants", id(saml)),
            json!({"issuer": origin, "scopeId": "okta.users.read"}),
            "a SAML app",
        ),
    ] {
        let r = e.call(Method::POST, &p, Some(body)).await;
        assert_error(&r, 400, "E0000001", what);
    }
    assert_eq!(e.log_len(), log_len);
    let r = e
        .call(
            Method::POST,
            "/api/v1/apps/0oanothing0000000000/grants",
            Some(json!({"issuer": origin, "scopeId": "okta.users.read"})),
        )
        .await;
    assert_error(&r, 404, "E0000007", "an unknown app");

    // revoke
    let since = next_second(&e);
    let r = e.call(Method::DELETE, &format!("{path}/{gid}"), None).await;
    assert_eq!((r.status, &r.body), (204, &Value::Null));
    assert_eq!(e.get(&path).await.array(), &before);
    let event = one_event(&e, &since, "app.oauth2.admin.consent.revoke").await;
    assert_eq!(targets(&event)[0].1, aid);
    for p in [
        format!("{path}/{gid}"),
        "/api/v1/apps/0oanothing0000000000/grants/oagnothing0000000000".to_string(),
    ] {
        let r = e.call(Method::DELETE, &p, None).await;
        assert_error(&r, 404, "E0000007", &p);
    }

    // a service app can be granted too; the default export has its grants
    let service = e
        .walk("/api/v1/apps?limit=200")
        .await
        .into_iter()
        .find(|a| a["settings"]["oauthClient"]["application_type"] == "service")
        .expect("a listed service app");
    let service = id(&service).to_string();
    let r = e
        .call(
            Method::POST,
            &format!("/api/v1/apps/{service}/grants"),
            Some(json!({"issuer": origin, "scopeId": "okta.policies.read"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let grant = id(&r.body).to_string();
    let in_list = |export: &Value| {
        export["app_grants"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["app_id"] == service.as_str() && x["grant"]["id"] == grant.as_str())
    };
    assert!(in_list(&e.export()));
    assert!(in_list(
        &e.get("/__emulator/export?include=posture").await.body
    ));
}

/// A service app takes the app writes Okta allows one (relabel, deactivate, activate,
/// delete when INACTIVE), each with its event naming it; user and group assignments are
/// refused (400), as a service app signs in no user.
#[tokio::test]
async fn service_apps_take_the_app_writes_okta_allows_them() {
    let e = org(39).await;
    let apps = e.walk("/api/v1/apps?limit=200").await;
    let siem = apps
        .iter()
        .find(|a| a["label"] == "SIEM Log Collector")
        .expect("the SIEM Log Collector service app")
        .clone();
    let aid = id(&siem).to_string();
    let path = format!("/api/v1/apps/{aid}");
    let user = e.export()["users"][0]["id"].as_str().unwrap().to_string();
    let group = e.export()["groups"][0]["id"].as_str().unwrap().to_string();

    // relabel
    let since = next_second(&e);
    let r = e
        .call(
            Method::PUT,
            &path,
            Some(json!({"label": "SIEM (Splunk)", "name": "oidc_client"})),
        )
        .await;
    assert_eq!((r.status, &r.body["label"]), (200, &json!("SIEM (Splunk)")));
    assert_eq!(r.body["lastUpdated"], since.as_str());
    let event = one_event(&e, &since, "application.lifecycle.update").await;
    assert_eq!(
        targets(&event),
        [("AppInstance".into(), aid.clone(), "SIEM (Splunk)".into())]
    );

    // no assignments: refused, nothing written, still empty lists
    let log_len = e.log_len();
    let r = e
        .call(
            Method::POST,
            &format!("{path}/users"),
            Some(json!({"id": user})),
        )
        .await;
    assert_error(&r, 400, "E0000001", "a user assigned to a service app");
    let r = e
        .call(
            Method::PUT,
            &format!("{path}/groups/{group}"),
            Some(json!({})),
        )
        .await;
    assert_error(&r, 400, "E0000001", "a group assigned to a service app");
    for p in [
        format!("{path}/users/{user}"),
        format!("{path}/groups/{group}"),
    ] {
        assert_error(&e.get(&p).await, 404, "E0000007", &p);
        let r = e.call(Method::DELETE, &p, None).await;
        assert_error(&r, 404, "E0000007", &p);
    }
    assert_eq!(e.log_len(), log_len);
    for what in ["users", "groups"] {
        let r = e.get(&format!("{path}/{what}")).await;
        assert_eq!((r.status, r.array().len()), (200, 0), "{what}");
    }

    // deactivate, activate
    for (op, status) in [("deactivate", "INACTIVE"), ("activate", "ACTIVE")] {
        let since = next_second(&e);
        let r = e
            .call(Method::POST, &format!("{path}/lifecycle/{op}"), None)
            .await;
        assert_eq!(r.status, 200, "{op}: {}", r.body);
        let listed = e
            .get(&format!("/api/v1/apps?filter=id%20eq%20%22{aid}%22"))
            .await;
        assert_eq!(listed.array()[0]["status"], status, "{op}");
        assert_eq!(listed.array()[0]["lastUpdated"], since.as_str(), "{op}");
        let event = one_event(&e, &since, &format!("application.lifecycle.{op}")).await;
        assert_eq!(targets(&event)[0].1, aid);
    }

    // delete: only INACTIVE; then gone from the list, its grants with it
    let r = e.call(Method::DELETE, &path, None).await;
    assert_error(&r, 403, "E0000056", "an ACTIVE service app deleted");
    let r = e
        .call(Method::POST, &format!("{path}/lifecycle/deactivate"), None)
        .await;
    assert_eq!(r.status, 200);
    let since = next_second(&e);
    let r = e.call(Method::DELETE, &path, None).await;
    assert_eq!(r.status, 204, "{}", r.body);
    let event = one_event(&e, &since, "application.lifecycle.delete").await;
    assert_eq!(targets(&event)[0].1, aid);
    assert_error(
        &e.get(&path).await,
        404,
        "E0000007",
        "a deleted service app",
    );
    assert_error(
        &e.get(&format!("{path}/grants")).await,
        404,
        "E0000007",
        "grants of a deleted service app",
    );
    let apps = e.walk("/api/v1/apps?limit=200").await;
    assert!(apps.iter().all(|a| a["id"] != aid.as_str()));
    let export = e.export();
    assert!(
        export["apps"]
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["id"] != aid.as_str())
    );
    assert!(
        export["app_grants"]
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["app_id"] != aid.as_str())
    );
}

#[tokio::test]
async fn authenticators_are_activated_and_deactivated_with_their_events() {
    let e = org(37).await;
    let list = e.get("/api/v1/authenticators").await.array().clone();
    let by_key = |key: &str| {
        list.iter()
            .find(|a| a["key"] == key)
            .unwrap_or_else(|| panic!("no {key}"))
            .clone()
    };
    let phone = by_key("phone_number");
    let path = format!("/api/v1/authenticators/{}", id(&phone));
    let since = next_second(&e);
    let r = e
        .call(Method::POST, &format!("{path}/lifecycle/deactivate"), None)
        .await;
    assert_eq!(
        (r.status, r.body["status"].as_str()),
        (200, Some("INACTIVE"))
    );
    assert_eq!(r.body["lastUpdated"], since.as_str());
    assert!(r.body["_links"]["activate"]["href"].is_string());
    assert_eq!(e.get(&path).await.body, r.body);
    let event = one_event(&e, &since, "security.authenticator.lifecycle.deactivate").await;
    assert_eq!(
        targets(&event),
        [(
            "Authenticator".into(),
            id(&phone).to_string(),
            "Phone".into()
        )]
    );
    let exported = e.export()["authenticators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == phone["id"])
        .unwrap()
        .clone();
    assert_eq!(exported, bare(&r.body));

    let smart_card = by_key("smart_card_idp");
    let since = next_second(&e);
    let r = e
        .call(
            Method::POST,
            &format!(
                "/api/v1/authenticators/{}/lifecycle/activate",
                id(&smart_card)
            ),
            None,
        )
        .await;
    assert_eq!((r.status, r.body["status"].as_str()), (200, Some("ACTIVE")));
    one_event(&e, &since, "security.authenticator.lifecycle.activate").await;

    // the password has no lifecycle; email is REQUIRED by the enrollment policy
    for key in ["okta_password", "okta_email"] {
        let r = e
            .call(
                Method::POST,
                &format!(
                    "/api/v1/authenticators/{}/lifecycle/deactivate",
                    id(&by_key(key))
                ),
                None,
            )
            .await;
        assert_error(&r, 400, "E0000001", key);
    }
    let r = e
        .call(
            Method::POST,
            "/api/v1/authenticators/autnothing0000000000/lifecycle/activate",
            None,
        )
        .await;
    assert_error(&r, 404, "E0000007", "an unknown authenticator");
}

/// Each write needs its resource's `.manage` scope: a token with the `.read` scopes gets
/// Okta's 403 with the scope it lacks; one with `.manage` gets through.
#[tokio::test]
async fn each_write_needs_its_manage_scope() {
    let e = org(38).await;
    let zone = id(&e.walk("/api/v1/zones").await[0]).to_string();
    let policy = id(&e.get("/api/v1/policies?type=OKTA_SIGN_ON").await.array()[0]).to_string();
    let rule = id(&e
        .get(&format!("/api/v1/policies/{policy}/rules"))
        .await
        .array()[0])
    .to_string();
    let stream = id(&e.get("/api/v1/logStreams").await.array()[0]).to_string();
    let token = id(&e.walk("/api/v1/api-tokens").await[0]).to_string();
    let authenticator = e
        .get("/api/v1/authenticators")
        .await
        .array()
        .iter()
        .find(|a| a["key"] == "webauthn")
        .map(|a| id(a).to_string())
        .unwrap();
    let app = e
        .walk("/api/v1/apps?limit=200")
        .await
        .iter()
        .find(|a| a["signOnMode"] == "OPENID_CONNECT")
        .map(|a| id(a).to_string())
        .unwrap();
    let origin = e.emu.base_url();
    let writes: Vec<(Method, String, Option<Value>, &str, u16)> = vec![
        (
            Method::POST,
            format!("/api/v1/zones/{zone}/lifecycle/activate"),
            None,
            "okta.networkZones.manage",
            200,
        ),
        (
            Method::POST,
            format!("/api/v1/policies/{policy}/lifecycle/activate"),
            None,
            "okta.policies.manage",
            204,
        ),
        (
            Method::POST,
            format!("/api/v1/policies/{policy}/rules/{rule}/lifecycle/activate"),
            None,
            "okta.policies.manage",
            204,
        ),
        (
            Method::POST,
            "/api/v1/threats/configuration".to_string(),
            Some(json!({"action": "block"})),
            "okta.threatInsights.manage",
            200,
        ),
        (
            Method::POST,
            format!("/api/v1/logStreams/{stream}/lifecycle/activate"),
            None,
            "okta.logStreams.manage",
            200,
        ),
        (
            Method::POST,
            format!("/api/v1/authenticators/{authenticator}/lifecycle/activate"),
            None,
            "okta.authenticators.manage",
            200,
        ),
        (
            Method::POST,
            format!("/api/v1/apps/{app}/grants"),
            Some(json!({"issuer": origin, "scopeId": "okta.apps.read"})),
            "okta.appGrants.manage",
            201,
        ),
        (
            Method::DELETE,
            format!("/api/v1/api-tokens/{token}"),
            None,
            "okta.apiTokens.manage",
            204,
        ),
    ];
    let reader = e
        .client_token("0oa-config-reader", SECRET, &READ_SCOPES.join(" "))
        .await;
    let writer = e
        .client_token("0oa-config-writer", SECRET, &MANAGE_SCOPES.join(" "))
        .await;
    for (method, path, body, scope, ok) in writes {
        let mut req = e
            .http
            .request(method.clone(), e.url(&path))
            .bearer_auth(&reader);
        if let Some(b) = &body {
            req = req.json(b);
        }
        let r = req.send().await.unwrap();
        assert_eq!(r.status(), 403, "{method} {path}");
        let challenge = r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            challenge.contains(&format!("scope=\"{scope}\"")),
            "{path}: {challenge}"
        );
        let r = e
            .call_as(&format!("Bearer {writer}"), method.clone(), &path, body)
            .await;
        assert_eq!(r.status, ok, "{method} {path}: {}", r.body);
    }
    // a service app's writes are its own in the System Log
    let event = e.last_events(1).remove(0);
    assert_eq!(event["eventType"], "system.api_token.revoke");
    assert_eq!(event["actor"]["id"], "0oa-config-writer");
}

/// The configuration's API tokens: the Super Admin's usable from anywhere, a lesser
/// admin's limited to the offices (see `generate/posture.rs`).
#[tokio::test]
async fn the_generated_tokens_include_an_unsafe_and_a_safe_one() {
    let e = org(39).await;
    let tokens = e.walk("/api/v1/api-tokens").await;
    let zones = e.walk("/api/v1/zones").await;
    let corporate = id(named(&zones, "Corporate offices")).to_string();
    let terraform = named(&tokens, "Terraform Cloud");
    assert_eq!(
        terraform["network"],
        json!({"connection": "ANYWHERE", "include": null, "exclude": null})
    );
    assert!(
        roles_of(&e, terraform["userId"].as_str().unwrap())
            .await
            .contains(&"SUPER_ADMIN".to_string())
    );
    let help_desk = named(&tokens, "Help desk reports");
    assert_eq!(
        help_desk["network"],
        json!({"connection": "ZONE", "include": [corporate], "exclude": null})
    );
    let roles = roles_of(&e, help_desk["userId"].as_str().unwrap()).await;
    assert!(
        !roles.is_empty() && !roles.contains(&"SUPER_ADMIN".to_string()),
        "{roles:?}"
    );
    let owner = e
        .get(&format!(
            "/api/v1/users/{}",
            help_desk["userId"].as_str().unwrap()
        ))
        .await;
    assert_eq!(owner.body["status"], "ACTIVE");
    // live: used in the last weeks, so not expired
    let now = e.clock_now_ms();
    for t in [terraform, help_desk] {
        let ms = |k: &str| {
            chrono::DateTime::parse_from_rfc3339(t[k].as_str().unwrap())
                .unwrap()
                .timestamp_millis()
        };
        assert!(
            ms("created") < ms("lastUpdated") && ms("lastUpdated") < now,
            "{t}"
        );
        assert!(ms("expiresAt") > now, "{t}");
    }
}

/// The role types `GET /api/v1/users/{id}/roles` lists for a user.
async fn roles_of(e: &Emu, user: &str) -> Vec<String> {
    e.get(&format!("/api/v1/users/{user}/roles"))
        .await
        .array()
        .iter()
        .map(|r| r["type"].as_str().unwrap().to_string())
        .collect()
}
