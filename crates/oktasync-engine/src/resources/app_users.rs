//! App user assignments (direct and through groups). Full sync: `/apps/{id}/users`, 500 per
//! page, for every app. Incremental: an assignment event re-reads that one assignment, or
//! the app's whole list when that takes fewer calls.

use super::{ResourceSync, planned};
use crate::error::EngineError;
use crate::events::{EventKind, Object};
use crate::listing::{Listing, ListingRun};
use crate::options::Resource;
use crate::reading::{each_page, failed_reading, pages_needed};
use crate::reread::{DeltaRun, Found, Plan, Reread, Target};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use okta_api::APP_USERS_PAGE_LIMIT;
use oktasync_store::{Batch, Cause, DeltaOp, Scope, Table, Watermarks};
use std::collections::BTreeMap;

pub(crate) struct AppUsers;

const APP_USERS: Resource = Resource::AppUsers;

impl ResourceSync for AppUsers {
    fn name(&self) -> &'static str {
        "app_users"
    }

    fn okta_scope(&self) -> &'static str {
        "okta.apps.read"
    }

    fn label(&self) -> &'static str {
        "app users"
    }

    fn table(&self) -> Table {
        Table::AppUsers
    }

    fn started_by(&self) -> Option<Resource> {
        Some(Resource::Apps)
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
                run.client.list_app_users(app_id),
                || format!("the users assigned to app {app_id}"),
                true,
                |app_users| async move {
                    run.read(APP_USERS, app_users.len() as u64);
                    run.stage(Batch::app_users(
                        app_id.clone(),
                        app_users.into_iter().map(|u| u.raw).collect(),
                    ))
                    .await
                },
            )
            .await?;
            run.add_calls(pages_needed(n, APP_USERS_PAGE_LIMIT));
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
        if let EventKind::AppUserChanged { app, user } = event
            && run.wants(APP_USERS)
        {
            plan.reread(
                APP_USERS,
                Target::link(Object::App(app.clone()), Object::User(user.clone())),
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
        async move {
            let mut by_app: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            for target in plan.rereads(APP_USERS) {
                if let (Some(app), Some(user)) = (
                    target.of.app_id(),
                    target.with.as_ref().and_then(Object::user_id),
                ) {
                    by_app.entry(app).or_default().push(user);
                }
            }
            let mut reads = Vec::new();
            for (app, users) in by_app {
                // One listing of the app's users when that takes fewer calls than one read
                // per user.
                let assigned = run.keys(Scope::users_of_app(app)).await?.len() as u64;
                if users.len() as u64 > pages_needed(assigned, APP_USERS_PAGE_LIMIT) {
                    reads.push(list_app_users(run, app.to_owned()));
                } else {
                    reads.extend(
                        users
                            .into_iter()
                            .map(|user| read_app_user(run, app.to_owned(), user.to_owned())),
                    );
                }
            }
            Ok(reads)
        }
        .boxed()
    }

    fn removed_with(&self, deleted: &Object) -> Option<Scope> {
        match deleted {
            Object::User(user) => Some(Scope::apps_of_user(user.as_str())),
            Object::App(app) => Some(Scope::users_of_app(app.as_str())),
            _ => None,
        }
    }
}

/// Every user assigned to `app`: the app's assignments become exactly those.
fn list_app_users<'a>(run: &'a DeltaRun<'_>, app: String) -> Reread<'a> {
    async move {
        let mut pages = run.client.list_app_users(&app);
        let mut all = Vec::new();
        while let Some(page) = pages.next().await {
            run.call();
            match page {
                Ok(page) => all.extend(page.items.into_iter().map(|u| u.raw)),
                Err(okta_api::Error::NotFound(_)) if all.is_empty() => {
                    run.read(APP_USERS, 0);
                    return Ok(Found::gone(APP_USERS, Object::App(app)));
                }
                Err(e) => {
                    return Err(failed_reading(format!("the users assigned to app {app}"))(
                        e,
                    ));
                }
            }
        }
        run.read(APP_USERS, all.len() as u64);
        let replace = DeltaOp::Replace {
            scope: Scope::users_of_app(app.as_str()),
            batch: Batch::app_users(app, all),
        };
        Ok(Found::ops(APP_USERS, vec![replace]))
    }
    .boxed()
}

/// One user's assignment to `app`.
fn read_app_user<'a>(run: &'a DeltaRun<'_>, app: String, user: String) -> Reread<'a> {
    async move {
        run.call();
        let assignment = run
            .client
            .get_app_user(&app, &user)
            .await
            .map_err(failed_reading(format!(
                "the assignment of user {user} to app {app}"
            )))?;
        run.read(APP_USERS, u64::from(assignment.is_some()));
        let op = match assignment {
            Some(a) => DeltaOp::Upsert(Batch::app_users(app, vec![a.raw])),
            None => DeltaOp::Remove(Scope::app_user(app, user)),
        };
        Ok(Found::ops(APP_USERS, vec![op]))
    }
    .boxed()
}
