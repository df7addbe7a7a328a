//! Settings: typed, layered. Lowest to highest: defaults → Okta's own conventions
//! (`~/.okta/okta.yaml`, then `OKTA_CLIENT_*`: a fallback for the org URL and credentials) →
//! TOML file → `OKTASYNC_*` environment → flags.
//!
//! Keys are flat so that each one has an obvious environment variable (`org_url` ↔
//! `OKTASYNC_ORG_URL`). Any secret key `K` may instead be given as `K_file` (env
//! `OKTASYNC_K_FILE`), a path whose contents are the secret (the Docker/Kubernetes secrets
//! pattern), or as `K_keyring`, the name of an OS keyring entry. One layer may give only one of
//! the three; a higher layer wins whichever form each uses, and only the winner is read.

pub mod detection;
pub mod grants;
mod okta_conventions;
pub mod posture;
pub mod roles;
mod secret;
pub mod serve;
pub mod targets;

use anyhow::{Context, Result, bail};
use config::{Environment, File, FileFormat, Source};
use oktasync_engine::{SyncScope, UserExpression};
use oktasync_store::GroupPattern;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use secret::{SecretSource, io_cause};

/// The prefix of every environment variable oktasync reads.
pub const ENV_PREFIX: &str = "OKTASYNC";
/// The config file read from the current directory when `--config` is not given.
pub const DEFAULT_CONFIG_FILE: &str = "oktasync.toml";
/// The mirror database when neither `--db`, `OKTASYNC_DB` nor `db` says otherwise.
pub const DEFAULT_DB: &str = "./oktasync.db";

/// Every key the file and environment layers accept, with what it means (also the reference
/// `oktasync init` and the README are checked against).
pub const KEYS: &[(&str, &str)] = &[
    (
        "org_url",
        "the org's URL, e.g. https://acme.okta.com (not the -admin console URL)",
    ),
    (
        "db",
        "the mirror: a SQLite file path (default ./oktasync.db) or a postgres:// URL",
    ),
    (
        "db_password",
        "the PostgreSQL password, when not in the db URL or PGPASSWORD (also _file, _keyring)",
    ),
    (
        "org_name",
        "the org's short name in the mirror (default: the first label of its host, acme)",
    ),
    (
        "ca_file",
        "a PEM file of extra CA certificates to trust (a private CA, a TLS-inspecting proxy)",
    ),
    (
        "api_token",
        "an Okta API token (SSWS); prefer api_token_file, the keyring or the environment",
    ),
    ("api_token_file", "a file holding the API token"),
    (
        "api_token_keyring",
        "the name of the OS keyring entry (service oktasync) holding the API token",
    ),
    ("oauth_client_id", "client id of an OAuth 2.0 service app"),
    (
        "oauth_private_key",
        "the service app's private key, PEM or JWK JSON",
    ),
    (
        "oauth_private_key_file",
        "a file holding that private key (PEM or JWK JSON)",
    ),
    (
        "oauth_private_key_keyring",
        "the name of the OS keyring entry holding that private key",
    ),
    (
        "oauth_client_secret",
        "the service app's client secret (instead of a private key)",
    ),
    (
        "oauth_client_secret_file",
        "a file holding the client secret",
    ),
    (
        "oauth_client_secret_keyring",
        "the name of the OS keyring entry holding the client secret",
    ),
    (
        "oauth_scopes",
        "scopes to request (default: those the resources need)",
    ),
    (
        "oauth_key_id",
        "the key id (kid) registered for the key, if any",
    ),
    ("resources", "resources to sync (default: all)"),
    (
        "factors",
        "whose MFA factors to sync: all, admins (default) or none",
    ),
    (
        "max_concurrency",
        "most requests in flight at once (default: the client's)",
    ),
    (
        "log_retention",
        "how long System Log events are kept in the mirror (default 90d, as Okta; 0d keeps none)",
    ),
    (
        "log_backfill",
        "how far back a full sync reads the System Log into the mirror (default 7d; at most log_retention)",
    ),
];

/// Environment variables with the prefix that are not settings (read by clap or the logger).
const NON_SETTING_ENV: &[&str] = &["config", "log", "serve_listen", "serve_metrics_public"];

/// Tables of the config file read by `oktasync serve` (config/serve.rs) and the grant
/// commands (config/grants.rs), not flat keys.
const SERVE_TABLES: &[&str] = &[
    "serve",
    "orgs",
    "webhooks",
    "nats",
    "grants",
    "grant_policies",
    "roles",
    "targets",
    "detection",
    "posture",
];

pub use oktasync_engine::Resource;

/// The Okta OAuth scope reading a resource requires.
pub fn scope_of(resource: Resource) -> &'static str {
    resource.okta_scope()
}

/// The scope that reads the System Log, which incremental sync and `watch` follow.
pub const LOGS_SCOPE: &str = "okta.logs.read";

/// Whose MFA factors a sync reads: the engine's own type, one definition for the workspace.
pub use oktasync_engine::FactorScope;

/// `--factors` on the command line: Okta's three scopes, listed for `--help` and completions.
pub fn factor_scope_parser() -> impl clap::builder::TypedValueParser<Value = FactorScope> {
    use clap::builder::TypedValueParser;
    clap::builder::PossibleValuesParser::new(["all", "admins", "none"])
        .try_map(|s| s.parse::<FactorScope>())
}

/// How an OAuth 2.0 client proves who it is.
pub enum ClientProof {
    /// `private_key_jwt`: PEM (PKCS#8, PKCS#1 or SEC1) or the JWK JSON the console hands out,
    /// and the key's `kid` if the app has several.
    PrivateKey {
        key: SecretString,
        key_id: Option<String>,
    },
    /// A client secret (`client_secret_basic`): Okta Integration Network API service
    /// integrations.
    Secret(SecretString),
}

/// An OAuth 2.0 service app's credentials, as configured. `Debug` never shows a key or secret.
pub struct OAuthSettings {
    pub client_id: String,
    pub proof: ClientProof,
    pub scopes: Vec<String>,
}

impl fmt::Debug for OAuthSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (proof, key_id) = match &self.proof {
            ClientProof::PrivateKey { key_id, .. } => ("private key [REDACTED]", key_id.as_deref()),
            ClientProof::Secret(_) => ("client secret [REDACTED]", None),
        };
        f.debug_struct("OAuthSettings")
            .field("client_id", &self.client_id)
            .field("proof", &proof)
            .field("key_id", &key_id)
            .field("scopes", &self.scopes)
            .finish()
    }
}

/// How oktasync authenticates to the org.
#[derive(Debug)]
pub enum Auth {
    ApiToken(SecretString),
    OAuth(OAuthSettings),
}

impl Auth {
    /// What kind of credential this is, for `doctor`.
    pub fn kind(&self) -> &'static str {
        match self {
            Auth::ApiToken(_) => "API token",
            Auth::OAuth(OAuthSettings {
                proof: ClientProof::PrivateKey { .. },
                ..
            }) => "OAuth service app (private key)",
            Auth::OAuth(OAuthSettings {
                proof: ClientProof::Secret(_),
                ..
            }) => "OAuth service app (client secret)",
        }
    }
}

/// The merged settings a command runs with. Secrets are not read yet: [`Settings::auth`]
/// reads the ones that won. `Debug` shows no secret, and no password inside the org URL.
pub struct Settings {
    pub org_url: Option<String>,
    /// The org's short name in the mirror, when the user chose one.
    pub org_name: Option<String>,
    pub db: PathBuf,
    /// The PostgreSQL password, when it is not in the `db` URL or `PGPASSWORD`.
    pub db_password: Option<SecretSource>,
    pub ca_file: Option<PathBuf>,
    pub api_token: Option<SecretSource>,
    pub oauth_client_id: Option<String>,
    pub oauth_private_key: Option<SecretSource>,
    pub oauth_client_secret: Option<SecretSource>,
    pub oauth_scopes: Option<Vec<String>>,
    pub oauth_key_id: Option<String>,
    pub resources: Vec<Resource>,
    pub factors: FactorScope,
    pub max_concurrency: Option<usize>,
    /// How long kept System Log events stay in the mirror (`log_events`).
    pub log_retention: std::time::Duration,
    /// How far back a full sync reads the System Log into the mirror.
    pub log_backfill: std::time::Duration,
    /// What part of the org a sync mirrors (`[scope]`; the whole org by default).
    pub scope: SyncScope,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
    /// Where each key's value came from, in words ("OKTASYNC_API_TOKEN_FILE in the
    /// environment", "okta.client.token in /home/me/.okta/okta.yaml"), for messages and `doctor`.
    pub origins: BTreeMap<&'static str, String>,
    /// Keys present in the file or environment that oktasync does not know.
    pub unknown_keys: Vec<String>,
    /// Other things worth saying: an Okta SDK file that cannot be used, an unsupported mode.
    pub notes: Vec<String>,
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("org_url", &self.org_url.as_deref().map(redact_userinfo))
            .field("org_name", &self.org_name)
            .field("db", &redact_userinfo(&self.db.to_string_lossy()))
            .field("db_password", &self.db_password)
            .field("ca_file", &self.ca_file)
            .field("api_token", &self.api_token)
            .field("oauth_client_id", &self.oauth_client_id)
            .field("oauth_private_key", &self.oauth_private_key)
            .field("oauth_client_secret", &self.oauth_client_secret)
            .field("oauth_scopes", &self.oauth_scopes)
            .field("oauth_key_id", &self.oauth_key_id)
            .field("resources", &self.resources)
            .field("factors", &self.factors)
            .field("max_concurrency", &self.max_concurrency)
            .field("log_retention", &self.log_retention)
            .field("log_backfill", &self.log_backfill)
            .field("scope", &self.scope.to_string())
            .field("config_file", &self.config_file)
            .field("origins", &self.origins)
            .field("unknown_keys", &self.unknown_keys)
            .field("notes", &self.notes)
            .finish()
    }
}

/// `url` as messages may show it: a user name and password before an `@` (which an Okta org
/// URL never carries) replaced by `***`. Everything up to the last `@` goes, since a password
/// may itself hold `/`, `?`, `#` or `@`.
pub fn redact_userinfo(url: &str) -> String {
    let Some(at) = url.rfind('@') else {
        return url.to_string();
    };
    let start = url.find("://").map_or(0, |i| i + 3).min(at);
    format!("{}***{}", &url[..start], &url[at..])
}

/// One layer's values, before merging. Secrets are not read yet.
#[derive(Default)]
pub struct Layer {
    pub org_url: Option<String>,
    pub org_name: Option<String>,
    pub db: Option<PathBuf>,
    pub db_password: Option<SecretSource>,
    pub ca_file: Option<PathBuf>,
    pub api_token: Option<SecretSource>,
    pub oauth_client_id: Option<String>,
    pub oauth_private_key: Option<SecretSource>,
    pub oauth_client_secret: Option<SecretSource>,
    pub oauth_scopes: Option<Vec<String>>,
    pub oauth_key_id: Option<String>,
    pub resources: Option<Vec<String>>,
    pub factors: Option<String>,
    pub max_concurrency: Option<usize>,
    /// A duration (`90d`).
    pub log_retention: Option<String>,
    /// A duration (`7d`).
    pub log_backfill: Option<String>,
    /// `[scope] app` (`OKTASYNC_SCOPE_APP`, `--scope-app`).
    pub scope_app: Option<String>,
    /// `[scope] groups` (`OKTASYNC_SCOPE_GROUPS`, comma-separated; `--scope-groups`).
    pub scope_groups: Option<Vec<String>>,
    /// `[scope] users` (`OKTASYNC_SCOPE_USERS`, `--scope-users`).
    pub scope_users: Option<String>,
}

impl Layer {
    /// Whether this layer names any credential (then layers below give none).
    fn has_credentials(&self) -> bool {
        self.api_token.is_some()
            || self.oauth_client_id.is_some()
            || self.oauth_private_key.is_some()
            || self.oauth_client_secret.is_some()
    }

    fn drop_credentials(&mut self) {
        self.api_token = None;
        self.drop_oauth();
    }

    fn drop_oauth(&mut self) {
        self.oauth_client_id = None;
        self.oauth_private_key = None;
        self.oauth_client_secret = None;
        self.oauth_scopes = None;
        self.oauth_key_id = None;
    }
}

/// A layer as deserialized, with each secret's forms not yet reduced to one.
#[derive(Deserialize, Default)]
struct RawLayer {
    org_url: Option<String>,
    org_name: Option<String>,
    db: Option<PathBuf>,
    db_password: Option<SecretString>,
    db_password_file: Option<PathBuf>,
    db_password_keyring: Option<String>,
    ca_file: Option<PathBuf>,
    api_token: Option<SecretString>,
    api_token_file: Option<PathBuf>,
    api_token_keyring: Option<String>,
    oauth_client_id: Option<String>,
    oauth_client_id_file: Option<PathBuf>,
    oauth_private_key: Option<SecretString>,
    oauth_private_key_file: Option<PathBuf>,
    oauth_private_key_keyring: Option<String>,
    oauth_client_secret: Option<SecretString>,
    oauth_client_secret_file: Option<PathBuf>,
    oauth_client_secret_keyring: Option<String>,
    oauth_scopes: Option<Vec<String>>,
    oauth_key_id: Option<String>,
    resources: Option<Vec<String>>,
    factors: Option<String>,
    max_concurrency: Option<usize>,
    log_retention: Option<String>,
    log_backfill: Option<String>,
    /// The file's `[scope]` table.
    scope: Option<ScopeTable>,
    scope_app: Option<String>,
    scope_groups: Option<Vec<String>>,
    scope_users: Option<String>,
}

/// `[scope]`: what part of the org a sync mirrors (see [`sync_scope`]).
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ScopeTable {
    app: Option<String>,
    groups: Option<Vec<String>>,
    users: Option<String>,
}

/// The sync scope from its three settings; an error names the setting and shows the form.
fn sync_scope(
    app: Option<String>,
    groups: Option<Vec<String>>,
    users: Option<String>,
) -> Result<SyncScope> {
    let app = app.map(|a| a.trim().to_owned()).filter(|a| !a.is_empty());
    if let Some(app) = &app
        && (app.contains('/') || app.contains(char::is_whitespace))
    {
        bail!(
            "[scope] app: {app:?} is not an app id; give the app's id, such as 0oa1b2c3d4e5f6g7h8i9"
        );
    }
    let groups = groups
        .unwrap_or_default()
        .iter()
        .map(|g| g.trim())
        .filter(|g| !g.is_empty())
        .map(GroupPattern::parse)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| anyhow::anyhow!("[scope] groups: {e}"))?;
    let users = match users.as_deref().map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) => {
            Some(UserExpression::parse(u).map_err(|e| anyhow::anyhow!("[scope] users: {e}"))?)
        }
        None => None,
    };
    Ok(SyncScope { app, groups, users })
}

/// The one form of secret `key` a layer gives, or an error when it gives several.
pub(crate) fn one_of(
    key: &str,
    inline: Option<SecretString>,
    file: Option<PathBuf>,
    keyring: Option<String>,
    source: &str,
) -> Result<Option<SecretSource>> {
    let given: Vec<SecretSource> = [
        inline.map(SecretSource::Inline),
        file.map(SecretSource::File),
        keyring.map(SecretSource::Keyring),
    ]
    .into_iter()
    .flatten()
    .collect();
    match given.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        several => bail!(
            "{} are all set in {source}; keep one of them",
            several
                .iter()
                .map(|s| format!("{key}{}", s.suffix()))
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    }
}

impl RawLayer {
    fn resolve(self, source: &str) -> Result<Layer> {
        let mut table = self.scope;
        let api_token = one_of(
            "api_token",
            self.api_token,
            self.api_token_file,
            self.api_token_keyring,
            source,
        )?;
        let oauth_client_id = match one_of(
            "oauth_client_id",
            self.oauth_client_id.map(SecretString::from),
            self.oauth_client_id_file,
            None,
            source,
        )? {
            Some(id) => Some(
                id.read("oauth_client_id", source)?
                    .expose_secret()
                    .to_owned(),
            ),
            None => None,
        };
        let oauth_private_key = one_of(
            "oauth_private_key",
            self.oauth_private_key,
            self.oauth_private_key_file,
            self.oauth_private_key_keyring,
            source,
        )?;
        let oauth_client_secret = one_of(
            "oauth_client_secret",
            self.oauth_client_secret,
            self.oauth_client_secret_file,
            self.oauth_client_secret_keyring,
            source,
        )?;
        let db_password = one_of(
            "db_password",
            self.db_password,
            self.db_password_file,
            self.db_password_keyring,
            source,
        )?;
        Ok(Layer {
            org_url: self.org_url,
            org_name: self.org_name,
            db: self.db,
            db_password,
            ca_file: self.ca_file,
            api_token,
            oauth_client_id,
            oauth_private_key,
            oauth_client_secret,
            oauth_scopes: self.oauth_scopes,
            oauth_key_id: self.oauth_key_id,
            resources: self.resources,
            factors: self.factors,
            max_concurrency: self.max_concurrency,
            log_retention: self.log_retention,
            log_backfill: self.log_backfill,
            scope_app: self
                .scope_app
                .or_else(|| table.as_mut().and_then(|t| t.app.take())),
            scope_groups: self
                .scope_groups
                .or_else(|| table.as_mut().and_then(|t| t.groups.take())),
            scope_users: self
                .scope_users
                .or_else(|| table.as_mut().and_then(|t| t.users.take())),
        })
    }
}

fn known_key(key: &str) -> bool {
    KEYS.iter().any(|(k, _)| *k == key)
        || matches!(
            key,
            "oauth_client_id_file" | "scope" | "scope_app" | "scope_groups" | "scope_users"
        )
        || SERVE_TABLES.contains(&key)
        // OKTASYNC_TARGET_<NAME>_BEARER_TOKEN and _SECRET (config/targets.rs)
        || (key.starts_with("target_")
            && (key.ends_with("_bearer_token") || key.ends_with("_secret")))
        || NON_SETTING_ENV.contains(&key)
}

fn load_source(
    source: impl Source + Send + Sync + Clone + 'static,
    what: &str,
) -> Result<(Layer, Vec<String>)> {
    let keys = source
        .collect()
        .with_context(|| format!("cannot read {what}"))?;
    let unknown = keys.keys().filter(|k| !known_key(k)).cloned().collect();
    let raw: RawLayer = config::Config::builder()
        .add_source(source)
        .build()
        .and_then(|c| c.try_deserialize())
        .with_context(|| format!("invalid setting in {what}"))?;
    Ok((raw.resolve(what)?, unknown))
}

/// The config file `base` was loaded from, parsed, with its name for messages; `None`
/// without a file. The tables read by commands beyond the flat settings (`[[roles]]`,
/// `[[targets]]`, `[grants]` and `[[grant_policies]]`) come through here.
pub fn file_tables(base: &Settings) -> Result<Option<(toml::Table, String)>> {
    let Some(path) = &base.config_file else {
        return Ok(None);
    };
    let file_name = path.display().to_string();
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {file_name}"))?;
    let table: toml::Table =
        toml::from_str(&text).with_context(|| format!("invalid config file {file_name}"))?;
    Ok(Some((table, file_name)))
}

/// Reads the TOML layer. `explicit` files must exist; the default `oktasync.toml` is optional.
pub fn file_layer(path: &Path, explicit: bool) -> Result<Option<(Layer, Vec<String>)>> {
    if !path.exists() {
        if explicit {
            bail!(
                "config file {} not found; create one with `oktasync init --config {}`",
                path.display(),
                path.display()
            );
        }
        return Ok(None);
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    let what = format!("config file {}", path.display());
    load_source(File::from_str(&text, FileFormat::Toml), &what).map(Some)
}

/// Reads the `OKTASYNC_*` layer from `vars` (the process environment in production).
pub fn env_layer(vars: impl IntoIterator<Item = (String, String)>) -> Result<(Layer, Vec<String>)> {
    let prefix = format!("{ENV_PREFIX}_");
    let vars: config::Map<String, String> = vars
        .into_iter()
        .filter(|(k, _)| k.starts_with(&prefix))
        .collect();
    let env = Environment::with_prefix(ENV_PREFIX)
        .prefix_separator("_")
        .try_parsing(true)
        .list_separator(",")
        .with_list_parse_key("resources")
        .with_list_parse_key("oauth_scopes")
        .with_list_parse_key("scope_groups")
        .ignore_empty(true)
        .source(Some(vars));
    let (layer, unknown) = load_source(env, "the environment")?;
    let unknown = unknown
        .into_iter()
        .map(|k| format!("{ENV_PREFIX}_{}", k.to_ascii_uppercase()))
        .collect();
    Ok((layer, unknown))
}

/// Where the settings come from: paths and flags from the command line.
#[derive(Default)]
pub struct Sources {
    pub config_file: Option<PathBuf>,
    pub flags: Layer,
}

/// Where one layer comes from, lowest first; names a key as that layer spells it.
enum LayerSource {
    OktaYaml(PathBuf),
    OktaEnv,
    File(PathBuf),
    Env,
    Flag,
}

impl LayerSource {
    /// `key` given in the form with `suffix` (`""`, `"_file"`, `"_keyring"`), in words.
    fn describe(&self, key: &str, suffix: &str) -> String {
        match self {
            LayerSource::OktaYaml(path) => format!(
                "okta.client.{} in {}",
                okta_conventions::yaml_name(key).unwrap_or(key),
                path.display()
            ),
            LayerSource::OktaEnv => format!(
                "{} in the environment",
                okta_conventions::env_name(key).unwrap_or(key)
            ),
            LayerSource::File(path) => format!("{key}{suffix} in {}", path.display()),
            LayerSource::Env => format!(
                "{ENV_PREFIX}_{} in the environment",
                format!("{key}{suffix}").to_ascii_uppercase()
            ),
            LayerSource::Flag => format!("--{} on the command line", key.replace('_', "-")),
        }
    }
}

/// The Okta layers (file, then environment) as far as they may be used: their credentials
/// only when oktasync's own layers give none, and only those of the mode they ask for.
fn okta_layers(
    env: &[(String, String)],
    own_credentials: bool,
    notes: &mut Vec<String>,
) -> Vec<(LayerSource, Layer)> {
    let yaml =
        okta_conventions::yaml_path(env).and_then(|path| {
            match okta_conventions::yaml_layer(&path) {
                Ok(layer) => layer.map(|l| (l, path)),
                Err(problem) => {
                    notes.push(format!(
                        "{problem}; oktasync reads that file (the Okta SDKs') only as a fallback \
                     for org_url and credentials: fix it, or move it aside"
                    ));
                    None
                }
            }
        });
    let mut okta_env = okta_conventions::env_layer(env);
    let mode = okta_conventions::mode(&okta_env, yaml.as_ref().map(|(l, p)| (l, p.as_path())));
    let mut layers = Vec::new();
    let mut yaml_layer = yaml.map(|(okta, path)| (LayerSource::OktaYaml(path), okta.layer));
    for layer in yaml_layer
        .iter_mut()
        .map(|(_, l)| l)
        .chain(std::iter::once(&mut okta_env.layer))
    {
        match (&mode, own_credentials) {
            (_, true) => layer.drop_credentials(),
            (Ok(okta_conventions::Mode::Ssws), false) => layer.drop_oauth(),
            (Ok(okta_conventions::Mode::PrivateKey), false) => layer.api_token = None,
            (Err(_), false) => layer.drop_credentials(),
        }
    }
    if let (Err(problem), false) = (&mode, own_credentials) {
        notes.push(problem.clone());
    }
    layers.extend(yaml_layer);
    layers.push((LayerSource::OktaEnv, okta_env.layer));
    layers
}

impl Settings {
    /// Loads defaults → Okta conventions → file → process environment → flags.
    pub fn load(sources: Sources) -> Result<Settings> {
        // vars_os: `vars` panics on a variable that is not UTF-8; such a one is no setting
        let env = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        Settings::load_with_env(sources, env)
    }

    pub fn load_with_env(
        sources: Sources,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings> {
        let env: Vec<(String, String)> = env.into_iter().collect();
        let (path, explicit) = match sources.config_file {
            Some(p) => (p, true),
            None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
        };
        let mut unknown_keys = Vec::new();
        let mut own: Vec<(LayerSource, Layer)> = Vec::new();
        let mut config_file = None;
        if let Some((layer, unknown)) = file_layer(&path, explicit)? {
            unknown_keys.extend(
                unknown
                    .into_iter()
                    .map(|k| format!("{k} (in {})", path.display())),
            );
            own.push((LayerSource::File(path.clone()), layer));
            config_file = Some(path);
        }
        let (env_values, unknown) = env_layer(env.iter().cloned())?;
        unknown_keys.extend(unknown);
        own.push((LayerSource::Env, env_values));
        own.push((LayerSource::Flag, sources.flags));

        let mut notes = Vec::new();
        let own_credentials = own.iter().any(|(_, l)| l.has_credentials());
        let mut layers = okta_layers(&env, own_credentials, &mut notes);
        layers.extend(own);

        let mut origins = BTreeMap::new();
        macro_rules! pick {
            ($field:ident) => {{
                let mut value = None;
                for (source, layer) in layers.iter_mut() {
                    if let Some(v) = layer.$field.take() {
                        value = Some(v);
                        origins.insert(stringify!($field), source.describe(stringify!($field), ""));
                    }
                }
                value
            }};
        }
        macro_rules! pick_secret {
            ($field:ident) => {{
                let mut value: Option<SecretSource> = None;
                for (source, layer) in layers.iter_mut() {
                    if let Some(v) = layer.$field.take() {
                        origins.insert(
                            stringify!($field),
                            source.describe(stringify!($field), v.suffix()),
                        );
                        value = Some(v);
                    }
                }
                value
            }};
        }
        let org_url = pick!(org_url);
        let org_name = pick!(org_name);
        let db = pick!(db).unwrap_or_else(|| PathBuf::from(DEFAULT_DB));
        let db_password = pick_secret!(db_password);
        let ca_file = pick!(ca_file);
        let api_token = pick_secret!(api_token);
        let oauth_client_id = pick!(oauth_client_id);
        let oauth_private_key = pick_secret!(oauth_private_key);
        let oauth_client_secret = pick_secret!(oauth_client_secret);
        let oauth_scopes = pick!(oauth_scopes);
        let oauth_key_id = pick!(oauth_key_id);
        let resources = match pick!(resources) {
            Some(list) => parse_resources(&list)?,
            None => Resource::ALL.to_vec(),
        };
        let factors = match pick!(factors) {
            Some(text) => text
                .parse::<FactorScope>()
                .map_err(|e| anyhow::anyhow!("factors: {e}"))?,
            None => FactorScope::Admins,
        };
        let max_concurrency = pick!(max_concurrency);
        let log_retention = match pick!(log_retention) {
            Some(text) => humantime::parse_duration(text.trim()).map_err(|_| {
                anyhow::anyhow!(
                    "log_retention = {text:?}: give a duration such as 90d (the default, as long \
                     as Okta keeps events) or 30d; 0d keeps no events"
                )
            })?,
            None => oktasync_engine::LOG_RETENTION,
        };
        let log_backfill = match pick!(log_backfill) {
            Some(text) => humantime::parse_duration(text.trim()).map_err(|_| {
                anyhow::anyhow!(
                    "log_backfill = {text:?}: give a duration such as 7d (the default) or 90d \
                     (as far back as Okta keeps events); 0d reads none"
                )
            })?,
            None => oktasync_engine::LOG_BACKFILL,
        };
        let scope = sync_scope(pick!(scope_app), pick!(scope_groups), pick!(scope_users))?;
        Ok(Settings {
            org_url,
            org_name,
            db,
            db_password,
            ca_file,
            api_token,
            oauth_client_id,
            oauth_private_key,
            oauth_client_secret,
            oauth_scopes,
            oauth_key_id,
            resources,
            factors,
            max_concurrency,
            log_retention,
            log_backfill,
            scope,
            config_file,
            origins,
            unknown_keys,
            notes,
        })
    }

    /// A copy for one org of `serve`, whose own URL and credentials the caller sets where
    /// they differ; warnings are not carried over (they were said once already).
    pub fn clone_for_org(&self) -> Settings {
        Settings {
            org_url: self.org_url.clone(),
            org_name: self.org_name.clone(),
            db: self.db.clone(),
            db_password: self.db_password.clone(),
            ca_file: self.ca_file.clone(),
            api_token: self.api_token.clone(),
            oauth_client_id: self.oauth_client_id.clone(),
            oauth_private_key: self.oauth_private_key.clone(),
            oauth_client_secret: self.oauth_client_secret.clone(),
            oauth_scopes: self.oauth_scopes.clone(),
            oauth_key_id: self.oauth_key_id.clone(),
            resources: self.resources.clone(),
            factors: self.factors,
            max_concurrency: self.max_concurrency,
            log_retention: self.log_retention,
            log_backfill: self.log_backfill,
            scope: self.scope.clone(),
            config_file: self.config_file.clone(),
            origins: self.origins.clone(),
            unknown_keys: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Everything worth a warning: unknown keys, and notes about the Okta SDK settings.
    pub fn warnings(&self) -> Vec<String> {
        self.unknown_keys
            .iter()
            .map(|k| format!("unknown setting {k} ignored"))
            .chain(self.notes.iter().cloned())
            .collect()
    }

    /// The org URL, or an error saying how to set it.
    pub fn require_org_url(&self) -> Result<&str> {
        self.org_url.as_deref().context(
            "no org URL: pass --org-url https://YOUR-ORG.okta.com, set OKTASYNC_ORG_URL, \
             or set org_url in oktasync.toml (`oktasync init` writes one)",
        )
    }

    /// The scopes the configured resources need, in a stable order, with the System Log's:
    /// incremental sync reads it (without it every sync is a full one).
    pub fn needed_scopes(&self) -> Vec<&'static str> {
        let mut scopes: Vec<&'static str> = self.resources.iter().map(|r| scope_of(*r)).collect();
        scopes.push(LOGS_SCOPE);
        scopes.sort_unstable();
        scopes.dedup();
        scopes
    }

    /// The credentials to use, with their secrets read (from a file or the keyring if so
    /// configured), or an error naming the settings at fault and every way to fix it.
    pub fn auth(&self) -> Result<Auth> {
        let oauth_keys: Vec<&str> = [
            ("oauth_client_id", self.oauth_client_id.is_some()),
            ("oauth_private_key", self.oauth_private_key.is_some()),
            ("oauth_client_secret", self.oauth_client_secret.is_some()),
        ]
        .into_iter()
        .filter_map(|(k, set)| set.then_some(k))
        .collect();
        if let (Some(_), Some(first)) = (&self.api_token, oauth_keys.first()) {
            bail!(
                "both an API token ({}) and an OAuth service app ({}) are configured; keep one \
                 of them",
                self.origin("api_token"),
                self.origin(first),
            );
        }
        if let Some(token) = &self.api_token {
            return Ok(Auth::ApiToken(
                token.read("api_token", &self.origin("api_token"))?,
            ));
        }
        if oauth_keys.is_empty() {
            bail!("{}", NO_CREDENTIALS);
        }
        let proof = match (&self.oauth_private_key, &self.oauth_client_secret) {
            (Some(_), Some(_)) => bail!(
                "both an OAuth private key ({}) and a client secret ({}) are configured; a \
                 service app authenticates with one of them (its Client Credentials section \
                 says which): keep that one",
                self.origin("oauth_private_key"),
                self.origin("oauth_client_secret"),
            ),
            (Some(key), None) => ClientProof::PrivateKey {
                key: key.read("oauth_private_key", &self.origin("oauth_private_key"))?,
                key_id: self.oauth_key_id.clone(),
            },
            (None, Some(secret)) => {
                if self.oauth_key_id.is_some() {
                    bail!(
                        "oauth_key_id ({}) names a key of a private key, but the service app \
                         is configured with a client secret ({}); remove oauth_key_id",
                        self.origin("oauth_key_id"),
                        self.origin("oauth_client_secret"),
                    );
                }
                ClientProof::Secret(
                    secret.read("oauth_client_secret", &self.origin("oauth_client_secret"))?,
                )
            }
            (None, None) => bail!(
                "an OAuth client id is configured ({}) but neither a private key nor a client \
                 secret: set oauth_private_key_file (or OKTASYNC_OAUTH_PRIVATE_KEY_FILE) to the \
                 PEM or JWK file of the key registered with the service app, or \
                 oauth_client_secret_file (or OKTASYNC_OAUTH_CLIENT_SECRET_FILE) to a file \
                 holding its client secret",
                self.origin("oauth_client_id")
            ),
        };
        let client_id = self.oauth_client_id.clone().with_context(|| {
            format!(
                "an OAuth {} is configured ({}) but no client id: set oauth_client_id (or \
                 OKTASYNC_OAUTH_CLIENT_ID) to the service app's client id",
                match proof {
                    ClientProof::PrivateKey { .. } => "private key",
                    ClientProof::Secret(_) => "client secret",
                },
                self.origin(oauth_keys[0]),
            )
        })?;
        let scopes = match &self.oauth_scopes {
            Some(s) => s.clone(),
            None => self.needed_scopes().into_iter().map(String::from).collect(),
        };
        Ok(Auth::OAuth(OAuthSettings {
            client_id,
            proof,
            scopes,
        }))
    }

    /// Where `key`'s value came from, in words (the key itself when it has no value).
    pub fn origin(&self, key: &str) -> String {
        self.origins
            .get(key)
            .cloned()
            .unwrap_or_else(|| key.to_owned())
    }
}

/// Said when no credential is configured: names every way to give one.
pub const NO_CREDENTIALS: &str = "no Okta credentials found. Provide one of:
  - an API token: set OKTASYNC_API_TOKEN, or OKTASYNC_API_TOKEN_FILE=/path/to/token-file,
    or api_token_file = \"/path/to/token-file\" in oktasync.toml, or
    api_token_keyring = \"NAME\" for an entry of the OS keyring (service \"oktasync\");
  - an OAuth 2.0 service app: oauth_client_id and either oauth_private_key_file (PEM or JWK
    JSON) or oauth_client_secret_file (a client secret), optionally oauth_scopes and
    oauth_key_id, in oktasync.toml, or the same keys as OKTASYNC_OAUTH_CLIENT_ID,
    OKTASYNC_OAUTH_PRIVATE_KEY_FILE, OKTASYNC_OAUTH_CLIENT_SECRET_FILE, ...; each secret also
    as _keyring (an OS keyring entry's name);
  - the Okta SDKs' own settings, read last: OKTA_CLIENT_ORGURL and OKTA_CLIENT_TOKEN (or
    OKTA_CLIENT_AUTHORIZATIONMODE=PrivateKey with OKTA_CLIENT_CLIENTID and
    OKTA_CLIENT_PRIVATEKEY), or ~/.okta/okta.yaml.
`oktasync init` writes a commented oktasync.toml to start from.";

pub fn parse_resources(list: &[String]) -> Result<Vec<Resource>> {
    let mut out = Vec::new();
    for item in list.iter().flat_map(|s| s.split(',')) {
        if item.trim().is_empty() {
            continue;
        }
        let r: Resource = item.parse().map_err(anyhow::Error::msg)?;
        if !out.contains(&r) {
            out.push(r);
        }
    }
    if out.is_empty() {
        bail!(
            "no resources selected; choose from: {}",
            Resource::ALL.map(|r| r.as_str()).join(", ")
        );
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn env_overrides_file_and_flag_overrides_env() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("o.toml");
        std::fs::write(
            &file,
            "org_url = \"https://file.okta.com\"\ndb = \"file.db\"\nfactors = \"none\"\n",
        )
        .unwrap();
        let sources = Sources {
            config_file: Some(file.clone()),
            flags: Layer {
                db: Some("flag.db".into()),
                ..Layer::default()
            },
        };
        let s = Settings::load_with_env(
            sources,
            env(&[
                ("OKTASYNC_ORG_URL", "https://env.okta.com"),
                ("OKTASYNC_DB", "env.db"),
                ("OKTASYNC_RESOURCES", "users,groups"),
            ]),
        )
        .unwrap();
        assert_eq!(s.org_url.as_deref(), Some("https://env.okta.com"));
        assert_eq!(s.db, PathBuf::from("flag.db"));
        assert_eq!(s.factors, FactorScope::None);
        assert_eq!(s.resources, vec![Resource::Users, Resource::Groups]);
        assert_eq!(s.origins["org_url"], "OKTASYNC_ORG_URL in the environment");
        assert_eq!(s.origins["db"], "--db on the command line");
        assert!(
            s.origins["factors"].starts_with("factors in "),
            "{:?}",
            s.origins
        );
    }

    #[test]
    fn secret_file_in_env_beats_inline_secret_in_file() {
        let dir = tempfile::tempdir().unwrap();
        let token_file = dir.path().join("token");
        std::fs::write(&token_file, "from-env-file\n").unwrap();
        let file = dir.path().join("o.toml");
        std::fs::write(&file, "api_token = \"from-file\"\n").unwrap();
        let s = Settings::load_with_env(
            Sources {
                config_file: Some(file),
                ..Sources::default()
            },
            env(&[("OKTASYNC_API_TOKEN_FILE", token_file.to_str().unwrap())]),
        )
        .unwrap();
        match s.auth().unwrap() {
            Auth::ApiToken(t) => assert_eq!(t.expose_secret(), "from-env-file"),
            Auth::OAuth(_) => panic!("expected a token"),
        }
        assert_eq!(
            s.origin("api_token"),
            "OKTASYNC_API_TOKEN_FILE in the environment"
        );
    }

    #[test]
    fn both_inline_and_file_in_one_layer_is_an_error() {
        let err = Settings::load_with_env(
            Sources::default(),
            env(&[
                ("OKTASYNC_API_TOKEN", "x"),
                ("OKTASYNC_API_TOKEN_FILE", "/nonexistent"),
            ]),
        )
        .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("keep one") && text.contains("api_token and api_token_file"),
            "{text}"
        );
    }

    #[test]
    fn missing_credentials_names_every_way() {
        let s = Settings::load_with_env(Sources::default(), env(&[])).unwrap();
        let err = s.auth().unwrap_err().to_string();
        for needle in [
            "OKTASYNC_API_TOKEN",
            "OKTASYNC_API_TOKEN_FILE",
            "api_token_file",
            "oauth_client_id",
            "oauth_client_secret_file",
            "api_token_keyring",
            "OKTA_CLIENT_TOKEN",
            "~/.okta/okta.yaml",
        ] {
            assert!(err.contains(needle), "{needle} missing from: {err}");
        }
    }

    #[test]
    fn oauth_scopes_default_to_what_resources_need() {
        let s = Settings::load_with_env(
            Sources::default(),
            env(&[
                ("OKTASYNC_OAUTH_CLIENT_ID", "0oa1"),
                ("OKTASYNC_OAUTH_PRIVATE_KEY", "-----BEGIN PRIVATE KEY-----"),
                ("OKTASYNC_RESOURCES", "users,apps,factors"),
            ]),
        )
        .unwrap();
        match s.auth().unwrap() {
            Auth::OAuth(o) => {
                assert_eq!(
                    o.scopes,
                    vec!["okta.apps.read", "okta.logs.read", "okta.users.read"]
                );
                let debug = format!("{o:?}");
                assert!(!debug.contains("BEGIN"), "{debug}");
                assert!(matches!(o.proof, ClientProof::PrivateKey { .. }));
            }
            Auth::ApiToken(_) => panic!("expected OAuth"),
        }
    }

    #[test]
    fn log_retention_defaults_to_okta_s_and_is_checked() {
        let s = Settings::load_with_env(Sources::default(), env(&[])).unwrap();
        assert_eq!(s.log_retention, oktasync_engine::LOG_RETENTION);
        assert_eq!(s.log_backfill, oktasync_engine::LOG_BACKFILL);
        let s = Settings::load_with_env(
            Sources::default(),
            env(&[
                ("OKTASYNC_LOG_RETENTION", "30d"),
                ("OKTASYNC_LOG_BACKFILL", "2d"),
            ]),
        )
        .unwrap();
        assert_eq!(s.log_retention, std::time::Duration::from_secs(30 * 86_400));
        assert_eq!(s.log_backfill, std::time::Duration::from_secs(2 * 86_400));
        assert!(s.unknown_keys.is_empty(), "{:?}", s.unknown_keys);
        let err = Settings::load_with_env(
            Sources::default(),
            env(&[("OKTASYNC_LOG_RETENTION", "a while")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("log_retention") && err.contains("90d"),
            "{err}"
        );
    }

    #[test]
    fn unknown_keys_are_reported() {
        let s = Settings::load_with_env(
            Sources::default(),
            env(&[("OKTASYNC_ORG_ULR", "typo"), ("OKTASYNC_LOG", "debug")]),
        )
        .unwrap();
        assert_eq!(s.unknown_keys, vec!["OKTASYNC_ORG_ULR".to_string()]);
    }

    #[test]
    fn debug_never_shows_the_token() {
        let s = Settings::load_with_env(
            Sources::default(),
            env(&[("OKTASYNC_API_TOKEN", "00supersecret")]),
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("00supersecret"));
        let s = Settings::load_with_env(
            Sources::default(),
            env(&[("OKTASYNC_ORG_URL", "https://admin:hunter2@acme.okta.com")]),
        )
        .unwrap();
        let debug = format!("{s:?}");
        assert!(
            !debug.contains("hunter2") && debug.contains("https://***@acme.okta.com"),
            "{debug}"
        );
    }

    #[test]
    fn a_client_secret_is_a_third_form_and_conflicts_are_named() {
        let s = Settings::load_with_env(
            Sources::default(),
            env(&[
                ("OKTASYNC_OAUTH_CLIENT_ID", "0oa1"),
                ("OKTASYNC_OAUTH_CLIENT_SECRET", "s3cret-value"),
            ]),
        )
        .unwrap();
        let auth = s.auth().unwrap();
        assert_eq!(auth.kind(), "OAuth service app (client secret)");
        assert!(!format!("{auth:?}").contains("s3cret"), "{auth:?}");

        let both = Settings::load_with_env(
            Sources::default(),
            env(&[
                ("OKTASYNC_OAUTH_CLIENT_ID", "0oa1"),
                ("OKTASYNC_OAUTH_CLIENT_SECRET", "s3cret-value"),
                ("OKTASYNC_OAUTH_PRIVATE_KEY_FILE", "/k.pem"),
            ]),
        )
        .unwrap()
        .auth()
        .unwrap_err()
        .to_string();
        assert!(
            both.contains("OKTASYNC_OAUTH_PRIVATE_KEY_FILE in the environment")
                && both.contains("OKTASYNC_OAUTH_CLIENT_SECRET in the environment")
                && !both.contains("s3cret"),
            "{both}"
        );

        let with_token = Settings::load_with_env(
            Sources::default(),
            env(&[
                ("OKTASYNC_API_TOKEN", "00t"),
                ("OKTASYNC_OAUTH_CLIENT_SECRET", "s3cret-value"),
            ]),
        )
        .unwrap()
        .auth()
        .unwrap_err()
        .to_string();
        assert!(
            with_token.contains("OKTASYNC_API_TOKEN in the environment")
                && with_token.contains("OKTASYNC_OAUTH_CLIENT_SECRET in the environment"),
            "{with_token}"
        );

        let no_id = Settings::load_with_env(
            Sources::default(),
            env(&[("OKTASYNC_OAUTH_CLIENT_SECRET", "s3cret-value")]),
        )
        .unwrap()
        .auth()
        .unwrap_err()
        .to_string();
        assert!(no_id.contains("no client id"), "{no_id}");
    }

    #[test]
    fn okta_sdk_settings_are_a_fallback_below_every_oktasync_layer() {
        let home = tempfile::tempdir().unwrap();
        std::fs::create_dir(home.path().join(".okta")).unwrap();
        std::fs::write(
            home.path().join(".okta/okta.yaml"),
            "okta:\n  client:\n    orgUrl: https://yaml.okta.com\n    token: 00yaml\n",
        )
        .unwrap();
        let home_var = ("HOME", home.path().to_str().unwrap());
        let token = |s: &Settings| match s.auth().unwrap() {
            Auth::ApiToken(t) => t.expose_secret().to_owned(),
            Auth::OAuth(_) => panic!("expected a token"),
        };

        let s = Settings::load_with_env(Sources::default(), env(&[home_var])).unwrap();
        assert_eq!(s.org_url.as_deref(), Some("https://yaml.okta.com"));
        assert_eq!(token(&s), "00yaml");
        assert!(s.origin("api_token").starts_with("okta.client.token in "));
        assert!(s.origin("api_token").ends_with("okta.yaml"));

        let s = Settings::load_with_env(
            Sources::default(),
            env(&[home_var, ("OKTA_CLIENT_TOKEN", "00okta-env")]),
        )
        .unwrap();
        assert_eq!(token(&s), "00okta-env");
        assert_eq!(
            s.origin("api_token"),
            "OKTA_CLIENT_TOKEN in the environment"
        );
        assert!(s.origin("org_url").starts_with("okta.client.orgUrl in "));

        // oktasync's own credential wins, and the SDKs' credential is not mixed in: an OAuth
        // app configured for oktasync does not conflict with a token in okta.yaml
        let s = Settings::load_with_env(
            Sources::default(),
            env(&[
                home_var,
                ("OKTA_CLIENT_TOKEN", "00okta-env"),
                ("OKTASYNC_OAUTH_CLIENT_ID", "0oa1"),
                ("OKTASYNC_OAUTH_CLIENT_SECRET", "s3cret"),
                ("OKTASYNC_ORG_URL", "https://own.okta.com"),
            ]),
        )
        .unwrap();
        assert!(matches!(s.auth().unwrap(), Auth::OAuth(_)));
        assert_eq!(s.org_url.as_deref(), Some("https://own.okta.com"));

        // an unsupported mode is said, and its credentials are not used
        let s = Settings::load_with_env(
            Sources::default(),
            env(&[home_var, ("OKTA_CLIENT_AUTHORIZATIONMODE", "Bearer")]),
        )
        .unwrap();
        assert!(s.auth().is_err());
        assert!(
            s.warnings()
                .iter()
                .any(|w| w.contains("OKTA_CLIENT_AUTHORIZATIONMODE") && w.contains("Bearer")),
            "{:?}",
            s.warnings()
        );

        // a broken file is a warning, not a failure, and its text is never quoted
        std::fs::write(
            home.path().join(".okta/okta.yaml"),
            "okta:\n  client:\n    token: \"00secret\n",
        )
        .unwrap();
        let s = Settings::load_with_env(
            Sources::default(),
            env(&[home_var, ("OKTASYNC_API_TOKEN", "00own")]),
        )
        .unwrap();
        assert_eq!(token(&s), "00own");
        let warnings = s.warnings().join("\n");
        assert!(
            warnings.contains("okta.yaml") && !warnings.contains("00secret"),
            "{warnings}"
        );
    }
}
