//! The store's error type.

use std::path::{Path, PathBuf};

/// Everything that can go wrong reading or writing the mirror.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(
        "cannot create the mirror database {path}: {cause}; check that the directory exists and is writable, or pass another --db path"
    )]
    Create {
        path: PathBuf,
        // Named `cause`, not `source`: the message already says it, and a source would be
        // printed a second time by the error chain.
        cause: std::io::Error,
    },
    #[error(
        "cannot open the mirror database {path}: {cause}; check the path and its permissions, or pass another --db path"
    )]
    Open { path: PathBuf, cause: sqlx::Error },
    #[error("cannot read {path}: {cause}; check the path and its permissions")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(
        "no mirror at {path}: run `oktasync sync --db {path}` to create one (or `oktasync demo` to try oktasync on an emulated org), or pass --db with the right path",
        path = .path.display()
    )]
    NoMirror { path: PathBuf },
    #[error(
        "{path} is not an oktasync mirror: it is {what}. Nothing in it was changed. Pass --db with the path of a mirror, or a new file name for `oktasync sync` to create one",
        path = .path.display()
    )]
    NotAMirror { path: PathBuf, what: String },
    #[error(
        "the mirror {path} was written by an older oktasync; read commands never write, so run `oktasync sync --db {path}` once to bring it up to date",
        path = .path.display()
    )]
    OlderMirror { path: PathBuf },
    #[error(
        "the mirror {path} was written by a newer oktasync (it has schema version {version}, which this one does not know); use that version, or upgrade this one",
        path = .path.display()
    )]
    NewerMirror { path: PathBuf, version: i64 },
    #[error(
        "the mirror {path} is damaged ({detail}); its contents cannot be trusted. Keep it aside and rebuild it with a full sync:\n{way_out}",
        path = .path.display(),
        way_out = damaged_way_out(.path)
    )]
    Damaged { path: PathBuf, detail: String },
    #[error(
        "cannot bring the mirror database schema up to date: {0}; the file may come from a newer oktasync, or be damaged (`oktasync doctor` checks it)"
    )]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("mirror database error: {}{}", .0, damaged_hint(.0))]
    Database(#[from] sqlx::Error),
    #[error("an Okta {kind} object has no string `id`; the mirror keeps only objects with an id")]
    MissingId { kind: &'static str },
    #[error(
        "internal error: a batch of {table} needs {expected} parent key values, was given {given}; please report it"
    )]
    BatchParent {
        table: &'static str,
        expected: usize,
        given: usize,
    },
    #[error("cannot encode or decode the JSON stored in the mirror: {0}")]
    Json(#[from] serde_json::Error),
    #[error("internal error: {0}; please report it")]
    Internal(String),
    /// A record that would clash with one already kept; the message says what to do.
    #[error("{0}")]
    Conflict(String),
    #[error("no org {0} in this mirror; run `oktasync sync` for it first")]
    UnknownOrg(String),
    #[error(
        "the org name {name:?} is taken by {taken_by} in this mirror; choose another `org_name`"
    )]
    OrgNameTaken { name: String, taken_by: String },
    #[error(
        "{name:?} is not an org name: use letters, digits, `-` and `_` (at most 63), starting with a letter or digit"
    )]
    BadOrgName { name: String },
    #[error(
        "not a PostgreSQL URL ({reason}); write it as postgres://USER@HOST:PORT/DATABASE (the password in the URL, in PGPASSWORD, or in db_password_file)"
    )]
    BadDbUrl { reason: String },
    #[error(
        "cannot connect to the PostgreSQL mirror {location}: {cause}; check that the server is running and that the URL's host, port, database and user (and the password: in the URL, PGPASSWORD or db_password_file) are right"
    )]
    PgConnect {
        location: String,
        cause: sqlx::Error,
    },
    #[error(
        "the PostgreSQL database {location} holds no oktasync mirror yet: run `oktasync sync --db {location}` to create one, or pass --db with the URL of a mirror"
    )]
    PgNoMirror { location: String },
    #[error(
        "the PostgreSQL database {location} is not an oktasync mirror: it holds {what}. Nothing in it was changed. Give oktasync a database of its own (`createdb oktasync_mirror`), or pass --db with the URL of a mirror"
    )]
    PgNotAMirror { location: String, what: String },
    #[error(
        "the PostgreSQL mirror {location} was written by an older oktasync; read commands never write, so run `oktasync sync --db {location}` once to bring it up to date"
    )]
    PgOlderMirror { location: String },
    #[error(
        "the PostgreSQL mirror {location} was written by a newer oktasync (it has schema version {version}, which this one does not know); use that version, or upgrade this one"
    )]
    PgNewerMirror { location: String, version: i64 },
    #[error(
        "the PostgreSQL database {location} uses the encoding {encoding}; an oktasync mirror needs UTF8: create its database with `createdb -E UTF8 -T template0 NAME`"
    )]
    PgEncoding { location: String, encoding: String },
    #[error(
        "{org} is being synced by {host} pid {pid} since {since}; wait for that sync to finish (a holder that died lets go within {expiry_s} s)"
    )]
    LeaseHeld {
        org: String,
        host: String,
        pid: i64,
        since: String,
        expiry_s: u64,
    },
    #[error(
        "the lease on the sync of {org} was lost (it expired, or another process took it over); stop this sync: its changes would not be its own"
    )]
    LeaseLost { org: String },
    #[error(
        "cannot copy into {location}: it already holds orgs ({orgs}); copy into a new SQLite file or an empty PostgreSQL database"
    )]
    CopyTargetNotEmpty { location: String, orgs: String },
    #[error("unknown token scope {0:?}: use read, sync or admin")]
    BadTokenScope(String),
    #[error(
        "a token named {0:?} exists already; pick another name, or revoke it first with `oktasync token revoke {0}`"
    )]
    TokenNameTaken(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

impl StoreError {
    pub(crate) fn open(path: &Path, source: sqlx::Error) -> Self {
        if is_damage(&source) {
            StoreError::Damaged {
                path: path.to_path_buf(),
                detail: source.to_string(),
            }
        } else {
            StoreError::Open {
                path: path.to_path_buf(),
                cause: source,
            }
        }
    }
}

impl StoreError {
    /// This error, or `Damaged` when it is SQLite saying that the file at `path` is damaged.
    pub(crate) fn at(self, path: &Path) -> Self {
        let source = match &self {
            StoreError::Database(e)
            | StoreError::Open { cause: e, .. }
            | StoreError::Migrate(sqlx::migrate::MigrateError::Execute(e))
            | StoreError::Migrate(sqlx::migrate::MigrateError::ExecuteMigration(e, _)) => e,
            _ => return self,
        };
        if is_damage(source) {
            StoreError::Damaged {
                path: path.to_path_buf(),
                detail: source.to_string(),
            }
        } else {
            self
        }
    }
}

/// SQLITE_CORRUPT (11) and SQLITE_NOTADB (26), with their extended codes.
fn is_damage(e: &sqlx::Error) -> bool {
    e.as_database_error()
        .and_then(|d| d.code())
        .and_then(|c| c.parse::<i64>().ok())
        .is_some_and(|code| matches!(code & 0xff, 11 | 26))
}

fn damaged_hint(e: &sqlx::Error) -> &'static str {
    if is_damage(e) {
        "; the mirror file is damaged: `oktasync doctor` says how to rebuild it"
    } else {
        ""
    }
}

/// The exact commands that keep a damaged mirror (with its WAL files) aside and rebuild it.
fn damaged_way_out(path: &Path) -> String {
    let p = shell_quote(&path.display().to_string());
    let aside = shell_quote(&format!("{}.damaged", path.display()));
    let mut lines = vec![format!("  mv {p} {aside}")];
    for suffix in ["-wal", "-shm"] {
        let mut sidecar = path.as_os_str().to_owned();
        sidecar.push(suffix);
        if Path::new(&sidecar).exists() {
            lines.push(format!(
                "  mv {} {}",
                shell_quote(&format!("{}{suffix}", path.display())),
                shell_quote(&format!("{}.damaged{suffix}", path.display()))
            ));
        }
    }
    lines.push(format!("  oktasync sync --db {p}"));
    lines.join("\n")
}

/// `text` as one shell word.
fn shell_quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+:@%,=".contains(c))
    {
        text.to_owned()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}
