//! The ThreatInsight configuration (one object, no id), kept as `org_settings` row
//! `threat_insight`. Full sync: `GET /threats/configuration`. Incremental:
//! `security.threat.configuration.update` reads it again.

use super::org_lists::{OrgList, ReadWhole};
use crate::events::Setting;
use crate::options::Resource;
use futures::FutureExt;
use okta_api::OktaClient;
use oktasync_store::{Batch, Table};
use serde_json::Value;

pub(crate) const THREAT_INSIGHT: OrgList = OrgList {
    resource: Resource::ThreatInsight,
    name: "threat_insight",
    okta_scope: "okta.threatInsights.read",
    label: "the ThreatInsight configuration",
    table: Table::OrgSettings,
    changed_by: Setting::ThreatInsight,
    read: read_configuration,
    batch: one_setting,
};

fn read_configuration(client: &OktaClient) -> ReadWhole {
    let client = client.clone();
    async move { Ok((vec![client.get_threat_insight().await?], 1)) }.boxed()
}

fn one_setting(objects: Vec<Value>) -> Batch {
    Batch::threat_insight(objects.into_iter().next().unwrap_or(Value::Null))
}
