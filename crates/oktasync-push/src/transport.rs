//! What every target's HTTP calls share: the operations they are counted under, their errors,
//! and one retrying sender.
//!
//! Retrying is two separate decisions: [`classify`] says whether an attempt's outcome is worth
//! another attempt (5xx, 429, timeouts, connection errors) and what the server asked for
//! (`Retry-After`); [`RetryPolicy::delay`] says how long to wait. Every attempt is counted per
//! [`TargetOperation`] for the run report.

use bytes::Bytes;
use chrono::{DateTime, Utc};
use okta_api::Clock;
use parking_lot::Mutex;
use rand::Rng;
use reqwest::StatusCode;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// One request's time limit, headers and body; a call moves one resource, one page or one
/// batch.
pub(crate) const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The calls a push makes, for counting and for errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum TargetOperation {
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
    /// One signed JSON batch of plan operations to a webhook target.
    PostBatch,
}

impl std::fmt::Display for TargetOperation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = match self {
            TargetOperation::FindUser => "find user",
            TargetOperation::CreateUser => "create user",
            TargetOperation::UpdateUser => "update user",
            TargetOperation::DeactivateUser => "deactivate user",
            TargetOperation::DeleteUser => "delete user",
            TargetOperation::ListUsers => "list users",
            TargetOperation::ListGroups => "list groups",
            TargetOperation::FindGroup => "find group",
            TargetOperation::CreateGroup => "create group",
            TargetOperation::UpdateGroupMembers => "update group members",
            TargetOperation::PostBatch => "post batch",
        };
        f.write_str(name)
    }
}

/// HTTP calls made to the target: every attempt, per operation, and how many were retries.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct HttpCalls {
    pub by_operation: BTreeMap<TargetOperation, u64>,
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
    pub fn of(&self, op: TargetOperation) -> u64 {
        self.by_operation.get(&op).copied().unwrap_or(0)
    }
}

/// A call to the target failed. No message carries a credential or a request body.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TargetError {
    #[error("{operation}: {method} {path} -> HTTP {status}{}{}", detail_part(.scim_type, .detail), status_hint(*.operation, *.status))]
    Status {
        operation: TargetOperation,
        method: String,
        path: String,
        status: u16,
        scim_type: Option<String>,
        detail: Option<String>,
    },
    #[error("{operation}: {method} {path}: gave up after {attempts} attempts; the last: {last}")]
    GaveUp {
        operation: TargetOperation,
        method: String,
        path: String,
        attempts: u32,
        last: String,
    },
    #[error("{operation}: {method} {path}: {message}")]
    Request {
        operation: TargetOperation,
        method: String,
        path: String,
        message: String,
    },
    #[error(
        "{operation}: {path} answered with something that is not a SCIM 2.0 response: {problem}"
    )]
    Protocol {
        operation: TargetOperation,
        path: String,
        problem: String,
    },
}

impl TargetError {
    /// The HTTP status, for an error the target answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            TargetError::Status { status, .. } => Some(*status),
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

fn status_hint(operation: TargetOperation, status: u16) -> &'static str {
    match (operation, status) {
        (TargetOperation::PostBatch, 401 | 403) => {
            "; the receiver refused the delivery: check that it verifies signatures with the \
             target's secret"
        }
        (_, 401) => {
            "; the target refused the bearer token: check bearer_token_file and that the token \
             has not expired"
        }
        (_, 403) => "; the token lacks the permission for this call: grant it in the target",
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

/// Should this outcome be retried? 5xx that say "try later" (500, 502, 503, 504), 408, 429,
/// and failures before a complete answer. Other 4xx are final: the same request fails again.
pub(crate) fn classify(outcome: AttemptOutcome) -> Verdict {
    match outcome {
        AttemptOutcome::Timeout | AttemptOutcome::Connection => Verdict::Retry,
        AttemptOutcome::Status(200..=299) => Verdict::Success,
        AttemptOutcome::Status(408 | 429 | 500 | 502 | 503 | 504) => Verdict::Retry,
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

/// An HTTP client with what sending with retries needs.
pub(crate) struct Sender {
    pub http: reqwest::Client,
    pub retry: RetryPolicy,
    pub clock: std::sync::Arc<dyn Clock>,
    pub calls: Mutex<HttpCalls>,
}

/// How a call ended: a 2xx answer, or an answer not worth retrying, with their bodies.
pub(crate) enum Answered {
    Success(StatusCode, Bytes),
    Refused(StatusCode, Bytes),
}

impl Sender {
    /// A client that keeps credentials with the configured origin (no redirects).
    pub fn new(retry: RetryPolicy, clock: std::sync::Arc<dyn Clock>) -> Result<Sender, String> {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Sender {
            http,
            retry,
            clock,
            calls: Mutex::new(HttpCalls::default()),
        })
    }

    /// The calls made so far (all runs).
    pub fn calls(&self) -> HttpCalls {
        self.calls.lock().clone()
    }

    /// Sends the request `build` makes (once per attempt), retrying what [`classify`] says to,
    /// as [`RetryPolicy`] says; counts every attempt under `operation`.
    pub async fn send(
        &self,
        operation: TargetOperation,
        method: &reqwest::Method,
        path: &str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Answered, TargetError> {
        let mut attempt: u32 = 0;
        loop {
            {
                let mut calls = self.calls.lock();
                *calls.by_operation.entry(operation).or_default() += 1;
                if attempt > 0 {
                    calls.retries += 1;
                }
            }
            let (outcome, retry_after, last) = match build(&self.http).send().await {
                Ok(response) => {
                    let status = response.status();
                    let retry_after = response
                        .headers()
                        .get(http::header::RETRY_AFTER)
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| parse_retry_after(v, self.clock.now()));
                    match response.bytes().await {
                        Ok(bytes) => match classify(AttemptOutcome::Status(status.as_u16())) {
                            Verdict::Success => return Ok(Answered::Success(status, bytes)),
                            Verdict::Fail => return Ok(Answered::Refused(status, bytes)),
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
                    return Err(TargetError::Request {
                        operation,
                        method: method.to_string(),
                        path: path.to_owned(),
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
            let gave_up = |last: String| TargetError::GaveUp {
                operation,
                method: method.to_string(),
                path: path.to_owned(),
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
            tracing::debug!(%operation, path, last, ?wait, "retrying a call to the target");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_outcomes() {
        use AttemptOutcome::*;
        assert_eq!(classify(Status(200)), Verdict::Success);
        assert_eq!(classify(Status(204)), Verdict::Success);
        for s in [408, 429, 500, 502, 503, 504] {
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
}
