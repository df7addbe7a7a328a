//! `push-bombing` (MFA fatigue): with the victim's password, an attacker abroad asks for
//! Okta Verify pushes until the victim, worn down, approves one.

use super::{Play, SECOND, Scenario, abroad_from, any_user, factor_target};
use crate::error::Result;
use crate::model::{Event, Outcome};
use crate::places::AGENTS;

pub const SCENARIO: Scenario = Scenario {
    name: "push-bombing",
    description: "From an address abroad, in one session: the password verified; 6 pushes a minute apart, each denied (deny_push and auth_via_mfa FAILURE); a 7th push approved (auth_via_mfa SUCCESS) and the session started",
    prefers: any_user,
    play,
};

const DENIED: usize = 6;
const PUSH_FACTOR: &str = "OKTA_VERIFY_PUSH";

fn mfa(outcome: Outcome, target: &crate::model::Target) -> Event {
    Event::new("user.authentication.auth_via_mfa", vec![target.clone()])
        .outcome(outcome)
        .debug("factor", PUSH_FACTOR)
}

fn push(target: &crate::model::Target) -> Event {
    Event::new("system.push.send_factor_verify_push", vec![target.clone()])
}

fn play(p: &mut Play<'_>) -> Result<()> {
    let victim = p.victim;
    let actor = p.actor(&victim)?;
    let home = p.persona(&victim)?.home.geo.country;
    let source = abroad_from(home, 2);
    // A Windows browser: the attacker's own machine, not one of the victim's.
    let client = p.attacker_client(source, &AGENTS[2]);
    let session = p.new_session();
    let factor = factor_target(p.org, &victim);
    // verify; then per round: push, deny 20 s later, the failed MFA just after, the next
    // push 40 s on; the last push is approved 25 s later and the session starts.
    let mut gaps = vec![30 * SECOND];
    for _ in 0..DENIED {
        gaps.extend([20 * SECOND, 300, 40 * SECOND - 300]);
    }
    gaps.extend([25 * SECOND, SECOND]);
    let t = p.times(&gaps);
    let c = p.ctx(actor, client, session, t[0]);
    let deny = Outcome::failure("INVALID_CREDENTIALS");
    p.emit(
        &c,
        t[0],
        "/idp/idx/identify",
        Event::new("user.authentication.verify", Vec::new()).debug("factor", "PASSWORD_AS_FACTOR"),
    );
    for round in 0..DENIED {
        let base = 1 + 3 * round;
        p.emit(&c, t[base], "/idp/idx/challenge", push(&factor));
        p.emit(
            &c,
            t[base + 1],
            "/idp/idx/authenticators/poll",
            Event::new("user.mfa.okta_verify.deny_push", vec![factor.clone()])
                .outcome(deny)
                .debug("factor", PUSH_FACTOR)
                .debug("pushOnlyResponseType", "OV_RESPONSE_DENY"),
        );
        p.emit(
            &c,
            t[base + 2],
            "/idp/idx/authenticators/poll",
            mfa(deny, &factor).debug("pushOnlyResponseType", "OV_RESPONSE_DENY"),
        );
    }
    let last = 1 + 3 * DENIED;
    p.emit(&c, t[last], "/idp/idx/challenge", push(&factor));
    p.emit(
        &c,
        t[last + 1],
        "/idp/idx/authenticators/poll",
        mfa(Outcome::SUCCESS, &factor).debug("pushOnlyResponseType", "OV_RESPONSE_APPROVE"),
    );
    p.emit(
        &c,
        t[last + 2],
        "/idp/idx/identify",
        Event::new("user.session.start", Vec::new()),
    );
    p.extra.insert("source_ip".into(), source.ip.into());
    p.extra.insert(
        "external_session_id".into(),
        c.session
            .as_ref()
            .map(|s| s.external_id.clone())
            .unwrap_or_default()
            .into(),
    );
    Ok(())
}
