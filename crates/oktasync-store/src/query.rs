//! Read-side queries the `oktasync` CLI asks of a SQLite mirror.
//!
//! Each function reads one org's rows through the views in the schema (`user_groups`,
//! `app_access`, `admins`) where one fits, so the CLI answers exactly what `SCHEMA.md` tells
//! `sqlite3` users to ask.

use crate::error::Result;
use crate::sqlite::SqliteStore;
use crate::types::{OrgId, Table};
use serde::Serialize;
use serde_json::Value;
use sqlx::{AssertSqlSafe, Row, ValueRef};

/// A user as listed.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub status: Option<String>,
    pub login: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub department: Option<String>,
    pub title: Option<String>,
    pub last_login: Option<String>,
    pub last_updated: Option<String>,
}

const USER_COLUMNS: &str = "u.id, u.status, u.login, u.email, u.first_name, u.last_name, \
     u.department, u.title, u.last_login, u.last_updated";

/// Filters of `oktasync users`; empty or `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct UserFilter {
    /// Any of these statuses (ACTIVE, DEPROVISIONED, ...), case-insensitive.
    pub statuses: Vec<String>,
    /// Members of the group with this id.
    pub group_id: Option<String>,
    /// Department, case-insensitive (Unicode: `BJÖRN` matches `Björn`).
    pub department: Option<String>,
    /// Substring of login, email, first, last or display name, case-insensitive (Unicode).
    pub search: Option<String>,
}

/// A user row with the name the search also looks at.
#[derive(sqlx::FromRow)]
struct SearchableUser {
    #[sqlx(flatten)]
    user: UserRow,
    display_name: Option<String>,
}

/// Does `haystack` contain `needle` (already lower-cased), ignoring case beyond ASCII?
/// SQLite's `LIKE` and `LOWER` fold ASCII only, so text filters run here.
fn contains_folded(haystack: Option<&str>, needle: &str) -> bool {
    haystack.is_some_and(|h| h.to_lowercase().contains(needle))
}

/// Users matching `filter`, ordered by login.
pub async fn users(store: &SqliteStore, org: OrgId, filter: &UserFilter) -> Result<Vec<UserRow>> {
    const SQL: &str = "SELECT u.id, u.status, u.login, u.email, u.first_name, u.last_name, \
         u.department, u.title, u.last_login, u.last_updated, u.display_name \
         FROM users u \
         WHERE u.org_id = ?1 \
           AND (?2 = '[]' OR UPPER(u.status) IN (SELECT UPPER(value) FROM json_each(?2))) \
           AND (?3 IS NULL OR EXISTS ( \
                SELECT 1 FROM group_members m \
                WHERE m.org_id = u.org_id AND m.user_id = u.id AND m.group_id = ?3)) \
         ORDER BY u.login, u.id";
    let rows = sqlx::query_as::<_, SearchableUser>(SQL)
        .bind(org.0)
        .bind(serde_json::to_string(&filter.statuses)?)
        .bind(filter.group_id.as_deref())
        .fetch_all(store.pool())
        .await?;
    let department = filter.department.as_deref().map(str::to_lowercase);
    let search = filter.search.as_deref().map(str::to_lowercase);
    Ok(rows
        .into_iter()
        .filter(|r| {
            department.as_deref().is_none_or(|d| {
                r.user
                    .department
                    .as_deref()
                    .map(str::to_lowercase)
                    .as_deref()
                    == Some(d)
            })
        })
        .filter(|r| {
            search.as_deref().is_none_or(|s| {
                [
                    r.user.login.as_deref(),
                    r.user.email.as_deref(),
                    r.user.first_name.as_deref(),
                    r.user.last_name.as_deref(),
                    r.display_name.as_deref(),
                ]
                .into_iter()
                .any(|field| contains_folded(field, s))
            })
        })
        .map(|r| r.user)
        .collect())
}

/// A group a user belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct UserGroup {
    pub group_id: String,
    pub group_name: Option<String>,
    pub group_type: Option<String>,
}

/// One way a user reaches an app: `via` DIRECT, or GROUP through `via_group_*`.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AppAccess {
    pub app_id: String,
    pub app_label: Option<String>,
    pub user_id: String,
    pub login: Option<String>,
    pub via: String,
    pub via_group_id: Option<String>,
    pub via_group_name: Option<String>,
    /// The user's Okta status (a SUSPENDED or DEPROVISIONED user keeps assignments).
    pub user_status: Option<String>,
}

/// One admin role a user holds: `via` DIRECT, or GROUP through `via_group_*`.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AdminRole {
    pub user_id: String,
    pub login: Option<String>,
    pub role_type: Option<String>,
    pub role_label: Option<String>,
    pub assignment_id: String,
    /// The role assignment's status.
    pub status: Option<String>,
    pub via: String,
    pub via_group_id: Option<String>,
    pub via_group_name: Option<String>,
    /// The user's Okta status (a deactivated admin keeps the role on paper).
    pub user_status: Option<String>,
}

/// An MFA factor of a user.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct FactorRow {
    pub id: String,
    pub factor_type: Option<String>,
    pub provider: Option<String>,
    pub status: Option<String>,
}

/// Everything the mirror knows about one user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserDetail {
    #[serde(flatten)]
    pub user: UserRow,
    /// The Okta `profile` object as mirrored.
    pub profile: Value,
    pub groups: Vec<UserGroup>,
    /// Apps, one row per way in (direct, or via each assigned group).
    pub apps: Vec<AppAccess>,
    pub admin_roles: Vec<AdminRole>,
    pub factors: Vec<FactorRow>,
}

/// The user with this id, or else this login (case-insensitive).
pub async fn user(
    store: &SqliteStore,
    org: OrgId,
    id_or_login: &str,
) -> Result<Option<UserDetail>> {
    let pool = store.pool();
    let sql = format!(
        "SELECT {USER_COLUMNS}, u.raw FROM users u WHERE u.org_id = ?1 AND u.id = ?2 \
         UNION ALL \
         SELECT {USER_COLUMNS}, u.raw FROM users u WHERE u.org_id = ?1 AND LOWER(u.login) = LOWER(?2) \
         LIMIT 1"
    );
    let Some(row) = sqlx::query(AssertSqlSafe(sql))
        .bind(org.0)
        .bind(id_or_login)
        .fetch_optional(pool)
        .await?
    else {
        return Ok(None);
    };
    let user = <UserRow as sqlx::FromRow<_>>::from_row(&row)?;
    let raw: String = row.try_get("raw")?;
    let raw: Value = serde_json::from_str(&raw)?;
    let profile = raw.get("profile").cloned().unwrap_or(Value::Null);
    let groups = sqlx::query_as::<_, UserGroup>(
        "SELECT group_id, group_name, group_type FROM user_groups \
         WHERE org_id = ?1 AND user_id = ?2 ORDER BY group_name, group_id",
    )
    .bind(org.0)
    .bind(&user.id)
    .fetch_all(pool)
    .await?;
    let apps = sqlx::query_as::<_, AppAccess>(
        "SELECT app_id, app_label, user_id, login, via, via_group_id, via_group_name, \
         user_status FROM app_access WHERE org_id = ?1 AND user_id = ?2 \
         ORDER BY app_label, app_id, via DESC, via_group_name",
    )
    .bind(org.0)
    .bind(&user.id)
    .fetch_all(pool)
    .await?;
    let admin_roles = sqlx::query_as::<_, AdminRole>(
        "SELECT user_id, login, role_type, role_label, assignment_id, status, via, via_group_id, \
         via_group_name, user_status FROM admins WHERE org_id = ?1 AND user_id = ?2 \
         ORDER BY role_type, via DESC, via_group_name",
    )
    .bind(org.0)
    .bind(&user.id)
    .fetch_all(pool)
    .await?;
    let factors = sqlx::query_as::<_, FactorRow>(
        "SELECT id, factor_type, provider, status FROM factors \
         WHERE org_id = ?1 AND user_id = ?2 ORDER BY factor_type, id",
    )
    .bind(org.0)
    .bind(&user.id)
    .fetch_all(pool)
    .await?;
    Ok(Some(UserDetail {
        user,
        profile,
        groups,
        apps,
        admin_roles,
        factors,
    }))
}

/// A group as listed, with its member count in the mirror.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct GroupRow {
    pub id: String,
    pub name: Option<String>,
    #[serde(rename = "type")]
    #[sqlx(rename = "type")]
    pub group_type: Option<String>,
    pub description: Option<String>,
    pub members: i64,
    pub last_updated: Option<String>,
    pub last_membership_updated: Option<String>,
}

const GROUP_SELECT: &str = "SELECT g.id, g.name, g.type, g.description, \
     (SELECT COUNT(*) FROM group_members m WHERE m.org_id = g.org_id AND m.group_id = g.id) \
       AS members, g.last_updated, g.last_membership_updated FROM groups g";

/// Every group, ordered by name.
pub async fn groups(store: &SqliteStore, org: OrgId) -> Result<Vec<GroupRow>> {
    let sql = format!("{GROUP_SELECT} WHERE g.org_id = ?1 ORDER BY g.name, g.id");
    Ok(sqlx::query_as::<_, GroupRow>(AssertSqlSafe(sql))
        .bind(org.0)
        .fetch_all(store.pool())
        .await?)
}

/// An app a group is assigned to.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct GroupApp {
    pub app_id: String,
    pub app_label: Option<String>,
    pub priority: Option<i64>,
}

/// A role granted to a group (its members hold it).
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct GroupRole {
    pub assignment_id: String,
    pub role_type: Option<String>,
    pub role_label: Option<String>,
    pub status: Option<String>,
}

/// One group with its members, apps and roles.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupDetail {
    #[serde(flatten)]
    pub group: GroupRow,
    pub member_users: Vec<UserRow>,
    pub apps: Vec<GroupApp>,
    pub roles: Vec<GroupRole>,
}

/// The group with this id, or else this exact name (then case-insensitive).
pub async fn group(
    store: &SqliteStore,
    org: OrgId,
    id_or_name: &str,
) -> Result<Option<GroupDetail>> {
    let pool = store.pool();
    let sql = format!(
        "SELECT * FROM ( \
           {GROUP_SELECT} WHERE g.org_id = ?1 AND g.id = ?2 \
           UNION ALL {GROUP_SELECT} WHERE g.org_id = ?1 AND g.name = ?2 \
           UNION ALL {GROUP_SELECT} WHERE g.org_id = ?1 AND LOWER(g.name) = LOWER(?2)) \
         LIMIT 1"
    );
    let Some(group) = sqlx::query_as::<_, GroupRow>(AssertSqlSafe(sql))
        .bind(org.0)
        .bind(id_or_name)
        .fetch_optional(pool)
        .await?
    else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM group_members m \
         JOIN users u ON u.org_id = m.org_id AND u.id = m.user_id \
         WHERE m.org_id = ?1 AND m.group_id = ?2 ORDER BY u.login, u.id"
    );
    let member_users = sqlx::query_as::<_, UserRow>(AssertSqlSafe(sql))
        .bind(org.0)
        .bind(&group.id)
        .fetch_all(pool)
        .await?;
    let apps = sqlx::query_as::<_, GroupApp>(
        "SELECT ag.app_id, a.label AS app_label, ag.priority FROM app_groups ag \
         LEFT JOIN apps a ON a.org_id = ag.org_id AND a.id = ag.app_id \
         WHERE ag.org_id = ?1 AND ag.group_id = ?2 ORDER BY a.label, ag.app_id",
    )
    .bind(org.0)
    .bind(&group.id)
    .fetch_all(pool)
    .await?;
    let roles = sqlx::query_as::<_, GroupRole>(
        "SELECT id AS assignment_id, role_type, label AS role_label, status \
         FROM role_assignments WHERE org_id = ?1 AND assignee_type = 'GROUP' \
         AND assignee_id = ?2 ORDER BY role_type, id",
    )
    .bind(org.0)
    .bind(&group.id)
    .fetch_all(pool)
    .await?;
    Ok(Some(GroupDetail {
        group,
        member_users,
        apps,
        roles,
    }))
}

/// An app as listed, with how many users can use it and how many groups are assigned.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AppRow {
    pub id: String,
    pub name: Option<String>,
    pub label: Option<String>,
    pub status: Option<String>,
    pub sign_on_mode: Option<String>,
    /// App users (directly or through a group), as Okta lists them.
    pub users: i64,
    /// Groups assigned to the app.
    pub groups: i64,
    pub last_updated: Option<String>,
}

const APP_SELECT: &str = "SELECT a.id, a.name, a.label, a.status, a.sign_on_mode, \
     (SELECT COUNT(*) FROM app_users au WHERE au.org_id = a.org_id AND au.app_id = a.id) AS users, \
     (SELECT COUNT(*) FROM app_groups ag WHERE ag.org_id = a.org_id AND ag.app_id = a.id) AS groups, \
     a.last_updated FROM apps a";

/// Every app, ordered by label.
pub async fn apps(store: &SqliteStore, org: OrgId) -> Result<Vec<AppRow>> {
    let sql = format!("{APP_SELECT} WHERE a.org_id = ?1 ORDER BY a.label, a.id");
    Ok(sqlx::query_as::<_, AppRow>(AssertSqlSafe(sql))
        .bind(org.0)
        .fetch_all(store.pool())
        .await?)
}

/// A group assigned to an app.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow)]
pub struct AppGroup {
    pub group_id: String,
    pub group_name: Option<String>,
    pub priority: Option<i64>,
    pub members: i64,
}

/// One app and who has access to it, and through what.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppDetail {
    #[serde(flatten)]
    pub app: AppRow,
    pub assigned_groups: Vec<AppGroup>,
    /// One row per (user, way in): DIRECT, or GROUP via the named group.
    pub access: Vec<AppAccess>,
}

/// The app with this id, or else this label (exact, then case-insensitive).
pub async fn app(store: &SqliteStore, org: OrgId, id_or_label: &str) -> Result<Option<AppDetail>> {
    let pool = store.pool();
    let sql = format!(
        "SELECT * FROM ( \
           {APP_SELECT} WHERE a.org_id = ?1 AND a.id = ?2 \
           UNION ALL {APP_SELECT} WHERE a.org_id = ?1 AND a.label = ?2 \
           UNION ALL {APP_SELECT} WHERE a.org_id = ?1 AND LOWER(a.label) = LOWER(?2)) \
         LIMIT 1"
    );
    let Some(app) = sqlx::query_as::<_, AppRow>(AssertSqlSafe(sql))
        .bind(org.0)
        .bind(id_or_label)
        .fetch_optional(pool)
        .await?
    else {
        return Ok(None);
    };
    let assigned_groups = sqlx::query_as::<_, AppGroup>(
        "SELECT ag.group_id, g.name AS group_name, ag.priority, \
         (SELECT COUNT(*) FROM group_members m WHERE m.org_id = ag.org_id \
          AND m.group_id = ag.group_id) AS members \
         FROM app_groups ag LEFT JOIN groups g ON g.org_id = ag.org_id AND g.id = ag.group_id \
         WHERE ag.org_id = ?1 AND ag.app_id = ?2 ORDER BY ag.priority, g.name, ag.group_id",
    )
    .bind(org.0)
    .bind(&app.id)
    .fetch_all(pool)
    .await?;
    let access = sqlx::query_as::<_, AppAccess>(
        "SELECT app_id, app_label, user_id, login, via, via_group_id, via_group_name, \
         user_status FROM app_access WHERE org_id = ?1 AND app_id = ?2 \
         ORDER BY login, user_id, via DESC, via_group_name",
    )
    .bind(org.0)
    .bind(&app.id)
    .fetch_all(pool)
    .await?;
    Ok(Some(AppDetail {
        app,
        assigned_groups,
        access,
    }))
}

/// Every admin role held, directly or through a group, ordered by login then role.
pub async fn admins(store: &SqliteStore, org: OrgId) -> Result<Vec<AdminRole>> {
    Ok(sqlx::query_as::<_, AdminRole>(
        "SELECT user_id, login, role_type, role_label, assignment_id, status, via, via_group_id, \
         via_group_name, user_status FROM admins WHERE org_id = ?1 \
         ORDER BY login, user_id, role_type, via DESC, via_group_name",
    )
    .bind(org.0)
    .fetch_all(store.pool())
    .await?)
}

/// Users by id as the mirror has them now, ordered by login; ids it does not hold are left out.
pub async fn users_by_id(store: &SqliteStore, org: OrgId, ids: &[String]) -> Result<Vec<UserRow>> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.org_id = ?1 \
         AND u.id IN (SELECT value FROM json_each(?2)) ORDER BY u.login, u.id"
    );
    Ok(sqlx::query_as::<_, UserRow>(AssertSqlSafe(sql))
        .bind(org.0)
        .bind(serde_json::to_string(ids)?)
        .fetch_all(store.pool())
        .await?)
}

/// Names and types of the groups with these ids that the mirror holds, by id.
pub async fn groups_by_id(
    store: &SqliteStore,
    org: OrgId,
    ids: &[String],
) -> Result<std::collections::HashMap<String, UserGroup>> {
    let rows = sqlx::query_as::<_, UserGroup>(
        "SELECT id AS group_id, name AS group_name, type AS group_type FROM groups \
         WHERE org_id = ?1 AND id IN (SELECT value FROM json_each(?2))",
    )
    .bind(org.0)
    .bind(serde_json::to_string(ids)?)
    .fetch_all(store.pool())
    .await?;
    Ok(rows.into_iter().map(|g| (g.group_id.clone(), g)).collect())
}

/// Labels of the apps with these ids that the mirror holds, by id.
pub async fn app_labels(
    store: &SqliteStore,
    org: OrgId,
    ids: &[String],
) -> Result<std::collections::HashMap<String, Option<String>>> {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "SELECT id, label FROM apps WHERE org_id = ?1 AND id IN (SELECT value FROM json_each(?2))",
    )
    .bind(org.0)
    .bind(serde_json::to_string(ids)?)
    .fetch_all(store.pool())
    .await?;
    Ok(rows.into_iter().collect())
}

/// The typed columns of one table for one org (everything but `org_id` and `raw`), as text,
/// in key order: the rows of `oktasync export --format csv`.
pub async fn table_rows(
    store: &SqliteStore,
    org: OrgId,
    table: Table,
) -> Result<(Vec<String>, Vec<Vec<Option<String>>>)> {
    let name = table.as_str();
    let columns: Vec<String> = sqlx::query(AssertSqlSafe(format!(
        "SELECT name FROM pragma_table_info('{name}') ORDER BY cid"
    )))
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(|r| r.try_get::<String, _>(0))
    .collect::<std::result::Result<_, _>>()?;
    let keys: Vec<String> = sqlx::query(AssertSqlSafe(format!(
        "SELECT name FROM pragma_table_info('{name}') WHERE pk > 0 ORDER BY pk"
    )))
    .fetch_all(store.pool())
    .await?
    .iter()
    .map(|r| r.try_get::<String, _>(0))
    .collect::<std::result::Result<_, _>>()?;
    let wanted: Vec<String> = columns
        .into_iter()
        .filter(|c| c != "org_id" && c != "raw")
        .collect();
    let sql = format!(
        "SELECT {} FROM {name} WHERE org_id = ?1 ORDER BY {}",
        wanted
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", "),
        keys.iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let rows = sqlx::query(AssertSqlSafe(sql))
        .bind(org.0)
        .fetch_all(store.pool())
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let mut cells = Vec::with_capacity(wanted.len());
        for i in 0..row.columns().len() {
            let raw = row.try_get_raw(i)?;
            let cell = if raw.is_null() {
                None
            } else if let Ok(text) = row.try_get::<String, _>(i) {
                Some(text)
            } else if let Ok(n) = row.try_get::<i64, _>(i) {
                Some(n.to_string())
            } else {
                Some(row.try_get::<f64, _>(i)?.to_string())
            };
            cells.push(cell);
        }
        out.push(cells);
    }
    Ok((wanted, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_filters_fold_case_beyond_ascii() {
        assert!(contains_folded(
            Some("Björn Smith"),
            &"BJÖRN".to_lowercase()
        ));
        assert!(contains_folded(Some("ÉLODIE"), "élo"));
        assert!(!contains_folded(None, "x"));
    }
}
