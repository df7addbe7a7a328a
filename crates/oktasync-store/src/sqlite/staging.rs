//! Staging a full sync in SQLite: TEMP tables on a connection of the run's own, filled in one
//! transaction on the TEMP database (no lock on the mirror while Okta is read), each batch
//! with one statement and one bound value (the rows as JSON, unpacked by `json_each`). The
//! apply then takes the mirror's write lock (`BEGIN IMMEDIATE`) on the same connection.

use crate::error::Result;
use crate::fullsync::Staging;
use crate::schema::{self, Cell, ColumnType, TableSpec};
use crate::sql::{Sql, args};
use crate::types::{OrgId, Table};
use async_trait::async_trait;
use serde_json::Value;
use sqlx::Connection;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};

/// Page cache of the staging connection for the mirror (KiB): index maintenance while
/// applying a large run stays in memory.
const STAGING_MAIN_CACHE_KIB: u32 = 64 * 1024;

/// Page cache of the staging connection for the TEMP database (KiB).
const STAGING_TEMP_CACHE_KIB: u32 = 32 * 1024;

pub(crate) struct SqliteStaging {
    conn: SqliteConnection,
}

impl SqliteStaging {
    pub(crate) async fn open(options: &SqliteConnectOptions) -> Result<Self> {
        let mut conn = SqliteConnection::connect_with(options).await?;
        // Staged rows go to a temporary file, not memory: a large org stages millions.
        conn.execute("PRAGMA temp_store = FILE", &[]).await?;
        // Bigger page caches for this connection only: staging inserts keys in random order
        // and the apply step maintains indexes of millions of rows.
        conn.execute(
            &format!("PRAGMA main.cache_size = -{STAGING_MAIN_CACHE_KIB}"),
            &[],
        )
        .await?;
        conn.execute(
            &format!("PRAGMA temp.cache_size = -{STAGING_TEMP_CACHE_KIB}"),
            &[],
        )
        .await?;
        for table in Table::ALL {
            conn.execute(&create_stage_sql(schema::spec(table)), &[])
                .await?;
        }
        // Staging runs in one transaction on the TEMP database only (no lock on the mirror),
        // so that pages are not committed one by one.
        conn.execute("BEGIN", &[]).await?;
        Ok(Self { conn })
    }
}

#[async_trait]
impl Staging for SqliteStaging {
    async fn stage(&mut self, spec: &'static TableSpec, rows: Vec<Vec<Cell>>) -> Result<()> {
        self.conn
            .execute(&insert_stage_sql(spec), args![rows_json(rows)?])
            .await?;
        Ok(())
    }

    async fn begin_apply(&mut self, _org: OrgId, _tables: &[Table]) -> Result<()> {
        // End the staging transaction (TEMP only), then take the mirror's write lock.
        self.conn.execute("COMMIT", &[]).await?;
        self.conn.execute("BEGIN IMMEDIATE", &[]).await?;
        Ok(())
    }

    fn sql(&mut self) -> &mut dyn Sql {
        &mut self.conn
    }

    async fn commit(&mut self) -> Result<()> {
        self.conn.execute("COMMIT", &[]).await?;
        Ok(())
    }

    async fn close(self: Box<Self>) {
        // Closing drops the TEMP tables with their files, and rolls back an open transaction.
        let _ = self.conn.close().await;
    }
}

fn sql_type(t: ColumnType) -> &'static str {
    match t {
        ColumnType::Text => "TEXT",
        ColumnType::Integer => "INTEGER",
    }
}

fn create_stage_sql(spec: &TableSpec) -> String {
    let columns: Vec<String> = spec
        .columns
        .iter()
        .map(|c| format!("{} {}", c.name, sql_type(c.ty())))
        .collect();
    let key: Vec<&str> = spec.key().collect();
    format!(
        "CREATE TEMP TABLE stage_{} ({}, PRIMARY KEY ({}))",
        spec.name,
        columns.join(", "),
        key.join(", ")
    )
}

/// Stages a whole batch with one statement and one bound value: the rows as a JSON array of
/// arrays, unpacked by `json_each` (`->>` gives back each string exactly, numbers as numbers,
/// null as NULL). One cached statement per table instead of thousands of bound values.
fn insert_stage_sql(spec: &TableSpec) -> String {
    let columns: Vec<&str> = spec.column_names().collect();
    let values: Vec<String> = (0..columns.len())
        .map(|i| format!("value ->> {i}"))
        .collect();
    // `WHERE true` keeps SQLite from reading ON CONFLICT as part of the SELECT.
    format!(
        "INSERT INTO temp.stage_{} ({}) SELECT {} FROM json_each($1) WHERE true ON CONFLICT DO NOTHING",
        spec.name,
        columns.join(", "),
        values.join(", ")
    )
}

fn rows_json(rows: Vec<Vec<Cell>>) -> Result<String> {
    let rows: Vec<Value> = rows
        .into_iter()
        .map(|row| {
            Value::Array(
                row.into_iter()
                    .map(|cell| match cell {
                        Cell::Text(Some(s)) => Value::String(s),
                        Cell::Integer(Some(n)) => Value::from(n),
                        Cell::Text(None) | Cell::Integer(None) => Value::Null,
                    })
                    .collect(),
            )
        })
        .collect();
    Ok(serde_json::to_string(&rows)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn staging_sql_reads_as_expected() {
        assert_eq!(
            insert_stage_sql(schema::spec(Table::GroupMembers)),
            "INSERT INTO temp.stage_group_members (group_id, user_id) SELECT value ->> 0, value ->> 1 FROM json_each($1) WHERE true ON CONFLICT DO NOTHING"
        );
        let json = rows_json(vec![vec![
            Cell::Text(Some("a\"b".into())),
            Cell::Integer(Some(3)),
            Cell::Text(None),
        ]])
        .unwrap();
        assert_eq!(json, r#"[["a\"b",3,null]]"#);
    }
}
