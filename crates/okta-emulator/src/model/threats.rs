//! The org's ThreatInsight configuration (`/api/v1/threats/configuration`): what Okta does
//! with requests from IP addresses it considers malicious. An admin changes it with
//! `POST /api/v1/threats/configuration` (`security.threat.configuration.update`).

use super::Org;
use super::ids::{Id, Ts, format_ts};
use super::log::Ctx;
use crate::error::{OktaError, Result};
use serde_json::{Map, Value, json};

/// ThreatInsight's `action` values: disabled, log only, log and block.
pub const THREAT_ACTIONS: [&str; 3] = ["none", "audit", "block"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreatInsight {
    /// One of [`THREAT_ACTIONS`].
    pub action: &'static str,
    /// Network zones whose addresses are neither logged nor blocked.
    pub exclude_zones: Vec<Id>,
    /// Okta writes these two with milliseconds.
    pub created: Ts,
    pub last_updated: Ts,
}

impl ThreatInsight {
    /// A new org's configuration: disabled.
    pub fn disabled(at: Ts) -> Self {
        ThreatInsight {
            action: "none",
            exclude_zones: Vec::new(),
            created: at,
            last_updated: at,
        }
    }

    pub fn to_value(&self) -> Value {
        json!({
            "action": self.action,
            "excludeZones": self.exclude_zones,
            "created": format_ts(self.created),
            "lastUpdated": format_ts(self.last_updated),
        })
    }

    pub fn links(origin: &str) -> String {
        format!(
            r#"{{"self":{{"href":"{origin}/api/v1/threats/configuration","hints":{{"allow":["GET","POST"]}}}}}}"#
        )
    }
}

impl Org {
    /// `POST /api/v1/threats/configuration`: `action` (required, one of
    /// [`THREAT_ACTIONS`]) and `excludeZones` (ids of the org's network zones; left as it is
    /// when the body has none). `lastUpdated` takes the change's time with its milliseconds,
    /// as Okta writes this object's times. Writes `security.threat.configuration.update`,
    /// which names no target: the configuration is the org's one.
    pub fn update_threat_insight(&mut self, ctx: &Ctx, body: &Map<String, Value>) -> Result<()> {
        let action = body
            .get("action")
            .and_then(Value::as_str)
            .and_then(|a| THREAT_ACTIONS.iter().find(|x| **x == a))
            .ok_or_else(|| {
                OktaError::validation(
                    "action",
                    "action: Use none (disabled), audit (log) or block (log and block)",
                )
            })?;
        let exclude_zones = match body.get("excludeZones") {
            None => self.threat_insight.exclude_zones.clone(),
            Some(Value::Null) => Vec::new(),
            Some(Value::Array(list)) => {
                let mut zones = Vec::with_capacity(list.len());
                for z in list {
                    let zid = z
                        .as_str()
                        .and_then(Id::parse)
                        .filter(|id| self.zones.contains_key(id))
                        .ok_or_else(|| {
                            OktaError::validation(
                                "excludeZones",
                                format!("excludeZones: {z} is not a network zone of the org"),
                            )
                        })?;
                    if !zones.contains(&zid) {
                        zones.push(zid);
                    }
                }
                zones
            }
            Some(_) => {
                return Err(OktaError::validation(
                    "excludeZones",
                    "excludeZones: A list of network zone ids is required",
                ));
            }
        };
        self.threat_insight.action = action;
        self.threat_insight.exclude_zones = exclude_zones;
        self.threat_insight.last_updated = ctx.published;
        self.emit(
            ctx,
            "security.threat.configuration.update",
            Vec::new(),
            None,
        );
        Ok(())
    }
}
