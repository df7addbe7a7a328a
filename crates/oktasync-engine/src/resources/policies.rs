//! Policies of every type the sync lists ([`okta_api::POLICY_TYPES`]), and their rules.
//! Full sync: `GET /policies?type=T` per type (one page each: Okta lists every policy of a
//! type), then `GET /policies/{id}/rules` per policy. A type the org does not have (Identity
//! Engine types on a Classic org: 400) reads as none. Incremental: `policy.lifecycle.*` and
//! `policy.rule.*` events re-list the policies and the rules of the policy they name; a
//! policy that is gone takes its rules along.

use super::org_lists::{ReadWhole, all_pages, read_child_list, relist_whole};
use super::{ResourceSync, planned, replace_or_remove};
use crate::error::EngineError;
use crate::events::{EventKind, Object};
use crate::listing::{Listing, ListingRun};
use crate::options::Resource;
use crate::reading::failed_reading;
use crate::reread::{DeltaRun, Found, Plan, Reread, Target, id_of};
use futures::FutureExt;
use futures::future::BoxFuture;
use okta_api::{OktaClient, POLICY_TYPES};
use oktasync_store::{Batch, Cause, DeltaOp, Scope, Table, Watermarks};
use serde_json::Value;
use std::collections::BTreeSet;

pub(crate) struct Policies;
pub(crate) struct PolicyRules;

const POLICIES: Resource = Resource::Policies;
const POLICY_RULES: Resource = Resource::PolicyRules;

/// Every policy of every listed type, and the calls it took.
fn read_policies(client: &OktaClient) -> ReadWhole {
    let client = client.clone();
    async move {
        let (mut policies, mut calls) = (Vec::new(), 0);
        for policy_type in POLICY_TYPES {
            match all_pages(client.list_policies(policy_type)).await {
                Ok((mut of_type, n)) => {
                    policies.append(&mut of_type);
                    calls += n;
                }
                Err(okta_api::Error::Api(d)) if d.status == 400 => {
                    tracing::debug!(policy_type, "The org has no policies of this type.");
                    calls += 1;
                }
                Err(e) => return Err(e),
            }
        }
        Ok((policies, calls))
    }
    .boxed()
}

/// One policy's rules (`None`: the policy is gone), and the calls it took.
async fn read_rules(
    client: &OktaClient,
    policy: &str,
) -> Result<(Option<Vec<Value>>, u64), EngineError> {
    read_child_list(client.list_policy_rules(policy), || {
        format!("the rules of policy {policy}")
    })
    .await
}

impl ResourceSync for Policies {
    fn name(&self) -> &'static str {
        "policies"
    }

    fn okta_scope(&self) -> &'static str {
        "okta.policies.read"
    }

    fn label(&self) -> &'static str {
        "policies"
    }

    fn table(&self) -> Table {
        Table::Policies
    }

    fn first_listings(&self, run: &ListingRun) -> Vec<Listing> {
        if run.wants(POLICIES) || run.wants(POLICY_RULES) {
            vec![Listing::org(POLICIES)]
        } else {
            Vec::new()
        }
    }

    fn may_add(&self, _listing: &Listing) -> &'static [Resource] {
        &[POLICY_RULES]
    }

    fn read<'a>(
        &'a self,
        run: &'a ListingRun,
        _listing: &'a Listing,
    ) -> BoxFuture<'a, Result<Vec<Listing>, EngineError>> {
        async move {
            let (policies, calls) = read_policies(&run.client)
                .await
                .map_err(failed_reading("policies"))?;
            run.add_calls(calls);
            let rules: Vec<Listing> = if run.wants(POLICY_RULES) {
                policies
                    .iter()
                    .filter_map(id_of)
                    .map(|id| Listing::of(POLICY_RULES, Object::Policy(id)))
                    .collect()
            } else {
                Vec::new()
            };
            run.started(POLICY_RULES, Some(rules.len() as u64));
            if run.wants(POLICIES) {
                run.read(POLICIES, policies.len() as u64);
                run.stage(Batch::policies(policies)).await?;
            }
            Ok(rules)
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
        if let EventKind::PolicyChanged { .. } = event
            && run.wants(POLICIES)
        {
            plan.reread(POLICIES, Target::of(Object::Org));
        }
        planned()
    }

    fn rereads<'a>(
        &'a self,
        run: &'a DeltaRun<'_>,
        plan: &'a Plan,
        _watermarks: &'a Watermarks,
    ) -> BoxFuture<'a, Result<Vec<Reread<'a>>, EngineError>> {
        let reads = if plan.rereads(POLICIES).next().is_some() {
            vec![relist_whole(
                run,
                POLICIES,
                Table::Policies,
                "policies",
                read_policies,
                Batch::policies,
            )]
        } else {
            Vec::new()
        };
        Box::pin(std::future::ready(Ok(reads)))
    }
}

impl ResourceSync for PolicyRules {
    fn name(&self) -> &'static str {
        "policy_rules"
    }

    fn okta_scope(&self) -> &'static str {
        "okta.policies.read"
    }

    fn label(&self) -> &'static str {
        "policy rules"
    }

    fn table(&self) -> Table {
        Table::PolicyRules
    }

    fn started_by(&self) -> Option<Resource> {
        Some(POLICIES)
    }

    fn read<'a>(
        &'a self,
        run: &'a ListingRun,
        listing: &'a Listing,
    ) -> BoxFuture<'a, Result<Vec<Listing>, EngineError>> {
        async move {
            let Some(Object::Policy(policy)) = &listing.of else {
                return Err(listing.unexpected());
            };
            let (rules, calls) = read_rules(&run.client, policy).await?;
            run.add_calls(calls);
            // A policy deleted since it was listed has no rules (the next run sees it gone).
            let rules = rules.unwrap_or_default();
            run.read(POLICY_RULES, rules.len() as u64);
            run.stage(Batch::policy_rules(policy.clone(), rules))
                .await?;
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
        if let EventKind::PolicyChanged { policy } = event
            && run.wants(POLICY_RULES)
        {
            let of = policy.clone().map_or(Object::Org, Object::Policy);
            plan.reread(POLICY_RULES, Target::of(of));
        }
        planned()
    }

    fn rereads<'a>(
        &'a self,
        run: &'a DeltaRun<'_>,
        plan: &'a Plan,
        _watermarks: &'a Watermarks,
    ) -> BoxFuture<'a, Result<Vec<Reread<'a>>, EngineError>> {
        let every_policy = plan.rereads(POLICY_RULES).any(|t| t.of == Object::Org);
        let reads = if every_policy {
            vec![relist_every_policy(run)]
        } else {
            plan.rereads(POLICY_RULES)
                .filter_map(|t| match &t.of {
                    Object::Policy(id) => Some(relist_rules(run, id.clone())),
                    _ => None,
                })
                .collect()
        };
        Box::pin(std::future::ready(Ok(reads)))
    }
}

/// The operation that makes the mirror's rules of `policy` what Okta has.
fn rules_op(policy: String, rules: Option<Vec<Value>>) -> DeltaOp {
    replace_or_remove(Scope::rules_of_policy(policy.as_str()), rules, |r| {
        Batch::policy_rules(policy, r)
    })
}

fn relist_rules<'a>(run: &'a DeltaRun<'_>, policy: String) -> Reread<'a> {
    async move {
        let (rules, calls) = read_rules(run.client, &policy).await?;
        run.add_calls(calls);
        run.read(POLICY_RULES, rules.as_ref().map_or(0, |r| r.len() as u64));
        Ok(Found::ops(POLICY_RULES, vec![rules_op(policy, rules)]))
    }
    .boxed()
}

/// The rules of every policy Okta lists now; the rules of policies it no longer lists go.
fn relist_every_policy<'a>(run: &'a DeltaRun<'_>) -> Reread<'a> {
    async move {
        let (policies, calls) = read_policies(run.client)
            .await
            .map_err(failed_reading("policies"))?;
        run.add_calls(calls);
        let listed: Vec<String> = policies.iter().filter_map(id_of).collect();
        let gone: BTreeSet<String> = run
            .keys(Scope::all(Table::PolicyRules))
            .await?
            .iter()
            .filter_map(|key| key.parts().first())
            .filter(|policy| !listed.contains(policy))
            .cloned()
            .collect();
        let mut ops: Vec<DeltaOp> = gone
            .into_iter()
            .map(|policy| DeltaOp::Remove(Scope::rules_of_policy(policy)))
            .collect();
        for policy in listed {
            let (rules, calls) = read_rules(run.client, &policy).await?;
            run.add_calls(calls);
            run.read(POLICY_RULES, rules.as_ref().map_or(0, |r| r.len() as u64));
            ops.push(rules_op(policy, rules));
        }
        Ok(Found::ops(POLICY_RULES, ops))
    }
    .boxed()
}
