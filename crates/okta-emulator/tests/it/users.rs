//! User create, update and lifecycle with Okta's status rules and events.

use crate::common::{Emu, event_types};
use okta_emulator::OrgSize;
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn lifecycle_follows_okta_status_rules_and_logs_each_step() {
    let e = Emu::start(OrgSize::Tiny, 11).await;
    let body = json!({"profile": {"firstName": "Zoë", "lastName": "Ødegaard", "email": "zoe@example.com", "login": "zoe@example.com"},
                      "credentials": {"password": {"value": "Sup3r-secret!"}}});
    let created = e
        .call(
            Method::POST,
            "/api/v1/users?activate=false",
            Some(body.clone()),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.body["status"], "STAGED");
    assert_eq!(created.body["created"], e.now_text());
    let id = created.body["id"].as_str().unwrap().to_string();
    // Creation also adds the user to Everyone, and so to the apps Everyone is assigned to.
    assert!(event_types(&e.last_events(5)).contains(&"user.lifecycle.create".to_string()));

    let dup = e.call(Method::POST, "/api/v1/users", Some(body)).await;
    assert_eq!((dup.status, dup.error_code()), (400, "E0000001"));

    let suspend_staged = e
        .call(
            Method::POST,
            &format!("/api/v1/users/{id}/lifecycle/suspend"),
            None,
        )
        .await;
    assert_eq!(suspend_staged.status, 400);

    e.tick();
    let r = e
        .call(
            Method::POST,
            &format!("/api/v1/users/{id}/lifecycle/activate"),
            None,
        )
        .await;
    assert_eq!(r.status, 200);
    let u = e.get(&format!("/api/v1/users/{id}")).await.body;
    assert_eq!(u["status"], "ACTIVE");
    assert_eq!(u["activated"], e.now_text());
    assert_eq!(u["statusChanged"], e.now_text());
    assert_eq!(u["lastUpdated"], e.now_text());
    let again = e
        .call(
            Method::POST,
            &format!("/api/v1/users/{id}/lifecycle/activate"),
            None,
        )
        .await;
    assert_eq!((again.status, again.error_code()), (403, "E0000016"));

    e.tick();
    assert_eq!(
        e.call(
            Method::POST,
            &format!("/api/v1/users/{id}/lifecycle/suspend"),
            None
        )
        .await
        .status,
        200
    );
    assert_eq!(
        e.get(&format!("/api/v1/users/{id}")).await.body["status"],
        "SUSPENDED"
    );
    assert_eq!(
        e.call(
            Method::POST,
            &format!("/api/v1/users/{id}/lifecycle/suspend"),
            None
        )
        .await
        .status,
        400
    );
    assert_eq!(
        e.call(
            Method::POST,
            &format!("/api/v1/users/{id}/lifecycle/unsuspend"),
            None
        )
        .await
        .status,
        200
    );

    e.tick();
    let upd = e
        .call(
            Method::POST,
            &format!("/api/v1/users/{id}"),
            Some(json!({"profile": {"title": "Director"}})),
        )
        .await;
    assert_eq!(upd.status, 200);
    assert_eq!(upd.body["profile"]["title"], "Director");
    assert_eq!(
        upd.body["profile"]["firstName"], "Zoë",
        "a POST update is partial"
    );
    assert_eq!(upd.body["lastUpdated"], e.now_text());

    // DELETE deactivates first, then deletes.
    e.tick();
    assert_eq!(
        e.call(Method::DELETE, &format!("/api/v1/users/{id}"), None)
            .await
            .status,
        204
    );
    let u = e.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(u.body["status"], "DEPROVISIONED");
    let visible = e.walk("/api/v1/users").await;
    assert!(visible.len() > 10, "the list still lists the others");
    assert!(
        visible.iter().all(|u| u["id"] != id.as_str()),
        "hidden from the unfiltered list"
    );
    assert_eq!(
        e.call(Method::DELETE, &format!("/api/v1/users/{id}"), None)
            .await
            .status,
        204
    );
    let gone = e.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!((gone.status, gone.error_code()), (404, "E0000007"));
    assert!(
        e.export()["group_members"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["user_id"] != id.as_str())
    );

    let last: Vec<serde_json::Value> = e
        .last_events(20)
        .into_iter()
        .filter(|x| x["eventType"].as_str().unwrap().starts_with("user."))
        .collect();
    let last = last[last.len() - 7..].to_vec();
    assert_eq!(
        event_types(&last),
        [
            "user.lifecycle.activate",
            "user.lifecycle.suspend",
            "user.lifecycle.unsuspend",
            "user.account.update_profile",
            "user.lifecycle.deactivate",
            "user.lifecycle.delete.initiated",
            "user.lifecycle.delete.completed",
        ]
    );
    for ev in &last {
        assert_eq!(ev["target"][0]["type"], "User");
        assert_eq!(ev["target"][0]["id"], id.as_str());
        assert_eq!(
            ev["actor"]["type"], "User",
            "an API token acts as the super admin"
        );
        assert_eq!(ev["outcome"]["result"], "SUCCESS");
        assert!(
            ev["debugContext"]["debugData"]["requestUri"]
                .as_str()
                .unwrap()
                .starts_with("/api/v1/users/")
        );
    }
    assert_eq!(
        last[0]["legacyEventType"],
        "core.user.config.user_activated"
    );
}

#[tokio::test]
async fn validation_errors_and_unknown_users() {
    let e = Emu::start(OrgSize::Tiny, 12).await;
    let r = e
        .call(
            Method::POST,
            "/api/v1/users",
            Some(json!({"profile": {"firstName": "A"}})),
        )
        .await;
    assert_eq!((r.status, r.error_code()), (400, "E0000001"));
    let r = e.get("/api/v1/users/00uDOESNOTEXIST000000").await;
    assert_eq!((r.status, r.error_code()), (404, "E0000007"));
    let r = e
        .http
        .post(e.url("/api/v1/users"))
        .header(
            "Authorization",
            format!("SSWS {}", okta_emulator::config::DEFAULT_TOKEN),
        )
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["errorCode"], "E0000003");
}
