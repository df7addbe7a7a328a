//! `org_settings`: org-wide configuration objects that have no id of their own, one row per
//! `name`. Today: `threat_insight` (`GET /api/v1/threats/configuration`).

use crate::schema::{Concerns, Export, RAW, TableSpec, parent};
use crate::{Batch, Table};
use serde_json::Value;

pub(crate) const SPEC: TableSpec = TableSpec {
    name: "org_settings",
    object: "org setting",
    columns: &[parent("name", 0), RAW],
    key_len: 1,
    concerns: Concerns::NONE,
    export: Export::Wrapped("setting"),
};

impl Batch {
    /// The ThreatInsight configuration, as `org_settings` row `threat_insight`.
    pub fn threat_insight(setting: Value) -> Self {
        Self::of(
            Table::OrgSettings,
            vec!["threat_insight".to_owned()],
            vec![setting],
        )
    }
}
