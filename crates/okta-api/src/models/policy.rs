//! `Policy` (GET /api/v1/policies?type=…) and `PolicyRule` (GET /api/v1/policies/{id}/rules).

use super::{lenient, okta_model};
use chrono::{DateTime, Utc};

/// The policy types a sync lists, one call each: Okta lists policies of one type per call.
/// Global session, password, authenticator enrollment, app sign-in, IdP routing and user
/// profile policies: what posture checks read, and what every org has.
pub const POLICY_TYPES: [&str; 6] = [
    "OKTA_SIGN_ON",
    "PASSWORD",
    "MFA_ENROLL",
    "ACCESS_POLICY",
    "IDP_DISCOVERY",
    "PROFILE_ENROLLMENT",
];

okta_model! {
    /// A policy: its conditions say whom it applies to, its rules what it requires.
    pub struct Policy {
        pub id: String,
        /// OKTA_SIGN_ON, PASSWORD, MFA_ENROLL, ACCESS_POLICY, ...
        pub policy_type: Option<String> => serde(default, rename = "type", deserialize_with = "lenient::string"),
        pub name: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub status: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub priority: Option<i64> => serde(default, deserialize_with = "lenient::int"),
        pub created: Option<DateTime<Utc>> => serde(default, deserialize_with = "lenient::timestamp"),
        pub last_updated: Option<DateTime<Utc>> => serde(default, deserialize_with = "lenient::timestamp"),
    }
}

okta_model! {
    /// A rule of a policy.
    pub struct PolicyRule {
        pub id: String,
        pub name: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub status: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub priority: Option<i64> => serde(default, deserialize_with = "lenient::int"),
    }
}
