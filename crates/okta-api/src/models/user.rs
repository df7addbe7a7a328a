//! `User` (GET /api/v1/users, /groups/{id}/users).

use super::{lenient, okta_model};
use chrono::{DateTime, Utc};
use serde::Deserialize;

/// Every status an Okta user can have.
pub const USER_STATUSES: [&str; 8] = [
    "STAGED",
    "PROVISIONED",
    "ACTIVE",
    "RECOVERY",
    "PASSWORD_EXPIRED",
    "LOCKED_OUT",
    "SUSPENDED",
    "DEPROVISIONED",
];

okta_model! {
    /// An Okta user.
    pub struct User {
        pub id: String,
        /// ACTIVE, DEPROVISIONED, LOCKED_OUT, PASSWORD_EXPIRED, PROVISIONED, RECOVERY, STAGED, SUSPENDED.
        pub status: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub transitioning_to_status: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub created: Option<DateTime<Utc>> => serde(default, deserialize_with = "lenient::timestamp"),
        pub activated: Option<DateTime<Utc>> => serde(default, deserialize_with = "lenient::timestamp"),
        pub status_changed: Option<DateTime<Utc>> => serde(default, deserialize_with = "lenient::timestamp"),
        pub last_login: Option<DateTime<Utc>> => serde(default, deserialize_with = "lenient::timestamp"),
        pub last_updated: Option<DateTime<Utc>> => serde(default, deserialize_with = "lenient::timestamp"),
        pub password_changed: Option<DateTime<Utc>> => serde(default, deserialize_with = "lenient::timestamp"),
        /// The user type's id (`type.id`).
        pub user_type_id: Option<String> => serde(default, rename = "type", deserialize_with = "type_id"),
        pub profile: UserProfile => serde(default),
    }
}

/// The standard profile attributes a mirror queries. Custom attributes are in `User::raw`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserProfile {
    #[serde(default, deserialize_with = "lenient::string")]
    pub login: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub email: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub second_email: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub first_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub last_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub display_name: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub department: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub manager_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub employee_number: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub mobile_phone: Option<String>,
}

fn type_id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<serde_json::Value>::deserialize(d)?
        .and_then(|v| v.get("id").and_then(|id| id.as_str()).map(str::to_string)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_all_statuses_filter_names_every_status() {
        let filter = crate::ALL_USER_STATUSES_FILTER;
        for status in USER_STATUSES {
            assert!(
                filter.contains(&format!("status eq \"{status}\"")),
                "{status}"
            );
        }
        assert_eq!(filter.matches(" or ").count(), USER_STATUSES.len() - 1);
        assert!(!filter.contains("  "));
    }

    #[test]
    fn keeps_raw_and_tolerates_nulls_and_odd_types() {
        let json = r#"{"id":"00u1","status":"ACTIVE","created":"2022-04-04T15:56:05.000Z","activated":null,
            "type":{"id":"oty1"},"profile":{"login":"a@example.com","email":null,"title":42,"costCenter":{"x":[1]}},
            "credentials":{"provider":{"type":"OKTA"}},"_links":{"self":{"href":"x"}}}"#;
        let user: User = serde_json::from_str(json).unwrap();
        assert_eq!(user.id, "00u1");
        assert_eq!(user.status.as_deref(), Some("ACTIVE"));
        assert_eq!(user.activated, None);
        assert_eq!(user.last_login, None);
        assert_eq!(user.user_type_id.as_deref(), Some("oty1"));
        assert_eq!(user.profile.login.as_deref(), Some("a@example.com"));
        assert_eq!(user.profile.title.as_deref(), Some("42"));
        assert_eq!(user.raw["profile"]["costCenter"]["x"][0], 1);
        assert_eq!(user.created.unwrap().timestamp(), 1_649_087_765);
        // serializes back exactly as received
        let again: serde_json::Value = serde_json::to_value(&user).unwrap();
        assert_eq!(
            again,
            serde_json::from_str::<serde_json::Value>(json).unwrap()
        );
        assert!(
            serde_json::from_str::<User>(r#"{"status":"ACTIVE"}"#).is_err(),
            "id is required"
        );
    }
}
