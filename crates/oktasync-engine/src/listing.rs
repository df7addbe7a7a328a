//! What a full sync's listings are and share: the contract between the scheduler in
//! [`crate::full`] and the resource modules that read the listings.

use crate::admins::FactorUsers;
use crate::error::EngineError;
use crate::events::Object;
use crate::options::{FactorScope, Resource, SyncOptions};
use crate::progress::Progress;
use crate::summary::Tally;
use okta_api::OktaClient;
use oktasync_store::Batch;
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::mpsc;

/// One listing of a full sync: a paginated endpoint read to its end, or a single call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Listing {
    /// The resource whose module reads it: its queue, its slots, its progress.
    pub resource: Resource,
    /// Whose objects it lists: one user's, group's or app's; `None` for the org's.
    pub of: Option<Object>,
    /// How many objects it returns, when known in advance (a group's `usersCount`).
    pub expected: Option<u64>,
}

impl Listing {
    /// The org's whole list of `resource`.
    pub(crate) fn org(resource: Resource) -> Self {
        Self {
            resource,
            of: None,
            expected: None,
        }
    }

    /// What `of` holds of `resource`.
    pub(crate) fn of(resource: Resource, of: Object) -> Self {
        Self {
            resource,
            of: Some(of),
            expected: None,
        }
    }

    /// The error for a listing its module does not read (a bug).
    pub(crate) fn unexpected(&self) -> EngineError {
        EngineError::Internal(format!("no {} listing of {:?}", self.resource, self.of))
    }
}

/// What the listings of one full sync share: the client, what the run reads, its tally, the
/// users found in the factor scope, and the queue to the store writer.
pub(crate) struct ListingRun {
    pub client: OktaClient,
    pub opts: SyncOptions,
    progress: Arc<dyn Progress>,
    tally: Arc<Tally>,
    factor_users: Mutex<FactorUsers>,
    batches: mpsc::Sender<Batch>,
}

impl ListingRun {
    pub(crate) fn new(
        client: OktaClient,
        opts: SyncOptions,
        progress: Arc<dyn Progress>,
        tally: Arc<Tally>,
        batches: mpsc::Sender<Batch>,
    ) -> Self {
        Self {
            client,
            opts,
            progress,
            tally,
            factor_users: Mutex::default(),
            batches,
        }
    }

    /// Whether the run mirrors `resource`.
    pub(crate) fn wants(&self, resource: Resource) -> bool {
        self.opts.wants(resource)
    }

    /// Whose factors the run reads, if it reads any.
    pub(crate) fn factor_scope(&self) -> Option<FactorScope> {
        self.wants(Resource::Factors).then_some(self.opts.factors)
    }

    /// The users found in the factor scope so far.
    pub(crate) fn factor_users(&self) -> MutexGuard<'_, FactorUsers> {
        // A panic while holding the lock already fails the run; the data is still usable.
        self.factor_users.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `n` more objects of `resource` were read.
    pub(crate) fn read(&self, resource: Resource, n: u64) {
        self.tally.add_read(resource, n);
        if self.wants(resource) && n > 0 {
            self.progress.advanced(resource, n);
        }
    }

    /// The plan took `calls` calls (summed as listings finish: the fewest calls it needs).
    pub(crate) fn add_calls(&self, calls: u64) {
        self.tally.add_calls(calls);
    }

    /// Reading `resource` began; `total` when known in advance.
    pub(crate) fn started(&self, resource: Resource, total: Option<u64>) {
        if self.wants(resource) {
            self.progress.started(resource, total);
        }
    }

    /// Reading `resource` is done.
    pub(crate) fn finished(&self, resource: Resource) {
        if self.wants(resource) {
            self.progress.finished(resource);
        }
    }

    /// Hands a page to the store writer (waiting while its queue is full).
    pub(crate) async fn stage(&self, batch: Batch) -> Result<(), EngineError> {
        self.batches
            .send(batch)
            .await
            .map_err(|_| EngineError::StoreClosed)
    }

    pub(crate) fn progress(&self) -> Arc<dyn Progress> {
        self.progress.clone()
    }
}
