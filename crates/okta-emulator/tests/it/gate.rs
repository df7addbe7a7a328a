//! The gate over real HTTP: headers, SSWS, rate limits, concurrency, faults, stats.
//!
//! Most tests run the real emulator (`okta_emulator::start`, tiny org). Two use a bare
//! router behind the real middleware, whose `whoami` route echoes the `Principal` the gate
//! inserted, something the emulator's own routes never show.

use axum::extract::Extension;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Duration, Utc};
use okta_emulator::gate::{Gate, middleware, oauth_router};
use okta_emulator::principal::Principal;
use okta_emulator::{EmulatorConfig, ManualClock, OktaError, RateLimitMode, RunningEmulator};
use serde_json::{Value, json};
use std::sync::Arc;

pub const TOKEN: &str = "00test-token-one";
pub const TOKEN_2: &str = "00test-token-two";

/// An emulator (or a bare gate-wrapped router) on 127.0.0.1:0.
pub struct TestServer {
    pub base: String,
    pub gate: Arc<Gate>,
    pub http: reqwest::Client,
    _emulator: Option<RunningEmulator>,
}

fn with_test_tokens(mut config: EmulatorConfig) -> EmulatorConfig {
    if config.tokens == EmulatorConfig::default().tokens {
        config.tokens = vec![TOKEN.into(), TOKEN_2.into()];
    }
    config
}

impl TestServer {
    /// The real emulator with a tiny org.
    pub async fn start(config: EmulatorConfig) -> Self {
        let emulator = okta_emulator::start(with_test_tokens(config))
            .await
            .expect("emulator starts");
        Self {
            base: emulator.base_url(),
            gate: emulator.gate().clone(),
            http: reqwest::Client::new(),
            _emulator: Some(emulator),
        }
    }

    /// The gate around `GET /api/v1/users` and `GET /__emulator/whoami`, which echo the
    /// principal, plus the token endpoint and a 404 fallback.
    pub async fn bare(config: EmulatorConfig) -> Self {
        let gate = Gate::new(&with_test_tokens(config)).expect("gate config is valid");
        let whoami = |Extension(p): Extension<Principal>| async move {
            Json(match p {
                Principal::ApiToken {
                    token_index,
                    super_admin: true,
                } => json!({"token_index": token_index}),
                Principal::ApiToken {
                    token_index,
                    super_admin: false,
                } => json!({"token_index": token_index, "super_admin": false}),
                Principal::OAuthClient {
                    client_id,
                    scopes,
                    super_admin: true,
                } => json!({"client_id": client_id, "scopes": scopes}),
                Principal::OAuthClient {
                    client_id,
                    scopes,
                    super_admin: false,
                } => json!({"client_id": client_id, "scopes": scopes, "super_admin": false}),
            })
        };
        let app = Router::new()
            .route("/api/v1/users", get(whoami))
            .route("/__emulator/whoami", get(whoami))
            .merge(oauth_router(gate.clone()))
            .fallback(|uri: axum::http::Uri| async move { OktaError::no_route(uri.path()) })
            .layer(axum::middleware::from_fn_with_state(
                gate.clone(),
                middleware,
            ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self {
            base,
            gate,
            http: reqwest::Client::new(),
            _emulator: None,
        }
    }

    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("{}{path}", self.base))
    }

    pub async fn ssws_get(&self, path: &str) -> reqwest::Response {
        self.get(path)
            .header("Authorization", format!("SSWS {TOKEN}"))
            .send()
            .await
            .unwrap()
    }

    pub async fn stats(&self) -> Value {
        self.ssws_get("/__emulator/stats")
            .await
            .json()
            .await
            .unwrap()
    }
}

pub fn header<'a>(resp: &'a reqwest::Response, name: &str) -> &'a str {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_else(|| panic!("no {name} header"))
}

pub fn header_i64(resp: &reqwest::Response, name: &str) -> i64 {
    header(resp, name)
        .parse()
        .unwrap_or_else(|_| panic!("{name} is not a number"))
}

/// `Date`, a 32-hex `X-Okta-Request-Id`, and numeric `X-Rate-Limit-*`: on every answer.
pub fn assert_okta_headers(resp: &reqwest::Response) {
    let id = header(resp, "x-okta-request-id");
    assert!(
        id.len() == 32 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "request id {id:?}"
    );
    let date = header(resp, "date");
    assert!(DateTime::parse_from_rfc2822(date).is_ok(), "date {date:?}");
    for name in [
        "x-rate-limit-limit",
        "x-rate-limit-remaining",
        "x-rate-limit-reset",
    ] {
        assert_eq!(
            resp.headers().get_all(name).iter().count(),
            1,
            "{name} once"
        );
        header_i64(resp, name);
    }
}

fn start_time() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-01T12:00:20Z")
        .unwrap()
        .with_timezone(&Utc)
}

#[tokio::test]
async fn ssws_with_and_without_space_and_bad_tokens() {
    let server = TestServer::bare(EmulatorConfig {
        non_super_admin_tokens: vec!["00group-admin-token".into()],
        ..EmulatorConfig::default()
    })
    .await;
    for (auth, expected) in [
        (format!("SSWS {TOKEN}"), json!({"token_index": 0})),
        (format!("SSWS{TOKEN}"), json!({"token_index": 0})),
        (format!("SSWS {TOKEN_2}"), json!({"token_index": 1})),
        // A token configured as not a Super Admin's comes after the Super Admin ones.
        (
            "SSWS 00group-admin-token".to_string(),
            json!({"token_index": 2, "super_admin": false}),
        ),
    ] {
        let resp = server
            .get("/api/v1/users")
            .header("Authorization", auth)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        assert_okta_headers(&resp);
        assert_eq!(resp.json::<Value>().await.unwrap(), expected);
    }
    let bad = [
        Some("SSWS 00wrong".to_string()),
        Some(format!("SSWS {TOKEN}x")),
        Some("SSWS".into()),
        Some(format!("Basic {TOKEN}")),
        None,
    ];
    for auth in bad {
        let mut req = server.get("/api/v1/users");
        if let Some(auth) = &auth {
            req = req.header("Authorization", auth);
        }
        let resp = req.send().await.unwrap();
        assert_eq!(resp.status(), 401, "{auth:?}");
        assert_okta_headers(&resp);
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["errorCode"], "E0000011");
        assert_eq!(body["errorSummary"], "Invalid token provided");
    }
    // Control endpoints need a credential too, and the 404 fallback is behind the gate.
    assert_eq!(
        server
            .get("/__emulator/whoami")
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let resp = server.ssws_get("/__emulator/whoami").await;
    assert_eq!(resp.status(), 200);
    assert_okta_headers(&resp);
    assert_eq!(
        server.get("/api/v1/nothing").send().await.unwrap().status(),
        401
    );
    let resp = server.ssws_get("/api/v1/nothing").await;
    assert_eq!(resp.status(), 404);
    assert_okta_headers(&resp);
}

#[tokio::test]
async fn rate_limits_share_headers_429_and_window_reset() {
    let dir = tempfile::tempdir().unwrap();
    let limits = dir.path().join("limits.toml");
    std::fs::write(&limits, "[buckets]\nusers = 10\ngroups = 4\n").unwrap();
    let clock = ManualClock::new(start_time());
    let server = TestServer::start(EmulatorConfig {
        rate_limits: RateLimitMode::File(limits),
        time_scale: 6.0, // 10 s windows
        clock: Arc::new(clock.clone()),
        ..Default::default()
    })
    .await;
    let t0 = start_time().timestamp();
    // users: 10 per window for the org, 5 for one token (the default 50% share)
    for i in 0..5 {
        let resp = server.ssws_get("/api/v1/users").await;
        assert_eq!(resp.status(), 200, "request {i}");
        assert_okta_headers(&resp);
        assert_eq!(header_i64(&resp, "x-rate-limit-limit"), 5);
        assert_eq!(header_i64(&resp, "x-rate-limit-remaining"), 4 - i);
        assert_eq!(header_i64(&resp, "x-rate-limit-reset"), t0 + 10);
        clock.advance(Duration::seconds(1));
    }
    let resp = server.ssws_get("/api/v1/users").await;
    assert_eq!(resp.status(), 429);
    assert_okta_headers(&resp);
    assert_eq!(header_i64(&resp, "x-rate-limit-limit"), 5);
    assert_eq!(header_i64(&resp, "x-rate-limit-remaining"), 0);
    assert_eq!(header_i64(&resp, "x-rate-limit-reset"), t0 + 10);
    // The SDKs wait Reset - Date + 1 s: Date must come from the same clock.
    let date = DateTime::parse_from_rfc2822(header(&resp, "date"))
        .unwrap()
        .timestamp();
    assert_eq!(date, t0 + 5);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["errorCode"], "E0000047");
    assert_eq!(
        body["errorSummary"],
        "API call exceeded rate limit due to too many requests."
    );
    // another token has its own share; another bucket is not touched
    let resp = server
        .get("/api/v1/users")
        .header("Authorization", format!("SSWS {TOKEN_2}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        (
            resp.status().as_u16(),
            header_i64(&resp, "x-rate-limit-remaining")
        ),
        (200, 4)
    );
    let resp = server.ssws_get("/api/v1/groups").await;
    assert_eq!(
        (
            resp.status().as_u16(),
            header_i64(&resp, "x-rate-limit-limit")
        ),
        (200, 2)
    );
    // GET /users/{id} is its own bucket with a Workforce default of 2,000 (a 404 here)
    let resp = server.ssws_get("/api/v1/users/00u1").await;
    assert_eq!(header_i64(&resp, "x-rate-limit-limit"), 1000);
    // errors carry the headers too, and a 404 counts in "other"
    let resp = server.ssws_get("/api/v1/unknown").await;
    assert_eq!(
        (
            resp.status().as_u16(),
            header_i64(&resp, "x-rate-limit-limit")
        ),
        (404, 600)
    );
    // the window ends 10 s after it opened, not at a wall-clock boundary
    clock.advance(Duration::seconds(4));
    assert_eq!(server.ssws_get("/api/v1/users").await.status(), 429);
    clock.advance(Duration::seconds(1));
    let resp = server.ssws_get("/api/v1/users").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header_i64(&resp, "x-rate-limit-remaining"), 4);
    assert_eq!(header_i64(&resp, "x-rate-limit-reset"), t0 + 20);

    let stats = server.stats().await;
    assert_eq!(
        stats["buckets"]["users"],
        json!({"requests": 9, "throttled": 2, "limit": 5, "window_s": 10.0})
    );
    assert_eq!(stats["buckets"]["groups"]["requests"], 1);
    assert_eq!(
        stats["buckets"]["logs"],
        json!({"requests": 0, "throttled": 0, "limit": 60, "window_s": 10.0})
    );
    assert_eq!(stats["status"]["429"], 2);
    assert_eq!(stats["status"]["404"], 2);
    assert_eq!(stats["status"]["200"], 8);
}

#[tokio::test]
async fn rate_limits_off_still_send_generous_headers() {
    let server = TestServer::start(EmulatorConfig::default()).await;
    for _ in 0..50 {
        let resp = server.ssws_get("/api/v1/logs").await;
        assert_eq!(resp.status(), 200);
        assert!(header_i64(&resp, "x-rate-limit-limit") >= 1_000_000);
        assert!(header_i64(&resp, "x-rate-limit-remaining") > 0);
    }
    // the control endpoint serves exactly what the gate counts
    let over_http = server.stats().await;
    assert_eq!(over_http, server.gate.stats());
    assert_eq!(over_http["buckets"]["logs"]["requests"], 50);
    assert_eq!(over_http["status"]["200"], 50);
}

#[tokio::test]
async fn workforce_windows_last_a_minute_over_the_time_scale() {
    let clock = ManualClock::new(start_time());
    let server = TestServer::start(EmulatorConfig {
        rate_limits: RateLimitMode::Workforce,
        time_scale: 60.0, // 1 s windows
        clock: Arc::new(clock.clone()),
        ..Default::default()
    })
    .await;
    let t0 = start_time().timestamp();
    // logs: 120 per minute, 60 for one token, in a window of 1 s from the first request
    for i in 0..60 {
        let resp = server.ssws_get("/api/v1/logs").await;
        assert_eq!(resp.status(), 200, "request {i}");
        assert_eq!(header_i64(&resp, "x-rate-limit-limit"), 60);
        assert_eq!(header_i64(&resp, "x-rate-limit-remaining"), 59 - i);
        assert_eq!(header_i64(&resp, "x-rate-limit-reset"), t0 + 1);
    }
    clock.advance(Duration::milliseconds(999));
    let resp = server.ssws_get("/api/v1/logs").await;
    assert_eq!(resp.status(), 429, "the window still runs");
    assert_eq!(header_i64(&resp, "x-rate-limit-reset"), t0 + 1);
    // a second after the first request the window is over
    clock.advance(Duration::milliseconds(1));
    let resp = server.ssws_get("/api/v1/logs").await;
    assert_eq!(resp.status(), 200);
    assert_eq!(header_i64(&resp, "x-rate-limit-limit"), 60);
    assert_eq!(header_i64(&resp, "x-rate-limit-remaining"), 59);
    assert_eq!(header_i64(&resp, "x-rate-limit-reset"), t0 + 2);
    let stats = server.stats().await;
    assert_eq!(stats["buckets"]["logs"]["window_s"], 1.0);
    assert_eq!(stats["buckets"]["logs"]["throttled"], 1);
}

/// Added latency in the concurrency test: requests stay in flight that long (± 50%), so the
/// five requests, sent at once, are all in flight together even on a loaded machine (the
/// last must arrive within a second of the first).
const LATENCY_MS: u64 = 2_000;

#[tokio::test]
async fn concurrency_limit_rejects_the_excess_with_zero_headers() {
    let clock = ManualClock::new(start_time());
    let server = Arc::new(
        TestServer::start(EmulatorConfig {
            concurrency_limit: 2,
            latency_ms: LATENCY_MS,
            rate_limits: RateLimitMode::Workforce,
            clock: Arc::new(clock.clone()),
            ..Default::default()
        })
        .await,
    );
    let requests = (0..5).map(|_| {
        let server = server.clone();
        tokio::spawn(async move {
            let resp = server.ssws_get("/api/v1/users").await;
            let status = resp.status().as_u16();
            assert_okta_headers(&resp);
            let limit = header_i64(&resp, "x-rate-limit-limit");
            let remaining = header_i64(&resp, "x-rate-limit-remaining");
            let reset = header_i64(&resp, "x-rate-limit-reset");
            let body: Value = resp.json().await.unwrap();
            (status, limit, remaining, reset, body)
        })
    });
    let results: Vec<_> = futures::future::join_all(requests)
        .await
        .into_iter()
        .map(Result::unwrap)
        .collect();
    // Two in flight, the other three refused at once rather than queued (which would have
    // answered them 200 later).
    let ok: Vec<_> = results.iter().filter(|r| r.0 == 200).collect();
    let throttled: Vec<_> = results.iter().filter(|r| r.0 == 429).collect();
    let seen: Vec<_> = results.iter().map(|r| (r.0, r.1, r.2, r.3)).collect();
    assert_eq!(
        (ok.len(), throttled.len()),
        (2, 3),
        "(status, limit, remaining, reset): {seen:?}"
    );
    for (_, limit, remaining, reset, body) in throttled {
        assert_eq!((*limit, *remaining), (0, 0));
        assert_eq!(
            *reset,
            start_time().timestamp() + okta_emulator::gate::CONCURRENCY_RESET_ESTIMATE_S,
            "reset is an estimate a second ahead"
        );
        assert_eq!(body["errorCode"], "E0000047");
    }
    for (_, limit, ..) in ok {
        assert_eq!(
            *limit, 300,
            "below the limit the headers report the per-minute bucket"
        );
    }
    // the slots are free again
    server.gate.set_faults(json!({"latency_ms": 0})).unwrap();
    assert_eq!(server.ssws_get("/api/v1/users").await.status(), 200);
    let stats = server.stats().await;
    assert_eq!(stats["buckets"]["users"]["throttled"], 3);
    assert_eq!(stats["status"]["429"], 3);
}

/// What a client saw: a status, or that the connection or body failed.
async fn outcome(server: &TestServer) -> String {
    resp_outcome(server.ssws_get("/api/v1/groups").await).await
}

async fn resp_outcome(resp: reqwest::Response) -> String {
    let status = resp.status().as_u16();
    if status >= 500 {
        assert_okta_headers(&resp);
        let body: Value = resp.json().await.expect("a 5xx fault has an Okta body");
        assert!(body["errorCode"].as_str().unwrap().starts_with("E0000"));
        return status.to_string();
    }
    match resp.bytes().await {
        Ok(_) => status.to_string(),
        Err(_) => "truncated".into(),
    }
}

// `ssws_get` unwraps the send, which fails for a dropped connection: this one does not.
async fn try_outcome(server: &TestServer, path: &str) -> String {
    match server
        .get(path)
        .header("Authorization", format!("SSWS {TOKEN}"))
        .send()
        .await
    {
        Err(_) => "dropped".into(),
        Ok(resp) => resp_outcome(resp).await,
    }
}

#[tokio::test]
async fn faults_are_seeded_reproducible_and_adjustable_live() {
    let config = || EmulatorConfig {
        fault_rate: 0.5,
        fault_seed: 42,
        ..Default::default()
    };
    let run = |server: Arc<TestServer>| async move {
        let mut seen = Vec::new();
        for _ in 0..40 {
            seen.push(try_outcome(&server, "/api/v1/groups").await);
        }
        seen
    };
    let a = Arc::new(TestServer::start(config()).await);
    a.http
        .put(format!("{}/__emulator/faults", a.base))
        .header("Authorization", format!("SSWS {TOKEN}"))
        .json(&json!({"slow_ms": 20}))
        .send()
        .await
        .unwrap();
    let first = run(a.clone()).await;
    let b = Arc::new(TestServer::start(config()).await);
    b.http
        .put(format!("{}/__emulator/faults", b.base))
        .header("Authorization", format!("SSWS {TOKEN}"))
        .json(&json!({"slow_ms": 20}))
        .send()
        .await
        .unwrap();
    let second = run(b.clone()).await;
    assert_eq!(first, second, "same seed, same sequence");
    let kinds: std::collections::BTreeSet<&str> = first.iter().map(String::as_str).collect();
    assert!(
        kinds.contains("200") && kinds.len() >= 4,
        "a mix of faults: {first:?}"
    );
    assert!(
        first.iter().filter(|o| *o != "200").count() >= 8,
        "{first:?}"
    );

    // the stats count what was sent
    let stats = a.stats().await;
    for kind in &kinds {
        let n = first.iter().filter(|o| o == kind).count() as u64;
        assert_eq!(stats["status"][*kind], json!(n), "{kind} in {stats}");
    }

    // live: reseeding restarts the sequence, and a rate of 0 stops faults
    let put = |body: Value| {
        a.http
            .put(format!("{}/__emulator/faults", a.base))
            .header("Authorization", format!("SSWS {TOKEN}"))
            .json(&body)
            .send()
    };
    assert!(
        put(json!({"fault_seed": 42}))
            .await
            .unwrap()
            .status()
            .is_success()
    );
    assert_eq!(run(a.clone()).await, first);
    // only 503s now, and never on the control endpoints
    put(json!({"fault_rate": 1.0, "kinds": {"500": 0, "502": 0, "504": 0, "drop": 0, "truncate": 0, "slow": 0}})).await.unwrap();
    let resp = a.ssws_get("/api/v1/groups").await;
    assert_eq!(resp.status(), 503);
    assert_okta_headers(&resp);
    assert_eq!(resp.json::<Value>().await.unwrap()["errorCode"], "E0000010");
    assert_eq!(a.ssws_get("/__emulator/stats").await.status(), 200);
    let resp = put(json!({"fault_rate": 3})).await.unwrap();
    assert_eq!(resp.status(), 400);
    assert_eq!(resp.json::<Value>().await.unwrap()["errorCode"], "E0000001");
    put(json!({"fault_rate": 0.0})).await.unwrap();
    assert_eq!(outcome(&a).await, "200");
}

#[tokio::test]
async fn latency_is_added_with_jitter() {
    let server = TestServer::start(EmulatorConfig {
        latency_ms: 200,
        ..Default::default()
    })
    .await;
    // at least half the latency (a loaded machine only adds to it)
    let started = std::time::Instant::now();
    assert_eq!(server.ssws_get("/api/v1/groups").await.status(), 200);
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(100),
        "{:?}",
        started.elapsed()
    );
    // Control endpoints are not slowed down: with a minute of latency, an API request would
    // take at least 30 s; the control endpoint answers well within 10.
    server
        .gate
        .set_faults(json!({"latency_ms": 60_000}))
        .unwrap();
    let resp = server
        .get("/__emulator/stats")
        .header("Authorization", format!("SSWS {TOKEN}"))
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .expect("the control endpoint answers without the added latency");
    assert_eq!(resp.status(), 200);
    let api = server
        .get("/api/v1/groups")
        .header("Authorization", format!("SSWS {TOKEN}"))
        .timeout(std::time::Duration::from_millis(500))
        .send()
        .await;
    assert!(
        api.as_ref().is_err_and(reqwest::Error::is_timeout),
        "the API is slowed: {api:?}"
    );
}
