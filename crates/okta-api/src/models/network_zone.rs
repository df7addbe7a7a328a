//! `NetworkZone` (GET /api/v1/zones).

use super::{lenient, okta_model};

okta_model! {
    /// A network zone: IP ranges, or (dynamic zones) locations, ASNs and proxy types.
    pub struct NetworkZone {
        pub id: String,
        /// IP, DYNAMIC, DYNAMIC_V2.
        pub zone_type: Option<String> => serde(default, rename = "type", deserialize_with = "lenient::string"),
        pub name: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub status: Option<String> => serde(default, deserialize_with = "lenient::string"),
        /// POLICY or BLOCKLIST.
        pub usage: Option<String> => serde(default, deserialize_with = "lenient::string"),
    }
}
