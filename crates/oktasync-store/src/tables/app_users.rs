//! `app_users`: users assigned to an app; AppUser objects of one app (`id` is the user).

use crate::schema::{Concerns, Export, KeyRef, RAW, TableSpec, id, parent, text};

pub(crate) const SPEC: TableSpec = TableSpec {
    name: "app_users",
    object: "app user",
    columns: &[
        parent("app_id", 0),
        id("user_id"),
        text("scope", "/scope"),
        text("status", "/status"),
        text("external_id", "/externalId"),
        text("user_name", "/credentials/userName"),
        text("sync_state", "/syncState"),
        text("created", "/created"),
        text("last_updated", "/lastUpdated"),
        text("status_changed", "/statusChanged"),
        RAW,
    ],
    key_len: 2,
    concerns: Concerns {
        user: KeyRef::at(1),
        group: None,
        app: KeyRef::at(0),
    },
    export: Export::Fields(&["app_id", "user_id", "scope"]),
};
