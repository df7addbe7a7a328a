//! `/v1/orgs/{org}/runs` and `/v1/orgs/{org}/syncs`: the record of runs, and starting one.

use crate::auth::Caller;
use crate::extract::{Path, Query};
use crate::paging::{Page, PageParams, PageRequest};
use crate::problem::{ApiError, ApiResult, ProblemKind};
use crate::state::AppState;
use axum::Extension;
use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use oktasync_store::{MirrorReader, RunId, SyncRunRecord};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// One sync run.
#[derive(Debug, Serialize, ToSchema)]
pub struct Run {
    pub run_id: i64,
    /// `full`, `incremental` or `reconcile`.
    pub kind: String,
    /// `running`, `succeeded`, `failed` or `interrupted`.
    pub outcome: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    pub error: Option<String>,
    /// The resources it read.
    pub resources: Vec<String>,
    /// Objects read per resource.
    #[schema(value_type = Object)]
    pub counts: Value,
    /// Rows added, updated and removed per table.
    #[schema(value_type = Object)]
    pub changes: Value,
    pub api_calls: Option<i64>,
    pub fewest_calls: Option<i64>,
    #[schema(value_type = Object)]
    pub calls_by_bucket: Value,
    pub http_429: Option<i64>,
    pub retries: Option<i64>,
    pub rate_limit_wait_s: Option<f64>,
}

impl From<SyncRunRecord> for Run {
    fn from(r: SyncRunRecord) -> Self {
        let json = |text: Option<String>| {
            text.and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Value::Object(Default::default()))
        };
        Self {
            run_id: r.run_id,
            kind: r.kind.as_str().to_owned(),
            outcome: r.outcome.as_str().to_owned(),
            started_at: r.started_at,
            ended_at: r.ended_at,
            error: r.error,
            resources: serde_json::from_str(&r.resources).unwrap_or_default(),
            counts: json(r.counts),
            changes: json(r.changes),
            api_calls: r.api_calls,
            fewest_calls: r.fewest_calls,
            calls_by_bucket: json(r.calls_by_bucket),
            http_429: r.http_429,
            retries: r.retries,
            rate_limit_wait_s: r.rate_limit_wait_s,
        }
    }
}

#[utoipa::path(get, path = "/v1/orgs/{org}/runs", tag = "runs",
    params(("org" = String, Path, description = "The org's short name"), PageParams),
    responses((status = 200, body = Page<Run>), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = [])))]
/// The org's runs, newest first.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(org): Path<String>,
    Query(paging): Query<PageParams>,
) -> ApiResult<Json<Page<Run>>> {
    let id = state.org(&caller, &org).await?;
    let page = PageRequest::new(&paging, &format!("runs {id:?}"))?;
    let before = match &page.after {
        Some(key) => Some(RunId(key.parse().map_err(|_| {
            ApiError::new(
                ProblemKind::InvalidPageToken,
                "page_token is not valid here",
            )
        })?)),
        None => None,
    };
    let runs = state.store.runs_page(id, before, page.size + 1).await?;
    Ok(Json(
        page.page(runs.into_iter().map(Run::from).collect(), |r| {
            r.run_id.to_string()
        }),
    ))
}

/// A sync to start.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// A full sync (a reconcile of an existing mirror) instead of an incremental one.
    #[serde(default)]
    pub full: bool,
}

/// A sync started, or the one already running.
#[derive(Debug, Serialize, ToSchema)]
pub struct SyncStarted {
    /// The run's id: `GET /v1/orgs/{org}/syncs/{id}` follows it.
    pub id: i64,
    /// Whether it was running already (this request started nothing new).
    pub already_running: bool,
    pub run: Run,
}

#[utoipa::path(post, path = "/v1/orgs/{org}/syncs", tag = "syncs",
    params(("org" = String, Path, description = "The org's short name")),
    request_body(content = SyncRequest, description = "`{\"full\": false}` (the default) syncs incrementally when it can", content_type = "application/json"),
    responses(
        (status = 202, body = SyncStarted, description = "Started; `Location` names the run"),
        (status = 200, body = SyncStarted, description = "One was running already: that one"),
        (status = 403, body = crate::problem::Problem),
        (status = 404, body = crate::problem::Problem, description = "No such org, or this instance does not sync it"),
        (status = 409, body = crate::problem::Problem)),
    security(("bearer" = [])))]
/// Starts a sync now (the "Sync groups" button); while one runs, answers that one.
pub async fn start(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(org): Path<String>,
    body: axum::body::Bytes,
) -> ApiResult<Response> {
    let id = state.org(&caller, &org).await?;
    // No body is `{}`: a button needs to send nothing.
    let request: SyncRequest = if body.iter().all(u8::is_ascii_whitespace) {
        SyncRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| {
            ApiError::invalid(format!(
                "the body must be JSON such as {{\"full\": false}}: {e}"
            ))
        })?
    };
    let Some(scheduled) = state.scheduler.org(&org).cloned() else {
        return Err(ApiError::not_found(format!(
            "this server does not sync the org {org:?}: it has no credentials for it (add it to [[orgs]])"
        )));
    };
    let started = state.scheduler.request(&scheduled, request.full).await?;
    let record = state
        .store
        .run(id, started.run)
        .await?
        .ok_or_else(|| ApiError::new(ProblemKind::Internal, "the run was not recorded"))?;
    let status = if started.already_running {
        StatusCode::OK
    } else {
        StatusCode::ACCEPTED
    };
    let location = format!("/v1/orgs/{org}/syncs/{}", started.run.0);
    let body = SyncStarted {
        id: started.run.0,
        already_running: started.already_running,
        run: record.into(),
    };
    Ok((status, [(header::LOCATION, location)], Json(body)).into_response())
}

#[utoipa::path(get, path = "/v1/orgs/{org}/syncs/{id}", tag = "syncs",
    params(("org" = String, Path, description = "The org's short name"),
           ("id" = i64, Path, description = "The run's id")),
    responses((status = 200, body = Run), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = [])))]
/// A sync's state and, once over, its summary.
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((org, run)): Path<(String, i64)>,
) -> ApiResult<Json<Run>> {
    let id = state.org(&caller, &org).await?;
    let record = state
        .store
        .run(id, RunId(run))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("the org {org:?} has no run {run}")))?;
    Ok(Json(record.into()))
}
