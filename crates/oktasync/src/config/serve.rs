//! `oktasync serve`'s settings: `[serve]` and `[[orgs]]` in the config file, then
//! `OKTASYNC_SERVE_*` in the environment, then flags.
//!
//! ```toml
//! [serve]
//! listen = "127.0.0.1:8080"
//! metrics_public = true
//!
//! [[orgs]]
//! name = "acme"
//! org_url = "https://acme.okta.com"
//! api_token_file = "/run/secrets/acme"   # or any credential form the top level accepts
//! sync_interval = "30s"
//! reconcile_every = "24h"
//! ```
//! With no `[[orgs]]`, the top-level `org_url` and credentials name the one org served.

use super::{RawLayer, SecretSource, Settings, one_of};
use anyhow::{Context, Result, bail};
use secrecy::SecretString;
use serde::Deserialize;
use std::net::SocketAddr;
use std::time::Duration;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_secs(30);
pub const DEFAULT_RECONCILE_EVERY: Duration = Duration::from_secs(24 * 3600);

/// The `[serve]` table.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServeTable {
    listen: Option<String>,
    metrics_public: Option<bool>,
    docs_public: Option<bool>,
}

/// One `[[orgs]]` entry's own keys; the rest are credentials, as at the top level.
#[derive(Debug, Deserialize)]
struct OrgTable {
    name: String,
    org_url: String,
    sync_interval: Option<String>,
    reconcile_every: Option<String>,
}

/// The credential and connection keys an `[[orgs]]` entry may hold besides its own.
const ORG_CREDENTIAL_KEYS: &[&str] = &[
    "ca_file",
    "api_token",
    "api_token_file",
    "api_token_keyring",
    "oauth_client_id",
    "oauth_client_id_file",
    "oauth_private_key",
    "oauth_private_key_file",
    "oauth_private_key_keyring",
    "oauth_client_secret",
    "oauth_client_secret_file",
    "oauth_client_secret_keyring",
    "oauth_scopes",
    "oauth_key_id",
];

/// One org `serve` keeps fresh, with the settings its client is built from.
pub struct ServedOrg {
    pub name: String,
    pub settings: Settings,
    pub sync_interval: Duration,
    pub reconcile_every: Option<Duration>,
}

/// One `[[webhooks]]` entry as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookTable {
    name: Option<String>,
    url: String,
    secret: Option<SecretString>,
    secret_file: Option<std::path::PathBuf>,
    secret_keyring: Option<String>,
    #[serde(default)]
    orgs: Vec<String>,
    #[serde(default)]
    entities: Vec<String>,
}

/// The `[nats]` table: the change feed to NATS JetStream.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NatsSettings {
    /// `nats://host:4222`
    pub url: String,
    /// Subjects are `<subject_prefix>.<org>.changes` (default `oktasync`).
    #[serde(default = "default_prefix")]
    pub subject_prefix: String,
    /// The stream holding them, created if missing (default `OKTASYNC_CHANGES`).
    #[serde(default = "default_stream")]
    pub stream: String,
}

fn default_prefix() -> String {
    "oktasync".into()
}

fn default_stream() -> String {
    "OKTASYNC_CHANGES".into()
}

/// A webhook of the change feed, its secret not yet read.
pub struct WebhookSettings {
    /// Its name: its position in the change log is kept under it (default: its URL).
    pub name: String,
    pub url: String,
    pub secret: SecretSource,
    /// Where the secret was given, for messages.
    pub origin: String,
    pub orgs: Vec<String>,
    pub entities: Vec<String>,
}

/// Everything `serve` needs besides the mirror.
pub struct ServeSettings {
    pub webhooks: Vec<WebhookSettings>,
    pub nats: Option<NatsSettings>,
    pub listen: SocketAddr,
    pub metrics_public: bool,
    pub docs_public: bool,
    pub orgs: Vec<ServedOrg>,
}

fn duration(text: &str, what: &str) -> Result<Duration> {
    humantime::parse_duration(text)
        .with_context(|| format!("{what} = {text:?}: give a duration such as 30s, 5m or 24h"))
}

/// Reads `[serve]` and `[[orgs]]` from the config file that `base` was loaded from, the
/// environment, and the flags given.
pub fn load(
    base: &Settings,
    env: impl IntoIterator<Item = (String, String)>,
    listen_flag: Option<SocketAddr>,
    sync_interval_flag: Option<Duration>,
    reconcile_every_flag: Option<Duration>,
) -> Result<ServeSettings> {
    let (table, file_name) = match &base.config_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read config file {}", path.display()))?;
            let table: toml::Table = toml::from_str(&text)
                .with_context(|| format!("invalid config file {}", path.display()))?;
            (table, path.display().to_string())
        }
        None => (toml::Table::new(), String::new()),
    };
    let serve: ServeTable = match table.get("serve") {
        Some(v) => v.clone().try_into().with_context(|| {
            format!(
                "invalid [serve] in {file_name}: it takes listen, metrics_public and docs_public"
            )
        })?,
        None => ServeTable::default(),
    };
    let env: Vec<(String, String)> = env.into_iter().collect();
    let env_value = |key: &str| env.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let listen_text = env_value("OKTASYNC_SERVE_LISTEN")
        .or(serve.listen)
        .unwrap_or_else(|| DEFAULT_LISTEN.to_owned());
    let listen = match listen_flag {
        Some(addr) => addr,
        None => listen_text.parse().with_context(|| {
            format!(
                "listen = {listen_text:?} is not an address such as 127.0.0.1:8080 or 0.0.0.0:8080"
            )
        })?,
    };
    let metrics_public = match env_value("OKTASYNC_SERVE_METRICS_PUBLIC") {
        Some(v) => v
            .parse()
            .with_context(|| format!("OKTASYNC_SERVE_METRICS_PUBLIC={v:?}: give true or false"))?,
        None => serve.metrics_public.unwrap_or(true),
    };
    let docs_public = match env_value("OKTASYNC_SERVE_DOCS_PUBLIC") {
        Some(v) => v
            .parse()
            .with_context(|| format!("OKTASYNC_SERVE_DOCS_PUBLIC={v:?}: give true or false"))?,
        None => serve.docs_public.unwrap_or(false),
    };

    let mut orgs = Vec::new();
    if let Some(entries) = table.get("orgs") {
        let Some(entries) = entries.as_array() else {
            bail!("orgs in {file_name} must be [[orgs]] tables, one per org");
        };
        if sync_interval_flag.is_some() || reconcile_every_flag.is_some() {
            bail!(
                "--sync-interval and --reconcile-every are for one org given by org_url; with \
                 [[orgs]] in {file_name}, set sync_interval and reconcile_every in each entry"
            );
        }
        for (i, entry) in entries.iter().enumerate() {
            orgs.push(org_entry(
                base,
                entry,
                &format!("[[orgs]] #{} in {file_name}", i + 1),
            )?);
        }
        let mut names: Vec<String> = orgs.iter().map(|o| o.name.to_ascii_lowercase()).collect();
        names.sort();
        if let Some(pair) = names.windows(2).find(|w| w[0] == w[1]) {
            bail!(
                "two [[orgs]] in {file_name} are named {:?}; names must differ",
                pair[0]
            );
        }
    } else if base.org_url.is_some() {
        let name = match &base.org_name {
            Some(name) => name.clone(),
            None => default_name(base.require_org_url()?),
        };
        orgs.push(ServedOrg {
            name,
            settings: base.clone_for_org(),
            sync_interval: sync_interval_flag.unwrap_or(DEFAULT_SYNC_INTERVAL),
            reconcile_every: Some(reconcile_every_flag.unwrap_or(DEFAULT_RECONCILE_EVERY)),
        });
    }
    let mut webhooks = Vec::new();
    if let Some(entries) = table.get("webhooks") {
        let Some(entries) = entries.as_array() else {
            bail!("webhooks in {file_name} must be [[webhooks]] tables, one per receiver");
        };
        for (i, entry) in entries.iter().enumerate() {
            let what = format!("[[webhooks]] #{} in {file_name}", i + 1);
            let hook: WebhookTable = entry.clone().try_into().with_context(|| {
                format!("{what}: a webhook takes url, secret (or secret_file, secret_keyring), name, orgs and entities")
            })?;
            let parsed = url::Url::parse(&hook.url)
                .with_context(|| format!("{what}: url {:?} is not a URL", hook.url))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                bail!("{what}: url must be http:// or https://");
            }
            let Some(secret) = one_of(
                "secret",
                hook.secret,
                hook.secret_file,
                hook.secret_keyring,
                &what,
            )?
            else {
                bail!(
                    "{what}: give the signing secret with secret_file (or secret, secret_keyring); receivers verify each delivery with it"
                );
            };
            let tables: Vec<&str> = oktasync_store::Table::ALL
                .iter()
                .map(|t| t.as_str())
                .collect();
            if let Some(unknown) = hook.entities.iter().find(|e| !tables.contains(&e.as_str())) {
                bail!(
                    "{what}: unknown entity {unknown:?}; the change log's are {}",
                    tables.join(", ")
                );
            }
            webhooks.push(WebhookSettings {
                name: hook.name.unwrap_or_else(|| hook.url.clone()),
                url: hook.url,
                secret,
                origin: what,
                orgs: hook.orgs,
                entities: hook.entities,
            });
        }
        let mut names: Vec<&str> = webhooks.iter().map(|w| w.name.as_str()).collect();
        names.sort_unstable();
        if let Some(pair) = names.windows(2).find(|w| w[0] == w[1]) {
            bail!(
                "two [[webhooks]] in {file_name} are named {:?}; give each its own name",
                pair[0]
            );
        }
    }
    let mut nats: Option<NatsSettings> = match table.get("nats") {
        Some(v) => Some(v.clone().try_into().with_context(|| {
            format!("invalid [nats] in {file_name}: it takes url, subject_prefix and stream")
        })?),
        None => None,
    };
    if let Some(url) = env_value("OKTASYNC_NATS_URL") {
        match &mut nats {
            Some(n) => n.url = url,
            None => {
                nats = Some(NatsSettings {
                    url,
                    subject_prefix: default_prefix(),
                    stream: default_stream(),
                })
            }
        }
    }
    if let Some(n) = &nats {
        if !n.url.starts_with("nats://") && !n.url.starts_with("tls://") {
            bail!("[nats] url {:?} must be nats://HOST:PORT", n.url);
        }
        let token_ok = |t: &str| !t.is_empty() && !t.contains(['.', '*', '>', ' ']);
        if !token_ok(&n.subject_prefix) {
            bail!(
                "[nats] subject_prefix {:?} must be one subject token (no dots, wildcards or spaces)",
                n.subject_prefix
            );
        }
    }
    Ok(ServeSettings {
        webhooks,
        nats,
        listen,
        metrics_public,
        docs_public,
        orgs,
    })
}

/// The short name the mirror gives an org by default.
fn default_name(org_url: &str) -> String {
    oktasync_store::default_org_name(org_url)
}

fn org_entry(base: &Settings, entry: &toml::Value, what: &str) -> Result<ServedOrg> {
    let Some(keys) = entry.as_table() else {
        bail!("{what} must be a table");
    };
    for key in keys.keys() {
        let own = matches!(
            key.as_str(),
            "name" | "org_url" | "sync_interval" | "reconcile_every"
        );
        if !own && !ORG_CREDENTIAL_KEYS.contains(&key.as_str()) {
            bail!(
                "{what}: unknown key {key}; an org takes name, org_url, sync_interval, \
                 reconcile_every and credentials ({})",
                ORG_CREDENTIAL_KEYS.join(", ")
            );
        }
    }
    let own: OrgTable = entry
        .clone()
        .try_into()
        .with_context(|| format!("{what}: each org needs name and org_url"))?;
    let credentials: RawLayer = entry
        .clone()
        .try_into()
        .with_context(|| format!("invalid credentials in {what}"))?;
    let layer = credentials.resolve(what)?;
    let mut settings = base.clone_for_org();
    settings.org_url = Some(own.org_url.clone());
    settings.org_name = Some(own.name.clone());
    if layer.ca_file.is_some() {
        settings.ca_file = layer.ca_file;
    }
    settings.api_token = layer.api_token;
    settings.oauth_client_id = layer.oauth_client_id;
    settings.oauth_private_key = layer.oauth_private_key;
    settings.oauth_client_secret = layer.oauth_client_secret;
    settings.oauth_scopes = layer.oauth_scopes;
    settings.oauth_key_id = layer.oauth_key_id;
    settings.origins.clear();
    for key in [
        "api_token",
        "oauth_client_id",
        "oauth_private_key",
        "oauth_client_secret",
        "oauth_key_id",
    ] {
        settings.origins.insert(key, format!("{key} in {what}"));
    }
    let sync_interval = match &own.sync_interval {
        Some(t) => duration(t, "sync_interval")?,
        None => DEFAULT_SYNC_INTERVAL,
    };
    if sync_interval < Duration::from_secs(1) {
        bail!("{what}: sync_interval must be at least 1s");
    }
    let reconcile_every = match own.reconcile_every.as_deref() {
        Some("off") => None,
        Some(t) => {
            let every = duration(t, "reconcile_every")?;
            if every < Duration::from_secs(60) {
                bail!(
                    "{what}: reconcile_every must be at least 1m (or \"off\"); a full sync reads the whole org"
                );
            }
            Some(every)
        }
        None => Some(DEFAULT_RECONCILE_EVERY),
    };
    Ok(ServedOrg {
        name: own.name,
        settings,
        sync_interval,
        reconcile_every,
    })
}
