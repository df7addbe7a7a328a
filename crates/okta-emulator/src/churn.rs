//! Random realistic mutations through the same [`Org`] methods the API calls, so they write
//! the same events and move the same timestamps (`POST /__emulator/churn`).

use crate::model::{
    AssigneeType, Ctx, FACTOR_KINDS, GroupType, IDP_KINDS, Id, Org, Ts, UserStatus,
};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// Groups larger than this are not assigned to apps by churn (it would write one event per
/// member).
const MAX_CHURN_APP_GROUP_SIZE: usize = 500;
/// How many times one op retries with another kind when its preconditions are not met.
const ATTEMPTS_PER_OP: usize = 8;

/// Every kind of change churn makes, with its relative weight.
pub const OPS: &[(&str, u32)] = &[
    ("user.create", 8),
    ("user.update_profile", 12),
    ("user.activate", 3),
    ("user.deactivate", 4),
    ("user.suspend", 3),
    ("user.unsuspend", 3),
    ("user.delete", 2),
    ("group.create", 3),
    ("group.update", 4),
    ("group.delete", 1),
    ("group.member.add", 25),
    ("group.member.remove", 15),
    ("app.user.assign", 5),
    ("app.user.unassign", 3),
    ("app.group.assign", 2),
    ("app.group.unassign", 1),
    ("role.grant", 2),
    ("role.revoke", 1),
    ("factor.enroll", 3),
    ("factor.unenroll", 1),
    ("factor.reset", 1),
    ("idp.create", 1),
    ("idp.update", 1),
    ("idp.deactivate", 1),
    ("idp.activate", 1),
    ("idp.delete", 1),
    ("app.update", 1),
    ("app.deactivate", 1),
    ("app.activate", 1),
    ("app.delete", 1),
];

/// What a churn run did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ChurnSummary {
    pub seed: u64,
    pub ops: usize,
    /// Applied operations by kind.
    pub applied: BTreeMap<String, usize>,
    /// Operations that found nothing to act on.
    pub skipped: usize,
    /// System Log events written.
    pub events: u64,
}

fn nth_key<V>(
    map: &BTreeMap<Id, V>,
    rng: &mut ChaCha8Rng,
    pred: impl Fn(&V) -> bool,
) -> Option<Id> {
    // Sample a few random positions first (cheap on big orgs), then fall back to a scan.
    let len = map.len();
    if len == 0 {
        return None;
    }
    for _ in 0..16 {
        let i = rng.random_range(0..len);
        if let Some((k, v)) = map.iter().nth(i)
            && pred(v)
        {
            return Some(*k);
        }
    }
    let all: Vec<Id> = map
        .iter()
        .filter(|(_, v)| pred(v))
        .map(|(k, _)| *k)
        .collect();
    all.choose(rng).copied()
}

fn pick_kind(rng: &mut ChaCha8Rng) -> &'static str {
    let total: u32 = OPS.iter().map(|(_, w)| w).sum();
    let mut r = rng.random_range(0..total);
    for (kind, w) in OPS {
        if r < *w {
            return kind;
        }
        r -= w;
    }
    OPS[0].0
}

/// Applies `ops` random mutations at time `now`, acting as the org's super admin.
pub fn churn(org: &mut Org, seed: u64, ops: usize, now: Ts) -> ChurnSummary {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let before = org.log.len() as u64;
    let mut summary = ChurnSummary {
        seed,
        ops,
        ..Default::default()
    };
    let base = Ctx::new(org.token_actor(), now, "/api/v1");
    for _ in 0..ops {
        let mut done = false;
        for _ in 0..ATTEMPTS_PER_OP {
            let kind = pick_kind(&mut rng);
            if apply(org, &base, kind, &mut rng) {
                *summary.applied.entry(kind.to_string()).or_default() += 1;
                done = true;
                break;
            }
        }
        if !done {
            summary.skipped += 1;
        }
    }
    summary.events = org.log.len() as u64 - before;
    summary
}

fn user_with(org: &Org, rng: &mut ChaCha8Rng, pred: impl Fn(UserStatus) -> bool) -> Option<Id> {
    let admin = org.super_admin;
    nth_key(&org.users, rng, |u| pred(u.status) && Some(u.id) != admin)
}

fn okta_group(org: &Org, rng: &mut ChaCha8Rng) -> Option<Id> {
    nth_key(&org.groups, rng, |g| g.kind == GroupType::OktaGroup)
}

/// Applies one operation of `kind`; false when nothing fits its preconditions.
pub fn apply(org: &mut Org, base: &Ctx, kind: &str, rng: &mut ChaCha8Rng) -> bool {
    match kind {
        "user.create" => {
            let n = org.users.len() + rng.random_range(0..1_000_000usize);
            let first = ["Avery", "Noor", "Zoé", "Kenji", "Lucía", "Ole"]
                .choose(rng)
                .copied()
                .unwrap_or("Avery");
            let last = ["Quinn", "Haddad", "Åström", "Ito", "Fernández", "Berg"]
                .choose(rng)
                .copied()
                .unwrap_or("Quinn");
            let login = format!("churn.user{n}@example.com");
            let mut p = Map::new();
            p.insert("firstName".into(), first.into());
            p.insert("lastName".into(), last.into());
            p.insert("email".into(), login.clone().into());
            p.insert("login".into(), login.into());
            p.insert("department".into(), "Engineering".into());
            let activate = rng.random_bool(0.7);
            org.create_user(&base.at("/api/v1/users"), p, true, activate, &[])
                .is_ok()
        }
        "user.update_profile" => {
            let Some(u) = user_with(org, rng, |s| s != UserStatus::Deprovisioned) else {
                return false;
            };
            let mut p = Map::new();
            p.insert(
                "title".into(),
                ["Staff Engineer", "Director", "Analyst", "Manager"]
                    .choose(rng)
                    .copied()
                    .unwrap_or("Analyst")
                    .into(),
            );
            p.insert(
                "costCenter".into(),
                format!("CC-{}", rng.random_range(100..140)).into(),
            );
            org.update_user_profile(&base.at(format!("/api/v1/users/{u}")), u.as_str(), p, false)
                .is_ok()
        }
        "user.activate" => {
            let Some(u) = user_with(org, rng, |s| s == UserStatus::Staged) else {
                return false;
            };
            org.activate_user(
                &base.at(format!("/api/v1/users/{u}/lifecycle/activate")),
                u.as_str(),
            )
            .is_ok()
        }
        "user.deactivate" => {
            let Some(u) = user_with(org, rng, |s| s != UserStatus::Deprovisioned) else {
                return false;
            };
            org.deactivate_user(
                &base.at(format!("/api/v1/users/{u}/lifecycle/deactivate")),
                u.as_str(),
            )
            .is_ok()
        }
        "user.suspend" => {
            let Some(u) = user_with(org, rng, |s| s == UserStatus::Active) else {
                return false;
            };
            org.suspend_user(
                &base.at(format!("/api/v1/users/{u}/lifecycle/suspend")),
                u.as_str(),
            )
            .is_ok()
        }
        "user.unsuspend" => {
            let Some(u) = user_with(org, rng, |s| s == UserStatus::Suspended) else {
                return false;
            };
            org.unsuspend_user(
                &base.at(format!("/api/v1/users/{u}/lifecycle/unsuspend")),
                u.as_str(),
            )
            .is_ok()
        }
        "user.delete" => {
            // Deleting takes two calls on Okta: the first deactivates, the second deletes.
            let Some(u) = user_with(org, rng, |_| true) else {
                return false;
            };
            let c = base.at(format!("/api/v1/users/{u}"));
            org.delete_user(&c, u.as_str()).is_ok() && org.delete_user(&c, u.as_str()).is_ok()
        }
        "group.create" => {
            let n = rng.random_range(0..1_000_000u32);
            let mut p = Map::new();
            p.insert("name".into(), format!("Churn Group {n}").into());
            p.insert("description".into(), Value::from("Created by churn"));
            org.create_group(&base.at("/api/v1/groups"), p).is_ok()
        }
        "group.update" => {
            let Some(g) = okta_group(org, rng) else {
                return false;
            };
            let mut p = org.groups[&g].profile.clone();
            p.insert(
                "description".into(),
                format!("Updated {}", rng.random_range(0..1_000_000u32)).into(),
            );
            org.update_group(&base.at(format!("/api/v1/groups/{g}")), g.as_str(), p)
                .is_ok()
        }
        "group.delete" => {
            let Some(g) = nth_key(&org.groups, rng, |g| g.kind == GroupType::OktaGroup) else {
                return false;
            };
            if org.members.get(&g).map_or(0, |m| m.len()) > MAX_CHURN_APP_GROUP_SIZE {
                return false;
            }
            org.delete_group(&base.at(format!("/api/v1/groups/{g}")), g.as_str())
                .is_ok()
        }
        "group.member.add" => {
            let Some(g) = okta_group(org, rng) else {
                return false;
            };
            let Some(u) = user_with(org, rng, |_| true) else {
                return false;
            };
            if org.members.get(&g).is_some_and(|m| m.contains(&u)) {
                return false;
            }
            org.add_member(base, g.as_str(), u.as_str())
                .unwrap_or(false)
        }
        "group.member.remove" => {
            let Some(g) = nth_key(&org.groups, rng, |g| g.kind == GroupType::OktaGroup) else {
                return false;
            };
            let Some(u) = org.members.get(&g).and_then(|m| {
                let v: Vec<&Id> = m.iter().take(64).collect();
                v.choose(rng).map(|u| **u)
            }) else {
                return false;
            };
            org.remove_member(base, g.as_str(), u.as_str())
                .unwrap_or(false)
        }
        "app.user.assign" => {
            let Some(a) = nth_key(&org.apps, rng, |_| true) else {
                return false;
            };
            let Some(u) = user_with(org, rng, |s| s != UserStatus::Deprovisioned) else {
                return false;
            };
            if org
                .app_users
                .get(&a)
                .and_then(|m| m.get(&u))
                .is_some_and(|e| e.direct)
            {
                return false;
            }
            org.assign_user_to_app(base, a.as_str(), u.as_str()).is_ok()
        }
        "app.user.unassign" => {
            let Some(a) = nth_key(&org.apps, rng, |_| true) else {
                return false;
            };
            let Some(u) = org.app_users.get(&a).and_then(|m| {
                let v: Vec<Id> = m
                    .iter()
                    .filter(|(_, e)| e.direct)
                    .take(64)
                    .map(|(u, _)| *u)
                    .collect();
                v.choose(rng).copied()
            }) else {
                return false;
            };
            org.unassign_user_from_app(base, a.as_str(), u.as_str())
                .is_ok()
        }
        "app.group.assign" => {
            let Some(a) = nth_key(&org.apps, rng, |_| true) else {
                return false;
            };
            let Some(g) = okta_group(org, rng) else {
                return false;
            };
            let small = org.members.get(&g).map_or(0, |m| m.len()) <= MAX_CHURN_APP_GROUP_SIZE;
            let assigned = org.app_groups.get(&a).is_some_and(|m| m.contains_key(&g));
            if !small || assigned {
                return false;
            }
            org.assign_group_to_app(base, a.as_str(), g.as_str(), None)
                .is_ok()
        }
        "app.group.unassign" => {
            let Some(a) = nth_key(&org.apps, rng, |_| true) else {
                return false;
            };
            let Some(g) = org.app_groups.get(&a).and_then(|m| {
                let v: Vec<Id> = m
                    .keys()
                    .filter(|g| {
                        org.members.get(g).map_or(0, |m| m.len()) <= MAX_CHURN_APP_GROUP_SIZE
                    })
                    .copied()
                    .collect();
                v.choose(rng).copied()
            }) else {
                return false;
            };
            org.unassign_group_from_app(base, a.as_str(), g.as_str())
                .is_ok()
        }
        "role.grant" => {
            let role = [
                "APP_ADMIN",
                "HELP_DESK_ADMIN",
                "READ_ONLY_ADMIN",
                "REPORT_ADMIN",
            ]
            .choose(rng)
            .copied()
            .unwrap_or("READ_ONLY_ADMIN");
            if rng.random_bool(0.8) {
                let Some(u) = user_with(org, rng, |s| s == UserStatus::Active) else {
                    return false;
                };
                org.grant_role(base, AssigneeType::User, u.as_str(), role)
                    .is_ok()
            } else {
                let Some(g) = okta_group(org, rng) else {
                    return false;
                };
                org.grant_role(base, AssigneeType::Group, g.as_str(), role)
                    .is_ok()
            }
        }
        "role.revoke" => {
            let admin = org.super_admin;
            let Some(r) = nth_key(&org.roles, rng, |r| Some(r.assignee) != admin) else {
                return false;
            };
            let role = &org.roles[&r];
            let (kind, assignee) = (role.assignee_type, role.assignee);
            org.revoke_role(base, kind, assignee.as_str(), r.as_str())
                .is_ok()
        }
        "factor.enroll" => {
            let Some(u) = user_with(org, rng, |s| s == UserStatus::Active) else {
                return false;
            };
            let enrolled: Vec<_> = org
                .factors
                .get(&u)
                .into_iter()
                .flatten()
                .map(|f| f.kind)
                .collect();
            let Some(kind) = FACTOR_KINDS
                .iter()
                .filter(|k| !enrolled.contains(k))
                .collect::<Vec<_>>()
                .choose(rng)
                .map(|k| **k)
            else {
                return false;
            };
            let c = base.at(format!("/api/v1/users/{u}/factors"));
            org.enroll_factor(&c, u.as_str(), kind).is_ok()
        }
        "factor.unenroll" => {
            let Some(u) = user_with_factors(org, rng) else {
                return false;
            };
            let Some(f) = org
                .factors
                .get(&u)
                .and_then(|fs| fs.choose(rng))
                .map(|f| f.id)
            else {
                return false;
            };
            let c = base.at(format!("/api/v1/users/{u}/factors/{f}"));
            org.unenroll_factor(&c, u.as_str(), f.as_str()).is_ok()
        }
        "factor.reset" => {
            let Some(u) = user_with_factors(org, rng) else {
                return false;
            };
            let c = base.at(format!("/api/v1/users/{u}/lifecycle/reset_factors"));
            org.reset_factors(&c, u.as_str()).is_ok()
        }
        "idp.create" => {
            let kind = IDP_KINDS.choose(rng).copied().unwrap_or("OIDC");
            let name = format!("Partner IdP {}", rng.random_range(0..1_000_000u32));
            org.create_idp(&base.at("/api/v1/idps"), kind, &name)
                .is_ok()
        }
        "idp.update" => {
            let Some(i) = nth_key(&org.idps, rng, |_| true) else {
                return false;
            };
            let name = format!("Renamed IdP {}", rng.random_range(0..1_000_000u32));
            org.rename_idp(&base.at(format!("/api/v1/idps/{i}")), i.as_str(), &name)
                .is_ok()
        }
        "idp.deactivate" | "idp.activate" => {
            let activate = kind == "idp.activate";
            let Some(i) = nth_key(&org.idps, rng, |i| i.active != activate) else {
                return false;
            };
            let c = base.at(format!(
                "/api/v1/idps/{i}/lifecycle/{}",
                if activate { "activate" } else { "deactivate" }
            ));
            org.set_idp_active(&c, i.as_str(), activate).is_ok()
        }
        "idp.delete" => {
            let Some(i) = nth_key(&org.idps, rng, |_| true) else {
                return false;
            };
            org.delete_idp(&base.at(format!("/api/v1/idps/{i}")), i.as_str())
                .is_ok()
        }
        "app.update" => {
            let Some(a) = nth_key(&org.apps, rng, |_| true) else {
                return false;
            };
            let label = format!("{} ({})", org.apps[&a].name, rng.random_range(0..10_000u32));
            org.relabel_app(&base.at(format!("/api/v1/apps/{a}")), a.as_str(), &label)
                .is_ok()
        }
        "app.deactivate" | "app.activate" => {
            let activate = kind == "app.activate";
            let Some(a) = nth_key(&org.apps, rng, |a| a.active != activate) else {
                return false;
            };
            let c = base.at(format!(
                "/api/v1/apps/{a}/lifecycle/{}",
                if activate { "activate" } else { "deactivate" }
            ));
            org.set_app_active(&c, a.as_str(), activate).is_ok()
        }
        "app.delete" => {
            // Okta deletes only an INACTIVE app: churn deletes one deactivated before.
            let Some(a) = nth_key(&org.apps, rng, |a| !a.active) else {
                return false;
            };
            org.delete_app(&base.at(format!("/api/v1/apps/{a}")), a.as_str())
                .is_ok()
        }
        _ => false,
    }
}

/// A user with enrolled factors, other than the super admin.
fn user_with_factors(org: &Org, rng: &mut ChaCha8Rng) -> Option<Id> {
    let admin = org.super_admin;
    nth_key(&org.users, rng, |u| {
        Some(u.id) != admin && org.factors.get(&u.id).is_some_and(|f| !f.is_empty())
    })
}

/// The summary as the control endpoint answers it.
pub fn summary_json(s: &ChurnSummary) -> Value {
    json!(s)
}
