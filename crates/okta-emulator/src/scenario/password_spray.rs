//! `password-spray`: one hosting address abroad tries a few passwords on ten users, round
//! after round, over about 20 minutes; nothing gets in.

use super::{Play, SECOND, Scenario, abroad_from, any_user, session_start};
use crate::error::Result;
use crate::model::Session;
use crate::places::PYTHON_REQUESTS;
use std::sync::Arc;

pub const SCENARIO: Scenario = Scenario {
    name: "password-spray",
    description: "One hosting address abroad: 3 rounds over 10 ACTIVE users (the victim first), 30 failed sign-ins (INVALID_CREDENTIALS) over about 20 minutes, no success",
    prefers: any_user,
    play,
};

const USERS: usize = 10;
const ROUNDS: usize = 3;

fn play(p: &mut Play<'_>) -> Result<()> {
    let victim = p.victim;
    let home = p.persona(&victim)?.home.geo.country;
    let mut users = vec![victim];
    users.extend(p.other_active_users(USERS - 1));
    let actors = users
        .iter()
        .map(|u| p.actor(u))
        .collect::<Result<Vec<_>>>()?;
    let source = abroad_from(home, 0);
    let client = p.attacker_client(source, &PYTHON_REQUESTS);
    let unknown = Arc::new(Session::unknown());
    let tries = actors.len() * ROUNDS;
    let t = p.times(&vec![40 * SECOND; tries - 1]);
    for (i, &at) in t.iter().enumerate() {
        let actor = actors[i % actors.len()].clone();
        let c = p.ctx(actor, client.clone(), unknown.clone(), at);
        p.emit(
            &c,
            at,
            "/api/v1/authn",
            session_start(Some("INVALID_CREDENTIALS")),
        );
    }
    p.extra.insert("source_ip".into(), source.ip.into());
    p.extra.insert(
        "targets".into(),
        users.iter().map(|u| u.to_string()).collect(),
    );
    Ok(())
}
