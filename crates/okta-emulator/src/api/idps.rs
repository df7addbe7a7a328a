//! `/api/v1/idps`: identity providers (list with `q`, `type`, cursor; get).

use super::pagination::{ArrayWriter, Links, ListQuery, after_cursor, json_response, take_page};
use super::{Shared, object_response, self_link};
use crate::error::{OktaError, Result};
use crate::model::Id;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;

/// `GET /api/v1/idps` default and maximum page size.
pub const IDPS_LIMIT: (usize, usize) = (20, 200);

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/idps", get(list))
        .route("/api/v1/idps/{id}", get(get_one))
}

fn idp_links(origin: &str, id: &Id) -> String {
    self_link(origin, &format!("/api/v1/idps/{id}"))
}

async fn list(State(s): State<Shared>, headers: HeaderMap, uri: Uri) -> Result<Response> {
    let query = ListQuery::parse(&uri)?;
    let origin = s.origin(&headers, &uri);
    let limit = query.limit(IDPS_LIMIT.0, IDPS_LIMIT.1)?;
    let after = query.after_id()?;
    let q = query.value("q").map(str::to_lowercase);
    let kind = query.value("type");
    let org = s.org.read();
    let range = org.idps.range(after_cursor(after));
    let (page, more) = take_page(
        range.map(|(_, i)| i).filter(|i| {
            q.as_ref()
                .is_none_or(|q| i.name.to_lowercase().starts_with(q))
                && kind.is_none_or(|k| i.kind.eq_ignore_ascii_case(k))
        }),
        limit,
    );
    let mut w = ArrayWriter::with_capacity(page.len() * 1500 + 2);
    for i in &page {
        w.push(&i.json(), Some(&idp_links(&origin, &i.id)));
    }
    let next = more
        .then(|| page.last().map(|i| i.id.to_string()))
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
    let idp = Id::parse(&id)
        .and_then(|i| org.idps.get(&i))
        .ok_or_else(|| OktaError::not_found(&id, "IdentityProvider"))?;
    Ok(object_response(
        StatusCode::OK,
        &idp.json(),
        Some(&idp_links(&origin, &idp.id)),
    ))
}
