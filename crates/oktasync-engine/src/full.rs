//! Full sync: read every selected resource with the fewest calls and replace the mirror with
//! what was read, as one unit.
//!
//! The plan (`architecture.md`, "Full sync with the fewest calls"):
//! - users: `GET /users` with a filter naming every status (the unfiltered list hides
//!   DEPROVISIONED users), 200 per page;
//! - groups: `GET /groups?expand=stats`, 200 per page; `usersCount` lets us skip the member
//!   listing of empty groups, `hasAdminPrivlege` tells which groups need `/groups/{id}/roles`;
//! - memberships: `GET /groups/{id}/users?limit=1000` for non-empty groups only;
//! - apps: `GET /apps`, then `/apps/{id}/users` (500 per page) and `/apps/{id}/groups` (200);
//! - roles: `GET /iam/assignees/users`, then `/users/{id}/roles` (only assignments made to
//!   the user directly are kept under the user; group grants are kept under the group);
//! - idps: `GET /idps`; factors: `/users/{id}/factors` per user in scope (admins by default:
//!   role holders directly or through a group), each read as soon as its user is known to be
//!   in scope (from roles and memberships), so that they are not left for the end.
//!
//! Listings that may be long start first, because their pages can only be read one after
//! another: member listings largest group first, app user listings before app group listings
//! (one page per app, nearly always). The client's governor then keeps part of each window's
//! budget for the next pages of listings under way, so what is left for a run's last window
//! is short listings that go at once.
//!
//! Listings run as jobs, at most [`CONCURRENT_LISTINGS`] at once; the client's governor
//! paces the requests. A job that completes may add jobs (groups → member listings). Pages
//! go through a bounded queue ([`STORE_QUEUE_BATCHES`]) to one writer that stages them, so
//! memory holds a few pages, whatever the size of the org.

use crate::error::EngineError;
use crate::options::{FactorScope, Resource, SyncOptions};
use crate::progress::Progress;
use crate::reading::{each_page, empty_if_gone, failed_reading, pages_needed};
use crate::run_record::RunStarting;
use crate::summary::{RunSummary, Tally};
use crate::system_log::{log_checkpoints, position_log};
use futures::StreamExt;
use okta_api::{
    APP_GROUPS_PAGE_LIMIT, APP_USERS_PAGE_LIMIT, APPS_PAGE_LIMIT, GROUP_USERS_PAGE_LIMIT,
    GROUPS_PAGE_LIMIT, IDPS_PAGE_LIMIT, OktaClient, PageStream, ROLE_ASSIGNEES_PAGE_LIMIT,
    USERS_PAGE_LIMIT,
};
use oktasync_store::{AssigneeType, Batch, FullSyncSession, RunKind, Store, StoreError};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
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
    let record = starting.recorded(session.run_id());
    let run_id = record.id().0;

    // Where the next incremental run starts reading the System Log: a little before the
    // listings begin, so that nothing changed while they run is missed.
    let log_failure = match position_log(client, opts).await {
        Ok((next, calls)) => {
            record.tally().calls(calls);
            for (name, value) in log_checkpoints(&next, opts) {
                session.set_checkpoint(&name, value);
            }
            None
        }
        // Only the log is refused (a scope or role): the mirror can still be read in full.
        Err(e) if e.category() == okta_api::ErrorCategory::Permission => {
            let message = format!(
                "the System Log cannot be read ({e}); the next sync will be a full sync again"
            );
            tracing::warn!(run_id, "{message}");
            progress.note(&message);
            None
        }
        // Bad credentials, an unreachable org, a broken server: every read would fail the
        // same way, so the run fails now, with that cause.
        Err(cause) => Some(failed_reading("the System Log")(cause)),
    };

    let failure = match log_failure {
        Some(cause) => Some(cause),
        None => {
            let started = tokio::time::Instant::now();
            let ctx = Arc::new(Ctx {
                client: client.clone(),
                opts: opts.clone(),
                progress: progress.clone(),
                tally: record.tally().clone(),
                shared: Mutex::new(Shared::default()),
            });
            let (tx, rx) = mpsc::channel(STORE_QUEUE_BATCHES);
            let fetch = read_org(ctx, tx);
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
async fn read_org(ctx: Arc<Ctx>, tx: mpsc::Sender<Batch>) -> Result<(), EngineError> {
    let notes = rate_limit_notes(ctx.client.clone(), ctx.progress.clone());
    let work = run_jobs(&ctx, &tx, ctx.initial_jobs());
    tokio::select! {
        result = work => result,
        () = notes => Ok(()),
    }
}

/// One listing.
#[derive(Debug, Clone)]
enum Job {
    Users,
    Groups,
    Apps,
    Idps,
    RoleAssignees,
    GroupMembers {
        group_id: String,
        admin: bool,
        /// The group's `usersCount`, if its stats said.
        expected: Option<u64>,
    },
    GroupRoles {
        group_id: String,
    },
    AppUsers {
        app_id: String,
    },
    AppGroups {
        app_id: String,
    },
    UserRoles {
        user_id: String,
    },
    Factors {
        user_id: String,
    },
}

impl Job {
    /// The resource whose progress this job advances.
    fn resource(&self) -> Resource {
        match self {
            Job::Users => Resource::Users,
            Job::Groups => Resource::Groups,
            Job::Apps => Resource::Apps,
            Job::Idps => Resource::Idps,
            Job::RoleAssignees | Job::GroupRoles { .. } | Job::UserRoles { .. } => Resource::Roles,
            Job::GroupMembers { .. } => Resource::Memberships,
            Job::AppUsers { .. } => Resource::AppUsers,
            Job::AppGroups { .. } => Resource::AppGroups,
            Job::Factors { .. } => Resource::Factors,
        }
    }

    /// Resources whose jobs this job may add (factors: as users turn out to be in scope).
    fn spawns(&self) -> &'static [Resource] {
        match self {
            Job::Groups => &[Resource::Memberships, Resource::Roles, Resource::Factors],
            Job::Apps => &[Resource::AppUsers, Resource::AppGroups],
            Job::Users | Job::RoleAssignees | Job::GroupMembers { .. } | Job::GroupRoles { .. } => {
                &[Resource::Factors]
            }
            _ => &[],
        }
    }

    /// Another resource whose pending jobs go before this job's, because they may be long
    /// listings and this one is a single page nearly always.
    fn starts_after(&self) -> Option<Resource> {
        match self {
            Job::AppGroups { .. } => Some(Resource::AppUsers),
            _ => None,
        }
    }
}

/// Runs jobs (and the jobs they add) to the end, [`CONCURRENT_LISTINGS`] at a time, and
/// reports each resource finished when no job of it is pending or can still be added.
async fn run_jobs(
    ctx: &Arc<Ctx>,
    tx: &mpsc::Sender<Batch>,
    jobs: Vec<Job>,
) -> Result<(), EngineError> {
    let mut open: BTreeMap<Resource, usize> = BTreeMap::new();
    let track = |open: &mut BTreeMap<Resource, usize>, job: &Job| {
        for r in std::iter::once(job.resource()).chain(job.spawns().iter().copied()) {
            *open.entry(r).or_default() += 1;
        }
    };
    let mut pending = PendingJobs::default();
    for job in jobs {
        track(&mut open, &job);
        pending.push(job);
    }
    let mut running: JoinSet<(Job, Result<Vec<Job>, EngineError>)> = JoinSet::new();
    let mut running_by: BTreeMap<Resource, usize> = BTreeMap::new();
    loop {
        while running.len() < CONCURRENT_LISTINGS {
            let Some(job) =
                pending.pop(|r| running_by.get(&r).copied().unwrap_or(0) < LISTINGS_PER_RESOURCE)
            else {
                break;
            };
            *running_by.entry(job.resource()).or_default() += 1;
            let (ctx, tx) = (ctx.clone(), tx.clone());
            running.spawn(async move {
                let result = run_job(&ctx, &tx, &job).await;
                (job, result)
            });
        }
        let Some(joined) = running.join_next().await else {
            break;
        };
        let (job, result) = match joined {
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
        if let Some(n) = running_by.get_mut(&job.resource()) {
            *n -= 1;
        }
        let factor_jobs = ctx
            .take_factor_users()
            .into_iter()
            .map(|user_id| Job::Factors { user_id });
        for followup in followups.into_iter().chain(factor_jobs) {
            track(&mut open, &followup);
            pending.push(followup);
        }
        for r in std::iter::once(job.resource()).chain(job.spawns().iter().copied()) {
            let n = open.entry(r).or_default();
            *n -= 1;
            if *n == 0 && ctx.opts.wants(r) {
                ctx.progress.finished(r);
            }
        }
    }
    Ok(())
}

/// Jobs waiting for a slot, one queue per resource, handed out round-robin.
///
/// Resources map onto different rate-limit buckets. One FIFO queue would let the thousand
/// membership listings that `groups` adds hold every slot while the app listings (a much
/// smaller bucket) wait behind them, so the run would take the sum of the buckets' times
/// instead of the slowest bucket's.
#[derive(Default)]
struct PendingJobs {
    queues: BTreeMap<Resource, VecDeque<Job>>,
    /// The resource that was served last.
    last: Option<Resource>,
}

impl PendingJobs {
    fn push(&mut self, job: Job) {
        self.queues
            .entry(job.resource())
            .or_default()
            .push_back(job);
    }

    /// The next job of the first resource after the last one served that has any, that
    /// `may_start` allows, and whose jobs do not start after another resource's pending ones.
    fn pop(&mut self, may_start: impl Fn(Resource) -> bool) -> Option<Job> {
        let after_last = self.last.map_or(Bound::Unbounded, Bound::Excluded);
        let has_pending = |r: Resource| self.queues.get(&r).is_some_and(|queue| !queue.is_empty());
        // From just after the last one served to the end, then from the start again.
        let next = self
            .queues
            .range((after_last, Bound::Unbounded))
            .chain(self.queues.range(..))
            .find(|(resource, queue)| {
                queue.front().is_some_and(|job| {
                    may_start(**resource) && !job.starts_after().is_some_and(has_pending)
                })
            })
            .map(|(resource, _)| *resource)?;
        self.last = Some(next);
        self.queues.get_mut(&next)?.pop_front()
    }
}

/// Shared by the jobs of one run.
struct Ctx {
    client: OktaClient,
    opts: SyncOptions,
    progress: Arc<dyn Progress>,
    /// Calls the plan needs (summed as listings finish) and objects read per resource.
    tally: Arc<Tally>,
    shared: Mutex<Shared>,
}

/// What later jobs need to know from earlier ones (for the factor scope).
#[derive(Default)]
struct Shared {
    /// Groups whose stats say they hold an admin role, or whose role listing was not empty.
    admin_groups: BTreeSet<String>,
    /// Members of groups that may hold an admin role but are not known to yet (only kept
    /// for factor scope `admins`).
    admin_candidate_members: BTreeMap<String, Vec<String>>,
    /// Users known to be in the factor scope whose factor listing is not added yet.
    factor_users_found: Vec<String>,
    /// Every user ever put in `factor_users_found`.
    factor_users_seen: HashSet<String>,
}

impl Shared {
    /// Users in the factor scope: their factors are read (once each).
    fn factor_users(&mut self, users: impl IntoIterator<Item = String>) {
        for user_id in users {
            if self.factor_users_seen.insert(user_id.clone()) {
                self.factor_users_found.push(user_id);
            }
        }
    }

    /// `group_id` holds an admin role: its members are in the `admins` factor scope.
    fn admin_group(&mut self, group_id: &str) {
        self.admin_groups.insert(group_id.to_owned());
        if let Some(members) = self.admin_candidate_members.remove(group_id) {
            self.factor_users(members);
        }
    }

    /// Members of a group that may hold an admin role.
    fn admin_candidates(&mut self, group_id: &str, members: &[String]) {
        if self.admin_groups.contains(group_id) {
            self.factor_users(members.iter().cloned());
        } else {
            self.admin_candidate_members
                .entry(group_id.to_owned())
                .or_default()
                .extend(members.iter().cloned());
        }
    }
}

/// A minimal member, so that a 1,000-member page is not parsed into full user models.
#[derive(Deserialize)]
struct MemberId {
    id: String,
}

async fn send(tx: &mpsc::Sender<Batch>, batch: Batch) -> Result<(), EngineError> {
    tx.send(batch).await.map_err(|_| EngineError::StoreClosed)
}

impl Ctx {
    fn wants(&self, r: Resource) -> bool {
        self.opts.wants(r)
    }

    fn factor_scope(&self) -> Option<FactorScope> {
        self.wants(Resource::Factors).then_some(self.opts.factors)
    }

    fn shared(&self) -> MutexGuard<'_, Shared> {
        // A panic while holding the lock already fails the run; the data is still usable.
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self, r: Resource, n: u64) {
        self.tally.read(r, n);
        if self.wants(r) && n > 0 {
            self.progress.advanced(r, n);
        }
    }

    fn plan(&self, calls: u64) {
        self.tally.calls(calls);
    }

    fn initial_jobs(&self) -> Vec<Job> {
        let factors = self.factor_scope();
        let mut jobs = Vec::new();
        // The longest sequential listing first.
        if self.wants(Resource::Users) || factors == Some(FactorScope::All) {
            jobs.push(Job::Users);
        }
        if [Resource::Groups, Resource::Memberships, Resource::Roles]
            .into_iter()
            .any(|r| self.wants(r))
            || factors == Some(FactorScope::Admins)
        {
            jobs.push(Job::Groups);
        }
        if self.wants(Resource::Roles) || factors == Some(FactorScope::Admins) {
            jobs.push(Job::RoleAssignees);
        }
        if [Resource::Apps, Resource::AppUsers, Resource::AppGroups]
            .into_iter()
            .any(|r| self.wants(r))
        {
            jobs.push(Job::Apps);
        }
        if self.wants(Resource::Idps) {
            jobs.push(Job::Idps);
        }
        for r in [
            Resource::Users,
            Resource::Groups,
            Resource::Apps,
            Resource::Roles,
            Resource::Idps,
            Resource::Factors,
        ] {
            if self.wants(r) {
                self.progress.started(r, None);
            }
        }
        jobs
    }

    /// Users found in the factor scope since the last call.
    fn take_factor_users(&self) -> Vec<String> {
        if self.factor_scope().is_none() {
            return Vec::new();
        }
        std::mem::take(&mut self.shared().factor_users_found)
    }
}

/// Runs one listing; returns the listings it makes necessary.
async fn run_job(ctx: &Ctx, tx: &mpsc::Sender<Batch>, job: &Job) -> Result<Vec<Job>, EngineError> {
    let client = &ctx.client;
    match job {
        Job::Users => {
            let stage = ctx.wants(Resource::Users);
            let keep_ids = ctx.factor_scope() == Some(FactorScope::All);
            let n = each_page(
                client.list_users(Some(okta_api::ALL_USER_STATUSES_FILTER)),
                || "users".into(),
                false,
                |users| async move {
                    ctx.read(Resource::Users, users.len() as u64);
                    if keep_ids {
                        ctx.shared()
                            .factor_users(users.iter().map(|u| u.id.clone()));
                    }
                    if stage {
                        send(tx, Batch::Users(users.into_iter().map(|u| u.raw).collect())).await?;
                    }
                    Ok(())
                },
            )
            .await?;
            ctx.plan(pages_needed(n, USERS_PAGE_LIMIT));
            Ok(Vec::new())
        }
        Job::Groups => {
            let stage = ctx.wants(Resource::Groups);
            let members_wanted = ctx.wants(Resource::Memberships);
            let roles_wanted = ctx.wants(Resource::Roles);
            let admin_factors = ctx.factor_scope() == Some(FactorScope::Admins);
            let followups = Mutex::new(Vec::new());
            let expected_members = AtomicU64::new(0);
            let n = each_page(
                client.list_groups(None, true),
                || "groups".into(),
                false,
                |groups| {
                    let followups = &followups;
                    let expected_members = &expected_members;
                    async move {
                        ctx.read(Resource::Groups, groups.len() as u64);
                        let mut jobs = Vec::new();
                        for g in &groups {
                            let stats = g.stats.as_ref();
                            let users_count = stats.and_then(|s| s.users_count);
                            let admin_flag = stats.and_then(|s| s.has_admin_privlege);
                            if admin_flag == Some(true) {
                                ctx.shared().admin_group(&g.id);
                            }
                            // Unknown stats: list, rather than miss members or roles.
                            let may_have_members = users_count != Some(0);
                            let may_be_admin = admin_flag != Some(false);
                            expected_members.fetch_add(
                                users_count.and_then(|c| u64::try_from(c).ok()).unwrap_or(0),
                                Ordering::Relaxed,
                            );
                            let admin = admin_factors && may_be_admin;
                            if may_have_members && (members_wanted || admin) {
                                jobs.push(Job::GroupMembers {
                                    group_id: g.id.clone(),
                                    admin,
                                    expected: users_count.and_then(|c| u64::try_from(c).ok()),
                                });
                            }
                            if may_be_admin && roles_wanted {
                                jobs.push(Job::GroupRoles {
                                    group_id: g.id.clone(),
                                });
                            }
                        }
                        followups
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .extend(jobs);
                        if stage {
                            send(
                                tx,
                                Batch::Groups(groups.into_iter().map(|g| g.raw).collect()),
                            )
                            .await?;
                        }
                        Ok(())
                    }
                },
            )
            .await?;
            ctx.plan(pages_needed(n, GROUPS_PAGE_LIMIT));
            let mut followups = followups.into_inner().unwrap_or_else(|p| p.into_inner());
            // The largest groups' member listings first: they are the longest (one page
            // per thousand members); a group without stats counts as large.
            followups.sort_by_key(|job| match job {
                Job::GroupMembers { expected, .. } => {
                    std::cmp::Reverse(expected.unwrap_or(u64::MAX))
                }
                _ => std::cmp::Reverse(0),
            });
            if members_wanted {
                ctx.progress.started(
                    Resource::Memberships,
                    Some(expected_members.load(Ordering::Relaxed)),
                );
            }
            Ok(followups)
        }
        Job::GroupMembers {
            group_id,
            admin,
            expected,
        } => {
            let stage = ctx.wants(Resource::Memberships);
            let pages = member_pages(client, group_id, *expected);
            let n = each_page(
                pages,
                || format!("the members of group {group_id}"),
                true,
                |members| async move {
                    let user_ids: Vec<String> = members.into_iter().map(|m| m.id).collect();
                    ctx.read(Resource::Memberships, user_ids.len() as u64);
                    if *admin {
                        ctx.shared().admin_candidates(group_id, &user_ids);
                    }
                    if stage {
                        send(
                            tx,
                            Batch::GroupMembers {
                                group_id: group_id.clone(),
                                user_ids,
                            },
                        )
                        .await?;
                    }
                    Ok(())
                },
            )
            .await?;
            ctx.plan(pages_needed(n, GROUP_USERS_PAGE_LIMIT));
            Ok(Vec::new())
        }
        Job::GroupRoles { group_id } => {
            let roles = empty_if_gone(client.list_group_roles(group_id).await).map_err(
                failed_reading(format!("the admin roles of group {group_id}")),
            )?;
            ctx.plan(1);
            ctx.read(Resource::Roles, roles.len() as u64);
            if !roles.is_empty() {
                ctx.shared().admin_group(group_id);
                send(
                    tx,
                    Batch::RoleAssignments {
                        assignee_type: AssigneeType::Group,
                        assignee_id: group_id.clone(),
                        roles: roles.into_iter().map(|r| r.raw).collect(),
                    },
                )
                .await?;
            }
            Ok(Vec::new())
        }
        Job::RoleAssignees => {
            let roles_wanted = ctx.wants(Resource::Roles);
            let admin_factors = ctx.factor_scope() == Some(FactorScope::Admins);
            let followups = Mutex::new(Vec::new());
            let n = each_page(
                client.list_role_assignees(),
                || "the users holding admin roles".into(),
                false,
                |assignees| {
                    let followups = &followups;
                    async move {
                        let mut jobs = followups.lock().unwrap_or_else(|p| p.into_inner());
                        if roles_wanted {
                            jobs.extend(assignees.iter().map(|a| Job::UserRoles {
                                user_id: a.id.clone(),
                            }));
                        }
                        if admin_factors {
                            ctx.shared()
                                .factor_users(assignees.into_iter().map(|a| a.id));
                        }
                        Ok(())
                    }
                },
            )
            .await?;
            ctx.plan(pages_needed(n, ROLE_ASSIGNEES_PAGE_LIMIT));
            Ok(followups.into_inner().unwrap_or_else(|p| p.into_inner()))
        }
        Job::UserRoles { user_id } => {
            let roles = empty_if_gone(client.list_user_roles(user_id).await)
                .map_err(failed_reading(format!("the admin roles of user {user_id}")))?;
            ctx.plan(1);
            let direct = direct_role_assignments(roles);
            ctx.read(Resource::Roles, direct.len() as u64);
            if !direct.is_empty() {
                send(
                    tx,
                    Batch::RoleAssignments {
                        assignee_type: AssigneeType::User,
                        assignee_id: user_id.clone(),
                        roles: direct,
                    },
                )
                .await?;
            }
            Ok(Vec::new())
        }
        Job::Apps => {
            let stage = ctx.wants(Resource::Apps);
            let app_users = ctx.wants(Resource::AppUsers);
            let app_groups = ctx.wants(Resource::AppGroups);
            let followups = Mutex::new(Vec::new());
            let n = each_page(
                client.list_apps(),
                || "apps".into(),
                false,
                |apps| {
                    let followups = &followups;
                    async move {
                        ctx.read(Resource::Apps, apps.len() as u64);
                        {
                            let mut jobs = followups.lock().unwrap_or_else(|p| p.into_inner());
                            for a in &apps {
                                if app_users {
                                    jobs.push(Job::AppUsers {
                                        app_id: a.id.clone(),
                                    });
                                }
                                if app_groups {
                                    jobs.push(Job::AppGroups {
                                        app_id: a.id.clone(),
                                    });
                                }
                            }
                        }
                        if stage {
                            send(tx, Batch::Apps(apps.into_iter().map(|a| a.raw).collect()))
                                .await?;
                        }
                        Ok(())
                    }
                },
            )
            .await?;
            ctx.plan(pages_needed(n, APPS_PAGE_LIMIT));
            for (wanted, r) in [
                (app_users, Resource::AppUsers),
                (app_groups, Resource::AppGroups),
            ] {
                if wanted {
                    ctx.progress.started(r, None);
                }
            }
            Ok(followups.into_inner().unwrap_or_else(|p| p.into_inner()))
        }
        Job::AppUsers { app_id } => {
            let n = each_page(
                client.list_app_users(app_id),
                || format!("the users assigned to app {app_id}"),
                true,
                |app_users| async move {
                    ctx.read(Resource::AppUsers, app_users.len() as u64);
                    send(
                        tx,
                        Batch::AppUsers {
                            app_id: app_id.clone(),
                            app_users: app_users.into_iter().map(|u| u.raw).collect(),
                        },
                    )
                    .await
                },
            )
            .await?;
            ctx.plan(pages_needed(n, APP_USERS_PAGE_LIMIT));
            Ok(Vec::new())
        }
        Job::AppGroups { app_id } => {
            let n = each_page(
                client.list_app_groups(app_id),
                || format!("the groups assigned to app {app_id}"),
                true,
                |assignments| async move {
                    ctx.read(Resource::AppGroups, assignments.len() as u64);
                    send(
                        tx,
                        Batch::AppGroups {
                            app_id: app_id.clone(),
                            assignments: assignments.into_iter().map(|a| a.raw).collect(),
                        },
                    )
                    .await
                },
            )
            .await?;
            ctx.plan(pages_needed(n, APP_GROUPS_PAGE_LIMIT));
            Ok(Vec::new())
        }
        Job::Idps => {
            let n = each_page(
                client.list_idps(),
                || "identity providers".into(),
                false,
                |idps| async move {
                    ctx.read(Resource::Idps, idps.len() as u64);
                    send(tx, Batch::Idps(idps.into_iter().map(|i| i.raw).collect())).await
                },
            )
            .await?;
            ctx.plan(pages_needed(n, IDPS_PAGE_LIMIT));
            Ok(Vec::new())
        }
        Job::Factors { user_id } => {
            let factors = empty_if_gone(client.list_user_factors(user_id).await)
                .map_err(failed_reading(format!("the factors of user {user_id}")))?;
            ctx.plan(1);
            ctx.read(Resource::Factors, factors.len() as u64);
            send(
                tx,
                Batch::Factors {
                    user_id: user_id.clone(),
                    factors: factors.into_iter().map(|f| f.raw).collect(),
                },
            )
            .await?;
            Ok(Vec::new())
        }
    }
}

/// The raw assignments among a user's roles that were made to the user directly: roles a
/// user holds through a group are mirrored under the group.
pub(crate) fn direct_role_assignments(
    roles: Vec<okta_api::RoleAssignment>,
) -> Vec<serde_json::Value> {
    roles
        .into_iter()
        .filter(|r| {
            r.assignment_type
                .as_deref()
                .is_none_or(|t| t.eq_ignore_ascii_case("USER"))
        })
        .map(|r| r.raw)
        .collect()
}

/// Member pages of one group, parsed as ids only. Okta ids are alphanumeric; anything else
/// goes through the typed listing, which encodes the path. With the group's `usersCount`, a
/// server that returns far more members than that is stopped instead of read for ever.
fn member_pages(
    client: &OktaClient,
    group_id: &str,
    expected: Option<u64>,
) -> PageStream<MemberId> {
    if !group_id.is_empty() && group_id.bytes().all(|b| b.is_ascii_alphanumeric()) {
        let path = format!("/api/v1/groups/{group_id}/users?limit={GROUP_USERS_PAGE_LIMIT}");
        match expected {
            Some(n) => client.paginate_expecting(&path, n),
            None => client.paginate(&path),
        }
    } else {
        let listing = match expected {
            Some(n) => client.list_group_users_expecting(group_id, n),
            None => client.list_group_users(group_id),
        };
        listing
            .map(|page| {
                page.map(|p| okta_api::Page {
                    items: p.items.into_iter().map(|u| MemberId { id: u.id }).collect(),
                    next: p.next,
                })
            })
            .boxed()
    }
}

#[cfg(test)]
mod pending_jobs_tests {
    use super::*;

    #[test]
    fn resources_take_turns() {
        let mut pending = PendingJobs::default();
        for n in 0..3 {
            pending.push(Job::GroupMembers {
                group_id: format!("g{n}"),
                admin: false,
                expected: None,
            });
        }
        pending.push(Job::AppUsers {
            app_id: "a0".into(),
        });
        pending.push(Job::AppGroups {
            app_id: "a0".into(),
        });
        let order: Vec<Resource> = std::iter::from_fn(|| pending.pop(|_| true))
            .map(|job| job.resource())
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
        let mut pending = PendingJobs::default();
        for n in 0..2 {
            pending.push(Job::AppGroups {
                app_id: format!("a{n}"),
            });
            pending.push(Job::AppUsers {
                app_id: format!("a{n}"),
            });
        }
        pending.push(Job::Idps);
        let order: Vec<Resource> = std::iter::from_fn(|| pending.pop(|_| true))
            .map(|job| job.resource())
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
