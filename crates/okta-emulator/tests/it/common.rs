//! Shared helpers: start an emulator on port 0 and call it with the default SSWS token.

use chrono::{DateTime, Duration, Utc};
use okta_emulator::config::DEFAULT_TOKEN;
use okta_emulator::{EmulatorConfig, ManualClock, OrgSize, RunningEmulator};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::path::PathBuf;
use std::sync::Arc;

/// Whether the tests run under CI (`CI` set and not `false`/`0`, as `.ci/run` and the usual
/// CI services set it).
pub fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// `relative` inside `../shared` beside the workspace (Okta's OpenAPI spec, recorded System
/// Log samples). When it is missing, a test reading it would check nothing: under CI that is
/// a failure; elsewhere the test is skipped with a loud note (`None`).
pub fn shared_path(relative: &str) -> Option<PathBuf> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared")
        .join(relative);
    if path.exists() {
        return Some(path);
    }
    assert!(
        !under_ci(),
        "{} is missing: under CI the tests that read ../shared must run (check it out beside \
         the workspace)",
        path.display()
    );
    // Straight to stderr, past the test harness's capture, so that the skip is seen.
    use std::io::Write;
    let _ = writeln!(
        std::io::stderr(),
        "\n!!! SKIPPED: {} not found; the test that reads it checked NOTHING (under CI this \
         fails)\n",
        path.display()
    );
    None
}

pub struct Emu {
    pub emu: RunningEmulator,
    pub clock: ManualClock,
    pub http: reqwest::Client,
}

/// One response: status, headers, parsed body (Null when empty).
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Resp {
    /// The `Link` header lines in order.
    pub fn links(&self) -> Vec<String> {
        self.headers
            .get_all("link")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }

    pub fn next(&self) -> Option<String> {
        self.links()
            .iter()
            .find(|l| l.ends_with("rel=\"next\""))
            .map(|l| url_of(l))
    }

    pub fn self_link(&self) -> Option<String> {
        self.links()
            .iter()
            .find(|l| l.ends_with("rel=\"self\""))
            .map(|l| url_of(l))
    }

    pub fn error_code(&self) -> &str {
        self.body["errorCode"].as_str().unwrap_or("")
    }

    pub fn array(&self) -> &Vec<Value> {
        self.body.as_array().expect("a JSON array")
    }
}

fn url_of(link: &str) -> String {
    link.trim_start_matches('<')
        .split('>')
        .next()
        .unwrap()
        .to_string()
}

/// The fixed "now" these tests generate their orgs at, so that the literal times in them
/// (log windows, filter cut-offs) stay meaningful whatever the date.
pub const ANCHOR_RFC3339: &str = "2026-11-01T00:00:00.000Z";

pub fn anchor() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(ANCHOR_RFC3339)
        .unwrap()
        .with_timezone(&Utc)
}

/// The clock tests start at: one day after the generator's anchor.
pub fn start_time() -> DateTime<Utc> {
    anchor() + Duration::days(1)
}

impl Emu {
    pub async fn start(size: OrgSize, seed: u64) -> Emu {
        Self::start_with(EmulatorConfig {
            size,
            seed,
            ..EmulatorConfig::default()
        })
        .await
    }

    pub async fn start_with(mut config: EmulatorConfig) -> Emu {
        let clock = ManualClock::new(start_time());
        config.clock = Arc::new(clock.clone());
        config.anchor.get_or_insert_with(anchor);
        let emu = okta_emulator::start(config).await.expect("emulator starts");
        Emu {
            emu,
            clock,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.emu.base_url())
        }
    }

    pub async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Resp {
        self.call_as(&format!("SSWS {DEFAULT_TOKEN}"), method, path, body)
            .await
    }

    /// A call with `authorization` as the `Authorization` header.
    pub async fn call_as(
        &self,
        authorization: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Resp {
        let mut req = self
            .http
            .request(method, self.url(path))
            .header("Authorization", authorization)
            .header("Accept", "application/json");
        if let Some(b) = body {
            req = req.json(&b);
        } else {
            req = req.header("Content-Length", "0");
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).expect("JSON body")
        };
        Resp {
            status,
            headers,
            body,
        }
    }

    /// An access token for a client configured with a client secret.
    pub async fn client_token(&self, client_id: &str, secret: &str, scope: &str) -> String {
        let resp = self
            .http
            .post(self.url("/oauth2/v1/token"))
            .basic_auth(client_id, Some(secret))
            .form(&[("grant_type", "client_credentials"), ("scope", scope)])
            .send()
            .await
            .expect("token request");
        assert_eq!(resp.status(), 200, "token for {client_id}");
        let body: Value = resp.json().await.expect("token body");
        body["access_token"]
            .as_str()
            .expect("access_token")
            .to_string()
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, None).await
    }

    /// Follows `next` links from `path` and returns every item.
    pub async fn walk(&self, path: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut url = Some(self.url(path));
        let mut pages = 0;
        while let Some(u) = url {
            let r = self.get(&u).await;
            assert_eq!(r.status, 200, "GET {u}: {}", r.body);
            out.extend(r.array().iter().cloned());
            url = r.next();
            pages += 1;
            assert!(pages < 10_000, "runaway pagination");
        }
        out
    }

    pub fn export(&self) -> Value {
        self.emu.export()
    }

    /// The last `n` System Log events, oldest first.
    pub fn last_events(&self, n: usize) -> Vec<Value> {
        let org = self.emu.state().org.read();
        org.log[org.log.len().saturating_sub(n)..]
            .iter()
            .map(|e| serde_json::from_slice(&e.json).unwrap())
            .collect()
    }

    pub fn log_len(&self) -> usize {
        self.emu.state().org.read().log.len()
    }

    pub fn now_text(&self) -> String {
        okta_emulator::model::format_ts(self.clock_now_ms())
    }

    pub fn clock_now_ms(&self) -> i64 {
        use okta_emulator::Clock;
        self.clock.now().timestamp_millis()
    }

    /// Moves the clock on so that the next write has a new timestamp.
    pub fn tick(&self) {
        self.clock.advance(Duration::seconds(7));
    }
}

/// Strips `_links` and `_embedded`, as the export does.
pub fn bare(v: &Value) -> Value {
    let mut v = v.clone();
    if let Some(m) = v.as_object_mut() {
        m.remove("_links");
        m.remove("_embedded");
    }
    v
}

pub fn event_types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .map(|e| e["eventType"].as_str().unwrap().to_string())
        .collect()
}
