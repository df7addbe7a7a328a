//! `oktasync`: mirror an Okta org into SQLite and ask the mirror questions.
//!
//! The binary is thin: it reads settings ([`config`]), parses the command line ([`cli`]), and
//! hands the work to `okta-api`, `oktasync-engine` and `oktasync-store`.

mod ask;
mod bench;
mod cli;
mod config;
mod connect;
mod demo;
mod doctor;
mod history;
mod init;
mod output;
mod progress;
mod sync;

use anyhow::Result;
use clap::Parser;
use cli::{Cli, Command};
use config::{Layer, Settings, Sources};
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Logs go to stderr; `OKTASYNC_LOG` (or `RUST_LOG`) picks the level, warnings by default.
fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("OKTASYNC_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .or_else(|| EnvFilter::try_from_default_env().ok())
        // sqlx reports statements over 1 s at warn; a large sync has several by design.
        .unwrap_or_else(|| EnvFilter::new("warn,sqlx::query=error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Settings for this invocation: file, environment, then the flags given.
fn load_settings(cli: &Cli, extra: Layer) -> Result<Settings> {
    let flags = Layer {
        org_url: cli.org_url.clone(),
        db: cli.db.clone(),
        ..extra
    };
    let settings = Settings::load(Sources {
        config_file: cli.config.clone(),
        flags,
    })?;
    for key in &settings.unknown_keys {
        eprintln!("warning: unknown setting {key} ignored");
    }
    Ok(settings)
}

/// The config layer of `sync` and `watch` flags.
fn sync_flags(args: &cli::SyncArgs) -> Layer {
    Layer {
        resources: args.resources.clone(),
        factors: args.factors.map(|f| format!("{f:?}").to_ascii_lowercase()),
        ..Layer::default()
    }
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match &cli.command {
        Command::Init { force } => {
            let path = cli
                .config
                .clone()
                .unwrap_or_else(|| PathBuf::from(config::DEFAULT_CONFIG_FILE));
            init::write_template(&path, *force)?;
            eprintln!(
                "wrote {}: set org_url, then provide a credential (see the comments in the file)",
                path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Doctor => {
            let settings = load_settings(&cli, Layer::default())?;
            let checks = doctor::run_checks(&settings).await;
            let ok = doctor::report(&checks, cli.json)?;
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Users(_)
        | Command::Changes(_)
        | Command::User { .. }
        | Command::Groups
        | Command::Group { .. }
        | Command::Apps
        | Command::App { .. }
        | Command::Admins
        | Command::Status { .. }
        | Command::Export(_) => {
            let settings = load_settings(&cli, Layer::default())?;
            let store = connect::open_existing(&settings.db).await?;
            let org = connect::mirror_org(&store, cli.org_url.as_deref()).await?;
            let json = cli.json;
            match &cli.command {
                Command::Users(args) => ask::users(&store, org, args, json).await?,
                Command::User {
                    id_or_login,
                    at: None,
                } => ask::user(&store, org, id_or_login, json).await?,
                Command::User {
                    id_or_login,
                    at: Some(at),
                } => history::user_at(&store, org, id_or_login, at, json).await?,
                Command::Changes(args) => history::changes(&store, org, args, json).await?,
                Command::Groups => ask::groups(&store, org, json).await?,
                Command::Group {
                    id_or_name,
                    at: None,
                } => ask::group(&store, org, id_or_name, json).await?,
                Command::Group {
                    id_or_name,
                    at: Some(at),
                } => history::group_at(&store, org, id_or_name, at, json).await?,
                Command::Apps => ask::apps(&store, org, json).await?,
                Command::App { id_or_label } => ask::app(&store, org, id_or_label, json).await?,
                Command::Admins => ask::admins(&store, org, json).await?,
                Command::Status { limit } => ask::status(&store, org, *limit, json).await?,
                Command::Export(args) => ask::export(&store, org, args).await?,
                _ => unreachable!("matched above"),
            }
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Sync(args) => {
            let settings = load_settings(&cli, sync_flags(args))?;
            sync::sync(&settings, args.full, cli.json).await
        }
        Command::Watch(args) => {
            let settings = load_settings(&cli, sync_flags(&args.sync))?;
            sync::watch(&settings, args, cli.json).await
        }
        Command::Demo { seed } => demo::demo(cli.db.clone(), *seed, cli.json).await,
        Command::Bench(args) => bench::bench(args, cli.json).await,
    }
}
