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
use std::path::Path;
use std::sync::Arc;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use tower::ServiceExt;

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
    #[error("TLS setup failed: {0}")]
    Tls(String),
    #[error("cannot write the certificate to {path}: {source}")]
    WriteCert {
        path: String,
        source: std::io::Error,
    },
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
    /// Live activity (`activity_rate`), stopped at shutdown.
    activity: Option<JoinHandle<()>>,
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

    /// The whole org in canonical form (what `GET /__emulator/export` returns to a client
    /// calling [`RunningEmulator::base_url`]: grants name that URL as their `issuer`).
    pub fn export(&self) -> serde_json::Value {
        control::export(&self.state.org.read(), &self.base_url)
    }

    /// The canonical export as bytes.
    pub fn export_bytes(&self) -> Vec<u8> {
        control::export_bytes(&self.state.org.read(), &self.base_url)
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
        if let Some(activity) = self.activity.take() {
            activity.abort();
        }
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
        config.anchor.unwrap_or_else(|| config.clock.now()),
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
    serve(config, org, None).await
}

/// Like [`start`], over HTTPS with a fresh self-signed certificate (for `127.0.0.1` and
/// `localhost`) written as PEM to `cert_file`, so that clients can trust it.
pub async fn start_tls(
    config: EmulatorConfig,
    cert_file: &Path,
) -> Result<RunningEmulator, StartError> {
    let certified =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()])
            .map_err(|e| StartError::Tls(e.to_string()))?;
    std::fs::write(cert_file, certified.cert.pem()).map_err(|source| StartError::WriteCert {
        path: cert_file.display().to_string(),
        source,
    })?;
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
        certified.signing_key.serialize_der(),
    ));
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let mut tls = tokio_rustls::rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| StartError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(vec![certified.cert.der().clone()], key)
        .map_err(|e| StartError::Tls(e.to_string()))?;
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    let org = build_org(&config).await?;
    serve(config, org, Some(Arc::new(tls))).await
}

async fn serve(
    config: EmulatorConfig,
    org: Org,
    tls: Option<Arc<tokio_rustls::rustls::ServerConfig>>,
) -> Result<RunningEmulator, StartError> {
    let gate = Gate::new(&config)?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let state: Shared = Arc::new(AppState::new(org, config.clock.clone(), scheme));
    if config.activity_minutes > 0 {
        let end = config
            .anchor
            .unwrap_or_else(|| config.clock.now())
            .timestamp_millis();
        let from = end - config.activity_minutes as i64 * 60_000;
        let s = state.clone();
        let rate = (config.activity_rate > 0.0).then_some(config.activity_rate);
        tokio::task::spawn_blocking(move || s.play_activity(from, end, rate))
            .await
            .map_err(|e| StartError::Generate(e.to_string()))?;
    }
    let activity = (config.activity_rate > 0.0)
        .then(|| tokio::spawn(live_activity(state.clone(), config.activity_rate)));
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
    let base_url = format!("{scheme}://{addr}");
    *state.fallback_origin.write() = base_url.clone();
    let router = app(state.clone(), gate.clone());
    let (tx, rx) = oneshot::channel::<()>();
    if let Some(tls) = tls {
        let task = tokio::spawn(serve_tls(listener, router, tls, rx));
        return Ok(RunningEmulator {
            addr,
            base_url,
            token: config.tokens.first().cloned().unwrap_or_default(),
            state,
            gate,
            shutdown: Some(tx),
            task: Some(task),
            activity,
        });
    }
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
        activity,
    })
}

/// Writes `rate` sign-ins a minute as the clock moves, once a second (wall time), from the
/// time it starts; a clock that stands still writes nothing.
async fn live_activity(state: Shared, rate: f64) {
    let mut from = state.now();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        tick.tick().await;
        let to = state.now();
        if to > from {
            let s = state.clone();
            if tokio::task::spawn_blocking(move || s.play_activity(from, to, Some(rate)))
                .await
                .is_err()
            {
                return;
            }
            from = to;
        }
    }
}

/// Accepts TLS connections until `stop` fires; each connection is served by hyper with the
/// same router as plain HTTP.
async fn serve_tls(
    listener: tokio::net::TcpListener,
    router: Router,
    tls: Arc<tokio_rustls::rustls::ServerConfig>,
    mut stop: oneshot::Receiver<()>,
) {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        let (tcp, _) = tokio::select! {
            _ = &mut stop => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let (acceptor, router) = (acceptor.clone(), router.clone());
        tokio::spawn(async move {
            let Ok(stream) = acceptor.accept(tcp).await else {
                return;
            };
            let service =
                hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let router = router.clone();
                    async move { router.oneshot(req.map(axum::body::Body::new)).await }
                });
            let builder =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            if let Err(e) = builder
                .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                .await
            {
                tracing::debug!(error = %e, "TLS connection ended");
            }
        });
    }
}
