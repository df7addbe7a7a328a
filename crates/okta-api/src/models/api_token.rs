//! `ApiToken` (GET /api/v1/api-tokens): a token's metadata; Okta never lists the secret.

use super::{lenient, okta_model};

okta_model! {
    /// An Okta API token (SSWS): who owns it and from where it may be used.
    pub struct ApiToken {
        pub id: String,
        pub name: Option<String> => serde(default, deserialize_with = "lenient::string"),
        /// The admin the token acts as.
        pub user_id: Option<String> => serde(default, deserialize_with = "lenient::string"),
    }
}
