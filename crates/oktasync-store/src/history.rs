//! Reading the change log: the `changes` listing and "as of time T" answers.
//!
//! The mirror holds the present; the change log holds every change since each table's
//! baseline (its first full sync). The rows of a table as of T are the present rows, with the
//! changes made after T undone: per row key, the first change after T tells what the row was
//! at T (`add`: it did not exist; `remove` or `update`: it did).

use crate::changelog::{self, OP_ADD};
use crate::delta::{ChangeQuery, ChangeRecord};
use crate::error::Result;
use crate::schema;
use crate::sqlite::timestamp;
use crate::types::{OrgId, RunOutcome, Table};
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{AssertSqlSafe, Row, SqlitePool};
use std::collections::{BTreeMap, HashMap};

/// The change log of one org, oldest first (the newest `limit` when a limit is given).
pub async fn changes(
    pool: &SqlitePool,
    org: OrgId,
    query: &ChangeQuery,
) -> Result<Vec<ChangeRecord>> {
    let mut sql = String::from(
        "SELECT c.change_id, c.run_id, c.at, c.source, c.entity, c.entity_id, c.op, c.user_id,
                c.group_id, c.app_id, c.changed_fields, c.old, c.new, c.event_uuid, c.actor,
                COALESCE(u.login, CASE WHEN c.entity = 'users' THEN
                  COALESCE(json_extract(c.old, '$.login'), json_extract(c.new, '$.login')) END)
                  AS user_login,
                COALESCE(g.name, CASE WHEN c.entity = 'groups' THEN
                  COALESCE(json_extract(c.old, '$.name'), json_extract(c.new, '$.name')) END)
                  AS group_name,
                COALESCE(a.label, CASE WHEN c.entity = 'apps' THEN
                  COALESCE(json_extract(c.old, '$.label'), json_extract(c.new, '$.label')) END)
                  AS app_label
         FROM changes c
         LEFT JOIN users u ON u.org_id = c.org_id AND u.id = c.user_id
         LEFT JOIN groups g ON g.org_id = c.org_id AND g.id = c.group_id
         LEFT JOIN apps a ON a.org_id = c.org_id AND a.id = c.app_id
         WHERE c.org_id = ?1",
    );
    if query.since.is_some() {
        sql.push_str(" AND c.at >= ?2");
    }
    if query.user_id.is_some() {
        sql.push_str(" AND c.user_id = ?3");
    }
    if query.group_id.is_some() {
        sql.push_str(" AND c.group_id = ?4");
    }
    sql.push_str(" ORDER BY c.change_id DESC");
    if query.limit.is_some() {
        sql.push_str(" LIMIT ?5");
    }
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(org.0)
        .bind(query.since.map(timestamp))
        .bind(query.user_id.as_deref())
        .bind(query.group_id.as_deref())
        .bind(query.limit.map(i64::from))
        .fetch_all(pool)
        .await?;
    let mut records = rows
        .iter()
        .map(|r| -> Result<ChangeRecord> {
            let json = |name: &str| -> Result<Value> {
                let text: Option<String> = r.try_get(name)?;
                Ok(match text {
                    Some(t) => serde_json::from_str(&t)?,
                    None => Value::Null,
                })
            };
            let fields: String = r.try_get("changed_fields")?;
            Ok(ChangeRecord {
                change_id: r.try_get("change_id")?,
                run_id: r.try_get("run_id")?,
                at: r.try_get("at")?,
                source: r.try_get("source")?,
                entity: r.try_get("entity")?,
                entity_id: r.try_get("entity_id")?,
                op: r.try_get("op")?,
                user_id: r.try_get("user_id")?,
                group_id: r.try_get("group_id")?,
                app_id: r.try_get("app_id")?,
                changed_fields: serde_json::from_str(&fields)?,
                old: json("old")?,
                new: json("new")?,
                event_uuid: r.try_get("event_uuid")?,
                actor: r.try_get("actor")?,
                user_login: r.try_get("user_login")?,
                group_name: r.try_get("group_name")?,
                app_label: r.try_get("app_label")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    records.reverse();
    Ok(records)
}

/// Whose rows a history question is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Concern<'a> {
    User(&'a str),
    Group(&'a str),
    App(&'a str),
}

/// When the mirror's history of one org begins: the end of its first successful run. Rows
/// as of an earlier time are not known.
pub async fn history_start(pool: &SqlitePool, org: OrgId) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT MIN(ended_at) FROM sync_runs WHERE org_id = ? AND outcome = ?")
            .bind(org.0)
            .bind(RunOutcome::Succeeded.as_str())
            .fetch_one(pool)
            .await?,
    )
}

/// The rows of `table` that concern a user, group or app, as they were at `at`: each as a JSON
/// object of its columns (without `raw`), ordered by key. Rows that exist now show their
/// present columns; rows since removed show the columns they had when removed.
pub async fn rows_at(
    pool: &SqlitePool,
    org: OrgId,
    table: Table,
    concern: Concern<'_>,
    at: DateTime<Utc>,
) -> Result<Vec<Value>> {
    let spec = schema::spec(table);
    let [user_sql, group_sql, app_sql] = changelog::concerned_id_sql(spec, "t");
    let (condition, column, id) = match concern {
        Concern::User(id) => (user_sql, "user_id", id),
        Concern::Group(id) => (group_sql, "group_id", id),
        Concern::App(id) => (app_sql, "app_id", id),
    };
    if condition == "NULL" {
        return Ok(Vec::new());
    }
    let key: Vec<String> = spec.key().map(|k| format!("t.{k}")).collect();
    let sql = format!(
        "SELECT {} AS key, {} AS columns FROM {} t WHERE t.org_id = ?1 AND {condition} = ?2",
        key.join(" || '/' || "),
        changelog::columns_json_sql(spec, "t"),
        spec.name,
    );
    let mut present: BTreeMap<String, Value> = BTreeMap::new();
    for r in sqlx::query(AssertSqlSafe(sql))
        .bind(org.0)
        .bind(id)
        .fetch_all(pool)
        .await?
    {
        let columns: String = r.try_get("columns")?;
        present.insert(r.try_get("key")?, serde_json::from_str(&columns)?);
    }
    // Every change after `at`, oldest first: the first per key says what the row was at `at`;
    // the last remove per key carries its columns.
    let sql = format!(
        "SELECT entity_id, op, old FROM changes WHERE org_id = ?1 AND entity = ?2 \
         AND {column} = ?3 AND at > ?4 ORDER BY change_id"
    );
    let mut first_op: HashMap<String, String> = HashMap::new();
    let mut removed_columns: HashMap<String, Value> = HashMap::new();
    for r in sqlx::query(AssertSqlSafe(sql))
        .bind(org.0)
        .bind(spec.name)
        .bind(id)
        .bind(timestamp(at))
        .fetch_all(pool)
        .await?
    {
        let key: String = r.try_get("entity_id")?;
        let op: String = r.try_get("op")?;
        let old: Option<String> = r.try_get("old")?;
        if op == changelog::OP_REMOVE
            && let Some(old) = old
        {
            removed_columns.insert(key.clone(), serde_json::from_str(&old)?);
        }
        first_op.entry(key).or_insert(op);
    }
    let mut rows: BTreeMap<String, Value> = BTreeMap::new();
    for (key, columns) in present {
        if first_op.get(&key).map(String::as_str) != Some(OP_ADD) {
            rows.insert(key, columns);
        }
    }
    for (key, op) in first_op {
        if op != OP_ADD
            && !rows.contains_key(&key)
            && let Some(columns) = removed_columns.remove(&key)
        {
            rows.insert(key, columns);
        }
    }
    Ok(rows.into_values().collect())
}
