//! Users. Full sync: `GET /users` with a filter naming every status (the unfiltered list
//! hides DEPROVISIONED users), 200 per page. Incremental: lifecycle and account events
//! re-read the user; a `lastUpdated` filter from the mirror's watermark cross-checks them.

use super::{ResourceSync, plan_deletion, planned};
use crate::error::EngineError;
use crate::events::{EventKind, Object};
use crate::listing::{Listing, ListingRun};
use crate::options::{FactorScope, Resource};
use crate::reading::{each_page, failed_reading, pages_needed};
use crate::reread::{DeltaRun, Found, Plan, Reread, Target, id_of, minus_overlap};
use futures::FutureExt;
use futures::future::BoxFuture;
use okta_api::{ALL_USER_STATUSES_FILTER, USERS_PAGE_LIMIT};
use oktasync_store::{Batch, Cause, Scope, Table, Watermarks};
use serde_json::Value;
use std::collections::BTreeSet;

pub(crate) struct Users;

const USERS: Resource = Resource::Users;

impl ResourceSync for Users {
    fn name(&self) -> &'static str {
        "users"
    }

    fn okta_scope(&self) -> &'static str {
        "okta.users.read"
    }

    fn label(&self) -> &'static str {
        "users"
    }

    fn table(&self) -> Table {
        Table::Users
    }

    fn first_listings(&self, run: &ListingRun) -> Vec<Listing> {
        // Factor scope `all` reads the factors of every user this listing finds.
        if run.wants(USERS) || run.factor_scope() == Some(FactorScope::All) {
            vec![Listing::org(USERS)]
        } else {
            Vec::new()
        }
    }

    fn may_add(&self, _listing: &Listing) -> &'static [Resource] {
        &[Resource::Factors]
    }

    fn read<'a>(
        &'a self,
        run: &'a ListingRun,
        _listing: &'a Listing,
    ) -> BoxFuture<'a, Result<Vec<Listing>, EngineError>> {
        async move {
            let stage = run.wants(USERS);
            let all_in_factor_scope = run.factor_scope() == Some(FactorScope::All);
            let n = each_page(
                run.client.list_users(Some(ALL_USER_STATUSES_FILTER)),
                || "users".into(),
                false,
                |users| async move {
                    run.read(USERS, users.len() as u64);
                    if all_in_factor_scope {
                        run.factor_users()
                            .in_scope(users.iter().map(|u| u.id.clone()));
                    }
                    if stage {
                        run.stage(Batch::users(users.into_iter().map(|u| u.raw).collect()))
                            .await?;
                    }
                    Ok(())
                },
            )
            .await?;
            run.add_calls(pages_needed(n, USERS_PAGE_LIMIT));
            Ok(Vec::new())
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
            EventKind::UserCreated { user } | EventKind::UserChanged { user }
                if run.wants(USERS) =>
            {
                plan.reread(USERS, Target::of(Object::User(user.clone())));
            }
            EventKind::UserDeleted { user } => {
                plan_deletion(run, plan, Object::User(user.clone()), cause);
            }
            _ => {}
        }
        planned()
    }

    fn rereads<'a>(
        &'a self,
        run: &'a DeltaRun<'_>,
        _plan: &'a Plan,
        watermarks: &'a Watermarks,
    ) -> BoxFuture<'a, Result<Vec<Reread<'a>>, EngineError>> {
        let mut reads: Vec<Reread<'a>> = Vec::new();
        if run.wants(USERS) {
            let filter = match watermarks.users_last_updated.as_deref() {
                Some(w) => format!("lastUpdated gt \"{}\"", minus_overlap(w)),
                None => ALL_USER_STATUSES_FILTER.to_owned(),
            };
            reads.push(
                async move {
                    let users = run
                        .collect(run.client.list_users(Some(&filter)), "users changed lately")
                        .await?;
                    run.read(USERS, users.len() as u64);
                    Ok(Found::objects(
                        USERS,
                        users.into_iter().map(|u| u.raw).collect(),
                    ))
                }
                .boxed(),
            );
        }
        Box::pin(std::future::ready(Ok(reads)))
    }

    fn rereads_given<'a>(
        &'a self,
        run: &'a DeltaRun<'_>,
        plan: &'a Plan,
        first: &'a [Found],
    ) -> BoxFuture<'a, Result<Vec<Reread<'a>>, EngineError>> {
        // Users the filter did not return are read one by one.
        let seen: BTreeSet<String> = first
            .iter()
            .filter(|f| f.resource == USERS)
            .flat_map(|f| f.objects.iter().filter_map(id_of))
            .collect();
        let reads = plan
            .rereads(USERS)
            .filter_map(|t| t.of.user_id())
            .filter(|id| !seen.contains(*id))
            .map(|id| read_user(run, id.to_owned()))
            .collect();
        Box::pin(std::future::ready(Ok(reads)))
    }

    fn removed_with(&self, deleted: &Object) -> Option<Scope> {
        deleted.user_id().map(Scope::user)
    }

    fn upsert(&self, objects: Vec<Value>) -> Option<Batch> {
        Some(Batch::users(objects))
    }
}

fn read_user<'a>(run: &'a DeltaRun<'_>, id: String) -> Reread<'a> {
    async move {
        run.call();
        let user = run
            .client
            .get_user(&id)
            .await
            .map_err(failed_reading(format!("user {id}")))?;
        run.read(USERS, u64::from(user.is_some()));
        // A login would name the user too; only an id match counts.
        let user = user.filter(|u| u.id == id).map(|u| u.raw);
        Ok(Found::object(USERS, Object::User(id), user))
    }
    .boxed()
}
