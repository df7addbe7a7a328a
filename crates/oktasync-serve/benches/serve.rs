//! Figures for `oktasync serve` (not a test: it prints, it does not judge).
//!
//! `cargo bench -p oktasync-serve --bench serve -- [--size tiny|small|medium|large]
//!  [--clients 32] [--seconds 20] [--lag-samples 20] [--sync-interval 5] [--db PATH]`
//!
//! 1. API throughput and latency: the org synced into a SQLite mirror (rate limits off),
//!    served on 127.0.0.1; `--clients` concurrent clients for `--seconds` each on
//!    `GET /v1/orgs/{org}/users?page_size=100` (walking the pages) and on one user's detail.
//!    Prints requests/s, p50, p99.
//! 2. Change-feed lag: the server polls the System Log every `--sync-interval` seconds and
//!    delivers to a local webhook; one change is made in the emulator at a random moment,
//!    and the time until the webhook receives a batch is taken, `--lag-samples` times.

use okta_api::{ClientConfig, Credentials, OktaClient, OrgUrl, SecretString};
use okta_emulator::{EmulatorConfig, OrgSize, RateLimitMode};
use oktasync_engine::{NoProgress, SyncOptions, SystemClock};
use oktasync_serve::feed::{Signer, Sink, Webhook};
use oktasync_serve::{OrgSchedule, ServeOptions};
use oktasync_store::{ApiToken, ApiTokens, DbLocation, MirrorReader, TokenScope};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_owned())
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

async fn load(
    url_of: Arc<dyn Fn(u64) -> String + Send + Sync>,
    token: &str,
    clients: usize,
    seconds: u64,
) -> (f64, f64, f64, u64) {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(clients)
        .build()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let errors = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (http, token, url_of, errors) = (
            http.clone(),
            token.to_owned(),
            url_of.clone(),
            errors.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = c as u64;
            while Instant::now() < deadline {
                let started = Instant::now();
                match http.get(url_of(n)).bearer_auth(&token).send().await {
                    Ok(r) if r.status().is_success() => {
                        let _ = r.bytes().await;
                        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
                    }
                    _ => {
                        errors.fetch_add(1, Ordering::Relaxed);
                    }
                }
                n += clients as u64;
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort_by(|a, b| a.total_cmp(b));
    (
        all.len() as f64 / seconds as f64,
        percentile(&all, 0.5),
        percentile(&all, 0.99),
        errors.load(Ordering::Relaxed),
    )
}

#[tokio::main]
async fn main() {
    let size = match arg("--size", "large").as_str() {
        "tiny" => OrgSize::Tiny,
        "small" => OrgSize::Small,
        "medium" => OrgSize::Medium,
        _ => OrgSize::Large,
    };
    let clients: usize = arg("--clients", "32").parse().unwrap();
    let seconds: u64 = arg("--seconds", "20").parse().unwrap();
    let samples: usize = arg("--lag-samples", "20").parse().unwrap();
    let interval: u64 = arg("--sync-interval", "5").parse().unwrap();

    let emu = okta_emulator::start(EmulatorConfig {
        seed: 7,
        size,
        rate_limits: RateLimitMode::Off,
        ..Default::default()
    })
    .await
    .unwrap();
    let client = OktaClient::new(
        OrgUrl::parse(&emu.base_url()).unwrap(),
        Credentials::ApiToken(SecretString::from(emu.token().to_owned())),
        ClientConfig::default(),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // `--db PATH` keeps the mirror for a look afterwards (e.g. with sqlite3).
    let db = arg("--db", &dir.path().join("bench.db").to_string_lossy());
    let location = DbLocation::parse(&db).unwrap();
    let store = Arc::new(oktasync_store::open_writer(&location).await.unwrap());
    let started = Instant::now();
    let summary = oktasync_engine::full_sync(
        &client,
        store.as_ref(),
        &SyncOptions::default(),
        Arc::new(NoProgress),
    )
    .await
    .unwrap();
    println!(
        "synced {} users, {} groups in {:.1} s",
        summary.count(oktasync_engine::Resource::Users).unwrap_or(0),
        summary
            .count(oktasync_engine::Resource::Groups)
            .unwrap_or(0),
        started.elapsed().as_secs_f64()
    );
    let org = store
        .find_org(&client.org().origin())
        .await
        .unwrap()
        .unwrap();
    let (token, hash) = oktasync_serve::new_token().unwrap();
    store
        .create_token(
            &ApiToken {
                name: "bench".into(),
                scope: TokenScope::Sync,
                org: None,
                created_at: "2026-01-01T00:00:00.000Z".into(),
                last_used_at: None,
            },
            &hash,
        )
        .await
        .unwrap();

    // A webhook receiver noting when each batch arrives.
    let arrivals = Arc::new(std::sync::Mutex::new(Vec::<Instant>::new()));
    let received = arrivals.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let received = received.clone();
            async move {
                received.lock().unwrap().push(Instant::now());
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    let hook_url = oktasync_testkit::serve_local(app).await + "/hook";
    let sink: Arc<dyn Sink> = Arc::new(Webhook {
        name: "bench".into(),
        url: hook_url,
        signer: Signer::from_secret("bench-secret"),
        orgs: Vec::new(),
        entities: Default::default(),
        http: reqwest::Client::new(),
        clock: Arc::new(SystemClock),
    });

    let listener = oktasync_serve::bind("127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let options = ServeOptions {
        orgs: vec![OrgSchedule {
            name: "bench".into(),
            client: client.clone(),
            options: SyncOptions::default(),
            sync_interval: Duration::from_secs(interval),
            reconcile_every: None,
            roles: Vec::new(),
            after_changes: Vec::new(),
            after_runs: Vec::new(),
        }],
        metrics_public: true,
        docs_public: false,
        sinks: vec![sink],
        clock: Arc::new(SystemClock),
        grant_policies: Default::default(),
        grant_principal: Default::default(),
    };
    let served = tokio::spawn(oktasync_serve::serve(
        store.clone(),
        listener,
        options,
        async move {
            let _ = stopped.await;
        },
    ));

    // 1. Throughput and latency.
    let user_ids: Vec<String> = store
        .users_page(org, &Default::default(), None, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    let pages: Vec<Option<String>> = {
        // Page tokens of the first pages, so that clients walk different pages.
        let mut tokens = vec![None];
        let http = reqwest::Client::new();
        let mut next: Option<String> = None;
        for _ in 0..50 {
            let mut url = format!("http://{addr}/v1/orgs/bench/users?page_size=100");
            if let Some(t) = &next {
                url.push_str(&format!("&page_token={t}"));
            }
            let body: serde_json::Value = http
                .get(url)
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            next = body["next_page_token"].as_str().map(str::to_owned);
            match &next {
                Some(t) => tokens.push(Some(t.clone())),
                None => break,
            }
        }
        tokens
    };
    let pages = Arc::new(pages);
    let list_url: Arc<dyn Fn(u64) -> String + Send + Sync> = Arc::new(move |n| {
        let mut url = format!("http://{addr}/v1/orgs/bench/users?page_size=100");
        if let Some(t) = &pages[(n as usize) % pages.len()] {
            url.push_str(&format!("&page_token={t}"));
        }
        url
    });
    let (rps, p50, p99, errors) = load(list_url, &token, clients, seconds).await;
    println!(
        "GET /v1/orgs/{{org}}/users?page_size=100: {clients} clients, {seconds} s: {rps:.0} req/s, p50 {p50:.1} ms, p99 {p99:.1} ms, errors {errors}"
    );
    let ids = Arc::new(user_ids);
    let user_url: Arc<dyn Fn(u64) -> String + Send + Sync> = Arc::new(move |n| {
        format!(
            "http://{addr}/v1/orgs/bench/users/{}",
            ids[(n as usize) % ids.len()]
        )
    });
    let (rps, p50, p99, errors) = load(user_url, &token, clients, seconds).await;
    println!(
        "GET /v1/orgs/{{org}}/users/{{id}}: {clients} clients, {seconds} s: {rps:.0} req/s, p50 {p50:.1} ms, p99 {p99:.1} ms, errors {errors}"
    );

    // 2. Change-feed lag.
    // Let the first scheduled poll (which finds the checkpoint) pass.
    tokio::time::sleep(Duration::from_secs(interval + 2)).await;
    let mut lags = Vec::new();
    for i in 0..samples {
        // A random moment within the poll interval.
        let jitter = Duration::from_millis((i as u64 * 7919) % (interval * 1000));
        tokio::time::sleep(jitter).await;
        let before = arrivals.lock().unwrap().len();
        let changed = Instant::now();
        emu.churn(1000 + i as u64, 1);
        let deadline = changed + Duration::from_secs(interval * 6 + 30);
        loop {
            if let Some(at) = arrivals.lock().unwrap().get(before).copied() {
                lags.push(at.duration_since(changed).as_secs_f64());
                break;
            }
            if Instant::now() > deadline {
                println!(
                    "sample {i}: no delivery within {} s",
                    (deadline - changed).as_secs()
                );
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    lags.sort_by(|a, b| a.total_cmp(b));
    println!(
        "change-feed lag (emulator change -> webhook), sync_interval {interval} s, {} samples: p50 {:.2} s, p99 {:.2} s, max {:.2} s",
        lags.len(),
        percentile(&lags, 0.5),
        percentile(&lags, 0.99),
        lags.last().copied().unwrap_or(f64::NAN)
    );
    let _ = stop.send(());
    let _ = served.await;
}
