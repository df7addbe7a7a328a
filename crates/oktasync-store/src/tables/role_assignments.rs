//! `role_assignments`: admin roles held by one user (directly) or one group; the batch's
//! parent is (assignee type, assignee id).

use crate::schema::{Concerns, Export, KeyRef, RAW, TableSpec, id, parent, text};

pub(crate) const SPEC: TableSpec = TableSpec {
    name: "role_assignments",
    object: "role assignment",
    columns: &[
        parent("assignee_type", 0),
        parent("assignee_id", 1),
        id("id"),
        text("role_type", "/type"),
        text("label", "/label"),
        text("status", "/status"),
        text("assignment_type", "/assignmentType"),
        text("role_id", "/role"),
        text("created", "/created"),
        text("last_updated", "/lastUpdated"),
        RAW,
    ],
    key_len: 3,
    concerns: Concerns {
        user: KeyRef::at_when(1, 0, "USER"),
        group: KeyRef::at_when(1, 0, "GROUP"),
        app: None,
    },
    export: Export::Fields(&["assignee_type", "assignee_id", "role_type", "id"]),
};
