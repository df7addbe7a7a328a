//! `LogStream` (GET /api/v1/logStreams).

use super::{lenient, okta_model};

okta_model! {
    /// A System Log stream to a SIEM (AWS EventBridge, Splunk Cloud).
    pub struct LogStream {
        pub id: String,
        pub stream_type: Option<String> => serde(default, rename = "type", deserialize_with = "lenient::string"),
        pub name: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub status: Option<String> => serde(default, deserialize_with = "lenient::string"),
    }
}
