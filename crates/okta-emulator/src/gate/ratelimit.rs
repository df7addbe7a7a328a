//! Per-bucket, per-principal fixed windows, the way Okta counts (okta-api.md §3).
//!
//! A window opens at a principal's first request in a bucket (not aligned to wall-clock
//! minutes, as Okta's are not) and lasts `60 / time_scale` seconds. Each principal may use
//! `principal_share` of the bucket's org-wide limit per window; that share is what
//! `X-Rate-Limit-Limit` reports.
//!
//! # Limits file (`--rate-limits FILE`, [`RateLimitMode::File`])
//!
//! TOML. Org-wide per-minute limits by bucket name; buckets the file does not name keep
//! Okta's Workforce defaults ([`WORKFORCE_BUCKETS`]). An unknown bucket name is an error.
//!
//! ```toml
//! [buckets]
//! users = 10    # GET/POST /api/v1/users and user mutations
//! logs = 4      # /api/v1/logs
//! ```
//!
//! Bucket names: `users`, `user`, `groups`, `group`, `group_membership`, `apps`, `app`,
//! `logs`, `events`, `other`, `token`.

use super::GateError;
use super::routes::WORKFORCE_BUCKETS;
use crate::config::RateLimitMode;
use chrono::{DateTime, Duration, Utc};
use parking_lot::Mutex;
use std::collections::{BTreeMap, HashMap};

/// The org-wide limit of every bucket when limits are off: high enough that no benchmark
/// reaches it, while the headers still look like Okta's.
pub const OFF_MODE_BUCKET_LIMIT: u32 = 10_000_000;

/// What the limiter decided for one request; becomes the `X-Rate-Limit-*` headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    pub allowed: bool,
    /// The principal's share per window.
    pub limit: u32,
    pub remaining: u32,
    /// Epoch seconds when the window ends (rounded up).
    pub reset_epoch: i64,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: DateTime<Utc>,
    used: u32,
}

#[derive(Debug, Default, Clone, Copy)]
struct BucketCounters {
    requests: u64,
    throttled: u64,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsFile {
    #[serde(default)]
    buckets: BTreeMap<String, u32>,
}

#[derive(Debug)]
pub struct RateLimiter {
    enforce: bool,
    /// Principal share per window, by bucket.
    shares: BTreeMap<&'static str, u32>,
    window: Duration,
    windows: Mutex<HashMap<&'static str, HashMap<String, Window>>>,
    counters: Mutex<BTreeMap<&'static str, BucketCounters>>,
}

impl RateLimiter {
    pub fn new(
        mode: &RateLimitMode,
        principal_share: f64,
        time_scale: f64,
    ) -> Result<Self, GateError> {
        if !(principal_share > 0.0 && principal_share <= 1.0) {
            return Err(GateError::Config(format!(
                "principal_share must be in (0, 1], got {principal_share}"
            )));
        }
        if !(time_scale > 0.0 && time_scale.is_finite()) {
            return Err(GateError::Config(format!(
                "time_scale must be positive, got {time_scale}"
            )));
        }
        let mut org_limits: BTreeMap<&'static str, u32> =
            WORKFORCE_BUCKETS.iter().copied().collect();
        let enforce = match mode {
            RateLimitMode::Off => {
                org_limits
                    .values_mut()
                    .for_each(|l| *l = OFF_MODE_BUCKET_LIMIT);
                false
            }
            RateLimitMode::Workforce => true,
            RateLimitMode::File(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| {
                    GateError::Config(format!(
                        "cannot read rate-limits file {}: {e}",
                        path.display()
                    ))
                })?;
                let file: LimitsFile = toml::from_str(&text).map_err(|e| {
                    GateError::Config(format!(
                        "rate-limits file {} is not valid (expected `[buckets]` NAME = LIMIT): {e}",
                        path.display()
                    ))
                })?;
                for (name, limit) in file.buckets {
                    let Some(slot) = org_limits.get_mut(name.as_str()) else {
                        let known: Vec<&str> = WORKFORCE_BUCKETS.iter().map(|(n, _)| *n).collect();
                        return Err(GateError::Config(format!(
                            "rate-limits file {}: unknown bucket {name:?}; known buckets: {}",
                            path.display(),
                            known.join(", ")
                        )));
                    };
                    *slot = limit;
                }
                true
            }
        };
        let shares = org_limits
            .into_iter()
            .map(|(name, limit)| {
                (
                    name,
                    ((f64::from(limit) * principal_share).floor() as u32).max(1),
                )
            })
            .collect();
        let window_ms = (60_000.0 / time_scale).round().max(1.0) as i64;
        Ok(Self {
            enforce,
            shares,
            window: Duration::milliseconds(window_ms),
            windows: Mutex::new(HashMap::new()),
            counters: Mutex::new(BTreeMap::new()),
        })
    }

    /// The length of one window.
    pub fn window(&self) -> Duration {
        self.window
    }

    fn share(&self, bucket: &str) -> u32 {
        self.shares
            .get(bucket)
            .copied()
            .unwrap_or(OFF_MODE_BUCKET_LIMIT)
    }

    fn reset_epoch(&self, start: DateTime<Utc>) -> i64 {
        let end_ms = (start + self.window).timestamp_millis();
        end_ms.div_euclid(1000) + i64::from(end_ms.rem_euclid(1000) != 0)
    }

    /// Counts one request of `principal` in `bucket` and decides whether it may pass.
    pub fn check(&self, bucket: &'static str, principal: &str, now: DateTime<Utc>) -> Decision {
        let limit = self.share(bucket);
        let decision = {
            let mut windows = self.windows.lock();
            let per_principal = windows.entry(bucket).or_default();
            let window = match per_principal.get_mut(principal) {
                Some(w) => w,
                None => per_principal
                    .entry(principal.to_string())
                    .or_insert(Window {
                        start: now,
                        used: 0,
                    }),
            };
            if now >= window.start + self.window || now < window.start {
                *window = Window {
                    start: now,
                    used: 0,
                };
            }
            let allowed = !self.enforce || window.used < limit;
            if allowed {
                window.used = window.used.saturating_add(1);
            }
            Decision {
                allowed,
                limit,
                remaining: limit.saturating_sub(window.used),
                reset_epoch: self.reset_epoch(window.start),
            }
        };
        let mut counters = self.counters.lock();
        let c = counters.entry(bucket).or_default();
        c.requests += 1;
        if !decision.allowed {
            c.throttled += 1;
        }
        decision
    }

    /// What the headers would say for `principal` in `bucket` now, without counting a request
    /// (for answers the limiter never saw: faults, concurrency 429s, 401s).
    pub fn peek(&self, bucket: &str, principal: &str, now: DateTime<Utc>) -> Decision {
        let limit = self.share(bucket);
        let windows = self.windows.lock();
        let current = windows
            .get(bucket)
            .and_then(|m| m.get(principal))
            .filter(|w| now < w.start + self.window && now >= w.start);
        match current {
            Some(w) => Decision {
                allowed: true,
                limit,
                remaining: limit.saturating_sub(w.used),
                reset_epoch: self.reset_epoch(w.start),
            },
            None => Decision {
                allowed: true,
                limit,
                remaining: limit,
                reset_epoch: self.reset_epoch(now),
            },
        }
    }

    /// Records a 429 sent for the concurrency limit in the bucket's counters.
    pub fn count_concurrency_throttle(&self, bucket: &'static str) {
        let mut counters = self.counters.lock();
        let c = counters.entry(bucket).or_default();
        c.requests += 1;
        c.throttled += 1;
    }

    /// `{NAME: {"requests", "throttled", "limit", "window_s"}}` for every bucket.
    pub fn stats(&self) -> serde_json::Value {
        let counters = self.counters.lock();
        let window_s = self.window.num_milliseconds() as f64 / 1000.0;
        let buckets: serde_json::Map<String, serde_json::Value> = self
            .shares
            .iter()
            .map(|(name, limit)| {
                let c = counters.get(name).copied().unwrap_or_default();
                (
                    (*name).to_string(),
                    serde_json::json!({
                        "requests": c.requests,
                        "throttled": c.throttled,
                        "limit": limit,
                        "window_s": window_s,
                    }),
                )
            })
            .collect();
        serde_json::Value::Object(buckets)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(secs: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn share_is_enforced_per_principal_and_window_resets() {
        let rl = RateLimiter::new(&RateLimitMode::Workforce, 0.5, 1.0).unwrap();
        // logs: 120 per minute, 60 per principal
        for i in 0..60 {
            let d = rl.check("logs", "token:0", t(1));
            assert!(d.allowed, "request {i}");
            assert_eq!(d.limit, 60);
            assert_eq!(d.remaining, 59 - i);
            assert_eq!(d.reset_epoch, 1_700_000_061);
        }
        let d = rl.check("logs", "token:0", t(30));
        assert!(!d.allowed);
        assert_eq!(d.remaining, 0);
        // another principal has its own share
        assert!(rl.check("logs", "token:1", t(30)).allowed);
        // the window ends 60 s after it opened, not at a wall-clock minute
        let d = rl.check("logs", "token:0", t(61));
        assert!(d.allowed);
        assert_eq!(d.remaining, 59);
        assert_eq!(d.reset_epoch, 1_700_000_121);
        let stats = rl.stats();
        assert_eq!(stats["logs"]["requests"], 63);
        assert_eq!(stats["logs"]["throttled"], 1);
        assert_eq!(stats["logs"]["limit"], 60);
    }

    #[test]
    fn off_mode_never_throttles_and_time_scale_shortens_windows() {
        let rl = RateLimiter::new(&RateLimitMode::Off, 0.5, 60.0).unwrap();
        assert_eq!(rl.window(), Duration::seconds(1));
        for _ in 0..1000 {
            assert!(rl.check("users", "p", t(0)).allowed);
        }
        assert_eq!(
            rl.peek("users", "p", t(0)).remaining,
            OFF_MODE_BUCKET_LIMIT / 2 - 1000
        );
    }

    #[test]
    fn limits_file_overrides_and_rejects_unknown_buckets() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("limits.toml");
        std::fs::write(&good, "[buckets]\nusers = 10\n").unwrap();
        let rl = RateLimiter::new(&RateLimitMode::File(good), 0.5, 1.0).unwrap();
        assert_eq!(rl.peek("users", "p", t(0)).limit, 5);
        assert_eq!(rl.peek("groups", "p", t(0)).limit, 250);
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "[buckets]\nuserz = 10\n").unwrap();
        let err = RateLimiter::new(&RateLimitMode::File(bad), 0.5, 1.0).unwrap_err();
        assert!(
            err.to_string().contains("unknown bucket \"userz\""),
            "{err}"
        );
    }
}
