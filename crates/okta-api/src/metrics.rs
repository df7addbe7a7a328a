//! Per-client counters, so a sync can report what it cost.

use parking_lot::Mutex;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Duration;

/// Counters for one rate-limit bucket.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BucketMetrics {
    /// HTTP requests sent (every attempt counts).
    pub requests: u64,
    /// Attempts that were retries of an earlier attempt.
    pub retries: u64,
    /// 429 responses received (rate and concurrency limits).
    pub http_429: u64,
}

/// A copy of a client's counters at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct MetricsSnapshot {
    /// HTTP requests sent, all buckets.
    pub requests: u64,
    /// Retries, all buckets.
    pub retries: u64,
    /// 429 responses, all buckets.
    pub http_429: u64,
    /// 429 responses caused by the org's concurrency limit (a subset of `http_429`).
    pub concurrency_429: u64,
    /// Response body bytes received.
    pub bytes: u64,
    /// Seconds requests spent waiting for rate-limit budget (pacing and 429 resets), summed
    /// over requests: concurrent requests waiting together each count.
    pub rate_limit_wait: f64,
    /// OAuth access tokens fetched.
    pub tokens_fetched: u64,
    /// Per bucket name.
    pub buckets: BTreeMap<String, BucketMetrics>,
}

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    inner: Mutex<MetricsSnapshot>,
}

impl Metrics {
    pub(crate) fn request(&self, bucket: &str, is_retry: bool) {
        let mut m = self.inner.lock();
        m.requests += 1;
        m.retries += u64::from(is_retry);
        let b = m.buckets.entry(bucket.to_string()).or_default();
        b.requests += 1;
        b.retries += u64::from(is_retry);
    }

    pub(crate) fn http_429(&self, bucket: &str, concurrency: bool) {
        let mut m = self.inner.lock();
        m.http_429 += 1;
        m.concurrency_429 += u64::from(concurrency);
        m.buckets.entry(bucket.to_string()).or_default().http_429 += 1;
    }

    pub(crate) fn bytes(&self, n: usize) {
        self.inner.lock().bytes += n as u64;
    }

    pub(crate) fn rate_limit_wait(&self, waited: Duration) {
        self.inner.lock().rate_limit_wait += waited.as_secs_f64();
    }

    pub(crate) fn token_fetched(&self) {
        self.inner.lock().tokens_fetched += 1;
    }

    pub(crate) fn snapshot(&self) -> MetricsSnapshot {
        self.inner.lock().clone()
    }
}
