//! `/v1/orgs/{org}/posture`: the open findings of the org's latest posture run (kept by
//! `oktasync posture` and by serve after each run that changed the mirror).

use crate::auth::Caller;
use crate::extract::{Path, Query};
use crate::paging::{Page, PageParams, PageRequest};
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;
use axum::Extension;
use axum::Json;
use axum::extract::State;
use oktasync_store::{MirrorReader, Severity, StoredFinding};
use serde::Deserialize;
use utoipa::IntoParams;

/// Filters of the findings; all that are given must hold.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindingFilter {
    /// Only findings of checks of this severity or above: `info`, `low`, `medium`, `high`,
    /// `critical`.
    pub min_severity: Option<String>,
    /// Only findings of this check.
    pub check: Option<String>,
    /// Resolved findings too (with `resolved_at`).
    pub include_resolved: Option<bool>,
}

#[utoipa::path(get, path = "/v1/orgs/{org}/posture", tag = "posture",
    params(("org" = String, Path, description = "The org's short name"), FindingFilter, PageParams),
    responses((status = 200, body = Page<StoredFinding>), (status = 400, body = crate::problem::Problem),
              (status = 404, body = crate::problem::Problem)),
    security(("bearer" = [])))]
/// Posture findings, by check and subject: what fails which check, the evidence, and when it
/// was first and last seen (and resolved).
pub async fn findings(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(org): Path<String>,
    Query(filter): Query<FindingFilter>,
    Query(paging): Query<PageParams>,
) -> ApiResult<Json<Page<StoredFinding>>> {
    let id = state.org(&caller, &org).await?;
    let page = PageRequest::new(&paging, &format!("posture {id:?} {filter:?}"))?;
    let min = filter
        .min_severity
        .as_deref()
        .map(str::parse::<Severity>)
        .transpose()
        .map_err(|e| ApiError::invalid(e.to_string()))?
        .unwrap_or(Severity::Info);
    let mut findings = state
        .store
        .posture_findings(id, filter.include_resolved.unwrap_or(false))
        .await?;
    findings.retain(|f| {
        f.severity.parse::<Severity>().is_ok_and(|s| s >= min)
            && filter.check.as_ref().is_none_or(|c| &f.check_id == c)
    });
    Ok(Json(page.page_of(findings, |f| {
        format!("{}\u{1f}{}", f.check_id, f.subject)
    })))
}
