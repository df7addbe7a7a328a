//! `/api/v1/zones`: network zones (list with `filter` on `id`, `usage` and `system`, and a
//! cursor; get; replace; activate and deactivate).

use super::filter::{self, JsonObject, Rules};
use super::pagination::{ListQuery, after_cursor, id_page};
use super::{Caller, Shared, json_object, object_response};
use crate::error::Result;
use crate::model::Id;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};

/// `GET /api/v1/zones` default and maximum page size. Okta's default (`-1`) lists every
/// zone; no org has this many.
pub const ZONES_LIMIT: (usize, usize) = (1000, 1000);

/// What `GET /api/v1/zones?filter=` accepts: `eq` on `id`, `usage` and `system`.
const ZONE_FILTER: Rules = Rules {
    timestamps: &[],
    attrs: &["id", "usage", "system"],
    any_profile: false,
    text_ops: false,
    all_ops: false,
    extended: false,
};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/zones", get(list))
        .route("/api/v1/zones/{id}", get(get_one).put(replace))
        .route("/api/v1/zones/{id}/lifecycle/{op}", post(lifecycle))
}

async fn list(State(s): State<Shared>, headers: HeaderMap, uri: Uri) -> Result<Response> {
    let query = ListQuery::parse(&uri)?;
    let origin = s.origin(&headers, &uri);
    let limit = query.limit(ZONES_LIMIT.0, ZONES_LIMIT.1)?;
    let after = query.after_id()?;
    let expr = query
        .value("filter")
        .map(|f| filter::parse(f, &ZONE_FILTER))
        .transpose()?;
    let org = s.org.read();
    let zones = org.zones.range(after_cursor(after)).map(|(_, z)| z);
    Ok(id_page(
        zones.filter(|z| {
            expr.as_ref()
                .is_none_or(|e| filter::eval(e, &JsonObject(&z.to_value())))
        }),
        limit,
        |z| (z.id, z.json(), z.links(&origin)),
        (&origin, uri.path(), &query),
    ))
}

async fn get_one(
    State(s): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    respond(&s, &origin, &id)
}

/// The zone as `GET /api/v1/zones/{id}` serves it.
fn respond(s: &Shared, origin: &str, id: &str) -> Result<Response> {
    let org = s.org.read();
    let zone = org.zone(id)?;
    Ok(object_response(
        StatusCode::OK,
        &zone.json(),
        Some(&zone.links(origin)),
    ))
}

/// `PUT /api/v1/zones/{id}`: 200 with the replaced zone.
async fn replace(
    State(s): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    let body = json_object(&body)?;
    let zid: Id = {
        let (mut org, c) = s.begin_write(&caller, &uri);
        org.replace_zone(&c, &id, &body)?
    };
    respond(&s, &origin, zid.as_str())
}

/// `POST /api/v1/zones/{id}/lifecycle/activate|deactivate`: 200 with the zone.
async fn lifecycle(
    State(s): State<Shared>,
    caller: Caller,
    Path((id, op)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let active = super::lifecycle_op(&op, &uri)?;
    let origin = s.origin(&headers, &uri);
    let zid = {
        let (mut org, c) = s.begin_write(&caller, &uri);
        org.set_zone_active(&c, &id, active)?
    };
    respond(&s, &origin, zid.as_str())
}
