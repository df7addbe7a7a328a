//! Runs the checks over one org's mirror and keeps their findings.

use crate::check::Check;
use crate::error::{PostureError, Result};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use oktasync_store::{CheckOutcome, OrgId, PostureRecord, PostureStore, QueryValue, Severity};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// Which checks run, with which numbers (`[posture]` in the config file).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostureSettings {
    /// Check ids not to run.
    #[serde(default)]
    pub disabled: Vec<String>,
    /// Per check id, params to change: `[posture.params."okta.users.inactive"]
    /// inactive_days = 35`.
    #[serde(default)]
    pub params: BTreeMap<String, BTreeMap<String, f64>>,
}

/// Whether a check passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckStatus {
    Pass,
    Fail,
    /// The mirror lacks what the check reads (`reason` says what to do).
    NotApplicable,
}

/// One failing subject.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub subject: String,
    /// The row the check's SQL returned.
    pub evidence: Map<String, Value>,
    /// Not open before this run.
    pub new: bool,
}

/// One check's outcome in a run.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    pub id: String,
    pub title: String,
    pub severity: Severity,
    pub status: CheckStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub sources: Vec<String>,
    pub rationale: String,
    pub remediation: String,
    pub params: BTreeMap<String, f64>,
    pub findings: Vec<Finding>,
    /// Subjects that failed the last run and pass now.
    pub resolved: Vec<String>,
}

/// A run.
#[derive(Debug, Clone, Serialize)]
pub struct PostureReport {
    pub at: String,
    pub run_id: Option<i64>,
    pub checks: Vec<CheckResult>,
}

impl PostureReport {
    pub fn failing(&self) -> usize {
        self.checks
            .iter()
            .filter(|c| c.status == CheckStatus::Fail)
            .count()
    }
}

/// A set of checks, ready to run.
#[derive(Debug, Clone)]
pub struct Posture {
    checks: Vec<Check>,
}

impl Posture {
    pub fn builtin() -> Posture {
        Posture {
            checks: crate::catalogue::builtin(),
        }
    }

    /// The built-in checks less the disabled ones, with the settings' params; every check's
    /// SQL is checked to define the params it uses.
    pub fn from_settings(settings: &PostureSettings) -> Result<Posture> {
        let mut checks = crate::catalogue::builtin();
        let ids: BTreeSet<&str> = checks.iter().map(|c| c.id).collect();
        for id in settings.disabled.iter().chain(settings.params.keys()) {
            if !ids.contains(id.as_str()) {
                return Err(PostureError::UnknownCheck(id.clone()));
            }
        }
        checks.retain(|c| !settings.disabled.iter().any(|d| d == c.id));
        for check in &mut checks {
            let Some(params) = settings.params.get(check.id) else {
                continue;
            };
            for (name, value) in params {
                match check.params.get_mut(name) {
                    Some(v) => *v = *value,
                    None => {
                        return Err(PostureError::UnknownParam {
                            check: check.id.into(),
                            param: name.clone(),
                            known: check.params.keys().cloned().collect::<Vec<_>>().join(", "),
                        });
                    }
                }
            }
        }
        for check in &checks {
            for sql in std::iter::once(check.sql).chain(check.applies.as_ref().map(|a| a.sql)) {
                bind(check, sql, Utc::now())?;
            }
        }
        Ok(Posture { checks })
    }

    pub fn checks(&self) -> &[Check] {
        &self.checks
    }

    /// Runs every check on `org`'s mirror; with `record`, keeps the findings (and says which
    /// are new and which were resolved since the last recorded run).
    pub async fn run(
        &self,
        store: &dyn PostureStore,
        org: OrgId,
        now: DateTime<Utc>,
        record: bool,
    ) -> Result<PostureReport> {
        let mut results = Vec::with_capacity(self.checks.len());
        let mut outcomes = Vec::with_capacity(self.checks.len());
        for check in &self.checks {
            let (status, reason, rows) = evaluate(store, org, check, now).await?;
            let findings: Vec<Finding> = rows
                .into_iter()
                .map(|row| Finding {
                    subject: subject_of(&row),
                    evidence: row,
                    new: false,
                })
                .collect();
            outcomes.push(CheckOutcome {
                check_id: check.id.into(),
                severity: check.severity.as_str().into(),
                evaluated: status != CheckStatus::NotApplicable,
                findings: findings
                    .iter()
                    .map(|f| (f.subject.clone(), f.evidence.clone()))
                    .collect(),
            });
            results.push(CheckResult {
                id: check.id.into(),
                title: check.title.into(),
                severity: check.severity,
                status,
                reason,
                sources: check.sources.iter().map(|s| s.to_string()).collect(),
                rationale: check.rationale.into(),
                remediation: check.remediation.into(),
                params: check.params.clone(),
                findings,
                resolved: Vec::new(),
            });
        }
        let mut run_id = None;
        if record {
            let PostureRecord {
                run_id: id,
                new,
                resolved,
            } = store.record_posture(org, &outcomes, now).await?;
            run_id = Some(id);
            for result in &mut results {
                if let Some(new) = new.get(&result.id) {
                    for f in &mut result.findings {
                        f.new = new.contains(&f.subject);
                    }
                }
                if let Some(resolved) = resolved.get(&result.id) {
                    result.resolved = resolved.clone();
                }
            }
        }
        Ok(PostureReport {
            at: now.to_rfc3339_opts(SecondsFormat::Millis, true),
            run_id,
            checks: results,
        })
    }
}

/// A row's subject: its `subject` column as text.
fn subject_of(row: &Map<String, Value>) -> String {
    match row.get("subject") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".into(),
        Some(other) => other.to_string(),
    }
}

async fn evaluate(
    store: &dyn PostureStore,
    org: OrgId,
    check: &Check,
    now: DateTime<Utc>,
) -> Result<(CheckStatus, Option<String>, Vec<Map<String, Value>>)> {
    if let Some(applies) = &check.applies {
        let (sql, binds) = bind(check, applies.sql, now)?;
        let rows = store.posture_rows(org, &sql, &binds).await?;
        let yes = rows
            .first()
            .and_then(|r| r.get("applies"))
            .and_then(Value::as_i64)
            .is_some_and(|v| v != 0);
        if !yes {
            return Ok((
                CheckStatus::NotApplicable,
                Some(applies.otherwise.to_string()),
                Vec::new(),
            ));
        }
    }
    let (sql, binds) = bind(check, check.sql, now)?;
    let rows = store.posture_rows(org, &sql, &binds).await?;
    let status = if rows.is_empty() {
        CheckStatus::Pass
    } else {
        CheckStatus::Fail
    };
    Ok((status, None, rows))
}

/// `sql` with each `:name` replaced by a positional parameter (`$2`, `$3`, ...) and the values
/// to bind: the param itself, or for `:name_before` the time `name` days before `now`.
pub(crate) fn bind(
    check: &Check,
    sql: &str,
    now: DateTime<Utc>,
) -> Result<(String, Vec<QueryValue>)> {
    let mut out = String::with_capacity(sql.len());
    let mut binds: Vec<QueryValue> = Vec::new();
    let mut names: Vec<String> = Vec::new();
    let mut chars = sql.char_indices().peekable();
    let mut in_string = false;
    while let Some((i, c)) = chars.next() {
        if c == '\'' {
            in_string = !in_string;
        }
        let starts_name = c == ':'
            && !in_string
            && !sql[..i].ends_with(':')
            && sql[i + 1..].starts_with(|n: char| n.is_ascii_lowercase());
        if !starts_name {
            out.push(c);
            continue;
        }
        let mut name = String::new();
        while let Some((_, n)) = chars.peek() {
            if n.is_ascii_alphanumeric() || *n == '_' {
                name.push(*n);
                chars.next();
            } else {
                break;
            }
        }
        let index = match names.iter().position(|n| *n == name) {
            Some(at) => at,
            None => {
                let value = match name.strip_suffix("_before") {
                    Some(base) => {
                        let days = check.param(base).ok_or_else(|| undefined(check, &name))?;
                        let at = now - Duration::milliseconds((days * 86_400_000.0) as i64);
                        QueryValue::Text(at.to_rfc3339_opts(SecondsFormat::Millis, true))
                    }
                    None => {
                        let value = check.param(&name).ok_or_else(|| undefined(check, &name))?;
                        if value.fract() == 0.0 {
                            QueryValue::Int(value as i64)
                        } else {
                            QueryValue::Real(value)
                        }
                    }
                };
                names.push(name);
                binds.push(value);
                names.len() - 1
            }
        };
        // `$1` is the org.
        out.push_str(&format!("${}", index + 2));
    }
    Ok((out, binds))
}

fn undefined(check: &Check, name: &str) -> PostureError {
    PostureError::UndefinedParam {
        check: check.id.into(),
        param: name.into(),
    }
}
