//! `GroupRule` (GET /api/v1/groups/rules).

use super::{lenient, okta_model};
use chrono::{DateTime, Utc};

okta_model! {
    /// A group rule: every user its expression matches is added to its groups.
    pub struct GroupRule {
        pub id: String,
        pub name: Option<String> => serde(default, deserialize_with = "lenient::string"),
        /// ACTIVE, INACTIVE or INVALID.
        pub status: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub created: Option<DateTime<Utc>> => serde(default, deserialize_with = "lenient::timestamp"),
        pub last_updated: Option<DateTime<Utc>> => serde(default, deserialize_with = "lenient::timestamp"),
    }
}

impl GroupRule {
    /// The groups the rule adds users to (`actions.assignUserToGroups.groupIds`).
    pub fn group_ids(&self) -> Vec<String> {
        self.raw
            .pointer("/actions/assignUserToGroups/groupIds")
            .and_then(serde_json::Value::as_array)
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| id.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }
}
