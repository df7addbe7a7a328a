//! `/v1/orgs/{org}/groups`: groups, one group, and its members.

use super::users::{AtQuery, group_id, page_of_users};
use crate::auth::Caller;
use crate::extract::{Path, Query};
use crate::paging::{Page, PageParams, PageRequest};
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;
use axum::Extension;
use axum::Json;
use axum::extract::State;
use oktasync_store::MirrorReader;
use oktasync_store::as_of::GroupAsOf;
use oktasync_store::query::{GroupFilter, GroupRow, GroupSummary, UserFilter, UserRow};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Filters of the group list; all that are given must hold.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GroupQuery {
    /// Part of the name, any letter case.
    pub search: Option<String>,
    /// `OKTA_GROUP`, `APP_GROUP` or `BUILT_IN`, any letter case.
    #[serde(rename = "type")]
    #[param(rename = "type")]
    pub group_type: Option<String>,
    /// Only the groups assigned to this app (id or label).
    pub app: Option<String>,
}

#[utoipa::path(get, path = "/v1/orgs/{org}/groups", tag = "groups",
    params(("org" = String, Path, description = "The org's short name"), GroupQuery, PageParams),
    responses((status = 200, body = Page<GroupRow>), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = [])))]
/// Groups with their member counts, in id order.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(org): Path<String>,
    Query(query): Query<GroupQuery>,
    Query(paging): Query<PageParams>,
) -> ApiResult<Json<Page<GroupRow>>> {
    let id = state.org(&caller, &org).await?;
    let app_id = match &query.app {
        Some(app) => Some(
            state
                .store
                .find_app(id, app)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("the org has no app {app:?}")))?
                .id,
        ),
        None => None,
    };
    let filter = GroupFilter {
        search: query.search.clone().filter(|s| !s.is_empty()),
        group_type: query.group_type.clone().filter(|t| !t.is_empty()),
        app_id,
    };
    let page = PageRequest::new(&paging, &format!("groups {id:?} {filter:?}"))?;
    let groups = state
        .store
        .groups_page(id, &filter, page.after.as_deref(), page.size + 1)
        .await?;
    Ok(Json(page.page(groups, |g| g.id.clone())))
}

/// A group now, or as of `?at=`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum GroupAnswer {
    Now(Box<GroupSummary>),
    AsOf(Box<GroupAsOf>),
}

#[utoipa::path(get, path = "/v1/orgs/{org}/groups/{group}", tag = "groups",
    params(("org" = String, Path, description = "The org's short name"),
           ("group" = String, Path, description = "The group's id or name"), AtQuery),
    responses((status = 200, body = GroupAnswer, description = "The group now (GroupSummary), or with `at` as of then, with its members (GroupAsOf)"),
              (status = 404, body = crate::problem::Problem)),
    security(("bearer" = [])))]
/// One group: its apps and the admin roles it grants; with `at`, its members, apps and roles
/// then.
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((org, group)): Path<(String, String)>,
    Query(at): Query<AtQuery>,
) -> ApiResult<Json<GroupAnswer>> {
    let id = state.org(&caller, &org).await?;
    match at.time()? {
        None => {
            let now = state
                .store
                .group_summary(id, &group)
                .await?
                .ok_or_else(|| {
                    ApiError::not_found(format!("the org {org:?} has no group {group:?}"))
                })?;
            Ok(Json(GroupAnswer::Now(Box::new(now))))
        }
        Some(at) => {
            // A group deleted since is still known by id to the change log.
            let now = state.store.find_group(id, &group).await?;
            let group_id = now.map_or(group, |g| g.id);
            let then =
                oktasync_store::as_of::group_as_of(state.store.as_ref(), id, &group_id, at).await?;
            Ok(Json(GroupAnswer::AsOf(Box::new(then))))
        }
    }
}

#[utoipa::path(get, path = "/v1/orgs/{org}/groups/{group}/members", tag = "groups",
    params(("org" = String, Path, description = "The org's short name"),
           ("group" = String, Path, description = "The group's id or name"), PageParams),
    responses((status = 200, body = Page<UserRow>), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = [])))]
/// The group's members, in id order.
pub async fn members(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((org, group)): Path<(String, String)>,
    Query(paging): Query<PageParams>,
) -> ApiResult<Json<Page<UserRow>>> {
    let id = state.org(&caller, &org).await?;
    let filter = UserFilter {
        group_id: Some(group_id(&state, id, &group).await?),
        ..UserFilter::default()
    };
    Ok(Json(
        page_of_users(&state, id, &filter, &paging, "members").await?,
    ))
}
