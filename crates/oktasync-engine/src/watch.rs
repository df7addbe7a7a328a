//! `oktasync watch`: tail the System Log and apply changes as they come.
//!
//! Each poll reads the log from the checkpoint. An empty page only moves the checkpoint (no
//! run is recorded, no cross-check calls are made) and the next poll waits twice as long, up
//! to `max_interval`, so that an idle org costs few calls of the small logs bucket. Events
//! are applied as an incremental run, and the next poll comes after `interval`. Errors are
//! logged and retried with the same back-off, except those that waiting cannot fix (bad
//! credentials or configuration). Every `reconcile_every`, a full sync checks the mirror.
//! The checkpoint lives in the store, so a restarted watch resumes where it stopped.

use crate::error::EngineError;
use crate::incremental::{IncrementalRun, LogSource};
use crate::mode::{SyncMode, fall_back, sync};
use crate::options::SyncOptions;
use crate::progress::Progress;
use crate::reading::failed_reading;
use crate::summary::RunSummary;
use crate::system_log::{
    load_checkpoint, log_checkpoints, read_log, unavailable, unavailable_reason,
};
use okta_api::OktaClient;
use oktasync_store::Store;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// How often watch rewrites an unchanged checkpoint to record that it is still current.
pub const CHECKPOINT_REFRESH: Duration = Duration::from_secs(3600);

/// How watch paces itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchOptions {
    /// The wait after a poll that found events (and the first wait after an idle one).
    pub interval: Duration,
    /// The longest wait between polls while the log stays empty or Okta cannot be reached.
    pub max_interval: Duration,
    /// Run a full sync (a reconcile, reporting drift) this often.
    pub reconcile_every: Option<Duration>,
    /// Start with a full sync (a reconcile on an existing mirror) before tailing the log.
    pub reconcile_first: bool,
}

impl Default for WatchOptions {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(5),
            max_interval: Duration::from_secs(60),
            reconcile_every: None,
            reconcile_first: false,
        }
    }
}

/// Tails the log of the org behind `client` into `store` until `shutdown` resolves. A
/// run in progress when it does is abandoned: the mirror keeps its previous state, and the
/// run is marked interrupted by the next one. Returns an error only for what retrying
/// cannot fix (credentials, configuration).
pub async fn watch(
    client: &OktaClient,
    store: &dyn Store,
    opts: &SyncOptions,
    watch: WatchOptions,
    progress: Arc<dyn Progress>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), EngineError> {
    tokio::pin!(shutdown);
    let interval = watch.interval.max(Duration::from_millis(10));
    let max_interval = watch.max_interval.max(interval);
    let mut next_reconcile = if watch.reconcile_first {
        Some(Instant::now())
    } else {
        watch.reconcile_every.map(|every| Instant::now() + every)
    };
    let mut delay = Duration::ZERO;
    tracing::info!(
        interval_s = interval.as_secs_f64(),
        max_interval_s = max_interval.as_secs_f64(),
        "Watching the System Log."
    );
    loop {
        tokio::select! {
            () = &mut shutdown => break,
            () = tokio::time::sleep(delay) => {}
        }
        let reconcile = next_reconcile.is_some_and(|at| Instant::now() >= at);
        let step = async {
            if reconcile {
                progress.note("reconciling: a full sync to check the mirror");
                sync(client, store, opts, SyncMode::Full, progress.clone())
                    .await
                    .map(|summary| Step::Ran {
                        summary: Box::new(summary),
                        more_events: false,
                    })
            } else {
                watch_step(client, store, opts, progress.clone()).await
            }
        };
        let result = tokio::select! {
            () = &mut shutdown => {
                tracing::info!("Stopping: the run in progress is abandoned; the mirror keeps its previous state.");
                break;
            }
            result = step => result,
        };
        let backoff = (delay * 2).clamp(interval, max_interval);
        match result {
            Ok(Step::Idle) => {
                tracing::debug!("No new System Log events.");
                delay = backoff;
            }
            Ok(Step::Ran {
                summary,
                more_events,
            }) => {
                progress.run_applied(&summary);
                if reconcile {
                    next_reconcile = watch.reconcile_every.map(|every| Instant::now() + every);
                    let message = format!(
                        "reconcile done: {} rows changed (drift)",
                        summary.drift.unwrap_or(0)
                    );
                    tracing::info!(run_id = summary.run_id, "{message}");
                    progress.note(&message);
                } else {
                    progress.note(&format!(
                        "{} run {}: {} events, {} rows changed, {} API calls",
                        summary.kind,
                        summary.run_id,
                        summary.events.unwrap_or(0),
                        summary.rows_changed(),
                        summary.api_calls
                    ));
                }
                // More events waiting: read them at once.
                delay = if more_events {
                    Duration::ZERO
                } else {
                    interval
                };
            }
            Err(e) if permanent(&e) => {
                tracing::info!(error = %e, "Watch stopped: retrying cannot fix this.");
                return Err(e);
            }
            Err(e) => {
                let message = format!("{e}; retrying in {:.0} s", backoff.as_secs_f64().max(1.0));
                tracing::warn!("{message}");
                progress.note(&message);
                delay = backoff;
            }
        }
    }
    tracing::info!("Watch stopped.");
    Ok(())
}

/// What one watch poll did.
#[derive(Debug)]
pub enum Step {
    /// The log had nothing new.
    Idle,
    /// A run was applied (incremental, or a full sync when incremental was not possible).
    Ran {
        summary: Box<RunSummary>,
        /// The run stopped at its event limit: more events are waiting.
        more_events: bool,
    },
}

/// One watch poll: an empty log page only moves the checkpoint (no run, no cross-check
/// calls); events are applied as an incremental run; a mirror that cannot be synced
/// incrementally gets a full sync. `oktasync serve` schedules these.
pub async fn watch_step(
    client: &OktaClient,
    store: &dyn Store,
    opts: &SyncOptions,
    progress: Arc<dyn Progress>,
) -> Result<Step, EngineError> {
    let fell_back = |summary| Step::Ran {
        summary: Box::new(summary),
        more_events: false,
    };
    let org = store.find_org(&client.org().origin()).await?;
    let checkpoint = match org {
        Some(org) => load_checkpoint(store, org, opts).await.map(|c| (org, c)),
        None => Err(unavailable("the mirror has no data of this org yet")),
    };
    let (org, checkpoint) = match checkpoint {
        Ok(found) => found,
        Err(EngineError::IncrementalUnavailable { reason }) => {
            return Ok(fell_back(
                fall_back(client, store, opts, progress, reason).await?,
            ));
        }
        Err(e) => return Err(e),
    };
    let log = match read_log(client, checkpoint.next.clone()).await {
        Ok(log) => log,
        Err(e) => match unavailable_reason(&e) {
            Some(reason) => {
                return Ok(fell_back(
                    fall_back(client, store, opts, progress, reason).await?,
                ));
            }
            None => return Err(failed_reading("the System Log")(e)),
        },
    };
    if log.events.is_empty() {
        let stale = checkpoint.at.is_none_or(|at| {
            opts.clock.now() - at
                > chrono::Duration::from_std(CHECKPOINT_REFRESH).unwrap_or_default()
        });
        if log.next != checkpoint.next || stale {
            store
                .set_checkpoints(org, &log_checkpoints(&Some(log.next), opts))
                .await?;
        }
        return Ok(Step::Idle);
    }
    let more_events = log.more;
    let run = IncrementalRun::begin(client, store, opts, org, progress).await?;
    let summary = run.execute(LogSource::Prefetched(log)).await?;
    Ok(Step::Ran {
        summary: Box::new(summary),
        more_events,
    })
}

/// Errors that waiting does not fix.
pub fn permanent(e: &EngineError) -> bool {
    use okta_api::Error as E;
    match e {
        EngineError::RunFailed { cause, .. } => permanent(cause),
        EngineError::Okta { cause, .. } => matches!(
            cause,
            E::InvalidToken(_)
                | E::InvalidConfig(_)
                | E::InvalidOrgUrl { .. }
                | E::InvalidPrivateKey { .. }
                | E::MissingScope { .. }
                | E::ForeignNextLink { .. }
        ),
        EngineError::Internal(_) => true,
        _ => false,
    }
}
