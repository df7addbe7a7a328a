//! The truth tests on PostgreSQL, through the binary: a full sync equals the emulator's
//! export, churn rounds with incremental syncs stay exact, SIGKILL never tears the mirror, two
//! orgs synced at once by two processes into one database are both exact, and two processes
//! syncing one org take turns. Each test has a database of its own (oktasync-testkit).

use crate::{Out, oktasync};
use okta_emulator::{EmulatorConfig, OrgSize, RunningEmulator};
use oktasync_testkit::PgDatabase;
use serde_json::Value;
use std::time::{Duration, Instant};

async fn emulator(seed: u64, latency_ms: u64) -> RunningEmulator {
    okta_emulator::start(EmulatorConfig {
        seed,
        size: OrgSize::Tiny,
        latency_ms,
        ..Default::default()
    })
    .await
    .expect("emulator starts")
}

/// `oktasync ARGS --db URL` in `dir`, with the emulator's token, every factor read (the
/// export compares every factor).
async fn run(dir: &std::path::Path, db: &PgDatabase, emu: &RunningEmulator, args: &[&str]) -> Out {
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--db", db.url.as_str()]);
    oktasync(
        dir,
        &all,
        &[
            ("OKTASYNC_API_TOKEN", emu.token()),
            ("OKTASYNC_FACTORS", "all"),
        ],
    )
    .await
}

async fn export(dir: &std::path::Path, db: &PgDatabase, org: &str) -> Value {
    let out = oktasync(
        dir,
        &["export", "--db", &db.url, "--org", org, "--format", "json"],
        &[],
    )
    .await;
    out.expect_ok().json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn full_sync_then_twenty_churn_rounds_stay_exact_on_postgres() {
    let Some(db) = PgDatabase::create("cli_churn_rounds").await else {
        return;
    };
    let emu = emulator(61, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = emu.base_url();
    let full = run(
        dir.path(),
        &db,
        &emu,
        &["sync", "--org-url", &url, "--json"],
    )
    .await;
    assert_eq!(full.expect_ok().json()["kind"], "full");
    assert!(
        export(dir.path(), &db, &url).await == emu.export(),
        "after the full sync"
    );
    for round in 0..20u64 {
        let churned = emu.churn(600 + round, 8);
        assert!(churned.events > 0, "round {round}: {churned:?}");
        let inc = run(
            dir.path(),
            &db,
            &emu,
            &["sync", "--org-url", &url, "--json"],
        )
        .await;
        let inc = inc.expect_ok().json();
        assert_eq!(inc["kind"], "incremental", "round {round}: {inc}");
        let mirrored = export(dir.path(), &db, &url).await;
        assert!(
            mirrored == emu.export(),
            "round {round}: the mirror differs"
        );
    }
    let reconcile = run(
        dir.path(),
        &db,
        &emu,
        &["sync", "--org-url", &url, "--full", "--json"],
    )
    .await;
    let reconcile = reconcile.expect_ok().json();
    assert_eq!(reconcile["kind"], "reconcile");
    assert_eq!(reconcile["drift"], 0, "{reconcile}");
}

/// The newest run of the mirror's only org: (id, outcome).
async fn newest_run(dir: &std::path::Path, db: &PgDatabase) -> Option<(i64, String)> {
    let out = oktasync(
        dir,
        &["status", "--db", &db.url, "--json", "--limit", "1"],
        &[],
    )
    .await;
    if !out.ok() {
        return None;
    }
    let runs = out.json();
    let run = runs.as_array()?.first()?;
    Some((run["run_id"].as_i64()?, run["outcome"].as_str()?.to_owned()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn processes_killed_mid_run_never_tear_a_postgres_mirror() {
    let Some(db) = PgDatabase::create("cli_killed").await else {
        return;
    };
    // Latency stretches a run over many requests, so that each kill lands inside one.
    let emu = emulator(62, 30).await;
    let dir = tempfile::tempdir().unwrap();
    let url = emu.base_url();
    run(dir.path(), &db, &emu, &["sync", "--org-url", &url])
        .await
        .expect_ok();
    let kinds: [&[&str]; 2] = [&["sync"], &["sync", "--full"]];
    for round in 0..6usize {
        let before = newest_run(dir.path(), &db).await.map_or(0, |r| r.0);
        emu.churn(700 + round as u64, 20);
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_oktasync"))
            .current_dir(dir.path())
            .args(kinds[round % 2])
            .args(["--org-url", &url, "--db", &db.url])
            .env("OKTASYNC_API_TOKEN", emu.token())
            .env("OKTASYNC_FACTORS", "all")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        let run_id = loop {
            assert!(Instant::now() < deadline, "round {round}: no run started");
            match newest_run(dir.path(), &db).await {
                Some((id, outcome)) if id > before && outcome == "running" => break id,
                _ => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        };
        tokio::time::sleep(Duration::from_millis(10 * round as u64)).await;
        let _ = child.start_kill(); // SIGKILL
        let _ = child.wait().await;
        assert_eq!(
            newest_run(dir.path(), &db).await,
            Some((run_id, "running".to_owned())),
            "round {round}: the run finished before the kill"
        );
        // The mirror reads whole: the export is one snapshot of every table.
        export(dir.path(), &db, &url).await;
    }
    let inc = run(
        dir.path(),
        &db,
        &emu,
        &["sync", "--org-url", &url, "--json"],
    )
    .await;
    assert_eq!(inc.expect_ok().json()["kind"], "incremental");
    assert!(export(dir.path(), &db, &url).await == emu.export());
    let runs = oktasync(
        dir.path(),
        &["status", "--db", &db.url, "--json", "--limit", "20"],
        &[],
    )
    .await;
    let runs = runs.expect_ok().json();
    let interrupted = runs
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["outcome"] == "interrupted")
        .count();
    assert_eq!(interrupted, 6, "{runs}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_orgs_synced_at_once_by_two_processes_into_one_database_are_both_exact() {
    let Some(db) = PgDatabase::create("cli_two_orgs").await else {
        return;
    };
    let (alpha, beta) = (emulator(63, 10).await, emulator(64, 10).await);
    let dir = tempfile::tempdir().unwrap();
    let sync = |emu: &RunningEmulator, name: &str| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_oktasync"))
            .current_dir(dir.path())
            .args(["sync", "--org-url", &emu.base_url(), "--db", &db.url])
            .env("OKTASYNC_API_TOKEN", emu.token())
            .env("OKTASYNC_FACTORS", "all")
            .env("OKTASYNC_ORG_NAME", name)
            .output()
    };
    let (a, b) = tokio::join!(sync(&alpha, "alpha"), sync(&beta, "beta"));
    for out in [a.unwrap(), b.unwrap()] {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(export(dir.path(), &db, "alpha").await == alpha.export());
    assert!(export(dir.path(), &db, "beta").await == beta.export());
    let orgs = oktasync(dir.path(), &["orgs", "--db", &db.url, "--json"], &[]).await;
    assert_eq!(orgs.expect_ok().json().as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_syncing_one_org_take_turns_on_postgres() {
    let Some(db) = PgDatabase::create("cli_one_org_twice").await else {
        return;
    };
    let emu = emulator(65, 40).await;
    let dir = tempfile::tempdir().unwrap();
    let url = emu.base_url();
    let spawn = |extra: &[&str]| {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_oktasync"))
            .current_dir(dir.path())
            .args(["sync", "--org-url", &url, "--db", &db.url, "--json"])
            .args(extra)
            .env("OKTASYNC_API_TOKEN", emu.token())
            .env("OKTASYNC_FACTORS", "all")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap()
    };
    let first = spawn(&[]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while newest_run(dir.path(), &db).await.map(|r| r.1) != Some("running".into()) {
        assert!(Instant::now() < deadline, "the first run never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let refused = spawn(&[]).wait_with_output().await.unwrap();
    let refused_err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{refused_err}");
    assert!(refused_err.contains("is being synced by"), "{refused_err}");
    let waiting = spawn(&["--wait"]);
    let first = first.wait_with_output().await.unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let waited = waiting.wait_with_output().await.unwrap();
    assert!(
        waited.status.success(),
        "{}",
        String::from_utf8_lossy(&waited.stderr)
    );
    let waited: Value = serde_json::from_slice(&waited.stdout).unwrap();
    assert_eq!(waited["kind"], "incremental");
    assert!(export(dir.path(), &db, &url).await == emu.export());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sqlite_mirror_copied_into_postgres_keeps_its_history_and_syncs_on() {
    let Some(db) = PgDatabase::create("cli_copy").await else {
        return;
    };
    let emu = emulator(66, 0).await;
    let dir = tempfile::tempdir().unwrap();
    let url = emu.base_url();
    fn sqlite<'a>(args: &[&'a str]) -> Vec<&'a str> {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--db", "m.db"]);
        all
    }
    let token = [
        ("OKTASYNC_API_TOKEN", emu.token()),
        ("OKTASYNC_FACTORS", "all"),
    ];
    oktasync(dir.path(), &sqlite(&["sync", "--org-url", &url]), &token)
        .await
        .expect_ok();
    let before_churn = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    emu.churn(801, 30);
    oktasync(dir.path(), &sqlite(&["sync", "--org-url", &url]), &token)
        .await
        .expect_ok();

    let copied = oktasync(
        dir.path(),
        &["copy", "--from", "m.db", "--to", &db.url, "--json"],
        &[],
    )
    .await;
    let copied = copied.expect_ok().json();
    assert!(copied["rows"]["changes"].as_u64().unwrap() > 0, "{copied}");

    // The same answers from both: the mirror, the change log, the past, the runs.
    let ask = |db_arg: String, args: Vec<String>| {
        let dir = dir.path().to_path_buf();
        async move {
            let mut all: Vec<String> = args;
            all.extend(["--db".to_owned(), db_arg]);
            let all: Vec<&str> = all.iter().map(String::as_str).collect();
            oktasync(&dir, &all, &[]).await.expect_ok().json()
        }
    };
    let group = emu.export()["group_members"][0]["group_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for question in [
        vec!["export", "--format", "json"],
        vec!["changes", "--json"],
        vec!["status", "--json"],
        vec![
            "group",
            group.as_str(),
            "--at",
            before_churn.as_str(),
            "--json",
        ],
    ] {
        let question: Vec<String> = question.iter().map(|s| (*s).to_owned()).collect();
        let from_sqlite = ask("m.db".to_owned(), question.clone()).await;
        let from_postgres = ask(db.url.clone(), question.clone()).await;
        assert!(
            from_sqlite == from_postgres,
            "{question:?} differs after the copy"
        );
    }
    // The copy syncs on incrementally from the copied checkpoint.
    emu.churn(802, 10);
    let inc = run(
        dir.path(),
        &db,
        &emu,
        &["sync", "--org-url", &url, "--json"],
    )
    .await;
    assert_eq!(inc.expect_ok().json()["kind"], "incremental");
    assert!(export(dir.path(), &db, &url).await == emu.export());
    // A destination that already holds an org is refused, unchanged.
    let again = oktasync(
        dir.path(),
        &["copy", "--from", "m.db", "--to", &db.url],
        &[],
    )
    .await;
    assert_eq!(again.code, Some(6), "{again:#?}");
    assert!(again.stderr.contains("already holds orgs"), "{again:#?}");
    // And back into a new SQLite file.
    oktasync(
        dir.path(),
        &["copy", "--from", &db.url, "--to", "back.db"],
        &[],
    )
    .await
    .expect_ok();
    let back = oktasync(
        dir.path(),
        &["export", "--db", "back.db", "--format", "json"],
        &[],
    )
    .await;
    assert!(back.expect_ok().json() == emu.export());
}
