//! The first hour, as a careless or hostile user lives it: foreign files, damaged mirrors,
//! concurrent first syncs, hostile profile strings, out-of-range input, filters that match
//! nothing, and the exit codes that tell these apart.

use crate::{Out, Synced, emulator, oktasync};
use okta_emulator::OrgSize;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// Every file in `dir` with its bytes.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let path = e.unwrap().path();
            let bytes = std::fs::read(&path).unwrap_or_default();
            (path, bytes)
        })
        .collect();
    files.sort();
    files
}

/// An SQLite database of another program, made as `sqlite3 app.sqlite "create table ..."`.
async fn foreign_database(path: &Path) {
    use sqlx::Connection;
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true);
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .unwrap();
    sqlx::query("CREATE TABLE invoices (id INT)")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("INSERT INTO invoices VALUES (1), (2)")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

#[track_caller]
fn refused_as_foreign(out: &Out, what: &str) {
    assert_eq!(out.code, Some(6), "{what}: a database failure: {out:#?}");
    let text = format!("{}{}", out.stdout, out.stderr);
    assert!(
        text.contains("is not an oktasync mirror"),
        "{what}: says so: {out:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_foreign_database_is_refused_by_every_command_and_left_byte_for_byte_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    foreign_database(&dir.path().join("app.sqlite")).await;
    let before = snapshot(dir.path());
    for args in [
        &["demo", "--db", "app.sqlite"][..],
        &["users", "--db", "app.sqlite"],
        &["status", "--db", "app.sqlite"],
        &["export", "--db", "app.sqlite", "--format", "json"],
        &["changes", "--db", "app.sqlite"],
    ] {
        let out = oktasync(dir.path(), args, &[]).await;
        refused_as_foreign(&out, &args.join(" "));
        assert_eq!(
            snapshot(dir.path()),
            before,
            "{} changed files",
            args.join(" ")
        );
    }
    // doctor reports it (and fails) without touching it; sync refuses to write into it.
    let emu = emulator(31, OrgSize::Tiny).await;
    let token = [("OKTASYNC_API_TOKEN", emu.token())];
    let out = oktasync(
        dir.path(),
        &["doctor", "--db", "app.sqlite", "--org-url", &emu.base_url()],
        &token,
    )
    .await;
    assert_eq!(out.code, Some(6), "{out:#?}");
    assert!(out.stdout.contains("is not an oktasync mirror"), "{out:#?}");
    let out = oktasync(
        dir.path(),
        &["sync", "--db", "app.sqlite", "--org-url", &emu.base_url()],
        &token,
    )
    .await;
    refused_as_foreign(&out, "sync");
    assert_eq!(
        snapshot(dir.path()),
        before,
        "doctor and sync changed files"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_replaces_only_a_mirror_it_made() {
    let s = Synced::tiny(32).await;
    let before = std::fs::read(&s.db).unwrap();
    // A mirror of an org (a loopback emulator, as an old demo's was) is not the demo's.
    let out = oktasync(s.dir.path(), &["demo", "--db", "m.db"], &[]).await;
    assert_eq!(out.code, Some(6), "{out:#?}");
    assert!(
        out.stderr
            .contains("is an oktasync mirror that `oktasync demo` did not make"),
        "{out:#?}"
    );
    assert_eq!(std::fs::read(&s.db).unwrap(), before);
    s.ask(&["status"]).await.expect_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_first_syncs_at_once_both_succeed() {
    let emu = emulator(33, OrgSize::Tiny).await;
    for round in 0..3 {
        let dir = tempfile::tempdir().unwrap();
        let url = emu.base_url();
        let run = || {
            let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_oktasync"));
            cmd.current_dir(dir.path())
                .args([
                    "sync",
                    "--org-url",
                    &url,
                    "--db",
                    "new.db",
                    "--factors",
                    "all",
                    // The second takes its turn once the first lets go of the sync lease.
                    "--wait",
                ])
                .env("OKTASYNC_API_TOKEN", emu.token())
                .env_remove("OKTASYNC_DB");
            cmd.output()
        };
        let (a, b) = tokio::join!(run(), run());
        for out in [a.unwrap(), b.unwrap()] {
            assert!(
                out.status.success(),
                "round {round}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let export = oktasync(
            dir.path(),
            &["export", "--db", "new.db", "--format", "json"],
            &[],
        )
        .await;
        let (mirror, source) = (export.expect_ok().json(), emu.export());
        assert!(
            mirror == source,
            "round {round}: the mirror differs from the org"
        );
    }
}

/// Overwrites the headers of two b-tree pages in the middle of the file.
fn damage(path: &Path) {
    use std::io::{Seek, SeekFrom, Write};
    let pages = std::fs::metadata(path).unwrap().len() / 4096;
    assert!(pages > 8, "{pages} pages");
    let mut f = std::fs::OpenOptions::new().write(true).open(path).unwrap();
    for page in [pages / 2, pages / 2 + 1] {
        f.seek(SeekFrom::Start(page * 4096)).unwrap();
        f.write_all(&[0xA5; 64]).unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_mirror_stops_sync_and_fails_doctor_with_the_way_out() {
    let s = Synced::tiny(34).await;
    damage(&s.db);
    let token = [("OKTASYNC_API_TOKEN", s.emu.token())];
    let url = s.emu.base_url();
    for args in [
        &["sync", "--db", "m.db", "--org-url", &url][..],
        &["sync", "--full", "--db", "m.db", "--org-url", &url],
    ] {
        let out = oktasync(s.dir.path(), args, &token).await;
        assert_eq!(out.code, Some(6), "{out:#?}");
        assert!(
            out.stderr.contains("is damaged") && out.stderr.contains("mv m.db m.db.damaged"),
            "{out:#?}"
        );
    }
    let out = oktasync(
        s.dir.path(),
        &["doctor", "--db", "m.db", "--org-url", &url],
        &token,
    )
    .await;
    assert_eq!(out.code, Some(6), "{out:#?}");
    assert!(out.stdout.contains("is damaged"), "{out:#?}");
    // The way out works: keep the file aside, sync anew.
    std::fs::rename(&s.db, s.dir.path().join("m.db.damaged")).unwrap();
    let out = oktasync(
        s.dir.path(),
        &["sync", "--db", "m.db", "--org-url", &url],
        &token,
    )
    .await;
    out.expect_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn times_out_of_range_are_usage_errors_not_panics() {
    let s = Synced::tiny(35).await;
    let user = s.emu.export()["users"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let group = s.emu.export()["groups"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for args in [
        vec!["changes", "--since", "300000y"],
        vec!["user", &user, "--at", "300000y"],
        vec!["group", &group, "--at", "99999999999d"],
        vec!["changes", "--since", "yesterday-ish"],
    ] {
        let out = s.ask(&args).await;
        assert_eq!(out.code, Some(2), "{args:?}: {out:#?}");
        assert!(!out.stderr.contains("panicked"), "{out:#?}");
        assert!(out.stderr.contains("error:"), "{out:#?}");
    }
}

/// Creates an ACTIVE user through the emulator's API.
async fn create_user(s: &Synced, login: &str, first: &str, last: &str, department: &str) -> String {
    let response = reqwest::Client::new()
        .post(format!("{}/api/v1/users?activate=true", s.emu.base_url()))
        .header("Authorization", format!("SSWS {}", s.emu.token()))
        .json(&json!({"profile": {
            "login": login, "email": login, "firstName": first, "lastName": last,
            "department": department,
        }}))
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{response:?}");
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

/// `sync` of the test's org into its mirror.
async fn resync(s: &Synced) {
    oktasync(
        s.dir.path(),
        &["sync", "--db", "m.db", "--org-url", &s.emu.base_url()],
        &[("OKTASYNC_API_TOKEN", s.emu.token())],
    )
    .await
    .expect_ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_profile_strings_reach_neither_the_terminal_nor_a_spreadsheet() {
    let s = Synced::tiny(36).await;
    let evil = "Evil\u{1b}]0;pwned\u{7}\u{1b}[2J";
    create_user(
        &s,
        "evil@example.com",
        "Eve",
        evil,
        "=HYPERLINK(\"http://x\",\"y\")",
    )
    .await;
    create_user(&s, "sum@example.com", "+SUM(1+1)", "@SUM(A1)", "-cmd").await;
    resync(&s).await;

    let table = s.ask(&["users", "--search", "evil"]).await;
    let table = table.expect_ok();
    assert!(
        !table.stdout.contains('\u{1b}') && !table.stdout.contains('\u{7}'),
        "{table:?}"
    );
    assert!(table.stdout.contains("\\u{1b}"), "shown escaped: {table:?}");
    let detail = s.ask(&["user", "evil@example.com"]).await;
    assert!(!detail.expect_ok().stdout.contains('\u{1b}'), "{detail:?}");
    let json = s.ask(&["users", "--search", "evil", "--json"]).await;
    assert_eq!(
        json.expect_ok().json()[0]["last_name"],
        evil,
        "JSON stays exact"
    );

    let csv = s
        .ask(&["users", "--search", "example.com", "--format", "csv"])
        .await;
    let csv = &csv.expect_ok().stdout;
    assert!(
        csv.starts_with("id,login,name,status,department,title\r\n"),
        "{csv}"
    );
    for bad in ["=HYPERLINK", "+SUM", "@SUM", "-cmd"] {
        assert!(
            !csv.lines().any(|l| l
                .split(',')
                .any(|c| c.trim_start_matches('"').starts_with(bad))),
            "{bad} reaches a cell start: {csv}"
        );
    }
    assert!(
        csv.contains("'-cmd") && csv.contains("\"'=HYPERLINK("),
        "{csv}"
    );

    s.ask(&["export", "--format", "csv", "--out", "out"])
        .await
        .expect_ok();
    let users_csv = std::fs::read_to_string(s.dir.path().join("out/users.csv")).unwrap();
    assert!(
        users_csv.contains("'-cmd") && !users_csv.contains(",-cmd"),
        "{users_csv}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(s.dir.path().join("out/users.csv"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "export files are owner-only");
    }
    s.ask(&["export", "--format", "csv", "--out", "raw", "--csv-raw"])
        .await
        .expect_ok();
    let raw = std::fs::read_to_string(s.dir.path().join("raw/users.csv")).unwrap();
    assert!(
        raw.contains(",-cmd"),
        "--csv-raw keeps cells as stored: {raw}"
    );
    // No temporary files are left behind.
    let names: Vec<String> = std::fs::read_dir(s.dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| n.ends_with(".csv")), "{names:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filters_that_match_nothing_say_why_and_text_filters_ignore_case() {
    let s = Synced::tiny(37).await;
    create_user(&s, "bjorn@example.com", "Björn", "Ångström", "Forskning").await;
    resync(&s).await;
    for (args, needle) in [
        (vec!["users", "--group", "nope"], "no group"),
        (vec!["users", "--status", "BOGUS"], "unknown user status"),
    ] {
        let out = s.ask(&args).await;
        assert_eq!(out.code, Some(2), "{out:#?}");
        assert!(out.stderr.contains(needle), "{out:#?}");
    }
    let found = s.ask(&["users", "--search", "BJÖRN", "--json"]).await;
    let found = found.expect_ok().json();
    assert_eq!(found.as_array().unwrap().len(), 1, "{found}");
    let found = s
        .ask(&["users", "--department", "forskning", "--json"])
        .await;
    assert_eq!(found.expect_ok().json().as_array().unwrap().len(), 1);

    let statuses = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|u| u["status"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = s.ask(&["users", "--json"]).await.expect_ok().json();
    let expected = statuses(&all)
        .iter()
        .filter(|st| *st == "SUSPENDED" || *st == "DEPROVISIONED")
        .count();
    assert!(
        expected > 0,
        "the tiny org has suspended or deprovisioned users"
    );
    let out = s
        .ask(&["users", "--status", "suspended,DEPROVISIONED", "--json"])
        .await;
    let listed = statuses(&out.expect_ok().json());
    assert_eq!(listed.len(), expected);
    assert!(
        listed
            .iter()
            .all(|st| st == "SUSPENDED" || st == "DEPROVISIONED")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_answers_show_user_status_and_active_leaves_the_inactive_out() {
    let s = Synced::tiny(38).await;
    let admins = s.ask(&["admins", "--json"]).await.expect_ok().json();
    let admins = admins.as_array().unwrap();
    assert!(!admins.is_empty());
    assert!(
        admins.iter().all(|a| a["user_status"].is_string()),
        "{admins:?}"
    );
    let active = s
        .ask(&["admins", "--active", "--json"])
        .await
        .expect_ok()
        .json();
    let active = active.as_array().unwrap();
    let expected = admins
        .iter()
        .filter(|a| a["user_status"] == "ACTIVE")
        .count();
    assert_eq!(active.len(), expected);
    let table = s.ask(&["admins"]).await;
    assert!(table.expect_ok().stdout.starts_with("USER  "), "{table:?}");
    assert!(
        table.stdout.lines().next().unwrap().contains("STATUS"),
        "{table:?}"
    );

    // The app with the most access rows, which in the tiny org includes inactive users.
    let apps = s.ask(&["apps", "--json"]).await.expect_ok().json();
    let app = apps
        .as_array()
        .unwrap()
        .iter()
        .max_by_key(|a| a["users"].as_i64())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let all = s.ask(&["app", &app, "--json"]).await.expect_ok().json();
    let access = all["access"].as_array().unwrap();
    assert!(!access.is_empty());
    let inactive = access
        .iter()
        .filter(|a| a["user_status"] != "ACTIVE")
        .count();
    let only = s
        .ask(&["app", &app, "--active", "--json"])
        .await
        .expect_ok()
        .json();
    assert_eq!(
        only["access"].as_array().unwrap().len(),
        access.len() - inactive
    );
    let csv = s.ask(&["app", &app, "--format", "csv"]).await;
    assert!(
        csv.expect_ok()
            .stdout
            .starts_with("user,login,status,via,group\r\n"),
        "{csv:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_of_a_group_as_csv_is_one_command() {
    let s = Synced::tiny(39).await;
    let export = s.emu.export();
    let group = export["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["type"] == "OKTA_GROUP")
        .unwrap();
    let id = group["id"].as_str().unwrap();
    let members = export["group_members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["group_id"] == id)
        .count();
    let out = s.ask(&["group", id, "--format", "csv"]).await;
    let lines: Vec<&str> = out.expect_ok().stdout.lines().collect();
    assert_eq!(lines[0], "id,login,name,status,department,title");
    assert_eq!(lines.len(), members + 1, "{lines:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_codes_name_the_kind_of_failure() {
    let emu = emulator(40, OrgSize::Tiny).await;
    let dir = tempfile::tempdir().unwrap();
    let url = emu.base_url();
    let sync = |env: Vec<(&'static str, String)>, url: String| {
        let dir = dir.path().to_path_buf();
        async move {
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            oktasync(&dir, &["sync", "--db", "m.db", "--org-url", &url], &env).await
        }
    };
    let no_credentials = sync(vec![], url.clone()).await;
    assert_eq!(no_credentials.code, Some(2), "{no_credentials:#?}");
    let bad_token = sync(vec![("OKTASYNC_API_TOKEN", "00wrong".into())], url.clone()).await;
    assert_eq!(bad_token.code, Some(3), "{bad_token:#?}");
    assert!(
        bad_token.stderr.contains("token") && !bad_token.stderr.contains("System Log cannot"),
        "the real cause, not the System Log: {bad_token:#?}"
    );
    // A port nobody listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed_url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let unreachable = sync(vec![("OKTASYNC_API_TOKEN", emu.token().into())], closed_url).await;
    assert_eq!(unreachable.code, Some(4), "{unreachable:#?}");
    let missing_db = oktasync(dir.path(), &["users", "--db", "nothing-here.db"], &[]).await;
    assert_eq!(missing_db.code, Some(6), "{missing_db:#?}");
    assert!(
        missing_db.stderr.contains("oktasync sync --db"),
        "{missing_db:#?}"
    );
    assert!(
        !dir.path().join("nothing-here.db").exists(),
        "a read creates no file"
    );
    let bad_flag = oktasync(dir.path(), &["init", "--json"], &[]).await;
    assert_eq!(bad_flag.code, Some(2), "{bad_flag:#?}");
    // A failure is told once.
    assert_eq!(
        bad_token
            .stderr
            .matches("invalid")
            .count()
            .max(bad_token.stderr.matches("Invalid").count()),
        1,
        "{bad_token:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completions_print_a_script_for_each_shell() {
    let dir = tempfile::tempdir().unwrap();
    for (shell, needle) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef oktasync"),
        ("fish", "complete -c oktasync"),
    ] {
        let out = oktasync(dir.path(), &["completions", shell], &[]).await;
        let out = out.expect_ok();
        assert!(
            out.stdout.contains(needle),
            "{shell}: {}",
            &out.stdout[..200.min(out.stdout.len())]
        );
        assert!(
            out.stdout.contains("reconcile-every"),
            "{shell} knows watch's flags"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_json_prints_one_object_per_applied_run() {
    let s = Synced::tiny(41).await;
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_oktasync"));
    cmd.current_dir(s.dir.path())
        .args([
            "watch",
            "--json",
            "--full",
            "--interval",
            "1s",
            "--org-url",
            &s.emu.base_url(),
            "--db",
            "m.db",
        ])
        .env("OKTASYNC_API_TOKEN", s.emu.token())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    let mut child = cmd.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = tokio::io::AsyncBufReadExt::lines(tokio::io::BufReader::new(stdout));
    // --full: the first run is a reconcile of the existing mirror.
    let first = next_json(&mut lines).await;
    assert_eq!(first["kind"], "reconcile", "{first}");
    assert_eq!(first["drift"], 0, "{first}");
    s.emu.churn(7, 5);
    let second = next_json(&mut lines).await;
    assert_eq!(second["kind"], "incremental", "{second}");
    assert!(second["events"].as_u64().unwrap() > 0, "{second}");
    child.kill().await.unwrap();
}

/// The next line of a watch's stdout as JSON, within 20 s.
async fn next_json(
    lines: &mut tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
) -> Value {
    let line = tokio::time::timeout(std::time::Duration::from_secs(20), lines.next_line())
        .await
        .expect("a run within 20 s")
        .unwrap()
        .expect("a line");
    serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_marks_the_run_interrupted_on_the_way_out() {
    let emu = okta_emulator::start(okta_emulator::EmulatorConfig {
        seed: 42,
        size: OrgSize::Small,
        latency_ms: 40,
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_oktasync"))
        .current_dir(dir.path())
        .args(["sync", "--org-url", &emu.base_url(), "--db", "m.db"])
        .env("OKTASYNC_API_TOKEN", emu.token())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    // Wait until the run is recorded as running, then interrupt it as Ctrl-C does.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the run never started"
        );
        let status = oktasync(dir.path(), &["status", "--db", "m.db", "--json"], &[]).await;
        if status.ok() && status.json()[0]["outcome"] == "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = child.wait_with_output().await.unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let status = oktasync(dir.path(), &["status", "--db", "m.db", "--json"], &[]).await;
    let run = &status.expect_ok().json()[0];
    assert_eq!(run["outcome"], "interrupted", "{run}");
    assert!(run["ended_at"].is_string(), "{run}");
}

/// A server that answers every listing with the same page under a fresh cursor, for ever
/// (the System Log with an empty page, as an idle org's).
async fn endless_server() -> String {
    use axum::extract::{OriginalUri, State};
    use axum::http::header;
    use axum::response::IntoResponse;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    let counter = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    async fn answer(
        State((origin, counter)): State<(String, std::sync::Arc<std::sync::atomic::AtomicU64>)>,
        OriginalUri(uri): OriginalUri,
    ) -> axum::response::Response {
        if uri.path() == "/api/v1/logs" {
            return ([(header::CONTENT_TYPE, "application/json")], "[]").into_response();
        }
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let next = format!("<{origin}{}?after=cursor{n}>; rel=\"next\"", uri.path());
        let page = json!([{"id": "00u1", "status": "ACTIVE", "profile": {"login": "a@example.com"}},
                          {"id": "00g1", "type": "OKTA_GROUP", "profile": {"name": "g"}}]);
        (
            [
                (header::CONTENT_TYPE, "application/json".to_owned()),
                (header::LINK, next),
            ],
            page.to_string(),
        )
            .into_response()
    }
    let app = axum::Router::new()
        .fallback(answer)
        .with_state((origin.clone(), counter));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    origin
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_paging_for_ever_is_stopped_with_an_error() {
    let url = endless_server().await;
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(60),
        oktasync(
            dir.path(),
            &["sync", "--org-url", &url, "--db", "m.db"],
            &[("OKTASYNC_API_TOKEN", "00anything")],
        ),
    )
    .await
    .expect("the sync ends instead of paging for ever");
    assert_eq!(out.code, Some(5), "an Okta (server) failure: {out:#?}");
    assert!(
        out.stderr.contains("/api/v1/") && out.stderr.contains("misbehav"),
        "names the endpoint and the problem: {out:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_orgs_in_one_mirror_are_picked_by_short_name() {
    let (alpha, beta) = (
        emulator(51, OrgSize::Tiny).await,
        emulator(52, OrgSize::Tiny).await,
    );
    let dir = tempfile::tempdir().unwrap();
    for (emu, name) in [(&alpha, "alpha"), (&beta, "beta")] {
        oktasync(
            dir.path(),
            &[
                "sync",
                "--org-url",
                &emu.base_url(),
                "--db",
                "m.db",
                "--factors",
                "all",
            ],
            &[
                ("OKTASYNC_API_TOKEN", emu.token()),
                ("OKTASYNC_ORG_NAME", name),
            ],
        )
        .await
        .expect_ok();
    }
    let orgs = oktasync(dir.path(), &["orgs", "--db", "m.db", "--json"], &[]).await;
    let orgs = orgs.expect_ok().json();
    let names: Vec<&str> = orgs
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["alpha", "beta"], "{orgs}");
    for (emu, name) in [(&alpha, "alpha"), (&beta, "beta")] {
        let export = oktasync(
            dir.path(),
            &["export", "--db", "m.db", "--org", name, "--format", "json"],
            &[],
        )
        .await;
        assert!(
            export.expect_ok().json() == emu.export(),
            "{name}'s mirror differs"
        );
    }
    // Without --org, a read must not guess: it names the orgs to pick from.
    let ambiguous = oktasync(dir.path(), &["users", "--db", "m.db"], &[]).await;
    assert_eq!(ambiguous.code, Some(2), "{ambiguous:#?}");
    assert!(
        ambiguous.stderr.contains("alpha (") && ambiguous.stderr.contains("beta ("),
        "{ambiguous:#?}"
    );
    // A sync by short name finds the org's URL in the mirror.
    beta.churn(9, 10);
    let inc = oktasync(
        dir.path(),
        &[
            "sync",
            "--org",
            "beta",
            "--db",
            "m.db",
            "--factors",
            "all",
            "--json",
        ],
        &[("OKTASYNC_API_TOKEN", beta.token())],
    )
    .await;
    assert_eq!(inc.expect_ok().json()["kind"], "incremental");
    let export = oktasync(
        dir.path(),
        &[
            "export", "--db", "m.db", "--org", "beta", "--format", "json",
        ],
        &[],
    )
    .await;
    assert!(
        export.expect_ok().json() == beta.export(),
        "beta after churn"
    );
    let unknown = oktasync(
        dir.path(),
        &["users", "--db", "m.db", "--org", "gamma"],
        &[],
    )
    .await;
    assert_eq!(unknown.code, Some(2), "{unknown:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_syncs_of_one_org_take_turns_through_the_lease() {
    // Latency makes the first sync last seconds, so the others meet it under way.
    let emu = okta_emulator::start(okta_emulator::EmulatorConfig {
        seed: 53,
        size: OrgSize::Small,
        latency_ms: 30,
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = emu.base_url();
    let sync = |extra: &[&str]| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_oktasync"));
        cmd.current_dir(dir.path())
            .args([
                "sync",
                "--org-url",
                &url,
                "--db",
                "m.db",
                "--factors",
                "all",
                "--json",
            ])
            .args(extra)
            .env("OKTASYNC_API_TOKEN", emu.token())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        cmd.spawn().unwrap()
    };
    let first = sync(&[]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        assert!(
            std::time::Instant::now() < deadline,
            "the first run never started"
        );
        let status = oktasync(dir.path(), &["status", "--db", "m.db", "--json"], &[]).await;
        if status.ok() && status.json()[0]["outcome"] == "running" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let refused = sync(&[]).wait_with_output().await.unwrap();
    let refused_err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1), "{refused_err}");
    assert!(refused_err.contains("is being synced by"), "{refused_err}");
    let waiting = sync(&["--wait"]);
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
    assert!(String::from_utf8_lossy(&waited.stderr).contains("waiting: "));
    let first: Value = serde_json::from_slice(&first.stdout).unwrap();
    let waited: Value = serde_json::from_slice(&waited.stdout).unwrap();
    assert_eq!(first["kind"], "full");
    assert_eq!(
        waited["kind"], "incremental",
        "it ran after the first, from its checkpoint"
    );
    let runs = oktasync(dir.path(), &["status", "--db", "m.db", "--json"], &[]).await;
    let runs = runs.expect_ok().json();
    assert_eq!(
        runs.as_array().unwrap().len(),
        2,
        "the refused sync recorded no run: {runs}"
    );
    let export = oktasync(
        dir.path(),
        &["export", "--db", "m.db", "--format", "json"],
        &[],
    )
    .await;
    assert!(export.expect_ok().json() == emu.export());
}
