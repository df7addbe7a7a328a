//! Values passed between the sync engine, the CLI and a store backend.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The store's key for one Okta org (a row of `orgs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct OrgId(pub i64);

/// The id of one `sync_runs` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(pub i64);

/// A mirrored table. `as_str` is its SQL name and its key in counts and change reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    Users,
    Groups,
    GroupMembers,
    Apps,
    AppUsers,
    AppGroups,
    RoleAssignments,
    Idps,
    Factors,
}

impl Table {
    pub const ALL: [Table; 9] = [
        Table::Users,
        Table::Groups,
        Table::GroupMembers,
        Table::Apps,
        Table::AppUsers,
        Table::AppGroups,
        Table::RoleAssignments,
        Table::Idps,
        Table::Factors,
    ];

    pub fn as_str(self) -> &'static str {
        crate::schema::spec(self).name
    }
}

/// Who holds a role assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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

/// A batch of Okta objects, as received (the JSON of each object; `_links` and `_embedded`
/// are dropped by the store), staged into a running sync.
#[derive(Debug, Clone)]
pub enum Batch {
    Users(Vec<Value>),
    Groups(Vec<Value>),
    GroupMembers {
        group_id: String,
        user_ids: Vec<String>,
    },
    Apps(Vec<Value>),
    /// AppUser objects of one app (`id` is the user id, `scope` USER or GROUP).
    AppUsers {
        app_id: String,
        app_users: Vec<Value>,
    },
    /// ApplicationGroupAssignment objects of one app (`id` is the group id).
    AppGroups {
        app_id: String,
        assignments: Vec<Value>,
    },
    /// Role assignments held by one user or group.
    RoleAssignments {
        assignee_type: AssigneeType,
        assignee_id: String,
        roles: Vec<Value>,
    },
    Idps(Vec<Value>),
    Factors {
        user_id: String,
        factors: Vec<Value>,
    },
}

impl Batch {
    pub fn table(&self) -> Table {
        match self {
            Batch::Users(_) => Table::Users,
            Batch::Groups(_) => Table::Groups,
            Batch::GroupMembers { .. } => Table::GroupMembers,
            Batch::Apps(_) => Table::Apps,
            Batch::AppUsers { .. } => Table::AppUsers,
            Batch::AppGroups { .. } => Table::AppGroups,
            Batch::RoleAssignments { .. } => Table::RoleAssignments,
            Batch::Idps(_) => Table::Idps,
            Batch::Factors { .. } => Table::Factors,
        }
    }

    /// How many rows the batch holds.
    pub fn len(&self) -> usize {
        match self {
            Batch::Users(v) | Batch::Groups(v) | Batch::Apps(v) | Batch::Idps(v) => v.len(),
            Batch::GroupMembers { user_ids, .. } => user_ids.len(),
            Batch::AppUsers { app_users, .. } => app_users.len(),
            Batch::AppGroups { assignments, .. } => assignments.len(),
            Batch::RoleAssignments { roles, .. } => roles.len(),
            Batch::Factors { factors, .. } => factors.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
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
    /// One of [`run_kind`]'s values.
    pub kind: String,
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
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct SyncRunRecord {
    pub run_id: i64,
    pub org_id: i64,
    pub kind: String,
    /// JSON array of resource names.
    pub resources: String,
    pub started_at: String,
    pub ended_at: Option<String>,
    /// `running`, `succeeded`, `failed` or `interrupted`.
    pub outcome: String,
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

/// Values of `sync_runs.kind`.
pub mod run_kind {
    /// A full sync (the first of an org is the baseline; later ones log changes as `full`).
    pub const FULL: &str = "full";
    /// A run driven by the System Log.
    pub const INCREMENTAL: &str = "incremental";
    /// A full sync checking an incrementally kept mirror; what it changes is drift.
    pub const RECONCILE: &str = "reconcile";
}

/// Outcome values of `sync_runs.outcome`.
pub mod outcome {
    pub const RUNNING: &str = "running";
    pub const SUCCEEDED: &str = "succeeded";
    pub const FAILED: &str = "failed";
    pub const INTERRUPTED: &str = "interrupted";
}
