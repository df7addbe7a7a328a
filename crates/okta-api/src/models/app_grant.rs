//! `OAuth2ScopeConsentGrant` (GET /api/v1/apps/{appId}/grants): the Okta API scopes an app
//! was granted.

use super::{lenient, okta_model};

okta_model! {
    /// One Okta API scope granted to an app (`okta.users.manage`, ...).
    pub struct AppGrant {
        pub id: String,
        pub scope_id: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub status: Option<String> => serde(default, deserialize_with = "lenient::string"),
    }
}
