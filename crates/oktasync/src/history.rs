//! `oktasync changes` and the `--at T` form of `user` and `group`: the change log and the
//! mirror as of a past time, laid out as `user` and `group` lay out the present.

use crate::ask::{group_sections, user_sections};
use crate::cli::{ChangesArgs, OutputFormat};
use crate::output::{Table, opt, print_json, print_list, printable_lines, write_stdout};
use anyhow::{Context, Result, bail};
use chrono::{DateTime, NaiveDate, Utc};
use oktasync_store::{ChangeQuery, ChangeRecord, MirrorReader, OrgId, timestamp};
use serde_json::{Value, json};

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

/// Says so on stderr when `at` is before the mirror's history begins.
async fn warn_before_history(
    store: &dyn MirrorReader,
    org: OrgId,
    at: DateTime<Utc>,
) -> Result<()> {
    match store.history_start(org).await? {
        Some(start) if timestamp(at) < start => eprintln!(
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
    let fields = c
        .changed_fields
        .iter()
        .map(|f| format!("{f}: {} -> {}", text(c.old.get(f)), text(c.new.get(f))))
        .collect::<Vec<_>>()
        .join("; ");
    // A grant's record says what was done to it (`added`, `revoke_failed`, `re_added`, ...).
    match c.new.get("action").filter(|_| c.entity == "grants") {
        Some(action) if fields.is_empty() => text(Some(action)),
        Some(action) => format!("{}: {fields}", text(Some(action))),
        None => fields,
    }
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
                entity: None,
            },
        )
        .await?;
    let mut t = Table::new(&[
        "at", "source", "entity", "op", "about", "change", "actor", "key", "grant",
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
            // The grant that made a membership change, or that a grant record is about.
            opt(c.grant_id.as_ref()),
        ]);
    }
    print_list(format, &records, &t, "changes")
}

/// A user id from an id or login: the mirror first, then the text itself (a deleted user is
/// still named by id in the change log).
pub(crate) async fn resolve_user(
    store: &dyn MirrorReader,
    org: OrgId,
    id_or_login: &str,
) -> Result<String> {
    if let Some(detail) = store.user(org, id_or_login).await? {
        return Ok(detail.user.id);
    }
    Ok(id_or_login.to_owned())
}

/// The id of the group with this id or name; the text itself when the mirror has none.
pub(crate) async fn resolve_group(
    store: &dyn MirrorReader,
    org: OrgId,
    id_or_name: &str,
) -> Result<String> {
    if let Some(group) = store.find_group(org, id_or_name).await? {
        return Ok(group.id);
    }
    Ok(id_or_name.to_owned())
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
    let mut group = oktasync_store::as_of::group_as_of(store, org, &group_id, at).await?;
    if active_only {
        group
            .members
            .retain(|u| u.status.as_deref() == Some("ACTIVE"));
    }
    let members = &group.members;
    let members_table = crate::ask::user_table(members);
    match format {
        OutputFormat::Json => {
            return print_json(&json!({
                "id": group.id,
                "name": group.name,
                "type": group.group_type,
                "at": group.at,
                "members": members.iter().map(|u| json!({"id": u.id, "login": u.login, "status": u.status})).collect::<Vec<_>>(),
                "apps": group.apps.iter().map(|a| json!({
                    "app_id": a.app_id,
                    "app_label": a.app_label,
                    "priority": a.priority,
                })).collect::<Vec<_>>(),
                "admin_roles": group.admin_roles.iter().map(|r| json!({"role_type": r.role_type, "assignment_id": r.assignment_id})).collect::<Vec<_>>(),
            }));
        }
        OutputFormat::Csv => return write_stdout(&members_table.to_csv(false)),
        OutputFormat::Table => {}
    }
    let mut out = format!(
        "{}  {group_id}  (as of {})\n  type         {}\n",
        group.name.clone().unwrap_or_else(|| "(deleted)".into()),
        group.at,
        opt(group.group_type.clone()),
    );
    out.push_str(&group_sections(
        &group
            .apps
            .iter()
            .map(|a| {
                let priority = a.priority.map(|p| p.to_string());
                vec![a.app_id.clone(), opt(a.app_label.clone()), opt(priority)]
            })
            .collect::<Vec<_>>(),
        &group
            .admin_roles
            .iter()
            .map(|r| vec![r.role_type.clone(), r.label.clone(), r.status.clone()])
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
    let user = oktasync_store::as_of::user_as_of(store, org, &user_id, at).await?;
    let group_rows: Vec<Vec<String>> = user
        .groups
        .iter()
        .map(|g| {
            vec![
                g.group_id.clone(),
                opt(g.group_name.clone()),
                opt(g.group_type.clone()),
            ]
        })
        .collect();
    match format {
        OutputFormat::Json => return print_json(&user),
        OutputFormat::Csv => {
            let mut t = Table::new(&["id", "name", "type"]);
            group_rows.iter().for_each(|r| t.row(r.clone()));
            return write_stdout(&t.to_csv(false));
        }
        OutputFormat::Table => {}
    }
    let mut out = format!(
        "{}  {user_id}  (as of {})\n",
        user.login.clone().unwrap_or_else(|| "(deleted)".into()),
        user.at
    );
    out.push_str(&user_sections(
        &group_rows,
        &user
            .apps
            .iter()
            .map(|a| {
                vec![
                    a.app_id.clone(),
                    opt(a.app_label.clone()),
                    a.via.clone(),
                    opt(a.via_group_name.clone()),
                ]
            })
            .collect::<Vec<_>>(),
        &user
            .admin_roles
            .iter()
            .map(|r| {
                vec![
                    r.role_type.clone(),
                    r.via.clone(),
                    opt(r.via_group_name.clone()),
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
            timestamp(parse_time("2026-11-23", now).unwrap()),
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
