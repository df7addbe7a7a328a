//! The credential conventions Okta admins already have, read as a fallback below every
//! oktasync setting: the environment variables of Okta's SDKs (`OKTA_CLIENT_ORGURL`,
//! `OKTA_CLIENT_TOKEN`, ...) and their file `~/.okta/okta.yaml`:
//!
//! ```yaml
//! okta:
//!   client:
//!     orgUrl: "https://acme.okta.com"
//!     token: "00..."                  # authorizationMode SSWS (the default)
//!     authorizationMode: "PrivateKey" # or OAuth: clientId, scopes, privateKey, privateKeyId
//!     clientId: "0oa..."
//!     scopes: ["okta.users.read", "okta.groups.read"]
//!     privateKey: |                   # PEM or JWK JSON, or a path to a file holding it
//!       -----BEGIN PRIVATE KEY-----
//!       ...
//!     privateKeyId: "kid"
//! ```
//!
//! As in the SDKs, the environment wins over the file. Other keys of the file (proxy,
//! timeouts, cache) are the SDKs' business and ignored. The file is parsed as plain YAML values
//! so that no message about a malformed value can quote it (it may hold a token).

use super::{Layer, SecretSource};
use secrecy::SecretString;
use std::path::{Path, PathBuf};

/// The settings the Okta layers can give, with their names in the SDKs' environment and file.
const NAMES: &[(&str, &str, &str)] = &[
    ("org_url", "OKTA_CLIENT_ORGURL", "orgUrl"),
    ("api_token", "OKTA_CLIENT_TOKEN", "token"),
    ("oauth_client_id", "OKTA_CLIENT_CLIENTID", "clientId"),
    ("oauth_scopes", "OKTA_CLIENT_SCOPES", "scopes"),
    ("oauth_private_key", "OKTA_CLIENT_PRIVATEKEY", "privateKey"),
    ("oauth_key_id", "OKTA_CLIENT_PRIVATEKEYID", "privateKeyId"),
];
const MODE_ENV: &str = "OKTA_CLIENT_AUTHORIZATIONMODE";
const MODE_KEY: &str = "authorizationMode";

/// The SDKs' environment variable for an oktasync key.
pub fn env_name(key: &str) -> Option<&'static str> {
    NAMES
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, env, _)| *env)
}

/// The SDKs' `okta.client` key for an oktasync key.
pub fn yaml_name(key: &str) -> Option<&'static str> {
    NAMES.iter().find(|(k, _, _)| *k == key).map(|(_, _, y)| *y)
}

/// `~/.okta/okta.yaml` under the home directory named by `HOME` (or `USERPROFILE` on
/// Windows) in `env`.
pub fn yaml_path(env: &[(String, String)]) -> Option<PathBuf> {
    let var = |name: &str| {
        env.iter()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.clone())
    };
    let home = var("HOME").or_else(|| {
        if cfg!(windows) {
            var("USERPROFILE")
        } else {
            None
        }
    })?;
    Some(Path::new(&home).join(".okta").join("okta.yaml"))
}

/// How the SDKs' settings say to authenticate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// An API token (the SDKs' default).
    Ssws,
    /// An OAuth service app with a private key.
    PrivateKey,
}

/// One Okta layer: its values, and its `authorizationMode` (as written, if any).
pub struct OktaLayer {
    pub layer: Layer,
    pub mode: Option<String>,
}

impl OktaLayer {
    pub fn mode(&self) -> Option<&str> {
        self.mode.as_deref()
    }
}

/// The `OKTA_CLIENT_*` layer.
pub fn env_layer(env: &[(String, String)]) -> OktaLayer {
    let var = |name: &str| {
        env.iter()
            .find(|(k, v)| k == name && !v.trim().is_empty())
            .map(|(_, v)| v.trim().to_owned())
    };
    let layer = Layer {
        org_url: var("OKTA_CLIENT_ORGURL"),
        api_token: var("OKTA_CLIENT_TOKEN").map(|t| SecretSource::Inline(SecretString::from(t))),
        oauth_client_id: var("OKTA_CLIENT_CLIENTID"),
        oauth_scopes: var("OKTA_CLIENT_SCOPES").map(|s| split_scopes(&s)),
        oauth_private_key: var("OKTA_CLIENT_PRIVATEKEY").map(private_key),
        oauth_key_id: var("OKTA_CLIENT_PRIVATEKEYID"),
        ..Layer::default()
    };
    OktaLayer {
        layer,
        mode: var(MODE_ENV),
    }
}

/// The `~/.okta/okta.yaml` layer: `Ok(None)` when there is no such file, `Err` with a
/// message (naming the file and the key, never a value) when it cannot be used.
pub fn yaml_layer(path: &Path) -> Result<Option<OktaLayer>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(format!(
                "cannot read {}: {}",
                path.display(),
                super::secret::io_cause(&e)
            ));
        }
    };
    let shown = path.display();
    let value: yaml_serde::Value = yaml_serde::from_str(&text).map_err(|e| match e.location() {
        Some(at) => format!(
            "{shown} is not valid YAML (line {}, column {})",
            at.line(),
            at.column()
        ),
        None => format!("{shown} is not valid YAML"),
    })?;
    let client = match value.get("okta").and_then(|o| o.get("client")) {
        None | Some(yaml_serde::Value::Null) => return Ok(None),
        Some(client @ yaml_serde::Value::Mapping(_)) => client,
        Some(_) => return Err(format!("okta.client in {shown} is not a mapping")),
    };
    let text_of = |key: &str| -> Result<Option<String>, String> {
        match client.get(key) {
            None | Some(yaml_serde::Value::Null) => Ok(None),
            Some(yaml_serde::Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(yaml_serde::Value::String(s)) => Ok(Some(s.trim().to_owned())),
            Some(_) => Err(format!("okta.client.{key} in {shown} must be a string")),
        }
    };
    let scopes = match client.get("scopes") {
        None | Some(yaml_serde::Value::Null) => None,
        Some(yaml_serde::Value::String(s)) => Some(split_scopes(s)),
        Some(yaml_serde::Value::Sequence(items)) => Some(
            items
                .iter()
                .map(|i| i.as_str().map(|s| s.trim().to_owned()))
                .collect::<Option<Vec<_>>>()
                .ok_or_else(|| {
                    format!("okta.client.scopes in {shown} must be a list of strings")
                })?,
        ),
        Some(_) => {
            return Err(format!(
                "okta.client.scopes in {shown} must be a list of strings"
            ));
        }
    };
    let layer = Layer {
        org_url: text_of("orgUrl")?,
        api_token: text_of("token")?.map(|t| SecretSource::Inline(SecretString::from(t))),
        oauth_client_id: text_of("clientId")?,
        oauth_scopes: scopes,
        oauth_private_key: text_of("privateKey")?.map(private_key),
        oauth_key_id: text_of("privateKeyId")?,
        ..Layer::default()
    };
    Ok(Some(OktaLayer {
        layer,
        mode: text_of(MODE_KEY)?,
    }))
}

/// The mode the Okta layers ask for together (the environment wins over the file), or a
/// message when it is one oktasync does not support. Without a mode, a token means SSWS (the
/// SDKs' default), and a private key alone means PrivateKey.
pub fn mode(env: &OktaLayer, yaml: Option<(&OktaLayer, &Path)>) -> Result<Mode, String> {
    let given = match (env.mode(), yaml) {
        (Some(m), _) => Some((m, format!("{MODE_ENV} in the environment"))),
        (None, Some((file, path))) => file
            .mode()
            .map(|m| (m, format!("okta.client.{MODE_KEY} in {}", path.display()))),
        (None, None) => None,
    };
    let layers = std::iter::once(env).chain(yaml.map(|(l, _)| l));
    match given {
        None => {
            let (mut token, mut key) = (false, false);
            for l in layers {
                token |= l.layer.api_token.is_some();
                key |= l.layer.oauth_private_key.is_some();
            }
            Ok(if key && !token {
                Mode::PrivateKey
            } else {
                Mode::Ssws
            })
        }
        Some((m, _)) if m.eq_ignore_ascii_case("SSWS") => Ok(Mode::Ssws),
        Some((m, _)) if m.eq_ignore_ascii_case("PrivateKey") => Ok(Mode::PrivateKey),
        Some((m, origin)) => Err(format!(
            "{origin} is {m:?}, which oktasync does not support (SSWS or PrivateKey): the Okta \
             SDK credentials are ignored"
        )),
    }
}

fn split_scopes(text: &str) -> Vec<String> {
    text.split([',', ' '])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(String::from)
        .collect()
}

/// A private key as the SDKs take it: PEM or JWK JSON (a PEM whose line breaks were written
/// as `\n`, as the SDK docs show for environment variables, is accepted), or a path to a file.
fn private_key(value: String) -> SecretSource {
    let trimmed = value.trim();
    if trimmed.starts_with("-----") {
        let pem = if trimmed.contains('\n') {
            trimmed.to_owned()
        } else {
            trimmed.replace("\\n", "\n")
        };
        SecretSource::Inline(SecretString::from(pem))
    } else if trimmed.starts_with('{') {
        SecretSource::Inline(SecretString::from(trimmed.to_owned()))
    } else {
        SecretSource::File(PathBuf::from(trimmed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn the_sdk_file_format_is_read_and_values_never_quoted_in_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("okta.yaml");
        std::fs::write(
            &path,
            "okta:\n  client:\n    connectionTimeout: 30\n    orgUrl: \"https://acme.okta.com\"\n    \
             proxy:\n      port: null\n    authorizationMode: PrivateKey\n    clientId: 0oa1\n    \
             scopes:\n      - okta.users.read\n      - okta.groups.read\n    privateKey: |\n      \
             -----BEGIN PRIVATE KEY-----\n      MC4CAQ\n      -----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let okta = yaml_layer(&path).unwrap().unwrap();
        assert_eq!(okta.mode(), Some("PrivateKey"));
        assert_eq!(okta.layer.org_url.as_deref(), Some("https://acme.okta.com"));
        assert_eq!(okta.layer.oauth_client_id.as_deref(), Some("0oa1"));
        assert_eq!(
            okta.layer.oauth_scopes,
            Some(vec!["okta.users.read".into(), "okta.groups.read".into()])
        );
        match okta.layer.oauth_private_key {
            Some(SecretSource::Inline(k)) => {
                assert!(
                    k.expose_secret()
                        .starts_with("-----BEGIN PRIVATE KEY-----\nMC4CAQ")
                )
            }
            other => panic!("{other:?}"),
        }

        std::fs::write(&path, "okta:\n  client:\n    token: [\"00secret-token\"]\n").unwrap();
        let err = yaml_layer(&path).err().unwrap();
        assert!(
            err.contains("okta.client.token") && !err.contains("00secret"),
            "{err}"
        );
        std::fs::write(&path, "okta:\n  client:\n    token: \"00secret-token\n").unwrap();
        let err = yaml_layer(&path).err().unwrap();
        assert!(
            err.contains("not valid YAML") && !err.contains("00secret"),
            "{err}"
        );
        assert!(yaml_layer(&dir.path().join("none.yaml")).unwrap().is_none());
    }

    #[test]
    fn escaped_pem_and_paths_are_recognised() {
        match private_key("-----BEGIN PRIVATE KEY-----\\nAB\\n-----END PRIVATE KEY-----".into()) {
            SecretSource::Inline(k) => assert_eq!(
                k.expose_secret(),
                "-----BEGIN PRIVATE KEY-----\nAB\n-----END PRIVATE KEY-----"
            ),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            private_key("/keys/k.pem".into()),
            SecretSource::File(_)
        ));
        assert_eq!(split_scopes("a, b c"), vec!["a", "b", "c"]);
    }
}
