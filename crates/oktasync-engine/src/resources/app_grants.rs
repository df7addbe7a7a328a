//! The Okta API scopes granted to apps (`okta.users.manage`, ...): what an OAuth service app
//! may do to the org. Only OAuth apps (`OPENID_CONNECT`) can hold grants. Full sync:
//! `GET /apps/{id}/grants` for each such app, after the app's assignments. Incremental:
//! `app.oauth2.admin.consent.grant|revoke` re-lists the app's grants; an app's deletion takes
//! them along.

use super::{ResourceSync, planned};
use crate::error::EngineError;
use crate::events::{EventKind, Object};
use crate::listing::{Listing, ListingRun};
use crate::options::Resource;
use crate::reading::{each_page, failed_reading};
use crate::reread::{DeltaRun, Found, Plan, Reread, Target};
use futures::FutureExt;
use futures::future::BoxFuture;
use oktasync_store::{Batch, Cause, DeltaOp, Scope, Table, Watermarks};

use super::org_lists::all_pages;

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
            let mut pages = 0u64;
            each_page(
                run.client.list_app_grants(app_id),
                || format!("the grants of app {app_id}"),
                true,
                |grants| {
                    pages += 1;
                    async move {
                        run.read(APP_GRANTS, grants.len() as u64);
                        run.stage(Batch::app_grants(
                            app_id.clone(),
                            grants.into_iter().map(|g| g.raw).collect(),
                        ))
                        .await
                    }
                },
            )
            .await?;
            run.add_calls(pages.max(1));
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

fn relist_grants<'a>(run: &'a DeltaRun<'_>, app: String) -> Reread<'a> {
    async move {
        let op = match all_pages(run.client.list_app_grants(&app)).await {
            Ok((grants, calls)) => {
                run.add_calls(calls);
                run.read(APP_GRANTS, grants.len() as u64);
                DeltaOp::Replace {
                    scope: Scope::grants_of(app.as_str()),
                    batch: Batch::app_grants(app, grants),
                }
            }
            Err(okta_api::Error::NotFound(_)) => {
                run.call();
                DeltaOp::Remove(Scope::grants_of(app.as_str()))
            }
            Err(e) => return Err(failed_reading(format!("the grants of app {app}"))(e)),
        };
        Ok(Found::ops(APP_GRANTS, vec![op]))
    }
    .boxed()
}
