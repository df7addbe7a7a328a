//! Okta API tokens' metadata (owner, network condition; never a secret), kept in `okta_api_tokens`.
//! Full sync: `GET /api-tokens`, 200 per page. Incremental: `system.api_token.*` re-lists them.

use super::org_lists::{OrgList, ReadWhole, all_pages};
use crate::events::Setting;
use crate::options::Resource;
use okta_api::OktaClient;
use oktasync_store::{Batch, Table};

pub(crate) const API_TOKENS: OrgList = OrgList {
    resource: Resource::ApiTokens,
    name: "api_tokens",
    okta_scope: "okta.apiTokens.read",
    label: "API tokens",
    table: Table::OktaApiTokens,
    changed_by: Setting::ApiTokens,
    read: read_all,
    batch: Batch::okta_api_tokens,
};

fn read_all(client: &OktaClient) -> ReadWhole {
    all_pages(client.list_api_tokens())
}
