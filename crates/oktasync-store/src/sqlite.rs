//! The SQLite backend.

mod file;

pub use file::{APPLICATION_ID, FileState};

use crate::changelog::{self, DeltaWriter, RunContext};
use crate::delta::RowKey;
use crate::delta::{ChangeQuery, ChangeRecord, ChangeSource, Delta, Scope, Watermarks};
use crate::error::{Result, StoreError};
use crate::history::Concern;
use crate::query::{
    self, AdminRole, AppDetail, AppRow, GroupDetail, GroupRow, UserDetail, UserFilter, UserGroup,
    UserRow,
};
use crate::schema::{self, Cell, ColumnType, TableSpec};
use crate::types::{
    Batch, ChangeCounts, Changes, OrgId, RunId, RunKind, RunOutcome, RunStart, RunStats,
    SyncRunRecord, Table,
};
use crate::{FullSyncSession, MirrorReader, MirrorWriter, RunLog, TableRows};
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::Value;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, Connection, Row};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long a statement waits for another connection's write lock before failing. A full
/// sync of a large org holds the lock for its apply step (seconds), so this is generous.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(60);

/// Pooled connections for reads and small writes (run records). Staging uses its own.
pub const POOL_CONNECTIONS: u32 = 4;

/// Page cache of the staging connection for the mirror (KiB): index maintenance while
/// applying a large run stays in memory.
const STAGING_MAIN_CACHE_KIB: u32 = 64 * 1024;

/// Page cache of the staging connection for the TEMP database (KiB).
const STAGING_TEMP_CACHE_KIB: u32 = 32 * 1024;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

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
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    connect_options: SqliteConnectOptions,
    path: PathBuf,
}

impl SqliteStore {
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
        Ok(Self {
            pool,
            connect_options,
            path,
        })
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
        Ok(Self {
            pool,
            connect_options,
            path,
        })
    }

    /// What is at `path`, found out without writing to it.
    pub async fn inspect(path: impl AsRef<Path>) -> Result<FileState> {
        file::inspect(path.as_ref(), &MIGRATOR).await
    }

    /// A fact about this mirror file (`mirror_meta`), e.g. `created_by`.
    pub async fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM mirror_meta WHERE key = ?")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO mirror_meta (key, value) VALUES (?, ?)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// SQLite's `PRAGMA quick_check` (every page read, indexes not cross-checked): an error
    /// that says how to rebuild the mirror when the file is damaged.
    pub async fn check_not_damaged(&self) -> Result<()> {
        let problems: Vec<String> = sqlx::query_scalar("PRAGMA quick_check")
            .fetch_all(&self.pool)
            .await
            .map_err(|source| StoreError::open(&self.path, source))?;
        if problems == ["ok"] {
            return Ok(());
        }
        Err(StoreError::Damaged {
            path: self.path.clone(),
            detail: problems.into_iter().take(3).collect::<Vec<_>>().join("; "),
        })
    }

    /// The connection pool, for read-side queries (the CLI's `query` module).
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

    /// Starts a full sync run; the same as [`MirrorWriter::begin_full_sync`] with a concrete type.
    pub async fn begin_full_sync_session(
        &self,
        org: OrgId,
        start: RunStart,
    ) -> Result<SqliteFullSyncSession> {
        let RunId(run_id) = self.insert_running_run(org, &start).await?;

        let mut conn = SqliteConnection::connect_with(&self.connect_options).await?;
        // Staged rows go to a temporary file, not memory: a large org stages millions.
        sqlx::query("PRAGMA temp_store = FILE")
            .execute(&mut conn)
            .await?;
        // Bigger page caches for this connection only: staging inserts keys in random order
        // and the apply step maintains indexes of millions of rows.
        sqlx::query(AssertSqlSafe(format!(
            "PRAGMA main.cache_size = -{STAGING_MAIN_CACHE_KIB}"
        )))
        .execute(&mut conn)
        .await?;
        sqlx::query(AssertSqlSafe(format!(
            "PRAGMA temp.cache_size = -{STAGING_TEMP_CACHE_KIB}"
        )))
        .execute(&mut conn)
        .await?;
        for table in Table::ALL {
            sqlx::query(AssertSqlSafe(create_stage_sql(schema::spec(table))))
                .execute(&mut conn)
                .await?;
        }
        // Staging runs in one transaction on the TEMP database only (no lock on the mirror),
        // so that pages are not committed one by one.
        sqlx::query("BEGIN").execute(&mut conn).await?;
        let source = if start.kind == RunKind::Reconcile {
            ChangeSource::Reconcile
        } else {
            ChangeSource::Full
        };
        Ok(SqliteFullSyncSession {
            conn,
            pool: self.pool.clone(),
            org,
            run_id: RunId(run_id),
            source,
            checkpoints: BTreeMap::new(),
        })
    }

    /// Records a run as `running` (after marking runs of dead processes `interrupted`).
    async fn insert_running_run(&self, org: OrgId, start: &RunStart) -> Result<RunId> {
        self.mark_interrupted_runs(org).await?;
        let resources = serde_json::to_string(&start.resources)?;
        let run_id: i64 = sqlx::query_scalar(
            "INSERT INTO sync_runs (org_id, kind, resources, started_at, outcome, pid)
             VALUES (?, ?, ?, ?, ?, ?) RETURNING run_id",
        )
        .bind(org.0)
        .bind(start.kind.as_str())
        .bind(resources)
        .bind(timestamp(start.started_at))
        .bind(RunOutcome::Running.as_str())
        .bind(i64::from(std::process::id()))
        .fetch_one(&self.pool)
        .await?;
        Ok(RunId(run_id))
    }

    async fn apply_delta_tx(
        &self,
        org: OrgId,
        run: RunId,
        delta: &Delta,
        stats: &RunStats,
    ) -> Result<Changes> {
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        let mut writer = DeltaWriter {
            conn: &mut tx,
            run: RunContext {
                org,
                run,
                source: ChangeSource::Delta,
            },
            changes: Changes::new(),
        };
        writer.apply(delta).await?;
        let changes = writer.changes;
        write_checkpoints(&mut tx, org, Some(run), &delta.checkpoints, stats.ended_at).await?;
        record_end(
            &mut *tx,
            run,
            RunOutcome::Succeeded,
            None,
            stats,
            Some(&changes),
        )
        .await?;
        tx.commit().await?;
        Ok(changes)
    }

    /// Marks this process's `running` runs `interrupted`: for a process stopping on a signal,
    /// so that `status` does not show a run as running until the next sync.
    pub async fn mark_own_runs_interrupted(&self) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE sync_runs SET outcome = ?, error = ?, ended_at = COALESCE(ended_at, ?)
             WHERE outcome = ? AND pid = ?",
        )
        .bind(RunOutcome::Interrupted.as_str())
        .bind("interrupted (Ctrl-C or a termination signal); the mirror kept its previous state")
        .bind(timestamp(Utc::now()))
        .bind(RunOutcome::Running.as_str())
        .bind(i64::from(std::process::id()))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Marks `running` rows whose process is gone as `interrupted`. Only where `/proc` tells
    /// whether a process exists; elsewhere they stay `running`.
    async fn mark_interrupted_runs(&self, org: OrgId) -> Result<()> {
        if !Path::new("/proc/self").exists() {
            return Ok(());
        }
        let running: Vec<(i64, Option<i64>)> =
            sqlx::query_as("SELECT run_id, pid FROM sync_runs WHERE org_id = ? AND outcome = ?")
                .bind(org.0)
                .bind(RunOutcome::Running.as_str())
                .fetch_all(&self.pool)
                .await?;
        for (run_id, pid) in running {
            let alive = pid.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists());
            if !alive {
                sqlx::query(
                    "UPDATE sync_runs SET outcome = ?, error = ? WHERE run_id = ? AND outcome = ?",
                )
                .bind(RunOutcome::Interrupted.as_str())
                .bind("the process running this sync ended before it finished; the mirror kept its previous state")
                .bind(run_id)
                .bind(RunOutcome::Running.as_str())
                .execute(&self.pool)
                .await?;
            }
        }
        Ok(())
    }
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
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    MIGRATOR.run(&mut *tx).await?;
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

/// Okta's timestamp form, used for every time the store writes.
pub(crate) fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn sql_type(t: ColumnType) -> &'static str {
    match t {
        ColumnType::Text => "TEXT",
        ColumnType::Integer => "INTEGER",
    }
}

fn create_stage_sql(spec: &TableSpec) -> String {
    let columns: Vec<String> = spec
        .columns
        .iter()
        .map(|(name, t)| format!("{name} {}", sql_type(*t)))
        .collect();
    let key: Vec<&str> = spec.key().collect();
    format!(
        "CREATE TEMP TABLE stage_{} ({}, PRIMARY KEY ({}))",
        spec.name,
        columns.join(", "),
        key.join(", ")
    )
}

/// Stages a whole batch with one statement and one bound value: the rows as a JSON array of
/// arrays, unpacked by `json_each` (`->>` gives back each string exactly, numbers as numbers,
/// null as NULL). One cached statement per table instead of thousands of bound values.
fn insert_stage_sql(spec: &TableSpec) -> String {
    let columns: Vec<&str> = spec.column_names().collect();
    let values: Vec<String> = (0..columns.len())
        .map(|i| format!("value ->> {i}"))
        .collect();
    // `WHERE true` keeps SQLite from reading ON CONFLICT as part of the SELECT.
    format!(
        "INSERT INTO temp.stage_{} ({}) SELECT {} FROM json_each(?1) WHERE true ON CONFLICT DO NOTHING",
        spec.name,
        columns.join(", "),
        values.join(", ")
    )
}

fn rows_json(rows: Vec<Vec<Cell>>) -> Result<String> {
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|row| {
            Value::Array(
                row.into_iter()
                    .map(|cell| match cell {
                        Cell::Text(Some(s)) => Value::String(s),
                        Cell::Integer(Some(n)) => Value::from(n),
                        Cell::Text(None) | Cell::Integer(None) => Value::Null,
                    })
                    .collect(),
            )
        })
        .collect();
    Ok(serde_json::to_string(&rows)?)
}

/// `s.k1 = t.k1 AND s.k2 = t.k2`
fn key_match(spec: &TableSpec, left: &str, right: &str) -> String {
    spec.key()
        .map(|k| format!("{left}.{k} = {right}.{k}"))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The three statements that turn the mirror's rows of one table into the staged rows.
/// `?1` is the org id.
struct ApplySql {
    delete_gone: String,
    update_changed: Option<String>,
    insert_new: String,
}

fn apply_sql(spec: &TableSpec) -> ApplySql {
    let t = spec.name;
    let columns: Vec<&str> = spec.column_names().collect();
    let delete_gone = format!(
        "DELETE FROM {t} WHERE org_id = ?1 AND NOT EXISTS \
         (SELECT 1 FROM temp.stage_{t} s WHERE {})",
        key_match(spec, "s", t)
    );
    let update_changed = spec.has_raw.then(|| {
        let sets: Vec<String> = columns[spec.key_len..]
            .iter()
            .map(|c| format!("{c} = s.{c}"))
            .collect();
        format!(
            "UPDATE {t} SET {} FROM temp.stage_{t} s WHERE {t}.org_id = ?1 AND {} AND {t}.raw <> s.raw",
            sets.join(", "),
            key_match(spec, t, "s")
        )
    });
    let insert_new = format!(
        "INSERT INTO {t} (org_id, {}) SELECT ?1, {} FROM temp.stage_{t} s WHERE NOT EXISTS \
         (SELECT 1 FROM {t} m WHERE m.org_id = ?1 AND {})",
        columns.join(", "),
        columns
            .iter()
            .map(|c| format!("s.{c}"))
            .collect::<Vec<_>>()
            .join(", "),
        key_match(spec, "m", "s")
    );
    ApplySql {
        delete_gone,
        update_changed,
        insert_new,
    }
}

/// A full sync run staging into TEMP tables on its own connection.
pub struct SqliteFullSyncSession {
    conn: SqliteConnection,
    pool: SqlitePool,
    org: OrgId,
    run_id: RunId,
    source: ChangeSource,
    checkpoints: BTreeMap<String, String>,
}

impl SqliteFullSyncSession {
    async fn insert_rows(&mut self, spec: &TableSpec, rows: Vec<Vec<Cell>>) -> Result<()> {
        sqlx::query(AssertSqlSafe(insert_stage_sql(spec)))
            .bind(rows_json(rows)?)
            .execute(&mut self.conn)
            .await?;
        Ok(())
    }

    async fn apply(&mut self, tables: &[Table], stats: &RunStats) -> Result<Changes> {
        // End the staging transaction (TEMP only), then take the mirror's write lock.
        sqlx::query("COMMIT").execute(&mut self.conn).await?;
        let mut tx = self.conn.begin_with("BEGIN IMMEDIATE").await?;
        let mut changes = Changes::new();
        let run = RunContext {
            org: self.org,
            run: self.run_id,
            source: self.source,
        };
        for &table in tables {
            let began = std::time::Instant::now();
            changelog::record_full_sync_changes(&mut tx, run, schema::spec(table), stats.ended_at)
                .await?;
            let sql = apply_sql(schema::spec(table));
            let removed = sqlx::query(AssertSqlSafe(sql.delete_gone))
                .bind(self.org.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            let updated = match sql.update_changed {
                Some(update) => sqlx::query(AssertSqlSafe(update))
                    .bind(self.org.0)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected(),
                None => 0,
            };
            let added = sqlx::query(AssertSqlSafe(sql.insert_new))
                .bind(self.org.0)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            tracing::debug!(
                table = table.as_str(),
                added,
                updated,
                removed,
                seconds = began.elapsed().as_secs_f64(),
                "Applied the staged rows."
            );
            changes.insert(
                table.as_str().to_owned(),
                ChangeCounts {
                    added,
                    updated,
                    removed,
                },
            );
        }
        write_checkpoints(
            &mut tx,
            self.org,
            Some(self.run_id),
            &self.checkpoints,
            stats.ended_at,
        )
        .await?;
        record_end(
            &mut *tx,
            self.run_id,
            RunOutcome::Succeeded,
            None,
            stats,
            Some(&changes),
        )
        .await?;
        tx.commit().await?;
        Ok(changes)
    }
}

async fn record_end<'e, E>(
    executor: E,
    run_id: RunId,
    outcome: RunOutcome,
    error: Option<&str>,
    stats: &RunStats,
    changes: Option<&Changes>,
) -> Result<()>
where
    E: sqlx::Executor<'e, Database = sqlx::Sqlite>,
{
    let changes = changes.map(serde_json::to_string).transpose()?;
    sqlx::query(
        "UPDATE sync_runs SET ended_at = ?, outcome = ?, error = ?, counts = ?, changes = ?,
            api_calls = ?, fewest_calls = ?, calls_by_bucket = ?, http_429 = ?, retries = ?,
            rate_limit_wait_s = ?
         WHERE run_id = ?",
    )
    .bind(timestamp(stats.ended_at))
    .bind(outcome.as_str())
    .bind(error)
    .bind(serde_json::to_string(&stats.counts)?)
    .bind(changes)
    .bind(saturating_i64(stats.api_calls))
    .bind(saturating_i64(stats.fewest_calls))
    .bind(serde_json::to_string(&stats.calls_by_bucket)?)
    .bind(saturating_i64(stats.http_429))
    .bind(saturating_i64(stats.retries))
    .bind(stats.rate_limit_wait_s)
    .bind(run_id.0)
    .execute(executor)
    .await?;
    Ok(())
}

async fn write_checkpoints(
    conn: &mut SqliteConnection,
    org: OrgId,
    run: Option<RunId>,
    checkpoints: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Result<()> {
    for (name, value) in checkpoints {
        sqlx::query(
            "INSERT INTO checkpoints (org_id, name, value, run_id, updated_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (org_id, name) DO UPDATE SET value = excluded.value,
                run_id = excluded.run_id, updated_at = excluded.updated_at",
        )
        .bind(org.0)
        .bind(name)
        .bind(value)
        .bind(run.map(|r| r.0))
        .bind(timestamp(now))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

#[async_trait]
impl FullSyncSession for SqliteFullSyncSession {
    fn run_id(&self) -> RunId {
        self.run_id
    }

    fn set_checkpoint(&mut self, name: &str, value: String) {
        self.checkpoints.insert(name.to_owned(), value);
    }

    async fn stage(&mut self, batch: &Batch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let (table, rows) = schema::rows(batch)?;
        self.insert_rows(schema::spec(table), rows).await
    }

    async fn stage_all(&mut self, batches: &[Batch]) -> Result<()> {
        // One statement per table for the lot.
        let mut by_table: BTreeMap<Table, Vec<Vec<Cell>>> = BTreeMap::new();
        for batch in batches.iter().filter(|b| !b.is_empty()) {
            let (table, rows) = schema::rows(batch)?;
            by_table.entry(table).or_default().extend(rows);
        }
        for (table, rows) in by_table {
            self.insert_rows(schema::spec(table), rows).await?;
        }
        Ok(())
    }

    async fn commit(mut self: Box<Self>, tables: &[Table], stats: RunStats) -> Result<Changes> {
        match self.apply(tables, &stats).await {
            Ok(changes) => {
                // Closing drops the TEMP tables with their files.
                let _ = self.conn.close().await;
                Ok(changes)
            }
            Err(e) => {
                let message = format!("applying the run to the mirror failed: {e}");
                let pool = self.pool.clone();
                let run_id = self.run_id;
                drop(self); // rolls back whatever the transaction held
                record_end(
                    &pool,
                    run_id,
                    RunOutcome::Failed,
                    Some(&message),
                    &stats,
                    None,
                )
                .await?;
                Err(e)
            }
        }
    }

    async fn fail(self: Box<Self>, error: &str, stats: RunStats) -> Result<()> {
        let Self {
            conn, pool, run_id, ..
        } = *self;
        let _ = conn.close().await;
        record_end(&pool, run_id, RunOutcome::Failed, Some(error), &stats, None).await
    }
}

#[async_trait]
impl RunLog for SqliteStore {
    async fn begin_run(&self, org: OrgId, start: RunStart) -> Result<RunId> {
        self.insert_running_run(org, &start).await
    }

    async fn fail_run(&self, run: RunId, error: &str, stats: RunStats) -> Result<()> {
        record_end(
            &self.pool,
            run,
            RunOutcome::Failed,
            Some(error),
            &stats,
            None,
        )
        .await
    }

    async fn mark_own_runs_interrupted(&self) -> Result<u64> {
        SqliteStore::mark_own_runs_interrupted(self).await
    }
}

#[async_trait]
impl MirrorWriter for SqliteStore {
    async fn ensure_org(&self, org_url: &str, now: DateTime<Utc>) -> Result<OrgId> {
        sqlx::query(
            "INSERT INTO orgs (url, created_at) VALUES (?, ?) ON CONFLICT (url) DO NOTHING",
        )
        .bind(org_url)
        .bind(timestamp(now))
        .execute(&self.pool)
        .await?;
        self.find_org(org_url)
            .await?
            .ok_or_else(|| StoreError::UnknownOrg(org_url.to_owned()))
    }

    async fn begin_full_sync(
        &self,
        org: OrgId,
        start: RunStart,
    ) -> Result<Box<dyn FullSyncSession>> {
        Ok(Box::new(self.begin_full_sync_session(org, start).await?))
    }

    async fn checkpoint(&self, org: OrgId, name: &str) -> Result<Option<String>> {
        let row = sqlx::query("SELECT value FROM checkpoints WHERE org_id = ? AND name = ?")
            .bind(org.0)
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.get::<String, _>(0)))
    }

    async fn set_checkpoints(
        &self,
        org: OrgId,
        checkpoints: &BTreeMap<String, String>,
    ) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
        write_checkpoints(&mut tx, org, None, checkpoints, Utc::now()).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn apply_delta(
        &self,
        org: OrgId,
        run: RunId,
        delta: Delta,
        stats: RunStats,
    ) -> Result<Changes> {
        match self.apply_delta_tx(org, run, &delta, &stats).await {
            Ok(changes) => Ok(changes),
            Err(e) => {
                let message = format!("applying the run to the mirror failed: {e}");
                record_end(
                    &self.pool,
                    run,
                    RunOutcome::Failed,
                    Some(&message),
                    &stats,
                    None,
                )
                .await?;
                Err(e)
            }
        }
    }

    async fn keys(&self, org: OrgId, scope: &Scope) -> Result<Vec<RowKey>> {
        let mut conn = self.pool.acquire().await?;
        let table = scope.table();
        let spec = schema::spec(table);
        let rows = changelog::scope_rows(&mut conn, org, scope).await?;
        rows.into_iter()
            .map(|row| {
                let parts = row[..spec.key_len].iter().map(Cell::key_text).collect();
                RowKey::from_parts(table, parts).ok_or_else(|| {
                    StoreError::Internal(format!("a {} row with a malformed key", table.as_str()))
                })
            })
            .collect()
    }

    async fn watermarks(&self, org: OrgId) -> Result<Watermarks> {
        let (users_last_updated,): (Option<String>,) =
            sqlx::query_as("SELECT MAX(last_updated) FROM users WHERE org_id = ?")
                .bind(org.0)
                .fetch_one(&self.pool)
                .await?;
        let (groups_last_updated, groups_last_membership_updated): (
            Option<String>,
            Option<String>,
        ) = sqlx::query_as(
            "SELECT MAX(last_updated), MAX(last_membership_updated) FROM groups WHERE org_id = ?",
        )
        .bind(org.0)
        .fetch_one(&self.pool)
        .await?;
        Ok(Watermarks {
            users_last_updated,
            groups_last_updated,
            groups_last_membership_updated,
        })
    }
}

#[async_trait]
impl MirrorReader for SqliteStore {
    async fn orgs(&self) -> Result<Vec<(OrgId, String)>> {
        let rows: Vec<(i64, String)> =
            sqlx::query_as("SELECT org_id, url FROM orgs ORDER BY org_id")
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(id, url)| (OrgId(id), url)).collect())
    }

    async fn find_org(&self, org_url: &str) -> Result<Option<OrgId>> {
        let id: Option<i64> = sqlx::query_scalar("SELECT org_id FROM orgs WHERE url = ?")
            .bind(org_url)
            .fetch_optional(&self.pool)
            .await?;
        Ok(id.map(OrgId))
    }

    async fn users(&self, org: OrgId, filter: &UserFilter) -> Result<Vec<UserRow>> {
        query::users(self, org, filter).await
    }

    async fn user(&self, org: OrgId, id_or_login: &str) -> Result<Option<UserDetail>> {
        query::user(self, org, id_or_login).await
    }

    async fn users_by_id(&self, org: OrgId, ids: &[String]) -> Result<Vec<UserRow>> {
        query::users_by_id(self, org, ids).await
    }

    async fn groups(&self, org: OrgId) -> Result<Vec<GroupRow>> {
        query::groups(self, org).await
    }

    async fn group(&self, org: OrgId, id_or_name: &str) -> Result<Option<GroupDetail>> {
        query::group(self, org, id_or_name).await
    }

    async fn groups_by_id(&self, org: OrgId, ids: &[String]) -> Result<HashMap<String, UserGroup>> {
        query::groups_by_id(self, org, ids).await
    }

    async fn apps(&self, org: OrgId) -> Result<Vec<AppRow>> {
        query::apps(self, org).await
    }

    async fn app(&self, org: OrgId, id_or_label: &str) -> Result<Option<AppDetail>> {
        query::app(self, org, id_or_label).await
    }

    async fn app_labels(
        &self,
        org: OrgId,
        ids: &[String],
    ) -> Result<HashMap<String, Option<String>>> {
        query::app_labels(self, org, ids).await
    }

    async fn admins(&self, org: OrgId) -> Result<Vec<AdminRole>> {
        query::admins(self, org).await
    }

    async fn changes(&self, org: OrgId, query: &ChangeQuery) -> Result<Vec<ChangeRecord>> {
        crate::history::changes(&self.pool, org, query).await
    }

    async fn history_start(&self, org: OrgId) -> Result<Option<String>> {
        crate::history::history_start(&self.pool, org).await
    }

    async fn rows_at(
        &self,
        org: OrgId,
        table: Table,
        concern: Concern<'_>,
        at: DateTime<Utc>,
    ) -> Result<Vec<Value>> {
        crate::history::rows_at(&self.pool, org, table, concern, at).await
    }

    async fn export_json(&self, org: OrgId) -> Result<Value> {
        // One read transaction: the export is one snapshot even while a run commits.
        let mut tx = self.pool.begin().await?;
        let export = crate::export::export_json(&mut tx, org).await?;
        tx.commit().await?;
        Ok(export)
    }

    async fn table_rows(&self, org: OrgId, table: Table) -> Result<TableRows> {
        query::table_rows(self, org, table).await
    }

    async fn counts(&self, org: OrgId) -> Result<BTreeMap<String, u64>> {
        let mut tx = self.pool.begin().await?;
        let mut counts = BTreeMap::new();
        for table in Table::ALL {
            let sql = format!("SELECT COUNT(*) FROM {} WHERE org_id = ?", table.as_str());
            let n: i64 = sqlx::query_scalar(AssertSqlSafe(sql))
                .bind(org.0)
                .fetch_one(&mut *tx)
                .await?;
            counts.insert(table.as_str().to_owned(), u64::try_from(n).unwrap_or(0));
        }
        tx.commit().await?;
        Ok(counts)
    }

    async fn recent_runs(&self, org: OrgId, limit: u32) -> Result<Vec<SyncRunRecord>> {
        Ok(sqlx::query_as(
            "SELECT run_id, org_id, kind, resources, started_at, ended_at, outcome, error, counts,
                    changes, api_calls, fewest_calls, calls_by_bucket, http_429, retries,
                    rate_limit_wait_s
             FROM sync_runs WHERE org_id = ? ORDER BY run_id DESC LIMIT ?",
        )
        .bind(org.0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    async fn meta(&self, key: &str) -> Result<Option<String>> {
        SqliteStore::meta(self, key).await
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    async fn close(&self) {
        SqliteStore::close(self).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_sql_reads_as_expected() {
        let sql = apply_sql(&schema::GROUP_MEMBERS);
        assert_eq!(
            sql.delete_gone,
            "DELETE FROM group_members WHERE org_id = ?1 AND NOT EXISTS (SELECT 1 FROM temp.stage_group_members s WHERE s.group_id = group_members.group_id AND s.user_id = group_members.user_id)"
        );
        assert!(sql.update_changed.is_none());
        let users = apply_sql(&schema::USERS);
        assert!(
            users
                .update_changed
                .unwrap()
                .ends_with("WHERE users.org_id = ?1 AND users.id = s.id AND users.raw <> s.raw")
        );
        assert_eq!(
            insert_stage_sql(&schema::GROUP_MEMBERS),
            "INSERT INTO temp.stage_group_members (group_id, user_id) SELECT value ->> 0, value ->> 1 FROM json_each(?1) WHERE true ON CONFLICT DO NOTHING"
        );
        let json = rows_json(vec![vec![
            Cell::Text(Some("a\"b".into())),
            Cell::Integer(Some(3)),
            Cell::Text(None),
        ]])
        .unwrap();
        assert_eq!(json, r#"[["a\"b",3,null]]"#);
    }
}
