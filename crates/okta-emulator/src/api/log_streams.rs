//! `/api/v1/logStreams`: log streams (list with `filter` on `type` and `status`, and a
//! cursor; get). Read-only.

use super::filter::{self, JsonObject, Rules};
use super::pagination::{ListQuery, after_cursor, id_page};
use super::{Shared, object_response};
use crate::error::Result;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;

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
        .route("/api/v1/logStreams/{id}", get(get_one))
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
    let org = s.org.read();
    let stream = org.log_stream(&id)?;
    Ok(object_response(
        StatusCode::OK,
        &stream.json(),
        Some(&stream.links(&origin)),
    ))
}
