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

impl From<Option<f64>> for Arg {
    fn from(n: Option<f64>) -> Self {
        Arg::Real(n)
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
        T::from_datum(datum).ok_or_else(|| {
            StoreError::Internal(format!(
                "column {} holds {}, not {}",
                self.columns.get(index).map_or("?", String::as_str),
                self.values
                    .get(index)
                    .map(|d| format!("{d:?}"))
                    .unwrap_or_default(),
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
        Ok(T::deserialize(RowDeserializer(self))?)
    }
}

/// A row read as a map of column name to value, straight into the type (no JSON object in
/// between: a page of users decodes without copying every column name per row).
struct RowDeserializer<'a>(&'a Row);

impl<'de> serde::Deserializer<'de> for RowDeserializer<'_> {
    type Error = serde_json::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(
        self,
        visitor: V,
    ) -> std::result::Result<V::Value, Self::Error> {
        let entries = self
            .0
            .columns
            .iter()
            .zip(&self.0.values)
            .map(|(name, datum)| (name.as_str(), DatumDeserializer(datum)));
        let mut map = serde::de::value::MapDeserializer::new(entries);
        let value = visitor.visit_map(&mut map)?;
        map.end()?;
        Ok(value)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map struct enum
        identifier ignored_any
    }
}

/// One value of a row, as JSON would present it (NULL as none/unit).
struct DatumDeserializer<'a>(&'a Datum);

impl<'de> serde::de::IntoDeserializer<'de, serde_json::Error> for DatumDeserializer<'_> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> serde::Deserializer<'de> for DatumDeserializer<'_> {
    type Error = serde_json::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(
        self,
        visitor: V,
    ) -> std::result::Result<V::Value, Self::Error> {
        match self.0 {
            Datum::Null => visitor.visit_unit(),
            Datum::Int(n) => visitor.visit_i64(*n),
            Datum::Real(x) => visitor.visit_f64(*x),
            Datum::Text(s) => visitor.visit_str(s),
            Datum::Bool(b) => visitor.visit_bool(*b),
        }
    }

    fn deserialize_option<V: serde::de::Visitor<'de>>(
        self,
        visitor: V,
    ) -> std::result::Result<V::Value, Self::Error> {
        match self.0 {
            Datum::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    /// Text names a unit variant (`"full"` is `RunKind::Full`), as JSON strings do.
    fn deserialize_enum<V: serde::de::Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> std::result::Result<V::Value, Self::Error> {
        match self.0 {
            Datum::Text(s) => {
                use serde::de::IntoDeserializer;
                visitor.visit_enum(s.as_str().into_deserializer())
            }
            other => {
                use serde::de::Unexpected;
                let found = match other {
                    Datum::Int(n) => Unexpected::Signed(*n),
                    Datum::Real(x) => Unexpected::Float(*x),
                    Datum::Bool(b) => Unexpected::Bool(*b),
                    Datum::Null | Datum::Text(_) => Unexpected::Unit,
                };
                Err(serde::de::Error::invalid_type(
                    found,
                    &format!("a variant of {name} ({})", variants.join(", ")).as_str(),
                ))
            }
        }
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        unit unit_struct newtype_struct seq tuple tuple_struct map struct
        identifier ignored_any
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::RunKind;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Deserialize)]
    struct Inner {
        id: String,
        count: i64,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Decoded {
        #[serde(flatten)]
        inner: Inner,
        kind: RunKind,
        share: f64,
        note: Option<String>,
        absent: Option<i64>,
        raw: serde_json::Value,
    }

    fn row(values: Vec<(&str, Datum)>) -> Row {
        let (columns, values): (Vec<String>, Vec<Datum>) =
            values.into_iter().map(|(c, v)| (c.to_owned(), v)).unzip();
        Row {
            columns: columns.into(),
            values,
        }
    }

    #[test]
    fn a_row_decodes_by_column_name_as_its_json_object_would() {
        let decoded: Decoded = row(vec![
            ("id", Datum::Text("00u1".into())),
            ("count", Datum::Int(3)),
            ("kind", Datum::Text("incremental".into())),
            ("share", Datum::Int(2)),
            ("note", Datum::Null),
            ("raw", Datum::Text("{\"a\":1}".into())),
            ("not_a_field", Datum::Bool(true)),
        ])
        .decode()
        .unwrap();
        assert_eq!(
            decoded,
            Decoded {
                inner: Inner {
                    id: "00u1".into(),
                    count: 3
                },
                kind: RunKind::Incremental,
                share: 2.0,
                note: None,
                absent: None,
                raw: serde_json::Value::String("{\"a\":1}".into()),
            }
        );
    }

    #[test]
    fn a_column_of_the_wrong_type_is_an_error_naming_what_was_expected() {
        let err = row(vec![
            ("id", Datum::Text("00u1".into())),
            ("count", Datum::Int(3)),
            ("kind", Datum::Int(7)),
            ("share", Datum::Real(0.5)),
            ("raw", Datum::Null),
        ])
        .decode::<Decoded>()
        .unwrap_err()
        .to_string();
        assert!(err.contains("RunKind"), "{err}");
        let err = row(vec![("id", Datum::Int(1)), ("count", Datum::Int(3))])
            .decode::<Inner>()
            .unwrap_err()
            .to_string();
        assert!(err.contains("string"), "{err}");
    }
}
