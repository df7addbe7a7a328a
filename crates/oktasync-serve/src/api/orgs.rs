//! `/v1/orgs`: the orgs of the mirror, their counts, runs and freshness.

use super::runs::Run;
use crate::auth::Caller;
use crate::extract::Path;
use crate::problem::ApiResult;
use crate::state::AppState;
use axum::Extension;
use axum::Json;
use axum::extract::State;
use oktasync_store::{MirrorReader, MirrorWriter, OrgId, OrgRecord, RunOutcome};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// An org of the mirror.
#[derive(Debug, Serialize, ToSchema)]
pub struct Org {
    /// Its short name, used in URLs.
    pub name: String,
    pub url: String,
    pub created_at: String,
}

impl From<OrgRecord> for Org {
    fn from(o: OrgRecord) -> Self {
        Self {
            name: o.name,
            url: o.url,
            created_at: o.created_at,
        }
    }
}

/// The orgs a token reaches.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgList {
    pub items: Vec<Org>,
}

/// One org: what the mirror holds of it and how fresh it is.
#[derive(Debug, Serialize, ToSchema)]
pub struct OrgDetail {
    #[serde(flatten)]
    pub org: Org,
    /// Rows per mirrored table.
    pub counts: BTreeMap<String, u64>,
    /// When its last successful run ended.
    pub last_success_at: Option<String>,
    /// When the mirror was last known current: the later of the last successful run and the
    /// last successful scheduled poll (a poll that finds no event records no run).
    pub fresh_at: Option<String>,
    /// Seconds since `fresh_at`: how stale the mirror may be.
    pub age_seconds: Option<f64>,
    /// Whether a run is under way (here or in another instance).
    pub syncing: bool,
    /// Whether this instance keeps the org fresh on a schedule.
    pub scheduled: bool,
    /// The most recent runs, newest first.
    pub recent_runs: Vec<Run>,
}

#[utoipa::path(get, path = "/v1/orgs", tag = "orgs",
    responses((status = 200, body = OrgList), (status = 401, body = crate::problem::Problem)),
    security(("bearer" = [])))]
/// The orgs of the mirror the token reaches.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<OrgList>> {
    let items = state
        .store
        .org_list()
        .await?
        .into_iter()
        .filter(|o| caller.reaches(&o.name))
        .map(Org::from)
        .collect();
    Ok(Json(OrgList { items }))
}

#[utoipa::path(get, path = "/v1/orgs/{org}", tag = "orgs",
    params(("org" = String, Path, description = "The org's short name")),
    responses((status = 200, body = OrgDetail), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = [])))]
/// One org: counts, recent runs, freshness.
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(org): Path<String>,
) -> ApiResult<Json<OrgDetail>> {
    let id = state.org(&caller, &org).await?;
    let record = state
        .store
        .org_list()
        .await?
        .into_iter()
        .find(|o| o.id == id)
        .ok_or_else(|| crate::problem::ApiError::not_found(format!("no org {org:?}")))?;
    let counts = state.store.counts(id).await?;
    let runs = state.store.recent_runs(id, 10).await?;
    let last_success_at = state.store.last_success(id).await?;
    let fresh_at = fresh_at(&state, id).await?;
    let age_seconds = fresh_at.as_deref().and_then(|t| age(&state, t));
    Ok(Json(OrgDetail {
        syncing: runs.iter().any(|r| r.outcome == RunOutcome::Running),
        scheduled: state.scheduler.org(&record.name).is_some(),
        org: record.into(),
        counts,
        last_success_at,
        fresh_at,
        age_seconds,
        recent_runs: runs.into_iter().map(Run::from).collect(),
    }))
}

/// When the org's mirror was last known current (both are Okta-form UTC times, which
/// compare as text).
pub async fn fresh_at(state: &AppState, org: OrgId) -> ApiResult<Option<String>> {
    let run = state.store.last_success(org).await?;
    let poll = state
        .store
        .checkpoint(org, crate::scheduler::FRESH_AT)
        .await?;
    Ok(run.max(poll))
}

/// Seconds from `t` to now.
pub fn age(state: &AppState, t: &str) -> Option<f64> {
    let t = chrono::DateTime::parse_from_rfc3339(t).ok()?;
    let seconds = (state.clock.now() - t.with_timezone(&chrono::Utc)).num_milliseconds() as f64;
    Some((seconds / 1000.0).max(0.0))
}
