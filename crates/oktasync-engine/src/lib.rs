//! Sync planning and execution: reads an Okta org through [`okta_api::OktaClient`] with the
//! fewest calls, and writes it to a mirror through [`oktasync_store::Store`].
//!
//! Terms: a *run* is one sync recorded in `sync_runs`; a *resource* is a kind of Okta object
//! the user can select (`--resources`); a *listing* is one paginated endpoint read to its end;
//! *staging* puts a page into the run's private area in the store, and *commit* swaps the
//! mirror to the staged state in one transaction.
//!
//! Entry points: [`sync`] (incremental when the mirror has a System Log checkpoint, else
//! full; see [`mode`]), [`full_sync`] (see [`full`]), [`incremental_sync`] (see
//! [`incremental`]), [`watch`](watch()) (tails the log), and the benchmark helpers in
//! [`bench`].
//!
//! Layout: each Okta resource is one module under `resources/` behind one trait (how a full
//! sync lists it, which events concern it, how it is re-read, what a deletion removes of
//! it). [`full`] schedules the listings and [`incremental`] turns events into a delta; both
//! ask every resource module and name none. Around them: [`mode`] chooses full or
//! incremental and falls back, `run_record` records a run for both, [`system_log`] holds the
//! checkpoint, `admins` who is an admin (the default factor scope), [`events`] what an event
//! means.

mod admins;
pub mod bench;
mod error;
pub mod events;
pub mod full;
pub mod incremental;
mod listing;
pub mod mode;
mod options;
mod progress;
mod reading;
mod reread;
mod resources;
mod run_record;
pub mod scope;
mod summary;
pub mod system_log;
pub mod watch;

pub use error::EngineError;
pub use full::{BATCHES_PER_WRITE, CONCURRENT_LISTINGS, STORE_QUEUE_BATCHES, full_sync};
pub use incremental::{CONCURRENT_REREADS, incremental_sync};
pub use mode::{SyncMode, sync};
pub use okta_api::{Clock, SystemClock};
pub use options::{FactorScope, RESOURCES_CHECKPOINT, Resource, SyncOptions};
pub use progress::{NoProgress, Progress, TracingProgress};
pub use reread::WATERMARK_OVERLAP;
pub use scope::{SCOPE_CHECKPOINT, SyncScope, UserExpression};
pub use summary::{ObjectCounts, RunSummary};
pub use system_log::{
    LOG_BACKFILL, LOG_RETENTION, LOG_START_LOOKBACK, LOGS_CHECKPOINT, MAX_EVENTS_PER_RUN,
};
pub use watch::{Step as WatchStep, WatchOptions, permanent, watch, watch_step};
