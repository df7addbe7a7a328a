//! The oktasync mirror: its schema, and the traits its backends implement.
//!
//! Two backends, one module each, the same behaviour: SQLite ([`SqliteStore`], the default:
//! one file, WAL, created owner-only) and PostgreSQL ([`PgStore`]: many orgs in one database,
//! several oktasync processes). Callers name neither: [`DbLocation::parse`] reads the `db`
//! setting, [`open_writer`] and [`open_reader`] open the mirror it names.
//!
//! The traits are split by capability: [`RunLog`] (run records), [`MirrorWriter`] (what a
//! sync writes) and [`MirrorReader`] (every read the CLI asks, as typed rows); [`Store`] is
//! all three. Nearly all SQL is written once (`sql.rs` says how) and run by the
//! backend-neutral [`Mirror`]; a backend provides connections, transactions, staging and its
//! dialect's few differences.
//!
//! Writing happens in runs. [`MirrorWriter::begin_full_sync`] records a `running` row in
//! `sync_runs` and returns a [`FullSyncSession`]; the engine stages batches of Okta objects
//! into it ([`Batch`]), then [`FullSyncSession::commit`] applies the difference between the
//! staged state and the mirror (insert new, update changed, delete gone) in one transaction,
//! together with the run's record. Readers see the previous mirror or the new one, never
//! part of a run; a run that fails or is killed leaves the previous mirror as it was.
//!
//! Several processes may sync into one mirror: a sync of one org is held by a lease
//! ([`RunLog::acquire_sync_lease`]); a holder that dies lets go within [`LEASE_TTL`].
//!
//! The schema is documented for people using `sqlite3` and `psql` in `SCHEMA.md`.

mod alerts;
pub mod as_of;
mod changelog;
mod copy;
mod delta;
mod error;
mod export;
mod feed;
mod fullsync;
mod grants;
pub mod history;
mod lease;
mod location;
mod log_events;
mod mirror;
mod pattern;
mod postgres;
mod posture;
mod push;
pub mod query;
mod reader;
mod roles;
mod runlog;
mod schema;
mod severity;
mod sql;
mod sqlite;
mod tables;
mod tokens;
mod types;

pub use alerts::{
    AlertQuery, Detections, LoggedEvent, MAX_ALERT_UUIDS, NewAlert, SavedAlert, StoredAlert,
};
pub use copy::{CopyReport, copy_mirror};
pub use delta::{
    Cause, ChangeQuery, ChangeRecord, ChangeSource, Delta, DeltaEntry, DeltaOp, RowKey, Scope,
    Watermarks,
};
pub use error::{Result, StoreError};
pub use feed::{FeedLog, FeedPosition};
pub use grants::{
    AuditEntry, AuditNote, Grant, GrantFilter, GrantState, GrantUpdate, GrantUser, GrantUserState,
    Grants, NewGrant,
};
pub use lease::{LEASE_RENEW_EVERY, LEASE_TTL, Lease};
pub use location::{DatabaseUrl, DbLocation, PgLocation};
pub use log_events::{LogQuery, LogStoreCounts, StoredLogEvent, SystemLogStore};
pub use mirror::{Mirror, default_org_name};
pub use pattern::{GroupPattern, glob_matches};
pub use postgres::{PG_POOL_CONNECTIONS, PgState, PgStore};
pub use posture::{
    CheckOutcome, PostureRecord, PostureRun, PostureStore, QueryValue, StoredFinding,
};
pub use push::{PushRunRecord, PushSourceUser, PushStates, PushedUser};
pub use reader::{MirrorReader, TableRows};
pub use roles::{RoleFilter, RoleSpec, Roles, RolesApplied, UserRole};
pub use schema::canonical_raw;
pub use severity::{Severity, UnknownSeverity};
pub use sqlite::{APPLICATION_ID, FileState, SqliteStore, StoreOptions};
pub use tokens::{ApiToken, ApiTokens, TokenScope};
pub use types::{
    AssigneeType, Batch, ChangeCounts, Changes, OrgId, OrgRecord, RunId, RunKind, RunOutcome,
    RunStart, RunStats, SyncRunRecord, Table, UnknownRunValue, timestamp,
};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// The record of runs: each run is a `sync_runs` row, `running` from its start until it
/// ends `succeeded` (written with its data, by [`MirrorWriter`]), `failed` or `interrupted`.
/// The runs themselves are read with [`MirrorReader::recent_runs`].
#[async_trait]
pub trait RunLog: Send + Sync {
    /// Records an incremental run as `running` (full syncs use
    /// [`MirrorWriter::begin_full_sync`]). The org's `running` runs whose holder is gone (their
    /// lease expired; without a lease, their process gone from this machine) are marked
    /// `interrupted` first.
    async fn begin_run(&self, org: OrgId, start: RunStart) -> Result<RunId>;

    /// Records a run begun with `begin_run` as `failed`.
    async fn fail_run(&self, run: RunId, error: &str, stats: RunStats) -> Result<()>;

    /// Marks this process's `running` runs `interrupted`: for a process stopping on a signal,
    /// so that `status` does not show a run as running until the next sync. Returns how many.
    async fn mark_own_runs_interrupted(&self) -> Result<u64>;

    /// Takes the lease on syncing `org` (one process at a time syncs an org), or fails with
    /// [`StoreError::LeaseHeld`] naming its holder. Keep it with [`Lease::renew`] or
    /// [`Lease::renew_in_background`] while the run lives, and [`Lease::release`] it after.
    /// A holder that dies lets go within [`LEASE_TTL`]; the runs it left `running` are then
    /// marked `interrupted`.
    async fn acquire_sync_lease(&self, org: OrgId, now: DateTime<Utc>) -> Result<Lease>;
}

/// What a sync writes: orgs, full-sync sessions, deltas, checkpoints, and the few reads the
/// engine needs to plan them.
#[async_trait]
pub trait MirrorWriter: Send + Sync {
    /// The org with this URL, created if the mirror has none yet (named after the first
    /// label of its host, `acme` for `https://acme.okta.com`, or `acme-2` when taken).
    async fn ensure_org(&self, org_url: &str, now: DateTime<Utc>) -> Result<OrgId>;

    /// Renames an org (the `org_name` setting). Names are unique in the mirror: letters,
    /// digits, `-` and `_`, stored in lower case.
    async fn set_org_name(&self, org: OrgId, name: &str) -> Result<()>;

    /// Starts a full sync run: records it as `running` and returns the session that stages
    /// its data. The org's `running` runs whose holder is gone are marked `interrupted` first
    /// (as [`RunLog::begin_run`] does).
    async fn begin_full_sync(
        &self,
        org: OrgId,
        start: RunStart,
    ) -> Result<Box<dyn FullSyncSession>>;

    /// A named checkpoint of one org (e.g. the System Log `next` link).
    async fn checkpoint(&self, org: OrgId, name: &str) -> Result<Option<String>>;

    /// Writes checkpoints without a run (watch: an empty poll still moves the `next` link).
    async fn set_checkpoints(
        &self,
        org: OrgId,
        checkpoints: &BTreeMap<String, String>,
    ) -> Result<()>;

    /// Applies a delta in order, its checkpoints, its change-log rows and the run's end
    /// (`succeeded`) in one transaction. On error nothing is applied and the run is recorded
    /// as `failed`.
    async fn apply_delta(
        &self,
        org: OrgId,
        run: RunId,
        delta: Delta,
        stats: RunStats,
    ) -> Result<Changes>;

    /// The keys of the mirror's rows within a scope, in key order.
    async fn keys(&self, org: OrgId, scope: &Scope) -> Result<Vec<RowKey>>;

    /// The newest Okta timestamps the mirror holds, for `lastUpdated` filters.
    async fn watermarks(&self, org: OrgId) -> Result<Watermarks>;
}

/// A mirror backend with every capability: what the engine writes and records (the System
/// Log it keeps included), and everything a reader asks. Implemented for every type that has
/// them all.
pub trait Store: MirrorReader + MirrorWriter + RunLog + SystemLogStore {}

impl<T: MirrorReader + MirrorWriter + RunLog + SystemLogStore + ?Sized> Store for T {}

/// Opens the mirror at `location` for a sync: creates it (a SQLite file owner-only, or the
/// tables in an empty PostgreSQL database) if there is none, brings its schema up to date,
/// and refuses, unchanged, a file or database that is not an oktasync mirror.
pub async fn open_writer(location: &DbLocation) -> Result<Mirror> {
    Ok(match location {
        DbLocation::Sqlite(path) => SqliteStore::open(path).await?.into_mirror(),
        DbLocation::Postgres(pg) => PgStore::open(pg).await?.into_mirror(),
    })
}

/// Opens an existing mirror for reading only: nothing is created, migrated or written, and
/// anything that is not a mirror of this schema is refused (the errors say what to run).
pub async fn open_reader(location: &DbLocation) -> Result<Box<dyn MirrorReader>> {
    Ok(match location {
        DbLocation::Sqlite(path) => Box::new(SqliteStore::open_read_only(path).await?),
        DbLocation::Postgres(pg) => Box::new(PgStore::open_read_only(pg).await?),
    })
}

/// One run's staging area. Dropping it without `commit` or `fail` discards the staged data
/// and leaves the run `running` (the next run marks it `interrupted`).
#[async_trait]
pub trait FullSyncSession: Send {
    fn run_id(&self) -> RunId;

    /// Stages a batch. Objects staged twice (same key) keep the first copy.
    async fn stage(&mut self, batch: &Batch) -> Result<()>;

    /// Sets a checkpoint to write in the commit's transaction (e.g. the System Log `next`
    /// link read before the run's listings began).
    fn set_checkpoint(&mut self, name: &str, value: String);

    /// Stages several batches; backends may write them in fewer round trips.
    async fn stage_all(&mut self, batches: &[Batch]) -> Result<()> {
        for batch in batches {
            self.stage(batch).await?;
        }
        Ok(())
    }

    /// Replaces the mirror's rows of `tables` with what was staged for them, and records the
    /// run as `succeeded`, in one transaction. Tables not listed are left untouched. On error
    /// nothing is applied, the run is recorded as `failed`, and the error is returned.
    async fn commit(self: Box<Self>, tables: &[Table], stats: RunStats) -> Result<Changes>;

    /// Discards the staged data and records the run as `failed` with this message.
    async fn fail(self: Box<Self>, error: &str, stats: RunStats) -> Result<()>;
}
