//! `/api/v1/api-tokens`: the metadata of the org's API tokens (list with a cursor; get;
//! revoke). `DELETE /api/v1/api-tokens/current` (revoking the caller's own token) is not
//! served: the emulator's SSWS tokens are its configuration, not tokens of the org.

use super::pagination::{ArrayWriter, Links, ListQuery, after_cursor, json_response, take_page};
use super::{Caller, Shared, no_content, object_response};
use crate::error::{OktaError, Result};
use crate::model::Id;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;

/// `GET /api/v1/api-tokens` default and maximum page size.
pub const API_TOKENS_LIMIT: (usize, usize) = (20, 200);

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/api-tokens", get(list))
        .route("/api/v1/api-tokens/{id}", get(get_one).delete(revoke))
}

/// `DELETE /api/v1/api-tokens/{id}`: 204.
async fn revoke(
    State(s): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response> {
    let (mut org, c) = s.begin_write(&caller, &uri);
    org.revoke_api_token(&c, &id)?;
    Ok(no_content())
}

/// `self` (with the methods Okta hints at) and the token's `user`.
fn token_links(origin: &str, id: &Id, user: &Id) -> String {
    format!(
        r#"{{"self":{{"href":"{origin}/api/v1/api-tokens/{id}","hints":{{"allow":["GET","DELETE"]}}}},"user":{{"href":"{origin}/api/v1/users/{user}","hints":{{"allow":["GET"]}}}}}}"#
    )
}

async fn list(State(s): State<Shared>, headers: HeaderMap, uri: Uri) -> Result<Response> {
    let query = ListQuery::parse(&uri)?;
    let origin = s.origin(&headers, &uri);
    let limit = query.limit(API_TOKENS_LIMIT.0, API_TOKENS_LIMIT.1)?;
    let after = query.after_id()?;
    let org = s.org.read();
    let (page, more) = take_page(
        org.api_tokens.range(after_cursor(after)).map(|(_, t)| t),
        limit,
    );
    let mut w = ArrayWriter::with_capacity(page.len() * 700 + 2);
    for t in &page {
        w.push(&t.json(), Some(&token_links(&origin, &t.id, &t.user_id)));
    }
    let next = more
        .then(|| page.last().map(|t| t.id.to_string()))
        .flatten();
    let links = Links::for_page(&origin, uri.path(), &query, limit, next);
    Ok(json_response(w.finish(), Some(&links)))
}

async fn get_one(
    State(s): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    let org = s.org.read();
    let token = Id::parse(&id)
        .and_then(|t| org.api_tokens.get(&t))
        .ok_or_else(|| OktaError::not_found(&id, "ApiToken"))?;
    Ok(object_response(
        StatusCode::OK,
        &token.json(),
        Some(&token_links(&origin, &token.id, &token.user_id)),
    ))
}
