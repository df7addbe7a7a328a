//! Grant settings: `[[grant_policies]]` (what may be granted; nothing without one) and
//! `[grants]` (what oktasync's own Okta principal may do) in the config file.
//!
//! ```toml
//! [grants]
//! principal_is_super_admin = false   # true lets groups that hold admin roles be granted
//!
//! [[grant_policies]]
//! groups = ["JIT-*", "Prod DB readers"]   # names, globs, or ids
//! max_duration = "8h"
//! require_reason = true
//! require_approval = false
//! ```

use super::Settings;
use anyhow::{Context, Result};
use oktasync_grants::check::Principal;
use oktasync_grants::policy::{GrantPolicy, Policies, PolicyConfig};
use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GrantsTable {
    #[serde(default)]
    principal_is_super_admin: bool,
}

/// The grant settings of the config file `base` was loaded from (none without a file).
pub fn load(base: &Settings) -> Result<(Policies, Principal)> {
    let Some((table, file_name)) = super::file_tables(base)? else {
        return Ok((Policies::default(), Principal::default()));
    };
    let grants: GrantsTable = match table.get("grants") {
        Some(v) => v.clone().try_into().with_context(|| {
            format!(
                "invalid [grants] in {file_name}: it takes principal_is_super_admin = true|false"
            )
        })?,
        None => GrantsTable::default(),
    };
    let mut policies = Vec::new();
    match table.get("grant_policies") {
        None => {}
        Some(toml::Value::Array(entries)) => {
            for (i, entry) in entries.iter().enumerate() {
                let what = format!("[[grant_policies]] #{} in {file_name}", i + 1);
                let config: PolicyConfig = entry.clone().try_into().with_context(|| {
                    format!(
                        "invalid {what}: it takes groups = [...], max_duration = \"8h\", \
                         require_reason and require_approval"
                    )
                })?;
                policies.push(GrantPolicy::from_config(&config, &what)?);
            }
        }
        Some(_) => anyhow::bail!(
            "grant_policies in {file_name} must be [[grant_policies]] tables, one per policy"
        ),
    }
    Ok((
        Policies(policies),
        Principal {
            super_admin: grants.principal_is_super_admin,
        },
    ))
}
