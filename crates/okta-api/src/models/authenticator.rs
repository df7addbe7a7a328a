//! `Authenticator` (GET /api/v1/authenticators).

use super::{lenient, okta_model};

okta_model! {
    /// An authenticator the org offers (Okta Verify, phone, security key, ...).
    pub struct Authenticator {
        pub id: String,
        /// `okta_verify`, `phone_number`, `webauthn`, `security_question`, ...
        pub key: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub name: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub status: Option<String> => serde(default, deserialize_with = "lenient::string"),
    }
}
