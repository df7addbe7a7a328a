//! The canonical export: deterministic, sorted, and equal to what the API serves.

use crate::common::{Emu, anchor, bare};
use okta_emulator::generate::{GenParams, generate};
use okta_emulator::{OrgSize, control};
use serde_json::Value;

/// The org URL exports made without a server name (grants carry it as their `issuer`).
const ORIGIN: &str = "http://127.0.0.1:1";

#[test]
fn the_same_seed_gives_the_same_export_byte_for_byte() {
    let p = GenParams::new(77, OrgSize::Small, None, None, None, anchor());
    let a = control::export_bytes(&generate(p), ORIGIN);
    let b = control::export_bytes(&generate(p), ORIGIN);
    assert_eq!(a, b);
    let c = control::export_bytes(&generate(GenParams { seed: 78, ..p }), ORIGIN);
    assert_ne!(a, c);
}

/// Every RFC 3339 string in `value`, moved by `by`.
fn shift_times(value: &mut Value, by: chrono::Duration) -> usize {
    match value {
        Value::String(s) => match chrono::DateTime::parse_from_rfc3339(s) {
            Ok(t) => {
                *s = (t.with_timezone(&chrono::Utc) + by)
                    .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                    .to_string();
                1
            }
            Err(_) => match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                Ok(d) => {
                    *s = (d + by).format("%Y-%m-%d").to_string();
                    1
                }
                Err(_) => 0,
            },
        },
        Value::Array(items) => items.iter_mut().map(|v| shift_times(v, by)).sum(),
        Value::Object(map) => map.values_mut().map(|v| shift_times(v, by)).sum(),
        _ => 0,
    }
}

#[test]
fn an_org_anchored_later_is_the_same_org_moved_in_time() {
    let p = GenParams::new(77, OrgSize::Tiny, None, None, None, anchor());
    let later = GenParams::new(
        77,
        OrgSize::Tiny,
        None,
        None,
        None,
        anchor() + chrono::Duration::days(400) + chrono::Duration::milliseconds(234),
    );
    let now = control::export(&generate(p), ORIGIN);
    let mut moved_back = control::export(&generate(later), ORIGIN);
    // The anchor is taken to the whole second, as Okta's timestamps are: the 234 ms go.
    let shifted = shift_times(&mut moved_back, -chrono::Duration::days(400));
    assert!(shifted > 100, "only {shifted} timestamps in the export");
    let (a, b) = (
        serde_json::to_string_pretty(&moved_back).unwrap(),
        serde_json::to_string_pretty(&now).unwrap(),
    );
    let first = a.lines().zip(b.lines()).position(|(x, y)| x != y);
    assert!(
        first.is_none() && a.len() == b.len(),
        "first difference at line {first:?}: {:?}",
        first.map(|i| (a.lines().nth(i), b.lines().nth(i)))
    );
}

fn sorted_by<F: Fn(&Value) -> String>(list: &[Value], key: F) -> bool {
    list.windows(2).all(|w| key(&w[0]) < key(&w[1]))
}

#[tokio::test]
async fn export_lists_are_sorted_and_objects_match_the_api() {
    let e = Emu::start(OrgSize::Small, 61).await;
    let r = e.get("/__emulator/export").await;
    assert_eq!(r.status, 200);
    let export = r.body;
    // Every list below is compared with what the API's own endpoints serve.
    let keys: Vec<&String> = export.as_object().unwrap().keys().collect();
    assert_eq!(keys, EXPORT_KEYS);
    let s = |v: &Value, k: &str| v[k].as_str().unwrap().to_string();
    for k in [
        "app_groups",
        "app_users",
        "apps",
        "factors",
        "group_members",
        "group_rules",
        "groups",
        "idps",
        "role_assignments",
        "users",
    ] {
        assert!(
            export[k].as_array().unwrap().len() >= 3,
            "{k}: the small org has some"
        );
    }
    for k in ["users", "groups", "group_rules", "apps", "idps"] {
        assert!(
            sorted_by(export[k].as_array().unwrap(), |v| s(v, "id")),
            "{k}"
        );
    }
    assert!(sorted_by(
        export["group_members"].as_array().unwrap(),
        |v| format!("{} {}", s(v, "group_id"), s(v, "user_id"))
    ));
    assert!(sorted_by(
        export["app_users"].as_array().unwrap(),
        |v| format!("{} {}", s(v, "app_id"), s(v, "user_id"))
    ));
    assert!(sorted_by(
        export["factors"].as_array().unwrap(),
        |v| format!(
            "{} {}",
            s(v, "user_id"),
            v["factor"]["id"].as_str().unwrap()
        )
    ));
    assert!(sorted_by(
        export["app_groups"].as_array().unwrap(),
        |v| format!("{} {}", s(v, "app_id"), s(v, "group_id"))
    ));
    assert!(sorted_by(
        export["role_assignments"].as_array().unwrap(),
        |v| format!(
            "{} {} {} {}",
            s(v, "assignee_type"),
            s(v, "assignee_id"),
            s(v, "role_type"),
            s(v, "id")
        )
    ));
    // Group-derived app users exist alongside direct ones.
    let scopes: Vec<&str> = export["app_users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["scope"].as_str().unwrap())
        .collect();
    assert!(scopes.contains(&"GROUP") && scopes.contains(&"USER"));
    assert!(
        export["role_assignments"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["assignee_type"] == "GROUP")
    );

    // Users of every status (the unfiltered list hides DEPROVISIONED ones), as listed.
    let every_status = [
        "STAGED",
        "PROVISIONED",
        "ACTIVE",
        "RECOVERY",
        "PASSWORD_EXPIRED",
        "LOCKED_OUT",
        "SUSPENDED",
        "DEPROVISIONED",
    ]
    .map(|st| format!("status eq \"{st}\""))
    .join(" or ");
    let filter: String =
        percent_encoding::utf8_percent_encode(&every_status, percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    let users: Vec<Value> = e
        .walk(&format!("/api/v1/users?limit=77&filter={filter}"))
        .await
        .iter()
        .map(bare)
        .collect();
    assert_eq!(&users, export["users"].as_array().unwrap());
    let groups: Vec<Value> = e
        .walk("/api/v1/groups?limit=50")
        .await
        .iter()
        .map(bare)
        .collect();
    assert_eq!(&groups, export["groups"].as_array().unwrap());
    let apps: Vec<Value> = e
        .walk("/api/v1/apps?limit=7")
        .await
        .iter()
        .map(bare)
        .collect();
    assert_eq!(&apps, export["apps"].as_array().unwrap());
    let idps: Vec<Value> = e.walk("/api/v1/idps").await.iter().map(bare).collect();
    assert_eq!(&idps, export["idps"].as_array().unwrap());
    // Group rules exactly as listed (pages of 2, with their names expanded), minus
    // `_embedded`.
    let rules: Vec<Value> = e
        .walk("/api/v1/groups/rules?limit=2&expand=groupIdToGroupNameMap")
        .await
        .iter()
        .map(bare)
        .collect();
    assert_eq!(&rules, export["group_rules"].as_array().unwrap());
    // Each app's users (with their scope) and groups, through the app's listings.
    let (mut app_users, mut app_groups) = (Vec::new(), Vec::new());
    for a in &apps {
        let aid = s(a, "id");
        for u in e.walk(&format!("/api/v1/apps/{aid}/users?limit=50")).await {
            app_users.push(serde_json::json!({
                "app_id": aid, "scope": u["scope"], "user_id": u["id"],
            }));
        }
        for g in e.walk(&format!("/api/v1/apps/{aid}/groups?limit=20")).await {
            app_groups.push(serde_json::json!({"app_id": aid, "group_id": g["id"]}));
        }
    }
    assert_eq!(&app_users, export["app_users"].as_array().unwrap());
    assert_eq!(&app_groups, export["app_groups"].as_array().unwrap());
    // Role assignments: the users holding roles and each one's direct roles, every group's
    // roles.
    let mut roles = Vec::new();
    let mut url = Some(e.url("/api/v1/iam/assignees/users?limit=7"));
    while let Some(u) = url {
        let page = e.get(&u).await;
        assert_eq!(page.status, 200, "{}", page.body);
        for assignee in page.body["value"].as_array().unwrap() {
            let uid = s(assignee, "id");
            for r in e.get(&format!("/api/v1/users/{uid}/roles")).await.array() {
                if r["assignmentType"] == "USER" {
                    roles.push(("USER", uid.clone(), s(r, "type"), s(r, "id")));
                }
            }
        }
        url = page.body["_links"]["next"]["href"]
            .as_str()
            .map(str::to_string);
    }
    for g in &groups {
        let gid = s(g, "id");
        for r in e.get(&format!("/api/v1/groups/{gid}/roles")).await.array() {
            roles.push(("GROUP", gid.clone(), s(r, "type"), s(r, "id")));
        }
    }
    roles.sort();
    let roles: Vec<Value> = roles
        .into_iter()
        .map(|(kind, assignee, role, id)| {
            serde_json::json!({
                "assignee_id": assignee, "assignee_type": kind, "id": id, "role_type": role,
            })
        })
        .collect();
    assert_eq!(&roles, export["role_assignments"].as_array().unwrap());
    // Membership through the API equals the export's pairs.
    let mut pairs = Vec::new();
    for g in export["groups"].as_array().unwrap() {
        let gid = g["id"].as_str().unwrap();
        for u in e
            .walk(&format!("/api/v1/groups/{gid}/users?limit=200"))
            .await
        {
            pairs.push((gid.to_string(), u["id"].as_str().unwrap().to_string()));
        }
    }
    let want: Vec<(String, String)> = export["group_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (s(m, "group_id"), s(m, "user_id")))
        .collect();
    assert_eq!(pairs, want);
    // Factors through the API equal the export's, user by user.
    let factors = export["factors"].as_array().unwrap();
    let holders: std::collections::BTreeSet<String> =
        factors.iter().map(|f| s(f, "user_id")).collect();
    assert!(holders.len() > 50, "{} users with factors", holders.len());
    let mut listed = Vec::new();
    for uid in &holders {
        let mut page: Vec<Value> = e
            .get(&format!("/api/v1/users/{uid}/factors"))
            .await
            .array()
            .iter()
            .map(bare)
            .collect();
        page.sort_by_key(|f| s(f, "id"));
        listed.extend(
            page.into_iter()
                .map(|f| serde_json::json!({"factor": f, "user_id": uid})),
        );
    }
    assert_eq!(&listed, factors);
    // Non-ASCII names and custom attributes survive.
    let text = serde_json::to_string(&export["users"]).unwrap();
    assert!(!text.is_ascii());
    assert!(text.contains("costCenter"));
}

/// The default export's top-level keys, in order (a contract with oktasync's mirror).
pub const EXPORT_KEYS: [&str; 18] = [
    "app_grants",
    "app_groups",
    "app_users",
    "apps",
    "authenticators",
    "factors",
    "group_members",
    "group_rules",
    "groups",
    "idps",
    "log_streams",
    "network_zones",
    "okta_api_tokens",
    "org_settings",
    "policies",
    "policy_rules",
    "role_assignments",
    "users",
];

/// The security configuration in the default export: sorted by the mirror's keys and equal
/// to what the API serves, minus `_links` and `_embedded`.
#[tokio::test]
async fn the_security_configuration_is_exported_sorted_and_as_the_api_serves_it() {
    let e = Emu::start(OrgSize::Small, 63).await;
    let export = e.get("/__emulator/export").await.body;
    assert_eq!(export, e.export(), "the route and the helper agree");
    let s = |v: &Value, k: &str| v[k].as_str().unwrap().to_string();
    let list = |k: &str| export[k].as_array().unwrap().clone();
    for k in [
        "authenticators",
        "log_streams",
        "network_zones",
        "okta_api_tokens",
        "policies",
    ] {
        assert!(!list(k).is_empty(), "{k}");
        assert!(sorted_by(&list(k), |v| s(v, "id")), "{k} by id");
    }
    assert!(sorted_by(&list("policy_rules"), |v| format!(
        "{} {}",
        s(v, "policy_id"),
        v["rule"]["id"].as_str().unwrap()
    )));
    assert!(sorted_by(&list("app_grants"), |v| format!(
        "{} {}",
        s(v, "app_id"),
        v["grant"]["id"].as_str().unwrap()
    )));

    // authenticators, zones, log streams and API tokens as their lists serve them
    let by_id = |mut items: Vec<Value>| {
        items.sort_by_key(|v| s(v, "id"));
        items.iter().map(bare).collect::<Vec<Value>>()
    };
    let authenticators = e.get("/api/v1/authenticators").await.array().clone();
    assert_eq!(by_id(authenticators), list("authenticators"));
    assert_eq!(
        by_id(e.walk("/api/v1/zones?limit=2").await),
        list("network_zones")
    );
    assert_eq!(
        by_id(e.walk("/api/v1/logStreams?limit=1").await),
        list("log_streams")
    );
    let tokens = e.walk("/api/v1/api-tokens?limit=2").await;
    assert!(
        tokens.len() >= 4,
        "generated and posture tokens: {}",
        tokens.len()
    );
    assert_eq!(by_id(tokens), list("okta_api_tokens"));

    // every policy of every type, and each one's rules
    let mut policies = Vec::new();
    let mut rules = Vec::new();
    for kind in [
        "OKTA_SIGN_ON",
        "PASSWORD",
        "MFA_ENROLL",
        "ACCESS_POLICY",
        "IDP_DISCOVERY",
        "PROFILE_ENROLLMENT",
    ] {
        for p in e.walk(&format!("/api/v1/policies?type={kind}")).await {
            let pid = s(&p, "id");
            for r in e
                .get(&format!("/api/v1/policies/{pid}/rules"))
                .await
                .array()
            {
                rules.push(serde_json::json!({"policy_id": pid, "rule": bare(r)}));
            }
            policies.push(p);
        }
    }
    assert_eq!(by_id(policies), list("policies"));
    rules.sort_by_key(|r| {
        format!(
            "{} {}",
            s(r, "policy_id"),
            r["rule"]["id"].as_str().unwrap()
        )
    });
    assert_eq!(rules, list("policy_rules"));

    // ThreatInsight, the one org setting
    let threats = e.get("/api/v1/threats/configuration").await.body;
    assert_eq!(
        list("org_settings"),
        [serde_json::json!({"name": "threat_insight", "setting": bare(&threats)})]
    );

    // the grants of every app the app list shows (the OAuth service apps among them), each
    // as the app's grant list serves it, issuer and all
    let mut grants = Vec::new();
    let mut service_grants = 0;
    for a in e.walk("/api/v1/apps?limit=200").await {
        let aid = s(&a, "id");
        let service = a["settings"]["oauthClient"]["application_type"] == "service";
        for g in e.get(&format!("/api/v1/apps/{aid}/grants")).await.array() {
            grants.push(serde_json::json!({"app_id": aid, "grant": bare(g)}));
            service_grants += usize::from(service);
        }
    }
    assert!(!grants.is_empty(), "the small org's OIDC apps hold grants");
    assert!(service_grants > 0, "the service apps hold grants");
    assert_eq!(grants, list("app_grants"));
    assert_eq!(list("app_grants")[0]["grant"]["issuer"], e.emu.base_url());
}

#[tokio::test]
async fn control_endpoints_need_the_token_and_delegate_stats_and_faults_to_the_gate() {
    let e = Emu::start(OrgSize::Tiny, 62).await;
    let anonymous = e
        .http
        .get(e.url("/__emulator/export"))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    e.get("/api/v1/users").await;
    let stats = e.get("/__emulator/stats").await;
    assert_eq!(stats.status, 200);
    assert!(stats.body["buckets"].is_object(), "{}", stats.body);
    assert!(
        stats.body["status"]["200"].as_u64().unwrap() >= 1,
        "{}",
        stats.body
    );
    let r = e
        .call(
            reqwest::Method::PUT,
            "/__emulator/faults",
            Some(serde_json::json!({"fault_rate": 0.0})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let bad = e
        .call(
            reqwest::Method::PUT,
            "/__emulator/faults",
            Some(serde_json::json!({"fault_rate": 7})),
        )
        .await;
    assert_eq!(bad.status, 400, "{}", bad.body);
}
