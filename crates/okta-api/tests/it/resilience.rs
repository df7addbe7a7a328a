//! Recovery: injected faults, rate-limit 429s and concurrency 429s all end in complete,
//! correct results.

use crate::{ALL_STATUSES_FILTER, collect, emulator, export_ids, fast_config, ssws_client};
use futures::{StreamExt, TryStreamExt};
use okta_api::{ClientConfig, OktaClient, User};
use okta_emulator::{EmulatorConfig, OrgSize, RateLimitMode};
use std::collections::BTreeSet;

/// Every (group, member) pair, reading groups `parallel` at a time.
async fn all_memberships(client: &OktaClient, parallel: usize) -> BTreeSet<(String, String)> {
    let groups = collect(client.list_groups(None, false))
        .await
        .expect("groups");
    futures::stream::iter(groups)
        .map(|g| {
            let client = client.clone();
            async move {
                let users: Vec<User> = collect(client.list_group_users(&g.id)).await?;
                Ok::<_, okta_api::Error>(
                    users
                        .into_iter()
                        .map(|u| (g.id.clone(), u.id))
                        .collect::<Vec<_>>(),
                )
            }
        })
        .buffer_unordered(parallel)
        .try_concat()
        .await
        .expect("memberships")
        .into_iter()
        .collect()
}

fn export_memberships(export: &serde_json::Value) -> BTreeSet<(String, String)> {
    export["group_members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["group_id"].as_str().unwrap().to_string(),
                m["user_id"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn faults_are_retried_to_complete_results() {
    let emu = emulator(EmulatorConfig {
        size: OrgSize::Small,
        fault_rate: 0.2,
        fault_seed: 42,
        ..EmulatorConfig::default()
    })
    .await;
    // slow answers last 300 ms here, so the test stays short
    let faults = serde_json::json!({"slow_ms": 300});
    emu.gate().set_faults(faults).expect("fault settings");
    let client = ssws_client(&emu, fast_config());
    let export = emu.export();
    let users = collect(client.list_users(Some(ALL_STATUSES_FILTER)))
        .await
        .expect("users despite faults");
    assert_eq!(
        users.iter().map(|u| u.id.clone()).collect::<BTreeSet<_>>(),
        export_ids(&export, "users")
    );
    assert_eq!(
        all_memberships(&client, 8).await,
        export_memberships(&export)
    );
    let apps = collect(client.list_apps()).await.unwrap();
    assert_eq!(
        apps.iter().map(|a| a.id.clone()).collect::<BTreeSet<_>>(),
        export_ids(&export, "apps")
    );

    let m = client.metrics();
    let status = &emu.gate().stats()["status"];
    println!(
        "faults: {} requests, {} retries; emulator answers {status}",
        m.requests, m.retries
    );
    assert!(
        m.retries > 10,
        "faults happened and were retried: {}",
        m.retries
    );
    for kind in ["500", "502", "503", "504"] {
        assert!(status.get(kind).is_some(), "saw injected {kind}: {status}");
    }
}

/// Another integration with the same token: spends the whole window until Okta says 429.
async fn burn_window(base: &str, token: &str) -> usize {
    let http = reqwest::Client::new();
    for spent in 0.. {
        let status = http
            .get(format!("{base}/api/v1/users?limit=1"))
            .header("authorization", format!("SSWS {token}"))
            .send()
            .await
            .expect("burner request")
            .status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return spent;
        }
    }
    unreachable!()
}

#[tokio::test]
async fn rate_limit_429s_are_recovered() {
    // another integration with the same token (one principal share) empties the window twice:
    // before the client starts and while it lists; the client must wait for the resets
    let dir = tempfile::tempdir().unwrap();
    let limits = dir.path().join("limits.toml");
    std::fs::write(&limits, "[buckets]\nusers = 40\n").unwrap();
    let emu = emulator(EmulatorConfig {
        rate_limits: RateLimitMode::File(limits),
        time_scale: 30.0, // 2 s windows; 20 requests per window for the token
        ..EmulatorConfig::default()
    })
    .await;
    let client = ssws_client(&emu, fast_config());
    let expected: BTreeSet<String> = collect(client.list_users(None))
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    let (base, token) = (emu.base_url(), emu.token().to_string());
    let burnt = burn_window(&base, &token).await;
    let started = std::time::Instant::now();
    let listing = tokio::spawn({
        let client = client.clone();
        async move {
            let pages: Vec<_> = client
                .paginate::<User>("/api/v1/users?limit=1")
                .try_collect()
                .await?;
            Ok::<_, okta_api::Error>(
                pages
                    .into_iter()
                    .flat_map(|p| p.items)
                    .map(|u| u.id)
                    .collect::<BTreeSet<_>>(),
            )
        }
    });
    tokio::time::sleep(std::time::Duration::from_millis(2_500)).await;
    let burnt_again = burn_window(&base, &token).await;
    let listed = listing
        .await
        .unwrap()
        .expect("the listing completes despite 429s");
    assert_eq!(listed, expected);
    let m = client.metrics();
    let (_, throttled) = crate::bucket_stats(&emu, "users");
    println!(
        "429 recovery: burnt {burnt} + {burnt_again}, listed {} users in {:?}, client 429s {}, retries {}, \
         rate-limit wait {:.2}s, emulator throttled {throttled}",
        listed.len(),
        started.elapsed(),
        m.http_429,
        m.retries,
        m.rate_limit_wait
    );
    assert!(m.http_429 >= 1, "the client met a 429");
    assert!(m.http_429 <= 4, "and did not hammer the exhausted bucket");
}

#[tokio::test]
async fn concurrency_429s_lower_concurrency_and_complete() {
    let emu = emulator(EmulatorConfig {
        size: OrgSize::Small,
        concurrency_limit: 4,
        latency_ms: 40,
        ..EmulatorConfig::default()
    })
    .await;
    let config = ClientConfig {
        max_concurrency: 16,
        ..fast_config()
    };
    let client = ssws_client(&emu, config);
    let export = emu.export();
    assert_eq!(
        all_memberships(&client, 16).await,
        export_memberships(&export)
    );
    let m = client.metrics();
    println!(
        "concurrency: {} requests, {} concurrency 429s, cap now {}",
        m.requests,
        m.concurrency_429,
        client.current_concurrency()
    );
    assert!(m.concurrency_429 > 0, "the org's concurrency limit was hit");
    assert!(
        m.concurrency_429 < 40,
        "and the client backed off instead of hammering it"
    );
    assert!(
        client.current_concurrency() <= 8,
        "cap lowered: {}",
        client.current_concurrency()
    );
}
