//! From settings to a client and a store.

use crate::config::{Auth, ClientProof, Settings};
use anyhow::{Context, Result, bail};
use okta_api::{
    ClientConfig, ClientSecretMethod, Credentials, OAuthCredentials, OAuthSecretCredentials,
    OktaClient, OrgUrl, PrivateKey,
};
use oktasync_store::{OrgId, SqliteStore, Store};
use secrecy::ExposeSecret;
use std::path::Path;

/// Turns configured credentials into the client's, reading the private key (PEM or JWK JSON).
pub fn credentials(auth: Auth) -> Result<Credentials> {
    Ok(match auth {
        Auth::ApiToken(token) => Credentials::ApiToken(token),
        Auth::OAuth(oauth) => match oauth.proof {
            ClientProof::PrivateKey { key, key_id } => {
                let text = key.expose_secret();
                let private_key = if text.trim_start().starts_with('{') {
                    PrivateKey::from_jwk_json(text)?
                } else {
                    PrivateKey::from_pem(text)?
                };
                Credentials::OAuth(OAuthCredentials {
                    client_id: oauth.client_id,
                    private_key,
                    scopes: oauth.scopes,
                    key_id,
                })
            }
            // Basic is what the Admin Console sets up for a new client secret.
            ClientProof::Secret(client_secret) => {
                Credentials::OAuthSecret(OAuthSecretCredentials {
                    client_id: oauth.client_id,
                    client_secret,
                    scopes: oauth.scopes,
                    method: ClientSecretMethod::Basic,
                })
            }
        },
    })
}

pub fn client_config(settings: &Settings) -> ClientConfig {
    let mut config = ClientConfig::default();
    if let Some(n) = settings.max_concurrency {
        config.max_concurrency = n.max(1);
    }
    config.ca_file = settings.ca_file.clone();
    config
}

/// The client for the configured org and credentials.
pub fn client(settings: &Settings) -> Result<OktaClient> {
    let org = OrgUrl::parse(settings.require_org_url().map_err(crate::exit::config)?)?;
    let creds = credentials(settings.auth().map_err(crate::exit::config)?)?;
    Ok(OktaClient::new(org, creds, client_config(settings))?)
}

/// Opens an existing mirror read-only: nothing is created, migrated or written, and a file
/// that is not a mirror is refused unchanged (the store's errors say what to run).
pub async fn open_existing(db: &Path) -> Result<SqliteStore> {
    Ok(SqliteStore::open_read_only(db).await?)
}

/// Opens (or creates) the mirror a sync writes, and refuses a damaged one before writing.
pub async fn open_for_sync(db: &Path) -> Result<SqliteStore> {
    let store = SqliteStore::open(db).await?;
    if let Err(e) = store.check_not_damaged().await {
        store.close().await;
        return Err(e.into());
    }
    Ok(store)
}

/// The org the query commands read: the one `--org-url` names, else the mirror's only org.
pub async fn mirror_org(store: &SqliteStore, org_url: Option<&str>) -> Result<OrgId> {
    if let Some(url) = org_url {
        let canonical = OrgUrl::parse(url)?.origin();
        return store.find_org(&canonical).await?.with_context(|| {
            format!(
                "the mirror {} has no org {canonical}; run `oktasync sync` for it",
                store.path().display()
            )
        });
    }
    let orgs = store.orgs().await?;
    match orgs.as_slice() {
        [] => bail!(
            "the mirror {} is empty: run `oktasync sync --db {}` first",
            store.path().display(),
            store.path().display()
        ),
        [(id, _)] => Ok(*id),
        many => bail!(
            "the mirror holds {} orgs; pick one with --org-url ({})",
            many.len(),
            many.iter()
                .map(|(_, u)| u.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}
