//! Per-client counters, so a sync can report what it cost.

use parking_lot::Mutex;
use serde::Serialize;
use std::collections::BTreeMap;
use tokio::time::Instant;

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
    /// Seconds during which at least one request was waiting for rate-limit budget (pacing
    /// and 429 resets): wall time, so requests waiting together count once.
    pub rate_limit_wait: f64,
    /// Requests waiting for rate-limit budget right now.
    pub requests_waiting: u64,
    /// OAuth access tokens fetched.
    pub tokens_fetched: u64,
    /// Per bucket name.
    pub buckets: BTreeMap<String, BucketMetrics>,
}

#[derive(Debug, Default)]
pub(crate) struct Metrics {
    inner: Mutex<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    m: MetricsSnapshot,
    /// Since when requests have been waiting (while `m.requests_waiting > 0`).
    waiting_since: Option<Instant>,
}

/// One request waiting for rate-limit budget, from creation to drop.
pub(crate) struct RateLimitWait<'a> {
    metrics: &'a Metrics,
}

impl Drop for RateLimitWait<'_> {
    fn drop(&mut self) {
        let mut c = self.metrics.inner.lock();
        c.m.requests_waiting = c.m.requests_waiting.saturating_sub(1);
        if c.m.requests_waiting == 0
            && let Some(since) = c.waiting_since.take()
        {
            c.m.rate_limit_wait += since.elapsed().as_secs_f64();
        }
    }
}

impl Metrics {
    pub(crate) fn request(&self, bucket: &str, is_retry: bool) {
        let m = &mut self.inner.lock().m;
        m.requests += 1;
        m.retries += u64::from(is_retry);
        let b = m.buckets.entry(bucket.to_string()).or_default();
        b.requests += 1;
        b.retries += u64::from(is_retry);
    }

    pub(crate) fn http_429(&self, bucket: &str, concurrency: bool) {
        let m = &mut self.inner.lock().m;
        m.http_429 += 1;
        m.concurrency_429 += u64::from(concurrency);
        m.buckets.entry(bucket.to_string()).or_default().http_429 += 1;
    }

    pub(crate) fn bytes(&self, n: usize) {
        self.inner.lock().m.bytes += n as u64;
    }

    /// Counts a request as waiting for rate-limit budget until the returned guard drops.
    pub(crate) fn waiting(&self) -> RateLimitWait<'_> {
        let mut c = self.inner.lock();
        c.m.requests_waiting += 1;
        if c.waiting_since.is_none() {
            c.waiting_since = Some(Instant::now());
        }
        RateLimitWait { metrics: self }
    }

    pub(crate) fn token_fetched(&self) {
        self.inner.lock().m.tokens_fetched += 1;
    }

    pub(crate) fn snapshot(&self) -> MetricsSnapshot {
        let c = self.inner.lock();
        let mut m = c.m.clone();
        if let Some(since) = c.waiting_since {
            m.rate_limit_wait += since.elapsed().as_secs_f64();
        }
        m
    }
}
