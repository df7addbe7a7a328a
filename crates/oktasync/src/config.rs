//! Settings: typed, layered defaults → TOML file → `OKTASYNC_*` environment → flags.
//!
//! Keys are flat so that each one has an obvious environment variable (`org_url` ↔
//! `OKTASYNC_ORG_URL`). Any secret key `K` may instead be given as `K_file` (env `OKTASYNC_K_FILE`),
//! a path whose contents are the secret: the Docker/Kubernetes secrets pattern lldap uses. Each
//! layer resolves its own `_file` keys before layers merge, so a higher layer always wins.

use anyhow::{Context, Result, bail};
use config::{Environment, File, FileFormat, Source};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

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
    ("db", "path of the SQLite mirror (default ./oktasync.db)"),
    (
        "api_token",
        "an Okta API token (SSWS); prefer api_token_file or the environment",
    ),
    ("api_token_file", "a file holding the API token"),
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
];

/// Environment variables with the prefix that are not settings (read by clap or the logger).
const NON_SETTING_ENV: &[&str] = &["config", "log"];

pub use oktasync_engine::Resource;

/// The Okta OAuth scope reading a resource requires.
pub fn scope_of(resource: Resource) -> &'static str {
    match resource {
        Resource::Users | Resource::Factors => "okta.users.read",
        Resource::Groups | Resource::Memberships => "okta.groups.read",
        Resource::Apps | Resource::AppUsers | Resource::AppGroups => "okta.apps.read",
        Resource::Roles => "okta.roles.read",
        Resource::Idps => "okta.idps.read",
    }
}

/// The scope that reads the System Log, which incremental sync and `watch` follow.
pub const LOGS_SCOPE: &str = "okta.logs.read";

/// Whose MFA factors a sync reads (one call per user, so admins only by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FactorsMode {
    All,
    Admins,
    None,
}

impl FactorsMode {
    pub fn scope(self) -> oktasync_engine::FactorScope {
        match self {
            FactorsMode::All => oktasync_engine::FactorScope::All,
            FactorsMode::Admins => oktasync_engine::FactorScope::Admins,
            FactorsMode::None => oktasync_engine::FactorScope::None,
        }
    }

    fn parse(text: &str) -> Result<FactorsMode> {
        match text.trim().to_ascii_lowercase().as_str() {
            "all" => Ok(FactorsMode::All),
            "admins" => Ok(FactorsMode::Admins),
            "none" => Ok(FactorsMode::None),
            _ => bail!("factors must be all, admins or none (got {text:?})"),
        }
    }
}

/// An OAuth 2.0 service app's credentials, as configured.
pub struct OAuthSettings {
    pub client_id: String,
    /// PEM (PKCS#8, PKCS#1 or SEC1) or the JWK JSON the Okta console hands out.
    pub private_key: SecretString,
    pub scopes: Vec<String>,
    pub key_id: Option<String>,
}

impl fmt::Debug for OAuthSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthSettings")
            .field("client_id", &self.client_id)
            .field("private_key", &"[REDACTED]")
            .field("scopes", &self.scopes)
            .field("key_id", &self.key_id)
            .finish()
    }
}

/// How oktasync authenticates to the org.
#[derive(Debug)]
pub enum Auth {
    ApiToken(SecretString),
    OAuth(OAuthSettings),
}

/// The merged settings a command runs with.
#[derive(Debug)]
pub struct Settings {
    pub org_url: Option<String>,
    pub db: PathBuf,
    pub api_token: Option<SecretString>,
    pub oauth_client_id: Option<String>,
    pub oauth_private_key: Option<SecretString>,
    pub oauth_scopes: Option<Vec<String>>,
    pub oauth_key_id: Option<String>,
    pub resources: Vec<Resource>,
    pub factors: FactorsMode,
    pub max_concurrency: Option<usize>,
    /// The config file that was read, if any.
    pub config_file: Option<PathBuf>,
    /// Where each key's value came from ("file", "env", "flag"), for `doctor`.
    pub origins: BTreeMap<&'static str, &'static str>,
    /// Keys present in the file or environment that oktasync does not know.
    pub unknown_keys: Vec<String>,
}

/// One layer's values, before merging. Secrets are already read from their `_file`.
#[derive(Default)]
pub struct Layer {
    pub org_url: Option<String>,
    pub db: Option<PathBuf>,
    pub api_token: Option<SecretString>,
    pub oauth_client_id: Option<String>,
    pub oauth_private_key: Option<SecretString>,
    pub oauth_scopes: Option<Vec<String>>,
    pub oauth_key_id: Option<String>,
    pub resources: Option<Vec<String>>,
    pub factors: Option<String>,
    pub max_concurrency: Option<usize>,
}

/// A layer as deserialized, with `_file` indirections not yet read.
#[derive(Deserialize, Default)]
struct RawLayer {
    org_url: Option<String>,
    db: Option<PathBuf>,
    api_token: Option<SecretString>,
    api_token_file: Option<PathBuf>,
    oauth_client_id: Option<String>,
    oauth_client_id_file: Option<PathBuf>,
    oauth_private_key: Option<SecretString>,
    oauth_private_key_file: Option<PathBuf>,
    oauth_scopes: Option<Vec<String>>,
    oauth_key_id: Option<String>,
    resources: Option<Vec<String>>,
    factors: Option<String>,
    max_concurrency: Option<usize>,
}

/// Reads a secret from a file, trimming surrounding whitespace (editors add a final newline).
fn read_secret_file(key: &str, path: &Path, source: &str) -> Result<SecretString> {
    let text = std::fs::read_to_string(path).with_context(|| {
        format!(
            "cannot read {key}_file {} (set in {source}); check the path and its permissions",
            path.display()
        )
    })?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        bail!("{key}_file {} (set in {source}) is empty", path.display());
    }
    Ok(SecretString::from(trimmed.to_owned()))
}

fn one_of(
    key: &str,
    inline: Option<SecretString>,
    file: Option<PathBuf>,
    source: &str,
) -> Result<Option<SecretString>> {
    match (inline, file) {
        (Some(_), Some(_)) => {
            bail!("both {key} and {key}_file are set in {source}; keep one of them")
        }
        (Some(value), None) => Ok(Some(value)),
        (None, Some(path)) => read_secret_file(key, &path, source).map(Some),
        (None, None) => Ok(None),
    }
}

impl RawLayer {
    fn resolve(self, source: &str) -> Result<Layer> {
        let api_token = one_of("api_token", self.api_token, self.api_token_file, source)?;
        let oauth_client_id = one_of(
            "oauth_client_id",
            self.oauth_client_id.map(SecretString::from),
            self.oauth_client_id_file,
            source,
        )?
        .map(|id| id.expose_secret().to_owned());
        let oauth_private_key = one_of(
            "oauth_private_key",
            self.oauth_private_key,
            self.oauth_private_key_file,
            source,
        )?;
        Ok(Layer {
            org_url: self.org_url,
            db: self.db,
            api_token,
            oauth_client_id,
            oauth_private_key,
            oauth_scopes: self.oauth_scopes,
            oauth_key_id: self.oauth_key_id,
            resources: self.resources,
            factors: self.factors,
            max_concurrency: self.max_concurrency,
        })
    }
}

fn known_key(key: &str) -> bool {
    KEYS.iter().any(|(k, _)| *k == key)
        || matches!(key, "oauth_client_id_file")
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

impl Settings {
    /// Loads defaults → file → process environment → flags.
    pub fn load(sources: Sources) -> Result<Settings> {
        Settings::load_with_env(sources, std::env::vars())
    }

    pub fn load_with_env(
        sources: Sources,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Settings> {
        let (path, explicit) = match sources.config_file {
            Some(p) => (p, true),
            None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
        };
        let mut unknown_keys = Vec::new();
        let mut layers: Vec<(&'static str, Layer)> = Vec::new();
        let mut config_file = None;
        if let Some((layer, unknown)) = file_layer(&path, explicit)? {
            unknown_keys.extend(
                unknown
                    .into_iter()
                    .map(|k| format!("{k} (in {})", path.display())),
            );
            layers.push(("file", layer));
            config_file = Some(path);
        }
        let (env, unknown) = env_layer(env)?;
        unknown_keys.extend(unknown);
        layers.push(("env", env));
        layers.push(("flag", sources.flags));

        let mut origins = BTreeMap::new();
        macro_rules! pick {
            ($field:ident) => {{
                let mut value = None;
                for (origin, layer) in layers.iter_mut() {
                    if let Some(v) = layer.$field.take() {
                        value = Some(v);
                        origins.insert(stringify!($field), *origin);
                    }
                }
                value
            }};
        }
        let org_url = pick!(org_url);
        let db = pick!(db).unwrap_or_else(|| PathBuf::from(DEFAULT_DB));
        let api_token = pick!(api_token);
        let oauth_client_id = pick!(oauth_client_id);
        let oauth_private_key = pick!(oauth_private_key);
        let oauth_scopes = pick!(oauth_scopes);
        let oauth_key_id = pick!(oauth_key_id);
        let resources = match pick!(resources) {
            Some(list) => parse_resources(&list)?,
            None => Resource::ALL.to_vec(),
        };
        let factors = match pick!(factors) {
            Some(text) => FactorsMode::parse(&text)?,
            None => FactorsMode::Admins,
        };
        let max_concurrency = pick!(max_concurrency);
        Ok(Settings {
            org_url,
            db,
            api_token,
            oauth_client_id,
            oauth_private_key,
            oauth_scopes,
            oauth_key_id,
            resources,
            factors,
            max_concurrency,
            config_file,
            origins,
            unknown_keys,
        })
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

    /// The credentials to use, or an error naming every way to provide them.
    pub fn auth(&self) -> Result<Auth> {
        let oauth_configured = self.oauth_client_id.is_some() || self.oauth_private_key.is_some();
        match (&self.api_token, oauth_configured) {
            (Some(_), true) => bail!(
                "both an API token ({}) and an OAuth service app ({}) are configured; keep one \
                 of them",
                self.origin("api_token"),
                self.origin(if self.oauth_client_id.is_some() {
                    "oauth_client_id"
                } else {
                    "oauth_private_key"
                }),
            ),
            (Some(token), false) => Ok(Auth::ApiToken(token.clone())),
            (None, true) => {
                let client_id = self.oauth_client_id.clone().context(
                    "an OAuth private key is configured but no client id: set oauth_client_id \
                     (or OKTASYNC_OAUTH_CLIENT_ID) to the service app's client id",
                )?;
                let private_key = self.oauth_private_key.clone().context(
                    "an OAuth client id is configured but no private key: set \
                     oauth_private_key_file (or OKTASYNC_OAUTH_PRIVATE_KEY_FILE) to the PEM or \
                     JWK file of the key registered with the service app",
                )?;
                let scopes = match &self.oauth_scopes {
                    Some(s) => s.clone(),
                    None => self.needed_scopes().into_iter().map(String::from).collect(),
                };
                Ok(Auth::OAuth(OAuthSettings {
                    client_id,
                    private_key,
                    scopes,
                    key_id: self.oauth_key_id.clone(),
                }))
            }
            (None, false) => bail!("{}", NO_CREDENTIALS),
        }
    }

    fn origin(&self, key: &str) -> String {
        match self.origins.get(key) {
            Some(&"file") => format!(
                "{key} in {}",
                self.config_file
                    .as_deref()
                    .unwrap_or(Path::new(DEFAULT_CONFIG_FILE))
                    .display()
            ),
            Some(&"env") => format!(
                "{ENV_PREFIX}_{} in the environment",
                key.to_ascii_uppercase()
            ),
            Some(&"flag") => format!("--{} on the command line", key.replace('_', "-")),
            _ => key.to_owned(),
        }
    }
}

/// Said when no credential is configured: names every way to give one.
pub const NO_CREDENTIALS: &str = "no Okta credentials found. Provide one of:
  - an API token: set OKTASYNC_API_TOKEN, or OKTASYNC_API_TOKEN_FILE=/path/to/token-file,
    or api_token_file = \"/path/to/token-file\" in oktasync.toml;
  - an OAuth 2.0 service app: oauth_client_id and oauth_private_key_file (PEM or JWK JSON),
    optionally oauth_scopes and oauth_key_id, in oktasync.toml, or the same keys as
    OKTASYNC_OAUTH_CLIENT_ID, OKTASYNC_OAUTH_PRIVATE_KEY_FILE, OKTASYNC_OAUTH_SCOPES,
    OKTASYNC_OAUTH_KEY_ID.
The OS keyring is not supported on this build.
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
        assert_eq!(s.factors, FactorsMode::None);
        assert_eq!(s.resources, vec![Resource::Users, Resource::Groups]);
        assert_eq!(s.origins["org_url"], "env");
        assert_eq!(s.origins["db"], "flag");
        assert_eq!(s.origins["factors"], "file");
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
        assert!(err.to_string().contains("keep one"), "{err}");
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
            "keyring is not supported",
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
            }
            Auth::ApiToken(_) => panic!("expected OAuth"),
        }
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
    }
}
