//! Tokens of the REST API (`oktasync serve`): who may read the mirror, start syncs, or both,
//! for every org or one. The store keeps a token's hash, never the token.

use crate::error::{Result, StoreError};
use crate::mirror::Mirror;
use crate::sql::args;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// What a token allows. Each scope includes the ones before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenScope {
    /// Every read (`GET`).
    Read,
    /// Reads, and starting syncs (`POST /v1/orgs/{org}/syncs`).
    Sync,
    /// Also asking for, approving, extending and ending grants (`/v1/orgs/{org}/grants`).
    Grant,
    /// Everything.
    Admin,
}

impl TokenScope {
    pub const ALL: [TokenScope; 4] = [
        TokenScope::Read,
        TokenScope::Sync,
        TokenScope::Grant,
        TokenScope::Admin,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenScope::Read => "read",
            TokenScope::Sync => "sync",
            TokenScope::Grant => "grant",
            TokenScope::Admin => "admin",
        }
    }
}

impl std::fmt::Display for TokenScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TokenScope {
    type Err = StoreError;
    fn from_str(s: &str) -> Result<Self> {
        TokenScope::ALL
            .into_iter()
            .find(|scope| scope.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| StoreError::BadTokenScope(s.to_owned()))
    }
}

/// One API token, as listed (its hash is not).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    pub name: String,
    pub scope: TokenScope,
    /// The one org the token reaches (its short name); `None`: every org.
    pub org: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

/// The API tokens of a mirror.
#[async_trait]
pub trait ApiTokens: Send + Sync {
    /// Records a new token by its hash. Names are unique: a taken one is refused.
    async fn create_token(&self, token: &ApiToken, token_hash: &str) -> Result<()>;

    /// Every token, by name.
    async fn tokens(&self) -> Result<Vec<ApiToken>>;

    /// Removes the token with this name; whether there was one.
    async fn revoke_token(&self, name: &str) -> Result<bool>;

    /// The token with this hash, if any, noting that it was used at `now`.
    async fn use_token(&self, token_hash: &str, now: &str) -> Result<Option<ApiToken>>;
}

#[derive(Deserialize)]
struct TokenRow {
    name: String,
    scope: String,
    org_name: Option<String>,
    created_at: String,
    last_used_at: Option<String>,
}

impl TryFrom<TokenRow> for ApiToken {
    type Error = StoreError;
    fn try_from(row: TokenRow) -> Result<Self> {
        Ok(ApiToken {
            scope: row.scope.parse()?,
            name: row.name,
            org: row.org_name,
            created_at: row.created_at,
            last_used_at: row.last_used_at,
        })
    }
}

const TOKEN_COLUMNS: &str = "name, scope, org_name, created_at, last_used_at";

#[async_trait]
impl ApiTokens for Mirror {
    async fn create_token(&self, token: &ApiToken, token_hash: &str) -> Result<()> {
        let mut tx = self.backend.write(None).await?;
        let taken = tx
            .fetch_optional(
                "SELECT name FROM api_tokens WHERE name = $1",
                args![token.name.as_str()],
            )
            .await?;
        if taken.is_some() {
            return Err(StoreError::TokenNameTaken(token.name.clone()));
        }
        tx.execute(
            "INSERT INTO api_tokens (name, scope, org_name, token_hash, created_at, last_used_at)
             VALUES ($1, $2, $3, $4, $5, NULL)",
            args![
                token.name.as_str(),
                token.scope.as_str(),
                token.org.as_deref(),
                token_hash,
                token.created_at.as_str()
            ],
        )
        .await?;
        tx.commit().await
    }

    async fn tokens(&self) -> Result<Vec<ApiToken>> {
        let mut conn = self.backend.conn().await?;
        conn.fetch_all(
            &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY name"),
            args![],
        )
        .await?
        .iter()
        .map(|r| r.decode::<TokenRow>()?.try_into())
        .collect()
    }

    async fn revoke_token(&self, name: &str) -> Result<bool> {
        let mut tx = self.backend.write(None).await?;
        let removed = tx
            .execute("DELETE FROM api_tokens WHERE name = $1", args![name])
            .await?;
        tx.commit().await?;
        Ok(removed > 0)
    }

    async fn use_token(&self, token_hash: &str, now: &str) -> Result<Option<ApiToken>> {
        let mut conn = self.backend.conn().await?;
        let Some(row) = conn
            .fetch_optional(
                &format!("SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1"),
                args![token_hash],
            )
            .await?
        else {
            return Ok(None);
        };
        let token: ApiToken = row.decode::<TokenRow>()?.try_into()?;
        // Once a minute at most: a busy client must not turn every read into a write.
        let stale = token
            .last_used_at
            .as_deref()
            .is_none_or(|last| last.get(..16) != now.get(..16));
        // Bookkeeping only: a busy database (a long sync commit) must not fail the read.
        if stale
            && let Err(e) = conn
                .execute(
                    "UPDATE api_tokens SET last_used_at = $1 WHERE token_hash = $2",
                    args![now, token_hash],
                )
                .await
        {
            tracing::debug!(error = %e, "Could not note when a token was last used.");
        }
        Ok(Some(token))
    }
}
