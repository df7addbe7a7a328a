//! A served mirror: emulator, store, tokens, server.

use okta_api::{ClientConfig, Credentials, OktaClient, OrgUrl, SecretString};
use okta_emulator::{EmulatorConfig, OrgSize, RunningEmulator};
use oktasync_engine::{FactorScope, SyncOptions, SystemClock};
use oktasync_serve::{OrgSchedule, ServeOptions};
use oktasync_store::{ApiToken, ApiTokens, DbLocation, Mirror, TokenScope};
use serde_json::Value;
use std::net::SocketAddr;
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

pub fn client(emu: &RunningEmulator) -> OktaClient {
    OktaClient::new(
        OrgUrl::parse(&emu.base_url()).expect("emulator URL is accepted"),
        Credentials::ApiToken(SecretString::from(emu.token().to_owned())),
        ClientConfig::default(),
    )
    .expect("client builds")
}

/// Every factor, so that the mirror equals the emulator's export.
pub fn options() -> SyncOptions {
    SyncOptions {
        factors: FactorScope::All,
        ..SyncOptions::default()
    }
}

pub fn schedule(name: &str, emu: &RunningEmulator, every: Duration) -> OrgSchedule {
    OrgSchedule {
        name: name.to_owned(),
        client: client(emu),
        options: options(),
        sync_interval: every,
        reconcile_every: None,
        roles: Vec::new(),
        after_changes: Vec::new(),
        after_runs: Vec::new(),
    }
}

/// Where a test's mirror lives.
pub enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres(oktasync_testkit::PgDatabase),
}

impl Backend {
    pub async fn sqlite() -> Self {
        Backend::Sqlite(tempfile::tempdir().expect("tempdir"))
    }

    /// `None` when no PostgreSQL server can be reached outside CI (the testkit says so).
    pub async fn postgres(test: &str) -> Option<Self> {
        oktasync_testkit::PgDatabase::create(test)
            .await
            .map(Backend::Postgres)
    }

    pub fn location(&self) -> DbLocation {
        match self {
            Backend::Sqlite(dir) => {
                DbLocation::parse(dir.path().join("mirror.db")).expect("a path")
            }
            Backend::Postgres(db) => {
                DbLocation::parse(std::path::Path::new(&db.url)).expect("a URL")
            }
        }
    }

    pub async fn open(&self) -> Arc<Mirror> {
        Arc::new(
            oktasync_store::open_writer(&self.location())
                .await
                .expect("mirror opens"),
        )
    }
}

/// Creates a token as `oktasync token create` does; returns it.
pub async fn token(store: &Mirror, name: &str, scope: TokenScope, org: Option<&str>) -> String {
    let (token, hash) = oktasync_serve::new_token().expect("random");
    store
        .create_token(
            &ApiToken {
                name: name.to_owned(),
                scope,
                org: org.map(str::to_owned),
                created_at: "2026-01-01T00:00:00.000Z".into(),
                last_used_at: None,
            },
            &hash,
        )
        .await
        .expect("token stored");
    token
}

/// A server running in this process until dropped or stopped.
pub struct Server {
    pub addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Server {
    pub async fn start(store: Arc<Mirror>, orgs: Vec<OrgSchedule>) -> Self {
        Self::start_with(store, orgs, Vec::new()).await
    }

    /// With change-feed sinks.
    pub async fn start_with(
        store: Arc<Mirror>,
        orgs: Vec<OrgSchedule>,
        sinks: Vec<Arc<dyn oktasync_serve::feed::Sink>>,
    ) -> Self {
        Self::start_full(store, orgs, sinks, Default::default()).await
    }

    /// With grant policies.
    pub async fn start_full(
        store: Arc<Mirror>,
        orgs: Vec<OrgSchedule>,
        sinks: Vec<Arc<dyn oktasync_serve::feed::Sink>>,
        grant_policies: oktasync_grants::policy::Policies,
    ) -> Self {
        let listener = oktasync_serve::bind("127.0.0.1:0".parse().unwrap())
            .await
            .expect("binds");
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let options = ServeOptions {
            orgs,
            metrics_public: true,
            docs_public: false,
            sinks,
            clock: Arc::new(SystemClock),
            grant_policies,
            grant_principal: Default::default(),
        };
        let task = tokio::spawn(async move {
            oktasync_serve::serve(store, listener, options, async move {
                let _ = stopped.await;
            })
            .await
            .expect("serves");
        });
        Self {
            addr,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Stops gracefully and waits until it has.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task ends cleanly");
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A GET with a token: (status, content type, JSON body or Null).
pub async fn get(url: &str, token: Option<&str>) -> (u16, String, Value) {
    let mut request = reqwest::Client::new().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("server answers");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = response.text().await.unwrap();
    (
        status,
        content_type,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

/// Every item of a paged list, following `next_page_token`.
pub async fn all_pages(url: &str, token: &str, page_size: u32) -> Vec<Value> {
    let mut items = Vec::new();
    let mut page_token: Option<String> = None;
    let sep = if url.contains('?') { '&' } else { '?' };
    loop {
        let mut page_url = format!("{url}{sep}page_size={page_size}");
        if let Some(t) = &page_token {
            page_url.push_str(&format!("&page_token={t}"));
        }
        let (status, _, body) = get(&page_url, Some(token)).await;
        assert_eq!(status, 200, "{page_url}: {body}");
        let page = body["items"].as_array().expect("items").clone();
        assert!(page.len() <= page_size as usize);
        items.extend(page);
        match body.get("next_page_token").and_then(Value::as_str) {
            Some(t) => page_token = Some(t.to_owned()),
            None => return items,
        }
    }
}

/// Waits until the org has a successful run, and returns the org's detail.
pub async fn until_synced(server: &Server, org: &str, token: &str) -> Value {
    for _ in 0..600 {
        let (status, _, body) = get(&server.url(&format!("/v1/orgs/{org}")), Some(token)).await;
        if status == 200 && body["last_success_at"].is_string() {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the org {org} was never synced");
}
