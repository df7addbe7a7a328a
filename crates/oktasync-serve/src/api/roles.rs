//! `/v1/orgs/{org}/users/{user}/roles` and `/v1/orgs/{org}/roles/{role}/users`: the configured
//! roles (`[[roles]]`) a user holds, and who holds a role, each with the way it comes (a group
//! or an app), as the roles were applied after the last run.

use crate::auth::Caller;
use crate::extract::{Path, Query};
use crate::paging::{Page, PageParams, PageRequest};
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;
use axum::Extension;
use axum::Json;
use axum::extract::State;
use oktasync_store::{MirrorReader, RoleFilter, UserRole};

/// The key of a role row within a list, for page tokens.
fn key(r: &UserRole) -> String {
    format!(
        "{}\u{1f}{}\u{1f}{}\u{1f}{}",
        r.role, r.user_id, r.via, r.via_id
    )
}

#[utoipa::path(get, path = "/v1/orgs/{org}/users/{user}/roles", tag = "roles",
    params(("org" = String, Path, description = "The org's short name"),
           ("user" = String, Path, description = "The user's id or login"), PageParams),
    responses((status = 200, body = Page<UserRole>), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = [])))]
/// The configured roles a user holds, one item per role and way (a group, or an app).
pub async fn of_user(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((org, user)): Path<(String, String)>,
    Query(paging): Query<PageParams>,
) -> ApiResult<Json<Page<UserRole>>> {
    let id = state.org(&caller, &org).await?;
    let found = state
        .store
        .user(id, &user)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("the org {org:?} has no user {user:?}")))?;
    let page = PageRequest::new(&paging, &format!("user roles {id:?} {}", found.user.id))?;
    Ok(Json(page.page_of(found.roles, key)))
}

#[utoipa::path(get, path = "/v1/orgs/{org}/roles/{role}/users", tag = "roles",
    params(("org" = String, Path, description = "The org's short name"),
           ("role" = String, Path, description = "A role's name, as configured in [[roles]]"),
           PageParams),
    responses((status = 200, body = Page<UserRole>), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = [])))]
/// Who holds a role, one item per user and way, by login.
pub async fn users(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((org, role)): Path<(String, String)>,
    Query(paging): Query<PageParams>,
) -> ApiResult<Json<Page<UserRole>>> {
    let id = state.org(&caller, &org).await?;
    if !state.store.role_names(id).await?.contains(&role) {
        return Err(ApiError::not_found(format!(
            "no role {role:?} is configured for the org {org:?} (roles are applied after each run)"
        )));
    }
    let page = PageRequest::new(&paging, &format!("role users {id:?} {role}"))?;
    let filter = RoleFilter {
        role: Some(role),
        ..Default::default()
    };
    let rows = state.store.user_roles(id, &filter).await?;
    Ok(Json(page.page_of(rows, key)))
}
