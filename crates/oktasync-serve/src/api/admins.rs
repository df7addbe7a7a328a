//! `/v1/orgs/{org}/admins`: every admin role held, directly or through a group.

use crate::auth::Caller;
use crate::extract::{Path, Query};
use crate::paging::{Page, PageParams, PageRequest};
use crate::problem::ApiResult;
use crate::state::AppState;
use axum::Extension;
use axum::Json;
use axum::extract::State;
use oktasync_store::MirrorReader;
use oktasync_store::query::AdminRole;

#[utoipa::path(get, path = "/v1/orgs/{org}/admins", tag = "admins",
    params(("org" = String, Path, description = "The org's short name"), PageParams),
    responses((status = 200, body = Page<AdminRole>), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = [])))]
/// Admin roles held, one item per user, role and way (DIRECT, or GROUP via a group).
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(org): Path<String>,
    Query(paging): Query<PageParams>,
) -> ApiResult<Json<Page<AdminRole>>> {
    let id = state.org(&caller, &org).await?;
    let page = PageRequest::new(&paging, &format!("admins {id:?}"))?;
    let admins = state.store.admins(id).await?;
    Ok(Json(page.page_of(admins, |a| {
        format!(
            "{}\u{1f}{}\u{1f}{}",
            a.user_id,
            a.assignment_id,
            a.via_group_id.as_deref().unwrap_or("")
        )
    })))
}
