//! Incremental changes to the mirror, and the change log they leave.
//!
//! A full sync replaces whole tables ([`crate::FullSyncSession`]); an incremental run instead
//! hands the store a [`Delta`]: an ordered list of operations, each with the Okta event (if
//! any) that caused it. [`crate::MirrorWriter::apply_delta`] applies them in order, in one
//! transaction together with the run's record and its checkpoints, and writes one change-log
//! row per row it actually changed. Operations are idempotent: applying a delta twice changes
//! nothing the second time.

use crate::schema::{self, KeyRef};
use crate::types::{AssigneeType, Batch, Table};
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
    /// The `X-Okta-Request-Id` of the API request that made the change, as the event names
    /// it: ties a change to the write (a grant's) that caused it.
    pub request_id: Option<String>,
}

impl Cause {
    pub fn event(at: DateTime<Utc>, uuid: impl Into<String>) -> Self {
        Self {
            at,
            event_uuid: Some(uuid.into()),
            actor: None,
            request_id: None,
        }
    }

    pub fn read_at(at: DateTime<Utc>) -> Self {
        Self {
            at,
            event_uuid: None,
            actor: None,
            request_id: None,
        }
    }

    /// The same cause, naming who acted.
    pub fn by(self, actor: Option<String>) -> Self {
        Self { actor, ..self }
    }

    /// The same cause, naming the API request that made the change.
    pub fn request(self, request_id: Option<String>) -> Self {
        Self { request_id, ..self }
    }
}

/// The rows of one table whose columns equal the given values (all conditions must hold).
/// Built only by the constructors below (and those a table's `tables/` file adds), one per
/// question the engine asks, so that a scope always names columns its table has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    table: Table,
    /// (column, value) pairs; columns are the table's SQL column names.
    filters: Vec<(&'static str, String)>,
}

impl Scope {
    /// The rows matching every (column, value); a table's own constructors (below, or in
    /// its `tables/` file) are the only callers, so that a scope names columns its table has.
    pub(crate) fn new(table: Table, filters: Vec<(&'static str, String)>) -> Self {
        Self { table, filters }
    }

    /// The rows whose `column` equals `value`.
    pub(crate) fn by(table: Table, column: &'static str, value: impl Into<String>) -> Self {
        Self::new(table, vec![(column, value.into())])
    }

    /// The table whose rows the scope selects.
    pub fn table(&self) -> Table {
        self.table
    }

    /// (column, value) conditions, all of which hold for the rows selected.
    pub fn filters(&self) -> &[(&'static str, String)] {
        &self.filters
    }

    /// Every row of `table`.
    pub fn all(table: Table) -> Self {
        Self::new(table, Vec::new())
    }

    /// One user by id.
    pub fn user(id: impl Into<String>) -> Self {
        Self::by(Table::Users, "id", id)
    }

    /// One group by id.
    pub fn group(id: impl Into<String>) -> Self {
        Self::by(Table::Groups, "id", id)
    }

    /// The groups of one type (`OKTA_GROUP`, `APP_GROUP`, `BUILT_IN`).
    pub fn groups_of_type(group_type: impl Into<String>) -> Self {
        Self::by(Table::Groups, "type", group_type)
    }

    /// One app by id.
    pub fn app(id: impl Into<String>) -> Self {
        Self::by(Table::Apps, "id", id)
    }

    /// One identity provider by id.
    pub fn idp(id: impl Into<String>) -> Self {
        Self::by(Table::Idps, "id", id)
    }

    /// One membership.
    pub fn membership(group_id: impl Into<String>, user_id: impl Into<String>) -> Self {
        Self::new(
            Table::GroupMembers,
            vec![("group_id", group_id.into()), ("user_id", user_id.into())],
        )
    }

    /// The memberships of one group (its members).
    pub fn members_of_group(group_id: impl Into<String>) -> Self {
        Self::by(Table::GroupMembers, "group_id", group_id)
    }

    /// The memberships of one user (their groups).
    pub fn groups_of_user(user_id: impl Into<String>) -> Self {
        Self::by(Table::GroupMembers, "user_id", user_id)
    }

    /// One user's assignment to one app.
    pub fn app_user(app_id: impl Into<String>, user_id: impl Into<String>) -> Self {
        Self::new(
            Table::AppUsers,
            vec![("app_id", app_id.into()), ("user_id", user_id.into())],
        )
    }

    /// The users assigned to one app.
    pub fn users_of_app(app_id: impl Into<String>) -> Self {
        Self::by(Table::AppUsers, "app_id", app_id)
    }

    /// One user's app assignments.
    pub fn apps_of_user(user_id: impl Into<String>) -> Self {
        Self::by(Table::AppUsers, "user_id", user_id)
    }

    /// One group's assignment to one app.
    pub fn app_group(app_id: impl Into<String>, group_id: impl Into<String>) -> Self {
        Self::new(
            Table::AppGroups,
            vec![("app_id", app_id.into()), ("group_id", group_id.into())],
        )
    }

    /// The groups assigned to one app.
    pub fn groups_of_app(app_id: impl Into<String>) -> Self {
        Self::by(Table::AppGroups, "app_id", app_id)
    }

    /// One group's app assignments.
    pub fn apps_of_group(group_id: impl Into<String>) -> Self {
        Self::by(Table::AppGroups, "group_id", group_id)
    }

    /// The role assignments held by one user (directly) or one group.
    pub fn roles_of(assignee_type: AssigneeType, assignee_id: impl Into<String>) -> Self {
        Self::new(
            Table::RoleAssignments,
            vec![
                ("assignee_type", assignee_type.as_str().to_owned()),
                ("assignee_id", assignee_id.into()),
            ],
        )
    }

    /// Every role assignment held by users (directly), or every one held by groups.
    pub fn roles_held_by(assignee_type: AssigneeType) -> Self {
        Self::by(
            Table::RoleAssignments,
            "assignee_type",
            assignee_type.as_str(),
        )
    }

    /// One user's factors.
    pub fn factors_of(user_id: impl Into<String>) -> Self {
        Self::by(Table::Factors, "user_id", user_id)
    }

    /// The one row with this key (cells in key order).
    pub(crate) fn key(table: Table, key: Vec<(&'static str, String)>) -> Self {
        Self::new(table, key)
    }
}

/// The key of one mirror row, as [`crate::MirrorWriter::keys`] returns it: its table and its
/// key columns' values, in key order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RowKey {
    table: Table,
    parts: Vec<String>,
}

impl RowKey {
    /// The key of a row of `table` from its key columns' values, in key order; `None` when
    /// there are not as many as the table's key has.
    pub fn new(table: Table, parts: impl IntoIterator<Item = impl Into<String>>) -> Option<Self> {
        let parts: Vec<String> = parts.into_iter().map(Into::into).collect();
        (parts.len() == schema::spec(table).key_len).then_some(Self { table, parts })
    }

    pub fn table(&self) -> Table {
        self.table
    }

    /// The key columns' values, in key order.
    pub fn parts(&self) -> &[String] {
        &self.parts
    }

    fn concern(&self, which: Option<KeyRef>) -> Option<&str> {
        which?.of(&self.parts)
    }

    /// The user the row is or concerns: a user's id, a membership's, app assignment's or
    /// factor's user, a role assignment's assignee when it is a user.
    pub fn user_id(&self) -> Option<&str> {
        self.concern(schema::spec(self.table).concerns.user)
    }

    /// The group the row is or concerns: a group's id, a membership's or app assignment's
    /// group, a role assignment's assignee when it is a group.
    pub fn group_id(&self) -> Option<&str> {
        self.concern(schema::spec(self.table).concerns.group)
    }

    /// The app the row is or concerns.
    pub fn app_id(&self) -> Option<&str> {
        self.concern(schema::spec(self.table).concerns.app)
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
    /// The System Log events the run read, kept (`log_events`, once per uuid) in the same
    /// transaction.
    pub log_events: Vec<Value>,
    /// Kept events published before this are pruned in the same transaction (the retention);
    /// `None` prunes nothing.
    pub log_keep_after: Option<DateTime<Utc>>,
}

impl Delta {
    pub fn push(&mut self, op: DeltaOp, cause: Cause) {
        self.entries.push(DeltaEntry { op, cause });
    }
}

/// Filters for [`crate::MirrorReader::changes`].
#[derive(Debug, Clone, Default)]
pub struct ChangeQuery {
    /// Only changes at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only changes that concern this user id (their row, memberships, app access, roles).
    pub user_id: Option<String>,
    /// Only changes that concern this group id.
    pub group_id: Option<String>,
    /// At most this many (the newest, or with `after` the oldest after it); all when `None`.
    pub limit: Option<u32>,
    /// Only changes after this change id, and then the oldest first: how a feed is paged.
    pub after: Option<i64>,
    /// Only changes of this entity (`group_members`, `grants`, ...).
    pub entity: Option<String>,
}

/// One row of the change log (`changes` table).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// The `X-Okta-Request-Id` of the request that made the change, where the event says so
    /// (for `grants` records, of the call the grant made).
    pub okta_request_id: Option<String>,
    /// The grant whose call made this change (a membership a grant added or removed), or
    /// the grant a `grants` record is about.
    pub grant_id: Option<i64>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_name_columns_of_their_table() {
        let scopes = [
            Scope::user("u"),
            Scope::group("g"),
            Scope::groups_of_type("BUILT_IN"),
            Scope::app("a"),
            Scope::idp("i"),
            Scope::membership("g", "u"),
            Scope::members_of_group("g"),
            Scope::groups_of_user("u"),
            Scope::app_user("a", "u"),
            Scope::users_of_app("a"),
            Scope::apps_of_user("u"),
            Scope::app_group("a", "g"),
            Scope::groups_of_app("a"),
            Scope::apps_of_group("g"),
            Scope::roles_of(AssigneeType::User, "u"),
            Scope::roles_held_by(AssigneeType::Group),
            Scope::factors_of("u"),
        ];
        for scope in scopes {
            let spec = schema::spec(scope.table());
            assert!(!scope.filters().is_empty());
            for (column, _) in scope.filters() {
                assert!(
                    spec.column_names().any(|c| c == *column) && *column != "raw",
                    "{scope:?}"
                );
            }
        }
    }

    #[test]
    fn row_keys_answer_whom_they_concern() {
        let role = RowKey::new(Table::RoleAssignments, ["GROUP", "g1", "ra1"]).unwrap();
        assert_eq!(role.parts(), ["GROUP", "g1", "ra1"]);
        assert_eq!((role.group_id(), role.user_id()), (Some("g1"), None));
        let role = RowKey::new(Table::RoleAssignments, ["USER", "u1", "ra1"]).unwrap();
        assert_eq!((role.group_id(), role.user_id()), (None, Some("u1")));
        let member = RowKey::new(Table::GroupMembers, ["g1", "u1"]).unwrap();
        assert_eq!(
            (member.group_id(), member.user_id(), member.app_id()),
            (Some("g1"), Some("u1"), None)
        );
        let access = RowKey::new(Table::AppUsers, ["a1", "u1"]).unwrap();
        assert_eq!(
            (access.app_id(), access.user_id()),
            (Some("a1"), Some("u1"))
        );
        let grant = RowKey::new(Table::AppGroups, ["a1", "g1"]).unwrap();
        assert_eq!((grant.app_id(), grant.group_id()), (Some("a1"), Some("g1")));
        let factor = RowKey::new(Table::Factors, ["u1", "f1"]).unwrap();
        assert_eq!((factor.user_id(), factor.group_id()), (Some("u1"), None));
        for (table, user, group, app) in [
            (Table::Users, Some("x"), None, None),
            (Table::Groups, None, Some("x"), None),
            (Table::Apps, None, None, Some("x")),
            (Table::Idps, None, None, None),
        ] {
            let key = RowKey::new(table, ["x"]).unwrap();
            assert_eq!(
                (key.user_id(), key.group_id(), key.app_id()),
                (user, group, app)
            );
        }
        // Too few parts is no key; an assignee type Okta does not have concerns no one.
        assert_eq!(RowKey::new(Table::Factors, ["u1"]), None);
        let odd = RowKey::new(Table::RoleAssignments, ["APP", "x", "y"]).unwrap();
        assert_eq!((odd.user_id(), odd.group_id()), (None, None));
    }
}
