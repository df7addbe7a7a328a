//! Choosing what a sync runs: incremental when the mirror's System Log checkpoint allows it,
//! a full sync otherwise (first sync, `--full`, or a fallback that says why), and how a full
//! sync is recorded (`full`, or `reconcile` on a mirror that already had a run succeed).

use crate::error::EngineError;
use crate::full::run_full;
use crate::incremental::incremental_sync;
use crate::options::SyncOptions;
use crate::progress::Progress;
use crate::summary::RunSummary;
use crate::system_log::LOGS_CHECKPOINT;
use okta_api::OktaClient;
use oktasync_store::{OrgId, RunKind, RunOutcome, Store};
use std::sync::Arc;

/// What [`sync`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SyncMode {
    /// Incremental when the mirror has a `logs.next` checkpoint for the org, else full.
    #[default]
    Auto,
    /// A full sync; recorded as a `reconcile` when the org already has a succeeded run.
    Full,
}

/// Syncs the org behind `client` into `store`.
///
/// `Auto`: incremental when the org has a `logs.next` checkpoint, else full. If the
/// incremental run must fall back (checkpoint older than Okta keeps logs — 90 days, or a
/// 400 E0000053 — or the log cannot be read: 403 / missing `okta.logs.read` scope), it says
/// so through `progress` and tracing and runs a full sync; the summary's `fallback` carries
/// the reason.
///
/// `Full`: a full sync; its run kind is `reconcile` when the org already has a succeeded run
/// (the store then logs per-row changes with source `reconcile`, and the summary's `drift`
/// counts them), else `full`.
pub async fn sync(
    client: &OktaClient,
    store: &dyn Store,
    opts: &SyncOptions,
    mode: SyncMode,
    progress: Arc<dyn Progress>,
) -> Result<RunSummary, EngineError> {
    match mode {
        SyncMode::Full => {
            let kind = match store.find_org(&client.org().origin()).await? {
                Some(org) if has_succeeded_run(store, org).await? => RunKind::Reconcile,
                _ => RunKind::Full,
            };
            run_full(client, store, opts, kind, progress).await
        }
        SyncMode::Auto => match incremental_sync(client, store, opts, progress.clone()).await {
            Err(EngineError::IncrementalUnavailable { reason }) => {
                fall_back(client, store, opts, progress, reason).await
            }
            other => other,
        },
    }
}

async fn has_succeeded_run(store: &dyn Store, org: OrgId) -> Result<bool, EngineError> {
    Ok(store
        .recent_runs(org, 1000)
        .await?
        .iter()
        .any(|r| r.outcome == RunOutcome::Succeeded))
}

/// Runs a full sync in place of an incremental one that cannot run, saying why (unless the
/// mirror never had a checkpoint: a first sync is full anyway).
pub(crate) async fn fall_back(
    client: &OktaClient,
    store: &dyn Store,
    opts: &SyncOptions,
    progress: Arc<dyn Progress>,
    reason: String,
) -> Result<RunSummary, EngineError> {
    let first = match store.find_org(&client.org().origin()).await? {
        Some(org) => store.checkpoint(org, LOGS_CHECKPOINT).await?.is_none(),
        None => true,
    };
    if first {
        tracing::info!("No System Log checkpoint yet ({reason}): running a full sync.");
    } else {
        let message = format!("incremental sync is not possible ({reason}); running a full sync");
        tracing::warn!("{message}");
        progress.note(&message);
    }
    let mut summary = run_full(client, store, opts, RunKind::Full, progress).await?;
    if !first {
        summary.fallback = Some(reason);
    }
    Ok(summary)
}
