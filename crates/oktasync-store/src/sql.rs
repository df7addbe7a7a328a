//! The SQL both backends run. Statements are written once, with `$N` placeholders (sqlx's
//! SQLite driver reads `$N` as the N-th argument too), bound with [`Arg`]s and read back as
//! [`Row`]s over a connection of either backend ([`Sql`]). The little that differs between
//! SQLite and PostgreSQL in those statements is asked of the connection's [`Dialect`]; each
//! backend implements it in one small place (`sqlite/sql.rs`, `postgres/sql.rs`).
//!
//! Statements are prepared once per connection and cached by their text (sqlx does this), so
//! a statement generated from a [`crate::schema::TableSpec`] costs its preparation once.
//!
//! Portable forms used everywhere (both engines accept them): `ON CONFLICT ... DO UPDATE SET
//! x = excluded.x`, `RETURNING`, `UPDATE ... FROM`, an alias on every subquery in `FROM`,
//! and explicit `NULLS FIRST` / `NULLS LAST` where a sorted column may be NULL (SQLite puts
//! NULLs first, PostgreSQL last). Text compares bytewise on both: SQLite's default `BINARY`
//! collation, and `COLLATE "C"` on every PostgreSQL text column.

use crate::error::{Result, StoreError};
use crate::types::OrgId;
use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use std::sync::Arc;

/// A value bound to a `$N` placeholder. `None` binds NULL (of that type).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    Int(Option<i64>),
    Real(Option<f64>),
    Text(Option<String>),
}

impl From<i64> for Arg {
    fn from(n: i64) -> Self {
        Arg::Int(Some(n))
    }
}

impl From<Option<i64>> for Arg {
    fn from(n: Option<i64>) -> Self {
        Arg::Int(n)
    }
}

impl From<OrgId> for Arg {
    fn from(org: OrgId) -> Self {
        Arg::Int(Some(org.0))
    }
}

impl From<f64> for Arg {
    fn from(n: f64) -> Self {
        Arg::Real(Some(n))
    }
}

impl From<&str> for Arg {
    fn from(s: &str) -> Self {
        Arg::Text(Some(s.to_owned()))
    }
}

impl From<String> for Arg {
    fn from(s: String) -> Self {
        Arg::Text(Some(s))
    }
}

impl From<&String> for Arg {
    fn from(s: &String) -> Self {
        Arg::Text(Some(s.clone()))
    }
}

impl From<Option<String>> for Arg {
    fn from(s: Option<String>) -> Self {
        Arg::Text(s)
    }
}

impl From<Option<&str>> for Arg {
    fn from(s: Option<&str>) -> Self {
        Arg::Text(s.map(str::to_owned))
    }
}

/// `args![a, b, c]`: the arguments `$1, $2, $3`, each converted with `Arg::from`.
macro_rules! args {
    ($($arg:expr),* $(,)?) => {
        &[$($crate::sql::Arg::from($arg)),*][..]
    };
}
pub(crate) use args;

/// One value read back.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Datum {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    /// PostgreSQL's booleans (`EXISTS`); SQLite answers with integers.
    Bool(bool),
}

impl Datum {
    fn to_json(&self) -> Value {
        match self {
            Datum::Null => Value::Null,
            Datum::Int(n) => Value::from(*n),
            Datum::Real(x) => Value::from(*x),
            Datum::Text(s) => Value::String(s.clone()),
            Datum::Bool(b) => Value::Bool(*b),
        }
    }

    /// The value as text, as CSV export writes it (NULL as None).
    pub(crate) fn into_text(self) -> Option<String> {
        match self {
            Datum::Null => None,
            Datum::Int(n) => Some(n.to_string()),
            Datum::Real(x) => Some(x.to_string()),
            Datum::Text(s) => Some(s),
            Datum::Bool(b) => Some(b.to_string()),
        }
    }
}

/// One row read back: its values by position, and the column names of its statement.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub columns: Arc<[String]>,
    pub values: Vec<Datum>,
}

/// A Rust value read from a [`Datum`].
pub(crate) trait FromDatum: Sized {
    fn from_datum(datum: Datum) -> Option<Self>;
    const EXPECTED: &'static str;
}

impl FromDatum for i64 {
    fn from_datum(datum: Datum) -> Option<Self> {
        match datum {
            Datum::Int(n) => Some(n),
            Datum::Bool(b) => Some(i64::from(b)),
            _ => None,
        }
    }
    const EXPECTED: &'static str = "an integer";
}

impl FromDatum for f64 {
    fn from_datum(datum: Datum) -> Option<Self> {
        match datum {
            Datum::Real(x) => Some(x),
            // An integer-valued REAL may come back as an integer.
            Datum::Int(n) => Some(n as f64),
            _ => None,
        }
    }
    const EXPECTED: &'static str = "a number";
}

impl FromDatum for bool {
    fn from_datum(datum: Datum) -> Option<Self> {
        match datum {
            Datum::Bool(b) => Some(b),
            Datum::Int(n) => Some(n != 0),
            _ => None,
        }
    }
    const EXPECTED: &'static str = "a boolean";
}

impl FromDatum for String {
    fn from_datum(datum: Datum) -> Option<Self> {
        match datum {
            Datum::Text(s) => Some(s),
            _ => None,
        }
    }
    const EXPECTED: &'static str = "text";
}

impl<T: FromDatum> FromDatum for Option<T> {
    fn from_datum(datum: Datum) -> Option<Self> {
        match datum {
            Datum::Null => Some(None),
            other => T::from_datum(other).map(Some),
        }
    }
    const EXPECTED: &'static str = T::EXPECTED;
}

impl Row {
    /// The value at `index`, converted; an error (naming the column) when it has another type.
    pub(crate) fn get<T: FromDatum>(&self, index: usize) -> Result<T> {
        let datum = self.values.get(index).cloned().ok_or_else(|| {
            StoreError::Internal(format!("a statement returned no column {index}"))
        })?;
        let shown = format!("{datum:?}");
        T::from_datum(datum).ok_or_else(|| {
            StoreError::Internal(format!(
                "column {} holds {shown}, not {}",
                self.columns.get(index).map_or("?", String::as_str),
                T::EXPECTED
            ))
        })
    }

    /// The value of the column named `name`.
    pub(crate) fn get_named<T: FromDatum>(&self, name: &str) -> Result<T> {
        let index = self
            .columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| StoreError::Internal(format!("a statement returned no {name}")))?;
        self.get(index)
    }

    /// The row as a typed value, its columns read by name (serde field names); columns the
    /// type does not name are ignored.
    pub(crate) fn decode<T: DeserializeOwned>(&self) -> Result<T> {
        let object: Map<String, Value> = self
            .columns
            .iter()
            .zip(&self.values)
            .map(|(name, datum)| (name.clone(), datum.to_json()))
            .collect();
        Ok(serde_json::from_value(Value::Object(object))?)
    }
}

/// A connection (or a transaction on one) of either backend.
#[async_trait]
pub(crate) trait Sql: Send {
    /// How this backend spells what differs.
    fn dialect(&self) -> &'static dyn Dialect;

    /// Runs a statement; returns the rows it changed.
    async fn execute(&mut self, sql: &str, args: &[Arg]) -> Result<u64>;

    async fn fetch_all(&mut self, sql: &str, args: &[Arg]) -> Result<Vec<Row>>;

    async fn fetch_optional(&mut self, sql: &str, args: &[Arg]) -> Result<Option<Row>>;

    /// The one row a statement returns (an aggregate, `RETURNING`).
    async fn fetch_one(&mut self, sql: &str, args: &[Arg]) -> Result<Row> {
        self.fetch_optional(sql, args)
            .await?
            .ok_or_else(|| StoreError::Internal("a statement returned no row".into()))
    }
}

/// The first column of the one row a statement returns.
pub(crate) async fn scalar<T: FromDatum>(
    conn: &mut (dyn Sql + '_),
    sql: &str,
    args: &[Arg],
) -> Result<T> {
    conn.fetch_one(sql, args).await?.get(0)
}

/// A transaction: rolled back when dropped without `commit`.
#[async_trait]
pub(crate) trait Tx: Sql {
    async fn commit(self: Box<Self>) -> Result<()>;
}

/// What the two dialects spell differently, as SQL fragments.
pub(crate) trait Dialect: Send + Sync {
    /// The text at `key` of the JSON object in the text expression `json` (NULL if absent).
    fn json_text(&self, json: &str, key: &str) -> String;

    /// A JSON object, as text, of (key, SQL expression) pairs.
    fn json_object(&self, pairs: &[(&str, String)]) -> String;

    /// A `FROM` item with one column `value`: the strings of the JSON array bound to
    /// `param` (e.g. `$2`).
    fn text_list(&self, param: &str) -> String;

    /// `expr` in lower case, folding ASCII letters only (as SQLite's `LOWER` does).
    fn lower_ascii(&self, expr: &str) -> String;
}
