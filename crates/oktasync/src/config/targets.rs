//! Push targets: `[[targets]]` in the config file (see `oktasync_push::TargetConfig`).
//!
//! ```toml
//! [[targets]]
//! name = "wiki"
//! kind = "scim"
//! url = "https://wiki.example.com/scim/v2"
//! bearer_token_file = "/run/secrets/wiki-scim"   # or env OKTASYNC_TARGET_WIKI_BEARER_TOKEN
//! groups = ["Engineering", "re:^team-"]
//! max_deletions = "5%"
//!
//! [[targets]]
//! name = "audit"
//! kind = "webhook"
//! url = "https://audit.example.com/oktasync"
//! secret_file = "/run/secrets/audit-webhook"     # or env OKTASYNC_TARGET_AUDIT_SECRET
//! groups = ["Engineering"]
//! ```
//!
//! Relative `hook`, `bearer_token_file` and `secret_file` paths are relative to the config
//! file's directory.

use super::Settings;
use anyhow::{Context, Result, bail};
use oktasync_push::{TargetConfig, TargetKind};
use secrecy::SecretString;
use std::path::Path;

/// The environment variable that may hold a target's bearer token:
/// `OKTASYNC_TARGET_<NAME>_BEARER_TOKEN`, the name upper-cased, other characters as `_`.
pub fn token_variable(name: &str) -> String {
    target_variable(name, "BEARER_TOKEN")
}

/// The environment variable that may hold a webhook target's signing secret:
/// `OKTASYNC_TARGET_<NAME>_SECRET`.
pub fn secret_variable(name: &str) -> String {
    target_variable(name, "SECRET")
}

fn target_variable(name: &str, what: &str) -> String {
    let name: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect();
    format!("OKTASYNC_TARGET_{name}_{what}")
}

/// The targets of the config file `base` was loaded from (none without a file).
pub fn load(base: &Settings) -> Result<Vec<TargetConfig>> {
    load_with_env(base, |key| std::env::var(key).ok())
}

pub fn load_with_env(
    base: &Settings,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Vec<TargetConfig>> {
    let Some((mut table, file_name)) = super::file_tables(base)? else {
        return Ok(Vec::new());
    };
    let entries = match table.remove("targets") {
        None => return Ok(Vec::new()),
        Some(toml::Value::Array(entries)) => entries,
        Some(_) => {
            bail!("targets in {file_name} must be [[targets]] tables, one per target")
        }
    };
    let path = Path::new(&file_name);
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut targets: Vec<TargetConfig> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let what = format!("[[targets]] #{} in {file_name}", i + 1);
        let mut config: TargetConfig = entry
            .clone()
            .try_into()
            .with_context(|| format!("invalid {what}"))?;
        if targets.iter().any(|t| t.name == config.name) {
            bail!(
                "{what}: another target is named {:?}; names must differ",
                config.name
            );
        }
        match config.kind {
            TargetKind::Scim => {
                if config.bearer_token.is_none()
                    && config.bearer_token_file.is_none()
                    && let Some(token) = env(&token_variable(&config.name))
                {
                    config.bearer_token = Some(SecretString::from(token));
                }
            }
            TargetKind::Webhook => {
                if config.secret.is_none()
                    && config.secret_file.is_none()
                    && let Some(secret) = env(&secret_variable(&config.name))
                {
                    config.secret = Some(SecretString::from(secret));
                }
            }
        }
        for file in [
            &mut config.hook,
            &mut config.bearer_token_file,
            &mut config.secret_file,
        ]
        .into_iter()
        .flatten()
        {
            if file.is_relative() {
                *file = dir.join(&*file);
            }
        }
        if let Err(errors) = config.validate() {
            let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            bail!("{what}:\n  {}", lines.join("\n  "));
        }
        targets.push(config);
    }
    Ok(targets)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_targets_token_variable_is_named_after_it() {
        assert_eq!(token_variable("wiki"), "OKTASYNC_TARGET_WIKI_BEARER_TOKEN");
        assert_eq!(
            token_variable("hr-app 2"),
            "OKTASYNC_TARGET_HR_APP_2_BEARER_TOKEN"
        );
        assert_eq!(secret_variable("audit"), "OKTASYNC_TARGET_AUDIT_SECRET");
    }
}
