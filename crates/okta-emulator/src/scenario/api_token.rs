//! `api-token-anywhere`: a Super Admin creates an Okta API token usable from any network.

use super::{Play, Scenario, any_user};
use crate::error::Result;
use crate::model::{AssigneeType, Id, Org, TokenNetwork};
use rand::Rng;

pub const SCENARIO: Scenario = Scenario {
    name: "api-token-anywhere",
    description: "A Super Admin (the named user, made one if need be; else the org's first) creates an API token with network connection ANYWHERE; the org gains the token (GET /api/v1/api-tokens)",
    prefers: any_user,
    play,
};

const TOKEN_NAMES: &[&str] = &[
    "automation",
    "backup-sync",
    "reporting",
    "migration",
    "ci-deploy",
];

/// The first user (by id) holding Super Admin directly.
fn super_admin(org: &Org) -> Option<Id> {
    org.roles
        .values()
        .filter(|r| r.assignee_type == AssigneeType::User && r.role_type.0 == "SUPER_ADMIN")
        .map(|r| r.assignee)
        .min()
}

fn holds_super_admin(org: &Org, user: &Id) -> bool {
    org.role_ids_of(user).any(|r| {
        org.roles
            .get(r)
            .is_some_and(|r| r.role_type.0 == "SUPER_ADMIN")
    })
}

pub fn play(p: &mut Play<'_>) -> Result<()> {
    // `play` picked a victim; without a named user the org's Super Admin acts.
    let admin = match (p.named, super_admin(p.org)) {
        (false, Some(admin)) => admin,
        _ => p.victim,
    };
    p.victim = admin;
    if !holds_super_admin(p.org, &admin) {
        // How they became one is not part of this story: no event.
        let session = p.new_session();
        let setup = p.ctx(
            p.actor(&admin)?,
            p.home_client(&admin, false)?,
            session,
            p.now,
        );
        p.org
            .insert_role(&setup, AssigneeType::User, admin.as_str(), "SUPER_ADMIN")?;
    }
    let actor = p.actor(&admin)?;
    let client = p.home_client(&admin, false)?;
    let session = p.new_session();
    let name = format!(
        "{}-{}",
        TOKEN_NAMES[p.fresh.random_range(0..TOKEN_NAMES.len())],
        p.fresh.random_range(100..1000)
    );
    let t = p.times(&[]);
    let c = p.ctx(actor, client, session, t[0]);
    let id = p.org.create_api_token(&c, &name, TokenNetwork::anywhere());
    p.extra.insert("token_id".into(), id.to_string().into());
    p.extra.insert("token_name".into(), name.into());
    Ok(())
}
