//! `/api/v1/authenticators`: the org's authenticators (list, unpaged as on Okta; get).
//! Read-only.

use super::pagination::{ArrayWriter, json_response};
use super::{Shared, object_response};
use crate::error::Result;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/authenticators", get(list))
        .route("/api/v1/authenticators/{id}", get(get_one))
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
    let org = s.org.read();
    let a = org.authenticator(&id)?;
    Ok(object_response(
        StatusCode::OK,
        &a.json(),
        Some(&a.links(&origin)),
    ))
}
