//! Log streams (`/api/v1/logStreams`): System Log events pushed to AWS EventBridge or Splunk
//! Cloud. Okta never returns a Splunk HEC token, so none is held. Admins activate,
//! deactivate and delete them (`system.log_stream.lifecycle.activate|deactivate|delete`).

use super::Org;
use super::ids::{Id, Ts};
use super::log::{Ctx, Target};
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

    /// `POST /api/v1/logStreams/{id}/lifecycle/activate|deactivate`. A stream already in
    /// that status is left as it is, with no event.
    pub fn set_log_stream_active(&mut self, ctx: &Ctx, id: &str, active: bool) -> Result<Id> {
        let lid = self.log_stream(id)?.id;
        let Some(l) = self.log_streams.get_mut(&lid) else {
            return Err(OktaError::not_found(id, "LogStream"));
        };
        if l.active == active {
            return Ok(lid);
        }
        l.active = active;
        l.last_updated = ctx.now;
        l.json = OnceLock::new();
        let t = Target::log_stream(l);
        let event = if active {
            "system.log_stream.lifecycle.activate"
        } else {
            "system.log_stream.lifecycle.deactivate"
        };
        self.emit(ctx, event, vec![t], None);
        Ok(lid)
    }

    /// `DELETE /api/v1/logStreams/{id}`, in any status: neither Okta's spec nor its docs ask
    /// for a deactivation first. Writes `system.log_stream.lifecycle.delete`.
    pub fn delete_log_stream(&mut self, ctx: &Ctx, id: &str) -> Result<()> {
        let lid = self.log_stream(id)?.id;
        let Some(l) = self.log_streams.remove(&lid) else {
            return Err(OktaError::not_found(id, "LogStream"));
        };
        let t = Target::log_stream(&l);
        self.emit(ctx, "system.log_stream.lifecycle.delete", vec![t], None);
        Ok(())
    }
}
