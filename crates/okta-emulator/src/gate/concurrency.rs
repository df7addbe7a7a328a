//! The org concurrency limit: simultaneous in-flight requests (Workforce: 75). A request over
//! the limit gets a 429 whose `X-Rate-Limit-Limit` and `Remaining` are 0 (okta-api.md §3.1).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug)]
pub struct ConcurrencyLimiter {
    limit: usize,
    in_flight: Arc<AtomicUsize>,
}

/// Holds one in-flight slot until dropped.
#[derive(Debug)]
pub struct InFlight {
    in_flight: Arc<AtomicUsize>,
    /// Whether this request arrived while the org was already at its limit.
    pub over_limit: bool,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ConcurrencyLimiter {
    pub fn new(limit: usize) -> Self {
        Self {
            limit,
            in_flight: Arc::new(AtomicUsize::new(0)),
        }
    }

    /// Counts a request as in flight. A rejected request also holds its slot while it is being
    /// answered, as it does at Okta.
    pub fn enter(&self) -> InFlight {
        let now_in_flight = self.in_flight.fetch_add(1, Ordering::AcqRel) + 1;
        InFlight {
            in_flight: self.in_flight.clone(),
            over_limit: now_in_flight > self.limit,
        }
    }

    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_released_on_drop() {
        let limiter = ConcurrencyLimiter::new(2);
        let a = limiter.enter();
        let b = limiter.enter();
        let c = limiter.enter();
        assert!(!a.over_limit && !b.over_limit && c.over_limit);
        drop((a, b, c));
        assert_eq!(limiter.in_flight(), 0);
        assert!(!limiter.enter().over_limit);
    }
}
