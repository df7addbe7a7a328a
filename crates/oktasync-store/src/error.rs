//! The store's error type.

use std::path::PathBuf;

/// Everything that can go wrong reading or writing the mirror.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot create the mirror database {path}: {source}; check that the directory exists and is writable, or pass another --db path"
    )]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "cannot open the mirror database {path}: {source}; check the path and its permissions, or pass another --db path"
    )]
    Open { path: PathBuf, source: sqlx::Error },
    #[error(
        "cannot bring the mirror database schema up to date: {0}; the file may come from a newer oktasync, or be damaged (run `sqlite3 FILE 'PRAGMA integrity_check'`)"
    )]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("mirror database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("an Okta {kind} object has no string `id`; the mirror keeps only objects with an id")]
    MissingId { kind: &'static str },
    #[error("cannot encode or decode the JSON stored in the mirror: {0}")]
    Json(#[from] serde_json::Error),
    #[error("internal error: {0}; please report it")]
    BadScope(String),
    #[error("no org {0} in this mirror; run `oktasync sync` for it first")]
    UnknownOrg(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
