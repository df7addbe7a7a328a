//! `/api/v1/apps`: list, get, app users and app group assignments (list, get, assign,
//! unassign).
//!
//! Every endpoint serves the org's OAuth service apps as Okta does (see `model/grants.rs`):
//! the list merges them with the other apps by id, one cursor over both; their users and
//! groups are empty lists, and assigning them users or groups is a 400.

use super::filter::{self, Attr, Filterable, Rules};
use super::pagination::{ArrayWriter, Links, ListQuery, after_cursor, json_response, take_page};
use super::{Caller, Shared, json_object, no_content, object_response};
use crate::error::{OktaError, Result};
use crate::model::{App, Id};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::get;
use serde_json::Value;

/// `GET /api/v1/apps` default and maximum page size.
pub const APPS_LIMIT: (usize, usize) = (20, 200);
/// `GET /api/v1/apps/{id}/users`.
pub const APP_USERS_LIMIT: (usize, usize) = (50, 500);
/// `GET /api/v1/apps/{id}/groups`.
pub const APP_GROUPS_LIMIT: (usize, usize) = (20, 200);

const APP_FILTER: Rules = Rules {
    timestamps: &[],
    attrs: &["id", "status", "name"],
    any_profile: false,
    text_ops: false,
    all_ops: false,
    extended: false,
};

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/apps", get(list))
        .route(
            "/api/v1/apps/{id}",
            get(get_one).put(relabel).delete(delete_app),
        )
        .route(
            "/api/v1/apps/{id}/lifecycle/{op}",
            axum::routing::post(lifecycle),
        )
        .route("/api/v1/apps/{id}/users", get(users).post(assign_user))
        .route(
            "/api/v1/apps/{id}/users/{uid}",
            get(get_user).delete(unassign_user),
        )
        .route("/api/v1/apps/{id}/groups", get(groups))
        .route(
            "/api/v1/apps/{id}/groups/{gid}",
            get(get_group).put(assign_group).delete(unassign_group),
        )
}

impl Filterable for App {
    fn attr(&self, name: &str) -> Attr<'_> {
        match name {
            "id" => Attr::Str(self.id.as_str()),
            "status" => Attr::Str(self.status()),
            "name" => Attr::Str(&self.name),
            _ => Attr::Missing,
        }
    }
}

/// An app's `_links` as Okta sends them, in lists too: `appLinks` (one per
/// `visibility.appLinks` entry), `groups`, `logo`, `users`, `self`, and the lifecycle
/// operation its status allows (`deactivate` when ACTIVE, `activate` when INACTIVE).
pub fn app_links(origin: &str, a: &App) -> String {
    let (id, name) = (a.id, &a.name);
    let lifecycle = if a.active { "deactivate" } else { "activate" };
    format!(
        r#"{{"appLinks":[{{"name":"{name}","href":"{origin}/home/{name}/{id}/{name}","type":"text/html"}}],"groups":{{"href":"{origin}/api/v1/apps/{id}/groups"}},"logo":[{{"name":"medium","href":"{origin}/assets/img/logos/apps/{name}-medium.png","type":"image/png"}}],"users":{{"href":"{origin}/api/v1/apps/{id}/users"}},"{lifecycle}":{{"href":"{origin}/api/v1/apps/{id}/lifecycle/{lifecycle}"}},"self":{{"href":"{origin}/api/v1/apps/{id}"}}}}"#
    )
}

fn app_user_links(origin: &str, app: &Id, user: &Id) -> String {
    format!(
        r#"{{"app":{{"href":"{origin}/api/v1/apps/{app}"}},"user":{{"href":"{origin}/api/v1/users/{user}"}}}}"#
    )
}

fn app_group_links(origin: &str, app: &Id, group: &Id) -> String {
    format!(
        r#"{{"app":{{"href":"{origin}/api/v1/apps/{app}"}},"self":{{"href":"{origin}/api/v1/apps/{app}/groups/{group}"}},"group":{{"href":"{origin}/api/v1/groups/{group}"}}}}"#
    )
}

/// The user of `GET /api/v1/apps?expand=user/{userId}`, the only expansion Okta supports
/// there; 400 E0000001 for any other value.
fn expanded_user(query: &ListQuery) -> Result<Option<Id>> {
    let Some(expand) = query.value("expand") else {
        return Ok(None);
    };
    expand
        .strip_prefix("user/")
        .and_then(Id::parse)
        .map(Some)
        .ok_or_else(|| {
            OktaError::validation(
                "expand",
                format!("expand: '{expand}' is not supported; use user/{{userId}}"),
            )
        })
}

async fn list(State(s): State<Shared>, headers: HeaderMap, uri: Uri) -> Result<Response> {
    let query = ListQuery::parse(&uri)?;
    let origin = s.origin(&headers, &uri);
    let limit = query.limit(APPS_LIMIT.0, APPS_LIMIT.1)?;
    let after = query.after_id()?;
    let expand_user = expanded_user(&query)?;
    let expr = query
        .value("filter")
        .map(|f| filter::parse(f, &APP_FILTER))
        .transpose()?;
    let q = query.value("q").map(str::to_lowercase);
    let org = s.org.read();
    let (page, more) = take_page(
        org.listed_apps(after_cursor(after)).filter(|a| {
            expr.as_ref().is_none_or(|e| filter::eval(e, *a))
                && q.as_ref().is_none_or(|q| {
                    a.name.to_lowercase().starts_with(q) || a.label.to_lowercase().starts_with(q)
                })
        }),
        limit,
    );
    let mut w = ArrayWriter::with_capacity(page.len() * 1500 + 2);
    for a in &page {
        let mut links = app_links(&origin, a);
        // The user's assignment to the app, where there is one, follows `_links`.
        if let Some(uid) = &expand_user
            && let Some(entry) = org.app_users.get(&a.id).and_then(|m| m.get(uid))
        {
            let mut embedded = Vec::with_capacity(512);
            crate::model::splice_links(
                &mut embedded,
                &entry.json(uid),
                &app_user_links(&origin, &a.id, uid),
            );
            links.push_str(",\"_embedded\":{\"user\":");
            links.push_str(&String::from_utf8_lossy(&embedded));
            links.push('}');
        }
        w.push(&a.json(), Some(&links));
    }
    let next = more
        .then(|| page.last().map(|a| a.id.to_string()))
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
    let app = org.app_or_service_app(&id)?;
    Ok(object_response(
        StatusCode::OK,
        &app.json(),
        Some(&app_links(&origin, app)),
    ))
}

/// `PUT /api/v1/apps/{id}`: the emulator applies the `label`; the rest of the app stays
/// (Okta ignores system-assigned properties in the body the same way).
async fn relabel(
    State(s): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    let body = json_object(&body)?;
    let label = body.get("label").and_then(Value::as_str).unwrap_or("");
    let aid = {
        let (mut org, c) = s.begin_write(&caller, &uri);
        org.relabel_app(&c, &id, label)?
    };
    let org = s.org.read();
    let app = org
        .any_app(&aid)
        .ok_or_else(|| OktaError::not_found(&id, "AppInstance"))?;
    Ok(object_response(
        StatusCode::OK,
        &app.json(),
        Some(&app_links(&origin, app)),
    ))
}

async fn users(
    State(s): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let query = ListQuery::parse(&uri)?;
    let origin = s.origin(&headers, &uri);
    let limit = query.limit(APP_USERS_LIMIT.0, APP_USERS_LIMIT.1)?;
    let after = query.after_id()?;
    let org = s.org.read();
    let aid = org.app_id(&id)?;
    let map = org.app_users.get(&aid);
    let iter = map.into_iter().flat_map(|m| m.range(after_cursor(after)));
    let (page, more) = take_page(iter, limit);
    let expand_user = query.value("expand") == Some("user");
    let mut w = ArrayWriter::with_capacity(page.len() * 500 + 2);
    for (uid, entry) in &page {
        let mut links = app_user_links(&origin, &aid, uid);
        if expand_user && let Some(user) = org.users.get(uid) {
            // `_embedded.user` follows `_links` (spliced as one tail).
            let mut embedded = Vec::with_capacity(1024);
            crate::model::splice_links(
                &mut embedded,
                &user.json(),
                &super::users::user_links(&origin, uid),
            );
            links.push_str(",\"_embedded\":{\"user\":");
            links.push_str(&String::from_utf8_lossy(&embedded));
            links.push('}');
        }
        w.push(&entry.json(uid), Some(&links));
    }
    let next = more
        .then(|| page.last().map(|(u, _)| u.to_string()))
        .flatten();
    let links = Links::for_page(&origin, uri.path(), &query, limit, next);
    Ok(json_response(w.finish(), Some(&links)))
}

fn respond_app_user(s: &Shared, origin: &str, app: &str, user: &str) -> Result<Response> {
    let org = s.org.read();
    let aid = org.app_id(app)?;
    let uid = org.user_id(user)?;
    let entry = org
        .app_users
        .get(&aid)
        .and_then(|m| m.get(&uid))
        .ok_or_else(|| OktaError::not_found(user, "AppUser"))?;
    Ok(object_response(
        StatusCode::OK,
        &entry.json(&uid),
        Some(&app_user_links(origin, &aid, &uid)),
    ))
}

async fn get_user(
    State(s): State<Shared>,
    Path((id, uid)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    respond_app_user(&s, &origin, &id, &uid)
}

async fn assign_user(
    State(s): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    let body = json_object(&body)?;
    let user = body
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| OktaError::validation("AppUser", "id: The field cannot be left blank"))?
        .to_string();
    let (aid, uid) = {
        let (mut org, c) = s.begin_write(&caller, &uri);
        org.assign_user_to_app(&c, &id, &user)?
    };
    respond_app_user(&s, &origin, aid.as_str(), uid.as_str())
}

async fn unassign_user(
    State(s): State<Shared>,
    caller: Caller,
    Path((id, uid)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response> {
    let (mut org, c) = s.begin_write(&caller, &uri);
    org.unassign_user_from_app(&c, &id, &uid)?;
    Ok(no_content())
}

async fn groups(
    State(s): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let query = ListQuery::parse(&uri)?;
    let origin = s.origin(&headers, &uri);
    let limit = query.limit(APP_GROUPS_LIMIT.0, APP_GROUPS_LIMIT.1)?;
    let after = query.after_id()?;
    let org = s.org.read();
    let aid = org.app_id(&id)?;
    let map = org.app_groups.get(&aid);
    let iter = map.into_iter().flat_map(|m| m.range(after_cursor(after)));
    let (page, more) = take_page(iter, limit);
    let mut w = ArrayWriter::with_capacity(page.len() * 300 + 2);
    for (gid, entry) in &page {
        w.push(&entry.json(gid), Some(&app_group_links(&origin, &aid, gid)));
    }
    let next = more
        .then(|| page.last().map(|(g, _)| g.to_string()))
        .flatten();
    let links = Links::for_page(&origin, uri.path(), &query, limit, next);
    Ok(json_response(w.finish(), Some(&links)))
}

fn respond_app_group(s: &Shared, origin: &str, app: &str, group: &str) -> Result<Response> {
    let org = s.org.read();
    let aid = org.app_id(app)?;
    let gid = org.group_id(group)?;
    let entry = org
        .app_groups
        .get(&aid)
        .and_then(|m| m.get(&gid))
        .ok_or_else(|| OktaError::not_found(group, "ApplicationGroupAssignment"))?;
    Ok(object_response(
        StatusCode::OK,
        &entry.json(&gid),
        Some(&app_group_links(origin, &aid, &gid)),
    ))
}

async fn get_group(
    State(s): State<Shared>,
    Path((id, gid)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    respond_app_group(&s, &origin, &id, &gid)
}

async fn assign_group(
    State(s): State<Shared>,
    caller: Caller,
    Path((id, gid)): Path<(String, String)>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    let body = json_object(&body)?;
    let priority = body
        .get("priority")
        .and_then(Value::as_u64)
        .map(|p| p as u32);
    {
        let (mut org, c) = s.begin_write(&caller, &uri);
        org.assign_group_to_app(&c, &id, &gid, priority)?;
    }
    respond_app_group(&s, &origin, &id, &gid)
}

async fn unassign_group(
    State(s): State<Shared>,
    caller: Caller,
    Path((id, gid)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response> {
    let (mut org, c) = s.begin_write(&caller, &uri);
    org.unassign_group_from_app(&c, &id, &gid)?;
    Ok(no_content())
}

async fn lifecycle(
    State(s): State<Shared>,
    caller: Caller,
    Path((id, op)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response> {
    let (mut org, c) = s.begin_write(&caller, &uri);
    match op.as_str() {
        "activate" => org.set_app_active(&c, &id, true)?,
        "deactivate" => org.set_app_active(&c, &id, false)?,
        other => {
            return Err(OktaError::no_route(&format!(
                "/api/v1/apps/{id}/lifecycle/{other}"
            )));
        }
    };
    Ok(super::value_response(
        StatusCode::OK,
        &serde_json::json!({}),
    ))
}

async fn delete_app(
    State(s): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response> {
    let (mut org, c) = s.begin_write(&caller, &uri);
    org.delete_app(&c, &id)?;
    Ok(no_content())
}
