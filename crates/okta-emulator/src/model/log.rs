//! System Log events, shaped as Okta writes them.

use super::Org;
use super::authenticators::Authenticator;
use super::ids::{Id, Ts, format_ts, whole_second};
use super::log_streams::LogStream;
use super::objects::{App, Group, Idp, User};
use super::policies::{Policy, PolicyRule};
use super::rules::GroupRule;
use super::zones::NetworkZone;
use bytes::Bytes;
use rand::Rng;
use serde_json::{Value, json};
use std::sync::Arc;

/// Who performed an action (`actor` in a LogEvent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: String,
    /// `User`, `PublicClientApp`, `SystemPrincipal`.
    pub kind: &'static str,
    pub alternate_id: String,
    pub display_name: String,
}

impl Actor {
    pub fn user(u: &User) -> Self {
        Actor {
            id: u.id.to_string(),
            kind: "User",
            alternate_id: u.login().to_string(),
            display_name: u.display_name(),
        }
    }

    /// A sign-in attempt for a user name Okta does not know.
    pub fn unknown(alternate_id: &str) -> Self {
        Actor {
            id: "unknown".into(),
            kind: "User",
            alternate_id: alternate_id.to_string(),
            display_name: "unknown".into(),
        }
    }

    /// An OAuth 2.0 service app.
    pub fn client(client_id: &str) -> Self {
        Actor {
            id: client_id.to_string(),
            kind: "PublicClientApp",
            alternate_id: client_id.to_string(),
            display_name: client_id.to_string(),
        }
    }

    fn to_value(&self) -> Value {
        json!({
            "id": self.id,
            "type": self.kind,
            "alternateId": self.alternate_id,
            "displayName": self.display_name,
            "detailEntry": null,
        })
    }
}

/// One entry of an event's `target` list.
#[derive(Debug, Clone)]
pub struct Target {
    pub id: String,
    pub kind: &'static str,
    pub alternate_id: String,
    pub display_name: String,
}

impl Target {
    pub fn user(u: &User) -> Self {
        Target {
            id: u.id.to_string(),
            kind: "User",
            alternate_id: u.login().to_string(),
            display_name: u.display_name(),
        }
    }

    pub fn app_user(u: &User) -> Self {
        Target {
            kind: "AppUser",
            ..Target::user(u)
        }
    }

    pub fn group(g: &Group) -> Self {
        Target {
            id: g.id.to_string(),
            kind: "UserGroup",
            alternate_id: "unknown".into(),
            display_name: g.name().to_string(),
        }
    }

    pub fn app(a: &App) -> Self {
        Target {
            id: a.id.to_string(),
            kind: "AppInstance",
            alternate_id: a.label.clone(),
            display_name: a.label.clone(),
        }
    }

    pub fn idp(i: &Idp) -> Self {
        Target {
            id: i.id.to_string(),
            kind: "IdentityProvider",
            alternate_id: i.name.clone(),
            display_name: i.name.clone(),
        }
    }

    /// A group rule. Okta's event catalogue does not document the rule target's type;
    /// `GroupRule` is the name its API gives the object.
    pub fn rule(r: &GroupRule) -> Self {
        Target {
            id: r.id.to_string(),
            kind: "GroupRule",
            alternate_id: r.name.clone(),
            display_name: r.name.clone(),
        }
    }

    /// An API token (`00T…`), as `system.api_token.create` names it.
    pub fn token(id: &Id, name: &str) -> Self {
        Target {
            id: id.to_string(),
            kind: "Token",
            alternate_id: "unknown".into(),
            display_name: name.to_string(),
        }
    }

    /// A policy (`PolicyEntity`, as Okta's policy events name it).
    pub fn policy(p: &Policy) -> Self {
        Target {
            id: p.id.to_string(),
            kind: "PolicyEntity",
            alternate_id: "unknown".into(),
            display_name: p.name.clone(),
        }
    }

    /// A policy rule.
    pub fn policy_rule(r: &PolicyRule) -> Self {
        Target {
            id: r.id.to_string(),
            kind: "PolicyRule",
            alternate_id: "unknown".into(),
            display_name: r.name.clone(),
        }
    }

    /// A network zone.
    pub fn zone(z: &NetworkZone) -> Self {
        Target {
            id: z.id.to_string(),
            kind: "NetworkZone",
            alternate_id: "unknown".into(),
            display_name: z.name.clone(),
        }
    }

    /// A log stream.
    pub fn log_stream(l: &LogStream) -> Self {
        Target {
            id: l.id.to_string(),
            kind: "LogStream",
            alternate_id: "unknown".into(),
            display_name: l.name.clone(),
        }
    }

    /// One of the org's authenticators (`aut…`) as its lifecycle events name it. Okta's
    /// event catalogue does not document this target's type; `Authenticator` is the name
    /// its API gives the object.
    pub fn org_authenticator(a: &Authenticator) -> Self {
        Target {
            id: a.id.to_string(),
            kind: "Authenticator",
            alternate_id: "unknown".into(),
            display_name: a.name.to_string(),
        }
    }

    /// An enrolled authenticator (the push, OTP or WebAuthn factor an MFA step used).
    pub fn authenticator(id: &str, name: &str) -> Self {
        Target {
            id: id.to_string(),
            kind: "AuthenticatorEnrollment",
            alternate_id: "unknown".into(),
            display_name: name.to_string(),
        }
    }

    fn to_value(&self) -> Value {
        json!({
            "id": self.id,
            "type": self.kind,
            "alternateId": self.alternate_id,
            "displayName": self.display_name,
            "detailEntry": null,
        })
    }
}

/// A place as Okta's IP geolocation reports it (`client.geographicalContext`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Geo {
    pub city: &'static str,
    pub state: &'static str,
    pub country: &'static str,
    pub postal_code: &'static str,
    pub lat: f64,
    pub lon: f64,
}

impl Geo {
    fn to_value(self) -> Value {
        json!({
            "city": self.city,
            "state": self.state,
            "country": self.country,
            "postalCode": self.postal_code,
            "geolocation": {"lat": self.lat, "lon": self.lon},
        })
    }
}

/// The autonomous system an IP address belongs to (`securityContext`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Asn {
    pub number: u32,
    pub org: &'static str,
    pub isp: &'static str,
    pub domain: &'static str,
}

/// A browser or client as Okta parses its user agent (`client.userAgent`, `client.device`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agent {
    pub raw: &'static str,
    pub os: &'static str,
    pub browser: &'static str,
    /// `Computer` or `Mobile`.
    pub device: &'static str,
}

/// Where a request comes from, enriched as Okta logs a sign-in: address, place, network and
/// browser.
#[derive(Debug, Clone)]
pub struct Client {
    pub ip: String,
    pub geo: &'static Geo,
    pub asn: &'static Asn,
    /// `securityContext.isProxy`: an anonymising proxy or VPN exit.
    pub is_proxy: bool,
    pub agent: &'static Agent,
    /// `debugData.dtHash`: the hash of the browser's device token (64 hex digits), the same
    /// for every request of one browser.
    pub dt_hash: Option<String>,
}

/// The Okta session an event belongs to (`authenticationContext`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub external_id: String,
    pub root_id: String,
}

impl Session {
    /// What Okta writes before a session exists (failed sign-ins).
    pub fn unknown() -> Self {
        Session {
            external_id: "unknown".into(),
            root_id: "unknown".into(),
        }
    }
}

/// `outcome`: a result and, for failures and policy decisions, its reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub result: &'static str,
    pub reason: Option<&'static str>,
}

impl Outcome {
    pub const SUCCESS: Outcome = Outcome {
        result: "SUCCESS",
        reason: None,
    };

    /// A sign-on policy that let the request through.
    pub const ALLOW: Outcome = Outcome {
        result: "ALLOW",
        reason: Some("Sign-on policy evaluation resulted in ALLOW"),
    };

    pub const fn failure(reason: &'static str) -> Self {
        Outcome {
            result: "FAILURE",
            reason: Some(reason),
        }
    }
}

/// One event as a caller describes it; the context ([`Ctx`]) says who, from where and when.
#[derive(Debug, Clone)]
pub struct Event {
    pub event_type: &'static str,
    pub targets: Vec<Target>,
    pub outcome: Outcome,
    /// `debugData` entries besides the request's; Okta writes every value as a string.
    pub debug: Vec<(&'static str, String)>,
}

impl Event {
    pub fn new(event_type: &'static str, targets: Vec<Target>) -> Self {
        Event {
            event_type,
            targets,
            outcome: Outcome::SUCCESS,
            debug: Vec::new(),
        }
    }

    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    pub fn debug(mut self, key: &'static str, value: impl Into<String>) -> Self {
        self.debug.push((key, value.into()));
        self
    }
}

/// The context of one mutation: who, when, and which request (for `debugContext`).
#[derive(Debug, Clone)]
pub struct Ctx {
    pub actor: Actor,
    /// When the change happens, to the whole second: the time every object timestamp it
    /// moves (`created`, `lastUpdated`, …) takes, as Okta's have no milliseconds.
    pub now: Ts,
    /// The System Log `published` time of its events, with milliseconds as Okta writes them.
    pub published: Ts,
    /// The request path, e.g. `/api/v1/groups/00g…/users/00u…`.
    pub request_uri: String,
    pub ip: String,
    pub user_agent: String,
    /// The `X-Okta-Request-Id` of the API request making the change, written as the events'
    /// `debugContext.debugData.requestId`; `None` (churn, generation) draws a random one.
    pub request_id: Option<String>,
    /// Whether the principal is a Super Admin: only a Super Admin changes memberships of
    /// groups that hold admin roles.
    pub super_admin: bool,
    /// The enriched client of a sign-in or of a browser session (`None`: an API call, logged
    /// with `ip` and `user_agent` only).
    pub client: Option<Arc<Client>>,
    /// The Okta session the request belongs to (`None` draws a random session id).
    pub session: Option<Arc<Session>>,
}

impl Ctx {
    pub fn new(actor: Actor, now: Ts, request_uri: impl Into<String>) -> Self {
        Ctx {
            actor,
            now: whole_second(now),
            published: now,
            request_uri: request_uri.into(),
            ip: "127.0.0.1".into(),
            user_agent: "okta-emulator".into(),
            request_id: None,
            super_admin: true,
            client: None,
            session: None,
        }
    }

    /// The same context from an enriched client in a session (sign-ins, browser sessions).
    pub fn from_client(&self, client: Arc<Client>, session: Arc<Session>) -> Self {
        Ctx {
            ip: client.ip.clone(),
            user_agent: client.agent.raw.to_string(),
            client: Some(client),
            session: Some(session),
            ..self.clone()
        }
    }

    /// The same context acting as `actor` (what Okta does by itself during a request).
    pub fn acting_as(&self, actor: Actor) -> Self {
        Ctx {
            actor,
            ..self.clone()
        }
    }

    /// The same context for another request path (one API call may write several events).
    pub fn at(&self, request_uri: impl Into<String>) -> Self {
        Ctx {
            request_uri: request_uri.into(),
            ..self.clone()
        }
    }
}

/// One stored event: what filters need, plus its JSON.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// Persistence order, from 1.
    pub seq: u64,
    pub published: Ts,
    pub event_type: &'static str,
    pub actor_id: String,
    pub target_ids: Vec<String>,
    pub json: Bytes,
}

/// (eventType, legacyEventType, displayMessage)
pub fn describe(event_type: &str) -> (Option<&'static str>, &'static str) {
    match event_type {
        "user.lifecycle.create" => (
            Some("core.user.config.user_creation.success"),
            "Create okta user",
        ),
        "user.lifecycle.activate" => (
            Some("core.user.config.user_activated"),
            "Activate Okta user",
        ),
        "user.lifecycle.deactivate" => (
            Some("core.user.config.user_deactivated"),
            "Deactivate Okta user",
        ),
        "user.lifecycle.suspend" => (Some("core.user.config.user_suspended"), "Suspend Okta user"),
        "user.lifecycle.unsuspend" => (
            Some("core.user.config.user_unsuspended"),
            "Unsuspend Okta user",
        ),
        "user.lifecycle.reactivate" => (
            Some("core.user.config.user_reactivated"),
            "Reactivate Okta user",
        ),
        "user.lifecycle.delete.initiated" => (
            Some("core.user.config.user_deleted"),
            "Delete Okta user initiated",
        ),
        "user.lifecycle.delete.completed" => (None, "Delete Okta user completed"),
        "user.account.update_profile" => (
            Some("core.user.config.profile_update.success"),
            "Update user profile for Okta",
        ),
        "user.account.unlock" => (
            Some("core.user.config.user_unlocked"),
            "Unlock user account",
        ),
        "user.session.start" => (Some("core.user_auth.login_success"), "User login to Okta"),
        "user.authentication.auth_via_mfa" => (
            Some("core.user.factor.attempt_success"),
            "Authentication of user via MFA",
        ),
        "user.authentication.verify" => (None, "Verify user identity"),
        "user.authentication.sso" => (Some("app.auth.sso"), "User single sign on to app"),
        "policy.evaluate_sign_on" => (None, "Evaluation of sign-on policy"),
        "system.push.send_factor_verify_push" => (None, "Push notification sent for verification"),
        "user.mfa.okta_verify.deny_push" => (
            Some("core.user.factor.push_deny"),
            "User rejected Okta push verify",
        ),
        "user.account.lock" => (
            Some("core.user_auth.account_locked"),
            "Max sign in attempts exceeded",
        ),
        "system.api_token.create" => (Some("api.token.create"), "Create API token"),
        // As Okta's recorded revoke event writes it.
        "system.api_token.revoke" => (Some("api.token.revoke"), "Revoke API token"),
        "group.lifecycle.create" => (Some("core.user_group.created"), "Create okta group"),
        "group.lifecycle.delete" => (Some("core.user_group.deleted"), "Delete okta group"),
        "group.profile.update" => (
            Some("core.user_group.profile_updated"),
            "Update group profile",
        ),
        "group.user_membership.add" => (
            Some("core.user_group_member.user_add"),
            "Add user to group membership",
        ),
        "group.user_membership.remove" => (
            Some("core.user_group_member.user_remove"),
            "Remove user from group membership",
        ),
        "application.user_membership.add" => (
            Some("app.generic.provision.assign_user_to_app"),
            "Add user to application membership",
        ),
        "application.user_membership.remove" => (
            Some("app.generic.unprovision.user_removed"),
            "Remove user from application membership",
        ),
        "application.user_membership.update" => (
            Some("app.generic.provision.update_user_in_app"),
            "Update user's assignment to app",
        ),
        "group.application_assignment.add" => (
            Some("app.generic.config.app_group_member_add"),
            "Add assigned application to group",
        ),
        "group.application_assignment.remove" => (
            Some("app.generic.config.app_group_member_remove"),
            "Remove assigned application from group",
        ),
        "application.lifecycle.activate" => (
            Some("app.generic.config.app_activated"),
            "Activate application",
        ),
        "application.lifecycle.deactivate" => (
            Some("app.generic.config.app_deactivated"),
            "Deactivate application",
        ),
        "application.lifecycle.delete" => {
            (Some("app.generic.config.app_deleted"), "Delete application")
        }
        "application.lifecycle.update" => {
            (Some("app.generic.config.app_updated"), "Update application")
        }
        "user.mfa.factor.activate" => (
            Some("core.user.factor.activate"),
            "Activate factor for user",
        ),
        "user.mfa.factor.deactivate" => {
            (Some("core.user.factor.deactivate"), "Reset factor for user")
        }
        "user.mfa.factor.reset_all" => (
            Some("core.user.factor.reset_all"),
            "Reset all factors for user",
        ),
        "system.idp.lifecycle.create" => (None, "Create IdP"),
        "system.idp.lifecycle.update" => (None, "Update IdP"),
        "system.idp.lifecycle.activate" => (None, "Activate IdP"),
        "system.idp.lifecycle.deactivate" => (None, "Deactivate IdP"),
        "system.idp.lifecycle.delete" => (None, "Delete IdP"),
        "user.account.privilege.grant" => (
            Some("core.user.admin_privilege.granted"),
            "Grant user privilege",
        ),
        "user.account.privilege.revoke" => (
            Some("core.user.admin_privilege.revoked"),
            "User privilege revoke",
        ),
        "group.privilege.grant" => (
            Some("core.user_group.admin_privilege.granted"),
            "Grant group privilege",
        ),
        "group.privilege.revoke" => (
            Some("core.user_group.admin_privilege.revoked"),
            "Revoke group privilege",
        ),
        // The rule events' legacy types are the mappings of Okta's event catalogue.
        "group.user_membership.rule.trigger" => (
            Some("cvd.group_rule_triggered"),
            "Trigger group membership rule",
        ),
        "group.user_membership.rule.deactivated" => (
            Some("cvd.group_rule_deactivated"),
            "Deactivate group membership rule",
        ),
        "group.user_membership.rule.invalidate" => (
            Some("cvd.group_rule_invalidated"),
            "Invalidate group membership rule",
        ),
        "group.user_membership.rule.add_exclusion" => (
            Some("core.user.added_to_rule_exclusion"),
            "User added to exclusion list for group rule",
        ),
        // The security configuration's events. Okta's event catalogue maps none of them to a
        // legacy type.
        "policy.lifecycle.create" => (None, "Create policy"),
        "policy.lifecycle.update" => (None, "Update policy"),
        "policy.lifecycle.delete" => (None, "Delete policy"),
        "policy.lifecycle.activate" => (None, "Activate policy"),
        "policy.lifecycle.deactivate" => (None, "Deactivate policy"),
        "policy.rule.add" => (None, "Add policy rule"),
        "policy.rule.update" => (None, "Update policy rule"),
        "policy.rule.delete" => (None, "Delete policy rule"),
        "policy.rule.activate" => (None, "Activate policy rule"),
        "policy.rule.deactivate" => (None, "Deactivate policy rule"),
        "zone.create" => (None, "Create network zone"),
        "zone.update" => (None, "Update network zone"),
        "zone.delete" => (None, "Delete network zone"),
        "zone.activate" => (None, "Activate network zone"),
        "zone.deactivate" => (None, "Deactivate network zone"),
        "system.log_stream.lifecycle.create" => (None, "Create log stream"),
        "system.log_stream.lifecycle.update" => (None, "Update log stream"),
        "system.log_stream.lifecycle.delete" => (None, "Delete log stream"),
        "system.log_stream.lifecycle.activate" => (None, "Activate log stream"),
        "system.log_stream.lifecycle.deactivate" => (None, "Deactivate log stream"),
        "security.threat.configuration.update" => (None, "Update ThreatInsight configuration"),
        "security.authenticator.lifecycle.activate" => (None, "Activate authenticator"),
        "security.authenticator.lifecycle.deactivate" => (None, "Deactivate authenticator"),
        "security.authenticator.lifecycle.update" => (None, "Update authenticator"),
        "app.oauth2.admin.consent.grant" => (None, "Administrator consent granted for scope"),
        "app.oauth2.admin.consent.revoke" => (None, "Administrator consent revoked for scope"),
        _ => (None, "Okta event"),
    }
}

/// The legacy type of a failed attempt, where Okta's differs from the success's.
fn failure_legacy(event_type: &str) -> Option<&'static str> {
    match event_type {
        "user.session.start" => Some("core.user_auth.login_failed"),
        "user.authentication.auth_via_mfa" => Some("core.user.factor.attempt_fail"),
        _ => None,
    }
}

fn request_id(rng: &mut impl Rng) -> String {
    let mut s = String::with_capacity(32);
    for _ in 0..32 {
        s.push(char::from(b"0123456789abcdef"[rng.random_range(0..16)]));
    }
    s
}

impl Org {
    /// Appends an event and returns its `seq`.
    pub fn emit(
        &mut self,
        ctx: &Ctx,
        event_type: &'static str,
        targets: Vec<Target>,
        debug_extra: Option<(&'static str, String)>,
    ) -> u64 {
        self.emit_at(ctx, ctx.published, event_type, targets, debug_extra)
    }

    /// Appends an event published at `published` (history generation uses past times).
    pub fn emit_at(
        &mut self,
        ctx: &Ctx,
        published: Ts,
        event_type: &'static str,
        targets: Vec<Target>,
        debug_extra: Option<(&'static str, String)>,
    ) -> u64 {
        let mut event = Event::new(event_type, targets);
        event.debug.extend(debug_extra);
        self.emit_event(ctx, published, event)
    }

    /// Appends `event` published at `published`, with the client, session, outcome and
    /// `debugData` the context and the event carry.
    pub fn emit_event(&mut self, ctx: &Ctx, published: Ts, event: Event) -> u64 {
        let seq = self.next_seq();
        let uuid = uuid::Builder::from_random_bytes(self.rng.random()).into_uuid();
        // Drawn even when the request names its id, so the seeded sequence stays the same.
        let drawn = request_id(&mut self.rng);
        let req_id = ctx.request_id.clone().unwrap_or(drawn);
        let drawn_session = request_id(&mut self.rng);
        let (external_session, root_session) = match &ctx.session {
            Some(s) => (s.external_id.clone(), s.root_id.clone()),
            None => {
                let id = format!("trs{}", &drawn_session[..22]);
                (id.clone(), id)
            }
        };
        let (legacy, display) = describe(event.event_type);
        let failed = event.outcome.result == "FAILURE";
        let legacy = failed
            .then(|| failure_legacy(event.event_type))
            .flatten()
            .or(legacy);
        let severity = if failed || event.event_type == "user.account.lock" {
            "WARN"
        } else {
            "INFO"
        };
        let mut debug = serde_json::Map::new();
        debug.insert("requestId".into(), req_id.clone().into());
        debug.insert("requestUri".into(), ctx.request_uri.clone().into());
        debug.insert("url".into(), ctx.request_uri.clone().into());
        let (client, ip_chain, security) = match &ctx.client {
            None => (
                json!({
                    "userAgent": {"rawUserAgent": ctx.user_agent, "os": "Unknown", "browser": "UNKNOWN"},
                    "zone": "null",
                    "device": "Unknown",
                    "id": null,
                    "ipAddress": ctx.ip,
                    "geographicalContext": null,
                }),
                json!([{"ip": ctx.ip, "geographicalContext": null, "version": "V4", "source": null}]),
                json!({"asNumber": null, "asOrg": null, "isp": null, "domain": null, "isProxy": null}),
            ),
            Some(c) => {
                let geo = c.geo.to_value();
                if let Some(dt) = &c.dt_hash {
                    debug.insert("dtHash".into(), dt.clone().into());
                }
                debug.insert("threatSuspected".into(), "false".into());
                (
                    json!({
                        "userAgent": {"rawUserAgent": c.agent.raw, "os": c.agent.os, "browser": c.agent.browser},
                        "zone": "null",
                        "device": c.agent.device,
                        "id": null,
                        "ipAddress": c.ip,
                        "geographicalContext": geo,
                    }),
                    json!([{"ip": c.ip, "geographicalContext": geo, "version": "V4", "source": null}]),
                    json!({
                        "asNumber": c.asn.number,
                        "asOrg": c.asn.org,
                        "isp": c.asn.isp,
                        "domain": c.asn.domain,
                        "isProxy": c.is_proxy,
                    }),
                )
            }
        };
        for (k, v) in event.debug {
            debug.insert(k.into(), v.into());
        }
        let targets = if event.targets.is_empty() {
            Value::Null
        } else {
            event.targets.iter().map(Target::to_value).collect()
        };
        let json = json!({
            "actor": ctx.actor.to_value(),
            "authenticationContext": {
                "authenticationProvider": null,
                "credentialProvider": null,
                "credentialType": null,
                "issuer": null,
                "interface": null,
                "authenticationStep": 0,
                "externalSessionId": external_session,
                "rootSessionId": root_session,
            },
            "client": client,
            "device": null,
            "debugContext": {"debugData": debug},
            "displayMessage": display,
            "eventType": event.event_type,
            "legacyEventType": legacy,
            "outcome": {"result": event.outcome.result, "reason": event.outcome.reason},
            "published": format_ts(published),
            "request": {"ipChain": ip_chain},
            "securityContext": security,
            "severity": severity,
            "target": targets,
            "transaction": {"type": "WEB", "id": req_id, "detail": {}},
            "uuid": uuid.to_string(),
            "version": "0",
        });
        self.log.push(LogEntry {
            seq,
            published,
            event_type: event.event_type,
            actor_id: ctx.actor.id.clone(),
            target_ids: event.targets.into_iter().map(|t| t.id).collect(),
            json: Bytes::from(serde_json::to_vec(&json).unwrap_or_default()),
        });
        seq
    }

    /// The actor acting as a given user id (for generated history).
    pub fn actor_for(&self, id: &Id) -> Option<Actor> {
        self.users.get(id).map(Actor::user)
    }
}
