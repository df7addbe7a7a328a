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
use oktasync_store::as_of::UserAsOf;
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

/// `?at=T`: the object as it was at a past time (RFC 3339, or a date: its midnight UTC).
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AtQuery {
    /// Answer as of this time (RFC 3339, or a date YYYY-MM-DD), from the change log. Before the
    /// mirror's first sync, the state at that sync.
    pub at: Option<String>,
}

impl AtQuery {
    pub fn time(&self) -> ApiResult<Option<chrono::DateTime<chrono::Utc>>> {
        let Some(text) = self.at.as_deref() else {
            return Ok(None);
        };
        if let Ok(date) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            return Ok(date.and_hms_opt(0, 0, 0).map(|t| t.and_utc()));
        }
        chrono::DateTime::parse_from_rfc3339(text)
            .map(|t| Some(t.with_timezone(&chrono::Utc)))
            .map_err(|_| {
                ApiError::invalid(format!(
                    "at must be an RFC 3339 time such as 2024-05-01T12:00:00Z or a date, not {text:?}"
                ))
            })
    }
}

/// A user now, or as of `?at=`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum UserAnswer {
    Now(Box<UserDetail>),
    AsOf(Box<UserAsOf>),
}

/// Okta's timestamp form of an RFC 3339 time given in a query.
pub fn okta_time(name: &str, text: &str) -> ApiResult<String> {
    chrono::DateTime::parse_from_rfc3339(text)
        .map(|t| oktasync_store::timestamp(t.with_timezone(&chrono::Utc)))
        .map_err(|_| {
            ApiError::invalid(format!(
                "{name} must be an RFC 3339 time such as 2024-05-01T12:00:00Z, not {text:?}"
            ))
        })
}

/// A `since` query parameter (RFC 3339) as a time.
pub fn since_param(text: Option<&str>) -> ApiResult<Option<chrono::DateTime<chrono::Utc>>> {
    text.map(|t| okta_time("since", t))
        .transpose()?
        .map(|t| {
            chrono::DateTime::parse_from_rfc3339(&t)
                .map(|t| t.with_timezone(&chrono::Utc))
                .map_err(|_| ApiError::invalid("since is not a time"))
        })
        .transpose()
}

/// The id of the group named by id or name.
pub async fn group_id(state: &AppState, org: OrgId, id_or_name: &str) -> ApiResult<String> {
    state
        .store
        .find_group(org, id_or_name)
        .await?
        .map(|g| g.id)
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
    let page = PageRequest::new(paging, &format!("{list} {org:?} {filter:?}"))?;
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
           ("user" = String, Path, description = "The user's id or login"), AtQuery),
    responses((status = 200, body = UserAnswer, description = "The user now (UserDetail), or with `at` as of then (UserAsOf)"),
              (status = 404, body = crate::problem::Problem)),
    security(("bearer" = [])))]
/// One user: profile, groups, apps and how, admin roles and how, factors; with `at`, the
/// groups, apps and roles the user had then.
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((org, user)): Path<(String, String)>,
    Query(at): Query<AtQuery>,
) -> ApiResult<Json<UserAnswer>> {
    let id = state.org(&caller, &org).await?;
    let now = state.store.user(id, &user).await?;
    match at.time()? {
        None => now
            .map(|u| Json(UserAnswer::Now(Box::new(u))))
            .ok_or_else(|| ApiError::not_found(format!("the org {org:?} has no user {user:?}"))),
        Some(at) => {
            // A user deleted since is still known by id to the change log.
            let user_id = now.map_or(user, |u| u.user.id);
            let then =
                oktasync_store::as_of::user_as_of(state.store.as_ref(), id, &user_id, at).await?;
            Ok(Json(UserAnswer::AsOf(Box::new(then))))
        }
    }
}
