//! Membership writes (`PUT`/`DELETE /api/v1/groups/{gid}/users/{uid}`): who may make them
//! (group types, admin-role groups and Super Admins, scopes), Okta's error bodies, their
//! System Log events (actor, request id) and their rate-limit bucket.

use crate::common::{Emu, Resp};
use okta_emulator::config::{DEFAULT_TOKEN, OAuthClientConfig};
use okta_emulator::{EmulatorConfig, OrgSize, RateLimitMode};
use reqwest::Method;
use serde_json::{Value, json};

const GROUP_ADMIN_TOKEN: &str = "00group-admin-token";
const SECRET: &str = "client-secret-0123456789";

fn ssws(token: &str) -> String {
    format!("SSWS {token}")
}

/// A small org with a token and an OAuth client that are not Super Admins, beside the
/// default Super Admin token and a Super Admin client.
async fn org_with_principals(seed: u64) -> Emu {
    Emu::start_with(EmulatorConfig {
        size: OrgSize::Small,
        seed,
        non_super_admin_tokens: vec![GROUP_ADMIN_TOKEN.into()],
        oauth_clients: vec![
            OAuthClientConfig::with_secret("0oa-super", SECRET, &["okta.groups.manage"]),
            OAuthClientConfig::with_secret("0oa-helpdesk", SECRET, &["okta.groups.manage"]),
            OAuthClientConfig::with_secret("0oa-reader", SECRET, &["okta.groups.read"]),
        ],
        non_super_admin_clients: vec!["0oa-helpdesk".into()],
        ..EmulatorConfig::default()
    })
    .await
}

async fn new_group(e: &Emu, name: &str) -> String {
    let r = e
        .call(
            Method::POST,
            "/api/v1/groups",
            Some(json!({"profile": {"name": name}})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["id"].as_str().unwrap().to_string()
}

fn is_member(e: &Emu, gid: &str, uid: &str) -> bool {
    e.export()["group_members"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["group_id"] == gid && m["user_id"] == uid)
}

fn request_id(r: &Resp) -> String {
    r.headers
        .get("x-okta-request-id")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string()
}

/// The last event of `event_type`.
fn last_event(e: &Emu, event_type: &str) -> Value {
    e.last_events(20)
        .into_iter()
        .rev()
        .find(|x| x["eventType"] == event_type)
        .unwrap_or_else(|| panic!("no {event_type} event"))
}

#[tokio::test]
async fn put_twice_is_204_twice_and_events_carry_the_actor_and_the_request_id() {
    let e = Emu::start(OrgSize::Small, 41).await;
    let gid = new_group(&e, "Twice").await;
    let export = e.export();
    let uid = export["users"][3]["id"].as_str().unwrap().to_string();
    let admin = export["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["profile"]["login"] == "admin@example.com")
        .unwrap()["id"]
        .clone();
    let path = format!("/api/v1/groups/{gid}/users/{uid}");
    e.tick();
    let first = e.call(Method::PUT, &path, None).await;
    assert_eq!((first.status, &first.body), (204, &Value::Null));
    let added = last_event(&e, "group.user_membership.add");
    assert_eq!(
        added["actor"]["id"], admin,
        "an API token acts as its admin"
    );
    assert_eq!(added["actor"]["type"], "User");
    assert_eq!(
        added["debugContext"]["debugData"]["requestId"],
        request_id(&first),
        "the event names the request that made it"
    );
    assert_eq!(added["target"][0]["id"], uid.as_str());
    assert_eq!(added["target"][1]["id"], gid.as_str());
    let before = e.log_len();
    let second = e.call(Method::PUT, &path, None).await;
    assert_eq!(second.status, 204, "adding a member again is no error");
    assert_eq!(e.log_len(), before, "and changes nothing");
    assert_ne!(request_id(&first), request_id(&second));
    assert!(is_member(&e, &gid, &uid));

    let removed = e.call(Method::DELETE, &path, None).await;
    assert_eq!(removed.status, 204);
    let event = last_event(&e, "group.user_membership.remove");
    assert_eq!(
        event["debugContext"]["debugData"]["requestId"],
        request_id(&removed)
    );
    assert_eq!(event["actor"]["id"], admin);
    let before = e.log_len();
    assert_eq!(e.call(Method::DELETE, &path, None).await.status, 204);
    assert_eq!(e.log_len(), before);
    assert!(!is_member(&e, &gid, &uid));
}

#[tokio::test]
async fn app_and_built_in_groups_refuse_membership_changes_even_to_a_super_admin() {
    let e = org_with_principals(42).await;
    let export = e.export();
    let uid = export["users"][1]["id"].as_str().unwrap();
    let token = e
        .client_token("0oa-super", SECRET, "okta.groups.manage")
        .await;
    for kind in ["APP_GROUP", "BUILT_IN"] {
        let gid = export["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["type"] == kind)
            .unwrap()["id"]
            .as_str()
            .unwrap();
        let path = format!("/api/v1/groups/{gid}/users/{uid}");
        for auth in [ssws(DEFAULT_TOKEN), format!("Bearer {token}")] {
            for method in [Method::PUT, Method::DELETE] {
                let r = e.call_as(&auth, method.clone(), &path, None).await;
                assert_eq!(r.status, 403, "{method} {kind} as {}", &auth[..6]);
                assert_eq!(r.body["errorCode"], "E0000006");
                assert_eq!(
                    r.body["errorSummary"],
                    "You do not have permission to perform the requested action"
                );
            }
        }
    }
}

#[tokio::test]
async fn groups_holding_admin_roles_change_members_only_for_a_super_admin() {
    let e = org_with_principals(43).await;
    let admins = new_group(&e, "Help Desk Admins").await;
    let plain = new_group(&e, "Plain Group").await;
    let grant = e
        .call(
            Method::POST,
            &format!("/api/v1/groups/{admins}/roles"),
            Some(json!({"type": "HELP_DESK_ADMIN"})),
        )
        .await;
    assert_eq!(grant.status, 201, "{}", grant.body);
    let uid = e.export()["users"][7]["id"].as_str().unwrap().to_string();
    let super_client = format!(
        "Bearer {}",
        e.client_token("0oa-super", SECRET, "okta.groups.manage")
            .await
    );
    let helpdesk_client = format!(
        "Bearer {}",
        e.client_token("0oa-helpdesk", SECRET, "okta.groups.manage")
            .await
    );
    let on_admins = format!("/api/v1/groups/{admins}/users/{uid}");

    // Not a Super Admin: 403 on the admin group, whatever the method.
    for auth in [ssws(GROUP_ADMIN_TOKEN), helpdesk_client.clone()] {
        for method in [Method::PUT, Method::DELETE] {
            let r = e.call_as(&auth, method.clone(), &on_admins, None).await;
            assert_eq!(
                (r.status, r.error_code()),
                (403, "E0000006"),
                "{method} by {}",
                &auth[..8]
            );
        }
    }
    assert!(!is_member(&e, &admins, &uid));
    // A Super Admin token or client may.
    assert_eq!(e.call(Method::PUT, &on_admins, None).await.status, 204);
    assert!(is_member(&e, &admins, &uid));
    let r = e
        .call_as(&ssws(GROUP_ADMIN_TOKEN), Method::DELETE, &on_admins, None)
        .await;
    assert_eq!(r.status, 403, "the member stays for a Group Admin");
    assert!(is_member(&e, &admins, &uid));
    let r = e
        .call_as(&super_client, Method::DELETE, &on_admins, None)
        .await;
    assert_eq!(r.status, 204);
    assert!(!is_member(&e, &admins, &uid));

    // Groups without admin roles are open to the others, whose events name them.
    let on_plain = format!("/api/v1/groups/{plain}/users/{uid}");
    let r = e
        .call_as(&ssws(GROUP_ADMIN_TOKEN), Method::PUT, &on_plain, None)
        .await;
    assert_eq!(r.status, 204, "{}", r.body);
    let event = last_event(&e, "group.user_membership.add");
    assert_eq!(event["actor"]["type"], "User");
    let super_admin = e.export()["users"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["profile"]["login"] == "admin@example.com")
        .unwrap()["id"]
        .clone();
    assert_ne!(
        event["actor"]["id"], super_admin,
        "a Group Admin's token acts as another admin"
    );
    assert_eq!(
        event["debugContext"]["debugData"]["requestId"],
        request_id(&r)
    );
    let r = e
        .call_as(&helpdesk_client, Method::DELETE, &on_plain, None)
        .await;
    assert_eq!(r.status, 204);
    let event = last_event(&e, "group.user_membership.remove");
    assert_eq!(event["actor"]["type"], "PublicClientApp");
    assert_eq!(event["actor"]["id"], "0oa-helpdesk");
    assert_eq!(
        event["debugContext"]["debugData"]["requestId"],
        request_id(&r)
    );
}

#[tokio::test]
async fn unknown_users_and_groups_are_404_e0000007_with_okta_body() {
    let e = Emu::start(OrgSize::Tiny, 44).await;
    let export = e.export();
    let uid = export["users"][0]["id"].as_str().unwrap();
    let gid = new_group(&e, "Real").await;
    let nobody = "00unobody00000000000";
    let nogroup = "00gnogroup0000000000";
    for method in [Method::PUT, Method::DELETE] {
        for (path, id, kind) in [
            (
                format!("/api/v1/groups/{nogroup}/users/{uid}"),
                nogroup,
                "UserGroup",
            ),
            (
                format!("/api/v1/groups/{gid}/users/{nobody}"),
                nobody,
                "User",
            ),
        ] {
            let r = e.call(method.clone(), &path, None).await;
            assert_eq!(r.status, 404, "{method} {path}");
            let keys: Vec<&String> = r.body.as_object().unwrap().keys().collect();
            assert_eq!(
                keys,
                [
                    "errorCauses",
                    "errorCode",
                    "errorId",
                    "errorLink",
                    "errorSummary"
                ]
            );
            assert_eq!(r.body["errorCode"], "E0000007");
            assert_eq!(r.body["errorLink"], "E0000007");
            assert_eq!(
                r.body["errorSummary"],
                format!("Not found: Resource not found: {id} ({kind})")
            );
            assert_eq!(r.body["errorCauses"], json!([]));
            assert!(r.body["errorId"].as_str().unwrap().starts_with("oae"));
        }
    }
}

#[tokio::test]
async fn membership_writes_need_okta_groups_manage() {
    let e = org_with_principals(45).await;
    let gid = new_group(&e, "Scoped").await;
    let uid = e.export()["users"][2]["id"].as_str().unwrap().to_string();
    let reader = format!(
        "Bearer {}",
        e.client_token("0oa-reader", SECRET, "okta.groups.read")
            .await
    );
    let path = format!("/api/v1/groups/{gid}/users/{uid}");
    for method in [Method::PUT, Method::DELETE] {
        let r = e.call_as(&reader, method.clone(), &path, None).await;
        assert_eq!(r.status, 403, "{method}");
        assert_eq!(r.body, Value::Null, "Okta's scope refusal has no body");
        let challenge = r.headers["www-authenticate"].to_str().unwrap();
        assert!(
            challenge.contains("scope=\"okta.groups.manage\"")
                && challenge.contains("error=\"insufficient_scope\""),
            "{challenge}"
        );
    }
    assert!(!is_member(&e, &gid, &uid));
    // Reading rules needs only okta.groups.read; writing them needs manage.
    assert_eq!(
        e.call_as(&reader, Method::GET, "/api/v1/groups/rules", None)
            .await
            .status,
        200
    );
    let r = e
        .call_as(
            &reader,
            Method::POST,
            "/api/v1/groups/rules",
            Some(json!({})),
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(
        r.headers["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("scope=\"okta.groups.manage\"")
    );
}

#[tokio::test]
async fn membership_writes_count_in_their_own_rate_limit_bucket() {
    let e = Emu::start_with(EmulatorConfig {
        rate_limits: RateLimitMode::Workforce,
        ..EmulatorConfig::default()
    })
    .await;
    let gid = new_group(&e, "Bucketed").await;
    let uid = e.export()["users"][4]["id"].as_str().unwrap().to_string();
    let before = e.get("/__emulator/stats").await.body;
    let path = format!("/api/v1/groups/{gid}/users/{uid}");
    let put = e.call(Method::PUT, &path, None).await;
    let delete = e.call(Method::DELETE, &path, None).await;
    let after = e.get("/__emulator/stats").await.body;
    let requests = |stats: &Value, bucket: &str| stats["buckets"][bucket]["requests"].as_u64();
    assert_eq!(
        requests(&after, "group_membership").unwrap()
            - requests(&before, "group_membership").unwrap_or(0),
        2
    );
    assert_eq!(
        requests(&after, "groups"),
        requests(&before, "groups"),
        "membership writes are not counted with group reads"
    );
    // Workforce: 500 a minute for the org, half of it for one token.
    assert_eq!(after["buckets"]["group_membership"]["limit"], 250);
    for r in [&put, &delete] {
        assert_eq!(r.headers["x-rate-limit-limit"], "250");
    }
    assert_eq!(put.headers["x-rate-limit-remaining"], "249");
    assert_eq!(delete.headers["x-rate-limit-remaining"], "248");
}
