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
mod detect;
mod doctor;
mod exit;
mod grant;
mod history;
mod init;
mod logs;
mod output;
mod posture;
mod progress;
mod push;
mod roles;
mod serve;
mod sync;

use anyhow::Result;
use clap::{CommandFactory, Parser};
use cli::{Cli, Command, MirrorArgs, OrgArgs};
use config::{Layer, Settings, Sources};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        // A server logs what it does (info); `--log-format json` for log collectors.
        Command::Serve { serve, .. } => {
            init_logging("info", serve.log_format == Some(cli::LogFormat::Json))
        }
        _ => init_logging(DEFAULT_LOG_FILTER, false),
    }
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
            exit::code_for(&e)
        }
    }
}

/// What commands log unless `OKTASYNC_LOG` says otherwise. sqlx reports statements over 1 s
/// at warn; a large sync has several by design. rustls' platform verifier logs every
/// untrusted certificate at error; the client's own error names it once, with the fix.
const DEFAULT_LOG_FILTER: &str = "warn";

/// Logs go to stderr; `OKTASYNC_LOG` (or `RUST_LOG`) picks the level (`level` by default).
/// Colour only on a terminal, so that redirected logs hold no escape codes.
fn init_logging(level: &str, json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("OKTASYNC_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .or_else(|| EnvFilter::try_from_default_env().ok())
        .unwrap_or_else(|| {
            EnvFilter::new(format!(
                "{level},sqlx::query=error,rustls_platform_verifier=off"
            ))
        });
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal() && !json)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Settings for this invocation: file, environment, then the flags given. `--org URL` is
/// `--org-url URL`; `--org NAME` is resolved against the mirror by [`resolve_org_name`].
pub(crate) fn load_settings(org: &OrgArgs, extra: Layer) -> Result<Settings> {
    let org_url = org
        .org_url
        .clone()
        .or_else(|| org.org.clone().filter(|o| connect::names_a_url(o)));
    let flags = Layer {
        org_url,
        db: org.db.clone(),
        ..extra
    };
    let settings = Settings::load(Sources {
        config_file: org.config.config.clone(),
        flags,
    })
    .map_err(exit::config)?;
    for warning in settings.warnings() {
        eprintln!("warning: {warning}");
    }
    Ok(settings)
}

/// The config layer of `sync` and `watch` flags.
fn sync_flags(args: &cli::SyncArgs) -> Layer {
    Layer {
        resources: args.resources.clone(),
        factors: args.factors.map(|f| format!("{f:?}").to_ascii_lowercase()),
        scope_app: args.scope_app.clone(),
        scope_groups: args.scope_groups.clone(),
        scope_users: args.scope_users.clone(),
        ..Layer::default()
    }
}

/// The settings of a command that reaches an org (sync, watch, doctor), with `--org NAME`
/// turned into the URL the mirror knows for that name.
pub(crate) async fn org_settings(org: &OrgArgs, extra: Layer) -> Result<Settings> {
    let mut settings = load_settings(org, extra)?;
    if let Some(name) = org.org.as_deref().filter(|o| !connect::names_a_url(o)) {
        let location = connect::db_location(&settings)?;
        let store = connect::open_existing(&location).await.map_err(|e| {
            e.context(format!(
                "--org {name} names an org of the mirror, and the mirror cannot be read; give --org-url for a first sync"
            ))
        })?;
        let found = connect::org_by_name(store.as_ref(), name).await;
        store.close().await;
        settings.org_url = Some(found?.url);
        settings.org_name = Some(name.to_owned());
    }
    Ok(settings)
}

/// The mirror a read command asks, opened read-only, and the org in it.
async fn open_mirror(
    mirror: &MirrorArgs,
) -> Result<(Box<dyn oktasync_store::MirrorReader>, oktasync_store::OrgId)> {
    let settings = load_settings(&OrgArgs::from(mirror), Layer::default())?;
    let store = connect::open_existing(&connect::db_location(&settings)?).await?;
    // `--org` picks an org inside the mirror by name or URL; the configured org URL does too.
    let selector = mirror.org.as_deref().or(settings.org_url.as_deref());
    let org = connect::mirror_org(store.as_ref(), selector).await?;
    Ok((store, org))
}

async fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Init { force, config } => {
            let path = config.unwrap_or_else(|| PathBuf::from(config::DEFAULT_CONFIG_FILE));
            init::write_template(&path, force)?;
            eprintln!(
                "wrote {}: set org_url, then provide a credential (see the comments in the file)",
                path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Doctor { org, out } => {
            let settings = org_settings(&org, Layer::default()).await?;
            let checks = doctor::run_checks(&settings).await;
            doctor::report(&checks, out.json)
        }
        Command::Sync {
            org,
            sync,
            wait,
            out,
        } => {
            let settings = org_settings(&org, sync_flags(&sync)).await?;
            let when_held = if wait {
                sync::WhenHeld::Wait
            } else {
                sync::WhenHeld::Refuse
            };
            sync::sync(&settings, sync.full, when_held, out.json).await
        }
        Command::Watch { org, watch, out } => {
            let settings = org_settings(&org, sync_flags(&watch.sync)).await?;
            sync::watch(&settings, &watch, out.json).await
        }
        Command::Demo { seed, db, out } => demo::demo(db, seed, out.json).await,
        Command::Bench { args, out } => bench::bench(&args, out.json).await,
        Command::Completions { shell } => {
            let mut command = Cli::command();
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut command, "oktasync", &mut script);
            output::write_stdout(&String::from_utf8_lossy(&script))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Users { mirror, args, out } => {
            let (store, org) = open_mirror(&mirror).await?;
            ask::users(store.as_ref(), org, &args, out.format()).await?;
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::User {
            id_or_login,
            at,
            mirror,
            out,
        } => {
            let (store, org) = open_mirror(&mirror).await?;
            match at {
                None => ask::user(store.as_ref(), org, &id_or_login, out.format()).await?,
                Some(at) => {
                    history::user_at(store.as_ref(), org, &id_or_login, &at, out.format()).await?
                }
            }
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Push {
            target,
            dry_run,
            full,
            allow_deletions,
            write_file,
            history,
            mirror,
            out,
        } => {
            let request = push::Request {
                target,
                options: oktasync_push::PushOptions {
                    dry_run,
                    full,
                    allow_deletions,
                    write_file_path: write_file,
                },
                history,
            };
            push::run(&mirror, request, out.format()).await
        }
        Command::Roles {
            user,
            role,
            mirror,
            out,
        } => {
            roles::run(&mirror, user.as_deref(), role.as_deref(), out.format()).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Changes { mirror, args, out } => {
            let (store, org) = open_mirror(&mirror).await?;
            history::changes(store.as_ref(), org, &args, out.format()).await?;
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Logs { mirror, args, out } => {
            let (store, org) = open_mirror(&mirror).await?;
            logs::run(store.as_ref(), org, &args, out.format()).await?;
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Detect { mirror, args, out } => detect::detect(&mirror, &args, out.format()).await,
        Command::Posture { mirror, args } => posture::run(&mirror, &args).await,
        Command::Alerts { mirror, args, out } => {
            let (store, org) = open_mirror(&mirror).await?;
            detect::alerts(store.as_ref(), org, &args, out.format()).await?;
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Groups { mirror, out } => {
            let (store, org) = open_mirror(&mirror).await?;
            ask::groups(store.as_ref(), org, out.format()).await?;
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Group {
            id_or_name,
            at,
            active,
            mirror,
            out,
        } => {
            let (store, org) = open_mirror(&mirror).await?;
            match at {
                None => {
                    ask::group(
                        store.as_ref(),
                        org,
                        &id_or_name,
                        active.active,
                        out.format(),
                    )
                    .await?
                }
                Some(at) => {
                    history::group_at(
                        store.as_ref(),
                        org,
                        &id_or_name,
                        &at,
                        active.active,
                        out.format(),
                    )
                    .await?
                }
            }
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Apps { mirror, out } => {
            let (store, org) = open_mirror(&mirror).await?;
            ask::apps(store.as_ref(), org, out.format()).await?;
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::App {
            id_or_label,
            active,
            mirror,
            out,
        } => {
            let (store, org) = open_mirror(&mirror).await?;
            ask::app(
                store.as_ref(),
                org,
                &id_or_label,
                active.active,
                out.format(),
            )
            .await?;
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Admins {
            active,
            mirror,
            out,
        } => {
            let (store, org) = open_mirror(&mirror).await?;
            ask::admins(store.as_ref(), org, active.active, out.format()).await?;
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Copy { from, to, out } => {
            let parse = |p: &PathBuf| {
                oktasync_store::DbLocation::parse(p).map_err(|e| exit::config(e.into()))
            };
            let (from, to) = (parse(&from)?, parse(&to)?);
            let report = oktasync_store::copy_mirror(&from, &to).await?;
            if out.json {
                output::print_json(&serde_json::json!({
                    "from": from.to_string(),
                    "to": to.to_string(),
                    "orgs": report.orgs,
                    "rows": report.rows,
                }))?;
            } else {
                let rows: u64 = report.rows.values().sum();
                output::write_stdout(&format!(
                    "Copied {} ({} org{}: {}) into {}: {rows} rows, history included.\n",
                    from,
                    report.orgs.len(),
                    if report.orgs.len() == 1 { "" } else { "s" },
                    report.orgs.join(", "),
                    to
                ))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve { org, serve } => serve::serve(&org, &serve).await,
        Command::Grant { command } => grant::run(command).await,
        Command::Token { command } => serve::token(&command).await,
        Command::Orgs { mirror, out } => {
            let settings = load_settings(&OrgArgs::from(&mirror), Layer::default())?;
            let store = connect::open_existing(&connect::db_location(&settings)?).await?;
            ask::orgs(store.as_ref(), out.format()).await?;
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Status { limit, mirror, out } => {
            let (store, org) = open_mirror(&mirror).await?;
            ask::status(store.as_ref(), org, limit, out.format()).await?;
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
        Command::Export { args, mirror } => {
            let (store, org) = open_mirror(&mirror).await?;
            ask::export(store.as_ref(), org, &args).await?;
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
    }
}
