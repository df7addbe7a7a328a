//! `/api/v1/groups/rules`: list (`limit` 50 by default, at most 200; `after`; `search` in the
//! name; `expand=groupIdToGroupNameMap`), get, create (INACTIVE), replace (INACTIVE rules
//! only), delete (`removeUsers`), activate and deactivate.

use super::pagination::{ArrayWriter, Links, ListQuery, after_cursor, json_response, take_page};
use super::{Caller, Shared, json_object, no_content, object_response};
use crate::error::{OktaError, Result};
use crate::model::{GroupRule, Id, Org, RuleInput};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Map, Value};

/// `GET /api/v1/groups/rules` default and maximum page size (spec `listGroupRules`).
pub const RULES_LIMIT: (usize, usize) = (50, 200);

pub fn routes() -> Router<Shared> {
    Router::new()
        .route("/api/v1/groups/rules", get(list).post(create))
        .route(
            "/api/v1/groups/rules/{id}",
            get(get_one).put(replace).delete(delete),
        )
        .route("/api/v1/groups/rules/{id}/lifecycle/{op}", post(lifecycle))
}

fn wants_group_names(query: &ListQuery) -> bool {
    query
        .value("expand")
        .is_some_and(|e| e.split(',').any(|x| x == "groupIdToGroupNameMap"))
}

/// `_embedded.groupIdToGroupNameMap`: the names of the groups the rule names (targets, then
/// groups its expression asks about) that still exist.
fn group_names(org: &Org, rule: &GroupRule) -> String {
    let mut ids = rule.group_ids.clone();
    rule.parsed.group_ids(&mut ids);
    let mut names = Map::new();
    for id in ids {
        if let Some(g) = org.groups.get(&id) {
            names.insert(id.to_string(), Value::String(g.name().to_string()));
        }
    }
    let embedded = serde_json::json!({"groupIdToGroupNameMap": names});
    embedded.to_string()
}

/// The rule's bytes with `"_embedded": …` added before the closing brace.
fn with_embedded(object: &[u8], embedded: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(object.len() + embedded.len() + 16);
    match object.split_last() {
        Some((b'}', head)) if head.len() > 1 => {
            out.extend_from_slice(head);
            out.extend_from_slice(b",\"_embedded\":");
            out.extend_from_slice(embedded.as_bytes());
            out.push(b'}');
        }
        _ => out.extend_from_slice(object),
    }
    out
}

fn rule_bytes(org: &Org, rule: &GroupRule, expand: bool) -> Vec<u8> {
    if expand {
        with_embedded(&rule.json(), &group_names(org, rule))
    } else {
        rule.json().to_vec()
    }
}

async fn list(State(s): State<Shared>, headers: HeaderMap, uri: Uri) -> Result<Response> {
    let query = ListQuery::parse(&uri)?;
    let origin = s.origin(&headers, &uri);
    let limit = query.limit(RULES_LIMIT.0, RULES_LIMIT.1)?;
    let after = query.after_id()?;
    let expand = wants_group_names(&query);
    let search = query.value("search").map(str::to_lowercase);
    let org = s.org.read();
    let (page, more) = take_page(
        org.rules
            .range(after_cursor(after))
            .map(|(_, r)| r)
            .filter(|r| {
                search
                    .as_deref()
                    .is_none_or(|q| r.name.to_lowercase().contains(q))
            }),
        limit,
    );
    let mut w = ArrayWriter::with_capacity(page.len() * 700 + 2);
    for r in &page {
        w.push(&rule_bytes(&org, r, expand), None);
    }
    let next = more
        .then(|| page.last().map(|r| r.id.to_string()))
        .flatten();
    let links = Links::for_page(&origin, uri.path(), &query, limit, next);
    Ok(json_response(w.finish(), Some(&links)))
}

fn find<'a>(org: &'a Org, id: &str) -> Result<&'a GroupRule> {
    Id::parse(id)
        .and_then(|rid| org.rules.get(&rid))
        .ok_or_else(|| OktaError::not_found(id, "GroupRule"))
}

async fn get_one(State(s): State<Shared>, Path(id): Path<String>, uri: Uri) -> Result<Response> {
    let query = ListQuery::parse(&uri)?;
    let org = s.org.read();
    let rule = find(&org, &id)?;
    let body = rule_bytes(&org, rule, wants_group_names(&query));
    Ok(object_response(StatusCode::OK, &body, None))
}

/// A list of strings at `field`; absent or `null` is empty.
fn strings(value: Option<&Value>, field: &str) -> Result<Vec<String>> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    OktaError::validation(field, format!("{field}: every item must be a string"))
                })
            })
            .collect(),
        Some(_) => Err(OktaError::validation(
            field,
            format!("{field}: must be an array of strings"),
        )),
    }
}

fn text(value: Option<&Value>, field: &str) -> Result<Option<String>> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(OktaError::validation(
            field,
            format!("{field}: must be a string"),
        )),
    }
}

/// Reads a GroupRule request body.
pub fn rule_input(body: &Bytes) -> Result<RuleInput> {
    let v = Value::Object(json_object(body)?);
    Ok(RuleInput {
        kind: text(v.get("type"), "type")?,
        name: text(v.get("name"), "name")?,
        expression: text(
            v.pointer("/conditions/expression/value"),
            "conditions.expression.value",
        )?,
        expression_type: text(
            v.pointer("/conditions/expression/type"),
            "conditions.expression.type",
        )?,
        exclude_users: strings(
            v.pointer("/conditions/people/users/exclude"),
            "conditions.people.users.exclude",
        )?,
        exclude_groups: strings(
            v.pointer("/conditions/people/groups/exclude"),
            "conditions.people.groups.exclude",
        )?,
        group_ids: strings(
            v.pointer("/actions/assignUserToGroups/groupIds"),
            "actions.assignUserToGroups.groupIds",
        )?,
    })
}

fn respond(s: &Shared, id: &Id) -> Result<Response> {
    let org = s.org.read();
    let rule = org
        .rules
        .get(id)
        .ok_or_else(|| OktaError::not_found(id.as_str(), "GroupRule"))?;
    Ok(object_response(StatusCode::OK, &rule.json(), None))
}

async fn create(
    State(s): State<Shared>,
    caller: Caller,
    uri: Uri,
    body: Bytes,
) -> Result<Response> {
    let input = rule_input(&body)?;
    let id = {
        let (mut org, c) = s.begin_write(&caller, &uri);
        org.create_rule(&c, input)?
    };
    respond(&s, &id)
}

async fn replace(
    State(s): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
    body: Bytes,
) -> Result<Response> {
    let input = rule_input(&body)?;
    let rid = {
        let (mut org, c) = s.begin_write(&caller, &uri);
        org.replace_rule(&c, &id, input)?
    };
    respond(&s, &rid)
}

async fn delete(
    State(s): State<Shared>,
    caller: Caller,
    Path(id): Path<String>,
    uri: Uri,
) -> Result<Response> {
    let query = ListQuery::parse(&uri)?;
    // A Java boolean parameter: "true" in any case is true, anything else false.
    let remove_users = query
        .value("removeUsers")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    let (mut org, c) = s.begin_write(&caller, &uri);
    org.delete_rule(&c, &id, remove_users)?;
    Ok(StatusCode::ACCEPTED.into_response())
}

async fn lifecycle(
    State(s): State<Shared>,
    caller: Caller,
    Path((id, op)): Path<(String, String)>,
    uri: Uri,
) -> Result<Response> {
    let (mut org, c) = s.begin_write(&caller, &uri);
    match op.as_str() {
        "activate" => org.activate_rule(&c, &id)?,
        "deactivate" => org.deactivate_rule(&c, &id)?,
        _ => return Err(OktaError::no_route(uri.path())),
    };
    Ok(no_content())
}
