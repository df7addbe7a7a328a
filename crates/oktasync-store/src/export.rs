//! The mirror as the emulator's `GET /__emulator/export` object, so that a mirror and its
//! source compare by plain equality. Each table exports as its spec says ([`Export`]), under
//! its name.
//!
//! Lists are ordered by key or by the exported fields: both backends compare text bytewise
//! (SQLite's `BINARY`, PostgreSQL's `COLLATE "C"` columns), the same order as Rust's
//! `str::cmp`, which the emulator sorts with.

use crate::error::Result;
use crate::schema::{self, Export, TableSpec};
use crate::sql::{Row, Sql, args};
use crate::types::{OrgId, Table};
use serde_json::{Map, Value};

/// The statement reading one table's export: the fields an entry names (the listed fields,
/// or a wrapped object's parent columns), then `raw` for tables exporting their objects.
fn export_sql(spec: &TableSpec) -> Option<String> {
    let t = spec.name;
    let key = spec.key().collect::<Vec<_>>().join(", ");
    Some(match spec.export {
        Export::Not => return None,
        Export::Objects => format!("SELECT raw FROM {t} WHERE org_id = $1 ORDER BY {key}"),
        Export::Wrapped(_) => {
            let mut columns: Vec<&str> = spec.parent_columns().collect();
            columns.push("raw");
            format!(
                "SELECT {} FROM {t} WHERE org_id = $1 ORDER BY {key}",
                columns.join(", ")
            )
        }
        Export::Fields(fields) => {
            let fields = fields.join(", ");
            format!("SELECT {fields} FROM {t} WHERE org_id = $1 ORDER BY {fields}")
        }
    })
}

/// The first columns of a row as text fields of an entry, by name.
fn text_fields(row: &Row, names: impl Iterator<Item = &'static str>) -> Result<Map<String, Value>> {
    let mut entry = Map::new();
    for (i, name) in names.enumerate() {
        let value: Option<String> = row.get(i)?;
        entry.insert(name.to_owned(), value.map_or(Value::Null, Value::String));
    }
    Ok(entry)
}

pub(crate) async fn export_json(conn: &mut dyn Sql, org: OrgId) -> Result<Value> {
    let mut export = Map::new();
    for table in Table::ALL {
        let spec = schema::spec(table);
        let Some(sql) = export_sql(spec) else {
            continue;
        };
        let rows = conn.fetch_all(&sql, args![org]).await?;
        let mut entries = Vec::with_capacity(rows.len());
        for row in rows {
            entries.push(match spec.export {
                Export::Objects => serde_json::from_str(&row.get::<String>(0)?)?,
                Export::Wrapped(name) => {
                    let mut entry = text_fields(&row, spec.parent_columns())?;
                    let raw: String = row.get(entry.len())?;
                    entry.insert(name.to_owned(), serde_json::from_str(&raw)?);
                    Value::Object(entry)
                }
                Export::Fields(fields) => Value::Object(text_fields(&row, fields.iter().copied())?),
                Export::Not => continue,
            });
        }
        export.insert(spec.name.to_owned(), Value::Array(entries));
    }
    Ok(Value::Object(export))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_statements_read_as_before() {
        let sql = |table| export_sql(schema::spec(table)).unwrap();
        assert_eq!(
            sql(Table::Users),
            "SELECT raw FROM users WHERE org_id = $1 ORDER BY id"
        );
        assert_eq!(
            sql(Table::RoleAssignments),
            "SELECT assignee_type, assignee_id, role_type, id FROM role_assignments \
             WHERE org_id = $1 ORDER BY assignee_type, assignee_id, role_type, id"
        );
        assert_eq!(
            sql(Table::Factors),
            "SELECT user_id, raw FROM factors WHERE org_id = $1 ORDER BY user_id, id"
        );
    }
}
