//! Attack scenarios (`/__emulator/scenario`): each plays one attack into the System Log, with
//! fresh event uuids and sessions, and changes the org as the attack would (a new admin, a
//! new API token).
//!
//! A play's events are published over the last minutes before the clock's now, strictly
//! increasing, and appended after every event already logged: a polling reader (whose
//! cursor is the log's order) reads them on its next page although they are dated earlier.
//! The victim is the user the request names, else a user drawn from the org and the
//! scenario's name (the same org picks the same victim every time): ACTIVE, holding no admin
//! role, with a dot in the local part of the login where possible.

mod add_administrator;
mod api_token;
mod cookie_replay;
mod credential_stuffing;
mod password_spray;
mod push_bombing;
mod root_creds;

pub use cookie_replay::{policy_allow, sso};

use crate::error::{OktaError, Result};
use crate::model::{
    Actor, Agent, Asn, Client, Ctx, Event, Geo, Id, Org, Session, Ts, User, UserStatus,
};
use crate::places::{self, Persona};
use axum::http::StatusCode;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// One attack the emulator can play.
pub struct Scenario {
    pub name: &'static str,
    pub description: &'static str,
    /// What the victim must look like when the emulator picks one (beyond ACTIVE, no admin
    /// role, a dot in the login).
    prefers: fn(&Org, &User, &Persona) -> bool,
    play: fn(&mut Play<'_>) -> Result<()>,
}

pub const SCENARIOS: &[Scenario] = &[
    add_administrator::SCENARIO,
    root_creds::SCENARIO,
    password_spray::SCENARIO,
    credential_stuffing::SCENARIO,
    push_bombing::SCENARIO,
    cookie_replay::SCENARIO,
    api_token::SCENARIO,
];

/// `{"scenarios": [{name, description}]}`
pub fn list() -> Value {
    json!({
        "scenarios": SCENARIOS
            .iter()
            .map(|s| json!({"name": s.name, "description": s.description}))
            .collect::<Vec<_>>(),
    })
}

/// Mixed into the seed that picks a scenario's victim.
const VICTIM_SALT: u64 = 0x7669_6374_696d;

/// Plays scenario `name` against `user` (an id or login; `None` picks one) with the clock at
/// `now`, and answers what it did: `{name, user: {id, login}, events, uuids,
/// first_published, last_published, …}`.
pub fn play(org: &mut Org, name: &str, user: Option<&str>, now: Ts) -> Result<Value> {
    let scenario = SCENARIOS.iter().find(|s| s.name == name).ok_or_else(|| {
        let names: Vec<&str> = SCENARIOS.iter().map(|s| s.name).collect();
        OktaError::new(
            StatusCode::NOT_FOUND,
            "E0000007",
            format!(
                "Not found: Resource not found: {name} (Scenario); the scenarios are {}",
                names.join(", ")
            ),
        )
    })?;
    let mut pick = ChaCha8Rng::seed_from_u64(
        places::stable_hash(org.org_id.as_str().as_bytes())
            ^ places::stable_hash(name.as_bytes())
            ^ VICTIM_SALT,
    );
    let victim = match user {
        Some(u) => org.user_id(u)?,
        None => pick_victim(org, &mut pick, scenario.prefers)
            .ok_or_else(|| OktaError::not_found("(any ACTIVE user)", "User"))?,
    };
    let fresh = ChaCha8Rng::seed_from_u64(org.rng.random());
    let first_seq = org.next_seq();
    let mut p = Play {
        org,
        pick,
        fresh,
        victim,
        named: user.is_some(),
        now,
        extra: Map::new(),
    };
    (scenario.play)(&mut p)?;
    let Play {
        org, extra, victim, ..
    } = p;
    untie(org, first_seq);
    let events: Vec<Value> = org.log[(first_seq - 1) as usize..]
        .iter()
        .filter_map(|e| serde_json::from_slice(&e.json).ok())
        .collect();
    let field = |e: Option<&Value>, k: &str| e.map_or(Value::Null, |e| e[k].clone());
    let login = org.users.get(&victim).map_or("", |u| u.login()).to_string();
    let mut out = json!({
        "name": scenario.name,
        "user": {"id": victim, "login": login},
        "events": events.len(),
        "uuids": events.iter().map(|e| e["uuid"].clone()).collect::<Vec<_>>(),
        "first_published": field(events.first(), "published"),
        "last_published": field(events.last(), "published"),
    });
    if let Value::Object(o) = &mut out {
        o.extend(extra);
    }
    Ok(out)
}

/// Moves events of one request that share a `published` time (a created user's app
/// assignments through Everyone) a millisecond apart, so that a play's times strictly
/// increase as its events follow each other.
fn untie(org: &mut Org, first_seq: u64) {
    let mut last = Ts::MIN;
    for entry in org.log.iter_mut().skip((first_seq - 1) as usize) {
        if entry.published <= last {
            entry.published = last + 1;
            if let Ok(mut event) = serde_json::from_slice::<Value>(&entry.json) {
                event["published"] = crate::model::format_ts(entry.published).into();
                entry.json = serde_json::to_vec(&event).unwrap_or_default().into();
            }
        }
        last = entry.published;
    }
}

/// Whether `user` holds an admin role, directly or through a group.
fn is_admin(org: &Org, user: &Id) -> bool {
    org.role_ids_of(user).next().is_some()
        || org
            .groups_of(user)
            .any(|g| org.group_has_admin_privilege(g))
}

fn dotted_local_part(login: &str) -> bool {
    login.split('@').next().is_some_and(|l| l.contains('.'))
}

/// A victim: the first non-empty of ever looser candidate sets (ACTIVE non-admins with a
/// dotted login the scenario prefers; without the preference; any dotted ACTIVE non-admin;
/// any ACTIVE user), one drawn at random.
fn pick_victim(
    org: &Org,
    rng: &mut ChaCha8Rng,
    prefers: fn(&Org, &User, &Persona) -> bool,
) -> Option<Id> {
    let active: Vec<&User> = org
        .users
        .values()
        .filter(|u| u.status == UserStatus::Active)
        .collect();
    let plain: Vec<&User> = active
        .iter()
        .copied()
        .filter(|u| !is_admin(org, &u.id) && dotted_local_part(u.login()))
        .collect();
    let preferred: Vec<&User> = plain
        .iter()
        .copied()
        .filter(|u| prefers(org, u, &places::persona(org, u)))
        .collect();
    [preferred, plain, active]
        .into_iter()
        .find(|set| !set.is_empty())
        .and_then(|set| set.choose(rng).map(|u| u.id))
}

fn any_user(_: &Org, _: &User, _: &Persona) -> bool {
    true
}

fn lives_in_us(_: &Org, _: &User, p: &Persona) -> bool {
    p.home.geo.country == "United States"
}

/// One play of a scenario.
pub struct Play<'a> {
    pub org: &'a mut Org,
    /// Draws that shape the attack (users, timing): seeded by the org and the scenario.
    pub pick: ChaCha8Rng,
    /// Draws that make each play new: sessions, device tokens, names.
    pub fresh: ChaCha8Rng,
    pub victim: Id,
    /// Whether the request named the victim.
    pub named: bool,
    /// The clock's now: the last event is published then, and objects the attack changes
    /// carry it (so a sync reading by `lastUpdated` sees them).
    pub now: Ts,
    /// Scenario-specific fields of the answer.
    pub extra: Map<String, Value>,
}

impl Play<'_> {
    /// Publication times ending at now, `gaps` (ms, each stretched by up to a second of
    /// jitter) apart: `gaps.len() + 1` strictly increasing times.
    pub fn times(&mut self, gaps: &[i64]) -> Vec<Ts> {
        let jittered: Vec<i64> = gaps
            .iter()
            .map(|g| g + self.pick.random_range(1..1000))
            .collect();
        let mut t = self.now - jittered.iter().sum::<i64>();
        let mut out = vec![t];
        for g in jittered {
            t += g;
            out.push(t);
        }
        out
    }

    pub fn user(&self, id: &Id) -> Result<&User> {
        self.org
            .users
            .get(id)
            .ok_or_else(|| OktaError::not_found(id.as_str(), "User"))
    }

    pub fn actor(&self, id: &Id) -> Result<Actor> {
        self.user(id).map(Actor::user)
    }

    pub fn persona(&self, id: &Id) -> Result<Persona> {
        Ok(places::persona(self.org, self.user(id)?))
    }

    /// A user's own browser at home (the first of their devices). `us` moves a home
    /// abroad to the user's US office city for scenarios written around a US victim.
    pub fn home_client(&self, id: &Id, us: bool) -> Result<Arc<Client>> {
        let persona = self.persona(id)?;
        let mut home = persona.home.clone();
        if us && home.geo.country != "United States" {
            home.geo = &places::CITIES[0].geo;
            home.asn = &places::CITIES[0].isp;
        }
        Ok(home.client(persona.devices.first(), &places::CHROME_MAC))
    }

    /// A new Okta session.
    pub fn new_session(&mut self) -> Arc<Session> {
        let id = places::session_id(&mut self.fresh);
        Arc::new(Session {
            external_id: id.clone(),
            root_id: id,
        })
    }

    /// A browser the attacker uses, with its own device token.
    pub fn attacker_client(&mut self, at: &'static Attacker, agent: &'static Agent) -> Arc<Client> {
        Arc::new(Client {
            ip: at.ip.to_string(),
            geo: &at.geo,
            asn: &at.asn,
            is_proxy: false,
            agent,
            dt_hash: Some(places::hex(&mut self.fresh, 64)),
        })
    }

    /// The context of `actor`'s requests from `client` in `session`, at `t`.
    pub fn ctx(&self, actor: Actor, client: Arc<Client>, session: Arc<Session>, t: Ts) -> Ctx {
        let mut c = Ctx::new(actor, self.now, "/").from_client(client, session);
        c.published = t;
        c
    }

    pub fn emit(&mut self, ctx: &Ctx, t: Ts, uri: &str, event: Event) {
        self.org.emit_event(&ctx.at(uri), t, event);
    }

    /// ACTIVE users other than the victim, `n` of them drawn at random (fewer when the org
    /// has fewer).
    pub fn other_active_users(&mut self, n: usize) -> Vec<Id> {
        let victim = self.victim;
        let others: Vec<Id> = self
            .org
            .users
            .values()
            .filter(|u| u.status == UserStatus::Active && u.id != victim)
            .map(|u| u.id)
            .collect();
        others.choose_multiple(&mut self.pick, n).copied().collect()
    }
}

/// A network an attack comes from.
pub struct Attacker {
    pub ip: &'static str,
    pub geo: Geo,
    pub asn: Asn,
}

/// Hosting networks abroad, for attacks needing "another country than the victim's".
pub static HOSTING_ABROAD: &[Attacker] = &[
    Attacker {
        ip: "188.166.42.17",
        geo: Geo {
            city: "Amsterdam",
            state: "North Holland",
            country: "Netherlands",
            postal_code: "1098",
            lat: 52.3520,
            lon: 4.9392,
        },
        asn: Asn {
            number: 14061,
            org: "digitalocean, llc",
            isp: "digitalocean",
            domain: "digitalocean.com",
        },
    },
    Attacker {
        ip: "45.32.118.203",
        geo: Geo {
            city: "Singapore",
            state: "Central Singapore",
            country: "Singapore",
            postal_code: "018989",
            lat: 1.2855,
            lon: 103.8565,
        },
        asn: Asn {
            number: 20473,
            org: "the constant company, llc",
            isp: "vultr holdings llc",
            domain: "vultr.com",
        },
    },
    Attacker {
        ip: "185.177.126.84",
        geo: Geo {
            city: "Vilnius",
            state: "Vilnius",
            country: "Lithuania",
            postal_code: "01100",
            lat: 54.6872,
            lon: 25.2797,
        },
        asn: Asn {
            number: 59642,
            org: "uab cherry servers",
            isp: "cherry servers",
            domain: "cherryservers.com",
        },
    },
];

/// The first hosting network in `skip`'s list order whose country is not `country`.
pub fn abroad_from(country: &str, skip: usize) -> &'static Attacker {
    HOSTING_ABROAD
        .iter()
        .cycle()
        .skip(skip)
        .take(HOSTING_ABROAD.len())
        .find(|a| a.geo.country != country)
        .unwrap_or(&HOSTING_ABROAD[0])
}

/// The user's push enrollment (or another enrolled factor) as an MFA event's target.
pub fn factor_target(org: &Org, user: &Id) -> crate::model::Target {
    let factor = org.factors.get(user).and_then(|f| {
        f.iter()
            .find(|f| f.kind.factor_type == "push")
            .or_else(|| f.first())
    });
    match factor {
        Some(f) => crate::model::Target::authenticator(f.id.as_str(), "Okta Verify"),
        None => crate::model::Target::authenticator("unknown", "Okta Verify"),
    }
}

const MINUTE: i64 = 60_000;
const SECOND: i64 = 1_000;

/// `user.session.start` through the classic authn API, a success or a failure with
/// `reason` (then also `debugData.loginResult`).
fn session_start(reason: Option<&'static str>) -> Event {
    let event = Event::new("user.session.start", Vec::new());
    match reason {
        None => event,
        Some(r) => event
            .outcome(crate::model::Outcome::failure(r))
            .debug("loginResult", r),
    }
}
