//! `/api/v1/apps/{id}/grants`: an app's OAuth 2.0 scope consent grants (list, unpaged as on
//! Okta, with `?expand=scope`; get; grant; revoke). The apps are the org's and its OAuth
//! service apps (see `model/grants.rs`).

use super::pagination::{ArrayWriter, ListQuery, json_response};
use super::{Caller, Shared, json_object, no_content, object_response};
use crate::error::{OktaError, Result};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use serde_json::Value;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/apps/{id}/grants", get(list).post(grant))
        .route(
            "/api/v1/apps/{id}/grants/{grant}",
            get(get_one).delete(revoke),
        )
}

/// `POST /api/v1/apps/{id}/grants` (`{"issuer": org URL, "scopeId": …}`): 201 with the
/// grant.
async fn grant(
    State(s): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    let body = json_object(&body)?;
    let text = |key: &str| body.get(key).and_then(Value::as_str);
    let (g, label) = {
        let (mut org, c) = s.begin_write(&caller, &uri);
        let g = org.grant_scope(&c, &id, text("issuer"), text("scopeId"), &origin)?;
        let label = org.app_or_service_app(&id)?.label.clone();
        (g, label)
    };
    Ok(object_response(
        StatusCode::CREATED,
        &serde_json::to_vec(&g.to_value(&origin, false)).unwrap_or_default(),
        Some(&g.links(&origin, &label)),
    ))
}

/// `DELETE /api/v1/apps/{id}/grants/{grantId}`: 204.
async fn revoke(
    State(s): State<Shared>,
    caller: Caller,
    Path((id, grant)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response> {
    let (mut org, c) = s.begin_write(&caller, &uri);
    org.revoke_grant(&c, &id, &grant)?;
    Ok(no_content())
}

/// Whether the request asks for `_embedded.scope` (`expand=scope`, the only expansion).
fn expand_scope(uri: &Uri) -> Result<bool> {
    Ok(ListQuery::parse(uri)?.value("expand") == Some("scope"))
}

async fn list(
    State(s): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let expand = expand_scope(&uri)?;
    let origin = s.origin(&headers, &uri);
    let org = s.org.read();
    let app = org.app_or_service_app(&id)?;
    let grants = org.grants_of(&app.id);
    let mut w = ArrayWriter::with_capacity(grants.len() * 800 + 2);
    for g in grants {
        let json = serde_json::to_vec(&g.to_value(&origin, expand)).unwrap_or_default();
        w.push(&json, Some(&g.links(&origin, &app.label)));
    }
    Ok(json_response(w.finish(), None))
}

async fn get_one(
    State(s): State<Shared>,
    Path((id, grant)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let expand = expand_scope(&uri)?;
    let origin = s.origin(&headers, &uri);
    let org = s.org.read();
    let app = org.app_or_service_app(&id)?;
    let g = org
        .grants_of(&app.id)
        .iter()
        .find(|g| g.id.as_str() == grant)
        .ok_or_else(|| OktaError::not_found(&grant, "OAuth2ScopeConsentGrant"))?;
    Ok(object_response(
        StatusCode::OK,
        &serde_json::to_vec(&g.to_value(&origin, expand)).unwrap_or_default(),
        Some(&g.links(&origin, &app.label)),
    ))
}
