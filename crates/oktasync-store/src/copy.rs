//! Copying a whole mirror to another backend (a SQLite file into PostgreSQL, or back), with
//! its history: orgs, runs, checkpoints, the change log, grants and their audit, and every
//! mirrored table, ids kept,
//! so that the copy answers `--at` questions and syncs on incrementally from the same
//! checkpoint. The source is read in one snapshot and never written; the destination must
//! hold no org yet, and receives everything in one transaction.

use crate::error::{Result, StoreError};
use crate::location::DbLocation;
use crate::mirror::Mirror;
use crate::schema::{self, ColumnType};
use crate::sql::{Arg, Datum, Sql};
use crate::types::Table;
use crate::{MirrorReader, PgStore, SqliteStore, open_writer};
use std::collections::BTreeMap;

/// The SQL type a copied column binds as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Int,
    Real,
    Text,
}

/// One copied table: its columns, and the column it is ordered by (its id, or the key).
struct CopiedTable {
    name: &'static str,
    columns: Vec<(&'static str, Kind)>,
    order_by: String,
}

/// The tables a copy carries besides the mirrored ones, with their columns (every text
/// column not named here). Leases and `mirror_meta` describe the source itself and stay.
fn history_tables() -> Vec<CopiedTable> {
    let table = |name,
                 ints: &[&'static str],
                 reals: &[&'static str],
                 texts: &[&'static str],
                 order: &str| {
        let mut columns: Vec<(&'static str, Kind)> = Vec::new();
        columns.extend(ints.iter().map(|c| (*c, Kind::Int)));
        columns.extend(reals.iter().map(|c| (*c, Kind::Real)));
        columns.extend(texts.iter().map(|c| (*c, Kind::Text)));
        CopiedTable {
            name,
            columns,
            order_by: order.to_owned(),
        }
    };
    vec![
        table(
            "orgs",
            &["org_id"],
            &[],
            &["url", "created_at", "name"],
            "org_id",
        ),
        table(
            "sync_runs",
            &[
                "run_id",
                "org_id",
                "api_calls",
                "fewest_calls",
                "http_429",
                "retries",
                "pid",
            ],
            &["rate_limit_wait_s"],
            &[
                "kind",
                "resources",
                "started_at",
                "ended_at",
                "outcome",
                "error",
                "counts",
                "changes",
                "calls_by_bucket",
                "host",
                "lease_owner",
            ],
            "run_id",
        ),
        table(
            "checkpoints",
            &["org_id", "run_id"],
            &[],
            &["name", "value", "updated_at"],
            "org_id, name",
        ),
        table(
            "changes",
            &["change_id", "org_id", "run_id"],
            &[],
            &[
                "at",
                "source",
                "entity",
                "entity_id",
                "op",
                "user_id",
                "group_id",
                "app_id",
                "changed_fields",
                "old",
                "new",
                "event_uuid",
                "actor",
                "okta_request_id",
            ],
            "change_id",
        ),
        table(
            "grants",
            &[
                "grant_id",
                "org_id",
                "pre_existing",
                "attempts",
                "claimed_pid",
            ],
            &[],
            &[
                "user_id",
                "group_id",
                "user_login",
                "group_name",
                "reason",
                "ticket",
                "requested_by",
                "policy",
                "requested_at",
                "expires_at",
                "state",
                "approved_by",
                "next_attempt_at",
                "last_error",
                "ended_at",
                "idempotency_key",
                "claimed_by",
                "claimed_until",
                "claimed_host",
            ],
            "grant_id",
        ),
        table(
            "grant_audit",
            &["seq", "org_id", "grant_id"],
            &[],
            &[
                "at",
                "action",
                "actor",
                "detail",
                "okta_request_id",
                "log_event_uuid",
            ],
            "seq",
        ),
        table(
            "role_sources",
            &["org_id"],
            &[],
            &["role", "kind", "object_id"],
            "org_id, role, kind, object_id",
        ),
        table(
            "role_holders",
            &["org_id"],
            &[],
            &["role", "user_id"],
            "org_id, role, user_id",
        ),
        table(
            "push_state",
            &["org_id"],
            &[],
            &[
                "target",
                "okta_user_id",
                "target_user_id",
                "user_name",
                "content_hash",
                "attributes",
                "target_groups",
                "pushed_at",
            ],
            "org_id, target, okta_user_id",
        ),
        table(
            "push_runs",
            &["id", "org_id", "dry_run", "full_push"],
            &[],
            &[
                "target",
                "started_at",
                "ended_at",
                "outcome",
                "counts",
                "errors",
                "http_calls",
                "message",
            ],
            "id",
        ),
        table(
            "alerts",
            &["id", "org_id", "event_count"],
            &[],
            &[
                "rule_id",
                "severity",
                "title",
                "entity",
                "window_start",
                "first_event",
                "last_event",
                "event_uuids",
                "summary",
                "detail",
                "created_at",
                "updated_at",
            ],
            "id",
        ),
        table(
            "posture_runs",
            &[
                "id",
                "org_id",
                "checks",
                "failing",
                "findings",
                "new_findings",
                "resolved",
            ],
            &[],
            &["at"],
            "id",
        ),
        table(
            "posture_findings",
            &["org_id"],
            &[],
            &[
                "check_id",
                "subject",
                "severity",
                "evidence",
                "first_seen",
                "last_seen",
                "resolved_at",
            ],
            "org_id, check_id, subject",
        ),
        table(
            "log_events",
            &["seq", "org_id", "is_proxy", "as_number", "run_id"],
            &["lat", "lon"],
            &[
                "uuid",
                "published",
                "event_type",
                "severity",
                "display_message",
                "actor_id",
                "actor_type",
                "actor_alternate_id",
                "actor_display_name",
                "client_ip",
                "country",
                "state",
                "city",
                "user_agent",
                "ua_os",
                "ua_browser",
                "outcome_result",
                "outcome_reason",
                "as_org",
                "isp",
                "session_id",
                "root_session_id",
                "dt_hash",
                "request_id",
                "transaction_id",
                "raw",
            ],
            "seq",
        ),
        table(
            "log_event_targets",
            &["org_id", "seq", "idx"],
            &[],
            &["target_id", "target_type", "alternate_id", "display_name"],
            "org_id, seq, idx",
        ),
        table(
            "grant_users",
            &["org_id", "cleanup_after_days"],
            &[],
            &[
                "login",
                "user_id",
                "state",
                "requested_at",
                "created_by",
                "deactivated_at",
                "deleted_at",
                "last_error",
            ],
            "org_id, login",
        ),
    ]
}

/// A mirrored table as copied: `org_id` and its spec's columns, in key order.
fn mirrored_table(table: Table) -> CopiedTable {
    let spec = schema::spec(table);
    let mut columns = vec![("org_id", Kind::Int)];
    columns.extend(spec.columns.iter().map(|column| {
        (
            column.name,
            match column.ty() {
                ColumnType::Integer => Kind::Int,
                ColumnType::Text => Kind::Text,
            },
        )
    }));
    let key: Vec<&str> = std::iter::once("org_id").chain(spec.key()).collect();
    CopiedTable {
        name: spec.name,
        columns,
        order_by: key.join(", "),
    }
}

/// What a copy carried: rows per table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CopyReport {
    pub orgs: Vec<String>,
    pub rows: BTreeMap<String, u64>,
}

/// Most parameters one statement binds: SQLite's limit is 32,766, PostgreSQL's 65,535.
const MAX_PARAMS: usize = 30_000;

/// A value read from the source, bound as the column's type in the destination (SQLite may
/// hold a number in a text column and back).
fn arg(kind: Kind, datum: Datum) -> Arg {
    match (kind, datum) {
        (Kind::Int, Datum::Null) => Arg::Int(None),
        (Kind::Real, Datum::Null) => Arg::Real(None),
        (Kind::Text, Datum::Null) => Arg::Text(None),
        (Kind::Int, Datum::Int(n)) => Arg::Int(Some(n)),
        (Kind::Int, Datum::Bool(b)) => Arg::Int(Some(i64::from(b))),
        (Kind::Int, Datum::Real(x)) => Arg::Int(Some(x as i64)),
        (Kind::Int, Datum::Text(s)) => Arg::Int(s.trim().parse().ok()),
        (Kind::Real, Datum::Real(x)) => Arg::Real(Some(x)),
        (Kind::Real, Datum::Int(n)) => Arg::Real(Some(n as f64)),
        (Kind::Real, Datum::Text(s)) => Arg::Real(s.trim().parse().ok()),
        (Kind::Real, Datum::Bool(b)) => Arg::Real(Some(f64::from(u8::from(b)))),
        (Kind::Text, other) => Arg::Text(other.into_text()),
    }
}

async fn copy_table(from: &mut dyn Sql, to: &mut dyn Sql, table: &CopiedTable) -> Result<u64> {
    let names: Vec<&str> = table.columns.iter().map(|(n, _)| *n).collect();
    let rows = from
        .fetch_all(
            &format!(
                "SELECT {} FROM {} ORDER BY {}",
                names.join(", "),
                table.name,
                table.order_by
            ),
            &[],
        )
        .await?;
    let per_statement = (MAX_PARAMS / names.len()).clamp(1, 1000);
    let mut copied = 0u64;
    for chunk in rows.chunks(per_statement) {
        let mut args: Vec<Arg> = Vec::with_capacity(chunk.len() * names.len());
        let mut tuples: Vec<String> = Vec::with_capacity(chunk.len());
        for row in chunk {
            let mut placeholders = Vec::with_capacity(names.len());
            for (i, (_, kind)) in table.columns.iter().enumerate() {
                args.push(arg(
                    *kind,
                    row.values.get(i).cloned().unwrap_or(Datum::Null),
                ));
                placeholders.push(format!("${}", args.len()));
            }
            tuples.push(format!("({})", placeholders.join(", ")));
        }
        to.execute(
            &format!(
                "INSERT INTO {} ({}) VALUES {}",
                table.name,
                names.join(", "),
                tuples.join(", ")
            ),
            &args,
        )
        .await?;
        copied += chunk.len() as u64;
    }
    Ok(copied)
}

/// The source opened read-only, as a [`Mirror`] for raw reads.
async fn open_source(location: &DbLocation) -> Result<Mirror> {
    Ok(match location {
        DbLocation::Sqlite(path) => SqliteStore::open_read_only(path).await?.into_mirror(),
        DbLocation::Postgres(pg) => PgStore::open_read_only(pg).await?.into_mirror(),
    })
}

/// Copies the mirror at `from` into the mirror at `to` (created if missing), which must hold
/// no org yet. Nothing is written to `from`; on any error nothing is written to `to`.
pub async fn copy_mirror(from: &DbLocation, to: &DbLocation) -> Result<CopyReport> {
    let source = open_source(from).await?;
    let destination = open_writer(to).await?;
    let result = copy_into(&source, &destination, to).await;
    source.close().await;
    destination.close().await;
    result
}

async fn copy_into(source: &Mirror, destination: &Mirror, to: &DbLocation) -> Result<CopyReport> {
    let present = destination.org_list().await?;
    if !present.is_empty() {
        return Err(StoreError::CopyTargetNotEmpty {
            location: destination.location(),
            orgs: present
                .iter()
                .map(|o| o.name.clone())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let orgs = source.org_list().await?;
    let mut read = source.backend.read().await?;
    let mut write = destination.backend.write(None).await?;
    let mut report = CopyReport {
        orgs: orgs.iter().map(|o| o.name.clone()).collect(),
        rows: BTreeMap::new(),
    };
    let tables = history_tables()
        .into_iter()
        .chain(Table::ALL.into_iter().map(mirrored_table));
    for table in tables {
        let n = copy_table(read.as_mut(), write.as_mut(), &table).await?;
        report.rows.insert(table.name.to_owned(), n);
    }
    if to.is_postgres() {
        // Ids were copied as they are: the identity sequences must continue after them.
        for (table, id) in [
            ("orgs", "org_id"),
            ("sync_runs", "run_id"),
            ("changes", "change_id"),
            ("grants", "grant_id"),
            ("grant_audit", "seq"),
            ("push_runs", "id"),
            ("log_events", "seq"),
            ("alerts", "id"),
            ("posture_runs", "id"),
        ] {
            write
                .execute(
                    &format!(
                        "SELECT setval(pg_get_serial_sequence('{table}', '{id}'), \
                         COALESCE((SELECT MAX({id}) FROM {table}), 0) + 1, false)"
                    ),
                    &[],
                )
                .await?;
        }
    }
    write.commit().await?;
    Ok(report)
}
