//! What every request passes first, in this order: `Date` and `X-Okta-Request-Id` on every
//! answer; added latency; seeded faults; the org concurrency limit; authentication (SSWS,
//! OAuth Bearer, DPoP); per-bucket per-principal rate limits with `X-Rate-Limit-*` headers on
//! every answer; OAuth scopes per route. Control endpoints (`/__emulator/**`) only need a
//! credential. The token endpoint lives in [`oauth`].
//!
//! Wiring (in `server.rs`): `router.merge(oauth_router(gate.clone()))` and
//! `.layer(axum::middleware::from_fn_with_state(gate, middleware))` around everything,
//! including the 404 fallback.

pub mod auth;
pub mod concurrency;
pub mod dpop;
pub mod faults;
pub mod jws;
pub mod keygen;
pub mod oauth;
pub mod ratelimit;
pub mod replay;
pub mod routes;

pub use oauth::oauth_router;

use crate::clock::Clock;
use crate::config::EmulatorConfig;
use crate::error::OktaError;
use auth::{AuthFailure, Authenticated, RequestFacts};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use concurrency::ConcurrencyLimiter;
use faults::{Fault, FaultInjector};
use futures::StreamExt;
use http::{HeaderMap, HeaderValue, StatusCode, header};
use parking_lot::Mutex;
use rand::Rng;
use ratelimit::{Decision, RateLimiter};
use routes::RouteKind;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// How long a truncated body pauses after its first half, before the connection breaks.
const TRUNCATE_PAUSE: Duration = Duration::from_millis(20);

/// Principal key for requests made without a credential (the token endpoint, 401s).
pub const ANONYMOUS: &str = "anonymous";
/// `X-Rate-Limit-Reset` of a concurrency 429 is an estimate: this many seconds ahead.
pub const CONCURRENCY_RESET_ESTIMATE_S: i64 = 1;

/// Why a gate could not be built.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error("emulator configuration: {0}")]
    Config(String),
}

/// Shared state of the gate: limits, faults, credentials, issued tokens, counters.
pub struct Gate {
    clock: Arc<dyn Clock>,
    /// Super Admin tokens, then the others (`EmulatorConfig::non_super_admin_tokens`).
    tokens: Vec<String>,
    /// How many of `tokens` are Super Admins'.
    super_admin_tokens: usize,
    clients: HashMap<String, oauth::RegisteredClient>,
    /// Client ids whose service app is not a Super Admin.
    non_super_admin_clients: HashSet<String>,
    limiter: RateLimiter,
    concurrency: ConcurrencyLimiter,
    faults: FaultInjector,
    latency_ms: AtomicU64,
    issuer: oauth::TokenIssuer,
    assertion_jtis: replay::ReplayCache,
    dpop_jtis: replay::ReplayCache,
    dpop_nonces: dpop::NonceStore,
    status_counts: Mutex<BTreeMap<String, u64>>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate")
            .field("tokens", &format_args!("[{} redacted]", self.tokens.len()))
            .field("clients", &self.clients.keys().collect::<Vec<_>>())
            .field("limiter", &self.limiter)
            .finish_non_exhaustive()
    }
}

impl Gate {
    pub fn new(config: &EmulatorConfig) -> Result<Arc<Gate>, GateError> {
        let mut clients = HashMap::new();
        for client in &config.oauth_clients {
            if clients
                .insert(
                    client.client_id.clone(),
                    oauth::RegisteredClient::from_config(client)?,
                )
                .is_some()
            {
                return Err(GateError::Config(format!(
                    "OAuth client {} is configured twice",
                    client.client_id
                )));
            }
        }
        for id in &config.non_super_admin_clients {
            if !clients.contains_key(id) {
                return Err(GateError::Config(format!(
                    "non_super_admin_clients names {id}, which is not a configured OAuth client"
                )));
            }
        }
        let mut tokens = config.tokens.clone();
        for t in &config.non_super_admin_tokens {
            if tokens.contains(t) {
                return Err(GateError::Config(
                    "an API token is configured twice (a token is either a Super Admin's or not)"
                        .into(),
                ));
            }
            tokens.push(t.clone());
        }
        if config.concurrency_limit == 0 {
            return Err(GateError::Config(
                "concurrency_limit must be at least 1".into(),
            ));
        }
        Ok(Arc::new(Gate {
            clock: config.clock.clone(),
            tokens,
            super_admin_tokens: config.tokens.len(),
            clients,
            non_super_admin_clients: config.non_super_admin_clients.iter().cloned().collect(),
            limiter: RateLimiter::new(
                &config.rate_limits,
                config.principal_share,
                config.time_scale,
            )?,
            concurrency: ConcurrencyLimiter::new(config.concurrency_limit),
            faults: FaultInjector::new(config.fault_rate, config.fault_seed)
                .map_err(GateError::Config)?,
            latency_ms: AtomicU64::new(config.latency_ms),
            issuer: oauth::TokenIssuer::new()?,
            assertion_jtis: replay::ReplayCache::default(),
            dpop_jtis: replay::ReplayCache::default(),
            dpop_nonces: dpop::NonceStore::default(),
            status_counts: Mutex::new(BTreeMap::new()),
        }))
    }

    /// `{"buckets": {NAME: {"requests","throttled","limit","window_s"}}, "status": {"200": n, …}}`.
    /// `limit` is one principal's share per window; `throttled` counts 429s sent (per-minute
    /// and concurrency). `status` counts answers outside `/__emulator/`, with injected dropped
    /// connections under `"dropped"` and truncated bodies under `"truncated"`.
    pub fn stats(&self) -> serde_json::Value {
        let status: serde_json::Map<String, serde_json::Value> = self
            .status_counts
            .lock()
            .iter()
            .map(|(k, v)| (k.clone(), (*v).into()))
            .collect();
        serde_json::json!({"buckets": self.limiter.stats(), "status": status})
    }

    /// Changes faults live: `{"fault_rate": F, "fault_seed": S, "kinds": {"500": w, "502": w,
    /// "503": w, "504": w, "drop": w, "truncate": w, "slow": w}, "slow_ms": N, "latency_ms": N}`,
    /// every field optional; `fault_seed` restarts the fault sequence.
    pub fn set_faults(&self, mut body: serde_json::Value) -> Result<(), OktaError> {
        let Some(map) = body.as_object_mut() else {
            return Err(OktaError::validation(
                "faults",
                "the body must be a JSON object",
            ));
        };
        let latency = match map.remove("latency_ms") {
            None => None,
            Some(v) => Some(v.as_u64().ok_or_else(|| {
                OktaError::validation("faults", "latency_ms must be a non-negative integer")
            })?),
        };
        self.faults.update(body)?;
        if let Some(ms) = latency {
            self.latency_ms.store(ms, Ordering::Relaxed);
        }
        Ok(())
    }

    fn count_status(&self, key: &str) {
        *self
            .status_counts
            .lock()
            .entry(key.to_string())
            .or_default() += 1;
    }

    /// Added latency for one request: `latency_ms` ± 50% jitter.
    fn latency(&self) -> Option<Duration> {
        let ms = self.latency_ms.load(Ordering::Relaxed);
        (ms > 0).then(|| Duration::from_millis(rand::rng().random_range(ms / 2..=ms + ms / 2)))
    }
}

/// The `Host` a request addressed (HTTP/1 `Host`), used for origins, `aud` and `htu`.
pub(crate) fn request_host(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
}

/// The gate middleware; wrap every route with it (see the module docs).
pub async fn middleware(State(gate): State<Arc<Gate>>, mut req: Request, next: Next) -> Response {
    // HTTP/2 carries the host in `:authority`; origins, `aud` and `htu` read `Host`.
    if !req.headers().contains_key(header::HOST)
        && let Some(authority) = req
            .uri()
            .authority()
            .and_then(|a| HeaderValue::from_str(a.as_str()).ok())
    {
        req.headers_mut().insert(header::HOST, authority);
    }
    // One id per request, given to the handler first so that the events it writes carry the
    // same id as the `X-Okta-Request-Id` header.
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    req.extensions_mut()
        .insert(crate::api::RequestId(request_id.clone()));
    let route = routes::classify(req.method(), req.uri().path());
    let mut resp = match route.kind {
        RouteKind::Control => control(&gate, req, next).await,
        RouteKind::Api | RouteKind::Token => {
            let (resp, outcome) = api(&gate, route, req, next).await;
            match outcome {
                Outcome::Normal => gate.count_status(resp.status().as_str()),
                Outcome::Dropped => gate.count_status("dropped"),
                Outcome::Truncated => gate.count_status("truncated"),
            }
            resp
        }
    };
    let headers = resp.headers_mut();
    let now = gate.clock.now();
    if let Ok(date) = HeaderValue::from_str(&now.format("%a, %d %b %Y %H:%M:%S GMT").to_string()) {
        headers.insert(header::DATE, date);
    }
    if let Ok(id) = HeaderValue::from_str(&request_id) {
        headers.insert("x-okta-request-id", id);
    }
    resp
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Normal,
    Dropped,
    Truncated,
}

async fn control(gate: &Gate, mut req: Request, next: Next) -> Response {
    let now = gate.clock.now();
    let auth = authenticate_request(gate, &req);
    let decision = gate.limiter.peek(routes::CONTROL_BUCKET, ANONYMOUS, now);
    let mut resp = match auth {
        Ok(who) => {
            req.extensions_mut().insert(who.principal);
            next.run(req).await
        }
        Err(failure) => unauthorized(failure),
    };
    set_rate_headers(resp.headers_mut(), &decision);
    resp
}

fn authenticate_request(gate: &Gate, req: &Request) -> Result<Authenticated, AuthFailure> {
    let host = request_host(req.headers()).unwrap_or_default();
    auth::authenticate(
        gate,
        &RequestFacts {
            method: req.method().as_str(),
            host: &host,
            path: req.uri().path(),
            headers: req.headers(),
        },
    )
}

fn unauthorized(failure: AuthFailure) -> Response {
    let mut resp = failure.error.into_response();
    if let Some(challenge) = failure
        .www_authenticate
        .and_then(|c| HeaderValue::from_str(&c).ok())
    {
        resp.headers_mut()
            .insert(header::WWW_AUTHENTICATE, challenge);
    }
    resp
}

async fn api(
    gate: &Gate,
    route: routes::Route,
    mut req: Request,
    next: Next,
) -> (Response, Outcome) {
    // In flight from arrival: added latency stands for time spent at Okta.
    let in_flight = gate.concurrency.enter();
    if let Some(delay) = gate.latency() {
        tokio::time::sleep(delay).await;
    }
    let fault = gate.faults.draw();
    // Who is calling, as far as the credential says (a DPoP proof is not checked here, so its
    // jti is not spent): answers before authentication still report the caller's bucket, and a
    // request refused for a fault, the concurrency limit or the rate limit leaves the proof
    // usable; the SDKs resend the same request, proof included, after a 429 or 5xx.
    let principal_key = match route.kind {
        RouteKind::Token => Some(ANONYMOUS.to_string()),
        _ => auth::principal_key_hint(gate, req.headers()),
    };
    let peek = |gate: &Gate| {
        let key = principal_key.as_deref().unwrap_or(ANONYMOUS);
        gate.limiter.peek(route.bucket, key, gate.clock.now())
    };

    let mut truncate = false;
    match fault {
        Some(Fault::Status(status)) => {
            let mut resp = Fault::error(status).into_response();
            set_rate_headers(resp.headers_mut(), &peek(gate));
            return (resp, Outcome::Normal);
        }
        Some(Fault::Drop) => return (dropped_connection(), Outcome::Dropped),
        Some(Fault::Slow(delay)) => tokio::time::sleep(delay).await,
        Some(Fault::Truncate) => truncate = true,
        None => {}
    }

    if in_flight.over_limit {
        gate.limiter.count_concurrency_throttle(route.bucket);
        let mut resp = OktaError::rate_limited().into_response();
        let reset = gate.clock.now().timestamp() + CONCURRENCY_RESET_ESTIMATE_S;
        let zero = Decision {
            allowed: false,
            limit: 0,
            remaining: 0,
            reset_epoch: reset,
        };
        set_rate_headers(resp.headers_mut(), &zero);
        return (resp, Outcome::Normal);
    }

    // Requests without a valid credential are answered 401 and counted against nobody.
    let decision = match &principal_key {
        Some(key) => gate.limiter.check(route.bucket, key, gate.clock.now()),
        None => peek(gate),
    };
    if !decision.allowed {
        let mut resp = OktaError::rate_limited().into_response();
        set_rate_headers(resp.headers_mut(), &decision);
        return (resp, Outcome::Normal);
    }

    let who = match route.kind {
        RouteKind::Token => None,
        _ => match authenticate_request(gate, &req) {
            Ok(who) => Some(who),
            Err(failure) => {
                let mut resp = unauthorized(failure);
                set_rate_headers(resp.headers_mut(), &decision);
                return (resp, Outcome::Normal);
            }
        },
    };

    if let (Some(who), Some(scope)) = (&who, route.scope)
        && let crate::principal::Principal::OAuthClient { scopes, .. } = &who.principal
        && !routes::scopes_cover(scopes, scope)
    {
        let origin = match &who.origin {
            Some(origin) => origin.clone(),
            None => format!("http://{}", request_host(req.headers()).unwrap_or_default()),
        };
        let challenge =
            auth::insufficient_scope_challenge(who.scheme, &origin, req.uri().path(), scope);
        let mut resp = StatusCode::FORBIDDEN.into_response();
        if let Ok(v) = HeaderValue::from_str(&challenge) {
            resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
        }
        set_rate_headers(resp.headers_mut(), &decision);
        return (resp, Outcome::Normal);
    }

    if let Some(who) = who {
        req.extensions_mut().insert(who.principal);
    }
    let mut resp = next.run(req).await;
    set_rate_headers(resp.headers_mut(), &decision);
    drop(in_flight);
    if truncate {
        (truncated(resp).await, Outcome::Truncated)
    } else {
        (resp, Outcome::Normal)
    }
}

fn set_rate_headers(headers: &mut HeaderMap, d: &Decision) {
    headers.insert("x-rate-limit-limit", HeaderValue::from(d.limit));
    headers.insert("x-rate-limit-remaining", HeaderValue::from(d.remaining));
    headers.insert("x-rate-limit-reset", HeaderValue::from(d.reset_epoch));
}

/// A response whose body fails at once: hyper closes the connection before answering.
fn dropped_connection() -> Response {
    let failing = futures::stream::iter([Err::<bytes::Bytes, _>(std::io::Error::other(
        "injected fault: dropped connection",
    ))]);
    Response::new(Body::from_stream(failing))
}

/// Announces the full length, sends half the body, then fails: the client sees a short body
/// and a closed connection.
async fn truncated(resp: Response) -> Response {
    let (mut parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let announced = bytes.len().max(2);
    let sent = bytes.slice(..bytes.len() / 2);
    parts
        .headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(announced));
    // The pause lets hyper flush the head and the first half before the connection breaks.
    let chunks = futures::stream::iter([Ok(sent)]).chain(futures::stream::once(async {
        tokio::time::sleep(TRUNCATE_PAUSE).await;
        Err(std::io::Error::other("injected fault: truncated body"))
    }));
    Response::from_parts(parts, Body::from_stream(chunks))
}
