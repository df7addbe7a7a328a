//! The org's authenticators (`/api/v1/authenticators`): password, email, Okta Verify, phone,
//! security question, WebAuthn and smart card, each with its status and settings. Admins
//! activate and deactivate them (`security.authenticator.lifecycle.activate|deactivate`).

use super::Org;
use super::ids::{Id, Ts};
use super::log::{Ctx, Target};
use super::objects::{cached, ts};
use super::policies::PolicyType;
use crate::error::{OktaError, Result};
use bytes::Bytes;
use serde_json::{Value, json};
use std::sync::OnceLock;

#[derive(Debug)]
pub struct Authenticator {
    pub id: Id,
    /// `okta_password`, `okta_email`, `okta_verify`, `phone_number`, `security_question`,
    /// `webauthn`, `smart_card_idp`.
    pub key: &'static str,
    /// `password`, `email`, `app`, `phone`, `security_question`, `security_key`, `federated`.
    pub kind: &'static str,
    pub name: &'static str,
    pub active: bool,
    pub created: Ts,
    pub last_updated: Ts,
    /// `settings`, for the authenticators that have them.
    pub settings: Option<Value>,
    pub json: OnceLock<Bytes>,
}

impl Authenticator {
    pub fn to_value(&self) -> Value {
        let mut v = json!({
            "type": self.kind,
            "id": self.id,
            "key": self.key,
            "status": if self.active { "ACTIVE" } else { "INACTIVE" },
            "name": self.name,
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

    /// `self`, `methods`, the lifecycle operation its status allows (the password can be
    /// neither deactivated nor activated), and WebAuthn's `aaguids`.
    pub fn links(&self, origin: &str) -> String {
        let base = format!("{origin}/api/v1/authenticators/{}", self.id);
        let mut links = format!(
            r#"{{"self":{{"href":"{base}","hints":{{"allow":["GET","PUT"]}}}},"methods":{{"href":"{base}/methods","hints":{{"allow":["GET"]}}}}"#
        );
        if self.key != "okta_password" {
            let op = if self.active {
                "deactivate"
            } else {
                "activate"
            };
            links.push_str(&format!(
                r#","{op}":{{"href":"{base}/lifecycle/{op}","hints":{{"allow":["POST"]}}}}"#
            ));
        }
        if self.key == "webauthn" {
            links.push_str(&format!(
                r#","aaguids":{{"href":"{base}/aaguids","hints":{{"allow":["GET","POST"]}}}}"#
            ));
        }
        links.push('}');
        links
    }
}

impl Org {
    /// An authenticator by id; 404 E0000007 when there is none.
    pub fn authenticator(&self, id: &str) -> Result<&Authenticator> {
        Id::parse(id)
            .and_then(|a| self.authenticators.iter().find(|x| x.id == a))
            .ok_or_else(|| OktaError::not_found(id, "Authenticator"))
    }

    /// `POST /api/v1/authenticators/{id}/lifecycle/activate|deactivate`. The password has
    /// no lifecycle (its `_links` offer none), and an authenticator that an active
    /// authenticator enrollment policy makes REQUIRED cannot be deactivated while it does.
    /// One already in that status is left as it is, with no event.
    pub fn set_authenticator_active(&mut self, ctx: &Ctx, id: &str, active: bool) -> Result<Id> {
        let a = self.authenticator(id)?;
        let (aid, key) = (a.id, a.key);
        if a.active == active {
            return Ok(aid);
        }
        if key == "okta_password" {
            return Err(OktaError::validation(
                "status",
                "status: The password authenticator cannot be activated or deactivated",
            ));
        }
        if !active
            && let Some(p) = self.policies.values().find(|p| {
                p.active && p.kind == PolicyType::MfaEnroll && requires(p.settings.as_ref(), key)
            })
        {
            return Err(OktaError::validation(
                "status",
                format!(
                    "status: The authenticator is required by the authenticator enrollment policy '{}'; make it optional there first",
                    p.name
                ),
            ));
        }
        let Some(a) = self.authenticators.iter_mut().find(|x| x.id == aid) else {
            return Err(OktaError::not_found(id, "Authenticator"));
        };
        a.active = active;
        a.last_updated = ctx.now;
        a.json = OnceLock::new();
        let t = Target::org_authenticator(a);
        let event = if active {
            "security.authenticator.lifecycle.activate"
        } else {
            "security.authenticator.lifecycle.deactivate"
        };
        self.emit(ctx, event, vec![t], None);
        Ok(aid)
    }
}

/// Whether an authenticator enrollment policy's `settings` make `key` REQUIRED.
fn requires(settings: Option<&Value>, key: &str) -> bool {
    settings
        .and_then(|s| s.get("authenticators"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .any(|a| a["key"] == key && a["enroll"]["self"] == "REQUIRED")
}
