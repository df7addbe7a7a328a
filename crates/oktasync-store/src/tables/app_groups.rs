//! `app_groups`: groups assigned to an app; ApplicationGroupAssignment objects of one app
//! (`id` is the group).

use crate::schema::{Concerns, Export, KeyRef, RAW, TableSpec, id, int, parent, text};

pub(crate) const SPEC: TableSpec = TableSpec {
    name: "app_groups",
    object: "app group assignment",
    columns: &[
        parent("app_id", 0),
        id("group_id"),
        int("priority", "/priority"),
        text("last_updated", "/lastUpdated"),
        RAW,
    ],
    key_len: 2,
    concerns: Concerns {
        user: None,
        group: KeyRef::at(1),
        app: KeyRef::at(0),
    },
    export: Export::Fields(&["app_id", "group_id"]),
};
