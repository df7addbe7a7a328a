//! MFA factors: `/users/{id}/factors`, one call per user, so only the users in the factor
//! scope (`admins` by default: role holders directly or through a group; `all`; `none`).
//! Full sync: each user's listing starts as soon as other listings show the user is in the
//! scope, so that they are not left for the end. Incremental: factor events re-list the
//! user's factors, and users who became or stopped being admins gain or lose theirs.

use super::{ResourceSync, planned, replace_or_remove};
use crate::admins::{MembershipChange, RolesHeld};
use crate::error::EngineError;
use crate::events::{EventKind, Object};
use crate::listing::{Listing, ListingRun};
use crate::options::{FactorScope, Resource};
use crate::reading::{empty_if_gone, failed_reading, none_if_gone};
use crate::reread::{DeltaRun, Found, Plan, Reread, Target};
use futures::FutureExt;
use futures::StreamExt;
use futures::future::BoxFuture;
use oktasync_store::{AssigneeType, Batch, Cause, DeltaOp, RowKey, Scope, Table};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

pub(crate) struct Factors;

const FACTORS: Resource = Resource::Factors;

impl ResourceSync for Factors {
    fn name(&self) -> &'static str {
        "factors"
    }

    fn okta_scope(&self) -> &'static str {
        "okta.users.read"
    }

    fn label(&self) -> &'static str {
        "factors"
    }

    fn table(&self) -> Table {
        Table::Factors
    }

    fn read<'a>(
        &'a self,
        run: &'a ListingRun,
        listing: &'a Listing,
    ) -> BoxFuture<'a, Result<Vec<Listing>, EngineError>> {
        async move {
            let Some(Object::User(user_id)) = &listing.of else {
                return Err(listing.unexpected());
            };
            let factors = empty_if_gone(run.client.list_user_factors(user_id).await)
                .map_err(failed_reading(format!("the factors of user {user_id}")))?;
            run.add_calls(1);
            run.read(FACTORS, factors.len() as u64);
            run.stage(Batch::factors(
                user_id.clone(),
                factors.into_iter().map(|f| f.raw).collect(),
            ))
            .await?;
            Ok(Vec::new())
        }
        .boxed()
    }

    fn listings_found(&self, run: &ListingRun) -> Vec<Listing> {
        if run.factor_scope().is_none() {
            return Vec::new();
        }
        let found = run.factor_users().take_found();
        found
            .into_iter()
            .map(|user_id| Listing::of(FACTORS, Object::User(user_id)))
            .collect()
    }

    fn plan_event<'a>(
        &'a self,
        run: &'a DeltaRun<'_>,
        plan: &'a mut Plan,
        event: &'a EventKind,
        _cause: &'a Cause,
    ) -> BoxFuture<'a, Result<(), EngineError>> {
        if let EventKind::FactorsChanged { user } = event
            && run.wants(FACTORS)
        {
            plan.reread(FACTORS, Target::of(Object::User(user.clone())));
        }
        planned()
    }

    fn rereads_given<'a>(
        &'a self,
        run: &'a DeltaRun<'_>,
        plan: &'a Plan,
        first: &'a [Found],
    ) -> BoxFuture<'a, Result<Vec<Reread<'a>>, EngineError>> {
        async move {
            // Whose factors are in scope may have changed with roles and memberships.
            let (relist, remove) = factor_changes(run, plan, first).await?;
            let mut reads: Vec<Reread<'a>> = relist
                .into_iter()
                .map(|user| relist_factors(run, user))
                .collect();
            if !remove.is_empty() {
                let ops = remove
                    .into_iter()
                    .map(|user| DeltaOp::Remove(Scope::factors_of(user)))
                    .collect();
                reads.push(Box::pin(std::future::ready(Ok(Found::ops(FACTORS, ops)))));
            }
            Ok(reads)
        }
        .boxed()
    }

    fn removed_with(&self, deleted: &Object) -> Option<Scope> {
        deleted.user_id().map(Scope::factors_of)
    }
}

fn relist_factors<'a>(run: &'a DeltaRun<'_>, user: String) -> Reread<'a> {
    async move {
        run.call();
        let factors = none_if_gone(run.client.list_user_factors(&user).await)
            .map_err(failed_reading(format!("the factors of user {user}")))?;
        let factors: Option<Vec<Value>> = factors.map(|f| f.into_iter().map(|f| f.raw).collect());
        run.read(FACTORS, factors.as_ref().map_or(0, |f| f.len() as u64));
        let op = replace_or_remove(Scope::factors_of(user.as_str()), factors, |f| {
            Batch::factors(user, f)
        });
        Ok(Found::ops(FACTORS, vec![op]))
    }
    .boxed()
}

/// Whose factors to re-list and whose to remove, so that the factors mirrored stay those of
/// the users in the factor scope (`admins`: a role held directly or through a group, as a
/// full sync defines it).
async fn factor_changes(
    run: &DeltaRun<'_>,
    plan: &Plan,
    first: &[Found],
) -> Result<(BTreeSet<String>, BTreeSet<String>), EngineError> {
    let mut relist = BTreeSet::new();
    let mut remove = BTreeSet::new();
    if !run.wants(FACTORS) {
        return Ok((relist, remove));
    }
    let alive = |u: &String| !plan.is_deleted(&Object::User(u.clone()));
    let factor_events: BTreeSet<String> = plan
        .rereads(FACTORS)
        .filter_map(|t| t.of.user_id().map(str::to_owned))
        .collect();
    match run.opts.factors {
        FactorScope::None => {}
        FactorScope::All => relist.extend(factor_events.iter().filter(|u| alive(u)).cloned()),
        FactorScope::Admins => {
            let pending_user_roles: BTreeSet<&str> = plan
                .rereads(Resource::Roles)
                .filter_map(|t| t.of.user_id())
                .collect();
            let pending_group_roles: BTreeSet<&str> = plan
                .rereads(Resource::Roles)
                .filter_map(|t| t.of.group_id())
                .collect();
            let relevant = !plan.memberships.is_empty()
                || !pending_user_roles.is_empty()
                || !pending_group_roles.is_empty()
                || !factor_events.is_empty();
            if !relevant {
                return Ok((relist, remove));
            }
            // What the role re-reads found: user → (direct role, any role); group → any role.
            let mut user_roles: BTreeMap<&str, (bool, bool)> = BTreeMap::new();
            let mut group_roles: BTreeMap<&str, bool> = BTreeMap::new();
            for held in first.iter().filter_map(|f| f.roles.as_ref()) {
                match held {
                    RolesHeld::User { id, direct, any } => {
                        user_roles.insert(id, (*direct, *any));
                    }
                    RolesHeld::Group { id, any } => {
                        group_roles.insert(id, *any);
                    }
                }
            }
            if run.wants(Resource::Roles) && run.wants(Resource::Memberships) {
                let before = admins_in_mirror(run, None).await?;
                let after = admins_in_mirror(
                    run,
                    Some(&AdminChanges {
                        memberships: &plan.memberships,
                        user_roles: user_roles.iter().map(|(u, (d, _))| (*u, *d)).collect(),
                        group_roles: group_roles.clone(),
                        deleted: plan.deleted_objects(),
                    }),
                )
                .await?;
                relist.extend(after.difference(&before).cloned());
                remove.extend(before.difference(&after).filter(|u| alive(u)).cloned());
                relist.extend(factor_events.intersection(&after).cloned());
            } else {
                // Without roles and memberships in the mirror, ask Okta about each user
                // whose admin status may have changed.
                let mut candidates: BTreeSet<String> =
                    pending_user_roles.iter().map(|u| (*u).to_owned()).collect();
                candidates.extend(factor_events.iter().cloned());
                candidates.extend(
                    plan.memberships
                        .iter()
                        .filter_map(MembershipChange::member)
                        .map(str::to_owned),
                );
                for g in &pending_group_roles {
                    let mut pages = run.client.list_group_users(g);
                    while let Some(page) = pages.next().await {
                        run.call();
                        match page {
                            Ok(p) => candidates.extend(p.items.into_iter().map(|u| u.id)),
                            Err(okta_api::Error::NotFound(_)) => break,
                            Err(e) => {
                                return Err(failed_reading(format!("the members of group {g}"))(e));
                            }
                        }
                    }
                }
                for user in candidates.into_iter().filter(|u| alive(u)) {
                    let any_role = match user_roles.get(user.as_str()) {
                        Some((_, any)) => *any,
                        None => {
                            run.call();
                            none_if_gone(run.client.list_user_roles(&user).await)
                                .map_err(failed_reading(format!("the admin roles of user {user}")))?
                                .is_some_and(|r| !r.is_empty())
                        }
                    };
                    if any_role {
                        relist.insert(user);
                    } else {
                        remove.insert(user);
                    }
                }
            }
        }
    }
    Ok((relist, remove))
}

/// What an incremental run changes about who holds a role: its membership changes, what its
/// role re-reads found, and what its events deleted.
struct AdminChanges<'p> {
    memberships: &'p [MembershipChange],
    /// User → a role held directly.
    user_roles: BTreeMap<&'p str, bool>,
    /// Group → any role held.
    group_roles: BTreeMap<&'p str, bool>,
    deleted: &'p BTreeSet<Object>,
}

/// Users holding a role directly or through a group, from the mirror; with `after`, as they
/// will be once the run's changes are applied.
async fn admins_in_mirror(
    run: &DeltaRun<'_>,
    after: Option<&AdminChanges<'_>>,
) -> Result<BTreeSet<String>, EngineError> {
    let assignees = |keys: Vec<RowKey>| -> BTreeSet<String> {
        keys.iter()
            .filter_map(|k| k.user_id().or(k.group_id()).map(str::to_owned))
            .collect()
    };
    let mut direct = assignees(run.keys(Scope::roles_held_by(AssigneeType::User)).await?);
    let mut groups = assignees(run.keys(Scope::roles_held_by(AssigneeType::Group)).await?);
    if let Some(after) = after {
        for (user, has_direct) in &after.user_roles {
            if *has_direct {
                direct.insert((*user).to_owned());
            } else {
                direct.remove(*user);
            }
        }
        for (group, admin) in &after.group_roles {
            if *admin {
                groups.insert((*group).to_owned());
            } else {
                groups.remove(*group);
            }
        }
        for deleted in after.deleted {
            match deleted {
                Object::User(u) => {
                    direct.remove(u);
                }
                Object::Group(g) => {
                    groups.remove(g);
                }
                _ => {}
            }
        }
    }
    let mut admins = direct;
    for group in groups {
        let mut members: BTreeSet<String> = run
            .keys(Scope::members_of_group(group.as_str()))
            .await?
            .iter()
            .filter_map(|k| k.user_id().map(str::to_owned))
            .collect();
        if let Some(after) = after {
            for change in after.memberships {
                match change {
                    MembershipChange::Added { group: g, user } if *g == group => {
                        members.insert(user.clone());
                    }
                    MembershipChange::Removed { group: g, user } if *g == group => {
                        members.remove(user);
                    }
                    MembershipChange::UserDeleted(u) => {
                        members.remove(u);
                    }
                    MembershipChange::GroupDeleted(g) if *g == group => members.clear(),
                    _ => {}
                }
            }
        }
        admins.extend(members);
    }
    Ok(admins)
}
