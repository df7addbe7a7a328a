//! The SQLite side of [`crate::sql`]: running statements on sqlx's SQLite connections, and
//! the SQLite dialect.

use crate::error::{Result, StoreError};
use crate::sql::{Arg, Datum, Dialect, Row, Sql, Tx};
use async_trait::async_trait;
use sqlx::sqlite::{SqliteArguments, SqliteConnection, SqliteRow};
use sqlx::{AssertSqlSafe, Column, Row as _, Sqlite, TypeInfo, ValueRef};
use std::sync::Arc;

pub(crate) struct SqliteDialect;

impl Dialect for SqliteDialect {
    fn json_text(&self, json: &str, key: &str) -> String {
        format!("json_extract({json}, '$.{key}')")
    }

    fn json_object(&self, pairs: &[(&str, String)]) -> String {
        let pairs: Vec<String> = pairs.iter().map(|(k, v)| format!("'{k}', {v}")).collect();
        format!("json_object({})", pairs.join(", "))
    }

    fn text_list(&self, param: &str) -> String {
        format!("json_each({param})")
    }

    fn lower_ascii(&self, expr: &str) -> String {
        // SQLite's LOWER folds ASCII only.
        format!("LOWER({expr})")
    }
}

fn query<'q>(sql: &str, args: &[Arg]) -> sqlx::query::Query<'q, Sqlite, SqliteArguments> {
    let mut query = sqlx::query(AssertSqlSafe(sql.to_owned()));
    for arg in args {
        query = match arg {
            Arg::Int(n) => query.bind(*n),
            Arg::Real(x) => query.bind(*x),
            Arg::Text(s) => query.bind(s.clone()),
        };
    }
    query
}

fn datum(row: &SqliteRow, index: usize) -> Result<Datum> {
    let raw = row.try_get_raw(index)?;
    if raw.is_null() {
        return Ok(Datum::Null);
    }
    let type_name = raw.type_info().name().to_owned();
    Ok(match type_name.as_str() {
        "INTEGER" | "BOOLEAN" => Datum::Int(row.try_get_unchecked::<i64, _>(index)?),
        "REAL" | "NUMERIC" => Datum::Real(row.try_get_unchecked::<f64, _>(index)?),
        "BLOB" => Datum::Text(
            String::from_utf8_lossy(&row.try_get_unchecked::<Vec<u8>, _>(index)?).into_owned(),
        ),
        _ => Datum::Text(row.try_get_unchecked::<String, _>(index)?),
    })
}

fn rows(sqlite_rows: Vec<SqliteRow>) -> Result<Vec<Row>> {
    let Some(first) = sqlite_rows.first() else {
        return Ok(Vec::new());
    };
    let columns: Arc<[String]> = first
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    sqlite_rows
        .iter()
        .map(|r| {
            let values = (0..columns.len())
                .map(|i| datum(r, i))
                .collect::<Result<Vec<_>>>()?;
            Ok(Row {
                columns: columns.clone(),
                values,
            })
        })
        .collect()
}

#[async_trait]
impl Sql for SqliteConnection {
    fn dialect(&self) -> &'static dyn Dialect {
        &SqliteDialect
    }

    async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64> {
        Ok(query(sql, args).execute(&mut *self).await?.rows_affected())
    }

    async fn fetch_all(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<Row>> {
        rows(query(sql, args).fetch_all(&mut *self).await?)
    }

    async fn fetch_optional(&mut self, sql: &str, args: &[Arg]) -> Result<Option<Row>> {
        let row = query(sql, args).fetch_optional(&mut *self).await?;
        Ok(rows(row.into_iter().collect())?.into_iter().next())
    }
}

/// `Sql` for a type that dereferences to a connection (a pooled connection, a transaction).
macro_rules! sql_by_deref {
    ($type:ty) => {
        #[async_trait]
        impl Sql for $type {
            fn dialect(&self) -> &'static dyn Dialect {
                &SqliteDialect
            }
            async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64> {
                Sql::execute(&mut **self, sql, args).await
            }
            async fn fetch_all(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<Row>> {
                Sql::fetch_all(&mut **self, sql, args).await
            }
            async fn fetch_optional(&mut self, sql: &str, args: &[Arg]) -> Result<Option<Row>> {
                Sql::fetch_optional(&mut **self, sql, args).await
            }
        }
    };
}

sql_by_deref!(sqlx::pool::PoolConnection<Sqlite>);
sql_by_deref!(sqlx::Transaction<'static, Sqlite>);

#[async_trait]
impl Tx for sqlx::Transaction<'static, Sqlite> {
    async fn commit(self: Box<Self>) -> Result<()> {
        sqlx::Transaction::commit(*self)
            .await
            .map_err(StoreError::from)
    }
}
