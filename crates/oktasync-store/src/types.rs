//! Values passed between the sync engine, the CLI and a store backend.

use crate::error::StoreError;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Okta's timestamp form (`2024-05-01T12:00:00.000Z`), used for every time the store writes:
/// it sorts and compares correctly as text.
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The store's key for one Okta org (a row of `orgs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrgId(pub i64);

/// One org of the mirror (a row of `orgs`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrgRecord {
    pub id: OrgId,
    /// Its short name, unique in the mirror (`acme`).
    pub name: String,
    /// Its URL (`https://acme.okta.com`).
    pub url: String,
    pub created_at: String,
}

/// The id of one `sync_runs` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub i64);

pub use crate::tables::Table;

impl Table {
    pub fn as_str(self) -> &'static str {
        crate::schema::spec(self).name
    }
}

/// Who holds a role assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum AssigneeType {
    User,
    Group,
}

impl AssigneeType {
    pub fn as_str(self) -> &'static str {
        match self {
            AssigneeType::User => "USER",
            AssigneeType::Group => "GROUP",
        }
    }
}

/// A batch of Okta objects of one table, as received (the JSON of each object; `_links` and
/// `_embedded` are dropped by the store), staged into a running sync or upserted by a delta.
/// Objects listed under a parent (an app's users, a user's factors) carry the parent's key.
#[derive(Debug, Clone)]
pub struct Batch {
    table: Table,
    /// The parent key the table's spec reads (`Source::Parent`), in order.
    parent: Vec<String>,
    objects: Vec<Value>,
}

impl Batch {
    /// A batch of `table`'s objects under `parent` (as many values as the table's parent key
    /// has: none for users, the app id for app users, ...).
    pub fn new(table: Table, parent: Vec<String>, objects: Vec<Value>) -> Result<Self, StoreError> {
        let expected = crate::schema::spec(table).parent_len();
        if parent.len() != expected {
            return Err(StoreError::BatchParent {
                table: table.as_str(),
                expected,
                given: parent.len(),
            });
        }
        Ok(Self {
            table,
            parent,
            objects,
        })
    }

    /// A batch whose parent key is right by construction: for named constructors (a table's
    /// `tables/` file may add its own).
    pub(crate) fn of(table: Table, parent: Vec<String>, objects: Vec<Value>) -> Self {
        Self {
            table,
            parent,
            objects,
        }
    }

    pub fn users(users: Vec<Value>) -> Self {
        Self::of(Table::Users, Vec::new(), users)
    }

    pub fn groups(groups: Vec<Value>) -> Self {
        Self::of(Table::Groups, Vec::new(), groups)
    }

    /// Members of one group, by user id.
    pub fn group_members(group_id: impl Into<String>, user_ids: Vec<String>) -> Self {
        // Bare ids (`Source::Item`): no object per member.
        let user_ids = user_ids.into_iter().map(Value::String).collect();
        Self::of(Table::GroupMembers, vec![group_id.into()], user_ids)
    }

    pub fn apps(apps: Vec<Value>) -> Self {
        Self::of(Table::Apps, Vec::new(), apps)
    }

    /// AppUser objects of one app (`id` is the user id, `scope` USER or GROUP).
    pub fn app_users(app_id: impl Into<String>, app_users: Vec<Value>) -> Self {
        Self::of(Table::AppUsers, vec![app_id.into()], app_users)
    }

    /// ApplicationGroupAssignment objects of one app (`id` is the group id).
    pub fn app_groups(app_id: impl Into<String>, assignments: Vec<Value>) -> Self {
        Self::of(Table::AppGroups, vec![app_id.into()], assignments)
    }

    /// Role assignments held by one user (directly) or one group.
    pub fn role_assignments(
        assignee_type: AssigneeType,
        assignee_id: impl Into<String>,
        roles: Vec<Value>,
    ) -> Self {
        Self::of(
            Table::RoleAssignments,
            vec![assignee_type.as_str().to_owned(), assignee_id.into()],
            roles,
        )
    }

    pub fn idps(idps: Vec<Value>) -> Self {
        Self::of(Table::Idps, Vec::new(), idps)
    }

    /// One user's factors.
    pub fn factors(user_id: impl Into<String>, factors: Vec<Value>) -> Self {
        Self::of(Table::Factors, vec![user_id.into()], factors)
    }

    pub fn table(&self) -> Table {
        self.table
    }

    /// How many rows the batch holds.
    pub fn len(&self) -> usize {
        self.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The parent key: the group of a members batch, the app of an assignments batch; empty
    /// for objects that stand alone (users, groups, apps).
    pub fn parent(&self) -> &[String] {
        &self.parent
    }

    /// Keeps the rows whose id `keep` accepts: an object's `id` (a user, a group, an app, a
    /// user's or group's assignment to an app) or a link row's bare id (a member). A row
    /// without an id is kept.
    pub fn retain_ids(&mut self, mut keep: impl FnMut(&str) -> bool) {
        self.objects.retain(|row| {
            let id = match row {
                Value::String(id) => Some(id.as_str()),
                other => other.get("id").and_then(Value::as_str),
            };
            id.is_none_or(&mut keep)
        });
    }

    /// The batch's rows: objects as Okta returns them, or bare ids (members).
    pub fn rows(&self) -> &[Value] {
        &self.objects
    }

    pub(crate) fn objects(&self) -> &[Value] {
        &self.objects
    }
}

/// Rows a run added, updated and removed in one table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeCounts {
    pub added: u64,
    pub updated: u64,
    pub removed: u64,
}

impl ChangeCounts {
    pub fn total(&self) -> u64 {
        self.added + self.updated + self.removed
    }
}

/// Changes per table, keyed by `Table::as_str`.
pub type Changes = BTreeMap<String, ChangeCounts>;

/// What a run is about to do, recorded when it starts.
#[derive(Debug, Clone)]
pub struct RunStart {
    pub started_at: DateTime<Utc>,
    pub kind: RunKind,
    /// The resources the run reads (names as the CLI spells them).
    pub resources: Vec<String>,
}

/// How a run went, recorded when it ends (successfully or not).
#[derive(Debug, Clone, Default)]
pub struct RunStats {
    pub ended_at: DateTime<Utc>,
    /// Objects read per resource.
    pub counts: BTreeMap<String, u64>,
    pub api_calls: u64,
    /// What the fewest-calls plan needs for this org.
    pub fewest_calls: u64,
    pub calls_by_bucket: BTreeMap<String, u64>,
    pub http_429: u64,
    pub retries: u64,
    pub rate_limit_wait_s: f64,
}

/// One row of `sync_runs`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow)]
pub struct SyncRunRecord {
    pub run_id: i64,
    pub org_id: i64,
    #[sqlx(try_from = "String")]
    pub kind: RunKind,
    /// JSON array of resource names.
    pub resources: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    #[sqlx(try_from = "String")]
    pub outcome: RunOutcome,
    pub error: Option<String>,
    /// JSON object {resource: objects read}.
    pub counts: Option<String>,
    /// JSON object {table: {added, updated, removed}}.
    pub changes: Option<String>,
    pub api_calls: Option<i64>,
    pub fewest_calls: Option<i64>,
    /// JSON object {bucket: calls}.
    pub calls_by_bucket: Option<String>,
    pub http_429: Option<i64>,
    pub retries: Option<i64>,
    pub rate_limit_wait_s: Option<f64>,
}

/// What kind of run a `sync_runs` row records. Stored and serialized as its lowercase name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    /// A full sync (the first of an org is the baseline; later ones log changes as `full`).
    Full,
    /// A full sync checking an incrementally kept mirror; what it changes is drift.
    Reconcile,
    /// A run driven by the System Log.
    Incremental,
}

/// How a run ended, or that it has not. Stored and serialized as its lowercase name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunOutcome {
    Running,
    Succeeded,
    /// Stopped on an error (`sync_runs.error` says which).
    Failed,
    /// Its process ended (killed, or stopped by a signal) before it finished; the mirror kept
    /// its previous state.
    Interrupted,
}

/// A `sync_runs` value this oktasync does not know (a newer one wrote it).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown run {what} {value:?} in sync_runs; was the mirror written by a newer oktasync?")]
pub struct UnknownRunValue {
    what: &'static str,
    value: String,
}

macro_rules! string_enum {
    ($type:ident, $what:literal, { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $type {
            pub const ALL: &'static [$type] = &[$($type::$variant),+];

            /// The name stored in the mirror and written in JSON.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($type::$variant => $text),+
                }
            }
        }

        impl std::str::FromStr for $type {
            type Err = UnknownRunValue;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($type::$variant),)+
                    _ => Err(UnknownRunValue { what: $what, value: s.to_owned() }),
                }
            }
        }

        impl std::fmt::Display for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl TryFrom<String> for $type {
            type Error = UnknownRunValue;
            fn try_from(s: String) -> Result<Self, Self::Error> {
                s.parse()
            }
        }

        /// Compares with the stored name (`outcome == "failed"`).
        impl PartialEq<str> for $type {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $type {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }
    };
}

string_enum!(RunKind, "kind", {
    Full => "full",
    Reconcile => "reconcile",
    Incremental => "incremental",
});

string_enum!(RunOutcome, "outcome", {
    Running => "running",
    Succeeded => "succeeded",
    Failed => "failed",
    Interrupted => "interrupted",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_kinds_and_outcomes_are_their_lowercase_names_everywhere() {
        for kind in RunKind::ALL {
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json, serde_json::Value::String(kind.as_str().to_owned()));
            assert_eq!(kind.as_str().parse::<RunKind>().unwrap(), *kind);
            assert_eq!(kind.to_string(), kind.as_str());
            assert_eq!(kind.as_str(), kind.as_str().to_lowercase());
        }
        for outcome in RunOutcome::ALL {
            let json = serde_json::to_value(outcome).unwrap();
            assert_eq!(json, serde_json::Value::String(outcome.as_str().to_owned()));
            assert_eq!(
                serde_json::from_value::<RunOutcome>(json).unwrap(),
                *outcome
            );
            assert_eq!(outcome.as_str().parse::<RunOutcome>().unwrap(), *outcome);
        }
        assert_eq!(RunOutcome::Failed, "failed");
        let err = "paused".parse::<RunOutcome>().unwrap_err();
        assert!(err.to_string().contains("\"paused\""), "{err}");
        assert!("Full".parse::<RunKind>().is_err());
    }
}
