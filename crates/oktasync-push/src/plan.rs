//! What a push will do, computed before any write: the users to create, update, deactivate and
//! delete, and the target group memberships to add and remove.
//!
//! A plan compares the desired users (mapped, hooked) with a baseline:
//! - **incremental**: the push records of the previous runs; nothing is read from the target,
//!   and a user whose content hash is unchanged costs nothing;
//! - **full**: the target's users and groups as listed now (matched to the records by target
//!   id, else by userName); this also finds the target-only accounts.
//!
//! Users matching `exclude_users`, and users the hook skipped or failed for, are never touched
//! (and never counted as having left the scope).

use crate::config::{Deprovision, MaxDeletions, TargetOnlyPolicy};
use crate::mapping::{AttributePath, Attributes};
use crate::state::PushRecord;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// A user as the target should have it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DesiredUser {
    pub okta_user_id: String,
    pub login: String,
    pub attributes: Attributes,
    pub target_groups: BTreeSet<String>,
}

impl DesiredUser {
    pub fn user_name(&self) -> &str {
        self.attributes
            .get("userName")
            .and_then(Value::as_str)
            .unwrap_or_default()
    }

    pub fn content_hash(&self) -> String {
        content_hash(&self.attributes, &self.target_groups)
    }
}

/// A user as listed from the target.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetUser {
    pub id: String,
    pub user_name: String,
    pub active: bool,
    /// The whole SCIM resource, to compare attributes with.
    pub resource: Value,
}

/// A group as listed from the target.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetGroup {
    pub id: String,
    pub display_name: String,
    /// The member ids.
    pub members: BTreeSet<String>,
}

/// The target's users and groups, for a full push.
#[derive(Debug, Clone, Default)]
pub struct TargetSnapshot {
    pub users: Vec<TargetUser>,
    pub groups: Vec<TargetGroup>,
}

/// One attribute change of an update, as it becomes a PATCH operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum AttributeChange {
    Replace { path: String, value: Value },
    Remove { path: String },
}

impl AttributeChange {
    pub fn path(&self) -> &str {
        match self {
            AttributeChange::Replace { path, .. } | AttributeChange::Remove { path } => path,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserCreate {
    pub okta_user_id: String,
    pub login: String,
    pub attributes: Attributes,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserUpdate {
    pub okta_user_id: String,
    pub login: String,
    pub target_user_id: String,
    pub changes: Vec<AttributeChange>,
}

/// Why a user is deactivated or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RemovalReason {
    /// Pushed before, no longer in the target's scope.
    LeftScope,
    /// In the target, never pushed, not in scope (`target_only_users`).
    TargetOnly,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserRemoval {
    pub target_user_id: String,
    pub user_name: String,
    /// Set when the user was pushed before.
    pub okta_user_id: Option<String>,
    pub reason: RemovalReason,
}

impl UserRemoval {
    /// The key the run knows the user by: its Okta id when it was pushed, else its target id.
    pub fn key(&self) -> &str {
        self.okta_user_id.as_deref().unwrap_or(&self.target_user_id)
    }
}

/// A user joining or leaving a target group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct MembershipChange {
    /// The target group's displayName.
    pub group: String,
    pub user_name: String,
    /// `None` for a user this run creates.
    pub target_user_id: Option<String>,
    pub okta_user_id: Option<String>,
}

impl MembershipChange {
    /// The key the run knows the user by: its Okta id, else its target id (every change has
    /// one or the other: a user this run creates has an Okta id).
    pub fn key(&self) -> &str {
        self.okta_user_id
            .as_deref()
            .or(self.target_user_id.as_deref())
            .unwrap_or(&self.user_name)
    }
}

/// An account in the target that is neither in scope nor pushed before.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetOnlyUser {
    pub id: String,
    #[serde(rename = "userName")]
    pub user_name: String,
    pub active: bool,
}

/// Everything a push will do.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Plan {
    pub creates: Vec<UserCreate>,
    pub updates: Vec<UserUpdate>,
    pub deactivations: Vec<UserRemoval>,
    pub deletions: Vec<UserRemoval>,
    pub group_adds: Vec<MembershipChange>,
    pub group_removes: Vec<MembershipChange>,
    /// Target-only accounts found (full push only), whatever the policy does with them.
    pub target_only: Vec<TargetOnlyUser>,
    pub target_only_policy: TargetOnlyPolicy,
    /// userNames or logins left alone because `exclude_users` names them.
    pub excluded: Vec<String>,
    /// Users in scope that need nothing.
    pub unchanged: usize,
    /// Records of users gone from the target and from the scope: dropped from the state.
    #[serde(skip)]
    pub(crate) forget: Vec<String>,
    /// Records to save without any call (users a full push found already as desired).
    #[serde(skip)]
    pub(crate) adopted: Vec<(DesiredUser, String)>,
}

impl Plan {
    /// Deactivations, deletions, and updates that turn `active` off: what `max_deletions`
    /// limits.
    pub fn removal_count(&self) -> u64 {
        let turned_off = self
            .updates
            .iter()
            .filter(|u| {
                u.changes.iter().any(|c| {
                    matches!(c, AttributeChange::Replace { path, value }
                        if path == "active" && *value == Value::Bool(false))
                })
            })
            .count();
        (self.deactivations.len() + self.deletions.len() + turned_off) as u64
    }

    /// Whether the plan changes nothing in the target.
    pub fn is_empty(&self) -> bool {
        self.creates.is_empty()
            && self.updates.is_empty()
            && self.deactivations.is_empty()
            && self.deletions.is_empty()
            && self.group_adds.is_empty()
            && self.group_removes.is_empty()
    }
}

/// A push refused because it would remove more users than `max_deletions` allows.
#[derive(Debug, Clone, PartialEq, Serialize, thiserror::Error)]
#[error(
    "this push would deactivate or delete {removals} users, more than the {limit} that \
     max_deletions = {configured} allows ({population} users known in the target); nothing was \
     changed. Check the target's groups, roles and mapping; if these removals are intended, run \
     once more allowing {removals} deletions for that run (allow_deletions)"
)]
pub struct PlanRefused {
    pub removals: u64,
    pub limit: u64,
    pub configured: String,
    pub population: usize,
}

/// The settings that shape a plan.
#[derive(Clone)]
pub struct PlanRules<'a> {
    pub deprovision: Deprovision,
    pub target_only: TargetOnlyPolicy,
    pub is_excluded: &'a (dyn Fn(&str) -> bool + Sync),
    /// The target groups this target manages (the `group_map`'s values); memberships of other
    /// groups are never removed.
    pub managed_groups: BTreeSet<String>,
}

impl PlanRules<'_> {
    fn excludes(&self, login: &str, user_name: &str) -> bool {
        (self.is_excluded)(login) || (self.is_excluded)(user_name)
    }
}

/// In-scope users the hook skipped or that failed before the plan: left alone.
#[derive(Debug, Clone, Default)]
pub struct HeldUsers {
    pub okta_ids: BTreeSet<String>,
    /// Their logins and mapped userNames, lowercase: a target account with one of these names
    /// is theirs, not a target-only account.
    pub names: BTreeSet<String>,
}

impl HeldUsers {
    pub fn hold(&mut self, okta_id: &str, names: &[&str]) {
        self.okta_ids.insert(okta_id.to_owned());
        self.names.extend(names.iter().map(|n| n.to_lowercase()));
    }
}

/// Computes the plan.
pub fn build_plan(
    desired: &[DesiredUser],
    held: &HeldUsers,
    records: &[PushRecord],
    snapshot: Option<&TargetSnapshot>,
    rules: &PlanRules<'_>,
) -> Plan {
    let mut plan = Plan {
        target_only_policy: rules.target_only,
        ..Plan::default()
    };
    let records_by_okta: BTreeMap<&str, &PushRecord> = records
        .iter()
        .map(|r| (r.okta_user_id.as_str(), r))
        .collect();
    let mut managed = rules.managed_groups.clone();
    managed.extend(desired.iter().flat_map(|d| d.target_groups.iter().cloned()));
    managed.extend(records.iter().flat_map(|r| r.target_groups.iter().cloned()));
    let is_excluded = |login: &str, user_name: &str| rules.excludes(login, user_name);

    match snapshot {
        None => incremental(desired, &records_by_okta, rules, &mut plan),
        Some(snapshot) => full(
            desired,
            &records_by_okta,
            snapshot,
            &managed,
            held,
            rules,
            &mut plan,
        ),
    }

    // pushed users who left the scope
    let desired_ids: BTreeSet<&str> = desired.iter().map(|d| d.okta_user_id.as_str()).collect();
    let present: Option<BTreeMap<&str, &TargetUser>> =
        snapshot.map(|s| s.users.iter().map(|u| (u.id.as_str(), u)).collect());
    for record in records {
        let id = record.okta_user_id.as_str();
        if desired_ids.contains(id) || held.okta_ids.contains(id) {
            continue;
        }
        if is_excluded(&record.user_name, &record.user_name) {
            plan.excluded.push(record.user_name.clone());
            continue;
        }
        let active = match &present {
            // a full push trusts what the target says now
            Some(present) => match present.get(record.target_user_id.as_str()) {
                Some(t) => t.active,
                None => {
                    plan.forget.push(record.okta_user_id.clone());
                    continue;
                }
            },
            None => record.attributes.get("active") != Some(&Value::Bool(false)),
        };
        let removal = UserRemoval {
            target_user_id: record.target_user_id.clone(),
            user_name: record.user_name.clone(),
            okta_user_id: Some(record.okta_user_id.clone()),
            reason: RemovalReason::LeftScope,
        };
        match rules.deprovision {
            Deprovision::Delete => plan.deletions.push(removal),
            Deprovision::Deactivate if active => plan.deactivations.push(removal),
            Deprovision::Deactivate => {}
        }
    }
    plan.group_adds.sort();
    plan.group_removes.sort();
    plan
}

fn incremental(
    desired: &[DesiredUser],
    records: &BTreeMap<&str, &PushRecord>,
    rules: &PlanRules<'_>,
    plan: &mut Plan,
) {
    let is_excluded = |login: &str, user_name: &str| rules.excludes(login, user_name);
    for d in desired {
        if is_excluded(&d.login, d.user_name()) {
            plan.excluded.push(d.user_name().to_owned());
            continue;
        }
        let Some(record) = records.get(d.okta_user_id.as_str()) else {
            create(d, plan);
            continue;
        };
        if record.content_hash == d.content_hash() {
            plan.unchanged += 1;
            continue;
        }
        let previously = record.attributes.keys().cloned().collect();
        let changes = diff_attributes(&d.attributes, |p| record.attributes.get(p), &previously);
        let adds: Vec<_> = d.target_groups.difference(&record.target_groups).collect();
        let removes: Vec<_> = record.target_groups.difference(&d.target_groups).collect();
        if changes.is_empty() && adds.is_empty() && removes.is_empty() {
            // same content, another hash (an older hash form): only the record is rewritten
            plan.unchanged += 1;
            plan.adopted
                .push((d.clone(), record.target_user_id.clone()));
            continue;
        }
        let target_id = Some(&record.target_user_id);
        plan.group_adds
            .extend(adds.into_iter().map(|g| membership(g, d, target_id)));
        plan.group_removes
            .extend(removes.into_iter().map(|g| membership(g, d, target_id)));
        push_update(d, &record.target_user_id, changes, plan);
    }
}

fn full(
    desired: &[DesiredUser],
    records: &BTreeMap<&str, &PushRecord>,
    snapshot: &TargetSnapshot,
    managed: &BTreeSet<String>,
    held: &HeldUsers,
    rules: &PlanRules<'_>,
    plan: &mut Plan,
) {
    let is_excluded = |login: &str, user_name: &str| rules.excludes(login, user_name);
    let by_id: BTreeMap<&str, &TargetUser> =
        snapshot.users.iter().map(|u| (u.id.as_str(), u)).collect();
    let by_name: BTreeMap<String, &TargetUser> = snapshot
        .users
        .iter()
        .map(|u| (u.user_name.to_lowercase(), u))
        .collect();
    let recorded_ids: BTreeSet<&str> = records
        .values()
        .map(|r| r.target_user_id.as_str())
        .collect();
    // group displayName → member ids, for the managed groups only
    let mut memberships: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for g in &snapshot.groups {
        if managed.contains(&g.display_name) {
            memberships
                .entry(g.display_name.as_str())
                .or_default()
                .extend(g.members.iter().map(String::as_str));
        }
    }
    let groups_of = |user_id: &str| -> BTreeSet<String> {
        memberships
            .iter()
            .filter(|(_, members)| members.contains(user_id))
            .map(|(g, _)| (*g).to_owned())
            .collect()
    };

    let mut matched: BTreeSet<&str> = BTreeSet::new();
    for d in desired {
        let record = records.get(d.okta_user_id.as_str());
        let target = record
            .and_then(|r| by_id.get(r.target_user_id.as_str()))
            .or_else(|| by_name.get(&d.user_name().to_lowercase()));
        if let Some(t) = target {
            matched.insert(t.id.as_str());
        }
        if is_excluded(&d.login, d.user_name()) {
            plan.excluded.push(d.user_name().to_owned());
            continue;
        }
        let Some(target) = target else {
            create(d, plan);
            continue;
        };
        let previously: BTreeSet<String> = record
            .map(|r| r.attributes.keys().cloned().collect())
            .unwrap_or_default();
        let changes = diff_attributes(
            &d.attributes,
            |path| {
                AttributePath::parse(path)
                    .ok()
                    .and_then(|p| p.lookup(&target.resource))
            },
            &previously,
        );
        let actual_groups = groups_of(&target.id);
        let adds: Vec<_> = d.target_groups.difference(&actual_groups).collect();
        let removes: Vec<_> = actual_groups.difference(&d.target_groups).collect();
        if changes.is_empty() && adds.is_empty() && removes.is_empty() {
            plan.unchanged += 1;
            if record.is_none_or(|r| r.content_hash != d.content_hash()) {
                plan.adopted.push((d.clone(), target.id.clone()));
            }
            continue;
        }
        for g in adds {
            plan.group_adds.push(membership(g, d, Some(&target.id)));
        }
        for g in removes {
            plan.group_removes.push(membership(g, d, Some(&target.id)));
        }
        push_update(d, &target.id, changes, plan);
    }

    for t in &snapshot.users {
        if matched.contains(t.id.as_str())
            || recorded_ids.contains(t.id.as_str())
            || held.names.contains(&t.user_name.to_lowercase())
        {
            continue;
        }
        if is_excluded(&t.user_name, &t.user_name) {
            plan.excluded.push(t.user_name.clone());
            continue;
        }
        plan.target_only.push(TargetOnlyUser {
            id: t.id.clone(),
            user_name: t.user_name.clone(),
            active: t.active,
        });
        let removal = || UserRemoval {
            target_user_id: t.id.clone(),
            user_name: t.user_name.clone(),
            okta_user_id: None,
            reason: RemovalReason::TargetOnly,
        };
        match rules.target_only {
            TargetOnlyPolicy::Preserve | TargetOnlyPolicy::WriteFile => {}
            TargetOnlyPolicy::Deactivate if t.active => plan.deactivations.push(removal()),
            TargetOnlyPolicy::Deactivate => {}
            TargetOnlyPolicy::Delete => plan.deletions.push(removal()),
            TargetOnlyPolicy::RemoveGroups => {
                for g in groups_of(&t.id) {
                    plan.group_removes.push(MembershipChange {
                        group: g,
                        user_name: t.user_name.clone(),
                        target_user_id: Some(t.id.clone()),
                        okta_user_id: None,
                    });
                }
            }
        }
    }
}

fn create(d: &DesiredUser, plan: &mut Plan) {
    plan.creates.push(UserCreate {
        okta_user_id: d.okta_user_id.clone(),
        login: d.login.clone(),
        attributes: d.attributes.clone(),
    });
    for g in &d.target_groups {
        plan.group_adds.push(membership(g, d, None));
    }
}

fn push_update(d: &DesiredUser, target_id: &str, changes: Vec<AttributeChange>, plan: &mut Plan) {
    if changes.is_empty() {
        return;
    }
    plan.updates.push(UserUpdate {
        okta_user_id: d.okta_user_id.clone(),
        login: d.login.clone(),
        target_user_id: target_id.to_owned(),
        changes,
    });
}

fn membership(group: &str, d: &DesiredUser, target_id: Option<&String>) -> MembershipChange {
    MembershipChange {
        group: group.to_owned(),
        user_name: d.user_name().to_owned(),
        target_user_id: target_id.cloned(),
        okta_user_id: Some(d.okta_user_id.clone()),
    }
}

/// The changes from `current` to `desired`: a replace for every desired path whose current
/// value differs, a remove for every path pushed before (`previously`) that is no longer
/// desired but still present. Paths never pushed are left alone.
pub(crate) fn diff_attributes<'a>(
    desired: &Attributes,
    current: impl Fn(&str) -> Option<&'a Value>,
    previously: &BTreeSet<String>,
) -> Vec<AttributeChange> {
    let mut changes = Vec::new();
    for (path, value) in desired {
        if current(path) != Some(value) {
            changes.push(AttributeChange::Replace {
                path: path.clone(),
                value: value.clone(),
            });
        }
    }
    for path in previously {
        if !desired.contains_key(path) && current(path).is_some_and(|v| !v.is_null()) {
            changes.push(AttributeChange::Remove { path: path.clone() });
        }
    }
    changes
}

/// Checks the plan against `max_deletions` (or this run's `allow_deletions` instead).
pub fn check_removals(
    plan: &Plan,
    max: Option<MaxDeletions>,
    allow_deletions: Option<u64>,
    population: usize,
) -> Result<(), PlanRefused> {
    let removals = plan.removal_count();
    let (limit, configured) = match (allow_deletions, max) {
        (Some(allowed), _) => (allowed, format!("{allowed} (allow_deletions for this run)")),
        (None, Some(max)) => (max.limit_for(population), max.to_string()),
        (None, None) => return Ok(()),
    };
    if removals > limit {
        return Err(PlanRefused {
            removals,
            limit,
            configured,
            population,
        });
    }
    Ok(())
}

/// SHA-256 (hex) of the canonical JSON of the attributes and target groups: object keys
/// sorted, no whitespace. Stable across runs and versions of this crate, so stored hashes
/// stay comparable (std's hashers make no such promise).
pub fn content_hash(attributes: &Attributes, target_groups: &BTreeSet<String>) -> String {
    let mut text = String::new();
    let attrs = Value::Object(
        attributes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    );
    canonical_json(&attrs, &mut text);
    text.push('\n');
    canonical_json(
        &Value::Array(target_groups.iter().cloned().map(Value::String).collect()),
        &mut text,
    );
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

fn canonical_json(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let sorted: BTreeMap<&String, &Value> = map.iter().collect();
            out.push('{');
            for (i, (k, v)) in sorted.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                canonical_json(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical_json(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;
    use serde_json::json;

    fn desired(id: &str, given: &str, groups: &[&str]) -> DesiredUser {
        DesiredUser {
            okta_user_id: id.into(),
            login: format!("{id}@x.com"),
            attributes: [
                ("userName".to_owned(), json!(format!("{id}@x.com"))),
                ("name.givenName".to_owned(), json!(given)),
                ("active".to_owned(), json!(true)),
            ]
            .into(),
            target_groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        }
    }

    fn record_of(d: &DesiredUser) -> PushRecord {
        PushRecord {
            okta_user_id: d.okta_user_id.clone(),
            target_user_id: format!("t-{}", d.okta_user_id),
            user_name: d.user_name().to_owned(),
            content_hash: d.content_hash(),
            attributes: d.attributes.clone(),
            target_groups: d.target_groups.clone(),
            pushed_at: DateTime::UNIX_EPOCH,
        }
    }

    fn target_user_of(d: &DesiredUser) -> TargetUser {
        TargetUser {
            id: format!("t-{}", d.okta_user_id),
            user_name: d.user_name().to_owned(),
            active: true,
            resource: crate::mapping::scim_resource(&d.attributes),
        }
    }

    fn never(_: &str) -> bool {
        false
    }

    fn rules(is_excluded: &(dyn Fn(&str) -> bool + Sync)) -> PlanRules<'_> {
        PlanRules {
            deprovision: Deprovision::Deactivate,
            target_only: TargetOnlyPolicy::Preserve,
            is_excluded,
            managed_groups: ["eng".to_owned(), "ops".to_owned()].into(),
        }
    }

    #[test]
    fn hash_is_stable_and_sensitive() {
        let a = desired("u1", "Jo", &["eng"]);
        assert_eq!(a.content_hash(), a.clone().content_hash());
        assert_eq!(a.content_hash().len(), 64);
        assert_ne!(
            a.content_hash(),
            desired("u1", "Jon", &["eng"]).content_hash()
        );
        assert_ne!(
            a.content_hash(),
            desired("u1", "Jo", &["ops"]).content_hash()
        );
        // the canonical form does not depend on insertion order
        let mut obj = serde_json::Map::new();
        obj.insert("b".into(), json!(1));
        obj.insert("a".into(), json!(2));
        let mut out = String::new();
        canonical_json(&Value::Object(obj), &mut out);
        assert_eq!(out, r#"{"a":2,"b":1}"#);
    }

    #[test]
    fn incremental_sends_only_changes() {
        let before = [desired("u1", "Jo", &["eng"]), desired("u2", "Al", &["eng"])];
        let records: Vec<_> = before.iter().map(record_of).collect();
        let mut now = vec![
            desired("u1", "Joe", &["ops"]),
            desired("u2", "Al", &["eng"]),
            desired("u3", "Bo", &["eng"]),
        ];
        now[0].attributes.insert("title".into(), json!("Dev"));
        let plan = build_plan(&now, &HeldUsers::default(), &records, None, &rules(&never));
        assert_eq!(plan.unchanged, 1);
        assert_eq!(plan.creates.len(), 1);
        assert_eq!(plan.creates[0].okta_user_id, "u3");
        assert_eq!(plan.updates.len(), 1);
        let paths: Vec<_> = plan.updates[0].changes.iter().map(|c| c.path()).collect();
        assert_eq!(paths, ["name.givenName", "title"]);
        let groups = |v: &[MembershipChange]| -> Vec<(String, String)> {
            v.iter()
                .map(|m| (m.group.clone(), m.user_name.clone()))
                .collect()
        };
        assert_eq!(
            groups(&plan.group_adds),
            [
                ("eng".into(), "u3@x.com".into()),
                ("ops".into(), "u1@x.com".into())
            ]
        );
        assert_eq!(
            groups(&plan.group_removes),
            [("eng".into(), "u1@x.com".into())]
        );
        assert!(plan.deactivations.is_empty());
    }

    #[test]
    fn left_scope_removed_held_and_excluded_untouched() {
        let before = [
            desired("u1", "Jo", &[]),
            desired("u2", "Al", &[]),
            desired("u3", "Bo", &[]),
            desired("svc", "Sv", &[]),
        ];
        let mut records: Vec<_> = before.iter().map(record_of).collect();
        // u3 was deactivated by an earlier run
        records[2].attributes.insert("active".into(), json!(false));
        let mut held = HeldUsers::default();
        held.hold("u2", &["u2@x.com"]);
        let excluded = |name: &str| name.starts_with("svc");
        let plan = build_plan(&[], &held, &records, None, &rules(&excluded));
        let ids: Vec<_> = plan
            .deactivations
            .iter()
            .map(|r| r.target_user_id.as_str())
            .collect();
        assert_eq!(ids, ["t-u1"]);
        assert_eq!(plan.excluded, ["svc@x.com"]);

        let mut delete = rules(&excluded);
        delete.deprovision = Deprovision::Delete;
        let plan = build_plan(&[], &held, &records, None, &delete);
        assert_eq!(plan.deletions.len(), 2);
        assert!(plan.deactivations.is_empty());
    }

    #[test]
    fn full_compares_with_the_target_and_finds_target_only_users() {
        let d1 = desired("u1", "Jo", &["eng"]);
        let d2 = desired("u2", "Al", &["eng"]);
        let mut t1 = target_user_of(&d1);
        // drift in the target: someone renamed u1 there
        t1.resource["name"]["givenName"] = json!("Johnny");
        let t2 = target_user_of(&d2); // there already, never pushed: adopted
        let stranger = TargetUser {
            id: "t-x".into(),
            user_name: "stranger@x.com".into(),
            active: true,
            resource: json!({"userName": "stranger@x.com"}),
        };
        let svc = TargetUser {
            id: "t-svc".into(),
            user_name: "svc-backup".into(),
            active: true,
            resource: json!({}),
        };
        let snapshot = TargetSnapshot {
            users: vec![t1, t2, stranger, svc],
            groups: vec![
                TargetGroup {
                    id: "g1".into(),
                    display_name: "eng".into(),
                    members: ["t-u2".to_owned(), "t-x".to_owned()].into(),
                },
                TargetGroup {
                    id: "g2".into(),
                    display_name: "unmanaged".into(),
                    members: ["t-u1".to_owned()].into(),
                },
            ],
        };
        let records = vec![record_of(&d1)];
        let excluded = |name: &str| name.starts_with("svc-");
        let mut r = rules(&excluded);
        for (policy, deactivated, deleted, removes) in [
            (TargetOnlyPolicy::Preserve, 0, 0, 0),
            (TargetOnlyPolicy::WriteFile, 0, 0, 0),
            (TargetOnlyPolicy::Deactivate, 1, 0, 0),
            (TargetOnlyPolicy::Delete, 0, 1, 0),
            (TargetOnlyPolicy::RemoveGroups, 0, 0, 1),
        ] {
            r.target_only = policy;
            let plan = build_plan(
                &[d1.clone(), d2.clone()],
                &HeldUsers::default(),
                &records,
                Some(&snapshot),
                &r,
            );
            assert!(plan.creates.is_empty(), "{policy:?}");
            assert_eq!(plan.updates.len(), 1, "{policy:?}");
            assert_eq!(plan.updates[0].okta_user_id, "u1");
            assert_eq!(
                plan.updates[0].changes,
                [AttributeChange::Replace {
                    path: "name.givenName".into(),
                    value: json!("Jo")
                }]
            );
            // u1 is not in "eng" in the target; its "unmanaged" membership stays
            assert_eq!(plan.group_adds.len(), 1);
            assert_eq!(plan.group_adds[0].user_name, "u1@x.com");
            assert_eq!(plan.adopted.len(), 1, "u2 is adopted without a call");
            assert_eq!(plan.unchanged, 1);
            assert_eq!(plan.target_only.len(), 1);
            assert_eq!(plan.target_only[0].user_name, "stranger@x.com");
            assert_eq!(plan.excluded, ["svc-backup"]);
            assert_eq!(plan.deactivations.len(), deactivated, "{policy:?}");
            assert_eq!(plan.deletions.len(), deleted, "{policy:?}");
            assert_eq!(plan.group_removes.len(), removes, "{policy:?}");
        }
    }

    #[test]
    fn full_forgets_records_of_users_gone_everywhere_and_recreates_missing_ones() {
        let d1 = desired("u1", "Jo", &[]);
        let d2 = desired("u2", "Al", &[]);
        let records = vec![record_of(&d1), record_of(&d2)];
        let plan = build_plan(
            std::slice::from_ref(&d1),
            &HeldUsers::default(),
            &records,
            Some(&TargetSnapshot::default()),
            &rules(&never),
        );
        assert_eq!(plan.creates.len(), 1);
        assert_eq!(plan.forget, ["u2"]);
        assert!(plan.deactivations.is_empty());
    }

    #[test]
    fn removal_limit() {
        let records: Vec<_> = (0..20)
            .map(|i| record_of(&desired(&format!("u{i}"), "X", &[])))
            .collect();
        let plan = build_plan(&[], &HeldUsers::default(), &records, None, &rules(&never));
        assert_eq!(plan.removal_count(), 20);
        let e = check_removals(&plan, Some(MaxDeletions::Count(10)), None, 20).unwrap_err();
        assert_eq!((e.removals, e.limit), (20, 10));
        let text = e.to_string();
        assert!(text.contains("max_deletions = 10") && text.contains("allow_deletions"));
        assert!(check_removals(&plan, Some(MaxDeletions::Percent(50.0)), None, 20).is_err());
        assert!(check_removals(&plan, Some(MaxDeletions::Count(10)), Some(20), 20).is_ok());
        assert!(check_removals(&plan, Some(MaxDeletions::Count(10)), Some(19), 20).is_err());
        assert!(check_removals(&plan, None, None, 20).is_ok());
        assert!(check_removals(&plan, Some(MaxDeletions::Percent(100.0)), None, 20).is_ok());

        // an in-scope user turned inactive counts too
        let d = desired("u1", "X", &[]);
        let mut off = d.clone();
        off.attributes.insert("active".into(), json!(false));
        let plan = build_plan(
            &[off],
            &HeldUsers::default(),
            &[record_of(&d)],
            None,
            &rules(&never),
        );
        assert_eq!(plan.removal_count(), 1);
        assert!(check_removals(&plan, Some(MaxDeletions::Count(0)), None, 1).is_err());
    }
}
