//! `group_members`: one row per membership, staged as a group's bare user ids.

use crate::schema::{Column, Concerns, Export, KeyRef, Source, TableSpec, parent};

pub(crate) const SPEC: TableSpec = TableSpec {
    name: "group_members",
    object: "group member",
    columns: &[
        parent("group_id", 0),
        Column {
            name: "user_id",
            source: Source::Item,
        },
    ],
    key_len: 2,
    concerns: Concerns {
        user: KeyRef::at(1),
        group: KeyRef::at(0),
        app: None,
    },
    export: Export::Fields(&["group_id", "user_id"]),
};
