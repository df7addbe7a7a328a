//! Remembers used `jti` values until they could no longer be accepted anyway.

use parking_lot::Mutex;
use std::collections::HashMap;

/// Prune expired entries once the cache holds this many (bounds memory under load).
const PRUNE_THRESHOLD: usize = 10_000;

#[derive(Debug)]
struct Seen {
    /// jti -> epoch second after which it may be forgotten.
    until: HashMap<String, i64>,
    /// Size at which the next prune runs: doubles while entries are still live, so a busy
    /// DPoP client costs amortised O(1) per proof, not a scan per proof.
    next_prune: usize,
}

#[derive(Debug)]
pub struct ReplayCache {
    seen: Mutex<Seen>,
}

impl Default for ReplayCache {
    fn default() -> Self {
        Self {
            seen: Mutex::new(Seen {
                until: HashMap::new(),
                next_prune: PRUNE_THRESHOLD,
            }),
        }
    }
}

impl ReplayCache {
    /// Records `jti`; false when it was already used and is still remembered.
    pub fn first_use(&self, jti: &str, forget_after: i64, now: i64) -> bool {
        let mut seen = self.seen.lock();
        if seen.until.len() >= seen.next_prune {
            seen.until.retain(|_, until| *until >= now);
            seen.next_prune = (seen.until.len() * 2).max(PRUNE_THRESHOLD);
        }
        match seen.until.get(jti) {
            Some(until) if *until >= now => false,
            _ => {
                seen.until.insert(jti.to_string(), forget_after);
                true
            }
        }
    }

    /// Whether `jti` was used (without recording it).
    pub fn is_used(&self, jti: &str, now: i64) -> bool {
        self.seen
            .lock()
            .until
            .get(jti)
            .is_some_and(|until| *until >= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_are_refused_until_forgotten_and_old_entries_are_pruned() {
        let cache = ReplayCache::default();
        assert!(cache.first_use("a", 100, 0));
        assert!(!cache.first_use("a", 100, 50));
        assert!(cache.is_used("a", 100));
        assert!(!cache.is_used("a", 101));
        assert!(cache.first_use("a", 300, 101), "forgotten after its time");
        for i in 0..PRUNE_THRESHOLD * 3 {
            assert!(cache.first_use(&format!("j{i}"), 1_000, 200));
        }
        // all still live: the prune point moved up instead of scanning on every insert
        assert!(cache.seen.lock().next_prune > PRUNE_THRESHOLD * 3);
    }
}
