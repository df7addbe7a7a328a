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
use oktasync_store::{DbLocation, Lease, Mirror, MirrorWriter, StoreError};
use std::process::ExitCode;
use std::sync::Arc;

/// The engine's options from the settings.
pub fn sync_options(settings: &Settings) -> SyncOptions {
    SyncOptions {
        resources: settings.resources.iter().copied().collect(),
        factors: settings.factors,
        scope: settings.scope.clone(),
        log_retention: settings.log_retention,
        log_backfill: settings.log_backfill,
        ..SyncOptions::default()
    }
}

/// How often watch polls at most, as a multiple of its interval, while the log stays quiet.
const WATCH_MAX_BACKOFF: u32 = 12;

/// What a sync does when another process holds the org's sync lease.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhenHeld {
    /// Say who holds it, and stop.
    Refuse,
    /// Wait until it is released or expires (its holder died), then sync.
    Wait,
}

/// How often a waiting sync asks for the lease again.
const LEASE_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// Takes the sync lease of the org behind `client` (one process at a time syncs an org,
/// across processes and machines sharing the mirror), naming the org `org_name` if given,
/// and keeps it renewed in the background until released.
async fn take_lease(
    store: &Mirror,
    client: &OktaClient,
    opts: &SyncOptions,
    org_name: Option<&str>,
    when_held: WhenHeld,
) -> Result<Lease> {
    let org = store
        .ensure_org(&client.org().origin(), opts.clock.now())
        .await?;
    if let Some(name) = org_name {
        // The short name chosen with `org_name` (default: the first label of the host).
        store
            .set_org_name(org, name)
            .await
            .map_err(|e| crate::exit::config(e.into()))?;
    }
    let mut told = false;
    loop {
        match store.acquire_sync_lease(org, opts.clock.now()).await {
            Ok(mut lease) => {
                let clock = opts.clock.clone();
                lease.renew_in_background(move || clock.now());
                return Ok(lease);
            }
            Err(held @ StoreError::LeaseHeld { .. }) if when_held == WhenHeld::Wait => {
                if !told {
                    eprintln!("waiting: {held}");
                    told = true;
                }
                tokio::select! {
                    () = tokio::time::sleep(LEASE_POLL) => {}
                    () = interrupted() => {
                        return Err(exit::interrupted(anyhow::anyhow!("interrupted while waiting for the sync lease")));
                    }
                }
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Resolves when `lease` is found taken over by another process (this one stalled past the
/// lease's expiry): the run must stop, as its changes would no longer be its own.
async fn lease_lost(lease: &Lease) {
    while !lease.is_lost() {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    }
}

/// Runs one sync with progress on stderr, holding the org's sync lease. `Ok(Err((summary,
/// cause)))` is a run that started and failed (recorded as failed; the mirror kept its
/// previous state).
pub async fn run(
    client: &OktaClient,
    db: &DbLocation,
    opts: &SyncOptions,
    mode: SyncMode,
    org_name: Option<&str>,
    when_held: WhenHeld,
) -> Result<std::result::Result<RunSummary, (RunSummary, EngineError)>> {
    let store = connect::open_for_sync(db).await?;
    let lease = match take_lease(&store, client, opts, org_name, when_held).await {
        Ok(lease) => lease,
        Err(e) => {
            store.close().await;
            return Err(e);
        }
    };
    let progress = progress::for_stderr();
    let stopped = tokio::select! {
        result = oktasync_engine::sync(client, &store, opts, mode, progress.clone()) => Ok(result),
        () = interrupted() => Err(exit::interrupted(anyhow::anyhow!(
            "interrupted; the mirror {db} kept its previous state"
        ))),
        () = lease_lost(&lease) => Err(anyhow::Error::new(StoreError::LeaseLost {
            org: client.org().origin(),
        })),
    };
    drop(progress);
    // A run abandoned on the way out (the engine's future dropped: its staging discarded,
    // the mirror untouched) is recorded as interrupted, not left `running`.
    let marked = if stopped.is_err() {
        store.mark_own_runs_interrupted().await.map(|_| ())
    } else {
        Ok(())
    };
    if let Err(e) = lease.release().await {
        tracing::warn!(error = %e, "Could not release the sync lease; it expires on its own.");
    }
    store.close().await;
    marked?;
    match stopped? {
        Ok(summary) => Ok(Ok(summary)),
        Err(EngineError::RunFailed { summary, cause, .. }) => Ok(Err((*summary, *cause))),
        Err(e) => Err(e.into()),
    }
}

pub async fn sync(
    settings: &Settings,
    full: bool,
    when_held: WhenHeld,
    json: bool,
) -> Result<ExitCode> {
    let client = connect::client(settings)?;
    let opts = sync_options(settings);
    let mode = if full { SyncMode::Full } else { SyncMode::Auto };
    let db = connect::db_location(settings)?;
    let roles = crate::config::roles::load(settings).map_err(exit::config)?;
    let detector = crate::detect::after_sync_detector(settings)?;
    match run(
        &client,
        &db,
        &opts,
        mode,
        settings.org_name.as_deref(),
        when_held,
    )
    .await?
    {
        Ok(summary) => {
            if !roles.is_empty() || detector.is_some() {
                let store = connect::open_for_sync(&db).await?;
                let origin = client.org().origin();
                if !roles.is_empty() {
                    crate::roles::apply_after_sync(&store, &origin, &roles).await;
                }
                if let Some(detector) = &detector {
                    crate::detect::after_sync(&store, &origin, detector, opts.clock.now()).await;
                }
                store.close().await;
            }
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
    let roles = crate::config::roles::load(settings).map_err(exit::config)?;
    let push_targets = crate::push::after_sync_targets(settings)?;
    let detector = crate::detect::after_sync_detector(settings)?;
    let db = connect::db_location(settings)?;
    let store = connect::open_for_sync(&db).await?;
    // A second watch of the same org stands by until the first lets go or dies.
    let lease = match take_lease(
        &store,
        &client,
        &opts,
        settings.org_name.as_deref(),
        WhenHeld::Wait,
    )
    .await
    {
        Ok(lease) => lease,
        Err(e) => {
            store.close().await;
            return Err(e);
        }
    };
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
    // Each applied run is followed by the roles applied anew (role changes follow it), and,
    // when it changed the mirror, by the pushes of targets with push_after_sync.
    let (applied_tx, mut applied_rx) = tokio::sync::mpsc::unbounded_channel();
    let progress: Arc<dyn Progress> = Arc::new(ReportRuns {
        inner: progress::for_stderr(),
        json,
        applied: applied_tx,
    });
    let lost = std::sync::atomic::AtomicBool::new(false);
    // One signal stops both the watch and the grant enforcer beside it.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let stopper = async {
        tokio::select! {
            () = interrupted() => {}
            () = lease_lost(&lease) => lost.store(true, std::sync::atomic::Ordering::Relaxed),
            () = stopped(stop_rx.clone()) => {}
        }
        let _ = stop_tx.send(true);
    };
    let watching = async {
        let result = oktasync_engine::watch(
            &client,
            &store,
            &opts,
            watch,
            progress,
            stopped(stop_rx.clone()),
        )
        .await;
        // The watch ended on its own (an error): the enforcer stops with it.
        let _ = stop_tx.send(true);
        result
    };
    // Grants end on time while the watch runs (several enforcers never collide: each claims
    // its work in the database).
    let holder = oktasync_grants::enforce::holder("watch");
    let enforcing = oktasync_grants::enforce::enforce_continuously(
        &client,
        &store,
        settings.org_name.as_deref().unwrap_or_default(),
        &holder,
        oktasync_grants::enforce::ENFORCE_EVERY,
        opts.clock.as_ref(),
        stopped(stop_rx.clone()),
    );
    let origin = client.org().origin();
    let applying_roles = async {
        let stop = stopped(stop_rx.clone());
        tokio::pin!(stop);
        loop {
            tokio::select! {
                () = &mut stop => return,
                run = applied_rx.recv() => match run {
                    Some(changed) => {
                        crate::roles::apply_after_sync(&store, &origin, &roles).await;
                        // Sign-ins change nothing in the mirror but are what detection reads.
                        if let Some(detector) = &detector {
                            crate::detect::after_sync(&store, &origin, detector, opts.clock.now())
                                .await;
                        }
                        if changed
                            && !push_targets.is_empty()
                            && let Ok(Some(org)) =
                                oktasync_store::MirrorReader::find_org(&store, &origin).await
                        {
                            crate::push::push_after_sync(&store, org, &push_targets, &roles).await;
                        }
                    }
                    None => return,
                },
            }
        }
    };
    let (result, (), (), ()) = tokio::join!(watching, stopper, enforcing, applying_roles);
    // A run abandoned on the way out is recorded as interrupted, not left `running`.
    let marked = store.mark_own_runs_interrupted().await;
    if let Err(e) = lease.release().await {
        tracing::warn!(error = %e, "Could not release the sync lease; it expires on its own.");
    }
    store.close().await;
    marked?;
    result?;
    if lost.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(anyhow::Error::new(StoreError::LeaseLost {
            org: client.org().origin(),
        }));
    }
    eprintln!("watch stopped; the checkpoint is saved, so the next run continues from here");
    Ok(ExitCode::SUCCESS)
}

/// Progress that also reports each run `watch` applies: one JSON object per line on stdout
/// with `--json` (the same object `sync --json` prints).
struct ReportRuns {
    inner: Arc<dyn Progress>,
    json: bool,
    /// Told of each applied run: whether it changed the mirror.
    applied: tokio::sync::mpsc::UnboundedSender<bool>,
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
        let _ = self
            .applied
            .send(summary.changes.values().any(|c| c.total() > 0));
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
    for resource in Resource::ALL {
        if let Some(n) = s.count(resource) {
            text.push_str(&format!("  {:<20} {n:>9}\n", resource.label()));
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
