//! Incremental sync: the System Log drives the deltas, `lastUpdated` filters cross-check them
//! (`architecture.md`, "Incremental sync").
//!
//! A run:
//! 1. reads the log from the `logs.next` checkpoint (a polling request's `next` link) until a
//!    page comes back empty, de-duplicating events by `uuid`, at most
//!    [`MAX_EVENTS_PER_RUN`] events (the next run reads the rest);
//! 2. turns the events, in the order Okta stored them, into operations on the mirror
//!    (membership adds and removes, deletions with what Okta removes along without events)
//!    and into sets of entities to re-read with one targeted call each;
//! 3. cross-checks users and groups with `lastUpdated` filters from the mirror's own
//!    watermarks (Okta's timestamps, never the local clock) minus [`WATERMARK_OVERLAP`];
//! 4. re-reads, [`CONCURRENT_REREADS`] at a time; what they return is the current state, so
//!    it goes after the event-derived operations;
//! 5. hands the store one [`Delta`] (with the new checkpoint) to apply in one transaction.
//!
//! Every operation is idempotent, so reading a suffix of the log twice is harmless: that is
//! why a full sync positions the log [`LOG_START_LOOKBACK`] before its listings begin.

use crate::error::EngineError;
use crate::events::{EventKind, classify};
use crate::full::direct_role_assignments;
use crate::options::{FactorScope, Resource, SyncOptions};
use crate::progress::Progress;
use crate::reading::{failed_reading, none_if_gone, pages_needed};
use crate::run_record::{RunRecord, RunStarting};
use crate::summary::RunSummary;
use crate::system_log::{
    LogRead, MAX_EVENTS_PER_RUN, load_checkpoint, log_checkpoints, read_log, unavailable,
    unavailable_reason,
};
use chrono::{DateTime, SecondsFormat, Utc};
use futures::{StreamExt, TryStreamExt};
use okta_api::{
    ALL_USER_STATUSES_FILTER, APP_USERS_PAGE_LIMIT, LogEvent, OktaClient, RoleAssignment,
};
use oktasync_store::{
    AssigneeType, Batch, Cause, Changes, Delta, DeltaOp, OrgId, RowKey, RunKind, Scope, Store,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;
use url::Url;

/// Subtracted from the mirror's watermarks for the `lastUpdated` filters: Okta's filter
/// data is eventually consistent (typically under a second) and timestamps may tie.
pub const WATERMARK_OVERLAP: Duration = Duration::from_secs(60);
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
        Ok(IncrementalRun {
            client,
            store,
            opts,
            progress,
            org,
            record: {
                let mut record = starting.recorded(id);
                record.set_events(0);
                record
            },
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
        self.record.tally().calls(log.calls);
        if log.more {
            self.progress.note(&format!(
                "read {MAX_EVENTS_PER_RUN} System Log events; the next run reads the rest"
            ));
        }
        Ok(log)
    }

    async fn apply(&self, log: LogRead) -> Result<Changes, EngineError> {
        let mut delta = self.build_delta(&log.events).await?;
        delta.checkpoints = log_checkpoints(&Some(log.next), self.opts);
        let stats = self.record.stats(&self.record.summary());
        Ok(self
            .store
            .apply_delta(self.org, self.record.id(), delta, stats)
            .await?)
    }

    fn wants(&self, r: Resource) -> bool {
        self.opts.wants(r)
    }

    fn read(&self, r: Resource, n: u64) {
        self.record.tally().read(r, n);
    }

    fn call(&self) {
        self.record.tally().calls(1);
    }

    /// The event-derived operations, then the re-reads and filter results.
    async fn build_delta(&self, events: &[LogEvent]) -> Result<Delta, EngineError> {
        let mut plan = Plan::default();
        for event in events {
            self.plan_event(&mut plan, event).await?;
        }
        plan.prune();
        if plan.ignored > 0 {
            tracing::debug!(
                ignored = plan.ignored,
                "Events that change nothing mirrored."
            );
        }
        let mut delta = Delta::default();
        for (op, cause) in std::mem::take(&mut plan.ops) {
            delta.push(op, cause);
        }
        self.reread(&mut plan, &mut delta).await?;
        Ok(delta)
    }

    /// The Everyone group's id (the BUILT_IN group), from the mirror or else from Okta.
    async fn everyone(&self, plan: &mut Plan) -> Result<Option<String>, EngineError> {
        if let Some(id) = &plan.everyone {
            return Ok(id.clone());
        }
        let scope = Scope::groups_of_type("BUILT_IN");
        let mut id = self
            .store
            .keys(self.org, &scope)
            .await?
            .into_iter()
            .next()
            .and_then(|k| k.group_id().map(str::to_owned));
        if id.is_none() {
            let mut pages = self.client.list_groups(Some("type eq \"BUILT_IN\""), false);
            while let Some(page) = pages.next().await {
                let page = page.map_err(failed_reading("the Everyone group"))?;
                self.call();
                if let Some(g) = page.items.into_iter().next() {
                    id = Some(g.id);
                    break;
                }
            }
        }
        plan.everyone = Some(id.clone());
        Ok(id)
    }

    async fn keys(&self, scope: Scope) -> Result<Vec<RowKey>, EngineError> {
        Ok(self.store.keys(self.org, &scope).await?)
    }

    /// Removals of a user and of what Okta removes with it, without events.
    fn user_removals(&self, user: &str) -> Vec<DeltaOp> {
        let mut ops = Vec::new();
        if self.wants(Resource::Users) {
            ops.push(DeltaOp::Remove(Scope::user(user)));
        }
        if self.wants(Resource::Memberships) {
            ops.push(DeltaOp::Remove(Scope::groups_of_user(user)));
        }
        if self.wants(Resource::AppUsers) {
            ops.push(DeltaOp::Remove(Scope::apps_of_user(user)));
        }
        if self.wants(Resource::Roles) {
            ops.push(DeltaOp::Remove(roles_scope(AssigneeType::User, user)));
        }
        if self.wants(Resource::Factors) {
            ops.push(DeltaOp::Remove(Scope::factors_of(user)));
        }
        ops
    }

    /// Removals of a group and of its memberships, app assignments and roles.
    fn group_removals(&self, group: &str) -> Vec<DeltaOp> {
        let mut ops = Vec::new();
        if self.wants(Resource::Groups) {
            ops.push(DeltaOp::Remove(Scope::group(group)));
        }
        if self.wants(Resource::Memberships) {
            ops.push(DeltaOp::Remove(Scope::members_of_group(group)));
        }
        if self.wants(Resource::AppGroups) {
            ops.push(DeltaOp::Remove(Scope::apps_of_group(group)));
        }
        if self.wants(Resource::Roles) {
            ops.push(DeltaOp::Remove(roles_scope(AssigneeType::Group, group)));
        }
        ops
    }

    /// Removals of an app and of its user and group assignments.
    fn app_removals(&self, app: &str) -> Vec<DeltaOp> {
        let mut ops = Vec::new();
        if self.wants(Resource::Apps) {
            ops.push(DeltaOp::Remove(Scope::app(app)));
        }
        if self.wants(Resource::AppUsers) {
            ops.push(DeltaOp::Remove(Scope::users_of_app(app)));
        }
        if self.wants(Resource::AppGroups) {
            ops.push(DeltaOp::Remove(Scope::groups_of_app(app)));
        }
        ops
    }

    fn admin_factors(&self) -> bool {
        self.wants(Resource::Factors) && self.opts.factors == FactorScope::Admins
    }

    async fn plan_event(&self, plan: &mut Plan, event: &LogEvent) -> Result<(), EngineError> {
        let at = event.published.unwrap_or_else(|| self.opts.clock.now());
        let cause = Cause::event(at, event.uuid.clone()).by(actor_of(event));
        let roles_needed = self.wants(Resource::Roles) || self.admin_factors();
        match classify(event) {
            EventKind::MembershipAdded { group, user } => {
                if self.wants(Resource::Memberships) {
                    plan.push(
                        DeltaOp::Upsert(Batch::GroupMembers {
                            group_id: group.clone(),
                            user_ids: vec![user.clone()],
                        }),
                        &cause,
                    );
                }
                plan.refresh_group(self, &group);
                plan.memberships.push(MembershipOp::Add(group, user));
            }
            EventKind::MembershipRemoved { group, user } => {
                if self.wants(Resource::Memberships) {
                    plan.push(
                        DeltaOp::Remove(Scope::membership(group.clone(), user.clone())),
                        &cause,
                    );
                }
                plan.refresh_group(self, &group);
                plan.memberships.push(MembershipOp::Remove(group, user));
            }
            EventKind::UserCreated { user } => {
                plan.refresh_user(self, &user);
                // Okta adds every new user to Everyone without a membership event.
                if let Some(everyone) = self.everyone(plan).await? {
                    if self.wants(Resource::Memberships) {
                        plan.push(
                            DeltaOp::Upsert(Batch::GroupMembers {
                                group_id: everyone.clone(),
                                user_ids: vec![user.clone()],
                            }),
                            &cause,
                        );
                    }
                    plan.refresh_group(self, &everyone);
                    plan.memberships.push(MembershipOp::Add(everyone, user));
                }
            }
            EventKind::UserChanged { user } => plan.refresh_user(self, &user),
            EventKind::UserDeleted { user } => {
                // Its groups' lastMembershipUpdated moved.
                if self.wants(Resource::Groups) {
                    for key in self.keys(Scope::groups_of_user(user.as_str())).await? {
                        if let Some(g) = key.group_id() {
                            plan.refresh_group(self, g);
                        }
                    }
                }
                for op in self.user_removals(&user) {
                    plan.push(op, &cause);
                }
                plan.memberships
                    .push(MembershipOp::RemoveUser(user.clone()));
                plan.deleted_users.insert(user);
            }
            EventKind::GroupChanged { group } => plan.refresh_group(self, &group),
            EventKind::GroupDeleted { group } => {
                for op in self.group_removals(&group) {
                    plan.push(op, &cause);
                }
                plan.memberships
                    .push(MembershipOp::RemoveGroup(group.clone()));
                plan.deleted_groups.insert(group);
            }
            EventKind::AppChanged { app } => {
                if self.wants(Resource::Apps) {
                    plan.apps.insert(app);
                }
            }
            EventKind::AppDeleted { app } => {
                for op in self.app_removals(&app) {
                    plan.push(op, &cause);
                }
                plan.deleted_apps.insert(app);
            }
            EventKind::AppUserChanged { app, user } => {
                if self.wants(Resource::AppUsers) {
                    plan.app_users.entry(app).or_default().insert(user);
                }
            }
            EventKind::AppGroupChanged { app, group } => {
                if self.wants(Resource::AppGroups) {
                    plan.app_groups.insert((app, group));
                }
            }
            EventKind::UserRolesChanged { user } => {
                if roles_needed {
                    plan.user_roles.insert(user);
                }
            }
            EventKind::GroupRolesChanged { group } => {
                if roles_needed {
                    plan.group_roles.insert(group);
                }
            }
            EventKind::FactorsChanged { user } => {
                if self.wants(Resource::Factors) {
                    plan.factor_events.insert(user);
                }
            }
            EventKind::IdpChanged { idp } => {
                if self.wants(Resource::Idps) {
                    plan.idps.insert(idp);
                }
            }
            EventKind::Ignored => plan.ignored += 1,
        }
        Ok(())
    }

    /// Filters and re-reads; appends what they return (the current state) to `delta`.
    async fn reread(&self, plan: &mut Plan, delta: &mut Delta) -> Result<(), EngineError> {
        let watermarks = self.store.watermarks(self.org).await?;
        let mut reads = Vec::new();
        if self.wants(Resource::Users) {
            let filter = match watermarks.users_last_updated.as_deref() {
                Some(w) => format!("lastUpdated gt \"{}\"", minus_overlap(w)),
                None => ALL_USER_STATUSES_FILTER.to_owned(),
            };
            reads.push(Read::UsersFilter(filter));
        }
        if self.wants(Resource::Groups) {
            let filter = match (
                watermarks.groups_last_updated.as_deref(),
                watermarks.groups_last_membership_updated.as_deref(),
            ) {
                (Some(updated), membership) => Some(format!(
                    "lastUpdated gt \"{}\" or lastMembershipUpdated gt \"{}\"",
                    minus_overlap(updated),
                    minus_overlap(membership.unwrap_or(updated)),
                )),
                (None, _) => None,
            };
            reads.push(Read::GroupsFilter(filter));
        }
        for app in &plan.apps {
            reads.push(Read::App(app.clone()));
        }
        for (app, users) in &plan.app_users {
            // One listing of the app's users when that takes fewer calls than one read per
            // user.
            let assigned = self.keys(Scope::users_of_app(app.as_str())).await?.len() as u64;
            if users.len() as u64 > pages_needed(assigned, APP_USERS_PAGE_LIMIT) {
                reads.push(Read::AppUsers(app.clone()));
            } else {
                for user in users {
                    reads.push(Read::AppUser(app.clone(), user.clone()));
                }
            }
        }
        for (app, group) in &plan.app_groups {
            reads.push(Read::AppGroup(app.clone(), group.clone()));
        }
        for user in &plan.user_roles {
            reads.push(Read::UserRoles(user.clone()));
        }
        for group in &plan.group_roles {
            reads.push(Read::GroupRoles(group.clone()));
        }
        for idp in &plan.idps {
            reads.push(Read::Idp(idp.clone()));
        }
        let mut results = self.run_reads(reads).await?;

        // Users and groups the filters did not return are read one by one.
        let mut seen_users = BTreeSet::new();
        let mut seen_groups = BTreeSet::new();
        for r in &results {
            match r {
                ReadOut::Users(users) => {
                    seen_users.extend(users.iter().filter_map(id_of));
                }
                ReadOut::Groups(groups) => {
                    seen_groups.extend(groups.iter().filter_map(id_of));
                }
                _ => {}
            }
        }
        let mut reads = Vec::new();
        for user in plan.users.difference(&seen_users) {
            reads.push(Read::User(user.clone()));
        }
        for group in plan.groups.difference(&seen_groups) {
            reads.push(Read::Group(group.clone()));
        }
        // Factors: whose are in scope may have changed with roles and memberships.
        let (relist, remove) = self.factor_changes(plan, &results).await?;
        for user in &relist {
            reads.push(Read::Factors(user.clone()));
        }
        results.extend(self.run_reads(reads).await?);

        let cause = Cause::read_at(self.opts.clock.now());
        self.append_results(results, &remove, delta, &cause);
        Ok(())
    }

    async fn run_reads(&self, reads: Vec<Read>) -> Result<Vec<ReadOut>, EngineError> {
        futures::stream::iter(reads.into_iter().map(|r| self.do_read(r)))
            .buffered(CONCURRENT_REREADS)
            .try_collect()
            .await
    }

    async fn do_read(&self, read: Read) -> Result<ReadOut, EngineError> {
        let client = self.client;
        Ok(match read {
            Read::UsersFilter(filter) => {
                let users = self
                    .collect(client.list_users(Some(&filter)), "users changed lately")
                    .await?;
                self.read(Resource::Users, users.len() as u64);
                ReadOut::Users(users.into_iter().map(|u| u.raw).collect())
            }
            Read::GroupsFilter(filter) => {
                let groups = self
                    .collect(
                        client.list_groups(filter.as_deref(), false),
                        "groups changed lately",
                    )
                    .await?;
                self.read(Resource::Groups, groups.len() as u64);
                ReadOut::Groups(groups.into_iter().map(|g| g.raw).collect())
            }
            Read::User(id) => {
                self.call();
                let user = client
                    .get_user(&id)
                    .await
                    .map_err(failed_reading(format!("user {id}")))?;
                self.read(Resource::Users, u64::from(user.is_some()));
                // A login would name the user too; only an id match counts.
                ReadOut::User(id.clone(), user.filter(|u| u.id == id).map(|u| u.raw))
            }
            Read::Group(id) => {
                self.call();
                let group = client
                    .get_group(&id)
                    .await
                    .map_err(failed_reading(format!("group {id}")))?;
                self.read(Resource::Groups, u64::from(group.is_some()));
                ReadOut::Group(id, group.map(|g| g.raw))
            }
            Read::App(id) => {
                self.call();
                let app = client
                    .get_app(&id)
                    .await
                    .map_err(failed_reading(format!("app {id}")))?;
                self.read(Resource::Apps, u64::from(app.is_some()));
                ReadOut::App(id, app.map(|a| a.raw))
            }
            Read::AppUser(app, user) => {
                self.call();
                let assignment = client
                    .get_app_user(&app, &user)
                    .await
                    .map_err(failed_reading(format!(
                        "the assignment of user {user} to app {app}"
                    )))?;
                self.read(Resource::AppUsers, u64::from(assignment.is_some()));
                ReadOut::AppUser(app, user, assignment.map(|a| a.raw))
            }
            Read::AppUsers(app) => {
                let mut pages = client.list_app_users(&app);
                let mut all = Vec::new();
                let mut gone = false;
                while let Some(page) = pages.next().await {
                    self.call();
                    match page {
                        Ok(page) => all.extend(page.items.into_iter().map(|u| u.raw)),
                        Err(okta_api::Error::NotFound(_)) if all.is_empty() => {
                            gone = true;
                            break;
                        }
                        Err(e) => {
                            return Err(
                                failed_reading(format!("the users assigned to app {app}"))(e),
                            );
                        }
                    }
                }
                self.read(Resource::AppUsers, all.len() as u64);
                ReadOut::AppUsers(app, (!gone).then_some(all))
            }
            Read::AppGroup(app, group) => {
                self.call();
                let assignment =
                    client
                        .get_app_group(&app, &group)
                        .await
                        .map_err(failed_reading(format!(
                            "the assignment of group {group} to app {app}"
                        )))?;
                self.read(Resource::AppGroups, u64::from(assignment.is_some()));
                ReadOut::AppGroup(app, group, assignment.map(|a| a.raw))
            }
            Read::UserRoles(user) => {
                self.call();
                let roles = none_if_gone(client.list_user_roles(&user).await)
                    .map_err(failed_reading(format!("the admin roles of user {user}")))?;
                ReadOut::UserRoles(user, roles)
            }
            Read::GroupRoles(group) => {
                self.call();
                let roles = none_if_gone(client.list_group_roles(&group).await)
                    .map_err(failed_reading(format!("the admin roles of group {group}")))?;
                ReadOut::GroupRoles(group, roles)
            }
            Read::Factors(user) => {
                self.call();
                let factors = none_if_gone(client.list_user_factors(&user).await)
                    .map_err(failed_reading(format!("the factors of user {user}")))?;
                let factors: Option<Vec<Value>> =
                    factors.map(|f| f.into_iter().map(|f| f.raw).collect());
                self.read(
                    Resource::Factors,
                    factors.as_ref().map_or(0, |f| f.len() as u64),
                );
                ReadOut::Factors(user, factors)
            }
            Read::Idp(id) => {
                self.call();
                let idp = client
                    .get_idp(&id)
                    .await
                    .map_err(failed_reading(format!("identity provider {id}")))?;
                self.read(Resource::Idps, u64::from(idp.is_some()));
                ReadOut::Idp(id, idp.map(|i| i.raw))
            }
        })
    }

    async fn collect<T>(
        &self,
        mut pages: okta_api::PageStream<T>,
        what: &str,
    ) -> Result<Vec<T>, EngineError> {
        let mut all = Vec::new();
        while let Some(page) = pages.next().await {
            self.call();
            all.extend(page.map_err(failed_reading(what))?.items);
        }
        Ok(all)
    }

    /// Whose factors to re-list and whose to remove, so that the factors mirrored stay
    /// those of the users in the factor scope (`admins`: a role held directly or through a
    /// group, as a full sync defines it).
    async fn factor_changes(
        &self,
        plan: &Plan,
        results: &[ReadOut],
    ) -> Result<(BTreeSet<String>, BTreeSet<String>), EngineError> {
        let mut relist = BTreeSet::new();
        let mut remove = BTreeSet::new();
        if !self.wants(Resource::Factors) {
            return Ok((relist, remove));
        }
        let alive = |u: &String| !plan.deleted_users.contains(u);
        match self.opts.factors {
            FactorScope::None => {}
            FactorScope::All => {
                relist.extend(plan.factor_events.iter().filter(|u| alive(u)).cloned())
            }
            FactorScope::Admins => {
                let relevant = !plan.memberships.is_empty()
                    || !plan.user_roles.is_empty()
                    || !plan.group_roles.is_empty()
                    || !plan.factor_events.is_empty();
                if !relevant {
                    return Ok((relist, remove));
                }
                let user_roles: BTreeMap<&str, &Option<Vec<RoleAssignment>>> = results
                    .iter()
                    .filter_map(|r| match r {
                        ReadOut::UserRoles(u, roles) => Some((u.as_str(), roles)),
                        _ => None,
                    })
                    .collect();
                let group_roles: BTreeMap<&str, bool> = results
                    .iter()
                    .filter_map(|r| match r {
                        ReadOut::GroupRoles(g, roles) => {
                            Some((g.as_str(), roles.as_ref().is_some_and(|r| !r.is_empty())))
                        }
                        _ => None,
                    })
                    .collect();
                if self.wants(Resource::Roles) && self.wants(Resource::Memberships) {
                    let before = self.admins_in_mirror(None).await?;
                    let after = self
                        .admins_in_mirror(Some(AfterRun {
                            plan,
                            user_roles: &user_roles,
                            group_roles: &group_roles,
                        }))
                        .await?;
                    relist.extend(after.difference(&before).cloned());
                    remove.extend(before.difference(&after).filter(|u| alive(u)).cloned());
                    relist.extend(plan.factor_events.intersection(&after).cloned());
                } else {
                    // Without roles and memberships in the mirror, ask Okta about each user
                    // whose admin status may have changed.
                    let mut candidates: BTreeSet<String> = plan.user_roles.clone();
                    candidates.extend(plan.factor_events.iter().cloned());
                    for m in &plan.memberships {
                        if let MembershipOp::Add(_, u) | MembershipOp::Remove(_, u) = m {
                            candidates.insert(u.clone());
                        }
                    }
                    for g in &plan.group_roles {
                        let mut pages = self.client.list_group_users(g);
                        while let Some(page) = pages.next().await {
                            self.call();
                            match page {
                                Ok(p) => candidates.extend(p.items.into_iter().map(|u| u.id)),
                                Err(okta_api::Error::NotFound(_)) => break,
                                Err(e) => {
                                    return Err(failed_reading(format!(
                                        "the members of group {g}"
                                    ))(e));
                                }
                            }
                        }
                    }
                    for user in candidates.into_iter().filter(|u| alive(u)) {
                        let roles = match user_roles.get(user.as_str()) {
                            Some(roles) => (*roles).clone(),
                            None => {
                                self.call();
                                none_if_gone(self.client.list_user_roles(&user).await).map_err(
                                    failed_reading(format!("the admin roles of user {user}")),
                                )?
                            }
                        };
                        match roles {
                            Some(r) if !r.is_empty() => relist.insert(user),
                            _ => remove.insert(user),
                        };
                    }
                }
            }
        }
        Ok((relist, remove))
    }

    /// Users holding a role directly or through a group, from the mirror; with `after`, as
    /// they will be once this run's changes are applied.
    async fn admins_in_mirror(
        &self,
        after: Option<AfterRun<'_>>,
    ) -> Result<BTreeSet<String>, EngineError> {
        let assignees = |keys: Vec<RowKey>| -> BTreeSet<String> {
            keys.iter()
                .filter_map(|k| k.user_id().or(k.group_id()).map(str::to_owned))
                .collect()
        };
        let mut direct = assignees(self.keys(Scope::roles_held_by(AssigneeType::User)).await?);
        let mut groups = assignees(self.keys(Scope::roles_held_by(AssigneeType::Group)).await?);
        if let Some(AfterRun {
            plan,
            user_roles,
            group_roles,
        }) = &after
        {
            for (user, roles) in user_roles.iter() {
                let has_direct = roles.as_ref().is_some_and(|r| {
                    r.iter().any(|a| {
                        a.assignment_type
                            .as_deref()
                            .is_none_or(|t| t.eq_ignore_ascii_case("USER"))
                    })
                });
                if has_direct {
                    direct.insert((*user).to_owned());
                } else {
                    direct.remove(*user);
                }
            }
            for (group, admin) in group_roles.iter() {
                if *admin {
                    groups.insert((*group).to_owned());
                } else {
                    groups.remove(*group);
                }
            }
            for u in &plan.deleted_users {
                direct.remove(u);
            }
            for g in &plan.deleted_groups {
                groups.remove(g);
            }
        }
        let mut admins = direct;
        for group in groups {
            let mut members: BTreeSet<String> = self
                .keys(Scope::members_of_group(group.as_str()))
                .await?
                .iter()
                .filter_map(|k| k.user_id().map(str::to_owned))
                .collect();
            if let Some(AfterRun { plan, .. }) = &after {
                for m in &plan.memberships {
                    match m {
                        MembershipOp::Add(g, u) if *g == group => {
                            members.insert(u.clone());
                        }
                        MembershipOp::Remove(g, u) if *g == group => {
                            members.remove(u);
                        }
                        MembershipOp::RemoveUser(u) => {
                            members.remove(u);
                        }
                        MembershipOp::RemoveGroup(g) if *g == group => members.clear(),
                        _ => {}
                    }
                }
            }
            admins.extend(members);
        }
        Ok(admins)
    }

    /// Turns read results into operations, in a fixed order: users, groups, apps, app
    /// assignments, roles, factors, IdPs.
    fn append_results(
        &self,
        results: Vec<ReadOut>,
        remove_factors: &BTreeSet<String>,
        delta: &mut Delta,
        cause: &Cause,
    ) {
        let mut users = Vec::new();
        let mut groups = Vec::new();
        let mut apps = Vec::new();
        let mut later: Vec<DeltaOp> = Vec::new();
        let mut removals: Vec<DeltaOp> = Vec::new();
        let mut roles_ops = Vec::new();
        let mut factor_ops = Vec::new();
        let mut idp_ops = Vec::new();
        for r in results {
            match r {
                ReadOut::Users(v) => users.extend(v),
                ReadOut::Groups(v) => groups.extend(v),
                ReadOut::User(_, Some(u)) => users.push(u),
                ReadOut::User(id, None) => removals.extend(self.user_removals(&id)),
                ReadOut::Group(_, Some(g)) => groups.push(g),
                ReadOut::Group(id, None) => removals.extend(self.group_removals(&id)),
                ReadOut::App(_, Some(a)) => apps.push(a),
                ReadOut::App(id, None) => removals.extend(self.app_removals(&id)),
                ReadOut::AppUsers(app, Some(list)) => later.push(DeltaOp::Replace {
                    scope: Scope::users_of_app(app.as_str()),
                    batch: Batch::AppUsers {
                        app_id: app,
                        app_users: list,
                    },
                }),
                ReadOut::AppUsers(app, None) => removals.extend(self.app_removals(&app)),
                ReadOut::AppUser(app, _, Some(raw)) => {
                    later.push(DeltaOp::Upsert(Batch::AppUsers {
                        app_id: app,
                        app_users: vec![raw],
                    }))
                }
                ReadOut::AppUser(app, user, None) => {
                    later.push(DeltaOp::Remove(Scope::app_user(app, user)))
                }
                ReadOut::AppGroup(app, _, Some(raw)) => {
                    later.push(DeltaOp::Upsert(Batch::AppGroups {
                        app_id: app,
                        assignments: vec![raw],
                    }))
                }
                ReadOut::AppGroup(app, group, None) => {
                    later.push(DeltaOp::Remove(Scope::app_group(app, group)))
                }
                ReadOut::UserRoles(user, roles) => {
                    if self.wants(Resource::Roles) {
                        let direct = direct_role_assignments(roles.unwrap_or_default());
                        self.read(Resource::Roles, direct.len() as u64);
                        roles_ops.push(DeltaOp::Replace {
                            scope: roles_scope(AssigneeType::User, &user),
                            batch: Batch::RoleAssignments {
                                assignee_type: AssigneeType::User,
                                assignee_id: user,
                                roles: direct,
                            },
                        });
                    }
                }
                ReadOut::GroupRoles(group, roles) => {
                    if self.wants(Resource::Roles) {
                        let roles: Vec<Value> = roles
                            .unwrap_or_default()
                            .into_iter()
                            .map(|r| r.raw)
                            .collect();
                        self.read(Resource::Roles, roles.len() as u64);
                        roles_ops.push(DeltaOp::Replace {
                            scope: roles_scope(AssigneeType::Group, &group),
                            batch: Batch::RoleAssignments {
                                assignee_type: AssigneeType::Group,
                                assignee_id: group,
                                roles,
                            },
                        });
                    }
                }
                ReadOut::Factors(user, factors) => {
                    let scope = Scope::factors_of(user.as_str());
                    factor_ops.push(match factors {
                        Some(factors) => DeltaOp::Replace {
                            scope,
                            batch: Batch::Factors {
                                user_id: user,
                                factors,
                            },
                        },
                        None => DeltaOp::Remove(scope),
                    });
                }
                ReadOut::Idp(_, Some(raw)) => idp_ops.push(DeltaOp::Upsert(Batch::Idps(vec![raw]))),
                ReadOut::Idp(id, None) => idp_ops.push(DeltaOp::Remove(Scope::idp(id))),
            }
        }
        for user in remove_factors {
            factor_ops.push(DeltaOp::Remove(Scope::factors_of(user.as_str())));
        }
        if self.wants(Resource::Users) && !users.is_empty() {
            delta.push(DeltaOp::Upsert(Batch::Users(users)), cause.clone());
        }
        if self.wants(Resource::Groups) && !groups.is_empty() {
            delta.push(DeltaOp::Upsert(Batch::Groups(groups)), cause.clone());
        }
        if self.wants(Resource::Apps) && !apps.is_empty() {
            delta.push(DeltaOp::Upsert(Batch::Apps(apps)), cause.clone());
        }
        for op in removals
            .into_iter()
            .chain(later)
            .chain(roles_ops)
            .chain(factor_ops)
            .chain(idp_ops)
        {
            delta.push(op, cause.clone());
        }
    }
}

fn roles_scope(assignee_type: AssigneeType, id: &str) -> Scope {
    Scope::roles_of(assignee_type, id)
}

fn id_of(v: &Value) -> Option<String> {
    v.get("id").and_then(Value::as_str).map(str::to_owned)
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

/// A watermark (an Okta timestamp) minus [`WATERMARK_OVERLAP`], as a filter value. An
/// unparsable watermark reads as "long ago" (the filter then returns more, never less).
fn minus_overlap(watermark: &str) -> String {
    let overlap = chrono::Duration::from_std(WATERMARK_OVERLAP).unwrap_or_default();
    let t = DateTime::parse_from_rfc3339(watermark)
        .map(|t| t.with_timezone(&Utc) - overlap)
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// What a run learned that changes who is an admin: its plan, and the roles it re-read.
struct AfterRun<'p> {
    plan: &'p Plan,
    user_roles: &'p BTreeMap<&'p str, &'p Option<Vec<RoleAssignment>>>,
    group_roles: &'p BTreeMap<&'p str, bool>,
}

/// A membership change, for working out who holds a role through a group after the run.
#[derive(Debug, Clone)]
enum MembershipOp {
    Add(String, String),
    Remove(String, String),
    RemoveUser(String),
    RemoveGroup(String),
}

/// What the events of one run ask for.
#[derive(Default)]
struct Plan {
    /// Event-derived operations, in event order.
    ops: Vec<(DeltaOp, Cause)>,
    users: BTreeSet<String>,
    groups: BTreeSet<String>,
    apps: BTreeSet<String>,
    /// App → users whose assignment to it to re-read.
    app_users: BTreeMap<String, BTreeSet<String>>,
    app_groups: BTreeSet<(String, String)>,
    user_roles: BTreeSet<String>,
    group_roles: BTreeSet<String>,
    factor_events: BTreeSet<String>,
    idps: BTreeSet<String>,
    memberships: Vec<MembershipOp>,
    deleted_users: BTreeSet<String>,
    deleted_groups: BTreeSet<String>,
    deleted_apps: BTreeSet<String>,
    /// The Everyone group, once looked up.
    everyone: Option<Option<String>>,
    ignored: u64,
}

impl Plan {
    fn push(&mut self, op: DeltaOp, cause: &Cause) {
        self.ops.push((op, cause.clone()));
    }

    fn refresh_user(&mut self, run: &IncrementalRun<'_>, user: &str) {
        if run.wants(Resource::Users) {
            self.users.insert(user.to_owned());
        }
    }

    fn refresh_group(&mut self, run: &IncrementalRun<'_>, group: &str) {
        if run.wants(Resource::Groups) {
            self.groups.insert(group.to_owned());
        }
    }

    /// Drops re-reads of what was deleted: they would only find it gone, and the deletion's
    /// operations already removed it.
    fn prune(&mut self) {
        for u in &self.deleted_users {
            self.users.remove(u);
            self.user_roles.remove(u);
            self.factor_events.remove(u);
            for users in self.app_users.values_mut() {
                users.remove(u);
            }
        }
        for g in &self.deleted_groups {
            self.groups.remove(g);
            self.group_roles.remove(g);
        }
        let deleted_groups = &self.deleted_groups;
        self.app_groups.retain(|(_, g)| !deleted_groups.contains(g));
        for a in &self.deleted_apps {
            self.apps.remove(a);
            self.app_users.remove(a);
        }
        let deleted_apps = &self.deleted_apps;
        self.app_groups.retain(|(a, _)| !deleted_apps.contains(a));
        self.app_users.retain(|_, users| !users.is_empty());
    }
}

/// One re-read or filter listing.
enum Read {
    UsersFilter(String),
    /// `None`: every group (the mirror has none yet).
    GroupsFilter(Option<String>),
    User(String),
    Group(String),
    App(String),
    AppUser(String, String),
    AppUsers(String),
    AppGroup(String, String),
    UserRoles(String),
    GroupRoles(String),
    Factors(String),
    Idp(String),
}

/// What a [`Read`] found; `None` where the object is gone.
enum ReadOut {
    Users(Vec<Value>),
    Groups(Vec<Value>),
    User(String, Option<Value>),
    Group(String, Option<Value>),
    App(String, Option<Value>),
    AppUser(String, String, Option<Value>),
    AppUsers(String, Option<Vec<Value>>),
    AppGroup(String, String, Option<Value>),
    UserRoles(String, Option<Vec<RoleAssignment>>),
    GroupRoles(String, Option<Vec<RoleAssignment>>),
    Factors(String, Option<Vec<Value>>),
    Idp(String, Option<Value>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermarks_move_back_by_the_overlap() {
        assert_eq!(
            minus_overlap("2026-11-23T10:00:30.250Z"),
            "2026-11-23T09:59:30.250Z"
        );
        assert_eq!(minus_overlap("garbage"), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn pruning_drops_rereads_of_deleted_objects() {
        let mut plan = Plan::default();
        plan.users.insert("00u1".into());
        plan.user_roles.insert("00u1".into());
        plan.app_users
            .entry("0oa1".into())
            .or_default()
            .insert("00u1".into());
        plan.app_groups.insert(("0oa1".into(), "00g1".into()));
        plan.deleted_users.insert("00u1".into());
        plan.deleted_groups.insert("00g1".into());
        plan.prune();
        assert!(plan.users.is_empty());
        assert!(plan.user_roles.is_empty());
        assert!(plan.app_users.is_empty());
        assert!(plan.app_groups.is_empty());
    }
}
