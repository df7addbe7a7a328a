//! `okta-add-administrator`, after Panther's test scenario: the victim signs in from home;
//! someone guesses at the password from Argentina, Japan, Italy and France, gets in from
//! France, creates a user and makes it an administrator.

use super::{MINUTE, Play, SECOND, Scenario, lives_in_us, session_start};
use crate::error::Result;
use crate::model::{Geo, Session};
use crate::places::CHROME_MAC;
use serde_json::{Map, Value};
use std::sync::Arc;

pub const SCENARIO: Scenario = Scenario {
    name: "okta-add-administrator",
    description: "Two sign-ins from home; 9 failed sign-ins (VERIFICATION_ERROR) from Argentina, Japan, Italy and France a minute apart; a success from France; the attacker creates a user and grants it Organization and Application administrator",
    prefers: lives_in_us,
    play,
};

static ARGENTINA: super::Attacker = attacker(
    "195.154.58.200",
    Geo {
        city: "Wheelwright",
        state: "Santa Fe",
        country: "Argentina",
        postal_code: "2722",
        lat: -33.7947,
        lon: -61.2143,
    },
);
static JAPAN: super::Attacker = attacker(
    "157.7.164.178",
    Geo {
        city: "Tokyo",
        state: "Chiyoda-ku",
        country: "Japan",
        postal_code: "101-0047",
        lat: 35.6940,
        lon: 139.7536,
    },
);
static ITALY: super::Attacker = attacker(
    "94.177.183.28",
    Geo {
        city: "Ponte San Pietro",
        state: "Bergamo",
        country: "Italy",
        postal_code: "24036",
        lat: 45.7028,
        lon: 9.5903,
    },
);
static FRANCE: super::Attacker = attacker(
    "194.88.246.242",
    Geo {
        city: "Coupvray",
        state: "Ile-de-France",
        country: "France",
        postal_code: "77700",
        lat: 48.8916,
        lon: 2.7939,
    },
);

/// The brute force rotates its sources as the original does.
static ROTATION: [&super::Attacker; 9] = [
    &ARGENTINA, &JAPAN, &ITALY, &ARGENTINA, &FRANCE, &FRANCE, &FRANCE, &FRANCE, &FRANCE,
];

const fn attacker(ip: &'static str, geo: Geo) -> super::Attacker {
    super::Attacker {
        ip,
        geo,
        asn: crate::model::Asn {
            number: 16276,
            org: "ovh sas",
            isp: "ovh sas",
            domain: "ovh.net",
        },
    }
}

/// People the attacker creates (first, last).
const NEW_ADMINS: &[(&str, &str)] = &[
    ("Thomas", "Kan"),
    ("Daniel", "Ward"),
    ("Alex", "Morgan"),
    ("Chris", "Nolan"),
];

fn play(p: &mut Play<'_>) -> Result<()> {
    let victim = p.victim;
    let actor = p.actor(&victim)?;
    let home = p.home_client(&victim, true)?;
    // 2 at home (4 min apart), 3 min, 9 failures a minute apart, 5 min, the success, then
    // the new user (created, activated) and the grant.
    let mut gaps = vec![4 * MINUTE, 3 * MINUTE];
    gaps.extend([MINUTE; 8]);
    gaps.extend([5 * MINUTE, 90 * SECOND, SECOND, 40 * SECOND]);
    let t = p.times(&gaps);
    for &at in &t[..2] {
        let session = p.new_session();
        let c = p.ctx(actor.clone(), home.clone(), session, at);
        p.emit(&c, at, "/api/v1/authn", session_start(None));
    }
    let unknown = Arc::new(Session::unknown());
    for (i, source) in ROTATION.iter().enumerate() {
        let at = t[2 + i];
        let client = p.attacker_client(source, &CHROME_MAC);
        let c = p.ctx(actor.clone(), client, unknown.clone(), at);
        p.emit(
            &c,
            at,
            "/api/v1/authn",
            session_start(Some("VERIFICATION_ERROR")),
        );
    }
    let france = p.attacker_client(&FRANCE, &CHROME_MAC);
    let session = p.new_session();
    let at = t[11];
    let c = p.ctx(actor.clone(), france.clone(), session.clone(), at);
    p.emit(&c, at, "/api/v1/authn", session_start(None));

    let (first, last) = NEW_ADMINS[rand::Rng::random_range(&mut p.fresh, 0..NEW_ADMINS.len())];
    let login = format!(
        "{}{}@gmail.com",
        first.to_lowercase(),
        rand::Rng::random_range(&mut p.fresh, 10_000_000..99_999_999u32)
    );
    let mut profile = Map::new();
    profile.insert("firstName".into(), first.into());
    profile.insert("lastName".into(), last.into());
    profile.insert("login".into(), login.clone().into());
    profile.insert("email".into(), login.clone().into());
    // No department, title or city: no group rule picks the user up, so the attack writes
    // only its own events.
    let create = p.ctx(actor.clone(), france.clone(), session.clone(), t[12]);
    let created = p
        .org
        .create_user(&create.at("/api/v1/users"), profile, true, false, &[])?;
    let activate = p.ctx(actor.clone(), france.clone(), session.clone(), t[13]);
    p.org.activate_user(
        &activate.at(format!("/api/v1/users/{created}/lifecycle/activate")),
        created.as_str(),
    )?;
    let grant = p.ctx(actor, france, session, t[14]);
    let roles = p.org.grant_user_roles(
        &grant,
        created.as_str(),
        &["ORG_ADMIN", "APP_ADMIN"],
        "Organization administrator, Application administrator (all)",
    )?;
    p.extra.insert(
        "created_user".into(),
        serde_json::json!({"id": created, "login": login}),
    );
    p.extra.insert(
        "role_assignments".into(),
        Value::Array(roles.iter().map(|r| Value::from(r.to_string())).collect()),
    );
    Ok(())
}
