//! `/api/v1/users/{id}/factors`: a user's enrolled factors (not paginated).

use super::{Shared, value_response};
use crate::error::Result;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

pub fn routes() -> Router<Shared> {
    Router::new().route("/api/v1/users/{id}/factors", get(list))
}

async fn list(
    State(s): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    let org = s.org.read();
    let uid = org.user_id(&id)?;
    let user = &org.users[&uid];
    let factors: Vec<Value> = org
        .factors
        .get(&uid)
        .into_iter()
        .flatten()
        .map(|f| {
            let mut v = f.to_value(user);
            v["_links"] = json!({
                "self": {"href": format!("{origin}/api/v1/users/{uid}/factors/{}", f.id)},
                "user": {"href": format!("{origin}/api/v1/users/{uid}")},
            });
            v
        })
        .collect();
    Ok(value_response(StatusCode::OK, &Value::Array(factors)))
}
