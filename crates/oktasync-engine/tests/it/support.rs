//! Shared set-up: an emulator, a client for it, a mirror file.

use okta_api::{ClientConfig, Credentials, OktaClient, OrgUrl, SecretString};
use okta_emulator::{EmulatorConfig, OrgSize, RunningEmulator};
use oktasync_engine::{NoProgress, RunSummary, SyncOptions, full_sync};
use oktasync_store::{OrgId, SqliteStore, Store};
use std::sync::Arc;
use std::time::Duration;

pub async fn emulator(seed: u64, size: OrgSize) -> RunningEmulator {
    okta_emulator::start(EmulatorConfig {
        seed,
        size,
        ..Default::default()
    })
    .await
    .expect("emulator starts")
}

/// A client that gives up quickly, so that failure tests end fast.
pub fn client_with(emu: &RunningEmulator, max_retries: u32) -> OktaClient {
    let config = ClientConfig {
        max_retries,
        backoff_base: Duration::from_millis(5),
        backoff_cap: Duration::from_millis(20),
        ..Default::default()
    };
    OktaClient::new(
        OrgUrl::parse(&emu.base_url()).expect("emulator URL is accepted"),
        Credentials::ApiToken(SecretString::from(emu.token().to_owned())),
        config,
    )
    .expect("client builds")
}

pub fn client(emu: &RunningEmulator) -> OktaClient {
    client_with(emu, ClientConfig::default().max_retries)
}

pub struct Mirror {
    pub store: SqliteStore,
    pub dir: tempfile::TempDir,
}

impl Mirror {
    pub async fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(dir.path().join("mirror.db"))
            .await
            .expect("store opens");
        Self { store, dir }
    }

    pub fn path(&self) -> std::path::PathBuf {
        self.dir.path().join("mirror.db")
    }

    pub async fn org(&self, client: &OktaClient) -> OrgId {
        self.store
            .find_org(&client.org().origin())
            .await
            .unwrap()
            .expect("org recorded")
    }

    pub async fn export(&self, client: &OktaClient) -> serde_json::Value {
        self.store
            .export_json(self.org(client).await)
            .await
            .unwrap()
    }
}

pub async fn sync(client: &OktaClient, store: &SqliteStore) -> RunSummary {
    full_sync(client, store, &SyncOptions::default(), Arc::new(NoProgress))
        .await
        .expect("sync succeeds")
}

/// Where two exports first differ, for a readable failure message.
pub fn first_difference(mirror: &serde_json::Value, source: &serde_json::Value) -> String {
    for key in source.as_object().into_iter().flat_map(|o| o.keys()) {
        let (m, s) = (&mirror[key], &source[key]);
        if m != s {
            let (ma, sa) = (m.as_array(), s.as_array());
            if let (Some(ma), Some(sa)) = (ma, sa) {
                for (i, (a, b)) in ma.iter().zip(sa.iter()).enumerate() {
                    if a != b {
                        return format!("{key}[{i}]: mirror {a} vs source {b}");
                    }
                }
                return format!("{key}: mirror has {} items, source {}", ma.len(), sa.len());
            }
            return format!("{key}: mirror {m} vs source {s}");
        }
    }
    if mirror.as_object().map(|o| o.len()) != source.as_object().map(|o| o.len()) {
        return "different top-level keys".into();
    }
    "no difference".into()
}

#[track_caller]
pub fn assert_exact(mirror: &serde_json::Value, source: &serde_json::Value) {
    assert!(
        mirror == source,
        "mirror differs from source: {}",
        first_difference(mirror, source)
    );
}
