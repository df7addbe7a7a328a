//! Detection (`oktasync-detect`) as the store serves it: the kept System Log read in the orders
//! rules need (each event once, by `seq`; a time range for windowed rules), and the alerts they
//! raise (`alerts`), one row per rule, entity and window.
//!
//! An alert found again in the same window (a re-run over a time range, or more matching
//! events arriving) updates its row: the events' uuids are merged, never duplicated. A new
//! alert is also a `changes` row (entity `alerts`, source `detection`), so the change feed
//! delivers it.

use crate::MirrorWriter;
use crate::changelog::{LogEntry, log_entry};
use crate::error::Result;
use crate::log_events::{matches_pattern, published_text};
use crate::mirror::Mirror;
use crate::runlog::write_checkpoints;
use crate::sql::{Arg, Sql, args};
use crate::types::{OrgId, timestamp};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;

/// Most uuids one alert keeps (the count goes on).
pub const MAX_ALERT_UUIDS: usize = 200;

/// One kept event, as detection reads it: the event's JSON as text, parsed (or skipped) by
/// the reader, so that a look-back over many events does not hold them all parsed at once.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedEvent {
    pub seq: i64,
    /// RFC 3339, UTC, milliseconds.
    pub published: String,
    pub event_type: Option<String>,
    /// The event as Okta returned it (JSON).
    pub raw: String,
}

/// An alert as a rule raises it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewAlert {
    pub rule_id: String,
    pub severity: String,
    pub title: String,
    pub entity: String,
    pub window_start: DateTime<Utc>,
    pub first_event: DateTime<Utc>,
    pub last_event: DateTime<Utc>,
    /// Oldest first.
    pub event_uuids: Vec<String>,
    pub summary: String,
    pub detail: Value,
}

/// An alert as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StoredAlert {
    pub id: i64,
    pub rule_id: String,
    pub severity: String,
    pub title: String,
    pub entity: String,
    pub window_start: String,
    pub first_event: String,
    pub last_event: String,
    pub event_count: i64,
    pub event_uuids: Vec<String>,
    pub summary: String,
    /// The evidence: IPs, countries, counts, the rule's sources.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub detail: Value,
    pub created_at: String,
    pub updated_at: String,
}

/// What saving one alert did.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedAlert {
    pub alert: StoredAlert,
    /// A new row (not an update of an alert already raised in this window).
    pub new: bool,
}

/// Filters for [`crate::MirrorReader::alerts`]; every one given must hold.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    /// Its latest event at or after.
    pub since: Option<DateTime<Utc>>,
    /// One of these severities (lower case); all when empty.
    pub severities: Vec<String>,
    /// A rule id, or a glob (`okta.mfa.*`).
    pub rule: Option<String>,
    /// The newest this many; all when `None`.
    pub limit: Option<u32>,
    /// Only alerts listed after this one (its `last_event` and `id`): the next page.
    pub before: Option<(String, i64)>,
}

/// What detection reads and writes; checkpoints (`detect.seq`) come with [`MirrorWriter`].
#[async_trait]
pub trait Detections: MirrorWriter + Send + Sync {
    /// Kept events with `seq` after `after` (and, with `since`, published at or after it), in
    /// `seq` order, at most `limit`.
    async fn log_events_after(
        &self,
        org: OrgId,
        after: i64,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<LoggedEvent>>;

    /// Kept events published in `[from, to]` whose type is one of `event_types` (exact, or
    /// globs; every type when empty), and, with `max_seq`, stored at or before it. In
    /// `published`, then `seq` order.
    async fn log_events_between(
        &self,
        org: OrgId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        event_types: &[String],
        max_seq: Option<i64>,
    ) -> Result<Vec<LoggedEvent>>;

    /// Every user's login in the mirror (lower case).
    async fn user_logins(&self, org: OrgId) -> Result<Vec<String>>;

    /// Saves alerts (new, or merged into the one of the same rule, entity and window) and
    /// checkpoints in one transaction.
    async fn save_alerts(
        &self,
        org: OrgId,
        alerts: &[NewAlert],
        checkpoints: &BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<Vec<SavedAlert>>;
}

const EVENT_COLUMNS: &str = "seq, published, event_type, raw";

fn logged(row: &crate::sql::Row) -> Result<LoggedEvent> {
    Ok(LoggedEvent {
        seq: row.get(0)?,
        published: row.get(1)?,
        event_type: row.get(2)?,
        raw: row.get(3)?,
    })
}

#[async_trait]
impl Detections for Mirror {
    async fn log_events_after(
        &self,
        org: OrgId,
        after: i64,
        since: Option<DateTime<Utc>>,
        limit: u32,
    ) -> Result<Vec<LoggedEvent>> {
        // Without `since`, every event is newer than the empty string.
        let since = since.map(published_text).unwrap_or_default();
        let mut conn = self.backend.conn().await?;
        let rows = conn
            .fetch_all(
                &format!(
                    "SELECT {EVENT_COLUMNS} FROM log_events WHERE org_id = $1 AND seq > $2 \
                     AND published >= $3 ORDER BY seq LIMIT {limit}"
                ),
                args![org, after, since.as_str()],
            )
            .await?;
        rows.iter().map(logged).collect()
    }

    async fn log_events_between(
        &self,
        org: OrgId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        event_types: &[String],
        max_seq: Option<i64>,
    ) -> Result<Vec<LoggedEvent>> {
        let mut sql = format!(
            "SELECT {EVENT_COLUMNS} FROM log_events WHERE org_id = $1 \
             AND published >= $2 AND published <= $3"
        );
        let mut binds: Vec<Arg> = vec![
            Arg::from(org),
            Arg::from(published_text(from)),
            Arg::from(published_text(to)),
        ];
        if !event_types.is_empty() {
            let alternatives: Vec<String> = event_types
                .iter()
                .map(|t| matches_pattern("event_type", t, &mut binds))
                .collect();
            sql.push_str(&format!(" AND ({})", alternatives.join(" OR ")));
        }
        if let Some(max) = max_seq {
            binds.push(Arg::from(max));
            sql.push_str(&format!(" AND seq <= ${}", binds.len()));
        }
        sql.push_str(" ORDER BY published, seq");
        let mut conn = self.backend.conn().await?;
        let rows = conn.fetch_all(&sql, &binds).await?;
        rows.iter().map(logged).collect()
    }

    async fn user_logins(&self, org: OrgId) -> Result<Vec<String>> {
        let mut conn = self.backend.conn().await?;
        let rows = conn
            .fetch_all(
                "SELECT login FROM users WHERE org_id = $1 AND login IS NOT NULL",
                args![org],
            )
            .await?;
        rows.iter()
            .map(|r| r.get::<String>(0).map(|l| l.to_lowercase()))
            .collect()
    }

    async fn save_alerts(
        &self,
        org: OrgId,
        alerts: &[NewAlert],
        checkpoints: &BTreeMap<String, String>,
        now: DateTime<Utc>,
    ) -> Result<Vec<SavedAlert>> {
        let mut tx = self.backend.write(Some(org)).await?;
        let mut saved = Vec::with_capacity(alerts.len());
        for alert in alerts {
            saved.push(save(tx.as_mut(), org, alert, now).await?);
        }
        write_checkpoints(tx.as_mut(), org, None, checkpoints, now).await?;
        tx.commit().await?;
        Ok(saved)
    }
}

const ALERT_COLUMNS: &str = "id, rule_id, severity, title, entity, window_start, first_event, \
    last_event, event_count, event_uuids, summary, detail, created_at, updated_at";

fn stored(row: &crate::sql::Row) -> Result<StoredAlert> {
    let uuids: String = row.get(9)?;
    let detail: String = row.get(11)?;
    Ok(StoredAlert {
        id: row.get(0)?,
        rule_id: row.get(1)?,
        severity: row.get(2)?,
        title: row.get(3)?,
        entity: row.get(4)?,
        window_start: row.get(5)?,
        first_event: row.get(6)?,
        last_event: row.get(7)?,
        event_count: row.get(8)?,
        event_uuids: serde_json::from_str(&uuids)?,
        summary: row.get(10)?,
        detail: serde_json::from_str(&detail)?,
        created_at: row.get(12)?,
        updated_at: row.get(13)?,
    })
}

async fn save(
    conn: &mut dyn Sql,
    org: OrgId,
    alert: &NewAlert,
    now: DateTime<Utc>,
) -> Result<SavedAlert> {
    let window_start = published_text(alert.window_start);
    let existing = conn
        .fetch_optional(
            &format!(
                "SELECT {ALERT_COLUMNS} FROM alerts WHERE org_id = $1 AND rule_id = $2 \
                 AND entity = $3 AND window_start = $4"
            ),
            args![
                org,
                alert.rule_id.as_str(),
                alert.entity.as_str(),
                window_start.as_str()
            ],
        )
        .await?;
    let first = published_text(alert.first_event);
    let last = published_text(alert.last_event);
    let Some(existing) = existing.as_ref().map(stored).transpose()? else {
        let uuids: Vec<&String> = alert.event_uuids.iter().take(MAX_ALERT_UUIDS).collect();
        let row = conn
            .fetch_one(
                &format!(
                    "INSERT INTO alerts (org_id, rule_id, severity, title, entity, window_start, \
                       first_event, last_event, event_count, event_uuids, summary, detail, \
                       created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) \
                     RETURNING {ALERT_COLUMNS}"
                ),
                args![
                    org,
                    alert.rule_id.as_str(),
                    alert.severity.as_str(),
                    alert.title.as_str(),
                    alert.entity.as_str(),
                    window_start.as_str(),
                    first.as_str(),
                    last.as_str(),
                    alert.event_uuids.len() as i64,
                    serde_json::to_string(&uuids)?,
                    alert.summary.as_str(),
                    alert.detail.to_string(),
                    timestamp(now)
                ],
            )
            .await?;
        let alert = stored(&row)?;
        // The change log (and so the change feed) carries every alert raised.
        let entry = LogEntry {
            new: Some(serde_json::to_value(&alert)?),
            ..LogEntry::own(
                org,
                &timestamp(now),
                "detection",
                "alerts",
                alert.id.to_string(),
                "add",
            )
        };
        log_entry(conn, entry).await?;
        return Ok(SavedAlert { alert, new: true });
    };
    let mut uuids = existing.event_uuids.clone();
    let mut added = 0i64;
    for uuid in &alert.event_uuids {
        if !uuids.contains(uuid) {
            added += 1;
            if uuids.len() < MAX_ALERT_UUIDS {
                uuids.push(uuid.clone());
            }
        }
    }
    let first = first.min(existing.first_event.clone());
    let last = last.max(existing.last_event.clone());
    let row = conn
        .fetch_one(
            &format!(
                "UPDATE alerts SET severity = $2, title = $3, first_event = $4, last_event = $5, \
                   event_count = $6, event_uuids = $7, summary = $8, detail = $9, \
                   updated_at = $10 \
                 WHERE id = $1 RETURNING {ALERT_COLUMNS}"
            ),
            args![
                existing.id,
                alert.severity.as_str(),
                alert.title.as_str(),
                first.as_str(),
                last.as_str(),
                existing.event_count + added,
                serde_json::to_string(&uuids)?,
                alert.summary.as_str(),
                alert.detail.to_string(),
                timestamp(now)
            ],
        )
        .await?;
    Ok(SavedAlert {
        alert: stored(&row)?,
        new: false,
    })
}

/// The stored alerts matching `query`, newest first.
pub(crate) async fn query(
    conn: &mut dyn Sql,
    org: OrgId,
    query: &AlertQuery,
) -> Result<Vec<StoredAlert>> {
    let mut sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE org_id = $1");
    let mut binds: Vec<Arg> = vec![Arg::from(org)];
    if let Some(since) = query.since {
        binds.push(Arg::from(published_text(since)));
        sql.push_str(&format!(" AND last_event >= ${}", binds.len()));
    }
    if !query.severities.is_empty() {
        let mut placeholders = Vec::new();
        for s in &query.severities {
            binds.push(Arg::from(s.to_lowercase()));
            placeholders.push(format!("${}", binds.len()));
        }
        sql.push_str(&format!(" AND severity IN ({})", placeholders.join(", ")));
    }
    if let Some(rule) = &query.rule {
        let condition = matches_pattern("rule_id", rule, &mut binds);
        sql.push_str(&format!(" AND {condition}"));
    }
    if let Some((last_event, id)) = &query.before {
        binds.push(Arg::from(last_event.clone()));
        let p = binds.len();
        binds.push(Arg::from(*id));
        sql.push_str(&format!(
            " AND (last_event < ${p} OR (last_event = ${p} AND id < ${}))",
            binds.len()
        ));
    }
    sql.push_str(" ORDER BY last_event DESC, id DESC");
    if let Some(limit) = query.limit {
        sql.push_str(&format!(" LIMIT {limit}"));
    }
    let rows = conn.fetch_all(&sql, &binds).await?;
    rows.iter().map(stored).collect()
}
