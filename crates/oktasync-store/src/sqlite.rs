//! The SQLite backend: one mirror file, WAL, created owner-only, migrations run on open
//! (`migrations/sqlite`). What is SQLite's own lives here and in `sqlite/`: inspecting a file
//! before touching it ([`file`]), opening it read-only or for writing, running statements
//! ([`sql`]: the dialect), and staging a full sync in TEMP tables ([`staging`]). Everything
//! else is the backend-neutral [`Mirror`].

mod file;
mod sql;
mod staging;

pub use file::{APPLICATION_ID, FileState};

use crate::error::{Result, StoreError};
use crate::fullsync::Staging;
use crate::mirror::{Backend, Mirror, forward_store_traits};
use crate::sql::{Sql, Tx};
use crate::types::OrgId;
use async_trait::async_trait;
use sqlx::Connection;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a statement waits for another connection's write lock before failing. A full
/// sync of a large org holds the lock for its apply step (seconds), so this is generous.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Pooled connections for reads and small writes (run records). Staging uses its own.
pub const POOL_CONNECTIONS: u32 = 4;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Options for opening a mirror file.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    pub busy_timeout: Duration,
    pub pool_connections: u32,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            busy_timeout: BUSY_TIMEOUT,
            pool_connections: POOL_CONNECTIONS,
        }
    }
}

/// A mirror in one SQLite file.
#[derive(Clone)]
pub struct SqliteStore {
    mirror: Mirror,
    pool: SqlitePool,
    path: PathBuf,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

forward_store_traits!(SqliteStore);

struct SqliteBackend {
    pool: SqlitePool,
    connect_options: SqliteConnectOptions,
    path: PathBuf,
}

#[async_trait]
impl Backend for SqliteBackend {
    async fn conn(&self) -> Result<Box<dyn Sql>> {
        Ok(Box::new(self.pool.acquire().await?))
    }

    async fn read(&self) -> Result<Box<dyn Tx>> {
        // A deferred transaction reads one snapshot of the WAL from its first read on.
        Ok(Box::new(self.pool.begin_with("BEGIN").await?))
    }

    async fn write(&self, _org: Option<OrgId>) -> Result<Box<dyn Tx>> {
        // SQLite has one writer at a time: take the write lock up front, so that a
        // transaction that reads before it writes never has to fail on a lock upgrade.
        Ok(Box::new(self.pool.begin_with("BEGIN IMMEDIATE").await?))
    }

    async fn staging(&self) -> Result<Box<dyn Staging>> {
        Ok(Box::new(
            staging::SqliteStaging::open(&self.connect_options).await?,
        ))
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    async fn check_not_damaged(&self) -> Result<()> {
        check_not_damaged(&self.pool, &self.path).await
    }

    async fn refresh_statistics(&self) -> Result<()> {
        // Without statistics SQLite guesses, and for "this user's groups" walks every
        // membership of the org through the primary key instead of the user's index
        // (250 ms instead of 0.3 ms on a 100,000-user org). About 1 s on such an org.
        sqlx::query("ANALYZE").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

/// A mirror filled before full syncs refreshed the planner's statistics has none, and reads
/// of one user's groups are then a thousand times slower: give it statistics once, on the
/// first open that may write.
async fn analyze_if_never_analyzed(pool: &SqlitePool) -> Result<()> {
    let (analyzed, filled): (bool, bool) = sqlx::query_as(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'), \
                EXISTS (SELECT 1 FROM group_members)",
    )
    .fetch_one(pool)
    .await?;
    if filled && !analyzed {
        tracing::info!("Computing the mirror's planner statistics once (ANALYZE).");
        sqlx::query("ANALYZE").execute(pool).await?;
    }
    Ok(())
}

impl SqliteStore {
    fn new(pool: SqlitePool, connect_options: SqliteConnectOptions, path: PathBuf) -> Self {
        let backend = SqliteBackend {
            pool: pool.clone(),
            connect_options,
            path: path.clone(),
        };
        Self {
            mirror: Mirror::new(backend),
            pool,
            path,
        }
    }

    /// Opens the mirror at `path` for writing: creates it (owner-read/write only) if missing,
    /// brings its schema up to date. A file that is not an oktasync mirror is refused
    /// unchanged. Safe when several processes open the same new file at once.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path, StoreOptions::default()).await
    }

    pub async fn open_with(path: impl AsRef<Path>, options: StoreOptions) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        match file::inspect(&path, &MIGRATOR).await? {
            FileState::Missing => create_owner_only(&path)?,
            FileState::Empty | FileState::Older | FileState::Mirror => {}
            refused => return Err(file::refuse(&path, refused)),
        }
        let connect_options = SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(false)
            // WAL + NORMAL: a commit may be lost on power failure, never corrupted.
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(options.busy_timeout)
            .foreign_keys(false);
        ensure_wal(&connect_options, options.busy_timeout)
            .await
            .map_err(|source| StoreError::open(&path, source))?;
        let pool = SqlitePoolOptions::new()
            .max_connections(options.pool_connections)
            .connect_with(connect_options.clone())
            .await
            .map_err(|source| StoreError::open(&path, source))?;
        migrate(&pool).await.map_err(|e| e.at(&path))?;
        analyze_if_never_analyzed(&pool)
            .await
            .map_err(|e| e.at(&path))?;
        let store = Self::new(pool, connect_options, path);
        store
            .mirror
            .name_unnamed_orgs()
            .await
            .map_err(|e| e.at(&store.path))?;
        Ok(store)
    }

    /// Opens an existing mirror for reading only: nothing is created, migrated or written,
    /// and a file that is not a mirror of this schema is refused, unchanged.
    pub async fn open_read_only(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        match file::inspect(&path, &MIGRATOR).await? {
            FileState::Mirror => {}
            refused => return Err(file::refuse(&path, refused)),
        }
        let connect_options = SqliteConnectOptions::new()
            .filename(&path)
            .read_only(true)
            .create_if_missing(false)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(POOL_CONNECTIONS)
            .connect_with(connect_options.clone())
            .await
            .map_err(|source| StoreError::open(&path, source))?;
        Ok(Self::new(pool, connect_options, path))
    }

    /// What is at `path`, found out without writing to it.
    pub async fn inspect(path: impl AsRef<Path>) -> Result<FileState> {
        file::inspect(path.as_ref(), &MIGRATOR).await
    }

    /// A fact about this mirror file (`mirror_meta`), e.g. `created_by`.
    pub async fn meta(&self, key: &str) -> Result<Option<String>> {
        self.mirror.meta(key).await
    }

    pub async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.mirror.set_meta(key, value).await
    }

    /// SQLite's `PRAGMA quick_check` (every page read, indexes not cross-checked): an error
    /// that says how to rebuild the mirror when the file is damaged.
    pub async fn check_not_damaged(&self) -> Result<()> {
        check_not_damaged(&self.pool, &self.path).await
    }

    /// The backend-neutral handle on this mirror.
    pub fn into_mirror(self) -> Mirror {
        self.mirror
    }

    /// The connection pool, for SQLite-specific checks and tests.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// SQLite's `PRAGMA integrity_check`: `["ok"]` for a sound file, else the problems found.
    pub async fn integrity_check(&self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&self.pool)
            .await?)
    }

    /// Closes every pooled connection (a checkpoint of the WAL happens on the last close).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Marks this process's `running` runs `interrupted`: for a process stopping on a signal,
    /// so that `status` does not show a run as running until the next sync.
    pub async fn mark_own_runs_interrupted(&self) -> Result<u64> {
        crate::RunLog::mark_own_runs_interrupted(&self.mirror).await
    }
}

async fn check_not_damaged(pool: &SqlitePool, path: &Path) -> Result<()> {
    let problems: Vec<String> = sqlx::query_scalar("PRAGMA quick_check")
        .fetch_all(pool)
        .await
        .map_err(|source| StoreError::open(path, source))?;
    if problems == ["ok"] {
        return Ok(());
    }
    Err(StoreError::Damaged {
        path: path.to_path_buf(),
        detail: problems.into_iter().take(3).collect::<Vec<_>>().join("; "),
    })
}

/// Puts the file in WAL mode (a property of the file, kept once set). Switching needs an
/// exclusive lock that SQLite's busy timeout does not wait for, so when another process holds
/// the file (two syncs creating it at once) this retries until `timeout`.
async fn ensure_wal(
    options: &SqliteConnectOptions,
    timeout: Duration,
) -> std::result::Result<(), sqlx::Error> {
    let deadline = tokio::time::Instant::now() + timeout;
    let mut pause = Duration::from_millis(5);
    loop {
        let mut conn = SqliteConnection::connect_with(options).await?;
        let mode = sqlx::query_scalar::<_, String>("PRAGMA journal_mode = WAL")
            .fetch_one(&mut conn)
            .await;
        let _ = conn.close().await;
        match mode {
            Ok(mode) if mode.eq_ignore_ascii_case("wal") => return Ok(()),
            Ok(_) | Err(_) if tokio::time::Instant::now() < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(200));
            }
            Ok(mode) => {
                return Err(sqlx::Error::Protocol(format!(
                    "the file stays in journal mode {mode}; another program holds it"
                )));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Brings the schema up to date inside one `BEGIN IMMEDIATE` transaction, so that processes
/// opening a new file at the same moment take turns: the second finds the schema in place
/// instead of failing on "table already exists". (Each migration runs in a savepoint.)
async fn migrate(pool: &SqlitePool) -> Result<()> {
    let mut conn = pool.acquire().await?;
    let mut tx = Connection::begin_with(&mut *conn, "BEGIN IMMEDIATE").await?;
    // `run_direct`, not `run`: the future `run` makes (generic over `Acquire`) cannot be
    // spawned ("implementation of `Acquire` is not general enough").
    MIGRATOR.run_direct(None, &mut *tx, false).await?;
    tx.commit().await?;
    Ok(())
}

/// Creates the database file with mode 0600 before SQLite opens it (SQLite would use the
/// umask, typically 0644). SQLite gives the `-wal` and `-shm` files the same mode.
fn create_owner_only(path: &Path) -> Result<()> {
    if path.exists() {
        return Ok(());
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    match options.open(path) {
        Ok(_) => Ok(()),
        // Another process created it between the check and the open.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(cause) => Err(StoreError::Create {
            path: path.to_path_buf(),
            cause,
        }),
    }
}
