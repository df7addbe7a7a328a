//! The System Log, kept (`log_events`, `log_event_targets`): every event a run reads, stored
//! once per uuid with typed columns for what posture and detection ask of it, and the event
//! itself. Events older than the retention are pruned in the same transaction as new ones are
//! stored, so the tables never hold more than the retention plus one run.
//!
//! The columns are read leniently from the event's JSON: Okta's fields are often null, and
//! some (`securityContext.isProxy`, `asNumber`) arrive as strings in real logs.

use crate::error::Result;
use crate::mirror::Mirror;
use crate::sql::{Arg, Sql, args};
use crate::types::{OrgId, RunId};
use async_trait::async_trait;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::Value;

/// What storing a batch of events did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct LogStoreCounts {
    /// New events stored.
    pub stored: u64,
    /// Events already stored (the same uuid).
    pub duplicates: u64,
    /// Events without a uuid or a `published` time, or older than the retention.
    pub skipped: u64,
    /// Stored events removed as older than the retention.
    pub pruned: u64,
}

/// Filters for [`SystemLogStore::log_events`]; every one given must hold.
#[derive(Debug, Clone, Default)]
pub struct LogQuery {
    /// Published at or after.
    pub since: Option<DateTime<Utc>>,
    /// `eventType`: exact, or a glob (`*` any run of characters, `?` one: `user.session.*`).
    pub event_type: Option<String>,
    /// `actor.id`, or `actor.alternateId` (any case).
    pub actor: Option<String>,
    /// One of the targets' `id`, or `alternateId` (any case).
    pub target: Option<String>,
    /// `outcome.result` (`SUCCESS`, `FAILURE`, ...; any case).
    pub outcome: Option<String>,
    /// The newest this many; all when `None`.
    pub limit: Option<u32>,
    /// Only events listed after this one (its `published` and `seq`): the next page.
    pub before: Option<(String, i64)>,
}

/// One stored event, newest first when listed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredLogEvent {
    pub seq: i64,
    pub uuid: String,
    pub published: String,
    pub event_type: Option<String>,
    pub actor_id: Option<String>,
    pub actor_alternate_id: Option<String>,
    pub client_ip: Option<String>,
    pub country: Option<String>,
    pub city: Option<String>,
    pub outcome_result: Option<String>,
    pub outcome_reason: Option<String>,
    pub display_message: Option<String>,
    /// The event as Okta returned it.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub raw: Value,
}

#[async_trait]
pub trait SystemLogStore: Send + Sync {
    /// Stores `events` (raw System Log events) not stored yet and, with `keep_after`, prunes
    /// the org's events published before it; one transaction. `run` is the sync run that read
    /// them, if any.
    async fn store_log_events(
        &self,
        org: OrgId,
        run: Option<RunId>,
        events: &[Value],
        keep_after: Option<DateTime<Utc>>,
    ) -> Result<LogStoreCounts>;
}

#[async_trait]
impl SystemLogStore for Mirror {
    async fn store_log_events(
        &self,
        org: OrgId,
        run: Option<RunId>,
        events: &[Value],
        keep_after: Option<DateTime<Utc>>,
    ) -> Result<LogStoreCounts> {
        let mut tx = self.backend.write(Some(org)).await?;
        let counts = store(tx.as_mut(), org, run, events, keep_after).await?;
        tx.commit().await?;
        Ok(counts)
    }
}

/// The stored events matching `query`, newest first.
pub(crate) async fn query(
    conn: &mut dyn Sql,
    org: OrgId,
    query: &LogQuery,
) -> Result<Vec<StoredLogEvent>> {
    let mut sql = String::from(
        "SELECT e.seq, e.uuid, e.published, e.event_type, e.actor_id, e.actor_alternate_id, \
           e.client_ip, e.country, e.city, e.outcome_result, e.outcome_reason, \
           e.display_message, e.raw \
         FROM log_events e WHERE e.org_id = $1",
    );
    let mut binds: Vec<Arg> = vec![Arg::from(org)];
    fn bind(value: String, binds: &mut Vec<Arg>) -> String {
        binds.push(Arg::from(value));
        format!("${}", binds.len())
    }
    if let Some(since) = query.since {
        let p = bind(published_text(since), &mut binds);
        sql.push_str(&format!(" AND e.published >= {p}"));
    }
    if let Some(pattern) = &query.event_type {
        let condition = matches_pattern("e.event_type", pattern, &mut binds);
        sql.push_str(&format!(" AND {condition}"));
    }
    if let Some(actor) = &query.actor {
        let p = bind(actor.clone(), &mut binds);
        let lower = bind(actor.to_lowercase(), &mut binds);
        sql.push_str(&format!(
            " AND (e.actor_id = {p} OR LOWER(e.actor_alternate_id) = {lower})"
        ));
    }
    if let Some(target) = &query.target {
        let p = bind(target.clone(), &mut binds);
        let lower = bind(target.to_lowercase(), &mut binds);
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM log_event_targets t WHERE t.org_id = e.org_id \
               AND t.seq = e.seq AND (t.target_id = {p} OR LOWER(t.alternate_id) = {lower}))"
        ));
    }
    if let Some(outcome) = &query.outcome {
        let p = bind(outcome.to_uppercase(), &mut binds);
        sql.push_str(&format!(" AND e.outcome_result = {p}"));
    }
    if let Some((published, seq)) = &query.before {
        let p = bind(published.clone(), &mut binds);
        binds.push(Arg::from(*seq));
        let s = format!("${}", binds.len());
        sql.push_str(&format!(
            " AND (e.published < {p} OR (e.published = {p} AND e.seq < {s}))"
        ));
    }
    sql.push_str(" ORDER BY e.published DESC, e.seq DESC");
    if let Some(limit) = query.limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    let rows = conn.fetch_all(&sql, &binds).await?;
    rows.iter()
        .map(|r| {
            let raw: String = r.get(12)?;
            Ok(StoredLogEvent {
                seq: r.get(0)?,
                uuid: r.get(1)?,
                published: r.get(2)?,
                event_type: r.get(3)?,
                actor_id: r.get(4)?,
                actor_alternate_id: r.get(5)?,
                client_ip: r.get(6)?,
                country: r.get(7)?,
                city: r.get(8)?,
                outcome_result: r.get(9)?,
                outcome_reason: r.get(10)?,
                display_message: r.get(11)?,
                raw: serde_json::from_str(&raw)?,
            })
        })
        .collect()
}

/// `published` as stored: UTC, milliseconds, `Z` (sorts as text).
pub(crate) fn published_text(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// `column` equal to `pattern`, or `LIKE` it when it is a glob (`*`, `?`); its value bound
/// as the next parameter.
pub(crate) fn matches_pattern(column: &str, pattern: &str, binds: &mut Vec<Arg>) -> String {
    if pattern.contains(['*', '?']) {
        binds.push(Arg::from(glob_to_like(pattern)));
        format!("{column} LIKE ${} ESCAPE '\\'", binds.len())
    } else {
        binds.push(Arg::from(pattern.to_string()));
        format!("{column} = ${}", binds.len())
    }
}

/// The `LIKE` pattern (`\` escapes) of a glob: `*` any run of characters, `?` one. Event
/// types are lower case, so `LIKE`'s case rules (SQLite ignores ASCII case, PostgreSQL does not)
/// do not matter in practice.
fn glob_to_like(glob: &str) -> String {
    let mut out = String::with_capacity(glob.len() + 1);
    for c in glob.chars() {
        match c {
            '*' => out.push('%'),
            '?' => out.push('_'),
            '%' | '_' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Stores events and prunes, inside the caller's transaction (an incremental run's own).
pub(crate) async fn store(
    conn: &mut dyn Sql,
    org: OrgId,
    run: Option<RunId>,
    events: &[Value],
    keep_after: Option<DateTime<Utc>>,
) -> Result<LogStoreCounts> {
    let mut counts = LogStoreCounts::default();
    for event in events {
        let Some(columns) = EventColumns::of(event) else {
            counts.skipped += 1;
            continue;
        };
        if keep_after.is_some_and(|cutoff| columns.published < cutoff) {
            counts.skipped += 1;
            continue;
        }
        match insert(conn, org, run, &columns, event).await? {
            Some(seq) => {
                counts.stored += 1;
                insert_targets(conn, org, seq, event).await?;
            }
            None => counts.duplicates += 1,
        }
    }
    if let Some(cutoff) = keep_after {
        let cutoff = published_text(cutoff);
        conn.execute(
            "DELETE FROM log_event_targets WHERE org_id = $1 AND seq IN \
               (SELECT e.seq FROM log_events e WHERE e.org_id = $1 AND e.published < $2)",
            args![org, cutoff.as_str()],
        )
        .await?;
        counts.pruned = conn
            .execute(
                "DELETE FROM log_events WHERE org_id = $1 AND published < $2",
                args![org, cutoff.as_str()],
            )
            .await?;
    }
    Ok(counts)
}

/// The new row's `seq`, or `None` when the uuid is stored already.
async fn insert(
    conn: &mut dyn Sql,
    org: OrgId,
    run: Option<RunId>,
    c: &EventColumns,
    event: &Value,
) -> Result<Option<i64>> {
    let text = |path: &[&str]| text_at(event, path);
    let row = conn
        .fetch_optional(
            "INSERT INTO log_events (org_id, uuid, published, event_type, severity, \
               display_message, actor_id, actor_type, actor_alternate_id, actor_display_name, \
               client_ip, country, state, city, lat, lon, user_agent, ua_os, ua_browser, \
               outcome_result, outcome_reason, is_proxy, as_number, as_org, isp, session_id, \
               root_session_id, dt_hash, request_id, transaction_id, run_id, raw) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
               $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32) \
             ON CONFLICT (org_id, uuid) DO NOTHING RETURNING seq",
            args![
                org,
                c.uuid.as_str(),
                published_text(c.published),
                text(&["eventType"]),
                text(&["severity"]),
                text(&["displayMessage"]),
                text(&["actor", "id"]),
                text(&["actor", "type"]),
                text(&["actor", "alternateId"]),
                text(&["actor", "displayName"]),
                text(&["client", "ipAddress"]),
                text(&["client", "geographicalContext", "country"]),
                text(&["client", "geographicalContext", "state"]),
                text(&["client", "geographicalContext", "city"]),
                number_at(
                    event,
                    &["client", "geographicalContext", "geolocation", "lat"]
                ),
                number_at(
                    event,
                    &["client", "geographicalContext", "geolocation", "lon"]
                ),
                text(&["client", "userAgent", "rawUserAgent"]),
                text(&["client", "userAgent", "os"]),
                text(&["client", "userAgent", "browser"]),
                text(&["outcome", "result"]),
                text(&["outcome", "reason"]),
                flag_at(event, &["securityContext", "isProxy"]),
                integer_at(event, &["securityContext", "asNumber"]),
                text(&["securityContext", "asOrg"]),
                text(&["securityContext", "isp"]),
                text(&["authenticationContext", "externalSessionId"]),
                text(&["authenticationContext", "rootSessionId"]),
                text(&["debugContext", "debugData", "dtHash"]),
                text(&["debugContext", "debugData", "requestId"]),
                text(&["transaction", "id"]),
                run.map(|r| r.0),
                crate::schema::canonical_raw(event).to_string(),
            ],
        )
        .await?;
    row.map(|r| r.get(0)).transpose()
}

async fn insert_targets(conn: &mut dyn Sql, org: OrgId, seq: i64, event: &Value) -> Result<()> {
    let Some(targets) = event.get("target").and_then(Value::as_array) else {
        return Ok(());
    };
    for (idx, target) in targets.iter().enumerate() {
        conn.execute(
            "INSERT INTO log_event_targets (org_id, seq, idx, target_id, target_type, \
               alternate_id, display_name) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            args![
                org,
                seq,
                idx as i64,
                text_at(target, &["id"]),
                text_at(target, &["type"]),
                text_at(target, &["alternateId"]),
                text_at(target, &["displayName"])
            ],
        )
        .await?;
    }
    Ok(())
}

/// The columns an event cannot be stored without.
struct EventColumns {
    uuid: String,
    published: DateTime<Utc>,
}

impl EventColumns {
    fn of(event: &Value) -> Option<Self> {
        let uuid = text_at(event, &["uuid"]).filter(|u| !u.is_empty())?;
        let published = DateTime::parse_from_rfc3339(&text_at(event, &["published"])?)
            .ok()?
            .with_timezone(&Utc);
        Some(EventColumns { uuid, published })
    }
}

fn at<'v>(value: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

/// A string (or a number or boolean, as text) at `path`; `None` for null, absent or empty.
fn text_at(value: &Value, path: &[&str]) -> Option<String> {
    match at(value, path)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn number_at(value: &Value, path: &[&str]) -> Option<f64> {
    match at(value, path)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn integer_at(value: &Value, path: &[&str]) -> Option<i64> {
    match at(value, path)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `true`/`false`, also as strings; 1/0 as stored.
fn flag_at(value: &Value, path: &[&str]) -> Option<i64> {
    match at(value, path)? {
        Value::Bool(b) => Some(i64::from(*b)),
        Value::String(s) if s.eq_ignore_ascii_case("true") => Some(1),
        Value::String(s) if s.eq_ignore_ascii_case("false") => Some(0),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn columns_are_read_leniently() {
        let event = json!({
            "uuid": "u1",
            "published": "2026-12-02T03:04:05.6Z",
            "securityContext": {"isProxy": "true", "asNumber": "13335"},
            "client": {"geographicalContext": {"geolocation": {"lat": 52.5, "lon": "13.4"}}},
            "outcome": {"result": "FAILURE", "reason": ""}
        });
        let c = EventColumns::of(&event).unwrap();
        assert_eq!(published_text(c.published), "2026-12-02T03:04:05.600Z");
        assert_eq!(flag_at(&event, &["securityContext", "isProxy"]), Some(1));
        assert_eq!(
            integer_at(&event, &["securityContext", "asNumber"]),
            Some(13335)
        );
        let geo = ["client", "geographicalContext", "geolocation"];
        assert_eq!(
            number_at(&event, &[geo[0], geo[1], geo[2], "lon"]),
            Some(13.4)
        );
        assert_eq!(
            text_at(&event, &["outcome", "reason"]),
            None,
            "empty is absent"
        );
        assert!(EventColumns::of(&json!({"uuid": "u2"})).is_none());
        assert!(EventColumns::of(&json!({"published": "2026-12-02T03:04:05Z"})).is_none());
    }

    #[test]
    fn globs_become_like_patterns() {
        assert_eq!(glob_to_like("user.session.*"), "user.session.%");
        assert_eq!(glob_to_like("user.mfa.?"), "user.mfa._");
        assert_eq!(glob_to_like("a_b%*"), "a\\_b\\%%");
    }
}
