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
use crate::sql::{Arg, Sql, args};
use crate::types::{OrgId, RunOutcome, Table, timestamp};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// The change log of one org, oldest first (the newest `limit` when a limit is given).
pub(crate) async fn changes(
    conn: &mut dyn Sql,
    org: OrgId,
    query: &ChangeQuery,
) -> Result<Vec<ChangeRecord>> {
    let d = conn.dialect();
    let named = |column: &str, table: &str, key: &str| {
        format!(
            "COALESCE({column}, CASE WHEN c.entity = '{table}' THEN COALESCE({}, {}) END)",
            d.json_text("c.old", key),
            d.json_text("c.new", key)
        )
    };
    let mut sql = format!(
        "SELECT c.change_id, c.run_id, c.at, c.source, c.entity, c.entity_id, c.op, c.user_id,
                c.group_id, c.app_id, c.changed_fields, c.old, c.new, c.event_uuid, c.actor,
                c.okta_request_id,
                CASE WHEN c.entity = 'grants' THEN {} ELSE
                  (SELECT MIN(ga.grant_id) FROM grant_audit ga
                   WHERE ga.org_id = c.org_id AND ga.okta_request_id = c.okta_request_id) END
                  AS grant_id,
                {} AS user_login, {} AS group_name, {} AS app_label
         FROM changes c
         LEFT JOIN users u ON u.org_id = c.org_id AND u.id = c.user_id
         LEFT JOIN groups g ON g.org_id = c.org_id AND g.id = c.group_id
         LEFT JOIN apps a ON a.org_id = c.org_id AND a.id = c.app_id
         WHERE c.org_id = $1",
        "CAST(c.entity_id AS BIGINT)",
        named("u.login", "users", "login"),
        named("g.name", "groups", "name"),
        named("a.label", "apps", "label"),
    );
    let mut args = vec![Arg::from(org)];
    if let Some(since) = query.since {
        args.push(timestamp(since).into());
        sql.push_str(&format!(" AND c.at >= ${}", args.len()));
    }
    if let Some(user_id) = &query.user_id {
        args.push(user_id.into());
        sql.push_str(&format!(" AND c.user_id = ${}", args.len()));
    }
    if let Some(group_id) = &query.group_id {
        args.push(group_id.into());
        sql.push_str(&format!(" AND c.group_id = ${}", args.len()));
    }
    if let Some(entity) = &query.entity {
        args.push(entity.into());
        sql.push_str(&format!(" AND c.entity = ${}", args.len()));
    }
    if let Some(after) = query.after {
        args.push(after.into());
        sql.push_str(&format!(" AND c.change_id > ${}", args.len()));
        sql.push_str(" ORDER BY c.change_id ASC");
    } else {
        sql.push_str(" ORDER BY c.change_id DESC");
    }
    if let Some(limit) = query.limit {
        args.push(i64::from(limit).into());
        sql.push_str(&format!(" LIMIT ${}", args.len()));
    }
    let rows = conn.fetch_all(&sql, &args).await?;
    let mut records = rows
        .iter()
        .map(|r| -> Result<ChangeRecord> {
            let json = |name: &str| -> Result<Value> {
                let text: Option<String> = r.get_named(name)?;
                Ok(match text {
                    Some(t) => serde_json::from_str(&t)?,
                    None => Value::Null,
                })
            };
            let fields: String = r.get_named("changed_fields")?;
            Ok(ChangeRecord {
                change_id: r.get_named("change_id")?,
                run_id: r.get_named("run_id")?,
                at: r.get_named("at")?,
                source: r.get_named("source")?,
                entity: r.get_named("entity")?,
                entity_id: r.get_named("entity_id")?,
                op: r.get_named("op")?,
                user_id: r.get_named("user_id")?,
                group_id: r.get_named("group_id")?,
                app_id: r.get_named("app_id")?,
                changed_fields: serde_json::from_str(&fields)?,
                old: json("old")?,
                new: json("new")?,
                event_uuid: r.get_named("event_uuid")?,
                actor: r.get_named("actor")?,
                okta_request_id: r.get_named("okta_request_id")?,
                grant_id: r.get_named("grant_id")?,
                user_login: r.get_named("user_login")?,
                group_name: r.get_named("group_name")?,
                app_label: r.get_named("app_label")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    if query.after.is_none() {
        records.reverse();
    }
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
pub(crate) async fn history_start(conn: &mut dyn Sql, org: OrgId) -> Result<Option<String>> {
    crate::sql::scalar(
        conn,
        "SELECT MIN(ended_at) FROM sync_runs WHERE org_id = $1 AND outcome = $2",
        args![org, RunOutcome::Succeeded.as_str()],
    )
    .await
}

/// The rows of `table` that concern a user, group or app, as they were at `at`: each as a JSON
/// object of its columns (without `raw`), ordered by key. Rows that exist now show their
/// present columns; rows since removed show the columns they had when removed.
pub(crate) async fn rows_at(
    conn: &mut dyn Sql,
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
    let Some(condition) = condition else {
        return Ok(Vec::new());
    };
    let key: Vec<String> = spec.key().map(|k| format!("t.{k}")).collect();
    let sql = format!(
        "SELECT {} AS key, {} AS columns FROM {} t WHERE t.org_id = $1 AND {condition} = $2",
        key.join(" || '/' || "),
        changelog::columns_json_sql(conn.dialect(), spec, "t"),
        spec.name,
    );
    let mut present: BTreeMap<String, Value> = BTreeMap::new();
    for r in conn.fetch_all(&sql, args![org, id]).await? {
        let columns: String = r.get_named("columns")?;
        present.insert(r.get_named("key")?, serde_json::from_str(&columns)?);
    }
    // Every change after `at`, oldest first: the first per key says what the row was at `at`;
    // the last remove per key carries its columns.
    let sql = format!(
        "SELECT entity_id, op, old FROM changes WHERE org_id = $1 AND entity = $2 \
         AND {column} = $3 AND at > $4 ORDER BY change_id"
    );
    let mut first_op: HashMap<String, String> = HashMap::new();
    let mut removed_columns: HashMap<String, Value> = HashMap::new();
    for r in conn
        .fetch_all(&sql, args![org, spec.name, id, timestamp(at)])
        .await?
    {
        let key: String = r.get_named("entity_id")?;
        let op: String = r.get_named("op")?;
        let old: Option<String> = r.get_named("old")?;
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
