//! A user or a group as of a past time, composed from the change log ([`MirrorReader::rows_at`])
//! and the mirror's present names: what `oktasync user U --at T`, `oktasync group G --at T` and
//! the REST API's `?at=T` answer.

use crate::error::Result;
use crate::history::Concern;
use crate::query::{UserGroup, UserRow};
use crate::reader::MirrorReader;
use crate::types::{OrgId, Table, timestamp};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;

/// A way a user reached an app at that time.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AppWayAsOf {
    pub app_id: String,
    pub app_label: Option<String>,
    /// `DIRECT`, or `GROUP` through `via_group_*`.
    pub via: String,
    pub via_group_id: Option<String>,
    pub via_group_name: Option<String>,
}

/// An admin role a user held at that time, and how.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleAsOf {
    pub role_type: String,
    pub via: String,
    pub via_group_id: Option<String>,
    pub via_group_name: Option<String>,
}

/// A user as of a time: groups, apps and how, admin roles and how. Names are today's
/// (`(deleted)` for a group gone since).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserAsOf {
    pub id: String,
    pub login: Option<String>,
    /// The time asked about.
    pub at: String,
    pub groups: Vec<UserGroup>,
    pub apps: Vec<AppWayAsOf>,
    pub admin_roles: Vec<RoleAsOf>,
}

/// An app a group was assigned to at that time.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupAppAsOf {
    pub app_id: String,
    pub app_label: Option<String>,
    pub priority: Option<i64>,
}

/// A role a group granted at that time.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupRoleAsOf {
    pub role_type: String,
    pub label: String,
    pub status: String,
    pub assignment_id: String,
}

/// A group as of a time: its members (as the mirror knows them now; those deleted since by
/// id only), apps and roles.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupAsOf {
    pub id: String,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub group_type: Option<String>,
    pub at: String,
    pub members: Vec<UserRow>,
    pub apps: Vec<GroupAppAsOf>,
    pub admin_roles: Vec<GroupRoleAsOf>,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("-").to_owned()
}

/// A member the mirror no longer holds: only the id is known.
fn gone_user(id: &str) -> UserRow {
    UserRow {
        id: id.to_owned(),
        status: None,
        login: Some("(deleted)".into()),
        email: None,
        first_name: None,
        last_name: None,
        department: None,
        title: None,
        last_login: None,
        last_updated: None,
    }
}

/// The user with this id as of `at`.
pub async fn user_as_of(
    store: &dyn MirrorReader,
    org: OrgId,
    user_id: &str,
    at: DateTime<Utc>,
) -> Result<UserAsOf> {
    let u = Concern::User(user_id);
    let group_ids: Vec<String> = store
        .rows_at(org, Table::GroupMembers, u, at)
        .await?
        .iter()
        .map(|r| text(r, "group_id"))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let groups = store.groups_by_id(org, &group_ids).await?;
    let group_name = |g: &str| -> Option<String> {
        match groups.get(g) {
            Some(row) => row.group_name.clone(),
            None => Some("(deleted)".into()),
        }
    };
    // Direct assignments, then the apps of each group held.
    let mut ways: Vec<(String, &'static str, Option<String>)> = store
        .rows_at(org, Table::AppUsers, u, at)
        .await?
        .iter()
        .filter(|au| text(au, "scope") == "USER")
        .map(|au| (text(au, "app_id"), "DIRECT", None))
        .collect();
    let mut roles: Vec<(String, &'static str, Option<String>)> = store
        .rows_at(org, Table::RoleAssignments, u, at)
        .await?
        .iter()
        .map(|r| (text(r, "role_type"), "DIRECT", None))
        .collect();
    for g in &group_ids {
        for a in store
            .rows_at(org, Table::AppGroups, Concern::Group(g), at)
            .await?
        {
            ways.push((text(&a, "app_id"), "GROUP", Some(g.clone())));
        }
        for r in store
            .rows_at(org, Table::RoleAssignments, Concern::Group(g), at)
            .await?
        {
            roles.push((text(&r, "role_type"), "GROUP", Some(g.clone())));
        }
    }
    let app_ids: Vec<String> = ways.iter().map(|w| w.0.clone()).collect();
    let labels = store.app_labels(org, &app_ids).await?;
    let login = store
        .users_by_id(org, &[user_id.to_owned()])
        .await?
        .into_iter()
        .next()
        .and_then(|u| u.login);
    Ok(UserAsOf {
        id: user_id.to_owned(),
        login,
        at: timestamp(at),
        groups: group_ids
            .iter()
            .map(|g| UserGroup {
                group_id: g.clone(),
                group_name: group_name(g),
                group_type: groups.get(g).and_then(|r| r.group_type.clone()),
            })
            .collect(),
        apps: ways
            .into_iter()
            .map(|(app_id, via, g)| AppWayAsOf {
                app_label: labels.get(&app_id).cloned().flatten(),
                app_id,
                via: via.to_owned(),
                via_group_name: g.as_deref().and_then(group_name),
                via_group_id: g,
            })
            .collect(),
        admin_roles: roles
            .into_iter()
            .map(|(role_type, via, g)| RoleAsOf {
                role_type,
                via: via.to_owned(),
                via_group_name: g.as_deref().and_then(group_name),
                via_group_id: g,
            })
            .collect(),
    })
}

/// The group with this id as of `at`.
pub async fn group_as_of(
    store: &dyn MirrorReader,
    org: OrgId,
    group_id: &str,
    at: DateTime<Utc>,
) -> Result<GroupAsOf> {
    let g = Concern::Group(group_id);
    let member_ids: Vec<String> = store
        .rows_at(org, Table::GroupMembers, g, at)
        .await?
        .iter()
        .map(|r| text(r, "user_id"))
        .collect();
    let app_rows = store.rows_at(org, Table::AppGroups, g, at).await?;
    let roles = store.rows_at(org, Table::RoleAssignments, g, at).await?;
    let mut members = store.users_by_id(org, &member_ids).await?;
    let known: BTreeSet<&str> = members.iter().map(|u| u.id.as_str()).collect();
    let gone: Vec<UserRow> = member_ids
        .iter()
        .filter(|id| !known.contains(id.as_str()))
        .map(|id| gone_user(id))
        .collect();
    members.extend(gone);
    let app_ids: Vec<String> = app_rows.iter().map(|a| text(a, "app_id")).collect();
    let labels = store.app_labels(org, &app_ids).await?;
    let name = store
        .groups_by_id(org, &[group_id.to_owned()])
        .await?
        .remove(group_id);
    Ok(GroupAsOf {
        id: group_id.to_owned(),
        name: name.as_ref().and_then(|g| g.group_name.clone()),
        group_type: name.as_ref().and_then(|g| g.group_type.clone()),
        at: timestamp(at),
        members,
        apps: app_rows
            .iter()
            .map(|a| {
                let app_id = text(a, "app_id");
                GroupAppAsOf {
                    app_label: labels.get(&app_id).cloned().flatten(),
                    app_id,
                    priority: a.get("priority").and_then(Value::as_i64),
                }
            })
            .collect(),
        admin_roles: roles
            .iter()
            .map(|r| GroupRoleAsOf {
                role_type: text(r, "role_type"),
                label: text(r, "label"),
                status: text(r, "status"),
                assignment_id: text(r, "id"),
            })
            .collect(),
    })
}
