//! `idps`: identity providers.

use crate::schema::{Concerns, Export, RAW, TableSpec, id, text};

pub(crate) const SPEC: TableSpec = TableSpec {
    name: "idps",
    object: "identity provider",
    columns: &[
        id("id"),
        text("name", "/name"),
        text("type", "/type"),
        text("status", "/status"),
        text("issuer_mode", "/issuerMode"),
        text("protocol_type", "/protocol/type"),
        text("created", "/created"),
        text("last_updated", "/lastUpdated"),
        RAW,
    ],
    key_len: 1,
    concerns: Concerns::NONE,
    export: Export::Objects,
};
