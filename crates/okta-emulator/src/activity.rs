//! Normal sign-in activity: users signing in from their personas' homes, offices and
//! browsers, through MFA and the sign-on policy, into their apps.
//!
//! A sign-in is a session: `user.session.start` SUCCESS, `user.authentication.auth_via_mfa`
//! SUCCESS with the user's factor (after a push for Okta Verify), `policy.evaluate_sign_on`
//! ALLOW, then `user.authentication.sso` into a few of the user's apps, all with one session
//! id and the browser's device token. Now and then a password is mistyped (1-2
//! INVALID_CREDENTIALS failures first), rarely an account locks, and a push is denied once
//! before being approved. About 1% of users go through a VPN, about 1% travel.
//!
//! Activity stays below what attack detections look for, whatever the draws: a [`Limits`]
//! ledger refuses a failure, lockout, deny or country change that would cross a bound (per
//! user: 3 failures an hour, 1 lockout in 3 hours, 1 deny in 30 minutes, one country within
//! 4 hours; per address: 4 failures from 2 users an hour, 1 lockout in 6 minutes). Windows
//! are counted on both sides of an event, so runs over overlapping periods keep the bounds.
//!
//! Activity writes only System Log events (a lockout auto-unlocks; `lastLogin` stays), so
//! the org's objects do not change. Draws come from the activity's own generator.

use crate::model::{
    Actor, Ctx, Event, FactorKind, Id, Org, Outcome, Session, Target, Ts, UserStatus,
};
use crate::places::{self, Location, Persona};
use crate::scenario::{policy_allow, sso};
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::HashMap;
use std::sync::Arc;

const SECOND: i64 = 1_000;
const MINUTE: i64 = 60 * SECOND;
const HOUR: i64 = 60 * MINUTE;

/// Sign-ins per ACTIVE user per day at the default rate: a medium org (about 7,800 ACTIVE
/// users, 16 sign-ins a minute) then writes about 10^5 events a day.
pub const SIGN_INS_PER_USER_DAY: f64 = 3.0;

/// What every routine sign-in's behaviour detection says.
const ROUTINE_BEHAVIORS: &str = "{New Geo-Location=NEGATIVE, New Device=NEGATIVE, New IP=NEGATIVE, New State=NEGATIVE, New Country=NEGATIVE, Velocity=NEGATIVE, New City=NEGATIVE}";

/// Share of sign-ins preceded by 1-2 mistyped passwords.
const MISTYPE: f64 = 0.015;
/// Share of sign-ins that lock the account instead.
const LOCKOUT: f64 = 0.0005;
/// Share of push sign-ins whose first push is denied.
const DENY: f64 = 0.005;
/// Share of sign-ins from the office, for users with one.
const AT_OFFICE: f64 = 0.6;

/// Mixed into the activity generator's seed.
const ACTIVITY_SALT: u64 = 0x6163_7469_7669_7479;

/// What one run wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub events: usize,
    pub sign_ins: usize,
}

/// One event waiting for its time.
#[derive(Debug)]
struct Planned {
    t: Ts,
    order: u64,
    ctx: Arc<Ctx>,
    uri: &'static str,
    event: Event,
}

/// The activity of one org: its generator, personas, ledger, and events planned past the
/// end of the last run (a session started just before it).
#[derive(Debug)]
pub struct Activity {
    rng: ChaCha8Rng,
    personas: HashMap<Id, Arc<Persona>>,
    limits: Limits,
    pending: Vec<Planned>,
    order: u64,
    /// The fraction of a sign-in a run's rate left over.
    carry: f64,
    /// The end of the last run.
    pub last_to: Option<Ts>,
}

impl Activity {
    pub fn new(org: &Org) -> Self {
        let seed = places::stable_hash(org.org_id.as_str().as_bytes()) ^ ACTIVITY_SALT;
        Activity {
            rng: ChaCha8Rng::seed_from_u64(seed),
            personas: HashMap::new(),
            limits: Limits::default(),
            pending: Vec::new(),
            order: 0,
            carry: 0.0,
            last_to: None,
        }
    }

    /// Sign-ins per minute at [`SIGN_INS_PER_USER_DAY`] for the org's ACTIVE users.
    pub fn default_rate(org: &Org) -> f64 {
        let active = org
            .users
            .values()
            .filter(|u| u.status == UserStatus::Active)
            .count();
        active as f64 * SIGN_INS_PER_USER_DAY / 1440.0
    }

    /// Plays `rate` sign-ins a minute starting in `(from, to]` and writes every planned
    /// event due by `to`, in time order; later ones wait for the next run.
    pub fn run(&mut self, org: &mut Org, from: Ts, to: Ts, rate: f64) -> Summary {
        let active: Vec<Id> = org
            .users
            .values()
            .filter(|u| u.status == UserStatus::Active)
            .map(|u| u.id)
            .collect();
        let mut sign_ins = 0;
        if to > from && !active.is_empty() && rate > 0.0 {
            let wanted = rate * (to - from) as f64 / MINUTE as f64 + self.carry;
            let count = wanted.floor() as usize;
            self.carry = wanted - count as f64;
            let mut starts: Vec<Ts> = (0..count)
                .map(|_| self.rng.random_range(from + 1..=to))
                .collect();
            starts.sort_unstable();
            for t in starts {
                let Some(&user) = active.choose(&mut self.rng) else {
                    break;
                };
                if self.sign_in(org, user, t) {
                    sign_ins += 1;
                }
            }
        }
        self.last_to = Some(self.last_to.map_or(to, |l| l.max(to)));
        self.pending.sort_by_key(|p| (p.t, p.order));
        let due = self.pending.partition_point(|p| p.t <= to);
        let events = due;
        for p in self.pending.drain(..due) {
            org.emit_event(&p.ctx.at(p.uri), p.t, p.event);
        }
        Summary { events, sign_ins }
    }

    fn persona(&mut self, org: &Org, user: &Id) -> Option<Arc<Persona>> {
        if let Some(p) = self.personas.get(user) {
            return Some(p.clone());
        }
        let persona = Arc::new(places::persona(org, org.users.get(user)?));
        self.personas.insert(*user, persona.clone());
        Some(persona)
    }

    fn plan(&mut self, t: Ts, ctx: &Arc<Ctx>, uri: &'static str, event: Event) {
        self.order += 1;
        self.pending.push(Planned {
            t,
            order: self.order,
            ctx: ctx.clone(),
            uri,
            event,
        });
    }

    /// Where the user signs in from at `t`: the VPN, abroad on a traveller's days away, else
    /// the office or home; never another country than a success within 4 hours.
    fn location(&mut self, persona: &Persona, user: &Id, t: Ts) -> Option<Location> {
        if let Some(vpn) = &persona.vpn {
            return Some(vpn.clone());
        }
        let local = match (&persona.office, self.rng.random_bool(AT_OFFICE)) {
            (Some(office), true) => office.clone(),
            _ => persona.home.clone(),
        };
        let Some(abroad) = &persona.abroad else {
            return Some(local);
        };
        // One day in four away.
        let day = (t.div_euclid(24 * HOUR) as u64)
            .wrapping_add(places::stable_hash(user.as_str().as_bytes()));
        let wanted = if day.is_multiple_of(4) {
            abroad.clone()
        } else {
            local
        };
        match self.limits.country_near(user, t) {
            Some(c) if c != wanted.geo.country => [&persona.home, abroad]
                .into_iter()
                .find(|l| l.geo.country == c)
                .cloned(),
            _ => Some(wanted),
        }
    }

    /// Plans one sign-in of `user` starting at `t`; false when none could be made.
    fn sign_in(&mut self, org: &Org, user: Id, t: Ts) -> bool {
        let Some(persona) = self.persona(org, &user) else {
            return false;
        };
        let Some(location) = self.location(&persona, &user, t) else {
            return false;
        };
        let Some(u) = org.users.get(&user) else {
            return false;
        };
        let device = persona.devices.choose(&mut self.rng);
        let client = location.client(device, &places::CHROME_MAC);
        let actor = Actor::user(u);
        let base = Ctx::new(actor, t, "/idp/idx/identify");
        let unknown = Arc::new(base.from_client(client.clone(), Arc::new(Session::unknown())));
        let id = places::session_id(&mut self.rng);
        let session = Arc::new(Session {
            external_id: id.clone(),
            root_id: id,
        });
        let ctx = Arc::new(base.from_client(client, session));
        let ip = location.ip.clone();
        let mut at = t;
        let draw: f64 = self.rng.random();
        if draw < LOCKOUT && self.limits.may_lock(&user, &ip, t) {
            // Two mistyped passwords, and the third attempt locks the account.
            for _ in 0..2 {
                self.plan(at, &unknown, "/idp/idx/identify", mistyped());
                at += self.rng.random_range(6..15) * SECOND;
            }
            self.plan(
                at,
                &unknown,
                "/idp/idx/identify",
                Event::new("user.account.lock", vec![Target::user(u)])
                    .outcome(Outcome::failure("LOCKED_OUT")),
            );
            self.limits.lock(&user, &ip, t, at);
            return true;
        }
        if draw < LOCKOUT + MISTYPE {
            let tries = self.rng.random_range(1..=2);
            if self.limits.may_fail(&user, &ip, t, tries) {
                for _ in 0..tries {
                    self.plan(at, &unknown, "/idp/idx/identify", mistyped());
                    self.limits.fail(&user, &ip, at);
                    at += self.rng.random_range(6..20) * SECOND;
                }
            }
        }
        self.plan(
            at,
            &ctx,
            "/idp/idx/identify",
            Event::new("user.session.start", Vec::new()).debug("behaviors", ROUTINE_BEHAVIORS),
        );
        if persona.abroad.is_some() {
            self.limits.succeed(&user, location.geo.country, at);
        }
        at = self.mfa(org, &user, &ip, &ctx, at);
        at += SECOND + self.rng.random_range(0..500);
        self.plan(
            at,
            &ctx,
            "/idp/idx/identify",
            policy_allow(org).debug("behaviors", ROUTINE_BEHAVIORS),
        );
        let mut apps: Vec<Id> = org
            .apps
            .values()
            .filter(|a| {
                a.active
                    && org
                        .app_users
                        .get(&a.id)
                        .is_some_and(|m| m.contains_key(&user))
            })
            .map(|a| a.id)
            .collect();
        apps.shuffle(&mut self.rng);
        let opened = self.rng.random_range(1..=3).min(apps.len());
        for app in &apps[..opened] {
            at += self.rng.random_range(3..40) * SECOND + self.rng.random_range(0..1000);
            self.plan(at, &ctx, "/app/sso/saml", sso(org, app, u));
        }
        true
    }

    /// The MFA step after the password: a push (sometimes denied once, then approved) or
    /// another factor's code. Answers when it ended.
    fn mfa(&mut self, org: &Org, user: &Id, ip: &str, ctx: &Arc<Ctx>, mut at: Ts) -> Ts {
        let Some(factor) = org
            .factors
            .get(user)
            .and_then(|f| f.iter().find(|f| f.active))
        else {
            return at;
        };
        let (name, label) = factor_name(factor.kind);
        let target = Target::authenticator(factor.id.as_str(), label);
        let verified = |outcome| {
            Event::new("user.authentication.auth_via_mfa", vec![target.clone()])
                .outcome(outcome)
                .debug("factor", name)
                .debug("behaviors", ROUTINE_BEHAVIORS)
        };
        let push = Event::new("system.push.send_factor_verify_push", vec![target.clone()]);
        if factor.kind.factor_type == "push" {
            at += 2 * SECOND;
            self.plan(at, ctx, "/idp/idx/challenge", push.clone());
            if self.rng.random_bool(DENY) && self.limits.may_deny(user, ip, at) {
                let deny = Outcome::failure("INVALID_CREDENTIALS");
                at += self.rng.random_range(5..20) * SECOND;
                self.plan(
                    at,
                    ctx,
                    "/idp/idx/authenticators/poll",
                    Event::new("user.mfa.okta_verify.deny_push", vec![target.clone()])
                        .outcome(deny)
                        .debug("factor", name),
                );
                self.plan(
                    at + 300,
                    ctx,
                    "/idp/idx/authenticators/poll",
                    verified(deny),
                );
                self.limits.deny(user, ip, at);
                at += self.rng.random_range(10..30) * SECOND;
                self.plan(at, ctx, "/idp/idx/challenge", push);
            }
        }
        at += self.rng.random_range(4..25) * SECOND;
        self.plan(
            at,
            ctx,
            "/idp/idx/authenticators/poll",
            verified(Outcome::SUCCESS),
        );
        at
    }
}

/// A mistyped password.
fn mistyped() -> Event {
    Event::new("user.session.start", Vec::new()).outcome(Outcome::failure("INVALID_CREDENTIALS"))
}

/// `debugData.factor` for a factor kind, and the authenticator's name.
fn factor_name(kind: FactorKind) -> (&'static str, &'static str) {
    match (kind.factor_type, kind.provider) {
        ("push", _) => ("OKTA_VERIFY_PUSH", "Okta Verify"),
        ("token:software:totp", "GOOGLE") => ("GOOGLE_OTP", "Google Authenticator"),
        ("token:software:totp", _) => ("OKTA_SOFT_TOKEN", "Okta Verify"),
        ("sms", _) => ("SMS_FACTOR", "Phone"),
        ("email", _) => ("EMAIL_FACTOR", "Email"),
        ("webauthn", _) => ("FIDO_WEBAUTHN", "Security Key or Biometric"),
        _ => ("OKTA_VERIFY_PUSH", "Okta Verify"),
    }
}

/// Most failures an address may see in an hour, from how many users.
const IP_FAILURES: usize = 4;
const IP_FAILING_USERS: usize = 2;
/// Most failures (sign-in or MFA) one user may have in an hour.
const USER_FAILURES: usize = 3;
/// Windows, with a margin over the bounds they keep.
const FAILURE_WINDOW: i64 = HOUR + 5 * MINUTE;
const USER_LOCK_WINDOW: i64 = 3 * HOUR + 5 * MINUTE;
const IP_LOCK_WINDOW: i64 = 6 * MINUTE;
const DENY_WINDOW: i64 = 30 * MINUTE;
const COUNTRY_WINDOW: i64 = 4 * HOUR + 5 * MINUTE;
/// Entries kept per user or address (older ones are far outside every window).
const KEPT: usize = 64;

/// What activity already did that the bounds count, by user and address.
#[derive(Debug, Default)]
struct Limits {
    user_failures: HashMap<Id, Vec<Ts>>,
    ip_failures: HashMap<String, Vec<(Ts, Id)>>,
    user_locks: HashMap<Id, Vec<Ts>>,
    ip_locks: HashMap<String, Vec<Ts>>,
    user_denies: HashMap<Id, Vec<Ts>>,
    /// Successful sign-ins of travellers (the only users with two countries).
    countries: HashMap<Id, Vec<(Ts, &'static str)>>,
}

fn near(times: impl Iterator<Item = Ts>, t: Ts, window: i64) -> usize {
    times.filter(|x| (x - t).abs() < window).count()
}

fn remember<T>(list: &mut Vec<T>, item: T) {
    if list.len() == KEPT {
        list.remove(0);
    }
    list.push(item);
}

impl Limits {
    fn user_failures_near(&self, user: &Id, t: Ts) -> usize {
        self.user_failures
            .get(user)
            .map_or(0, |l| near(l.iter().copied(), t, FAILURE_WINDOW))
    }

    /// Whether `tries` more failures of `user` from `ip` around `t` keep the bounds.
    fn may_fail(&self, user: &Id, ip: &str, t: Ts, tries: usize) -> bool {
        let at_ip: Vec<&(Ts, Id)> = self
            .ip_failures
            .get(ip)
            .into_iter()
            .flatten()
            .filter(|(x, _)| (x - t).abs() < FAILURE_WINDOW)
            .collect();
        let mut users: Vec<Id> = at_ip.iter().map(|(_, u)| *u).collect();
        users.push(*user);
        users.sort_unstable();
        users.dedup();
        self.user_failures_near(user, t) + tries <= USER_FAILURES
            && at_ip.len() + tries <= IP_FAILURES
            && users.len() <= IP_FAILING_USERS
    }

    fn fail(&mut self, user: &Id, ip: &str, t: Ts) {
        remember(self.user_failures.entry(*user).or_default(), t);
        remember(
            self.ip_failures.entry(ip.to_string()).or_default(),
            (t, *user),
        );
    }

    /// A lockout costs three failures (two mistyped passwords and the lock).
    fn may_lock(&self, user: &Id, ip: &str, t: Ts) -> bool {
        self.may_fail(user, ip, t, 3)
            && self
                .user_locks
                .get(user)
                .is_none_or(|l| near(l.iter().copied(), t, USER_LOCK_WINDOW) == 0)
            && self
                .ip_locks
                .get(ip)
                .is_none_or(|l| near(l.iter().copied(), t, IP_LOCK_WINDOW) == 0)
    }

    fn lock(&mut self, user: &Id, ip: &str, start: Ts, at: Ts) {
        for _ in 0..3 {
            self.fail(user, ip, start);
        }
        remember(self.user_locks.entry(*user).or_default(), at);
        remember(self.ip_locks.entry(ip.to_string()).or_default(), at);
    }

    /// A deny costs two failures (the deny and the failed MFA).
    fn may_deny(&self, user: &Id, ip: &str, t: Ts) -> bool {
        self.may_fail(user, ip, t, 2)
            && self
                .user_denies
                .get(user)
                .is_none_or(|l| near(l.iter().copied(), t, DENY_WINDOW) == 0)
    }

    fn deny(&mut self, user: &Id, ip: &str, t: Ts) {
        self.fail(user, ip, t);
        self.fail(user, ip, t);
        remember(self.user_denies.entry(*user).or_default(), t);
    }

    /// The country of a success of `user` within 4 hours of `t`, if any.
    fn country_near(&self, user: &Id, t: Ts) -> Option<&'static str> {
        self.countries
            .get(user)?
            .iter()
            .rev()
            .find(|(x, _)| (x - t).abs() < COUNTRY_WINDOW)
            .map(|(_, c)| *c)
    }

    fn succeed(&mut self, user: &Id, country: &'static str, t: Ts) {
        remember(self.countries.entry(*user).or_default(), (t, country));
    }
}
