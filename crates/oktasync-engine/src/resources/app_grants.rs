//! The Okta API scopes granted to apps (`okta.users.manage`, ...): what an OAuth service app
//! may do to the org. Only OAuth apps (`OPENID_CONNECT`) can hold grants. Full sync:
//! `GET /apps/{id}/grants` for each such app, after the app's assignments. Incremental:
//! `app.oauth2.admin.consent.grant|revoke` re-lists the app's grants; an app's deletion takes
//! them along.

use super::org_lists::read_child_list;
use super::{ResourceSync, planned, replace_or_remove};
use crate::error::EngineError;
use crate::events::{EventKind, Object};
use crate::listing::{Listing, ListingRun};
use crate::options::Resource;

use crate::reread::{DeltaRun, Found, Plan, Reread, Target};
use futures::FutureExt;
use futures::future::BoxFuture;
use okta_api::OktaClient;
use oktasync_store::{Batch, Cause, Scope, Table, Watermarks};
use serde_json::Value;

pub(crate) struct AppGrants;

const APP_GRANTS: Resource = Resource::AppGrants;

/// The sign-on mode of the apps that can hold grants.
pub(crate) const OAUTH_SIGN_ON_MODE: &str = "OPENID_CONNECT";

impl ResourceSync for AppGrants {
    fn name(&self) -> &'static str {
        "app_grants"
    }

    fn okta_scope(&self) -> &'static str {
        "okta.appGrants.read"
    }

    fn label(&self) -> &'static str {
        "app grants"
    }

    fn table(&self) -> Table {
        Table::AppGrants
    }

    fn started_by(&self) -> Option<Resource> {
        Some(Resource::Apps)
    }

    fn starts_after(&self) -> Option<Resource> {
        Some(Resource::AppGroups)
    }

    fn read<'a>(
        &'a self,
        run: &'a ListingRun,
        listing: &'a Listing,
    ) -> BoxFuture<'a, Result<Vec<Listing>, EngineError>> {
        async move {
            let Some(Object::App(app_id)) = &listing.of else {
                return Err(listing.unexpected());
            };
            let (grants, calls) = read_grants(&run.client, app_id).await?;
            run.add_calls(calls);
            // An app deleted since it was listed has no grants (the next run sees it gone).
            let grants = grants.unwrap_or_default();
            run.read(APP_GRANTS, grants.len() as u64);
            run.stage(Batch::app_grants(app_id.clone(), grants)).await?;
            Ok(Vec::new())
        }
        .boxed()
    }

    fn plan_event<'a>(
        &'a self,
        run: &'a DeltaRun<'_>,
        plan: &'a mut Plan,
        event: &'a EventKind,
        _cause: &'a Cause,
    ) -> BoxFuture<'a, Result<(), EngineError>> {
        if let EventKind::AppGrantsChanged { app } = event
            && run.wants(APP_GRANTS)
        {
            plan.reread(APP_GRANTS, Target::of(Object::App(app.clone())));
        }
        planned()
    }

    fn rereads<'a>(
        &'a self,
        run: &'a DeltaRun<'_>,
        plan: &'a Plan,
        _watermarks: &'a Watermarks,
    ) -> BoxFuture<'a, Result<Vec<Reread<'a>>, EngineError>> {
        let reads = plan
            .rereads(APP_GRANTS)
            .filter_map(|t| t.of.app_id().map(|a| relist_grants(run, a.to_owned())))
            .collect();
        Box::pin(std::future::ready(Ok(reads)))
    }

    fn removed_with(&self, deleted: &Object) -> Option<Scope> {
        match deleted {
            Object::App(app) => Some(Scope::grants_of(app.as_str())),
            _ => None,
        }
    }
}

/// One app's grants (`None`: the app is gone), and the calls it took.
async fn read_grants(
    client: &OktaClient,
    app: &str,
) -> Result<(Option<Vec<Value>>, u64), EngineError> {
    read_child_list(client.list_app_grants(app), || {
        format!("the grants of app {app}")
    })
    .await
}

fn relist_grants<'a>(run: &'a DeltaRun<'_>, app: String) -> Reread<'a> {
    async move {
        let (grants, calls) = read_grants(run.client, &app).await?;
        run.add_calls(calls);
        run.read(APP_GRANTS, grants.as_ref().map_or(0, |g| g.len() as u64));
        let op = replace_or_remove(Scope::grants_of(app.as_str()), grants, |g| {
            Batch::app_grants(app, g)
        });
        Ok(Found::ops(APP_GRANTS, vec![op]))
    }
    .boxed()
}
