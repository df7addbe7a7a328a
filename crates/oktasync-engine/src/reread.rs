//! What an incremental run's resource modules share: the run ([`DeltaRun`]), the plan its
//! events make ([`Plan`]: operations in event order, objects to re-read, deletions), and what
//! a re-read found ([`Found`]). The contract between [`crate::incremental`] and the modules.

use crate::admins::{MembershipChange, RolesHeld};
use crate::error::EngineError;
use crate::events::Object;
use crate::options::{FactorScope, Resource, SyncOptions};
use crate::reading::failed_reading;
use crate::summary::Tally;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use futures::future::BoxFuture;
use okta_api::{OktaClient, PageStream};
use oktasync_store::{Cause, DeltaOp, OrgId, RowKey, Scope, Store};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Subtracted from the mirror's watermarks for the `lastUpdated` filters: Okta's filter
/// data is eventually consistent (typically under a second) and timestamps may tie.
pub const WATERMARK_OVERLAP: Duration = Duration::from_secs(60);

/// One incremental run, as its resource modules see it.
pub(crate) struct DeltaRun<'a> {
    pub client: &'a OktaClient,
    pub store: &'a dyn Store,
    pub org: OrgId,
    pub opts: &'a SyncOptions,
    tally: &'a Tally,
}

impl<'a> DeltaRun<'a> {
    pub(crate) fn new(
        client: &'a OktaClient,
        store: &'a dyn Store,
        org: OrgId,
        opts: &'a SyncOptions,
        tally: &'a Tally,
    ) -> Self {
        Self {
            client,
            store,
            org,
            opts,
            tally,
        }
    }

    /// Whether the run mirrors `resource`.
    pub(crate) fn wants(&self, resource: Resource) -> bool {
        self.opts.wants(resource)
    }

    /// Whether the run keeps the factors of admins only (it then follows who is one).
    pub(crate) fn admin_factors(&self) -> bool {
        self.wants(Resource::Factors) && self.opts.factors == FactorScope::Admins
    }

    /// One call made.
    pub(crate) fn call(&self) {
        self.tally.add_calls(1);
    }

    /// `n` calls made.
    pub(crate) fn add_calls(&self, n: u64) {
        self.tally.add_calls(n);
    }

    /// `n` objects of `resource` read.
    pub(crate) fn read(&self, resource: Resource, n: u64) {
        self.tally.add_read(resource, n);
    }

    /// The keys of the mirror's rows within `scope`.
    pub(crate) async fn keys(&self, scope: Scope) -> Result<Vec<RowKey>, EngineError> {
        Ok(self.store.keys(self.org, &scope).await?)
    }

    /// Every item of a listing, one call per page.
    pub(crate) async fn collect<T>(
        &self,
        mut pages: PageStream<T>,
        what: &str,
    ) -> Result<Vec<T>, EngineError> {
        let mut all = Vec::new();
        while let Some(page) = pages.next().await {
            self.call();
            all.extend(page.map_err(failed_reading(what))?.items);
        }
        Ok(all)
    }
}

/// What one re-read reads: an object, or an object's link to another (a user's assignment to
/// an app: `of` the app, `with` the user).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Target {
    pub of: Object,
    pub with: Option<Object>,
}

impl Target {
    pub(crate) fn of(object: Object) -> Self {
        Self {
            of: object,
            with: None,
        }
    }

    pub(crate) fn link(of: Object, with: Object) -> Self {
        Self {
            of,
            with: Some(with),
        }
    }

    /// Whether it names one of `objects`.
    fn names_any(&self, objects: &BTreeSet<Object>) -> bool {
        objects.contains(&self.of) || self.with.as_ref().is_some_and(|w| objects.contains(w))
    }
}

/// What the events of one run ask for.
#[derive(Default)]
pub(crate) struct Plan {
    /// Event-derived operations, in event order.
    ops: Vec<(DeltaOp, Cause)>,
    /// What each resource re-reads.
    rereads: BTreeMap<Resource, BTreeSet<Target>>,
    /// Membership changes, in event order (for who holds a role through a group).
    pub memberships: Vec<MembershipChange>,
    /// Objects the events deleted.
    deleted: BTreeSet<Object>,
    /// The Everyone group, once looked up.
    everyone: Option<Option<String>>,
    /// Events that change nothing mirrored.
    pub ignored: u64,
}

impl Plan {
    /// An operation an event calls for.
    pub(crate) fn push(&mut self, op: DeltaOp, cause: &Cause) {
        self.ops.push((op, cause.clone()));
    }

    /// `resource` re-reads `target` after the events.
    pub(crate) fn reread(&mut self, resource: Resource, target: Target) {
        self.rereads.entry(resource).or_default().insert(target);
    }

    /// What `resource` re-reads, in order.
    pub(crate) fn rereads(&self, resource: Resource) -> impl Iterator<Item = &Target> {
        self.rereads.get(&resource).into_iter().flatten()
    }

    /// An event deleted `object` (the operations removing it are pushed by the caller).
    pub(crate) fn deleted(&mut self, object: Object) {
        self.deleted.insert(object);
    }

    pub(crate) fn is_deleted(&self, object: &Object) -> bool {
        self.deleted.contains(object)
    }

    pub(crate) fn deleted_objects(&self) -> &BTreeSet<Object> {
        &self.deleted
    }

    /// Drops re-reads of what was deleted: they would only find it gone, and the deletion's
    /// operations already removed it.
    pub(crate) fn prune(&mut self) {
        let deleted = &self.deleted;
        for targets in self.rereads.values_mut() {
            targets.retain(|t| !t.names_any(deleted));
        }
    }

    /// The event-derived operations, in event order.
    pub(crate) fn take_ops(&mut self) -> Vec<(DeltaOp, Cause)> {
        std::mem::take(&mut self.ops)
    }

    /// The Everyone group's id (the BUILT_IN group), from the mirror or else from Okta.
    pub(crate) async fn everyone(
        &mut self,
        run: &DeltaRun<'_>,
    ) -> Result<Option<String>, EngineError> {
        if let Some(id) = &self.everyone {
            return Ok(id.clone());
        }
        let mut id = run
            .keys(Scope::groups_of_type("BUILT_IN"))
            .await?
            .into_iter()
            .next()
            .and_then(|k| k.group_id().map(str::to_owned));
        if id.is_none() {
            let mut pages = run.client.list_groups(Some("type eq \"BUILT_IN\""), false);
            while let Some(page) = pages.next().await {
                let page = page.map_err(failed_reading("the Everyone group"))?;
                run.call();
                if let Some(g) = page.items.into_iter().next() {
                    id = Some(g.id);
                    break;
                }
            }
        }
        self.everyone = Some(id.clone());
        Ok(id)
    }
}

/// What one re-read found: the current state of what it read.
pub(crate) struct Found {
    pub resource: Resource,
    /// Objects as they are now, upserted together with the resource's others (users,
    /// groups, apps, IdPs).
    pub objects: Vec<Value>,
    /// An object found gone: what its deletion removes follows.
    pub gone: Option<Object>,
    /// Other operations on the resource's rows, in order.
    pub ops: Vec<DeltaOp>,
    /// What a role re-read found (the factor scope follows it).
    pub roles: Option<RolesHeld>,
}

impl Found {
    pub(crate) fn objects(resource: Resource, objects: Vec<Value>) -> Self {
        Self {
            resource,
            objects,
            gone: None,
            ops: Vec::new(),
            roles: None,
        }
    }

    /// `object` read by id: there, or gone.
    pub(crate) fn object(resource: Resource, id: Object, found: Option<Value>) -> Self {
        match found {
            Some(raw) => Self::objects(resource, vec![raw]),
            None => Self::gone(resource, id),
        }
    }

    pub(crate) fn gone(resource: Resource, object: Object) -> Self {
        Self {
            gone: Some(object),
            ..Self::objects(resource, Vec::new())
        }
    }

    pub(crate) fn ops(resource: Resource, ops: Vec<DeltaOp>) -> Self {
        Self {
            ops,
            ..Self::objects(resource, Vec::new())
        }
    }
}

/// One re-read (or `lastUpdated` filter listing) under way.
pub(crate) type Reread<'a> = BoxFuture<'a, Result<Found, EngineError>>;

/// The id of a raw Okta object.
pub(crate) fn id_of(v: &Value) -> Option<String> {
    v.get("id").and_then(Value::as_str).map(str::to_owned)
}

/// A watermark (an Okta timestamp) minus [`WATERMARK_OVERLAP`], as a filter value. An
/// unparsable watermark reads as "long ago" (the filter then returns more, never less).
pub(crate) fn minus_overlap(watermark: &str) -> String {
    let overlap = chrono::Duration::from_std(WATERMARK_OVERLAP).unwrap_or_default();
    let t = DateTime::parse_from_rfc3339(watermark)
        .map(|t| t.with_timezone(&Utc) - overlap)
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
    oktasync_store::timestamp(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermarks_move_back_by_the_overlap() {
        assert_eq!(
            minus_overlap("2026-11-23T10:00:30.250Z"),
            "2026-11-23T09:59:30.250Z"
        );
        assert_eq!(minus_overlap("garbage"), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn pruning_drops_rereads_of_deleted_objects() {
        let user = || Object::User("00u1".into());
        let group = || Object::Group("00g1".into());
        let app = || Object::App("0oa1".into());
        let mut plan = Plan::default();
        plan.reread(Resource::Users, Target::of(user()));
        plan.reread(Resource::Roles, Target::of(user()));
        plan.reread(Resource::AppUsers, Target::link(app(), user()));
        plan.reread(Resource::AppGroups, Target::link(app(), group()));
        plan.reread(Resource::Idps, Target::of(Object::Idp("0oi1".into())));
        plan.deleted(user());
        plan.deleted(group());
        plan.prune();
        for r in [
            Resource::Users,
            Resource::Roles,
            Resource::AppUsers,
            Resource::AppGroups,
        ] {
            assert_eq!(plan.rereads(r).count(), 0, "{r}");
        }
        assert_eq!(plan.rereads(Resource::Idps).count(), 1);
    }
}
