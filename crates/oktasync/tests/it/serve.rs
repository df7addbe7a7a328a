//! `oktasync serve` and `oktasync token` through the binary: a token printed once and
//! accepted, then revoked; orgs from `[[orgs]]`; SIGTERM stops cleanly; on PostgreSQL, an
//! instance killed while it syncs an org lets another instance take the org over.

use crate::{emulator, oktasync};
use okta_emulator::{EmulatorConfig, OrgSize, RunningEmulator};
use oktasync_testkit::PgDatabase;
use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};

/// A config file serving `orgs` (name, emulator) with a 1 s poll, tokens in files.
fn write_config(dir: &Path, orgs: &[(&str, &RunningEmulator)]) -> std::path::PathBuf {
    let mut text = String::from("factors = \"all\"\n\n[serve]\nmetrics_public = false\n");
    for (name, emu) in orgs {
        let token_file = dir.join(format!("{name}.token"));
        std::fs::write(&token_file, emu.token()).unwrap();
        text.push_str(&format!(
            "\n[[orgs]]\nname = \"{name}\"\norg_url = \"{}\"\napi_token_file = \"{}\"\nsync_interval = \"1s\"\n",
            emu.base_url(),
            token_file.display()
        ));
    }
    let path = dir.join("oktasync.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A running `oktasync serve`, and the address it said it listens on.
struct Serving {
    child: tokio::process::Child,
    addr: String,
}

async fn serve(dir: &Path, db: &str) -> Serving {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_oktasync"))
        .current_dir(dir)
        .args(["serve", "--listen", "127.0.0.1:0", "--db", db])
        .env("HOME", dir)
        .env_remove("OKTASYNC_API_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stderr.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(rest) = line.split("on http://").nth(1) {
                return rest.split_whitespace().next().unwrap().to_owned();
            }
        }
        panic!("serve exited before listening");
    })
    .await
    .expect("serve says where it listens");
    // Keep draining the log so that the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Serving { child, addr }
}

async fn get(addr: &str, path: &str, token: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .get(format!("http://{addr}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn until_synced(addr: &str, org: &str, token: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let (status, body) = get(addr, &format!("/v1/orgs/{org}"), token).await;
        if status == 200 && body["last_success_at"].is_string() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{org} was never synced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_is_printed_once_accepted_and_revoked_and_sigterm_stops_cleanly() {
    let emu = emulator(91, OrgSize::Tiny).await;
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &[("acme", &emu)]);

    let created = oktasync(
        dir.path(),
        &[
            "token", "create", "--name", "rbac", "--scope", "read", "--db", "m.db",
        ],
        &[],
    )
    .await;
    created.expect_ok();
    let token = created.stdout.lines().last().unwrap().to_owned();
    assert!(token.starts_with("oks_"), "{created:?}");
    assert_eq!(
        created.stdout,
        format!("{token}\n"),
        "the token alone on stdout"
    );
    let again = oktasync(
        dir.path(),
        &[
            "token", "create", "--name", "rbac", "--scope", "read", "--db", "m.db",
        ],
        &[],
    )
    .await;
    again.expect_failure();
    assert!(again.stderr.contains("exists already"), "{again:?}");
    let listed = oktasync(
        dir.path(),
        &["token", "list", "--json", "--db", "m.db"],
        &[],
    )
    .await;
    listed.expect_ok();
    assert_eq!(listed.json()[0]["name"], "rbac");
    assert!(
        !listed.stdout.contains(&token[4..]),
        "the token is never shown again"
    );
    // Only the hash is in the mirror.
    let file = std::fs::read(dir.path().join("m.db")).unwrap();
    assert!(!file.windows(token.len()).any(|w| w == token.as_bytes()));

    let mut server = serve(dir.path(), "m.db").await;
    until_synced(&server.addr, "acme", &token).await;
    let (status, users) = get(&server.addr, "/v1/orgs/acme/users?page_size=1000", &token).await;
    assert_eq!(status, 200);
    assert_eq!(
        users["items"].as_array().unwrap().len(),
        emu.export()["users"].as_array().unwrap().len()
    );
    // metrics_public = false: /metrics wants a token.
    let anonymous = reqwest::get(format!("http://{}/metrics", server.addr))
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    assert_eq!(get(&server.addr, "/metrics", &token).await.0, 200);

    oktasync(
        dir.path(),
        &["token", "revoke", "rbac", "--db", "m.db"],
        &[],
    )
    .await
    .expect_ok();
    // The server reuses a token check for a second (RECENT_FOR): the revoked token stops
    // working within that, not at some later restart.
    let revoked = Instant::now();
    while get(&server.addr, "/v1/orgs", &token).await.0 != 401 {
        assert!(
            revoked.elapsed() < Duration::from_secs(5),
            "a revoked token still works {:?} later",
            revoked.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // SIGTERM: a clean stop, soon, with no run left running.
    let pid = server.child.id().unwrap();
    std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    let status = tokio::time::timeout(Duration::from_secs(30), server.child.wait())
        .await
        .expect("serve stops within 30 s of SIGTERM")
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let runs = oktasync(dir.path(), &["status", "--json", "--db", "m.db"], &[]).await;
    runs.expect_ok();
    assert!(!runs.stdout.contains("\"running\""), "{}", runs.stdout);
}

/// The pid holding the sync lease of any org, if one does.
async fn lease_holder(db: &PgDatabase) -> Option<i64> {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&db.url).await.ok()?;
    let pid: Option<i64> = sqlx::query_scalar("SELECT pid FROM leases WHERE purpose = 'sync'")
        .fetch_optional(&mut conn)
        .await
        .ok()
        .flatten();
    let _ = conn.close().await;
    pid
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_killed_mid_run_hands_its_org_to_another_within_a_minute() {
    let Some(db) = PgDatabase::create("cli_serve_takeover").await else {
        return;
    };
    // Latency stretches each run, so that the kill lands inside one.
    let emu = okta_emulator::start(EmulatorConfig {
        seed: 92,
        size: OrgSize::Tiny,
        latency_ms: 40,
        ..EmulatorConfig::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    write_config(dir.path(), &[("acme", &emu)]);
    let token = oktasync(
        dir.path(),
        &[
            "token", "create", "--name", "t", "--scope", "read", "--db", &db.url,
        ],
        &[],
    )
    .await;
    let token = token.expect_ok().stdout.trim().to_owned();
    let mut a = serve(dir.path(), &db.url).await;
    let a_pid = i64::from(a.child.id().unwrap());
    until_synced(&a.addr, "acme", &token).await;
    let b = serve(dir.path(), &db.url).await;
    let b_pid = i64::from(b.child.id().unwrap());

    // Wait until A holds the org (it is inside a run), then kill it.
    emu.churn(1, 40);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "A never held the org");
        if lease_holder(&db).await == Some(a_pid) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    a.child.start_kill().unwrap(); // SIGKILL
    a.child.wait().await.unwrap();
    let killed_at = Instant::now();

    // B takes the org over and brings it up to date.
    emu.churn(2, 40);
    let target = emu.export();
    let deadline = killed_at + Duration::from_secs(60);
    loop {
        assert!(
            Instant::now() < deadline,
            "B did not take the org over within 60 s"
        );
        let out = oktasync(
            dir.path(),
            &[
                "export", "--db", &db.url, "--org", "acme", "--format", "json",
            ],
            &[],
        )
        .await;
        if out.ok() && out.json() == target {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    eprintln!(
        "taken over and exact {:.1} s after the kill",
        killed_at.elapsed().as_secs_f64()
    );
    let holder = lease_holder(&db).await;
    assert!(holder.is_none() || holder == Some(b_pid), "{holder:?}");
    // A run A was killed in (if the kill came after it was recorded, not during an empty
    // poll of the log) is no longer shown as running.
    let status = oktasync(
        dir.path(),
        &["status", "--json", "--db", &db.url, "--org", "acme"],
        &[],
    )
    .await;
    assert!(
        !status.expect_ok().stdout.contains("\"running\""),
        "{}",
        status.stdout
    );
    drop(b);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_change_feed_setting_is_refused_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            "[[webhooks]]\nurl = \"http://127.0.0.1:9/hook\"\nsecret = \"s\"\nentities = [\"members\"]\n",
            "unknown entity \"members\"",
        ),
        (
            "[[webhooks]]\nurl = \"http://127.0.0.1:9/hook\"\n",
            "give the signing secret",
        ),
        (
            "[nats]\nurl = \"http://127.0.0.1:4222\"\n",
            "must be nats://",
        ),
        ("[serve]\nlisten = \"everywhere\"\n", "is not an address"),
    ];
    for (config, said) in cases {
        std::fs::write(dir.path().join("oktasync.toml"), config).unwrap();
        let out = oktasync(dir.path(), &["serve", "--db", "m.db"], &[]).await;
        assert_eq!(out.code, Some(2), "{config}: {out:?}");
        assert!(out.stderr.contains(said), "{config}: {}", out.stderr);
        assert!(!dir.path().join("m.db").exists(), "nothing was created");
    }
}
