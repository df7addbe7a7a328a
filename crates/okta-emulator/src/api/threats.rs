//! `/api/v1/threats/configuration`: the org's ThreatInsight configuration (get; update).

use super::{Caller, Shared, json_object, object_response};
use crate::error::Result;
use crate::model::ThreatInsight;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;

pub fn routes() -> Router<Shared> {
    Router::new().route(
        "/api/v1/threats/configuration",
        get(get_configuration).post(update_configuration),
    )
}

/// `POST /api/v1/threats/configuration`: 200 with the new configuration.
async fn update_configuration(
    State(s): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response> {
    let body = json_object(&body)?;
    {
        let (mut org, c) = s.begin_write(&caller, &uri);
        org.update_threat_insight(&c, &body)?;
    }
    get_configuration(State(s), headers, uri).await
}

async fn get_configuration(
    State(s): State<Shared>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    let value = s.org.read().threat_insight.to_value();
    Ok(object_response(
        StatusCode::OK,
        &serde_json::to_vec(&value).unwrap_or_default(),
        Some(&ThreatInsight::links(&origin)),
    ))
}
