//! Admin role assignments: `/api/v1/users/{id}/roles`, `/api/v1/groups/{id}/roles` and
//! `/api/v1/iam/assignees/users` (whose next link is in the body).

use super::pagination::{ListQuery, after_cursor, link_url};
use super::{Caller, Shared, json_object, no_content, object_response, value_response};
use crate::error::{OktaError, Result};
use crate::model::{AssigneeType, Id, Org, RoleAssignment};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

/// `GET /api/v1/iam/assignees/users` default and maximum page size.
pub const ASSIGNEES_LIMIT: (usize, usize) = (100, 100);

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/users/{id}/roles", get(user_roles).post(grant_user))
        .route(
            "/api/v1/users/{id}/roles/{rid}",
            get(user_role).delete(revoke_user),
        )
        .route(
            "/api/v1/groups/{id}/roles",
            get(group_roles).post(grant_group),
        )
        .route(
            "/api/v1/groups/{id}/roles/{rid}",
            get(group_role).delete(revoke_group),
        )
        .route("/api/v1/iam/assignees/users", get(assignees))
}

fn role_json(origin: &str, r: &RoleAssignment, assignment_type: &str) -> Value {
    let mut v = r.to_value(assignment_type);
    let path = match r.assignee_type {
        AssigneeType::User => "users",
        AssigneeType::Group => "groups",
    };
    v["_links"] = json!({"assignee": {"href": format!("{origin}/api/v1/{path}/{}", r.assignee)}});
    v
}

/// A user's roles: direct ones (`assignmentType` USER) and those held through groups (GROUP).
fn roles_of_user(org: &Org, origin: &str, uid: &Id) -> Vec<Value> {
    let mut out: Vec<Value> = org
        .role_ids_of(uid)
        .filter_map(|r| org.roles.get(r))
        .map(|r| role_json(origin, r, "USER"))
        .collect();
    for g in org.groups_of(uid) {
        for r in org.role_ids_of(g).filter_map(|r| org.roles.get(r)) {
            out.push(role_json(origin, r, "GROUP"));
        }
    }
    out
}

async fn user_roles(
    State(s): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    let org = s.org.read();
    let uid = org.user_id(&id)?;
    Ok(value_response(
        StatusCode::OK,
        &Value::Array(roles_of_user(&org, &origin, &uid)),
    ))
}

async fn group_roles(
    State(s): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    let org = s.org.read();
    let gid = org.group_id(&id)?;
    let roles: Vec<Value> = org
        .role_ids_of(&gid)
        .filter_map(|r| org.roles.get(r))
        .map(|r| role_json(&origin, r, "GROUP"))
        .collect();
    Ok(value_response(StatusCode::OK, &Value::Array(roles)))
}

fn one_role(
    s: &Shared,
    origin: &str,
    kind: AssigneeType,
    id: &str,
    rid: &str,
    status: StatusCode,
) -> Result<Response> {
    let org = s.org.read();
    let assignee = match kind {
        AssigneeType::User => org.user_id(id)?,
        AssigneeType::Group => org.group_id(id)?,
    };
    let role = Id::parse(rid)
        .and_then(|r| org.roles.get(&r))
        .filter(|r| r.assignee == assignee)
        .ok_or_else(|| OktaError::not_found(rid, "RoleAssignment"))?;
    let v = role_json(origin, role, kind.as_str());
    Ok(object_response(
        status,
        &serde_json::to_vec(&v).unwrap_or_default(),
        None,
    ))
}

async fn user_role(
    State(s): State<Shared>,
    Path((id, rid)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    one_role(&s, &origin, AssigneeType::User, &id, &rid, StatusCode::OK)
}

async fn group_role(
    State(s): State<Shared>,
    Path((id, rid)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    one_role(&s, &origin, AssigneeType::Group, &id, &rid, StatusCode::OK)
}

async fn grant(
    s: Shared,
    caller: Caller,
    kind: AssigneeType,
    id: String,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    let body = json_object(&body)?;
    let role = body
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| OktaError::validation("type", "type: The field cannot be left blank"))?
        .to_string();
    let rid = {
        let (mut org, c) = s.begin_write(&caller, &uri);
        org.grant_role(&c, kind, &id, &role)?
    };
    let assignee = {
        let org = s.org.read();
        org.roles
            .get(&rid)
            .map(|r| r.assignee.to_string())
            .unwrap_or(id)
    };
    // Okta answers 201 with the new assignment for users and groups alike (the spec's
    // assignRoleToGroup lists the 201 without a body, but the body is the assignment).
    one_role(
        &s,
        &origin,
        kind,
        &assignee,
        rid.as_str(),
        StatusCode::CREATED,
    )
}

async fn grant_user(
    State(s): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response> {
    grant(s, caller, AssigneeType::User, id, headers, uri, body).await
}

async fn grant_group(
    State(s): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response> {
    grant(s, caller, AssigneeType::Group, id, headers, uri, body).await
}

async fn revoke_user(
    State(s): State<Shared>,
    caller: Caller,
    Path((id, rid)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response> {
    let (mut org, c) = s.begin_write(&caller, &uri);
    org.revoke_role(&c, AssigneeType::User, &id, &rid)?;
    Ok(no_content())
}

async fn revoke_group(
    State(s): State<Shared>,
    caller: Caller,
    Path((id, rid)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response> {
    let (mut org, c) = s.begin_write(&caller, &uri);
    org.revoke_role(&c, AssigneeType::Group, &id, &rid)?;
    Ok(no_content())
}

/// `GET /api/v1/iam/assignees/users`: users with directly assigned roles. The body is an
/// object `{value, _links}` and the next page link sits in `_links.next`.
async fn assignees(State(s): State<Shared>, headers: HeaderMap, uri: Uri) -> Result<Response> {
    let query = ListQuery::parse(&uri)?;
    let origin = s.origin(&headers, &uri);
    let limit = query.limit(ASSIGNEES_LIMIT.0, ASSIGNEES_LIMIT.1)?;
    let after = query.after_id()?;
    let org = s.org.read();
    let users = org.users_with_roles();
    let range = users.range(after_cursor(after));
    let (page, more) = super::pagination::take_page(range, limit);
    let value: Vec<Value> = page
        .iter()
        .map(|u| {
            json!({
                "id": u,
                "orn": format!("orn:okta:directory:{}:users:{u}", org.org_id),
                "_links": {
                    "self": {"href": format!("{origin}/api/v1/users/{u}")},
                    "roles": {"href": format!("{origin}/api/v1/users/{u}/roles")},
                },
            })
        })
        .collect();
    let mut links = serde_json::Map::new();
    if more && let Some(last) = page.last() {
        let next = link_url(
            &origin,
            uri.path(),
            &query,
            &[],
            &[],
            Some(last.as_str()),
            limit,
        );
        links.insert("next".into(), json!({"href": next}));
    }
    Ok(value_response(
        StatusCode::OK,
        &json!({"value": value, "_links": links}),
    ))
}
