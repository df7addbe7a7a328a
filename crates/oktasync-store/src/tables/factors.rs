//! `factors`: enrolled MFA factors of one user.

use crate::schema::{Concerns, Export, KeyRef, RAW, TableSpec, id, parent, text};

pub(crate) const SPEC: TableSpec = TableSpec {
    name: "factors",
    object: "factor",
    columns: &[
        parent("user_id", 0),
        id("id"),
        text("factor_type", "/factorType"),
        text("provider", "/provider"),
        text("vendor_name", "/vendorName"),
        text("status", "/status"),
        text("created", "/created"),
        text("last_updated", "/lastUpdated"),
        RAW,
    ],
    key_len: 2,
    concerns: Concerns {
        user: KeyRef::at(0),
        ..Concerns::NONE
    },
    export: Export::Wrapped("factor"),
};
