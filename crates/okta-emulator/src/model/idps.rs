//! Identity providers: create, rename, activate, deactivate and delete, with the
//! `system.idp.lifecycle.*` events Okta writes.

use super::log::{Ctx, Target};
use super::objects::Idp;
use super::{Id, Org};
use crate::error::{OktaError, Result};
use serde_json::{Value, json};
use std::sync::OnceLock;

/// The IdP types the emulator serves (`IdentityProviderType` values).
pub const IDP_KINDS: [&str; 4] = ["GOOGLE", "SAML2", "MICROSOFT", "OIDC"];

/// The `protocol` of an IdP of `kind`: SAML 2.0 for `SAML2`, OpenID Connect otherwise (the
/// social IdPs Okta offers speak OIDC too).
pub fn idp_protocol(kind: &str) -> Value {
    match kind {
        "SAML2" => json!({
            "type": "SAML2",
            "endpoints": {
                "sso": {"url": "https://adfs.corp.example.com/adfs/ls/", "binding": "HTTP-POST", "destination": "https://adfs.corp.example.com/adfs/ls/"},
                "acs": {"binding": "HTTP-POST", "type": "INSTANCE"},
            },
            "algorithms": {"request": {"signature": {"algorithm": "SHA-256", "scope": "REQUEST"}}, "response": {"signature": {"algorithm": "SHA-256", "scope": "ANY"}}},
            "credentials": {"trust": {"issuer": "http://adfs.corp.example.com/adfs/services/trust", "audience": "https://www.okta.com/saml2/service-provider/spexample", "kid": "your-key-id"}},
        }),
        _ => json!({
            "type": "OIDC",
            "endpoints": {
                "authorization": {"url": "https://idp.example.com/oauth2/v1/authorize", "binding": "HTTP-REDIRECT"},
                "token": {"url": "https://idp.example.com/oauth2/v1/token", "binding": "HTTP-POST"},
            },
            "scopes": ["openid", "profile", "email"],
            // OAuthCredentialsClient allows token_endpoint_auth_method only as private_key_jwt,
            // which needs key material the emulator does not model: leave it out.
            "credentials": {"client": {"client_id": "your-client-id"}},
        }),
    }
}

fn idp_not_found(id: &str) -> OktaError {
    OktaError::not_found(id, "IdentityProvider")
}

fn require_name(name: &str) -> Result<()> {
    if name.trim().is_empty() {
        return Err(OktaError::validation(
            "IdentityProvider",
            "name: The field cannot be left blank",
        ));
    }
    Ok(())
}

impl Org {
    pub fn idp_id(&self, id: &str) -> Result<Id> {
        Id::parse(id)
            .filter(|i| self.idps.contains_key(i))
            .ok_or_else(|| idp_not_found(id))
    }

    fn idp_event(&mut self, ctx: &Ctx, event: &'static str, idp: Id) {
        if let Some(i) = self.idps.get(&idp) {
            let t = Target::idp(i);
            self.emit(ctx, event, vec![t], None);
        }
    }

    /// `POST /api/v1/idps`: an ACTIVE IdP of `kind` (one of [`IDP_KINDS`]).
    pub fn create_idp(&mut self, ctx: &Ctx, kind: &str, name: &str) -> Result<Id> {
        let kind = IDP_KINDS
            .into_iter()
            .find(|k| k.eq_ignore_ascii_case(kind))
            .ok_or_else(|| {
                OktaError::validation(
                    "IdentityProvider",
                    format!("type: '{kind}' is not one of {}", IDP_KINDS.join(", ")),
                )
            })?;
        require_name(name)?;
        let id = Id::random(b"0oa", &mut self.rng);
        self.idps.insert(
            id,
            Idp {
                id,
                kind,
                name: name.to_string(),
                active: true,
                created: ctx.now,
                last_updated: ctx.now,
                protocol: idp_protocol(kind),
                json: OnceLock::new(),
            },
        );
        self.idp_event(ctx, "system.idp.lifecycle.create", id);
        Ok(id)
    }

    /// `PUT /api/v1/idps/{id}`: the emulator's IdPs change only their name.
    pub fn rename_idp(&mut self, ctx: &Ctx, id: &str, name: &str) -> Result<Id> {
        let iid = self.idp_id(id)?;
        require_name(name)?;
        let idp = self.idps.get_mut(&iid).ok_or_else(|| idp_not_found(id))?;
        idp.name = name.to_string();
        idp.last_updated = ctx.now;
        idp.json = OnceLock::new();
        self.idp_event(ctx, "system.idp.lifecycle.update", iid);
        Ok(iid)
    }

    /// `POST /api/v1/idps/{id}/lifecycle/activate|deactivate` (a no-op when already there).
    pub fn set_idp_active(&mut self, ctx: &Ctx, id: &str, active: bool) -> Result<Id> {
        let iid = self.idp_id(id)?;
        let idp = self.idps.get_mut(&iid).ok_or_else(|| idp_not_found(id))?;
        if idp.active != active {
            idp.active = active;
            idp.last_updated = ctx.now;
            idp.json = OnceLock::new();
            let event = if active {
                "system.idp.lifecycle.activate"
            } else {
                "system.idp.lifecycle.deactivate"
            };
            self.idp_event(ctx, event, iid);
        }
        Ok(iid)
    }

    /// `DELETE /api/v1/idps/{id}`: Okta deletes an IdP whatever its status (its users are
    /// unlinked and keep their accounts).
    pub fn delete_idp(&mut self, ctx: &Ctx, id: &str) -> Result<()> {
        let iid = self.idp_id(id)?;
        self.idp_event(ctx, "system.idp.lifecycle.delete", iid);
        self.idps.remove(&iid);
        Ok(())
    }
}
