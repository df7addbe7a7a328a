//! Grant policies: which groups may be granted, for how long at most, and whether a reason
//! and an approver are needed. Nothing is grantable without a policy naming the group.
//!
//! ```toml
//! [[grant_policies]]
//! groups = ["JIT-*", "Prod DB readers", "00g1abcd"]   # names, globs (* and ?), re:..., ids
//! max_duration = "8h"
//! require_reason = true        # the default
//! require_approval = false     # when true, the approver must differ from the requester
//! cleanup_after_days = 30      # accounts oktasync created for a grant (`--create-user`) are
//!                              # deactivated and deleted this long after their last grant
//! ```

use crate::error::GrantError;
use oktasync_store::GroupPattern;
use serde::Deserialize;
use std::time::Duration;

/// One `[[grant_policies]]` entry as written.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyConfig {
    pub groups: Vec<String>,
    pub max_duration: String,
    #[serde(default = "yes")]
    pub require_reason: bool,
    #[serde(default)]
    pub require_approval: bool,
    #[serde(default)]
    pub cleanup_after_days: Option<u32>,
}

fn yes() -> bool {
    true
}

/// One policy, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantPolicy {
    /// The group patterns as configured (they name the policy in records and errors).
    pub groups: Vec<GroupPattern>,
    pub max_duration: Duration,
    pub require_reason: bool,
    pub require_approval: bool,
    /// Accounts oktasync created for a grant under this policy are deactivated and deleted
    /// this many days after their last grant ended; `None`: kept.
    pub cleanup_after_days: Option<u32>,
}

impl GrantPolicy {
    /// The policy from its configuration; `what` names it in errors
    /// (`[[grant_policies]] #2 in oktasync.toml`).
    pub fn from_config(config: &PolicyConfig, what: &str) -> Result<Self, GrantError> {
        if config.groups.is_empty() || config.groups.iter().any(|g| g.trim().is_empty()) {
            return Err(GrantError::Policy(format!(
                "{what}: groups must name at least one group (a name, a glob such as \"JIT-*\", or an id), none empty"
            )));
        }
        let max_duration = humantime::parse_duration(config.max_duration.trim()).map_err(|e| {
            GrantError::Policy(format!(
                "{what}: max_duration {:?} is not a duration ({e}); write it as \"8h\", \"30m\" or \"2h 30m\"",
                config.max_duration
            ))
        })?;
        if max_duration.is_zero() {
            return Err(GrantError::Policy(format!(
                "{what}: max_duration must be more than zero"
            )));
        }
        let groups = config
            .groups
            .iter()
            .map(|g| GroupPattern::parse(g.trim()))
            .collect::<Result<_, _>>()
            .map_err(|e| GrantError::Policy(format!("{what}: groups: {e}")))?;
        Ok(Self {
            groups,
            max_duration,
            require_reason: config.require_reason,
            require_approval: config.require_approval,
            cleanup_after_days: config.cleanup_after_days,
        })
    }

    /// Whether the policy names the group (by id, exact name, or a glob over the name).
    pub fn covers(&self, group_id: &str, group_name: Option<&str>) -> bool {
        self.groups
            .iter()
            .any(|pattern| pattern.covers(group_id, group_name))
    }

    /// How the policy is named in records: its group patterns.
    pub fn label(&self) -> String {
        let patterns: Vec<&str> = self.groups.iter().map(GroupPattern::as_str).collect();
        patterns.join(", ")
    }
}

/// Every configured policy, in order; the first that covers a group decides for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policies(pub Vec<GrantPolicy>);

impl Policies {
    pub fn for_group(&self, group_id: &str, group_name: Option<&str>) -> Option<&GrantPolicy> {
        self.0.iter().find(|p| p.covers(group_id, group_name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(groups: &[&str], max: &str) -> Result<GrantPolicy, GrantError> {
        GrantPolicy::from_config(
            &PolicyConfig {
                groups: groups.iter().map(|g| (*g).to_owned()).collect(),
                max_duration: max.into(),
                require_reason: true,
                require_approval: false,
                cleanup_after_days: None,
            },
            "[[grant_policies]] #1",
        )
    }

    #[test]
    fn groups_match_by_id_name_or_glob_in_any_case() {
        let p = policy(&["JIT-*", "Prod DB readers", "00gABC", "team-?"], "8h").unwrap();
        assert!(p.covers("00gX", Some("JIT-payments")));
        assert!(p.covers("00gX", Some("jit-")));
        assert!(p.covers("00gX", Some("prod db READERS")));
        assert!(p.covers("00gABC", None));
        assert!(p.covers("00gX", Some("team-a")));
        assert!(!p.covers("00gX", Some("team-ab")));
        assert!(!p.covers("00gX", Some("Prod DB readers 2")));
        assert!(!p.covers("00gX", Some("xJIT-payments")));
        assert!(!p.covers("00gABCD", None));
        assert_eq!(p.max_duration, Duration::from_secs(8 * 3600));
    }

    #[test]
    fn a_bad_policy_is_refused_naming_the_setting() {
        let err = policy(&["JIT-*"], "eight hours").unwrap_err().to_string();
        assert!(err.contains("[[grant_policies]] #1: max_duration"), "{err}");
        let err = policy(&[], "8h").unwrap_err().to_string();
        assert!(err.contains("groups must name"), "{err}");
        assert!(policy(&["x"], "0s").is_err());
    }
}
