//! Policies and their rules (`/api/v1/policies`): global session (`OKTA_SIGN_ON`), password,
//! authenticator enrollment (`MFA_ENROLL`), app sign-in (`ACCESS_POLICY`), IdP discovery and
//! user profile (`PROFILE_ENROLLMENT`) policies, as Okta serves them. Read-only: what a
//! policy says is the generator's (see `generate/posture.rs`).

use super::Org;
use super::ids::{Id, Ts};
use super::objects::{cached, ts};
use crate::error::{OktaError, Result};
use bytes::Bytes;
use serde_json::{Value, json};
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
}
