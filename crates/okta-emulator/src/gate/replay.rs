//! Remembers used `jti` values until they could no longer be accepted anyway.

use parking_lot::Mutex;
use std::collections::HashMap;

/// Prune expired entries once the cache holds this many (bounds memory under load).
const PRUNE_THRESHOLD: usize = 10_000;

#[derive(Debug, Default)]
pub struct ReplayCache {
    /// jti -> epoch second after which it may be forgotten.
    seen: Mutex<HashMap<String, i64>>,
}

impl ReplayCache {
    /// Records `jti`; false when it was already used and is still remembered.
    pub fn first_use(&self, jti: &str, forget_after: i64, now: i64) -> bool {
        let mut seen = self.seen.lock();
        if seen.len() >= PRUNE_THRESHOLD {
            seen.retain(|_, until| *until >= now);
        }
        match seen.get(jti) {
            Some(until) if *until >= now => false,
            _ => {
                seen.insert(jti.to_string(), forget_after);
                true
            }
        }
    }

    /// Whether `jti` was used (without recording it).
    pub fn is_used(&self, jti: &str, now: i64) -> bool {
        self.seen.lock().get(jti).is_some_and(|until| *until >= now)
    }
}
