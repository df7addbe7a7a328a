//! The org's authenticators (`/api/v1/authenticators`): password, email, Okta Verify, phone,
//! security question, WebAuthn and smart card, each with its status and settings.

use super::Org;
use super::ids::{Id, Ts};
use super::objects::{cached, ts};
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
}
