//! The mirror, backend-neutral: every method of [`MirrorReader`], [`MirrorWriter`] and
//! [`RunLog`] written once, over the little a backend provides ([`Backend`]: connections,
//! transactions with the right isolation and locks, a staging area). The backends' public
//! types ([`crate::SqliteStore`], [`crate::PgStore`]) hold a [`Mirror`] and forward the traits
//! to it ([`forward_store_traits!`]).

use crate::changelog::{self, DeltaWriter, RunContext};
use crate::delta::{ChangeQuery, ChangeRecord, ChangeSource, Delta, RowKey, Scope, Watermarks};
use crate::error::{Result, StoreError};
use crate::fullsync::{Session, Staging};
use crate::history::{self, Concern};
use crate::lease::Lease;
use crate::query::{
    self, AdminRole, AppDetail, AppRow, GroupDetail, GroupFilter, GroupRow, GroupSummary,
    UserDetail, UserFilter, UserGroup, UserRow,
};
use crate::runlog::{self, Holder};
use crate::schema::{self, Cell};
use crate::sql::{Sql, Tx, args, scalar};
use crate::types::{
    Changes, OrgId, OrgRecord, RunId, RunKind, RunOutcome, RunStart, RunStats, SyncRunRecord,
    Table, timestamp,
};
use crate::{FullSyncSession, MirrorReader, MirrorWriter, RunLog, TableRows};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// What a backend provides; everything else is the same SQL on every backend.
#[async_trait]
pub(crate) trait Backend: Send + Sync + 'static {
    /// A pooled connection, for single statements.
    async fn conn(&self) -> Result<Box<dyn Sql>>;

    /// A read-only transaction that sees one snapshot of the mirror throughout.
    async fn read(&self) -> Result<Box<dyn Tx>>;

    /// A write transaction. With an org, other writers of that org wait until it ends (SQLite:
    /// every writer does; PostgreSQL: writers of other orgs go on).
    async fn write(&self, org: Option<OrgId>) -> Result<Box<dyn Tx>>;

    /// A staging area for a full sync, on a connection of its own.
    async fn staging(&self) -> Result<Box<dyn Staging>>;

    /// Where the mirror is, for messages: a path, or a URL without its password.
    fn location(&self) -> String;

    /// An error saying how to rebuild the mirror when the backend can tell that its storage
    /// is damaged (SQLite reads every page); `Ok` otherwise.
    async fn check_not_damaged(&self) -> Result<()> {
        Ok(())
    }

    /// Refreshes the statistics the query planner chooses indexes by, after a full sync has
    /// replaced the mirror's rows. PostgreSQL's autovacuum does this on its own.
    async fn refresh_statistics(&self) -> Result<()> {
        Ok(())
    }

    async fn close(&self);
}

/// A mirror on either backend: what [`crate::open_writer`] returns. It implements
/// [`MirrorReader`], [`MirrorWriter`] and [`RunLog`], so `&mirror` is a `&dyn Store`.
#[derive(Clone)]
pub struct Mirror {
    pub(crate) backend: Arc<dyn Backend>,
    /// This machine, as run records name it.
    host: Arc<str>,
    /// The sync leases this process holds, by org: runs it starts for the org record the
    /// lease's owner.
    pub(crate) held_leases: Arc<parking_lot::Mutex<HashMap<OrgId, String>>>,
}

impl std::fmt::Debug for Mirror {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mirror")
            .field("location", &self.backend.location())
            .finish_non_exhaustive()
    }
}

/// The default short name of an org: the first label of its host, in lower case (`acme` for
/// `https://acme.okta.com`), `org` when that has no letter or digit.
pub fn default_org_name(org_url: &str) -> String {
    let parsed = url::Url::parse(org_url).ok();
    let host = match parsed.as_ref().and_then(|u| u.host_str()) {
        Some(host) => host,
        None => org_url.split(['/', ':', '?', '#']).next().unwrap_or(""),
    };
    let label: String = host
        .split('.')
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(MAX_ORG_NAME)
        .collect::<String>()
        .to_ascii_lowercase();
    let label = label.trim_start_matches(['-', '_']).to_owned();
    if label.is_empty() {
        "org".to_owned()
    } else {
        label
    }
}

/// Longest org name.
const MAX_ORG_NAME: usize = 63;

/// The columns of `sync_runs` a [`SyncRunRecord`] decodes.
const RUN_COLUMNS: &str = "run_id, org_id, kind, resources, started_at, ended_at, outcome, error, \
     counts, changes, api_calls, fewest_calls, calls_by_bucket, http_429, retries, rate_limit_wait_s";

/// An org name as stored (lower case), or an error when it is not one.
fn valid_org_name(name: &str) -> Result<String> {
    let ok = !name.is_empty()
        && name.len() <= MAX_ORG_NAME
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(name.to_ascii_lowercase())
    } else {
        Err(StoreError::BadOrgName {
            name: name.to_owned(),
        })
    }
}

/// Gives every org without a name its default one (`acme`, or `acme-2` when taken).
async fn name_unnamed_orgs(conn: &mut dyn Sql) -> Result<()> {
    let unnamed = conn
        .fetch_all(
            "SELECT org_id, url FROM orgs WHERE name IS NULL ORDER BY org_id",
            &[],
        )
        .await?;
    if unnamed.is_empty() {
        return Ok(());
    }
    let mut taken: std::collections::BTreeSet<String> = conn
        .fetch_all("SELECT name FROM orgs WHERE name IS NOT NULL", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect::<Result<_>>()?;
    for row in unnamed {
        let (org_id, url): (i64, String) = (row.get(0)?, row.get(1)?);
        let base = default_org_name(&url);
        let mut name = base.clone();
        let mut n = 2;
        while taken.contains(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        conn.execute(
            "UPDATE orgs SET name = $1 WHERE org_id = $2",
            args![name.as_str(), org_id],
        )
        .await?;
        taken.insert(name);
    }
    Ok(())
}

impl Mirror {
    /// Gives every org without a name its default one (orgs of mirrors older than names).
    pub(crate) async fn name_unnamed_orgs(&self) -> Result<()> {
        let mut tx = self.backend.write(None).await?;
        name_unnamed_orgs(tx.as_mut()).await?;
        tx.commit().await
    }

    /// An error saying how to rebuild the mirror when its storage is damaged (SQLite reads
    /// every page of the file; PostgreSQL keeps its own checks).
    pub async fn check_not_damaged(&self) -> Result<()> {
        self.backend.check_not_damaged().await
    }

    /// Marks this process's `running` runs `interrupted` (it is stopping on a signal).
    pub async fn mark_own_runs_interrupted(&self) -> Result<u64> {
        RunLog::mark_own_runs_interrupted(self).await
    }

    /// Closes the mirror's connections.
    pub async fn close(&self) {
        self.backend.close().await;
    }

    /// Where the mirror is: a path, or a URL without its password.
    pub fn location(&self) -> String {
        self.backend.location()
    }

    pub(crate) fn new(backend: impl Backend) -> Self {
        Self {
            backend: Arc::new(backend),
            host: runlog::this_host().into(),
            held_leases: Arc::default(),
        }
    }

    pub(crate) fn host(&self) -> &str {
        &self.host
    }

    fn holder(&self, org: OrgId) -> Holder {
        Holder {
            host: self.host.to_string(),
            pid: std::process::id(),
            lease_owner: self.held_leases.lock().get(&org).cloned(),
        }
    }

    /// Records a run as `running` (after marking runs of dead processes `interrupted`).
    async fn insert_running_run(&self, org: OrgId, start: &RunStart) -> Result<RunId> {
        let mut tx = self.backend.write(Some(org)).await?;
        runlog::mark_interrupted_runs(tx.as_mut(), org, &self.host, start.started_at).await?;
        let run = runlog::insert_running_run(tx.as_mut(), org, start, &self.holder(org)).await?;
        tx.commit().await?;
        Ok(run)
    }

    /// Records how a run ended, outside any other transaction.
    pub(crate) async fn record_run_end(
        &self,
        run: RunId,
        outcome: RunOutcome,
        error: Option<&str>,
        stats: &RunStats,
    ) -> Result<()> {
        let mut conn = self.backend.conn().await?;
        runlog::record_end(conn.as_mut(), run, outcome, error, stats, None).await
    }

    async fn apply_delta_tx(
        &self,
        org: OrgId,
        run: RunId,
        delta: &Delta,
        stats: &RunStats,
    ) -> Result<Changes> {
        let mut tx = self.backend.write(Some(org)).await?;
        let mut writer = DeltaWriter {
            conn: tx.as_mut(),
            run: RunContext {
                org,
                run,
                source: ChangeSource::Delta,
            },
            changes: Changes::new(),
        };
        writer.apply(delta).await?;
        let changes = writer.changes;
        crate::log_events::store(
            tx.as_mut(),
            org,
            Some(run),
            &delta.log_events,
            delta.log_keep_after,
        )
        .await?;
        runlog::write_checkpoints(
            tx.as_mut(),
            org,
            Some(run),
            &delta.checkpoints,
            stats.ended_at,
        )
        .await?;
        runlog::record_end(
            tx.as_mut(),
            run,
            RunOutcome::Succeeded,
            None,
            stats,
            Some(&changes),
        )
        .await?;
        tx.commit().await?;
        Ok(changes)
    }

    /// A fact about the mirror itself (`mirror_meta`).
    pub(crate) async fn meta(&self, key: &str) -> Result<Option<String>> {
        let mut conn = self.backend.conn().await?;
        let row = conn
            .fetch_optional("SELECT value FROM mirror_meta WHERE key = $1", args![key])
            .await?;
        row.map(|r| r.get(0)).transpose()
    }

    pub(crate) async fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        let mut conn = self.backend.conn().await?;
        conn.execute(
            "INSERT INTO mirror_meta (key, value) VALUES ($1, $2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            args![key, value],
        )
        .await?;
        Ok(())
    }
}

#[async_trait]
impl RunLog for Mirror {
    async fn begin_run(&self, org: OrgId, start: RunStart) -> Result<RunId> {
        self.insert_running_run(org, &start).await
    }

    async fn fail_run(&self, run: RunId, error: &str, stats: RunStats) -> Result<()> {
        self.record_run_end(run, RunOutcome::Failed, Some(error), &stats)
            .await
    }

    async fn mark_own_runs_interrupted(&self) -> Result<u64> {
        let mut conn = self.backend.conn().await?;
        runlog::mark_own_runs_interrupted(conn.as_mut(), &self.host, Utc::now()).await
    }

    async fn acquire_sync_lease(&self, org: OrgId, now: DateTime<Utc>) -> Result<Lease> {
        Mirror::acquire_sync_lease(self, org, now).await
    }
}

#[async_trait]
impl MirrorWriter for Mirror {
    async fn ensure_org(&self, org_url: &str, now: DateTime<Utc>) -> Result<OrgId> {
        let mut tx = self.backend.write(None).await?;
        tx.execute(
            "INSERT INTO orgs (url, created_at) VALUES ($1, $2) ON CONFLICT (url) DO NOTHING",
            args![org_url, timestamp(now)],
        )
        .await?;
        name_unnamed_orgs(tx.as_mut()).await?;
        let org = tx
            .fetch_optional("SELECT org_id FROM orgs WHERE url = $1", args![org_url])
            .await?
            .map(|r| r.get(0))
            .transpose()?
            .map(OrgId)
            .ok_or_else(|| StoreError::UnknownOrg(org_url.to_owned()))?;
        tx.commit().await?;
        Ok(org)
    }

    async fn set_org_name(&self, org: OrgId, name: &str) -> Result<()> {
        let name = valid_org_name(name)?;
        let mut tx = self.backend.write(None).await?;
        let holder = tx
            .fetch_optional(
                "SELECT url FROM orgs WHERE name = $1 AND org_id <> $2",
                args![name.as_str(), org],
            )
            .await?;
        if let Some(holder) = holder {
            return Err(StoreError::OrgNameTaken {
                name,
                taken_by: holder.get(0)?,
            });
        }
        let changed = tx
            .execute(
                "UPDATE orgs SET name = $1 WHERE org_id = $2",
                args![name.as_str(), org],
            )
            .await?;
        if changed == 0 {
            return Err(StoreError::UnknownOrg(format!("#{}", org.0)));
        }
        tx.commit().await
    }

    async fn begin_full_sync(
        &self,
        org: OrgId,
        start: RunStart,
    ) -> Result<Box<dyn FullSyncSession>> {
        let run_id = self.insert_running_run(org, &start).await?;
        let staging = match self.backend.staging().await {
            Ok(staging) => staging,
            Err(e) => {
                let message = format!("cannot stage the run's data: {e}");
                let stats = RunStats {
                    ended_at: Utc::now(),
                    ..Default::default()
                };
                self.record_run_end(run_id, RunOutcome::Failed, Some(&message), &stats)
                    .await?;
                return Err(e);
            }
        };
        let source = if start.kind == RunKind::Reconcile {
            ChangeSource::Reconcile
        } else {
            ChangeSource::Full
        };
        Ok(Box::new(Session {
            staging,
            mirror: self.clone(),
            org,
            run_id,
            source,
            checkpoints: BTreeMap::new(),
        }))
    }

    async fn checkpoint(&self, org: OrgId, name: &str) -> Result<Option<String>> {
        let mut conn = self.backend.conn().await?;
        let row = conn
            .fetch_optional(
                "SELECT value FROM checkpoints WHERE org_id = $1 AND name = $2",
                args![org, name],
            )
            .await?;
        row.map(|r| r.get(0)).transpose()
    }

    async fn set_checkpoints(
        &self,
        org: OrgId,
        checkpoints: &BTreeMap<String, String>,
    ) -> Result<()> {
        let mut tx = self.backend.write(Some(org)).await?;
        runlog::write_checkpoints(tx.as_mut(), org, None, checkpoints, Utc::now()).await?;
        tx.commit().await
    }

    async fn apply_delta(
        &self,
        org: OrgId,
        run: RunId,
        delta: Delta,
        stats: RunStats,
    ) -> Result<Changes> {
        match self.apply_delta_tx(org, run, &delta, &stats).await {
            Ok(changes) => Ok(changes),
            Err(e) => {
                let message = format!("applying the run to the mirror failed: {e}");
                self.record_run_end(run, RunOutcome::Failed, Some(&message), &stats)
                    .await?;
                Err(e)
            }
        }
    }

    async fn keys(&self, org: OrgId, scope: &Scope) -> Result<Vec<RowKey>> {
        let mut conn = self.backend.conn().await?;
        let table = scope.table();
        let spec = schema::spec(table);
        let rows = changelog::scope_rows(conn.as_mut(), org, scope).await?;
        rows.into_iter()
            .map(|row| {
                let parts = row[..spec.key_len].iter().map(Cell::key_text);
                RowKey::new(table, parts).ok_or_else(|| {
                    StoreError::Internal(format!("a {} row with a malformed key", table.as_str()))
                })
            })
            .collect()
    }

    async fn watermarks(&self, org: OrgId) -> Result<Watermarks> {
        let mut tx = self.backend.read().await?;
        let users_last_updated = scalar(
            tx.as_mut(),
            "SELECT MAX(last_updated) FROM users WHERE org_id = $1",
            args![org],
        )
        .await?;
        let groups = tx
            .fetch_one(
                "SELECT MAX(last_updated), MAX(last_membership_updated) FROM groups
                 WHERE org_id = $1",
                args![org],
            )
            .await?;
        tx.commit().await?;
        Ok(Watermarks {
            users_last_updated,
            groups_last_updated: groups.get(0)?,
            groups_last_membership_updated: groups.get(1)?,
        })
    }
}

#[async_trait]
impl MirrorReader for Mirror {
    async fn orgs(&self) -> Result<Vec<(OrgId, String)>> {
        let mut conn = self.backend.conn().await?;
        conn.fetch_all("SELECT org_id, url FROM orgs ORDER BY org_id", &[])
            .await?
            .iter()
            .map(|r| Ok((OrgId(r.get(0)?), r.get(1)?)))
            .collect()
    }

    async fn org_list(&self) -> Result<Vec<OrgRecord>> {
        let mut conn = self.backend.conn().await?;
        conn.fetch_all(
            "SELECT org_id, url, name, created_at FROM orgs ORDER BY org_id",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            let url: String = r.get(1)?;
            let name: Option<String> = r.get(2)?;
            Ok(OrgRecord {
                id: OrgId(r.get(0)?),
                name: name.unwrap_or_else(|| default_org_name(&url)),
                url,
                created_at: r.get(3)?,
            })
        })
        .collect()
    }

    async fn find_org_by_name(&self, name: &str) -> Result<Option<OrgId>> {
        let mut conn = self.backend.conn().await?;
        let row = conn
            .fetch_optional(
                "SELECT org_id FROM orgs WHERE name = $1",
                args![name.to_ascii_lowercase()],
            )
            .await?;
        Ok(row.map(|r| r.get(0)).transpose()?.map(OrgId))
    }

    async fn find_org(&self, org_url: &str) -> Result<Option<OrgId>> {
        let mut conn = self.backend.conn().await?;
        let row = conn
            .fetch_optional("SELECT org_id FROM orgs WHERE url = $1", args![org_url])
            .await?;
        Ok(row.map(|r| r.get(0)).transpose()?.map(OrgId))
    }

    async fn users(&self, org: OrgId, filter: &UserFilter) -> Result<Vec<UserRow>> {
        let mut conn = self.backend.conn().await?;
        query::users(conn.as_mut(), org, filter).await
    }

    async fn users_page(
        &self,
        org: OrgId,
        filter: &UserFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<UserRow>> {
        // One statement reads one snapshot by itself; BEGIN and COMMIT would be two more
        // round trips on the busiest route.
        if query::users_page_is_one_statement(filter, limit) {
            let mut conn = self.backend.conn().await?;
            return query::users_page(conn.as_mut(), org, filter, after, limit).await;
        }
        let mut tx = self.backend.read().await?;
        let page = query::users_page(tx.as_mut(), org, filter, after, limit).await?;
        tx.commit().await?;
        Ok(page)
    }

    async fn user(&self, org: OrgId, id_or_login: &str) -> Result<Option<UserDetail>> {
        let mut tx = self.backend.read().await?;
        let user = query::user(tx.as_mut(), org, id_or_login).await?;
        tx.commit().await?;
        Ok(user)
    }

    async fn users_by_id(&self, org: OrgId, ids: &[String]) -> Result<Vec<UserRow>> {
        let mut conn = self.backend.conn().await?;
        query::users_by_id(conn.as_mut(), org, ids).await
    }

    async fn groups(&self, org: OrgId) -> Result<Vec<GroupRow>> {
        let mut conn = self.backend.conn().await?;
        query::groups(conn.as_mut(), org).await
    }

    async fn group(&self, org: OrgId, id_or_name: &str) -> Result<Option<GroupDetail>> {
        let mut tx = self.backend.read().await?;
        let group = query::group(tx.as_mut(), org, id_or_name).await?;
        tx.commit().await?;
        Ok(group)
    }

    async fn groups_page(
        &self,
        org: OrgId,
        filter: &GroupFilter,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<GroupRow>> {
        let mut tx = self.backend.read().await?;
        let page = query::groups_page(tx.as_mut(), org, filter, after, limit).await?;
        tx.commit().await?;
        Ok(page)
    }

    async fn find_app(&self, org: OrgId, id_or_label: &str) -> Result<Option<AppRow>> {
        let mut conn = self.backend.conn().await?;
        query::find_app(conn.as_mut(), org, id_or_label).await
    }

    async fn group_summary(&self, org: OrgId, id_or_name: &str) -> Result<Option<GroupSummary>> {
        let mut tx = self.backend.read().await?;
        let group = query::group_summary(tx.as_mut(), org, id_or_name).await?;
        tx.commit().await?;
        Ok(group)
    }

    async fn role_names(&self, org: OrgId) -> Result<Vec<String>> {
        let mut conn = self.backend.conn().await?;
        conn.fetch_all(
            "SELECT DISTINCT role FROM role_sources WHERE org_id = $1 ORDER BY role",
            args![org],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect()
    }

    async fn user_roles(
        &self,
        org: OrgId,
        filter: &crate::RoleFilter,
    ) -> Result<Vec<crate::UserRole>> {
        let mut conn = self.backend.conn().await?;
        crate::roles::user_roles(conn.as_mut(), org, filter).await
    }

    async fn open_grants(&self, org: OrgId) -> Result<Vec<crate::Grant>> {
        let filter = crate::GrantFilter {
            open: true,
            ..Default::default()
        };
        crate::Grants::grants(self, org, &filter).await
    }

    async fn active_rules_feeding(
        &self,
        org: OrgId,
        group_id: &str,
    ) -> Result<Vec<(String, Option<String>)>> {
        let mut conn = self.backend.conn().await?;
        conn.fetch_all(
            "SELECT rule_id, rule_name FROM group_rule_targets \
             WHERE org_id = $1 AND group_id = $2 AND rule_status = 'ACTIVE' ORDER BY rule_id",
            args![org, group_id],
        )
        .await?
        .iter()
        .map(|row| Ok((row.get(0)?, row.get(1)?)))
        .collect()
    }

    async fn find_group(&self, org: OrgId, id_or_name: &str) -> Result<Option<GroupRow>> {
        let mut conn = self.backend.conn().await?;
        query::find_group(conn.as_mut(), org, id_or_name).await
    }

    async fn groups_by_id(&self, org: OrgId, ids: &[String]) -> Result<HashMap<String, UserGroup>> {
        let mut conn = self.backend.conn().await?;
        query::groups_by_id(conn.as_mut(), org, ids).await
    }

    async fn apps(&self, org: OrgId) -> Result<Vec<AppRow>> {
        let mut conn = self.backend.conn().await?;
        query::apps(conn.as_mut(), org).await
    }

    async fn app(&self, org: OrgId, id_or_label: &str) -> Result<Option<AppDetail>> {
        let mut tx = self.backend.read().await?;
        let app = query::app(tx.as_mut(), org, id_or_label).await?;
        tx.commit().await?;
        Ok(app)
    }

    async fn app_labels(
        &self,
        org: OrgId,
        ids: &[String],
    ) -> Result<HashMap<String, Option<String>>> {
        let mut conn = self.backend.conn().await?;
        query::app_labels(conn.as_mut(), org, ids).await
    }

    async fn admins(&self, org: OrgId) -> Result<Vec<AdminRole>> {
        let mut conn = self.backend.conn().await?;
        query::admins(conn.as_mut(), org).await
    }

    async fn changes(&self, org: OrgId, query: &ChangeQuery) -> Result<Vec<ChangeRecord>> {
        let mut conn = self.backend.conn().await?;
        history::changes(conn.as_mut(), org, query).await
    }

    async fn log_events(
        &self,
        org: OrgId,
        query: &crate::log_events::LogQuery,
    ) -> Result<Vec<crate::log_events::StoredLogEvent>> {
        let mut conn = self.backend.conn().await?;
        crate::log_events::query(conn.as_mut(), org, query).await
    }

    async fn alerts(
        &self,
        org: OrgId,
        query: &crate::alerts::AlertQuery,
    ) -> Result<Vec<crate::alerts::StoredAlert>> {
        let mut conn = self.backend.conn().await?;
        crate::alerts::query(conn.as_mut(), org, query).await
    }

    async fn posture_findings(
        &self,
        org: OrgId,
        include_resolved: bool,
    ) -> Result<Vec<crate::posture::StoredFinding>> {
        let mut conn = self.backend.conn().await?;
        crate::posture::findings(conn.as_mut(), org, include_resolved).await
    }

    async fn last_posture_run(&self, org: OrgId) -> Result<Option<crate::posture::PostureRun>> {
        let mut conn = self.backend.conn().await?;
        crate::posture::last_run(conn.as_mut(), org).await
    }

    async fn history_start(&self, org: OrgId) -> Result<Option<String>> {
        let mut conn = self.backend.conn().await?;
        history::history_start(conn.as_mut(), org).await
    }

    async fn rows_at(
        &self,
        org: OrgId,
        table: Table,
        concern: Concern<'_>,
        at: DateTime<Utc>,
    ) -> Result<Vec<Value>> {
        let mut tx = self.backend.read().await?;
        let rows = history::rows_at(tx.as_mut(), org, table, concern, at).await?;
        tx.commit().await?;
        Ok(rows)
    }

    async fn export_json(&self, org: OrgId) -> Result<Value> {
        // One read transaction: the export is one snapshot even while a run commits.
        let mut tx = self.backend.read().await?;
        let export = crate::export::export_json(tx.as_mut(), org).await?;
        tx.commit().await?;
        Ok(export)
    }

    async fn table_rows(&self, org: OrgId, table: Table) -> Result<TableRows> {
        let mut conn = self.backend.conn().await?;
        query::table_rows(conn.as_mut(), org, table).await
    }

    async fn counts(&self, org: OrgId) -> Result<BTreeMap<String, u64>> {
        let mut tx = self.backend.read().await?;
        let mut counts = BTreeMap::new();
        for table in Table::ALL {
            let sql = format!("SELECT COUNT(*) FROM {} WHERE org_id = $1", table.as_str());
            let n: i64 = scalar(tx.as_mut(), &sql, args![org]).await?;
            counts.insert(table.as_str().to_owned(), u64::try_from(n).unwrap_or(0));
        }
        tx.commit().await?;
        Ok(counts)
    }

    async fn recent_runs(&self, org: OrgId, limit: u32) -> Result<Vec<SyncRunRecord>> {
        self.runs_page(org, None, limit).await
    }

    async fn runs_page(
        &self,
        org: OrgId,
        before: Option<RunId>,
        limit: u32,
    ) -> Result<Vec<SyncRunRecord>> {
        let mut conn = self.backend.conn().await?;
        conn.fetch_all(
            &format!(
                "SELECT {RUN_COLUMNS} FROM sync_runs WHERE org_id = $1 AND ($2 IS NULL OR run_id < $2)
                 ORDER BY run_id DESC LIMIT $3"
            ),
            args![org, before.map(|r| r.0), i64::from(limit)],
        )
        .await?
        .iter()
        .map(|r| r.decode())
        .collect()
    }

    async fn last_success(&self, org: OrgId) -> Result<Option<String>> {
        let mut conn = self.backend.conn().await?;
        scalar(
            conn.as_mut(),
            "SELECT MAX(ended_at) FROM sync_runs WHERE org_id = $1 AND outcome = 'succeeded'",
            args![org],
        )
        .await
    }

    async fn run(&self, org: OrgId, run: RunId) -> Result<Option<SyncRunRecord>> {
        let mut conn = self.backend.conn().await?;
        conn.fetch_optional(
            &format!("SELECT {RUN_COLUMNS} FROM sync_runs WHERE org_id = $1 AND run_id = $2"),
            args![org, run.0],
        )
        .await?
        .map(|r| r.decode())
        .transpose()
    }

    async fn meta(&self, key: &str) -> Result<Option<String>> {
        Mirror::meta(self, key).await
    }

    fn location(&self) -> String {
        self.backend.location()
    }

    async fn close(&self) {
        self.backend.close().await;
    }
}

/// Implements [`MirrorReader`], [`MirrorWriter`] and [`RunLog`] for a backend's store type by
/// forwarding every method to its `mirror` field.
macro_rules! forward_store_traits {
    ($store:ty) => {
        #[async_trait::async_trait]
        impl $crate::SystemLogStore for $store {
            async fn store_log_events(
                &self,
                org: $crate::OrgId,
                run: Option<$crate::RunId>,
                events: &[serde_json::Value],
                keep_after: Option<chrono::DateTime<chrono::Utc>>,
            ) -> $crate::Result<$crate::LogStoreCounts> {
                $crate::SystemLogStore::store_log_events(&self.mirror, org, run, events, keep_after)
                    .await
            }
        }

        #[async_trait::async_trait]
        impl $crate::RunLog for $store {
            async fn begin_run(
                &self,
                org: $crate::OrgId,
                start: $crate::RunStart,
            ) -> $crate::Result<$crate::RunId> {
                $crate::RunLog::begin_run(&self.mirror, org, start).await
            }
            async fn fail_run(
                &self,
                run: $crate::RunId,
                error: &str,
                stats: $crate::RunStats,
            ) -> $crate::Result<()> {
                $crate::RunLog::fail_run(&self.mirror, run, error, stats).await
            }
            async fn mark_own_runs_interrupted(&self) -> $crate::Result<u64> {
                $crate::RunLog::mark_own_runs_interrupted(&self.mirror).await
            }
            async fn acquire_sync_lease(
                &self,
                org: $crate::OrgId,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::Result<$crate::Lease> {
                $crate::RunLog::acquire_sync_lease(&self.mirror, org, now).await
            }
        }

        #[async_trait::async_trait]
        impl $crate::MirrorWriter for $store {
            async fn ensure_org(
                &self,
                org_url: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> $crate::Result<$crate::OrgId> {
                $crate::MirrorWriter::ensure_org(&self.mirror, org_url, now).await
            }
            async fn set_org_name(&self, org: $crate::OrgId, name: &str) -> $crate::Result<()> {
                $crate::MirrorWriter::set_org_name(&self.mirror, org, name).await
            }
            async fn begin_full_sync(
                &self,
                org: $crate::OrgId,
                start: $crate::RunStart,
            ) -> $crate::Result<Box<dyn $crate::FullSyncSession>> {
                $crate::MirrorWriter::begin_full_sync(&self.mirror, org, start).await
            }
            async fn checkpoint(
                &self,
                org: $crate::OrgId,
                name: &str,
            ) -> $crate::Result<Option<String>> {
                $crate::MirrorWriter::checkpoint(&self.mirror, org, name).await
            }
            async fn set_checkpoints(
                &self,
                org: $crate::OrgId,
                checkpoints: &std::collections::BTreeMap<String, String>,
            ) -> $crate::Result<()> {
                $crate::MirrorWriter::set_checkpoints(&self.mirror, org, checkpoints).await
            }
            async fn apply_delta(
                &self,
                org: $crate::OrgId,
                run: $crate::RunId,
                delta: $crate::Delta,
                stats: $crate::RunStats,
            ) -> $crate::Result<$crate::Changes> {
                $crate::MirrorWriter::apply_delta(&self.mirror, org, run, delta, stats).await
            }
            async fn keys(
                &self,
                org: $crate::OrgId,
                scope: &$crate::Scope,
            ) -> $crate::Result<Vec<$crate::RowKey>> {
                $crate::MirrorWriter::keys(&self.mirror, org, scope).await
            }
            async fn watermarks(&self, org: $crate::OrgId) -> $crate::Result<$crate::Watermarks> {
                $crate::MirrorWriter::watermarks(&self.mirror, org).await
            }
        }

        #[async_trait::async_trait]
        impl $crate::MirrorReader for $store {
            async fn orgs(&self) -> $crate::Result<Vec<($crate::OrgId, String)>> {
                $crate::MirrorReader::orgs(&self.mirror).await
            }
            async fn org_list(&self) -> $crate::Result<Vec<$crate::OrgRecord>> {
                $crate::MirrorReader::org_list(&self.mirror).await
            }
            async fn find_org_by_name(&self, name: &str) -> $crate::Result<Option<$crate::OrgId>> {
                $crate::MirrorReader::find_org_by_name(&self.mirror, name).await
            }
            async fn find_org(&self, org_url: &str) -> $crate::Result<Option<$crate::OrgId>> {
                $crate::MirrorReader::find_org(&self.mirror, org_url).await
            }
            async fn users(
                &self,
                org: $crate::OrgId,
                filter: &$crate::query::UserFilter,
            ) -> $crate::Result<Vec<$crate::query::UserRow>> {
                $crate::MirrorReader::users(&self.mirror, org, filter).await
            }
            async fn users_page(
                &self,
                org: $crate::OrgId,
                filter: &$crate::query::UserFilter,
                after: Option<&str>,
                limit: u32,
            ) -> $crate::Result<Vec<$crate::query::UserRow>> {
                $crate::MirrorReader::users_page(&self.mirror, org, filter, after, limit).await
            }
            async fn user(
                &self,
                org: $crate::OrgId,
                id_or_login: &str,
            ) -> $crate::Result<Option<$crate::query::UserDetail>> {
                $crate::MirrorReader::user(&self.mirror, org, id_or_login).await
            }
            async fn users_by_id(
                &self,
                org: $crate::OrgId,
                ids: &[String],
            ) -> $crate::Result<Vec<$crate::query::UserRow>> {
                $crate::MirrorReader::users_by_id(&self.mirror, org, ids).await
            }
            async fn groups(
                &self,
                org: $crate::OrgId,
            ) -> $crate::Result<Vec<$crate::query::GroupRow>> {
                $crate::MirrorReader::groups(&self.mirror, org).await
            }
            async fn group(
                &self,
                org: $crate::OrgId,
                id_or_name: &str,
            ) -> $crate::Result<Option<$crate::query::GroupDetail>> {
                $crate::MirrorReader::group(&self.mirror, org, id_or_name).await
            }
            async fn groups_page(
                &self,
                org: $crate::OrgId,
                filter: &$crate::query::GroupFilter,
                after: Option<&str>,
                limit: u32,
            ) -> $crate::Result<Vec<$crate::query::GroupRow>> {
                $crate::MirrorReader::groups_page(&self.mirror, org, filter, after, limit).await
            }
            async fn find_app(
                &self,
                org: $crate::OrgId,
                id_or_label: &str,
            ) -> $crate::Result<Option<$crate::query::AppRow>> {
                $crate::MirrorReader::find_app(&self.mirror, org, id_or_label).await
            }
            async fn group_summary(
                &self,
                org: $crate::OrgId,
                id_or_name: &str,
            ) -> $crate::Result<Option<$crate::query::GroupSummary>> {
                $crate::MirrorReader::group_summary(&self.mirror, org, id_or_name).await
            }
            async fn role_names(&self, org: $crate::OrgId) -> $crate::Result<Vec<String>> {
                $crate::MirrorReader::role_names(&self.mirror, org).await
            }
            async fn user_roles(
                &self,
                org: $crate::OrgId,
                filter: &$crate::RoleFilter,
            ) -> $crate::Result<Vec<$crate::UserRole>> {
                $crate::MirrorReader::user_roles(&self.mirror, org, filter).await
            }
            async fn open_grants(&self, org: $crate::OrgId) -> $crate::Result<Vec<$crate::Grant>> {
                $crate::MirrorReader::open_grants(&self.mirror, org).await
            }
            async fn active_rules_feeding(
                &self,
                org: $crate::OrgId,
                group_id: &str,
            ) -> $crate::Result<Vec<(String, Option<String>)>> {
                $crate::MirrorReader::active_rules_feeding(&self.mirror, org, group_id).await
            }
            async fn find_group(
                &self,
                org: $crate::OrgId,
                id_or_name: &str,
            ) -> $crate::Result<Option<$crate::query::GroupRow>> {
                $crate::MirrorReader::find_group(&self.mirror, org, id_or_name).await
            }
            async fn groups_by_id(
                &self,
                org: $crate::OrgId,
                ids: &[String],
            ) -> $crate::Result<std::collections::HashMap<String, $crate::query::UserGroup>> {
                $crate::MirrorReader::groups_by_id(&self.mirror, org, ids).await
            }
            async fn apps(&self, org: $crate::OrgId) -> $crate::Result<Vec<$crate::query::AppRow>> {
                $crate::MirrorReader::apps(&self.mirror, org).await
            }
            async fn app(
                &self,
                org: $crate::OrgId,
                id_or_label: &str,
            ) -> $crate::Result<Option<$crate::query::AppDetail>> {
                $crate::MirrorReader::app(&self.mirror, org, id_or_label).await
            }
            async fn app_labels(
                &self,
                org: $crate::OrgId,
                ids: &[String],
            ) -> $crate::Result<std::collections::HashMap<String, Option<String>>> {
                $crate::MirrorReader::app_labels(&self.mirror, org, ids).await
            }
            async fn admins(
                &self,
                org: $crate::OrgId,
            ) -> $crate::Result<Vec<$crate::query::AdminRole>> {
                $crate::MirrorReader::admins(&self.mirror, org).await
            }
            async fn changes(
                &self,
                org: $crate::OrgId,
                query: &$crate::ChangeQuery,
            ) -> $crate::Result<Vec<$crate::ChangeRecord>> {
                $crate::MirrorReader::changes(&self.mirror, org, query).await
            }
            async fn log_events(
                &self,
                org: $crate::OrgId,
                query: &$crate::LogQuery,
            ) -> $crate::Result<Vec<$crate::StoredLogEvent>> {
                $crate::MirrorReader::log_events(&self.mirror, org, query).await
            }
            async fn alerts(
                &self,
                org: $crate::OrgId,
                query: &$crate::AlertQuery,
            ) -> $crate::Result<Vec<$crate::StoredAlert>> {
                $crate::MirrorReader::alerts(&self.mirror, org, query).await
            }
            async fn posture_findings(
                &self,
                org: $crate::OrgId,
                include_resolved: bool,
            ) -> $crate::Result<Vec<$crate::StoredFinding>> {
                $crate::MirrorReader::posture_findings(&self.mirror, org, include_resolved).await
            }
            async fn last_posture_run(
                &self,
                org: $crate::OrgId,
            ) -> $crate::Result<Option<$crate::PostureRun>> {
                $crate::MirrorReader::last_posture_run(&self.mirror, org).await
            }
            async fn history_start(&self, org: $crate::OrgId) -> $crate::Result<Option<String>> {
                $crate::MirrorReader::history_start(&self.mirror, org).await
            }
            async fn rows_at(
                &self,
                org: $crate::OrgId,
                table: $crate::Table,
                concern: $crate::history::Concern<'_>,
                at: chrono::DateTime<chrono::Utc>,
            ) -> $crate::Result<Vec<serde_json::Value>> {
                $crate::MirrorReader::rows_at(&self.mirror, org, table, concern, at).await
            }
            async fn export_json(&self, org: $crate::OrgId) -> $crate::Result<serde_json::Value> {
                $crate::MirrorReader::export_json(&self.mirror, org).await
            }
            async fn table_rows(
                &self,
                org: $crate::OrgId,
                table: $crate::Table,
            ) -> $crate::Result<$crate::TableRows> {
                $crate::MirrorReader::table_rows(&self.mirror, org, table).await
            }
            async fn counts(
                &self,
                org: $crate::OrgId,
            ) -> $crate::Result<std::collections::BTreeMap<String, u64>> {
                $crate::MirrorReader::counts(&self.mirror, org).await
            }
            async fn recent_runs(
                &self,
                org: $crate::OrgId,
                limit: u32,
            ) -> $crate::Result<Vec<$crate::SyncRunRecord>> {
                $crate::MirrorReader::recent_runs(&self.mirror, org, limit).await
            }
            async fn runs_page(
                &self,
                org: $crate::OrgId,
                before: Option<$crate::RunId>,
                limit: u32,
            ) -> $crate::Result<Vec<$crate::SyncRunRecord>> {
                $crate::MirrorReader::runs_page(&self.mirror, org, before, limit).await
            }
            async fn last_success(&self, org: $crate::OrgId) -> $crate::Result<Option<String>> {
                $crate::MirrorReader::last_success(&self.mirror, org).await
            }
            async fn run(
                &self,
                org: $crate::OrgId,
                run: $crate::RunId,
            ) -> $crate::Result<Option<$crate::SyncRunRecord>> {
                $crate::MirrorReader::run(&self.mirror, org, run).await
            }
            async fn meta(&self, key: &str) -> $crate::Result<Option<String>> {
                $crate::MirrorReader::meta(&self.mirror, key).await
            }
            fn location(&self) -> String {
                $crate::MirrorReader::location(&self.mirror)
            }
            async fn close(&self) {
                $crate::MirrorReader::close(&self.mirror).await
            }
        }
    };
}
pub(crate) use forward_store_traits;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_org_is_named_after_the_first_label_of_its_host() {
        for (url, name) in [
            ("https://acme.okta.com", "acme"),
            ("https://Acme-Prod.oktapreview.com/", "acme-prod"),
            ("http://127.0.0.1:8080", "127"),
            ("https://user@dev-123.okta.com:443/x", "dev-123"),
            ("acme.okta.com", "acme"),
            ("https://.okta.com", "org"),
            ("https://__.x", "org"),
        ] {
            assert_eq!(default_org_name(url), name, "{url}");
            assert!(valid_org_name(&default_org_name(url)).is_ok(), "{url}");
        }
        assert_eq!(valid_org_name("Prod_EU").unwrap(), "prod_eu");
        for bad in ["", "-x", "a b", "ä", &"x".repeat(64)] {
            assert!(
                matches!(valid_org_name(bad), Err(StoreError::BadOrgName { .. })),
                "{bad}"
            );
        }
    }
}
