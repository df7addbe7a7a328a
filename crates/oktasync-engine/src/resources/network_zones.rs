//! Network zones. Full sync: `GET /zones` (one page). Incremental: `zone.*` re-lists them.

use super::org_lists::{OrgList, ReadWhole, all_pages};
use crate::events::Setting;
use crate::options::Resource;
use okta_api::OktaClient;
use oktasync_store::{Batch, Table};

pub(crate) const NETWORK_ZONES: OrgList = OrgList {
    resource: Resource::NetworkZones,
    name: "network_zones",
    okta_scope: "okta.networkZones.read",
    label: "network zones",
    table: Table::NetworkZones,
    changed_by: Setting::NetworkZones,
    read: read_all,
    batch: Batch::network_zones,
};

fn read_all(client: &OktaClient) -> ReadWhole {
    all_pages(client.list_network_zones())
}
