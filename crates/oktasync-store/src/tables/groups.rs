//! `groups`: Okta groups, app groups and built-in groups.

use crate::schema::{Concerns, Export, KeyRef, RAW, TableSpec, id, text};

pub(crate) const SPEC: TableSpec = TableSpec {
    name: "groups",
    object: "group",
    columns: &[
        id("id"),
        text("type", "/type"),
        text("name", "/profile/name"),
        text("description", "/profile/description"),
        text("created", "/created"),
        text("last_updated", "/lastUpdated"),
        text("last_membership_updated", "/lastMembershipUpdated"),
        RAW,
    ],
    key_len: 1,
    concerns: Concerns {
        group: KeyRef::at(0),
        ..Concerns::NONE
    },
    export: Export::Objects,
};
