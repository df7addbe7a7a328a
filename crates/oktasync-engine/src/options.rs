//! What a sync reads: resources and the factor scope.

use crate::scope::SyncScope;
use chrono::{DateTime, Utc};
use okta_api::{Clock, SystemClock};
use oktasync_store::Table;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

/// The checkpoint naming the resources the last full sync read (comma-separated): an
/// incremental run that wants one it did not read falls back to a full sync, which reads it.
pub const RESOURCES_CHECKPOINT: &str = "sync.resources";

/// A kind of Okta object a sync can mirror (`--resources`). What each one is (its name, its
/// table) and how it is synced is its module's, in [`crate::resources`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Resource {
    Users,
    Groups,
    /// Group memberships.
    Memberships,
    Apps,
    /// App user assignments (direct and through groups).
    AppUsers,
    /// App group assignments.
    AppGroups,
    /// Admin role assignments of users and groups.
    Roles,
    Idps,
    Factors,
    /// Group rules: which users an expression adds to which groups.
    GroupRules,
    /// Policies of every type the sync lists.
    Policies,
    /// The rules of each policy.
    PolicyRules,
    Authenticators,
    NetworkZones,
    /// Okta API tokens' metadata (table `okta_api_tokens`).
    ApiTokens,
    /// System Log streams.
    LogStreams,
    /// The ThreatInsight configuration (table `org_settings`).
    ThreatInsight,
    /// The Okta API scopes granted to OAuth apps.
    AppGrants,
}

impl Resource {
    pub const ALL: [Resource; 18] = [
        Resource::Users,
        Resource::Groups,
        Resource::Memberships,
        Resource::Apps,
        Resource::AppUsers,
        Resource::AppGroups,
        Resource::Roles,
        Resource::Idps,
        Resource::Factors,
        Resource::GroupRules,
        Resource::Policies,
        Resource::PolicyRules,
        Resource::Authenticators,
        Resource::NetworkZones,
        Resource::ApiTokens,
        Resource::LogStreams,
        Resource::ThreatInsight,
        Resource::AppGrants,
    ];
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Resource {
    type Err = String;

    /// Accepts the names of [`Resource::as_str`], `-` for `_`, and `role_assignments`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase().replace('-', "_");
        if wanted == "role_assignments" {
            return Ok(Resource::Roles);
        }
        Resource::ALL
            .into_iter()
            .find(|r| r.as_str() == wanted)
            .ok_or_else(|| {
                let names: Vec<&str> = Resource::ALL.iter().map(|r| r.as_str()).collect();
                format!("unknown resource {s:?}; use one of {}", names.join(", "))
            })
    }
}

/// Whose MFA factors a sync reads: one call per user, so all users is opt-in.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FactorScope {
    All,
    /// Users holding an admin role, directly or through a group.
    #[default]
    Admins,
    None,
}

impl FromStr for FactorScope {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "all" => Ok(FactorScope::All),
            "admins" => Ok(FactorScope::Admins),
            "none" => Ok(FactorScope::None),
            _ => Err(format!(
                "unknown factor scope {s:?}; use all, admins or none"
            )),
        }
    }
}

/// What a sync reads.
#[derive(Debug, Clone)]
pub struct SyncOptions {
    pub resources: BTreeSet<Resource>,
    pub factors: FactorScope,
    /// What part of the org is mirrored (the whole org by default).
    pub scope: SyncScope,
    /// Timestamps of the run record (`started_at`, `ended_at`).
    pub clock: Arc<dyn Clock>,
    /// How long System Log events are kept in the mirror (`log_events`); zero keeps none.
    pub log_retention: std::time::Duration,
    /// How far back a full sync reads the System Log into the mirror (at most the
    /// retention); zero reads only what positions the next incremental run.
    pub log_backfill: std::time::Duration,
}

impl Default for SyncOptions {
    fn default() -> Self {
        Self {
            resources: Resource::ALL.into_iter().collect(),
            factors: FactorScope::default(),
            scope: SyncScope::default(),
            clock: Arc::new(SystemClock),
            log_retention: crate::system_log::LOG_RETENTION,
            log_backfill: crate::system_log::LOG_BACKFILL,
        }
    }
}

impl SyncOptions {
    /// Kept events published before this are pruned: now less the retention.
    pub fn log_keep_after(&self) -> DateTime<Utc> {
        let retention =
            chrono::Duration::from_std(self.log_retention).unwrap_or(chrono::Duration::MAX);
        self.clock
            .now()
            .checked_sub_signed(retention)
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// The resources the run mirrors, by name, as [`RESOURCES_CHECKPOINT`] records them.
    pub fn mirrored(&self) -> Vec<&'static str> {
        Resource::ALL
            .into_iter()
            .filter(|r| self.wants(*r))
            .map(Resource::as_str)
            .collect()
    }

    /// Whether the run mirrors `resource`: selected, and mirrored under the scope.
    pub fn wants(&self, resource: Resource) -> bool {
        self.selects(resource) && self.scope.mirrors(resource)
    }

    /// Whether `resource` is selected (`--resources`, the factor scope), whatever the sync
    /// scope.
    fn selects(&self, resource: Resource) -> bool {
        match resource {
            Resource::Factors => {
                self.resources.contains(&Resource::Factors) && self.factors != FactorScope::None
            }
            r => self.resources.contains(&r),
        }
    }

    /// The tables a full sync replaces: those of the selected resources, also those a
    /// scope leaves unread (they are then emptied: the mirror holds the scope only).
    pub fn tables(&self) -> Vec<Table> {
        Resource::ALL
            .into_iter()
            .filter(|r| self.selects(*r))
            .map(Resource::table)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for r in Resource::ALL {
            assert_eq!(r.as_str().parse::<Resource>().unwrap(), r);
        }
        assert_eq!("app-users".parse::<Resource>().unwrap(), Resource::AppUsers);
        assert!(
            "people"
                .parse::<Resource>()
                .unwrap_err()
                .contains("memberships")
        );
        assert_eq!(
            "ADMINS".parse::<FactorScope>().unwrap(),
            FactorScope::Admins
        );
    }

    #[test]
    fn factor_scope_none_keeps_the_factor_table() {
        let opts = SyncOptions {
            factors: FactorScope::None,
            ..Default::default()
        };
        assert!(!opts.tables().contains(&Table::Factors));
        assert_eq!(opts.tables().len(), Resource::ALL.len() - 1);
    }
}
