//! `credential-stuffing`: one address abroad tries a leaked list, one password per user
//! name: half are real users, half unknown; a last pair works, for the victim.

use super::{Play, SECOND, Scenario, abroad_from, any_user, session_start};
use crate::error::Result;
use crate::model::{Actor, Session};
use crate::places::PYTHON_REQUESTS;
use rand::Rng;
use rand::seq::SliceRandom;
use std::sync::Arc;

pub const SCENARIO: Scenario = Scenario {
    name: "credential-stuffing",
    description: "One address abroad over about 10 minutes: 40 user names tried once each (20 real, 20 unknown), failed sign-ins (INVALID_CREDENTIALS); then a successful sign-in as the victim",
    prefers: any_user,
    play,
};

const REAL: usize = 20;
const UNKNOWN: usize = 20;

const LEAKED_FIRST: &[&str] = &[
    "kevin", "laura", "marco", "nina", "oscar", "paula", "quinn", "rosa", "steve", "tina",
];
const LEAKED_LAST: &[&str] = &[
    "baker", "carter", "dixon", "ellis", "foster", "grant", "hayes", "irwin", "jensen", "knight",
];

/// A user name from the leaked list that is nobody in the org.
fn unknown_login(p: &mut Play<'_>, domain: &str) -> String {
    loop {
        let login = format!(
            "{}.{}{}@{domain}",
            LEAKED_FIRST[p.fresh.random_range(0..LEAKED_FIRST.len())],
            LEAKED_LAST[p.fresh.random_range(0..LEAKED_LAST.len())],
            p.fresh.random_range(100..10_000)
        );
        if !p.org.logins.contains_key(&login) {
            return login;
        }
    }
}

fn play(p: &mut Play<'_>) -> Result<()> {
    let victim = p.victim;
    let victim_actor = p.actor(&victim)?;
    let home = p.persona(&victim)?.home.geo.country;
    let domain = victim_actor
        .alternate_id
        .split_once('@')
        .map_or("example.com", |(_, d)| d)
        .to_string();
    let mut actors = p
        .other_active_users(REAL)
        .iter()
        .map(|u| p.actor(u))
        .collect::<Result<Vec<_>>>()?;
    for _ in 0..UNKNOWN {
        let login = unknown_login(p, &domain);
        actors.push(Actor::unknown(&login));
    }
    actors.shuffle(&mut p.pick);
    let source = abroad_from(home, 1);
    let client = p.attacker_client(source, &PYTHON_REQUESTS);
    let unknown = Arc::new(Session::unknown());
    let mut gaps = vec![15 * SECOND; actors.len() - 1];
    gaps.push(20 * SECOND);
    let t = p.times(&gaps);
    for (actor, &at) in actors.into_iter().zip(&t) {
        let c = p.ctx(actor, client.clone(), unknown.clone(), at);
        p.emit(
            &c,
            at,
            "/api/v1/authn",
            session_start(Some("INVALID_CREDENTIALS")),
        );
    }
    let at = t[t.len() - 1];
    let session = p.new_session();
    let c = p.ctx(victim_actor, client, session, at);
    p.emit(&c, at, "/api/v1/authn", session_start(None));
    p.extra.insert("source_ip".into(), source.ip.into());
    Ok(())
}
