//! The PostgreSQL backend: many orgs in one database, many oktasync processes writing it.
//! What is PostgreSQL's own lives here and in `postgres/`: telling a mirror from another
//! program's database before changing anything, migrations (`migrations/postgres`), the
//! isolation and locks of its transactions, running statements ([`sql`]: the dialect), and
//! staging a full sync with `COPY` ([`staging`]). Everything else is the backend-neutral
//! [`Mirror`].
//!
//! Writes of one org take a transaction-scoped advisory lock on that org
//! (`pg_advisory_xact_lock`), so runs of the same org apply one after the other while runs of
//! different orgs proceed in parallel: every mirrored row is keyed by its org, so they never
//! touch the same rows. Reads that span several statements run in a `REPEATABLE READ`
//! transaction: one snapshot, the previous mirror or the new one.
//!
//! Connections are plain TCP or Unix sockets: this build has no TLS (`sslmode=require` is
//! refused with sqlx's message), so reach a remote server through a tunnel or a private
//! network.

mod sql;
mod staging;

use crate::error::{Result, StoreError};
use crate::fullsync::Staging;
use crate::location::PgLocation;
use crate::mirror::{Backend, Mirror, forward_store_traits};
use crate::sql::{Sql, Tx, args};
use crate::types::OrgId;
use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, Row};
use std::collections::BTreeMap;

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Pooled connections for reads and small writes; each full sync stages on one of its own.
pub const PG_POOL_CONNECTIONS: u32 = 4;

/// The high 32 bits of every advisory lock key oktasync takes ("oksy"), so that its locks
/// do not collide with another program's in the same database.
const LOCK_CLASS: i64 = 0x6F6B_7379;

/// The advisory lock serializing writes of one org, or (without an org) of the tables every
/// org shares (`orgs`).
pub(crate) fn lock_key(org: Option<OrgId>) -> i64 {
    (LOCK_CLASS << 32) | org.map_or(0, |o| o.0 & 0xFFFF_FFFF)
}

/// What a PostgreSQL database given as a mirror holds, found out without changing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PgState {
    /// No tables in its schema: a sync may create the mirror there.
    Empty,
    Mirror,
    /// A mirror of an older oktasync: a sync brings it up to date.
    Older,
    Newer {
        version: i64,
    },
    /// Another program's tables; the text says which.
    Foreign(String),
}

/// A mirror in a PostgreSQL database.
#[derive(Clone)]
pub struct PgStore {
    mirror: Mirror,
    pool: PgPool,
    location: String,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("location", &self.location)
            .finish_non_exhaustive()
    }
}

forward_store_traits!(PgStore);

struct PgBackend {
    pool: PgPool,
    connect_options: PgConnectOptions,
    location: String,
}

#[async_trait]
impl Backend for PgBackend {
    async fn conn(&self) -> Result<Box<dyn Sql>> {
        Ok(Box::new(self.pool.acquire().await?))
    }

    async fn read(&self) -> Result<Box<dyn Tx>> {
        Ok(Box::new(
            self.pool
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await?,
        ))
    }

    async fn write(&self, org: Option<OrgId>) -> Result<Box<dyn Tx>> {
        let mut tx = self.pool.begin().await?;
        Sql::execute(
            &mut *tx,
            "SELECT pg_advisory_xact_lock($1)",
            args![lock_key(org)],
        )
        .await?;
        Ok(Box::new(tx))
    }

    async fn staging(&self) -> Result<Box<dyn Staging>> {
        Ok(Box::new(
            staging::PgStaging::open(&self.connect_options).await?,
        ))
    }

    fn location(&self) -> String {
        self.location.clone()
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

fn connect_options(pg: &PgLocation) -> Result<PgConnectOptions> {
    let mut options =
        PgConnectOptions::from_url(pg.url.expose()).map_err(|e| StoreError::BadDbUrl {
            reason: e.to_string(),
        })?;
    if let Some(password) = pg.url.password_or(pg.password.as_ref()) {
        options = options.password(&password);
    }
    Ok(options.application_name("oktasync"))
}

impl PgStore {
    /// Opens the mirror in this database for writing: creates its tables in an empty database
    /// (its current schema), brings an older mirror's up to date. A database holding another
    /// program's tables is refused unchanged.
    pub async fn open(pg: &PgLocation) -> Result<Self> {
        let location = pg.url.to_string();
        let options = connect_options(pg)?;
        let mut conn = connect(&options, &location).await?;
        check_encoding(&mut conn, &location).await?;
        match inspect_conn(&mut conn).await? {
            PgState::Empty | PgState::Older | PgState::Mirror => {}
            refused => return Err(refuse(&location, refused)),
        }
        // sqlx holds an advisory lock while it migrates: processes opening a new database at
        // once take turns, and the later ones find the schema in place.
        MIGRATOR.run_direct(None, &mut conn, false).await?;
        let _ = conn.close().await;
        let store = Self::with_pool(options, location, false).await?;
        store.mirror.name_unnamed_orgs().await?;
        Ok(store)
    }

    /// Opens an existing mirror for reading only: nothing is created, migrated or written
    /// (every transaction is read-only), and a database that is not a mirror of this schema
    /// is refused.
    pub async fn open_read_only(pg: &PgLocation) -> Result<Self> {
        let location = pg.url.to_string();
        let options = connect_options(pg)?;
        let mut conn = connect(&options, &location).await?;
        let state = inspect_conn(&mut conn).await?;
        let _ = conn.close().await;
        match state {
            PgState::Mirror => {}
            refused => return Err(refuse(&location, refused)),
        }
        Self::with_pool(options, location, true).await
    }

    /// What the database holds, found out without writing to it.
    pub async fn inspect(pg: &PgLocation) -> Result<PgState> {
        let location = pg.url.to_string();
        let mut conn = connect(&connect_options(pg)?, &location).await?;
        let state = inspect_conn(&mut conn).await?;
        let _ = conn.close().await;
        Ok(state)
    }

    async fn with_pool(
        options: PgConnectOptions,
        location: String,
        read_only: bool,
    ) -> Result<Self> {
        let pool_options = if read_only {
            options
                .clone()
                .options([("default_transaction_read_only", "on")])
        } else {
            options.clone()
        };
        let pool = PgPoolOptions::new()
            .max_connections(PG_POOL_CONNECTIONS)
            .connect_with(pool_options)
            .await
            .map_err(|cause| StoreError::PgConnect {
                location: location.clone(),
                cause,
            })?;
        let backend = PgBackend {
            pool: pool.clone(),
            connect_options: options,
            location: location.clone(),
        };
        Ok(Self {
            mirror: Mirror::new(backend),
            pool,
            location,
        })
    }

    /// The connection pool, for PostgreSQL-specific checks and tests.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn meta(&self, key: &str) -> Result<Option<String>> {
        self.mirror.meta(key).await
    }

    pub async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.mirror.set_meta(key, value).await
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// The backend-neutral handle on this mirror.
    pub fn into_mirror(self) -> Mirror {
        self.mirror
    }
}

async fn connect(options: &PgConnectOptions, location: &str) -> Result<PgConnection> {
    PgConnection::connect_with(options)
        .await
        .map_err(|cause| StoreError::PgConnect {
            location: location.to_owned(),
            cause,
        })
}

async fn check_encoding(conn: &mut PgConnection, location: &str) -> Result<()> {
    let encoding: String = sqlx::query_scalar("SHOW server_encoding")
        .fetch_one(&mut *conn)
        .await?;
    if encoding.eq_ignore_ascii_case("UTF8") {
        Ok(())
    } else {
        Err(StoreError::PgEncoding {
            location: location.to_owned(),
            encoding,
        })
    }
}

async fn inspect_conn(conn: &mut PgConnection) -> Result<PgState> {
    let tables: Vec<String> = sqlx::query_scalar(
        "SELECT table_name::text FROM information_schema.tables
         WHERE table_schema = current_schema() ORDER BY table_name",
    )
    .fetch_all(&mut *conn)
    .await?;
    if tables.is_empty() {
        return Ok(PgState::Empty);
    }
    let foreign = || PgState::Foreign(format!("the tables {}", preview(&tables)));
    // Another process creating the mirror has made sqlx's table and not yet committed its
    // first migration (which makes every other table at once): nothing there yet.
    if tables == ["_sqlx_migrations"] {
        let applied: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM _sqlx_migrations")
            .fetch_one(&mut *conn)
            .await?;
        if applied == 0 {
            return Ok(PgState::Empty);
        }
    }
    if !["mirror_meta", "_sqlx_migrations"]
        .iter()
        .all(|t| tables.iter().any(|have| have == t))
    {
        return Ok(foreign());
    }
    let application: Option<String> =
        sqlx::query_scalar("SELECT value FROM mirror_meta WHERE key = 'application'")
            .fetch_optional(&mut *conn)
            .await?;
    if application.as_deref() != Some("oktasync") {
        return Ok(foreign());
    }
    let applied: BTreeMap<i64, Vec<u8>> =
        sqlx::query("SELECT version, checksum FROM _sqlx_migrations WHERE success")
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(|r| Ok((r.try_get::<i64, _>(0)?, r.try_get::<Vec<u8>, _>(1)?)))
            .collect::<std::result::Result<_, sqlx::Error>>()?;
    let ours: BTreeMap<i64, &[u8]> = MIGRATOR
        .iter()
        .map(|m| (m.version, m.checksum.as_ref()))
        .collect();
    if let Some(version) = applied.keys().find(|v| !ours.contains_key(v)) {
        return Ok(PgState::Newer { version: *version });
    }
    if let Some((version, checksum)) = ours.iter().next()
        && applied.get(version).map(Vec::as_slice) != Some(*checksum)
    {
        return Ok(foreign());
    }
    if ours.keys().any(|v| !applied.contains_key(v)) {
        return Ok(PgState::Older);
    }
    Ok(PgState::Mirror)
}

/// A few table names, for a message that says what a foreign database holds.
fn preview(tables: &[String]) -> String {
    let mut shown: Vec<&str> = tables.iter().take(4).map(String::as_str).collect();
    if tables.len() > shown.len() {
        shown.push("...");
    }
    shown.join(", ")
}

fn refuse(location: &str, state: PgState) -> StoreError {
    let location = location.to_owned();
    match state {
        PgState::Empty => StoreError::PgNoMirror { location },
        PgState::Foreign(what) => StoreError::PgNotAMirror { location, what },
        PgState::Older => StoreError::PgOlderMirror { location },
        PgState::Newer { version } => StoreError::PgNewerMirror { location, version },
        PgState::Mirror => StoreError::Internal("a readable mirror was refused".into()),
    }
}
