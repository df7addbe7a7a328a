//! `Group` (GET /api/v1/groups, with `expand=stats`).

use super::{lenient, okta_model};
use chrono::{DateTime, Utc};
use serde::Deserialize;

okta_model! {
    /// An Okta group.
    pub struct Group {
        pub id: String,
        /// OKTA_GROUP, APP_GROUP or BUILT_IN.
        pub group_type: Option<String> => serde(default, rename = "type", deserialize_with = "lenient::string"),
        pub created: Option<DateTime<Utc>> => serde(default, deserialize_with = "lenient::timestamp"),
        pub last_updated: Option<DateTime<Utc>> => serde(default, deserialize_with = "lenient::timestamp"),
        pub last_membership_updated: Option<DateTime<Utc>> => serde(default, deserialize_with = "lenient::timestamp"),
        pub profile: GroupProfile => serde(default),
        /// `_embedded.stats`, present with `expand=stats`.
        pub stats: Option<GroupStats> => serde(default, rename = "_embedded", deserialize_with = "embedded_stats"),
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupProfile {
    #[serde(default, deserialize_with = "lenient::string")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub description: Option<String>,
}

/// `_embedded.stats` (the misspelling `hasAdminPrivlege` is Okta's).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupStats {
    #[serde(default, deserialize_with = "lenient::int")]
    pub users_count: Option<i64>,
    #[serde(default, deserialize_with = "lenient::int")]
    pub apps_count: Option<i64>,
    #[serde(default, deserialize_with = "lenient::int")]
    pub group_push_mappings_count: Option<i64>,
    #[serde(
        default,
        alias = "hasAdminPrivilege",
        deserialize_with = "lenient::bool"
    )]
    pub has_admin_privlege: Option<bool>,
}

fn embedded_stats<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<GroupStats>, D::Error> {
    let embedded = Option::<serde_json::Value>::deserialize(d)?;
    Ok(embedded
        .and_then(|e| e.get("stats").cloned())
        .and_then(|s| serde_json::from_value(s).ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stats() {
        let g: Group = serde_json::from_str(
            r#"{"id":"00g1","type":"OKTA_GROUP","profile":{"name":"Eng","description":null},
               "_embedded":{"stats":{"usersCount":12,"appsCount":1,"hasAdminPrivlege":true}}}"#,
        )
        .unwrap();
        let stats = g.stats.unwrap();
        assert_eq!(stats.users_count, Some(12));
        assert_eq!(stats.has_admin_privlege, Some(true));
        assert_eq!(g.group_type.as_deref(), Some("OKTA_GROUP"));
        let plain: Group = serde_json::from_str(r#"{"id":"00g2"}"#).unwrap();
        assert!(plain.stats.is_none());
    }
}
