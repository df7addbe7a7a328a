//! Pushes Okta users into another system: a SCIM 2.0 service provider (`kind = "scim"`), or a
//! URL that receives the plan as signed JSON batches (`kind = "webhook"`, [`webhook`]).
//!
//! A target (`[[targets]]` in the configuration, [`TargetConfig`]) receives the members of some
//! Okta groups or the holders of some roles. The caller (the CLI, from the mirror) selects
//! those users as [`SourceUser`]s and calls [`push`], which:
//!
//! 1. maps each user to SCIM attributes ([`mapping`]: templates such as `{profile.login}`,
//!    defaults that fit SCIM core) and target groups (`group_map`);
//! 2. runs the per-user [`hook`], a sandboxed Rhai script that may change both or skip the user;
//! 3. computes a [`Plan`] against the [`PushState`] (incremental: only what changed since the
//!    last push) or against the target's users and groups (`full`), honouring `exclude_users`
//!    and `target_only_users`;
//! 4. refuses the run when it would deactivate or delete more than `max_deletions`
//!    ([`PlanRefused`]; [`PushOptions::allow_deletions`] overrides it for one run);
//! 5. unless it is a dry run, carries the plan out with the [`scim`] client (bounded
//!    concurrency) or posts it to the [`webhook`], retrying 5xx, 429 and connection errors
//!    ([`transport`]), and saves what was pushed.
//!
//! Per-user failures land in [`PushReport::errors`] and do not stop the run; [`PushError`] is
//! for what stops it (configuration, the state store, listing the target).
//!
//! # Wiring
//! ```no_run
//! # async fn example(toml_text: &str, users: Vec<oktasync_push::SourceUser>) -> Result<(), Box<dyn std::error::Error>> {
//! use oktasync_push::{push, MemoryPushState, PushOptions, Target, TargetConfig};
//! use std::sync::Arc;
//!
//! let config: TargetConfig = toml::from_str(toml_text)?; // one [[targets]] entry
//! let target = Target::new(config, Arc::new(okta_api::SystemClock))?;
//! let state = MemoryPushState::default(); // the store's implementation in the CLI
//! let report = push(&target, &users, &state, &PushOptions { dry_run: true, ..Default::default() }).await?;
//! println!("{}", serde_json::to_string_pretty(&report.plan)?);
//! # Ok(()) }
//! ```
//!
//! Paths in the configuration (`hook`, `bearer_token_file`) are used as given: resolve them
//! against the configuration file's directory first.

pub mod config;
pub mod hook;
pub mod mapping;
pub mod mirror;
pub mod plan;
pub mod run;
pub mod scim;
pub mod source;
pub mod state;
pub mod transport;
pub mod webhook;

pub use config::{
    ConfigError, Deprovision, MaxDeletions, TargetConfig, TargetKind, TargetOnlyPolicy, UserPattern,
};
pub use hook::{Hook, HookError};
pub use mapping::UnknownField;
pub use mirror::{MirrorPush, StorePushState, push_from_mirror, select_users};
pub use plan::{Plan, PlanRefused};
pub use run::{
    CONCURRENT_TARGET_CALLS, DoneCounts, PushError, PushOptions, PushReport, SkippedUser, Target,
    UserError, push,
};
pub use source::{SourceGroup, SourceUser};
pub use state::{MemoryPushState, PushRecord, PushState, StateError};
pub use transport::{HttpCalls, RetryPolicy, TargetError, TargetOperation};
