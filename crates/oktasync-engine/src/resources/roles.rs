//! Admin role assignments of users and groups. Full sync: `GET /iam/assignees/users`, then
//! `/users/{id}/roles` for each assignee (only assignments made to the user directly are
//! kept under the user; group grants are kept under the group), and `/groups/{id}/roles` for
//! groups whose stats do not rule out a role. Incremental: grant and revoke events re-list
//! the user's or group's roles. Either way, what is read tells the `admins` factor scope who
//! is an admin, even when roles are not mirrored.

use super::{ResourceSync, planned};
use crate::admins::RolesHeld;
use crate::error::EngineError;
use crate::events::{EventKind, Object};
use crate::listing::{Listing, ListingRun};
use crate::options::{FactorScope, Resource};
use crate::reading::{each_page, empty_if_gone, failed_reading, none_if_gone, pages_needed};
use crate::reread::{DeltaRun, Found, Plan, Reread, Target};
use futures::FutureExt;
use futures::future::BoxFuture;
use okta_api::{ROLE_ASSIGNEES_PAGE_LIMIT, RoleAssignment};
use oktasync_store::{AssigneeType, Batch, Cause, DeltaOp, Scope, Table, Watermarks};
use serde_json::Value;
use std::sync::Mutex;

pub(crate) struct Roles;

const ROLES: Resource = Resource::Roles;

impl ResourceSync for Roles {
    fn name(&self) -> &'static str {
        "roles"
    }

    fn okta_scope(&self) -> &'static str {
        "okta.roles.read"
    }

    fn label(&self) -> &'static str {
        "role assignments"
    }

    fn count_key(&self) -> &'static str {
        "role_assignments"
    }

    fn table(&self) -> Table {
        Table::RoleAssignments
    }

    fn first_listings(&self, run: &ListingRun) -> Vec<Listing> {
        if run.wants(ROLES) || run.factor_scope() == Some(FactorScope::Admins) {
            vec![Listing::org(ROLES)]
        } else {
            Vec::new()
        }
    }

    fn may_add(&self, listing: &Listing) -> &'static [Resource] {
        match listing.of {
            // The assignees and the members of role-holding groups are admins.
            None | Some(Object::Group(_)) => &[Resource::Factors],
            Some(_) => &[],
        }
    }

    fn read<'a>(
        &'a self,
        run: &'a ListingRun,
        listing: &'a Listing,
    ) -> BoxFuture<'a, Result<Vec<Listing>, EngineError>> {
        match &listing.of {
            None => list_assignees(run).boxed(),
            Some(Object::User(user_id)) => list_user_roles(run, user_id).boxed(),
            Some(Object::Group(group_id)) => list_group_roles(run, group_id).boxed(),
            Some(_) => Box::pin(std::future::ready(Err(listing.unexpected()))),
        }
    }

    fn plan_event<'a>(
        &'a self,
        run: &'a DeltaRun<'_>,
        plan: &'a mut Plan,
        event: &'a EventKind,
        _cause: &'a Cause,
    ) -> BoxFuture<'a, Result<(), EngineError>> {
        // Read for the factor scope too, even when roles are not mirrored.
        if run.wants(ROLES) || run.admin_factors() {
            match event {
                EventKind::UserRolesChanged { user } => {
                    plan.reread(ROLES, Target::of(Object::User(user.clone())));
                }
                EventKind::GroupRolesChanged { group } => {
                    plan.reread(ROLES, Target::of(Object::Group(group.clone())));
                }
                _ => {}
            }
        }
        planned()
    }

    fn rereads<'a>(
        &'a self,
        run: &'a DeltaRun<'_>,
        plan: &'a Plan,
        _watermarks: &'a Watermarks,
    ) -> BoxFuture<'a, Result<Vec<Reread<'a>>, EngineError>> {
        let reads = plan
            .rereads(ROLES)
            .filter_map(|t| match &t.of {
                Object::User(user) => Some(reread_user_roles(run, user.clone())),
                Object::Group(group) => Some(reread_group_roles(run, group.clone())),
                _ => None,
            })
            .collect();
        Box::pin(std::future::ready(Ok(reads)))
    }

    fn removed_with(&self, deleted: &Object) -> Option<Scope> {
        match deleted {
            Object::User(user) => Some(Scope::roles_of(AssigneeType::User, user.as_str())),
            Object::Group(group) => Some(Scope::roles_of(AssigneeType::Group, group.as_str())),
            _ => None,
        }
    }
}

/// The users holding admin roles: each one's role listing follows, and they are admins.
async fn list_assignees(run: &ListingRun) -> Result<Vec<Listing>, EngineError> {
    let roles_wanted = run.wants(ROLES);
    let admin_factors = run.factor_scope() == Some(FactorScope::Admins);
    let followups = Mutex::new(Vec::new());
    let n = each_page(
        run.client.list_role_assignees(),
        || "the users holding admin roles".into(),
        false,
        |assignees| {
            let followups = &followups;
            async move {
                if roles_wanted {
                    followups.lock().unwrap_or_else(|p| p.into_inner()).extend(
                        assignees
                            .iter()
                            .map(|a| Listing::of(ROLES, Object::User(a.id.clone()))),
                    );
                }
                if admin_factors {
                    run.factor_users()
                        .in_scope(assignees.into_iter().map(|a| a.id));
                }
                Ok(())
            }
        },
    )
    .await?;
    run.add_calls(pages_needed(n, ROLE_ASSIGNEES_PAGE_LIMIT));
    Ok(followups.into_inner().unwrap_or_else(|p| p.into_inner()))
}

async fn list_user_roles(run: &ListingRun, user_id: &str) -> Result<Vec<Listing>, EngineError> {
    let roles = empty_if_gone(run.client.list_user_roles(user_id).await)
        .map_err(failed_reading(format!("the admin roles of user {user_id}")))?;
    run.add_calls(1);
    let direct = direct_role_assignments(roles);
    run.read(ROLES, direct.len() as u64);
    if !direct.is_empty() {
        run.stage(Batch::role_assignments(AssigneeType::User, user_id, direct))
            .await?;
    }
    Ok(Vec::new())
}

async fn list_group_roles(run: &ListingRun, group_id: &str) -> Result<Vec<Listing>, EngineError> {
    let roles = empty_if_gone(run.client.list_group_roles(group_id).await).map_err(
        failed_reading(format!("the admin roles of group {group_id}")),
    )?;
    run.add_calls(1);
    run.read(ROLES, roles.len() as u64);
    if !roles.is_empty() {
        run.factor_users().admin_group(group_id);
        run.stage(Batch::role_assignments(
            AssigneeType::Group,
            group_id,
            roles.into_iter().map(|r| r.raw).collect(),
        ))
        .await?;
    }
    Ok(Vec::new())
}

fn reread_user_roles<'a>(run: &'a DeltaRun<'_>, user: String) -> Reread<'a> {
    async move {
        run.call();
        let roles = none_if_gone(run.client.list_user_roles(&user).await)
            .map_err(failed_reading(format!("the admin roles of user {user}")))?;
        let held = RolesHeld::User {
            id: user.clone(),
            direct: roles.as_ref().is_some_and(|r| r.iter().any(is_direct)),
            any: roles.as_ref().is_some_and(|r| !r.is_empty()),
        };
        let mut found = Found::ops(ROLES, Vec::new());
        if run.wants(ROLES) {
            let direct = direct_role_assignments(roles.unwrap_or_default());
            run.read(ROLES, direct.len() as u64);
            found.ops.push(DeltaOp::Replace {
                scope: Scope::roles_of(AssigneeType::User, user.as_str()),
                batch: Batch::role_assignments(AssigneeType::User, user, direct),
            });
        }
        found.roles = Some(held);
        Ok(found)
    }
    .boxed()
}

fn reread_group_roles<'a>(run: &'a DeltaRun<'_>, group: String) -> Reread<'a> {
    async move {
        run.call();
        let roles = none_if_gone(run.client.list_group_roles(&group).await)
            .map_err(failed_reading(format!("the admin roles of group {group}")))?;
        let held = RolesHeld::Group {
            id: group.clone(),
            any: roles.as_ref().is_some_and(|r| !r.is_empty()),
        };
        let mut found = Found::ops(ROLES, Vec::new());
        if run.wants(ROLES) {
            let roles: Vec<Value> = roles
                .unwrap_or_default()
                .into_iter()
                .map(|r| r.raw)
                .collect();
            run.read(ROLES, roles.len() as u64);
            found.ops.push(DeltaOp::Replace {
                scope: Scope::roles_of(AssigneeType::Group, group.as_str()),
                batch: Batch::role_assignments(AssigneeType::Group, group, roles),
            });
        }
        found.roles = Some(held);
        Ok(found)
    }
    .boxed()
}

/// Whether a role was assigned to the user directly (not through a group).
fn is_direct(role: &RoleAssignment) -> bool {
    role.assignment_type
        .as_deref()
        .is_none_or(|t| t.eq_ignore_ascii_case("USER"))
}

/// The raw assignments among a user's roles that were made to the user directly: roles a
/// user holds through a group are mirrored under the group.
fn direct_role_assignments(roles: Vec<RoleAssignment>) -> Vec<Value> {
    roles.into_iter().filter(is_direct).map(|r| r.raw).collect()
}
