//! `/api/v1/idps`: identity providers (list with `q`, `type`, cursor; get; create, rename,
//! activate, deactivate, delete).

use super::pagination::{ArrayWriter, Links, ListQuery, after_cursor, json_response, take_page};
use super::{Caller, Shared, json_object, no_content, object_response, self_link};
use crate::error::{OktaError, Result};
use crate::model::Id;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::Value;

/// `GET /api/v1/idps` default and maximum page size.
pub const IDPS_LIMIT: (usize, usize) = (20, 200);

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/idps", get(list).post(create))
        .route(
            "/api/v1/idps/{id}",
            get(get_one).put(rename).delete(delete_idp),
        )
        .route("/api/v1/idps/{id}/lifecycle/{op}", post(lifecycle))
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

fn respond_idp(s: &Shared, origin: &str, id: &str) -> Result<Response> {
    let org = s.org.read();
    let iid = org.idp_id(id)?;
    Ok(object_response(
        StatusCode::OK,
        &org.idps[&iid].json(),
        Some(&idp_links(origin, &iid)),
    ))
}

async fn get_one(
    State(s): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    respond_idp(&s, &origin, &id)
}

/// The `name` (and for a new IdP the `type`) of an IdP request body.
fn text_field(body: &Bytes, key: &str) -> Result<String> {
    Ok(json_object(body)?
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string())
}

async fn create(
    State(s): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    let (kind, name) = (text_field(&body, "type")?, text_field(&body, "name")?);
    let id = {
        let (mut org, c) = s.begin_write(&caller, &uri);
        org.create_idp(&c, &kind, &name)?
    };
    respond_idp(&s, &origin, id.as_str())
}

/// `PUT /api/v1/idps/{id}`: the emulator applies the `name`; the rest of the IdP stays.
async fn rename(
    State(s): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    let name = text_field(&body, "name")?;
    {
        let (mut org, c) = s.begin_write(&caller, &uri);
        org.rename_idp(&c, &id, &name)?;
    }
    respond_idp(&s, &origin, &id)
}

async fn lifecycle(
    State(s): State<Shared>,
    caller: Caller,
    Path((id, op)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    {
        let (mut org, c) = s.begin_write(&caller, &uri);
        match op.as_str() {
            "activate" => org.set_idp_active(&c, &id, true)?,
            "deactivate" => org.set_idp_active(&c, &id, false)?,
            other => {
                return Err(OktaError::no_route(&format!(
                    "/api/v1/idps/{id}/lifecycle/{other}"
                )));
            }
        };
    }
    respond_idp(&s, &origin, &id)
}

async fn delete_idp(
    State(s): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response> {
    let (mut org, c) = s.begin_write(&caller, &uri);
    org.delete_idp(&c, &id)?;
    Ok(no_content())
}
