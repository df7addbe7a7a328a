//! `oktasync sync`: build the client and the store, run the engine, report the run.

use crate::cli::WatchArgs;
use crate::config::Settings;
use crate::connect;
use crate::exit;
use crate::output::write_stdout;
use crate::progress;
use anyhow::Result;
use okta_api::OktaClient;
use oktasync_engine::{
    EngineError, Progress, Resource, RunSummary, SyncMode, SyncOptions, WatchOptions,
};
use oktasync_store::{DbLocation, MirrorWriter};
use std::process::ExitCode;
use std::sync::Arc;

/// The engine's options from the settings.
pub fn sync_options(settings: &Settings) -> SyncOptions {
    SyncOptions {
        resources: settings.resources.iter().copied().collect(),
        factors: settings.factors,
        ..SyncOptions::default()
    }
}

/// How often watch polls at most, as a multiple of its interval, while the log stays quiet.
const WATCH_MAX_BACKOFF: u32 = 12;

/// Runs one sync with progress on stderr. `Ok(Err((summary, cause)))` is a run that started
/// and failed (recorded as failed; the mirror kept its previous state).
pub async fn run(
    client: &OktaClient,
    db: &DbLocation,
    opts: &SyncOptions,
    mode: SyncMode,
    org_name: Option<&str>,
) -> Result<std::result::Result<RunSummary, (RunSummary, EngineError)>> {
    let store = connect::open_for_sync(db).await?;
    if let Some(name) = org_name {
        // The short name chosen with `org_name` (default: the first label of the host).
        let named = async {
            let org = store
                .ensure_org(&client.org().origin(), opts.clock.now())
                .await?;
            store.set_org_name(org, name).await
        }
        .await;
        if let Err(e) = named {
            store.close().await;
            return Err(crate::exit::config(e.into()));
        }
    }
    let progress = progress::for_stderr();
    let result = tokio::select! {
        result = oktasync_engine::sync(client, &store, opts, mode, progress.clone()) => result,
        () = interrupted() => {
            // The run's future is dropped: its staging is discarded, the mirror untouched.
            drop(progress);
            let marked = store.mark_own_runs_interrupted().await;
            store.close().await;
            marked?;
            return Err(exit::interrupted(anyhow::anyhow!(
                "interrupted; the mirror {db} kept its previous state"
            )));
        }
    };
    drop(progress);
    store.close().await;
    match result {
        Ok(summary) => Ok(Ok(summary)),
        Err(EngineError::RunFailed { summary, cause, .. }) => Ok(Err((*summary, *cause))),
        Err(e) => Err(e.into()),
    }
}

pub async fn sync(settings: &Settings, full: bool, json: bool) -> Result<ExitCode> {
    let client = connect::client(settings)?;
    let opts = sync_options(settings);
    let mode = if full { SyncMode::Full } else { SyncMode::Auto };
    let db = connect::db_location(settings)?;
    match run(&client, &db, &opts, mode, settings.org_name.as_deref()).await? {
        Ok(summary) => {
            if json {
                print_summary_json(&summary)?;
            } else {
                write_stdout(&describe(&summary, &db))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Err((summary, cause)) => {
            if json {
                print_summary_json(&summary)?;
            }
            eprintln!(
                "error: sync run {} failed; the mirror {} kept its previous state.\n  cause: {cause}\n  \
                 `oktasync doctor` checks the org URL, credentials, scopes and database.",
                summary.run_id, db
            );
            Ok(exit::of_engine(&cause).code())
        }
    }
}

/// `oktasync watch`: incremental runs until Ctrl-C; each applied run is reported (a line of
/// text, or one JSON object per line with `--json`) through the engine's progress.
pub async fn watch(settings: &Settings, args: &WatchArgs, json: bool) -> Result<ExitCode> {
    let client = connect::client(settings)?;
    let opts = sync_options(settings);
    let db = connect::db_location(settings)?;
    let store = connect::open_for_sync(&db).await?;
    let watch = WatchOptions {
        interval: args.interval,
        max_interval: args.interval * WATCH_MAX_BACKOFF,
        reconcile_every: args.reconcile_every,
        reconcile_first: args.sync.full,
    };
    eprintln!(
        "watching {} into {} (poll every {:?}; Ctrl-C stops)",
        client.org().origin(),
        db,
        args.interval
    );
    let progress: Arc<dyn Progress> = Arc::new(ReportRuns {
        inner: progress::for_stderr(),
        json,
    });
    let result =
        oktasync_engine::watch(&client, &store, &opts, watch, progress, interrupted()).await;
    // A run abandoned on the way out is recorded as interrupted, not left `running`.
    let marked = store.mark_own_runs_interrupted().await;
    store.close().await;
    marked?;
    result?;
    eprintln!("watch stopped; the checkpoint is saved, so the next run continues from here");
    Ok(ExitCode::SUCCESS)
}

/// Progress that also reports each run `watch` applies: one JSON object per line on stdout
/// with `--json` (the same object `sync --json` prints).
struct ReportRuns {
    inner: Arc<dyn Progress>,
    json: bool,
}

impl Progress for ReportRuns {
    fn started(&self, resource: Resource, total: Option<u64>) {
        self.inner.started(resource, total);
    }
    fn advanced(&self, resource: Resource, n: u64) {
        self.inner.advanced(resource, n);
    }
    fn finished(&self, resource: Resource) {
        self.inner.finished(resource);
    }
    fn note(&self, message: &str) {
        self.inner.note(message);
    }
    fn run_applied(&self, summary: &RunSummary) {
        if self.json
            && let Err(e) = print_summary_json(summary)
        {
            tracing::warn!("cannot print the run summary: {e:#}");
        }
    }
}

/// Resolves on Ctrl-C (SIGINT) or, on Unix, SIGTERM.
pub async fn interrupted() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// The summary as one JSON object on one line.
pub fn print_summary_json(summary: &RunSummary) -> Result<()> {
    let mut text = serde_json::to_string(summary)?;
    text.push('\n');
    write_stdout(&text)
}

/// A short human report of a run.
pub fn describe(s: &RunSummary, db: &DbLocation) -> String {
    let how = match s.kind.as_str() {
        "incremental" => format!(
            "Updated the mirror of {} from {} System Log events",
            s.org_url,
            s.events.unwrap_or(0)
        ),
        "reconcile" => format!("Reconciled the mirror of {} with a full read", s.org_url),
        _ => format!("Mirrored {}", s.org_url),
    };
    let mut text = format!(
        "{how} into {db} in {:.1}s (run {}).\n",
        s.duration_s, s.run_id
    );
    if let Some(reason) = &s.fallback {
        text.push_str(&format!("  (a full sync, because {reason})\n"));
    }
    text.push('\n');
    let counts = [
        ("users", s.users),
        ("groups", s.groups),
        ("memberships", s.memberships),
        ("apps", s.apps),
        ("app users", s.app_users),
        ("app groups", s.app_groups),
        ("role assignments", s.role_assignments),
        ("identity providers", s.idps),
        ("factors", s.factors),
    ];
    for (name, n) in counts {
        if let Some(n) = n {
            text.push_str(&format!("  {name:<20} {n:>9}\n"));
        }
    }
    text.push_str(&format!(
        "\n  API calls {} (the plan needs at least {}), 429s {}, retries {}, rate-limit wait {:.1}s\n",
        s.api_calls, s.fewest_calls, s.http_429, s.retries, s.rate_limit_wait_s
    ));
    let changed: Vec<String> = s
        .changes
        .iter()
        .filter(|(_, c)| c.total() > 0)
        .map(|(t, c)| format!("{t} +{} ~{} -{}", c.added, c.updated, c.removed))
        .collect();
    text.push_str(&format!(
        "  changes: {}\n",
        if changed.is_empty() {
            "none".to_owned()
        } else {
            changed.join(", ")
        }
    ));
    if let Some(drift) = s.drift {
        text.push_str(&format!(
            "  drift: {drift} rows differed from Okta{}\n",
            if drift == 0 {
                " (none: the mirror was exact)"
            } else {
                ""
            }
        ));
    }
    text
}
