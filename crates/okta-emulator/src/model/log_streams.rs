//! Log streams (`/api/v1/logStreams`): System Log events pushed to AWS EventBridge or Splunk
//! Cloud. Okta never returns a Splunk HEC token, so none is held.

use super::Org;
use super::ids::{Id, Ts};
use super::objects::{cached, ts};
use crate::error::{OktaError, Result};
use bytes::Bytes;
use serde_json::{Value, json};
use std::sync::OnceLock;

/// The log stream types (`LogStreamType`).
pub const LOG_STREAM_TYPES: [&str; 2] = ["aws_eventbridge", "splunk_cloud_logstreaming"];

#[derive(Debug)]
pub struct LogStream {
    pub id: Id,
    /// One of [`LOG_STREAM_TYPES`].
    pub kind: &'static str,
    pub name: String,
    pub active: bool,
    pub created: Ts,
    pub last_updated: Ts,
    /// The provider's settings as Okta returns them.
    pub settings: Value,
    pub json: OnceLock<Bytes>,
}

impl LogStream {
    pub fn to_value(&self) -> Value {
        json!({
            "id": self.id,
            "type": self.kind,
            "name": self.name,
            "lastUpdated": ts(self.last_updated),
            "created": ts(self.created),
            "status": if self.active { "ACTIVE" } else { "INACTIVE" },
            "settings": self.settings,
        })
    }

    pub fn json(&self) -> Bytes {
        cached(&self.json, || self.to_value())
    }

    /// `self` and the lifecycle operation its status allows, with `method` as Okta writes
    /// log stream links (not `hints`).
    pub fn links(&self, origin: &str) -> String {
        let base = format!("{origin}/api/v1/logStreams/{}", self.id);
        let op = if self.active {
            "deactivate"
        } else {
            "activate"
        };
        format!(
            r#"{{"self":{{"href":"{base}","method":"GET"}},"{op}":{{"href":"{base}/lifecycle/{op}","method":"POST"}}}}"#
        )
    }
}

impl Org {
    /// A log stream by id; 404 E0000007 when there is none.
    pub fn log_stream(&self, id: &str) -> Result<&LogStream> {
        Id::parse(id)
            .and_then(|l| self.log_streams.get(&l))
            .ok_or_else(|| OktaError::not_found(id, "LogStream"))
    }
}
