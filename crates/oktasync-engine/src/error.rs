//! The engine's error type.

use crate::summary::RunSummary;
use oktasync_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// An Okta request failed (after the client's retries).
    #[error("reading {what} from Okta failed: {cause}")]
    Okta {
        what: String,
        cause: okta_api::Error,
    },

    /// The mirror could not be read or written.
    #[error(transparent)]
    Store(#[from] StoreError),

    /// The store stopped taking batches; its own error is reported instead.
    #[error("the mirror stopped accepting data")]
    StoreClosed,

    /// An incremental sync cannot run (no checkpoint, a checkpoint older than Okta keeps
    /// logs, or a System Log the credentials cannot read); a full sync can.
    /// [`crate::sync`] falls back to one on its own.
    #[error("an incremental sync is not possible: {reason}; run a full sync")]
    IncrementalUnavailable { reason: String },

    /// The sync scope names something the org does not have (an app id that is not there).
    #[error("the sync scope cannot be read: {0}")]
    Scope(String),

    /// A bug: something that should not happen did.
    #[error("internal error: {0}; please report it")]
    Internal(String),

    /// A run started and failed. It is recorded in `sync_runs` as failed, and the mirror
    /// kept its previous state. `summary` holds what the run did before it failed.
    #[error(
        "sync run {run_id} failed and the mirror kept its previous state: {cause}. Fix the cause and run the sync again"
    )]
    RunFailed {
        run_id: i64,
        cause: Box<EngineError>,
        summary: Box<RunSummary>,
    },
}
