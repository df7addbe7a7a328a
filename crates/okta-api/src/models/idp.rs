//! `IdentityProvider` (GET /api/v1/idps).

use super::{lenient, okta_model};
use chrono::{DateTime, Utc};

okta_model! {
    /// An identity provider.
    pub struct IdentityProvider {
        pub id: String,
        pub name: Option<String> => serde(default, deserialize_with = "lenient::string"),
        /// SAML2, OIDC, GOOGLE, MICROSOFT, ...
        pub idp_type: Option<String> => serde(default, rename = "type", deserialize_with = "lenient::string"),
        pub status: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub issuer_mode: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub created: Option<DateTime<Utc>> => serde(default, deserialize_with = "lenient::timestamp"),
        pub last_updated: Option<DateTime<Utc>> => serde(default, deserialize_with = "lenient::timestamp"),
    }
}
