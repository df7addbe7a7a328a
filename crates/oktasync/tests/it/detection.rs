//! Detection end to end: an emulator plays an attack into its System Log, one incremental
//! `oktasync sync` reads it, and the alerts of the attack's own rules are raised (printed by
//! the sync, stored, listed by `oktasync alerts`); `oktasync detect --since` re-evaluates
//! without raising them twice; `[detection]` settings and a broken rule file.

use crate::{Synced, emulator, oktasync};
use okta_emulator::OrgSize;
use std::collections::BTreeSet;

/// Each scenario and the rules that must fire on it.
const SCENARIOS: &[(&str, &[&str])] = &[
    (
        "okta-add-administrator",
        &[
            "okta.signin.success_after_failures",
            "okta.admin_role.granted_to_user",
            "okta.admin_role.super_admin_granted",
        ],
    ),
    (
        "compromised-root-creds",
        &["okta.signin.lookalike_username"],
    ),
    ("password-spray", &["okta.password_spray.single_source"]),
    (
        "credential-stuffing",
        &[
            "okta.credential_stuffing",
            "okta.signin.success_from_attacking_ip",
        ],
    ),
    (
        "push-bombing",
        &["okta.mfa.push_bombing", "okta.mfa.push_bombing_success"],
    ),
    ("cookie-replay", &["okta.session.cookie_reuse"]),
    (
        "api-token-anywhere",
        &["okta.api_token.created", "okta.api_token.network_anywhere"],
    ),
];

/// The rule ids of the `alert [...] RULE ENTITY: ...` lines a sync printed.
fn alerted(stderr: &str) -> BTreeSet<String> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("alert ["))
        .filter_map(|l| l.split_whitespace().nth(1))
        .map(str::to_string)
        .collect()
}

/// An incremental sync of `s`'s org into its mirror.
async fn sync(s: &Synced) -> crate::Out {
    oktasync(
        s.dir.path(),
        &[
            "sync",
            "--org-url",
            &s.emu.base_url(),
            "--db",
            s.db.to_str().unwrap(),
        ],
        &[("OKTASYNC_API_TOKEN_FILE", s.token_file.to_str().unwrap())],
    )
    .await
}

async fn play(s: &Synced, name: &str) -> serde_json::Value {
    let response = reqwest::Client::new()
        .post(format!("{}/__emulator/scenario", s.emu.base_url()))
        .header("Authorization", format!("SSWS {}", s.emu.token()))
        .json(&serde_json::json!({"name": name}))
        .send()
        .await
        .unwrap();
    assert!(
        response.status().is_success(),
        "{name}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

/// Writes `minutes` of the emulator's normal sign-in activity, ending now.
async fn activity(s: &Synced, minutes: u32) -> serde_json::Value {
    let response = reqwest::Client::new()
        .post(format!("{}/__emulator/activity", s.emu.base_url()))
        .header("Authorization", format!("SSWS {}", s.emu.token()))
        .json(&serde_json::json!({"minutes": minutes}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response.json().await.unwrap()
}

/// A medium org (10,000 users) with an hour of normal activity raises no high or critical
/// alert; then each scenario raises its own rules' alerts on the next incremental sync.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_scenario_raises_its_own_alerts_on_the_next_sync() {
    let s = Synced::with(emulator(41, OrgSize::Medium).await).await;
    let hour = activity(&s, 60).await;
    assert!(hour["sign_ins"].as_u64().unwrap() > 500, "{hour}");
    // The generated history and the hour of activity are normal: no high or critical alert.
    let quiet = sync(&s).await;
    quiet.expect_ok();
    assert!(
        !quiet.stderr.contains("alert [high]") && !quiet.stderr.contains("alert [critical]"),
        "{}",
        quiet.stderr
    );
    let before = s
        .ask(&["alerts", "--severity", "high", "--format", "json"])
        .await;
    before.expect_ok();
    assert_eq!(
        before.json().as_array().map(Vec::len),
        Some(0),
        "{}",
        before.stdout
    );

    for (name, rules) in SCENARIOS {
        let played = play(&s, name).await;
        let out = sync(&s).await;
        out.expect_ok();
        let fired = alerted(&out.stderr);
        for rule in *rules {
            assert!(
                fired.contains(*rule),
                "{name} (victim {}) did not raise {rule}; it raised {fired:?}\n{}",
                played["user"]["login"],
                out.stderr
            );
        }
    }

    // Stored and listed: every scenario's rule, with the events' uuids.
    let listed = s.ask(&["alerts", "--format", "json"]).await;
    listed.expect_ok();
    let alerts = listed.json();
    let ids: BTreeSet<&str> = alerts
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["rule_id"].as_str().unwrap())
        .collect();
    for (_, rules) in SCENARIOS {
        for rule in *rules {
            assert!(ids.contains(rule), "{rule} not listed");
        }
    }
    let bombing = alerts
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["rule_id"] == "okta.mfa.push_bombing_success")
        .unwrap();
    assert_eq!(bombing["severity"], "critical");
    assert!(bombing["event_uuids"].as_array().unwrap().len() >= 6);
    let critical = s
        .ask(&["alerts", "--severity", "critical", "--format", "json"])
        .await;
    assert!(
        critical
            .json()
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["severity"] == "critical")
    );
    let mfa = s
        .ask(&["alerts", "--rule", "okta.mfa.*", "--format", "json"])
        .await;
    assert!(
        mfa.json()
            .as_array()
            .unwrap()
            .iter()
            .all(|a| a["rule_id"].as_str().unwrap().starts_with("okta.mfa."))
    );

    // On demand over the last day: everything found again merges into the same alerts.
    let again = s
        .ask(&["detect", "--since", "1d", "--format", "json"])
        .await;
    again.expect_ok();
    assert_eq!(
        again.json().as_array().map(Vec::len),
        Some(0),
        "{}",
        again.stderr
    );
    assert!(again.stderr.contains("0 new alerts"), "{}", again.stderr);
    let relisted = s.ask(&["alerts", "--format", "json"]).await;
    assert_eq!(
        relisted.json().as_array().map(Vec::len),
        alerts.as_array().map(Vec::len)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detection_settings_and_rule_files() {
    let s = Synced::tiny(42).await;
    let listed = s.ask(&["detect", "--list", "--format", "json"]).await;
    listed.expect_ok();
    let rules = listed.json();
    assert!(rules.as_array().unwrap().len() >= 50);
    assert!(
        rules
            .as_array()
            .unwrap()
            .iter()
            .all(|r| !r["sources"].as_array().unwrap().is_empty())
    );

    // A config turning one rule off, changing another's threshold, and adding a rule file.
    let dir = s.dir.path();
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    std::fs::write(
        dir.join("rules/token.yml"),
        "title: Any API token event\nlevel: low\nfilter: eventType sw \"system.api_token\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("oktasync.toml"),
        "[detection]\nrules_dir = \"rules\"\ndisabled = [\"okta.user.created\"]\n\n\
         [detection.params.\"okta.mfa.push_bombing\"]\nmin_denials = 3\n",
    )
    .unwrap();
    let listed = s.ask(&["detect", "--list", "--format", "json"]).await;
    listed.expect_ok();
    let rules = listed.json();
    let find = |id: &str| {
        rules
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .cloned()
    };
    assert!(find("okta.user.created").is_none());
    assert_eq!(find("user.token").unwrap()["severity"], "low");
    assert_eq!(
        find("okta.mfa.push_bombing").unwrap()["params"]["min_denials"],
        3.0
    );

    // A rule file that cannot be parsed stops the command with its name and the reason.
    std::fs::write(
        dir.join("rules/broken.yml"),
        "title: x\nfilter: eventType eq\n",
    )
    .unwrap();
    let out = s.ask(&["detect"]).await;
    assert_eq!(out.code, Some(2), "{out:#?}");
    assert!(
        out.stderr.contains("broken.yml") && out.stderr.contains("cannot be parsed"),
        "{}",
        out.stderr
    );
    let sync = oktasync(
        dir,
        &["sync", "--org-url", &s.emu.base_url(), "--db", "m.db"],
        &[("OKTASYNC_API_TOKEN_FILE", s.token_file.to_str().unwrap())],
    )
    .await;
    assert_eq!(
        sync.code,
        Some(2),
        "the sync refuses before it starts: {sync:#?}"
    );

    let bad = s.ask(&["alerts", "--severity", "urgent"]).await;
    assert_eq!(bad.code, Some(2));
    assert!(
        bad.stderr.contains("info, low, medium, high or critical"),
        "{}",
        bad.stderr
    );
}

/// `oktasync watch` runs detection after each poll: a scenario played while it watches is an
/// alert in the mirror a poll later.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_poll_raises_the_alerts_of_an_attack_played_meanwhile() {
    let s = Synced::tiny(43).await;
    let mut watch = tokio::process::Command::new(env!("CARGO_BIN_EXE_oktasync"))
        .current_dir(s.dir.path())
        .args([
            "watch",
            "--interval",
            "1s",
            "--org-url",
            &s.emu.base_url(),
            "--db",
            "m.db",
        ])
        .env("OKTASYNC_API_TOKEN_FILE", &s.token_file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn oktasync watch");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    play(&s, "push-bombing").await;
    let played = std::time::Instant::now();
    let raised = loop {
        let out = s
            .ask(&[
                "alerts",
                "--rule",
                "okta.mfa.push_bombing_success",
                "--format",
                "json",
            ])
            .await;
        if out.ok() && out.json().as_array().is_some_and(|a| !a.is_empty()) {
            break Some(played.elapsed());
        }
        if played.elapsed() > std::time::Duration::from_secs(30) {
            break None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    let _ = watch.kill().await;
    let raised = raised.expect("watch never raised the push bombing alert");
    println!("the alert was raised {raised:?} after the attack");
}
