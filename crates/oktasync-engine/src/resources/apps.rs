//! Apps. Full sync: `GET /apps`, 200 per page; each app's user and group assignments are
//! listed next. Incremental: lifecycle events re-read the app; its deletion takes its
//! assignments along.

use super::app_grants::OAUTH_SIGN_ON_MODE;
use super::{ResourceSync, plan_deletion, planned};
use crate::error::EngineError;
use crate::events::{EventKind, Object};
use crate::listing::{Listing, ListingRun};
use crate::options::Resource;
use crate::reading::{each_page, failed_reading, pages_needed};
use crate::reread::{DeltaRun, Found, Plan, Reread, Target};
use futures::FutureExt;
use futures::future::BoxFuture;
use okta_api::APPS_PAGE_LIMIT;
use oktasync_store::{Batch, Cause, Scope, Table, Watermarks};
use serde_json::Value;
use std::sync::Mutex;

pub(crate) struct Apps;

const APPS: Resource = Resource::Apps;

impl ResourceSync for Apps {
    fn name(&self) -> &'static str {
        "apps"
    }

    fn okta_scope(&self) -> &'static str {
        "okta.apps.read"
    }

    fn label(&self) -> &'static str {
        "apps"
    }

    fn table(&self) -> Table {
        Table::Apps
    }

    fn first_listings(&self, run: &ListingRun) -> Vec<Listing> {
        if [
            APPS,
            Resource::AppUsers,
            Resource::AppGroups,
            Resource::AppGrants,
        ]
        .into_iter()
        .any(|r| run.wants(r))
        {
            vec![Listing::org(APPS)]
        } else {
            Vec::new()
        }
    }

    fn may_add(&self, _listing: &Listing) -> &'static [Resource] {
        &[Resource::AppUsers, Resource::AppGroups, Resource::AppGrants]
    }

    fn read<'a>(
        &'a self,
        run: &'a ListingRun,
        _listing: &'a Listing,
    ) -> BoxFuture<'a, Result<Vec<Listing>, EngineError>> {
        async move {
            let stage = run.wants(APPS);
            let assignments: Vec<Resource> = [Resource::AppUsers, Resource::AppGroups]
                .into_iter()
                .filter(|r| run.wants(*r))
                .collect();
            let grants = run.wants(Resource::AppGrants);
            let followups = Mutex::new(Vec::new());
            let n = each_page(
                run.client.list_apps(),
                || "apps".into(),
                false,
                |apps| {
                    let (followups, assignments) = (&followups, &assignments);
                    async move {
                        run.read(APPS, apps.len() as u64);
                        {
                            let mut found = followups.lock().unwrap_or_else(|p| p.into_inner());
                            found.extend(apps.iter().flat_map(|a| {
                                assignments
                                    .iter()
                                    .map(|r| Listing::of(*r, Object::App(a.id.clone())))
                            }));
                            // Only OAuth apps can hold grants of Okta API scopes.
                            found.extend(
                                apps.iter()
                                    .filter(|a| {
                                        grants
                                            && a.sign_on_mode.as_deref() == Some(OAUTH_SIGN_ON_MODE)
                                    })
                                    .map(|a| {
                                        Listing::of(Resource::AppGrants, Object::App(a.id.clone()))
                                    }),
                            );
                        }
                        if stage {
                            run.stage(Batch::apps(apps.into_iter().map(|a| a.raw).collect()))
                                .await?;
                        }
                        Ok(())
                    }
                },
            )
            .await?;
            run.add_calls(pages_needed(n, APPS_PAGE_LIMIT));
            for r in assignments {
                run.started(r, None);
            }
            if grants {
                run.started(Resource::AppGrants, None);
            }
            Ok(followups.into_inner().unwrap_or_else(|p| p.into_inner()))
        }
        .boxed()
    }

    fn plan_event<'a>(
        &'a self,
        run: &'a DeltaRun<'_>,
        plan: &'a mut Plan,
        event: &'a EventKind,
        cause: &'a Cause,
    ) -> BoxFuture<'a, Result<(), EngineError>> {
        match event {
            EventKind::AppChanged { app } if run.wants(APPS) => {
                plan.reread(APPS, Target::of(Object::App(app.clone())));
            }
            EventKind::AppDeleted { app } => {
                plan_deletion(run, plan, Object::App(app.clone()), cause);
            }
            _ => {}
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
            .rereads(APPS)
            .filter_map(|t| t.of.app_id())
            .map(|id| read_app(run, id.to_owned()))
            .collect();
        Box::pin(std::future::ready(Ok(reads)))
    }

    fn removed_with(&self, deleted: &Object) -> Option<Scope> {
        deleted.app_id().map(Scope::app)
    }

    fn upsert(&self, objects: Vec<Value>) -> Option<Batch> {
        Some(Batch::apps(objects))
    }
}

fn read_app<'a>(run: &'a DeltaRun<'_>, id: String) -> Reread<'a> {
    async move {
        run.call();
        let app = run
            .client
            .get_app(&id)
            .await
            .map_err(failed_reading(format!("app {id}")))?;
        run.read(APPS, u64::from(app.is_some()));
        Ok(Found::object(APPS, Object::App(id), app.map(|a| a.raw)))
    }
    .boxed()
}
