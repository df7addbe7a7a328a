//! The Okta Management API: one module per resource, plus pagination and filters.

pub mod apps;
pub mod factors;
pub mod filter;
pub mod groups;
pub mod idps;
pub mod logs;
pub mod pagination;
pub mod roles;
pub mod users;

use crate::clock::Clock;
use crate::error::{OktaError, Result};
use crate::model::{Actor, Ctx, Org, Ts};
use crate::principal::Principal;
use axum::Router;
use axum::extract::Extension;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use parking_lot::{RwLock, RwLockWriteGuard};
use serde_json::{Map, Value};
use std::sync::Arc;

/// What every handler shares: the org and the clock.
#[derive(Debug)]
pub struct AppState {
    pub org: RwLock<Org>,
    pub clock: Arc<dyn Clock>,
    /// `http` or `https`, for links.
    pub scheme: &'static str,
    /// Used for links when a request carries no `Host` header.
    pub fallback_origin: RwLock<String>,
}

pub type Shared = Arc<AppState>;

/// The caller, as the gate recorded it (absent only when no gate runs).
pub type Caller = Option<Extension<Principal>>;

impl AppState {
    pub fn new(org: Org, clock: Arc<dyn Clock>, scheme: &'static str) -> Self {
        AppState {
            org: RwLock::new(org),
            clock,
            scheme,
            fallback_origin: RwLock::new(String::new()),
        }
    }

    pub fn now(&self) -> Ts {
        self.clock.now().timestamp_millis()
    }

    /// The org locked for one write request, with that request's System Log context.
    /// The context is taken under the lock so event times follow the order of writes.
    pub fn begin_write(&self, caller: &Caller, uri: &Uri) -> (RwLockWriteGuard<'_, Org>, Ctx) {
        let org = self.org.write();
        let c = ctx(&org, caller, self.now(), uri);
        (org, c)
    }

    pub fn origin(&self, headers: &HeaderMap, uri: &Uri) -> String {
        pagination::origin(headers, uri, self.scheme, &self.fallback_origin.read())
    }
}

/// The System Log context of one write request.
pub fn ctx(org: &Org, caller: &Caller, now: Ts, uri: &Uri) -> Ctx {
    let actor = match caller.as_ref().map(|Extension(p)| p) {
        Some(Principal::OAuthClient { client_id, .. }) => Actor::client(client_id),
        _ => org.token_actor(),
    };
    let mut c = Ctx::new(actor, now, uri.path());
    c.user_agent = "okta-emulator-client".into();
    c
}

/// A JSON request body as an object; 400 E0000003 when it is not one.
pub fn json_object(body: &Bytes) -> Result<Map<String, Value>> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(OktaError::malformed_body()),
    }
}

/// One object with `_links` spliced in.
pub fn object_response(status: StatusCode, object: &[u8], links: Option<&str>) -> Response {
    let mut w = Vec::with_capacity(object.len() + 128);
    match links {
        Some(l) => crate::model::splice_links(&mut w, object, l),
        None => w.extend_from_slice(object),
    }
    let mut resp = (status, Bytes::from(w)).into_response();
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    resp
}

/// A `serde_json::Value` answer.
pub fn value_response(status: StatusCode, value: &Value) -> Response {
    object_response(status, &serde_json::to_vec(value).unwrap_or_default(), None)
}

pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// `{"self":{"href":"…"}}`
pub fn self_link(origin: &str, path: &str) -> String {
    format!(r#"{{"self":{{"href":"{origin}{path}"}}}}"#)
}

/// Every `/api/v1` route.
pub fn router(state: Shared) -> Router {
    Router::new()
        .merge(users::routes())
        .merge(groups::routes())
        .merge(apps::routes())
        .merge(roles::routes())
        .merge(idps::routes())
        .merge(factors::routes())
        .merge(logs::routes())
        .with_state(state)
}
