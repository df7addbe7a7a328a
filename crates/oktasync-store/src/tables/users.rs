//! `users`: every user, every status (DEPROVISIONED included).

use crate::schema::{Concerns, Export, KeyRef, RAW, TableSpec, id, text};

pub(crate) const SPEC: TableSpec = TableSpec {
    name: "users",
    object: "user",
    columns: &[
        id("id"),
        text("status", "/status"),
        text("login", "/profile/login"),
        text("email", "/profile/email"),
        text("first_name", "/profile/firstName"),
        text("last_name", "/profile/lastName"),
        text("display_name", "/profile/displayName"),
        text("department", "/profile/department"),
        text("title", "/profile/title"),
        text("employee_number", "/profile/employeeNumber"),
        text("manager_id", "/profile/managerId"),
        text("user_type_id", "/type/id"),
        text("created", "/created"),
        text("activated", "/activated"),
        text("status_changed", "/statusChanged"),
        text("last_login", "/lastLogin"),
        text("last_updated", "/lastUpdated"),
        text("password_changed", "/passwordChanged"),
        RAW,
    ],
    key_len: 1,
    concerns: Concerns {
        user: KeyRef::at(0),
        ..Concerns::NONE
    },
    export: Export::Objects,
};
