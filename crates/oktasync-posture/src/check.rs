//! What a posture check is: a stable id, a title, a severity, the baseline it comes from, why it
//! matters, how to fix it, tunable thresholds, and the SQL that finds what fails it.
//!
//! The SQL is read-only and runs on both backends. `$1` is the org; `:name` is the param
//! `name` (a number); `:name_before` is the time `name` days before the run (RFC 3339 text, as
//! the mirror keeps timestamps). Each row is one failing subject: its `subject` column (a
//! login, an app label, a group name) names it, the other columns are the evidence.

use oktasync_store::Severity;
use serde::Serialize;
use std::collections::BTreeMap;

/// A posture check.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    /// Stable: findings and settings name checks by it (`okta.admins.without_mfa`).
    pub id: &'static str,
    pub title: &'static str,
    pub severity: Severity,
    /// The baselines it comes from (`DISA Okta IDaaS STIG V-273191`, `Microsoft Defender for
    /// Identity`, `Okta HealthInsight`).
    pub sources: &'static [&'static str],
    pub rationale: &'static str,
    pub remediation: &'static str,
    /// Tunable numbers, with their defaults.
    pub params: BTreeMap<String, f64>,
    /// The query that lists the failing subjects.
    pub sql: &'static str,
    /// A query answering one row with a column `applies` (1 or 0): whether the mirror holds
    /// what the check needs (factors read, the log kept long enough); `None`: always.
    pub applies: Option<Applies>,
}

/// When a check can be evaluated, and what to do when it cannot.
#[derive(Debug, Clone, Serialize)]
pub struct Applies {
    pub sql: &'static str,
    /// Why not, and how to make it applicable.
    pub otherwise: &'static str,
}

impl Check {
    pub fn param(&self, name: &str) -> Option<f64> {
        self.params.get(name).copied()
    }
}
