//! Okta API tokens (`/api/v1/api-tokens`): the metadata Okta lists, never a secret. Admins
//! create them in the Admin Console (`system.api_token.create`, see the `api-token-anywhere`
//! scenario) and revoke them through the API (`system.api_token.revoke`).

use super::Org;
use super::ids::{Id, Ts, format_ts};
use super::log::{Ctx, Event, Target};
use crate::error::{OktaError, Result};
use bytes::Bytes;
use serde_json::{Value, json};
use std::sync::OnceLock;

/// An API token expires after this long unused (`tokenWindow`, Okta's default 30 days).
pub const TOKEN_WINDOW: &str = "P30D";
const TOKEN_WINDOW_MS: i64 = 30 * 86_400_000;

/// Where a token may be used from (`network`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenNetwork {
    /// `ANYWHERE` or `ZONE`.
    pub connection: &'static str,
    /// Network zone ids (`nzo…`) the token is limited to; `None` when not limited.
    pub include: Option<Vec<String>>,
    pub exclude: Option<Vec<String>>,
}

impl TokenNetwork {
    pub fn anywhere() -> Self {
        TokenNetwork {
            connection: "ANYWHERE",
            include: None,
            exclude: None,
        }
    }

    /// Usable only from the given network zones.
    pub fn zones(include: Vec<String>) -> Self {
        TokenNetwork {
            connection: "ZONE",
            include: Some(include),
            exclude: None,
        }
    }
}

#[derive(Debug)]
pub struct ApiToken {
    pub id: Id,
    pub name: String,
    /// The admin the token acts as.
    pub user_id: Id,
    pub created: Ts,
    pub last_updated: Ts,
    pub network: TokenNetwork,
    pub json: OnceLock<Bytes>,
}

impl ApiToken {
    pub fn new(id: Id, name: &str, user_id: Id, at: Ts, network: TokenNetwork) -> Self {
        ApiToken {
            id,
            name: name.to_string(),
            user_id,
            created: at,
            last_updated: at,
            network,
            json: OnceLock::new(),
        }
    }

    /// The token's metadata as `GET /api/v1/api-tokens` lists it (without `_links`).
    pub fn to_value(&self) -> Value {
        json!({
            "id": self.id,
            "name": self.name,
            "userId": self.user_id,
            "clientName": "Okta API",
            "tokenWindow": TOKEN_WINDOW,
            "created": format_ts(self.created),
            "lastUpdated": format_ts(self.last_updated),
            "expiresAt": format_ts(self.last_updated + TOKEN_WINDOW_MS),
            "network": {
                "connection": self.network.connection,
                "include": self.network.include,
                "exclude": self.network.exclude,
            },
        })
    }

    pub fn json(&self) -> Bytes {
        self.json
            .get_or_init(|| Bytes::from(serde_json::to_vec(&self.to_value()).unwrap_or_default()))
            .clone()
    }
}

impl Org {
    /// An admin creates an API token in the Admin Console (`system.api_token.create`, its
    /// network condition in `debugData.networkConnection`). The token acts as `ctx`'s actor.
    pub fn create_api_token(&mut self, ctx: &Ctx, name: &str, network: TokenNetwork) -> Id {
        let id = Id::random(b"00T", &mut self.rng);
        let user_id = Id::parse(&ctx.actor.id).unwrap_or(id);
        let connection = network.connection;
        self.api_tokens
            .insert(id, ApiToken::new(id, name, user_id, ctx.now, network));
        let event = Event::new("system.api_token.create", vec![Target::token(&id, name)])
            .debug("networkConnection", connection);
        self.emit_event(&ctx.at("/api/internal/tokens"), ctx.published, event);
        id
    }

    /// `DELETE /api/v1/api-tokens/{id}`: the token is revoked and can no longer
    /// be listed; 404 E0000007 for an unknown id. Writes `system.api_token.revoke` naming the
    /// token as `system.api_token.create` does (Okta's recorded revoke event: type `Token`,
    /// `alternateId` unknown, the token's name).
    pub fn revoke_api_token(&mut self, ctx: &Ctx, id: &str) -> Result<()> {
        let token = Id::parse(id)
            .and_then(|t| self.api_tokens.remove(&t))
            .ok_or_else(|| OktaError::not_found(id, "ApiToken"))?;
        let t = Target::token(&token.id, &token.name);
        self.emit(ctx, "system.api_token.revoke", vec![t], None);
        Ok(())
    }
}
