//! The `/__emulator/` control endpoints (same auth as the API): `GET export`,
//! `POST churn`, `GET stats`, `PUT faults`, `GET`/`POST scenario` (attack scenarios, see
//! [`crate::scenario`]), `POST activity` (normal sign-ins, see [`crate::activity`]).
//!
//! The export is the org as one canonical JSON object: Okta objects exactly as the API
//! serves them minus `_links` and `_embedded`, every list sorted, every object's keys
//! sorted, so that a mirror producing the same form from API responses matches it byte for
//! byte. Lists, and the order of each (the mirror's key):
//!
//! | key | items | sorted by |
//! |---|---|---|
//! | `app_grants` | `{app_id, grant}`: the grants of every app (the OAuth service apps' too), as `GET /api/v1/apps/{id}/grants` serves them (`issuer` is the org's URL) | app id, grant id |
//! | `app_groups` | `{app_id, group_id}` | app id, group id |
//! | `app_users` | `{app_id, scope, user_id}` | app id, user id |
//! | `apps` | apps, as `GET /api/v1/apps` lists them: the OAuth service apps among them | id |
//! | `authenticators` | authenticators | id |
//! | `factors` | `{factor, user_id}`, every user's | user id, factor id |
//! | `group_members` | `{group_id, user_id}` | group id, user id |
//! | `group_rules` | group rules | id |
//! | `groups` | groups | id |
//! | `idps` | identity providers | id |
//! | `log_streams` | log streams | id |
//! | `network_zones` | network zones | id |
//! | `okta_api_tokens` | API tokens' metadata | id |
//! | `org_settings` | `{name, setting}`: the org-wide singletons, now only `threat_insight` (the ThreatInsight configuration) | name |
//! | `policies` | policies of every type | id |
//! | `policy_rules` | `{policy_id, rule}` | policy id, rule id |
//! | `role_assignments` | `{assignee_id, assignee_type, id, role_type}` | assignee type, assignee id, role type, id |
//! | `users` | users, every status | id |
//!
//! `GET export?include=posture` adds two conveniences to the default export, both already in
//! it: `service_apps` (the OAuth service apps alone, by id; they are in `apps` too) and
//! `threat_insight` (the configuration alone, as in `org_settings`).

use crate::api::{Shared, json_object, value_response};
use crate::churn;
use crate::error::{OktaError, Result};
use crate::gate::Gate;
use crate::model::{Id, Org};
use crate::scenario;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde_json::{Map, Value};
use std::io::Write;
use std::ops::Bound;
use std::sync::Arc;

/// Largest `ops` one churn request may ask for.
pub const MAX_CHURN_OPS: u64 = 1_000_000;

#[derive(Debug, Clone)]
pub struct ControlState {
    pub app: Shared,
    pub gate: Arc<Gate>,
}

pub fn router(app: Shared, gate: Arc<Gate>) -> Router {
    Router::new()
        .route("/__emulator/export", get(export_handler))
        .route("/__emulator/churn", post(churn_handler))
        .route("/__emulator/stats", get(stats_handler))
        .route("/__emulator/faults", put(faults_handler))
        .route("/__emulator/activity", post(activity_handler))
        .route(
            "/__emulator/scenario",
            get(scenarios_handler).post(scenario_handler),
        )
        .with_state(ControlState { app, gate })
}

/// Rebuilds every object with its keys in sorted order (whatever map type serde_json uses).
pub fn sort_keys(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            let mut out = Map::new();
            for (k, v) in entries {
                out.insert(k, sort_keys(v));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

fn write_objects<'a>(out: &mut Vec<u8>, key: &str, objects: impl Iterator<Item = Value> + 'a) {
    let _ = write!(out, "\"{key}\":[");
    for (i, v) in objects.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let _ = serde_json::to_writer(&mut *out, &sort_keys(v));
    }
    out.push(b']');
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// The canonical export as bytes (what `GET /__emulator/export` returns). Grants name the
/// org's URL (`issuer`), which the emulator knows per request: `origin` is the URL a client
/// calls it with, e.g. `http://127.0.0.1:PORT`.
pub fn export_bytes(org: &Org, origin: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(1 << 20);
    out.push(b'{');
    // Top-level keys in sorted order.
    write_objects(&mut out, "app_grants", grant_entries(org, origin));
    out.extend_from_slice(b",\"app_groups\":[");
    let mut first = true;
    for app in org.listed_apps(ALL).map(|a| &a.id) {
        for group in org.app_groups.get(app).into_iter().flat_map(|m| m.keys()) {
            if !first {
                out.push(b',');
            }
            first = false;
            let _ = write!(out, r#"{{"app_id":"{app}","group_id":"{group}"}}"#);
        }
    }
    out.extend_from_slice(b"],\"app_users\":[");
    first = true;
    for app in org.listed_apps(ALL).map(|a| &a.id) {
        for (user, entry) in org.app_users.get(app).into_iter().flatten() {
            if !first {
                out.push(b',');
            }
            first = false;
            let _ = write!(
                out,
                r#"{{"app_id":"{app}","scope":"{}","user_id":"{user}"}}"#,
                entry.scope()
            );
        }
    }
    out.extend_from_slice(b"],");
    write_objects(&mut out, "apps", org.listed_apps(ALL).map(|a| a.to_value()));
    out.push(b',');
    // Okta lists authenticators in its own order; the export orders them by id.
    let mut authenticators: Vec<_> = org.authenticators.iter().collect();
    authenticators.sort_by_key(|a| a.id);
    write_objects(
        &mut out,
        "authenticators",
        authenticators.into_iter().map(|a| a.to_value()),
    );
    // Factors name no user of their own: each is paired with its user, ordered by user id
    // then factor id (the mirror's key).
    out.push(b',');
    write_objects(
        &mut out,
        "factors",
        org.users.keys().flat_map(|uid| {
            let mut factors: Vec<_> = org.factors.get(uid).into_iter().flatten().collect();
            factors.sort_by_key(|f| f.id);
            factors
                .into_iter()
                .map(move |f| serde_json::json!({"factor": f.to_value(), "user_id": uid}))
        }),
    );
    out.extend_from_slice(b",\"group_members\":[");
    first = true;
    for group in org.groups.keys() {
        for user in org.members.get(group).into_iter().flatten() {
            if !first {
                out.push(b',');
            }
            first = false;
            let _ = write!(out, r#"{{"group_id":"{group}","user_id":"{user}"}}"#);
        }
    }
    out.extend_from_slice(b"],");
    // Rules exactly as GET /api/v1/groups/rules serves them (no `_embedded`), by id.
    write_objects(
        &mut out,
        "group_rules",
        org.rules.values().map(|r| r.to_value()),
    );
    out.push(b',');
    write_objects(
        &mut out,
        "groups",
        org.groups.values().map(|g| g.to_value()),
    );
    out.push(b',');
    write_objects(&mut out, "idps", org.idps.values().map(|i| i.to_value()));
    out.push(b',');
    write_objects(
        &mut out,
        "log_streams",
        org.log_streams.values().map(|l| l.to_value()),
    );
    out.push(b',');
    write_objects(
        &mut out,
        "network_zones",
        org.zones.values().map(|z| z.to_value()),
    );
    out.push(b',');
    write_objects(
        &mut out,
        "okta_api_tokens",
        org.api_tokens.values().map(|t| t.to_value()),
    );
    out.push(b',');
    // The mirror keeps the org's singletons in one table keyed by name.
    write_objects(
        &mut out,
        "org_settings",
        std::iter::once(
            serde_json::json!({"name": "threat_insight", "setting": org.threat_insight.to_value()}),
        ),
    );
    out.push(b',');
    write_objects(
        &mut out,
        "policies",
        org.policies.values().map(|p| p.to_value()),
    );
    out.push(b',');
    // Rules are held in priority order; the export orders them by id within their policy.
    write_objects(
        &mut out,
        "policy_rules",
        org.policies.values().flat_map(|p| {
            let mut rules: Vec<_> = p.rules.iter().collect();
            rules.sort_by_key(|r| r.id);
            rules
                .into_iter()
                .map(move |r| serde_json::json!({"policy_id": p.id, "rule": r.to_value(p.kind)}))
        }),
    );
    out.extend_from_slice(b",\"role_assignments\":[");
    let mut roles: Vec<(&str, String, &str, String)> = org
        .roles
        .values()
        .map(|r| {
            (
                r.assignee_type.as_str(),
                r.assignee.to_string(),
                r.role_type.0,
                r.id.to_string(),
            )
        })
        .collect();
    roles.sort();
    for (i, (kind, assignee, role, id)) in roles.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let _ = write!(
            out,
            r#"{{"assignee_id":{},"assignee_type":"{kind}","id":{},"role_type":"{role}"}}"#,
            json_str(assignee),
            json_str(id)
        );
    }
    out.extend_from_slice(b"],");
    write_objects(&mut out, "users", org.users.values().map(|u| u.to_value()));
    out.push(b'}');
    out
}

/// The canonical export as a JSON value (see [`export_bytes`] for `origin`).
pub fn export(org: &Org, origin: &str) -> Value {
    serde_json::from_slice(&export_bytes(org, origin)).unwrap_or(Value::Null)
}

/// Every app id, for [`Org::listed_apps`].
const ALL: (Bound<Id>, Bound<Id>) = (Bound::Unbounded, Bound::Unbounded);

/// `{app_id, grant}` for every grant of an app `GET /api/v1/apps` lists (every app, the
/// service apps too), by app id then grant id.
fn grant_entries<'a>(org: &'a Org, origin: &'a str) -> impl Iterator<Item = Value> + 'a {
    org.app_grants
        .iter()
        .filter(move |(app, _)| org.any_app(app).is_some())
        .flat_map(move |(app, grants)| {
            grants.iter().map(
                move |g| serde_json::json!({"app_id": app, "grant": g.to_value(origin, false)}),
            )
        })
}

/// What `export?include=posture` adds to the default export, keyed as the export names
/// them: `service_apps` (also in `apps`) and `threat_insight` (also in `org_settings`).
pub fn export_posture(org: &Org, _origin: &str) -> Map<String, Value> {
    let mut m = Map::new();
    let list = |items: Vec<Value>| Value::Array(items.into_iter().map(sort_keys).collect());
    m.insert(
        "service_apps".into(),
        list(org.service_apps.values().map(|a| a.to_value()).collect()),
    );
    m.insert(
        "threat_insight".into(),
        sort_keys(org.threat_insight.to_value()),
    );
    m
}

/// Whether an export request asks for the security configuration (`include=posture`); 400
/// for any other `include`.
fn include_posture(uri: &Uri) -> Result<bool> {
    let query = crate::api::pagination::ListQuery::parse(uri)?;
    match query.value("include") {
        None => Ok(false),
        Some("posture") => Ok(true),
        Some(other) => Err(OktaError::validation(
            "include",
            format!("include: '{other}' is not supported; use posture"),
        )),
    }
}

async fn export_handler(
    State(s): State<ControlState>,
    headers: HeaderMap,
    uri: Uri,
) -> Result<Response> {
    let posture = include_posture(&uri)?;
    let origin = s.app.origin(&headers, &uri);
    let body = {
        let org = s.app.org.read();
        let bytes = export_bytes(&org, &origin);
        if posture {
            let mut export: Map<String, Value> = serde_json::from_slice(&bytes).unwrap_or_default();
            export.extend(export_posture(&org, &origin));
            serde_json::to_vec(&sort_keys(Value::Object(export))).unwrap_or_default()
        } else {
            bytes
        }
    };
    let mut resp = (StatusCode::OK, Bytes::from(body)).into_response();
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(resp)
}

async fn churn_handler(State(s): State<ControlState>, body: Bytes) -> Result<Response> {
    let body = json_object(&body)?;
    let number = |key: &str| -> Result<u64> {
        body.get(key).and_then(Value::as_u64).ok_or_else(|| {
            OktaError::validation(key, format!("{key}: a non-negative integer is required"))
        })
    };
    let seed = number("seed")?;
    let ops = number("ops")?;
    if ops > MAX_CHURN_OPS {
        return Err(OktaError::validation(
            "ops",
            format!("ops: at most {MAX_CHURN_OPS} per request"),
        ));
    }
    let summary = {
        let mut org = s.app.org.write();
        // The time is read under the lock so that events stay in time order.
        let now = s.app.now();
        churn::churn(&mut org, seed, ops as usize, now)
    };
    Ok(value_response(
        StatusCode::OK,
        &churn::summary_json(&summary),
    ))
}

async fn scenarios_handler() -> Response {
    value_response(StatusCode::OK, &scenario::list())
}

/// `{"name": …, "user": id or login (optional)}`: plays the scenario now.
async fn scenario_handler(State(s): State<ControlState>, body: Bytes) -> Result<Response> {
    let body = json_object(&body)?;
    let text = |key: &str| -> Result<Option<String>> {
        match body.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(v)) => Ok(Some(v.clone())),
            Some(_) => Err(OktaError::validation(
                key,
                format!("{key}: a string is required"),
            )),
        }
    };
    let name = text("name")?
        .ok_or_else(|| OktaError::validation("name", "name: The field cannot be left blank"))?;
    let user = text("user")?;
    let answer = {
        let mut org = s.app.org.write();
        let now = s.app.now();
        scenario::play(&mut org, &name, user.as_deref(), now)?
    };
    Ok(value_response(StatusCode::OK, &answer))
}

/// Longest period one activity request may cover.
pub const MAX_ACTIVITY_MINUTES: i64 = 7 * 24 * 60;

/// `{"minutes": N}` (ending now) or `{"from": time, "to": time}`, and optionally `"rate"`
/// (sign-ins a minute; default: 3 a day per ACTIVE user): writes that much normal
/// activity and answers `{"events", "sign_ins", "from", "to"}`.
async fn activity_handler(State(s): State<ControlState>, body: Bytes) -> Result<Response> {
    let body = json_object(&body)?;
    let time = |key: &str| -> Result<Option<i64>> {
        match body.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(v) => v
                .as_str()
                .and_then(crate::model::parse_ts)
                .map(Some)
                .ok_or_else(|| {
                    OktaError::validation(key, format!("{key}: an ISO 8601 time is required"))
                }),
        }
    };
    let now = s.app.now();
    let (from, to) = match (body.get("minutes"), time("from")?, time("to")?) {
        (Some(m), None, None) => {
            let minutes = m
                .as_u64()
                .filter(|m| *m as i64 <= MAX_ACTIVITY_MINUTES)
                .ok_or_else(|| {
                    OktaError::validation(
                        "minutes",
                        format!("minutes: an integer from 0 to {MAX_ACTIVITY_MINUTES} is required"),
                    )
                })?;
            (now - minutes as i64 * 60_000, now)
        }
        (None, Some(from), Some(to))
            if from <= to && to - from <= MAX_ACTIVITY_MINUTES * 60_000 =>
        {
            (from, to)
        }
        _ => {
            return Err(OktaError::validation(
                "minutes",
                format!(
                    "give minutes, or from and to (from before to, at most {MAX_ACTIVITY_MINUTES} minutes apart)"
                ),
            ));
        }
    };
    let rate = match body.get("rate") {
        None | Some(Value::Null) => None,
        Some(r) => Some(
            r.as_f64()
                .filter(|r| (0.0..=100_000.0).contains(r))
                .ok_or_else(|| {
                    OktaError::validation("rate", "rate: sign-ins a minute, from 0 to 100000")
                })?,
        ),
    };
    let summary = s.app.play_activity(from, to, rate);
    Ok(value_response(
        StatusCode::OK,
        &serde_json::json!({
            "events": summary.events,
            "sign_ins": summary.sign_ins,
            "from": crate::model::format_ts(from),
            "to": crate::model::format_ts(to),
        }),
    ))
}

async fn stats_handler(State(s): State<ControlState>) -> Response {
    value_response(StatusCode::OK, &s.gate.stats())
}

async fn faults_handler(State(s): State<ControlState>, body: Bytes) -> Result<Response> {
    let value: Value = if body.is_empty() {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(&body).map_err(|_| OktaError::malformed_body())?
    };
    s.gate.set_faults(value)?;
    Ok(value_response(StatusCode::OK, &s.gate.stats()))
}
