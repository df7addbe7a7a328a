//! `oktasync init`: a commented config file to start from.

use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::Path;

/// The file `oktasync init` writes. Every key is listed; secrets are commented out so that the
/// file itself never has to hold one.
pub const TEMPLATE: &str = r#"# oktasync configuration.
#
# Layers, lowest to highest: built-in defaults, this file, OKTASYNC_* environment variables,
# command-line flags. Every key below has an environment variable: the key in upper case with
# the OKTASYNC_ prefix (org_url -> OKTASYNC_ORG_URL). Any secret key K can instead be given as
# K_file (env OKTASYNC_K_FILE): a path to a file holding the secret (Docker/Kubernetes secrets).
# Relative paths are relative to the current directory.

# Your org's URL (not the "-admin" console URL).       env OKTASYNC_ORG_URL, flag --org-url
org_url = "https://YOUR-ORG.okta.com"

# The SQLite mirror. Created owner-read/write only.      env OKTASYNC_DB, flag --db
db = "./oktasync.db"

# --- Credentials: an API token OR an OAuth 2.0 service app (not both) ----------------------
# The OS keyring is not supported on this build; use the environment or a file.
#
# API token (Okta Admin Console > Security > API > Tokens). Prefer the environment
# (OKTASYNC_API_TOKEN) or a file over writing the token here.
# api_token_file = "/run/secrets/okta-api-token"        # env OKTASYNC_API_TOKEN_FILE
# api_token = "00..."                                   # env OKTASYNC_API_TOKEN
#
# OAuth 2.0 service app with private_key_jwt (Applications > Create App Integration >
# API Services). Grant it the scopes below and an admin role (e.g. Read-only Administrator).
# oauth_client_id = "0oa..."                            # env OKTASYNC_OAUTH_CLIENT_ID
# oauth_private_key_file = "./okta-private-key.pem"     # PEM or the JWK JSON from the console
#                                                       # env OKTASYNC_OAUTH_PRIVATE_KEY_FILE
# oauth_key_id = "..."                                  # the key's kid, if the app has several
# oauth_scopes = ["okta.users.read", "okta.groups.read", "okta.apps.read",
#                 "okta.roles.read", "okta.idps.read",
#                 "okta.logs.read"]  # default: what `resources` need, and okta.logs.read
#                                    # (the System Log: without it every sync is a full one)

# --- Sync ---------------------------------------------------------------------------------
# What to mirror (default: all). env OKTASYNC_RESOURCES="users,groups", flag --resources
# resources = ["users", "groups", "memberships", "apps", "app_users", "app_groups",
#              "roles", "idps", "factors"]

# Whose MFA factors to read: "all", "admins" or "none" (one call per user).
factors = "admins"                                      # env OKTASYNC_FACTORS, flag --factors

# Most requests in flight at once (default: the client's own limit).
# max_concurrency = 16                                  # env OKTASYNC_MAX_CONCURRENCY
"#;

/// Writes the template to `path`, refusing to overwrite unless `force`.
pub fn write_template(path: &Path, force: bool) -> Result<()> {
    if path.exists() && !force {
        bail!(
            "{} already exists; pass --force to overwrite it",
            path.display()
        );
    }
    let mut file =
        std::fs::File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    file.write_all(TEMPLATE.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{KEYS, Settings, Sources};

    #[test]
    fn template_parses_and_mentions_every_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("oktasync.toml");
        write_template(&path, false).unwrap();
        let s = Settings::load_with_env(
            Sources {
                config_file: Some(path.clone()),
                ..Sources::default()
            },
            Vec::new(),
        )
        .unwrap();
        assert_eq!(s.org_url.as_deref(), Some("https://YOUR-ORG.okta.com"));
        assert!(s.unknown_keys.is_empty());
        for (key, _) in KEYS {
            assert!(TEMPLATE.contains(key), "template does not mention {key}");
        }
        assert!(write_template(&path, false).is_err());
        write_template(&path, true).unwrap();
    }
}
