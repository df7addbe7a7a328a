//! Answers the database gave a moment ago, reused for [`RECENT_FOR`]: which token a hash
//! belongs to and which org a name is. Every request needs both, and asking the database
//! each time costed two of a `/users` page's three statements. A token revoked (or an org
//! renamed) by another process is seen within [`RECENT_FOR`]; time comes from the server's
//! clock, so tests control it.

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::hash::Hash;

/// How long an answer is reused: also how long a revoked token keeps working at most.
pub const RECENT_FOR: chrono::Duration = chrono::Duration::seconds(1);

/// Entries beyond which the map is emptied rather than grown (a client inventing tokens
/// must not grow memory; misses are not kept anyway).
const MAX_ENTRIES: usize = 1024;

/// Found answers (`Some`) by key, each with when the database gave it.
pub struct Recent<K, V> {
    entries: Mutex<HashMap<K, (DateTime<Utc>, V)>>,
}

impl<K: Eq + Hash + Clone, V: Clone> Default for Recent<K, V> {
    fn default() -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
        }
    }
}

impl<K: Eq + Hash + Clone, V: Clone> Recent<K, V> {
    /// The answer for `key` if the database gave it within [`RECENT_FOR`] of `now`.
    pub fn get(&self, key: &K, now: DateTime<Utc>) -> Option<V> {
        let entries = self.entries.lock();
        let (at, value) = entries.get(key)?;
        (now >= *at && now - *at < RECENT_FOR).then(|| value.clone())
    }

    /// Keeps an answer the database just gave.
    pub fn put(&self, key: K, value: V, now: DateTime<Utc>) {
        let mut entries = self.entries.lock();
        if entries.len() >= MAX_ENTRIES && !entries.contains_key(&key) {
            entries.retain(|_, (at, _)| now >= *at && now - *at < RECENT_FOR);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, (now, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_is_reused_for_a_second_then_asked_again() {
        let recent = Recent::<String, u32>::default();
        let t0 = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(recent.get(&"a".into(), t0), None);
        recent.put("a".into(), 1, t0);
        assert_eq!(recent.get(&"a".into(), t0), Some(1));
        let later = t0 + chrono::Duration::milliseconds(999);
        assert_eq!(recent.get(&"a".into(), later), Some(1));
        assert_eq!(recent.get(&"a".into(), t0 + RECENT_FOR), None);
        // A clock that went back does not make an old answer new.
        assert_eq!(recent.get(&"a".into(), t0 - RECENT_FOR), None);
    }

    #[test]
    fn many_keys_do_not_grow_the_map_without_end() {
        let recent = Recent::<u32, u32>::default();
        let t0 = Utc::now();
        for k in 0..(MAX_ENTRIES as u32 * 3) {
            recent.put(k, k, t0);
        }
        assert!(recent.entries.lock().len() <= MAX_ENTRIES);
        let last = MAX_ENTRIES as u32 * 3 - 1;
        assert_eq!(recent.get(&last, t0), Some(last));
    }
}
