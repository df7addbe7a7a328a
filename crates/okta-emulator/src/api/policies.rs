//! `/api/v1/policies`: policies of one type (`?type=`, required; `status`, `q`; a cursor),
//! one policy, its rules, one rule; replacing a policy or a rule, and activating or
//! deactivating either (204, as Okta answers its policy lifecycle operations).

use super::pagination::{ArrayWriter, Links, ListQuery, json_response, take_page};
use super::{Caller, Shared, json_object, lifecycle_op, no_content, object_response};
use crate::error::{OktaError, Result};
use crate::model::{PolicyType, SPEC_POLICY_TYPES};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};

/// `GET /api/v1/policies` default and maximum page size. Okta lists every policy of the type
/// unless asked for fewer; no org has this many of one type.
pub const POLICIES_LIMIT: (usize, usize) = (1000, 1000);

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/policies", get(list))
        .route("/api/v1/policies/{id}", get(get_one).put(replace))
        .route("/api/v1/policies/{id}/lifecycle/{op}", post(lifecycle))
        .route("/api/v1/policies/{id}/rules", get(list_rules))
        .route(
            "/api/v1/policies/{id}/rules/{rule}",
            get(get_rule).put(replace_rule),
        )
        .route(
            "/api/v1/policies/{id}/rules/{rule}/lifecycle/{op}",
            post(rule_lifecycle),
        )
}

/// `PUT /api/v1/policies/{id}`: 200 with the replaced policy.
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
    let (mut org, c) = s.begin_write(&caller, &uri);
    let pid = org.replace_policy(&c, &id, &body)?;
    let policy = org.policy(pid.as_str())?;
    Ok(object_response(
        StatusCode::OK,
        &policy.json(),
        Some(&policy.links(&origin)),
    ))
}

/// `POST /api/v1/policies/{id}/lifecycle/activate|deactivate`: 204.
async fn lifecycle(
    State(s): State<Shared>,
    caller: Caller,
    Path((id, op)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response> {
    let active = lifecycle_op(&op, &uri)?;
    let (mut org, c) = s.begin_write(&caller, &uri);
    org.set_policy_active(&c, &id, active)?;
    Ok(no_content())
}

/// `PUT /api/v1/policies/{id}/rules/{ruleId}`: 200 with the replaced rule.
async fn replace_rule(
    State(s): State<Shared>,
    caller: Caller,
    Path((id, rule)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    let body = json_object(&body)?;
    let (mut org, c) = s.begin_write(&caller, &uri);
    let rid = org.replace_policy_rule(&c, &id, &rule, &body)?;
    let policy = org.policy(&id)?;
    let r = policy
        .rule(rid.as_str())
        .ok_or_else(|| OktaError::not_found(&rule, "PolicyRule"))?;
    Ok(object_response(
        StatusCode::OK,
        &r.json(policy.kind),
        Some(&policy.rule_links(&origin, r)),
    ))
}

/// `POST /api/v1/policies/{id}/rules/{ruleId}/lifecycle/activate|deactivate`: 204.
async fn rule_lifecycle(
    State(s): State<Shared>,
    caller: Caller,
    Path((id, rule, op)): Path<(String, String, String)>,
    uri: Uri,
) -> Result<Response> {
    let active = lifecycle_op(&op, &uri)?;
    let (mut org, c) = s.begin_write(&caller, &uri);
    org.set_policy_rule_active(&c, &id, &rule, active)?;
    Ok(no_content())
}

/// The `type` a list asks for: `None` for a type of Okta's the emulator holds no policy of;
/// 400 when it is missing (E0000001) or not a policy type (E0000002, as Okta answers).
fn requested_type(query: &ListQuery) -> Result<Option<PolicyType>> {
    let Some(raw) = query.value("type") else {
        return Err(OktaError::validation(
            "type",
            "type: The type query parameter is required",
        ));
    };
    match PolicyType::parse(raw) {
        Some(t) => Ok(Some(t)),
        None if SPEC_POLICY_TYPES.contains(&raw) => Ok(None),
        None => Err(OktaError::invalid_request("Invalid policy type specified")),
    }
}

async fn list(State(s): State<Shared>, headers: HeaderMap, uri: Uri) -> Result<Response> {
    let query = ListQuery::parse(&uri)?;
    let kind = requested_type(&query)?;
    let origin = s.origin(&headers, &uri);
    let limit = query.limit(POLICIES_LIMIT.0, POLICIES_LIMIT.1)?;
    let after = query.after_id()?;
    let status = query.value("status");
    let q = query.value("q").map(str::to_lowercase);
    let org = s.org.read();
    let listed = kind.map(|k| org.policies_of(k)).unwrap_or_default();
    // Policies are listed by priority, so the cursor (a policy id) is looked up in that order.
    let start = match after {
        None => 0,
        Some(a) => listed
            .iter()
            .position(|p| p.id == a)
            .map_or(listed.len(), |i| i + 1),
    };
    let (page, more) = take_page(
        listed[start..].iter().filter(|p| {
            status.is_none_or(|st| {
                st.eq_ignore_ascii_case(if p.active { "ACTIVE" } else { "INACTIVE" })
            }) && q
                .as_ref()
                .is_none_or(|q| p.name.to_lowercase().starts_with(q))
        }),
        limit,
    );
    let mut w = ArrayWriter::with_capacity(page.len() * 1500 + 2);
    for p in &page {
        w.push(&p.json(), Some(&p.links(&origin)));
    }
    let next = more
        .then(|| page.last().map(|p| p.id.to_string()))
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
    let policy = org.policy(&id)?;
    Ok(object_response(
        StatusCode::OK,
        &policy.json(),
        Some(&policy.links(&origin)),
    ))
}

/// Every rule of the policy, by priority.
async fn list_rules(
    State(s): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    let org = s.org.read();
    let policy = org.policy(&id)?;
    let mut w = ArrayWriter::with_capacity(policy.rules.len() * 1200 + 2);
    for r in &policy.rules {
        w.push(&r.json(policy.kind), Some(&policy.rule_links(&origin, r)));
    }
    Ok(json_response(w.finish(), None))
}

async fn get_rule(
    State(s): State<Shared>,
    Path((id, rule)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    let org = s.org.read();
    let policy = org.policy(&id)?;
    let r = policy
        .rule(&rule)
        .ok_or_else(|| OktaError::not_found(&rule, "PolicyRule"))?;
    Ok(object_response(
        StatusCode::OK,
        &r.json(policy.kind),
        Some(&policy.rule_links(&origin, r)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_type_and_an_unknown_type_are_refused_as_okta_does() {
        let q = |s: &str| ListQuery::parse(&s.parse().unwrap()).unwrap();
        let e = requested_type(&q("/api/v1/policies")).unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (400, "E0000001"));
        let e = requested_type(&q("/api/v1/policies?type=OAUTH_AUTHORIZATION_POLICY")).unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (400, "E0000002"));
        assert_eq!(
            requested_type(&q("/api/v1/policies?type=ENTITY_RISK")).unwrap(),
            None
        );
        assert_eq!(
            requested_type(&q("/api/v1/policies?type=PASSWORD")).unwrap(),
            Some(PolicyType::Password)
        );
    }
}
