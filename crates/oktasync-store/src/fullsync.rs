//! A full sync run: its data is staged on a connection of its own (each backend stages its
//! way, [`Staging`]), then applied to the mirror in one transaction with set-based statements
//! generated from the [`TableSpec`]s, the same on both backends: delete the mirror's rows no
//! longer staged, update those whose raw JSON differs, insert the new ones. The change log
//! rows, the checkpoints and the run's record are written in that same transaction, so a
//! reader sees the previous mirror or the new one.

use crate::FullSyncSession;
use crate::changelog::{self, RunContext};
use crate::delta::ChangeSource;
use crate::error::Result;
use crate::mirror::Mirror;
use crate::runlog;
use crate::schema::{self, Cell, TableSpec};
use crate::sql::{Sql, args};
use crate::types::{Batch, ChangeCounts, Changes, OrgId, RunId, RunOutcome, RunStats, Table};
use async_trait::async_trait;
use std::collections::BTreeMap;

/// Where one run's rows wait until the run commits: a backend's staging tables on a connection
/// of its own, invisible to every other connection. Closing the connection (or dropping the
/// staging) discards them, and anything an unfinished apply wrote.
#[async_trait]
pub(crate) trait Staging: Send {
    /// Adds rows of one table (in the spec's column order). A key staged twice keeps its first
    /// row.
    async fn stage(&mut self, spec: &'static TableSpec, rows: Vec<Vec<Cell>>) -> Result<()>;

    /// Ends staging and begins the transaction that applies it, on the staging connection:
    /// afterwards `stage_<table>` holds one row per key for each of `tables`, and other runs
    /// writing `org` wait until this transaction ends.
    async fn begin_apply(&mut self, org: OrgId, tables: &[Table]) -> Result<()>;

    /// The staging connection (inside the apply transaction once it has begun).
    fn sql(&mut self) -> &mut dyn Sql;

    /// Commits the apply transaction.
    async fn commit(&mut self) -> Result<()>;

    /// Closes the connection: what is staged and not committed is discarded.
    async fn close(self: Box<Self>);
}

/// `s.k1 = t.k1 AND s.k2 = t.k2`
fn key_match(spec: &TableSpec, left: &str, right: &str) -> String {
    spec.key()
        .map(|k| format!("{left}.{k} = {right}.{k}"))
        .collect::<Vec<_>>()
        .join(" AND ")
}

/// The three statements that turn the mirror's rows of one table into the staged rows.
/// `$1` is the org id.
pub(crate) struct ApplySql {
    pub delete_gone: String,
    pub update_changed: Option<String>,
    pub insert_new: String,
}

pub(crate) fn apply_sql(spec: &TableSpec) -> ApplySql {
    let t = spec.name;
    let columns: Vec<&str> = spec.column_names().collect();
    let delete_gone = format!(
        "DELETE FROM {t} WHERE org_id = $1 AND NOT EXISTS \
         (SELECT 1 FROM stage_{t} s WHERE {})",
        key_match(spec, "s", t)
    );
    let update_changed = spec.has_raw().then(|| {
        let sets: Vec<String> = columns[spec.key_len..]
            .iter()
            .map(|c| format!("{c} = s.{c}"))
            .collect();
        format!(
            "UPDATE {t} SET {} FROM stage_{t} s WHERE {t}.org_id = $1 AND {} AND {t}.raw <> s.raw",
            sets.join(", "),
            key_match(spec, t, "s")
        )
    });
    let insert_new = format!(
        "INSERT INTO {t} (org_id, {}) SELECT $1, {} FROM stage_{t} s WHERE NOT EXISTS \
         (SELECT 1 FROM {t} m WHERE m.org_id = $1 AND {})",
        columns.join(", "),
        columns
            .iter()
            .map(|c| format!("s.{c}"))
            .collect::<Vec<_>>()
            .join(", "),
        key_match(spec, "m", "s")
    );
    ApplySql {
        delete_gone,
        update_changed,
        insert_new,
    }
}

/// A full sync run in progress, on either backend.
pub(crate) struct Session {
    pub staging: Box<dyn Staging>,
    pub mirror: Mirror,
    pub org: OrgId,
    pub run_id: RunId,
    pub source: ChangeSource,
    pub checkpoints: BTreeMap<String, String>,
}

impl Session {
    async fn apply(&mut self, tables: &[Table], stats: &RunStats) -> Result<Changes> {
        self.staging.begin_apply(self.org, tables).await?;
        let conn = self.staging.sql();
        let mut changes = Changes::new();
        let run = RunContext {
            org: self.org,
            run: self.run_id,
            source: self.source,
        };
        for &table in tables {
            let began = std::time::Instant::now();
            let spec = schema::spec(table);
            changelog::record_full_sync_changes(conn, run, spec, stats.ended_at).await?;
            let sql = apply_sql(spec);
            let removed = conn.execute(&sql.delete_gone, args![self.org]).await?;
            let updated = match &sql.update_changed {
                Some(update) => conn.execute(update, args![self.org]).await?,
                None => 0,
            };
            let added = conn.execute(&sql.insert_new, args![self.org]).await?;
            tracing::debug!(
                table = table.as_str(),
                added,
                updated,
                removed,
                seconds = began.elapsed().as_secs_f64(),
                "Applied the staged rows."
            );
            changes.insert(
                table.as_str().to_owned(),
                ChangeCounts {
                    added,
                    updated,
                    removed,
                },
            );
        }
        runlog::write_checkpoints(
            conn,
            self.org,
            Some(self.run_id),
            &self.checkpoints,
            stats.ended_at,
        )
        .await?;
        runlog::record_end(
            conn,
            self.run_id,
            RunOutcome::Succeeded,
            None,
            stats,
            Some(&changes),
        )
        .await?;
        self.staging.commit().await?;
        Ok(changes)
    }
}

#[async_trait]
impl FullSyncSession for Session {
    fn run_id(&self) -> RunId {
        self.run_id
    }

    fn set_checkpoint(&mut self, name: &str, value: String) {
        self.checkpoints.insert(name.to_owned(), value);
    }

    async fn stage(&mut self, batch: &Batch) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let (table, rows) = schema::rows(batch)?;
        self.staging.stage(schema::spec(table), rows).await
    }

    async fn stage_all(&mut self, batches: &[Batch]) -> Result<()> {
        // One statement per table for the lot.
        let mut by_table: BTreeMap<Table, Vec<Vec<Cell>>> = BTreeMap::new();
        for batch in batches.iter().filter(|b| !b.is_empty()) {
            let (table, rows) = schema::rows(batch)?;
            by_table.entry(table).or_default().extend(rows);
        }
        for (table, rows) in by_table {
            self.staging.stage(schema::spec(table), rows).await?;
        }
        Ok(())
    }

    async fn commit(mut self: Box<Self>, tables: &[Table], stats: RunStats) -> Result<Changes> {
        match self.apply(tables, &stats).await {
            Ok(changes) => {
                self.staging.close().await;
                // Not part of the run: a failure here costs speed, not data.
                if let Err(e) = self.mirror.backend.refresh_statistics().await {
                    tracing::warn!(error = %e, "Could not refresh the query planner's statistics.");
                }
                Ok(changes)
            }
            Err(e) => {
                let message = format!("applying the run to the mirror failed: {e}");
                let Session {
                    staging,
                    mirror,
                    run_id,
                    ..
                } = *self;
                // Closing the connection rolls back whatever the transaction held.
                staging.close().await;
                mirror
                    .record_run_end(run_id, RunOutcome::Failed, Some(&message), &stats)
                    .await?;
                Err(e)
            }
        }
    }

    async fn fail(self: Box<Self>, error: &str, stats: RunStats) -> Result<()> {
        let Session {
            staging,
            mirror,
            run_id,
            ..
        } = *self;
        staging.close().await;
        mirror
            .record_run_end(run_id, RunOutcome::Failed, Some(error), &stats)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_sql_reads_as_expected() {
        let sql = apply_sql(schema::spec(Table::GroupMembers));
        assert_eq!(
            sql.delete_gone,
            "DELETE FROM group_members WHERE org_id = $1 AND NOT EXISTS (SELECT 1 FROM stage_group_members s WHERE s.group_id = group_members.group_id AND s.user_id = group_members.user_id)"
        );
        assert!(sql.update_changed.is_none());
        let users = apply_sql(schema::spec(Table::Users));
        assert!(
            users
                .update_changed
                .unwrap()
                .ends_with("WHERE users.org_id = $1 AND users.id = s.id AND users.raw <> s.raw")
        );
    }
}
