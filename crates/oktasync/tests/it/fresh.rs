//! Keeping the mirror fresh through the binary: incremental `sync`, `watch`, `changes`,
//! `--at`, and processes killed with SIGKILL at varied points of full, incremental and watch
//! runs.

use crate::{Synced, oktasync};
use oktasync_store::{MirrorReader, MirrorWriter, SqliteStore};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Adds a user to a group through the emulator's real API.
async fn add_member(s: &Synced, group: &str, user: &str) {
    let response = reqwest::Client::new()
        .put(format!(
            "{}/api/v1/groups/{group}/users/{user}",
            s.emu.base_url()
        ))
        .header("Authorization", format!("SSWS {}", s.emu.token()))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{response:?}");
}

/// An OKTA_GROUP and an ACTIVE user who is not in it.
fn non_member(export: &Value) -> (String, String) {
    let members = oktasync_testkit::org::memberships(export);
    for g in export["groups"].as_array().unwrap() {
        if g["type"] != "OKTA_GROUP" {
            continue;
        }
        let gid = g["id"].as_str().unwrap();
        for u in export["users"].as_array().unwrap() {
            let uid = u["id"].as_str().unwrap();
            if u["status"] == "ACTIVE" && !members.contains(&(gid.to_owned(), uid.to_owned())) {
                return (gid.to_owned(), uid.to_owned());
            }
        }
    }
    panic!("every active user is in every group");
}

impl Synced {
    /// `oktasync ARGS --org-url URL --db m.db` with the token.
    async fn run(&self, args: &[&str]) -> crate::Out {
        let mut all: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        all.extend([
            "--org-url".into(),
            self.emu.base_url(),
            "--db".into(),
            "m.db".into(),
        ]);
        let all: Vec<&str> = all.iter().map(String::as_str).collect();
        oktasync(
            self.dir.path(),
            &all,
            &[
                ("OKTASYNC_API_TOKEN_FILE", self.token_file.to_str().unwrap()),
                // Every factor, as the export compares every factor.
                ("OKTASYNC_FACTORS", "all"),
            ],
        )
        .await
    }

    fn spawn(&self, args: &[&str]) -> tokio::process::Child {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_oktasync"));
        cmd.current_dir(self.dir.path())
            .args(args)
            .args(["--org-url", &self.emu.base_url(), "--db", "m.db"])
            .env("OKTASYNC_API_TOKEN_FILE", &self.token_file)
            .env("OKTASYNC_FACTORS", "all")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true);
        cmd.spawn().expect("spawn oktasync")
    }

    async fn mirror_export(&self) -> Value {
        let out = self.ask(&["export", "--format", "json"]).await;
        out.expect_ok();
        out.json()
    }
}

/// Whether `oktasync group G --at T` lists the user.
async fn member_at(s: &Synced, group: &str, user: &str, at: &str) -> bool {
    let out = s.ask(&["group", group, "--at", at, "--json"]).await;
    out.expect_ok();
    out.json()["members"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m["id"] == user)
}

/// Whether `oktasync user U --at T` lists the group.
async fn in_group_at(s: &Synced, user: &str, group: &str, at: &str) -> bool {
    let out = s.ask(&["user", user, "--at", at, "--json"]).await;
    out.expect_ok();
    let report = out.json();
    let groups = report["groups"].as_array().expect("groups");
    assert!(!groups.is_empty(), "the user is in some group: {report}");
    groups.iter().any(|g| g["group_id"] == group)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_sync_changes_and_history() {
    let s = Synced::tiny(21).await;
    let (group, user) = non_member(&s.emu.export());
    let before = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    add_member(&s, &group, &user).await;

    let out = s.run(&["sync", "--json"]).await;
    out.expect_ok();
    let sum = out.json();
    assert_eq!(sum["kind"], "incremental", "{sum}");
    assert!(sum["events"].as_u64().unwrap() >= 1, "{sum}");
    assert!(
        sum["api_calls"].as_u64().unwrap() < s.summary["api_calls"].as_u64().unwrap(),
        "an incremental run costs fewer calls than the full one: {sum}"
    );
    assert_eq!(s.mirror_export().await, s.emu.export());

    // The change log names the membership and the event that caused it.
    let out = s.ask(&["changes", "--group", &group, "--json"]).await;
    out.expect_ok();
    let changes = out.json();
    let add = changes
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["entity"] == "group_members" && c["op"] == "add")
        .unwrap_or_else(|| panic!("no membership add in {changes}"));
    assert_eq!(add["user_id"], user.as_str());
    assert_eq!(add["source"], "delta");
    assert!(add["event_uuid"].is_string(), "{add}");
    let table = s.ask(&["changes", "--user", &user]).await;
    table.expect_ok();
    assert!(table.stdout.contains("group_members"), "{table:?}");

    // The event that caused it is kept: `oktasync logs` finds it by type, target and outcome.
    let out = s
        .ask(&[
            "logs",
            "--type",
            "group.user_membership.*",
            "--target",
            &group,
            "--outcome",
            "success",
            "--json",
        ])
        .await;
    out.expect_ok();
    let events = out.json();
    let kept = events
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["uuid"] == add["event_uuid"])
        .unwrap_or_else(|| panic!("the membership's event is not kept: {events}"));
    assert_eq!(kept["event_type"], "group.user_membership.add");
    assert_eq!(kept["raw"]["target"][0]["id"], user.as_str());
    let none = s
        .ask(&[
            "logs",
            "--type",
            "user.session.*",
            "--target",
            &group,
            "--json",
        ])
        .await;
    none.expect_ok();
    assert_eq!(none.json(), serde_json::json!([]));
    let table = s.ask(&["logs", "--since", "1h"]).await;
    table.expect_ok();
    assert!(
        table.stdout.contains("group.user_membership.add"),
        "{table:?}"
    );

    // History: not a member before the change, a member now.
    let before = before.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    assert!(
        !member_at(&s, &group, &user, &before).await,
        "not a member as of {before}"
    );
    assert!(member_at(&s, &group, &user, "0s").await, "a member now");
    assert!(
        !in_group_at(&s, &user, &group, &before).await,
        "not in the group as of {before}"
    );
    assert!(
        in_group_at(&s, &user, &group, "0s").await,
        "in the group now"
    );
    s.ask(&["group", &group, "--at", "yesterday-ish"])
        .await
        .expect_failure();

    // A reconcile finds nothing to fix.
    let out = s.run(&["sync", "--full", "--json"]).await;
    out.expect_ok();
    let sum = out.json();
    assert_eq!(sum["kind"], "reconcile", "{sum}");
    assert_eq!(sum["drift"], 0, "{sum}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_applies_a_membership_change_within_the_interval_plus_two_seconds() {
    let s = Synced::tiny(22).await;
    let (group, user) = non_member(&s.emu.export());
    let interval = Duration::from_secs(1);
    let mut watch = s.spawn(&["watch", "--interval", "1s"]);
    // Let watch start and settle into its polling (its backoff is reset by activity).
    tokio::time::sleep(Duration::from_millis(500)).await;
    add_member(&s, &group, &user).await;
    let changed = Instant::now();
    let deadline = interval + Duration::from_secs(2);
    let store = SqliteStore::open(&s.db).await.unwrap();
    let org = store.orgs().await.unwrap()[0].0;
    let scope = oktasync_store::Scope::membership(group.as_str(), user.as_str());
    let seen = loop {
        if !store.keys(org, &scope).await.unwrap().is_empty() {
            break Some(changed.elapsed());
        }
        if changed.elapsed() > deadline + Duration::from_secs(5) {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let _ = watch.kill().await;
    let seen = seen.expect("watch never applied the membership");
    println!("watch applied the change after {seen:?} (interval {interval:?})");
    assert!(seen <= deadline, "took {seen:?}, more than {deadline:?}");
    store.close().await;
}

/// Deterministic pseudo-random delays (no clock, no OS randomness): varied kill points.
fn delays(seed: u64, n: usize, max_ms: u64) -> Vec<u64> {
    let mut x = seed;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % max_ms
        })
        .collect()
}

/// The newest run's id and outcome, from `status --json`.
async fn newest_run(s: &Synced) -> Option<(i64, String)> {
    let out = s.ask(&["status", "--json", "--limit", "1"]).await;
    if !out.ok() {
        return None;
    }
    let runs = out.json();
    let run = runs.as_array()?.first()?;
    Some((run["run_id"].as_i64()?, run["outcome"].as_str()?.to_owned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_killed_at_any_point_never_corrupt_the_mirror() {
    // Latency stretches each run over many requests, so that every kill lands inside one.
    let emu = okta_emulator::start(okta_emulator::EmulatorConfig {
        seed: 23,
        size: okta_emulator::OrgSize::Tiny,
        latency_ms: 30,
        ..Default::default()
    })
    .await
    .unwrap();
    let s = Synced::with(emu).await;
    let kinds: [&[&str]; 3] = [
        &["sync"],
        &["watch", "--interval", "1s"],
        &["sync", "--full"],
    ];
    for (round, delay_ms) in delays(23, 9, 60).into_iter().enumerate() {
        let args = kinds[round % kinds.len()];
        let before = newest_run(&s).await.map_or(0, |r| r.0);
        s.emu.churn(500 + round as u64, 40);
        let mut child = s.spawn(args);
        // Wait for this process's run to be recorded as running, then kill it part-way.
        let deadline = Instant::now() + Duration::from_secs(30);
        let run_id = loop {
            assert!(Instant::now() < deadline, "round {round}: no run started");
            match newest_run(&s).await {
                Some((id, outcome)) if id > before && outcome == "running" => break id,
                _ => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        };
        tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        let _ = child.start_kill(); // SIGKILL
        let status = child.wait().await.unwrap();
        println!("round {round}: {args:?} killed {delay_ms} ms into run {run_id} ({status})");
        // The kill landed mid-run: the run was never finished, so it is still `running`.
        assert_eq!(
            newest_run(&s).await,
            Some((run_id, "running".to_owned())),
            "round {round}: the run finished before the kill"
        );
        let store = SqliteStore::open(&s.db).await.unwrap();
        assert_eq!(
            store.integrity_check().await.unwrap(),
            vec!["ok".to_owned()]
        );
        let org = store.orgs().await.unwrap()[0].0;
        // Readable, and whole: the export reads every table in one snapshot.
        store.export_json(org).await.unwrap();
        store.close().await;
    }
    // The next run ends exact, and is incremental (the checkpoint survived every kill); the
    // runs the kills cut short are recorded as interrupted.
    let out = s.run(&["sync", "--json"]).await;
    out.expect_ok();
    assert_eq!(out.json()["kind"], "incremental", "{}", out.stdout);
    assert_eq!(s.mirror_export().await, s.emu.export());
    let runs = s
        .ask(&["status", "--json", "--limit", "20"])
        .await
        .expect_ok()
        .json();
    let interrupted = runs
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outcome"] == "interrupted")
        .count();
    assert_eq!(interrupted, 9, "{runs}");
    let out = s.run(&["sync", "--full", "--json"]).await;
    out.expect_ok();
    assert_eq!(out.json()["drift"], 0, "{}", out.stdout);
}
