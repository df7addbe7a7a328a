//! `oktasync changes` and the `--at T` form of `user` and `group`: the change log and the
//! mirror as of a past time.

use crate::cli::ChangesArgs;
use crate::output::{Table, print_json, write_stdout};
use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, Utc};
use oktasync_store::history::{self, Concern};
use oktasync_store::query;
use oktasync_store::{ChangeQuery, OrgId, SqliteStore, Store, Table as StoreTable};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// A point in time from the command line: RFC 3339 (`2026-11-23T10:00:00Z`), a date
/// (`2026-11-23`, midnight UTC), or a duration ago (`90m`, `2h`, `7d`).
pub fn parse_time(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc());
    }
    if let Ok(ago) = humantime::parse_duration(text) {
        let ago = chrono::TimeDelta::from_std(ago).context("that duration is too long")?;
        return Ok(now - ago);
    }
    bail!(
        "cannot read {text:?} as a time: give RFC 3339 (2026-11-23T10:00:00Z), a date (2026-11-23) or a duration ago (90m, 2h, 7d)"
    )
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Says so on stderr when `at` is before the mirror's history begins.
async fn warn_before_history(store: &SqliteStore, org: OrgId, at: DateTime<Utc>) -> Result<()> {
    match history::history_start(store.pool(), org).await? {
        Some(start) if ts(at) < start => eprintln!(
            "note: the mirror's history begins at {start} (its first sync); earlier times show the state at that point"
        ),
        None => eprintln!("note: the mirror has no successful sync yet"),
        _ => {}
    }
    Ok(())
}

pub async fn changes(
    store: &SqliteStore,
    org: OrgId,
    args: &ChangesArgs,
    json: bool,
) -> Result<()> {
    let now = Utc::now();
    let since = args
        .since
        .as_deref()
        .map(|s| parse_time(s, now))
        .transpose()?;
    let user_id = match &args.user {
        Some(u) => Some(resolve_user(store, org, u).await?),
        None => None,
    };
    let group_id = match &args.group {
        Some(g) => Some(resolve_group(store, org, g).await?),
        None => None,
    };
    let records = store
        .changes(
            org,
            &ChangeQuery {
                since,
                user_id,
                group_id,
                limit: Some(args.limit),
            },
        )
        .await?;
    if json {
        return print_json(&records);
    }
    let mut t = Table::new(&["at", "source", "entity", "op", "key", "fields"]);
    for c in &records {
        let fields = if c.changed_fields.is_empty() {
            "-".to_owned()
        } else {
            c.changed_fields.join(",")
        };
        t.row(vec![
            c.at.clone(),
            c.source.clone(),
            c.entity.clone(),
            c.op.clone(),
            c.entity_id.clone(),
            fields,
        ]);
    }
    t.print()?;
    eprintln!("{} changes", records.len());
    Ok(())
}

/// A user id from an id or login: the mirror first, then the change log (a deleted user).
async fn resolve_user(store: &SqliteStore, org: OrgId, id_or_login: &str) -> Result<String> {
    if let Some(detail) = query::user(store, org, id_or_login).await? {
        return Ok(detail.user.id);
    }
    Ok(id_or_login.to_owned())
}

async fn resolve_group(store: &SqliteStore, org: OrgId, id_or_name: &str) -> Result<String> {
    if let Some(detail) = query::group(store, org, id_or_name).await? {
        return Ok(detail.group.id);
    }
    Ok(id_or_name.to_owned())
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or("-").to_owned()
}

/// Logins (or ids when a user is gone from the mirror) for user ids.
async fn logins(store: &SqliteStore, org: OrgId, ids: &[String]) -> Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for id in ids {
        let login = query::user(store, org, id)
            .await?
            .and_then(|d| d.user.login)
            .unwrap_or_else(|| "(deleted)".to_owned());
        out.push((id.clone(), login));
    }
    Ok(out)
}

/// `oktasync group G --at T`: members, app assignments and admin roles as of T.
pub async fn group_at(
    store: &SqliteStore,
    org: OrgId,
    id_or_name: &str,
    at: &str,
    json: bool,
) -> Result<()> {
    let at = parse_time(at, Utc::now())?;
    warn_before_history(store, org, at).await?;
    let group_id = resolve_group(store, org, id_or_name).await?;
    let pool = store.pool();
    let g = Concern::Group(&group_id);
    let members: Vec<String> = history::rows_at(pool, org, StoreTable::GroupMembers, g, at)
        .await?
        .iter()
        .map(|r| text(r, "user_id"))
        .collect();
    let apps = history::rows_at(pool, org, StoreTable::AppGroups, g, at).await?;
    let roles: Vec<Value> = history::rows_at(pool, org, StoreTable::RoleAssignments, g, at).await?;
    let members = logins(store, org, &members).await?;
    if json {
        return print_json(&json!({
            "group_id": group_id,
            "at": ts(at),
            "members": members.iter().map(|(id, login)| json!({"id": id, "login": login})).collect::<Vec<_>>(),
            "apps": apps.iter().map(|a| text(a, "app_id")).collect::<Vec<_>>(),
            "admin_roles": roles.iter().map(|r| json!({"role_type": text(r, "role_type"), "assignment_id": text(r, "id")})).collect::<Vec<_>>(),
        }));
    }
    let mut out = format!(
        "Group {group_id} as of {}\n\nMembers ({}):\n",
        ts(at),
        members.len()
    );
    for (id, login) in &members {
        out.push_str(&format!("  {login}  {id}\n"));
    }
    out.push_str(&format!("\nAssigned to apps ({}):\n", apps.len()));
    for a in &apps {
        out.push_str(&format!("  {}\n", text(a, "app_id")));
    }
    out.push_str(&format!("\nAdmin roles ({}):\n", roles.len()));
    for r in &roles {
        out.push_str(&format!("  {}\n", text(r, "role_type")));
    }
    write_stdout(&out)
}

/// `oktasync user U --at T`: groups, app access (direct and via group) and admin roles
/// (direct and via group) as of T.
pub async fn user_at(
    store: &SqliteStore,
    org: OrgId,
    id_or_login: &str,
    at: &str,
    json: bool,
) -> Result<()> {
    let at = parse_time(at, Utc::now())?;
    warn_before_history(store, org, at).await?;
    let user_id = resolve_user(store, org, id_or_login).await?;
    let pool = store.pool();
    let u = Concern::User(&user_id);
    let groups: BTreeSet<String> = history::rows_at(pool, org, StoreTable::GroupMembers, u, at)
        .await?
        .iter()
        .map(|r| text(r, "group_id"))
        .collect();
    let app_users = history::rows_at(pool, org, StoreTable::AppUsers, u, at).await?;
    let mut apps: Vec<Value> = Vec::new();
    for au in &app_users {
        apps.push(json!({"app_id": text(au, "app_id"), "via": if text(au, "scope") == "USER" { "DIRECT" } else { "GROUP" }}));
    }
    let mut roles: Vec<Value> = history::rows_at(pool, org, StoreTable::RoleAssignments, u, at)
        .await?
        .iter()
        .map(|r| json!({"role_type": text(r, "role_type"), "via": "DIRECT", "via_group_id": null}))
        .collect();
    for g in &groups {
        for r in history::rows_at(
            pool,
            org,
            StoreTable::RoleAssignments,
            Concern::Group(g),
            at,
        )
        .await?
        {
            roles.push(
                json!({"role_type": text(&r, "role_type"), "via": "GROUP", "via_group_id": g}),
            );
        }
    }
    if json {
        return print_json(&json!({
            "user_id": user_id,
            "at": ts(at),
            "groups": groups,
            "apps": apps,
            "admin_roles": roles,
        }));
    }
    let mut out = format!(
        "User {user_id} as of {}\n\nGroups ({}):\n",
        ts(at),
        groups.len()
    );
    for g in &groups {
        let name = query::group(store, org, g)
            .await?
            .and_then(|d| d.group.name)
            .unwrap_or_else(|| "(deleted)".to_owned());
        out.push_str(&format!("  {name}  {g}\n"));
    }
    out.push_str(&format!("\nApps ({}):\n", apps.len()));
    for a in &apps {
        out.push_str(&format!("  {}  {}\n", text(a, "app_id"), text(a, "via")));
    }
    out.push_str(&format!("\nAdmin roles ({}):\n", roles.len()));
    for r in &roles {
        out.push_str(&format!(
            "  {}  {}{}\n",
            text(r, "role_type"),
            text(r, "via"),
            r.get("via_group_id")
                .and_then(Value::as_str)
                .map(|g| format!(" {g}"))
                .unwrap_or_default()
        ));
    }
    write_stdout(&out)
}
