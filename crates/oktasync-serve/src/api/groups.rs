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
use oktasync_store::query::{GroupApp, GroupRole, GroupRow, UserFilter, UserRow};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
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

/// One group, with the apps it is assigned to and the admin roles it grants (its members
/// are their own list).
#[derive(Debug, Serialize, ToSchema)]
pub struct Group {
    #[serde(flatten)]
    pub group: GroupRow,
    pub apps: Vec<GroupApp>,
    pub roles: Vec<GroupRole>,
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
    let page = PageRequest::new(&paging, "groups")?;
    let assigned: Option<BTreeSet<String>> = match &query.app {
        Some(app) => Some(
            state
                .store
                .app(id, app)
                .await?
                .ok_or_else(|| ApiError::not_found(format!("the org has no app {app:?}")))?
                .assigned_groups
                .into_iter()
                .map(|g| g.group_id)
                .collect(),
        ),
        None => None,
    };
    let search = query.search.as_deref().map(str::to_lowercase);
    let groups = state
        .store
        .groups(id)
        .await?
        .into_iter()
        .filter(|g| {
            query.group_type.as_deref().is_none_or(|t| {
                g.group_type
                    .as_deref()
                    .is_some_and(|gt| gt.eq_ignore_ascii_case(t))
            })
        })
        .filter(|g| {
            search.as_deref().is_none_or(|s| {
                g.name
                    .as_deref()
                    .is_some_and(|n| n.to_lowercase().contains(s))
            })
        })
        .filter(|g| assigned.as_ref().is_none_or(|a| a.contains(&g.id)))
        .collect();
    Ok(Json(page.page_of(groups, |g| g.id.clone())))
}

/// A group now, or as of `?at=`.
#[derive(Debug, Serialize, ToSchema)]
#[serde(untagged)]
pub enum GroupAnswer {
    Now(Box<Group>),
    AsOf(Box<GroupAsOf>),
}

#[utoipa::path(get, path = "/v1/orgs/{org}/groups/{group}", tag = "groups",
    params(("org" = String, Path, description = "The org's short name"),
           ("group" = String, Path, description = "The group's id or name"), AtQuery),
    responses((status = 200, body = GroupAnswer, description = "The group now (Group), or with `at` as of then, with its members (GroupAsOf)"),
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
    let now = state.store.group(id, &group).await?;
    match at.time()? {
        None => {
            let detail = now.ok_or_else(|| {
                ApiError::not_found(format!("the org {org:?} has no group {group:?}"))
            })?;
            Ok(Json(GroupAnswer::Now(Box::new(Group {
                group: detail.group,
                apps: detail.apps,
                roles: detail.roles,
            }))))
        }
        Some(at) => {
            let group_id = now.map_or(group, |g| g.group.id);
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
