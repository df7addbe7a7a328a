//! `log_streams`: where the System Log is streamed (AWS EventBridge, Splunk Cloud).

use crate::schema::{Concerns, Export, RAW, TableSpec, id, text};
use crate::{Batch, Table};
use serde_json::Value;

pub(crate) const SPEC: TableSpec = TableSpec {
    name: "log_streams",
    object: "log stream",
    columns: &[
        id("id"),
        text("type", "/type"),
        text("name", "/name"),
        text("status", "/status"),
        text("created", "/created"),
        text("last_updated", "/lastUpdated"),
        RAW,
    ],
    key_len: 1,
    concerns: Concerns::NONE,
    export: Export::Objects,
};

impl Batch {
    pub fn log_streams(streams: Vec<Value>) -> Self {
        Self::of(Table::LogStreams, Vec::new(), streams)
    }
}
