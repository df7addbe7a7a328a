//! `/v1/orgs/{org}/apps`: apps, and who has access to one and through what.

use crate::auth::Caller;
use crate::extract::{Path, Query};
use crate::paging::{Page, PageParams, PageRequest};
use crate::problem::{ApiError, ApiResult};
use crate::state::AppState;
use axum::Extension;
use axum::Json;
use axum::extract::State;
use oktasync_store::MirrorReader;
use oktasync_store::query::{AppAccess, AppRow};

#[utoipa::path(get, path = "/v1/orgs/{org}/apps", tag = "apps",
    params(("org" = String, Path, description = "The org's short name"), PageParams),
    responses((status = 200, body = Page<AppRow>), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = [])))]
/// Apps with their user and group counts, in id order.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(org): Path<String>,
    Query(paging): Query<PageParams>,
) -> ApiResult<Json<Page<AppRow>>> {
    let id = state.org(&caller, &org).await?;
    let page = PageRequest::new(&paging, &format!("apps {id:?}"))?;
    let apps = state.store.apps(id).await?;
    Ok(Json(page.page_of(apps, |a| a.id.clone())))
}

/// The key of one way into an app: user, then direct before each group.
fn access_key(a: &AppAccess) -> String {
    format!(
        "{}\u{1f}{}\u{1f}{}",
        a.user_id,
        a.via,
        a.via_group_id.as_deref().unwrap_or("")
    )
}

#[utoipa::path(get, path = "/v1/orgs/{org}/apps/{app}/access", tag = "apps",
    params(("org" = String, Path, description = "The org's short name"),
           ("app" = String, Path, description = "The app's id or label"), PageParams),
    responses((status = 200, body = Page<AppAccess>), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = [])))]
/// Who has access to the app: one item per user and way in (DIRECT, or GROUP via a group).
pub async fn access(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((org, app)): Path<(String, String)>,
    Query(paging): Query<PageParams>,
) -> ApiResult<Json<Page<AppAccess>>> {
    let id = state.org(&caller, &org).await?;
    let detail = state
        .store
        .app(id, &app)
        .await?
        .ok_or_else(|| ApiError::not_found(format!("the org {org:?} has no app {app:?}")))?;
    let page = PageRequest::new(&paging, &format!("access {id:?} {}", detail.app.id))?;
    Ok(Json(page.page_of(detail.access, access_key)))
}
