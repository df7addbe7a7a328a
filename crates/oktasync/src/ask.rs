//! The commands that ask the mirror: users, user, groups, group, apps, app, admins, status,
//! export. Tables for people, `--json` for programs.

use crate::cli::{ExportArgs, ExportFormat, UsersArgs};
use crate::output::{Table, opt, print_json, write_stdout};
use anyhow::{Context, Result, bail};
use oktasync_store::query::{self, UserFilter, UserRow};
use oktasync_store::{OrgId, SqliteStore, Store, SyncRunRecord, Table as StoreTable};
use serde_json::{Value, json};
use std::io::Write;
use std::path::Path;

fn name_of(first: &Option<String>, last: &Option<String>) -> String {
    match (first, last) {
        (Some(f), Some(l)) => format!("{f} {l}"),
        (Some(n), None) | (None, Some(n)) => n.clone(),
        (None, None) => "-".into(),
    }
}

fn user_table(rows: &[UserRow]) -> Table {
    let mut t = Table::new(&["id", "login", "name", "status", "department", "title"]);
    for u in rows {
        t.row(vec![
            u.id.clone(),
            opt(u.login.as_ref()),
            name_of(&u.first_name, &u.last_name),
            opt(u.status.as_ref()),
            opt(u.department.as_ref()),
            opt(u.title.as_ref()),
        ]);
    }
    t
}

pub async fn users(store: &SqliteStore, org: OrgId, args: &UsersArgs, json: bool) -> Result<()> {
    let filter = UserFilter {
        status: args.status.clone(),
        group: args.group.clone(),
        department: args.department.clone(),
        search: args.search.clone(),
    };
    let rows = query::users(store, org, &filter).await?;
    if json {
        return print_json(&rows);
    }
    user_table(&rows).print()?;
    eprintln!("{} users", rows.len());
    Ok(())
}

pub async fn user(store: &SqliteStore, org: OrgId, id_or_login: &str, json: bool) -> Result<()> {
    let detail = query::user(store, org, id_or_login)
        .await?
        .with_context(|| format!("no user with id or login {id_or_login:?} in the mirror; try `oktasync users --search TEXT`"))?;
    if json {
        return print_json(&detail);
    }
    let u = &detail.user;
    let mut text = format!(
        "{}  {}\n  name        {}\n  status      {}\n  email       {}\n  department  {}\n  title       {}\n  last login  {}\n  updated     {}\n",
        opt(u.login.as_ref()),
        u.id,
        name_of(&u.first_name, &u.last_name),
        opt(u.status.as_ref()),
        opt(u.email.as_ref()),
        opt(u.department.as_ref()),
        opt(u.title.as_ref()),
        opt(u.last_login.as_ref()),
        opt(u.last_updated.as_ref()),
    );
    if let Value::Object(profile) = &detail.profile {
        text.push_str("\nProfile\n");
        for (k, v) in profile {
            let v = match v {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            text.push_str(&format!("  {k:<22} {v}\n"));
        }
    }
    text.push_str(&format!("\nGroups ({})\n", detail.groups.len()));
    let mut t = Table::new(&["id", "name", "type"]);
    for g in &detail.groups {
        t.row(vec![
            g.group_id.clone(),
            opt(g.group_name.as_ref()),
            opt(g.group_type.as_ref()),
        ]);
    }
    text.push_str(&indent(&t.render()));
    text.push_str(&format!("\nApps ({} ways in)\n", detail.apps.len()));
    let mut t = Table::new(&["app", "label", "via", "group"]);
    for a in &detail.apps {
        t.row(vec![
            a.app_id.clone(),
            opt(a.app_label.as_ref()),
            a.via.clone(),
            opt(a.via_group_name.as_ref()),
        ]);
    }
    text.push_str(&indent(&t.render()));
    text.push_str(&format!("\nAdmin roles ({})\n", detail.admin_roles.len()));
    let mut t = Table::new(&["role", "via", "group"]);
    for r in &detail.admin_roles {
        t.row(vec![
            opt(r.role_type.as_ref()),
            r.via.clone(),
            opt(r.via_group_name.as_ref()),
        ]);
    }
    text.push_str(&indent(&t.render()));
    if !detail.factors.is_empty() {
        text.push_str(&format!("\nFactors ({})\n", detail.factors.len()));
        let mut t = Table::new(&["id", "type", "provider", "status"]);
        for f in &detail.factors {
            t.row(vec![
                f.id.clone(),
                opt(f.factor_type.as_ref()),
                opt(f.provider.as_ref()),
                opt(f.status.as_ref()),
            ]);
        }
        text.push_str(&indent(&t.render()));
    }
    write_stdout(&text)
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

pub async fn groups(store: &SqliteStore, org: OrgId, json: bool) -> Result<()> {
    let rows = query::groups(store, org).await?;
    if json {
        return print_json(&rows);
    }
    let mut t = Table::new(&["id", "name", "type", "members", "description"]);
    for g in &rows {
        t.row(vec![
            g.id.clone(),
            opt(g.name.as_ref()),
            opt(g.group_type.as_ref()),
            g.members.to_string(),
            opt(g.description.as_ref()),
        ]);
    }
    t.print()?;
    eprintln!("{} groups", rows.len());
    Ok(())
}

pub async fn group(store: &SqliteStore, org: OrgId, id_or_name: &str, json: bool) -> Result<()> {
    let detail = query::group(store, org, id_or_name)
        .await?
        .with_context(|| format!("no group with id or name {id_or_name:?} in the mirror; list them with `oktasync groups`"))?;
    if json {
        return print_json(&detail);
    }
    let g = &detail.group;
    let mut text = format!(
        "{}  {}\n  type         {}\n  description  {}\n  updated      {}\n  members      {} (last change {})\n",
        opt(g.name.as_ref()),
        g.id,
        opt(g.group_type.as_ref()),
        opt(g.description.as_ref()),
        opt(g.last_updated.as_ref()),
        g.members,
        opt(g.last_membership_updated.as_ref()),
    );
    if !detail.apps.is_empty() {
        text.push_str(&format!("\nAssigned to apps ({})\n", detail.apps.len()));
        let mut t = Table::new(&["app", "label", "priority"]);
        for a in &detail.apps {
            t.row(vec![
                a.app_id.clone(),
                opt(a.app_label.as_ref()),
                opt(a.priority),
            ]);
        }
        text.push_str(&indent(&t.render()));
    }
    if !detail.roles.is_empty() {
        text.push_str(&format!(
            "\nAdmin roles its members hold ({})\n",
            detail.roles.len()
        ));
        let mut t = Table::new(&["role", "label", "status"]);
        for r in &detail.roles {
            t.row(vec![
                opt(r.role_type.as_ref()),
                opt(r.role_label.as_ref()),
                opt(r.status.as_ref()),
            ]);
        }
        text.push_str(&indent(&t.render()));
    }
    text.push_str(&format!("\nMembers ({})\n", detail.member_users.len()));
    text.push_str(&indent(&user_table(&detail.member_users).render()));
    write_stdout(&text)
}

pub async fn apps(store: &SqliteStore, org: OrgId, json: bool) -> Result<()> {
    let rows = query::apps(store, org).await?;
    if json {
        return print_json(&rows);
    }
    let mut t = Table::new(&[
        "id", "label", "name", "status", "sign-on", "users", "groups",
    ]);
    for a in &rows {
        t.row(vec![
            a.id.clone(),
            opt(a.label.as_ref()),
            opt(a.name.as_ref()),
            opt(a.status.as_ref()),
            opt(a.sign_on_mode.as_ref()),
            a.users.to_string(),
            a.groups.to_string(),
        ]);
    }
    t.print()?;
    eprintln!("{} apps", rows.len());
    Ok(())
}

pub async fn app(store: &SqliteStore, org: OrgId, id_or_label: &str, json: bool) -> Result<()> {
    let detail = query::app(store, org, id_or_label)
        .await?
        .with_context(|| format!("no app with id or label {id_or_label:?} in the mirror; list them with `oktasync apps`"))?;
    if json {
        return print_json(&detail);
    }
    let a = &detail.app;
    let mut text = format!(
        "{}  {}\n  name     {}\n  status   {}\n  sign-on  {}\n  users    {}\n",
        opt(a.label.as_ref()),
        a.id,
        opt(a.name.as_ref()),
        opt(a.status.as_ref()),
        opt(a.sign_on_mode.as_ref()),
        a.users,
    );
    text.push_str(&format!(
        "\nAssigned groups ({})\n",
        detail.assigned_groups.len()
    ));
    let mut t = Table::new(&["group", "name", "priority", "members"]);
    for g in &detail.assigned_groups {
        t.row(vec![
            g.group_id.clone(),
            opt(g.group_name.as_ref()),
            opt(g.priority),
            g.members.to_string(),
        ]);
    }
    text.push_str(&indent(&t.render()));
    text.push_str(&format!(
        "\nWho has access, and through what ({} ways in)\n",
        detail.access.len()
    ));
    let mut t = Table::new(&["user", "login", "via", "group"]);
    for x in &detail.access {
        t.row(vec![
            x.user_id.clone(),
            opt(x.login.as_ref()),
            x.via.clone(),
            opt(x.via_group_name.as_ref()),
        ]);
    }
    text.push_str(&indent(&t.render()));
    write_stdout(&text)
}

pub async fn admins(store: &SqliteStore, org: OrgId, json: bool) -> Result<()> {
    let rows = query::admins(store, org).await?;
    if json {
        return print_json(&rows);
    }
    let mut t = Table::new(&["user", "login", "role", "via", "group"]);
    for r in &rows {
        t.row(vec![
            r.user_id.clone(),
            opt(r.login.as_ref()),
            opt(r.role_type.as_ref()),
            r.via.clone(),
            opt(r.via_group_name.as_ref()),
        ]);
    }
    t.print()?;
    eprintln!("{} role holdings", rows.len());
    Ok(())
}

/// A run record with its JSON columns parsed, for `status --json`.
fn run_json(r: &SyncRunRecord) -> Value {
    let parse = |s: &Option<String>| -> Value {
        s.as_deref()
            .and_then(|t| serde_json::from_str(t).ok())
            .unwrap_or(Value::Null)
    };
    json!({
        "run_id": r.run_id,
        "kind": r.kind,
        "resources": serde_json::from_str::<Value>(&r.resources).unwrap_or(Value::Null),
        "started_at": r.started_at,
        "ended_at": r.ended_at,
        "outcome": r.outcome,
        "error": r.error,
        "counts": parse(&r.counts),
        "changes": parse(&r.changes),
        "api_calls": r.api_calls,
        "fewest_calls": r.fewest_calls,
        "calls_by_bucket": parse(&r.calls_by_bucket),
        "http_429": r.http_429,
        "retries": r.retries,
        "rate_limit_wait_s": r.rate_limit_wait_s,
    })
}

pub async fn status(store: &SqliteStore, org: OrgId, limit: u32, json: bool) -> Result<()> {
    let runs = store.recent_runs(org, limit).await?;
    if json {
        return print_json(&runs.iter().map(run_json).collect::<Vec<_>>());
    }
    let counts = store.counts(org).await?;
    let mut text = String::from("Mirror\n");
    for (table, n) in &counts {
        text.push_str(&format!("  {table:<18} {n}\n"));
    }
    text.push_str(&format!("\nRecent runs ({})\n", runs.len()));
    let mut t = Table::new(&[
        "run", "kind", "started", "ended", "outcome", "calls", "429s", "changes", "error",
    ]);
    for r in &runs {
        let changes: u64 = r
            .changes
            .as_deref()
            .and_then(|c| serde_json::from_str::<oktasync_store::Changes>(c).ok())
            .map(|c| c.values().map(|x| x.total()).sum())
            .unwrap_or(0);
        t.row(vec![
            r.run_id.to_string(),
            r.kind.clone(),
            r.started_at.clone(),
            opt(r.ended_at.as_ref()),
            r.outcome.clone(),
            opt(r.api_calls),
            opt(r.http_429),
            changes.to_string(),
            opt(r.error.as_ref()),
        ]);
    }
    text.push_str(&indent(&t.render()));
    write_stdout(&text)
}

/// The singular name written as `kind` for each list of the export object.
fn kind_of(list: &str) -> &str {
    match list {
        "users" => "user",
        "groups" => "group",
        "apps" => "app",
        "idps" => "idp",
        "group_members" => "group_member",
        "app_users" => "app_user",
        "app_groups" => "app_group",
        "role_assignments" => "role_assignment",
        other => other,
    }
}

/// The order of lists in `export --format ndjson`: objects before the pairs that name them.
const NDJSON_ORDER: &[&str] = &[
    "users",
    "groups",
    "group_members",
    "apps",
    "app_users",
    "app_groups",
    "role_assignments",
    "idps",
];

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        || e.downcast_ref::<serde_json::Error>()
            .and_then(|j| j.io_error_kind())
            .is_some_and(|k| k == std::io::ErrorKind::BrokenPipe)
}

/// Where output goes: a file, or stdout.
fn sink(out: Option<&Path>) -> Result<Box<dyn Write>> {
    Ok(match out {
        Some(path) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    })
}

fn finish(mut w: Box<dyn Write>) -> Result<()> {
    match w.flush() {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
}

pub async fn export(store: &SqliteStore, org: OrgId, args: &ExportArgs) -> Result<()> {
    match args.format {
        ExportFormat::Json => {
            // Exactly the store's export object (the emulator's form), compact like the
            // emulator's response body, so the two compare byte for byte.
            let value = store.export_json(org).await?;
            let mut w = sink(args.out.as_deref())?;
            match serde_json::to_writer(&mut w, &value) {
                Err(e) if e.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe) => Ok(()),
                Err(e) => Err(e.into()),
                Ok(()) => finish(w),
            }
        }
        ExportFormat::Ndjson => {
            let value = store.export_json(org).await?;
            let Value::Object(mut lists) = value else {
                bail!("the store's export is not a JSON object");
            };
            let mut w = sink(args.out.as_deref())?;
            let mut names: Vec<String> = NDJSON_ORDER.iter().map(|s| s.to_string()).collect();
            names.extend(
                lists
                    .keys()
                    .filter(|k| !NDJSON_ORDER.contains(&k.as_str()))
                    .cloned(),
            );
            let written = (|| -> Result<()> {
                for list in names {
                    let Some(Value::Array(items)) = lists.remove(&list) else {
                        continue;
                    };
                    let prefix = format!("{{\"kind\":{}", serde_json::to_string(kind_of(&list))?);
                    for item in items {
                        // `kind` first, then the object's own fields in their order.
                        let body = serde_json::to_string(&item)?;
                        w.write_all(prefix.as_bytes())?;
                        match body.strip_prefix('{') {
                            Some("}") => w.write_all(b"}")?,
                            Some(rest) => {
                                w.write_all(b",")?;
                                w.write_all(rest.as_bytes())?;
                            }
                            None => {
                                w.write_all(b",\"value\":")?;
                                w.write_all(body.as_bytes())?;
                                w.write_all(b"}")?;
                            }
                        }
                        w.write_all(b"\n")?;
                    }
                }
                Ok(())
            })();
            match written {
                Err(e) if is_broken_pipe(&e) => Ok(()),
                Err(e) => Err(e),
                Ok(()) => finish(w),
            }
        }
        ExportFormat::Csv => {
            let dir = args.out.clone().unwrap_or_else(|| "oktasync-export".into());
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create directory {}", dir.display()))?;
            for table in StoreTable::ALL {
                let (columns, rows) = query::table_rows(store, org, table).await?;
                let path = dir.join(format!("{}.csv", table.as_str()));
                let mut w = sink(Some(&path))?;
                write_csv_row(&mut w, columns.iter().map(|c| Some(c.as_str())))?;
                for row in &rows {
                    write_csv_row(&mut w, row.iter().map(|c| c.as_deref()))?;
                }
                finish(w)?;
                eprintln!("wrote {} ({} rows)", path.display(), rows.len());
            }
            Ok(())
        }
    }
}

/// One RFC 4180 line: fields with a comma, quote or line break are quoted, quotes doubled.
fn write_csv_row<'a>(
    w: &mut dyn Write,
    cells: impl Iterator<Item = Option<&'a str>>,
) -> Result<()> {
    let mut line = String::new();
    for (i, cell) in cells.enumerate() {
        if i > 0 {
            line.push(',');
        }
        let cell = cell.unwrap_or("");
        if cell.contains([',', '"', '\n', '\r']) {
            line.push('"');
            line.push_str(&cell.replace('"', "\"\""));
            line.push('"');
        } else {
            line.push_str(cell);
        }
    }
    line.push_str("\r\n");
    w.write_all(line.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let mut out = Vec::new();
        write_csv_row(
            &mut out,
            [Some("a"), None, Some("b,c"), Some("say \"hi\"")].into_iter(),
        )
        .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a,,\"b,c\",\"say \"\"hi\"\"\"\r\n"
        );
    }
}
