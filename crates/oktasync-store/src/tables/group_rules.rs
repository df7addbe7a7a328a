//! `group_rules`: rules that add every user their expression matches to their groups. The
//! groups a rule targets and the users it excludes stay in `raw` (read them through the view
//! `group_rule_targets`).

use crate::schema::{Concerns, Export, RAW, TableSpec, id, text};
use crate::{Batch, Scope, Table};
use serde_json::Value;

pub(crate) const SPEC: TableSpec = TableSpec {
    name: "group_rules",
    object: "group rule",
    columns: &[
        id("id"),
        text("name", "/name"),
        text("status", "/status"),
        text("expression", "/conditions/expression/value"),
        text("created", "/created"),
        text("last_updated", "/lastUpdated"),
        RAW,
    ],
    key_len: 1,
    concerns: Concerns::NONE,
    export: Export::Objects,
};

impl Batch {
    pub fn group_rules(rules: Vec<Value>) -> Self {
        Self::of(Table::GroupRules, Vec::new(), rules)
    }
}

impl Scope {
    pub fn group_rule(id: impl Into<String>) -> Self {
        Self::by(Table::GroupRules, "id", id)
    }
}
