//! App users through groups and directly; role assignments and /iam/assignees/users.

use crate::common::{Emu, event_types};
use okta_emulator::OrgSize;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn a_group_assignment_makes_its_members_app_users_with_scope_group() {
    let e = Emu::start(OrgSize::Tiny, 31).await;
    let g = e
        .call(
            Method::POST,
            "/api/v1/groups",
            Some(json!({"profile": {"name": "App Testers"}})),
        )
        .await
        .body;
    let gid = g["id"].as_str().unwrap().to_string();
    let export = e.export();
    let app = export["apps"].as_array().unwrap().last().unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let app_users: Vec<String> = export["app_users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["app_id"] == app.as_str())
        .map(|a| a["user_id"].as_str().unwrap().to_string())
        .collect();
    let outsiders: Vec<String> = export["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["id"].as_str().unwrap().to_string())
        .filter(|u| !app_users.contains(u))
        .take(2)
        .collect();
    assert_eq!(outsiders.len(), 2);
    let (a, b) = (&outsiders[0], &outsiders[1]);
    e.call(
        Method::PUT,
        &format!("/api/v1/groups/{gid}/users/{a}"),
        None,
    )
    .await;

    let r = e
        .call(
            Method::PUT,
            &format!("/api/v1/apps/{app}/groups/{gid}"),
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["id"], gid.as_str());
    let events = e.last_events(2);
    assert_eq!(
        event_types(&events),
        [
            "group.application_assignment.add",
            "application.user_membership.add"
        ]
    );
    assert_eq!(events[1]["target"][0]["type"], "AppUser");
    assert_eq!(events[1]["target"][1]["type"], "AppInstance");
    assert_eq!(events[1]["target"][2]["type"], "User");

    let users = e.walk(&format!("/api/v1/apps/{app}/users")).await;
    let au = users
        .iter()
        .find(|u| u["id"] == a.as_str())
        .expect("member is an app user");
    assert_eq!(au["scope"], "GROUP");
    let expanded = e
        .get(&format!("/api/v1/apps/{app}/users?expand=user&limit=500"))
        .await;
    let row = expanded
        .array()
        .iter()
        .find(|u| u["id"] == a.as_str())
        .unwrap();
    assert_eq!(row["_embedded"]["user"]["id"], a.as_str());
    assert!(row["_links"]["user"]["href"].is_string());

    // A later member gains the app too; a direct assignment makes the scope USER.
    e.call(
        Method::PUT,
        &format!("/api/v1/groups/{gid}/users/{b}"),
        None,
    )
    .await;
    assert_eq!(
        event_types(&e.last_events(1)),
        ["application.user_membership.add"]
    );
    let direct = e
        .call(
            Method::POST,
            &format!("/api/v1/apps/{app}/users"),
            Some(json!({"id": b, "scope": "USER"})),
        )
        .await;
    assert_eq!(direct.status, 200);
    assert_eq!(direct.body["scope"], "USER");
    let groups = e.walk(&format!("/api/v1/apps/{app}/groups")).await;
    assert!(groups.iter().any(|g| g["id"] == gid.as_str()));
    let gapps = e.walk(&format!("/api/v1/groups/{gid}/apps")).await;
    assert_eq!(gapps.len(), 1);

    // Removing the group assignment takes the GROUP-only user away, keeps the direct one.
    assert_eq!(
        e.call(
            Method::DELETE,
            &format!("/api/v1/apps/{app}/groups/{gid}"),
            None
        )
        .await
        .status,
        204
    );
    let export = e.export();
    let rows: Vec<&Value> = export["app_users"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["app_id"] == app.as_str())
        .collect();
    assert!(rows.iter().all(|r| r["user_id"] != a.as_str()));
    assert!(
        rows.iter()
            .any(|r| r["user_id"] == b.as_str() && r["scope"] == "USER")
    );
    assert!(
        event_types(&e.last_events(3)).contains(&"application.user_membership.remove".to_string())
    );
    assert_eq!(
        e.call(
            Method::DELETE,
            &format!("/api/v1/apps/{app}/users/{b}"),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(
        e.get(&format!("/api/v1/apps/{app}/users/{b}")).await.status,
        404
    );
}

#[tokio::test]
async fn roles_grant_list_and_revoke_with_events() {
    let e = Emu::start(OrgSize::Small, 32).await;
    let export = e.export();
    let user = export["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| {
            u["status"] == "ACTIVE" && {
                let id = u["id"].as_str().unwrap();
                export["role_assignments"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|r| r["assignee_id"] != id)
            }
        })
        .unwrap();
    let uid = user["id"].as_str().unwrap();
    let r = e
        .call(
            Method::POST,
            &format!("/api/v1/users/{uid}/roles"),
            Some(json!({"type": "APP_ADMIN"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["type"], "APP_ADMIN");
    assert_eq!(r.body["assignmentType"], "USER");
    assert!(
        r.body["_links"]["assignee"]["href"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/api/v1/users/{uid}"))
    );
    let rid = r.body["id"].as_str().unwrap().to_string();
    let ev = &e.last_events(1)[0];
    assert_eq!(ev["eventType"], "user.account.privilege.grant");
    assert_eq!(
        ev["debugContext"]["debugData"]["privilegeGranted"],
        "Application Administrator"
    );
    let dup = e
        .call(
            Method::POST,
            &format!("/api/v1/users/{uid}/roles"),
            Some(json!({"type": "APP_ADMIN"})),
        )
        .await;
    assert_eq!(dup.status, 409);

    let roles = e.get(&format!("/api/v1/users/{uid}/roles")).await;
    assert!(roles.array().iter().any(|x| x["id"] == rid.as_str()));
    assert!(roles.links().is_empty(), "not paginated");

    // /iam/assignees/users: the next link is in the body.
    let mut ids = Vec::new();
    let mut url = Some(e.url("/api/v1/iam/assignees/users?limit=5"));
    while let Some(u) = url {
        let page = e.get(&u).await;
        assert_eq!(page.status, 200);
        for v in page.body["value"].as_array().unwrap() {
            ids.push(v["id"].as_str().unwrap().to_string());
            assert!(
                v["_links"]["roles"]["href"]
                    .as_str()
                    .unwrap()
                    .ends_with("/roles")
            );
        }
        url = page.body["_links"]["next"]["href"]
            .as_str()
            .map(str::to_string);
    }
    let export = e.export();
    let mut want: Vec<String> = export["role_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["assignee_type"] == "USER")
        .map(|r| r["assignee_id"].as_str().unwrap().to_string())
        .collect();
    want.dedup();
    assert!(want.len() > 5, "several pages of assignees: {want:?}");
    assert_eq!(ids, want);
    assert!(ids.contains(&uid.to_string()));

    assert_eq!(
        e.call(
            Method::DELETE,
            &format!("/api/v1/users/{uid}/roles/{rid}"),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(
        e.last_events(1)[0]["eventType"],
        "user.account.privilege.revoke"
    );
    assert_eq!(
        e.call(
            Method::DELETE,
            &format!("/api/v1/users/{uid}/roles/{rid}"),
            None
        )
        .await
        .status,
        404
    );
}

#[tokio::test]
async fn idps_and_factors_are_served() {
    let e = Emu::start(OrgSize::Small, 33).await;
    let idps = e.walk("/api/v1/idps").await;
    assert!(idps.len() >= 2);
    assert_eq!(idps.len(), e.export()["idps"].as_array().unwrap().len());
    let (uid, factors) = {
        let org = e.emu.state().org.read();
        org.factors
            .iter()
            .next()
            .map(|(u, f)| (u.to_string(), f.len()))
            .unwrap()
    };
    let r = e.get(&format!("/api/v1/users/{uid}/factors")).await;
    assert_eq!(r.array().len(), factors);
    assert!(r.array()[0]["factorType"].is_string());
}

#[tokio::test]
async fn apps_deactivate_then_delete_with_their_assignments() {
    let e = Emu::start(OrgSize::Tiny, 34).await;
    let export = e.export();
    // The first apps hold Everyone: pick one with user and group assignments.
    let app = export["app_groups"][0]["app_id"]
        .as_str()
        .unwrap()
        .to_string();
    // An ACTIVE app cannot be deleted: 403 E0000056, and it stays.
    let r = e
        .call(
            Method::POST,
            &format!("/api/v1/apps/{app}/lifecycle/activate"),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let active = e
        .call(Method::DELETE, &format!("/api/v1/apps/{app}"), None)
        .await;
    assert_eq!((active.status, active.error_code()), (403, "E0000056"));
    assert_eq!(active.body["errorSummary"], "Delete application forbidden.");
    assert_eq!(
        active.body["errorCauses"][0]["errorSummary"],
        "The application must be deactivated before deletion."
    );
    assert_eq!(e.get(&format!("/api/v1/apps/{app}")).await.status, 200);
    e.tick();
    let r = e
        .call(
            Method::POST,
            &format!("/api/v1/apps/{app}/lifecycle/deactivate"),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let a = e.get(&format!("/api/v1/apps/{app}")).await.body;
    assert_eq!(a["status"], "INACTIVE");
    assert_eq!(
        e.call(Method::DELETE, &format!("/api/v1/apps/{app}"), None)
            .await
            .status,
        204
    );
    assert_eq!(e.get(&format!("/api/v1/apps/{app}")).await.status, 404);
    assert_eq!(
        e.last_events(1)[0]["eventType"],
        "application.lifecycle.delete"
    );
    let export = e.export();
    assert!(
        export["app_users"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["app_id"] != app.as_str())
    );
    assert!(
        export["app_groups"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["app_id"] != app.as_str())
    );
    for g in export["groups"].as_array().unwrap() {
        let gid = g["id"].as_str().unwrap();
        let apps = e.walk(&format!("/api/v1/groups/{gid}/apps")).await;
        assert!(apps.iter().all(|x| x["id"] != app.as_str()));
    }
}
