//! Group-to-role mapping: the `[[roles]]` of the configuration applied to an org's mirror.
//!
//! Applying roles ([`Roles::apply_roles`]) resolves each role's group patterns (ids, names,
//! globs) and apps (ids or labels) against the mirror, stores the result (`role_sources`), and
//! compares who holds each role now (the view `user_roles`) with who held it when roles were
//! last applied (`role_holders`): each user who gained or lost a role is a change-log record of
//! its own (entity `user_roles`, source `roles`), in the same transaction. A role applied for
//! the first time is its own baseline: its holders are recorded, not reported as gained.
//! Applying runs after each sync and by `oktasync roles`, so the records follow the membership
//! changes the sync brought in.

use crate::changelog::{LogEntry, log_entry};
use crate::error::Result;
use crate::mirror::Mirror;
use crate::pattern::GroupPattern;
use crate::sql::{Arg, Sql, args};
use crate::types::{OrgId, timestamp};
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// One `[[roles]]` entry: the groups (patterns) and apps (ids or labels) that give it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RoleSpec {
    pub name: String,
    pub groups: Vec<GroupPattern>,
    pub apps: Vec<String>,
}

/// One way a user holds a role (a row of the view `user_roles`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserRole {
    pub role: String,
    pub user_id: String,
    pub login: Option<String>,
    /// `group` (a membership) or `app` (access to an app).
    pub via: String,
    /// The group's or app's id.
    pub via_id: String,
    /// The group's name or the app's label.
    pub via_name: Option<String>,
}

/// Which rows of `user_roles` to read.
#[derive(Debug, Clone, Default)]
pub struct RoleFilter {
    pub role: Option<String>,
    pub user_id: Option<String>,
}

/// What applying the roles changed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RolesApplied {
    /// (role, user id) pairs that gained the role.
    pub gained: Vec<(String, String)>,
    /// (role, user id) pairs that lost it.
    pub lost: Vec<(String, String)>,
    /// Roles applied for the first time (their holders are the baseline).
    pub new_roles: Vec<String>,
    /// Roles whose patterns name nothing in the mirror.
    pub empty_roles: Vec<String>,
}

#[async_trait]
pub trait Roles: Send + Sync {
    /// Applies the configured roles to the org: resolves them, stores them, and records who
    /// gained or lost a role since they were last applied, in one transaction.
    async fn apply_roles(
        &self,
        org: OrgId,
        roles: &[RoleSpec],
        now: DateTime<Utc>,
    ) -> Result<RolesApplied>;
}

/// Who holds which role, with how.
async fn holders_now(
    conn: &mut dyn Sql,
    org: OrgId,
) -> Result<BTreeMap<(String, String), Vec<String>>> {
    let mut now: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for row in conn
        .fetch_all(
            "SELECT role, user_id, via, via_id, via_name FROM user_roles WHERE org_id = $1",
            args![org],
        )
        .await?
    {
        let via: String = row.get(2)?;
        let via_id: String = row.get(3)?;
        let name: Option<String> = row.get(4)?;
        now.entry((row.get(0)?, row.get(1)?))
            .or_default()
            .push(format!("{via} {}", name.unwrap_or(via_id)));
    }
    Ok(now)
}

#[async_trait]
impl Roles for Mirror {
    async fn apply_roles(
        &self,
        org: OrgId,
        roles: &[RoleSpec],
        now: DateTime<Utc>,
    ) -> Result<RolesApplied> {
        let now_text = timestamp(now);
        let mut tx = self.backend.write(Some(org)).await?;
        let known: BTreeSet<String> = tx
            .fetch_all(
                "SELECT DISTINCT role FROM role_sources WHERE org_id = $1",
                args![org],
            )
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect::<Result<_>>()?;
        let groups: Vec<(String, Option<String>)> = tx
            .fetch_all("SELECT id, name FROM groups WHERE org_id = $1", args![org])
            .await?
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect::<Result<_>>()?;
        let apps: Vec<(String, Option<String>)> = tx
            .fetch_all("SELECT id, label FROM apps WHERE org_id = $1", args![org])
            .await?
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect::<Result<_>>()?;
        tx.execute("DELETE FROM role_sources WHERE org_id = $1", args![org])
            .await?;
        let mut applied = RolesApplied::default();
        for role in roles {
            let mut sources: BTreeSet<(&str, &str)> = BTreeSet::new();
            for (id, name) in &groups {
                if role.groups.iter().any(|p| p.covers(id, name.as_deref())) {
                    sources.insert(("group", id));
                }
            }
            for (id, label) in &apps {
                if role
                    .apps
                    .iter()
                    .any(|a| a == id || label.as_deref().is_some_and(|l| l.eq_ignore_ascii_case(a)))
                {
                    sources.insert(("app", id));
                }
            }
            if sources.is_empty() {
                applied.empty_roles.push(role.name.clone());
            }
            // The role itself, so that a role naming nothing yet is known when it comes to.
            sources.insert(("role", ""));
            for (kind, id) in sources {
                tx.execute(
                    "INSERT INTO role_sources (org_id, role, kind, object_id) \
                     VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                    args![org, role.name.as_str(), kind, id],
                )
                .await?;
            }
            if !known.contains(&role.name) {
                applied.new_roles.push(role.name.clone());
            }
        }
        let current = holders_now(tx.as_mut(), org).await?;
        let before: BTreeSet<(String, String)> = tx
            .fetch_all(
                "SELECT role, user_id FROM role_holders WHERE org_id = $1",
                args![org],
            )
            .await?
            .iter()
            .map(|r| Ok((r.get(0)?, r.get(1)?)))
            .collect::<Result<_>>()?;
        let reported = |role: &str| known.contains(role) && roles.iter().any(|r| r.name == role);
        for ((role, user), via) in &current {
            if before.contains(&(role.clone(), user.clone())) {
                continue;
            }
            tx.execute(
                "INSERT INTO role_holders (org_id, role, user_id) VALUES ($1, $2, $3)",
                args![org, role.as_str(), user.as_str()],
            )
            .await?;
            if reported(role) {
                let new = serde_json::json!({"role": role, "via": via});
                record(
                    tx.as_mut(),
                    org,
                    &now_text,
                    "add",
                    role,
                    user,
                    None,
                    Some(new),
                )
                .await?;
                applied.gained.push((role.clone(), user.clone()));
            }
        }
        for (role, user) in &before {
            if current.contains_key(&(role.clone(), user.clone())) {
                continue;
            }
            tx.execute(
                "DELETE FROM role_holders WHERE org_id = $1 AND role = $2 AND user_id = $3",
                args![org, role.as_str(), user.as_str()],
            )
            .await?;
            if reported(role) {
                let old = serde_json::json!({"role": role});
                record(
                    tx.as_mut(),
                    org,
                    &now_text,
                    "remove",
                    role,
                    user,
                    Some(old),
                    None,
                )
                .await?;
                applied.lost.push((role.clone(), user.clone()));
            }
        }
        tx.commit().await?;
        Ok(applied)
    }
}

/// The rows of `user_roles` (as last applied), by role, then login.
pub(crate) async fn user_roles(
    conn: &mut dyn Sql,
    org: OrgId,
    filter: &RoleFilter,
) -> Result<Vec<UserRole>> {
    let mut sql = "SELECT role, user_id, login, via, via_id, via_name FROM user_roles \
                   WHERE org_id = $1"
        .to_owned();
    let mut args = vec![Arg::from(org)];
    if let Some(role) = &filter.role {
        args.push(role.into());
        sql.push_str(&format!(" AND role = ${}", args.len()));
    }
    if let Some(user) = &filter.user_id {
        args.push(user.into());
        sql.push_str(&format!(" AND user_id = ${}", args.len()));
    }
    sql.push_str(" ORDER BY role, login, user_id, via, via_id");
    conn.fetch_all(&sql, &args)
        .await?
        .iter()
        .map(|row| row.decode())
        .collect()
}

/// A role gained (`add`) or lost (`remove`) in the change log.
#[allow(clippy::too_many_arguments)]
async fn record(
    conn: &mut dyn Sql,
    org: OrgId,
    now: &str,
    op: &str,
    role: &str,
    user: &str,
    old: Option<serde_json::Value>,
    new: Option<serde_json::Value>,
) -> Result<()> {
    let entry = LogEntry {
        user_id: Some(user.to_owned()),
        old,
        new,
        ..LogEntry::own(
            org,
            now,
            "roles",
            "user_roles",
            format!("{role}/{user}"),
            op,
        )
    };
    log_entry(conn, entry).await
}
