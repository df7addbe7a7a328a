//! `oktasync serve`: the mirror as a service. A REST API under `/v1` read from the mirror
//! (never from Okta), its OpenAPI document and reference page, scheduled syncs of the
//! configured orgs shared by every instance on one database, and Prometheus metrics.
//!
//! Layout: [`api`] holds one module per resource (handlers and their OpenAPI entries);
//! `auth` the bearer tokens; `paging` the keyset pages every list uses; `problem` the
//! RFC 9457 errors; [`scheduler`] the scheduled and requested syncs; `metrics` the
//! Prometheus recorder.

pub mod api;
mod auth;
mod docs;
mod extract;
pub mod feed;
mod metrics;
mod paging;
mod problem;
mod recent;
pub mod scheduler;
mod state;

pub use api::openapi;
pub use auth::{new_token, token_hash};
pub use paging::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
pub use scheduler::{AfterChanges, LEASE_POLL, OrgSchedule};

use okta_api::Clock;
use oktasync_store::Mirror;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

/// What can stop the server from starting or serving.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(
        "cannot listen on {addr}: {cause}; pick another address with --listen (or [serve] listen)"
    )]
    Listen {
        addr: SocketAddr,
        cause: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] oktasync_store::StoreError),
    #[error("the server stopped: {0}")]
    Serve(std::io::Error),
}

/// How to serve.
pub struct ServeOptions {
    /// The orgs this instance keeps fresh (may be empty: then it only answers reads).
    pub orgs: Vec<OrgSchedule>,
    /// Whether `/metrics` is served without a token.
    pub metrics_public: bool,
    /// Whether `/openapi.json` and `/docs` are served without a token.
    pub docs_public: bool,
    /// Where the change feed goes (webhooks).
    pub sinks: Vec<Arc<dyn feed::Sink>>,
    pub clock: Arc<dyn Clock>,
    /// What may be granted (`[[grant_policies]]`) and what oktasync's principal may do.
    pub grant_policies: oktasync_grants::policy::Policies,
    pub grant_principal: oktasync_grants::check::Principal,
}

/// A bound listener, so that the caller learns the port (`127.0.0.1:0` in tests) before
/// serving.
pub async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, ServeError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|cause| ServeError::Listen { addr, cause })
}

/// Serves until `shutdown` resolves: then stops taking connections, lets requests in
/// flight finish, abandons a run in progress (the mirror keeps its previous state; the run
/// is recorded as interrupted) and releases its leases.
pub async fn serve(
    store: Arc<Mirror>,
    listener: tokio::net::TcpListener,
    options: ServeOptions,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let grants = Arc::new(state::GrantSettings {
        policies: options.grant_policies.clone(),
        principal: options.grant_principal,
        clients: options
            .orgs
            .iter()
            .map(|org| (org.name.to_ascii_lowercase(), org.client.clone()))
            .collect(),
    });
    // Every instance enforces the grants of every org it serves: enforcers claim each piece
    // of work in the database, so several never call Okta for one grant.
    let enforcers: Vec<_> = options
        .orgs
        .iter()
        .map(|org| {
            let (store, client, name, clock) = (
                store.clone(),
                org.client.clone(),
                org.name.clone(),
                options.clock.clone(),
            );
            let mut stop = stop_rx.clone();
            tokio::spawn(async move {
                let holder = oktasync_grants::enforce::holder("serve");
                oktasync_grants::enforce::enforce_continuously(
                    &client,
                    &store,
                    &name,
                    &holder,
                    oktasync_grants::enforce::ENFORCE_EVERY,
                    clock.as_ref(),
                    async move {
                        let _ = stop.wait_for(|s| *s).await;
                    },
                )
                .await;
            })
        })
        .collect();
    let scheduler =
        Arc::new(scheduler::Scheduler::new(store.clone(), options.orgs, stop_rx.clone()).await?);
    let state = state::AppState {
        store,
        clock: options.clock.clone(),
        scheduler: scheduler.clone(),
        metrics: metrics::handle(),
        metrics_public: options.metrics_public,
        docs_public: options.docs_public,
        sinks: Arc::new(
            options
                .sinks
                .iter()
                .map(|s| (s.key(), s.describe()))
                .collect(),
        ),
        tokens: Default::default(),
        orgs: Default::default(),
        grants,
    };
    let feed = tokio::spawn(feed::run(
        state.store.clone(),
        options.sinks,
        state.clock.clone(),
        stop_rx.clone(),
    ));
    let schedules = tokio::spawn(scheduler.clone().run());
    let app = api::router(state);
    let mut stopped = stop_rx.clone();
    let served = axum::serve(listener, app).with_graceful_shutdown(async move {
        let _ = stopped.wait_for(|stop| *stop).await;
    });
    let signal = async move {
        shutdown.await;
        tracing::info!("Stopping: finishing requests in flight, abandoning the run in progress.");
        let _ = stop_tx.send(true);
    };
    let (result, ()) = tokio::join!(served.into_future(), signal);
    let _ = schedules.await;
    let _ = feed.await;
    for enforcer in enforcers {
        let _ = enforcer.await;
    }
    scheduler.stopped().await;
    result.map_err(ServeError::Serve)
}
