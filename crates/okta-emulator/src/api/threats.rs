//! `/api/v1/threats/configuration`: the org's ThreatInsight configuration. Read-only.

use super::{Shared, object_response};
use crate::error::Result;
use crate::model::ThreatInsight;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;

pub fn routes() -> Router<Shared> {
    Router::new().route("/api/v1/threats/configuration", get(get_configuration))
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
