//! Authenticators. Full sync: `GET /authenticators` (one page). Incremental:
//! `security.authenticator.lifecycle.*` re-lists them.

use super::org_lists::{OrgList, ReadWhole, all_pages};
use crate::events::Setting;
use crate::options::Resource;
use okta_api::OktaClient;
use oktasync_store::{Batch, Table};

pub(crate) const AUTHENTICATORS: OrgList = OrgList {
    resource: Resource::Authenticators,
    name: "authenticators",
    okta_scope: "okta.authenticators.read",
    label: "authenticators",
    table: Table::Authenticators,
    changed_by: Setting::Authenticators,
    read: read_all,
    batch: Batch::authenticators,
};

fn read_all(client: &OktaClient) -> ReadWhole {
    all_pages(client.list_authenticators())
}
