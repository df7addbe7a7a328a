//! Recording a run, full or incremental, in `sync_runs`: its start, what it did (calls,
//! objects read, the client's metrics), and its end, committed or failed. The store writes
//! the end with the run's data ([`oktasync_store::FullSyncSession::commit`],
//! [`oktasync_store::MirrorWriter::apply_delta`]) or without it (`fail`); this module makes
//! the record and the [`RunSummary`] the caller gets.

use crate::error::EngineError;
use crate::options::{Resource, SyncOptions};
use crate::summary::{RunSummary, Tally, timestamp};
use chrono::{DateTime, Utc};
use okta_api::{MetricsSnapshot, OktaClient};
use oktasync_store::{Changes, RunId, RunKind, RunOutcome, RunStart, RunStats};
use std::sync::Arc;
use tokio::time::Instant;

/// A run about to be recorded: its start, taken before the store is asked to record it.
pub(crate) struct RunStarting {
    kind: RunKind,
    client: OktaClient,
    opts: SyncOptions,
    started_at: DateTime<Utc>,
    started: Instant,
    metrics_before: MetricsSnapshot,
}

impl RunStarting {
    pub(crate) fn now(client: &OktaClient, opts: &SyncOptions, kind: RunKind) -> Self {
        Self {
            kind,
            client: client.clone(),
            opts: opts.clone(),
            started_at: opts.clock.now(),
            started: Instant::now(),
            metrics_before: client.metrics(),
        }
    }

    pub(crate) fn started_at(&self) -> DateTime<Utc> {
        self.started_at
    }

    /// What the store records when the run begins.
    pub(crate) fn run_start(&self) -> RunStart {
        RunStart {
            started_at: self.started_at,
            kind: self.kind,
            resources: Resource::ALL
                .into_iter()
                .filter(|r| self.opts.wants(*r))
                .map(|r| r.as_str().to_owned())
                .collect(),
        }
    }

    /// The run, recorded by the store as `id`.
    pub(crate) fn recorded(self, id: RunId) -> RunRecord {
        tracing::info!(
            run_id = id.0,
            org = %self.client.org().origin(),
            kind = %self.kind,
            "Sync run started."
        );
        RunRecord {
            id,
            starting: self,
            tally: Arc::default(),
            events: None,
        }
    }
}

/// A run the store has recorded as `running`.
pub(crate) struct RunRecord {
    id: RunId,
    starting: RunStarting,
    tally: Arc<Tally>,
    /// System Log events the run applies (incremental runs).
    events: Option<u64>,
}

impl RunRecord {
    pub(crate) fn id(&self) -> RunId {
        self.id
    }

    /// Where the run's reads add what they did.
    pub(crate) fn tally(&self) -> &Arc<Tally> {
        &self.tally
    }

    pub(crate) fn set_events(&mut self, events: u64) {
        self.events = Some(events);
    }

    /// What the run did so far, as a summary whose outcome is still `running`.
    pub(crate) fn summary(&self) -> RunSummary {
        let s = &self.starting;
        let mut summary = RunSummary::measured(
            self.id.0,
            s.kind,
            s.client.org().origin(),
            &s.metrics_before,
            &s.client.metrics(),
            &self.tally,
            &s.opts,
        );
        summary.started_at = timestamp(s.started_at);
        summary.events = self.events;
        summary.duration_s = s.started.elapsed().as_secs_f64();
        summary
    }

    /// What `sync_runs` keeps of `summary`, the run ending now.
    pub(crate) fn stats(&self, summary: &RunSummary) -> RunStats {
        let opts = &self.starting.opts;
        let mut counts = self.tally.counts.by_key(opts);
        if let Some(events) = self.events {
            counts.insert("events".into(), events);
        }
        summary.run_stats(opts.clock.now(), counts)
    }

    /// The summary and the stats the store records with the run's end.
    pub(crate) fn ending(&self) -> (RunSummary, RunStats) {
        let mut summary = self.summary();
        let stats = self.stats(&summary);
        summary.ended_at = timestamp(stats.ended_at);
        (summary, stats)
    }

    /// The caller's result once the store recorded the run's end: `summary` with its outcome
    /// and changes, or [`EngineError::RunFailed`] carrying it. An incremental run that turned
    /// out impossible returns [`EngineError::IncrementalUnavailable`] as it is: the caller
    /// runs a full sync instead.
    pub(crate) fn ended(
        self,
        mut summary: RunSummary,
        result: Result<Changes, EngineError>,
    ) -> Result<RunSummary, EngineError> {
        let run_id = self.id.0;
        summary.duration_s = self.starting.started.elapsed().as_secs_f64();
        match result {
            Ok(changes) => {
                summary.outcome = RunOutcome::Succeeded;
                summary.changes = changes;
                if summary.kind == RunKind::Reconcile {
                    summary.drift = Some(summary.rows_changed());
                }
                tracing::info!(
                    run_id,
                    kind = %summary.kind,
                    events = summary.events,
                    drift = summary.drift,
                    api_calls = summary.api_calls,
                    rows_changed = summary.rows_changed(),
                    duration_s = summary.duration_s,
                    "Sync run committed."
                );
                Ok(summary)
            }
            Err(cause @ EngineError::IncrementalUnavailable { .. }) => Err(cause),
            Err(cause) => {
                summary.outcome = RunOutcome::Failed;
                summary.error = Some(cause.to_string());
                // The caller reports the failure (RunFailed); info keeps it in logs, not twice
                // on screen.
                tracing::info!(
                    run_id,
                    error = %cause,
                    "Sync run failed; the mirror kept its previous state."
                );
                Err(EngineError::RunFailed {
                    run_id,
                    cause: Box::new(cause),
                    summary: Box::new(summary),
                })
            }
        }
    }
}
