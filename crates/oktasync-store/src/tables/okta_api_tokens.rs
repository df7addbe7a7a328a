//! `okta_api_tokens`: the org's Okta API tokens (SSWS), their owner and the network they may
//! be used from; Okta lists no secret, so the mirror holds none. (Not `api_tokens`: that
//! table holds the tokens of oktasync's own REST API.)

use crate::schema::{Concerns, Export, RAW, TableSpec, id, text};
use crate::{Batch, Table};
use serde_json::Value;

pub(crate) const SPEC: TableSpec = TableSpec {
    name: "okta_api_tokens",
    object: "API token",
    columns: &[
        id("id"),
        text("name", "/name"),
        text("user_id", "/userId"),
        text("client_name", "/clientName"),
        text("network_connection", "/network/connection"),
        text("created", "/created"),
        text("last_updated", "/lastUpdated"),
        text("expires_at", "/expiresAt"),
        RAW,
    ],
    key_len: 1,
    concerns: Concerns::NONE,
    export: Export::Objects,
};


impl Batch {
    pub fn okta_api_tokens(tokens: Vec<Value>) -> Self {
        Self::of(Table::OktaApiTokens, Vec::new(), tokens)
    }
}
