//! `app_grants`: the Okta API scopes granted to one app (`okta.users.manage`, ...): what a
//! service app can do to the org.

use crate::schema::{Concerns, Export, KeyRef, RAW, TableSpec, id, parent, text};
use crate::{Batch, Scope, Table};
use serde_json::Value;

pub(crate) const SPEC: TableSpec = TableSpec {
    name: "app_grants",
    object: "app grant",
    columns: &[
        parent("app_id", 0),
        id("id"),
        text("scope_id", "/scopeId"),
        text("status", "/status"),
        text("issuer", "/issuer"),
        text("created", "/created"),
        text("last_updated", "/lastUpdated"),
        RAW,
    ],
    key_len: 2,
    concerns: Concerns {
        app: KeyRef::at(0),
        ..Concerns::NONE
    },
    export: Export::Wrapped("grant"),
};

impl Batch {
    pub fn app_grants(app_id: impl Into<String>, grants: Vec<Value>) -> Self {
        Self::of(Table::AppGrants, vec![app_id.into()], grants)
    }
}

impl Scope {
    /// The grants of one app.
    pub fn grants_of(app_id: impl Into<String>) -> Self {
        Self::by(Table::AppGrants, "app_id", app_id)
    }
}
