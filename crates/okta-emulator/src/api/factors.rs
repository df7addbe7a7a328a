//! `/api/v1/users/{id}/factors`: a user's enrolled factors (list, not paginated), enroll and
//! unenroll.

use super::{Caller, Shared, json_object, no_content, object_response, value_response};
use crate::error::{OktaError, Result};
use crate::model::{FACTOR_KINDS, Factor, Id};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{delete, get};
use serde_json::{Value, json};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/users/{id}/factors", get(list).post(enroll))
        .route("/api/v1/users/{id}/factors/{fid}", delete(unenroll))
}

fn factor_json(origin: &str, uid: &Id, f: &Factor) -> Value {
    let mut v = f.to_value();
    v["_links"] = json!({
        "self": {"href": format!("{origin}/api/v1/users/{uid}/factors/{}", f.id)},
        "user": {"href": format!("{origin}/api/v1/users/{uid}")},
    });
    v
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
    let factors: Vec<Value> = org
        .factors
        .get(&uid)
        .into_iter()
        .flatten()
        .map(|f| factor_json(&origin, &uid, f))
        .collect();
    Ok(value_response(StatusCode::OK, &Value::Array(factors)))
}

/// `{"factorType": …, "provider": …}`: one of the kinds the emulator models.
async fn enroll(
    State(s): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    let body = json_object(&body)?;
    let field = |k: &str| body.get(k).and_then(Value::as_str).unwrap_or("");
    let (factor_type, provider) = (field("factorType"), field("provider"));
    let kind = FACTOR_KINDS
        .into_iter()
        .find(|k| k.factor_type == factor_type && k.provider.eq_ignore_ascii_case(provider))
        .ok_or_else(|| {
            OktaError::validation(
                "factorEnrollRequest",
                format!("factorType: '{factor_type}' with provider '{provider}' is not supported"),
            )
        })?;
    let (mut org, c) = s.begin_write(&caller, &uri);
    let fid = org.enroll_factor(&c, &id, kind)?;
    let uid = org.user_id(&id)?;
    let factor = org
        .factors
        .get(&uid)
        .and_then(|fs| fs.iter().find(|f| f.id == fid))
        .ok_or_else(OktaError::internal)?;
    let v = factor_json(&origin, &uid, factor);
    Ok(object_response(
        StatusCode::OK,
        &serde_json::to_vec(&v).unwrap_or_default(),
        None,
    ))
}

async fn unenroll(
    State(s): State<Shared>,
    caller: Caller,
    Path((id, fid)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response> {
    let (mut org, c) = s.begin_write(&caller, &uri);
    org.unenroll_factor(&c, &id, &fid)?;
    Ok(no_content())
}
