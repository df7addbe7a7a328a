//! System Log streams. Full sync: `GET /logStreams`, 200 per page. Incremental:
//! `system.log_stream.lifecycle.*` re-lists them.

use super::org_lists::{OrgList, ReadWhole, all_pages};
use crate::events::Setting;
use crate::options::Resource;
use okta_api::OktaClient;
use oktasync_store::{Batch, Table};

pub(crate) const LOG_STREAMS: OrgList = OrgList {
    resource: Resource::LogStreams,
    name: "log_streams",
    okta_scope: "okta.logStreams.read",
    label: "log streams",
    table: Table::LogStreams,
    changed_by: Setting::LogStreams,
    read: read_all,
    batch: Batch::log_streams,
};

fn read_all(client: &OktaClient) -> ReadWhole {
    all_pages(client.list_log_streams())
}
