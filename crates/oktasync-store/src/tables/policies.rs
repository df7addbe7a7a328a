//! `policies`: policies of every type the sync lists (global session, password,
//! authenticator enrollment, app sign-in, IdP routing, user profile). Their conditions stay
//! in `raw`; their rules are in `policy_rules`.

use crate::schema::{Concerns, Export, RAW, TableSpec, id, int, text};
use crate::{Batch, Table};
use serde_json::Value;

pub(crate) const SPEC: TableSpec = TableSpec {
    name: "policies",
    object: "policy",
    columns: &[
        id("id"),
        text("type", "/type"),
        text("name", "/name"),
        text("status", "/status"),
        int("priority", "/priority"),
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
    pub fn policies(policies: Vec<Value>) -> Self {
        Self::of(Table::Policies, Vec::new(), policies)
    }
}
