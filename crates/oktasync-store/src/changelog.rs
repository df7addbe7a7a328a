//! Applying a [`Delta`] to the mirror, and writing the change log (`changes`) for deltas and
//! for full syncs. Backend-neutral: the statements run on any [`Sql`] connection.
//!
//! Deltas are small (what changed since the last run), so each operation reads the rows it
//! touches, compares them with what it writes, and records one change per row that actually
//! changed. Full syncs are large, so their adds and removes are recorded with one set-based
//! statement per table before the table is applied; only updates (rows whose raw JSON
//! differs) go through Rust to name the fields that changed.

use crate::delta::{Cause, ChangeSource, Delta, DeltaOp, Scope};
use crate::error::{Result, StoreError};
use crate::schema::{self, Cell, ColumnType, Source, TableSpec};
use crate::sql::{Arg, Dialect, Row, Sql, args, scalar};
use crate::types::{ChangeCounts, Changes, OrgId, RunId, Table, timestamp};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

pub(crate) const OP_ADD: &str = "add";
pub(crate) const OP_UPDATE: &str = "update";
pub(crate) const OP_REMOVE: &str = "remove";

/// The dotted paths whose values differ between two JSON objects, with the old and new value
/// of each (absent = null). Objects are compared key by key at every depth; anything else
/// (arrays included) as a whole.
pub(crate) fn json_diff(
    old: &Value,
    new: &Value,
) -> (Vec<String>, Map<String, Value>, Map<String, Value>) {
    let mut fields = Vec::new();
    let mut olds = Map::new();
    let mut news = Map::new();
    diff_into("", old, new, &mut fields, &mut olds, &mut news);
    (fields, olds, news)
}

fn diff_into(
    path: &str,
    old: &Value,
    new: &Value,
    fields: &mut Vec<String>,
    olds: &mut Map<String, Value>,
    news: &mut Map<String, Value>,
) {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                diff_into(
                    &child,
                    a.get(k).unwrap_or(&Value::Null),
                    b.get(k).unwrap_or(&Value::Null),
                    fields,
                    olds,
                    news,
                );
            }
        }
        (a, b) if a != b => {
            fields.push(path.to_owned());
            olds.insert(path.to_owned(), a.clone());
            news.insert(path.to_owned(), b.clone());
        }
        _ => {}
    }
}

/// Which user, group and app a row of `spec` concerns, from its key cells.
fn concerned_ids(spec: &TableSpec, row: &[Cell]) -> [Option<String>; 3] {
    spec.concerns.all().map(|concern| {
        let concern = concern?;
        if let Some((part, equals)) = concern.when
            && !matches!(&row[part], Cell::Text(Some(s)) if s == equals)
        {
            return None;
        }
        match &row[concern.part] {
            Cell::Text(s) => s.clone(),
            Cell::Integer(n) => n.map(|n| n.to_string()),
        }
    })
}

/// The same as [`concerned_ids`], as SQL expressions over a row aliased `alias` (`None` for
/// what the table's rows never concern).
pub(crate) fn concerned_id_sql(spec: &TableSpec, alias: &str) -> [Option<String>; 3] {
    let key: Vec<&str> = spec.key().collect();
    spec.concerns.all().map(|concern| {
        let concern = concern?;
        let column = format!("{alias}.{}", key[concern.part]);
        Some(match concern.when {
            // Spec values are literals of the code, never input.
            Some((part, equals)) => format!(
                "CASE WHEN {alias}.{} = '{equals}' THEN {column} END",
                key[part]
            ),
            None => column,
        })
    })
}

/// The row's columns other than `raw`, as a JSON object (what an add or remove records).
fn columns_json(spec: &TableSpec, row: &[Cell]) -> Value {
    let mut map = Map::new();
    for (column, cell) in spec.columns.iter().zip(row) {
        if column.source == Source::Raw {
            continue;
        }
        let v = match cell {
            Cell::Text(s) => s.clone().map_or(Value::Null, Value::String),
            Cell::Integer(n) => n.map_or(Value::Null, Value::from),
        };
        map.insert(column.name.to_owned(), v);
    }
    Value::Object(map)
}

pub(crate) fn columns_json_sql(dialect: &dyn Dialect, spec: &TableSpec, alias: &str) -> String {
    let pairs: Vec<(&str, String)> = spec
        .columns
        .iter()
        .filter(|c| c.source != Source::Raw)
        .map(|c| (c.name, format!("{alias}.{}", c.name)))
        .collect();
    dialect.json_object(&pairs)
}

fn key_text(spec: &TableSpec, row: &[Cell]) -> String {
    row[..spec.key_len]
        .iter()
        .map(Cell::key_text)
        .collect::<Vec<_>>()
        .join("/")
}

fn key_text_sql(spec: &TableSpec, alias: &str) -> String {
    spec.key()
        .map(|k| format!("{alias}.{k}"))
        .collect::<Vec<_>>()
        .join(" || '/' || ")
}

/// What one run is: the org, the run, and the source its change rows carry.
#[derive(Clone, Copy)]
pub(crate) struct RunContext {
    pub org: OrgId,
    pub run: RunId,
    pub source: ChangeSource,
}

struct ChangeRow<'a> {
    spec: &'a TableSpec,
    row: &'a [Cell],
    op: &'static str,
    fields: Vec<String>,
    old: Option<Value>,
    new: Option<Value>,
}

/// One row of the change log, as written: by a run for a mirror row it changed, and by
/// oktasync's own records (grants, roles), which have no run (`run_id` 0).
pub(crate) struct LogEntry<'a> {
    pub org: OrgId,
    pub run_id: i64,
    pub at: String,
    pub source: &'a str,
    pub entity: &'a str,
    pub entity_id: String,
    pub op: &'a str,
    pub user_id: Option<String>,
    pub group_id: Option<String>,
    pub app_id: Option<String>,
    pub changed_fields: Vec<String>,
    pub old: Option<Value>,
    pub new: Option<Value>,
    pub event_uuid: Option<&'a str>,
    pub actor: Option<&'a str>,
    pub okta_request_id: Option<&'a str>,
}

impl<'a> LogEntry<'a> {
    /// A record of oktasync's own (no run, no event): the rest is filled in by the caller.
    pub fn own(
        org: OrgId,
        at: &str,
        source: &'a str,
        entity: &'a str,
        entity_id: String,
        op: &'a str,
    ) -> Self {
        Self {
            org,
            run_id: 0,
            at: at.to_owned(),
            source,
            entity,
            entity_id,
            op,
            user_id: None,
            group_id: None,
            app_id: None,
            changed_fields: Vec::new(),
            old: None,
            new: None,
            event_uuid: None,
            actor: None,
            okta_request_id: None,
        }
    }
}

/// Appends one row to the change log.
pub(crate) async fn log_entry(conn: &mut dyn Sql, entry: LogEntry<'_>) -> Result<()> {
    conn.execute(
        "INSERT INTO changes (org_id, run_id, at, source, entity, entity_id, op, user_id,
            group_id, app_id, changed_fields, old, new, event_uuid, actor, okta_request_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        args![
            entry.org,
            entry.run_id,
            entry.at,
            entry.source,
            entry.entity,
            entry.entity_id,
            entry.op,
            entry.user_id,
            entry.group_id,
            entry.app_id,
            serde_json::to_string(&entry.changed_fields)?,
            entry.old.map(|v| v.to_string()),
            entry.new.map(|v| v.to_string()),
            entry.event_uuid,
            entry.actor,
            entry.okta_request_id,
        ],
    )
    .await?;
    Ok(())
}

async fn insert_change(
    conn: &mut dyn Sql,
    run: RunContext,
    cause: &Cause,
    change: ChangeRow<'_>,
) -> Result<()> {
    let [user_id, group_id, app_id] = concerned_ids(change.spec, change.row);
    let entry = LogEntry {
        org: run.org,
        run_id: run.run.0,
        at: timestamp(cause.at),
        source: run.source.as_str(),
        entity: change.spec.name,
        entity_id: key_text(change.spec, change.row),
        op: change.op,
        user_id,
        group_id,
        app_id,
        changed_fields: change.fields,
        old: change.old,
        new: change.new,
        event_uuid: cause.event_uuid.as_deref(),
        actor: cause.actor.as_deref(),
        okta_request_id: cause.request_id.as_deref(),
    };
    log_entry(conn, entry).await
}

fn read_row(spec: &TableSpec, row: &Row) -> Result<Vec<Cell>> {
    spec.columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            Ok(match column.ty() {
                ColumnType::Text => Cell::Text(row.get(i)?),
                ColumnType::Integer => Cell::Integer(row.get(i)?),
            })
        })
        .collect()
}

fn cell_arg(cell: &Cell) -> Arg {
    match cell {
        Cell::Text(s) => Arg::Text(s.clone()),
        Cell::Integer(n) => Arg::Int(*n),
    }
}

fn check_scope(spec: &TableSpec, scope: &Scope) -> Result<()> {
    for (column, _) in scope.filters() {
        let known = spec
            .columns
            .iter()
            .any(|c| c.name == *column && c.source != Source::Raw);
        if !known {
            return Err(StoreError::Internal(format!(
                "table {} has no column {column} to select rows by",
                spec.name
            )));
        }
    }
    Ok(())
}

/// `org_id = $1 AND c1 = $2 AND ...` for a scope.
fn scope_where(scope: &Scope) -> String {
    let mut clauses = vec!["org_id = $1".to_owned()];
    for (i, (column, _)) in scope.filters().iter().enumerate() {
        clauses.push(format!("{column} = ${}", i + 2));
    }
    clauses.join(" AND ")
}

/// The rows of a scope, every column, in key order.
pub(crate) async fn scope_rows(
    conn: &mut dyn Sql,
    org: OrgId,
    scope: &Scope,
) -> Result<Vec<Vec<Cell>>> {
    let spec = schema::spec(scope.table());
    check_scope(spec, scope)?;
    let columns: Vec<&str> = spec.column_names().collect();
    let order: Vec<&str> = spec.key().collect();
    let sql = format!(
        "SELECT {} FROM {} WHERE {} ORDER BY {}",
        columns.join(", "),
        spec.name,
        scope_where(scope),
        order.join(", ")
    );
    let mut args = vec![Arg::from(org)];
    args.extend(scope.filters().iter().map(|(_, value)| Arg::from(value)));
    let rows = conn.fetch_all(&sql, &args).await?;
    rows.iter().map(|r| read_row(spec, r)).collect()
}

fn key_scope(spec: &TableSpec, table: Table, row: &[Cell]) -> Scope {
    let filters = spec
        .key()
        .zip(row)
        .map(|(k, c)| (k, c.key_text()))
        .collect();
    Scope::key(table, filters)
}

async fn delete_row(conn: &mut dyn Sql, org: OrgId, spec: &TableSpec, row: &[Cell]) -> Result<()> {
    let keys: Vec<String> = spec
        .key()
        .enumerate()
        .map(|(i, k)| format!("{k} = ${}", i + 2))
        .collect();
    let sql = format!(
        "DELETE FROM {} WHERE org_id = $1 AND {}",
        spec.name,
        keys.join(" AND ")
    );
    let mut args = vec![Arg::from(org)];
    args.extend(row[..spec.key_len].iter().map(cell_arg));
    conn.execute(&sql, &args).await?;
    Ok(())
}

async fn insert_row(conn: &mut dyn Sql, org: OrgId, spec: &TableSpec, row: &[Cell]) -> Result<()> {
    let columns: Vec<&str> = spec.column_names().collect();
    let params: Vec<String> = (0..columns.len()).map(|i| format!("${}", i + 2)).collect();
    let sql = format!(
        "INSERT INTO {} (org_id, {}) VALUES ($1, {})",
        spec.name,
        columns.join(", "),
        params.join(", ")
    );
    let mut args = vec![Arg::from(org)];
    args.extend(row.iter().map(cell_arg));
    conn.execute(&sql, &args).await?;
    Ok(())
}

async fn update_row(conn: &mut dyn Sql, org: OrgId, spec: &TableSpec, row: &[Cell]) -> Result<()> {
    let names: Vec<&str> = spec.column_names().collect();
    let sets: Vec<String> = names[spec.key_len..]
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c} = ${}", i + 2))
        .collect();
    let first_key = 2 + names.len() - spec.key_len;
    let keys: Vec<String> = spec
        .key()
        .enumerate()
        .map(|(i, k)| format!("{k} = ${}", first_key + i))
        .collect();
    let sql = format!(
        "UPDATE {} SET {} WHERE org_id = $1 AND {}",
        spec.name,
        sets.join(", "),
        keys.join(" AND ")
    );
    let mut args = vec![Arg::from(org)];
    args.extend(row[spec.key_len..].iter().map(cell_arg));
    args.extend(row[..spec.key_len].iter().map(cell_arg));
    conn.execute(&sql, &args).await?;
    Ok(())
}

fn raw_of(spec: &TableSpec, row: &[Cell]) -> Option<String> {
    if !spec.has_raw() {
        return None;
    }
    match row.last() {
        Some(Cell::Text(s)) => s.clone(),
        _ => None,
    }
}

/// Applies deltas to one transaction's connection, counting and logging what changed.
pub(crate) struct DeltaWriter<'c> {
    pub conn: &'c mut dyn Sql,
    pub run: RunContext,
    pub changes: Changes,
}

impl DeltaWriter<'_> {
    fn count(&mut self, spec: &TableSpec) -> &mut ChangeCounts {
        self.changes.entry(spec.name.to_owned()).or_default()
    }

    async fn upsert_row(
        &mut self,
        spec: &TableSpec,
        table: Table,
        row: &[Cell],
        cause: &Cause,
    ) -> Result<()> {
        let existing = scope_rows(self.conn, self.run.org, &key_scope(spec, table, row)).await?;
        match existing.first() {
            None => {
                insert_row(self.conn, self.run.org, spec, row).await?;
                self.count(spec).added += 1;
                let change = ChangeRow {
                    spec,
                    row,
                    op: OP_ADD,
                    fields: Vec::new(),
                    old: None,
                    new: Some(columns_json(spec, row)),
                };
                insert_change(self.conn, self.run, cause, change).await
            }
            Some(old) => {
                let (Some(old_raw), Some(new_raw)) = (raw_of(spec, old), raw_of(spec, row)) else {
                    return Ok(());
                };
                if old_raw == new_raw {
                    return Ok(());
                }
                update_row(self.conn, self.run.org, spec, row).await?;
                self.count(spec).updated += 1;
                let (fields, olds, news) = json_diff(
                    &serde_json::from_str(&old_raw)?,
                    &serde_json::from_str(&new_raw)?,
                );
                let change = ChangeRow {
                    spec,
                    row,
                    op: OP_UPDATE,
                    fields,
                    old: Some(Value::Object(olds)),
                    new: Some(Value::Object(news)),
                };
                insert_change(self.conn, self.run, cause, change).await
            }
        }
    }

    async fn remove_rows(
        &mut self,
        spec: &TableSpec,
        rows: &[Vec<Cell>],
        cause: &Cause,
    ) -> Result<()> {
        for row in rows {
            delete_row(self.conn, self.run.org, spec, row).await?;
            self.count(spec).removed += 1;
            let change = ChangeRow {
                spec,
                row,
                op: OP_REMOVE,
                fields: Vec::new(),
                old: Some(columns_json(spec, row)),
                new: None,
            };
            insert_change(self.conn, self.run, cause, change).await?;
        }
        Ok(())
    }

    pub async fn apply(&mut self, delta: &Delta) -> Result<()> {
        for entry in &delta.entries {
            let cause = &entry.cause;
            match &entry.op {
                DeltaOp::Upsert(batch) => {
                    let (table, rows) = schema::rows(batch)?;
                    let spec = schema::spec(table);
                    for row in &rows {
                        self.upsert_row(spec, table, row, cause).await?;
                    }
                }
                DeltaOp::Replace { scope, batch } => {
                    let (table, rows) = schema::rows(batch)?;
                    if table != scope.table() {
                        return Err(StoreError::Internal(format!(
                            "a replace of {} rows was given {} rows",
                            scope.table().as_str(),
                            table.as_str()
                        )));
                    }
                    let spec = schema::spec(table);
                    let keep: std::collections::HashSet<String> =
                        rows.iter().map(|r| key_text(spec, r)).collect();
                    let gone: Vec<Vec<Cell>> = scope_rows(self.conn, self.run.org, scope)
                        .await?
                        .into_iter()
                        .filter(|r| !keep.contains(&key_text(spec, r)))
                        .collect();
                    self.remove_rows(spec, &gone, cause).await?;
                    for row in &rows {
                        self.upsert_row(spec, table, row, cause).await?;
                    }
                }
                DeltaOp::Remove(scope) => {
                    let spec = schema::spec(scope.table());
                    let rows = scope_rows(self.conn, self.run.org, scope).await?;
                    self.remove_rows(spec, &rows, cause).await?;
                }
            }
        }
        Ok(())
    }
}

/// Records, before a full sync applies `spec`'s staged rows, a change row for each row it
/// will add, update or remove. Nothing is recorded for a table that holds no rows of the org
/// yet: its first full sync is the baseline.
pub(crate) async fn record_full_sync_changes(
    conn: &mut dyn Sql,
    run: RunContext,
    spec: &TableSpec,
    at: DateTime<Utc>,
) -> Result<()> {
    let t = spec.name;
    let has_rows: bool = scalar(
        conn,
        &format!("SELECT EXISTS (SELECT 1 FROM {t} WHERE org_id = $1)"),
        args![run.org],
    )
    .await?;
    if !has_rows {
        return Ok(());
    }
    let key_match = |a: &str, b: &str| {
        spec.key()
            .map(|k| format!("{a}.{k} = {b}.{k}"))
            .collect::<Vec<_>>()
            .join(" AND ")
    };
    let cause = Cause::read_at(at);
    let at = timestamp(at);
    // Removes (mirror rows not staged), then adds (staged rows not in the mirror).
    for (op, from, other, json_column) in [
        (OP_REMOVE, format!("{t} m"), format!("stage_{t} s"), "old"),
        (OP_ADD, format!("stage_{t} m"), format!("{t} s"), "new"),
    ] {
        let alias = "m";
        let [user_id, group_id, app_id] =
            concerned_id_sql(spec, alias).map(|sql| sql.unwrap_or_else(|| "NULL".to_owned()));
        let org_condition = if op == OP_REMOVE {
            "m.org_id = $1".to_owned()
        } else {
            "true".to_owned()
        };
        let other_org = if op == OP_REMOVE {
            String::new()
        } else {
            " AND s.org_id = $1".to_owned()
        };
        let sql = format!(
            "INSERT INTO changes (org_id, run_id, at, source, entity, entity_id, op, user_id,
                group_id, app_id, changed_fields, {json_column})
             SELECT $1, $2, $3, $4, '{t}', {key}, '{op}', {user_id}, {group_id}, {app_id}, '[]',
                {columns}
             FROM {from} WHERE {org_condition} AND NOT EXISTS
                (SELECT 1 FROM {other} WHERE {matching}{other_org})
             ORDER BY {order}",
            key = key_text_sql(spec, alias),
            order = spec
                .key()
                .map(|k| format!("{alias}.{k}"))
                .collect::<Vec<_>>()
                .join(", "),
            columns = columns_json_sql(conn.dialect(), spec, alias),
            matching = key_match("s", "m"),
        );
        conn.execute(
            &sql,
            args![run.org, run.run.0, at.as_str(), run.source.as_str()],
        )
        .await?;
    }
    if !spec.has_raw() {
        return Ok(());
    }
    // Updates: name the fields that changed.
    let key_columns: Vec<String> = spec.key().map(|k| format!("m.{k}")).collect();
    let sql = format!(
        "SELECT {}, m.raw, s.raw FROM {t} m JOIN stage_{t} s ON {} \
         WHERE m.org_id = $1 AND m.raw <> s.raw ORDER BY {}",
        key_columns.join(", "),
        key_match("s", "m"),
        key_columns.join(", "),
    );
    let rows = conn.fetch_all(&sql, args![run.org]).await?;
    for r in rows {
        let mut key_cells: Vec<Cell> = (0..spec.key_len)
            .map(|i| r.get(i).map(Cell::Text))
            .collect::<Result<_>>()?;
        let old_raw: String = r.get(spec.key_len)?;
        let new_raw: String = r.get(spec.key_len + 1)?;
        let (fields, olds, news) = json_diff(
            &serde_json::from_str(&old_raw)?,
            &serde_json::from_str(&new_raw)?,
        );
        // concerned_ids reads key columns only; pad the row to the spec's width.
        key_cells.resize(spec.columns.len(), Cell::Text(None));
        let change = ChangeRow {
            spec,
            row: &key_cells,
            op: OP_UPDATE,
            fields,
            old: Some(Value::Object(olds)),
            new: Some(Value::Object(news)),
        };
        insert_change(conn, run, &cause, change).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn diff_names_nested_paths_and_missing_keys() {
        let (fields, old, new) = json_diff(
            &json!({"status": "ACTIVE", "profile": {"a": 1, "b": 2}, "x": [1]}),
            &json!({"status": "SUSPENDED", "profile": {"a": 1, "c": 3}, "x": [1]}),
        );
        assert_eq!(fields, vec!["profile.b", "profile.c", "status"]);
        assert_eq!(old["profile.b"], json!(2));
        assert_eq!(new["profile.b"], Value::Null);
        assert_eq!(new["status"], json!("SUSPENDED"));
    }
}
