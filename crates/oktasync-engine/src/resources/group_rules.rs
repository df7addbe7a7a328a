//! Group rules. Full sync: `GET /groups/rules`, 200 per page. Incremental: an event about a
//! rule (created, changed, activated, deactivated, an exclusion added) re-reads the rule; a
//! rule Okta no longer has is removed. The memberships a rule makes arrive as ordinary
//! membership events, which the memberships module applies.

use super::{ResourceSync, planned};
use crate::error::EngineError;
use crate::events::{EventKind, Object};
use crate::listing::{Listing, ListingRun};
use crate::options::Resource;
use crate::reading::{each_page, failed_reading, pages_needed};
use crate::reread::{DeltaRun, Found, Plan, Reread, Target};
use futures::FutureExt;
use futures::future::BoxFuture;
use okta_api::GROUP_RULES_PAGE_LIMIT;
use oktasync_store::{Batch, Cause, Scope, Table, Watermarks};
use serde_json::Value;

pub(crate) struct GroupRules;

const GROUP_RULES: Resource = Resource::GroupRules;

impl ResourceSync for GroupRules {
    fn name(&self) -> &'static str {
        "group_rules"
    }

    fn okta_scope(&self) -> &'static str {
        "okta.groups.read"
    }

    fn label(&self) -> &'static str {
        "group rules"
    }

    fn table(&self) -> Table {
        Table::GroupRules
    }

    fn first_listings(&self, run: &ListingRun) -> Vec<Listing> {
        if run.wants(GROUP_RULES) {
            vec![Listing::org(GROUP_RULES)]
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
                run.client.list_group_rules(),
                || "group rules".into(),
                false,
                |rules| async move {
                    run.read(GROUP_RULES, rules.len() as u64);
                    run.stage(Batch::group_rules(
                        rules.into_iter().map(|r| r.raw).collect(),
                    ))
                    .await
                },
            )
            .await?;
            run.add_calls(pages_needed(n, GROUP_RULES_PAGE_LIMIT));
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
        if let EventKind::GroupRuleChanged { rule } = event
            && run.wants(GROUP_RULES)
        {
            plan.reread(GROUP_RULES, Target::of(Object::GroupRule(rule.clone())));
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
            .rereads(GROUP_RULES)
            .filter_map(|t| match &t.of {
                Object::GroupRule(id) => Some(read_rule(run, id.clone())),
                _ => None,
            })
            .collect();
        Box::pin(std::future::ready(Ok(reads)))
    }

    fn removed_with(&self, deleted: &Object) -> Option<Scope> {
        match deleted {
            Object::GroupRule(id) => Some(Scope::group_rule(id.as_str())),
            _ => None,
        }
    }

    fn upsert(&self, objects: Vec<Value>) -> Option<Batch> {
        Some(Batch::group_rules(objects))
    }
}

fn read_rule<'a>(run: &'a DeltaRun<'_>, id: String) -> Reread<'a> {
    async move {
        run.call();
        let rule = run
            .client
            .get_group_rule(&id)
            .await
            .map_err(failed_reading(format!("group rule {id}")))?;
        run.read(GROUP_RULES, u64::from(rule.is_some()));
        Ok(Found::object(
            GROUP_RULES,
            Object::GroupRule(id),
            rule.map(|r| r.raw),
        ))
    }
    .boxed()
}
