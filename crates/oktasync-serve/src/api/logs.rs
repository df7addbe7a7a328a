//! `/v1/orgs/{org}/logs` and `/v1/orgs/{org}/alerts`: the System Log events kept in the
//! mirror and the alerts detection raised over them, newest first.

use super::users::since_param;
use crate::auth::Caller;
use crate::extract::{Path, Query};
use crate::paging::{Page, PageParams, PageRequest};
use crate::problem::{ApiError, ApiResult, ProblemKind};
use crate::state::AppState;
use axum::Extension;
use axum::Json;
use axum::extract::State;
use oktasync_store::{AlertQuery, LogQuery, MirrorReader, Severity, StoredAlert, StoredLogEvent};
use serde::Deserialize;
use utoipa::IntoParams;

/// Filters of the kept System Log; all that are given must hold.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogFilter {
    /// Only events published at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Only events of this type; `*` and `?` are wildcards (`user.session.*`).
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub event_type: Option<String>,
    /// Only events by this actor (id, or alternateId such as a login).
    pub actor: Option<String>,
    /// Only events with this target (id or alternateId).
    pub target: Option<String>,
    /// Only events with this outcome (`SUCCESS`, `FAILURE`, `DENY`, ...).
    pub outcome: Option<String>,
}

/// The key of a newest-first list: `published|seq`.
fn before(page: &PageRequest) -> ApiResult<Option<(String, i64)>> {
    page.after
        .as_deref()
        .map(|key| {
            key.rsplit_once('|')
                .and_then(|(t, n)| Some((t.to_string(), n.parse().ok()?)))
                .ok_or_else(|| {
                    ApiError::new(
                        ProblemKind::InvalidPageToken,
                        "page_token is not valid here",
                    )
                })
        })
        .transpose()
}

#[utoipa::path(get, path = "/v1/orgs/{org}/logs", tag = "logs",
    params(("org" = String, Path, description = "The org's short name"), LogFilter, PageParams),
    responses((status = 200, body = Page<StoredLogEvent>), (status = 400, body = crate::problem::Problem),
              (status = 404, body = crate::problem::Problem)),
    security(("bearer" = [])))]
/// The System Log events kept in the mirror, newest first, each with its typed columns and
/// the event as Okta returned it (`raw`).
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(org): Path<String>,
    Query(filter): Query<LogFilter>,
    Query(paging): Query<PageParams>,
) -> ApiResult<Json<Page<StoredLogEvent>>> {
    let id = state.org(&caller, &org).await?;
    let page = PageRequest::new(&paging, &format!("logs {id:?} {filter:?}"))?;
    let query = LogQuery {
        since: since_param(filter.since.as_deref())?,
        event_type: filter.event_type.clone(),
        actor: filter.actor.clone(),
        target: filter.target.clone(),
        outcome: filter.outcome.clone(),
        limit: Some(page.size + 1),
        before: before(&page)?,
    };
    let events = state.store.log_events(id, &query).await?;
    Ok(Json(
        page.page(events, |e| format!("{}|{}", e.published, e.seq)),
    ))
}

/// Filters of the alerts; all that are given must hold.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AlertFilter {
    /// Only alerts whose latest event is at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Only alerts of this severity or above: `info`, `low`, `medium`, `high`, `critical`.
    pub severity: Option<String>,
    /// Only alerts of this rule; `*` and `?` are wildcards (`okta.mfa.*`).
    pub rule: Option<String>,
}

#[utoipa::path(get, path = "/v1/orgs/{org}/alerts", tag = "alerts",
    params(("org" = String, Path, description = "The org's short name"), AlertFilter, PageParams),
    responses((status = 200, body = Page<StoredAlert>), (status = 400, body = crate::problem::Problem),
              (status = 404, body = crate::problem::Problem)),
    security(("bearer" = [])))]
/// The alerts detection raised, newest first: the rule, its severity, what it is about, the
/// evidence and the matching events' uuids (in `logs`).
pub async fn alerts(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(org): Path<String>,
    Query(filter): Query<AlertFilter>,
    Query(paging): Query<PageParams>,
) -> ApiResult<Json<Page<StoredAlert>>> {
    let id = state.org(&caller, &org).await?;
    let page = PageRequest::new(&paging, &format!("alerts {id:?} {filter:?}"))?;
    let query = AlertQuery {
        since: since_param(filter.since.as_deref())?,
        severities: match &filter.severity {
            Some(s) => s
                .parse::<Severity>()
                .map_err(|e| ApiError::invalid(e.to_string()))?
                .and_above()
                .map(|s| s.as_str().to_string())
                .collect(),
            None => Vec::new(),
        },
        rule: filter.rule.clone(),
        limit: Some(page.size + 1),
        before: before(&page)?,
    };
    let alerts = state.store.alerts(id, &query).await?;
    Ok(Json(
        page.page(alerts, |a| format!("{}|{}", a.last_event, a.id)),
    ))
}
