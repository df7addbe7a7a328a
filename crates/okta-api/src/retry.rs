//! Retries in two separate parts: [`classify`] decides whether an attempt's outcome is worth
//! retrying and why; [`Backoff`] decides how long to wait. The request loop combines them with
//! a retry budget.

use crate::governor::RateLimitHeaders;
use crate::transport::AttemptError;
use http::HeaderMap;
use rand::Rng;
use std::time::Duration;

/// How one attempt ended, before any decoding of a successful body.
#[derive(Debug)]
pub(crate) enum AttemptOutcome<'a> {
    Response {
        status: u16,
        headers: &'a HeaderMap,
    },
    /// The attempt exceeded the request timeout.
    Timeout,
    /// Connecting failed, or the connection dropped before the headers arrived.
    Connection,
    /// The headers arrived but the body was cut off (or failed to decode as JSON).
    TruncatedBody,
    /// The server's TLS certificate failed verification.
    UntrustedCertificate,
}

/// Why an attempt may be retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RetryReason {
    /// A per-minute bucket ran out; wait for its reset.
    RateLimited,
    /// The org's concurrency limit was hit; the governor lowers concurrency.
    ConcurrencyLimited,
    /// 500, 502, 503 or 504.
    ServerError,
    Timeout,
    Connection,
    TruncatedBody,
}

/// The classifier's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// 2xx: done.
    Success,
    /// Worth another attempt.
    Retry(RetryReason),
    /// A final answer: a redirect (3xx, never followed: credentials stay with the org), a 4xx
    /// other than 429, a 5xx other than 500/502/503/504, or an untrusted certificate (the
    /// same certificate comes back on every attempt).
    Fail,
}

/// Should this outcome be retried? Idempotent requests only reach here (GET, PUT and DELETE of
/// memberships, and the token POST, which is safe to repeat).
pub(crate) fn classify(outcome: &AttemptOutcome<'_>) -> Verdict {
    match outcome {
        AttemptOutcome::Timeout => Verdict::Retry(RetryReason::Timeout),
        AttemptOutcome::Connection => Verdict::Retry(RetryReason::Connection),
        AttemptOutcome::TruncatedBody => Verdict::Retry(RetryReason::TruncatedBody),
        AttemptOutcome::UntrustedCertificate => Verdict::Fail,
        AttemptOutcome::Response { status, headers } => match status {
            200..=299 => Verdict::Success,
            429 => match RateLimitHeaders::parse(headers) {
                Some(l) if l.is_concurrency_limit() => {
                    Verdict::Retry(RetryReason::ConcurrencyLimited)
                }
                _ => Verdict::Retry(RetryReason::RateLimited),
            },
            500 | 502 | 503 | 504 => Verdict::Retry(RetryReason::ServerError),
            _ => Verdict::Fail,
        },
    }
}

/// The classifier's view of an attempt that produced no complete response.
pub(crate) fn outcome_of(error: &AttemptError) -> AttemptOutcome<'static> {
    match error {
        AttemptError::Timeout(_) => AttemptOutcome::Timeout,
        AttemptError::Connection(_) => AttemptOutcome::Connection,
        AttemptError::Body(_) => AttemptOutcome::TruncatedBody,
        AttemptError::Certificate { .. } => AttemptOutcome::UntrustedCertificate,
    }
}

/// Why an attempt that produced no complete response may be retried; `None` when it may not.
pub(crate) fn retry_reason_for(error: &AttemptError) -> Option<RetryReason> {
    match classify(&outcome_of(error)) {
        Verdict::Retry(reason) => Some(reason),
        Verdict::Success | Verdict::Fail => None,
    }
}

/// Capped exponential backoff with full jitter: the n-th retry waits a uniformly random time
/// between zero and `min(cap, base * 2^n)`. Full jitter spreads clients that failed together
/// (AWS Architecture Blog, "Exponential Backoff and Jitter").
#[derive(Debug, Clone, Copy)]
pub(crate) struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

/// Largest random delay added after a rate-limit reset, so that waiting requests do not all
/// start in the same millisecond.
const RESET_JITTER_MAX: Duration = Duration::from_millis(250);

impl Backoff {
    /// Delay before retry number `retry` (0-based) for `reason`. `time_to_reset` is the
    /// governor's estimate for the request's bucket.
    pub(crate) fn delay(
        &self,
        retry: u32,
        reason: RetryReason,
        time_to_reset: Option<Duration>,
    ) -> Duration {
        let mut rng = rand::rng();
        match reason {
            // the governor holds the request until the reset; add jitter of up to a tenth
            // of the wait so the window's first requests are spread
            RetryReason::RateLimited => match time_to_reset {
                Some(wait) => {
                    let max = (wait / 10).min(RESET_JITTER_MAX);
                    Duration::from_micros(rng.random_range(0..=max.as_micros() as u64))
                }
                None => self.exponential(retry, &mut rng).max(self.cap / 4),
            },
            _ => self.exponential(retry, &mut rng),
        }
    }

    fn exponential(&self, retry: u32, rng: &mut impl Rng) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32 << retry.min(20))
            .min(self.cap);
        Duration::from_micros(rng.random_range(0..=ceiling.as_micros() as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn classifies_statuses() {
        let empty = HeaderMap::new();
        let r = |status| {
            classify(&AttemptOutcome::Response {
                status,
                headers: &empty,
            })
        };
        assert_eq!(r(200), Verdict::Success);
        assert_eq!(r(204), Verdict::Success);
        assert_eq!(r(301), Verdict::Fail, "a redirect is a final answer");
        assert_eq!(r(302), Verdict::Fail);
        assert_eq!(r(307), Verdict::Fail);
        assert_eq!(r(401), Verdict::Fail);
        assert_eq!(r(404), Verdict::Fail);
        assert_eq!(r(503), Verdict::Retry(RetryReason::ServerError));
        assert_eq!(r(501), Verdict::Fail);
        assert_eq!(r(429), Verdict::Retry(RetryReason::RateLimited));
        let mut conc = HeaderMap::new();
        conc.insert("x-rate-limit-limit", HeaderValue::from(0));
        conc.insert("x-rate-limit-remaining", HeaderValue::from(0));
        conc.insert("x-rate-limit-reset", HeaderValue::from(1));
        assert_eq!(
            classify(&AttemptOutcome::Response {
                status: 429,
                headers: &conc
            }),
            Verdict::Retry(RetryReason::ConcurrencyLimited)
        );
        assert_eq!(
            classify(&AttemptOutcome::TruncatedBody),
            Verdict::Retry(RetryReason::TruncatedBody)
        );
        assert_eq!(
            classify(&AttemptOutcome::UntrustedCertificate),
            Verdict::Fail,
            "the same certificate comes back on every attempt"
        );
    }

    #[test]
    fn backoff_is_capped_and_jittered() {
        let b = Backoff {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(1),
        };
        for retry in 0..30 {
            let d = b.delay(retry, RetryReason::ServerError, None);
            assert!(d <= Duration::from_secs(1));
            assert!(d <= Duration::from_millis(100) * 2u32.pow(retry.min(10)));
        }
        let d = b.delay(0, RetryReason::RateLimited, Some(Duration::from_secs(60)));
        assert!(d <= RESET_JITTER_MAX);
    }
}
