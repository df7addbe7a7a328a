//! Group-to-role mapping: `[[roles]]` in the config file.
//!
//! ```toml
//! [[roles]]
//! name = "admin"
//! groups = ["Okta Admins", "SRE-*"]   # names, globs (* and ?, any letter case), or ids
//! apps = ["0oa1abcd"]                 # optional: users with access to these apps (ids or labels)
//! ```

use super::Settings;
use anyhow::{Context, Result, bail};
use oktasync_store::{GroupPattern, RoleSpec};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleConfig {
    name: String,
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    apps: Vec<String>,
}

/// The roles of the config file `base` was loaded from (none without a file, or without
/// `[[roles]]`).
pub fn load(base: &Settings) -> Result<Vec<RoleSpec>> {
    let Some((mut table, file_name)) = super::file_tables(base)? else {
        return Ok(Vec::new());
    };
    let entries = match table.remove("roles") {
        None => return Ok(Vec::new()),
        Some(toml::Value::Array(entries)) => entries,
        Some(_) => {
            bail!("roles in {file_name} must be [[roles]] tables, one per role")
        }
    };
    let mut roles: Vec<RoleSpec> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let what = format!("[[roles]] #{} in {file_name}", i + 1);
        let config: RoleConfig = entry.clone().try_into().with_context(|| {
            format!(
                "invalid {what}: it takes name = \"...\", groups = [names, globs or ids] and \
                 apps = [ids or labels]"
            )
        })?;
        let name = config.name.trim();
        if name.is_empty() || name.contains('/') {
            bail!("{what}: name must be a non-empty name without '/'");
        }
        if roles.iter().any(|r| r.name == name) {
            bail!("{what}: the role {name:?} is defined twice; give each [[roles]] its own name");
        }
        let blank = |v: &[String]| v.iter().any(|s| s.trim().is_empty());
        if (config.groups.is_empty() && config.apps.is_empty())
            || blank(&config.groups)
            || blank(&config.apps)
        {
            bail!(
                "{what}: the role {name:?} must name at least one group (groups = [...]) or app \
                 (apps = [...]), none empty"
            );
        }
        roles.push(RoleSpec {
            name: name.to_owned(),
            groups: config
                .groups
                .iter()
                .map(|g| GroupPattern::parse(g.trim()))
                .collect::<Result<_, _>>()
                .map_err(|e| anyhow::anyhow!("{what}: groups: {e}"))?,
            apps: config.apps.iter().map(|a| a.trim().to_owned()).collect(),
        });
    }
    Ok(roles)
}
