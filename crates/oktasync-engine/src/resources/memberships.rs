//! Group memberships. Full sync: `GET /groups/{id}/users?limit=1000` for the groups whose
//! stats do not say they are empty, parsed as ids only; members of groups that may hold an
//! admin role are candidates for the `admins` factor scope. Incremental: membership events
//! carry both ids and are applied as they are; a new user joins Everyone without an event.

use super::{ResourceSync, planned};
use crate::admins::MembershipChange;
use crate::error::EngineError;
use crate::events::{EventKind, Object};
use crate::listing::{Listing, ListingRun};
use crate::options::Resource;
use crate::reading::{each_page, pages_needed};
use crate::reread::{DeltaRun, Plan};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use okta_api::{GROUP_USERS_PAGE_LIMIT, OktaClient, PageStream};
use oktasync_store::{Batch, Cause, DeltaOp, Scope, Table};
use serde::Deserialize;

pub(crate) struct Memberships;

const MEMBERSHIPS: Resource = Resource::Memberships;

impl ResourceSync for Memberships {
    fn name(&self) -> &'static str {
        "memberships"
    }

    fn okta_scope(&self) -> &'static str {
        "okta.groups.read"
    }

    fn label(&self) -> &'static str {
        "memberships"
    }

    fn table(&self) -> Table {
        Table::GroupMembers
    }

    fn started_by(&self) -> Option<Resource> {
        Some(Resource::Groups)
    }

    fn may_add(&self, _listing: &Listing) -> &'static [Resource] {
        &[Resource::Factors]
    }

    fn read<'a>(
        &'a self,
        run: &'a ListingRun,
        listing: &'a Listing,
    ) -> BoxFuture<'a, Result<Vec<Listing>, EngineError>> {
        async move {
            let Some(Object::Group(group_id)) = &listing.of else {
                return Err(listing.unexpected());
            };
            let stage = run.wants(MEMBERSHIPS);
            let candidates = run.factor_users().may_hold_role(group_id);
            let n = each_page(
                member_pages(&run.client, group_id, listing.expected),
                || format!("the members of group {group_id}"),
                true,
                |members| async move {
                    let user_ids: Vec<String> = members.into_iter().map(|m| m.id).collect();
                    run.read(MEMBERSHIPS, user_ids.len() as u64);
                    if candidates {
                        run.factor_users().members(group_id, &user_ids);
                    }
                    if stage {
                        run.stage(Batch::group_members(group_id.clone(), user_ids))
                            .await?;
                    }
                    Ok(())
                },
            )
            .await?;
            run.add_calls(pages_needed(n, GROUP_USERS_PAGE_LIMIT));
            Ok(Vec::new())
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
        let added = |plan: &mut Plan, group: &str, user: &str| {
            if run.wants(MEMBERSHIPS) {
                plan.push(
                    DeltaOp::Upsert(Batch::group_members(group, vec![user.to_owned()])),
                    cause,
                );
            }
            plan.memberships.push(MembershipChange::Added {
                group: group.to_owned(),
                user: user.to_owned(),
            });
        };
        match event {
            EventKind::MembershipAdded { group, user } => added(plan, group, user),
            EventKind::MembershipRemoved { group, user } => {
                if run.wants(MEMBERSHIPS) {
                    plan.push(
                        DeltaOp::Remove(Scope::membership(group.as_str(), user.as_str())),
                        cause,
                    );
                }
                plan.memberships.push(MembershipChange::Removed {
                    group: group.clone(),
                    user: user.clone(),
                });
            }
            // Okta adds every new user to Everyone without a membership event.
            EventKind::UserCreated { user } => {
                return async move {
                    if let Some(everyone) = plan.everyone(run).await? {
                        added(plan, &everyone, user);
                    }
                    Ok(())
                }
                .boxed();
            }
            EventKind::UserDeleted { user } => {
                plan.memberships
                    .push(MembershipChange::UserDeleted(user.clone()));
            }
            EventKind::GroupDeleted { group } => {
                plan.memberships
                    .push(MembershipChange::GroupDeleted(group.clone()));
            }
            _ => {}
        }
        planned()
    }

    fn removed_with(&self, deleted: &Object) -> Option<Scope> {
        match deleted {
            Object::User(user) => Some(Scope::groups_of_user(user.as_str())),
            Object::Group(group) => Some(Scope::members_of_group(group.as_str())),
            _ => None,
        }
    }
}

/// A minimal member, so that a 1,000-member page is not parsed into full user models.
#[derive(Deserialize)]
struct MemberId {
    id: String,
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
