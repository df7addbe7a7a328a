//! `oktasync grant` through the binary against the emulator: a grant adds the membership in
//! Okta and the next pass after its expiry removes it; a membership that was there before is
//! never removed; overlapping grants remove it only when the last ends; and every refusal
//! happens before any call, with nothing recorded.

use crate::{Synced, oktasync};
use oktasync_testkit::org::{grantable_groups, ids_where, members};
use serde_json::Value;
use std::time::{Duration, Instant};

/// A config for the synced org with one grant policy.
fn write_config(s: &Synced, policy_groups: &str, max: &str) {
    let text = format!(
        "org_url = \"{}\"\ndb = \"m.db\"\napi_token_file = \"token\"\n\n\
         [[grant_policies]]\ngroups = {policy_groups}\nmax_duration = \"{max}\"\n",
        s.emu.base_url()
    );
    std::fs::write(s.dir.path().join("oktasync.toml"), text).unwrap();
}

async fn grant(s: &Synced, args: &[&str]) -> crate::Out {
    let mut all = vec!["grant"];
    all.extend_from_slice(args);
    oktasync(s.dir.path(), &all, &[]).await
}

/// Waits until `deadline` (a grant's expiry has passed).
async fn until(deadline: Instant) {
    if let Some(left) = deadline.checked_duration_since(Instant::now()) {
        tokio::time::sleep(left).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grants_add_expire_and_never_remove_what_they_did_not_make() {
    // Small, not tiny: a tiny org's grantable groups have no members.
    let s = Synced::with(crate::emulator(71, okta_emulator::OrgSize::Small).await).await;
    write_config(&s, "[\"*\"]", "1h");
    let export = s.emu.export();
    let groups = grantable_groups(&export);
    let active = ids_where(&export, "users", |u| u["status"] == "ACTIVE");
    // A group with a member (for the pre-existing case) and an active user outside it.
    let (group, insider, outsider) = groups
        .iter()
        .find_map(|g| {
            let inside = members(&export, g);
            let insider = active.iter().find(|u| inside.contains(*u))?;
            let outsider = active.iter().find(|u| !inside.contains(*u))?;
            Some((g.clone(), insider.clone(), outsider.clone()))
        })
        .expect("a grantable group with an active member and an active outsider");

    // The outsider for 3 s, then again for 6 s (overlapping); the insider for 3 s.
    let started = Instant::now();
    let first = grant(
        &s,
        &[
            "add",
            "--user",
            &outsider,
            "--group",
            &group,
            "--for",
            "3s",
            "--reason",
            "incident 7",
            "--json",
        ],
    )
    .await;
    let first = first.expect_ok().json();
    assert_eq!(first["grant"]["state"], "active", "{first}");
    assert_eq!(first["grant"]["pre_existing"], false);
    assert!(
        members(&s.emu.export(), &group).contains(&outsider),
        "added in Okta"
    );
    let second = grant(
        &s,
        &[
            "add",
            "--user",
            &outsider,
            "--group",
            &group,
            "--for",
            "6s",
            "--reason",
            "incident 7",
        ],
    )
    .await;
    second.expect_ok();
    let second_id = second.stdout.lines().last().unwrap().trim().to_owned();
    let kept = grant(
        &s,
        &[
            "add", "--user", &insider, "--group", &group, "--for", "3s", "--reason", "audit",
            "--json",
        ],
    )
    .await;
    let kept = kept.expect_ok().json();
    assert_eq!(kept["grant"]["pre_existing"], true, "{kept}");

    // After 3 s: the first ends but the second still holds the membership; the insider's
    // membership was there before and stays.
    until(started + Duration::from_millis(3_500)).await;
    let pass = grant(&s, &["enforce", "--json"]).await;
    let pass = pass.expect_ok().json();
    assert_eq!(pass["kept"], 2, "{pass}");
    assert_eq!(pass["revoked"], 0, "{pass}");
    let now = s.emu.export();
    assert!(members(&now, &group).contains(&outsider));
    assert!(members(&now, &group).contains(&insider));

    // After 6 s: the last grant ends and removes the membership; the insider's stays.
    until(started + Duration::from_millis(6_500)).await;
    let pass = grant(&s, &["enforce", "--json"]).await;
    let pass = pass.expect_ok().json();
    assert_eq!(pass["revoked"], 1, "{pass}");
    let now = s.emu.export();
    assert!(
        !members(&now, &group).contains(&outsider),
        "removed in Okta"
    );
    assert!(members(&now, &group).contains(&insider), "never removed");
    // Nothing else changed in the group.
    let mut expected = members(&export, &group);
    expected.remove(&outsider);
    assert_eq!(members(&now, &group), expected);

    // The record: every grant ended, with its audit; the removal names Okta's request.
    let shown = grant(&s, &["show", &second_id, "--json"]).await;
    let shown = shown.expect_ok().json();
    assert_eq!(shown["grant"]["state"], "revoked");
    let actions: Vec<&str> = shown["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["requested", "checked", "added", "revoked"],
        "{shown}"
    );
    let revoked = shown["audit"].as_array().unwrap().last().unwrap();
    assert!(revoked["okta_request_id"].is_string(), "{shown}");
    let open = grant(&s, &["list", "--active", "--json"]).await;
    assert_eq!(open.expect_ok().json(), Value::Array(vec![]));
    let all = grant(&s, &["list", "--json"]).await;
    assert_eq!(all.expect_ok().json().as_array().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_grants_call_nothing_and_record_nothing() {
    let s = Synced::tiny(72).await;
    let export = s.emu.export();
    let active = ids_where(&export, "users", |u| u["status"] == "ACTIVE");
    let inactive = ids_where(&export, "users", |u| {
        u["status"] != "ACTIVE" && u["status"] != "DEPROVISIONED"
    });
    let okta_group = grantable_groups(&export)[0].clone();
    let app_group = ids_where(&export, "groups", |g| g["type"] == "APP_GROUP");
    let everyone = ids_where(&export, "groups", |g| g["type"] == "BUILT_IN");
    let fed_by_rule: Vec<String> = export["group_rules"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["status"] == "ACTIVE")
        .filter_map(|r| r["actions"]["assignUserToGroups"]["groupIds"][0].as_str())
        .map(str::to_owned)
        .collect();
    let admin_group: Vec<String> = export["role_assignments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["assignee_type"] == "GROUP")
        .map(|r| r["assignee_id"].as_str().unwrap().to_owned())
        .collect();

    write_config(&s, "[\"*\"]", "1h");
    let user = active[0].as_str();
    let mut cases: Vec<(String, String, Vec<&str>, &str)> = vec![
        (
            user.into(),
            okta_group.clone(),
            vec!["--for", "2h"],
            "longer than the max_duration",
        ),
        (
            user.into(),
            okta_group.clone(),
            vec!["--for", "1m", "--reason", " "],
            "requires a reason",
        ),
        (
            user.into(),
            "no such group".into(),
            vec!["--for", "1m"],
            "no group",
        ),
        (
            "nobody@example.com".into(),
            okta_group.clone(),
            vec!["--for", "1m"],
            "no user",
        ),
    ];
    if let Some(g) = app_group.first() {
        cases.push((user.into(), g.clone(), vec!["--for", "1m"], "APP_GROUP"));
    }
    if let Some(g) = everyone.first() {
        cases.push((user.into(), g.clone(), vec!["--for", "1m"], "BUILT_IN"));
    }
    if let Some(u) = inactive.first() {
        cases.push((
            u.clone(),
            okta_group.clone(),
            vec!["--for", "1m"],
            "not ACTIVE",
        ));
    }
    if let Some(g) = fed_by_rule.first() {
        cases.push((user.into(), g.clone(), vec!["--for", "1m"], "group rule"));
    }
    if let Some(g) = admin_group.first() {
        cases.push((user.into(), g.clone(), vec!["--for", "1m"], "admin roles"));
    }
    assert!(
        cases.len() >= 8,
        "the tiny org has app groups, Everyone, rules and admin groups"
    );
    for (user, group, extra, says) in &cases {
        let mut args = vec!["add", "--user", user.as_str(), "--group", group.as_str()];
        args.extend(extra.iter().copied());
        if !extra.contains(&"--reason") {
            args.extend(["--reason", "test"]);
        }
        let out = grant(&s, &args).await;
        out.expect_failure();
        assert_eq!(out.code, Some(2), "{out:?}");
        assert!(out.stderr.contains(says), "{says}: {out:?}");
    }
    // A policy that does not name the group refuses it too.
    write_config(&s, "[\"JIT-*\"]", "1h");
    let out = grant(
        &s,
        &[
            "add",
            "--user",
            user,
            "--group",
            &okta_group,
            "--for",
            "1m",
            "--reason",
            "x",
        ],
    )
    .await;
    out.expect_failure();
    assert!(
        out.stderr.contains("no [[grant_policies]] entry names"),
        "{out:?}"
    );
    // Nothing recorded, nothing changed in Okta.
    let all = grant(&s, &["list", "--json"]).await;
    assert_eq!(all.expect_ok().json(), Value::Array(vec![]));
    assert_eq!(s.emu.export()["group_members"], export["group_members"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_watch_ends_a_grant_on_time_without_a_cron_pass() {
    // Seed 72's tiny org has a grantable group (not every tiny org does).
    let s = Synced::tiny(72).await;
    write_config(&s, "[\"*\"]", "1h");
    let export = s.emu.export();
    let group = grantable_groups(&export)[0].clone();
    let inside = members(&export, &group);
    let user = ids_where(&export, "users", |u| u["status"] == "ACTIVE")
        .into_iter()
        .find(|u| !inside.contains(u))
        .unwrap();
    let mut watch = tokio::process::Command::new(env!("CARGO_BIN_EXE_oktasync"))
        .current_dir(s.dir.path())
        .args(["watch", "--interval", "1s"])
        .env_remove("OKTASYNC_API_TOKEN_FILE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn oktasync watch");
    let added = grant(
        &s,
        &[
            "add", "--user", &user, "--group", &group, "--for", "2s", "--reason", "on call",
            "--json",
        ],
    )
    .await;
    let added = added.expect_ok().json();
    let id = added["grant"]["grant_id"].as_i64().unwrap();
    let due = Instant::now() + Duration::from_secs(2);
    assert_eq!(added["grant"]["pre_existing"], false, "{added}");
    // The membership appears: made by the add itself, or, when the watch's enforcer claimed
    // the new grant first (its record then says `adding`), by that enforcer a moment later.
    let made = Instant::now();
    while !members(&s.emu.export(), &group).contains(&user) {
        assert!(
            made.elapsed() < Duration::from_secs(30),
            "the grant never made the membership: {added}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The watch's enforcer ends it: within a minute is the promise; a pass runs every 10 s.
    let removed = loop {
        if !members(&s.emu.export(), &group).contains(&user) {
            break Instant::now();
        }
        assert!(
            Instant::now() < due + Duration::from_secs(60),
            "the grant outlived its time by a minute under a running watch"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let _ = watch.kill().await;
    println!(
        "removed {:?} after the grant's time",
        removed.saturating_duration_since(due)
    );
    let shown = grant(&s, &["show", &id.to_string(), "--json"]).await;
    assert_eq!(shown.expect_ok().json()["grant"]["state"], "revoked");
}

/// A grant asked for by `ada`, waiting for approval: its id.
async fn ask_for(s: &Synced, user: &str, group: &str) -> String {
    let out = grant(
        s,
        &[
            "add",
            "--user",
            user,
            "--group",
            group,
            "--for",
            "10m",
            "--reason",
            "deploy",
            "--requested-by",
            "ada",
            "--json",
        ],
    )
    .await;
    let grant = out.expect_ok().json()["grant"].clone();
    assert_eq!(grant["state"], "pending_approval", "{grant}");
    grant["grant_id"].as_i64().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approvals_extensions_and_the_panic_button() {
    let s = Synced::tiny(72).await;
    write_config(&s, "[\"*\"]\nrequire_approval = true", "1h");
    let export = s.emu.export();
    let group = grantable_groups(&export)[0].clone();
    let inside = members(&export, &group);
    let users: Vec<String> = ids_where(&export, "users", |u| u["status"] == "ACTIVE")
        .into_iter()
        .filter(|u| !inside.contains(u))
        .take(3)
        .collect();
    let first = ask_for(&s, &users[0], &group).await;
    assert!(
        !members(&s.emu.export(), &group).contains(&users[0]),
        "nothing before approval"
    );
    // The requester cannot approve their own grant.
    let own = grant(&s, &["approve", &first, "--by", "ada"]).await;
    assert_eq!(own.code, Some(2), "{own:?}");
    assert!(own.stderr.contains("cannot approve it too"), "{own:?}");
    let approved = grant(&s, &["approve", &first, "--by", "bob", "--json"]).await;
    let approved = approved.expect_ok().json();
    assert_eq!(approved["grants"][0]["state"], "active", "{approved}");
    assert_eq!(approved["grants"][0]["approved_by"], "bob");
    assert!(members(&s.emu.export(), &group).contains(&users[0]));
    // Only a waiting grant is denied.
    assert_eq!(grant(&s, &["deny", &first]).await.code, Some(2));
    let second = ask_for(&s, &users[1], &group).await;
    let denied = grant(
        &s,
        &[
            "deny", &second, "--by", "bob", "--reason", "not now", "--json",
        ],
    )
    .await;
    assert_eq!(denied.expect_ok().json()["grants"][0]["state"], "denied");
    assert!(!members(&s.emu.export(), &group).contains(&users[1]));

    // Extended by 30 minutes; not beyond the policy's hour from now.
    let before = grant(&s, &["show", &first, "--json"])
        .await
        .expect_ok()
        .json();
    let extended = grant(&s, &["extend", &first, "--for", "30m", "--json"]).await;
    let extended = extended.expect_ok().json();
    let end = |v: &Value| chrono::DateTime::parse_from_rfc3339(v.as_str().unwrap()).unwrap();
    assert_eq!(
        (end(&extended["grants"][0]["expires_at"]) - end(&before["grant"]["expires_at"]))
            .num_minutes(),
        30
    );
    let too_long = grant(&s, &["extend", &first, "--for", "2h"]).await;
    assert_eq!(too_long.code, Some(2), "{too_long:?}");
    assert!(too_long.stderr.contains("max_duration"), "{too_long:?}");

    // The panic button ends every open grant of the group at once.
    let third = ask_for(&s, &users[2], &group).await;
    grant(&s, &["approve", &third, "--by", "bob"])
        .await
        .expect_ok();
    assert!(members(&s.emu.export(), &group).contains(&users[2]));
    let all = grant(&s, &["revoke", "--all", "--group", &group, "--json"]).await;
    let all = all.expect_ok().json();
    assert_eq!(all["enforcement"]["revoked"], 2, "{all}");
    let now = s.emu.export();
    assert!(!members(&now, &group).contains(&users[0]));
    assert!(!members(&now, &group).contains(&users[2]));
    assert_eq!(members(&now, &group), inside, "nothing else touched");
    let open = grant(&s, &["list", "--active", "--json"]).await;
    assert_eq!(open.expect_ok().json(), Value::Array(vec![]));
}
