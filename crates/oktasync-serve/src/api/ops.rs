//! Operations: liveness, readiness, metrics.

use crate::auth::authenticate;
use crate::problem::{ApiError, ApiResult, ProblemKind};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use oktasync_store::{MirrorReader, TokenScope};

#[utoipa::path(get, path = "/livez", tag = "operations",
    responses((status = 200, description = "The process is up", body = String, content_type = "text/plain")))]
/// The process answers.
pub async fn livez() -> &'static str {
    "ok\n"
}

#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses((status = 200, description = "Ready to serve", body = String, content_type = "text/plain"),
              (status = 503, body = crate::problem::Problem)))]
/// The mirror's database answers (its schema was brought up to date when the server started).
pub async fn readyz(State(state): State<AppState>) -> ApiResult<&'static str> {
    state.store.org_list().await.map_err(|e| {
        tracing::warn!(error = %e, "Not ready: the mirror cannot be read.");
        ApiError::new(
            ProblemKind::Unavailable,
            "the mirror's database cannot be read; the server's log says why",
        )
    })?;
    Ok("ready\n")
}

#[utoipa::path(get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"),
              (status = 401, body = crate::problem::Problem)))]
/// Metrics in Prometheus text format (names prefixed `oktasync_`).
pub async fn metrics(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<Response> {
    if !state.metrics_public {
        authenticate(&state, &headers, TokenScope::Read).await?;
    }
    for org in state.store.org_list().await? {
        if let Some(age) = super::orgs::fresh_at(&state, org.id)
            .await?
            .as_deref()
            .and_then(|t| super::orgs::age(&state, t))
        {
            crate::metrics::set_freshness(&org.name, age);
        }
    }
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
        .into_response())
}
