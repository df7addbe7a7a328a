//! `/api/v1/authenticators`: the org's authenticators (list, unpaged as on Okta; get;
//! activate and deactivate).

use super::pagination::{ArrayWriter, json_response};
use super::{Caller, Shared, object_response};
use crate::error::Result;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/authenticators", get(list))
        .route("/api/v1/authenticators/{id}", get(get_one))
        .route(
            "/api/v1/authenticators/{id}/lifecycle/{op}",
            post(lifecycle),
        )
}

async fn list(State(s): State<Shared>, headers: HeaderMap, uri: Uri) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    let org = s.org.read();
    let mut w = ArrayWriter::with_capacity(org.authenticators.len() * 900 + 2);
    for a in &org.authenticators {
        w.push(&a.json(), Some(&a.links(&origin)));
    }
    Ok(json_response(w.finish(), None))
}

async fn get_one(
    State(s): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    respond(&s, &origin, &id)
}

/// The authenticator as `GET /api/v1/authenticators/{id}` serves it.
fn respond(s: &Shared, origin: &str, id: &str) -> Result<Response> {
    let org = s.org.read();
    let a = org.authenticator(id)?;
    Ok(object_response(
        StatusCode::OK,
        &a.json(),
        Some(&a.links(origin)),
    ))
}

/// `POST /api/v1/authenticators/{id}/lifecycle/activate|deactivate`: 200 with the
/// authenticator.
async fn lifecycle(
    State(s): State<Shared>,
    caller: Caller,
    Path((id, op)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let active = super::lifecycle_op(&op, &uri)?;
    let origin = s.origin(&headers, &uri);
    let aid = {
        let (mut org, c) = s.begin_write(&caller, &uri);
        org.set_authenticator_active(&c, &id, active)?
    };
    respond(&s, &origin, aid.as_str())
}
