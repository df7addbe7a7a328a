//! Integration tests of the SQLite store against real files in temporary directories.

mod changes;
mod files;
mod runs;

use chrono::{DateTime, Utc};
use oktasync_store::{MirrorWriter, OrgId, SqliteStore};
use tempfile::TempDir;

/// A new mirror file in a temporary directory (removed when the directory drops), with one
/// org first seen at `seen`.
async fn new_mirror(seen: DateTime<Utc>) -> (TempDir, SqliteStore, OrgId) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("m.db")).await.unwrap();
    let org = store
        .ensure_org("https://acme.okta.com", seen)
        .await
        .unwrap();
    (dir, store, org)
}
