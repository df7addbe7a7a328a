//! The Okta Management API: one module per resource, plus pagination and filters.

pub mod api_tokens;
pub mod apps;
pub mod authenticators;
pub mod factors;
pub mod filter;
pub mod grants;
pub mod group_rules;
pub mod groups;
pub mod idps;
pub mod log_streams;
pub mod logs;
pub mod pagination;
pub mod policies;
pub mod roles;
pub mod threats;
pub mod users;
pub mod zones;

use crate::clock::Clock;
use crate::error::{OktaError, Result};
use crate::model::{Actor, Ctx, Org, Ts};
use crate::principal::Principal;
use axum::Router;
use axum::extract::FromRequestParts;
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use parking_lot::{RwLock, RwLockWriteGuard};
use serde_json::{Map, Value};
use std::convert::Infallible;
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
    /// Normal sign-in activity (`/__emulator/activity`, `--activity-rate`), made on first
    /// use. Taken before the org's lock.
    pub activity: parking_lot::Mutex<Option<crate::activity::Activity>>,
}

pub type Shared = Arc<AppState>;

/// The caller of one request, as the gate recorded it: who (absent only when no gate runs)
/// and the request's `X-Okta-Request-Id`, which its System Log events carry.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub principal: Option<Principal>,
    pub request_id: Option<String>,
}

/// The id the gate gives a request (a request extension): the `X-Okta-Request-Id` header
/// and the `debugContext.debugData.requestId` of the events it causes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        Ok(Caller {
            principal: parts.extensions.get::<Principal>().cloned(),
            request_id: parts.extensions.get::<RequestId>().map(|r| r.0.clone()),
        })
    }
}

impl AppState {
    pub fn new(org: Org, clock: Arc<dyn Clock>, scheme: &'static str) -> Self {
        AppState {
            org: RwLock::new(org),
            clock,
            scheme,
            fallback_origin: RwLock::new(String::new()),
            activity: parking_lot::Mutex::new(None),
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

    /// Writes `rate` sign-ins a minute of activity over `(from, to]` (the org's default rate
    /// when `None`).
    pub fn play_activity(&self, from: Ts, to: Ts, rate: Option<f64>) -> crate::activity::Summary {
        let mut activity = self.activity.lock();
        let mut org = self.org.write();
        let activity = activity.get_or_insert_with(|| crate::activity::Activity::new(&org));
        let rate = rate.unwrap_or_else(|| crate::activity::Activity::default_rate(&org));
        activity.run(&mut org, from, to, rate)
    }

    pub fn origin(&self, headers: &HeaderMap, uri: &Uri) -> String {
        pagination::origin(headers, uri, self.scheme, &self.fallback_origin.read())
    }
}

/// The System Log context of one write request: the actor is the OAuth service app, or the
/// admin user an API token belongs to (the org's Super Admin; for a token configured as not
/// Super Admin, an admin with a lesser role).
pub fn ctx(org: &Org, caller: &Caller, now: Ts, uri: &Uri) -> Ctx {
    let (actor, super_admin) = match &caller.principal {
        Some(Principal::OAuthClient {
            client_id,
            super_admin,
            ..
        }) => (Actor::client(client_id), *super_admin),
        Some(Principal::ApiToken {
            super_admin: false, ..
        }) => (org.limited_admin_actor(), false),
        _ => (org.token_actor(), true),
    };
    let mut c = Ctx::new(actor, now, uri.path());
    c.user_agent = "okta-emulator-client".into();
    c.request_id = caller.request_id.clone();
    c.super_admin = super_admin;
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

/// A `/lifecycle/{op}` path's operation: `activate` → true, `deactivate` → false; anything
/// else is a path Okta does not serve.
pub fn lifecycle_op(op: &str, uri: &Uri) -> Result<bool> {
    match op {
        "activate" => Ok(true),
        "deactivate" => Ok(false),
        _ => Err(crate::error::OktaError::no_route(uri.path())),
    }
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
        .merge(group_rules::routes())
        .merge(apps::routes())
        .merge(roles::routes())
        .merge(idps::routes())
        .merge(factors::routes())
        .merge(logs::routes())
        .merge(api_tokens::routes())
        .merge(policies::routes())
        .merge(authenticators::routes())
        .merge(zones::routes())
        .merge(threats::routes())
        .merge(log_streams::routes())
        .merge(grants::routes())
        .with_state(state)
}
