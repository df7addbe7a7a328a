//! Detection settings (`[detection]` in the config file).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Which rules run, with which numbers.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectionSettings {
    /// A folder of user rules: Sigma (`*.yml` with `logsource.product: okta`) and Okta System
    /// Log filter expressions (`*.yml` with a `filter`), loaded at start.
    #[serde(default)]
    pub rules_dir: Option<PathBuf>,
    /// Rule ids not to run.
    #[serde(default)]
    pub disabled: Vec<String>,
    /// Per rule id, params to change: `[detection.params."okta.mfa.push_bombing"]
    /// min_denials = 3`.
    #[serde(default)]
    pub params: BTreeMap<String, BTreeMap<String, f64>>,
}
