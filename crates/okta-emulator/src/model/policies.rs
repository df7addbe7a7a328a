//! Policies and their rules (`/api/v1/policies`): global session (`OKTA_SIGN_ON`), password,
//! authenticator enrollment (`MFA_ENROLL`), app sign-in (`ACCESS_POLICY`), IdP discovery and
//! user profile (`PROFILE_ENROLLMENT`) policies, as Okta serves them. The generator makes
//! them (see `generate/posture.rs`); the API replaces a policy or a rule
//! (`policy.lifecycle.update`, `policy.rule.update`) and activates or deactivates those
//! admins made (`policy.lifecycle.activate|deactivate`, `policy.rule.activate|deactivate`).
//! Policies and rules are not created or deleted through the emulator.

use super::Org;
use super::ids::{Id, Ts};
use super::log::{Ctx, Target};
use super::objects::{cached, ts};
use super::zones::required_text;
use crate::error::{OktaError, Result};
use bytes::Bytes;
use serde_json::{Map, Value, json};
use std::sync::OnceLock;

/// The policy types the emulator serves, in the order `POLICY_TYPES` lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PolicyType {
    OktaSignOn,
    Password,
    MfaEnroll,
    AccessPolicy,
    IdpDiscovery,
    ProfileEnrollment,
}

/// Every `PolicyType` of Okta's spec: a type the emulator does not serve lists no policy, and
/// anything else is refused as Okta refuses it.
pub const SPEC_POLICY_TYPES: &[&str] = &[
    "ACCESS_POLICY",
    "ENTITY_RISK",
    "IDP_DISCOVERY",
    "MFA_ENROLL",
    "OKTA_SIGN_ON",
    "PASSWORD",
    "POST_AUTH_SESSION",
    "PROFILE_ENROLLMENT",
    "DEVICE_SIGNAL_COLLECTION",
    "SESSION_VIOLATION_DETECTION",
    "CLIENT_UPDATE",
    "IDENTITY_CLAIM_SOURCING",
];

impl PolicyType {
    pub const ALL: [PolicyType; 6] = [
        PolicyType::OktaSignOn,
        PolicyType::Password,
        PolicyType::MfaEnroll,
        PolicyType::AccessPolicy,
        PolicyType::IdpDiscovery,
        PolicyType::ProfileEnrollment,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PolicyType::OktaSignOn => "OKTA_SIGN_ON",
            PolicyType::Password => "PASSWORD",
            PolicyType::MfaEnroll => "MFA_ENROLL",
            PolicyType::AccessPolicy => "ACCESS_POLICY",
            PolicyType::IdpDiscovery => "IDP_DISCOVERY",
            PolicyType::ProfileEnrollment => "PROFILE_ENROLLMENT",
        }
    }

    /// The `type` of the policy's rules: `SIGN_ON` for global session policies, the policy's
    /// own type otherwise.
    pub fn rule_type(self) -> &'static str {
        match self {
            PolicyType::OktaSignOn => "SIGN_ON",
            other => other.as_str(),
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Identity Engine policies (app sign-in, user profile) have `rst…` ids and `rul…` rules;
    /// the others `00p…` and `0pr…`.
    pub fn id_prefixes(self) -> (&'static [u8; 3], &'static [u8; 3]) {
        match self {
            PolicyType::AccessPolicy | PolicyType::ProfileEnrollment => (b"rst", b"rul"),
            _ => (b"00p", b"0pr"),
        }
    }

    /// Policies with `mappings` (the apps or authenticators they are mapped to).
    fn has_mappings(self) -> bool {
        matches!(self, PolicyType::AccessPolicy | PolicyType::MfaEnroll)
    }
}

/// One rule of a policy.
#[derive(Debug)]
pub struct PolicyRule {
    pub id: Id,
    pub name: String,
    pub priority: u32,
    /// Made by Okta (the default and catch-all rules): it cannot be deleted or deactivated.
    pub system: bool,
    pub active: bool,
    pub created: Ts,
    pub last_updated: Ts,
    /// `conditions` as Okta writes them (`null` for catch-all rules of app sign-in policies).
    pub conditions: Value,
    pub actions: Value,
    pub json: OnceLock<Bytes>,
}

impl PolicyRule {
    pub fn to_value(&self, kind: PolicyType) -> Value {
        json!({
            "id": self.id,
            "status": status(self.active),
            "name": self.name,
            "priority": self.priority,
            "created": ts(self.created),
            "lastUpdated": ts(self.last_updated),
            "system": self.system,
            "conditions": self.conditions,
            "actions": self.actions,
            "type": kind.rule_type(),
        })
    }

    pub fn json(&self, kind: PolicyType) -> Bytes {
        cached(&self.json, || self.to_value(kind))
    }
}

/// A policy with its rules in priority order.
#[derive(Debug)]
pub struct Policy {
    pub id: Id,
    pub kind: PolicyType,
    pub name: String,
    pub description: Option<String>,
    pub priority: u32,
    /// Made by Okta (the default policies, the Admin Console's and the Dashboard's).
    pub system: bool,
    pub active: bool,
    pub created: Ts,
    pub last_updated: Ts,
    /// `conditions` (`null` where the type has none: app sign-in, IdP discovery, profile).
    pub conditions: Value,
    /// `settings`, for the types that have them (password, authenticator enrollment).
    pub settings: Option<Value>,
    pub rules: Vec<PolicyRule>,
    pub json: OnceLock<Bytes>,
}

fn status(active: bool) -> &'static str {
    if active { "ACTIVE" } else { "INACTIVE" }
}

impl Policy {
    pub fn to_value(&self) -> Value {
        let mut v = json!({
            "type": self.kind.as_str(),
            "id": self.id,
            "status": status(self.active),
            "name": self.name,
            "description": self.description,
            "priority": self.priority,
            "system": self.system,
            "conditions": self.conditions,
            "created": ts(self.created),
            "lastUpdated": ts(self.last_updated),
        });
        if let (Some(settings), Value::Object(m)) = (&self.settings, &mut v) {
            m.insert("settings".into(), settings.clone());
        }
        v
    }

    pub fn json(&self) -> Bytes {
        cached(&self.json, || self.to_value())
    }

    /// `self` (and for custom policies `deactivate` or `activate`), `rules`, and `mappings`
    /// where the type has them, with the methods Okta hints at.
    pub fn links(&self, origin: &str) -> String {
        let base = format!("{origin}/api/v1/policies/{}", self.id);
        let allow = if self.system {
            r#"["GET","PUT"]"#
        } else {
            r#"["GET","PUT","DELETE"]"#
        };
        let mut links = format!(
            r#"{{"self":{{"href":"{base}","hints":{{"allow":{allow}}}}},"rules":{{"href":"{base}/rules","hints":{{"allow":["GET","POST"]}}}}"#
        );
        if self.kind.has_mappings() {
            links.push_str(&format!(
                r#","mappings":{{"href":"{base}/mappings","hints":{{"allow":["GET","POST"]}}}}"#
            ));
        }
        push_lifecycle(&mut links, &base, self.system, self.active);
        links.push('}');
        links
    }

    pub fn rule(&self, id: &str) -> Option<&PolicyRule> {
        let id = Id::parse(id)?;
        self.rules.iter().find(|r| r.id == id)
    }

    /// A rule's `_links`: `self`, and `deactivate` or `activate` unless Okta made it.
    pub fn rule_links(&self, origin: &str, rule: &PolicyRule) -> String {
        let base = format!("{origin}/api/v1/policies/{}/rules/{}", self.id, rule.id);
        let allow = if rule.system {
            r#"["GET","PUT"]"#
        } else {
            r#"["GET","PUT","DELETE"]"#
        };
        let mut links = format!(r#"{{"self":{{"href":"{base}","hints":{{"allow":{allow}}}}}"#);
        push_lifecycle(&mut links, &base, rule.system, rule.active);
        links.push('}');
        links
    }
}

/// Appends the lifecycle link an object in this state has (none for Okta-made ones).
fn push_lifecycle(links: &mut String, base: &str, system: bool, active: bool) {
    if system {
        return;
    }
    let op = if active { "deactivate" } else { "activate" };
    links.push_str(&format!(
        r#","{op}":{{"href":"{base}/lifecycle/{op}","hints":{{"allow":["POST"]}}}}"#
    ));
}

/// Where a replaced policy or rule goes in its list: `wanted` among the siblings Okta lets
/// admins order (`movable`: id and priority, the target's included). They are renumbered
/// consecutively from the lowest priority among them, as Okta keeps priorities dense; the
/// Okta-made ones (the default policy, catch-all rules) keep theirs and stay last. Returns
/// every movable sibling's new priority.
fn rerank(mut movable: Vec<(Id, u32)>, target: Id, wanted: u32) -> Vec<(Id, u32)> {
    movable.sort_by_key(|(id, p)| (*p, *id));
    let base = movable.first().map_or(wanted, |(_, p)| *p);
    movable.retain(|(id, _)| *id != target);
    let at = (wanted.saturating_sub(base) as usize).min(movable.len());
    movable.insert(at, (target, wanted));
    movable
        .into_iter()
        .enumerate()
        .map(|(i, (id, _))| (id, base + i as u32))
        .collect()
}

/// The `priority` a replace asks for: the current one when the body has none; 400 for
/// anything but a non-negative integer, and for a new priority of an Okta-made object.
fn requested_priority(body: &Map<String, Value>, current: u32, system: bool) -> Result<u32> {
    let wanted = match body.get("priority") {
        None | Some(Value::Null) => return Ok(current),
        Some(v) => v
            .as_u64()
            .and_then(|p| u32::try_from(p).ok())
            .ok_or_else(|| {
                OktaError::validation("priority", "priority: A non-negative integer is required")
            })?,
    };
    if system && wanted != current {
        return Err(OktaError::validation(
            "priority",
            "priority: The priority of a default policy or rule cannot change",
        ));
    }
    Ok(wanted)
}

/// A replaced `conditions`: the body's (an object or null) or the current one.
fn requested_conditions(body: &Map<String, Value>, current: &Value) -> Result<Value> {
    match body.get("conditions") {
        None => Ok(current.clone()),
        Some(v @ (Value::Object(_) | Value::Null)) => Ok(v.clone()),
        Some(_) => Err(OktaError::validation(
            "conditions",
            "conditions: An object is required",
        )),
    }
}

impl Org {
    /// A policy by id; 404 E0000007 when there is none.
    pub fn policy(&self, id: &str) -> Result<&Policy> {
        Id::parse(id)
            .and_then(|p| self.policies.get(&p))
            .ok_or_else(|| OktaError::not_found(id, "Policy"))
    }

    /// The policies of one type, by priority (then id), as `GET /api/v1/policies?type=` lists
    /// them.
    pub fn policies_of(&self, kind: PolicyType) -> Vec<&Policy> {
        let mut list: Vec<&Policy> = self.policies.values().filter(|p| p.kind == kind).collect();
        list.sort_by_key(|p| (p.priority, p.id));
        list
    }

    fn policy_mut(&mut self, id: &str) -> Result<&mut Policy> {
        Id::parse(id)
            .and_then(|p| self.policies.get_mut(&p))
            .ok_or_else(|| OktaError::not_found(id, "Policy"))
    }

    /// `PUT /api/v1/policies/{id}`: a new name, description, priority, `conditions` and (for
    /// password and authenticator enrollment policies) `settings`. `type` must be given and
    /// stay; status changes through the lifecycle operations. A property the body leaves out
    /// keeps its value (the emulator invents no default Okta does not document). A new
    /// priority moves the policies of its type that admins made. Writes
    /// `policy.lifecycle.update`.
    pub fn replace_policy(&mut self, ctx: &Ctx, id: &str, body: &Map<String, Value>) -> Result<Id> {
        let policy = self.policy(id)?;
        let pid = policy.id;
        let name = required_text(body, "name")?;
        let kind = required_text(body, "type")?;
        if kind != policy.kind.as_str() {
            return Err(OktaError::validation(
                "type",
                format!(
                    "type: The type of a policy cannot change (this one is {})",
                    policy.kind.as_str()
                ),
            ));
        }
        // Okta refuses a second policy of a type with the same name.
        if self
            .policies
            .values()
            .any(|p| p.kind == policy.kind && p.id != pid && p.name == name)
        {
            return Err(OktaError::validation(
                "name",
                "name: Policy name already in use",
            ));
        }
        let description = match body.get("description") {
            None => policy.description.clone(),
            Some(Value::Null) => None,
            Some(Value::String(d)) => Some(d.clone()),
            Some(_) => {
                return Err(OktaError::validation(
                    "description",
                    "description: A string is required",
                ));
            }
        };
        let priority = requested_priority(body, policy.priority, policy.system)?;
        let conditions = requested_conditions(body, &policy.conditions)?;
        let settings = match (body.get("settings"), &policy.settings) {
            (None, current) => current.clone(),
            (Some(v @ Value::Object(_)), Some(_)) => Some(v.clone()),
            (Some(_), Some(_)) => {
                return Err(OktaError::validation(
                    "settings",
                    "settings: An object is required",
                ));
            }
            (Some(_), None) => {
                return Err(OktaError::validation(
                    "settings",
                    format!(
                        "settings: Policies of type {} have no settings",
                        policy.kind.as_str()
                    ),
                ));
            }
        };
        if priority != policy.priority {
            let kind = policy.kind;
            let movable: Vec<(Id, u32)> = self
                .policies
                .values()
                .filter(|p| p.kind == kind && !p.system)
                .map(|p| (p.id, p.priority))
                .collect();
            for (sibling, p) in rerank(movable, pid, priority) {
                if let Some(s) = self.policies.get_mut(&sibling)
                    && s.priority != p
                {
                    s.priority = p;
                    s.json = OnceLock::new();
                }
            }
        }
        let policy = self.policy_mut(id)?;
        policy.name = name;
        policy.description = description;
        policy.conditions = conditions;
        policy.settings = settings;
        policy.last_updated = ctx.now;
        policy.json = OnceLock::new();
        let t = Target::policy(policy);
        self.emit(ctx, "policy.lifecycle.update", vec![t], None);
        Ok(pid)
    }

    /// `POST /api/v1/policies/{id}/lifecycle/activate|deactivate`. Okta's own policies (the
    /// default ones, the Admin Console's and the Dashboard's) have no lifecycle: they cannot
    /// be deactivated. A policy already in that status is left as it is, with no event.
    pub fn set_policy_active(&mut self, ctx: &Ctx, id: &str, active: bool) -> Result<Id> {
        let policy = self.policy_mut(id)?;
        if policy.active == active {
            return Ok(policy.id);
        }
        if policy.system {
            return Err(OktaError::validation(
                "status",
                "status: A default policy cannot be deactivated",
            ));
        }
        policy.active = active;
        policy.last_updated = ctx.now;
        policy.json = OnceLock::new();
        let (pid, t) = (policy.id, Target::policy(policy));
        let event = if active {
            "policy.lifecycle.activate"
        } else {
            "policy.lifecycle.deactivate"
        };
        self.emit(ctx, event, vec![t], None);
        Ok(pid)
    }

    /// A policy and the index of one of its rules; 404 E0000007 for either.
    fn rule_index(&self, policy: &str, rule: &str) -> Result<(Id, usize)> {
        let p = self.policy(policy)?;
        let i = Id::parse(rule)
            .and_then(|r| p.rules.iter().position(|x| x.id == r))
            .ok_or_else(|| OktaError::not_found(rule, "PolicyRule"))?;
        Ok((p.id, i))
    }

    /// `PUT /api/v1/policies/{id}/rules/{ruleId}`: a new name, priority, `conditions` and
    /// `actions`; `type`, when given, must be the policy's rule type. Okta's default rules
    /// can be edited, except those of authenticator enrollment and IdP routing policies
    /// (Okta's policy reference, "Default rules"). A property the body leaves out keeps its
    /// value. Writes `policy.rule.update` naming the policy and the rule.
    pub fn replace_policy_rule(
        &mut self,
        ctx: &Ctx,
        policy: &str,
        rule: &str,
        body: &Map<String, Value>,
    ) -> Result<Id> {
        let (pid, i) = self.rule_index(policy, rule)?;
        let p = &self.policies[&pid];
        let r = &p.rules[i];
        if r.system && matches!(p.kind, PolicyType::MfaEnroll | PolicyType::IdpDiscovery) {
            return Err(OktaError::validation(
                "PolicyRule",
                format!(
                    "The default rule of a {} policy cannot be edited",
                    p.kind.as_str()
                ),
            ));
        }
        let name = required_text(body, "name")?;
        match body.get("type") {
            None | Some(Value::Null) => {}
            Some(Value::String(t)) if t == p.kind.rule_type() => {}
            Some(_) => {
                return Err(OktaError::validation(
                    "type",
                    format!(
                        "type: The rules of this policy are of type {}",
                        p.kind.rule_type()
                    ),
                ));
            }
        }
        if p.rules.iter().any(|x| x.id != r.id && x.name == name) {
            return Err(OktaError::validation(
                "name",
                "name: Policy rule name already in use",
            ));
        }
        let priority = requested_priority(body, r.priority, r.system)?;
        let conditions = requested_conditions(body, &r.conditions)?;
        let actions = match body.get("actions") {
            None => r.actions.clone(),
            Some(v @ Value::Object(_)) => v.clone(),
            Some(_) => {
                return Err(OktaError::validation(
                    "actions",
                    "actions: An object is required",
                ));
            }
        };
        let rid = r.id;
        let moves = (priority != r.priority).then(|| {
            let movable = p
                .rules
                .iter()
                .filter(|x| !x.system)
                .map(|x| (x.id, x.priority))
                .collect();
            rerank(movable, rid, priority)
        });
        let Some(p) = self.policies.get_mut(&pid) else {
            return Err(OktaError::not_found(policy, "Policy"));
        };
        for (sibling, new) in moves.into_iter().flatten() {
            if let Some(s) = p.rules.iter_mut().find(|x| x.id == sibling)
                && s.priority != new
            {
                s.priority = new;
                s.json = OnceLock::new();
            }
        }
        if let Some(r) = p.rules.iter_mut().find(|x| x.id == rid) {
            r.name = name;
            r.conditions = conditions;
            r.actions = actions;
            r.last_updated = ctx.now;
            r.json = OnceLock::new();
        }
        p.rules.sort_by_key(|x| x.priority);
        let targets = policy_and_rule(p, rid);
        self.emit(ctx, "policy.rule.update", targets, None);
        Ok(rid)
    }

    /// `POST /api/v1/policies/{id}/rules/{ruleId}/lifecycle/activate|deactivate`. Okta's own
    /// rules (default and catch-all) cannot be deactivated. A rule already in that status is
    /// left as it is, with no event.
    pub fn set_policy_rule_active(
        &mut self,
        ctx: &Ctx,
        policy: &str,
        rule: &str,
        active: bool,
    ) -> Result<Id> {
        let (pid, i) = self.rule_index(policy, rule)?;
        let Some(p) = self.policies.get_mut(&pid) else {
            return Err(OktaError::not_found(policy, "Policy"));
        };
        let r = &mut p.rules[i];
        let rid = r.id;
        if r.active == active {
            return Ok(rid);
        }
        if r.system {
            return Err(OktaError::validation(
                "status",
                "status: A default rule cannot be deactivated",
            ));
        }
        r.active = active;
        r.last_updated = ctx.now;
        r.json = OnceLock::new();
        let targets = policy_and_rule(p, rid);
        let event = if active {
            "policy.rule.activate"
        } else {
            "policy.rule.deactivate"
        };
        self.emit(ctx, event, targets, None);
        Ok(rid)
    }
}

/// The targets of a rule's events: its policy, then the rule (as Okta's policy rule events
/// name both).
fn policy_and_rule(p: &Policy, rule: Id) -> Vec<Target> {
    let mut targets = vec![Target::policy(p)];
    targets.extend(
        p.rules
            .iter()
            .find(|r| r.id == rule)
            .map(Target::policy_rule),
    );
    targets
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> Id {
        Id::parse(&format!("0pr0000000000000000{}", n as char)).unwrap()
    }

    #[test]
    fn a_new_priority_moves_the_siblings_and_keeps_them_dense() {
        let (a, b, c) = (id(b'a'), id(b'b'), id(b'c'));
        let list = vec![(a, 1), (b, 2), (c, 3)];
        assert_eq!(rerank(list.clone(), c, 1), vec![(c, 1), (a, 2), (b, 3)]);
        assert_eq!(rerank(list.clone(), a, 3), vec![(b, 1), (c, 2), (a, 3)]);
        // past the end: last of those admins order
        assert_eq!(rerank(list.clone(), a, 40), vec![(b, 1), (c, 2), (a, 3)]);
        // numbering starts where it started (app sign-in rules start at 0)
        let zero = vec![(a, 0), (b, 1)];
        assert_eq!(rerank(zero, b, 0), vec![(b, 0), (a, 1)]);
        assert_eq!(rerank(vec![(a, 1)], a, 5), vec![(a, 1)]);
    }
}
