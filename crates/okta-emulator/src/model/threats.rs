//! The org's ThreatInsight configuration (`/api/v1/threats/configuration`): what Okta does
//! with requests from IP addresses it considers malicious.

use super::ids::{Id, Ts, format_ts};
use serde_json::{Value, json};

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
