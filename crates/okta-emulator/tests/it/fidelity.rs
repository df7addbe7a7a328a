//! Details a client can tell apart from real Okta: whole-second timestamps, role labels,
//! lifecycle error codes, base profile attributes, `_links`, status codes and paging of the
//! less used endpoints.

use crate::common::{Emu, anchor};
use chrono::Duration;
use okta_emulator::{EmulatorConfig, OrgSize};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// Every RFC 3339 timestamp in `value`, with the path it sits at.
fn timestamps(value: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::String(s) if chrono::DateTime::parse_from_rfc3339(s).is_ok() => {
            out.push((at.to_string(), s.clone()))
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                timestamps(v, &format!("{at}[{i}]"), out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                timestamps(v, &format!("{at}.{k}"), out);
            }
        }
        _ => {}
    }
}

#[track_caller]
fn assert_whole_seconds(export: &Value, when: &str) {
    let mut found = Vec::new();
    timestamps(export, "$", &mut found);
    assert!(found.len() > 500, "{when}: only {} timestamps", found.len());
    // ThreatInsight's configuration is the one object Okta writes with milliseconds (its
    // spec examples: `2020-08-05T22:18:30.629Z`).
    let fractional: Vec<&(String, String)> = found
        .iter()
        .filter(|(at, t)| !t.ends_with(".000Z") && !at.starts_with("$.org_settings"))
        .collect();
    assert!(
        fractional.is_empty(),
        "{when}: {} of {} timestamps are not whole seconds, e.g. {:?}",
        fractional.len(),
        found.len(),
        &fractional[..fractional.len().min(3)]
    );
}

#[tokio::test]
async fn object_timestamps_are_whole_seconds_after_generation_churn_and_writes() {
    // The anchor and the clock both carry milliseconds; Okta's objects never do.
    let e = Emu::start_with(EmulatorConfig {
        size: OrgSize::Small,
        seed: 81,
        anchor: Some(anchor() + Duration::milliseconds(789)),
        ..EmulatorConfig::default()
    })
    .await;
    assert_whole_seconds(&e.export(), "generated");

    e.clock.advance(Duration::milliseconds(1_234));
    let before = e.log_len();
    let churn = e
        .call(
            Method::POST,
            "/__emulator/churn",
            Some(json!({"seed": 3, "ops": 400})),
        )
        .await;
    assert_eq!(churn.status, 200, "{}", churn.body);
    e.clock.advance(Duration::milliseconds(3_456));
    let created = e
        .call(
            Method::POST,
            "/api/v1/users?activate=true",
            Some(json!({
                "profile": {"firstName": "Ada", "lastName": "Byron", "email": "ada@example.com", "login": "ada@example.com"},
                "credentials": {"password": {"value": "Tr0ub4dor&3"}},
            })),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert!(
        created.body["created"].as_str().unwrap().ends_with(".000Z"),
        "{}",
        created.body
    );
    let group = e
        .call(
            Method::POST,
            "/api/v1/groups",
            Some(json!({"profile": {"name": "Whole Seconds"}})),
        )
        .await;
    assert_eq!(group.status, 200, "{}", group.body);
    let export = e.export();
    assert_whole_seconds(&export, "after churn and writes");

    // The System Log keeps Okta's milliseconds in `published`.
    let events = e.last_events(e.log_len() - before);
    assert!(events.len() > 100, "{} events", events.len());
    assert!(
        events
            .iter()
            .all(|ev| !ev["published"].as_str().unwrap().ends_with(".000Z")),
        "events written at …:01.234 and …:04.690 publish those milliseconds"
    );
}

#[tokio::test]
async fn user_admin_is_labelled_user_administrator() {
    let e = Emu::start(OrgSize::Tiny, 82).await;
    let uid = e.export()["users"][3]["id"].as_str().unwrap().to_string();
    let r = e
        .call(
            Method::POST,
            &format!("/api/v1/users/{uid}/roles"),
            Some(json!({"type": "USER_ADMIN"})),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["label"], "User Administrator");
    let listed = e.get(&format!("/api/v1/users/{uid}/roles")).await;
    let role = listed
        .array()
        .iter()
        .find(|x| x["type"] == "USER_ADMIN")
        .expect("the role is listed");
    assert_eq!(role["label"], "User Administrator");
}

/// A user of `status` from the export, other than the super admin (the first user).
fn user_with_status(export: &Value, status: &str) -> String {
    export["users"]
        .as_array()
        .unwrap()
        .iter()
        .skip(1)
        .find(|u| u["status"] == status)
        .unwrap_or_else(|| panic!("the org has a {status} user"))["id"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn lifecycle_refusals_answer_with_oktas_codes() {
    let e = Emu::start(OrgSize::Small, 83).await;
    let export = e.export();
    let log = e.log_len();

    let staged = user_with_status(&export, "STAGED");
    let r = e
        .call(
            Method::POST,
            &format!("/api/v1/users/{staged}/lifecycle/reactivate"),
            None,
        )
        .await;
    assert_eq!((r.status, r.error_code()), (403, "E0000038"), "{}", r.body);
    assert_eq!(
        r.body["errorSummary"],
        "This operation is not allowed in the user's current status."
    );
    assert_eq!(r.body["errorCauses"], json!([]));

    let active = user_with_status(&export, "ACTIVE");
    let r = e
        .call(
            Method::POST,
            &format!("/api/v1/users/{active}/lifecycle/unlock"),
            None,
        )
        .await;
    assert_eq!((r.status, r.error_code()), (403, "E0000032"), "{}", r.body);
    assert_eq!(
        r.body["errorSummary"],
        "Unlock is not allowed for this user."
    );
    assert_eq!(e.log_len(), log, "refused operations write no events");
    assert_eq!(e.export(), export, "refused operations change nothing");

    // The operations the refusals point to still work where the status allows them.
    let provisioned = user_with_status(&export, "PROVISIONED");
    let r = e
        .call(
            Method::POST,
            &format!("/api/v1/users/{provisioned}/lifecycle/reactivate"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        e.last_events(1)[0]["eventType"],
        "user.lifecycle.reactivate"
    );
    let locked = user_with_status(&export, "LOCKED_OUT");
    let r = e
        .call(
            Method::POST,
            &format!("/api/v1/users/{locked}/lifecycle/unlock"),
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        e.get(&format!("/api/v1/users/{locked}")).await.body["status"],
        "ACTIVE"
    );
}

#[tokio::test]
async fn created_users_carry_null_mobile_phone_and_second_email() {
    let e = Emu::start(OrgSize::Tiny, 84).await;
    let r = e
        .call(
            Method::POST,
            "/api/v1/users?activate=false",
            Some(json!({"profile": {
                "firstName": "Grace", "lastName": "Hopper",
                "email": "grace@example.com", "login": "grace@example.com",
            }})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let profile = r.body["profile"].as_object().unwrap();
    assert_eq!(profile.get("mobilePhone"), Some(&Value::Null));
    assert_eq!(profile.get("secondEmail"), Some(&Value::Null));
    // A value given is kept.
    let r = e
        .call(
            Method::POST,
            "/api/v1/users?activate=false",
            Some(json!({"profile": {
                "firstName": "Alan", "lastName": "Turing", "mobilePhone": "+44 20 7946 0000",
                "email": "alan@example.com", "login": "alan@example.com",
            }})),
        )
        .await;
    assert_eq!(r.body["profile"]["mobilePhone"], "+44 20 7946 0000");
    assert_eq!(r.body["profile"]["secondEmail"], Value::Null);
}

fn href(links: &Value, rel: &str) -> String {
    links[rel]["href"]
        .as_str()
        .unwrap_or_else(|| panic!("no {rel} link in {links}"))
        .to_string()
}

#[tokio::test]
async fn groups_and_apps_carry_oktas_links_and_every_app_its_signing_and_vpn_settings() {
    let e = Emu::start_with(EmulatorConfig {
        size: OrgSize::Tiny,
        seed: 85,
        apps: Some(30),
        ..EmulatorConfig::default()
    })
    .await;
    let base = e.emu.base_url();
    let groups = e.walk("/api/v1/groups").await;
    assert!(groups.len() > 3);
    for g in &groups {
        let (id, links) = (g["id"].as_str().unwrap(), &g["_links"]);
        assert_eq!(
            href(links, "users"),
            format!("{base}/api/v1/groups/{id}/users")
        );
        assert_eq!(
            href(links, "apps"),
            format!("{base}/api/v1/groups/{id}/apps")
        );
        let logos = links["logo"].as_array().expect("logo is a list");
        assert_eq!(logos.len(), 2, "{links}");
        assert!(logos.iter().all(|l| l["href"].is_string()));
        assert_eq!(links["source"].is_object(), g["type"] == "APP_GROUP");
    }
    let apps = e.walk("/api/v1/apps?limit=7").await;
    // The 30 generated apps and, as Okta lists them, the org's two OAuth service apps (a
    // tiny org has fewer than 100 users, so no "Access Review Bot").
    assert_eq!(apps.len(), 32);
    let service = apps
        .iter()
        .filter(|a| a["settings"]["oauthClient"]["application_type"] == "service")
        .count();
    assert_eq!(service, 2);
    for a in &apps {
        let (id, links) = (a["id"].as_str().unwrap(), &a["_links"]);
        assert_eq!(
            href(links, "users"),
            format!("{base}/api/v1/apps/{id}/users")
        );
        assert_eq!(
            href(links, "groups"),
            format!("{base}/api/v1/apps/{id}/groups")
        );
        assert!(links["logo"].as_array().is_some_and(|l| !l.is_empty()));
        let app_links = links["appLinks"].as_array().expect("appLinks is a list");
        let names: BTreeSet<&str> = app_links
            .iter()
            .map(|l| l["name"].as_str().unwrap())
            .collect();
        let visible: BTreeSet<&str> = a["visibility"]["appLinks"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(names, visible, "one appLink per visibility.appLinks entry");
        let lifecycle = if a["status"] == "ACTIVE" {
            "deactivate"
        } else {
            "activate"
        };
        assert!(links[lifecycle].is_object(), "{}: {links}", a["status"]);
        assert!(
            a["credentials"]["signing"].is_object(),
            "{}",
            a["signOnMode"]
        );
        assert_eq!(
            a["settings"]["notifications"]["vpn"]["network"]["connection"], "DISABLED",
            "{}",
            a["signOnMode"]
        );
        // A single app has the same links.
        let one = e.get(&format!("/api/v1/apps/{id}")).await.body;
        assert_eq!(&one["_links"], links);
    }
}

#[tokio::test]
async fn a_single_user_has_schema_type_and_the_lifecycle_links_of_its_status() {
    let e = Emu::start(OrgSize::Small, 86).await;
    let export = e.export();
    let base = e.emu.base_url();
    let expected: &[(&str, &[&str], &[&str])] = &[
        (
            "STAGED",
            &["activate", "deactivate"],
            &["suspend", "unlock"],
        ),
        (
            "PROVISIONED",
            &["reactivate", "deactivate"],
            &["activate", "suspend"],
        ),
        (
            "ACTIVE",
            &[
                "suspend",
                "deactivate",
                "resetPassword",
                "expirePassword",
                "changeRecoveryQuestion",
                "forgotPassword",
                "changePassword",
            ],
            &["activate", "unsuspend", "unlock"],
        ),
        (
            "SUSPENDED",
            &["unsuspend", "deactivate"],
            &["suspend", "activate"],
        ),
        ("DEPROVISIONED", &["activate"], &["deactivate", "suspend"]),
        (
            "LOCKED_OUT",
            &["unlock", "deactivate"],
            &["suspend", "activate"],
        ),
        (
            "PASSWORD_EXPIRED",
            &["resetPassword", "deactivate"],
            &["activate"],
        ),
    ];
    for (status, present, absent) in expected {
        let uid = user_with_status(&export, status);
        let user = e.get(&format!("/api/v1/users/{uid}")).await.body;
        let links = &user["_links"];
        assert_eq!(href(links, "self"), format!("{base}/api/v1/users/{uid}"));
        let type_id = user["type"]["id"].as_str().unwrap();
        assert_eq!(
            href(links, "type"),
            format!("{base}/api/v1/meta/types/user/{type_id}")
        );
        assert!(href(links, "schema").starts_with(&format!("{base}/api/v1/meta/schemas/user/osc")));
        for rel in *present {
            assert!(href(links, rel).starts_with(&format!("{base}/api/v1/users/{uid}/")));
            assert_eq!(links[*rel]["method"], "POST", "{status} {rel}");
        }
        for rel in *absent {
            assert!(links.get(*rel).is_none(), "{status} has {rel}: {links}");
        }
    }
    // Collections carry only `self`, as Okta's do.
    let page = e.get("/api/v1/users?limit=5").await;
    assert_eq!(page.array().len(), 5);
    for u in page.array() {
        let rels: Vec<&String> = u["_links"].as_object().unwrap().keys().collect();
        assert_eq!(rels, ["self"]);
    }
    // A lifecycle link works as it reads, and the links follow the new status.
    let uid = user_with_status(&export, "ACTIVE");
    let user = e.get(&format!("/api/v1/users/{uid}")).await.body;
    let suspend = href(&user["_links"], "suspend");
    assert_eq!(e.call(Method::POST, &suspend, None).await.status, 200);
    let user = e.get(&format!("/api/v1/users/{uid}")).await.body;
    assert_eq!(user["status"], "SUSPENDED");
    assert!(user["_links"]["unsuspend"].is_object());
    assert!(user["_links"].get("suspend").is_none());
}

#[tokio::test]
async fn a_users_groups_page_with_link_headers() {
    let e = Emu::start(OrgSize::Small, 87).await;
    let export = e.export();
    // A user in several groups.
    let mut count: std::collections::BTreeMap<&str, Vec<&str>> = Default::default();
    for m in export["group_members"].as_array().unwrap() {
        count
            .entry(m["user_id"].as_str().unwrap())
            .or_default()
            .push(m["group_id"].as_str().unwrap());
    }
    let (uid, mut want) = count
        .into_iter()
        .max_by_key(|(_, g)| g.len())
        .map(|(u, g)| (u.to_string(), g))
        .unwrap();
    want.sort_unstable();
    assert!(want.len() >= 5, "{} groups", want.len());

    let first = e.get(&format!("/api/v1/users/{uid}/groups?limit=2")).await;
    assert_eq!(first.status, 200);
    assert_eq!(first.array().len(), 2);
    let base = e.emu.base_url();
    assert_eq!(
        first.self_link().as_deref(),
        Some(format!("{base}/api/v1/users/{uid}/groups?limit=2").as_str())
    );
    assert_eq!(
        first.links().len(),
        2,
        "self, then next: {:?}",
        first.links()
    );
    assert!(first.links()[1].ends_with("rel=\"next\""));
    let walked = e.walk(&format!("/api/v1/users/{uid}/groups?limit=2")).await;
    let got: Vec<&str> = walked.iter().map(|g| g["id"].as_str().unwrap()).collect();
    assert_eq!(got, want);
    // Without a limit: one page, with only a self link.
    let all = e.get(&format!("/api/v1/users/{uid}/groups")).await;
    assert_eq!(all.array().len(), want.len());
    assert_eq!(all.links().len(), 1);
    let bad = e
        .get(&format!("/api/v1/users/{uid}/groups?after=nope"))
        .await;
    assert_eq!((bad.status, bad.error_code()), (400, "E0000029"));
}

#[tokio::test]
async fn apps_expand_takes_only_a_user() {
    let e = Emu::start(OrgSize::Tiny, 88).await;
    let r = e.get("/api/v1/apps?expand=groups").await;
    assert_eq!((r.status, r.error_code()), (400, "E0000001"), "{}", r.body);
    assert!(r.body["errorCauses"][0]["errorSummary"].is_string());
    let r = e.get("/api/v1/apps?expand=user/nope").await;
    assert_eq!((r.status, r.error_code()), (400, "E0000001"), "{}", r.body);

    let export = e.export();
    let assignment = &export["app_users"][0];
    let (app, uid) = (
        assignment["app_id"].as_str().unwrap(),
        assignment["user_id"].as_str().unwrap(),
    );
    let apps = e.walk(&format!("/api/v1/apps?expand=user/{uid}")).await;
    let embedded = apps
        .iter()
        .find(|a| a["id"] == app)
        .expect("the app is listed");
    assert_eq!(embedded["_embedded"]["user"]["id"], uid);
    assert_eq!(embedded["_embedded"]["user"]["scope"], assignment["scope"]);
}

#[tokio::test]
async fn factors_enroll_unenroll_and_reset_with_their_events() {
    let e = Emu::start(OrgSize::Small, 89).await;
    let export = e.export();
    // An ACTIVE user without factors.
    let holders: BTreeSet<&str> = export["factors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["user_id"].as_str().unwrap())
        .collect();
    let uid = export["users"]
        .as_array()
        .unwrap()
        .iter()
        .skip(1)
        .find(|u| u["status"] == "ACTIVE" && !holders.contains(u["id"].as_str().unwrap()))
        .expect("an ACTIVE user without factors")["id"]
        .as_str()
        .unwrap()
        .to_string();
    let user = e.get(&format!("/api/v1/users/{uid}")).await.body;
    assert!(
        user["_links"].get("resetFactors").is_none(),
        "nothing to reset yet"
    );
    e.tick();
    let push = e
        .call(
            Method::POST,
            &format!("/api/v1/users/{uid}/factors"),
            Some(json!({"factorType": "push", "provider": "OKTA"})),
        )
        .await;
    assert_eq!(push.status, 200, "{}", push.body);
    assert_eq!(push.body["status"], "ACTIVE");
    assert_eq!(push.body["created"], e.now_text());
    assert_eq!(e.last_events(1)[0]["eventType"], "user.mfa.factor.activate");
    assert_eq!(e.last_events(1)[0]["target"][0]["id"], uid.as_str());
    let again = e
        .call(
            Method::POST,
            &format!("/api/v1/users/{uid}/factors"),
            Some(json!({"factorType": "push", "provider": "OKTA"})),
        )
        .await;
    assert_eq!((again.status, again.error_code()), (400, "E0000001"));
    let totp = e
        .call(
            Method::POST,
            &format!("/api/v1/users/{uid}/factors"),
            Some(json!({"factorType": "token:software:totp", "provider": "OKTA"})),
        )
        .await;
    assert_eq!(totp.status, 200, "{}", totp.body);
    let sms = e
        .call(
            Method::POST,
            &format!("/api/v1/users/{uid}/factors"),
            Some(json!({"factorType": "sms", "provider": "OKTA"})),
        )
        .await;
    assert_eq!(sms.status, 200, "{}", sms.body);
    let listed = e.get(&format!("/api/v1/users/{uid}/factors")).await;
    assert_eq!(listed.array().len(), 3);
    let user = e.get(&format!("/api/v1/users/{uid}")).await.body;
    assert!(user["_links"]["resetFactors"].is_object());

    // Unenrolling Okta Verify push takes Okta Verify's TOTP along.
    let push_id = push.body["id"].as_str().unwrap();
    let r = e
        .call(
            Method::DELETE,
            &format!("/api/v1/users/{uid}/factors/{push_id}"),
            None,
        )
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        e.last_events(1)[0]["eventType"],
        "user.mfa.factor.deactivate"
    );
    let left: Vec<Value> = e
        .get(&format!("/api/v1/users/{uid}/factors"))
        .await
        .body
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["id"], sms.body["id"]);
    let gone = e
        .call(
            Method::DELETE,
            &format!("/api/v1/users/{uid}/factors/{push_id}"),
            None,
        )
        .await;
    assert_eq!((gone.status, gone.error_code()), (404, "E0000007"));

    let reset = href(&user["_links"], "resetFactors");
    assert_eq!(e.call(Method::POST, &reset, None).await.status, 200);
    assert_eq!(
        e.last_events(1)[0]["eventType"],
        "user.mfa.factor.reset_all"
    );
    assert!(
        e.get(&format!("/api/v1/users/{uid}/factors"))
            .await
            .array()
            .is_empty()
    );
    assert!(
        e.export()["factors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["user_id"] != uid.as_str())
    );
    // A deactivated user's factors cannot change.
    let gone_user = user_with_status(&export, "DEPROVISIONED");
    let r = e
        .call(
            Method::POST,
            &format!("/api/v1/users/{gone_user}/factors"),
            Some(json!({"factorType": "email", "provider": "OKTA"})),
        )
        .await;
    assert_eq!((r.status, r.error_code()), (403, "E0000038"));
}

#[tokio::test]
async fn idps_are_created_renamed_deactivated_activated_and_deleted_with_events() {
    let e = Emu::start(OrgSize::Tiny, 90).await;
    let bad = e
        .call(
            Method::POST,
            "/api/v1/idps",
            Some(json!({"type": "CARRIER_PIGEON", "name": "Coo"})),
        )
        .await;
    assert_eq!((bad.status, bad.error_code()), (400, "E0000001"));
    e.tick();
    let created = e
        .call(
            Method::POST,
            "/api/v1/idps",
            Some(json!({"type": "SAML2", "name": "Acme ADFS"})),
        )
        .await;
    assert_eq!(created.status, 200, "{}", created.body);
    assert_eq!(created.body["status"], "ACTIVE");
    assert_eq!(created.body["protocol"]["type"], "SAML2");
    let id = created.body["id"].as_str().unwrap().to_string();
    let event = &e.last_events(1)[0];
    assert_eq!(event["eventType"], "system.idp.lifecycle.create");
    assert_eq!(event["target"][0]["type"], "IdentityProvider");
    assert_eq!(event["target"][0]["id"], id.as_str());

    e.tick();
    let renamed = e
        .call(
            Method::PUT,
            &format!("/api/v1/idps/{id}"),
            Some(json!({"name": "Acme AD FS"})),
        )
        .await;
    assert_eq!(renamed.body["name"], "Acme AD FS");
    assert_eq!(renamed.body["lastUpdated"], e.now_text());
    assert_eq!(
        e.last_events(1)[0]["eventType"],
        "system.idp.lifecycle.update"
    );
    for (op, status) in [("deactivate", "INACTIVE"), ("activate", "ACTIVE")] {
        let r = e
            .call(
                Method::POST,
                &format!("/api/v1/idps/{id}/lifecycle/{op}"),
                None,
            )
            .await;
        assert_eq!(r.body["status"], status, "{}", r.body);
        assert_eq!(
            e.last_events(1)[0]["eventType"],
            format!("system.idp.lifecycle.{op}").as_str()
        );
    }
    let r = e
        .call(Method::DELETE, &format!("/api/v1/idps/{id}"), None)
        .await;
    assert_eq!(r.status, 204);
    assert_eq!(
        e.last_events(1)[0]["eventType"],
        "system.idp.lifecycle.delete"
    );
    assert_eq!(e.get(&format!("/api/v1/idps/{id}")).await.status, 404);
}

#[tokio::test]
async fn an_app_is_relabelled_with_an_update_event() {
    let e = Emu::start(OrgSize::Tiny, 91).await;
    let app = e.export()["apps"][0]["id"].as_str().unwrap().to_string();
    e.tick();
    let r = e
        .call(
            Method::PUT,
            &format!("/api/v1/apps/{app}"),
            Some(json!({"label": "Renamed App"})),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["label"], "Renamed App");
    assert_eq!(r.body["lastUpdated"], e.now_text());
    assert_eq!(
        e.last_events(1)[0]["eventType"],
        "application.lifecycle.update"
    );
    let blank = e
        .call(
            Method::PUT,
            &format!("/api/v1/apps/{app}"),
            Some(json!({"label": " "})),
        )
        .await;
    assert_eq!((blank.status, blank.error_code()), (400, "E0000001"));
}
