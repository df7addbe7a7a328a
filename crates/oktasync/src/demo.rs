//! `oktasync demo`: an emulated org in this process, synced into `./oktasync-demo.db`, then
//! changed (and attacked: an MFA push-bombing played into its System Log) and synced again
//! incrementally, so that the change log, `--at`, detection and posture have something to
//! show.

use crate::output::write_stdout;
use crate::sync;
use anyhow::{Context, Result, bail};
use okta_api::{ClientConfig, Credentials, OktaClient, OrgUrl, SecretString};
use okta_emulator::{EmulatorConfig, OrgSize};
use oktasync_engine::{RunSummary, SyncMode, SyncOptions};
use oktasync_store::{ChangeQuery, DbLocation, FileState, MirrorReader, SqliteStore};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Where the demo mirror goes unless `--db` says otherwise.
pub const DEMO_DB: &str = "oktasync-demo.db";

/// The `mirror_meta` entry that marks a mirror the demo made, and so may replace.
const CREATED_BY: (&str, &str) = ("created_by", "demo");

/// Random changes the demo makes to the org between its two syncs.
const DEMO_CHURN_OPS: usize = 40;

/// The attack the demo plays into the emulated org's System Log between its two syncs.
const DEMO_SCENARIO: &str = "push-bombing";

/// The demo replaces only a mirror an earlier demo made (marked in `mirror_meta`); any other
/// file at the path, a mirror of a real org or a database of another program, is refused
/// before anything in it is touched.
async fn clear_previous_demo(db: &Path) -> Result<()> {
    let state = SqliteStore::inspect(db).await?;
    let made_by_demo = match &state {
        FileState::Missing => return Ok(()),
        FileState::Mirror => {
            let store = SqliteStore::open_read_only(db).await?;
            let mark = store.meta(CREATED_BY.0).await?;
            store.close().await;
            mark.as_deref() == Some(CREATED_BY.1)
        }
        _ => false,
    };
    if !made_by_demo {
        let what = match state {
            FileState::Foreign(what) => format!("is not an oktasync mirror: it is {what}"),
            FileState::Empty => "is not an oktasync mirror: it is an empty file".into(),
            _ => "is an oktasync mirror that `oktasync demo` did not make".into(),
        };
        return Err(crate::exit::database(anyhow::anyhow!(
            "{} {what}. The demo replaces only a mirror it made itself, so nothing was \
             changed: pass another path with --db, or remove the file yourself if you no \
             longer need it",
            db.display()
        )));
    }
    for suffix in ["", "-wal", "-shm"] {
        let mut path = db.as_os_str().to_owned();
        path.push(suffix);
        let path = PathBuf::from(path);
        if path.exists() {
            std::fs::remove_file(&path).with_context(|| {
                format!("cannot remove the previous demo mirror {}", path.display())
            })?;
        }
    }
    Ok(())
}

/// Creates the demo's mirror file with its mark, so a later demo knows it may replace it.
async fn create_marked(db: &Path) -> Result<()> {
    let store = SqliteStore::open(db).await?;
    store.set_meta(CREATED_BY.0, CREATED_BY.1).await?;
    store.close().await;
    Ok(())
}

async fn run_sync(client: &OktaClient, db: &Path, json: bool) -> Result<RunSummary> {
    let location = DbLocation::Sqlite(db.to_path_buf());
    match sync::run(
        client,
        &location,
        &SyncOptions::default(),
        SyncMode::Auto,
        None,
        sync::WhenHeld::Refuse,
    )
    .await?
    {
        Ok(summary) => Ok(summary),
        Err((summary, cause)) => {
            if json {
                sync::print_summary_json(&summary)?;
            }
            bail!("the demo sync failed: {cause}");
        }
    }
}

pub async fn demo(db: Option<PathBuf>, seed: u64, json: bool) -> Result<ExitCode> {
    let db = db.unwrap_or_else(|| PathBuf::from(DEMO_DB));
    clear_previous_demo(&db).await?;
    eprintln!("Starting an emulated Okta org (size small, seed {seed}) in this process...");
    let emulator = okta_emulator::start(EmulatorConfig {
        seed,
        size: OrgSize::Small,
        ..EmulatorConfig::default()
    })
    .await
    .context("the emulator did not start")?;
    eprintln!(
        "Emulator listening on {}; syncing it into {}",
        emulator.base_url(),
        db.display()
    );
    let client = OktaClient::new(
        OrgUrl::parse(&emulator.base_url())?,
        Credentials::ApiToken(SecretString::from(emulator.token().to_owned())),
        ClientConfig::default(),
    )?;
    create_marked(&db).await?;
    let full = run_sync(&client, &db, json).await;
    let full = match full {
        Ok(s) => s,
        Err(e) => {
            emulator.shutdown().await;
            return Err(e);
        }
    };
    // A second apart, so that "before the changes" is a time the history can tell apart.
    let before_changes = chrono::Utc::now();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let churned = emulator.churn(seed, DEMO_CHURN_OPS);
    let played = play_scenario(&emulator).await;
    eprintln!(
        "Changed the emulated org ({} random changes, {} System Log events) and played an \
         MFA push-bombing attack into its log; syncing again",
        churned.ops, churned.events
    );
    let incremental = run_sync(&client, &db, json).await;
    emulator.shutdown().await;
    let incremental = incremental?;
    played?;
    if json {
        sync::print_summary_json(&full)?;
        sync::print_summary_json(&incremental)?;
        return Ok(ExitCode::SUCCESS);
    }
    let location = DbLocation::Sqlite(db.clone());
    let mut text = sync::describe(&full, &location);
    text.push('\n');
    text.push_str(&sync::describe(&incremental, &location));
    let cmd = command_prefix();
    text.push_str(&what_changed(&db, &cmd, before_changes).await?);
    text.push_str(&security(&db, &cmd).await?);
    text.push_str(&next_steps(&db, &cmd).await?);
    write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// How to run oktasync as printed: `oktasync` when it is on the PATH, else the path of this
/// binary (after `cargo run`, `./target/release/oktasync`).
fn command_prefix() -> String {
    let exe = std::env::current_exe().ok();
    let this = exe.as_ref().and_then(|e| e.canonicalize().ok());
    let on_path = std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths)
            .any(|dir| this.is_some() && dir.join("oktasync").canonicalize().ok() == this)
    });
    if on_path {
        return "oktasync".into();
    }
    match (exe, std::env::current_dir()) {
        (Some(exe), Ok(cwd)) => match exe.strip_prefix(&cwd) {
            Ok(relative) => format!("./{}", relative.display()),
            Err(_) => quote(&exe.display().to_string()),
        },
        _ => "oktasync".into(),
    }
}

fn quote(s: &str) -> String {
    if s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "@._-/+".contains(c))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// What the incremental run changed, from the change log, and an `--at` command whose answer
/// differs from today's.
async fn what_changed(
    db: &Path,
    cmd: &str,
    before: chrono::DateTime<chrono::Utc>,
) -> Result<String> {
    let store = SqliteStore::open_read_only(db).await?;
    let org = crate::connect::mirror_org(&store, None).await?;
    let records = store
        .changes(
            org,
            &ChangeQuery {
                since: Some(before),
                ..ChangeQuery::default()
            },
        )
        .await?;
    store.close().await;
    let d = quote(&db.display().to_string());
    let mut text = format!(
        "\nWhat the second sync changed ({} rows; `{cmd} changes --db {d}` lists them all):\n",
        records.len()
    );
    for c in records.iter().take(8) {
        let who = c
            .user_login
            .clone()
            .or_else(|| c.user_id.clone())
            .unwrap_or_default();
        let group = c
            .group_name
            .as_ref()
            .map(|g| format!(" group {g}"))
            .unwrap_or_default();
        let fields = if c.changed_fields.is_empty() {
            String::new()
        } else {
            format!(" ({})", c.changed_fields.join(", "))
        };
        text.push_str(&format!(
            "  {:<7} {:<14} {who}{group}{fields}\n",
            c.op, c.entity
        ));
    }
    let at = before.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    if let Some(change) = records
        .iter()
        .find(|c| c.entity == "group_members" && c.group_name.is_some())
    {
        let group = change.group_name.clone().unwrap_or_default();
        let verb = if change.op == "add" { "joined" } else { "left" };
        text.push_str(&format!(
            "\n{} {verb} {group} in the second sync. The group before the changes, and now:\n  \
             {cmd} group {} --db {d} --at {at}\n  {cmd} group {} --db {d}\n",
            change
                .user_login
                .clone()
                .or_else(|| change.user_id.clone())
                .unwrap_or_default(),
            quote(&group),
            quote(&group),
        ));
    } else if let Some(user) = records.iter().find_map(|c| c.user_login.clone()) {
        text.push_str(&format!(
            "\nA user as of before the changes, and now:\n  {cmd} user {} --db {d} --at {at}\n  {cmd} user {} --db {d}\n",
            quote(&user),
            quote(&user)
        ));
    }
    Ok(text)
}

/// Plays [`DEMO_SCENARIO`] through the emulator's control API.
async fn play_scenario(emulator: &okta_emulator::RunningEmulator) -> Result<()> {
    let response = reqwest::Client::new()
        .post(format!("{}/__emulator/scenario", emulator.base_url()))
        .header("Authorization", format!("SSWS {}", emulator.token()))
        .json(&serde_json::json!({"name": DEMO_SCENARIO}))
        .send()
        .await
        .context("the emulator did not play the demo's attack")?;
    if !response.status().is_success() {
        bail!(
            "the emulator refused the demo's attack: {}",
            response.status()
        );
    }
    Ok(())
}

/// Detection over the kept System Log and posture over the mirror, as `oktasync detect` and
/// `oktasync posture` run them.
async fn security(db: &Path, cmd: &str) -> Result<String> {
    let store = oktasync_store::open_writer(&DbLocation::Sqlite(db.to_path_buf())).await?;
    let org = crate::connect::mirror_org(&store, None).await?;
    let now = chrono::Utc::now();
    let detected = oktasync_detect::Detector::builtin()
        .run(&store, org, oktasync_detect::Range::New, now)
        .await?;
    let posture = oktasync_posture::Posture::builtin()
        .run(&store, org, now, true)
        .await?;
    store.close().await;
    let d = quote(&db.display().to_string());
    let mut alerts = detected.new_alerts;
    alerts.sort_by_key(|a| std::cmp::Reverse(a.severity.parse::<oktasync_store::Severity>().ok()));
    let mut text = format!(
        "\nDetection: {} rules over {} kept System Log events raised {} alerts \
         (`{cmd} alerts --db {d}`):\n",
        detected.rules,
        detected.events,
        alerts.len()
    );
    for a in alerts.iter().take(5) {
        text.push_str(&format!(
            "  {:<8} {:<34} {} ({})\n",
            a.severity, a.rule_id, a.entity, a.summary
        ));
    }
    let mut failing: Vec<_> = posture
        .checks
        .iter()
        .filter(|c| c.status == oktasync_posture::CheckStatus::Fail)
        .collect();
    failing.sort_by_key(|c| std::cmp::Reverse(c.severity));
    text.push_str(&format!(
        "\nPosture: {} of {} checks fail (`{cmd} posture --db {d}`):\n",
        failing.len(),
        posture.checks.len()
    ));
    for c in failing.iter().take(5) {
        text.push_str(&format!(
            "  {:<8} {:<44} {} findings\n",
            c.severity.as_str(),
            c.id,
            c.findings.len()
        ));
    }
    Ok(text)
}

/// Commands to try next, naming real objects from the mirror.
async fn next_steps(db: &Path, cmd: &str) -> Result<String> {
    let store = SqliteStore::open_read_only(db).await?;
    let org = crate::connect::mirror_org(&store, None).await?;
    let admins = store.admins(org).await?;
    let groups = store.groups(org).await?;
    let apps = store.apps(org).await?;
    store.close().await;
    let d = quote(&db.display().to_string());
    let mut text = String::from("\nTry next:\n");
    text.push_str(&format!("  {cmd} users --db {d} --search smith\n"));
    text.push_str(&format!(
        "  {cmd} users --db {d} --status SUSPENDED,DEPROVISIONED\n"
    ));
    if let Some(login) = admins.iter().find_map(|a| a.login.clone()) {
        text.push_str(&format!("  {cmd} user {} --db {d}\n", quote(&login)));
    }
    if let Some(g) = groups
        .iter()
        .filter(|g| g.group_type.as_deref() == Some("OKTA_GROUP"))
        .max_by_key(|g| g.members)
        .and_then(|g| g.name.clone())
    {
        text.push_str(&format!(
            "  {cmd} group {} --db {d} --format csv\n",
            quote(&g)
        ));
    }
    if let Some(label) = apps
        .iter()
        .max_by_key(|a| a.users)
        .and_then(|a| a.label.clone())
    {
        text.push_str(&format!(
            "  {cmd} app {} --db {d} --active\n",
            quote(&label)
        ));
    }
    text.push_str(&format!("  {cmd} admins --db {d}\n"));
    text.push_str(&format!("  {cmd} changes --db {d}\n"));
    text.push_str(&format!("  {cmd} logs --db {d} --type 'user.mfa.*'\n"));
    text.push_str(&format!(
        "  {cmd} posture --db {d} --min-severity high --format sarif\n"
    ));
    text.push_str(&format!("  {cmd} status --db {d}\n"));
    text.push_str(&format!("  {cmd} export --db {d} --format ndjson | head\n"));
    text.push_str(&format!(
        "  sqlite3 -readonly {d} 'SELECT login, user_status, via, via_group_name, role_type FROM admins'\n"
    ));
    if cmd != "oktasync" {
        text.push_str(
            "\nTo run it as plain `oktasync`: cargo install --path crates/oktasync --locked\n",
        );
    }
    Ok(text)
}
