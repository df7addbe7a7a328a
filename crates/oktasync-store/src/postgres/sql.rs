//! The PostgreSQL side of [`crate::sql`]: running statements on sqlx's PostgreSQL
//! connections, and the PostgreSQL dialect.

use crate::error::{Result, StoreError};
use crate::sql::{Arg, Datum, Dialect, Row, Sql, Tx};
use async_trait::async_trait;
use sqlx::postgres::{PgArguments, PgConnection, PgRow};
use sqlx::{AssertSqlSafe, Column, Postgres, Row as _, TypeInfo, ValueRef};
use std::sync::Arc;

pub(crate) struct PgDialect;

impl Dialect for PgDialect {
    fn json_text(&self, json: &str, key: &str) -> String {
        format!("(({json})::json ->> '{key}')")
    }

    fn json_object(&self, pairs: &[(&str, String)]) -> String {
        let pairs: Vec<String> = pairs.iter().map(|(k, v)| format!("'{k}', {v}")).collect();
        format!("json_build_object({})::text", pairs.join(", "))
    }

    fn text_list(&self, param: &str) -> String {
        format!("json_array_elements_text(({param})::json) AS list(value)")
    }

    fn lower_ascii(&self, expr: &str) -> String {
        // Under the "C" collation LOWER folds ASCII letters only, as SQLite's does.
        format!("LOWER(({expr}) COLLATE \"C\")")
    }
}

fn query<'q>(sql: &str, args: &[Arg]) -> sqlx::query::Query<'q, Postgres, PgArguments> {
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

fn datum(row: &PgRow, index: usize) -> Result<Datum> {
    let raw = row.try_get_raw(index)?;
    if raw.is_null() {
        return Ok(Datum::Null);
    }
    let type_name = raw.type_info().name().to_owned();
    Ok(match type_name.as_str() {
        "INT8" => Datum::Int(row.try_get_unchecked::<i64, _>(index)?),
        "INT4" => Datum::Int(i64::from(row.try_get_unchecked::<i32, _>(index)?)),
        "INT2" => Datum::Int(i64::from(row.try_get_unchecked::<i16, _>(index)?)),
        "FLOAT8" => Datum::Real(row.try_get_unchecked::<f64, _>(index)?),
        "FLOAT4" => Datum::Real(f64::from(row.try_get_unchecked::<f32, _>(index)?)),
        "BOOL" => Datum::Bool(row.try_get_unchecked::<bool, _>(index)?),
        "TEXT" | "VARCHAR" | "BPCHAR" | "NAME" | "UNKNOWN" => {
            Datum::Text(row.try_get_unchecked::<String, _>(index)?)
        }
        "JSON" | "JSONB" => Datum::Text(
            row.try_get_unchecked::<serde_json::Value, _>(index)?
                .to_string(),
        ),
        other => {
            return Err(StoreError::Internal(format!(
                "column {} has the PostgreSQL type {other}, which the store does not read",
                row.columns()[index].name()
            )));
        }
    })
}

fn rows(pg_rows: Vec<PgRow>) -> Result<Vec<Row>> {
    let Some(first) = pg_rows.first() else {
        return Ok(Vec::new());
    };
    let columns: Arc<[String]> = first
        .columns()
        .iter()
        .map(|c| c.name().to_owned())
        .collect();
    pg_rows
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
impl Sql for PgConnection {
    fn dialect(&self) -> &'static dyn Dialect {
        &PgDialect
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
                &PgDialect
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

sql_by_deref!(sqlx::pool::PoolConnection<Postgres>);
sql_by_deref!(sqlx::Transaction<'static, Postgres>);

#[async_trait]
impl Tx for sqlx::Transaction<'static, Postgres> {
    async fn commit(self: Box<Self>) -> Result<()> {
        sqlx::Transaction::commit(*self)
            .await
            .map_err(StoreError::from)
    }
}
