//! Incremental sync: the System Log drives the deltas, `lastUpdated` filters cross-check them
//! (`architecture.md`, "Incremental sync").
//!
//! A run:
//! 1. reads the log from the `logs.next` checkpoint (a polling request's `next` link) until a
//!    page comes back empty, de-duplicating events by `uuid`, at most
//!    [`MAX_EVENTS_PER_RUN`] events (the next run reads the rest);
//! 2. offers each event, in the order Okta stored them, to every resource module
//!    ([`crate::resources`]), which turns it into operations on the mirror (membership adds
//!    and removes, deletions with what Okta removes along without events) and into objects to
//!    re-read with one targeted call each;
//! 3. cross-checks users and groups with `lastUpdated` filters from the mirror's own
//!    watermarks (Okta's timestamps, never the local clock) minus
//!    [`WATERMARK_OVERLAP`](crate::WATERMARK_OVERLAP);
//! 4. re-reads, [`CONCURRENT_REREADS`] at a time, in two rounds (the second: what depends on
//!    the first, such as the factors of users whose admin status changed); what they return
//!    is the current state, so it goes after the event-derived operations;
//! 5. hands the store one [`Delta`](oktasync_store::Delta) (with the new checkpoint) to apply
//!    in one transaction.
//!
//! Every operation is idempotent, so reading a suffix of the log twice is harmless: that is
//! why a full sync positions the log [`LOG_START_LOOKBACK`](crate::LOG_START_LOOKBACK)
//! before its listings begin.

use crate::error::EngineError;
use crate::events::{EventKind, classify};
use crate::options::{Resource, SyncOptions};
use crate::progress::Progress;
use crate::reading::failed_reading;
use crate::reread::{DeltaRun, Found, Plan, Reread};
use crate::resources::{module, modules, removals as removals_of};
use crate::run_record::{RunRecord, RunStarting};
use crate::scope::incremental::{narrow, raise_watermarks};
use crate::summary::RunSummary;
use crate::system_log::{
    LogRead, MAX_EVENTS_PER_RUN, load_checkpoint, log_checkpoints, read_log, unavailable,
    unavailable_reason,
};
use futures::{StreamExt, TryStreamExt};
use okta_api::{LogEvent, OktaClient};
use oktasync_store::{Cause, Changes, Delta, DeltaOp, OrgId, RunKind, Store};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use url::Url;

/// Targeted re-reads in flight at once (the client's governor paces them further).
pub const CONCURRENT_REREADS: usize = 16;

/// One incremental run (see the module docs). Fails with
/// [`EngineError::IncrementalUnavailable`] when only a full sync can help: no checkpoint,
/// one older than Okta keeps logs, or a log the credentials cannot read.
pub async fn incremental_sync(
    client: &OktaClient,
    store: &dyn Store,
    opts: &SyncOptions,
    progress: Arc<dyn Progress>,
) -> Result<RunSummary, EngineError> {
    let org = store
        .find_org(&client.org().origin())
        .await?
        .ok_or_else(|| unavailable("the mirror has no data of this org yet"))?;
    let checkpoint = load_checkpoint(store, org, opts).await?;
    let run = IncrementalRun::begin(client, store, opts, org, progress).await?;
    run.execute(LogSource::Read(checkpoint.next)).await
}

/// Where a run's events come from.
pub(crate) enum LogSource {
    /// Read from this checkpoint.
    Read(Url),
    /// Already read (watch polls before it starts a run).
    Prefetched(LogRead),
}

/// One incremental run.
pub(crate) struct IncrementalRun<'a> {
    client: &'a OktaClient,
    store: &'a dyn Store,
    opts: &'a SyncOptions,
    progress: Arc<dyn Progress>,
    org: OrgId,
    record: RunRecord,
}

impl<'a> IncrementalRun<'a> {
    /// Records the run as begun.
    pub(crate) async fn begin(
        client: &'a OktaClient,
        store: &'a dyn Store,
        opts: &'a SyncOptions,
        org: OrgId,
        progress: Arc<dyn Progress>,
    ) -> Result<IncrementalRun<'a>, EngineError> {
        let starting = RunStarting::now(client, opts, RunKind::Incremental);
        let id = store.begin_run(org, starting.run_start()).await?;
        progress.run_started(id, RunKind::Incremental);
        let mut record = starting.recorded(id);
        // A run that fails before its events are read records that it applied none.
        record.set_events(0);
        Ok(IncrementalRun {
            client,
            store,
            opts,
            progress,
            org,
            record,
        })
    }

    /// Reads the events (unless `source` holds them), applies them, and records the end.
    pub(crate) async fn execute(mut self, source: LogSource) -> Result<RunSummary, EngineError> {
        let result = match self.read_events(source).await {
            Ok(log) => {
                self.record.set_events(log.events.len() as u64);
                self.apply(log).await
            }
            Err(cause) => Err(cause),
        };
        let (summary, stats) = self.record.ending();
        if let Err(cause) = &result
            && let Err(e) = self
                .store
                .fail_run(self.record.id(), &cause.to_string(), stats)
                .await
        {
            tracing::warn!(run_id = self.record.id().0, error = %e, "Could not record the failed run.");
        }
        self.record.ended(summary, result)
    }

    async fn read_events(&self, source: LogSource) -> Result<LogRead, EngineError> {
        let log = match source {
            LogSource::Prefetched(log) => log,
            LogSource::Read(from) => {
                read_log(self.client, from)
                    .await
                    .map_err(|e| match unavailable_reason(&e) {
                        Some(reason) => unavailable(reason),
                        None => failed_reading("the System Log")(e),
                    })?
            }
        };
        self.record.tally().add_calls(log.calls);
        if log.more {
            self.progress.note(&format!(
                "read {MAX_EVENTS_PER_RUN} System Log events; the next run reads the rest"
            ));
        }
        Ok(log)
    }

    async fn apply(&self, log: LogRead) -> Result<Changes, EngineError> {
        let mut delta = self.build_delta(&log.events).await?;
        delta
            .checkpoints
            .extend(log_checkpoints(&Some(log.next), self.opts));
        // The events themselves are kept, with the run's changes, pruned to the retention.
        if !self.opts.log_retention.is_zero() {
            delta.log_events = log.events.into_iter().map(|e| e.raw).collect();
        }
        delta.log_keep_after = Some(self.opts.log_keep_after());
        let stats = self.record.stats(&self.record.summary());
        Ok(self
            .store
            .apply_delta(self.org, self.record.id(), delta, stats)
            .await?)
    }

    /// The event-derived operations, then what the re-reads and filters found.
    async fn build_delta(&self, events: &[LogEvent]) -> Result<Delta, EngineError> {
        let run = DeltaRun::new(
            self.client,
            self.store,
            self.org,
            self.opts,
            self.record.tally(),
        );
        let mut plan = Plan::default();
        for event in events {
            let kind = classify(event);
            if kind == EventKind::Ignored {
                plan.ignored += 1;
                continue;
            }
            let at = event.published.unwrap_or_else(|| self.opts.clock.now());
            let cause = Cause::event(at, event.uuid.clone())
                .by(actor_of(event))
                .request(event.request_id().map(str::to_owned));
            for (_, module) in modules() {
                module.plan_event(&run, &mut plan, &kind, &cause).await?;
            }
        }
        plan.prune();
        if plan.ignored > 0 {
            tracing::debug!(
                ignored = plan.ignored,
                "Events that change nothing mirrored."
            );
        }
        let mut delta = Delta::default();
        for (op, cause) in plan.take_ops() {
            delta.push(op, cause);
        }

        // What the events name, and the `lastUpdated` cross-checks; then what depends on
        // those results.
        let mut watermarks = self.store.watermarks(self.org).await?;
        if !self.opts.scope.is_whole_org() {
            raise_watermarks(&run, &mut watermarks).await?;
        }
        let mut reads = Vec::new();
        for (_, module) in modules() {
            reads.extend(module.rereads(&run, &plan, &watermarks).await?);
        }
        let mut found = run_rereads(reads).await?;
        let mut reads = Vec::new();
        for (_, module) in modules() {
            reads.extend(module.rereads_given(&run, &plan, &found).await?);
        }
        let then = run_rereads(reads).await?;
        found.extend(then);

        let cause = Cause::read_at(self.opts.clock.now());
        for op in operations(&run, found) {
            delta.push(op, cause.clone());
        }
        if !self.opts.scope.is_whole_org() {
            delta = narrow(&run, delta, &plan.memberships, &watermarks).await?;
        }
        Ok(delta)
    }
}

/// Runs re-reads, [`CONCURRENT_REREADS`] at a time; what they found, in their order.
async fn run_rereads(reads: Vec<Reread<'_>>) -> Result<Vec<Found>, EngineError> {
    futures::stream::iter(reads)
        .buffered(CONCURRENT_REREADS)
        .try_collect()
        .await
}

/// What re-reads found, as operations: the objects read whole, one upsert per resource;
/// then the removals of what was found gone (it goes with its links); then the other
/// operations, resource by resource.
fn operations(run: &DeltaRun<'_>, found: Vec<Found>) -> Vec<DeltaOp> {
    let mut objects: BTreeMap<Resource, Vec<Value>> = BTreeMap::new();
    let mut removals = Vec::new();
    let mut ops: BTreeMap<Resource, Vec<DeltaOp>> = BTreeMap::new();
    for f in found {
        if !f.objects.is_empty() {
            objects.entry(f.resource).or_default().extend(f.objects);
        }
        if let Some(gone) = &f.gone {
            removals.extend(removals_of(run.opts, gone));
        }
        ops.entry(f.resource).or_default().extend(f.ops);
    }
    let upserts = objects.into_iter().filter_map(|(resource, objects)| {
        run.wants(resource)
            .then(|| module(resource).upsert(objects))
            .flatten()
            .map(DeltaOp::Upsert)
    });
    upserts
        .chain(removals)
        .chain(ops.into_values().flatten())
        .collect()
}

/// Who acted in an event, for the change log: `alternateId (type)`, e.g.
/// `admin@example.com (User)` or `0oa1ab2c3 (PublicClientApp)`.
fn actor_of(event: &LogEvent) -> Option<String> {
    let actor = event.actor.as_ref()?;
    let name = actor
        .alternate_id
        .as_deref()
        .or(actor.display_name.as_deref())
        .or(actor.id.as_deref())?;
    Some(match actor.actor_type.as_deref() {
        Some(kind) => format!("{name} ({kind})"),
        None => name.to_owned(),
    })
}
