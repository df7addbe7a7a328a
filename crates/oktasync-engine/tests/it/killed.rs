//! A sync process killed with SIGKILL at any point leaves the previous mirror readable and
//! intact; the next run marks it interrupted and ends exact.
//!
//! The test binary runs itself as the child (`killed::child_sync`, ignored unless asked for,
//! and a no-op without its environment variables), so the kill hits a real, separate process.

use crate::support::{
    Mirror, assert_exact, client, emulator, served_requests, set_latency, sync, truth_options,
};
use okta_api::{ClientConfig, Credentials, OktaClient, OrgUrl, SecretString};
use okta_emulator::OrgSize;
use oktasync_engine::{NoProgress, full_sync};
use oktasync_store::{MirrorReader, SqliteStore};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

const URL_VAR: &str = "OKTASYNC_KILL_TEST_URL";
const TOKEN_VAR: &str = "OKTASYNC_KILL_TEST_TOKEN";
const DB_VAR: &str = "OKTASYNC_KILL_TEST_DB";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the child half of killed::a_killed_sync_leaves_the_previous_mirror_intact"]
async fn child_sync() {
    let (Ok(url), Ok(token), Ok(db)) = (
        std::env::var(URL_VAR),
        std::env::var(TOKEN_VAR),
        std::env::var(DB_VAR),
    ) else {
        return;
    };
    let client = OktaClient::new(
        OrgUrl::parse(&url).unwrap(),
        Credentials::ApiToken(SecretString::from(token)),
        ClientConfig::default(),
    )
    .unwrap();
    let store = SqliteStore::open(db).await.unwrap();
    full_sync(&client, &store, &truth_options(), Arc::new(NoProgress))
        .await
        .unwrap();
}

/// Added latency per request while a child syncs (± 50%): a full sync of the small org is
/// about 1,200 requests at 16 in flight, so it lasts well over a second whatever the machine,
/// and the kills below land inside it.
const KILL_LATENCY_MS: u64 = 30;

/// Where the kills land: after this share of the requests one full sync of the org makes,
/// as the emulator counts them. The first kills as soon as the run is recorded; the last
/// leaves a quarter of the requests (about 300, at least 0.25 s) and the commit to come.
const KILL_POINTS: [f64; 5] = [0.0, 0.2, 0.4, 0.6, 0.75];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_sync_leaves_the_previous_mirror_intact() {
    let emu = emulator(8, OrgSize::Small).await;
    let client = client(&emu);
    let mirror = Mirror::new().await;
    sync(&client, &mirror.store).await;
    let org = mirror.org(&client).await;
    emu.churn(8, 300);
    let previous = mirror.store.export_json(org).await.unwrap();

    // What one full sync of the churned org costs, by the emulator's count: read it once
    // into a scratch mirror (the kills below never change the org).
    let scratch = Mirror::new().await;
    let before = served_requests(&emu);
    sync(&client, &scratch.store).await;
    let run_requests = served_requests(&emu) - before;
    assert!(
        run_requests > 1_000,
        "a full sync spans many requests: {run_requests}"
    );

    set_latency(&emu, KILL_LATENCY_MS);
    let mut killed = Vec::new();
    for share in KILL_POINTS {
        let newest = mirror.store.recent_runs(org, 1).await.unwrap()[0].run_id;
        let served_before = served_requests(&emu);
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "killed::child_sync",
                "--exact",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(URL_VAR, emu.base_url())
            .env(TOKEN_VAR, emu.token())
            .env(DB_VAR, mirror.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait for the child's run to be recorded as running...
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let run_id = loop {
            assert!(
                tokio::time::Instant::now() < deadline,
                "kill at {share}: the child never started its run"
            );
            if let Some(status) = child.try_wait().unwrap() {
                panic!("kill at {share}: the child ended ({status}) before its run was seen");
            }
            let last = &mirror.store.recent_runs(org, 1).await.unwrap()[0];
            if last.run_id > newest && last.outcome == "running" {
                break last.run_id;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        // ...then until the emulator has answered its share of the run's requests.
        let target = (run_requests as f64 * share) as u64;
        while served_requests(&emu) - served_before < target {
            assert!(
                tokio::time::Instant::now() < deadline,
                "kill at {share}: the child stopped making requests"
            );
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let served = served_requests(&emu) - served_before;
        child.kill().unwrap(); // SIGKILL
        let status = child.wait().unwrap();
        println!(
            "kill at {share}: run {run_id} killed after {served} of ~{run_requests} requests ({status})"
        );

        // The kill landed mid-run: the run never finished, so it is still `running`...
        let last = &mirror.store.recent_runs(org, 1).await.unwrap()[0];
        assert_eq!(
            (last.run_id, last.outcome.as_str()),
            (run_id, "running"),
            "kill at {share}: the run ended before the kill"
        );
        // ...and the mirror is whole and unchanged.
        assert_eq!(mirror.store.integrity_check().await.unwrap(), ["ok"]);
        assert_eq!(
            mirror.store.export_json(org).await.unwrap(),
            previous,
            "kill at {share}: a killed run changed the mirror"
        );
        killed.push(run_id);
    }

    // The next run marks the killed ones interrupted and ends exact.
    set_latency(&emu, 0);
    sync(&client, &mirror.store).await;
    assert_exact(&mirror.store.export_json(org).await.unwrap(), &emu.export());
    let runs = mirror.store.recent_runs(org, 10).await.unwrap();
    for run_id in &killed {
        let run = runs.iter().find(|r| r.run_id == *run_id).expect("run kept");
        assert_eq!(run.outcome, "interrupted", "{run:?}");
    }
    assert!(runs.iter().all(|r| r.outcome != "running"), "{runs:?}");
    emu.shutdown().await;
}
