//! Scheduled syncs, shared by every instance serving one database.
//!
//! Each configured org is polled (an incremental sync from the System Log) every
//! `sync_interval` and reconciled (a full sync) every `reconcile_every`. When a run is due,
//! every instance asks for the org's sync lease; the one that gets it checks again that the
//! run is still due (another may have just done it), runs it and lets go. When the next run
//! is due are two checkpoints in the mirror (`serve.polled_at`, `serve.reconciled_at`), so all
//! instances agree, and a restart resumes the schedule. A holder that dies lets go of the
//! lease within [`oktasync_store::LEASE_TTL`], and the next instance to ask takes over.
//!
//! A sync asked for over the API (`POST /v1/orgs/{org}/syncs`) runs at once under the same
//! lease; while one runs, asking again answers the running one.

use crate::metrics as m;
use crate::problem::{ApiError, ProblemKind};
use chrono::{DateTime, Utc};
use okta_api::OktaClient;
use oktasync_engine::{
    EngineError, Progress, Resource, RunSummary, SyncMode, SyncOptions, WatchStep,
};
use oktasync_store::{
    Lease, Mirror, MirrorReader, MirrorWriter, OrgId, RunId, RunKind, RunOutcome, StoreError,
    timestamp,
};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, watch};

/// How often an instance asks again for a lease another one holds, while a run is due.
pub const LEASE_POLL: Duration = Duration::from_secs(2);
/// The longest wait after failed runs (the wait doubles from `sync_interval` up to this).
pub const MAX_FAILURE_BACKOFF: Duration = Duration::from_secs(600);

const POLLED_AT: &str = "serve.polled_at";
/// When the org was last known current: a poll or run that succeeded (an empty poll records
/// no run, yet proves the mirror fresh).
pub const FRESH_AT: &str = "serve.fresh_at";
const RECONCILED_AT: &str = "serve.reconciled_at";

/// One org `serve` keeps fresh.
pub struct OrgSchedule {
    /// Its short name in the mirror and in URLs.
    pub name: String,
    pub client: OktaClient,
    pub options: SyncOptions,
    /// An incremental sync this often.
    pub sync_interval: Duration,
    /// A full reconcile this often.
    pub reconcile_every: Option<Duration>,
    /// The configured roles (`[[roles]]`), applied after each run that changed the mirror.
    pub roles: Vec<oktasync_store::RoleSpec>,
    /// What follows each run that changed the mirror, after the roles (pushes to targets
    /// with `push_after_sync`): given by the binary, which knows them.
    pub after_changes: Vec<Arc<dyn AfterChanges>>,
    /// What follows every run, changes or not (detection over the events it kept).
    pub after_runs: Vec<Arc<dyn AfterChanges>>,
}

/// Work that follows a run that changed an org's mirror. It reports its own failures (the
/// run itself succeeded).
#[async_trait::async_trait]
pub trait AfterChanges: Send + Sync {
    async fn after_changes(&self, store: &Mirror, org: OrgId);
}

/// Where a run of this instance is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunState {
    /// Holding the lease; the run is not recorded yet.
    Starting,
    Recorded(RunId),
    /// Over; the id if it was recorded.
    Ended(Option<RunId>),
}

/// What a run does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Job {
    /// A scheduled poll of the System Log (no run recorded when it is empty).
    Poll,
    /// A scheduled full sync checking the mirror.
    Reconcile,
    /// Asked for over the API: incremental when possible, or full.
    Requested { full: bool },
}

/// One org as the scheduler keeps it.
pub struct ScheduledOrg {
    pub id: OrgId,
    schedule: OrgSchedule,
    /// Held while deciding to start a run, so that two requests start one.
    starting: Mutex<()>,
    current: parking_lot_free::Slot<watch::Receiver<RunState>>,
}

/// A tiny mutex-protected optional value (std's Mutex: never held across an await).
mod parking_lot_free {
    pub struct Slot<T>(std::sync::Mutex<Option<T>>);
    impl<T: Clone> Slot<T> {
        pub fn new() -> Self {
            Self(std::sync::Mutex::new(None))
        }
        pub fn get(&self) -> Option<T> {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
        }
        pub fn set(&self, value: Option<T>) {
            *self.0.lock().unwrap_or_else(|e| e.into_inner()) = value;
        }
    }
}

pub struct Scheduler {
    store: Arc<Mirror>,
    orgs: BTreeMap<String, Arc<ScheduledOrg>>,
    shutdown: watch::Receiver<bool>,
}

/// A sync asked for over the API: the run answering it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Started {
    pub run: RunId,
    /// Whether it was already running (another request, or the schedule, started it).
    pub already_running: bool,
}

impl Scheduler {
    /// Registers the orgs (creating them in the mirror, under their names).
    pub async fn new(
        store: Arc<Mirror>,
        schedules: Vec<OrgSchedule>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Self, StoreError> {
        let mut orgs = BTreeMap::new();
        for schedule in schedules {
            let id = store
                .ensure_org(
                    &schedule.client.org().origin(),
                    schedule.options.clock.now(),
                )
                .await?;
            store.set_org_name(id, &schedule.name).await?;
            orgs.insert(
                schedule.name.to_ascii_lowercase(),
                Arc::new(ScheduledOrg {
                    id,
                    schedule,
                    starting: Mutex::new(()),
                    current: parking_lot_free::Slot::new(),
                }),
            );
        }
        Ok(Self {
            store,
            orgs,
            shutdown,
        })
    }

    /// The org this instance syncs under this name.
    pub fn org(&self, name: &str) -> Option<&Arc<ScheduledOrg>> {
        self.orgs.get(&name.to_ascii_lowercase())
    }

    /// Runs every org's schedule until shutdown.
    pub async fn run(self: Arc<Self>) {
        let loops: Vec<_> = self
            .orgs
            .values()
            .map(|org| tokio::spawn(self.clone().org_loop(org.clone())))
            .collect();
        for task in loops {
            let _ = task.await;
        }
    }

    fn stopping(&self) -> bool {
        *self.shutdown.borrow()
    }

    async fn org_loop(self: Arc<Self>, org: Arc<ScheduledOrg>) {
        let mut shutdown = self.shutdown.clone();
        let mut failures = 0u32;
        loop {
            let wait = match self.until_due(&org).await {
                Ok(wait) => wait,
                Err(e) => {
                    tracing::warn!(org = %org.schedule.name, error = %e, "Cannot read the schedule; retrying.");
                    LEASE_POLL
                }
            };
            let wait = wait.max(backoff(org.schedule.sync_interval, failures));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                _ = shutdown.changed() => {}
            }
            if self.stopping() {
                return;
            }
            match self.run_if_due(&org).await {
                Ok(Some(Ok(()))) => failures = 0,
                Ok(Some(Err(e))) => {
                    failures = failures.saturating_add(1);
                    if oktasync_engine::permanent(&e) {
                        tracing::error!(org = %org.schedule.name, error = %e, "Scheduled sync failed; retrying cannot fix this: fix the org's settings and restart.");
                    } else {
                        tracing::warn!(org = %org.schedule.name, error = %e, "Scheduled sync failed; retrying later.");
                    }
                }
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(org = %org.schedule.name, error = %e, "Cannot schedule a sync; retrying.");
                    failures = failures.saturating_add(1);
                }
            }
        }
    }

    /// How long until the org's next scheduled run is due (zero: due now).
    async fn until_due(&self, org: &ScheduledOrg) -> Result<Duration, StoreError> {
        let (job_at, _) = self.next_job(org).await?;
        let now = org.schedule.options.clock.now();
        Ok((job_at - now).to_std().unwrap_or(Duration::ZERO))
    }

    /// When the next scheduled run is due, and which.
    async fn next_job(&self, org: &ScheduledOrg) -> Result<(DateTime<Utc>, Job), StoreError> {
        let read = |name: &'static str| async move {
            Ok::<_, StoreError>(
                self.store
                    .checkpoint(org.id, name)
                    .await?
                    .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
                    .map(|t| t.with_timezone(&Utc)),
            )
        };
        let now = org.schedule.options.clock.now();
        let poll_at = read(POLLED_AT)
            .await?
            .map_or(now, |t| t + chrono_duration(org.schedule.sync_interval));
        if let Some(every) = org.schedule.reconcile_every
            && let Some(reconciled) = read(RECONCILED_AT).await?
        {
            let reconcile_at = reconciled + chrono_duration(every);
            if reconcile_at <= poll_at {
                return Ok((reconcile_at, Job::Reconcile));
            }
        }
        Ok((poll_at, Job::Poll))
    }

    /// Takes the lease and runs the scheduled job if it is (still) due; `None` when another
    /// instance holds the org or did the job.
    async fn run_if_due(
        &self,
        org: &Arc<ScheduledOrg>,
    ) -> Result<Option<Result<(), EngineError>>, StoreError> {
        let guard = org.starting.lock().await;
        if org.current.get().is_some() {
            return Ok(None);
        }
        let lease = match self
            .store
            .acquire_sync_lease(org.id, org.schedule.options.clock.now())
            .await
        {
            Ok(lease) => lease,
            Err(StoreError::LeaseHeld { .. }) => {
                drop(guard);
                tokio::time::sleep(LEASE_POLL).await;
                return Ok(None);
            }
            Err(e) => return Err(e),
        };
        let (at, job) = self.next_job(org).await?;
        if at > org.schedule.options.clock.now() {
            lease.release().await?;
            return Ok(None);
        }
        let (tx, rx) = watch::channel(RunState::Starting);
        org.current.set(Some(rx));
        drop(guard);
        Ok(Some(self.run_held(org, lease, job, tx).await))
    }

    /// Starts a sync now, or answers the one running.
    pub async fn request(
        self: &Arc<Self>,
        org: &Arc<ScheduledOrg>,
        full: bool,
    ) -> Result<Started, ApiError> {
        let guard = org.starting.lock().await;
        if let Some(rx) = org.current.get() {
            drop(guard);
            return recorded(rx).await.map(|run| Started {
                run,
                already_running: true,
            });
        }
        let lease = match self
            .store
            .acquire_sync_lease(org.id, org.schedule.options.clock.now())
            .await
        {
            Ok(lease) => lease,
            Err(held @ StoreError::LeaseHeld { .. }) => {
                drop(guard);
                return self.running_elsewhere(org, &held).await;
            }
            Err(e) => return Err(e.into()),
        };
        let (tx, rx) = watch::channel(RunState::Starting);
        org.current.set(Some(rx.clone()));
        drop(guard);
        let job = Job::Requested { full };
        let scheduler = self.clone();
        let task_org = org.clone();
        tokio::spawn(async move {
            if let Err(e) = scheduler.run_held(&task_org, lease, job, tx).await {
                tracing::warn!(org = %task_org.schedule.name, error = %e, "Requested sync failed.");
            }
        });
        recorded(rx).await.map(|run| Started {
            run,
            already_running: false,
        })
    }

    /// The run another instance is doing for the org (it holds the lease).
    async fn running_elsewhere(
        &self,
        org: &ScheduledOrg,
        held: &StoreError,
    ) -> Result<Started, ApiError> {
        // The holder records its run right after taking the lease; give it a moment.
        for _ in 0..25 {
            let runs = self.store.recent_runs(org.id, 3).await?;
            if let Some(run) = runs.iter().find(|r| r.outcome == RunOutcome::Running) {
                return Ok(Started {
                    run: RunId(run.run_id),
                    already_running: true,
                });
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Err(ApiError::new(
            ProblemKind::Conflict,
            format!("{held}; ask again in a few seconds"),
        ))
    }

    /// Runs `job` holding `lease`, then lets go; reports through `state`.
    async fn run_held(
        &self,
        org: &ScheduledOrg,
        mut lease: Lease,
        job: Job,
        state: watch::Sender<RunState>,
    ) -> Result<(), EngineError> {
        let clock = org.schedule.options.clock.clone();
        lease.renew_in_background(move || clock.now());
        let progress: Arc<dyn Progress> = Arc::new(ServeProgress {
            state: state.clone(),
        });
        let client = &org.schedule.client;
        let opts = &org.schedule.options;
        let store: &Mirror = &self.store;
        let work = async {
            match job {
                Job::Poll => oktasync_engine::watch_step(client, store, opts, progress)
                    .await
                    .map(|step| match step {
                        WatchStep::Idle => None,
                        WatchStep::Ran { summary, .. } => Some(*summary),
                    }),
                Job::Reconcile | Job::Requested { full: true } => {
                    oktasync_engine::sync(client, store, opts, SyncMode::Full, progress)
                        .await
                        .map(Some)
                }
                Job::Requested { full: false } => {
                    oktasync_engine::sync(client, store, opts, SyncMode::Auto, progress)
                        .await
                        .map(Some)
                }
            }
        };
        let mut shutdown = self.shutdown.clone();
        let outcome = tokio::select! {
            result = work => Some(result),
            _ = shutdown.wait_for(|stop| *stop) => None,
            () = lease_lost(&lease) => Some(Err(EngineError::Store(StoreError::LeaseLost {
                org: client.org().origin(),
            }))),
        };
        let result = match outcome {
            None => {
                // Stopping: the run is abandoned (its staging discarded, the mirror as it was).
                let _ = self.store.mark_own_runs_interrupted().await;
                if matches!(*state.borrow(), RunState::Recorded(_)) {
                    m::record_interrupted(&org.schedule.name);
                }
                Ok(())
            }
            Some(Ok(summary)) => {
                let now = org.schedule.options.clock.now();
                if let Some(summary) = &summary {
                    m::record_run(&org.schedule.name, summary);
                    // Role changes follow the membership changes the run brought in.
                    if !org.schedule.roles.is_empty()
                        && let Err(e) = oktasync_store::Roles::apply_roles(
                            self.store.as_ref(),
                            org.id,
                            &org.schedule.roles,
                            now,
                        )
                        .await
                    {
                        tracing::warn!(org = %org.schedule.name, error = %e, "Cannot apply the configured roles; the next run tries again.");
                    }
                    if summary.changes.values().any(|c| c.total() > 0) {
                        for work in &org.schedule.after_changes {
                            work.after_changes(self.store.as_ref(), org.id).await;
                        }
                    }
                    for work in &org.schedule.after_runs {
                        work.after_changes(self.store.as_ref(), org.id).await;
                    }
                }
                let mut checkpoints = BTreeMap::new();
                checkpoints.insert(POLLED_AT.to_owned(), timestamp(now));
                checkpoints.insert(FRESH_AT.to_owned(), timestamp(now));
                let full = summary
                    .as_ref()
                    .is_some_and(|s| s.kind != RunKind::Incremental);
                let unset = self
                    .store
                    .checkpoint(org.id, RECONCILED_AT)
                    .await?
                    .is_none();
                if full || unset {
                    checkpoints.insert(RECONCILED_AT.to_owned(), timestamp(now));
                }
                self.store.set_checkpoints(org.id, &checkpoints).await?;
                Ok(())
            }
            Some(Err(e)) => {
                if let EngineError::RunFailed { summary, .. } = &e {
                    m::record_run(&org.schedule.name, summary);
                }
                // A failed attempt counts as a poll, so that instances do not retry at once.
                let mut checkpoints = BTreeMap::new();
                checkpoints.insert(
                    POLLED_AT.to_owned(),
                    timestamp(org.schedule.options.clock.now()),
                );
                let _ = self.store.set_checkpoints(org.id, &checkpoints).await;
                Err(e)
            }
        };
        let recorded = match *state.borrow() {
            RunState::Recorded(run) => Some(run),
            _ => None,
        };
        org.current.set(None);
        let _ = state.send(RunState::Ended(recorded));
        if let Err(e) = lease.release().await {
            tracing::warn!(error = %e, "Could not release the sync lease; it expires on its own.");
        }
        result
    }

    /// Stops: marks this process's unfinished runs interrupted.
    pub async fn stopped(&self) {
        if let Err(e) = self.store.mark_own_runs_interrupted().await {
            tracing::warn!(error = %e, "Could not mark abandoned runs interrupted.");
        }
    }

    pub fn orgs(&self) -> impl Iterator<Item = &Arc<ScheduledOrg>> {
        self.orgs.values()
    }
}

impl ScheduledOrg {
    pub fn name(&self) -> &str {
        &self.schedule.name
    }
}

/// The id of the run behind `rx`, once recorded.
async fn recorded(mut rx: watch::Receiver<RunState>) -> Result<RunId, ApiError> {
    let state = rx
        .wait_for(|s| !matches!(s, RunState::Starting))
        .await
        .map(|s| *s)
        .unwrap_or(RunState::Ended(None));
    match state {
        RunState::Recorded(run) | RunState::Ended(Some(run)) => Ok(run),
        _ => Err(ApiError::new(
            ProblemKind::Internal,
            "the sync stopped before it was recorded; the server's log says why",
        )),
    }
}

/// Resolves when the lease is found taken over by another process.
async fn lease_lost(lease: &Lease) {
    while !lease.is_lost() {
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn backoff(interval: Duration, failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    interval
        .saturating_mul(1u32 << failures.min(16))
        .min(MAX_FAILURE_BACKOFF)
}

fn chrono_duration(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// Progress of a served run: its id as soon as it is recorded; the rest to the log.
struct ServeProgress {
    state: watch::Sender<RunState>,
}

impl Progress for ServeProgress {
    fn started(&self, resource: Resource, _total: Option<u64>) {
        tracing::debug!(%resource, "Reading started.");
    }
    fn advanced(&self, _resource: Resource, _n: u64) {}
    fn finished(&self, resource: Resource) {
        tracing::debug!(%resource, "Reading finished.");
    }
    fn note(&self, message: &str) {
        tracing::info!("{message}");
    }
    fn run_started(&self, run: RunId, kind: RunKind) {
        tracing::info!(run_id = run.0, %kind, "Run started.");
        let _ = self.state.send(RunState::Recorded(run));
    }
    fn run_applied(&self, summary: &RunSummary) {
        tracing::info!(run_id = summary.run_id, kind = %summary.kind, "Run applied.");
    }
}
