//! `/api/v1/users`: list (filter, search, q, cursor), get by id or login, create, update,
//! lifecycle, delete, and the user's groups.

use super::filter::{self, Attr, Filterable};
use super::pagination::{ArrayWriter, Links, ListQuery, after_cursor, json_response, take_page};
use super::{Caller, Shared, json_object, no_content, object_response, self_link};
use crate::error::{OktaError, Result};
use crate::model::{Id, User, UserDeletion, UserStatus};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::Response;
use axum::routing::{get, post};
use serde_json::{Value, json};

/// Page size of `GET /api/v1/users` when the request names none, and its maximum.
pub const USERS_LIMIT: (usize, usize) = (200, 200);
/// With `q`, Okta returns 10 users by default and does not paginate.
pub const USERS_Q_LIMIT: (usize, usize) = (10, 200);
/// `GET /api/v1/users/{id}/groups`: Okta documents no page size here, so the emulator pages
/// it as `/api/v1/groups` (default and maximum 10000): a client that sends no `limit` still
/// gets every group of a user in one page.
pub const USER_GROUPS_LIMIT: (usize, usize) = (10_000, 10_000);

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/users", get(list).post(create))
        .route(
            "/api/v1/users/{id}",
            get(get_one)
                .post(update_partial)
                .put(update_full)
                .delete(delete),
        )
        .route("/api/v1/users/{id}/groups", get(groups_of))
        .route("/api/v1/users/{id}/lifecycle/{op}", post(lifecycle))
}

impl Filterable for User {
    fn attr(&self, name: &str) -> Attr<'_> {
        match name {
            "id" => Attr::Str(self.id.as_str()),
            "status" => Attr::Str(self.status.as_str()),
            "lastUpdated" => Attr::Ts(self.last_updated),
            "created" => Attr::Ts(self.created),
            "activated" => self.activated.map_or(Attr::Missing, Attr::Ts),
            "statusChanged" => self.status_changed.map_or(Attr::Missing, Attr::Ts),
            "type.id" => Attr::Str(self.type_id.as_str()),
            _ => match name
                .strip_prefix("profile.")
                .and_then(|k| self.profile.get(k))
            {
                Some(Value::String(s)) => Attr::Str(s),
                Some(Value::Bool(b)) => Attr::Bool(*b),
                _ => Attr::Missing,
            },
        }
    }
}

/// A user's `_links` in a collection: `self` only, as Okta sends them.
pub fn user_links(origin: &str, id: &Id) -> String {
    self_link(origin, &format!("/api/v1/users/{id}"))
}

/// The lifecycle and credential operations a user's status allows, as `(rel, path under
/// /api/v1/users/{id}/)`: the links Okta puts on a single user (spec `User._links`, and the
/// ACTIVE and PASSWORD_EXPIRED examples there).
fn operations(status: UserStatus) -> &'static [(&'static str, &'static str)] {
    const RESET_PASSWORD: (&str, &str) = ("resetPassword", "lifecycle/reset_password");
    const RESET_FACTORS: (&str, &str) = ("resetFactors", "lifecycle/reset_factors");
    const EXPIRE_PASSWORD: (&str, &str) = ("expirePassword", "lifecycle/expire_password");
    const FORGOT_PASSWORD: (&str, &str) = ("forgotPassword", "credentials/forgot_password");
    const CHANGE_PASSWORD: (&str, &str) = ("changePassword", "credentials/change_password");
    const CHANGE_RECOVERY: (&str, &str) = (
        "changeRecoveryQuestion",
        "credentials/change_recovery_question",
    );
    const DEACTIVATE: (&str, &str) = ("deactivate", "lifecycle/deactivate");
    match status {
        UserStatus::Staged => &[("activate", "lifecycle/activate"), DEACTIVATE],
        UserStatus::Provisioned => &[("reactivate", "lifecycle/reactivate"), DEACTIVATE],
        UserStatus::Active => &[
            ("suspend", "lifecycle/suspend"),
            RESET_PASSWORD,
            RESET_FACTORS,
            EXPIRE_PASSWORD,
            FORGOT_PASSWORD,
            CHANGE_RECOVERY,
            CHANGE_PASSWORD,
            DEACTIVATE,
        ],
        UserStatus::PasswordExpired => &[
            RESET_PASSWORD,
            RESET_FACTORS,
            EXPIRE_PASSWORD,
            FORGOT_PASSWORD,
            CHANGE_RECOVERY,
            CHANGE_PASSWORD,
            DEACTIVATE,
        ],
        UserStatus::Recovery => &[
            ("reactivate", "lifecycle/reactivate"),
            RESET_PASSWORD,
            RESET_FACTORS,
            DEACTIVATE,
        ],
        UserStatus::LockedOut => &[
            ("unlock", "lifecycle/unlock"),
            RESET_PASSWORD,
            RESET_FACTORS,
            EXPIRE_PASSWORD,
            DEACTIVATE,
        ],
        UserStatus::Suspended => &[("unsuspend", "lifecycle/unsuspend"), DEACTIVATE],
        UserStatus::Deprovisioned => &[("activate", "lifecycle/activate")],
    }
}

/// A user's `_links` in a single-user response: `self`, its profile `schema` and `type`,
/// and the operations its status allows (each with `method`, as Okta writes them);
/// `resetFactors` only while the user has factors to reset.
pub fn user_detail_links(origin: &str, user: &User, has_factors: bool) -> String {
    let id = user.id;
    let mut links = serde_json::Map::new();
    for (rel, path) in operations(user.status) {
        if *rel == "resetFactors" && !has_factors {
            continue;
        }
        links.insert(
            (*rel).into(),
            json!({"href": format!("{origin}/api/v1/users/{id}/{path}"), "method": "POST"}),
        );
    }
    // The profile schema's id mirrors the user type's (`oty…` → `osc…`), as in Okta orgs.
    let schema = format!("osc{}", &user.type_id.as_str()[3..]);
    links.insert(
        "schema".into(),
        json!({"href": format!("{origin}/api/v1/meta/schemas/user/{schema}")}),
    );
    links.insert(
        "type".into(),
        json!({"href": format!("{origin}/api/v1/meta/types/user/{}", user.type_id)}),
    );
    links.insert(
        "self".into(),
        json!({"href": format!("{origin}/api/v1/users/{id}")}),
    );
    Value::Object(links).to_string()
}

fn q_matches(user: &User, q: &str) -> bool {
    ["firstName", "lastName", "email"].iter().any(|k| {
        user.profile
            .get(*k)
            .and_then(Value::as_str)
            .is_some_and(|v| v.to_lowercase().starts_with(q))
    })
}

async fn list(State(s): State<Shared>, headers: HeaderMap, uri: Uri) -> Result<Response> {
    let query = ListQuery::parse(&uri)?;
    let origin = s.origin(&headers, &uri);
    let org = s.org.read();
    if let Some(q) = query.value("q") {
        let limit = query.limit(USERS_Q_LIMIT.0, USERS_Q_LIMIT.1)?;
        let q = q.to_lowercase();
        let mut w = ArrayWriter::with_capacity(limit * 800);
        for u in org
            .users
            .values()
            .filter(|u| u.status != UserStatus::Deprovisioned && q_matches(u, &q))
            .take(limit)
        {
            w.push(&u.json(), Some(&user_links(&origin, &u.id)));
        }
        let links = Links::for_page(&origin, uri.path(), &query, limit, None);
        return Ok(json_response(w.finish(), Some(&links)));
    }
    let limit = query.limit(USERS_LIMIT.0, USERS_LIMIT.1)?;
    let after = query.after_id()?;
    let expr = match (query.value("filter"), query.value("search")) {
        (Some(f), _) => Some(filter::parse(f, &filter::USER_FILTER)?),
        (None, Some(sr)) => Some(filter::parse(sr, &filter::USER_SEARCH)?),
        (None, None) => None,
    };
    let range = org.users.range(after_cursor(after));
    let (page, more) = match &expr {
        Some(e) => {
            // An `id eq` or `profile.login eq` filter names at most one user: no scan.
            let named = filter::find_eq(e, "id").and_then(Id::parse).or_else(|| {
                filter::find_eq(e, "profile.login")
                    .and_then(|l| org.logins.get(&l.to_lowercase()).copied())
            });
            if let Some(one) = named.and_then(|id| org.users.get(&id)) {
                let hit = filter::eval(e, one) && after.is_none_or(|a| one.id > a);
                (if hit { vec![one] } else { vec![] }, false)
            } else {
                take_page(range.map(|(_, u)| u).filter(|u| filter::eval(e, *u)), limit)
            }
        }
        None => take_page(
            range
                .map(|(_, u)| u)
                .filter(|u| u.status != UserStatus::Deprovisioned),
            limit,
        ),
    };
    let mut w = ArrayWriter::with_capacity(page.len() * 900 + 2);
    let mut link = String::with_capacity(origin.len() + 64);
    for u in &page {
        link.clear();
        link.push_str(r#"{"self":{"href":""#);
        link.push_str(&origin);
        link.push_str("/api/v1/users/");
        link.push_str(u.id.as_str());
        link.push_str(r#""}}"#);
        w.push(&u.json(), Some(&link));
    }
    let next = more
        .then(|| page.last().map(|u| format!("0{}", u.id)))
        .flatten();
    drop(org);
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
    let user = org
        .find_user(&id)
        .ok_or_else(|| OktaError::not_found(&id, "User"))?;
    Ok(object_response(
        StatusCode::OK,
        &user.json(),
        Some(&user_detail_links(
            &origin,
            user,
            org.factors.contains_key(&user.id),
        )),
    ))
}

fn respond_user(s: &Shared, origin: &str, id: &Id, status: StatusCode) -> Result<Response> {
    let org = s.org.read();
    let user = org
        .users
        .get(id)
        .ok_or_else(|| OktaError::not_found(id.as_str(), "User"))?;
    Ok(object_response(
        status,
        &user.json(),
        Some(&user_detail_links(
            origin,
            user,
            org.factors.contains_key(id),
        )),
    ))
}

async fn create(
    State(s): State<Shared>,
    caller: Caller,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response> {
    let query = ListQuery::parse(&uri)?;
    let origin = s.origin(&headers, &uri);
    let body = json_object(&body)?;
    let profile = match body.get("profile") {
        Some(Value::Object(p)) => p.clone(),
        _ => {
            return Err(OktaError::validation(
                "User",
                "profile: The field cannot be left blank",
            ));
        }
    };
    let has_password = body
        .get("credentials")
        .and_then(|c| c.get("password"))
        .and_then(|p| p.get("value"))
        .and_then(Value::as_str)
        .is_some_and(|v| !v.is_empty());
    let activate = !query
        .get("activate")
        .is_some_and(|v| v.eq_ignore_ascii_case("false"));
    let group_ids: Vec<Id> = match body.get("groupIds") {
        Some(Value::Array(ids)) => ids
            .iter()
            .map(|v| {
                v.as_str()
                    .and_then(Id::parse)
                    .ok_or_else(|| OktaError::not_found(&v.to_string(), "UserGroup"))
            })
            .collect::<Result<_>>()?,
        _ => Vec::new(),
    };
    let id = {
        let (mut org, c) = s.begin_write(&caller, &uri);
        org.create_user(&c, profile, has_password, activate, &group_ids)?
    };
    respond_user(&s, &origin, &id, StatusCode::OK)
}

async fn update(
    s: Shared,
    caller: Caller,
    headers: HeaderMap,
    uri: Uri,
    id: String,
    body: Bytes,
    replace: bool,
) -> Result<Response> {
    let origin = s.origin(&headers, &uri);
    let body = json_object(&body)?;
    let profile = match body.get("profile") {
        Some(Value::Object(p)) => p.clone(),
        None if !replace => serde_json::Map::new(),
        _ => {
            return Err(OktaError::validation(
                "User",
                "profile: The field cannot be left blank",
            ));
        }
    };
    let uid = {
        let (mut org, c) = s.begin_write(&caller, &uri);
        org.update_user_profile(&c, &id, profile, replace)?
    };
    respond_user(&s, &origin, &uid, StatusCode::OK)
}

async fn update_partial(
    State(s): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response> {
    update(s, caller, headers, uri, id, body, false).await
}

async fn update_full(
    State(s): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    body: Bytes,
) -> Result<Response> {
    update(s, caller, headers, uri, id, body, true).await
}

async fn lifecycle(
    State(s): State<Shared>,
    caller: Caller,
    Path((id, op)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response> {
    let (mut org, c) = s.begin_write(&caller, &uri);
    match op.as_str() {
        "activate" => org.activate_user(&c, &id)?,
        "reactivate" => org.reactivate_user(&c, &id)?,
        "deactivate" => org.deactivate_user(&c, &id)?,
        "suspend" => org.suspend_user(&c, &id)?,
        "unsuspend" => org.unsuspend_user(&c, &id)?,
        "unlock" => org.unlock_user(&c, &id)?,
        "reset_factors" => org.reset_factors(&c, &id)?,
        other => {
            return Err(OktaError::no_route(&format!(
                "/api/v1/users/{id}/lifecycle/{other}"
            )));
        }
    };
    Ok(super::value_response(
        StatusCode::OK,
        &serde_json::json!({}),
    ))
}

async fn delete(
    State(s): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response> {
    let (mut org, c) = s.begin_write(&caller, &uri);
    match org.delete_user(&c, &id)? {
        UserDeletion::Deactivated | UserDeletion::Deleted => Ok(no_content()),
    }
}

/// `GET /api/v1/users/{id}/groups`: the user's groups in id order, with cursor pages and
/// `Link` headers like the other lists.
async fn groups_of(
    State(s): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let query = ListQuery::parse(&uri)?;
    let origin = s.origin(&headers, &uri);
    let limit = query.limit(USER_GROUPS_LIMIT.0, USER_GROUPS_LIMIT.1)?;
    let after = query.after_id()?;
    let org = s.org.read();
    let uid = org.user_id(&id)?;
    let set = org.user_groups.get(&uid);
    let iter = set.into_iter().flat_map(|g| g.range(after_cursor(after)));
    let (page, more) = take_page(iter.filter_map(|g| org.groups.get(g)), limit);
    let mut w = ArrayWriter::with_capacity(page.len() * 500 + 2);
    for g in &page {
        w.push(&g.json(), Some(&super::groups::group_links(&origin, g)));
    }
    let next = more
        .then(|| page.last().map(|g| g.id.to_string()))
        .flatten();
    let links = Links::for_page(&origin, uri.path(), &query, limit, next);
    Ok(json_response(w.finish(), Some(&links)))
}
