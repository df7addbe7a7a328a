//! `filter`, `search` and `q` on users and groups, with Okta's errors.

use crate::common::Emu;
use okta_emulator::OrgSize;
use serde_json::Value;

fn enc(s: &str) -> String {
    s.replace('%', "%25")
        .replace(' ', "%20")
        .replace('"', "%22")
        .replace('(', "%28")
        .replace(')', "%29")
}

#[tokio::test]
async fn unfiltered_users_hide_deprovisioned_and_a_status_filter_finds_them() {
    let e = Emu::start(OrgSize::Small, 5).await;
    let export = e.export();
    let users = export["users"].as_array().unwrap();
    let deprov = users
        .iter()
        .filter(|u| u["status"] == "DEPROVISIONED")
        .count();
    assert!(deprov > 0, "the generator makes DEPROVISIONED users");
    let listed = e.walk("/api/v1/users").await;
    assert_eq!(listed.len(), users.len() - deprov);
    assert!(listed.iter().all(|u| u["status"] != "DEPROVISIONED"));
    let found = e
        .walk(&format!(
            "/api/v1/users?filter={}",
            enc(r#"status eq "DEPROVISIONED""#)
        ))
        .await;
    assert_eq!(found.len(), deprov);
    // Every status, named in one filter, returns every user.
    let all = e
        .walk(&format!(
            "/api/v1/users?filter={}",
            enc(r#"status eq "STAGED" or status eq "PROVISIONED" or status eq "ACTIVE" or status eq "RECOVERY" or status eq "PASSWORD_EXPIRED" or status eq "LOCKED_OUT" or status eq "SUSPENDED" or status eq "DEPROVISIONED""#)
        ))
        .await;
    assert_eq!(all.len(), users.len());
    // and the objects equal the export's (minus _links).
    let bare: Vec<Value> = all.iter().map(crate::common::bare).collect();
    assert_eq!(&bare, users);
}

#[tokio::test]
async fn last_updated_filters_compare_timestamps_and_need_quotes() {
    let e = Emu::start(OrgSize::Small, 6).await;
    let export = e.export();
    let users = export["users"].as_array().unwrap();
    let cut = "2026-09-01T00:00:00.000Z";
    let want = users
        .iter()
        .filter(|u| u["lastUpdated"].as_str().unwrap() > cut)
        .count();
    let got = e
        .walk(&format!(
            "/api/v1/users?filter={}",
            enc(&format!(r#"lastUpdated gt "{cut}""#))
        ))
        .await;
    assert_eq!(got.len(), want);
    let want_active = users
        .iter()
        .filter(|u| {
            u["lastUpdated"].as_str().unwrap() >= cut
                && (u["status"] == "ACTIVE" || u["status"] == "SUSPENDED")
        })
        .count();
    let got = e
        .walk(&format!(
            "/api/v1/users?filter={}",
            enc(&format!(
                r#"lastUpdated ge "{cut}" and (status eq "ACTIVE" or status eq "SUSPENDED")"#
            ))
        ))
        .await;
    assert_eq!(got.len(), want_active);

    let r = e
        .get(&format!(
            "/api/v1/users?filter={}",
            enc(&format!("lastUpdated gt {cut}"))
        ))
        .await;
    assert_eq!(r.status, 400);
    assert_eq!(r.error_code(), "E0000031");
    for bad in [
        r#"profile.city eq "Berlin""#,
        r#"status sw "ACT""#,
        r#"status eq "ACTIVE" and"#,
    ] {
        let r = e.get(&format!("/api/v1/users?filter={}", enc(bad))).await;
        assert_eq!((r.status, r.error_code()), (400, "E0000031"), "{bad}");
    }
}

#[tokio::test]
async fn login_id_search_and_q_find_users() {
    let e = Emu::start(OrgSize::Small, 7).await;
    let export = e.export();
    let u = export["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["status"] == "ACTIVE")
        .unwrap()
        .clone();
    let login = u["profile"]["login"].as_str().unwrap();
    let id = u["id"].as_str().unwrap();
    let r = e
        .get(&format!(
            "/api/v1/users?filter={}",
            enc(&format!(r#"profile.login eq "{login}""#))
        ))
        .await;
    assert_eq!(r.array().len(), 1);
    assert_eq!(r.array()[0]["id"], id);
    let r = e
        .get(&format!(
            "/api/v1/users?filter={}",
            enc(&format!(r#"id eq "{id}""#))
        ))
        .await;
    assert_eq!(r.array().len(), 1);
    let by_login = e.get(&format!("/api/v1/users/{login}")).await;
    assert_eq!(by_login.body["id"], id);

    let dept = u["profile"]["department"].as_str().unwrap();
    let want = export["users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["profile"]["department"] == dept)
        .count();
    let got = e
        .walk(&format!(
            "/api/v1/users?search={}",
            enc(&format!(r#"profile.department eq "{dept}""#))
        ))
        .await;
    assert_eq!(got.len(), want);

    let first = u["profile"]["firstName"].as_str().unwrap();
    let r = e.get(&format!("/api/v1/users?q={}", enc(first))).await;
    assert!(
        !r.array().is_empty() && r.array().len() <= 10,
        "q defaults to 10 results"
    );
    assert!(r.next().is_none(), "q is not paginated");
}

#[tokio::test]
async fn group_filters_on_type_and_membership_timestamps() {
    let e = Emu::start(OrgSize::Small, 8).await;
    let export = e.export();
    let groups = export["groups"].as_array().unwrap();
    for t in ["OKTA_GROUP", "APP_GROUP", "BUILT_IN"] {
        let want = groups.iter().filter(|g| g["type"] == t).count();
        let got = e
            .walk(&format!(
                "/api/v1/groups?limit=17&filter={}",
                enc(&format!(r#"type eq "{t}""#))
            ))
            .await;
        assert_eq!(got.len(), want, "{t}");
        assert!(want > 0, "{t} exists");
    }
    let cut = "2026-10-01T00:00:00.000Z";
    let want = groups
        .iter()
        .filter(|g| {
            g["lastUpdated"].as_str().unwrap() > cut
                || g["lastMembershipUpdated"].as_str().unwrap() > cut
        })
        .count();
    let got = e
        .walk(&format!(
            "/api/v1/groups?filter={}",
            enc(&format!(
                r#"lastUpdated gt "{cut}" or lastMembershipUpdated gt "{cut}""#
            ))
        ))
        .await;
    assert_eq!(got.len(), want);
    let r = e
        .get(&format!(
            "/api/v1/groups?filter={}",
            enc("lastMembershipUpdated gt 2026-01-01")
        ))
        .await;
    assert_eq!((r.status, r.error_code()), (400, "E0000031"));
    let app_group = groups.iter().find(|g| g["type"] == "APP_GROUP").unwrap();
    let r = e
        .get(&format!(
            "/api/v1/groups/{}",
            app_group["id"].as_str().unwrap()
        ))
        .await;
    assert!(
        r.body["_links"]["source"]["href"]
            .as_str()
            .unwrap()
            .contains("/api/v1/apps/0oa")
    );
    let r = e.get("/api/v1/groups?q=Every").await;
    assert_eq!(r.array().len(), 1);
}
