//! App group assignments. Full sync: `/apps/{id}/groups`, 200 per page, for every app, after
//! the app user listings (those may be long; these are one page nearly always).
//! Incremental: an assignment event re-reads that one assignment.

use super::{ResourceSync, planned};
use crate::error::EngineError;
use crate::events::{EventKind, Object};
use crate::listing::{Listing, ListingRun};
use crate::options::Resource;
use crate::reading::{each_page, failed_reading, pages_needed};
use crate::reread::{DeltaRun, Found, Plan, Reread, Target};
use futures::FutureExt;
use futures::future::BoxFuture;
use okta_api::APP_GROUPS_PAGE_LIMIT;
use oktasync_store::{Batch, Cause, DeltaOp, Scope, Table, Watermarks};

pub(crate) struct AppGroups;

const APP_GROUPS: Resource = Resource::AppGroups;

impl ResourceSync for AppGroups {
    fn name(&self) -> &'static str {
        "app_groups"
    }

    fn okta_scope(&self) -> &'static str {
        "okta.apps.read"
    }

    fn label(&self) -> &'static str {
        "app groups"
    }

    fn table(&self) -> Table {
        Table::AppGroups
    }

    fn started_by(&self) -> Option<Resource> {
        Some(Resource::Apps)
    }

    fn starts_after(&self) -> Option<Resource> {
        Some(Resource::AppUsers)
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
            let n = each_page(
                run.client.list_app_groups(app_id),
                || format!("the groups assigned to app {app_id}"),
                true,
                |assignments| async move {
                    run.read(APP_GROUPS, assignments.len() as u64);
                    run.stage(Batch::app_groups(
                        app_id.clone(),
                        assignments.into_iter().map(|a| a.raw).collect(),
                    ))
                    .await
                },
            )
            .await?;
            run.add_calls(pages_needed(n, APP_GROUPS_PAGE_LIMIT));
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
        if let EventKind::AppGroupChanged { app, group } = event
            && run.wants(APP_GROUPS)
        {
            plan.reread(
                APP_GROUPS,
                Target::link(Object::App(app.clone()), Object::Group(group.clone())),
            );
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
            .rereads(APP_GROUPS)
            .filter_map(|t| {
                let app = t.of.app_id()?;
                let group = t.with.as_ref()?.group_id()?;
                Some(read_app_group(run, app.to_owned(), group.to_owned()))
            })
            .collect();
        Box::pin(std::future::ready(Ok(reads)))
    }

    fn removed_with(&self, deleted: &Object) -> Option<Scope> {
        match deleted {
            Object::Group(group) => Some(Scope::apps_of_group(group.as_str())),
            Object::App(app) => Some(Scope::groups_of_app(app.as_str())),
            _ => None,
        }
    }
}

/// One group's assignment to `app`.
fn read_app_group<'a>(run: &'a DeltaRun<'_>, app: String, group: String) -> Reread<'a> {
    async move {
        run.call();
        let assignment = run
            .client
            .get_app_group(&app, &group)
            .await
            .map_err(failed_reading(format!(
                "the assignment of group {group} to app {app}"
            )))?;
        run.read(APP_GROUPS, u64::from(assignment.is_some()));
        let op = match assignment {
            Some(a) => DeltaOp::Upsert(Batch::app_groups(app, vec![a.raw])),
            None => DeltaOp::Remove(Scope::app_group(app, group)),
        };
        Ok(Found::ops(APP_GROUPS, vec![op]))
    }
    .boxed()
}
