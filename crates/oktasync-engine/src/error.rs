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
