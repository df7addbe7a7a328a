//! Read-side queries the `oktasync` CLI asks of a mirror, the same SQL on both backends.
//!
//! Each function reads one org's rows through the views in the schema (`user_groups`,
//! `app_access`, `admins`) where one fits, so the CLI answers exactly what `SCHEMA.md` tells
//! `sqlite3` and `psql` users to ask. Sorted columns that may be NULL say where NULLs go
//! (first, as SQLite puts them), so that both backends list in the same order.

use crate::error::Result;
use crate::schema;
use crate::sql::{Arg, Sql, args};
use crate::types::{OrgId, Table};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A user as listed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// Only users whose Okta `lastUpdated` is at or after this time (Okta's form,
    /// `2024-05-01T12:00:00.000Z`).
    pub updated_since: Option<String>,
}

/// A user row with the name the search also looks at.
#[derive(Deserialize)]
struct SearchableUser {
    #[serde(flatten)]
    user: UserRow,
    display_name: Option<String>,
}

/// Does `haystack` contain `needle` (already lower-cased), ignoring case beyond ASCII?
/// SQLite's `LIKE` and `LOWER` fold ASCII only, so text filters run here.
fn contains_folded(haystack: Option<&str>, needle: &str) -> bool {
    haystack.is_some_and(|h| h.to_lowercase().contains(needle))
}

/// Users matching `filter`, ordered by login.
pub(crate) async fn users(
    conn: &mut dyn Sql,
    org: OrgId,
    filter: &UserFilter,
) -> Result<Vec<UserRow>> {
    let rows = select_users(conn, org, filter, UserOrder::Login).await?;
    let matches = UserMatcher::new(filter);
    Ok(rows
        .into_iter()
        .filter(|r| matches.test(r))
        .map(|r| r.user)
        .collect())
}

/// Rows read per statement while filling a page of users, so that a filter SQL cannot
/// evaluate (Unicode search) does not make one page read the whole table at once.
const USER_PAGE_CHUNK: u32 = 1000;

/// Whether [`users_page`] reads with one statement (then it needs no transaction to read
/// one snapshot): no filter left for Rust to test, and one chunk enough.
pub(crate) fn users_page_is_one_statement(filter: &UserFilter, limit: u32) -> bool {
    UserMatcher::new(filter).is_none() && limit <= USER_PAGE_CHUNK
}

/// Up to `limit` users matching `filter`, in id order, after the user with id `after`:
/// keyset paging, so the next page continues after the last id whatever committed between
/// the two. Read in one snapshot when `conn` is a read transaction.
pub(crate) async fn users_page(
    conn: &mut dyn Sql,
    org: OrgId,
    filter: &UserFilter,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<UserRow>> {
    let matches = UserMatcher::new(filter);
    let mut page = Vec::new();
    let mut cursor = after.map(str::to_owned);
    let chunk = limit.clamp(1, USER_PAGE_CHUNK);
    while page.len() < limit as usize {
        let rows = select_users(
            conn,
            org,
            filter,
            UserOrder::IdAfter(cursor.as_deref(), chunk),
        )
        .await?;
        let exhausted = rows.len() < chunk as usize;
        cursor = rows.last().map(|r| r.user.id.clone());
        for row in rows {
            if page.len() < limit as usize && matches.test(&row) {
                page.push(row.user);
            }
        }
        if exhausted {
            break;
        }
    }
    Ok(page)
}

/// How [`select_users`] orders, and where it starts.
enum UserOrder<'a> {
    /// By login (the CLI's listing), all rows.
    Login,
    /// By id, after this id, at most this many.
    IdAfter(Option<&'a str>, u32),
}

/// Users matching the filters SQL can evaluate on both backends alike (status, group,
/// `last_updated`); the rest is [`UserMatcher`]'s.
async fn select_users(
    conn: &mut dyn Sql,
    org: OrgId,
    filter: &UserFilter,
    order: UserOrder<'_>,
) -> Result<Vec<SearchableUser>> {
    // Only the conditions given are written out: `($n IS NULL OR ...)` would keep SQLite
    // from using the key's index for the page's range, and a deep page would read every row
    // before it.
    let mut sql = String::from(
        "SELECT u.id, u.status, u.login, u.email, u.first_name, u.last_name, \
         u.department, u.title, u.last_login, u.last_updated, u.display_name \
         FROM users u WHERE u.org_id = $1",
    );
    let mut args = vec![Arg::from(org)];
    if !filter.statuses.is_empty() {
        args.push(serde_json::to_string(&filter.statuses)?.into());
        let list = conn.dialect().text_list(&format!("${}", args.len()));
        sql.push_str(&format!(
            " AND UPPER(u.status) IN (SELECT UPPER(value) FROM {list})"
        ));
    }
    if let Some(group_id) = &filter.group_id {
        args.push(group_id.into());
        sql.push_str(&format!(
            " AND EXISTS (SELECT 1 FROM group_members m \
               WHERE m.org_id = u.org_id AND m.user_id = u.id AND m.group_id = ${})",
            args.len()
        ));
    }
    if let Some(since) = &filter.updated_since {
        args.push(since.into());
        sql.push_str(&format!(" AND u.last_updated >= ${}", args.len()));
    }
    match order {
        UserOrder::Login => sql.push_str(" ORDER BY u.login NULLS FIRST, u.id"),
        UserOrder::IdAfter(after, limit) => {
            if let Some(after) = after {
                args.push(after.into());
                sql.push_str(&format!(" AND u.id > ${}", args.len()));
            }
            sql.push_str(&format!(" ORDER BY u.id LIMIT {limit}"));
        }
    }
    conn.fetch_all(&sql, &args)
        .await?
        .iter()
        .map(|r| r.decode::<SearchableUser>())
        .collect()
}

/// The filters of [`UserFilter`] that fold case beyond ASCII, evaluated here.
struct UserMatcher {
    department: Option<String>,
    search: Option<String>,
}

impl UserMatcher {
    fn new(filter: &UserFilter) -> Self {
        Self {
            department: filter.department.as_deref().map(str::to_lowercase),
            search: filter.search.as_deref().map(str::to_lowercase),
        }
    }

    /// Whether every row passes.
    fn is_none(&self) -> bool {
        self.department.is_none() && self.search.is_none()
    }

    fn test(&self, r: &SearchableUser) -> bool {
        let department = self.department.as_deref().is_none_or(|d| {
            r.user
                .department
                .as_deref()
                .map(str::to_lowercase)
                .as_deref()
                == Some(d)
        });
        department
            && self.search.as_deref().is_none_or(|s| {
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
    }
}

/// A group a user belongs to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserGroup {
    pub group_id: String,
    pub group_name: Option<String>,
    pub group_type: Option<String>,
}

/// One way a user reaches an app: `via` DIRECT, or GROUP through `via_group_*`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FactorRow {
    pub id: String,
    pub factor_type: Option<String>,
    pub provider: Option<String>,
    pub status: Option<String>,
}

/// Everything the mirror knows about one user.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
    /// The configured roles (`[[roles]]`) the user holds, one row per way, as last applied.
    pub roles: Vec<crate::UserRole>,
}

/// Rows of a statement, each read by its column names.
async fn decoded<T: serde::de::DeserializeOwned>(
    conn: &mut dyn Sql,
    sql: &str,
    args: &[crate::sql::Arg],
) -> Result<Vec<T>> {
    conn.fetch_all(sql, args)
        .await?
        .iter()
        .map(|r| r.decode())
        .collect()
}

/// The user with this id, or else this login (case-insensitive).
pub(crate) async fn user(
    conn: &mut dyn Sql,
    org: OrgId,
    id_or_login: &str,
) -> Result<Option<UserDetail>> {
    // By id first (the key's index); only then by login, which folds case and so reads
    // every login of the org.
    let by_id =
        format!("SELECT {USER_COLUMNS}, u.raw FROM users u WHERE u.org_id = $1 AND u.id = $2");
    let row = match conn.fetch_optional(&by_id, args![org, id_or_login]).await? {
        Some(row) => row,
        None => {
            let d = conn.dialect();
            let by_login = format!(
                "SELECT {USER_COLUMNS}, u.raw FROM users u \
                 WHERE u.org_id = $1 AND {} = {} ORDER BY u.id LIMIT 1",
                d.lower_ascii("u.login"),
                d.lower_ascii("$2")
            );
            match conn
                .fetch_optional(&by_login, args![org, id_or_login])
                .await?
            {
                Some(row) => row,
                None => return Ok(None),
            }
        }
    };
    let user: UserRow = row.decode()?;
    let raw: String = row.get_named("raw")?;
    let raw: Value = serde_json::from_str(&raw)?;
    let profile = raw.get("profile").cloned().unwrap_or(Value::Null);
    let groups = decoded(
        conn,
        // From the user's memberships (group_members_user), not through the view: sorted by
        // name there, SQLite would walk every group of the org by its name index instead.
        "SELECT m.group_id, g.name AS group_name, g.type AS group_type \
         FROM group_members m JOIN groups g ON g.org_id = m.org_id AND g.id = m.group_id \
         WHERE m.org_id = $1 AND m.user_id = $2 \
         ORDER BY COALESCE(g.name, ''), m.group_id",
        args![org, &user.id],
    )
    .await?;
    let apps = decoded(
        conn,
        "SELECT app_id, app_label, user_id, login, via, via_group_id, via_group_name, \
         user_status FROM app_access WHERE org_id = $1 AND user_id = $2 \
         ORDER BY app_label NULLS FIRST, app_id, via DESC, via_group_name NULLS FIRST",
        args![org, &user.id],
    )
    .await?;
    let admin_roles = decoded(
        conn,
        "SELECT user_id, login, role_type, role_label, assignment_id, status, via, via_group_id, \
         via_group_name, user_status FROM admins WHERE org_id = $1 AND user_id = $2 \
         ORDER BY role_type NULLS FIRST, via DESC, via_group_name NULLS FIRST, assignment_id",
        args![org, &user.id],
    )
    .await?;
    let factors = decoded(
        conn,
        "SELECT id, factor_type, provider, status FROM factors \
         WHERE org_id = $1 AND user_id = $2 ORDER BY factor_type NULLS FIRST, id",
        args![org, &user.id],
    )
    .await?;
    let filter = crate::RoleFilter {
        user_id: Some(user.id.clone()),
        ..Default::default()
    };
    let roles = crate::roles::user_roles(conn, org, &filter).await?;
    Ok(Some(UserDetail {
        user,
        profile,
        groups,
        apps,
        admin_roles,
        factors,
        roles,
    }))
}

/// A group as listed, with its member count in the mirror.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupRow {
    pub id: String,
    pub name: Option<String>,
    #[serde(rename = "type")]
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
pub(crate) async fn groups(conn: &mut dyn Sql, org: OrgId) -> Result<Vec<GroupRow>> {
    let sql = format!("{GROUP_SELECT} WHERE g.org_id = $1 ORDER BY g.name NULLS FIRST, g.id");
    decoded(conn, &sql, args![org]).await
}

/// Filters of a page of groups; `None` means "any".
#[derive(Debug, Clone, Default)]
pub struct GroupFilter {
    /// Part of the name, case-insensitive (Unicode).
    pub search: Option<String>,
    /// The group's type as Okta spells it (`OKTA_GROUP`, `APP_GROUP`, `BUILT_IN`),
    /// case-insensitive.
    pub group_type: Option<String>,
    /// Only the groups assigned to the app with this id.
    pub app_id: Option<String>,
}

/// Groups read per statement while a page is filled (the name search is tested here).
const GROUP_PAGE_CHUNK: u32 = 1000;

/// Up to `limit` groups matching `filter`, in id order, after the group with id `after`;
/// member counts only for the groups of the page. Keyset paging as [`users_page`].
pub(crate) async fn groups_page(
    conn: &mut dyn Sql,
    org: OrgId,
    filter: &GroupFilter,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<GroupRow>> {
    let search = filter.search.as_deref().map(str::to_lowercase);
    let chunk = limit.clamp(1, GROUP_PAGE_CHUNK);
    let mut page = Vec::new();
    let mut cursor = after.map(str::to_owned);
    while page.len() < limit as usize {
        let mut sql = format!("{GROUP_SELECT} WHERE g.org_id = $1");
        let mut args = vec![Arg::from(org)];
        if let Some(group_type) = &filter.group_type {
            args.push(group_type.to_ascii_uppercase().into());
            sql.push_str(&format!(" AND UPPER(g.type) = ${}", args.len()));
        }
        if let Some(app_id) = &filter.app_id {
            args.push(app_id.into());
            sql.push_str(&format!(
                " AND EXISTS (SELECT 1 FROM app_groups ag \
                   WHERE ag.org_id = g.org_id AND ag.group_id = g.id AND ag.app_id = ${})",
                args.len()
            ));
        }
        if let Some(after) = &cursor {
            args.push(after.into());
            sql.push_str(&format!(" AND g.id > ${}", args.len()));
        }
        sql.push_str(&format!(" ORDER BY g.id LIMIT {chunk}"));
        let rows: Vec<GroupRow> = decoded(conn, &sql, &args).await?;
        let exhausted = rows.len() < chunk as usize;
        cursor = rows.last().map(|g| g.id.clone());
        page.extend(
            rows.into_iter()
                .filter(|g| {
                    search.as_deref().is_none_or(|s| {
                        g.name
                            .as_deref()
                            .is_some_and(|n| n.to_lowercase().contains(s))
                    })
                })
                .take(limit as usize - page.len()),
        );
        if exhausted {
            break;
        }
    }
    Ok(page)
}

/// An app a group is assigned to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupApp {
    pub app_id: String,
    pub app_label: Option<String>,
    pub priority: Option<i64>,
}

/// A role granted to a group (its members hold it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupRole {
    pub assignment_id: String,
    pub role_type: Option<String>,
    pub role_label: Option<String>,
    pub status: Option<String>,
}

/// One group with its members, apps and roles.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupDetail {
    #[serde(flatten)]
    pub group: GroupRow,
    pub member_users: Vec<UserRow>,
    pub apps: Vec<GroupApp>,
    pub roles: Vec<GroupRole>,
}

/// A group with the apps it is assigned to and the admin roles it grants (not its members:
/// a group may have a hundred thousand; they are their own list).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupSummary {
    #[serde(flatten)]
    pub group: GroupRow,
    pub apps: Vec<GroupApp>,
    pub roles: Vec<GroupRole>,
}

/// The statement finding one row of `select` (whose table is `alias`) of org `$1` by `$2`:
/// its id, else this exact `name`, else the name in any ASCII letter case; the first by id.
fn by_id_or_name(d: &dyn crate::sql::Dialect, select: &str, alias: &str, name: &str) -> String {
    let column = format!("{alias}.{name}");
    format!(
        "SELECT * FROM ( \
           SELECT 1 AS found_by, found.* FROM ({select} WHERE {alias}.org_id = $1 AND {alias}.id = $2) AS found \
           UNION ALL SELECT 2, found.* FROM ({select} WHERE {alias}.org_id = $1 AND {column} = $2) AS found \
           UNION ALL SELECT 3, found.* FROM ({select} \
             WHERE {alias}.org_id = $1 AND {} = {}) AS found) AS candidates \
         ORDER BY found_by, id LIMIT 1",
        d.lower_ascii(&column),
        d.lower_ascii("$2")
    )
}

/// The group with this id, or else this exact name (then case-insensitive).
pub(crate) async fn find_group(
    conn: &mut dyn Sql,
    org: OrgId,
    id_or_name: &str,
) -> Result<Option<GroupRow>> {
    let sql = by_id_or_name(conn.dialect(), GROUP_SELECT, "g", "name");
    conn.fetch_optional(&sql, args![org, id_or_name])
        .await?
        .map(|row| row.decode())
        .transpose()
}

/// The group with this id or name, with its apps and roles.
pub(crate) async fn group_summary(
    conn: &mut dyn Sql,
    org: OrgId,
    id_or_name: &str,
) -> Result<Option<GroupSummary>> {
    let Some(group) = find_group(conn, org, id_or_name).await? else {
        return Ok(None);
    };
    let apps = decoded(
        conn,
        "SELECT ag.app_id, a.label AS app_label, ag.priority FROM app_groups ag \
         LEFT JOIN apps a ON a.org_id = ag.org_id AND a.id = ag.app_id \
         WHERE ag.org_id = $1 AND ag.group_id = $2 ORDER BY a.label NULLS FIRST, ag.app_id",
        args![org, &group.id],
    )
    .await?;
    let roles = decoded(
        conn,
        "SELECT id AS assignment_id, role_type, label AS role_label, status \
         FROM role_assignments WHERE org_id = $1 AND assignee_type = 'GROUP' \
         AND assignee_id = $2 ORDER BY role_type NULLS FIRST, id",
        args![org, &group.id],
    )
    .await?;
    Ok(Some(GroupSummary { group, apps, roles }))
}

/// The group with this id or name, with its members, apps and roles.
pub(crate) async fn group(
    conn: &mut dyn Sql,
    org: OrgId,
    id_or_name: &str,
) -> Result<Option<GroupDetail>> {
    let Some(GroupSummary { group, apps, roles }) = group_summary(conn, org, id_or_name).await?
    else {
        return Ok(None);
    };
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM group_members m \
         JOIN users u ON u.org_id = m.org_id AND u.id = m.user_id \
         WHERE m.org_id = $1 AND m.group_id = $2 ORDER BY u.login NULLS FIRST, u.id"
    );
    let member_users = decoded(conn, &sql, args![org, &group.id]).await?;
    Ok(Some(GroupDetail {
        group,
        member_users,
        apps,
        roles,
    }))
}

/// An app as listed, with how many users can use it and how many groups are assigned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
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
pub(crate) async fn apps(conn: &mut dyn Sql, org: OrgId) -> Result<Vec<AppRow>> {
    let sql = format!("{APP_SELECT} WHERE a.org_id = $1 ORDER BY a.label NULLS FIRST, a.id");
    decoded(conn, &sql, args![org]).await
}

/// A group assigned to an app.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppGroup {
    pub group_id: String,
    pub group_name: Option<String>,
    pub priority: Option<i64>,
    pub members: i64,
}

/// One app and who has access to it, and through what.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppDetail {
    #[serde(flatten)]
    pub app: AppRow,
    pub assigned_groups: Vec<AppGroup>,
    /// One row per (user, way in): DIRECT, or GROUP via the named group.
    pub access: Vec<AppAccess>,
}

/// The app with this id, or else this exact label (then case-insensitive).
pub(crate) async fn find_app(
    conn: &mut dyn Sql,
    org: OrgId,
    id_or_label: &str,
) -> Result<Option<AppRow>> {
    let sql = by_id_or_name(conn.dialect(), APP_SELECT, "a", "label");
    conn.fetch_optional(&sql, args![org, id_or_label])
        .await?
        .map(|row| row.decode())
        .transpose()
}

/// The app with this id, or else this label (exact, then case-insensitive).
pub(crate) async fn app(
    conn: &mut dyn Sql,
    org: OrgId,
    id_or_label: &str,
) -> Result<Option<AppDetail>> {
    let Some(app) = find_app(conn, org, id_or_label).await? else {
        return Ok(None);
    };
    let assigned_groups = decoded(
        conn,
        "SELECT ag.group_id, g.name AS group_name, ag.priority, \
         (SELECT COUNT(*) FROM group_members m WHERE m.org_id = ag.org_id \
          AND m.group_id = ag.group_id) AS members \
         FROM app_groups ag LEFT JOIN groups g ON g.org_id = ag.org_id AND g.id = ag.group_id \
         WHERE ag.org_id = $1 AND ag.app_id = $2 \
         ORDER BY ag.priority NULLS FIRST, g.name NULLS FIRST, ag.group_id",
        args![org, &app.id],
    )
    .await?;
    let access = decoded(
        conn,
        "SELECT app_id, app_label, user_id, login, via, via_group_id, via_group_name, \
         user_status FROM app_access WHERE org_id = $1 AND app_id = $2 \
         ORDER BY login NULLS FIRST, user_id, via DESC, via_group_name NULLS FIRST",
        args![org, &app.id],
    )
    .await?;
    Ok(Some(AppDetail {
        app,
        assigned_groups,
        access,
    }))
}

/// Every admin role held, directly or through a group, ordered by login then role.
pub(crate) async fn admins(conn: &mut dyn Sql, org: OrgId) -> Result<Vec<AdminRole>> {
    decoded(
        conn,
        "SELECT user_id, login, role_type, role_label, assignment_id, status, via, via_group_id, \
         via_group_name, user_status FROM admins WHERE org_id = $1 \
         ORDER BY login NULLS FIRST, user_id, role_type NULLS FIRST, via DESC, \
         via_group_name NULLS FIRST, assignment_id",
        args![org],
    )
    .await
}

/// Users by id as the mirror has them now, ordered by login; ids it does not hold are left out.
pub(crate) async fn users_by_id(
    conn: &mut dyn Sql,
    org: OrgId,
    ids: &[String],
) -> Result<Vec<UserRow>> {
    let sql = format!(
        "SELECT {USER_COLUMNS} FROM users u WHERE u.org_id = $1 \
         AND u.id IN (SELECT value FROM {}) ORDER BY u.login NULLS FIRST, u.id",
        conn.dialect().text_list("$2")
    );
    decoded(conn, &sql, args![org, serde_json::to_string(ids)?]).await
}

/// Names and types of the groups with these ids that the mirror holds, by id.
pub(crate) async fn groups_by_id(
    conn: &mut dyn Sql,
    org: OrgId,
    ids: &[String],
) -> Result<std::collections::HashMap<String, UserGroup>> {
    let sql = format!(
        "SELECT id AS group_id, name AS group_name, type AS group_type FROM groups \
         WHERE org_id = $1 AND id IN (SELECT value FROM {})",
        conn.dialect().text_list("$2")
    );
    let rows: Vec<UserGroup> = decoded(conn, &sql, args![org, serde_json::to_string(ids)?]).await?;
    Ok(rows.into_iter().map(|g| (g.group_id.clone(), g)).collect())
}

/// Labels of the apps with these ids that the mirror holds, by id.
pub(crate) async fn app_labels(
    conn: &mut dyn Sql,
    org: OrgId,
    ids: &[String],
) -> Result<std::collections::HashMap<String, Option<String>>> {
    let sql = format!(
        "SELECT id, label FROM apps WHERE org_id = $1 AND id IN (SELECT value FROM {})",
        conn.dialect().text_list("$2")
    );
    conn.fetch_all(&sql, args![org, serde_json::to_string(ids)?])
        .await?
        .iter()
        .map(|r| Ok((r.get(0)?, r.get(1)?)))
        .collect()
}

/// The typed columns of one table for one org (everything but `org_id` and `raw`), as text,
/// in key order: the rows of `oktasync export --format csv`.
pub(crate) async fn table_rows(
    conn: &mut dyn Sql,
    org: OrgId,
    table: Table,
) -> Result<(Vec<String>, Vec<Vec<Option<String>>>)> {
    let spec = schema::spec(table);
    let wanted: Vec<String> = spec
        .column_names()
        .filter(|c| *c != "raw")
        .map(str::to_owned)
        .collect();
    let sql = format!(
        "SELECT {} FROM {} WHERE org_id = $1 ORDER BY {}",
        wanted
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", "),
        spec.name,
        spec.key()
            .map(|c| format!("\"{c}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let rows = conn.fetch_all(&sql, args![org]).await?;
    let out = rows
        .into_iter()
        .map(|row| row.values.into_iter().map(|v| v.into_text()).collect())
        .collect();
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
