//! The mirror as the emulator's `GET /__emulator/export` object, so that a mirror and its
//! source compare by plain equality.

use crate::error::Result;
use crate::sql::{Sql, args};
use crate::types::OrgId;
use serde_json::{Map, Value};

/// Object lists: (export key, SQL). Ordered by id: both backends compare text bytewise (SQLite's
/// `BINARY`, PostgreSQL's `COLLATE "C"` columns), the same order as Rust's `str::cmp`, which
/// the emulator sorts with.
const OBJECT_LISTS: [(&str, &str); 4] = [
    (
        "users",
        "SELECT raw FROM users WHERE org_id = $1 ORDER BY id",
    ),
    (
        "groups",
        "SELECT raw FROM groups WHERE org_id = $1 ORDER BY id",
    ),
    ("apps", "SELECT raw FROM apps WHERE org_id = $1 ORDER BY id"),
    ("idps", "SELECT raw FROM idps WHERE org_id = $1 ORDER BY id"),
];

/// Pair lists: (export key, field names, SQL selecting those fields in that order, sorted by
/// them in that order).
const PAIR_LISTS: [(&str, &[&str], &str); 4] = [
    (
        "group_members",
        &["group_id", "user_id"],
        "SELECT group_id, user_id FROM group_members WHERE org_id = $1 ORDER BY group_id, user_id",
    ),
    (
        "app_users",
        &["app_id", "user_id", "scope"],
        "SELECT app_id, user_id, scope FROM app_users WHERE org_id = $1 ORDER BY app_id, user_id, scope",
    ),
    (
        "app_groups",
        &["app_id", "group_id"],
        "SELECT app_id, group_id FROM app_groups WHERE org_id = $1 ORDER BY app_id, group_id",
    ),
    (
        "role_assignments",
        &["assignee_type", "assignee_id", "role_type", "id"],
        "SELECT assignee_type, assignee_id, role_type, id FROM role_assignments WHERE org_id = $1
         ORDER BY assignee_type, assignee_id, role_type, id",
    ),
];

/// Factors name no user of their own, so each is exported with its user:
/// `{"factor": <raw>, "user_id": …}`, ordered by user then factor id (the table's key).
const FACTORS_SQL: &str = "SELECT user_id, raw FROM factors WHERE org_id = $1 ORDER BY user_id, id";

pub(crate) async fn export_json(conn: &mut dyn Sql, org: OrgId) -> Result<Value> {
    let mut export = Map::new();
    for (key, sql) in OBJECT_LISTS {
        let rows = conn.fetch_all(sql, args![org]).await?;
        let objects = rows
            .iter()
            .map(|row| Ok(serde_json::from_str(&row.get::<String>(0)?)?))
            .collect::<Result<Vec<Value>>>()?;
        export.insert(key.to_owned(), Value::Array(objects));
    }
    for (key, fields, sql) in PAIR_LISTS {
        let rows = conn.fetch_all(sql, args![org]).await?;
        let mut pairs = Vec::with_capacity(rows.len());
        for row in rows {
            let mut pair = Map::new();
            for (i, field) in fields.iter().enumerate() {
                let value: Option<String> = row.get(i)?;
                pair.insert(
                    (*field).to_owned(),
                    value.map_or(Value::Null, Value::String),
                );
            }
            pairs.push(Value::Object(pair));
        }
        export.insert(key.to_owned(), Value::Array(pairs));
    }
    let rows = conn.fetch_all(FACTORS_SQL, args![org]).await?;
    let mut factors = Vec::with_capacity(rows.len());
    for row in rows {
        let (user_id, raw): (String, String) = (row.get(0)?, row.get(1)?);
        let mut entry = Map::new();
        entry.insert("factor".to_owned(), serde_json::from_str(&raw)?);
        entry.insert("user_id".to_owned(), Value::String(user_id));
        factors.push(Value::Object(entry));
    }
    export.insert("factors".to_owned(), Value::Array(factors));
    Ok(Value::Object(export))
}
