//! `cookie-replay`: the victim signs in at home and opens an app; a quarter of an hour
//! later a script abroad replays the session cookie: same device token, same session,
//! another address, country, network and user agent.

use super::{MINUTE, Play, SECOND, Scenario, abroad_from};
use crate::error::Result;
use crate::model::{Event, Id, Org, Outcome, Target, User};
use crate::places::{PYTHON_REQUESTS, Persona};
use rand::Rng;
use std::sync::Arc;

pub const SCENARIO: Scenario = Scenario {
    name: "cookie-replay",
    description: "The victim signs in at home (session start, sign-on policy ALLOW, SSO to an app); 10-20 minutes later a script abroad replays the session: policy ALLOW and SSO with the same dtHash, externalSessionId and rootSessionId",
    prefers: has_app,
    play,
};

fn has_app(org: &Org, user: &User, _: &Persona) -> bool {
    app_of(org, &user.id).is_some()
}

/// One of the user's ACTIVE apps (the first by id).
fn app_of(org: &Org, user: &Id) -> Option<Id> {
    org.apps
        .values()
        .filter(|a| a.active)
        .find(|a| {
            org.app_users
                .get(&a.id)
                .is_some_and(|u| u.contains_key(user))
        })
        .map(|a| a.id)
}

/// `policy.evaluate_sign_on` allowing the request (Okta's default policy).
pub fn policy_allow(org: &Org) -> Event {
    let policy = format!("00p{}", &org.org_id.as_str()[3..]);
    Event::new(
        "policy.evaluate_sign_on",
        vec![Target {
            id: policy,
            kind: "PolicyEntity",
            alternate_id: "unknown".into(),
            display_name: "Default Policy".into(),
        }],
    )
    .outcome(Outcome::ALLOW)
}

/// `user.authentication.sso` into `app` as `user`.
pub fn sso(org: &Org, app: &Id, user: &User) -> Event {
    let targets = org
        .apps
        .get(app)
        .map(|a| vec![Target::app(a), Target::app_user(user)])
        .unwrap_or_default();
    Event::new("user.authentication.sso", targets)
}

fn play(p: &mut Play<'_>) -> Result<()> {
    let victim = p.victim;
    let actor = p.actor(&victim)?;
    let app = app_of(p.org, &victim)
        .or_else(|| p.org.apps.keys().next().copied())
        .ok_or_else(|| crate::error::OktaError::not_found("(any app)", "AppInstance"))?;
    let home = p.home_client(&victim, false)?;
    let session = p.new_session();
    let later = (10 + p.pick.random_range(0..8)) * MINUTE;
    let t = p.times(&[SECOND, 4 * SECOND, later, 2 * SECOND]);
    let user = p.user(&victim)?;
    let sso_event = sso(p.org, &app, user);
    let policy = policy_allow(p.org);
    let c = p.ctx(actor.clone(), home.clone(), session.clone(), t[0]);
    p.emit(
        &c,
        t[0],
        "/idp/idx/identify",
        Event::new("user.session.start", Vec::new()),
    );
    p.emit(&c, t[1], "/idp/idx/identify", policy.clone());
    p.emit(&c, t[2], "/app/sso/saml", sso_event.clone());
    let source = abroad_from(home.geo.country, 0);
    // The script's own address and user agent, the victim's device token.
    let stolen = Arc::new(crate::model::Client {
        dt_hash: home.dt_hash.clone(),
        ..p.attacker_client(source, &PYTHON_REQUESTS).as_ref().clone()
    });
    let replay = p.ctx(actor, stolen, session.clone(), t[3]);
    p.emit(&replay, t[3], "/idp/idx/identify", policy);
    p.emit(&replay, t[4], "/app/sso/saml", sso_event);
    p.extra.insert("app_id".into(), app.to_string().into());
    p.extra.insert("source_ip".into(), source.ip.into());
    p.extra.insert(
        "dt_hash".into(),
        home.dt_hash.clone().unwrap_or_default().into(),
    );
    p.extra.insert(
        "external_session_id".into(),
        session.external_id.clone().into(),
    );
    Ok(())
}
