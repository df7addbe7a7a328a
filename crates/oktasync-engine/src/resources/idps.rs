//! Identity providers. Full sync: `GET /idps`, 200 per page. Incremental: lifecycle events
//! re-read the IdP.

use super::{ResourceSync, planned};
use crate::error::EngineError;
use crate::events::{EventKind, Object};
use crate::listing::{Listing, ListingRun};
use crate::options::Resource;
use crate::reading::{each_page, failed_reading, pages_needed};
use crate::reread::{DeltaRun, Found, Plan, Reread, Target};
use futures::FutureExt;
use futures::future::BoxFuture;
use okta_api::IDPS_PAGE_LIMIT;
use oktasync_store::{Batch, Cause, Scope, Table, Watermarks};
use serde_json::Value;

pub(crate) struct Idps;

const IDPS: Resource = Resource::Idps;

impl ResourceSync for Idps {
    fn name(&self) -> &'static str {
        "idps"
    }

    fn okta_scope(&self) -> &'static str {
        "okta.idps.read"
    }

    fn label(&self) -> &'static str {
        "identity providers"
    }

    fn table(&self) -> Table {
        Table::Idps
    }

    fn first_listings(&self, run: &ListingRun) -> Vec<Listing> {
        if run.wants(IDPS) {
            vec![Listing::org(IDPS)]
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
            let n = each_page(
                run.client.list_idps(),
                || "identity providers".into(),
                false,
                |idps| async move {
                    run.read(IDPS, idps.len() as u64);
                    run.stage(Batch::idps(idps.into_iter().map(|i| i.raw).collect()))
                        .await
                },
            )
            .await?;
            run.add_calls(pages_needed(n, IDPS_PAGE_LIMIT));
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
        if let EventKind::IdpChanged { idp } = event
            && run.wants(IDPS)
        {
            plan.reread(IDPS, Target::of(Object::Idp(idp.clone())));
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
            .rereads(IDPS)
            .filter_map(|t| match &t.of {
                Object::Idp(id) => Some(read_idp(run, id.clone())),
                _ => None,
            })
            .collect();
        Box::pin(std::future::ready(Ok(reads)))
    }

    fn removed_with(&self, deleted: &Object) -> Option<Scope> {
        match deleted {
            Object::Idp(id) => Some(Scope::idp(id.as_str())),
            _ => None,
        }
    }

    fn upsert(&self, objects: Vec<Value>) -> Option<Batch> {
        Some(Batch::idps(objects))
    }
}

fn read_idp<'a>(run: &'a DeltaRun<'_>, id: String) -> Reread<'a> {
    async move {
        run.call();
        let idp = run
            .client
            .get_idp(&id)
            .await
            .map_err(failed_reading(format!("identity provider {id}")))?;
        run.read(IDPS, u64::from(idp.is_some()));
        Ok(Found::object(IDPS, Object::Idp(id), idp.map(|i| i.raw)))
    }
    .boxed()
}
