//! What a file given as a mirror is, found out without changing it, and the two ways to open
//! one: read-only (every command that only reads) and for writing (sync, watch, demo), which
//! alone creates a file or migrates its schema.

use crate::error::{Result, StoreError};
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, Row};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// Every SQLite database file starts with these 16 bytes.
const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// The `application_id` in the header of an oktasync mirror (migration 3): "oksy".
pub const APPLICATION_ID: i64 = 0x6F6B_7379;

/// What is at a mirror path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    Missing,
    /// A file with no tables at all (zero bytes, or an SQLite database nobody wrote to):
    /// nothing to lose, so a sync may initialise it.
    Empty,
    /// A mirror with this oktasync's schema.
    Mirror,
    /// A mirror written by an older oktasync: a sync brings it up to date.
    Older,
    /// A mirror written by a newer oktasync (it has schema versions this one does not know).
    Newer {
        version: i64,
    },
    /// Not an oktasync mirror; the text says what it is instead.
    Foreign(String),
}

/// Looks at `path` without writing to it: the header bytes first (a file that is not SQLite
/// is never handed to SQLite), then, read-only, its `application_id` and migration history.
pub async fn inspect(path: &Path, migrator: &sqlx::migrate::Migrator) -> Result<FileState> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileState::Missing),
        Err(cause) => {
            return Err(StoreError::Read {
                path: path.to_path_buf(),
                cause,
            });
        }
    };
    if meta.is_dir() {
        return Ok(FileState::Foreign("a directory".into()));
    }
    if meta.len() == 0 {
        return Ok(FileState::Empty);
    }
    let mut header = [0u8; 16];
    let read = std::fs::File::open(path).and_then(|mut f| f.read_exact(&mut header));
    match read {
        Ok(()) if &header == SQLITE_MAGIC => {}
        Ok(()) => return Ok(FileState::Foreign("not an SQLite database".into())),
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            return Ok(FileState::Foreign("not an SQLite database".into()));
        }
        Err(cause) => {
            return Err(StoreError::Read {
                path: path.to_path_buf(),
                cause,
            });
        }
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .create_if_missing(false);
    let mut conn = SqliteConnection::connect_with(&options)
        .await
        .map_err(|source| StoreError::open(path, source))?;
    let state = classify(&mut conn, migrator).await;
    let _ = conn.close().await;
    state.map_err(|source| StoreError::open(path, source))
}

async fn classify(
    conn: &mut SqliteConnection,
    migrator: &sqlx::migrate::Migrator,
) -> std::result::Result<FileState, sqlx::Error> {
    let application_id: i64 = sqlx::query_scalar("PRAGMA application_id")
        .fetch_one(&mut *conn)
        .await?;
    if application_id != 0 && application_id != APPLICATION_ID {
        return Ok(FileState::Foreign(format!(
            "an SQLite database of another program (application_id {application_id:#x})"
        )));
    }
    let tables: Vec<String> =
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
            .fetch_all(&mut *conn)
            .await?;
    if tables.is_empty() {
        return Ok(FileState::Empty);
    }
    if !tables.iter().any(|t| t == "_sqlx_migrations") {
        return Ok(FileState::Foreign(format!(
            "an SQLite database of another program (tables {})",
            preview(&tables)
        )));
    }
    let applied: BTreeMap<i64, Vec<u8>> =
        sqlx::query("SELECT version, checksum FROM _sqlx_migrations WHERE success")
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| (r.get::<i64, _>(0), r.get::<Vec<u8>, _>(1)))
            .collect();
    let ours: BTreeMap<i64, &[u8]> = migrator
        .iter()
        .map(|m| (m.version, m.checksum.as_ref()))
        .collect();
    // Another sqlx program has a migration history too: the first migration tells them apart.
    let first = ours.iter().next().map(|(v, c)| (*v, *c));
    if let Some((version, checksum)) = first
        && applied.get(&version).map(Vec::as_slice) != Some(checksum)
    {
        return Ok(FileState::Foreign(format!(
            "an SQLite database of another program (tables {})",
            preview(&tables)
        )));
    }
    if let Some(version) = applied.keys().find(|v| !ours.contains_key(v)) {
        return Ok(FileState::Newer { version: *version });
    }
    if ours.keys().any(|v| !applied.contains_key(v)) {
        return Ok(FileState::Older);
    }
    Ok(FileState::Mirror)
}

/// A few table names, for a message that says what a foreign file holds.
fn preview(tables: &[String]) -> String {
    let mut shown: Vec<&str> = tables.iter().take(4).map(String::as_str).collect();
    if tables.len() > shown.len() {
        shown.push("...");
    }
    shown.join(", ")
}

/// The refusal for a state that is not a mirror this binary can read.
pub fn refuse(path: &Path, state: FileState) -> StoreError {
    let path = path.to_path_buf();
    match state {
        FileState::Missing => StoreError::NoMirror { path },
        FileState::Empty => StoreError::NotAMirror {
            path,
            what: "empty: no sync has written to it".into(),
        },
        FileState::Foreign(what) => StoreError::NotAMirror { path, what },
        FileState::Older => StoreError::OlderMirror { path },
        FileState::Newer { version } => StoreError::NewerMirror { path, version },
        FileState::Mirror => StoreError::Internal("a readable mirror was refused".into()),
    }
}
