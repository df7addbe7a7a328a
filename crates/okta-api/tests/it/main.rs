//! Integration tests: okta-api against the emulator (and, for cases the emulator never
//! produces, a small local server) over real HTTP on 127.0.0.1.

mod auth;
mod errors;
mod governor;
mod lists;
mod network;
mod pacing;
mod resilience;
mod secrets;
mod shared_buckets;

use futures::TryStreamExt;
use okta_api::{ClientConfig, Credentials, OktaClient, OrgUrl, Page, PageStream, SecretString};
use okta_emulator::config::OAuthClientConfig;
use okta_emulator::{EmulatorConfig, RunningEmulator};
use std::collections::BTreeSet;
use std::time::Duration;

/// Every user status, so a filtered list includes DEPROVISIONED users.
pub const ALL_STATUSES_FILTER: &str = okta_api::ALL_USER_STATUSES_FILTER;

/// Every read scope the client's endpoints need.
pub const READ_SCOPES: &[&str] = &[
    "okta.users.read",
    "okta.groups.read",
    "okta.apps.read",
    "okta.roles.read",
    "okta.idps.read",
    "okta.logs.read",
];

pub async fn emulator(config: EmulatorConfig) -> RunningEmulator {
    okta_emulator::start(config).await.expect("emulator starts")
}

pub fn org(emu: &RunningEmulator) -> OrgUrl {
    OrgUrl::parse(&emu.base_url()).expect("emulator URL is a valid org URL")
}

/// Test defaults: fast backoff so retry tests finish quickly.
pub fn fast_config() -> ClientConfig {
    ClientConfig {
        backoff_base: Duration::from_millis(20),
        backoff_cap: Duration::from_millis(300),
        request_timeout: Duration::from_secs(10),
        ..ClientConfig::default()
    }
}

pub fn ssws_client(emu: &RunningEmulator, config: ClientConfig) -> OktaClient {
    let token = SecretString::from(emu.token().to_string());
    OktaClient::new(org(emu), Credentials::ApiToken(token), config).expect("client")
}

/// A key pair from the emulator's keygen, in a temp dir: (dir, alg).
pub struct Keys {
    pub dir: tempfile::TempDir,
}

impl Keys {
    pub fn generate(alg: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        okta_emulator::gate::keygen::run(dir.path(), alg).expect("keygen");
        Self { dir }
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name)).expect("key file")
    }

    pub fn private_pem(&self) -> String {
        self.read(okta_emulator::gate::keygen::PRIVATE_PEM)
    }

    pub fn private_jwk(&self) -> String {
        self.read(okta_emulator::gate::keygen::PRIVATE_JWK)
    }

    pub fn public_jwk(&self) -> serde_json::Value {
        serde_json::from_str(&self.read(okta_emulator::gate::keygen::PUBLIC_JWK)).expect("jwk")
    }

    pub fn client_config(
        &self,
        client_id: &str,
        scopes: &[&str],
        require_dpop: bool,
    ) -> OAuthClientConfig {
        OAuthClientConfig {
            client_id: client_id.into(),
            public_jwk: Some(self.public_jwk()),
            public_key_pem_file: None,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            require_dpop,
            client_secret: None,
        }
    }
}

/// All items of a page stream, in order.
pub async fn collect<T>(stream: PageStream<T>) -> okta_api::Result<Vec<T>> {
    let pages: Vec<Page<T>> = stream.try_collect().await?;
    Ok(pages.into_iter().flat_map(|p| p.items).collect())
}

/// `ids` of the export's list `key` (objects with an `id`).
pub fn export_ids(export: &serde_json::Value, key: &str) -> BTreeSet<String> {
    export[key]
        .as_array()
        .unwrap_or_else(|| panic!("export has no {key}"))
        .iter()
        .map(|v| v["id"].as_str().expect("id").to_string())
        .collect()
}

/// The emulator's per-bucket stats: `(requests, throttled)`.
pub fn bucket_stats(emu: &RunningEmulator, bucket: &str) -> (u64, u64) {
    let stats = emu.gate().stats();
    let b = &stats["buckets"][bucket];
    (
        b["requests"].as_u64().unwrap_or(0),
        b["throttled"].as_u64().unwrap_or(0),
    )
}

/// A local HTTP server for responses the emulator never gives. Returns its base URL.
pub async fn local_server(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    format!("http://{addr}")
}
