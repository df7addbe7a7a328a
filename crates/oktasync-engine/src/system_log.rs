//! The System Log as the engine reads it: where a mirror stands in it (the checkpoint), where
//! a full sync starts it, reading it from the checkpoint, and which failures mean only a full
//! sync can help.

use crate::error::EngineError;
use crate::options::{RESOURCES_CHECKPOINT, SyncOptions};
use crate::scope::{SCOPE_CHECKPOINT, SyncScope};
use crate::summary::timestamp;
use chrono::{DateTime, Utc};
use futures::StreamExt;
use okta_api::{LogEvent, OktaClient};
use oktasync_store::{OrgId, Store};
use std::collections::{BTreeMap, HashSet};
use std::time::Duration;
use url::Url;

/// The checkpoint holding the System Log `next` link to resume from.
pub const LOGS_CHECKPOINT: &str = "logs.next";
/// When the `next` link was last confirmed (RFC 3339, from the clock): a checkpoint older
/// than Okta keeps logs is of no use.
pub const LOGS_CHECKPOINT_AT: &str = "logs.next_at";
/// How far before its listings a full sync starts the log. Okta may store an event a little
/// after it happened; re-applying a suffix of the log is harmless.
pub const LOG_START_LOOKBACK: Duration = Duration::from_secs(10 * 60);
/// How long Okta keeps System Log events.
pub const LOG_RETENTION: Duration = Duration::from_secs(90 * 86_400);
/// How far back a full sync reads the System Log into the mirror by default.
pub const LOG_BACKFILL: Duration = Duration::from_secs(7 * 86_400);
/// Backfilled events stored per transaction.
pub const BACKFILL_EVENTS_PER_WRITE: usize = 2_000;
/// Most events one run applies; the next run picks up the rest.
pub const MAX_EVENTS_PER_RUN: usize = 20_000;

/// [`EngineError::IncrementalUnavailable`] for `reason`.
pub(crate) fn unavailable(reason: impl Into<String>) -> EngineError {
    EngineError::IncrementalUnavailable {
        reason: reason.into(),
    }
}

/// The stored position in the System Log.
pub(crate) struct Checkpoint {
    pub next: Url,
    /// When it was last confirmed, if recorded.
    pub at: Option<DateTime<Utc>>,
}

/// The org's checkpoint, or [`EngineError::IncrementalUnavailable`] when there is none or it
/// is older than Okta keeps logs.
pub(crate) async fn load_checkpoint(
    store: &dyn Store,
    org: OrgId,
    opts: &SyncOptions,
) -> Result<Checkpoint, EngineError> {
    let Some(link) = store.checkpoint(org, LOGS_CHECKPOINT).await? else {
        return Err(unavailable("the mirror has no System Log checkpoint yet"));
    };
    let next = Url::parse(&link)
        .map_err(|_| unavailable("the System Log checkpoint is not a valid link"))?;
    let at = store
        .checkpoint(org, LOGS_CHECKPOINT_AT)
        .await?
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc));
    if let Some(at) = at {
        let age = opts.clock.now() - at;
        if age > chrono::Duration::from_std(LOG_RETENTION).unwrap_or(chrono::Duration::MAX) {
            return Err(unavailable(format!(
                "the System Log checkpoint is {} days old, older than the {} days Okta keeps logs",
                age.num_days(),
                LOG_RETENTION.as_secs() / 86_400
            )));
        }
    }
    let was = store
        .checkpoint(org, SCOPE_CHECKPOINT)
        .await?
        .unwrap_or_else(|| SyncScope::default().to_string());
    let now = opts.scope.to_string();
    if was != now {
        return Err(unavailable(format!(
            "the sync scope changed from {was} to {now}; the new scope is read in full"
        )));
    }
    let wanted = opts.mirrored();
    let Some(held) = store.checkpoint(org, RESOURCES_CHECKPOINT).await? else {
        return Err(unavailable(
            "the mirror does not record which resources it holds (an earlier version synced \
             it); everything is read in full once",
        ));
    };
    let held: HashSet<&str> = held.split(',').collect();
    let missing: Vec<&str> = wanted.into_iter().filter(|r| !held.contains(r)).collect();
    if !missing.is_empty() {
        return Err(unavailable(format!(
            "the mirror holds no {} yet; they are read in full",
            missing.join(", ")
        )));
    }
    Ok(Checkpoint { next, at })
}

/// The checkpoints that record `next` as the position to resume from.
pub(crate) fn log_checkpoints(next: &Option<Url>, opts: &SyncOptions) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    if let Some(next) = next {
        map.insert(LOGS_CHECKPOINT.to_owned(), next.to_string());
        map.insert(LOGS_CHECKPOINT_AT.to_owned(), timestamp(opts.clock.now()));
    }
    map
}

/// Why a full sync could not read (or keep) the System Log.
pub(crate) enum LogStartError {
    Read(okta_api::Error),
    Store(oktasync_store::StoreError),
}

/// Where a full sync leaves the log: the `next` link to resume from, the calls it took, and
/// the events it kept.
pub(crate) struct StartedLog {
    pub next: Option<Url>,
    pub calls: u64,
    pub kept: u64,
    pub seconds: f64,
}

/// Starts the log for a full sync: reads it from `log_backfill` ago (at most the retention,
/// at least [`LOG_START_LOOKBACK`], so that nothing changed while the listings run is missed)
/// to the end, keeping the events in the mirror a batch per transaction, and returns the last
/// `next` link.
pub(crate) async fn start_log(
    client: &OktaClient,
    store: &dyn Store,
    org: OrgId,
    opts: &SyncOptions,
) -> Result<StartedLog, LogStartError> {
    let started = std::time::Instant::now();
    let keep = !opts.log_retention.is_zero() && !opts.log_backfill.is_zero();
    let back = if keep {
        opts.log_backfill
            .min(opts.log_retention)
            .max(LOG_START_LOOKBACK)
    } else {
        LOG_START_LOOKBACK
    };
    let back = chrono::Duration::from_std(back).unwrap_or_default();
    let mut pages = client.poll_logs(okta_api::LogStart::Since(opts.clock.now() - back));
    let mut start = StartedLog {
        next: None,
        calls: 0,
        kept: 0,
        seconds: 0.0,
    };
    let mut batch: Vec<serde_json::Value> = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(LogStartError::Read)?;
        start.calls += 1;
        if page.next.is_some() {
            start.next = page.next;
        }
        if keep {
            batch.extend(page.items.into_iter().map(|e| e.raw));
            if batch.len() >= BACKFILL_EVENTS_PER_WRITE {
                start.kept += keep_events(store, org, opts, std::mem::take(&mut batch)).await?;
            }
        }
    }
    if !batch.is_empty() {
        start.kept += keep_events(store, org, opts, batch).await?;
    }
    start.seconds = started.elapsed().as_secs_f64();
    Ok(start)
}

async fn keep_events(
    store: &dyn Store,
    org: OrgId,
    opts: &SyncOptions,
    events: Vec<serde_json::Value>,
) -> Result<u64, LogStartError> {
    store
        .store_log_events(org, None, &events, Some(opts.log_keep_after()))
        .await
        .map(|counts| counts.stored)
        .map_err(LogStartError::Store)
}

/// Events read from the log.
pub(crate) struct LogRead {
    /// In the order Okta stored them, each uuid once.
    pub events: Vec<LogEvent>,
    /// Where the next read starts.
    pub next: Url,
    pub calls: u64,
    /// Stopped at [`MAX_EVENTS_PER_RUN`]: more are waiting.
    pub more: bool,
}

/// Reads the log from `from` until a page comes back empty (or [`MAX_EVENTS_PER_RUN`]).
pub(crate) async fn read_log(client: &OktaClient, from: Url) -> Result<LogRead, okta_api::Error> {
    let mut pages = client.poll_logs(okta_api::LogStart::Next(from.clone()));
    let mut read = LogRead {
        events: Vec::new(),
        next: from,
        calls: 0,
        more: false,
    };
    let mut seen = HashSet::new();
    while let Some(page) = pages.next().await {
        let page = page?;
        read.calls += 1;
        if let Some(next) = page.next {
            read.next = next;
        }
        for event in page.items {
            if seen.insert(event.uuid.clone()) {
                read.events.push(event);
            }
        }
        if read.events.len() >= MAX_EVENTS_PER_RUN {
            read.more = true;
            break;
        }
    }
    Ok(read)
}

/// Why a failed log read means only a full sync can help, if it does.
pub(crate) fn unavailable_reason(e: &okta_api::Error) -> Option<String> {
    use okta_api::Error as E;
    match e {
        E::MissingScope { scope, .. } => Some(format!(
            "the credentials lack the {scope} scope needed to read the System Log"
        )),
        E::Forbidden(_) => Some("the credentials may not read the System Log (HTTP 403)".into()),
        E::Api(d) if d.error_code.as_deref() == Some("E0000053") || d.status == 400 => {
            Some(format!(
                "Okta no longer serves the log from the checkpoint ({d}): it is older than Okta keeps logs"
            ))
        }
        E::ForeignNextLink { .. } | E::RepeatedCursor { .. } | E::RunawayListing { .. } => Some(
            format!("the System Log checkpoint cannot be followed ({e})"),
        ),
        _ => None,
    }
}
