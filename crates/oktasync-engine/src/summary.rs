//! What a run did, as the CLI prints it (`oktasync sync --json`).

use crate::options::{Resource, SyncOptions};
use chrono::{DateTime, Utc};
use okta_api::MetricsSnapshot;
use oktasync_store::{Changes, RunKind, RunOutcome, RunStats};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

/// The summary of one run. Serialized as one flat JSON object; a count is `null` for a
/// resource the run did not read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub run_id: i64,
    /// `full` (a full sync), `incremental` (System Log deltas) or `reconcile` (a full sync
    /// compared with an existing mirror: what it changes is drift).
    pub kind: RunKind,
    /// `succeeded` or `failed` (`running` while the run is under way).
    pub outcome: RunOutcome,
    pub org_url: String,
    pub started_at: String,
    pub ended_at: String,
    /// HTTP requests sent, retries included.
    pub api_calls: u64,
    pub http_429: u64,
    /// 429 responses per rate-limit bucket (buckets with none left out).
    pub http_429_by_bucket: BTreeMap<String, u64>,
    pub retries: u64,
    pub duration_s: f64,
    /// Seconds of the run during which requests waited for rate-limit budget (wall time).
    pub rate_limit_wait_s: f64,
    /// Requests per rate-limit bucket.
    pub calls_by_bucket: BTreeMap<String, u64>,
    /// Calls the fewest-calls plan needs for this org, computed from the counts read.
    pub fewest_calls: u64,
    /// Objects read per resource, one field each (`users`, `groups`, ...,
    /// `role_assignments`, ...).
    #[serde(flatten)]
    pub counts: ObjectCounts,
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
    /// Objects of `resource` the run read; `None` if it did not read that resource.
    pub fn count(&self, resource: Resource) -> Option<u64> {
        self.counts.get(resource)
    }

    /// Objects read across resources.
    pub fn objects(&self) -> u64 {
        self.counts.0.iter().flatten().sum()
    }

    /// Rows added, updated or removed across tables (a reconcile's drift).
    pub fn rows_changed(&self) -> u64 {
        self.changes.values().map(|c| c.total()).sum()
    }
}

/// Objects a run read per resource; `None` for a resource it did not read. Serialized as
/// one field per resource, named by its count key, in [`Resource::ALL`] order (`null` when
/// not read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectCounts([Option<u64>; Resource::ALL.len()]);

impl ObjectCounts {
    pub fn get(&self, resource: Resource) -> Option<u64> {
        self.0[position(resource)]
    }
}

impl Serialize for ObjectCounts {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (resource, count) in Resource::ALL.iter().zip(&self.0) {
            map.serialize_entry(resource.count_key(), count)?;
        }
        map.end()
    }
}

/// Where `resource` is in [`Resource::ALL`], which orders per-resource arrays.
fn position(resource: Resource) -> usize {
    Resource::ALL
        .iter()
        .position(|r| *r == resource)
        .unwrap_or_default()
}

/// A time as run records and summaries write it: RFC 3339, milliseconds, UTC.
pub(crate) use oktasync_store::timestamp;

/// What a run did so far, added to by its concurrent reads.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// Calls the run's plan made (retries not counted): the fewest calls it needs.
    calls: AtomicU64,
    /// Objects read per resource.
    pub counts: ResourceCounts,
}

impl Tally {
    pub(crate) fn add_calls(&self, n: u64) {
        self.calls.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn add_read(&self, resource: Resource, n: u64) {
        self.counts.add(resource, n);
    }
}

/// Objects read per resource during a run, added to by its concurrent listings.
#[derive(Debug, Default)]
pub(crate) struct ResourceCounts([AtomicU64; Resource::ALL.len()]);

impl ResourceCounts {
    fn cell(&self, r: Resource) -> &AtomicU64 {
        &self.0[position(r)]
    }

    pub(crate) fn add(&self, r: Resource, n: u64) {
        self.cell(r).fetch_add(n, Ordering::Relaxed);
    }

    /// The count of `r`, if the run reads it.
    pub(crate) fn get(&self, r: Resource, opts: &SyncOptions) -> Option<u64> {
        opts.wants(r).then(|| self.cell(r).load(Ordering::Relaxed))
    }

    /// Counts by their run-record key, for the resources the run reads.
    pub(crate) fn by_key(&self, opts: &SyncOptions) -> BTreeMap<String, u64> {
        Resource::ALL
            .into_iter()
            .filter_map(|r| Some((r.count_key().to_owned(), self.get(r, opts)?)))
            .collect()
    }
}

impl RunSummary {
    /// A run's summary so far: what it cost (the client's metrics between `before` and
    /// `after`) and what it read. The caller sets times and outcome.
    pub(crate) fn measured(
        run_id: i64,
        kind: RunKind,
        org_url: String,
        before: &MetricsSnapshot,
        after: &MetricsSnapshot,
        tally: &Tally,
        opts: &SyncOptions,
    ) -> Self {
        // What the run added to one counter, per bucket (buckets it did not add to left out).
        let per_bucket = |counter: fn(&okta_api::BucketMetrics) -> u64| {
            after
                .buckets
                .iter()
                .map(|(name, b)| {
                    let earlier = before.buckets.get(name).map_or(0, counter);
                    (name.clone(), counter(b).saturating_sub(earlier))
                })
                .filter(|(_, n)| *n > 0)
                .collect::<BTreeMap<String, u64>>()
        };
        let calls_by_bucket = per_bucket(|b| b.requests);
        let http_429_by_bucket = per_bucket(|b| b.http_429);
        RunSummary {
            run_id,
            kind,
            outcome: RunOutcome::Running,
            org_url,
            started_at: String::new(),
            ended_at: String::new(),
            api_calls: after.requests - before.requests,
            http_429: after.http_429 - before.http_429,
            http_429_by_bucket,
            retries: after.retries - before.retries,
            rate_limit_wait_s: (after.rate_limit_wait - before.rate_limit_wait).max(0.0),
            calls_by_bucket,
            fewest_calls: tally.calls.load(Ordering::Relaxed),
            counts: ObjectCounts(Resource::ALL.map(|r| tally.counts.get(r, opts))),
            duration_s: 0.0,
            changes: Changes::default(),
            events: None,
            drift: None,
            fallback: None,
            error: None,
        }
    }

    /// What the run record keeps of this summary.
    pub(crate) fn run_stats(
        &self,
        ended_at: DateTime<Utc>,
        counts: BTreeMap<String, u64>,
    ) -> RunStats {
        RunStats {
            ended_at,
            counts,
            api_calls: self.api_calls,
            fewest_calls: self.fewest_calls,
            calls_by_bucket: self.calls_by_bucket.clone(),
            http_429: self.http_429,
            retries: self.retries,
            rate_limit_wait_s: self.rate_limit_wait_s,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_fields_of_the_summary_in_resource_order() {
        let opts = SyncOptions {
            resources: [Resource::Users, Resource::Roles].into_iter().collect(),
            ..Default::default()
        };
        let tally = Tally::default();
        tally.add_read(Resource::Users, 3);
        tally.add_read(Resource::Roles, 2);
        let before = MetricsSnapshot::default();
        let summary = RunSummary::measured(
            1,
            RunKind::Full,
            "x".into(),
            &before,
            &before,
            &tally,
            &opts,
        );
        assert_eq!(summary.count(Resource::Users), Some(3));
        assert_eq!(summary.count(Resource::Groups), None);
        assert_eq!(summary.objects(), 5);
        let json = serde_json::to_string(&summary).unwrap();
        let keys = [
            "\"fewest_calls\":0,\"users\":3,\"groups\":null,\"memberships\":null,\"apps\":null,",
            "\"app_users\":null,\"app_groups\":null,\"role_assignments\":2,\"idps\":null,",
            "\"factors\":null,\"group_rules\":null,\"policies\":null,\"policy_rules\":null,",
            "\"authenticators\":null,\"network_zones\":null,\"api_tokens\":null,",
            "\"log_streams\":null,\"threat_insight\":null,\"app_grants\":null,\"changes\":{}",
        ]
        .concat();
        assert!(json.contains(&keys), "{json}");
    }

    #[test]
    fn calls_and_429s_per_bucket_are_what_the_run_added() {
        use okta_api::BucketMetrics;
        let bucket = |requests, http_429| BucketMetrics {
            requests,
            retries: 0,
            http_429,
        };
        let mut before = MetricsSnapshot::default();
        before.buckets.insert("users".into(), bucket(10, 1));
        before.buckets.insert("groups".into(), bucket(4, 0));
        let mut after = before.clone();
        after.buckets.insert("users".into(), bucket(25, 4));
        after.buckets.insert("logs".into(), bucket(2, 0));
        after.http_429 = 4;
        before.http_429 = 1;
        let summary = RunSummary::measured(
            1,
            RunKind::Incremental,
            "x".into(),
            &before,
            &after,
            &Tally::default(),
            &SyncOptions::default(),
        );
        assert_eq!(summary.http_429, 3);
        assert_eq!(
            summary.http_429_by_bucket,
            BTreeMap::from([("users".to_owned(), 3)])
        );
        assert_eq!(
            summary.calls_by_bucket,
            BTreeMap::from([("logs".to_owned(), 2), ("users".to_owned(), 15)])
        );
    }
}
