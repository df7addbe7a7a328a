//! Group rules: the object `GET /api/v1/groups/rules` serves, and the bookkeeping Okta keeps
//! but never shows (which memberships a rule made).

use super::expr::Expr;
use super::ids::{Id, Ts, format_ts};
use bytes::Bytes;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::OnceLock;

/// Okta's one expression type for group rules.
pub const EXPRESSION_TYPE: &str = "urn:okta:expression:1.0";
/// A rule excludes at most this many users (Okta help: "Group Rule Limitations").
pub const MAX_EXCLUDED_USERS: usize = 100;
/// A rule assigns to at most this many groups (same source).
pub const MAX_RULE_GROUPS: usize = 100;
/// An org holds at most this many rules (same source).
pub const MAX_RULES: usize = 2_000;
/// Rule names are 1 to 50 characters (spec `GroupRule.name`).
pub const MAX_RULE_NAME: usize = 50;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleStatus {
    Active,
    Inactive,
    /// A group the rule assigns to was deleted: the rule can only be read or deleted.
    Invalid,
}

impl RuleStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RuleStatus::Active => "ACTIVE",
            RuleStatus::Inactive => "INACTIVE",
            RuleStatus::Invalid => "INVALID",
        }
    }
}

#[derive(Debug)]
pub struct GroupRule {
    pub id: Id,
    pub name: String,
    pub status: RuleStatus,
    pub created: Ts,
    pub last_updated: Ts,
    /// The expression as the client wrote it.
    pub expression: String,
    pub parsed: Expr,
    /// `conditions.people.users.exclude`, in the order users were added. Ids of users deleted
    /// since stay, as on Okta.
    pub exclude_users: Vec<String>,
    /// `conditions.people.groups.exclude`: stored and echoed, never applied ("currently not
    /// supported", spec `GroupRuleGroupCondition`).
    pub exclude_groups: Vec<String>,
    /// `actions.assignUserToGroups.groupIds`.
    pub group_ids: Vec<Id>,
    pub json: OnceLock<Bytes>,
}

impl GroupRule {
    pub fn all_groups_valid(&self) -> bool {
        self.status != RuleStatus::Invalid
    }

    pub fn excludes(&self, user: &Id) -> bool {
        self.exclude_users.iter().any(|u| u == user.as_str())
    }

    /// The rule as the API serves it (keys in Okta's order; no `_links`, no `_embedded`).
    pub fn to_value(&self) -> Value {
        json!({
            "type": "group_rule",
            "id": self.id,
            "status": self.status.as_str(),
            "name": self.name,
            "created": format_ts(self.created),
            "lastUpdated": format_ts(self.last_updated),
            "conditions": {
                "people": {
                    "users": {"exclude": self.exclude_users},
                    "groups": {"exclude": self.exclude_groups},
                },
                "expression": {"value": self.expression, "type": EXPRESSION_TYPE},
            },
            "actions": {"assignUserToGroups": {"groupIds": self.group_ids}},
            "allGroupsValid": self.all_groups_valid(),
        })
    }

    pub fn json(&self) -> Bytes {
        self.json
            .get_or_init(|| Bytes::from(serde_json::to_vec(&self.to_value()).unwrap_or_default()))
            .clone()
    }

    pub fn touch(&mut self) {
        self.json = OnceLock::new();
    }
}

/// Which rules made which memberships: Okta shows a member as "managed by rule X" in its
/// console but not in the API, and acts on it (a manual removal excludes the user from the
/// rule; a user who stops matching loses only rule-made memberships; `removeUsers` on delete).
#[derive(Debug, Default)]
pub struct RuleMemberships {
    /// (group, user) → the rules holding that membership.
    by_membership: BTreeMap<(Id, Id), BTreeSet<Id>>,
    /// rule → its (group, user) memberships.
    by_rule: BTreeMap<Id, BTreeSet<(Id, Id)>>,
}

impl RuleMemberships {
    pub fn holds(&self, rule: &Id, group: Id, user: Id) -> bool {
        self.by_membership
            .get(&(group, user))
            .is_some_and(|r| r.contains(rule))
    }

    /// The rules holding a membership.
    pub fn rules_of(&self, group: Id, user: Id) -> impl Iterator<Item = &Id> {
        self.by_membership.get(&(group, user)).into_iter().flatten()
    }

    pub fn is_rule_made(&self, group: Id, user: Id) -> bool {
        self.by_membership.contains_key(&(group, user))
    }

    pub fn add(&mut self, rule: Id, group: Id, user: Id) {
        self.by_membership
            .entry((group, user))
            .or_default()
            .insert(rule);
        self.by_rule.entry(rule).or_default().insert((group, user));
    }

    /// Drops one rule's hold; true when no rule holds the membership any more.
    pub fn release(&mut self, rule: Id, group: Id, user: Id) -> bool {
        if let Some(set) = self.by_rule.get_mut(&rule) {
            set.remove(&(group, user));
            if set.is_empty() {
                self.by_rule.remove(&rule);
            }
        }
        match self.by_membership.get_mut(&(group, user)) {
            Some(rules) => {
                rules.remove(&rule);
                if rules.is_empty() {
                    self.by_membership.remove(&(group, user));
                    true
                } else {
                    false
                }
            }
            None => true,
        }
    }

    /// Forgets a membership whatever holds it (it was removed); returns the rules that held it.
    pub fn forget(&mut self, group: Id, user: Id) -> BTreeSet<Id> {
        let rules = self
            .by_membership
            .remove(&(group, user))
            .unwrap_or_default();
        for r in &rules {
            if let Some(set) = self.by_rule.get_mut(r) {
                set.remove(&(group, user));
                if set.is_empty() {
                    self.by_rule.remove(r);
                }
            }
        }
        rules
    }

    /// The memberships a rule holds.
    pub fn of_rule(&self, rule: &Id) -> Vec<(Id, Id)> {
        self.by_rule
            .get(rule)
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// How many memberships rules hold (for tests and stats).
    pub fn len(&self) -> usize {
        self.by_membership.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_membership.is_empty()
    }
}
