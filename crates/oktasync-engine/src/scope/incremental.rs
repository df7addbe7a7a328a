//! A scoped incremental run: the delta the resource modules planned from the System Log,
//! kept to the scope, plus what crossed its edge.
//!
//! - A group enters when it is assigned to the scope's app, or created or renamed to match
//!   the patterns; its members are read (one listing) and enter with it. It leaves when it
//!   is unassigned, deleted or renamed away, and takes with it the members left with no
//!   scoped group.
//! - A user enters when they join a scoped group (one read, unless the run read them
//!   already) or, under a scope of users only, when they come to match the expression (their
//!   groups are read). A user leaves with their last scoped membership, or when they stop
//!   matching the expression.
//! - Everything else the delta holds is kept when it concerns the scope's users, groups and
//!   app, and dropped otherwise; removals are kept (removing what is absent is harmless).

use super::SyncScope;
use super::full::{Calls, concurrently, groups_of_user, scoped_members};
use crate::admins::MembershipChange;
use crate::error::EngineError;
use crate::events::Object;
use crate::reading::failed_reading;
use crate::reread::DeltaRun;
use crate::resources::removals;
use futures::FutureExt;
use oktasync_store::{Batch, Cause, Delta, DeltaEntry, DeltaOp, Scope, Table, Watermarks};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// Checkpoints of the newest `lastUpdated` (and `lastMembershipUpdated`) the cross-checks
/// have seen, in scope or not. A scoped mirror holds few rows, so its own watermarks stay
/// behind the org's: without these, every run would list again what changed outside the scope
/// since then.
const WATERMARKS: [&str; 3] = [
    "scope.users_last_updated",
    "scope.groups_last_updated",
    "scope.groups_last_membership_updated",
];

fn watermark_fields(w: &mut Watermarks) -> [&mut Option<String>; 3] {
    [
        &mut w.users_last_updated,
        &mut w.groups_last_updated,
        &mut w.groups_last_membership_updated,
    ]
}

/// `newer` if it is later than `field` (Okta's timestamps compare as text).
fn raise(field: &mut Option<String>, newer: Option<String>) {
    if let Some(newer) = newer
        && field.as_deref().is_none_or(|f| f < newer.as_str())
    {
        *field = Some(newer);
    }
}

/// The mirror's watermarks raised to what earlier scoped runs have seen.
pub(crate) async fn raise_watermarks(
    run: &DeltaRun<'_>,
    watermarks: &mut Watermarks,
) -> Result<(), EngineError> {
    for (name, field) in WATERMARKS.into_iter().zip(watermark_fields(watermarks)) {
        raise(field, run.store.checkpoint(run.org, name).await?);
    }
    Ok(())
}

/// `delta` kept to the run's scope, with what crossed its edge; `memberships` are the
/// membership changes the events made, in order; `watermarks` those the cross-checks used
/// (kept, raised by what they read, for the next run).
pub(crate) async fn narrow(
    run: &DeltaRun<'_>,
    delta: Delta,
    memberships: &[MembershipChange],
    watermarks: &Watermarks,
) -> Result<Delta, EngineError> {
    let scope = &run.opts.scope;
    let calls = Calls::default();
    let mut seen = watermarks.clone();
    let text = |row: &Value, key: &str| row.get(key).and_then(Value::as_str).map(str::to_owned);
    for batch in delta.entries.iter().filter_map(batch_of) {
        for row in batch.rows() {
            match batch.table() {
                Table::Users => raise(&mut seen.users_last_updated, text(row, "lastUpdated")),
                Table::Groups => {
                    raise(&mut seen.groups_last_updated, text(row, "lastUpdated"));
                    raise(
                        &mut seen.groups_last_membership_updated,
                        text(row, "lastMembershipUpdated"),
                    );
                }
                _ => {}
            }
        }
    }
    let mut out = Narrowing::new(run, scope, &delta, memberships, &calls)
        .await?
        .apply(delta)
        .await;
    run.add_calls(calls.total());
    if let Ok(out) = &mut out {
        for (name, value) in WATERMARKS.into_iter().zip(watermark_fields(&mut seen)) {
            if let Some(value) = value.take() {
                out.checkpoints.insert(name.to_owned(), value);
            }
        }
    }
    out
}

/// What one run's delta says about the scope's edge.
struct Narrowing<'r, 'a> {
    run: &'r DeltaRun<'a>,
    scope: &'r SyncScope,
    calls: &'r Calls,
    /// The scoped groups after the run; `None`: every group (a scope of users only).
    groups_after: Option<BTreeSet<String>>,
    /// Groups that enter: the group, and the app's assignment of it.
    entering_groups: Vec<(Value, Option<Value>)>,
    leaving_groups: BTreeSet<String>,
    /// Users that enter, read whole.
    entering_users: BTreeMap<String, Value>,
    leaving_users: BTreeSet<String>,
    /// Users known to be in the mirror before the run (those the run asked about).
    users_before: BTreeSet<String>,
    /// Memberships the entering groups bring, by group.
    entering_members: BTreeMap<String, Vec<String>>,
    /// Scoped memberships of users who enter by coming to match the expression.
    matched_memberships: Vec<(String, String)>,
    /// Users whose assignment to the scope's app the delta read.
    app_users_read: BTreeSet<String>,
}

/// The id of an object or bare-id row.
fn id_of(row: &Value) -> Option<&str> {
    match row {
        Value::String(id) => Some(id),
        other => other.get("id").and_then(Value::as_str),
    }
}

/// The value a removal's scope filters `column` on.
fn filtered<'s>(scope: &'s Scope, column: &str) -> Option<&'s str> {
    scope
        .filters()
        .iter()
        .find(|(c, _)| *c == column)
        .map(|(_, v)| v.as_str())
}

/// The batches a delta entry carries.
fn batch_of(entry: &DeltaEntry) -> Option<&Batch> {
    match &entry.op {
        DeltaOp::Upsert(batch) | DeltaOp::Replace { batch, .. } => Some(batch),
        DeltaOp::Remove(_) => None,
    }
}

impl<'r, 'a> Narrowing<'r, 'a> {
    async fn new(
        run: &'r DeltaRun<'a>,
        scope: &'r SyncScope,
        delta: &Delta,
        memberships: &[MembershipChange],
        calls: &'r Calls,
    ) -> Result<Self, EngineError> {
        let mut this = Self {
            run,
            scope,
            calls,
            groups_after: None,
            entering_groups: Vec::new(),
            leaving_groups: BTreeSet::new(),
            entering_users: BTreeMap::new(),
            leaving_users: BTreeSet::new(),
            users_before: BTreeSet::new(),
            entering_members: BTreeMap::new(),
            matched_memberships: Vec::new(),
            app_users_read: BTreeSet::new(),
        };
        // What the delta read whole: groups and users.
        let mut groups_read: BTreeMap<String, Value> = BTreeMap::new();
        let mut users_read: BTreeMap<String, Value> = BTreeMap::new();
        let mut assigned: BTreeMap<String, Value> = BTreeMap::new();
        let mut unassigned: BTreeSet<String> = BTreeSet::new();
        let mut deleted_groups: BTreeSet<String> = BTreeSet::new();
        let mut all_unassigned = false;
        for entry in &delta.entries {
            if let Some(batch) = batch_of(entry) {
                if batch.table() == Table::AppUsers && batch.parent().first() == scope.app.as_ref()
                {
                    this.app_users_read
                        .extend(batch.rows().iter().filter_map(id_of).map(str::to_owned));
                }
                let into = match batch.table() {
                    Table::Groups => &mut groups_read,
                    Table::Users => &mut users_read,
                    Table::AppGroups if batch.parent().first() == scope.app.as_ref() => {
                        &mut assigned
                    }
                    _ => continue,
                };
                for row in batch.rows() {
                    if let Some(id) = id_of(row) {
                        into.insert(id.to_owned(), row.clone());
                    }
                }
            } else if let DeltaOp::Remove(removed) = &entry.op {
                match removed.table() {
                    Table::Groups => {
                        deleted_groups.extend(filtered(removed, "id").map(str::to_owned))
                    }
                    Table::AppGroups if filtered(removed, "app_id") == scope.app.as_deref() => {
                        match filtered(removed, "group_id") {
                            Some(group) => {
                                unassigned.insert(group.to_owned());
                            }
                            // Every group of the app (it was deleted).
                            None => all_unassigned = true,
                        }
                    }
                    _ => {}
                }
            }
        }

        if scope.limits_groups() {
            this.edge_of_groups(
                groups_read,
                assigned,
                unassigned,
                all_unassigned,
                deleted_groups,
            )
            .await?;
        }
        this.edge_of_users(users_read, memberships).await?;
        Ok(this)
    }

    /// Which groups enter and leave, and the members the entering ones bring.
    async fn edge_of_groups(
        &mut self,
        groups_read: BTreeMap<String, Value>,
        mut assigned: BTreeMap<String, Value>,
        unassigned: BTreeSet<String>,
        all_unassigned: bool,
        deleted: BTreeSet<String>,
    ) -> Result<(), EngineError> {
        let scope = self.scope;
        let before: BTreeSet<String> = self
            .run
            .keys(Scope::all(Table::Groups))
            .await?
            .iter()
            .filter_map(|k| k.group_id().map(str::to_owned))
            .collect();
        let name_of = |g: &Value| {
            g.get("profile")
                .and_then(|p| p.get("name"))
                .and_then(Value::as_str)
                .map(str::to_owned)
        };
        let matches = |id: &str, g: &Value| scope.group_matches(id, name_of(g).as_deref());

        let mut leaving: BTreeSet<String> = before
            .iter()
            .filter(|g| all_unassigned || deleted.contains(*g) || unassigned.contains(*g))
            .cloned()
            .collect();
        for (id, group) in &groups_read {
            if before.contains(id) && !matches(id, group) {
                leaving.insert(id.clone());
            }
        }

        // Candidates: groups newly assigned to the app, or (patterns) read and matching.
        let mut candidates: BTreeSet<String> = match &scope.app {
            Some(_) => assigned.keys().cloned().collect(),
            None => BTreeSet::new(),
        };
        for (id, group) in &groups_read {
            if !scope.groups.is_empty() && matches(id, group) {
                candidates.insert(id.clone());
            }
        }
        candidates.retain(|g| !before.contains(g) && !deleted.contains(g));

        let mut entering = Vec::new();
        for id in candidates {
            let group = match groups_read.get(&id) {
                Some(g) => Some(g.clone()),
                None => {
                    self.calls.add(1);
                    self.run
                        .client
                        .get_group(&id)
                        .await
                        .map_err(failed_reading(format!("group {id}")))?
                        .map(|g| g.raw)
                }
            };
            let Some(group) = group.filter(|g| matches(&id, g)) else {
                continue;
            };
            let assignment = match &scope.app {
                None => None,
                Some(app) => match assigned.remove(&id) {
                    Some(a) => Some(a),
                    None => {
                        // Renamed to match while assigned: ask the app.
                        self.calls.add(1);
                        let found = self
                            .run
                            .client
                            .get_app_group(app, &id)
                            .await
                            .map_err(failed_reading(format!("group {id} of app {app}")))?;
                        match found {
                            Some(a) => Some(a.raw),
                            None => continue,
                        }
                    }
                },
            };
            entering.push((group, assignment));
        }

        let (client, calls) = (self.run.client, self.calls);
        let reads = entering
            .iter()
            .filter_map(|(g, _)| id_of(g))
            .map(|id| {
                async move {
                    Ok((
                        id.to_owned(),
                        scoped_members(client, scope, id, calls).await?,
                    ))
                }
                .boxed()
            })
            .collect();
        let read: Vec<(String, Vec<Value>)> = concurrently(reads).await?;
        for (group, members) in read {
            let ids: Vec<String> = members
                .iter()
                .filter_map(id_of)
                .map(str::to_owned)
                .collect();
            for user in members {
                if let Some(id) = id_of(&user).map(str::to_owned) {
                    self.entering_users.insert(id, user);
                }
            }
            self.entering_members.insert(group, ids);
        }

        let mut after = before;
        after.retain(|g| !leaving.contains(g));
        after.extend(
            entering
                .iter()
                .filter_map(|(g, _)| id_of(g))
                .map(str::to_owned),
        );
        self.groups_after = Some(after);
        self.entering_groups = entering;
        self.leaving_groups = leaving;
        Ok(())
    }

    fn group_in_scope(&self, group: &str) -> bool {
        self.groups_after.as_ref().is_none_or(|g| g.contains(group))
    }

    async fn in_mirror(&self, user: &str) -> Result<bool, EngineError> {
        Ok(!self.run.keys(Scope::user(user)).await?.is_empty())
    }

    /// Which users enter and leave.
    async fn edge_of_users(
        &mut self,
        users_read: BTreeMap<String, Value>,
        memberships: &[MembershipChange],
    ) -> Result<(), EngineError> {
        let scope = self.scope;
        // Users the run read whole: in or out by the expression.
        for (id, user) in &users_read {
            let was_in = self.in_mirror(id).await?;
            if was_in {
                self.users_before.insert(id.clone());
            }
            if !scope.user_matches(user) {
                if was_in {
                    self.leaving_users.insert(id.clone());
                }
                self.entering_users.remove(id);
            } else if !was_in && !scope.limits_groups() {
                self.entering_users.insert(id.clone(), user.clone());
            } else if !was_in && scope.users.is_some() && !self.entering_users.contains_key(id) {
                // Came to match the expression: in when a member of a scoped group.
                let groups = groups_of_user(self.run.client, id, self.calls).await?;
                let scoped: Vec<String> = groups
                    .into_iter()
                    .filter(|g| self.group_in_scope(g))
                    .collect();
                if !scoped.is_empty() {
                    self.entering_users.insert(id.clone(), user.clone());
                    self.matched_memberships
                        .extend(scoped.into_iter().map(|g| (g, id.clone())));
                }
            }
        }
        // Members of entering groups that were in already are not entering.
        let known: Vec<String> = self.entering_users.keys().cloned().collect();
        for id in known {
            if self.users_before.contains(&id) || self.in_mirror(&id).await? {
                self.users_before.insert(id.clone());
                self.entering_users.remove(&id);
            }
        }
        if !scope.limits_groups() {
            return Ok(());
        }

        // Joining a scoped group brings a user in.
        let mut joined: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        let mut left: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for change in memberships {
            match change {
                MembershipChange::Added { group, user } => {
                    joined.entry(user).or_default().insert(group);
                    if let Some(l) = left.get_mut(user.as_str()) {
                        l.remove(group.as_str());
                    }
                }
                MembershipChange::Removed { group, user } => {
                    left.entry(user).or_default().insert(group);
                    if let Some(j) = joined.get_mut(user.as_str()) {
                        j.remove(group.as_str());
                    }
                }
                _ => {}
            }
        }
        for (user, groups) in &joined {
            let into_scope = groups.iter().any(|g| self.group_in_scope(g));
            if !into_scope
                || self.users_before.contains(*user)
                || self.entering_users.contains_key(*user)
                || self.leaving_users.contains(*user)
            {
                continue;
            }
            if self.in_mirror(user).await? {
                self.users_before.insert((*user).to_owned());
                continue;
            }
            let found = match users_read.get(*user) {
                Some(u) => Some(u.clone()),
                None => {
                    self.calls.add(1);
                    self.run
                        .client
                        .get_user(user)
                        .await
                        .map_err(failed_reading(format!("user {user}")))?
                        .filter(|u| u.id == *user)
                        .map(|u| u.raw)
                }
            };
            if let Some(found) = found.filter(|u| scope.user_matches(u)) {
                self.entering_users.insert((*user).to_owned(), found);
            }
        }

        // Losing the last scoped group takes a user out: those who left a group, and the
        // members of groups that left.
        let mut candidates: BTreeSet<String> = left.keys().map(|u| (*u).to_owned()).collect();
        for group in &self.leaving_groups {
            for key in self
                .run
                .keys(Scope::members_of_group(group.as_str()))
                .await?
            {
                candidates.extend(key.user_id().map(str::to_owned));
            }
        }
        for user in candidates {
            if self.leaving_users.contains(&user) {
                continue;
            }
            let mut groups: BTreeSet<String> = self
                .run
                .keys(Scope::groups_of_user(user.as_str()))
                .await?
                .iter()
                .filter_map(|k| k.group_id().map(str::to_owned))
                .collect();
            if groups.is_empty() && !self.entering_users.contains_key(&user) {
                // Not in the mirror: nothing to take out.
                continue;
            }
            if let Some(l) = left.get(user.as_str()) {
                groups.retain(|g| !l.contains(g.as_str()));
            }
            if let Some(j) = joined.get(user.as_str()) {
                groups.extend(j.iter().map(|g| (*g).to_owned()));
            }
            for (group, members) in &self.entering_members {
                if members.contains(&user) {
                    groups.insert(group.clone());
                }
            }
            // Came to match the expression: the scoped groups read for them count too.
            for (group, member) in &self.matched_memberships {
                if *member == user {
                    groups.insert(group.clone());
                }
            }
            if !groups.iter().any(|g| self.group_in_scope(g)) {
                self.entering_users.remove(&user);
                self.leaving_users.insert(user);
            }
        }
        Ok(())
    }

    /// Whether a user is in scope after the run (those the run did not ask about stay as
    /// they were: in the mirror or not).
    fn user_stays(&self, user: &str) -> Option<bool> {
        if self.leaving_users.contains(user) {
            Some(false)
        } else if self.entering_users.contains_key(user) || self.users_before.contains(user) {
            Some(true)
        } else {
            None
        }
    }

    /// Whether `user` is in scope after the run: as the edge decided, else as the mirror has
    /// it (a user the run did not ask about stays as they were).
    async fn stays(&self, user: &str) -> Result<bool, EngineError> {
        match self.user_stays(user) {
            Some(stays) => Ok(stays),
            None => self.in_mirror(user).await,
        }
    }

    /// The users of `rows` (users, members, assignments) that are in scope after the run.
    async fn staying(&self, rows: &[Value]) -> Result<BTreeSet<String>, EngineError> {
        let mut staying = BTreeSet::new();
        for id in rows.iter().filter_map(id_of) {
            if self.stays(id).await? {
                staying.insert(id.to_owned());
            }
        }
        Ok(staying)
    }

    /// Keeps a batch's rows in scope; `None` when none of it is.
    async fn keep(&self, mut batch: Batch) -> Result<Option<Batch>, EngineError> {
        let scope = self.scope;
        let parent_is_app = |b: &Batch| b.parent().first() == scope.app.as_ref();
        match batch.table() {
            Table::Users => {
                let staying = self.staying(batch.rows()).await?;
                batch.retain_ids(|id| staying.contains(id));
            }
            Table::AppUsers if parent_is_app(&batch) => {
                let staying = self.staying(batch.rows()).await?;
                batch.retain_ids(|id| staying.contains(id));
            }
            Table::Groups => batch.retain_ids(|id| self.group_in_scope(id)),
            Table::GroupMembers => {
                let group = batch.parent().first().cloned().unwrap_or_default();
                if !self.group_in_scope(&group) {
                    return Ok(None);
                }
                let staying = self.staying(batch.rows()).await?;
                batch.retain_ids(|id| staying.contains(id));
            }
            Table::Apps => batch.retain_ids(|id| scope.app.as_deref() == Some(id)),
            Table::AppGroups if parent_is_app(&batch) => {
                batch.retain_ids(|id| self.group_in_scope(id));
            }
            _ => return Ok(None),
        }
        Ok(Some(batch))
    }

    /// The delta kept to the scope, then what crossed its edge.
    async fn apply(self, delta: Delta) -> Result<Delta, EngineError> {
        let Delta {
            entries,
            checkpoints,
            log_events,
            log_keep_after,
        } = delta;
        // the System Log is the org's: kept whole whatever the scope
        let mut out = Delta {
            entries: Vec::new(),
            checkpoints,
            log_events,
            log_keep_after,
        };
        for entry in entries {
            let op = match entry.op {
                DeltaOp::Remove(scope) => Some(DeltaOp::Remove(scope)),
                DeltaOp::Upsert(batch) => self.keep(batch).await?.map(DeltaOp::Upsert),
                DeltaOp::Replace { scope, batch } => self
                    .keep(batch)
                    .await?
                    .map(|batch| DeltaOp::Replace { scope, batch }),
            };
            if let Some(op) = op {
                out.push(op, entry.cause);
            }
        }

        let cause = Cause::read_at(self.run.opts.clock.now());
        let run = self.run;
        let wants = |r| run.wants(r);
        use crate::options::Resource as R;
        for (group, assignment) in &self.entering_groups {
            let Some(id) = id_of(group) else { continue };
            if wants(R::Groups) {
                out.push(
                    DeltaOp::Upsert(Batch::groups(vec![group.clone()])),
                    cause.clone(),
                );
            }
            if let (Some(app), Some(assignment)) = (&self.scope.app, assignment)
                && wants(R::AppGroups)
            {
                out.push(
                    DeltaOp::Upsert(Batch::app_groups(app, vec![assignment.clone()])),
                    cause.clone(),
                );
            }
            if wants(R::Memberships) {
                let members = self.entering_members.get(id).cloned().unwrap_or_default();
                out.push(
                    DeltaOp::Replace {
                        scope: Scope::members_of_group(id),
                        batch: Batch::group_members(id, members),
                    },
                    cause.clone(),
                );
            }
        }
        if wants(R::Memberships) {
            for (group, user) in &self.matched_memberships {
                out.push(
                    DeltaOp::Upsert(Batch::group_members(group, vec![user.clone()])),
                    cause.clone(),
                );
            }
        }
        if !self.entering_users.is_empty() && wants(R::Users) {
            out.push(
                DeltaOp::Upsert(Batch::users(
                    self.entering_users.values().cloned().collect(),
                )),
                cause.clone(),
            );
        }
        // Under a scope of users only, an entering user's groups are read.
        if !self.scope.limits_groups() && wants(R::Memberships) {
            let calls = self.calls;
            let reads = self
                .entering_users
                .keys()
                .map(|user| {
                    async move { Ok((user.clone(), groups_of_user(run.client, user, calls).await?)) }
                        .boxed()
                })
                .collect();
            let read: Vec<(String, Vec<String>)> = concurrently(reads).await?;
            for (user, groups) in read {
                for group in groups {
                    out.push(
                        DeltaOp::Upsert(Batch::group_members(group, vec![user.clone()])),
                        cause.clone(),
                    );
                }
            }
        }
        for group in &self.leaving_groups {
            for op in removals(run.opts, &Object::Group(group.clone())) {
                out.push(op, cause.clone());
            }
        }
        for user in &self.leaving_users {
            for op in removals(run.opts, &Object::User(user.clone())) {
                out.push(op, cause.clone());
            }
        }
        let groups_moved = !self.entering_groups.is_empty() || !self.leaving_groups.is_empty();
        // A user who entered without their assignment to the app being read: one read each.
        if let Some(app) = &self.scope.app
            && wants(R::AppUsers)
            && !groups_moved
        {
            let unread: Vec<&String> = self
                .entering_users
                .keys()
                .filter(|u| !self.app_users_read.contains(*u))
                .collect();
            let calls = self.calls;
            let reads = unread
                .into_iter()
                .map(|user| {
                    async move {
                        calls.add(1);
                        run.client
                            .get_app_user(app, user)
                            .await
                            .map_err(failed_reading(format!("user {user} of app {app}")))
                    }
                    .boxed()
                })
                .collect();
            let found: Vec<Value> = concurrently(reads)
                .await?
                .into_iter()
                .flatten()
                .map(|a| a.raw)
                .collect();
            if !found.is_empty() {
                out.push(DeltaOp::Upsert(Batch::app_users(app, found)), cause.clone());
            }
        }
        // Groups came or went: the app's user assignments are read again, kept to the scope.
        if let Some(app) = &self.scope.app
            && wants(R::AppUsers)
            && groups_moved
        {
            let assigned =
                match super::full::collect(self.calls, run.client.list_app_users(app), || {
                    format!("the users assigned to app {app}")
                })
                .await
                {
                    // The app was deleted: its rows go with it (the delta removes them).
                    Err(EngineError::Okta {
                        cause: okta_api::Error::NotFound(_),
                        ..
                    }) => Vec::new(),
                    other => other?,
                };
            let mut kept = Vec::new();
            for a in assigned {
                if self.stays(&a.id).await? {
                    kept.push(a.raw);
                }
            }
            out.push(
                DeltaOp::Replace {
                    scope: Scope::users_of_app(app.as_str()),
                    batch: Batch::app_users(app, kept),
                },
                cause,
            );
        }
        Ok(out)
    }
}
