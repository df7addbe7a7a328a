//! `/v1/orgs/{org}/changes`: the change log, oldest first.

use super::users::since_param;
use crate::auth::Caller;
use crate::extract::{Path, Query};
use crate::paging::{Page, PageParams, PageRequest};
use crate::problem::{ApiError, ApiResult, ProblemKind};
use crate::state::AppState;
use axum::Extension;
use axum::Json;
use axum::extract::State;
use oktasync_store::{ChangeQuery, ChangeRecord, MirrorReader};
use serde::Deserialize;
use utoipa::IntoParams;

/// Filters of the change log; all that are given must hold.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ChangeFilter {
    /// Only changes at or after this time (RFC 3339).
    pub since: Option<String>,
    /// Only changes that concern this user (id or login).
    pub user: Option<String>,
    /// Only changes that concern this group (id or name).
    pub group: Option<String>,
}

#[utoipa::path(get, path = "/v1/orgs/{org}/changes", tag = "changes",
    params(("org" = String, Path, description = "The org's short name"), ChangeFilter, PageParams),
    responses((status = 200, body = Page<ChangeRecord>), (status = 400, body = crate::problem::Problem),
              (status = 404, body = crate::problem::Problem)),
    security(("bearer" = [])))]
/// Changes to the mirror, oldest first: rows added, updated (with old and new values) and
/// removed, with the Okta event and actor that caused them where known.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(org): Path<String>,
    Query(filter): Query<ChangeFilter>,
    Query(paging): Query<PageParams>,
) -> ApiResult<Json<Page<ChangeRecord>>> {
    let id = state.org(&caller, &org).await?;
    let page = PageRequest::new(&paging, &format!("changes {id:?} {filter:?}"))?;
    let after = match &page.after {
        Some(key) => key.parse().map_err(|_| {
            ApiError::new(
                ProblemKind::InvalidPageToken,
                "page_token is not valid here",
            )
        })?,
        None => 0,
    };
    let since = since_param(filter.since.as_deref())?;
    let user_id = match &filter.user {
        Some(u) => Some(
            state
                .store
                .user(id, u)
                .await?
                .map(|d| d.user.id)
                // A user removed from Okta is still named by id in the log.
                .unwrap_or_else(|| u.clone()),
        ),
        None => None,
    };
    let group_id = match &filter.group {
        // A group removed from Okta is still named by id in the log.
        Some(g) => Some(
            state
                .store
                .find_group(id, g)
                .await?
                .map_or_else(|| g.clone(), |d| d.id),
        ),
        None => None,
    };
    let query = ChangeQuery {
        since,
        user_id,
        group_id,
        limit: Some(page.size + 1),
        after: Some(after),
        entity: None,
    };
    let changes = state.store.changes(id, &query).await?;
    Ok(Json(page.page(changes, |c| c.change_id.to_string())))
}
