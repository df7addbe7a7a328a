//! How a sync reports progress. The CLI draws bars on a terminal and prints plain lines
//! elsewhere; the engine only calls this trait.

use crate::options::Resource;
use crate::summary::RunSummary;
use oktasync_store::{RunId, RunKind};

/// Progress of one run, per resource. Calls come from several tasks at once.
pub trait Progress: Send + Sync {
    /// A resource's reading began; `total` when the count is known in advance (memberships
    /// from group stats, factors from the user count).
    fn started(&self, resource: Resource, total: Option<u64>);
    /// `n` more objects of a resource were read.
    fn advanced(&self, resource: Resource, n: u64);
    /// A resource is read completely.
    fn finished(&self, resource: Resource);
    /// Something worth showing, e.g. waiting on a rate limit.
    fn note(&self, message: &str);
    /// A run was recorded as `running` under this id (before it reads anything).
    fn run_started(&self, _run: RunId, _kind: RunKind) {}
    /// `watch` applied a run (incremental or reconcile); one-shot syncs return theirs.
    fn run_applied(&self, _summary: &RunSummary) {}
}

/// Reports nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn started(&self, _: Resource, _: Option<u64>) {}
    fn advanced(&self, _: Resource, _: u64) {}
    fn finished(&self, _: Resource) {}
    fn note(&self, _: &str) {}
}

/// Reports through `tracing`: starts, ends and notes at info, page counts at debug.
#[derive(Debug, Default, Clone, Copy)]
pub struct TracingProgress;

impl Progress for TracingProgress {
    fn started(&self, resource: Resource, total: Option<u64>) {
        match total {
            Some(total) => tracing::info!(%resource, total, "Reading started."),
            None => tracing::info!(%resource, "Reading started."),
        }
    }

    fn advanced(&self, resource: Resource, n: u64) {
        tracing::debug!(%resource, n, "Read a page.");
    }

    fn finished(&self, resource: Resource) {
        tracing::info!(%resource, "Reading finished.");
    }

    fn note(&self, message: &str) {
        tracing::info!("{message}");
    }
}
