//! A SCIM 2.0 client (RFC 7644) for the calls a push makes, with retries.
//!
//! Retrying is two separate decisions: `classify` says whether an attempt's outcome is worth
//! another attempt (5xx, 429, timeouts, connection errors) and what the server asked for
//! (`Retry-After`); `RetryPolicy::delay` says how long to wait. Every attempt is counted per
//! [`ScimOperation`] for the run report.

use crate::mapping::{Attributes, scim_resource};
use crate::plan::{AttributeChange, TargetGroup, TargetUser};
use chrono::{DateTime, Utc};
use okta_api::Clock;
use parking_lot::Mutex;
use rand::Rng;
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use url::Url;

const PATCH_OP_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const SCIM_JSON: &str = "application/scim+json";

/// Resources asked for per listing page. Service providers cap `count` at their own maximum
/// (scim2-server: 1000; Entra and Okta apps: 100 to 1000) and the loop follows what they
/// return, so this only trades the number of calls against the size of one answer.
const PAGE_SIZE: usize = 200;
/// One request's time limit, headers and body; a SCIM call moves one resource or one page.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The calls a push makes, for counting and for errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScimOperation {
    FindUser,
    CreateUser,
    UpdateUser,
    DeactivateUser,
    DeleteUser,
    ListUsers,
    ListGroups,
    FindGroup,
    CreateGroup,
    UpdateGroupMembers,
}

impl std::fmt::Display for ScimOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            ScimOperation::FindUser => "find user",
            ScimOperation::CreateUser => "create user",
            ScimOperation::UpdateUser => "update user",
            ScimOperation::DeactivateUser => "deactivate user",
            ScimOperation::DeleteUser => "delete user",
            ScimOperation::ListUsers => "list users",
            ScimOperation::ListGroups => "list groups",
            ScimOperation::FindGroup => "find group",
            ScimOperation::CreateGroup => "create group",
            ScimOperation::UpdateGroupMembers => "update group members",
        };
        f.write_str(name)
    }
}

/// HTTP calls made to the target: every attempt, per operation, and how many were retries.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HttpCalls {
    pub by_operation: BTreeMap<ScimOperation, u64>,
    pub retries: u64,
}

impl HttpCalls {
    pub fn total(&self) -> u64 {
        self.by_operation.values().sum()
    }

    /// The calls made after `earlier` was taken.
    pub fn since(&self, earlier: &HttpCalls) -> HttpCalls {
        HttpCalls {
            by_operation: self
                .by_operation
                .iter()
                .map(|(op, n)| (*op, n.saturating_sub(earlier.of(*op))))
                .filter(|(_, n)| *n > 0)
                .collect(),
            retries: self.retries.saturating_sub(earlier.retries),
        }
    }

    /// Calls of one operation.
    pub fn of(&self, op: ScimOperation) -> u64 {
        self.by_operation.get(&op).copied().unwrap_or(0)
    }
}

/// A SCIM call failed. No message carries the bearer token or a request body.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ScimError {
    #[error("{operation}: {method} {path} -> HTTP {status}{}{}", detail_part(.scim_type, .detail), status_hint(*.status))]
    Status {
        operation: ScimOperation,
        method: String,
        path: String,
        status: u16,
        scim_type: Option<String>,
        detail: Option<String>,
    },
    #[error("{operation}: {method} {path}: gave up after {attempts} attempts; the last: {last}")]
    GaveUp {
        operation: ScimOperation,
        method: String,
        path: String,
        attempts: u32,
        last: String,
    },
    #[error("{operation}: {method} {path}: {message}")]
    Request {
        operation: ScimOperation,
        method: String,
        path: String,
        message: String,
    },
    #[error(
        "{operation}: {path} answered with something that is not a SCIM 2.0 response: {problem}"
    )]
    Protocol {
        operation: ScimOperation,
        path: String,
        problem: String,
    },
}

impl ScimError {
    /// The HTTP status, for an error the target answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ScimError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

fn detail_part(scim_type: &Option<String>, detail: &Option<String>) -> String {
    let mut s = String::new();
    if let Some(t) = scim_type {
        s.push_str(&format!(" ({t})"));
    }
    if let Some(d) = detail {
        s.push_str(&format!(": {d}"));
    }
    s
}

fn status_hint(status: u16) -> &'static str {
    match status {
        401 => {
            "; the target refused the bearer token: check bearer_token_file and that the token \
             has not expired"
        }
        403 => "; the token lacks the permission for this call: grant it in the target",
        _ => "",
    }
}

/// How an attempt ended, as far as retrying cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AttemptOutcome {
    Status(u16),
    Timeout,
    /// Connecting failed, the connection dropped, or the body was cut off.
    Connection,
}

/// Whether to try again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Success,
    Retry,
    Fail,
}

/// Should this outcome be retried? 5xx that say "try later" (500, 502, 503, 504), 429, and
/// failures before a complete answer. Other 4xx are final: the same request fails again.
pub(crate) fn classify(outcome: AttemptOutcome) -> Verdict {
    match outcome {
        AttemptOutcome::Timeout | AttemptOutcome::Connection => Verdict::Retry,
        AttemptOutcome::Status(200..=299) => Verdict::Success,
        AttemptOutcome::Status(429 | 500 | 502 | 503 | 504) => Verdict::Retry,
        AttemptOutcome::Status(_) => Verdict::Fail,
    }
}

/// How long to wait between attempts.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts per call, the first included.
    pub max_attempts: u32,
    /// Full-jitter exponential backoff: the n-th retry waits up to `min(cap, base * 2^n)`,
    /// random so that clients failing together do not retry together.
    pub base: Duration,
    pub cap: Duration,
    /// A `Retry-After` longer than this ends the call instead of stalling the run.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base: Duration::from_millis(250),
            cap: Duration::from_secs(15),
            max_retry_after: Duration::from_secs(120),
        }
    }
}

impl RetryPolicy {
    /// The wait before retry number `retry` (0-based): what the server asked for, else backoff.
    pub(crate) fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        if let Some(wait) = retry_after {
            return wait;
        }
        let ceiling = self
            .base
            .saturating_mul(1u32 << retry.min(20))
            .min(self.cap);
        let micros = u64::try_from(ceiling.as_micros()).unwrap_or(u64::MAX);
        Duration::from_micros(rand::rng().random_range(0..=micros))
    }
}

/// `Retry-After`: delay-seconds or an HTTP-date (RFC 9110 §10.2.3), relative to `now`.
pub(crate) fn parse_retry_after(value: &str, now: DateTime<Utc>) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = DateTime::parse_from_rfc2822(value)
        .ok()?
        .with_timezone(&Utc);
    Some((at - now).to_std().unwrap_or(Duration::ZERO))
}

/// A successful answer: its status and its JSON body, if it had one.
struct Answer {
    status: StatusCode,
    body: Option<Value>,
}

/// A SCIM 2.0 service provider.
pub struct ScimClient {
    http: reqwest::Client,
    /// Ends with '/', so that joining "Users" keeps its path.
    base: Url,
    token: SecretString,
    retry: RetryPolicy,
    clock: Arc<dyn Clock>,
    calls: Mutex<HttpCalls>,
}

impl std::fmt::Debug for ScimClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScimClient")
            .field("base", &self.base.as_str())
            .finish_non_exhaustive()
    }
}

impl ScimClient {
    pub fn new(
        base: &str,
        token: SecretString,
        retry: RetryPolicy,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, String> {
        let mut base = Url::parse(base).map_err(|e| format!("{base:?} is not a URL: {e}"))?;
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            // credentials stay with the configured origin
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(ScimClient {
            http,
            base,
            token,
            retry,
            clock,
            calls: Mutex::new(HttpCalls::default()),
        })
    }

    /// The calls made so far by this client (all runs).
    pub fn calls(&self) -> HttpCalls {
        self.calls.lock().clone()
    }

    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        url
    }

    async fn call(
        &self,
        operation: ScimOperation,
        method: Method,
        url: Url,
        body: Option<&Value>,
    ) -> Result<Answer, ScimError> {
        let path = url.path().to_owned();
        let mut attempt: u32 = 0;
        loop {
            let mut request = self
                .http
                .request(method.clone(), url.clone())
                .bearer_auth(self.token.expose_secret())
                .header(http::header::ACCEPT, SCIM_JSON);
            if let Some(body) = body {
                request = request
                    .header(http::header::CONTENT_TYPE, SCIM_JSON)
                    .body(body.to_string());
            }
            {
                let mut calls = self.calls.lock();
                *calls.by_operation.entry(operation).or_default() += 1;
                if attempt > 0 {
                    calls.retries += 1;
                }
            }
            let (outcome, retry_after, last) = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let retry_after = response
                        .headers()
                        .get(http::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, self.clock.now()));
                    match response.bytes().await {
                        Ok(bytes) => match classify(AttemptOutcome::Status(status.as_u16())) {
                            Verdict::Success => {
                                let body = if bytes.iter().all(u8::is_ascii_whitespace) {
                                    None
                                } else {
                                    Some(serde_json::from_slice(&bytes).map_err(|e| {
                                        ScimError::Protocol {
                                            operation,
                                            path: path.clone(),
                                            problem: format!("the body is not JSON ({e})"),
                                        }
                                    })?)
                                };
                                return Ok(Answer { status, body });
                            }
                            Verdict::Fail => {
                                let error: Value =
                                    serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                                let field = |k: &str| {
                                    error.get(k).and_then(Value::as_str).map(str::to_owned)
                                };
                                return Err(ScimError::Status {
                                    operation,
                                    method: method.to_string(),
                                    path,
                                    status: status.as_u16(),
                                    scim_type: field("scimType"),
                                    detail: field("detail"),
                                });
                            }
                            Verdict::Retry => (
                                AttemptOutcome::Status(status.as_u16()),
                                retry_after,
                                format!("HTTP {}", status.as_u16()),
                            ),
                        },
                        Err(e) => (
                            AttemptOutcome::Connection,
                            None,
                            format!("the answer was cut off: {}", e.without_url()),
                        ),
                    }
                }
                Err(e) if e.is_builder() => {
                    return Err(ScimError::Request {
                        operation,
                        method: method.to_string(),
                        path,
                        message: e.without_url().to_string(),
                    });
                }
                Err(e) if e.is_timeout() => (
                    AttemptOutcome::Timeout,
                    None,
                    format!("timed out after {}s", REQUEST_TIMEOUT.as_secs()),
                ),
                Err(e) => (
                    AttemptOutcome::Connection,
                    None,
                    format!("connection failed: {}", error_chain(&e.without_url())),
                ),
            };
            let gave_up = |last: String| ScimError::GaveUp {
                operation,
                method: method.to_string(),
                path: path.clone(),
                attempts: attempt + 1,
                last,
            };
            debug_assert_eq!(classify(outcome), Verdict::Retry);
            if attempt + 1 >= self.retry.max_attempts {
                return Err(gave_up(last));
            }
            if let Some(wait) = retry_after
                && wait > self.retry.max_retry_after
            {
                return Err(gave_up(format!(
                    "{last}, asking to retry after {}s, longer than the {}s this run waits",
                    wait.as_secs(),
                    self.retry.max_retry_after.as_secs()
                )));
            }
            let wait = self.retry.delay(attempt, retry_after);
            tracing::debug!(%operation, path, last, ?wait, "retrying a SCIM call");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// The user with this userName (`filter=userName eq "…"`), if any.
    pub async fn find_user(&self, user_name: &str) -> Result<Option<TargetUser>, ScimError> {
        let mut url = self.url(&["Users"]);
        url.query_pairs_mut().append_pair(
            "filter",
            &format!("userName eq {}", filter_string(user_name)),
        );
        let answer = self
            .call(ScimOperation::FindUser, Method::GET, url, None)
            .await?;
        let resources = list_resources(ScimOperation::FindUser, "Users", &answer)?;
        // filters on userName are case-insensitive (RFC 7643 caseExact=false); take the exact
        // match if there is one
        let mut users = resources
            .iter()
            .map(|r| target_user(ScimOperation::FindUser, r))
            .collect::<Result<Vec<_>, _>>()?;
        let exact = users.iter().position(|u| u.user_name == user_name);
        Ok(match exact {
            Some(i) => Some(users.swap_remove(i)),
            None => users.into_iter().next(),
        })
    }

    /// `POST /Users`.
    pub async fn create_user(&self, attributes: &Attributes) -> Result<TargetUser, ScimError> {
        let op = ScimOperation::CreateUser;
        let body = scim_resource(attributes);
        let answer = self
            .call(op, Method::POST, self.url(&["Users"]), Some(&body))
            .await?;
        match &answer.body {
            Some(resource) => target_user(op, resource),
            None => Err(ScimError::Protocol {
                operation: op,
                path: "Users".into(),
                problem: format!("HTTP {} without the created user", answer.status),
            }),
        }
    }

    /// `PATCH /Users/{id}` with one operation per change.
    pub async fn update_user(
        &self,
        id: &str,
        changes: &[AttributeChange],
    ) -> Result<(), ScimError> {
        let operations: Vec<Value> = changes
            .iter()
            .map(|c| match c {
                AttributeChange::Replace { path, value } => {
                    json!({"op": "replace", "path": path, "value": value})
                }
                AttributeChange::Remove { path } => json!({"op": "remove", "path": path}),
            })
            .collect();
        self.patch(ScimOperation::UpdateUser, &["Users", id], operations)
            .await
    }

    /// `PATCH active=false`: the account stays, disabled.
    pub async fn deactivate_user(&self, id: &str) -> Result<(), ScimError> {
        let operations = vec![json!({"op": "replace", "path": "active", "value": false})];
        self.patch(ScimOperation::DeactivateUser, &["Users", id], operations)
            .await
    }

    /// `DELETE /Users/{id}`; a user already gone (404) counts as deleted.
    pub async fn delete_user(&self, id: &str) -> Result<(), ScimError> {
        let url = self.url(&["Users", id]);
        match self
            .call(ScimOperation::DeleteUser, Method::DELETE, url, None)
            .await
        {
            Err(e) if e.status() == Some(404) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Every user, page by page.
    pub async fn list_users(&self) -> Result<Vec<TargetUser>, ScimError> {
        let op = ScimOperation::ListUsers;
        let resources = self.list(op, "Users", &[]).await?;
        resources.iter().map(|r| target_user(op, r)).collect()
    }

    /// Every group with its members, page by page.
    pub async fn list_groups(&self) -> Result<Vec<TargetGroup>, ScimError> {
        let op = ScimOperation::ListGroups;
        let resources = self.list(op, "Groups", &[]).await?;
        resources.iter().map(|r| target_group(op, r)).collect()
    }

    /// The group with this displayName (members left out), if any.
    pub async fn find_group(&self, display_name: &str) -> Result<Option<TargetGroup>, ScimError> {
        let op = ScimOperation::FindGroup;
        let mut url = self.url(&["Groups"]);
        url.query_pairs_mut()
            .append_pair(
                "filter",
                &format!("displayName eq {}", filter_string(display_name)),
            )
            .append_pair("excludedAttributes", "members");
        let answer = self.call(op, Method::GET, url, None).await?;
        let resources = list_resources(op, "Groups", &answer)?;
        let groups = resources
            .iter()
            .map(|r| target_group(op, r))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(groups.into_iter().find(|g| g.display_name == display_name))
    }

    /// `POST /Groups` with no members.
    pub async fn create_group(&self, display_name: &str) -> Result<TargetGroup, ScimError> {
        let op = ScimOperation::CreateGroup;
        let body = json!({"schemas": [GROUP_SCHEMA], "displayName": display_name});
        let answer = self
            .call(op, Method::POST, self.url(&["Groups"]), Some(&body))
            .await?;
        match &answer.body {
            Some(resource) => target_group(op, resource),
            None => Err(ScimError::Protocol {
                operation: op,
                path: "Groups".into(),
                problem: format!("HTTP {} without the created group", answer.status),
            }),
        }
    }

    /// Adds these users to the group in one PATCH.
    pub async fn add_members(&self, group_id: &str, user_ids: &[String]) -> Result<(), ScimError> {
        let members: Vec<Value> = user_ids.iter().map(|id| json!({"value": id})).collect();
        let operations = vec![json!({"op": "add", "path": "members", "value": members})];
        self.patch(
            ScimOperation::UpdateGroupMembers,
            &["Groups", group_id],
            operations,
        )
        .await
    }

    /// Removes these users from the group in one PATCH (`members[value eq "…"]` each).
    pub async fn remove_members(
        &self,
        group_id: &str,
        user_ids: &[String],
    ) -> Result<(), ScimError> {
        let operations = user_ids
            .iter()
            .map(|id| {
                json!({"op": "remove", "path": format!("members[value eq {}]", filter_string(id))})
            })
            .collect();
        self.patch(
            ScimOperation::UpdateGroupMembers,
            &["Groups", group_id],
            operations,
        )
        .await
    }

    async fn patch(
        &self,
        op: ScimOperation,
        segments: &[&str],
        operations: Vec<Value>,
    ) -> Result<(), ScimError> {
        let body = json!({"schemas": [PATCH_OP_SCHEMA], "Operations": operations});
        self.call(op, Method::PATCH, self.url(segments), Some(&body))
            .await
            .map(|_| ())
    }

    async fn list(
        &self,
        op: ScimOperation,
        endpoint: &str,
        extra: &[(&str, &str)],
    ) -> Result<Vec<Value>, ScimError> {
        let mut all = Vec::new();
        let mut start = 1usize;
        loop {
            let mut url = self.url(&[endpoint]);
            url.query_pairs_mut()
                .append_pair("startIndex", &start.to_string())
                .append_pair("count", &PAGE_SIZE.to_string())
                .extend_pairs(extra);
            let answer = self.call(op, Method::GET, url, None).await?;
            let page = list_resources(op, endpoint, &answer)?;
            let total = answer
                .body
                .as_ref()
                .and_then(|b| b.get("totalResults"))
                .and_then(Value::as_u64)
                .unwrap_or(0);
            let got = page.len();
            all.extend(page.iter().cloned());
            start += got;
            if got == 0 || start as u64 > total {
                return Ok(all);
            }
        }
    }
}

/// A SCIM filter string literal: quoted, with `"` and `\` escaped (RFC 7644 §3.4.2.2 uses
/// JSON string syntax).
fn filter_string(value: &str) -> String {
    Value::String(value.to_owned()).to_string()
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn list_resources<'a>(
    op: ScimOperation,
    endpoint: &str,
    answer: &'a Answer,
) -> Result<&'a [Value], ScimError> {
    let body = answer.body.as_ref().ok_or_else(|| ScimError::Protocol {
        operation: op,
        path: endpoint.into(),
        problem: "an empty list response".into(),
    })?;
    // an empty ListResponse may leave `Resources` out (RFC 7644 §3.4.2)
    match body.get("Resources") {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(items)) => Ok(items),
        Some(_) => Err(ScimError::Protocol {
            operation: op,
            path: endpoint.into(),
            problem: "`Resources` is not an array".into(),
        }),
    }
}

fn target_user(op: ScimOperation, resource: &Value) -> Result<TargetUser, ScimError> {
    let field = |k: &str| resource.get(k).and_then(Value::as_str).map(str::to_owned);
    let (Some(id), Some(user_name)) = (field("id"), field("userName")) else {
        return Err(ScimError::Protocol {
            operation: op,
            path: "Users".into(),
            problem: "a user without `id` or `userName`".into(),
        });
    };
    Ok(TargetUser {
        id,
        user_name,
        // RFC 7643 leaves `active` optional; a user without it is not disabled
        active: resource
            .get("active")
            .and_then(Value::as_bool)
            .unwrap_or(true),
        resource: resource.clone(),
    })
}

fn target_group(op: ScimOperation, resource: &Value) -> Result<TargetGroup, ScimError> {
    let field = |k: &str| resource.get(k).and_then(Value::as_str).map(str::to_owned);
    let (Some(id), Some(display_name)) = (field("id"), field("displayName")) else {
        return Err(ScimError::Protocol {
            operation: op,
            path: "Groups".into(),
            problem: "a group without `id` or `displayName`".into(),
        });
    };
    let members = resource
        .get("members")
        .and_then(Value::as_array)
        .map(|members| {
            members
                .iter()
                .filter_map(|m| m.get("value").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Ok(TargetGroup {
        id,
        display_name,
        members,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_outcomes() {
        use AttemptOutcome::*;
        assert_eq!(classify(Status(200)), Verdict::Success);
        assert_eq!(classify(Status(204)), Verdict::Success);
        for s in [429, 500, 502, 503, 504] {
            assert_eq!(classify(Status(s)), Verdict::Retry, "{s}");
        }
        for s in [400, 401, 404, 409, 501, 505] {
            assert_eq!(classify(Status(s)), Verdict::Fail, "{s}");
        }
        assert_eq!(classify(Timeout), Verdict::Retry);
        assert_eq!(classify(Connection), Verdict::Retry);
    }

    #[test]
    fn retry_after_forms() {
        let now = DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after("Thu, 01 Jan 2026 00:00:07 GMT", now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            parse_retry_after("Wed, 31 Dec 2025 23:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn backoff_is_bounded_and_honours_retry_after() {
        let p = RetryPolicy::default();
        assert_eq!(
            p.delay(0, Some(Duration::from_secs(2))),
            Duration::from_secs(2)
        );
        for retry in 0..40 {
            let ceiling = p.base.saturating_mul(1 << retry.min(20)).min(p.cap);
            assert!(p.delay(retry, None) <= ceiling);
        }
    }

    #[test]
    fn filter_strings_are_escaped() {
        assert_eq!(filter_string("a\"b\\c"), r#""a\"b\\c""#);
    }

    #[test]
    fn urls_keep_the_base_path_and_encode_ids() {
        let c = ScimClient::new(
            "http://127.0.0.1:1/scim/v2",
            SecretString::from("s3cret-token".to_owned()),
            RetryPolicy::default(),
            Arc::new(okta_api::SystemClock),
        )
        .unwrap();
        assert_eq!(
            c.url(&["Users", "a/b c"]).as_str(),
            "http://127.0.0.1:1/scim/v2/Users/a%2Fb%20c"
        );
        assert!(!format!("{c:?}").contains("s3cret"));
    }
}
