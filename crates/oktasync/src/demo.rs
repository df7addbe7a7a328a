//! `oktasync demo`: an emulated org in this process, synced into `./oktasync-demo.db`.

use crate::output::write_stdout;
use crate::sync;
use anyhow::{Context, Result, bail};
use okta_api::{ClientConfig, Credentials, OktaClient, OrgUrl, SecretString};
use okta_emulator::{EmulatorConfig, OrgSize};
use oktasync_engine::SyncOptions;
use oktasync_store::{SqliteStore, Store, query};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Where the demo mirror goes unless `--db` says otherwise.
pub const DEMO_DB: &str = "oktasync-demo.db";

/// A previous demo's mirror names an emulator on a port that is gone; remove it so the new
/// demo's mirror holds one org. A file holding anything but loopback orgs is left alone.
async fn clear_previous_demo(db: &Path) -> Result<()> {
    if !db.exists() {
        return Ok(());
    }
    let store = SqliteStore::open(db).await?;
    let orgs = store.orgs().await?;
    store.close().await;
    if let Some((_, url)) = orgs
        .iter()
        .find(|(_, u)| !u.starts_with("http://127.0.0.1:"))
    {
        bail!(
            "{} holds a mirror of {url}, not a demo; pass another --db for the demo",
            db.display()
        );
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
    let outcome = sync::run(
        &client,
        &db,
        &SyncOptions::default(),
        oktasync_engine::SyncMode::Auto,
    )
    .await;
    emulator.shutdown().await;
    let summary = match outcome? {
        Ok(summary) => summary,
        Err((summary, message)) => {
            if json {
                sync::print_summary_json(&summary)?;
            }
            bail!("the demo sync failed: {message}");
        }
    };
    if json {
        sync::print_summary_json(&summary)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut text = sync::describe(&summary, &db);
    text.push_str(&next_steps(&db).await?);
    write_stdout(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// Commands to try next, naming real objects from the mirror.
async fn next_steps(db: &Path) -> Result<String> {
    let store = SqliteStore::open(db).await?;
    let org = crate::connect::mirror_org(&store, None).await?;
    let admins = query::admins(&store, org).await?;
    let groups = query::groups(&store, org).await?;
    let apps = query::apps(&store, org).await?;
    store.close().await;
    let d = db.display();
    let quote = |s: &str| {
        if s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "@._-".contains(c))
        {
            s.to_owned()
        } else {
            format!("'{}'", s.replace('\'', "'\\''"))
        }
    };
    let mut text = String::from("\nTry next");
    // After `cargo run`, say where the binary is: it is not on the PATH.
    if let (Ok(exe), Ok(cwd)) = (std::env::current_exe(), std::env::current_dir())
        && let Ok(relative) = exe.strip_prefix(&cwd)
    {
        text.push_str(&format!(" (oktasync is ./{})", relative.display()));
    }
    text.push_str(":\n");
    text.push_str(&format!("  oktasync users --db {d} --search smith\n"));
    text.push_str(&format!(
        "  oktasync users --db {d} --status DEPROVISIONED\n"
    ));
    if let Some(login) = admins.iter().find_map(|a| a.login.clone()) {
        text.push_str(&format!("  oktasync user {} --db {d}\n", quote(&login)));
    }
    if let Some(g) = groups
        .iter()
        .filter(|g| g.group_type.as_deref() == Some("OKTA_GROUP"))
        .max_by_key(|g| g.members)
        .and_then(|g| g.name.clone())
    {
        text.push_str(&format!("  oktasync group {} --db {d}\n", quote(&g)));
    }
    if let Some(label) = apps
        .iter()
        .max_by_key(|a| a.users)
        .and_then(|a| a.label.clone())
    {
        text.push_str(&format!("  oktasync app {} --db {d}\n", quote(&label)));
    }
    text.push_str(&format!("  oktasync admins --db {d}\n"));
    text.push_str(&format!("  oktasync status --db {d}\n"));
    text.push_str(&format!(
        "  oktasync export --db {d} --format ndjson | head\n"
    ));
    text.push_str(&format!(
        "  sqlite3 {d} 'SELECT login, via, via_group_name, role_type FROM admins'\n"
    ));
    Ok(text)
}
