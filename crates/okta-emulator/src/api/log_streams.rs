//! `/api/v1/logStreams`: log streams (list with `filter` on `type` and `status`, and a
//! cursor; get; activate, deactivate, delete).

use super::filter::{self, JsonObject, Rules};
use super::pagination::{ListQuery, after_cursor, id_page};
use super::{Caller, Shared, no_content, object_response};
use crate::error::Result;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};

/// `GET /api/v1/logStreams` default and maximum page size (the spec's `queryLimit`).
pub const LOG_STREAMS_LIMIT: (usize, usize) = (20, 200);

/// What `GET /api/v1/logStreams?filter=` accepts: `eq` on `type` and `status`.
const LOG_STREAM_FILTER: Rules = Rules {
    timestamps: &[],
    attrs: &["type", "status"],
    any_profile: false,
    text_ops: false,
    all_ops: false,
    extended: false,
};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/logStreams", get(list))
        .route("/api/v1/logStreams/{id}", get(get_one).delete(delete))
        .route("/api/v1/logStreams/{id}/lifecycle/{op}", post(lifecycle))
}

async fn list(State(s): State<Shared>, headers: HeaderMap, uri: Uri) -> Result<Response> {
    let query = ListQuery::parse(&uri)?;
    let origin = s.origin(&headers, &uri);
    let limit = query.limit(LOG_STREAMS_LIMIT.0, LOG_STREAMS_LIMIT.1)?;
    let after = query.after_id()?;
    let expr = query
        .value("filter")
        .map(|f| filter::parse(f, &LOG_STREAM_FILTER))
        .transpose()?;
    let org = s.org.read();
    let streams = org.log_streams.range(after_cursor(after)).map(|(_, l)| l);
    Ok(id_page(
        streams.filter(|l| {
            expr.as_ref()
                .is_none_or(|e| filter::eval(e, &JsonObject(&l.to_value())))
        }),
        limit,
        |l| (l.id, l.json(), l.links(&origin)),
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

/// The stream as `GET /api/v1/logStreams/{id}` serves it.
fn respond(s: &Shared, origin: &str, id: &str) -> Result<Response> {
    let org = s.org.read();
    let stream = org.log_stream(id)?;
    Ok(object_response(
        StatusCode::OK,
        &stream.json(),
        Some(&stream.links(origin)),
    ))
}

/// `POST /api/v1/logStreams/{id}/lifecycle/activate|deactivate`: 200 with the stream.
async fn lifecycle(
    State(s): State<Shared>,
    caller: Caller,
    Path((id, op)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let active = super::lifecycle_op(&op, &uri)?;
    let origin = s.origin(&headers, &uri);
    let lid = {
        let (mut org, c) = s.begin_write(&caller, &uri);
        org.set_log_stream_active(&c, &id, active)?
    };
    respond(&s, &origin, lid.as_str())
}

/// `DELETE /api/v1/logStreams/{id}`: 204.
async fn delete(
    State(s): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response> {
    let (mut org, c) = s.begin_write(&caller, &uri);
    org.delete_log_stream(&c, &id)?;
    Ok(no_content())
}
