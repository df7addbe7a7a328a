//! Network zones (`/api/v1/zones`): IP zones (gateway and proxy addresses), dynamic zones
//! (locations, ASNs, proxy type) and enhanced dynamic zones (`DYNAMIC_V2`: IP service
//! categories), used for policy conditions (`POLICY`) or to block requests (`BLOCKLIST`).

use super::Org;
use super::ids::{Id, Ts};
use super::objects::{cached, ts};
use crate::error::{OktaError, Result};
use bytes::Bytes;
use serde_json::{Map, Value};
use std::sync::OnceLock;

#[derive(Debug)]
pub struct NetworkZone {
    pub id: Id,
    pub name: String,
    /// `IP`, `DYNAMIC` or `DYNAMIC_V2`.
    pub kind: &'static str,
    /// `POLICY` or `BLOCKLIST`.
    pub usage: &'static str,
    pub active: bool,
    /// One of the zones every org has (`LegacyIpZone`, `BlockedIpZone`, …).
    pub system: bool,
    pub created: Ts,
    pub last_updated: Ts,
    /// The type's own properties (`gateways` and `proxies`; `locations`, `asns`,
    /// `proxyType`; `ipServiceCategories`).
    pub body: Map<String, Value>,
    pub json: OnceLock<Bytes>,
}

impl NetworkZone {
    pub fn to_value(&self) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), self.kind.into());
        m.insert("id".into(), self.id.as_str().into());
        m.insert("name".into(), self.name.clone().into());
        m.insert(
            "status".into(),
            if self.active { "ACTIVE" } else { "INACTIVE" }.into(),
        );
        m.insert("usage".into(), self.usage.into());
        m.insert("created".into(), ts(self.created));
        m.insert("lastUpdated".into(), ts(self.last_updated));
        m.insert("system".into(), self.system.into());
        m.extend(self.body.clone());
        Value::Object(m)
    }

    pub fn json(&self) -> Bytes {
        cached(&self.json, || self.to_value())
    }

    /// `self` (system zones cannot be deleted) and the lifecycle operation its status allows.
    pub fn links(&self, origin: &str) -> String {
        let base = format!("{origin}/api/v1/zones/{}", self.id);
        let allow = if self.system {
            r#"["GET","PUT"]"#
        } else {
            r#"["GET","PUT","DELETE"]"#
        };
        let op = if self.active {
            "deactivate"
        } else {
            "activate"
        };
        format!(
            r#"{{"self":{{"href":"{base}","hints":{{"allow":{allow}}}}},"{op}":{{"href":"{base}/lifecycle/{op}","hints":{{"allow":["POST"]}}}}}}"#
        )
    }
}

impl Org {
    /// A network zone by id; 404 E0000007 when there is none.
    pub fn zone(&self, id: &str) -> Result<&NetworkZone> {
        Id::parse(id)
            .and_then(|z| self.zones.get(&z))
            .ok_or_else(|| OktaError::not_found(id, "NetworkZone"))
    }
}
