//! `oktasync changes` and the `--at T` form of `user` and `group`: the change log and the
//! mirror as of a past time, laid out as `user` and `group` lay out the present.

use crate::ask::{group_sections, user_sections};
use crate::cli::{ChangesArgs, OutputFormat};
use crate::output::{Table, opt, print_json, print_list, printable_lines, write_stdout};
use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, Utc};
use oktasync_store::history::Concern;
use oktasync_store::query::UserRow;
use oktasync_store::{ChangeQuery, ChangeRecord, MirrorReader, OrgId, Table as StoreTable};
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// A point in time from the command line: RFC 3339 (`2026-11-23T10:00:00Z`), a date
/// (`2026-11-23`, midnight UTC), or a duration ago (`90m`, `2h`, `7d`). A duration reaching
/// before the calendar's start is an error, not an overflow.
pub fn parse_time(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        return Ok(d.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    if let Ok(ago) = humantime::parse_duration(text) {
        let too_far = || {
            format!(
                "{text} ago is before any time oktasync can represent; give a shorter duration or a date"
            )
        };
        let ago = chrono::TimeDelta::from_std(ago)
            .ok()
            .with_context(too_far)?;
        return now.checked_sub_signed(ago).with_context(too_far);
    }
    bail!(
        "cannot read {text:?} as a time: give RFC 3339 (2026-11-23T10:00:00Z), a date (2026-11-23) or a duration ago (90m, 2h, 7d)"
    )
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Says so on stderr when `at` is before the mirror's history begins.
async fn warn_before_history(
    store: &dyn MirrorReader,
    org: OrgId,
    at: DateTime<Utc>,
) -> Result<()> {
    match store.history_start(org).await? {
        Some(start) if ts(at) < start => eprintln!(
            "note: the mirror's history begins at {start} (its first sync); earlier times show the state at that point"
        ),
        None => eprintln!("note: the mirror has no successful sync yet"),
        _ => {}
    }
    Ok(())
}

/// What a change is about, by name: `login`, `group name`, `app label` (ids when unnamed).
fn subject(c: &ChangeRecord) -> String {
    let mut parts = Vec::new();
    if let Some(user) = &c.user_id {
        parts.push(c.user_login.clone().unwrap_or_else(|| user.clone()));
    }
    if let Some(group) = &c.group_id {
        parts.push(format!(
            "group {}",
            c.group_name.clone().unwrap_or_else(|| group.clone())
        ));
    }
    if let Some(app) = &c.app_id {
        parts.push(format!(
            "app {}",
            c.app_label.clone().unwrap_or_else(|| app.clone())
        ));
    }
    if parts.is_empty() {
        c.entity_id.clone()
    } else {
        parts.join(", ")
    }
}

/// `field: old -> new` for each changed field of an update; empty for adds and removes.
fn old_to_new(c: &ChangeRecord) -> String {
    let text = |v: Option<&Value>| match v {
        None | Some(Value::Null) => "-".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
    };
    c.changed_fields
        .iter()
        .map(|f| format!("{f}: {} -> {}", text(c.old.get(f)), text(c.new.get(f))))
        .collect::<Vec<_>>()
        .join("; ")
}

pub async fn changes(
    store: &dyn MirrorReader,
    org: OrgId,
    args: &ChangesArgs,
    format: OutputFormat,
) -> Result<()> {
    let now = Utc::now();
    let since = args
        .since
        .as_deref()
        .map(|s| parse_time(s, now))
        .transpose()
        .map_err(crate::exit::config)?;
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
                after: None,
            },
        )
        .await?;
    let mut t = Table::new(&[
        "at", "source", "entity", "op", "about", "change", "actor", "key",
    ]);
    for c in &records {
        t.row(vec![
            c.at.clone(),
            c.source.clone(),
            c.entity.clone(),
            c.op.clone(),
            subject(c),
            old_to_new(c),
            opt(c.actor.as_ref()),
            c.entity_id.clone(),
        ]);
    }
    print_list(format, &records, &t, "changes")
}

/// A user id from an id or login: the mirror first, then the change log (a deleted user).
async fn resolve_user(store: &dyn MirrorReader, org: OrgId, id_or_login: &str) -> Result<String> {
    if let Some(detail) = store.user(org, id_or_login).await? {
        return Ok(detail.user.id);
    }
    Ok(id_or_login.to_owned())
}

async fn resolve_group(store: &dyn MirrorReader, org: OrgId, id_or_name: &str) -> Result<String> {
    if let Some(detail) = store.group(org, id_or_name).await? {
        return Ok(detail.group.id);
    }
    Ok(id_or_name.to_owned())
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

/// `oktasync group G --at T`: members, app assignments and admin roles as of T.
pub async fn group_at(
    store: &dyn MirrorReader,
    org: OrgId,
    id_or_name: &str,
    at: &str,
    active_only: bool,
    format: OutputFormat,
) -> Result<()> {
    let at = parse_time(at, Utc::now()).map_err(crate::exit::config)?;
    warn_before_history(store, org, at).await?;
    let group_id = resolve_group(store, org, id_or_name).await?;
    let g = Concern::Group(&group_id);
    let member_ids: Vec<String> = store
        .rows_at(org, StoreTable::GroupMembers, g, at)
        .await?
        .iter()
        .map(|r| text(r, "user_id"))
        .collect();
    let app_rows = store.rows_at(org, StoreTable::AppGroups, g, at).await?;
    let roles = store
        .rows_at(org, StoreTable::RoleAssignments, g, at)
        .await?;
    // Members as the mirror knows them now (status, names), those since deleted by id.
    let mut members = store.users_by_id(org, &member_ids).await?;
    let known: BTreeSet<&str> = members.iter().map(|u| u.id.as_str()).collect();
    let gone: Vec<UserRow> = member_ids
        .iter()
        .filter(|id| !known.contains(id.as_str()))
        .map(|id| gone_user(id))
        .collect();
    members.extend(gone);
    if active_only {
        members.retain(|u| u.status.as_deref() == Some("ACTIVE"));
    }
    let app_ids: Vec<String> = app_rows.iter().map(|a| text(a, "app_id")).collect();
    let labels = store.app_labels(org, &app_ids).await?;
    let name = store
        .groups_by_id(org, std::slice::from_ref(&group_id))
        .await?
        .remove(&group_id);
    let members_table = crate::ask::user_table(&members);
    match format {
        OutputFormat::Json => {
            return print_json(&json!({
                "id": group_id,
                "name": name.as_ref().and_then(|g| g.group_name.clone()),
                "type": name.as_ref().and_then(|g| g.group_type.clone()),
                "at": ts(at),
                "members": members.iter().map(|u| json!({"id": u.id, "login": u.login, "status": u.status})).collect::<Vec<_>>(),
                "apps": app_rows.iter().map(|a| json!({
                    "app_id": text(a, "app_id"),
                    "app_label": labels.get(&text(a, "app_id")).cloned().flatten(),
                    "priority": a.get("priority"),
                })).collect::<Vec<_>>(),
                "admin_roles": roles.iter().map(|r| json!({"role_type": text(r, "role_type"), "assignment_id": text(r, "id")})).collect::<Vec<_>>(),
            }));
        }
        OutputFormat::Csv => return write_stdout(&members_table.to_csv(false)),
        OutputFormat::Table => {}
    }
    let mut out = format!(
        "{}  {group_id}  (as of {})\n  type         {}\n",
        name.as_ref()
            .and_then(|g| g.group_name.clone())
            .unwrap_or_else(|| "(deleted)".into()),
        ts(at),
        opt(name.as_ref().and_then(|g| g.group_type.clone())),
    );
    out.push_str(&group_sections(
        &app_rows
            .iter()
            .map(|a| {
                let id = text(a, "app_id");
                let label = opt(labels.get(&id).cloned().flatten());
                let priority = a.get("priority").map(|p| p.to_string());
                vec![id, label, opt(priority)]
            })
            .collect::<Vec<_>>(),
        &roles
            .iter()
            .map(|r| vec![text(r, "role_type"), text(r, "label"), text(r, "status")])
            .collect::<Vec<_>>(),
        &members_table,
        active_only,
    ));
    write_stdout(&printable_lines(&out))
}

/// `oktasync user U --at T`: groups, app access (direct and via group) and admin roles
/// (direct and via group) as of T.
pub async fn user_at(
    store: &dyn MirrorReader,
    org: OrgId,
    id_or_login: &str,
    at: &str,
    format: OutputFormat,
) -> Result<()> {
    let at = parse_time(at, Utc::now()).map_err(crate::exit::config)?;
    warn_before_history(store, org, at).await?;
    let user_id = resolve_user(store, org, id_or_login).await?;
    let u = Concern::User(&user_id);
    let group_ids: Vec<String> = store
        .rows_at(org, StoreTable::GroupMembers, u, at)
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
    // (app id, via, via group id): direct assignments, then the apps of each group held.
    let mut ways: Vec<(String, &'static str, Option<String>)> = store
        .rows_at(org, StoreTable::AppUsers, u, at)
        .await?
        .iter()
        .filter(|au| text(au, "scope") == "USER")
        .map(|au| (text(au, "app_id"), "DIRECT", None))
        .collect();
    // (role type, via, via group id)
    let mut roles: Vec<(String, &'static str, Option<String>)> = store
        .rows_at(org, StoreTable::RoleAssignments, u, at)
        .await?
        .iter()
        .map(|r| (text(r, "role_type"), "DIRECT", None))
        .collect();
    for g in &group_ids {
        for a in store
            .rows_at(org, StoreTable::AppGroups, Concern::Group(g), at)
            .await?
        {
            ways.push((text(&a, "app_id"), "GROUP", Some(g.clone())));
        }
        for r in store
            .rows_at(org, StoreTable::RoleAssignments, Concern::Group(g), at)
            .await?
        {
            roles.push((text(&r, "role_type"), "GROUP", Some(g.clone())));
        }
    }
    let app_ids: Vec<String> = ways.iter().map(|w| w.0.clone()).collect();
    let labels = store.app_labels(org, &app_ids).await?;
    let label = |a: &str| labels.get(a).cloned().flatten();
    let login = store
        .users_by_id(org, std::slice::from_ref(&user_id))
        .await?
        .into_iter()
        .next()
        .and_then(|u| u.login);
    let group_rows: Vec<Vec<String>> = group_ids
        .iter()
        .map(|g| {
            vec![
                g.clone(),
                opt(group_name(g)),
                opt(groups.get(g).and_then(|r| r.group_type.clone())),
            ]
        })
        .collect();
    match format {
        OutputFormat::Json => {
            return print_json(&json!({
                "id": user_id,
                "login": login,
                "at": ts(at),
                "groups": group_ids.iter().map(|g| json!({
                    "group_id": g,
                    "group_name": group_name(g),
                    "group_type": groups.get(g).and_then(|r| r.group_type.clone()),
                })).collect::<Vec<_>>(),
                "apps": ways.iter().map(|(a, via, g)| json!({
                    "app_id": a,
                    "app_label": label(a),
                    "via": via,
                    "via_group_id": g,
                    "via_group_name": g.as_deref().and_then(group_name),
                })).collect::<Vec<_>>(),
                "admin_roles": roles.iter().map(|(r, via, g)| json!({
                    "role_type": r,
                    "via": via,
                    "via_group_id": g,
                    "via_group_name": g.as_deref().and_then(group_name),
                })).collect::<Vec<_>>(),
            }));
        }
        OutputFormat::Csv => {
            let mut t = Table::new(&["id", "name", "type"]);
            group_rows.iter().for_each(|r| t.row(r.clone()));
            return write_stdout(&t.to_csv(false));
        }
        OutputFormat::Table => {}
    }
    let mut out = format!(
        "{}  {user_id}  (as of {})\n",
        login.unwrap_or_else(|| "(deleted)".into()),
        ts(at)
    );
    out.push_str(&user_sections(
        &group_rows,
        &ways
            .iter()
            .map(|(a, via, g)| {
                vec![
                    a.clone(),
                    opt(label(a)),
                    via.to_string(),
                    opt(g.as_deref().and_then(group_name)),
                ]
            })
            .collect::<Vec<_>>(),
        &roles
            .iter()
            .map(|(r, via, g)| {
                vec![
                    r.clone(),
                    via.to_string(),
                    opt(g.as_deref().and_then(group_name)),
                ]
            })
            .collect::<Vec<_>>(),
    ));
    write_stdout(&printable_lines(&out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_and_out_of_range_ones_are_errors_not_panics() {
        let now = DateTime::parse_from_rfc3339("2026-12-01T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            parse_time("2h", now).unwrap(),
            now - chrono::TimeDelta::hours(2)
        );
        assert_eq!(
            ts(parse_time("2026-11-23", now).unwrap()),
            "2026-11-23T00:00:00.000Z"
        );
        for text in ["300000y", "99999999999d", "9999999999999999999s"] {
            let err = parse_time(text, now).expect_err(text).to_string();
            assert!(
                err.contains("before any time") || err.contains("cannot read"),
                "{text}: {err}"
            );
        }
    }
}
