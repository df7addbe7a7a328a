//! OAuth 2.0 scope consent grants of apps (`/api/v1/apps/{appId}/grants`): the Okta scopes
//! (`okta.users.read`, …) an admin let an app request from the org authorization server.
//!
//! Grants belong to OIDC apps of the org: those of `Org::apps` and the org's OAuth service
//! apps (`Org::service_apps`, client-credentials apps such as "Provisioning Automation").
//! Okta lists a service app like any other app (`signOnMode` `OPENID_CONNECT`,
//! `settings.oauthClient.application_type` `service`), and so does the emulator:
//! `GET /api/v1/apps` merges both maps by id ([`Org::listed_apps`]), and every app endpoint
//! finds either ([`Org::any_app`]). They are kept in a map of their own only because they
//! were generated after everything else: churn, activity and the scenarios pick apps from
//! `Org::apps`, and what they pick for a seed stays what it was before the service apps
//! existed. A service app signs in no user: it cannot be assigned users or groups (400
//! E0000001), and its users and groups are empty lists.
//!
//! Admins grant a scope (`POST`, `app.oauth2.admin.consent.grant`) and revoke a grant
//! (`DELETE`, `app.oauth2.admin.consent.revoke`): the event types Okta's catalogue gives
//! an administrator's consent (`app.oauth2.as.consent.*` are end users' consents to a
//! custom authorization server).

use super::Org;
use super::ids::{Id, Ts};
use super::log::{Ctx, Target};
use super::objects::{App, ts};
use crate::error::{OktaError, Result};
use serde_json::{Value, json};
use std::ops::Bound;

/// The Okta scopes an app can be granted: those of the `oauth2` security scheme of Okta's
/// Management API spec.
pub const OKTA_SCOPES: &[&str] = &[
    "okta.agentPools.manage",
    "okta.agentPools.read",
    "okta.apiTokens.manage",
    "okta.apiTokens.read",
    "okta.appGrants.manage",
    "okta.appGrants.read",
    "okta.apps.interclientTrust.manage",
    "okta.apps.interclientTrust.read",
    "okta.apps.manage",
    "okta.apps.read",
    "okta.authenticators.manage",
    "okta.authenticators.read",
    "okta.authorizationServers.manage",
    "okta.authorizationServers.read",
    "okta.behaviors.manage",
    "okta.behaviors.read",
    "okta.botProtection.manage",
    "okta.botProtection.read",
    "okta.brands.manage",
    "okta.brands.read",
    "okta.captchas.manage",
    "okta.captchas.read",
    "okta.customTelephonyProvider.manage",
    "okta.customTelephonyProvider.read",
    "okta.deviceAssurance.manage",
    "okta.deviceAssurance.read",
    "okta.deviceIntegrations.manage",
    "okta.deviceIntegrations.read",
    "okta.devicePostureChecks.manage",
    "okta.devicePostureChecks.read",
    "okta.devices.manage",
    "okta.devices.read",
    "okta.directories.groups.manage",
    "okta.directories.groups.read",
    "okta.domains.manage",
    "okta.domains.read",
    "okta.dr.manage",
    "okta.dr.read",
    "okta.emailDomains.manage",
    "okta.emailDomains.read",
    "okta.emailServers.manage",
    "okta.emailServers.read",
    "okta.eventHooks.manage",
    "okta.eventHooks.read",
    "okta.features.manage",
    "okta.features.read",
    "okta.groups.manage",
    "okta.groups.read",
    "okta.identitySources.manage",
    "okta.identitySources.read",
    "okta.idps.manage",
    "okta.idps.read",
    "okta.inlineHooks.manage",
    "okta.inlineHooks.read",
    "okta.linkedObjects.manage",
    "okta.linkedObjects.read",
    "okta.logStreams.manage",
    "okta.logStreams.read",
    "okta.logs.read",
    "okta.networkZones.manage",
    "okta.networkZones.read",
    "okta.oauthIntegrations.manage",
    "okta.oauthIntegrations.read",
    "okta.orgs.manage",
    "okta.orgs.read",
    "okta.personal.adminSettings.manage",
    "okta.personal.adminSettings.read",
    "okta.policies.manage",
    "okta.policies.read",
    "okta.principalRateLimits.manage",
    "okta.principalRateLimits.read",
    "okta.profileMappings.manage",
    "okta.profileMappings.read",
    "okta.pushProviders.manage",
    "okta.pushProviders.read",
    "okta.rateLimits.manage",
    "okta.rateLimits.read",
    "okta.realmAssignments.manage",
    "okta.realmAssignments.read",
    "okta.realms.manage",
    "okta.realms.read",
    "okta.roles.manage",
    "okta.roles.read",
    "okta.schemas.manage",
    "okta.schemas.read",
    "okta.securityEventsProviders.manage",
    "okta.securityEventsProviders.read",
    "okta.serviceAccounts.manage",
    "okta.serviceAccounts.okta.manage",
    "okta.serviceAccounts.okta.read",
    "okta.serviceAccounts.read",
    "okta.sessions.manage",
    "okta.sessions.read",
    "okta.templates.manage",
    "okta.templates.read",
    "okta.threatInsights.manage",
    "okta.threatInsights.read",
    "okta.trustedOrigins.manage",
    "okta.trustedOrigins.read",
    "okta.uischemas.manage",
    "okta.uischemas.read",
    "okta.userRisk.manage",
    "okta.userRisk.read",
    "okta.userTypes.manage",
    "okta.userTypes.read",
    "okta.users.manage",
    "okta.users.read",
    "ssf.manage",
    "ssf.read",
];

#[derive(Debug, Clone)]
pub struct Grant {
    pub id: Id,
    pub app_id: Id,
    /// The app's OAuth `client_id`.
    pub client_id: String,
    /// The Okta scope granted, e.g. `okta.users.manage`.
    pub scope_id: &'static str,
    /// Who granted it (`createdBy.id`): an admin's user id, or a service app's client id.
    pub created_by: String,
    /// `createdBy.type`: `User`, or the actor type of a service app.
    pub created_by_type: &'static str,
    pub created: Ts,
    pub last_updated: Ts,
}

impl Grant {
    /// The grant as Okta lists it (without `_links`). The `issuer` is the org's URL, which
    /// the emulator knows only per request (`origin`); `_embedded.scope` with
    /// `?expand=scope`.
    pub fn to_value(&self, origin: &str, expand_scope: bool) -> Value {
        let mut v = json!({
            "id": self.id,
            "status": "ACTIVE",
            "created": ts(self.created),
            "createdBy": {"id": self.created_by, "type": self.created_by_type},
            "lastUpdated": ts(self.last_updated),
            "issuer": origin,
            "clientId": self.client_id,
            "scopeId": self.scope_id,
            "source": "ADMIN",
        });
        if expand_scope && let Value::Object(m) = &mut v {
            m.insert("_embedded".into(), json!({"scope": {"id": self.scope_id}}));
        }
        v
    }

    /// `app`, `self` and `client` (titled with the app's label).
    pub fn links(&self, origin: &str, app_label: &str) -> String {
        let (app, id, client) = (self.app_id, self.id, &self.client_id);
        let title = serde_json::to_string(app_label).unwrap_or_else(|_| "\"\"".into());
        format!(
            r#"{{"app":{{"href":"{origin}/api/v1/apps/{app}","title":{title}}},"self":{{"href":"{origin}/api/v1/apps/{app}/grants/{id}","hints":{{"allow":["GET","DELETE"]}}}},"client":{{"href":"{origin}/oauth2/v1/clients/{client}","title":{title}}}}}"#
        )
    }
}

/// The OAuth `client_id` of an OIDC app (`credentials.oauthClient.client_id`), or its id.
pub fn client_id_of(app: &App) -> String {
    app.credentials
        .pointer("/oauthClient/client_id")
        .and_then(Value::as_str)
        .map_or_else(|| app.id.to_string(), str::to_string)
}

impl Org {
    /// An app of the org, one of `apps` or a service app.
    pub fn any_app(&self, id: &Id) -> Option<&App> {
        self.apps.get(id).or_else(|| self.service_apps.get(id))
    }

    /// [`Org::any_app`], to change it.
    pub fn any_app_mut(&mut self, id: &Id) -> Option<&mut App> {
        match self.apps.get_mut(id) {
            Some(a) => Some(a),
            None => self.service_apps.get_mut(id),
        }
    }

    /// Whether `id` is one of the org's OAuth service apps.
    pub fn is_service_app(&self, id: &Id) -> bool {
        self.service_apps.contains_key(id)
    }

    /// Every app `GET /api/v1/apps` lists (`apps` and the service apps) in id order, within
    /// `range` (e.g. after a cursor).
    pub fn listed_apps(&self, range: (Bound<Id>, Bound<Id>)) -> impl Iterator<Item = &App> {
        let mut apps = self.apps.range(range).peekable();
        let mut service = self.service_apps.range(range).peekable();
        std::iter::from_fn(move || {
            let take_app = match (apps.peek(), service.peek()) {
                (Some((a, _)), Some((s, _))) => a <= s,
                (Some(_), None) => true,
                (None, _) => false,
            };
            let next = if take_app {
                apps.next()
            } else {
                service.next()
            };
            next.map(|(_, a)| a)
        })
    }

    /// An app of the org, a service app too; 404 E0000007 when there is none.
    pub fn app_or_service_app(&self, id: &str) -> Result<&App> {
        Id::parse(id)
            .and_then(|a| self.any_app(&a))
            .ok_or_else(|| OktaError::not_found(id, "AppInstance"))
    }

    /// An app's grants in id order (none for an app without).
    pub fn grants_of(&self, app: &Id) -> &[Grant] {
        self.app_grants.get(app).map_or(&[], Vec::as_slice)
    }

    /// `POST /api/v1/apps/{appId}/grants`: grants `scopeId` to an OAuth 2.0 app of the org
    /// (or a service app). `issuer` must be the org authorization server's, the org's URL
    /// (`origin`); the scope one of [`OKTA_SCOPES`], not granted to the app yet. An app that
    /// is no OAuth 2.0 client has no client to grant to. 400 E0000001 for each of these.
    /// Writes `app.oauth2.admin.consent.grant` naming the app; returns the new grant.
    pub fn grant_scope(
        &mut self,
        ctx: &Ctx,
        app: &str,
        issuer: Option<&str>,
        scope: Option<&str>,
        origin: &str,
    ) -> Result<Grant> {
        let a = self.app_or_service_app(app)?;
        let aid = a.id;
        if a.sign_on_mode != "OPENID_CONNECT" {
            return Err(OktaError::validation(
                "appId",
                format!(
                    "The app {} signs on with {}; only OAuth 2.0 (OPENID_CONNECT) apps can be granted Okta scopes",
                    a.label, a.sign_on_mode
                ),
            ));
        }
        match issuer {
            Some(i) if i.trim_end_matches('/') == origin.trim_end_matches('/') => {}
            Some(i) => {
                return Err(OktaError::validation(
                    "issuer",
                    format!("issuer: '{i}' is not this org's authorization server; use {origin}"),
                ));
            }
            None => {
                return Err(OktaError::validation(
                    "issuer",
                    "issuer: The field cannot be left blank",
                ));
            }
        }
        let scope_id = match scope {
            None => {
                return Err(OktaError::validation(
                    "scopeId",
                    "scopeId: The field cannot be left blank",
                ));
            }
            Some(s) => OKTA_SCOPES.iter().find(|x| **x == s).ok_or_else(|| {
                OktaError::validation("scopeId", format!("scopeId: '{s}' is not an Okta scope"))
            })?,
        };
        if self.grants_of(&aid).iter().any(|g| g.scope_id == *scope_id) {
            return Err(OktaError::validation(
                "scopeId",
                format!("scopeId: {scope_id} is already granted to the app"),
            ));
        }
        let (client_id, t) = (client_id_of(a), Target::app(a));
        let grant = Grant {
            id: Id::random(b"oag", &mut self.rng),
            app_id: aid,
            client_id,
            scope_id,
            created_by: ctx.actor.id.clone(),
            created_by_type: ctx.actor.kind,
            created: ctx.now,
            last_updated: ctx.now,
        };
        let list = self.app_grants.entry(aid).or_default();
        // Kept in id order: that is how the list and the export serve them.
        let at = list.partition_point(|g| g.id < grant.id);
        list.insert(at, grant.clone());
        self.emit(ctx, "app.oauth2.admin.consent.grant", vec![t], None);
        Ok(grant)
    }

    /// `DELETE /api/v1/apps/{appId}/grants/{grantId}`: 404 E0000007 for an unknown app or
    /// grant. Writes `app.oauth2.admin.consent.revoke` naming the app.
    pub fn revoke_grant(&mut self, ctx: &Ctx, app: &str, grant: &str) -> Result<()> {
        let a = self.app_or_service_app(app)?;
        let (aid, t) = (a.id, Target::app(a));
        let list = self.app_grants.get_mut(&aid);
        let at = list
            .as_ref()
            .and_then(|l| l.iter().position(|g| g.id.as_str() == grant))
            .ok_or_else(|| OktaError::not_found(grant, "OAuth2ScopeConsentGrant"))?;
        if let Some(l) = list {
            l.remove(at);
            if l.is_empty() {
                self.app_grants.remove(&aid);
            }
        }
        self.emit(ctx, "app.oauth2.admin.consent.revoke", vec![t], None);
        Ok(())
    }
}
