//! `apps`: applications.

use crate::schema::{Concerns, Export, KeyRef, RAW, TableSpec, id, text};

pub(crate) const SPEC: TableSpec = TableSpec {
    name: "apps",
    object: "app",
    columns: &[
        id("id"),
        text("name", "/name"),
        text("label", "/label"),
        text("status", "/status"),
        text("sign_on_mode", "/signOnMode"),
        text("created", "/created"),
        text("last_updated", "/lastUpdated"),
        RAW,
    ],
    key_len: 1,
    concerns: Concerns {
        app: KeyRef::at(0),
        ..Concerns::NONE
    },
    export: Export::Objects,
};
