//! What the org-wide security settings have in common: each is one short list (or one
//! object) of the org's, read whole by a full sync, and read whole again, replacing what the
//! mirror holds, after any event that changes it. A list of a dozen zones or tokens costs
//! one call either way, and re-listing it also catches deletions Okta logs without ids.
//! Each setting's module (`authenticators`, `network_zones`, ...) describes it as an
//! [`OrgList`].

use super::{ResourceSync, planned};
use crate::error::EngineError;
use crate::events::{EventKind, Object, Setting};
use crate::listing::{Listing, ListingRun};
use crate::options::Resource;
use crate::reading::failed_reading;
use crate::reread::{DeltaRun, Found, Plan, Reread, Target};
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use okta_api::{OktaClient, PageStream};
use oktasync_store::{Batch, Cause, DeltaOp, Scope, Table, Watermarks};
use serde::Serialize;
use serde_json::Value;

/// The objects of a whole list and the calls it took.
pub(crate) type ReadWhole = BoxFuture<'static, Result<(Vec<Value>, u64), okta_api::Error>>;

/// One org-wide setting, as the sync reads and keeps it.
pub(crate) struct OrgList {
    pub resource: Resource,
    pub name: &'static str,
    pub okta_scope: &'static str,
    pub label: &'static str,
    pub table: Table,
    /// The events that change it.
    pub changed_by: Setting,
    /// Reads it whole.
    pub read: fn(&OktaClient) -> ReadWhole,
    /// Its objects as the mirror stages them.
    pub batch: fn(Vec<Value>) -> Batch,
}

/// Every page of a listing, as raw objects, and the pages read (at least one call).
pub(crate) fn all_pages<T: Serialize + Send + 'static>(mut pages: PageStream<T>) -> ReadWhole {
    async move {
        let (mut objects, mut calls) = (Vec::new(), 0u64);
        while let Some(page) = pages.next().await {
            let page = page?;
            calls += 1;
            for item in page.items {
                // A model serializes as the object Okta sent.
                objects.push(serde_json::to_value(item).unwrap_or(Value::Null));
            }
        }
        Ok((objects, calls.max(1)))
    }
    .boxed()
}

/// One object's child list read whole (an app's grants, a policy's rules): its objects, or
/// `None` when the object is gone (404), and the calls it took.
pub(crate) async fn read_child_list<T: Serialize + Send + 'static>(
    pages: PageStream<T>,
    what: impl FnOnce() -> String,
) -> Result<(Option<Vec<Value>>, u64), EngineError> {
    match all_pages(pages).await {
        Ok((objects, calls)) => Ok((Some(objects), calls)),
        Err(okta_api::Error::NotFound(_)) => Ok((None, 1)),
        Err(e) => Err(failed_reading(what())(e)),
    }
}

/// Reads a whole org-wide list (`read`, named `label` in errors) again; the mirror's rows of
/// `table` become exactly what it holds.
pub(crate) fn relist_whole<'a>(
    run: &'a DeltaRun<'_>,
    resource: Resource,
    table: Table,
    label: &'static str,
    read: fn(&OktaClient) -> ReadWhole,
    batch: fn(Vec<Value>) -> Batch,
) -> Reread<'a> {
    async move {
        let (objects, calls) = read(run.client).await.map_err(failed_reading(label))?;
        run.add_calls(calls);
        run.read(resource, objects.len() as u64);
        let op = DeltaOp::Replace {
            scope: Scope::all(table),
            batch: batch(objects),
        };
        Ok(Found::ops(resource, vec![op]))
    }
    .boxed()
}

impl ResourceSync for OrgList {
    fn name(&self) -> &'static str {
        self.name
    }

    fn okta_scope(&self) -> &'static str {
        self.okta_scope
    }

    fn label(&self) -> &'static str {
        self.label
    }

    fn table(&self) -> Table {
        self.table
    }

    fn first_listings(&self, run: &ListingRun) -> Vec<Listing> {
        if run.wants(self.resource) {
            vec![Listing::org(self.resource)]
        } else {
            Vec::new()
        }
    }

    fn read<'a>(
        &'a self,
        run: &'a ListingRun,
        _listing: &'a Listing,
    ) -> BoxFuture<'a, Result<Vec<Listing>, EngineError>> {
        async move {
            let (objects, calls) = (self.read)(&run.client)
                .await
                .map_err(failed_reading(self.label))?;
            run.add_calls(calls);
            run.read(self.resource, objects.len() as u64);
            run.stage((self.batch)(objects)).await?;
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
        if *event == EventKind::SettingChanged(self.changed_by) && run.wants(self.resource) {
            plan.reread(self.resource, Target::of(Object::Org));
        }
        planned()
    }

    fn rereads<'a>(
        &'a self,
        run: &'a DeltaRun<'_>,
        plan: &'a Plan,
        _watermarks: &'a Watermarks,
    ) -> BoxFuture<'a, Result<Vec<Reread<'a>>, EngineError>> {
        let reads = if plan.rereads(self.resource).next().is_some() {
            vec![relist_whole(
                run,
                self.resource,
                self.table,
                self.label,
                self.read,
                self.batch,
            )]
        } else {
            Vec::new()
        };
        Box::pin(std::future::ready(Ok(reads)))
    }
}
