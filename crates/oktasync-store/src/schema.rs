//! The mirrored tables as data: their columns, keys, and how a row is read out of the Okta
//! JSON of one object. Staging and diff SQL is generated from these descriptions, so a new
//! column is one line here plus a migration.

use crate::error::{Result, StoreError};
use crate::types::{Batch, Table};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnType {
    Text,
    Integer,
}

/// One mirrored table (its `org_id` column is implicit).
pub(crate) struct TableSpec {
    pub name: &'static str,
    /// Columns in row order, key columns first.
    pub columns: &'static [(&'static str, ColumnType)],
    /// How many leading columns form the key (after org_id).
    pub key_len: usize,
    /// Whether the table has a `raw` column (the last one); rows without it never "update".
    pub has_raw: bool,
}

impl TableSpec {
    pub fn key(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.columns[..self.key_len].iter().map(|(name, _)| *name)
    }
    pub fn column_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.columns.iter().map(|(name, _)| *name)
    }
}

use ColumnType::{Integer as I, Text as T};

pub(crate) const USERS: TableSpec = TableSpec {
    name: "users",
    columns: &[
        ("id", T),
        ("status", T),
        ("login", T),
        ("email", T),
        ("first_name", T),
        ("last_name", T),
        ("display_name", T),
        ("department", T),
        ("title", T),
        ("employee_number", T),
        ("manager_id", T),
        ("user_type_id", T),
        ("created", T),
        ("activated", T),
        ("status_changed", T),
        ("last_login", T),
        ("last_updated", T),
        ("password_changed", T),
        ("raw", T),
    ],
    key_len: 1,
    has_raw: true,
};

pub(crate) const GROUPS: TableSpec = TableSpec {
    name: "groups",
    columns: &[
        ("id", T),
        ("type", T),
        ("name", T),
        ("description", T),
        ("created", T),
        ("last_updated", T),
        ("last_membership_updated", T),
        ("raw", T),
    ],
    key_len: 1,
    has_raw: true,
};

pub(crate) const GROUP_MEMBERS: TableSpec = TableSpec {
    name: "group_members",
    columns: &[("group_id", T), ("user_id", T)],
    key_len: 2,
    has_raw: false,
};

pub(crate) const APPS: TableSpec = TableSpec {
    name: "apps",
    columns: &[
        ("id", T),
        ("name", T),
        ("label", T),
        ("status", T),
        ("sign_on_mode", T),
        ("created", T),
        ("last_updated", T),
        ("raw", T),
    ],
    key_len: 1,
    has_raw: true,
};

pub(crate) const APP_USERS: TableSpec = TableSpec {
    name: "app_users",
    columns: &[
        ("app_id", T),
        ("user_id", T),
        ("scope", T),
        ("status", T),
        ("external_id", T),
        ("user_name", T),
        ("sync_state", T),
        ("created", T),
        ("last_updated", T),
        ("status_changed", T),
        ("raw", T),
    ],
    key_len: 2,
    has_raw: true,
};

pub(crate) const APP_GROUPS: TableSpec = TableSpec {
    name: "app_groups",
    columns: &[
        ("app_id", T),
        ("group_id", T),
        ("priority", I),
        ("last_updated", T),
        ("raw", T),
    ],
    key_len: 2,
    has_raw: true,
};

pub(crate) const ROLE_ASSIGNMENTS: TableSpec = TableSpec {
    name: "role_assignments",
    columns: &[
        ("assignee_type", T),
        ("assignee_id", T),
        ("id", T),
        ("role_type", T),
        ("label", T),
        ("status", T),
        ("assignment_type", T),
        ("role_id", T),
        ("created", T),
        ("last_updated", T),
        ("raw", T),
    ],
    key_len: 3,
    has_raw: true,
};

pub(crate) const IDPS: TableSpec = TableSpec {
    name: "idps",
    columns: &[
        ("id", T),
        ("name", T),
        ("type", T),
        ("status", T),
        ("issuer_mode", T),
        ("protocol_type", T),
        ("created", T),
        ("last_updated", T),
        ("raw", T),
    ],
    key_len: 1,
    has_raw: true,
};

pub(crate) const FACTORS: TableSpec = TableSpec {
    name: "factors",
    columns: &[
        ("user_id", T),
        ("id", T),
        ("factor_type", T),
        ("provider", T),
        ("vendor_name", T),
        ("status", T),
        ("created", T),
        ("last_updated", T),
        ("raw", T),
    ],
    key_len: 2,
    has_raw: true,
};

pub(crate) fn spec(table: Table) -> &'static TableSpec {
    match table {
        Table::Users => &USERS,
        Table::Groups => &GROUPS,
        Table::GroupMembers => &GROUP_MEMBERS,
        Table::Apps => &APPS,
        Table::AppUsers => &APP_USERS,
        Table::AppGroups => &APP_GROUPS,
        Table::RoleAssignments => &ROLE_ASSIGNMENTS,
        Table::Idps => &IDPS,
        Table::Factors => &FACTORS,
    }
}

/// One value bound into a staging insert.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    Text(Option<String>),
    Integer(Option<i64>),
}

impl Cell {
    /// The value as text, as keys are written in the change log (NULL as empty).
    pub(crate) fn key_text(&self) -> String {
        match self {
            Cell::Text(s) => s.clone().unwrap_or_default(),
            Cell::Integer(n) => n.map(|n| n.to_string()).unwrap_or_default(),
        }
    }
}

/// The text at a JSON pointer; numbers and booleans are written out, null and absent are None.
fn text_at(object: &Value, pointer: &str) -> Cell {
    Cell::Text(match object.pointer(pointer) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    })
}

fn int_at(object: &Value, pointer: &str) -> Cell {
    Cell::Integer(object.pointer(pointer).and_then(Value::as_i64))
}

fn text(s: &str) -> Cell {
    Cell::Text(Some(s.to_owned()))
}

fn id_of(object: &Value, kind: &'static str) -> Result<String> {
    object
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or(StoreError::MissingId { kind })
}

/// The object as the mirror keeps it: without `_links` and `_embedded`, every object's keys
/// sorted (so equal objects have equal text and change detection is a string compare).
pub fn canonical_raw(object: &Value) -> Value {
    let mut object = object.clone();
    if let Value::Object(map) = &mut object {
        map.remove("_links");
        map.remove("_embedded");
    }
    sort_keys(&mut object);
    object
}

fn sort_keys(value: &mut Value) {
    match value {
        Value::Object(map) => {
            // A no-op unless some crate in the build enables serde_json's `preserve_order`.
            map.sort_keys();
            map.values_mut().for_each(sort_keys);
        }
        Value::Array(items) => items.iter_mut().for_each(sort_keys),
        _ => {}
    }
}

fn raw_cell(object: &Value) -> Result<Cell> {
    Ok(Cell::Text(Some(serde_json::to_string(&canonical_raw(
        object,
    ))?)))
}

/// The rows a batch stages, in the column order of its table's spec.
pub(crate) fn rows(batch: &Batch) -> Result<(Table, Vec<Vec<Cell>>)> {
    let mut rows = Vec::new();
    let table = batch.table();
    match batch {
        Batch::Users(users) => {
            for u in users {
                rows.push(vec![
                    text(&id_of(u, "user")?),
                    text_at(u, "/status"),
                    text_at(u, "/profile/login"),
                    text_at(u, "/profile/email"),
                    text_at(u, "/profile/firstName"),
                    text_at(u, "/profile/lastName"),
                    text_at(u, "/profile/displayName"),
                    text_at(u, "/profile/department"),
                    text_at(u, "/profile/title"),
                    text_at(u, "/profile/employeeNumber"),
                    text_at(u, "/profile/managerId"),
                    text_at(u, "/type/id"),
                    text_at(u, "/created"),
                    text_at(u, "/activated"),
                    text_at(u, "/statusChanged"),
                    text_at(u, "/lastLogin"),
                    text_at(u, "/lastUpdated"),
                    text_at(u, "/passwordChanged"),
                    raw_cell(u)?,
                ]);
            }
        }
        Batch::Groups(groups) => {
            for g in groups {
                rows.push(vec![
                    text(&id_of(g, "group")?),
                    text_at(g, "/type"),
                    text_at(g, "/profile/name"),
                    text_at(g, "/profile/description"),
                    text_at(g, "/created"),
                    text_at(g, "/lastUpdated"),
                    text_at(g, "/lastMembershipUpdated"),
                    raw_cell(g)?,
                ]);
            }
        }
        Batch::GroupMembers { group_id, user_ids } => {
            for user_id in user_ids {
                rows.push(vec![text(group_id), text(user_id)]);
            }
        }
        Batch::Apps(apps) => {
            for a in apps {
                rows.push(vec![
                    text(&id_of(a, "app")?),
                    text_at(a, "/name"),
                    text_at(a, "/label"),
                    text_at(a, "/status"),
                    text_at(a, "/signOnMode"),
                    text_at(a, "/created"),
                    text_at(a, "/lastUpdated"),
                    raw_cell(a)?,
                ]);
            }
        }
        Batch::AppUsers { app_id, app_users } => {
            for au in app_users {
                rows.push(vec![
                    text(app_id),
                    text(&id_of(au, "app user")?),
                    text_at(au, "/scope"),
                    text_at(au, "/status"),
                    text_at(au, "/externalId"),
                    text_at(au, "/credentials/userName"),
                    text_at(au, "/syncState"),
                    text_at(au, "/created"),
                    text_at(au, "/lastUpdated"),
                    text_at(au, "/statusChanged"),
                    raw_cell(au)?,
                ]);
            }
        }
        Batch::AppGroups {
            app_id,
            assignments,
        } => {
            for ag in assignments {
                rows.push(vec![
                    text(app_id),
                    text(&id_of(ag, "app group assignment")?),
                    int_at(ag, "/priority"),
                    text_at(ag, "/lastUpdated"),
                    raw_cell(ag)?,
                ]);
            }
        }
        Batch::RoleAssignments {
            assignee_type,
            assignee_id,
            roles,
        } => {
            for r in roles {
                rows.push(vec![
                    text(assignee_type.as_str()),
                    text(assignee_id),
                    text(&id_of(r, "role assignment")?),
                    text_at(r, "/type"),
                    text_at(r, "/label"),
                    text_at(r, "/status"),
                    text_at(r, "/assignmentType"),
                    text_at(r, "/role"),
                    text_at(r, "/created"),
                    text_at(r, "/lastUpdated"),
                    raw_cell(r)?,
                ]);
            }
        }
        Batch::Idps(idps) => {
            for i in idps {
                rows.push(vec![
                    text(&id_of(i, "identity provider")?),
                    text_at(i, "/name"),
                    text_at(i, "/type"),
                    text_at(i, "/status"),
                    text_at(i, "/issuerMode"),
                    text_at(i, "/protocol/type"),
                    text_at(i, "/created"),
                    text_at(i, "/lastUpdated"),
                    raw_cell(i)?,
                ]);
            }
        }
        Batch::Factors { user_id, factors } => {
            for f in factors {
                rows.push(vec![
                    text(user_id),
                    text(&id_of(f, "factor")?),
                    text_at(f, "/factorType"),
                    text_at(f, "/provider"),
                    text_at(f, "/vendorName"),
                    text_at(f, "/status"),
                    text_at(f, "/created"),
                    text_at(f, "/lastUpdated"),
                    raw_cell(f)?,
                ]);
            }
        }
    }
    Ok((table, rows))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::AssigneeType;
    use serde_json::json;

    #[test]
    fn every_row_matches_its_spec_width() {
        let batches = [
            Batch::Users(vec![json!({"id": "u1", "profile": {"login": "a@b"}})]),
            Batch::Groups(vec![json!({"id": "g1"})]),
            Batch::GroupMembers {
                group_id: "g1".into(),
                user_ids: vec!["u1".into()],
            },
            Batch::Apps(vec![json!({"id": "a1"})]),
            Batch::AppUsers {
                app_id: "a1".into(),
                app_users: vec![json!({"id": "u1", "scope": "USER"})],
            },
            Batch::AppGroups {
                app_id: "a1".into(),
                assignments: vec![json!({"id": "g1", "priority": 0})],
            },
            Batch::RoleAssignments {
                assignee_type: AssigneeType::Group,
                assignee_id: "g1".into(),
                roles: vec![json!({"id": "r1", "type": "ORG_ADMIN"})],
            },
            Batch::Idps(vec![json!({"id": "i1"})]),
            Batch::Factors {
                user_id: "u1".into(),
                factors: vec![json!({"id": "f1"})],
            },
        ];
        for batch in &batches {
            let (table, rows) = rows(batch).unwrap();
            assert_eq!(rows[0].len(), spec(table).columns.len(), "{table:?}");
            assert_eq!(
                spec(table).has_raw,
                spec(table).columns.last().unwrap().0 == "raw"
            );
        }
    }

    #[test]
    fn raw_drops_links_and_embedded_and_sorts_keys() {
        let object = json!({"z": 1, "id": "x", "_links": {}, "_embedded": {"stats": {}}, "a": {"y": 1, "b": 2}});
        let raw = serde_json::to_string(&canonical_raw(&object)).unwrap();
        assert_eq!(raw, r#"{"a":{"b":2,"y":1},"id":"x","z":1}"#);
    }

    #[test]
    fn objects_without_id_are_refused() {
        let err = rows(&Batch::Users(vec![json!({"status": "ACTIVE"})])).unwrap_err();
        assert!(matches!(err, StoreError::MissingId { kind: "user" }));
    }
}
