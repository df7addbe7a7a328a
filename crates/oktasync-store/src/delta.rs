//! Incremental changes to the mirror, and the change log they leave.
//!
//! A full sync replaces whole tables ([`crate::FullSyncSession`]); an incremental run instead
//! hands the store a [`Delta`]: an ordered list of operations, each with the Okta event (if
//! any) that caused it. [`crate::Store::apply_delta`] applies them in order, in one
//! transaction together with the run's record and its checkpoints, and writes one change-log
//! row per row it actually changed. Operations are idempotent: applying a delta twice changes
//! nothing the second time.

use crate::types::{Batch, Table};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Where a change-log row came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeSource {
    /// A full sync of a mirror that already had data (not the first one, which is the
    /// baseline and writes no per-row changes).
    Full,
    /// An incremental run (System Log events, targeted re-reads, `lastUpdated` filters).
    Delta,
    /// A full sync run to check an incrementally kept mirror (`sync --full` on an existing
    /// mirror, or watch's `--reconcile-every`): what it changes is drift.
    Reconcile,
}

impl ChangeSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeSource::Full => "full",
            ChangeSource::Delta => "delta",
            ChangeSource::Reconcile => "reconcile",
        }
    }
}

/// Why an operation happened: when, and the Okta event that caused it, if one did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cause {
    /// The event's `published` time, or when the object was read for re-reads and filters.
    pub at: DateTime<Utc>,
    pub event_uuid: Option<String>,
    /// Who acted, as the event names them: `alternateId (type)`.
    pub actor: Option<String>,
}

impl Cause {
    pub fn event(at: DateTime<Utc>, uuid: impl Into<String>) -> Self {
        Self {
            at,
            event_uuid: Some(uuid.into()),
            actor: None,
        }
    }

    pub fn read_at(at: DateTime<Utc>) -> Self {
        Self {
            at,
            event_uuid: None,
            actor: None,
        }
    }

    /// The same cause, naming who acted.
    pub fn by(self, actor: Option<String>) -> Self {
        Self { actor, ..self }
    }
}

/// The rows of one table whose columns equal the given values (all conditions must hold).
/// With every key column given, it names at most one row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub table: Table,
    /// (column, value) pairs; columns are the table's SQL column names.
    pub filters: Vec<(&'static str, String)>,
}

impl Scope {
    pub fn new(table: Table, filters: Vec<(&'static str, String)>) -> Self {
        Self { table, filters }
    }

    /// One user, group, app or IdP by id.
    pub fn object(table: Table, id: impl Into<String>) -> Self {
        Self::new(table, vec![("id", id.into())])
    }

    pub fn membership(group_id: impl Into<String>, user_id: impl Into<String>) -> Self {
        Self::new(
            Table::GroupMembers,
            vec![("group_id", group_id.into()), ("user_id", user_id.into())],
        )
    }

    /// Every row of `table` whose `column` is `value`, e.g. (group_members, user_id, U).
    pub fn by(table: Table, column: &'static str, value: impl Into<String>) -> Self {
        Self::new(table, vec![(column, value.into())])
    }
}

/// One change to the mirror.
#[derive(Debug, Clone)]
pub enum DeltaOp {
    /// Inserts the batch's rows that are missing and updates those whose raw JSON differs.
    Upsert(Batch),
    /// Makes the rows within `scope` exactly the batch's rows (upserts them, removes the
    /// others). The batch's table must be the scope's.
    Replace { scope: Scope, batch: Batch },
    /// Removes every row within the scope.
    Remove(Scope),
}

/// An operation and its cause.
#[derive(Debug, Clone)]
pub struct DeltaEntry {
    pub op: DeltaOp,
    pub cause: Cause,
}

/// What one incremental run applies, in order, in one transaction.
#[derive(Debug, Clone, Default)]
pub struct Delta {
    pub entries: Vec<DeltaEntry>,
    /// Checkpoints written in the same transaction (e.g. the System Log `next` link).
    pub checkpoints: BTreeMap<String, String>,
}

impl Delta {
    pub fn push(&mut self, op: DeltaOp, cause: Cause) {
        self.entries.push(DeltaEntry { op, cause });
    }
}

/// Filters for [`crate::Store::changes`].
#[derive(Debug, Clone, Default)]
pub struct ChangeQuery {
    /// Only changes at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only changes that concern this user id (their row, memberships, app access, roles).
    pub user_id: Option<String>,
    /// Only changes that concern this group id.
    pub group_id: Option<String>,
    /// At most this many (the newest); all when `None`.
    pub limit: Option<u32>,
}

/// One row of the change log (`changes` table).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeRecord {
    pub change_id: i64,
    pub run_id: i64,
    /// When the change happened in Okta (the event's `published`), or when it was observed.
    pub at: String,
    /// `full`, `delta` or `reconcile`.
    pub source: String,
    /// The table: `users`, `groups`, `group_members`, `apps`, `app_users`, ...
    pub entity: String,
    /// The row's key, its key columns joined by `/` (e.g. `00g1/00u2` for a membership).
    pub entity_id: String,
    /// `add`, `update` or `remove`.
    pub op: String,
    pub user_id: Option<String>,
    pub group_id: Option<String>,
    pub app_id: Option<String>,
    /// Dotted paths into the Okta JSON that changed (`status`, `profile.department`); for add
    /// and remove, empty.
    pub changed_fields: Vec<String>,
    /// Updates: the changed fields' old values by path. Removes: the row's columns.
    pub old: Value,
    /// Updates: the changed fields' new values by path. Adds: the row's columns.
    pub new: Value,
    pub event_uuid: Option<String>,
    /// Who made the change in Okta, where an event says so: `alternateId (type)`.
    pub actor: Option<String>,
    /// The login of `user_id`, the name of `group_id`, the label of `app_id`, as the mirror
    /// has them now (for a row that is gone, as the change recorded them).
    pub user_login: Option<String>,
    pub group_name: Option<String>,
    pub app_label: Option<String>,
}

/// Server-side high-water marks read from the mirror (Okta's own timestamps, never the local
/// clock), for `lastUpdated` filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Watermarks {
    pub users_last_updated: Option<String>,
    pub groups_last_updated: Option<String>,
    pub groups_last_membership_updated: Option<String>,
}
