//! The mirrored tables as data: their columns, keys, where each column is read from in the
//! Okta JSON, whom a row concerns, and how the table exports. Staging, diff, change-log,
//! export and copy SQL is generated from these descriptions, so a new table is one file in
//! `tables/` holding its [`TableSpec`], one line registering it there, and a migration per
//! backend.

use crate::error::{Result, StoreError};
use crate::types::{Batch, Table};
use serde_json::Value;

pub(crate) use crate::tables::spec;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnType {
    Text,
    Integer,
}

/// Where a column's value comes from, for each object of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The batch's parent key at this position (the group of a batch of members, the app of a
    /// batch of assignments).
    Parent(usize),
    /// The object's `id`: a batch refuses an object without one, naming the spec's `object`.
    Id,
    /// The object itself, a string id (a group's members are staged as bare user ids, which
    /// costs nothing per member): refused like [`Source::Id`] when it is not a string.
    Item,
    /// The text at a JSON pointer; numbers and booleans are written out, null and absent are
    /// NULL.
    Text(&'static str),
    /// The integer at a JSON pointer; anything else is NULL.
    Int(&'static str),
    /// The whole object as the mirror keeps it ([`canonical_raw`]); always the last column.
    Raw,
}

/// One column of a mirrored table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Column {
    pub name: &'static str,
    pub source: Source,
}

impl Column {
    pub const fn ty(&self) -> ColumnType {
        match self.source {
            Source::Int(_) => ColumnType::Integer,
            _ => ColumnType::Text,
        }
    }
}

/// A text column read at a JSON pointer.
pub(crate) const fn text(name: &'static str, pointer: &'static str) -> Column {
    Column {
        name,
        source: Source::Text(pointer),
    }
}

/// An integer column read at a JSON pointer.
pub(crate) const fn int(name: &'static str, pointer: &'static str) -> Column {
    Column {
        name,
        source: Source::Int(pointer),
    }
}

/// The column holding the object's `id`.
pub(crate) const fn id(name: &'static str) -> Column {
    Column {
        name,
        source: Source::Id,
    }
}

/// A column holding the batch's parent key at `position`.
pub(crate) const fn parent(name: &'static str, position: usize) -> Column {
    Column {
        name,
        source: Source::Parent(position),
    }
}

/// The `raw` column.
pub(crate) const RAW: Column = Column {
    name: "raw",
    source: Source::Raw,
};

/// A key column naming a user, group or app, perhaps only when another key column holds a
/// given value (a role assignment's assignee is a user when `assignee_type` is `USER`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyRef {
    /// Its position in the key.
    pub part: usize,
    /// (position in the key, value it must hold).
    pub when: Option<(usize, &'static str)>,
}

impl KeyRef {
    pub const fn at(part: usize) -> Option<Self> {
        Some(Self { part, when: None })
    }

    pub const fn at_when(part: usize, when_part: usize, equals: &'static str) -> Option<Self> {
        Some(Self {
            part,
            when: Some((when_part, equals)),
        })
    }

    /// The id it names in a key (its parts in key order), if the condition holds.
    pub fn of<'k, S: AsRef<str>>(&self, parts: &'k [S]) -> Option<&'k str> {
        if let Some((when_part, equals)) = self.when
            && parts.get(when_part).map(AsRef::as_ref) != Some(equals)
        {
            return None;
        }
        parts.get(self.part).map(AsRef::as_ref)
    }
}

/// Whom a row concerns (the change log's `user_id`, `group_id`, `app_id`): key columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Concerns {
    pub user: Option<KeyRef>,
    pub group: Option<KeyRef>,
    pub app: Option<KeyRef>,
}

impl Concerns {
    pub const NONE: Concerns = Concerns {
        user: None,
        group: None,
        app: None,
    };

    /// The user, group and app references, in that order.
    pub fn all(&self) -> [Option<KeyRef>; 3] {
        [self.user, self.group, self.app]
    }
}

/// How a table appears in the mirror's export (the emulator's `GET /__emulator/export`), under
/// the table's name, ordered as the emulator orders it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Export {
    /// Not exported (the emulator exports no such list).
    #[allow(dead_code)] // every table exports today; later resources may not
    Not,
    /// Each row's raw object, in key order.
    Objects,
    /// Objects of these columns (as text), sorted by them in this order.
    Fields(&'static [&'static str]),
    /// Each row's raw object under this name, beside its parent key columns
    /// (`{"factor": <raw>, "user_id": …}`: a factor names no user of its own), in key order.
    Wrapped(&'static str),
}

/// One mirrored table (its `org_id` column is implicit).
pub(crate) struct TableSpec {
    pub name: &'static str,
    /// What one object is called in errors (`user`, `app user`).
    pub object: &'static str,
    /// Columns in row order, key columns first, `raw` (if any) last.
    pub columns: &'static [Column],
    /// How many leading columns form the key (after org_id).
    pub key_len: usize,
    pub concerns: Concerns,
    pub export: Export,
}

impl TableSpec {
    pub fn key(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.columns[..self.key_len].iter().map(|c| c.name)
    }

    pub fn column_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.columns.iter().map(|c| c.name)
    }

    /// Whether the table has a `raw` column (the last one); rows without it never "update".
    pub fn has_raw(&self) -> bool {
        self.columns.last().is_some_and(|c| c.source == Source::Raw)
    }

    /// How many parent key values a batch of this table carries.
    pub fn parent_len(&self) -> usize {
        self.columns
            .iter()
            .filter_map(|c| match c.source {
                Source::Parent(i) => Some(i + 1),
                _ => None,
            })
            .max()
            .unwrap_or(0)
    }

    /// The names of the columns filled from the batch's parent key, in parent order.
    pub fn parent_columns(&self) -> impl Iterator<Item = &'static str> + '_ {
        (0..self.parent_len()).filter_map(|i| {
            self.columns
                .iter()
                .find(|c| c.source == Source::Parent(i))
                .map(|c| c.name)
        })
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
    let table = batch.table();
    let spec = spec(table);
    let parent = batch.parent();
    let mut rows = Vec::with_capacity(batch.len());
    for object in batch.objects() {
        let mut row = Vec::with_capacity(spec.columns.len());
        for column in spec.columns {
            row.push(match column.source {
                Source::Parent(i) => Cell::Text(Some(
                    parent
                        .get(i)
                        .ok_or_else(|| {
                            StoreError::Internal(format!(
                                "a batch of {} without parent key {i}",
                                spec.name
                            ))
                        })?
                        .clone(),
                )),
                Source::Id => Cell::Text(Some(id_of(object, spec.object)?)),
                Source::Item => Cell::Text(Some(
                    object
                        .as_str()
                        .map(str::to_owned)
                        .ok_or(StoreError::MissingId { kind: spec.object })?,
                )),
                Source::Text(pointer) => text_at(object, pointer),
                Source::Int(pointer) => int_at(object, pointer),
                Source::Raw => raw_cell(object)?,
            });
        }
        rows.push(row);
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
        for table in Table::ALL {
            let spec = spec(table);
            let object = if spec.columns.iter().any(|c| c.source == Source::Item) {
                json!("x1")
            } else {
                json!({"id": "x1", "profile": {"login": "a@b"}, "priority": 0})
            };
            let parent = vec!["p".to_owned(); spec.parent_len()];
            let batch = Batch::new(table, parent, vec![object]).unwrap();
            let (staged, rows) = rows(&batch).unwrap();
            assert_eq!(staged, table);
            assert_eq!(rows[0].len(), spec.columns.len(), "{table:?}");
        }
    }

    #[test]
    fn named_batches_carry_their_tables_parent_key() {
        let batches = [
            Batch::users(vec![json!({"id": "u1"})]),
            Batch::groups(vec![json!({"id": "g1"})]),
            Batch::group_members("g1", vec!["u1".into()]),
            Batch::apps(vec![json!({"id": "a1"})]),
            Batch::app_users("a1", vec![json!({"id": "u1", "scope": "USER"})]),
            Batch::app_groups("a1", vec![json!({"id": "g1", "priority": 0})]),
            Batch::role_assignments(
                AssigneeType::Group,
                "g1",
                vec![json!({"id": "r1", "type": "ORG_ADMIN"})],
            ),
            Batch::idps(vec![json!({"id": "i1"})]),
            Batch::factors("u1", vec![json!({"id": "f1"})]),
        ];
        for batch in &batches {
            let spec = spec(batch.table());
            assert_eq!(batch.parent().len(), spec.parent_len(), "{}", spec.name);
            let (_, rows) = rows(batch).unwrap();
            assert_eq!(rows[0].len(), spec.columns.len(), "{}", spec.name);
        }
    }

    #[test]
    fn specs_are_well_formed() {
        for table in Table::ALL {
            let spec = spec(table);
            let json = serde_json::to_value(table).unwrap();
            assert_eq!(
                json,
                json!(spec.name),
                "{table:?} serializes as its SQL name"
            );
            assert!(spec.key_len >= 1 && spec.key_len <= spec.columns.len());
            // `raw`, if any, is the last column and no key column.
            let raws = spec.columns.iter().filter(|c| c.source == Source::Raw);
            assert!(raws.count() <= 1);
            assert_eq!(
                spec.has_raw(),
                spec.columns.iter().any(|c| c.source == Source::Raw)
            );
            assert!(
                spec.columns[..spec.key_len]
                    .iter()
                    .all(|c| c.source != Source::Raw)
            );
            // Parent positions are 0..n, each once, and key columns.
            assert_eq!(
                spec.parent_columns().count(),
                spec.parent_len(),
                "{table:?}"
            );
            for c in spec.columns[spec.key_len..].iter() {
                assert!(!matches!(c.source, Source::Parent(_)), "{table:?}");
            }
            for concern in spec.concerns.all().into_iter().flatten() {
                assert!(concern.part < spec.key_len, "{table:?}");
                if let Some((part, _)) = concern.when {
                    assert!(part < spec.key_len, "{table:?}");
                }
            }
            match spec.export {
                Export::Objects | Export::Wrapped(_) => assert!(spec.has_raw()),
                Export::Fields(fields) => {
                    for f in fields {
                        assert!(spec.column_names().any(|c| c == *f), "{table:?} {f}");
                    }
                }
                Export::Not => {}
            }
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
        let err = rows(&Batch::users(vec![json!({"status": "ACTIVE"})])).unwrap_err();
        assert!(matches!(err, StoreError::MissingId { kind: "user" }));
        let err =
            rows(&Batch::new(Table::GroupMembers, vec!["g1".into()], vec![json!(1)]).unwrap())
                .unwrap_err();
        assert!(matches!(
            err,
            StoreError::MissingId {
                kind: "group member"
            }
        ));
    }

    #[test]
    fn a_batch_carries_the_parent_key_its_table_has() {
        assert!(Batch::new(Table::Users, vec![], vec![json!({"id": "u1"})]).is_ok());
        for (table, parent) in [
            (Table::Users, vec!["x".to_owned()]),
            (Table::Factors, vec![]),
            (Table::RoleAssignments, vec!["USER".to_owned()]),
        ] {
            let err = Batch::new(table, parent, vec![]).unwrap_err();
            assert!(matches!(err, StoreError::BatchParent { .. }), "{err:?}");
        }
    }
}
