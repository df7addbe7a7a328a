//! Who holds an admin role, directly or through a group: the `admins` factor scope (the
//! default), as a full sync finds it out listing by listing and as an incremental run's
//! events change it. Groups, memberships and roles report what they read here; factors
//! asks.

use std::collections::{BTreeMap, BTreeSet, HashSet};

/// The users a full sync reads factors of, found as its listings go: every user for scope
/// `all`; for `admins`, role holders as the role listings name them, and members of groups
/// that hold a role.
#[derive(Default)]
pub(crate) struct FactorUsers {
    /// Groups whose stats say they hold an admin role, or whose role listing was not empty.
    admin_groups: BTreeSet<String>,
    /// Groups whose stats do not rule out an admin role: their members are candidates.
    maybe_admin_groups: HashSet<String>,
    /// Members of groups that may hold an admin role but are not known to yet.
    candidates: BTreeMap<String, Vec<String>>,
    /// Users known to be in the factor scope whose factor listing is not added yet.
    found: Vec<String>,
    /// Every user ever put in `found`.
    seen: HashSet<String>,
}

impl FactorUsers {
    /// Users in the factor scope: their factors are read (once each).
    pub(crate) fn in_scope(&mut self, users: impl IntoIterator<Item = String>) {
        for user_id in users {
            if self.seen.insert(user_id.clone()) {
                self.found.push(user_id);
            }
        }
    }

    /// `group_id` holds an admin role: its members are in the `admins` factor scope.
    pub(crate) fn admin_group(&mut self, group_id: &str) {
        self.admin_groups.insert(group_id.to_owned());
        if let Some(members) = self.candidates.remove(group_id) {
            self.in_scope(members);
        }
    }

    /// `group_id` may hold an admin role (its stats do not say it does not): its members are
    /// candidates.
    pub(crate) fn maybe_admin_group(&mut self, group_id: &str) {
        self.maybe_admin_groups.insert(group_id.to_owned());
    }

    /// Whether the members of `group_id` are candidates for the `admins` scope.
    pub(crate) fn may_hold_role(&self, group_id: &str) -> bool {
        self.maybe_admin_groups.contains(group_id)
    }

    /// Members of a group that may hold an admin role.
    pub(crate) fn members(&mut self, group_id: &str, members: &[String]) {
        if self.admin_groups.contains(group_id) {
            self.in_scope(members.iter().cloned());
        } else {
            self.candidates
                .entry(group_id.to_owned())
                .or_default()
                .extend(members.iter().cloned());
        }
    }

    /// Users found in the factor scope since the last call.
    pub(crate) fn take_found(&mut self) -> Vec<String> {
        std::mem::take(&mut self.found)
    }
}

/// A membership change an incremental run applies, for working out who holds a role through
/// a group after the run.
#[derive(Debug, Clone)]
pub(crate) enum MembershipChange {
    Added { group: String, user: String },
    Removed { group: String, user: String },
    UserDeleted(String),
    GroupDeleted(String),
}

impl MembershipChange {
    /// The user whose memberships changed, when one user's did.
    pub(crate) fn member(&self) -> Option<&str> {
        match self {
            MembershipChange::Added { user, .. } | MembershipChange::Removed { user, .. } => {
                Some(user)
            }
            _ => None,
        }
    }
}

/// What a role re-read found about a user's or a group's admin roles.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RolesHeld {
    User {
        id: String,
        /// A role assigned to the user directly.
        direct: bool,
        /// Any role, directly or through a group.
        any: bool,
    },
    Group {
        id: String,
        any: bool,
    },
}
