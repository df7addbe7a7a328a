//! `/v1/orgs/{org}/grants`: time-bound group grants over HTTP, as `oktasync grant` does them
//! (the decisions are `oktasync-grants`'s). Reading needs a `read` token; asking, approving,
//! denying, extending and ending need `grant`. The actions are `POST .../grants/{id}:revoke`
//! (`:extend`, `:approve`, `:deny`), one route whose last segment names both.

use crate::auth::Caller;
use crate::extract::{Path, Query};
use crate::paging::{Page, PageParams, PageRequest};
use crate::problem::{ApiError, ApiResult, ProblemKind};
use crate::state::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use chrono::{DateTime, Utc};
use oktasync_grants::actions::Grantor;
use oktasync_grants::check::GrantRequest;
use oktasync_grants::enforce::PassReport;
use oktasync_store::{AuditEntry, Grant, GrantFilter, Grants, MirrorReader, OrgId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// Filters of the grant list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct GrantQuery {
    /// Only grants not ended yet.
    pub active: Option<bool>,
    /// Only this user's (id or login).
    pub user: Option<String>,
    /// Only this group's (id or name).
    pub group: Option<String>,
}

/// A grant to ask for: `for` or `until`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantBody {
    /// The user's id or login.
    pub user: String,
    /// The group's id or name.
    pub group: String,
    /// For how long: `2h`, `30m`, `90s`.
    #[serde(rename = "for")]
    pub duration: Option<String>,
    /// Until when (RFC 3339), instead of `for`.
    pub until: Option<String>,
    pub reason: Option<String>,
    pub ticket: Option<String>,
    /// Who asked [default: the token's name].
    pub requested_by: Option<String>,
}

/// A grant with what the enforcement pass that followed the request did.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantAnswer {
    pub grant: Grant,
    #[schema(value_type = Object)]
    pub enforcement: PassReport,
}

/// A grant with its audit trail.
#[derive(Debug, Serialize, ToSchema)]
pub struct GrantDetail {
    pub grant: Grant,
    pub audit: Vec<AuditEntry>,
}

/// The body of `:extend`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExtendBody {
    /// By how much: `1h`, `30m`.
    #[serde(rename = "for")]
    pub duration: String,
}

/// The body of `:approve` and `:deny` (optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionBody {
    /// Who decides [default: the token's name].
    pub by: Option<String>,
    /// Why (`:deny`).
    pub reason: Option<String>,
}

/// The token as an actor in grant records.
fn actor(caller: &Caller) -> String {
    format!("token:{}", caller.0.name)
}

fn body<T: serde::de::DeserializeOwned + Default>(bytes: &[u8], example: &str) -> ApiResult<T> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::invalid(format!("the body must be JSON such as {example}: {e}")))
}

fn duration(text: &str, what: &str) -> ApiResult<std::time::Duration> {
    humantime::parse_duration(text.trim()).map_err(|e| {
        ApiError::invalid(format!(
            "{what} {text:?} is not a duration ({e}); write it as 2h, 30m or 90s"
        ))
    })
}

/// The grantor of an org this instance writes to Okta for.
fn grantor<'a>(state: &'a AppState, org: &str, id: OrgId) -> ApiResult<Grantor<'a>> {
    let client = state
        .grants
        .clients
        .get(&org.to_ascii_lowercase())
        .ok_or_else(|| {
            ApiError::new(
                ProblemKind::Conflict,
                format!(
                    "this server has no Okta credentials for the org {org:?} (add it to [[orgs]]): grants are written to Okta"
                ),
            )
        })?;
    Ok(Grantor {
        client,
        store: state.store.as_ref(),
        org: id,
        org_name: org.to_ascii_lowercase(),
        policies: &state.grants.policies,
        principal: state.grants.principal,
        holder: oktasync_grants::enforce::holder("serve"),
    })
}

fn now(state: &AppState) -> DateTime<Utc> {
    state.clock.now()
}

#[utoipa::path(get, path = "/v1/orgs/{org}/grants", tag = "grants",
    params(("org" = String, Path, description = "The org's short name"), GrantQuery, PageParams),
    responses((status = 200, body = Page<Grant>), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = [])))]
/// Grants, newest first.
pub async fn list(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(org): Path<String>,
    Query(query): Query<GrantQuery>,
    Query(paging): Query<PageParams>,
) -> ApiResult<Json<Page<Grant>>> {
    let id = state.org(&caller, &org).await?;
    let filter = GrantFilter {
        open: query.active.unwrap_or(false),
        user_id: match &query.user {
            Some(u) => Some(
                state
                    .store
                    .user(id, u)
                    .await?
                    .map_or_else(|| u.clone(), |d| d.user.id),
            ),
            None => None,
        },
        group_id: match &query.group {
            Some(g) => Some(
                state
                    .store
                    .find_group(id, g)
                    .await?
                    .map_or_else(|| g.clone(), |d| d.id),
            ),
            None => None,
        },
    };
    let page = PageRequest::new(&paging, &format!("grants {id:?} {filter:?}"))?;
    let grants = state.store.grants(id, &filter).await?;
    // Newest first: the key sorts ids downwards (fixed width, from the largest id).
    Ok(Json(page.page_of(grants, |g| {
        format!("{:020}", i64::MAX - g.grant_id)
    })))
}

#[utoipa::path(post, path = "/v1/orgs/{org}/grants", tag = "grants",
    params(("org" = String, Path, description = "The org's short name"),
           ("Idempotency-Key" = Option<String>, Header, description = "The same key again returns the grant it made, unchanged")),
    request_body(content = GrantBody, content_type = "application/json"),
    responses(
        (status = 201, body = GrantAnswer, description = "Recorded and, unless approval is needed, added; `Location` names it"),
        (status = 200, body = GrantAnswer, description = "The Idempotency-Key was used before: that grant"),
        (status = 409, body = crate::problem::Problem, description = "This server cannot write to the org"),
        (status = 422, body = crate::problem::Problem, description = "Refused by policy or a safety check; nothing was called")),
    security(("bearer" = [])))]
/// Asks for a grant: checked, recorded, then added in Okta.
pub async fn create(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path(org): Path<String>,
    headers: HeaderMap,
    bytes: axum::body::Bytes,
) -> ApiResult<Response> {
    let id = state.org(&caller, &org).await?;
    let request: GrantBody = body(
        &bytes,
        r#"{"user": "ada@example.com", "group": "JIT-db", "for": "2h", "reason": "INC-42"}"#,
    )?;
    let now = now(&state);
    let until = match (&request.duration, &request.until) {
        (Some(d), None) => {
            let d = duration(d, "for")?;
            chrono::Duration::from_std(d)
                .ok()
                .and_then(|d| now.checked_add_signed(d))
                .ok_or_else(|| ApiError::invalid("for is too long"))?
        }
        (None, Some(t)) => DateTime::parse_from_rfc3339(t)
            .map_err(|_| ApiError::invalid(format!("until {t:?} is not an RFC 3339 time")))?
            .with_timezone(&Utc),
        _ => return Err(ApiError::invalid("give exactly one of for and until")),
    };
    let key = match headers.get("idempotency-key") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.len() <= 255)
                .ok_or_else(|| {
                    ApiError::invalid("Idempotency-Key must be 1 to 255 visible characters")
                })?
                .to_owned(),
        ),
    };
    let ask = GrantRequest {
        user: request.user,
        group: request.group,
        until: Some(until),
        reason: request.reason,
        ticket: request.ticket,
        requested_by: request.requested_by.or_else(|| Some(actor(&caller))),
        idempotency_key: key,
        create_user: None,
    };
    let (grant, created, enforcement) = grantor(&state, &org, id)?.request(&ask, now).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let location = format!("/v1/orgs/{org}/grants/{}", grant.grant_id);
    Ok((
        status,
        [(header::LOCATION, location)],
        Json(GrantAnswer { grant, enforcement }),
    )
        .into_response())
}

#[utoipa::path(get, path = "/v1/orgs/{org}/grants/{grant}", tag = "grants",
    params(("org" = String, Path, description = "The org's short name"),
           ("grant" = i64, Path, description = "The grant's id")),
    responses((status = 200, body = GrantDetail), (status = 404, body = crate::problem::Problem)),
    security(("bearer" = [])))]
/// One grant with its audit trail.
pub async fn get(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((org, grant)): Path<(String, String)>,
) -> ApiResult<Json<GrantDetail>> {
    let id = state.org(&caller, &org).await?;
    let grant_id: i64 = grant
        .parse()
        .map_err(|_| ApiError::not_found(format!("no grant {grant:?}")))?;
    let found =
        state.store.grant(id, grant_id).await?.ok_or_else(|| {
            ApiError::not_found(format!("the org {org:?} has no grant {grant_id}"))
        })?;
    let audit = state.store.grant_audit(id, grant_id).await?;
    Ok(Json(GrantDetail {
        grant: found,
        audit,
    }))
}

/// `POST .../grants/{id}:{action}`: the route of the four actions, which the document lists
/// one by one.
pub async fn act(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    Path((org, target)): Path<(String, String)>,
    bytes: axum::body::Bytes,
) -> ApiResult<Json<GrantAnswer>> {
    let Some((grant, action)) = target.split_once(':') else {
        return Err(ApiError::not_found(format!(
            "POST a grant's action: /v1/orgs/{org}/grants/ID:revoke (or :extend, :approve, :deny), not {target:?}"
        )));
    };
    let grant_id: i64 = grant
        .parse()
        .map_err(|_| ApiError::not_found(format!("no grant {grant:?}")))?;
    let id = state.org(&caller, &org).await?;
    let grantor = grantor(&state, &org, id)?;
    let now = now(&state);
    let (grant, enforcement) = match action {
        "revoke" => grantor.revoke(grant_id, Some(actor(&caller)), now).await?,
        "extend" => {
            let body: ExtendBody = serde_json::from_slice(&bytes).map_err(|e| {
                ApiError::invalid(format!(
                    "the body must be JSON such as {{\"for\": \"1h\"}}: {e}"
                ))
            })?;
            let by = duration(&body.duration, "for")?;
            let grant = grantor
                .extend(grant_id, by, Some(actor(&caller)), now)
                .await?;
            (grant, PassReport::default())
        }
        "approve" => {
            let body: DecisionBody = body(&bytes, r#"{"by": "bob"}"#)?;
            let by = body.by.unwrap_or_else(|| actor(&caller));
            grantor.approve(grant_id, &by, now).await?
        }
        "deny" => {
            let body: DecisionBody = body(&bytes, r#"{"by": "bob", "reason": "not now"}"#)?;
            let by = body.by.unwrap_or_else(|| actor(&caller));
            let grant = grantor.deny(grant_id, Some(by), body.reason, now).await?;
            (grant, PassReport::default())
        }
        other => {
            return Err(ApiError::not_found(format!(
                "no action {other:?}: a grant takes :revoke, :extend, :approve and :deny"
            )));
        }
    };
    Ok(Json(GrantAnswer { grant, enforcement }))
}

/// The four actions, for the document (the router sends them all to [`act`]).
pub mod actions {
    use super::{DecisionBody, ExtendBody, GrantAnswer};

    #[utoipa::path(post, path = "/v1/orgs/{org}/grants/{id}:revoke", tag = "grants",
        params(("org" = String, Path, description = "The org's short name"),
               ("id" = i64, Path, description = "The grant's id")),
        responses((status = 200, body = GrantAnswer, description = "Ended: its membership removed, or left when it was there before or another grant holds it"),
                  (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem)),
        security(("bearer" = [])))]
    /// Ends a grant now.
    #[allow(dead_code)]
    pub fn revoke() {}

    #[utoipa::path(post, path = "/v1/orgs/{org}/grants/{id}:extend", tag = "grants",
        params(("org" = String, Path, description = "The org's short name"),
               ("id" = i64, Path, description = "The grant's id")),
        request_body(content = ExtendBody, content_type = "application/json"),
        responses((status = 200, body = GrantAnswer), (status = 404, body = crate::problem::Problem),
                  (status = 409, body = crate::problem::Problem),
                  (status = 422, body = crate::problem::Problem, description = "Beyond the policy's max_duration from now")),
        security(("bearer" = [])))]
    /// Moves a grant's end later.
    #[allow(dead_code)]
    pub fn extend() {}

    #[utoipa::path(post, path = "/v1/orgs/{org}/grants/{id}:approve", tag = "grants",
        params(("org" = String, Path, description = "The org's short name"),
               ("id" = i64, Path, description = "The grant's id")),
        request_body(content = DecisionBody, content_type = "application/json"),
        responses((status = 200, body = GrantAnswer), (status = 403, body = crate::problem::Problem, description = "The approver asked for it"),
                  (status = 404, body = crate::problem::Problem), (status = 409, body = crate::problem::Problem)),
        security(("bearer" = [])))]
    /// Approves a grant waiting for approval, then adds it.
    #[allow(dead_code)]
    pub fn approve() {}

    #[utoipa::path(post, path = "/v1/orgs/{org}/grants/{id}:deny", tag = "grants",
        params(("org" = String, Path, description = "The org's short name"),
               ("id" = i64, Path, description = "The grant's id")),
        request_body(content = DecisionBody, content_type = "application/json"),
        responses((status = 200, body = GrantAnswer), (status = 404, body = crate::problem::Problem),
                  (status = 409, body = crate::problem::Problem)),
        security(("bearer" = [])))]
    /// Refuses a grant waiting for approval.
    #[allow(dead_code)]
    pub fn deny() {}
}
