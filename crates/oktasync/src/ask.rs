//! The commands that ask the mirror: users, user, groups, group, apps, app, admins, status,
//! export. Tables for people, JSON for programs, CSV for spreadsheets.

use crate::cli::{ExportArgs, ExportFormat, OutputFormat, UsersArgs};
use crate::output::{Table, csv_line, opt, print_json, print_list, printable_lines, write_stdout};
use anyhow::{Context, Result, bail};
use oktasync_store::query::{UserFilter, UserRow};
use oktasync_store::{MirrorReader, OrgId, SyncRunRecord, Table as StoreTable};
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

pub fn user_table(rows: &[UserRow]) -> Table {
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

/// Is this user status ACTIVE (what `--active` keeps)?
fn is_active(status: Option<&String>) -> bool {
    status.is_some_and(|s| s == "ACTIVE")
}

/// The statuses given to `--status`, upper-cased; an unknown one is an error naming them all.
fn parse_statuses(given: &[String]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for status in given.iter().map(|s| s.trim()).filter(|s| !s.is_empty()) {
        let upper = status.to_ascii_uppercase();
        if !okta_api::USER_STATUSES.contains(&upper.as_str()) {
            bail!(
                "unknown user status {status:?}; Okta's statuses are {}",
                okta_api::USER_STATUSES.join(", ")
            );
        }
        out.push(upper);
    }
    Ok(out)
}

/// The id of the group with this id or name; an unknown group is an error.
async fn group_id(store: &dyn MirrorReader, org: OrgId, id_or_name: &str) -> Result<String> {
    Ok(store.find_group(org, id_or_name)
        .await?
        .with_context(|| {
            format!(
                "no group with id or name {id_or_name:?} in the mirror; list them with `oktasync groups`"
            )
        })?
        .id)
}

pub async fn users(
    store: &dyn MirrorReader,
    org: OrgId,
    args: &UsersArgs,
    format: OutputFormat,
) -> Result<()> {
    let group_id = match &args.group {
        Some(g) => Some(group_id(store, org, g).await.map_err(crate::exit::config)?),
        None => None,
    };
    let filter = UserFilter {
        statuses: parse_statuses(&args.status).map_err(crate::exit::config)?,
        group_id,
        department: args.department.clone(),
        search: args.search.clone(),
        updated_since: None,
    };
    let rows = store.users(org, &filter).await?;
    print_list(format, &rows, &user_table(&rows), "users")
}

pub async fn user(
    store: &dyn MirrorReader,
    org: OrgId,
    id_or_login: &str,
    format: OutputFormat,
) -> Result<()> {
    let detail = store.user(org, id_or_login)
        .await?
        .with_context(|| format!("no user with id or login {id_or_login:?} in the mirror; try `oktasync users --search TEXT`"))?;
    match format {
        OutputFormat::Json => return print_json(&detail),
        OutputFormat::Csv => {
            return write_stdout(&user_table(std::slice::from_ref(&detail.user)).to_csv(false));
        }
        OutputFormat::Table => {}
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
    text.push_str(&user_sections(
        &detail
            .groups
            .iter()
            .map(|g| {
                vec![
                    g.group_id.clone(),
                    opt(g.group_name.as_ref()),
                    opt(g.group_type.as_ref()),
                ]
            })
            .collect::<Vec<_>>(),
        &detail
            .apps
            .iter()
            .map(|a| {
                vec![
                    a.app_id.clone(),
                    opt(a.app_label.as_ref()),
                    a.via.clone(),
                    opt(a.via_group_name.as_ref()),
                ]
            })
            .collect::<Vec<_>>(),
        &detail
            .admin_roles
            .iter()
            .map(|r| {
                vec![
                    opt(r.role_type.as_ref()),
                    r.via.clone(),
                    opt(r.via_group_name.as_ref()),
                ]
            })
            .collect::<Vec<_>>(),
    ));
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
    if !detail.roles.is_empty() {
        // The configured [[roles]] (as last applied), each with how it comes.
        text.push_str(&format!("\nRoles ({} ways)\n", detail.roles.len()));
        let mut t = Table::new(&["role", "via", "id", "name"]);
        for r in &detail.roles {
            t.row(vec![
                r.role.clone(),
                r.via.clone(),
                r.via_id.clone(),
                opt(r.via_name.as_ref()),
            ]);
        }
        text.push_str(&indent(&t.render()));
    }
    write_stdout(&printable_lines(&text))
}

/// The groups, apps and admin roles sections of a user, the same for `user` and `user --at`:
/// rows of (group id, name, type), (app id, label, via, group), (role, via, group).
pub fn user_sections(
    groups: &[Vec<String>],
    apps: &[Vec<String>],
    roles: &[Vec<String>],
) -> String {
    let mut text = format!("\nGroups ({})\n", groups.len());
    let mut t = Table::new(&["id", "name", "type"]);
    groups.iter().for_each(|r| t.row(r.clone()));
    text.push_str(&indent(&t.render()));
    text.push_str(&format!("\nApps ({} ways in)\n", apps.len()));
    let mut t = Table::new(&["app", "label", "via", "group"]);
    apps.iter().for_each(|r| t.row(r.clone()));
    text.push_str(&indent(&t.render()));
    text.push_str(&format!("\nAdmin roles ({})\n", roles.len()));
    let mut t = Table::new(&["role", "via", "group"]);
    roles.iter().for_each(|r| t.row(r.clone()));
    text.push_str(&indent(&t.render()));
    text
}

pub fn indent(text: &str) -> String {
    text.lines().map(|l| format!("  {l}\n")).collect()
}

pub async fn groups(store: &dyn MirrorReader, org: OrgId, format: OutputFormat) -> Result<()> {
    let rows = store.groups(org).await?;
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
    print_list(format, &rows, &t, "groups")
}

pub async fn group(
    store: &dyn MirrorReader,
    org: OrgId,
    id_or_name: &str,
    active_only: bool,
    format: OutputFormat,
) -> Result<()> {
    let mut detail = store.group(org, id_or_name)
        .await?
        .with_context(|| format!("no group with id or name {id_or_name:?} in the mirror; list them with `oktasync groups`"))?;
    if active_only {
        detail.member_users.retain(|u| is_active(u.status.as_ref()));
    }
    match format {
        OutputFormat::Json => return print_json(&detail),
        OutputFormat::Csv => return write_stdout(&user_table(&detail.member_users).to_csv(false)),
        OutputFormat::Table => {}
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
    text.push_str(&group_sections(
        &detail
            .apps
            .iter()
            .map(|a| vec![a.app_id.clone(), opt(a.app_label.as_ref()), opt(a.priority)])
            .collect::<Vec<_>>(),
        &detail
            .roles
            .iter()
            .map(|r| {
                vec![
                    opt(r.role_type.as_ref()),
                    opt(r.role_label.as_ref()),
                    opt(r.status.as_ref()),
                ]
            })
            .collect::<Vec<_>>(),
        &user_table(&detail.member_users),
        active_only,
    ));
    write_stdout(&printable_lines(&text))
}

/// The apps, roles and members sections of a group, the same for `group` and `group --at`.
pub fn group_sections(
    apps: &[Vec<String>],
    roles: &[Vec<String>],
    members: &Table,
    active_only: bool,
) -> String {
    let mut text = format!("\nAssigned to apps ({})\n", apps.len());
    let mut t = Table::new(&["app", "label", "priority"]);
    apps.iter().for_each(|r| t.row(r.clone()));
    text.push_str(&indent(&t.render()));
    text.push_str(&format!(
        "\nAdmin roles its members hold ({})\n",
        roles.len()
    ));
    let mut t = Table::new(&["role", "label", "status"]);
    roles.iter().for_each(|r| t.row(r.clone()));
    text.push_str(&indent(&t.render()));
    text.push_str(&format!(
        "\n{} ({})\n",
        if active_only {
            "Active members"
        } else {
            "Members"
        },
        members.len()
    ));
    text.push_str(&indent(&members.render()));
    text
}

pub async fn apps(store: &dyn MirrorReader, org: OrgId, format: OutputFormat) -> Result<()> {
    let rows = store.apps(org).await?;
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
    print_list(format, &rows, &t, "apps")
}

pub async fn app(
    store: &dyn MirrorReader,
    org: OrgId,
    id_or_label: &str,
    active_only: bool,
    format: OutputFormat,
) -> Result<()> {
    let mut detail = store.app(org, id_or_label).await?.with_context(|| {
        format!(
            "no app with id or label {id_or_label:?} in the mirror; list them with `oktasync apps`"
        )
    })?;
    if active_only {
        detail.access.retain(|a| is_active(a.user_status.as_ref()));
    }
    let mut access = Table::new(&["user", "login", "status", "via", "group"]);
    for x in &detail.access {
        access.row(vec![
            x.user_id.clone(),
            opt(x.login.as_ref()),
            opt(x.user_status.as_ref()),
            x.via.clone(),
            opt(x.via_group_name.as_ref()),
        ]);
    }
    match format {
        OutputFormat::Json => return print_json(&detail),
        OutputFormat::Csv => return write_stdout(&access.to_csv(false)),
        OutputFormat::Table => {}
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
        "\nWho has access, and through what ({} ways in{})\n",
        detail.access.len(),
        if active_only {
            ", ACTIVE users only"
        } else {
            ""
        }
    ));
    text.push_str(&indent(&access.render()));
    write_stdout(&printable_lines(&text))
}

pub async fn admins(
    store: &dyn MirrorReader,
    org: OrgId,
    active_only: bool,
    format: OutputFormat,
) -> Result<()> {
    let mut rows = store.admins(org).await?;
    if active_only {
        rows.retain(|r| is_active(r.user_status.as_ref()));
    }
    let mut t = Table::new(&["user", "login", "status", "role", "via", "group"]);
    for r in &rows {
        t.row(vec![
            r.user_id.clone(),
            opt(r.login.as_ref()),
            opt(r.user_status.as_ref()),
            opt(r.role_type.as_ref()),
            r.via.clone(),
            opt(r.via_group_name.as_ref()),
        ]);
    }
    print_list(format, &rows, &t, "role holdings")
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

pub async fn status(
    store: &dyn MirrorReader,
    org: OrgId,
    limit: u32,
    format: OutputFormat,
) -> Result<()> {
    let runs = store.recent_runs(org, limit).await?;
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
            r.kind.to_string(),
            r.started_at.clone(),
            opt(r.ended_at.as_ref()),
            r.outcome.to_string(),
            opt(r.api_calls),
            opt(r.http_429),
            changes.to_string(),
            opt(r.error.as_ref()),
        ]);
    }
    match format {
        OutputFormat::Json => return print_json(&runs.iter().map(run_json).collect::<Vec<_>>()),
        OutputFormat::Csv => return write_stdout(&t.to_csv(false)),
        OutputFormat::Table => {}
    }
    let counts = store.counts(org).await?;
    let mut text = String::from("Mirror\n");
    for (table, n) in &counts {
        text.push_str(&format!("  {table:<18} {n}\n"));
    }
    text.push_str(&format!("\nRecent runs ({})\n", runs.len()));
    text.push_str(&indent(&t.render()));
    text.push_str(&grants_status(&store.open_grants(org).await?));
    write_stdout(&text)
}

/// Open grants by state, and each failing removal (the ones a person may need to look at),
/// for `status`; nothing when no grant is open.
fn grants_status(open: &[oktasync_store::Grant]) -> String {
    use oktasync_store::GrantState;
    if open.is_empty() {
        return String::new();
    }
    let mut text = String::from("\nOpen grants\n");
    for state in GrantState::OPEN {
        let n = open.iter().filter(|g| g.state == state).count();
        if n > 0 {
            text.push_str(&format!("  {:<18} {n}\n", state.as_str()));
        }
    }
    let failing: Vec<_> = open
        .iter()
        .filter(|g| g.state == GrantState::RevokeFailed)
        .collect();
    if !failing.is_empty() {
        let mut t = Table::new(&[
            "grant", "user", "group", "expired", "attempts", "next", "error",
        ]);
        for g in failing {
            t.row(vec![
                g.grant_id.to_string(),
                g.user_login.clone().unwrap_or_else(|| g.user_id.clone()),
                g.group_name.clone().unwrap_or_else(|| g.group_id.clone()),
                g.expires_at.clone(),
                g.attempts.to_string(),
                opt(g.next_attempt_at.as_ref()),
                opt(g.last_error.as_ref()),
            ]);
        }
        text.push_str(&format!(
            "\nRemovals failing (retried with backoff; `oktasync grant show ID` for the audit)\n{}",
            indent(&t.render())
        ));
    }
    text
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
        "factors" => "factor",
        "group_rules" => "group_rule",
        "policies" => "policy",
        "policy_rules" => "policy_rule",
        "authenticators" => "authenticator",
        "network_zones" => "network_zone",
        "okta_api_tokens" => "okta_api_token",
        "log_streams" => "log_stream",
        "org_settings" => "org_setting",
        "app_grants" => "app_grant",
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
    "factors",
    "group_rules",
    "policies",
    "policy_rules",
    "authenticators",
    "network_zones",
    "okta_api_tokens",
    "log_streams",
    "org_settings",
    "app_grants",
];

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
        || e.downcast_ref::<serde_json::Error>()
            .and_then(|j| j.io_error_kind())
            .is_some_and(|k| k == std::io::ErrorKind::BrokenPipe)
}

/// An export file being written: created owner-read/write only (like the mirror) as a
/// temporary file beside its destination, renamed into place only when complete, so a full
/// disk or an interruption leaves no partial file under the real name.
struct ExportFile {
    writer: std::io::BufWriter<tempfile::NamedTempFile>,
    path: std::path::PathBuf,
}

impl ExportFile {
    fn create(path: &Path) -> Result<ExportFile> {
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        // NamedTempFile is created with mode 0600.
        let file = tempfile::Builder::new()
            .prefix(".oktasync-export-")
            .tempfile_in(dir)
            .with_context(|| {
                format!(
                    "cannot create a file in {} for {}",
                    dir.display(),
                    path.display()
                )
            })?;
        Ok(ExportFile {
            writer: std::io::BufWriter::new(file),
            path: path.to_path_buf(),
        })
    }

    fn finish(self) -> Result<()> {
        let file = self
            .writer
            .into_inner()
            .map_err(|e| e.into_error())
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        file.as_file()
            .sync_all()
            .with_context(|| format!("cannot write {}", self.path.display()))?;
        file.persist(&self.path)
            .map_err(|e| e.error)
            .with_context(|| {
                format!(
                    "cannot move the export into place at {}",
                    self.path.display()
                )
            })?;
        Ok(())
    }
}

/// Where an export goes: a file (see [`ExportFile`]) or stdout.
enum Sink {
    File(ExportFile),
    Stdout(std::io::BufWriter<std::io::StdoutLock<'static>>),
}

impl Sink {
    fn open(out: Option<&Path>) -> Result<Sink> {
        Ok(match out {
            Some(path) => Sink::File(ExportFile::create(path)?),
            None => Sink::Stdout(std::io::BufWriter::new(std::io::stdout().lock())),
        })
    }

    fn finish(self) -> Result<()> {
        match self {
            Sink::File(f) => f.finish(),
            Sink::Stdout(mut w) => match w.flush() {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => Ok(other?),
            },
        }
    }
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::File(f) => f.writer.write(buf),
            Sink::Stdout(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::File(f) => f.writer.flush(),
            Sink::Stdout(w) => w.flush(),
        }
    }
}

pub async fn export(store: &dyn MirrorReader, org: OrgId, args: &ExportArgs) -> Result<()> {
    match args.format {
        ExportFormat::Json | ExportFormat::Ndjson if args.csv_raw => {
            bail!("--csv-raw applies to --format csv only")
        }
        ExportFormat::Json => {
            // Exactly the store's export object (the emulator's form), compact like the
            // emulator's response body, so the two compare byte for byte.
            let value = store.export_json(org).await?;
            let mut w = Sink::open(args.out.as_deref())?;
            match serde_json::to_writer(&mut w, &value) {
                Err(e) if e.io_error_kind() == Some(std::io::ErrorKind::BrokenPipe) => Ok(()),
                Err(e) => Err(e.into()),
                Ok(()) => w.finish(),
            }
        }
        ExportFormat::Ndjson => {
            let value = store.export_json(org).await?;
            let Value::Object(mut lists) = value else {
                bail!("the store's export is not a JSON object");
            };
            let mut w = Sink::open(args.out.as_deref())?;
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
                Ok(()) => w.finish(),
            }
        }
        ExportFormat::Csv => {
            let dir = args.out.clone().unwrap_or_else(|| "oktasync-export".into());
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create directory {}", dir.display()))?;
            for table in StoreTable::ALL {
                let (columns, rows) = store.table_rows(org, table).await?;
                let path = dir.join(format!("{}.csv", table.as_str()));
                let mut w = Sink::open(Some(&path))?;
                let header = csv_line(columns.iter().map(|c| Some(c.as_str())), args.csv_raw);
                w.write_all(header.as_bytes())?;
                for row in &rows {
                    let line = csv_line(row.iter().map(|c| c.as_deref()), args.csv_raw);
                    w.write_all(line.as_bytes())?;
                }
                w.finish()?;
                eprintln!("wrote {} ({} rows)", path.display(), rows.len());
            }
            Ok(())
        }
    }
}

/// `oktasync orgs`: each org in the mirror with its short name, URL, users and last run.
pub async fn orgs(store: &dyn MirrorReader, format: OutputFormat) -> Result<()> {
    let orgs = store.org_list().await?;
    let mut rows = Vec::with_capacity(orgs.len());
    let mut t = Table::new(&["name", "url", "users", "last run", "outcome", "since"]);
    for org in &orgs {
        let users = store
            .counts(org.id)
            .await?
            .get("users")
            .copied()
            .unwrap_or(0);
        let last = store.recent_runs(org.id, 1).await?.into_iter().next();
        t.row(vec![
            org.name.clone(),
            org.url.clone(),
            users.to_string(),
            opt(last
                .as_ref()
                .and_then(|r| r.ended_at.clone().or(Some(r.started_at.clone())))),
            opt(last.as_ref().map(|r| r.outcome.to_string())),
            org.created_at.clone(),
        ]);
        rows.push(json!({
            "name": org.name,
            "url": org.url,
            "created_at": org.created_at,
            "users": users,
            "last_run": last.as_ref().map(run_json),
        }));
    }
    print_list(format, &rows, &t, "orgs")
}
