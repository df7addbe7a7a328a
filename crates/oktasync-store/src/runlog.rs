//! The run records (`sync_runs`) and checkpoints, the same SQL on both backends.
//!
//! A run is inserted `running` with the host and pid of its process and, when the process
//! holds the org's sync lease, the lease's owner. It ends `succeeded` in the transaction that
//! applies its data, or `failed`. A run left `running` by a process that died is marked
//! `interrupted` by the next run of its org: when the lease it held has expired, or, for a
//! run without a lease, when this machine's `/proc` shows its process gone.

use crate::error::Result;
use crate::sql::{Sql, args};
use crate::types::{Changes, OrgId, RunId, RunOutcome, RunStart, RunStats, timestamp};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::path::Path;

/// What a run records about the process running it.
#[derive(Debug, Clone)]
pub(crate) struct Holder {
    pub host: String,
    pub pid: u32,
    /// The owner token of the sync lease the process holds for the run's org, if any.
    pub lease_owner: Option<String>,
}

/// This machine's name, as runs and leases record it (`/proc/sys/kernel/hostname`, else
/// `$HOSTNAME`, else `localhost`).
pub(crate) fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_owned())
}

pub(crate) async fn insert_running_run(
    conn: &mut dyn Sql,
    org: OrgId,
    start: &RunStart,
    holder: &Holder,
) -> Result<RunId> {
    let resources = serde_json::to_string(&start.resources)?;
    let run_id: i64 = crate::sql::scalar(
        conn,
        "INSERT INTO sync_runs (org_id, kind, resources, started_at, outcome, pid, host,
            lease_owner)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING run_id",
        args![
            org,
            start.kind.as_str(),
            resources,
            timestamp(start.started_at),
            RunOutcome::Running.as_str(),
            i64::from(holder.pid),
            holder.host.as_str(),
            holder.lease_owner.as_deref(),
        ],
    )
    .await?;
    Ok(RunId(run_id))
}

fn saturating_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

pub(crate) async fn record_end(
    conn: &mut dyn Sql,
    run_id: RunId,
    outcome: RunOutcome,
    error: Option<&str>,
    stats: &RunStats,
    changes: Option<&Changes>,
) -> Result<()> {
    let changes = changes.map(serde_json::to_string).transpose()?;
    conn.execute(
        "UPDATE sync_runs SET ended_at = $1, outcome = $2, error = $3, counts = $4, changes = $5,
            api_calls = $6, fewest_calls = $7, calls_by_bucket = $8, http_429 = $9, retries = $10,
            rate_limit_wait_s = $11
         WHERE run_id = $12",
        args![
            timestamp(stats.ended_at),
            outcome.as_str(),
            error,
            serde_json::to_string(&stats.counts)?,
            changes,
            saturating_i64(stats.api_calls),
            saturating_i64(stats.fewest_calls),
            serde_json::to_string(&stats.calls_by_bucket)?,
            saturating_i64(stats.http_429),
            saturating_i64(stats.retries),
            stats.rate_limit_wait_s,
            run_id.0,
        ],
    )
    .await?;
    Ok(())
}

pub(crate) async fn write_checkpoints(
    conn: &mut dyn Sql,
    org: OrgId,
    run: Option<RunId>,
    checkpoints: &BTreeMap<String, String>,
    now: DateTime<Utc>,
) -> Result<()> {
    for (name, value) in checkpoints {
        conn.execute(
            "INSERT INTO checkpoints (org_id, name, value, run_id, updated_at)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (org_id, name) DO UPDATE SET value = excluded.value,
                run_id = excluded.run_id, updated_at = excluded.updated_at",
            args![
                org,
                name.as_str(),
                value.as_str(),
                run.map(|r| r.0),
                timestamp(now)
            ],
        )
        .await?;
    }
    Ok(())
}

const INTERRUPTED: &str =
    "the process running this sync ended before it finished; the mirror kept its previous state";
const LEASE_EXPIRED: &str = "the process running this sync stopped renewing its lease (it died, \
     or lost the database) before the sync finished; the mirror kept its previous state";

/// Marks the org's `running` runs whose process is known to be gone as `interrupted`: runs
/// holding a lease that has expired (or was taken over), and runs of this machine without a
/// lease whose process `/proc` no longer shows.
/// Whether the process `pid` on `host` is known to be gone: only this machine can tell (its
/// `/proc`); a process on another machine is never declared gone here (its lease expires).
pub(crate) fn process_gone(host: &str, pid: Option<i64>, this_host: &str) -> bool {
    host == this_host
        && Path::new("/proc/self").exists()
        && !pid.is_some_and(|pid| Path::new(&format!("/proc/{pid}")).exists())
}

pub(crate) async fn mark_interrupted_runs(
    conn: &mut dyn Sql,
    org: OrgId,
    this_host: &str,
    now: DateTime<Utc>,
) -> Result<()> {
    let running = conn
        .fetch_all(
            "SELECT r.run_id, r.pid, r.host, r.lease_owner,
                    EXISTS (SELECT 1 FROM leases l WHERE l.org_id = r.org_id
                            AND l.purpose = 'sync' AND l.owner = r.lease_owner
                            AND l.expires_at > $3) AS lease_live
             FROM sync_runs r WHERE r.org_id = $1 AND r.outcome = $2",
            args![org, RunOutcome::Running.as_str(), timestamp(now)],
        )
        .await?;
    for row in running {
        let run_id: i64 = row.get(0)?;
        let pid: Option<i64> = row.get(1)?;
        let host: Option<String> = row.get(2)?;
        let lease_owner: Option<String> = row.get(3)?;
        let lease_live: bool = row.get(4)?;
        let why = if lease_owner.is_some() {
            (!lease_live).then_some(LEASE_EXPIRED)
        } else if process_gone(host.as_deref().unwrap_or(this_host), pid, this_host) {
            Some(INTERRUPTED)
        } else {
            None
        };
        if let Some(why) = why {
            conn.execute(
                "UPDATE sync_runs SET outcome = $1, error = $2 WHERE run_id = $3 AND outcome = $4",
                args![
                    RunOutcome::Interrupted.as_str(),
                    why,
                    run_id,
                    RunOutcome::Running.as_str()
                ],
            )
            .await?;
        }
    }
    Ok(())
}

/// Marks this process's `running` runs `interrupted` (it is stopping on a signal).
pub(crate) async fn mark_own_runs_interrupted(
    conn: &mut dyn Sql,
    this_host: &str,
    now: DateTime<Utc>,
) -> Result<u64> {
    conn.execute(
        "UPDATE sync_runs SET outcome = $1, error = $2, ended_at = COALESCE(ended_at, $3)
         WHERE outcome = $4 AND pid = $5 AND (host = $6 OR host IS NULL)",
        args![
            RunOutcome::Interrupted.as_str(),
            "interrupted (Ctrl-C or a termination signal); the mirror kept its previous state",
            timestamp(now),
            RunOutcome::Running.as_str(),
            i64::from(std::process::id()),
            this_host,
        ],
    )
    .await
}
