//! The canonical export: deterministic, sorted, and equal to what the API serves.

use crate::common::{Emu, anchor, bare};
use okta_emulator::generate::{GenParams, generate};
use okta_emulator::{OrgSize, control};
use serde_json::Value;

#[test]
fn the_same_seed_gives_the_same_export_byte_for_byte() {
    let p = GenParams::new(77, OrgSize::Small, None, None, None, anchor());
    let a = control::export_bytes(&generate(p));
    let b = control::export_bytes(&generate(p));
    assert_eq!(a, b);
    let c = control::export_bytes(&generate(GenParams { seed: 78, ..p }));
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
    let now = control::export(&generate(p));
    let mut moved_back = control::export(&generate(later));
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
    assert_eq!(export, e.export());
    let keys: Vec<&String> = export.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "app_groups",
            "app_users",
            "apps",
            "factors",
            "group_members",
            "groups",
            "idps",
            "role_assignments",
            "users"
        ]
    );
    let s = |v: &Value, k: &str| v[k].as_str().unwrap().to_string();
    for k in ["users", "groups", "apps", "idps"] {
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
