//! Groups. Full sync: `GET /groups?expand=stats`, 200 per page; each group's `usersCount`
//! lets the run skip the member listing of empty groups and read the largest first, and
//! `hasAdminPrivlege` tells which groups need `/groups/{id}/roles` (and whose members are
//! admins, for the factor scope). Incremental: lifecycle and profile events re-read the
//! group, and so does a membership change (it moves `lastMembershipUpdated`); a filter on
//! both timestamps cross-checks them.

use super::{ResourceSync, plan_deletion};
use crate::error::EngineError;
use crate::events::{EventKind, Object};
use crate::listing::{Listing, ListingRun};
use crate::options::{FactorScope, Resource};
use crate::reading::{each_page, failed_reading, pages_needed};
use crate::reread::{DeltaRun, Found, Plan, Reread, Target, id_of, minus_overlap};
use futures::FutureExt;
use futures::future::BoxFuture;
use okta_api::GROUPS_PAGE_LIMIT;
use oktasync_store::{Batch, Cause, Scope, Table, Watermarks};
use serde_json::Value;
use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

pub(crate) struct Groups;

const GROUPS: Resource = Resource::Groups;

impl ResourceSync for Groups {
    fn name(&self) -> &'static str {
        "groups"
    }

    fn okta_scope(&self) -> &'static str {
        "okta.groups.read"
    }

    fn label(&self) -> &'static str {
        "groups"
    }

    fn table(&self) -> Table {
        Table::Groups
    }

    fn first_listings(&self, run: &ListingRun) -> Vec<Listing> {
        // The groups listing finds the member and role listings, and the admin groups.
        let needed = [GROUPS, Resource::Memberships, Resource::Roles]
            .into_iter()
            .any(|r| run.wants(r))
            || run.factor_scope() == Some(FactorScope::Admins);
        if needed {
            vec![Listing::org(GROUPS)]
        } else {
            Vec::new()
        }
    }

    fn may_add(&self, _listing: &Listing) -> &'static [Resource] {
        &[Resource::Memberships, Resource::Roles, Resource::Factors]
    }

    fn read<'a>(
        &'a self,
        run: &'a ListingRun,
        _listing: &'a Listing,
    ) -> BoxFuture<'a, Result<Vec<Listing>, EngineError>> {
        async move {
            let stage = run.wants(GROUPS);
            let members_wanted = run.wants(Resource::Memberships);
            let roles_wanted = run.wants(Resource::Roles);
            let admin_factors = run.factor_scope() == Some(FactorScope::Admins);
            let followups = Mutex::new(Vec::new());
            let expected_members = AtomicU64::new(0);
            let n = each_page(
                run.client.list_groups(None, true),
                || "groups".into(),
                false,
                |groups| {
                    let followups = &followups;
                    let expected_members = &expected_members;
                    async move {
                        run.read(GROUPS, groups.len() as u64);
                        let mut listings = Vec::new();
                        for g in &groups {
                            let stats = g.stats.as_ref();
                            let users_count = stats
                                .and_then(|s| s.users_count)
                                .and_then(|c| u64::try_from(c).ok());
                            let admin_flag = stats.and_then(|s| s.has_admin_privlege);
                            if admin_flag == Some(true) {
                                run.factor_users().admin_group(&g.id);
                            }
                            // Unknown stats: list, rather than miss members or roles.
                            let may_have_members = users_count != Some(0);
                            let may_be_admin = admin_flag != Some(false);
                            expected_members.fetch_add(users_count.unwrap_or(0), Ordering::Relaxed);
                            let members_are_candidates = admin_factors && may_be_admin;
                            if members_are_candidates {
                                run.factor_users().maybe_admin_group(&g.id);
                            }
                            if may_have_members && (members_wanted || members_are_candidates) {
                                listings.push(Listing {
                                    expected: users_count,
                                    ..Listing::of(
                                        Resource::Memberships,
                                        Object::Group(g.id.clone()),
                                    )
                                });
                            }
                            if may_be_admin && roles_wanted {
                                listings.push(Listing::of(
                                    Resource::Roles,
                                    Object::Group(g.id.clone()),
                                ));
                            }
                        }
                        followups
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .extend(listings);
                        if stage {
                            run.stage(Batch::groups(groups.into_iter().map(|g| g.raw).collect()))
                                .await?;
                        }
                        Ok(())
                    }
                },
            )
            .await?;
            run.add_calls(pages_needed(n, GROUPS_PAGE_LIMIT));
            let mut followups = followups.into_inner().unwrap_or_else(|p| p.into_inner());
            // The largest groups' member listings first: they are the longest (one page
            // per thousand members); a group without stats counts as large.
            followups.sort_by_key(|listing| match listing.resource {
                Resource::Memberships => std::cmp::Reverse(listing.expected.unwrap_or(u64::MAX)),
                _ => std::cmp::Reverse(0),
            });
            run.started(
                Resource::Memberships,
                Some(expected_members.load(Ordering::Relaxed)),
            );
            Ok(followups)
        }
        .boxed()
    }

    fn plan_event<'a>(
        &'a self,
        run: &'a DeltaRun<'_>,
        plan: &'a mut Plan,
        event: &'a EventKind,
        cause: &'a Cause,
    ) -> BoxFuture<'a, Result<(), EngineError>> {
        async move {
            let reread = |plan: &mut Plan, group: &str| {
                if run.wants(GROUPS) {
                    plan.reread(GROUPS, Target::of(Object::Group(group.to_owned())));
                }
            };
            match event {
                // A membership change moves the group's lastMembershipUpdated.
                EventKind::MembershipAdded { group, .. }
                | EventKind::MembershipRemoved { group, .. } => reread(plan, group),
                // Okta adds every new user to Everyone without a membership event.
                EventKind::UserCreated { .. } if run.wants(GROUPS) => {
                    if let Some(everyone) = plan.everyone(run).await? {
                        reread(plan, &everyone);
                    }
                }
                // Its groups' lastMembershipUpdated moved.
                EventKind::UserDeleted { user } if run.wants(GROUPS) => {
                    for key in run.keys(Scope::groups_of_user(user.as_str())).await? {
                        if let Some(group) = key.group_id() {
                            reread(plan, group);
                        }
                    }
                }
                EventKind::GroupChanged { group } => reread(plan, group),
                EventKind::GroupDeleted { group } => {
                    plan_deletion(run, plan, Object::Group(group.clone()), cause);
                }
                _ => {}
            }
            Ok(())
        }
        .boxed()
    }

    fn rereads<'a>(
        &'a self,
        run: &'a DeltaRun<'_>,
        _plan: &'a Plan,
        watermarks: &'a Watermarks,
    ) -> BoxFuture<'a, Result<Vec<Reread<'a>>, EngineError>> {
        let mut reads: Vec<Reread<'a>> = Vec::new();
        if run.wants(GROUPS) {
            // `None`: every group (the mirror has none yet).
            let filter = watermarks.groups_last_updated.as_deref().map(|updated| {
                let membership = watermarks
                    .groups_last_membership_updated
                    .as_deref()
                    .unwrap_or(updated);
                format!(
                    "lastUpdated gt \"{}\" or lastMembershipUpdated gt \"{}\"",
                    minus_overlap(updated),
                    minus_overlap(membership),
                )
            });
            reads.push(
                async move {
                    let groups = run
                        .collect(
                            run.client.list_groups(filter.as_deref(), false),
                            "groups changed lately",
                        )
                        .await?;
                    run.read(GROUPS, groups.len() as u64);
                    Ok(Found::objects(
                        GROUPS,
                        groups.into_iter().map(|g| g.raw).collect(),
                    ))
                }
                .boxed(),
            );
        }
        Box::pin(std::future::ready(Ok(reads)))
    }

    fn rereads_given<'a>(
        &'a self,
        run: &'a DeltaRun<'_>,
        plan: &'a Plan,
        first: &'a [Found],
    ) -> BoxFuture<'a, Result<Vec<Reread<'a>>, EngineError>> {
        // Groups the filter did not return are read one by one.
        let seen: BTreeSet<String> = first
            .iter()
            .filter(|f| f.resource == GROUPS)
            .flat_map(|f| f.objects.iter().filter_map(id_of))
            .collect();
        let reads = plan
            .rereads(GROUPS)
            .filter_map(|t| t.of.group_id())
            .filter(|id| !seen.contains(*id))
            .map(|id| read_group(run, id.to_owned()))
            .collect();
        Box::pin(std::future::ready(Ok(reads)))
    }

    fn removed_with(&self, deleted: &Object) -> Option<Scope> {
        deleted.group_id().map(Scope::group)
    }

    fn upsert(&self, objects: Vec<Value>) -> Option<Batch> {
        Some(Batch::groups(objects))
    }
}

fn read_group<'a>(run: &'a DeltaRun<'_>, id: String) -> Reread<'a> {
    async move {
        run.call();
        let group = run
            .client
            .get_group(&id)
            .await
            .map_err(failed_reading(format!("group {id}")))?;
        run.read(GROUPS, u64::from(group.is_some()));
        Ok(Found::object(
            GROUPS,
            Object::Group(id),
            group.map(|g| g.raw),
        ))
    }
    .boxed()
}
