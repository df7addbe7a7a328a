//! `compromised-root-creds`, after Panther's test scenario: the victim signs in from home;
//! then someone in Bucharest fails twice to sign in as a look-alike of the victim's login.

use super::{MINUTE, Play, Scenario, lives_in_us, session_start};
use crate::error::Result;
use crate::model::{Actor, Asn, Geo, Session};
use crate::places::CHROME_MAC;
use std::sync::Arc;

pub const SCENARIO: Scenario = Scenario {
    name: "compromised-root-creds",
    description: "A sign-in from home; then 2 failed sign-ins (VERIFICATION_ERROR) from Bucharest, Romania for a look-alike of the victim's login (unknown user)",
    prefers: lives_in_us,
    play,
};

static BUCHAREST: super::Attacker = super::Attacker {
    ip: "92.55.146.245",
    geo: Geo {
        city: "Bucharest",
        state: "Bucharest",
        country: "Romania",
        postal_code: "050595",
        lat: 44.4268,
        lon: 26.1025,
    },
    asn: Asn {
        number: 8708,
        org: "rcs & rds s.a.",
        isp: "rcs & rds",
        domain: "rcs-rds.ro",
    },
};

/// The login with the first '.' of its local part made a '_'; without a dot, the local
/// part's first letter changed to another.
pub fn lookalike(login: &str) -> String {
    let (local, domain) = login.split_once('@').unwrap_or((login, ""));
    let local = match local.find('.') {
        Some(i) => format!("{}_{}", &local[..i], &local[i + 1..]),
        None => {
            let mut chars = local.chars();
            match chars.next() {
                Some(c) => {
                    let swapped = if c == 'x' { 'y' } else { 'x' };
                    format!("{swapped}{}", chars.as_str())
                }
                None => "x".to_string(),
            }
        }
    };
    if domain.is_empty() {
        local
    } else {
        format!("{local}@{domain}")
    }
}

fn play(p: &mut Play<'_>) -> Result<()> {
    let victim = p.victim;
    let actor = p.actor(&victim)?;
    let home = p.home_client(&victim, true)?;
    let t = p.times(&[6 * MINUTE, 3 * MINUTE]);
    let session = p.new_session();
    let c = p.ctx(actor.clone(), home, session, t[0]);
    p.emit(&c, t[0], "/api/v1/authn", session_start(None));
    let fake = Actor::unknown(&lookalike(&actor.alternate_id));
    let client = p.attacker_client(&BUCHAREST, &CHROME_MAC);
    let unknown = Arc::new(Session::unknown());
    for &at in &t[1..] {
        let c = p.ctx(fake.clone(), client.clone(), unknown.clone(), at);
        p.emit(
            &c,
            at,
            "/api/v1/authn",
            session_start(Some("VERIFICATION_ERROR")),
        );
    }
    p.extra
        .insert("lookalike".into(), fake.alternate_id.clone().into());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::lookalike;

    #[test]
    fn lookalikes_change_one_character() {
        assert_eq!(lookalike("tracey.stone@acme.io"), "tracey_stone@acme.io");
        assert_eq!(lookalike("a.b.c@x.io"), "a_b.c@x.io");
        assert_eq!(lookalike("admin@example.com"), "xdmin@example.com");
        assert_eq!(lookalike("xavier@example.com"), "yavier@example.com");
    }
}
