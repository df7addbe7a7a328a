//! `UserFactor` (GET /api/v1/users/{id}/factors).

use super::{lenient, okta_model};
use chrono::{DateTime, Utc};

okta_model! {
    /// An enrolled MFA factor.
    pub struct UserFactor {
        pub id: String,
        /// push, sms, token:software:totp, webauthn, ...
        pub factor_type: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub provider: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub vendor_name: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub status: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub created: Option<DateTime<Utc>> => serde(default, deserialize_with = "lenient::timestamp"),
        pub last_updated: Option<DateTime<Utc>> => serde(default, deserialize_with = "lenient::timestamp"),
    }
}
