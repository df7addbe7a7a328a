//! Network zones (`/api/v1/zones`): IP zones (gateway and proxy addresses), dynamic zones
//! (locations, ASNs, proxy type) and enhanced dynamic zones (`DYNAMIC_V2`: IP service
//! categories), used for policy conditions (`POLICY`) or to block requests (`BLOCKLIST`).
//! A zone can be replaced (`PUT`, `zone.update`), activated and deactivated
//! (`zone.activate`, `zone.deactivate`).

use super::Org;
use super::ids::{Id, Ts};
use super::log::{Ctx, Target};
use super::objects::{cached, ts};
use crate::error::{OktaError, Result};
use bytes::Bytes;
use serde_json::{Map, Value};
use std::net::IpAddr;
use std::sync::OnceLock;

/// Longest zone name (`NetworkZone.name.maxLength`).
pub const MAX_ZONE_NAME: usize = 128;

/// The zone Okta makes for the IP exempt list: it takes no proxies (spec, `replaceNetworkZone`).
const EXEMPT_ZONE: &str = "DefaultExemptIpZone";

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

    /// `PUT /api/v1/zones/{id}`: a new name, usage and the type's own properties; `id`,
    /// `type`, `system`, `status` and `created` stay (status changes through the lifecycle
    /// operations). A property the body leaves out keeps its value: the emulator does not
    /// invent defaults Okta does not document. Writes `zone.update`.
    pub fn replace_zone(&mut self, ctx: &Ctx, id: &str, body: &Map<String, Value>) -> Result<Id> {
        let zone = self.zone(id)?;
        let zid = zone.id;
        let name = required_text(body, "name")?;
        if name.chars().count() > MAX_ZONE_NAME {
            return Err(OktaError::validation(
                "name",
                format!("name: A network zone name has at most {MAX_ZONE_NAME} characters"),
            ));
        }
        // Zone names are unique in an org (`NetworkZone.name`: "Unique name").
        if self.zones.values().any(|z| z.id != zid && z.name == name) {
            return Err(OktaError::validation(
                "name",
                format!("name: A network zone named '{name}' already exists"),
            ));
        }
        let kind = required_text(body, "type")?;
        if kind != zone.kind {
            return Err(OktaError::validation(
                "type",
                format!(
                    "type: The type of a network zone cannot change (this one is {})",
                    zone.kind
                ),
            ));
        }
        let usage = match body.get("usage") {
            None => zone.usage,
            Some(Value::String(u)) if u == "POLICY" => "POLICY",
            Some(Value::String(u)) if u == "BLOCKLIST" => "BLOCKLIST",
            Some(_) => {
                return Err(OktaError::validation(
                    "usage",
                    "usage: Use POLICY or BLOCKLIST",
                ));
            }
        };
        let properties = zone_properties(zone, usage, body)?;
        let Some(zone) = self.zones.get_mut(&zid) else {
            return Err(OktaError::not_found(id, "NetworkZone"));
        };
        zone.name = name;
        zone.usage = usage;
        zone.body = properties;
        zone.last_updated = ctx.now;
        zone.json = OnceLock::new();
        let t = Target::zone(zone);
        self.emit(ctx, "zone.update", vec![t], None);
        Ok(zid)
    }

    /// `POST /api/v1/zones/{id}/lifecycle/activate|deactivate`: `zone.activate` or
    /// `zone.deactivate`. A zone already in that status is left as it is, with no event.
    pub fn set_zone_active(&mut self, ctx: &Ctx, id: &str, active: bool) -> Result<Id> {
        let zid = self.zone(id)?.id;
        let Some(zone) = self.zones.get_mut(&zid) else {
            return Err(OktaError::not_found(id, "NetworkZone"));
        };
        if zone.active == active {
            return Ok(zid);
        }
        zone.active = active;
        zone.last_updated = ctx.now;
        zone.json = OnceLock::new();
        let t = Target::zone(zone);
        let event = if active {
            "zone.activate"
        } else {
            "zone.deactivate"
        };
        self.emit(ctx, event, vec![t], None);
        Ok(zid)
    }
}

/// A string property that must be there and not blank; 400 E0000001 otherwise.
pub(super) fn required_text(body: &Map<String, Value>, key: &str) -> Result<String> {
    match body.get(key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
        Some(Value::String(_)) | None | Some(Value::Null) => Err(OktaError::validation(
            key,
            format!("{key}: The field cannot be left blank"),
        )),
        Some(_) => Err(OktaError::validation(
            key,
            format!("{key}: A string is required"),
        )),
    }
}

/// The type's own properties after a replace: each one the body names, checked, else the
/// current value.
fn zone_properties(
    zone: &NetworkZone,
    usage: &str,
    body: &Map<String, Value>,
) -> Result<Map<String, Value>> {
    let keys: &[&str] = match zone.kind {
        "IP" => &["gateways", "proxies"],
        "DYNAMIC" => &["locations", "asns", "proxyType"],
        _ => &["locations", "asns", "ipServiceCategories"],
    };
    let mut out = Map::new();
    for key in keys {
        let value = match body.get(*key) {
            None => zone.body.get(*key).cloned().unwrap_or(Value::Null),
            Some(v) => {
                check_zone_property(zone, usage, key, v)?;
                v.clone()
            }
        };
        out.insert((*key).to_string(), value);
    }
    Ok(out)
}

/// Okta's limits on one property of a zone (`IPNetworkZone`, `DynamicNetworkZone`,
/// `EnhancedDynamicNetworkZone` in the spec).
fn check_zone_property(zone: &NetworkZone, usage: &str, key: &str, v: &Value) -> Result<()> {
    let bad = |why: String| OktaError::validation(key, format!("{key}: {why}"));
    match (zone.kind, key) {
        ("IP", "gateways" | "proxies") => {
            let Some(list) = (match v {
                Value::Null => None,
                Value::Array(a) => Some(a),
                _ => return Err(bad("A list of addresses or null is required".into())),
            }) else {
                return Ok(());
            };
            if key == "proxies" && zone.name == EXEMPT_ZONE && !list.is_empty() {
                return Err(bad(format!("The {EXEMPT_ZONE} takes no proxies")));
            }
            // The spec's limits: 5000 entries for the default system IP zone, 1000 for
            // blocklists (gateways), 150 for zones admins make.
            let max = if zone.system && zone.name == "LegacyIpZone" {
                5000
            } else if usage == "BLOCKLIST" && key == "gateways" {
                1000
            } else {
                150
            };
            if list.len() > max {
                return Err(bad(format!("At most {max} entries")));
            }
            for a in list {
                let kind = a.get("type").and_then(Value::as_str);
                let value = a.get("value").and_then(Value::as_str).unwrap_or("");
                let ok = match kind {
                    Some("CIDR") => valid_cidr(value),
                    Some("RANGE") => valid_range(value),
                    _ => false,
                };
                if !ok {
                    return Err(bad(format!(
                        "'{value}' is not an address of type CIDR (a.b.c.d/n) or RANGE (a.b.c.d-e.f.g.h)"
                    )));
                }
            }
            Ok(())
        }
        ("DYNAMIC", "locations") => match v {
            Value::Null => Ok(()),
            Value::Array(a) if a.iter().all(valid_location) => Ok(()),
            _ => Err(bad(
                "A list of {country, region} with two-letter country codes is required".into(),
            )),
        },
        ("DYNAMIC", "asns") => match v {
            Value::Null => Ok(()),
            Value::Array(a) if a.iter().all(Value::is_string) => Ok(()),
            _ => Err(bad("A list of ASNs (strings) is required".into())),
        },
        ("DYNAMIC", _) => match v {
            Value::Null => Ok(()),
            Value::String(p)
                if ["", "null", "Any", "Tor", "NotTorAnonymizer"].contains(&p.as_str()) =>
            {
                Ok(())
            }
            _ => Err(bad("Use null, Any, Tor or NotTorAnonymizer".into())),
        },
        (_, "locations") => include_exclude(v, valid_location)
            .then_some(())
            .ok_or_else(
                || bad("{include, exclude} lists of {country, region} are required".into()),
            ),
        _ => include_exclude(v, Value::is_string)
            .then_some(())
            .ok_or_else(|| bad("{include, exclude} lists of strings are required".into())),
    }
}

/// `{"include": [...], "exclude": [...]}` whose items all pass `item` (either list may be
/// missing).
fn include_exclude(v: &Value, item: fn(&Value) -> bool) -> bool {
    let Value::Object(m) = v else { return false };
    m.iter().all(|(k, list)| {
        (k == "include" || k == "exclude")
            && match list {
                Value::Null => true,
                Value::Array(a) => a.iter().all(item),
                _ => false,
            }
    })
}

/// `{"country": "US", "region": "US-CA" or null}`.
fn valid_location(v: &Value) -> bool {
    let country = v.get("country").and_then(Value::as_str);
    let region_ok = match v.get("region") {
        None | Some(Value::Null) => true,
        Some(r) => r.is_string(),
    };
    country.is_some_and(|c| c.len() == 2 && c.chars().all(|ch| ch.is_ascii_alphabetic()))
        && region_ok
}

/// `a.b.c.d/n` (or an IPv6 address with its prefix length).
fn valid_cidr(s: &str) -> bool {
    let Some((ip, bits)) = s.split_once('/') else {
        return false;
    };
    let (Ok(ip), Ok(bits)) = (ip.parse::<IpAddr>(), bits.parse::<u8>()) else {
        return false;
    };
    bits <= if ip.is_ipv4() { 32 } else { 128 }
}

/// `a.b.c.d-e.f.g.h` with the first address not after the second, or one address.
fn valid_range(s: &str) -> bool {
    match s.split_once('-') {
        None => s.parse::<IpAddr>().is_ok(),
        Some((a, b)) => match (a.parse::<IpAddr>(), b.parse::<IpAddr>()) {
            (Ok(a), Ok(b)) => a.is_ipv4() == b.is_ipv4() && a <= b,
            _ => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_as_okta_writes_them() {
        assert!(valid_cidr("10.0.0.0/8"));
        assert!(valid_cidr("2001:db8::/32"));
        assert!(!valid_cidr("10.0.0.0/33"));
        assert!(!valid_cidr("10.0.0.0"));
        assert!(!valid_cidr("ten/8"));
        assert!(valid_range("1.2.3.4-1.2.3.10"));
        assert!(valid_range("1.2.3.4"));
        assert!(!valid_range("1.2.3.10-1.2.3.4"));
        assert!(!valid_range("1.2.3.4-2001:db8::1"));
        assert!(valid_location(
            &serde_json::json!({"country": "US", "region": "US-CA"})
        ));
        assert!(!valid_location(&serde_json::json!({"country": "USA"})));
    }
}
