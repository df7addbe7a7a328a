//! The security configuration over HTTP: policies and rules, authenticators, network zones,
//! ThreatInsight, log streams and app grants. Okta's listing order, paging, filters and
//! errors; the scope each endpoint needs; the settings generated unsafe on purpose (see
//! `generate/posture.rs`); determinism; the OAuth service apps, listed like any app; and
//! what `export?include=posture` adds to the default export.

use crate::common::{Emu, anchor};
use okta_emulator::config::OAuthClientConfig;
use okta_emulator::generate::{GenParams, generate};
use okta_emulator::{EmulatorConfig, OrgSize, control};
use serde_json::Value;
use std::collections::BTreeSet;

const SECRET: &str = "posture-secret-0123456789";

/// Every read scope the configuration's endpoints need.
const POSTURE_SCOPES: [&str; 6] = [
    "okta.policies.read",
    "okta.authenticators.read",
    "okta.networkZones.read",
    "okta.threatInsights.read",
    "okta.logStreams.read",
    "okta.appGrants.read",
];

/// A small org with a client holding the configuration's scopes and one holding others.
async fn org(seed: u64) -> Emu {
    Emu::start_with(EmulatorConfig {
        size: OrgSize::Small,
        seed,
        oauth_clients: vec![
            OAuthClientConfig::with_secret("0oa-posture", SECRET, &POSTURE_SCOPES),
            OAuthClientConfig::with_secret(
                "0oa-directory",
                SECRET,
                &["okta.users.manage", "okta.apps.manage", "okta.groups.read"],
            ),
        ],
        ..EmulatorConfig::default()
    })
    .await
}

fn named<'a>(list: &'a [Value], name: &str) -> &'a Value {
    list.iter()
        .find(|v| v["name"] == name)
        .unwrap_or_else(|| panic!("nothing named {name:?} in {list:?}"))
}

fn names(list: &[Value]) -> Vec<&str> {
    list.iter().map(|v| v["name"].as_str().unwrap()).collect()
}

fn id(v: &Value) -> &str {
    v["id"].as_str().unwrap()
}

/// The policies of a type, the rules of one by name.
async fn policies(e: &Emu, kind: &str) -> Vec<Value> {
    let r = e.get(&format!("/api/v1/policies?type={kind}")).await;
    assert_eq!(r.status, 200, "{kind}: {}", r.body);
    r.array().clone()
}

async fn rules(e: &Emu, policy: &Value) -> Vec<Value> {
    let r = e
        .get(&format!("/api/v1/policies/{}/rules", id(policy)))
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.array().clone()
}

#[tokio::test]
async fn policies_are_listed_by_type_in_priority_order_with_oktas_errors() {
    let e = org(3).await;
    for (kind, rule_type, expected) in [
        (
            "OKTA_SIGN_ON",
            "SIGN_ON",
            &["Global session policy", "Default Policy"][..],
        ),
        (
            "PASSWORD",
            "PASSWORD",
            &["Admins password policy", "Default Policy"],
        ),
        ("MFA_ENROLL", "MFA_ENROLL", &["Default Policy"]),
        (
            "ACCESS_POLICY",
            "ACCESS_POLICY",
            &["Default Policy", "Okta Admin Console", "Okta Dashboard"],
        ),
        ("IDP_DISCOVERY", "IDP_DISCOVERY", &["Idp Discovery Policy"]),
        (
            "PROFILE_ENROLLMENT",
            "PROFILE_ENROLLMENT",
            &["Default Policy"],
        ),
    ] {
        let list = policies(&e, kind).await;
        assert_eq!(names(&list), expected, "{kind}");
        let prefix = if matches!(kind, "ACCESS_POLICY" | "PROFILE_ENROLLMENT") {
            "rst"
        } else {
            "00p"
        };
        for p in &list {
            assert_eq!(p["type"], kind);
            assert!(id(p).starts_with(prefix), "{p}");
            for key in [
                "status",
                "description",
                "priority",
                "system",
                "conditions",
                "created",
                "lastUpdated",
            ] {
                assert!(p.get(key).is_some(), "{kind} policy without {key}: {p}");
            }
            assert!(
                p["_links"]["self"]["href"]
                    .as_str()
                    .unwrap()
                    .ends_with(id(p))
            );
            assert!(p["_links"]["rules"]["href"].is_string());
            // one policy as the list serves it
            let one = e.get(&format!("/api/v1/policies/{}", id(p))).await;
            assert_eq!((one.status, &one.body), (200, p));
            let rs = rules(&e, p).await;
            assert!(!rs.is_empty(), "{kind} {} has no rule", p["name"]);
            let priorities: Vec<u64> = rs.iter().map(|r| r["priority"].as_u64().unwrap()).collect();
            assert!(priorities.is_sorted(), "{priorities:?}");
            for r in &rs {
                assert_eq!(r["type"], rule_type);
                assert!(r["actions"].is_object(), "{r}");
                let one = e
                    .get(&format!("/api/v1/policies/{}/rules/{}", id(p), id(r)))
                    .await;
                assert_eq!((one.status, &one.body), (200, r));
            }
        }
        let priorities: Vec<u64> = list
            .iter()
            .map(|p| p["priority"].as_u64().unwrap())
            .collect();
        assert!(priorities.is_sorted(), "{kind}: {priorities:?}");
    }
    // a type of Okta's the org holds none of, and Okta's two refusals
    let r = e.get("/api/v1/policies?type=ENTITY_RISK").await;
    assert_eq!((r.status, r.array().len()), (200, 0));
    let r = e.get("/api/v1/policies").await;
    assert_eq!((r.status, r.error_code()), (400, "E0000001"));
    let r = e
        .get("/api/v1/policies?type=OAUTH_AUTHORIZATION_POLICY")
        .await;
    assert_eq!((r.status, r.error_code()), (400, "E0000002"));
    assert_eq!(
        r.body["errorSummary"],
        "The request was not valid: Invalid policy type specified"
    );
    // status and name prefix
    let r = e
        .get("/api/v1/policies?type=ACCESS_POLICY&status=INACTIVE")
        .await;
    assert!(r.array().is_empty());
    let r = e.get("/api/v1/policies?type=ACCESS_POLICY&q=okta").await;
    assert_eq!(names(r.array()), ["Okta Admin Console", "Okta Dashboard"]);
    // pages of one, in priority order, with Okta's links
    let first = e.get("/api/v1/policies?type=ACCESS_POLICY&limit=1").await;
    assert!(first.next().is_some(), "{:?}", first.links());
    let walked = e.walk("/api/v1/policies?type=ACCESS_POLICY&limit=1").await;
    assert_eq!(
        names(&walked),
        ["Default Policy", "Okta Admin Console", "Okta Dashboard"]
    );
    let r = e
        .get("/api/v1/policies?type=PASSWORD&after=not-a-cursor")
        .await;
    assert_eq!((r.status, r.error_code()), (400, "E0000029"));
    // unknown ids
    let password = policies(&e, "PASSWORD").await;
    let sign_on = policies(&e, "OKTA_SIGN_ON").await;
    for path in [
        "/api/v1/policies/00pnothing0000000000".to_string(),
        "/api/v1/policies/nope".to_string(),
        "/api/v1/policies/00pnothing0000000000/rules".to_string(),
        format!(
            "/api/v1/policies/{}/rules/0prnothing0000000000",
            id(&password[0])
        ),
        // a rule of another policy
        format!(
            "/api/v1/policies/{}/rules/{}",
            id(&password[0]),
            id(&rules(&e, &sign_on[0]).await[0])
        ),
    ] {
        let r = e.get(&path).await;
        assert_eq!((r.status, r.error_code()), (404, "E0000007"), "{path}");
        assert!(
            r.body["errorSummary"]
                .as_str()
                .unwrap()
                .starts_with("Not found")
        );
    }
}

#[tokio::test]
async fn the_generated_org_is_unsafe_where_posture_checks_look() {
    let e = org(3).await;
    let export = e.export();
    let admin_groups: BTreeSet<&str> = export["role_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["assignee_type"] == "GROUP")
        .map(|r| r["assignee_id"].as_str().unwrap())
        .collect();
    assert!(!admin_groups.is_empty());
    let everyone = export["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["type"] == "BUILT_IN")
        .unwrap()["id"]
        .clone();
    let ids = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_str().unwrap().to_string())
            .collect()
    };
    let admin_set: BTreeSet<String> = admin_groups.iter().map(|s| s.to_string()).collect();

    // password: the default policy is weak, the admins' is strict
    let password = policies(&e, "PASSWORD").await;
    let default = named(&password, "Default Policy");
    assert_eq!(default["system"], true);
    assert_eq!(
        default["conditions"]["people"]["groups"]["include"][0],
        everyone
    );
    let p = &default["settings"]["password"];
    assert_eq!(p["complexity"]["minLength"], 8);
    assert_eq!(p["complexity"]["minSymbol"], 0);
    assert_eq!(p["complexity"]["dictionary"]["common"]["exclude"], false);
    assert_eq!(p["age"]["maxAgeDays"], 0);
    assert_eq!(p["age"]["minAgeMinutes"], 0);
    assert_eq!(p["age"]["historyCount"], 4);
    assert_eq!(p["lockout"]["maxAttempts"], 10);
    let admins = named(&password, "Admins password policy");
    assert_eq!(
        (admins["priority"].clone(), admins["system"].clone()),
        (1.into(), false.into())
    );
    assert_eq!(
        ids(&admins["conditions"]["people"]["groups"]["include"]),
        admin_set
    );
    let p = &admins["settings"]["password"];
    assert_eq!(p["complexity"]["minLength"], 15);
    for class in ["minLowerCase", "minUpperCase", "minNumber", "minSymbol"] {
        assert_eq!(p["complexity"][class], 1, "{class}");
    }
    assert_eq!(p["complexity"]["dictionary"]["common"]["exclude"], true);
    assert_eq!(p["age"]["maxAgeDays"], 60);
    assert_eq!(p["age"]["historyCount"], 24);
    assert_eq!(p["lockout"]["maxAttempts"], 3);

    // global session: the priority-1 policy's rules, admins strict and everyone weak
    let sign_on = policies(&e, "OKTA_SIGN_ON").await;
    let global = named(&sign_on, "Global session policy");
    assert_eq!(global["priority"], 1);
    let rs = rules(&e, global).await;
    assert_eq!(names(&rs), ["Admins", "Everyone"]);
    let session = |r: &Value| {
        let s = &r["actions"]["signon"]["session"];
        (
            s["maxSessionIdleMinutes"].as_u64().unwrap(),
            s["maxSessionLifetimeMinutes"].as_u64().unwrap(),
            s["usePersistentCookie"].as_bool().unwrap(),
            r["actions"]["signon"]["requireFactor"].as_bool().unwrap(),
        )
    };
    assert_eq!(rs[0]["priority"], 1);
    assert_eq!(session(&rs[0]), (15, 720, false, true));
    assert_eq!(
        ids(&rs[0]["conditions"]["people"]["groups"]["include"]),
        admin_set
    );
    assert_eq!(session(&rs[1]), (120, 1440, true, false));
    let default_rules = rules(&e, named(&sign_on, "Default Policy")).await;
    assert_eq!(names(&default_rules), ["Default Rule"]);
    assert_eq!(session(&default_rules[0]), (120, 0, false, false));

    // app sign-in: the Admin Console allows one factor from the offices and no phishing
    // resistance elsewhere; the Dashboard requires both
    let zones = e.walk("/api/v1/zones").await;
    let corporate = named(&zones, "Corporate offices");
    let access = policies(&e, "ACCESS_POLICY").await;
    let console = rules(&e, named(&access, "Okta Admin Console")).await;
    assert_eq!(
        names(&console),
        ["Admins on corporate network", "Catch-all Rule"]
    );
    let office = &console[0];
    assert_eq!(office["conditions"]["network"]["connection"], "ZONE");
    assert_eq!(
        office["conditions"]["network"]["include"][0],
        corporate["id"]
    );
    let method = |r: &Value| r["actions"]["appSignOn"]["verificationMethod"].clone();
    assert_eq!(method(office)["factorMode"], "1FA");
    assert_eq!(method(office)["type"], "ASSURANCE");
    let catch_all = &console[1];
    assert_eq!(
        (catch_all["system"].clone(), catch_all["priority"].clone()),
        (true.into(), 99.into())
    );
    assert_eq!(catch_all["conditions"], Value::Null);
    assert_eq!(method(catch_all)["factorMode"], "2FA");
    assert_eq!(
        method(catch_all)["constraints"][0]["possession"]["phishingResistant"],
        "OPTIONAL"
    );
    let dashboard = rules(&e, named(&access, "Okta Dashboard")).await;
    assert_eq!(method(&dashboard[0])["factorMode"], "2FA");
    assert_eq!(
        method(&dashboard[0])["constraints"][0]["possession"]["phishingResistant"],
        "REQUIRED"
    );

    // authenticators
    let authenticators = e.get("/api/v1/authenticators").await;
    let by_key = |key: &str| {
        authenticators
            .array()
            .iter()
            .find(|a| a["key"] == key)
            .unwrap_or_else(|| panic!("no {key}"))
            .clone()
    };
    assert_eq!(
        by_key("okta_verify")["settings"]["compliance"]["fips"],
        "OPTIONAL"
    );
    assert_eq!(
        by_key("okta_verify")["settings"]["userVerification"],
        "PREFERRED"
    );
    assert_eq!(by_key("phone_number")["status"], "ACTIVE");
    assert_eq!(by_key("phone_number")["settings"]["allowedFor"], "any");
    assert_eq!(by_key("security_question")["status"], "ACTIVE");
    assert_eq!(by_key("smart_card_idp")["status"], "INACTIVE");
    assert_eq!(by_key("webauthn")["status"], "ACTIVE");

    // zones: the anonymizer blocklist is off and no other zone blocks anonymizers
    let enhanced = named(&zones, "DefaultEnhancedDynamicZone");
    assert_eq!(
        (
            enhanced["type"].clone(),
            enhanced["usage"].clone(),
            enhanced["status"].clone()
        ),
        ("DYNAMIC_V2".into(), "BLOCKLIST".into(), "INACTIVE".into())
    );
    assert_eq!(
        enhanced["ipServiceCategories"]["include"][0],
        "ALL_ANONYMIZERS"
    );
    assert!(
        zones
            .iter()
            .filter(|z| z["status"] == "ACTIVE" && z["usage"] == "BLOCKLIST")
            .all(|z| z["type"] == "IP"),
        "an active anonymizer blocklist: {zones:?}"
    );
    let gateways: Vec<&str> = corporate["gateways"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            assert_eq!(g["type"], "CIDR");
            g["value"].as_str().unwrap()
        })
        .collect();
    assert_eq!(gateways, okta_emulator::places::office_cidrs());

    // ThreatInsight logs but does not block; nothing is streamed
    let threats = e.get("/api/v1/threats/configuration").await;
    assert_eq!(threats.body["action"], "audit");
    let streams = e.get("/api/v1/logStreams").await;
    assert!(streams.array().iter().all(|s| s["status"] == "INACTIVE"));
    assert_eq!(streams.array()[0]["type"], "splunk_cloud_logstreaming");

    // a service app the app list shows holds admin scopes
    let apps = e.walk("/api/v1/apps?limit=200").await;
    let automation = apps
        .iter()
        .find(|a| a["label"] == "Provisioning Automation")
        .expect("the Provisioning Automation service app");
    let grants = e
        .get(&format!("/api/v1/apps/{}/grants", id(automation)))
        .await;
    let scopes: BTreeSet<&str> = grants
        .array()
        .iter()
        .map(|g| g["scopeId"].as_str().unwrap())
        .collect();
    assert_eq!(
        scopes,
        BTreeSet::from(["okta.groups.manage", "okta.users.manage"])
    );
}

#[tokio::test]
async fn zones_and_log_streams_page_and_filter_like_okta() {
    let e = org(4).await;
    let zones = e.walk("/api/v1/zones?limit=2").await;
    let mut got: Vec<&str> = names(&zones);
    got.sort_unstable();
    assert_eq!(
        got,
        [
            "BlockedIpZone",
            "Corporate offices",
            "DefaultEnhancedDynamicZone",
            "DefaultExemptIpZone",
            "LegacyIpZone"
        ]
    );
    let listed_ids: Vec<&str> = zones.iter().map(id).collect();
    assert!(listed_ids.is_sorted(), "zones page by id");
    let first = e.get("/api/v1/zones?limit=2").await;
    assert_eq!(first.array().len(), 2);
    assert!(
        first
            .next()
            .unwrap()
            .contains(&format!("after={}", listed_ids[1]))
    );
    for z in &zones {
        assert!(id(z).starts_with("nzo"));
        let one = e.get(&format!("/api/v1/zones/{}", id(z))).await;
        assert_eq!((one.status, &one.body), (200, z));
        let system = z["system"].as_bool().unwrap();
        let allow = z["_links"]["self"]["hints"]["allow"].as_array().unwrap();
        assert_eq!(allow.iter().any(|m| m == "DELETE"), !system, "{z}");
    }
    assert_eq!(
        zone_names(&e, r#"usage eq "BLOCKLIST""#).await,
        ["BlockedIpZone", "DefaultEnhancedDynamicZone"]
    );
    assert_eq!(
        zone_names(&e, "system eq false").await,
        ["Corporate offices"]
    );
    let corporate = named(&zones, "Corporate offices");
    let by_id = format!(r#"id eq "{}""#, id(corporate));
    let r = e
        .get(&format!("/api/v1/zones?filter={}", urlencode(&by_id)))
        .await;
    assert_eq!(names(r.array()), ["Corporate offices"]);
    let r = e
        .get(&format!(
            "/api/v1/zones?filter={}",
            urlencode(r#"name eq "x""#)
        ))
        .await;
    assert_eq!((r.status, r.error_code()), (400, "E0000031"));
    let r = e.get("/api/v1/zones/nzonothing0000000000").await;
    assert_eq!((r.status, r.error_code()), (404, "E0000007"));

    let streams = e.walk("/api/v1/logStreams?limit=1").await;
    assert_eq!(names(&streams), ["Splunk Cloud"]);
    let s = &streams[0];
    assert_eq!(s["settings"]["edition"], "aws");
    assert!(
        s["settings"].get("token").is_none(),
        "Okta never returns the HEC token"
    );
    assert_eq!(s["_links"]["self"]["method"], "GET");
    assert_eq!(s["_links"]["activate"]["method"], "POST");
    let one = e.get(&format!("/api/v1/logStreams/{}", id(s))).await;
    assert_eq!((one.status, &one.body), (200, s));
    let r = e.get("/api/v1/logStreams").await;
    assert!(r.self_link().unwrap().ends_with("limit=20"));
    for (f, n) in [
        (r#"type eq "aws_eventbridge""#, 0),
        (r#"type eq "splunk_cloud_logstreaming""#, 1),
        (r#"status eq "ACTIVE""#, 0),
        (r#"status eq "INACTIVE""#, 1),
    ] {
        let r = e
            .get(&format!("/api/v1/logStreams?filter={}", urlencode(f)))
            .await;
        assert_eq!((r.status, r.array().len()), (200, n), "{f}");
    }
    let r = e
        .get(&format!(
            "/api/v1/logStreams?filter={}",
            urlencode(r#"name eq "x""#)
        ))
        .await;
    assert_eq!((r.status, r.error_code()), (400, "E0000031"));
    let r = e.get("/api/v1/logStreams/0oanothing0000000000").await;
    assert_eq!((r.status, r.error_code()), (404, "E0000007"));
}

/// The names of the zones a filter selects, sorted.
async fn zone_names(e: &Emu, f: &str) -> Vec<String> {
    let r = e
        .get(&format!("/api/v1/zones?filter={}", urlencode(f)))
        .await;
    assert_eq!(r.status, 200, "{f}: {}", r.body);
    let mut n: Vec<String> = names(r.array()).into_iter().map(str::to_string).collect();
    n.sort_unstable();
    n
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn authenticators_and_threat_insight_are_served_as_okta_does() {
    let e = org(5).await;
    let r = e.get("/api/v1/authenticators").await;
    assert_eq!(r.status, 200);
    assert!(r.links().is_empty(), "the authenticator list is not paged");
    let keys: Vec<&str> = r
        .array()
        .iter()
        .map(|a| a["key"].as_str().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "okta_email",
            "okta_password",
            "okta_verify",
            "phone_number",
            "security_question",
            "webauthn",
            "smart_card_idp"
        ]
    );
    for a in r.array() {
        assert!(id(a).starts_with("aut"));
        let one = e.get(&format!("/api/v1/authenticators/{}", id(a))).await;
        assert_eq!((one.status, &one.body), (200, a));
        let links = &a["_links"];
        assert!(links["methods"]["href"].is_string());
        let lifecycle = if a["status"] == "ACTIVE" {
            "deactivate"
        } else {
            "activate"
        };
        assert_eq!(
            links.get(lifecycle).is_some(),
            a["key"] != "okta_password",
            "{a}"
        );
    }
    let r = e.get("/api/v1/authenticators/autnothing00000000000").await;
    assert_eq!((r.status, r.error_code()), (404, "E0000007"));

    let t = e.get("/api/v1/threats/configuration").await;
    assert_eq!(t.status, 200);
    assert_eq!(t.body["excludeZones"], serde_json::json!([]));
    for key in ["created", "lastUpdated"] {
        let text = t.body[key].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(text).is_ok(), "{text}");
    }
    assert!(
        t.body["_links"]["self"]["href"]
            .as_str()
            .unwrap()
            .ends_with("/api/v1/threats/configuration")
    );
}

/// Whether an app is an OAuth service app (`settings.oauthClient.application_type`).
fn is_service(a: &Value) -> bool {
    a["settings"]["oauthClient"]["application_type"] == "service"
}

#[tokio::test]
async fn grants_belong_to_the_orgs_oidc_apps_and_its_listed_service_apps() {
    let e = org(6).await;
    let apps = e.walk("/api/v1/apps?limit=200").await;
    let service: Vec<&Value> = apps.iter().filter(|a| is_service(a)).collect();
    let labels: Vec<&str> = service
        .iter()
        .map(|a| a["label"].as_str().unwrap())
        .collect();
    let mut sorted = labels.clone();
    sorted.sort_unstable();
    assert_eq!(
        sorted,
        [
            "Access Review Bot",
            "Provisioning Automation",
            "SIEM Log Collector"
        ]
    );
    for a in &service {
        assert_eq!(a["signOnMode"], "OPENID_CONNECT");
        assert_eq!(a["name"], "oidc_client");
        let one = e.get(&format!("/api/v1/apps/{}", id(a))).await;
        assert_eq!((one.status, &one.body), (200, *a));
        let grants = e.get(&format!("/api/v1/apps/{}/grants", id(a))).await;
        assert!(!grants.array().is_empty());
        for g in grants.array() {
            assert_eq!(g["clientId"], a["credentials"]["oauthClient"]["client_id"]);
            assert_eq!(
                (g["status"].clone(), g["source"].clone()),
                ("ACTIVE".into(), "ADMIN".into())
            );
            assert_eq!(
                g["issuer"].as_str().unwrap(),
                e.emu.base_url().trim_end_matches('/')
            );
            assert!(g.get("_embedded").is_none());
            assert_eq!(g["_links"]["app"]["title"], a["label"]);
        }
    }
    // every other OIDC app the org lists has a read grant
    let oidc: Vec<&Value> = apps
        .iter()
        .filter(|a| a["signOnMode"] == "OPENID_CONNECT" && !is_service(a))
        .collect();
    assert!(!oidc.is_empty(), "a small org has OIDC apps");
    for a in &oidc {
        let grants = e.get(&format!("/api/v1/apps/{}/grants", id(a))).await;
        let scopes: Vec<&str> = grants
            .array()
            .iter()
            .map(|g| g["scopeId"].as_str().unwrap())
            .collect();
        assert_eq!(scopes, ["okta.users.read"]);
        let g = &grants.array()[0];
        assert_eq!(g["clientId"], a["credentials"]["oauthClient"]["client_id"]);
        // ?expand=scope and one grant
        let expanded = e
            .get(&format!("/api/v1/apps/{}/grants?expand=scope", id(a)))
            .await;
        assert_eq!(
            expanded.array()[0]["_embedded"]["scope"]["id"],
            "okta.users.read"
        );
        let one = e
            .get(&format!("/api/v1/apps/{}/grants/{}", id(a), id(g)))
            .await;
        assert_eq!((one.status, &one.body), (200, g));
        assert!(id(g).starts_with("oag"));
    }
    // other apps have none; unknown apps and grants are 404
    let saml = apps.iter().find(|a| a["signOnMode"] == "SAML_2_0").unwrap();
    let r = e.get(&format!("/api/v1/apps/{}/grants", id(saml))).await;
    assert_eq!((r.status, r.array().len()), (200, 0));
    for path in [
        "/api/v1/apps/0oanothing0000000000/grants".to_string(),
        format!("/api/v1/apps/{}/grants/oagnothing0000000000", id(oidc[0])),
    ] {
        let r = e.get(&path).await;
        assert_eq!((r.status, r.error_code()), (404, "E0000007"), "{path}");
    }
    // a tiny org has no OIDC app but its two service apps, whose grants the export holds
    let tiny = Emu::start(OrgSize::Tiny, 6).await;
    let export = tiny.export();
    let service: BTreeSet<&str> = export["apps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["signOnMode"] == "OPENID_CONNECT")
        .inspect(|a| assert!(is_service(a), "{a}"))
        .map(id)
        .collect();
    assert_eq!(service.len(), 2);
    let granted: BTreeSet<&str> = export["app_grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["app_id"].as_str().unwrap())
        .collect();
    assert_eq!(granted, service);
}

#[tokio::test]
async fn the_app_list_pages_through_the_service_apps_like_any_app() {
    let e = org(9).await;
    let export = e.export();
    let exported: Vec<&str> = export["apps"].as_array().unwrap().iter().map(id).collect();
    // one cursor over every app, in id order, at any page size
    for limit in [1, 2, 7, 200] {
        let listed = e.walk(&format!("/api/v1/apps?limit={limit}")).await;
        let ids: Vec<&str> = listed.iter().map(id).collect();
        assert_eq!(ids, exported, "limit {limit}");
        let service = listed.iter().filter(|a| is_service(a)).count();
        assert_eq!(service, 3, "limit {limit}");
    }
    let listed = e.walk("/api/v1/apps?limit=200").await;
    let bare: Vec<Value> = listed.iter().map(crate::common::bare).collect();
    assert_eq!(&bare, export["apps"].as_array().unwrap());
    let service: Vec<&Value> = listed.iter().filter(|a| is_service(a)).collect();
    // a page that starts after a service app goes on with the next app by id
    let at = exported.iter().position(|x| *x == id(service[0])).unwrap();
    let after = e
        .get(&format!("/api/v1/apps?limit=3&after={}", id(service[0])))
        .await;
    let page: Vec<&str> = after.array().iter().map(id).collect();
    let expected: Vec<&str> = exported[at + 1..].iter().take(3).copied().collect();
    assert_eq!(page, expected);
    // filter and q apply to them as to any app
    let oidc = e
        .walk("/api/v1/apps?filter=name%20eq%20%22oidc_client%22")
        .await;
    assert!(
        service
            .iter()
            .all(|s| oidc.iter().any(|a| a["id"] == s["id"]))
    );
    assert!(oidc.iter().all(|a| a["name"] == "oidc_client"));
    let by_id = e
        .get(&format!(
            "/api/v1/apps?filter=id%20eq%20%22{}%22",
            id(service[1])
        ))
        .await;
    assert_eq!(by_id.array().len(), 1);
    assert_eq!(by_id.array()[0]["id"], service[1]["id"]);
    let siem = e.walk("/api/v1/apps?q=siem").await;
    assert_eq!(siem.len(), 1);
    assert_eq!(siem[0]["label"], "SIEM Log Collector");
    // they sign in no user: no users, no groups, not in any group's apps
    for a in &service {
        for what in ["users", "groups"] {
            let r = e.get(&format!("/api/v1/apps/{}/{what}", id(a))).await;
            assert_eq!(
                (r.status, r.array().len()),
                (200, 0),
                "{what} of {}",
                a["label"]
            );
        }
    }
    let groups = e.walk("/api/v1/groups?limit=200").await;
    for g in groups.iter().take(20) {
        let apps = e.walk(&format!("/api/v1/groups/{}/apps", id(g))).await;
        assert!(apps.iter().all(|a| !is_service(a)));
    }
    // their grants are reachable from the list, and the export holds them
    for a in &service {
        let grants = e.walk(&format!("/api/v1/apps/{}/grants", id(a))).await;
        assert!(!grants.is_empty());
        let exported: Vec<&Value> = export["app_grants"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|g| g["app_id"] == a["id"])
            .map(|g| &g["grant"])
            .collect();
        let served: Vec<Value> = grants.iter().map(crate::common::bare).collect();
        assert_eq!(
            exported,
            served.iter().collect::<Vec<_>>(),
            "{}",
            a["label"]
        );
    }
}

#[tokio::test]
async fn each_endpoint_needs_its_scope() {
    let e = org(7).await;
    let app = e.get("/api/v1/apps?limit=1").await.array()[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let endpoints = [
        (
            "/api/v1/policies?type=PASSWORD".to_string(),
            "okta.policies.read",
        ),
        (
            "/api/v1/authenticators".to_string(),
            "okta.authenticators.read",
        ),
        ("/api/v1/zones".to_string(), "okta.networkZones.read"),
        (
            "/api/v1/threats/configuration".to_string(),
            "okta.threatInsights.read",
        ),
        ("/api/v1/logStreams".to_string(), "okta.logStreams.read"),
        (format!("/api/v1/apps/{app}/grants"), "okta.appGrants.read"),
    ];
    // okta.users.manage and okta.apps.manage cover none of them
    let other = e
        .client_token(
            "0oa-directory",
            SECRET,
            "okta.users.manage okta.apps.manage okta.groups.read",
        )
        .await;
    let allowed = e
        .client_token("0oa-posture", SECRET, &POSTURE_SCOPES.join(" "))
        .await;
    for (path, scope) in &endpoints {
        let r = e
            .http
            .get(e.url(path))
            .bearer_auth(&other)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
        let challenge = r.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            challenge.contains(&format!("scope=\"{scope}\""))
                && challenge.contains("insufficient_scope"),
            "{path}: {challenge}"
        );
        let r = e
            .call_as(
                &format!("Bearer {allowed}"),
                reqwest::Method::GET,
                path,
                None,
            )
            .await;
        assert_eq!(r.status, 200, "{path}: {}", r.body);
        // the Super Admin's API token needs no scope
        assert_eq!(e.get(path).await.status, 200, "{path}");
    }
}

#[test]
fn the_configuration_is_the_same_for_a_seed_and_the_default_export_lists_the_service_apps() {
    let p = GenParams::new(41, OrgSize::Small, None, None, None, anchor());
    let (a, b) = (generate(p), generate(p));
    let origin = "http://127.0.0.1:1";
    assert_eq!(
        control::export_posture(&a, origin),
        control::export_posture(&b, origin)
    );
    let c = generate(GenParams { seed: 42, ..p });
    assert_ne!(
        control::export_posture(&a, origin),
        control::export_posture(&c, origin)
    );
    let export = control::export(&a, origin);
    let keys: Vec<&str> = export
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, crate::export::EXPORT_KEYS);
    let labels: Vec<&str> = export["apps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| is_service(a))
        .map(|a| a["label"].as_str().unwrap())
        .collect();
    assert_eq!(labels.len(), 3, "{labels:?}");
    assert!(labels.contains(&"Provisioning Automation"));
    let ids: Vec<&str> = export["apps"].as_array().unwrap().iter().map(id).collect();
    assert!(ids.is_sorted(), "{ids:?}");
    assert_eq!(
        export["apps"].as_array().unwrap().len(),
        a.apps.len() + a.service_apps.len()
    );
}

#[tokio::test]
async fn the_default_export_has_the_service_apps_and_include_posture_adds_conveniences() {
    let e = org(8).await;
    let plain = e.get("/__emulator/export").await;
    let keys: Vec<&str> = plain
        .body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(keys, crate::export::EXPORT_KEYS);
    assert_eq!(plain.body, e.export());
    // the service apps among the apps, their grants among the grants, all sorted
    let service: BTreeSet<&str> = plain.body["apps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| is_service(a))
        .map(id)
        .collect();
    assert_eq!(service.len(), 3);
    let grants = plain.body["app_grants"].as_array().unwrap();
    let granted: BTreeSet<&str> = grants
        .iter()
        .map(|g| g["app_id"].as_str().unwrap())
        .filter(|a| service.contains(a))
        .collect();
    assert_eq!(granted, service);
    let keys: Vec<String> = grants
        .iter()
        .map(|g| format!("{} {}", g["app_id"].as_str().unwrap(), id(&g["grant"])))
        .collect();
    assert!(keys.is_sorted(), "{keys:?}");
    // include=posture: the same export and two conveniences, each already in it
    let full = e.get("/__emulator/export?include=posture").await;
    assert_eq!(full.status, 200);
    let full = full.body.as_object().unwrap().clone();
    for key in crate::export::EXPORT_KEYS {
        assert_eq!(full[key], plain.body[key], "{key}");
    }
    let extra: Vec<&str> = full
        .keys()
        .map(String::as_str)
        .filter(|k| !crate::export::EXPORT_KEYS.contains(k))
        .collect();
    assert_eq!(extra, ["service_apps", "threat_insight"]);
    assert_eq!(
        full["threat_insight"],
        plain.body["org_settings"][0]["setting"]
    );
    let in_apps: Vec<&Value> = plain.body["apps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| is_service(a))
        .collect();
    let conv: Vec<&Value> = full["service_apps"].as_array().unwrap().iter().collect();
    assert_eq!(conv, in_apps);
    // what it holds is what the API serves, minus `_links`
    let zones = e.walk("/api/v1/zones").await;
    let bare: Vec<Value> = zones.iter().map(crate::common::bare).collect();
    assert_eq!(full["network_zones"], Value::Array(bare));
    let r = e.get("/__emulator/export?include=everything").await;
    assert_eq!((r.status, r.error_code()), (400, "E0000001"));
}
