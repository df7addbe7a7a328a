//! Full sync: read every selected resource with the fewest calls and replace the mirror with
//! what was read, as one unit.
//!
//! What each resource lists, and what follows from its pages, is its module's
//! ([`crate::resources`]; `architecture.md`, "Full sync with the fewest calls"): users,
//! groups with their stats, then the members of non-empty groups and the roles of groups
//! that may hold one, apps then their user and group assignments, role assignees then their
//! roles, IdPs, and the factors of each user as soon as the user is known to be in the
//! factor scope, so that they are not left for the end. This module runs the listings.
//!
//! Listings that may be long start first, because their pages can only be read one after
//! another: member listings largest group first, app user listings before app group listings
//! (one page per app, nearly always). The client's governor then keeps part of each window's
//! budget for the next pages of listings under way, so what is left for a run's last window
//! is short listings that go at once.
//!
//! At most [`CONCURRENT_LISTINGS`] listings run at once, [`LISTINGS_PER_RESOURCE`] of one
//! resource; the client's governor paces the requests. A listing that completes may add
//! listings (groups → member listings). Pages go through a bounded queue
//! ([`STORE_QUEUE_BATCHES`]) to one writer that stages them, so memory holds a few pages,
//! whatever the size of the org.

use crate::error::EngineError;
use crate::listing::{Listing, ListingRun};
use crate::options::RESOURCES_CHECKPOINT;
use crate::options::{Resource, SyncOptions};
use crate::progress::Progress;
use crate::reading::failed_reading;
use crate::resources::{module, modules};
use crate::run_record::RunStarting;
use crate::scope::SCOPE_CHECKPOINT;
use crate::scope::full::read_scope;
use crate::summary::RunSummary;
use crate::system_log::{LogStartError, log_checkpoints, start_log};
use okta_api::OktaClient;
use oktasync_store::{Batch, FullSyncSession, RunKind, Store, StoreError};
use std::collections::{BTreeMap, VecDeque};
use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinSet;

/// Listings (paginated endpoints, or single calls) in progress at once. Each holds at most
/// one request in flight, and the client's governor caps requests in flight on its own
/// (16 by default, well under Okta's org limit of 35-75). A listing that waits for its
/// bucket's budget holds one of these slots while it waits, so there are more slots than
/// requests in flight: otherwise listings paced by one small bucket (apps: 100 a minute)
/// would leave another bucket's budget unused. Measured with `oktasync bench --size medium
/// --rate-limits workforce --time-scale 10 --latency-ms 100`: 16 slots took 2.2x the time
/// the limits allow, 64 slots 1.97x (the rest is the governor's pacing of the groups bucket).
pub const CONCURRENT_LISTINGS: usize = 64;

/// Listing slots one resource may hold at once. Listings waiting on a small bucket's budget
/// (app users: 100 a minute) would otherwise end up holding most slots while another
/// bucket's listings (memberships) wait for one.
pub const LISTINGS_PER_RESOURCE: usize = 24;

/// Pages waiting for the store writer. When the store falls behind, listings wait here
/// instead of piling pages up in memory.
pub const STORE_QUEUE_BATCHES: usize = 32;

/// Most queued pages staged in one write: fewer database round trips (which cost
/// milliseconds on a busy machine) without holding many pages in memory at once.
pub const BATCHES_PER_WRITE: usize = 8;

/// How often the run checks whether requests are waiting on rate limits, to say so.
const RATE_LIMIT_NOTE_INTERVAL: Duration = Duration::from_secs(2);

/// Mirrors the org behind `client` into `store`: every resource in `opts`, with the fewest
/// calls, committed as one unit. The run is recorded in `sync_runs`, also when it fails
/// ([`EngineError::RunFailed`], the mirror keeping its previous state).
pub async fn full_sync(
    client: &OktaClient,
    store: &dyn Store,
    opts: &SyncOptions,
    progress: Arc<dyn Progress>,
) -> Result<RunSummary, EngineError> {
    run_full(client, store, opts, RunKind::Full, progress).await
}

/// A full sync recorded as `kind`: `full`, or `reconcile` when it checks an existing mirror
/// (what it changes is then drift).
pub(crate) async fn run_full(
    client: &OktaClient,
    store: &dyn Store,
    opts: &SyncOptions,
    kind: RunKind,
    progress: Arc<dyn Progress>,
) -> Result<RunSummary, EngineError> {
    let starting = RunStarting::now(client, opts, kind);
    let org = store
        .ensure_org(&client.org().origin(), starting.started_at())
        .await?;
    let mut session = store.begin_full_sync(org, starting.run_start()).await?;
    // Incremental runs continue only under the scope the mirror was read with.
    session.set_checkpoint(SCOPE_CHECKPOINT, opts.scope.to_string());
    // ... and only for the resources it read.
    session.set_checkpoint(RESOURCES_CHECKPOINT, opts.mirrored().join(","));
    let record = starting.recorded(session.run_id());
    progress.run_started(session.run_id(), kind);
    let run_id = record.id().0;

    // Where the next incremental run starts reading the System Log: a little before the
    // listings begin, so that nothing changed while they run is missed; the events since
    // `log_backfill` ago are kept on the way.
    let log_failure = match start_log(client, store, org, opts).await {
        Ok(start) => {
            record.tally().add_calls(start.calls);
            for (name, value) in log_checkpoints(&start.next, opts) {
                session.set_checkpoint(&name, value);
            }
            if start.kept > 0 {
                let rate = start.kept as f64 / start.seconds.max(1e-9);
                tracing::info!(
                    run_id,
                    kept = start.kept,
                    seconds = start.seconds,
                    "Kept the System Log."
                );
                progress.note(&format!(
                    "kept {} System Log events from the last {:.1} days ({:.0} events/s)",
                    start.kept,
                    opts.log_backfill.min(opts.log_retention).as_secs_f64() / 86_400.0,
                    rate
                ));
            }
            None
        }
        Err(LogStartError::Store(e)) => Some(EngineError::Store(e)),
        // Only the log is refused (a scope or role): the mirror can still be read in full.
        Err(LogStartError::Read(e)) if e.category() == okta_api::ErrorCategory::Permission => {
            let message = format!(
                "the System Log cannot be read ({e}); the next sync will be a full sync again"
            );
            tracing::warn!(run_id, "{message}");
            progress.note(&message);
            None
        }
        // Bad credentials, an unreachable org, a broken server: every read would fail the
        // same way, so the run fails now, with that cause.
        Err(LogStartError::Read(cause)) => Some(failed_reading("the System Log")(cause)),
    };

    let failure = match log_failure {
        Some(cause) => Some(cause),
        None => {
            let started = tokio::time::Instant::now();
            let (tx, rx) = mpsc::channel(STORE_QUEUE_BATCHES);
            let run = ListingRun::new(
                client.clone(),
                opts.clone(),
                progress.clone(),
                record.tally().clone(),
                tx,
            );
            // The run (with the queue's sender) is dropped when reading ends: the writer
            // then stages what is queued and returns.
            let fetch = async move {
                if run.opts.scope.is_whole_org() {
                    read_org(run).await
                } else {
                    read_scope(&run).await
                }
            };
            let write = write_batches(&mut *session, rx);
            let (fetched, written) = tokio::join!(fetch, write);
            let read_s = started.elapsed().as_secs_f64();
            tracing::info!(run_id, read_s, "Read the org.");
            match (fetched, written) {
                (_, Err(store_error)) => Some(EngineError::Store(store_error)),
                (Err(fetch_error), Ok(())) => Some(fetch_error),
                (Ok(()), Ok(())) => None,
            }
        }
    };

    let (summary, stats) = record.ending();
    let result = match failure {
        None => session
            .commit(&opts.tables(), stats)
            .await
            .map_err(EngineError::from),
        Some(cause) => {
            if let Err(e) = session.fail(&cause.to_string(), stats).await {
                tracing::warn!(run_id, error = %e, "Could not record the failed run.");
            }
            Err(cause)
        }
    };
    record.ended(summary, result)
}

/// Says so, every [`RATE_LIMIT_NOTE_INTERVAL`], while requests wait on rate limits. Never
/// returns; run it alongside the work.
async fn rate_limit_notes(client: OktaClient, progress: Arc<dyn Progress>) {
    let base = client.metrics().rate_limit_wait;
    let mut last = base;
    loop {
        tokio::time::sleep(RATE_LIMIT_NOTE_INTERVAL).await;
        let m = client.metrics();
        if m.rate_limit_wait - last > 0.1 {
            progress.note(&format!(
                "waiting on Okta rate limits: {} requests held now, {:.0} s of this run so far",
                m.requests_waiting,
                m.rate_limit_wait - base
            ));
        }
        last = m.rate_limit_wait;
    }
}

/// Stages every batch it receives; on a store error it stops taking batches (the senders
/// then fail) and returns the error.
async fn write_batches(
    session: &mut dyn FullSyncSession,
    mut rx: mpsc::Receiver<Batch>,
) -> Result<(), StoreError> {
    let mut staging = Duration::ZERO;
    let mut batches = 0u64;
    let mut waiting = Vec::with_capacity(BATCHES_PER_WRITE);
    // What has queued up is staged together: fewer round trips to the database.
    while rx.recv_many(&mut waiting, BATCHES_PER_WRITE).await > 0 {
        let began = tokio::time::Instant::now();
        session.stage_all(&waiting).await?;
        staging += began.elapsed();
        batches += waiting.len() as u64;
        waiting.clear();
    }
    tracing::info!(
        batches,
        staging_s = staging.as_secs_f64(),
        "Staged every page."
    );
    Ok(())
}

/// The org, read: every listing, and the ones they make necessary.
async fn read_org(run: ListingRun) -> Result<(), EngineError> {
    let run = Arc::new(run);
    let notes = rate_limit_notes(run.client.clone(), run.progress());
    let mut first = Vec::new();
    for (resource, module) in modules() {
        first.extend(module.first_listings(&run));
        if module.started_by().is_none() {
            run.started(resource, None);
        }
    }
    let work = run_listings(&run, first);
    tokio::select! {
        result = work => result,
        () = notes => Ok(()),
    }
}

/// Resources whose progress `listing` holds open: its own, and those it may add listings
/// of.
fn holds_open(listing: &Listing) -> impl Iterator<Item = Resource> {
    let module = module(listing.resource);
    std::iter::once(listing.resource).chain(module.may_add(listing).iter().copied())
}

/// Runs listings (and the listings they add) to the end, [`CONCURRENT_LISTINGS`] at a time,
/// and reports each resource finished when none of its listings is pending or can still be
/// added.
async fn run_listings(run: &Arc<ListingRun>, listings: Vec<Listing>) -> Result<(), EngineError> {
    // Listings pending or running that hold each resource open.
    let mut open: BTreeMap<Resource, usize> = BTreeMap::new();
    let mut pending = PendingListings::default();
    let add =
        |open: &mut BTreeMap<Resource, usize>, pending: &mut PendingListings, listing: Listing| {
            for r in holds_open(&listing) {
                *open.entry(r).or_default() += 1;
            }
            pending.push(listing);
        };
    for listing in listings {
        add(&mut open, &mut pending, listing);
    }
    let mut running: JoinSet<(Listing, Result<Vec<Listing>, EngineError>)> = JoinSet::new();
    let mut running_by: BTreeMap<Resource, usize> = BTreeMap::new();
    loop {
        while running.len() < CONCURRENT_LISTINGS {
            let Some(listing) =
                pending.pop(|r| running_by.get(&r).copied().unwrap_or(0) < LISTINGS_PER_RESOURCE)
            else {
                break;
            };
            *running_by.entry(listing.resource).or_default() += 1;
            let run = run.clone();
            running.spawn(async move {
                let result = module(listing.resource).read(&run, &listing).await;
                (listing, result)
            });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (listing, result) = match joined {
            Ok(done) => done,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => {
                running.shutdown().await;
                return Err(EngineError::Internal(format!(
                    "a listing task was cancelled: {e}"
                )));
            }
        };
        let followups = match result {
            Ok(followups) => followups,
            Err(e) => {
                // Stop every other listing now; their pages are not needed any more.
                running.shutdown().await;
                return Err(e);
            }
        };
        if let Some(n) = running_by.get_mut(&listing.resource) {
            *n -= 1;
        }
        let found = modules().flat_map(|(_, m)| m.listings_found(run));
        for followup in followups.into_iter().chain(found) {
            add(&mut open, &mut pending, followup);
        }
        for r in holds_open(&listing) {
            let n = open.entry(r).or_default();
            *n -= 1;
            if *n == 0 {
                run.finished(r);
            }
        }
    }
    Ok(())
}

/// Listings waiting for a slot, one queue per resource, handed out round-robin.
///
/// Resources map onto different rate-limit buckets. One FIFO queue would let the thousand
/// membership listings that `groups` adds hold every slot while the app listings (a much
/// smaller bucket) wait behind them, so the run would take the sum of the buckets' times
/// instead of the slowest bucket's.
#[derive(Default)]
struct PendingListings {
    queues: BTreeMap<Resource, VecDeque<Listing>>,
    /// The resource that was served last.
    last: Option<Resource>,
}

impl PendingListings {
    fn push(&mut self, listing: Listing) {
        self.queues
            .entry(listing.resource)
            .or_default()
            .push_back(listing);
    }

    /// The next listing of the first resource after the last one served that has any, that
    /// `may_start` allows, and whose listings do not start after another resource's pending
    /// ones.
    fn pop(&mut self, may_start: impl Fn(Resource) -> bool) -> Option<Listing> {
        let after_last = self.last.map_or(Bound::Unbounded, Bound::Excluded);
        let has_pending = |r: Resource| self.queues.get(&r).is_some_and(|queue| !queue.is_empty());
        // From just after the last one served to the end, then from the start again.
        let next = self
            .queues
            .range((after_last, Bound::Unbounded))
            .chain(self.queues.range(..))
            .find(|(resource, queue)| {
                !queue.is_empty()
                    && may_start(**resource)
                    && !module(**resource).starts_after().is_some_and(has_pending)
            })
            .map(|(resource, _)| *resource)?;
        self.last = Some(next);
        self.queues.get_mut(&next)?.pop_front()
    }
}

#[cfg(test)]
mod pending_listings_tests {
    use super::*;
    use crate::events::Object;

    fn of(resource: Resource, object: Object) -> Listing {
        Listing::of(resource, object)
    }

    #[test]
    fn resources_take_turns() {
        let mut pending = PendingListings::default();
        for n in 0..3 {
            pending.push(of(Resource::Memberships, Object::Group(format!("g{n}"))));
        }
        pending.push(of(Resource::AppUsers, Object::App("a0".into())));
        pending.push(of(Resource::AppGroups, Object::App("a0".into())));
        let order: Vec<Resource> = std::iter::from_fn(|| pending.pop(|_| true))
            .map(|listing| listing.resource)
            .collect();
        assert_eq!(
            order,
            [
                Resource::Memberships,
                Resource::AppUsers,
                Resource::AppGroups,
                Resource::Memberships,
                Resource::Memberships,
            ]
        );
    }

    #[test]
    fn app_group_listings_wait_for_app_user_listings() {
        let mut pending = PendingListings::default();
        for n in 0..2 {
            pending.push(of(Resource::AppGroups, Object::App(format!("a{n}"))));
            pending.push(of(Resource::AppUsers, Object::App(format!("a{n}"))));
        }
        pending.push(Listing::org(Resource::Idps));
        let order: Vec<Resource> = std::iter::from_fn(|| pending.pop(|_| true))
            .map(|listing| listing.resource)
            .collect();
        assert_eq!(
            order,
            [
                Resource::AppUsers,
                Resource::Idps,
                Resource::AppUsers,
                Resource::AppGroups,
                Resource::AppGroups,
            ]
        );
    }
}
