//! Starting and stopping an emulator: generate the org, compose the routes under the gate,
//! bind, serve.

use crate::api::{self, AppState, Shared};
use crate::config::EmulatorConfig;
use crate::control;
use crate::error::OktaError;
use crate::gate::{self, Gate, GateError};
use crate::generate::{GenParams, generate};
use crate::model::Org;
use axum::Router;
use axum::http::Uri;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Why an emulator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot listen on {addr}: {source}; pick another --host/--port (0 picks a free port)")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Gate(#[from] GateError),
    #[error("generating the org failed: {0}")]
    Generate(String),
}

/// A running emulator. Dropping it leaves the server running until the runtime ends; call
/// [`RunningEmulator::shutdown`] to stop it.
pub struct RunningEmulator {
    addr: SocketAddr,
    base_url: String,
    token: String,
    state: Shared,
    gate: Arc<Gate>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for RunningEmulator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningEmulator")
            .field("base_url", &self.base_url)
            .field("token", &"[redacted]")
            .finish_non_exhaustive()
    }
}

impl RunningEmulator {
    /// `http://127.0.0.1:PORT`
    pub fn base_url(&self) -> String {
        self.base_url.clone()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The first configured API token (empty when none is configured).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The whole org in canonical form (what `GET /__emulator/export` returns).
    pub fn export(&self) -> serde_json::Value {
        control::export(&self.state.org.read())
    }

    /// The canonical export as bytes.
    pub fn export_bytes(&self) -> Vec<u8> {
        control::export_bytes(&self.state.org.read())
    }

    /// Applies `ops` churn operations in-process (as `POST /__emulator/churn`).
    pub fn churn(&self, seed: u64, ops: usize) -> crate::churn::ChurnSummary {
        let now = self.state.now();
        crate::churn::churn(&mut self.state.org.write(), seed, ops, now)
    }

    /// Direct access to the org, for tests and in-process tools.
    pub fn state(&self) -> &Shared {
        &self.state
    }

    pub fn gate(&self) -> &Arc<Gate> {
        &self.gate
    }

    /// Stops accepting connections and waits for the server task.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

async fn not_found(uri: Uri) -> Response {
    OktaError::no_route(uri.path()).into_response()
}

async fn method_not_allowed() -> Response {
    OktaError::method_not_allowed().into_response()
}

/// Every route: the API, the control endpoints and the OAuth token endpoint, a 404 fallback,
/// all behind the gate.
pub fn app(state: Shared, gate: Arc<Gate>) -> Router {
    Router::new()
        .merge(api::router(state.clone()))
        .merge(control::router(state, gate.clone()))
        .merge(gate::oauth_router(gate.clone()))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(gate, gate::middleware))
}

/// Generates the org described by `config` (on a blocking thread: `large` takes seconds).
pub async fn build_org(config: &EmulatorConfig) -> Result<Org, StartError> {
    let params = GenParams::new(
        config.seed,
        config.size,
        config.users,
        config.groups,
        config.apps,
    );
    tokio::task::spawn_blocking(move || generate(params))
        .await
        .map_err(|e| StartError::Generate(e.to_string()))
}

/// Generates the org, binds `host:port` and serves until [`RunningEmulator::shutdown`].
pub async fn start(config: EmulatorConfig) -> Result<RunningEmulator, StartError> {
    let org = build_org(&config).await?;
    start_with_org(config, org).await
}

/// Serves a ready-made org.
pub async fn start_with_org(
    config: EmulatorConfig,
    org: Org,
) -> Result<RunningEmulator, StartError> {
    let gate = Gate::new(&config)?;
    let state: Shared = Arc::new(AppState::new(org, config.clock.clone(), "http"));
    let addr_text = format!("{}:{}", config.host, config.port);
    let listener = tokio::net::TcpListener::bind(&addr_text)
        .await
        .map_err(|source| StartError::Bind {
            addr: addr_text.clone(),
            source,
        })?;
    let addr = listener.local_addr().map_err(|source| StartError::Bind {
        addr: addr_text,
        source,
    })?;
    let base_url = format!("http://{addr}");
    *state.fallback_origin.write() = base_url.clone();
    let router = app(state.clone(), gate.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        use axum::serve::ListenerExt;
        let listener = listener.tap_io(|tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let result = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "emulator server stopped");
        }
    });
    Ok(RunningEmulator {
        addr,
        base_url,
        token: config.tokens.first().cloned().unwrap_or_default(),
        state,
        gate,
        shutdown: Some(tx),
        task: Some(task),
    })
}
