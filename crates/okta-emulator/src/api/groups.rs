//! `/api/v1/groups`: list (filter, search, q, expand=stats), get, create, update, delete,
//! members (list, add, remove) and the group's apps.

use super::filter::{self, Attr, Filterable};
use super::pagination::{ArrayWriter, Links, ListQuery, after_cursor, json_response, take_page};
use super::{Caller, Shared, json_object, no_content, object_response};
use crate::error::{OktaError, Result};
use crate::model::{Group, Id, Org};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, put};
use serde_json::Value;

/// `GET /api/v1/groups` default and maximum page size (Okta's self link shows 10000).
pub const GROUPS_LIMIT: (usize, usize) = (10_000, 10_000);
/// `q` is not paginated and returns up to 300 groups by default.
pub const GROUPS_Q_LIMIT: (usize, usize) = (300, 10_000);
/// `GET /api/v1/groups/{id}/users`: 1000 "for historical reasons".
pub const GROUP_USERS_LIMIT: (usize, usize) = (1_000, 1_000);
/// `GET /api/v1/groups/{id}/apps`.
pub const GROUP_APPS_LIMIT: (usize, usize) = (20, 200);

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/groups", get(list).post(create))
        .route(
            "/api/v1/groups/{id}",
            get(get_one).put(update).delete(delete),
        )
        .route("/api/v1/groups/{id}/users", get(members))
        .route(
            "/api/v1/groups/{id}/users/{uid}",
            put(add_member).delete(remove_member),
        )
        .route("/api/v1/groups/{id}/apps", get(apps_of))
}

impl Filterable for Group {
    fn attr(&self, name: &str) -> Attr<'_> {
        match name {
            "id" => Attr::Str(self.id.as_str()),
            "type" => Attr::Str(self.kind.as_str()),
            "lastUpdated" => Attr::Ts(self.last_updated),
            "lastMembershipUpdated" => Attr::Ts(self.last_membership_updated),
            "created" => Attr::Ts(self.created),
            "source.id" => self
                .source
                .as_ref()
                .map_or(Attr::Missing, |s| Attr::Str(s.as_str())),
            _ => match name
                .strip_prefix("profile.")
                .and_then(|k| self.profile.get(k))
            {
                Some(Value::String(s)) => Attr::Str(s),
                _ => Attr::Missing,
            },
        }
    }
}

/// A group's `_links` as Okta sends them, in lists too: `logo` (medium and large), `users`,
/// `apps`, `self`, and `source` (the app it is imported from) for an APP_GROUP.
pub fn group_links(origin: &str, g: &Group) -> String {
    let id = g.id;
    let logo = |size: &str| {
        format!(
            r#"{{"name":"{size}","href":"{origin}/assets/img/logos/groups/okta-{size}.png","type":"image/png"}}"#
        )
    };
    let source = match &g.source {
        Some(app) => format!(r#","source":{{"href":"{origin}/api/v1/apps/{app}"}}"#),
        None => String::new(),
    };
    format!(
        r#"{{"logo":[{},{}],"users":{{"href":"{origin}/api/v1/groups/{id}/users"}},"apps":{{"href":"{origin}/api/v1/groups/{id}/apps"}},"self":{{"href":"{origin}/api/v1/groups/{id}"}}{source}}}"#,
        logo("medium"),
        logo("large"),
    )
}

/// `_links` followed by `_embedded.stats` (for `expand=stats`).
fn links_with_stats(org: &Org, origin: &str, g: &Group) -> String {
    let stats = serde_json::json!({
        "usersCount": org.members.get(&g.id).map_or(0, |m| m.len()),
        "appsCount": org.group_apps.get(&g.id).map_or(0, |a| a.len()),
        "groupPushMappingsCount": 0,
        "hasAdminPrivlege": org.group_has_admin_privilege(&g.id),
        "_links": {"self": {"href": format!("{origin}/api/v1/groups/{}/stats", g.id)}},
    });
    format!(
        "{},\"_embedded\":{{\"stats\":{}}}",
        group_links(origin, g),
        stats
    )
}

fn wants_stats(query: &ListQuery) -> bool {
    query
        .value("expand")
        .is_some_and(|e| e.split(',').any(|x| x == "stats"))
}

async fn list(State(s): State<Shared>, headers: HeaderMap, uri: Uri) -> Result<Response> {
    let query = ListQuery::parse(&uri)?;
    let origin = s.origin(&headers, &uri);
    let stats = wants_stats(&query);
    let org = s.org.read();
    let links_for = |g: &Group| {
        if stats {
            links_with_stats(&org, &origin, g)
        } else {
            group_links(&origin, g)
        }
    };
    if let Some(q) = query.value("q") {
        let limit = query.limit(GROUPS_Q_LIMIT.0, GROUPS_Q_LIMIT.1)?;
        let q = q.to_lowercase();
        let mut w = ArrayWriter::with_capacity(limit * 400);
        for g in org
            .groups
            .values()
            .filter(|g| g.name().to_lowercase().starts_with(&q))
            .take(limit)
        {
            w.push(&g.json(), Some(&links_for(g)));
        }
        let links = Links::for_page(&origin, uri.path(), &query, limit, None);
        return Ok(json_response(w.finish(), Some(&links)));
    }
    let limit = query.limit(GROUPS_LIMIT.0, GROUPS_LIMIT.1)?;
    let after = query.after_id()?;
    let expr = match (query.value("filter"), query.value("search")) {
        (Some(f), _) => Some(filter::parse(f, &filter::GROUP_FILTER)?),
        (None, Some(sr)) => Some(filter::parse(sr, &filter::GROUP_SEARCH)?),
        (None, None) => None,
    };
    let range = org.groups.range(after_cursor(after));
    let (page, more) = take_page(
        range
            .map(|(_, g)| g)
            .filter(|g| expr.as_ref().is_none_or(|e| filter::eval(e, *g))),
        limit,
    );
    let mut w = ArrayWriter::with_capacity(page.len() * 500 + 2);
    for g in &page {
        w.push(&g.json(), Some(&links_for(g)));
    }
    let next = more
        .then(|| page.last().map(|g| g.id.to_string()))
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
    let query = ListQuery::parse(&uri)?;
    let origin = s.origin(&headers, &uri);
    let org = s.org.read();
    let gid = org.group_id(&id)?;
    let g = &org.groups[&gid];
    let links = if wants_stats(&query) {
        links_with_stats(&org, &origin, g)
    } else {
        group_links(&origin, g)
    };
    Ok(object_response(StatusCode::OK, &g.json(), Some(&links)))
}

fn respond_group(s: &Shared, origin: &str, id: &Id) -> Result<Response> {
    let org = s.org.read();
    let g = org
        .groups
        .get(id)
        .ok_or_else(|| OktaError::not_found(id.as_str(), "UserGroup"))?;
    Ok(object_response(
        StatusCode::OK,
        &g.json(),
        Some(&group_links(origin, g)),
    ))
}

fn profile_of(body: &Bytes) -> Result<serde_json::Map<String, Value>> {
    match json_object(body)?.get("profile") {
        Some(Value::Object(p)) => Ok(p.clone()),
        _ => Err(OktaError::validation(
            "UserGroup",
            "profile: The field cannot be left blank",
        )),
    }
}

async fn create(
    State(s): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    let profile = profile_of(&body)?;
    let id = {
        let (mut org, c) = s.begin_write(&caller, &uri);
        org.create_group(&c, profile)?
    };
    respond_group(&s, &origin, &id)
}

async fn update(
    State(s): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    let profile = profile_of(&body)?;
    let gid = {
        let (mut org, c) = s.begin_write(&caller, &uri);
        org.update_group(&c, &id, profile)?
    };
    respond_group(&s, &origin, &gid)
}

async fn delete(
    State(s): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response> {
    let (mut org, c) = s.begin_write(&caller, &uri);
    org.delete_group(&c, &id)?;
    Ok(no_content())
}

async fn members(
    State(s): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let query = ListQuery::parse(&uri)?;
    let origin = s.origin(&headers, &uri);
    let limit = query.limit(GROUP_USERS_LIMIT.0, GROUP_USERS_LIMIT.1)?;
    let after = query.after_id()?;
    let org = s.org.read();
    let gid = org.group_id(&id)?;
    let set = org.members.get(&gid);
    let iter = set.into_iter().flat_map(|m| m.range(after_cursor(after)));
    let (page, more) = take_page(iter.filter_map(|u| org.users.get(u)), limit);
    let mut w = ArrayWriter::with_capacity(page.len() * 900 + 2);
    for u in &page {
        w.push(&u.json(), Some(&super::users::user_links(&origin, &u.id)));
    }
    let next = more
        .then(|| page.last().map(|u| u.id.to_string()))
        .flatten();
    let links = Links::for_page(&origin, uri.path(), &query, limit, next);
    Ok(json_response(w.finish(), Some(&links)))
}

async fn add_member(
    State(s): State<Shared>,
    caller: Caller,
    Path((gid, uid)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response> {
    let (mut org, c) = s.begin_write(&caller, &uri);
    org.add_member(&c, &gid, &uid)?;
    Ok(no_content())
}

async fn remove_member(
    State(s): State<Shared>,
    caller: Caller,
    Path((gid, uid)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response> {
    let (mut org, c) = s.begin_write(&caller, &uri);
    org.remove_member(&c, &gid, &uid)?;
    Ok(no_content())
}

async fn apps_of(
    State(s): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let query = ListQuery::parse(&uri)?;
    let origin = s.origin(&headers, &uri);
    let limit = query.limit(GROUP_APPS_LIMIT.0, GROUP_APPS_LIMIT.1)?;
    let after = query.after_id()?;
    let org = s.org.read();
    let gid = org.group_id(&id)?;
    let set = org.group_apps.get(&gid);
    let iter = set.into_iter().flat_map(|m| m.range(after_cursor(after)));
    let (page, more) = take_page(iter.filter_map(|a| org.any_app(a)), limit);
    let mut w = ArrayWriter::with_capacity(page.len() * 1500 + 2);
    for a in &page {
        w.push(&a.json(), Some(&super::apps::app_links(&origin, a)));
    }
    let next = more
        .then(|| page.last().map(|a| a.id.to_string()))
        .flatten();
    let links = Links::for_page(&origin, uri.path(), &query, limit, next);
    Ok(json_response(w.finish(), Some(&links)))
}
