//! Every churn operation writes Okta's events and moves Okta's timestamps.

use crate::common::Emu;
use okta_emulator::OrgSize;
use okta_emulator::churn::{OPS, apply};
use okta_emulator::model::{Ctx, Id};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use reqwest::Method;
use serde_json::{Value, json};

fn expected(kind: &str) -> &'static [&'static str] {
    match kind {
        "user.create" => &["user.lifecycle.create"],
        "user.update_profile" => &["user.account.update_profile"],
        "user.activate" => &["user.lifecycle.activate"],
        "user.deactivate" => &["user.lifecycle.deactivate"],
        "user.suspend" => &["user.lifecycle.suspend"],
        "user.unsuspend" => &["user.lifecycle.unsuspend"],
        "user.delete" => &[
            "user.lifecycle.delete.initiated",
            "user.lifecycle.delete.completed",
        ],
        "group.create" => &["group.lifecycle.create"],
        "group.update" => &["group.profile.update"],
        "group.delete" => &["group.lifecycle.delete"],
        "group.member.add" => &["group.user_membership.add"],
        "group.member.remove" => &["group.user_membership.remove"],
        "app.user.assign" => &["application.user_membership.add"],
        "app.user.unassign" => &["application.user_membership.remove"],
        "app.group.assign" => &["group.application_assignment.add"],
        "app.group.unassign" => &["group.application_assignment.remove"],
        "role.grant" => &["user.account.privilege.grant", "group.privilege.grant"],
        "role.revoke" => &["user.account.privilege.revoke", "group.privilege.revoke"],
        "factor.enroll" => &["user.mfa.factor.activate"],
        "factor.unenroll" => &["user.mfa.factor.deactivate"],
        "factor.reset" => &["user.mfa.factor.reset_all"],
        "idp.create" => &["system.idp.lifecycle.create"],
        "idp.update" => &["system.idp.lifecycle.update"],
        "idp.deactivate" => &["system.idp.lifecycle.deactivate"],
        "idp.activate" => &["system.idp.lifecycle.activate"],
        "idp.delete" => &["system.idp.lifecycle.delete"],
        "app.update" => &["application.lifecycle.update"],
        "app.deactivate" => &["application.lifecycle.deactivate"],
        "app.activate" => &["application.lifecycle.activate"],
        "app.delete" => &["application.lifecycle.delete"],
        other => panic!("no expectation for churn op {other}"),
    }
}

#[tokio::test]
async fn every_churn_operation_writes_its_event_and_timestamps() {
    let e = Emu::start(OrgSize::Small, 51).await;
    let state = e.emu.state().clone();
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for (i, (kind, _)) in OPS.iter().enumerate() {
        let now = e.clock_now_ms() + (i as i64 + 1) * 60_000;
        let now_text = okta_emulator::model::format_ts(now);
        let mut org = state.org.write();
        let before = org.log.len();
        let ctx = Ctx::new(org.token_actor(), now, "/api/v1");
        // Some ops need a precondition the random pick may miss: retry a few times.
        let applied = (0..20).any(|_| apply(&mut org, &ctx, kind, &mut rng));
        assert!(applied, "{kind} found something to act on");
        let events: Vec<Value> = org.log[before..]
            .iter()
            .map(|x| serde_json::from_slice(&x.json).unwrap())
            .collect();
        let types: Vec<&str> = events
            .iter()
            .map(|x| x["eventType"].as_str().unwrap())
            .collect();
        let want = expected(kind);
        // A user also assigned through a group keeps the app; only the scope changes
        // (USER <-> GROUP), which writes an update event instead.
        let rescoped = (*kind == "app.user.unassign" || *kind == "app.user.assign")
            && types == ["application.user_membership.update"];
        assert!(
            rescoped || types.iter().any(|t| want.contains(t)),
            "{kind}: wrote {types:?}, wanted one of {want:?}"
        );
        for ev in &events {
            assert_eq!(ev["published"], now_text.as_str(), "{kind}");
            assert_eq!(ev["outcome"]["result"], "SUCCESS");
            assert_eq!(ev["actor"]["type"], "User");
            assert!(ev["uuid"].as_str().unwrap().len() == 36);
        }
        if rescoped {
            continue;
        }
        let main = events
            .iter()
            .find(|x| want.contains(&x["eventType"].as_str().unwrap()))
            .unwrap();
        let target = |i: usize| Id::parse(main["target"][i]["id"].as_str().unwrap()).unwrap();
        match *kind {
            "user.create"
            | "user.update_profile"
            | "user.activate"
            | "user.deactivate"
            | "user.suspend"
            | "user.unsuspend" => {
                let u = &org.users[&target(0)];
                assert_eq!(u.last_updated, now, "{kind} moves lastUpdated");
                if *kind != "user.update_profile" && *kind != "user.create" {
                    assert_eq!(u.status_changed, Some(now), "{kind} moves statusChanged");
                }
            }
            "user.delete" => assert!(!org.users.contains_key(&target(0))),
            "group.create" => assert_eq!(org.groups[&target(0)].created, now),
            "group.update" => {
                let g = &org.groups[&target(0)];
                assert_eq!(g.last_updated, now);
                assert_ne!(g.last_membership_updated, now);
            }
            "group.delete" => assert!(!org.groups.contains_key(&target(0))),
            "group.member.add" | "group.member.remove" => {
                let g = &org.groups[&target(1)];
                assert_eq!(g.last_membership_updated, now);
                assert_ne!(g.last_updated, now, "membership leaves lastUpdated alone");
                let member = org.members[&g.id].contains(&target(0));
                assert_eq!(member, *kind == "group.member.add");
            }
            "app.user.assign" => {
                let entry = &org.app_users[&target(1)][&target(0)];
                assert_eq!((entry.created, entry.direct), (now, true));
            }
            "app.group.assign" => {
                assert_eq!(org.app_groups[&target(0)][&target(1)].last_updated, now)
            }
            "app.group.unassign" => assert!(!org.app_groups[&target(0)].contains_key(&target(1))),
            "factor.enroll" => {
                let factors = &org.factors[&target(0)];
                assert!(factors.iter().any(|f| f.created == now && f.active));
            }
            "factor.unenroll" | "factor.reset" => {
                assert_eq!(main["target"][0]["type"], "User");
                let left = org.factors.get(&target(0)).map_or(0, Vec::len);
                if *kind == "factor.reset" {
                    assert_eq!(left, 0);
                }
            }
            "idp.create" | "idp.update" | "idp.deactivate" | "idp.activate" => {
                assert_eq!(main["target"][0]["type"], "IdentityProvider");
                let idp = &org.idps[&target(0)];
                assert_eq!(idp.last_updated, now, "{kind} moves lastUpdated");
                if *kind != "idp.update" {
                    assert_eq!(idp.active, *kind != "idp.deactivate");
                }
            }
            "idp.delete" => assert!(!org.idps.contains_key(&target(0))),
            "app.update" | "app.deactivate" | "app.activate" => {
                let app = &org.apps[&target(0)];
                assert_eq!(app.last_updated, now, "{kind} moves lastUpdated");
                if *kind != "app.update" {
                    assert_eq!(app.active, *kind == "app.activate");
                }
            }
            "app.delete" => {
                assert!(!org.apps.contains_key(&target(0)));
                assert!(!org.app_users.contains_key(&target(0)));
                assert!(!org.app_groups.contains_key(&target(0)));
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn churn_over_http_reports_what_it_did_and_is_reproducible() {
    let a = Emu::start(OrgSize::Small, 52).await;
    let b = Emu::start(OrgSize::Small, 52).await;
    let before = a.log_len();
    let ra = a
        .call(
            Method::POST,
            "/__emulator/churn",
            Some(json!({"seed": 5, "ops": 300})),
        )
        .await;
    let rb = b
        .call(
            Method::POST,
            "/__emulator/churn",
            Some(json!({"seed": 5, "ops": 300})),
        )
        .await;
    assert_eq!(ra.status, 200, "{}", ra.body);
    assert_eq!(ra.body, rb.body, "same seed, same churn");
    let applied: u64 = ra.body["applied"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(applied + ra.body["skipped"].as_u64().unwrap(), 300);
    assert!(
        ra.body["applied"].as_object().unwrap().len() >= 10,
        "many kinds: {}",
        ra.body
    );
    assert_eq!(
        a.log_len() - before,
        ra.body["events"].as_u64().unwrap() as usize
    );
    // Each emulator names its own URL as its grants' issuer: compare under one name.
    let export = |e: &Emu| {
        okta_emulator::control::export_bytes(&e.emu.state().org.read(), "http://127.0.0.1:1")
    };
    assert_eq!(export(&a), export(&b));
    let bad = a
        .call(Method::POST, "/__emulator/churn", Some(json!({"ops": 3})))
        .await;
    assert_eq!(bad.status, 400);
}
