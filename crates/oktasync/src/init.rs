//! `oktasync init`: a commented config file to start from.

use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::Path;

/// The file `oktasync init` writes. Every key is listed; secrets are commented out so that the
/// file itself never has to hold one.
pub const TEMPLATE: &str = r#"# oktasync configuration.
#
# Layers, lowest to highest: built-in defaults, the Okta SDKs' own settings (only the org URL
# and credentials: ~/.okta/okta.yaml, then OKTA_CLIENT_ORGURL, OKTA_CLIENT_TOKEN, ...), this
# file, OKTASYNC_* environment variables, command-line flags. Every key below has an
# environment variable: the key in upper case with the OKTASYNC_ prefix (org_url ->
# OKTASYNC_ORG_URL). Any secret key K can instead be given as K_file (env OKTASYNC_K_FILE): a
# path to a file holding the secret (Docker/Kubernetes secrets), or as K_keyring: the name of
# an OS keyring entry (service "oktasync") holding it. Relative paths are relative to the
# current directory.

# Your org's URL (not the "-admin" console URL).       env OKTASYNC_ORG_URL, flag --org-url
org_url = "https://YOUR-ORG.okta.com"

# The SQLite mirror. Created owner-read/write only.      env OKTASYNC_DB, flag --db
db = "./oktasync.db"
# ... or a PostgreSQL database, for many orgs and several oktasync processes:
# db = "postgres://oktasync@db.internal:5432/oktasync"
# Its password, when not in the URL or PGPASSWORD (also db_password or db_password_keyring):
# db_password_file = "/run/secrets/pg-password"         # env OKTASYNC_DB_PASSWORD_FILE

# The org's short name in the mirror, used by --org NAME (default: the first label of its
# host, "acme" for acme.okta.com).                        env OKTASYNC_ORG_NAME
# org_name = "acme"

# Extra CA certificates to trust (PEM), for a private CA or a TLS-inspecting proxy; added to
# the system's roots. (On Linux, SSL_CERT_FILE=bundle.pem replaces the system's roots instead.)
# Proxies come from HTTPS_PROXY / NO_PROXY in the environment.
# ca_file = "/etc/ssl/corp-root-ca.pem"                 # env OKTASYNC_CA_FILE

# --- Credentials: an API token OR an OAuth 2.0 service app (not both) ----------------------
# Each secret has three forms; give one: K = "value" (better in the environment than here),
# K_file = "/path" (a file holding it), or K_keyring = "NAME" (the OS keyring entry with
# service "oktasync" and user NAME: the Linux kernel keyring, the macOS Keychain or the Windows
# Credential Manager; on Linux store it with
#   keyctl padd user 'keyring-rs:NAME@oktasync' @s < token-file ).
#
# API token (Okta Admin Console > Security > API > Tokens).
# api_token_file = "/run/secrets/okta-api-token"        # env OKTASYNC_API_TOKEN_FILE
# api_token_keyring = "okta-prod"                       # env OKTASYNC_API_TOKEN_KEYRING
# api_token = "00..."                                   # env OKTASYNC_API_TOKEN
#
# OAuth 2.0 service app (Applications > Create App Integration > API Services). Grant it the
# scopes below and an admin role (e.g. Read-only Administrator). It proves who it is with a
# private key (private_key_jwt, the console's "Public key / Private key") or with a client
# secret ("Client secret"; how Okta Integration Network API service integrations connect).
# oauth_client_id = "0oa..."                            # env OKTASYNC_OAUTH_CLIENT_ID
#   with a private key, PEM or the JWK JSON from the console:
# oauth_private_key_file = "./okta-private-key.pem"     # env OKTASYNC_OAUTH_PRIVATE_KEY_FILE
# oauth_private_key_keyring = "okta-prod-key"           # env OKTASYNC_OAUTH_PRIVATE_KEY_KEYRING
# oauth_private_key = "-----BEGIN PRIVATE KEY-----..."  # env OKTASYNC_OAUTH_PRIVATE_KEY
# oauth_key_id = "..."                                  # the key's kid, if the app has several
#   or with a client secret (sent as client_secret_basic):
# oauth_client_secret_file = "/run/secrets/okta-client-secret"
#                                                       # env OKTASYNC_OAUTH_CLIENT_SECRET_FILE
# oauth_client_secret_keyring = "okta-prod-secret"      # env OKTASYNC_OAUTH_CLIENT_SECRET_KEYRING
# oauth_client_secret = "..."                           # env OKTASYNC_OAUTH_CLIENT_SECRET
#
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
# log_retention = "90d"                                 # System Log events kept; env OKTASYNC_LOG_RETENTION
# log_backfill = "7d"                                   # read back by a full sync; env OKTASYNC_LOG_BACKFILL

# --- Scope: mirror part of the org only ----------------------------------------------------
# Combined as an intersection; env OKTASYNC_SCOPE_APP/_GROUPS/_USERS, flags --scope-app/...
# [scope]
# app = "0oa1b2c3d4e5f6g7h8i9"                # the groups assigned to this app, their members
# groups = ["Eng*", "re:^team-"]              # names, globs, re:regex, ids
# users = 'profile.department eq "Engineering"'

# --- Roles (`oktasync roles`, the view user_roles) ------------------------------------------
# Your product's roles, from Okta groups (names, globs, ids) and app assignments (ids, labels).
# [[roles]]
# name = "admin"
# groups = ["Okta Admins", "SRE-*"]
# apps = ["0oa1abcd"]

# --- Push to another system (`oktasync push NAME`) --------------------------------------------
# [[targets]]
# name = "wiki"
# kind = "scim"
# url = "https://wiki.example.com/scim/v2"
# bearer_token_file = "/run/secrets/wiki-scim"   # or env OKTASYNC_TARGET_WIKI_BEARER_TOKEN
# groups = ["Engineering"]
# max_deletions = "5%"
# push_after_sync = false
#
# [[targets]]                                  # the same plan as signed JSON batches
# name = "audit"
# kind = "webhook"
# url = "https://audit.example.com/oktasync"
# secret_file = "/run/secrets/audit-webhook"   # or env OKTASYNC_TARGET_AUDIT_SECRET
# groups = ["Engineering"]

# --- Time-bound group grants (`oktasync grant`) ---------------------------------------------
# Nothing is grantable without a policy naming the group.
# [[grant_policies]]
# groups = ["JIT-*"]
# max_duration = "8h"
# require_reason = true
# require_approval = false
# cleanup_after_days = 30            # accounts made by `grant add --create-user`

# --- Detection (`oktasync detect`, `oktasync alerts`) ------------------------------------------
# Runs after each sync and watch poll. `oktasync detect --list` names the rules and params.
# [detection]
# enabled = true
# rules_dir = "rules"                # your Sigma and Okta filter rules (*.yml)
# disabled = ["okta.user.created"]
# [detection.params."okta.mfa.push_bombing"]
# min_denials = 5

# --- Posture (`oktasync posture`) ------------------------------------------------------------
# `oktasync posture --list` names the checks, their params and SQL.
# [posture]
# disabled = ["okta.groups.orphaned"]
# [posture.params."okta.users.inactive"]
# inactive_days = 90
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
