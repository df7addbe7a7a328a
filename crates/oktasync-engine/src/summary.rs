//! What a run did, as the CLI prints it (`oktasync sync --json`).

use oktasync_store::Changes;
use serde::Serialize;
use std::collections::BTreeMap;

/// The summary of one run. Serialized as one flat JSON object; a count is `null` for a
/// resource the run did not read.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RunSummary {
    pub run_id: i64,
    /// `full` (a full sync), `incremental` (System Log deltas) or `reconcile` (a full sync
    /// compared with an existing mirror: what it changes is drift).
    pub kind: String,
    /// `succeeded` or `failed`.
    pub outcome: String,
    pub org_url: String,
    pub started_at: String,
    pub ended_at: String,
    /// HTTP requests sent, retries included.
    pub api_calls: u64,
    pub http_429: u64,
    pub retries: u64,
    pub duration_s: f64,
    /// Seconds requests waited for rate-limit budget.
    pub rate_limit_wait_s: f64,
    /// Requests per rate-limit bucket.
    pub calls_by_bucket: BTreeMap<String, u64>,
    /// Calls the fewest-calls plan needs for this org, computed from the counts read.
    pub fewest_calls: u64,
    pub users: Option<u64>,
    pub groups: Option<u64>,
    pub memberships: Option<u64>,
    pub apps: Option<u64>,
    pub app_users: Option<u64>,
    pub app_groups: Option<u64>,
    pub role_assignments: Option<u64>,
    pub idps: Option<u64>,
    pub factors: Option<u64>,
    /// Rows added, updated and removed per mirror table (empty when the run failed).
    pub changes: Changes,
    /// System Log events read (incremental runs; `null` otherwise).
    pub events: Option<u64>,
    /// Rows a reconcile had to change (`null` for other kinds): 0 when the mirror was exact.
    pub drift: Option<u64>,
    /// Why an incremental sync fell back to this full sync (`null` when it did not).
    pub fallback: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl RunSummary {
    /// Objects read across resources.
    pub fn objects(&self) -> u64 {
        [
            self.users,
            self.groups,
            self.memberships,
            self.apps,
            self.app_users,
            self.app_groups,
            self.role_assignments,
            self.idps,
            self.factors,
        ]
        .iter()
        .flatten()
        .sum()
    }

    /// Rows added, updated or removed across tables (a reconcile's drift).
    pub fn rows_changed(&self) -> u64 {
        self.changes.values().map(|c| c.total()).sum()
    }
}
