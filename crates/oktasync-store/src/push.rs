//! Push to other systems (`[[targets]]`, `oktasync push`): what was last pushed to each target
//! per Okta user (`push_state`), the push runs (`push_runs`), and the mirror read as a push's
//! source (users with their groups).
//!
//! The push engine (`oktasync-push`) decides what to send; the store keeps what it sent, so that
//! the next push sends only what changed.

use crate::error::Result;
use crate::mirror::Mirror;
use crate::sql::args;
use crate::types::OrgId;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One user as last pushed to a target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushedUser {
    pub okta_user_id: String,
    /// The id the target gave the account.
    pub target_user_id: String,
    pub user_name: String,
    pub content_hash: String,
    /// The flat attributes as pushed.
    pub attributes: serde_json::Value,
    pub target_groups: Vec<String>,
    /// RFC 3339.
    pub pushed_at: String,
}

/// One push run, as recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PushRunRecord {
    /// Set by the store when recorded.
    pub id: i64,
    pub target: String,
    pub started_at: String,
    pub ended_at: String,
    pub dry_run: bool,
    pub full: bool,
    /// `succeeded`, `partial` (some users failed), `refused` (over `max_deletions`), `failed`.
    pub outcome: String,
    /// Operations planned and done, users skipped and failed.
    pub counts: serde_json::Value,
    /// `[{"login", "message"}]` per user that failed.
    pub errors: serde_json::Value,
    /// Target HTTP calls by operation.
    pub http_calls: serde_json::Value,
    pub message: Option<String>,
}

/// An Okta user as a push reads it from the mirror.
#[derive(Debug, Clone, PartialEq)]
pub struct PushSourceUser {
    pub id: String,
    pub status: String,
    /// The user as Okta returned it.
    pub raw: serde_json::Value,
    /// (group id, group name) of every group the user is in.
    pub groups: Vec<(String, String)>,
}

#[async_trait]
pub trait PushStates: Send + Sync {
    /// Every user last pushed to `target`.
    async fn pushed_users(&self, org: OrgId, target: &str) -> Result<Vec<PushedUser>>;
    /// Inserts or replaces users pushed to `target`.
    async fn save_pushed(&self, org: OrgId, target: &str, users: &[PushedUser]) -> Result<()>;
    /// Forgets these Okta users' records of `target`.
    async fn forget_pushed(&self, org: OrgId, target: &str, okta_user_ids: &[String])
    -> Result<()>;
    /// Records a push run; returns its id.
    async fn record_push_run(&self, org: OrgId, run: &PushRunRecord) -> Result<i64>;
    /// The latest push runs, newest first, of one target or all.
    async fn push_runs(
        &self,
        org: OrgId,
        target: Option<&str>,
        limit: u32,
    ) -> Result<Vec<PushRunRecord>>;
    /// The mirror's users with the groups they are in (the source of a push).
    async fn push_source(&self, org: OrgId) -> Result<Vec<PushSourceUser>>;
}

fn json_text(value: &impl Serialize) -> Result<String> {
    Ok(serde_json::to_string(value)?)
}

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    Ok(serde_json::from_str(text)?)
}

#[async_trait]
impl PushStates for Mirror {
    async fn pushed_users(&self, org: OrgId, target: &str) -> Result<Vec<PushedUser>> {
        let mut tx = self.backend.read().await?;
        let rows = tx
            .fetch_all(
                "SELECT okta_user_id, target_user_id, user_name, content_hash, attributes, \
                   target_groups, pushed_at \
                 FROM push_state WHERE org_id = $1 AND target = $2 ORDER BY okta_user_id",
                args![org, target],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let attributes: String = r.get(4)?;
                let groups: String = r.get(5)?;
                Ok(PushedUser {
                    okta_user_id: r.get(0)?,
                    target_user_id: r.get(1)?,
                    user_name: r.get(2)?,
                    content_hash: r.get(3)?,
                    attributes: parse(&attributes)?,
                    target_groups: parse(&groups)?,
                    pushed_at: r.get(6)?,
                })
            })
            .collect()
    }

    async fn save_pushed(&self, org: OrgId, target: &str, users: &[PushedUser]) -> Result<()> {
        let mut tx = self.backend.write(Some(org)).await?;
        for u in users {
            tx.execute(
                "INSERT INTO push_state (org_id, target, okta_user_id, target_user_id, \
                   user_name, content_hash, attributes, target_groups, pushed_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) \
                 ON CONFLICT (org_id, target, okta_user_id) DO UPDATE SET \
                   target_user_id = excluded.target_user_id, user_name = excluded.user_name, \
                   content_hash = excluded.content_hash, attributes = excluded.attributes, \
                   target_groups = excluded.target_groups, pushed_at = excluded.pushed_at",
                args![
                    org,
                    target,
                    u.okta_user_id.as_str(),
                    u.target_user_id.as_str(),
                    u.user_name.as_str(),
                    u.content_hash.as_str(),
                    json_text(&u.attributes)?,
                    json_text(&u.target_groups)?,
                    u.pushed_at.as_str()
                ],
            )
            .await?;
        }
        tx.commit().await
    }

    async fn forget_pushed(
        &self,
        org: OrgId,
        target: &str,
        okta_user_ids: &[String],
    ) -> Result<()> {
        let mut tx = self.backend.write(Some(org)).await?;
        for id in okta_user_ids {
            tx.execute(
                "DELETE FROM push_state WHERE org_id = $1 AND target = $2 AND okta_user_id = $3",
                args![org, target, id.as_str()],
            )
            .await?;
        }
        tx.commit().await
    }

    async fn record_push_run(&self, org: OrgId, run: &PushRunRecord) -> Result<i64> {
        let mut tx = self.backend.write(Some(org)).await?;
        let row = tx
            .fetch_one(
                "INSERT INTO push_runs (org_id, target, started_at, ended_at, dry_run, \
                   full_push, outcome, counts, errors, http_calls, message) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
                args![
                    org,
                    run.target.as_str(),
                    run.started_at.as_str(),
                    run.ended_at.as_str(),
                    i64::from(run.dry_run),
                    i64::from(run.full),
                    run.outcome.as_str(),
                    json_text(&run.counts)?,
                    json_text(&run.errors)?,
                    json_text(&run.http_calls)?,
                    run.message.as_deref()
                ],
            )
            .await?;
        let id: i64 = row.get(0)?;
        tx.commit().await?;
        Ok(id)
    }

    async fn push_runs(
        &self,
        org: OrgId,
        target: Option<&str>,
        limit: u32,
    ) -> Result<Vec<PushRunRecord>> {
        let mut tx = self.backend.read().await?;
        let rows = tx
            .fetch_all(
                "SELECT id, target, started_at, ended_at, dry_run, full_push, outcome, counts, \
                   errors, http_calls, message \
                 FROM push_runs WHERE org_id = $1 AND ($2 = '' OR target = $2) \
                 ORDER BY id DESC LIMIT $3",
                args![org, target.unwrap_or(""), i64::from(limit)],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let (counts, errors, calls): (String, String, String) =
                    (r.get(7)?, r.get(8)?, r.get(9)?);
                Ok(PushRunRecord {
                    id: r.get(0)?,
                    target: r.get(1)?,
                    started_at: r.get(2)?,
                    ended_at: r.get(3)?,
                    dry_run: r.get::<i64>(4)? != 0,
                    full: r.get::<i64>(5)? != 0,
                    outcome: r.get(6)?,
                    counts: parse(&counts)?,
                    errors: parse(&errors)?,
                    http_calls: parse(&calls)?,
                    message: r.get(10)?,
                })
            })
            .collect()
    }

    async fn push_source(&self, org: OrgId) -> Result<Vec<PushSourceUser>> {
        let mut tx = self.backend.read().await?;
        let names: BTreeMap<String, String> = tx
            .fetch_all(
                "SELECT id, COALESCE(name, id) FROM groups WHERE org_id = $1",
                args![org],
            )
            .await?
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect::<Result<_>>()?;
        let mut groups_of: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        for r in tx
            .fetch_all(
                "SELECT user_id, group_id FROM group_members WHERE org_id = $1 \
                 ORDER BY user_id, group_id",
                args![org],
            )
            .await?
        {
            let (user, group): (String, String) = (r.get(0)?, r.get(1)?);
            let name = names.get(&group).cloned().unwrap_or_else(|| group.clone());
            groups_of.entry(user).or_default().push((group, name));
        }
        let rows = tx
            .fetch_all(
                "SELECT id, COALESCE(status, ''), raw FROM users WHERE org_id = $1 ORDER BY id",
                args![org],
            )
            .await?;
        rows.iter()
            .map(|r| {
                let id: String = r.get(0)?;
                let raw: String = r.get(2)?;
                Ok(PushSourceUser {
                    groups: groups_of.remove(&id).unwrap_or_default(),
                    status: r.get(1)?,
                    raw: parse(&raw)?,
                    id,
                })
            })
            .collect()
    }
}
