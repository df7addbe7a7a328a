//! `Application`, `AppUser` and `ApplicationGroupAssignment`.

use super::{lenient, okta_model};
use chrono::{DateTime, Utc};

okta_model! {
    /// An app integration.
    pub struct Application {
        pub id: String,
        pub name: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub label: Option<String> => serde(default, deserialize_with = "lenient::string"),
        /// ACTIVE, INACTIVE or DELETED.
        pub status: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub sign_on_mode: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub created: Option<DateTime<Utc>> => serde(default, deserialize_with = "lenient::timestamp"),
        pub last_updated: Option<DateTime<Utc>> => serde(default, deserialize_with = "lenient::timestamp"),
    }
}

okta_model! {
    /// A user's assignment to an app (`id` is the user's id).
    pub struct AppUser {
        pub id: String,
        /// USER (direct) or GROUP (through a group assignment).
        pub scope: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub status: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub external_id: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub sync_state: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub created: Option<DateTime<Utc>> => serde(default, deserialize_with = "lenient::timestamp"),
        pub last_updated: Option<DateTime<Utc>> => serde(default, deserialize_with = "lenient::timestamp"),
        pub status_changed: Option<DateTime<Utc>> => serde(default, deserialize_with = "lenient::timestamp"),
    }
}

okta_model! {
    /// A group's assignment to an app (`id` is the group's id).
    pub struct ApplicationGroupAssignment {
        pub id: String,
        pub priority: Option<i64> => serde(default, deserialize_with = "lenient::int"),
        pub last_updated: Option<DateTime<Utc>> => serde(default, deserialize_with = "lenient::timestamp"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_apps_and_assignments() {
        let app: Application = serde_json::from_str(
            r#"{"id":"0oa1","name":"bookmark","label":"Wiki","status":"ACTIVE","signOnMode":"BOOKMARK","settings":{"app":{"url":"x"}}}"#,
        )
        .unwrap();
        assert_eq!(app.sign_on_mode.as_deref(), Some("BOOKMARK"));
        assert_eq!(app.raw["settings"]["app"]["url"], "x");
        let au: AppUser =
            serde_json::from_str(r#"{"id":"00u1","scope":"GROUP","credentials":null}"#).unwrap();
        assert_eq!(au.scope.as_deref(), Some("GROUP"));
        let ag: ApplicationGroupAssignment =
            serde_json::from_str(r#"{"id":"00g1","priority":0}"#).unwrap();
        assert_eq!(ag.priority, Some(0));
    }
}
