//! What was pushed to each target, kept between runs so that a push sends only what changed.
//!
//! One record per Okta user pushed to a target. A store implements [`PushState`] (SQLite and
//! PostgreSQL in `oktasync-store`); [`MemoryPushState`] serves the tests.

use crate::mapping::Attributes;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One user as last pushed to a target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRecord {
    pub okta_user_id: String,
    /// The SCIM resource id the target gave the user.
    pub target_user_id: String,
    pub user_name: String,
    /// [`crate::plan::content_hash`] of `attributes` and `target_groups`.
    pub content_hash: String,
    /// The flat attributes as pushed: an incremental push diffs against them to send only the
    /// changed paths without reading the target.
    pub attributes: Attributes,
    pub target_groups: BTreeSet<String>,
    pub pushed_at: DateTime<Utc>,
}

/// The push state store failed.
#[derive(Debug, thiserror::Error)]
#[error("push state: {0}")]
pub struct StateError(pub Box<dyn std::error::Error + Send + Sync>);

/// Storage of [`PushRecord`]s, per target name.
#[async_trait]
pub trait PushState: Send + Sync {
    /// Every record of the target.
    async fn load(&self, target: &str) -> Result<Vec<PushRecord>, StateError>;
    /// Inserts or replaces records (keyed by `okta_user_id`).
    async fn save(&self, target: &str, records: &[PushRecord]) -> Result<(), StateError>;
    /// Removes the records of these Okta users.
    async fn forget(&self, target: &str, okta_user_ids: &[String]) -> Result<(), StateError>;
}

/// [`PushState`] in memory.
#[derive(Debug, Default)]
pub struct MemoryPushState {
    targets: Mutex<BTreeMap<String, BTreeMap<String, PushRecord>>>,
}

#[async_trait]
impl PushState for MemoryPushState {
    async fn load(&self, target: &str) -> Result<Vec<PushRecord>, StateError> {
        Ok(self
            .targets
            .lock()
            .get(target)
            .map(|records| records.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn save(&self, target: &str, records: &[PushRecord]) -> Result<(), StateError> {
        let mut targets = self.targets.lock();
        let stored = targets.entry(target.to_owned()).or_default();
        for r in records {
            stored.insert(r.okta_user_id.clone(), r.clone());
        }
        Ok(())
    }

    async fn forget(&self, target: &str, okta_user_ids: &[String]) -> Result<(), StateError> {
        if let Some(stored) = self.targets.lock().get_mut(target) {
            for id in okta_user_ids {
                stored.remove(id);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, hash: &str) -> PushRecord {
        PushRecord {
            okta_user_id: id.into(),
            target_user_id: format!("t-{id}"),
            user_name: format!("{id}@x.com"),
            content_hash: hash.into(),
            attributes: Attributes::new(),
            target_groups: BTreeSet::new(),
            pushed_at: DateTime::UNIX_EPOCH,
        }
    }

    #[tokio::test]
    async fn save_replaces_forget_removes_targets_are_separate() {
        let s = MemoryPushState::default();
        s.save("a", &[record("1", "h1"), record("2", "h2")])
            .await
            .unwrap();
        s.save("a", &[record("1", "h1b")]).await.unwrap();
        s.save("b", &[record("3", "h3")]).await.unwrap();
        s.forget("a", &["2".into()]).await.unwrap();
        let a = s.load("a").await.unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].content_hash, "h1b");
        assert_eq!(s.load("b").await.unwrap().len(), 1);
        assert!(s.load("c").await.unwrap().is_empty());
    }
}
