//! `authenticators`: what users may enroll and sign in with (Okta Verify, phone, security
//! keys, ...), with their settings in `raw`.

use crate::schema::{Concerns, Export, RAW, TableSpec, id, text};
use crate::{Batch, Table};
use serde_json::Value;

pub(crate) const SPEC: TableSpec = TableSpec {
    name: "authenticators",
    object: "authenticator",
    columns: &[
        id("id"),
        text("key", "/key"),
        text("type", "/type"),
        text("name", "/name"),
        text("status", "/status"),
        text("created", "/created"),
        text("last_updated", "/lastUpdated"),
        RAW,
    ],
    key_len: 1,
    concerns: Concerns::NONE,
    export: Export::Objects,
};

impl Batch {
    pub fn authenticators(authenticators: Vec<Value>) -> Self {
        Self::of(Table::Authenticators, Vec::new(), authenticators)
    }
}
