//! Group writes: membership (204, OKTA_GROUP only, lastMembershipUpdated only), create,
//! update, delete, expand=stats.

use crate::common::{Emu, event_types};
use okta_emulator::OrgSize;
use reqwest::Method;
use serde_json::{Value, json};

fn first_of<'a>(export: &'a Value, kind: &str) -> &'a Value {
    export["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["type"] == kind)
        .unwrap()
}

#[tokio::test]
async fn membership_writes_move_last_membership_updated_only_and_log_user_and_group() {
    let e = Emu::start(OrgSize::Small, 21).await;
    let export = e.export();
    let group = first_of(&export, "OKTA_GROUP").clone();
    let gid = group["id"].as_str().unwrap();
    let members: Vec<&str> = export["group_members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["group_id"] == gid)
        .map(|m| m["user_id"].as_str().unwrap())
        .collect();
    let user = export["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| !members.contains(&u["id"].as_str().unwrap()))
        .unwrap();
    let uid = user["id"].as_str().unwrap();
    let user_updated = user["lastUpdated"].clone();

    e.tick();
    let r = e
        .call(
            Method::PUT,
            &format!("/api/v1/groups/{gid}/users/{uid}"),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(r.body, Value::Null);
    let g = e.get(&format!("/api/v1/groups/{gid}")).await.body;
    assert_eq!(g["lastMembershipUpdated"], e.now_text());
    assert_eq!(
        g["lastUpdated"], group["lastUpdated"],
        "a membership change leaves lastUpdated alone"
    );
    assert_eq!(
        e.get(&format!("/api/v1/users/{uid}")).await.body["lastUpdated"],
        user_updated
    );
    let listed = e.walk(&format!("/api/v1/groups/{gid}/users")).await;
    assert!(listed.iter().any(|u| u["id"] == uid));
    let ev = e
        .last_events(5)
        .into_iter()
        .rev()
        .find(|x| x["eventType"] == "group.user_membership.add")
        .unwrap();
    assert_eq!(ev["target"][0]["type"], "User");
    assert_eq!(ev["target"][0]["id"], uid);
    assert_eq!(ev["target"][1]["type"], "UserGroup");
    assert_eq!(ev["target"][1]["id"], gid);
    assert_eq!(ev["legacyEventType"], "core.user_group_member.user_add");
    assert_eq!(
        ev["debugContext"]["debugData"]["requestUri"],
        format!("/api/v1/groups/{gid}/users/{uid}")
    );
    assert_eq!(ev["published"], e.now_text());

    // Adding again changes nothing.
    let before = e.log_len();
    assert_eq!(
        e.call(
            Method::PUT,
            &format!("/api/v1/groups/{gid}/users/{uid}"),
            None
        )
        .await
        .status,
        204
    );
    assert_eq!(e.log_len(), before);

    e.tick();
    assert_eq!(
        e.call(
            Method::DELETE,
            &format!("/api/v1/groups/{gid}/users/{uid}"),
            None
        )
        .await
        .status,
        204
    );
    let g = e.get(&format!("/api/v1/groups/{gid}")).await.body;
    assert_eq!(g["lastMembershipUpdated"], e.now_text());
    assert!(
        e.last_events(5)
            .iter()
            .any(|x| x["eventType"] == "group.user_membership.remove")
    );
}

#[tokio::test]
async fn app_groups_and_everyone_refuse_membership_writes() {
    let e = Emu::start(OrgSize::Small, 22).await;
    let export = e.export();
    let uid = export["users"][0]["id"].as_str().unwrap();
    for kind in ["APP_GROUP", "BUILT_IN"] {
        let gid = first_of(&export, kind)["id"].as_str().unwrap();
        let r = e
            .call(
                Method::PUT,
                &format!("/api/v1/groups/{gid}/users/{uid}"),
                None,
            )
            .await;
        assert_eq!((r.status, r.error_code()), (403, "E0000006"), "{kind}");
        let r = e
            .call(
                Method::DELETE,
                &format!("/api/v1/groups/{gid}/users/{uid}"),
                None,
            )
            .await;
        assert_eq!(r.status, 403, "{kind}");
    }
    let r = e
        .call(
            Method::PUT,
            &format!("/api/v1/groups/00gNOPE00000000000000/users/{uid}"),
            None,
        )
        .await;
    assert_eq!((r.status, r.error_code()), (404, "E0000007"));
}

#[tokio::test]
async fn create_update_delete_and_stats() {
    let e = Emu::start(OrgSize::Tiny, 23).await;
    let created = e
        .call(
            Method::POST,
            "/api/v1/groups",
            Some(json!({"profile": {"name": "Ops Rotation", "description": "on call"}})),
        )
        .await;
    assert_eq!(created.status, 200);
    assert_eq!(created.body["type"], "OKTA_GROUP");
    assert_eq!(created.body["objectClass"], json!(["okta:user_group"]));
    let gid = created.body["id"].as_str().unwrap().to_string();
    e.tick();
    let upd = e
        .call(
            Method::PUT,
            &format!("/api/v1/groups/{gid}"),
            Some(json!({"profile": {"name": "Ops", "description": null}})),
        )
        .await;
    assert_eq!(upd.status, 200);
    assert_eq!(upd.body["lastUpdated"], e.now_text());
    assert_ne!(upd.body["lastMembershipUpdated"], e.now_text());

    let export = e.export();
    let uid = export["users"][1]["id"].as_str().unwrap();
    e.call(
        Method::PUT,
        &format!("/api/v1/groups/{gid}/users/{uid}"),
        None,
    )
    .await;
    let grant = e
        .call(
            Method::POST,
            &format!("/api/v1/groups/{gid}/roles"),
            Some(json!({"type": "HELP_DESK_ADMIN"})),
        )
        .await;
    assert_eq!(
        grant.status, 201,
        "Okta answers a group role grant with 201"
    );
    assert_eq!(grant.body["assignmentType"], "GROUP");
    let g = e
        .get(&format!("/api/v1/groups/{gid}?expand=stats"))
        .await
        .body;
    let stats = &g["_embedded"]["stats"];
    assert_eq!(stats["usersCount"], 1);
    assert_eq!(stats["appsCount"], 0);
    assert_eq!(stats["groupPushMappingsCount"], 0);
    assert_eq!(stats["hasAdminPrivlege"], true);
    let listed = e.walk("/api/v1/groups?expand=stats").await;
    assert!(listed.len() >= 3, "{} groups", listed.len());
    assert!(
        listed
            .iter()
            .all(|g| g["_embedded"]["stats"]["usersCount"].is_u64())
    );

    assert_eq!(
        e.call(Method::DELETE, &format!("/api/v1/groups/{gid}"), None)
            .await
            .status,
        204
    );
    assert_eq!(e.get(&format!("/api/v1/groups/{gid}")).await.status, 404);
    let export = e.export();
    assert!(
        export["group_members"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["group_id"] != gid.as_str())
    );
    assert!(
        export["role_assignments"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["assignee_id"] != gid.as_str())
    );
    let types = event_types(&e.last_events(1));
    assert_eq!(types, ["group.lifecycle.delete"]);
}
