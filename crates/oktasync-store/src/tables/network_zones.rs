//! `network_zones`: IP and dynamic zones (`usage` POLICY, or BLOCKLIST for zones that block
//! sign-ins); gateways, proxies, locations and proxy types stay in `raw`.

use crate::schema::{Concerns, Export, RAW, TableSpec, id, text};
use crate::{Batch, Table};
use serde_json::Value;

pub(crate) const SPEC: TableSpec = TableSpec {
    name: "network_zones",
    object: "network zone",
    columns: &[
        id("id"),
        text("type", "/type"),
        text("name", "/name"),
        text("status", "/status"),
        text("usage", "/usage"),
        text("system", "/system"),
        text("created", "/created"),
        text("last_updated", "/lastUpdated"),
        RAW,
    ],
    key_len: 1,
    concerns: Concerns::NONE,
    export: Export::Objects,
};

impl Batch {
    pub fn network_zones(zones: Vec<Value>) -> Self {
        Self::of(Table::NetworkZones, Vec::new(), zones)
    }
}
