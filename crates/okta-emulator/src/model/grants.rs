//! OAuth 2.0 scope consent grants of apps (`/api/v1/apps/{appId}/grants`): the Okta scopes
//! (`okta.users.read`, …) an admin let an app request from the org authorization server.
//!
//! Grants belong to OIDC apps of the org (`Org::apps`) and to the org's OAuth service apps
//! (`Org::service_apps`). The service apps are kept apart from `Org::apps` so that the app
//! list, app assignments and the default export stay what they were before the emulator had
//! grants: `GET /api/v1/apps` does not list them, `GET /api/v1/apps/{id}` and their grants
//! serve them.

use super::Org;
use super::ids::{Id, Ts};
use super::objects::{App, ts};
use crate::error::{OktaError, Result};
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct Grant {
    pub id: Id,
    pub app_id: Id,
    /// The app's OAuth `client_id`.
    pub client_id: String,
    /// The Okta scope granted, e.g. `okta.users.manage`.
    pub scope_id: &'static str,
    /// The admin who granted it.
    pub created_by: Id,
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
            "createdBy": {"id": self.created_by, "type": "User"},
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
    /// An app of the org or one of its OAuth service apps; 404 E0000007 when there is none.
    pub fn app_or_service_app(&self, id: &str) -> Result<&App> {
        Id::parse(id)
            .and_then(|a| self.apps.get(&a).or_else(|| self.service_apps.get(&a)))
            .ok_or_else(|| OktaError::not_found(id, "AppInstance"))
    }

    /// An app's grants in id order (none for an app without).
    pub fn grants_of(&self, app: &Id) -> &[Grant] {
        self.app_grants.get(app).map_or(&[], Vec::as_slice)
    }
}
