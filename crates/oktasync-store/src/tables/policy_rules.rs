//! `policy_rules`: the rules of one policy, by priority; what each requires (factors,
//! session lifetimes, network zones) stays in `raw`.

use crate::schema::{Concerns, Export, RAW, TableSpec, id, int, parent, text};
use crate::{Batch, Table};
use serde_json::Value;

pub(crate) const SPEC: TableSpec = TableSpec {
    name: "policy_rules",
    object: "policy rule",
    columns: &[
        parent("policy_id", 0),
        id("id"),
        text("name", "/name"),
        text("status", "/status"),
        int("priority", "/priority"),
        text("system", "/system"),
        RAW,
    ],
    key_len: 2,
    concerns: Concerns::NONE,
    export: Export::Wrapped("rule"),
};

impl Batch {
    pub fn policy_rules(policy_id: impl Into<String>, rules: Vec<Value>) -> Self {
        Self::of(Table::PolicyRules, vec![policy_id.into()], rules)
    }
}

impl crate::Scope {
    /// The rules of one policy.
    pub fn rules_of_policy(policy_id: impl Into<String>) -> Self {
        Self::by(Table::PolicyRules, "policy_id", policy_id)
    }
}
