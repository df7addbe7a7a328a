//! Posture as the store serves it: the read-only SQL of posture checks run over the mirror's
//! tables and views (`user_factor_summary`, `admin_users`, `app_features`, `idp_policies`, and
//! the rest of SCHEMA.md), and each run's findings kept with when they were first seen, last
//! seen and resolved (`posture_findings`, `posture_runs`), so that a run says what is new and
//! what was fixed.

use crate::error::{Result, StoreError};
use crate::mirror::Mirror;
use crate::sql::{Arg, Datum, Sql, args};
use crate::types::{OrgId, timestamp};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};

/// A value bound to a posture check's SQL (`$2`, `$3`, ...; `$1` is always the org).
#[derive(Debug, Clone, PartialEq)]
pub enum QueryValue {
    Int(i64),
    Real(f64),
    Text(String),
}

impl From<&QueryValue> for Arg {
    fn from(v: &QueryValue) -> Arg {
        match v {
            QueryValue::Int(n) => Arg::from(*n),
            QueryValue::Real(x) => Arg::from(*x),
            QueryValue::Text(s) => Arg::from(s.clone()),
        }
    }
}

/// What one check found in one run.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome {
    pub check_id: String,
    pub severity: String,
    /// `false` when the check could not be evaluated (the mirror lacks what it reads): its
    /// findings are left as they were.
    pub evaluated: bool,
    /// The failing subjects and the rows that show it.
    pub findings: Vec<(String, Map<String, Value>)>,
}

/// A finding as kept.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredFinding {
    pub check_id: String,
    pub subject: String,
    pub severity: String,
    /// The row the check's SQL returned for the subject.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub evidence: Value,
    pub first_seen: String,
    pub last_seen: String,
    /// When a run first no longer found it; `None` while open.
    pub resolved_at: Option<String>,
}

/// What recording a run changed, per check.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct PostureRecord {
    pub run_id: i64,
    /// Subjects found for the first time (or again after being resolved), by check.
    pub new: BTreeMap<String, Vec<String>>,
    /// Subjects no longer found, by check.
    pub resolved: BTreeMap<String, Vec<String>>,
}

/// One posture run, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PostureRun {
    pub id: i64,
    pub at: String,
    pub checks: i64,
    pub failing: i64,
    pub findings: i64,
    pub new_findings: i64,
    pub resolved: i64,
}

#[async_trait]
pub trait PostureStore: Send + Sync {
    /// Runs a check's read-only query (`SELECT` or `WITH`) with the org as `$1` and `binds`
    /// as `$2`, `$3`, ...; each row as a JSON object by column name.
    async fn posture_rows(
        &self,
        org: OrgId,
        sql: &str,
        binds: &[QueryValue],
    ) -> Result<Vec<Map<String, Value>>>;

    /// Records a run's outcomes: new findings opened, found ones seen again, missing ones
    /// resolved (for evaluated checks only); one transaction.
    async fn record_posture(
        &self,
        org: OrgId,
        outcomes: &[CheckOutcome],
        now: DateTime<Utc>,
    ) -> Result<PostureRecord>;
}

fn json_of(d: &Datum) -> Value {
    match d {
        Datum::Null => Value::Null,
        Datum::Int(n) => (*n).into(),
        Datum::Real(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
        Datum::Text(s) => s.clone().into(),
        Datum::Bool(b) => (*b).into(),
    }
}

#[async_trait]
impl PostureStore for Mirror {
    async fn posture_rows(
        &self,
        org: OrgId,
        sql: &str,
        binds: &[QueryValue],
    ) -> Result<Vec<Map<String, Value>>> {
        let head = sql.trim_start().to_ascii_uppercase();
        if !(head.starts_with("SELECT") || head.starts_with("WITH"))
            || sql.trim_end().trim_end_matches(';').contains(';')
        {
            return Err(StoreError::Internal(
                "a posture check's SQL must be one SELECT (or WITH) statement".into(),
            ));
        }
        let mut all: Vec<Arg> = vec![Arg::from(org)];
        all.extend(binds.iter().map(Arg::from));
        let mut tx = self.backend.read().await?;
        let rows = tx.fetch_all(sql, &all).await?;
        Ok(rows
            .iter()
            .map(|r| {
                r.columns
                    .iter()
                    .zip(&r.values)
                    .map(|(c, v)| (c.clone(), json_of(v)))
                    .collect()
            })
            .collect())
    }

    async fn record_posture(
        &self,
        org: OrgId,
        outcomes: &[CheckOutcome],
        now: DateTime<Utc>,
    ) -> Result<PostureRecord> {
        let now = timestamp(now);
        let mut tx = self.backend.write(Some(org)).await?;
        let mut record = PostureRecord::default();
        for outcome in outcomes.iter().filter(|o| o.evaluated) {
            let (new, resolved) = record_check(tx.as_mut(), org, outcome, &now).await?;
            if !new.is_empty() {
                record.new.insert(outcome.check_id.clone(), new);
            }
            if !resolved.is_empty() {
                record.resolved.insert(outcome.check_id.clone(), resolved);
            }
        }
        let count = |m: &BTreeMap<String, Vec<String>>| m.values().map(Vec::len).sum::<usize>();
        let row = tx
            .fetch_one(
                "INSERT INTO posture_runs (org_id, at, checks, failing, findings, new_findings, \
                   resolved) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                args![
                    org,
                    now.as_str(),
                    outcomes.iter().filter(|o| o.evaluated).count() as i64,
                    outcomes.iter().filter(|o| !o.findings.is_empty()).count() as i64,
                    outcomes.iter().map(|o| o.findings.len()).sum::<usize>() as i64,
                    count(&record.new) as i64,
                    count(&record.resolved) as i64
                ],
            )
            .await?;
        record.run_id = row.get(0)?;
        tx.commit().await?;
        Ok(record)
    }
}

/// Opens, refreshes and resolves one check's findings; returns the new and resolved subjects.
async fn record_check(
    conn: &mut dyn Sql,
    org: OrgId,
    outcome: &CheckOutcome,
    now: &str,
) -> Result<(Vec<String>, Vec<String>)> {
    let known = conn
        .fetch_all(
            "SELECT subject, resolved_at FROM posture_findings WHERE org_id = $1 AND check_id = $2",
            args![org, outcome.check_id.as_str()],
        )
        .await?;
    let mut open = BTreeSet::new();
    let mut closed = BTreeSet::new();
    for row in &known {
        let subject: String = row.get(0)?;
        match row.get::<Option<String>>(1)? {
            None => open.insert(subject),
            Some(_) => closed.insert(subject),
        };
    }
    let mut new = Vec::new();
    let mut found = BTreeSet::new();
    for (subject, evidence) in &outcome.findings {
        if !found.insert(subject.clone()) {
            continue;
        }
        let evidence = Value::Object(evidence.clone()).to_string();
        if open.contains(subject) || closed.contains(subject) {
            if closed.contains(subject) {
                new.push(subject.clone());
            }
            conn.execute(
                "UPDATE posture_findings SET severity = $4, evidence = $5, last_seen = $6, \
                   resolved_at = NULL WHERE org_id = $1 AND check_id = $2 AND subject = $3",
                args![
                    org,
                    outcome.check_id.as_str(),
                    subject.as_str(),
                    outcome.severity.as_str(),
                    evidence.as_str(),
                    now
                ],
            )
            .await?;
        } else {
            new.push(subject.clone());
            conn.execute(
                "INSERT INTO posture_findings (org_id, check_id, subject, severity, evidence, \
                   first_seen, last_seen) VALUES ($1, $2, $3, $4, $5, $6, $6)",
                args![
                    org,
                    outcome.check_id.as_str(),
                    subject.as_str(),
                    outcome.severity.as_str(),
                    evidence.as_str(),
                    now
                ],
            )
            .await?;
        }
    }
    let mut resolved = Vec::new();
    for subject in open.difference(&found) {
        conn.execute(
            "UPDATE posture_findings SET resolved_at = $4 \
             WHERE org_id = $1 AND check_id = $2 AND subject = $3",
            args![org, outcome.check_id.as_str(), subject.as_str(), now],
        )
        .await?;
        resolved.push(subject.clone());
    }
    Ok((new, resolved))
}

/// The org's findings (open only, or all), by check then subject.
pub(crate) async fn findings(
    conn: &mut dyn Sql,
    org: OrgId,
    include_resolved: bool,
) -> Result<Vec<StoredFinding>> {
    let filter = if include_resolved {
        ""
    } else {
        " AND resolved_at IS NULL"
    };
    let rows = conn
        .fetch_all(
            &format!(
                "SELECT check_id, subject, severity, evidence, first_seen, last_seen, resolved_at \
                 FROM posture_findings WHERE org_id = $1{filter} ORDER BY check_id, subject"
            ),
            args![org],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let evidence: String = r.get(3)?;
            Ok(StoredFinding {
                check_id: r.get(0)?,
                subject: r.get(1)?,
                severity: r.get(2)?,
                evidence: serde_json::from_str(&evidence)?,
                first_seen: r.get(4)?,
                last_seen: r.get(5)?,
                resolved_at: r.get(6)?,
            })
        })
        .collect()
}

/// The org's latest posture run.
pub(crate) async fn last_run(conn: &mut dyn Sql, org: OrgId) -> Result<Option<PostureRun>> {
    let row = conn
        .fetch_optional(
            "SELECT id, at, checks, failing, findings, new_findings, resolved FROM posture_runs \
             WHERE org_id = $1 ORDER BY id DESC LIMIT 1",
            args![org],
        )
        .await?;
    row.map(|r| {
        Ok(PostureRun {
            id: r.get(0)?,
            at: r.get(1)?,
            checks: r.get(2)?,
            failing: r.get(3)?,
            findings: r.get(4)?,
            new_findings: r.get(5)?,
            resolved: r.get(6)?,
        })
    })
    .transpose()
}
