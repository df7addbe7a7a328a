//! `/v1/orgs/{org}/users`: users, filtered and paged, and one user with everything the
//! mirror knows of them.

use crate::auth::Caller;
use crate::extract::{Path, Query};
use crate::paging::{Page, PageParams, PageRequest};
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;
use axum::Extension;
use axum::Json;
use axum::extract::State;
use oktasync_store::query::{UserDetail, UserFilter, UserRow};
use oktasync_store::{MirrorReader, OrgId};
use serde::Deserialize;
use utoipa::IntoParams;

/// Filters of the user list; all that are given must hold.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    /// Okta statuses, comma-separated (`ACTIVE,SUSPENDED`), any letter case.
    pub status: Option<String>,
    /// Members of this group (id or name).
    pub group: Option<String>,
    /// Part of the login, email, first, last or display name, any letter case.
    pub search: Option<String>,
    /// Only users Okta updated at or after this time (RFC 3339).
    pub updated_since: Option<String>,
}

/// Okta's timestamp form of an RFC 3339 time given in a query.
pub fn okta_time(name: &str, text: &str) -> ApiResult<String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| {
            t.with_timezone(&chrono::Utc)
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        })
        .map_err(|_| {
            ApiError::invalid(format!(
                "{name} must be an RFC 3339 time such as 2024-05-01T12:00:00Z, not {text:?}"
            ))
        })
}

/// The id of the group named by id or name.
pub async fn group_id(state: &AppState, org: OrgId, id_or_name: &str) -> ApiResult<String> {
    state
        .store
        .group(org, id_or_name)
        .await?
        .map(|g| g.group.id)
        .ok_or_else(|| ApiError::not_found(format!("the org has no group {id_or_name:?}")))
}

impl UserQuery {
    async fn filter(&self, state: &AppState, org: OrgId) -> ApiResult<UserFilter> {
        let statuses = match &self.status {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| {
                    let upper = s.to_ascii_uppercase();
                    if okta_api::USER_STATUSES.contains(&upper.as_str()) {
                        Ok(upper)
                    } else {
                        Err(ApiError::invalid(format!(
                            "unknown status {s:?}; Okta's are {}",
                            okta_api::USER_STATUSES.join(", ")
                        )))
                    }
                })
                .collect::<ApiResult<_>>()?,
        };
        let group_id = match &self.group {
            Some(g) => Some(group_id(state, org, g).await?),
            None => None,
        };
        Ok(UserFilter {
            statuses,
            group_id,
            search: self.search.clone().filter(|s| !s.is_empty()),
            updated_since: self
                .updated_since
                .as_deref()
                .map(|t| okta_time("updated_since", t))
                .transpose()?,
            ..UserFilter::default()
        })
    }
}

/// One page of users matching `filter`, in id order.
pub async fn page_of_users(
    state: &AppState,
    org: OrgId,
    filter: &UserFilter,
    paging: &PageParams,
    list: &'static str,
) -> ApiResult<Page<UserRow>> {
    let page = PageRequest::new(paging, list)?;
    let rows = state
        .store
        .users_page(org, filter, page.after.as_deref(), page.size + 1)
        .await?;
    Ok(page.page(rows, |u| u.id.clone()))
}

#[utoipa::path(get, path = "/v1/orgs/{org}/users", tag = "users",
    params(("org" = String, Path, description = "The org's short name"), UserQuery, PageParams),
    responses((status = 200, body = Page<UserRow>), (status = 400, body = crate::problem::Problem),
              (status = 404, body = crate::problem::Problem)),
    security(("bearer" = [])))]
/// Users of every status, in id order.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(org): Path<String>,
    Query(query): Query<UserQuery>,
    Query(paging): Query<PageParams>,
) -> ApiResult<Json<Page<UserRow>>> {
    let id = state.org(&caller, &org).await?;
    let filter = query.filter(&state, id).await?;
    Ok(Json(
        page_of_users(&state, id, &filter, &paging, "users").await?,
    ))
}

#[utoipa::path(get, path = "/v1/orgs/{org}/users/{user}", tag = "users",
    params(("org" = String, Path, description = "The org's short name"),
           ("user" = String, Path, description = "The user's id or login")),
    responses((status = 200, body = UserDetail), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = [])))]
/// One user: profile, groups, apps and how, admin roles and how, factors.
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((org, user)): Path<(String, String)>,
) -> ApiResult<Json<UserDetail>> {
    let id = state.org(&caller, &org).await?;
    state
        .store
        .user(id, &user)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::not_found(format!("the org {org:?} has no user {user:?}")))
}
