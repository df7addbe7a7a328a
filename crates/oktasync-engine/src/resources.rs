//! One module per Okta resource, each behind [`ResourceSync`]: how a full sync lists it and
//! what follows from each page, which System Log events concern it and what they do, how one
//! of its objects is re-read, and what the deletion of an object removes of it.
//!
//! The drivers ([`crate::full`], [`crate::incremental`]) know no resource: they ask every
//! module, in [`Resource::ALL`] order, through [`module`]. Adding a resource is its module
//! here, its arm in [`module`] and its [`Resource`] variant; if Okta logs events of its own,
//! what they mean goes in [`crate::events`] (the System Log's vocabulary). In the store: its
//! table, a migration per backend.

mod api_tokens;
mod app_grants;
mod app_groups;
mod app_users;
mod apps;
mod authenticators;
mod factors;
mod group_rules;
mod groups;
mod idps;
mod log_streams;
mod memberships;
mod network_zones;
mod org_lists;
mod policies;
mod roles;
mod threat_insight;
mod users;

use crate::error::EngineError;
use crate::events::{EventKind, Object};
use crate::listing::{Listing, ListingRun};
use crate::options::{Resource, SyncOptions};
use crate::reread::{DeltaRun, Found, Plan, Reread};
use futures::future::BoxFuture;
use oktasync_store::{Batch, Cause, DeltaOp, Scope, Table, Watermarks};
use serde_json::Value;

/// One Okta resource, as full and incremental syncs read it and the mirror keeps it.
pub(crate) trait ResourceSync: Send + Sync {
    /// The name on the command line (`--resources`) and in run records.
    fn name(&self) -> &'static str;

    /// The key of its count in run records and summaries.
    fn count_key(&self) -> &'static str {
        self.name()
    }

    /// The mirror table it fills.
    fn table(&self) -> Table;

    /// The Okta OAuth scope that reads it (what a service app must be granted).
    fn okta_scope(&self) -> &'static str;

    /// What it is called in a sentence or a report ("identity providers").
    fn label(&self) -> &'static str;

    // ---- Full sync: listings.

    /// Listings a full sync starts with. Resources listed per parent object (members per
    /// group) have none: their parent's listing adds them.
    fn first_listings(&self, _run: &ListingRun) -> Vec<Listing> {
        Vec::new()
    }

    /// The resource whose listing reports this one's reading started (with a total when it
    /// knows one); `None`: the run's start does.
    fn started_by(&self) -> Option<Resource> {
        None
    }

    /// Another resource whose pending listings go before this one's: theirs may be long, and
    /// this one's are a single page nearly always.
    fn starts_after(&self) -> Option<Resource> {
        None
    }

    /// Resources whose listings `listing` may add, so that none is reported finished while
    /// it runs.
    fn may_add(&self, _listing: &Listing) -> &'static [Resource] {
        &[]
    }

    /// Reads `listing` to its end, staging what the run mirrors; returns the listings its
    /// pages call for (groups → their members and roles).
    fn read<'a>(
        &'a self,
        run: &'a ListingRun,
        listing: &'a Listing,
    ) -> BoxFuture<'a, Result<Vec<Listing>, EngineError>>;

    /// Listings that what other listings read since the last call made necessary (factors:
    /// users found to be in the factor scope).
    fn listings_found(&self, _run: &ListingRun) -> Vec<Listing> {
        Vec::new()
    }

    // ---- Incremental sync: events, re-reads, deletions.

    /// What `event` means for this resource: operations pushed to `plan` in event order, and
    /// objects to re-read after the events.
    fn plan_event<'a>(
        &'a self,
        run: &'a DeltaRun<'_>,
        plan: &'a mut Plan,
        event: &'a EventKind,
        cause: &'a Cause,
    ) -> BoxFuture<'a, Result<(), EngineError>>;

    /// The re-reads the plan asks of this resource, and its `lastUpdated` cross-check.
    fn rereads<'a>(
        &'a self,
        _run: &'a DeltaRun<'_>,
        _plan: &'a Plan,
        _watermarks: &'a Watermarks,
    ) -> BoxFuture<'a, Result<Vec<Reread<'a>>, EngineError>> {
        nothing_to_reread()
    }

    /// Re-reads that depend on what the first ones found (users a filter did not return,
    /// factors of users whose admin status changed).
    fn rereads_given<'a>(
        &'a self,
        _run: &'a DeltaRun<'_>,
        _plan: &'a Plan,
        _first: &'a [Found],
    ) -> BoxFuture<'a, Result<Vec<Reread<'a>>, EngineError>> {
        nothing_to_reread()
    }

    /// This resource's rows that go with `deleted` (Okta removes them without events).
    fn removed_with(&self, _deleted: &Object) -> Option<Scope> {
        None
    }

    /// A batch upserting objects of this resource read whole; `None` for resources that
    /// are links between objects.
    fn upsert(&self, _objects: Vec<Value>) -> Option<Batch> {
        None
    }
}

/// The module of `resource`.
pub(crate) fn module(resource: Resource) -> &'static dyn ResourceSync {
    match resource {
        Resource::Users => &users::Users,
        Resource::Groups => &groups::Groups,
        Resource::Memberships => &memberships::Memberships,
        Resource::Apps => &apps::Apps,
        Resource::AppUsers => &app_users::AppUsers,
        Resource::AppGroups => &app_groups::AppGroups,
        Resource::Roles => &roles::Roles,
        Resource::Idps => &idps::Idps,
        Resource::Factors => &factors::Factors,
        Resource::GroupRules => &group_rules::GroupRules,
        Resource::Policies => &policies::Policies,
        Resource::PolicyRules => &policies::PolicyRules,
        Resource::Authenticators => &authenticators::AUTHENTICATORS,
        Resource::NetworkZones => &network_zones::NETWORK_ZONES,
        Resource::ApiTokens => &api_tokens::API_TOKENS,
        Resource::LogStreams => &log_streams::LOG_STREAMS,
        Resource::ThreatInsight => &threat_insight::THREAT_INSIGHT,
        Resource::AppGrants => &app_grants::AppGrants,
    }
}

impl Resource {
    /// The name used on the command line and in run records.
    pub fn as_str(self) -> &'static str {
        module(self).name()
    }

    /// The key of this resource's count in [`crate::RunSummary`].
    pub fn count_key(self) -> &'static str {
        module(self).count_key()
    }

    /// The mirror table this resource fills.
    pub fn table(self) -> Table {
        module(self).table()
    }

    /// The Okta OAuth scope that reads this resource.
    pub fn okta_scope(self) -> &'static str {
        module(self).okta_scope()
    }

    /// What it is called in a report ("identity providers").
    pub fn label(self) -> &'static str {
        module(self).label()
    }
}

/// Every module, in [`Resource::ALL`] order.
pub(crate) fn modules() -> impl Iterator<Item = (Resource, &'static dyn ResourceSync)> {
    Resource::ALL.into_iter().map(|r| (r, module(r)))
}

/// What the deletion of `object` removes, in resource order, of the resources `opts`
/// mirrors.
pub(crate) fn removals(opts: &SyncOptions, object: &Object) -> Vec<DeltaOp> {
    modules()
        .filter(|(r, _)| opts.wants(*r))
        .filter_map(|(_, m)| m.removed_with(object))
        .map(DeltaOp::Remove)
        .collect()
}

/// An event deleted `object`: its removals go into the plan, and re-reads naming it are
/// dropped.
pub(crate) fn plan_deletion(run: &DeltaRun<'_>, plan: &mut Plan, object: Object, cause: &Cause) {
    for op in removals(run.opts, &object) {
        plan.push(op, cause);
    }
    plan.deleted(object);
}

/// A finished [`ResourceSync::plan_event`] (for modules whose planning does not wait).
/// The operation that makes the mirror's rows within `scope` what a re-listed child list
/// holds (a user's factors, a policy's rules, an app's grants): its objects, or none when its
/// parent is gone (`None`).
pub(crate) fn replace_or_remove(
    scope: Scope,
    objects: Option<Vec<Value>>,
    batch: impl FnOnce(Vec<Value>) -> Batch,
) -> DeltaOp {
    match objects {
        Some(objects) => DeltaOp::Replace {
            scope,
            batch: batch(objects),
        },
        None => DeltaOp::Remove(scope),
    }
}

fn planned<'a>() -> BoxFuture<'a, Result<(), EngineError>> {
    Box::pin(std::future::ready(Ok(())))
}

fn nothing_to_reread<'a>() -> BoxFuture<'a, Result<Vec<Reread<'a>>, EngineError>> {
    Box::pin(std::future::ready(Ok(Vec::new())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::FactorScope;
    use oktasync_store::AssigneeType;

    fn removed(opts: &SyncOptions, object: Object) -> Vec<Scope> {
        removals(opts, &object)
            .into_iter()
            .map(|op| match op {
                DeltaOp::Remove(scope) => scope,
                other => panic!("not a removal: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn a_deletion_removes_the_object_and_what_okta_removes_with_it() {
        let all = SyncOptions {
            factors: FactorScope::All,
            ..Default::default()
        };
        assert_eq!(
            removed(&all, Object::User("u".into())),
            [
                Scope::user("u"),
                Scope::groups_of_user("u"),
                Scope::apps_of_user("u"),
                Scope::roles_of(AssigneeType::User, "u"),
                Scope::factors_of("u"),
            ]
        );
        assert_eq!(
            removed(&all, Object::Group("g".into())),
            [
                Scope::group("g"),
                Scope::members_of_group("g"),
                Scope::apps_of_group("g"),
                Scope::roles_of(AssigneeType::Group, "g"),
            ]
        );
        assert_eq!(
            removed(&all, Object::App("a".into())),
            [
                Scope::app("a"),
                Scope::users_of_app("a"),
                Scope::groups_of_app("a"),
                Scope::grants_of("a"),
            ]
        );
        assert_eq!(removed(&all, Object::Idp("i".into())), [Scope::idp("i")]);
    }

    #[test]
    fn a_deletion_leaves_the_resources_a_run_does_not_mirror() {
        let users_and_factors = SyncOptions {
            resources: [Resource::Users, Resource::Factors].into_iter().collect(),
            factors: FactorScope::None,
            ..Default::default()
        };
        assert_eq!(
            removed(&users_and_factors, Object::User("u".into())),
            [Scope::user("u")]
        );
    }

    #[test]
    fn every_resource_has_its_own_name_and_table() {
        let names: std::collections::BTreeSet<&str> =
            Resource::ALL.iter().map(|r| r.as_str()).collect();
        let tables: std::collections::BTreeSet<Table> =
            Resource::ALL.iter().map(|r| r.table()).collect();
        assert_eq!(names.len(), Resource::ALL.len());
        assert_eq!(tables.len(), Resource::ALL.len());
        assert_eq!(Resource::Roles.count_key(), "role_assignments");
    }
}
