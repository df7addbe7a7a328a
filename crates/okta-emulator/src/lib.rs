//! A faithful Okta Management API emulator.
//!
//! It serves the parts of the Okta Management API that a directory sync reads and writes,
//! with Okta's pagination, filters, errors, rate limits, OAuth and System Log behaviour, over
//! a seeded synthetic org. oktasync's tests, benchmarks and `oktasync demo` run against it;
//! anyone building against Okta can run it on its own (`okta-emulator --help`).
//!
//! Module map:
//! - [`model`]: the org held in memory (users, groups, group rules, apps, roles, idps, factors,
//!   log; and the security configuration: policies, authenticators, network zones,
//!   ThreatInsight, log streams, API tokens, app grants), and the Okta Expression Language
//!   subset group rules use.
//! - [`generate`]: seeded synthetic orgs (`--seed`, `--size`).
//! - [`churn`]: random realistic mutations through the same code paths as the API.
//! - [`api`]: one module per Okta resource (HTTP handlers), plus pagination and filters.
//! - [`gate`]: what every request passes first: faults, concurrency, auth, scopes, rate limits.
//! - [`control`]: the `/__emulator/` endpoints.
//!
//! In-process use (tests, `oktasync demo`):
//!
//! ```no_run
//! # async fn demo() -> Result<(), okta_emulator::StartError> {
//! use okta_emulator::{EmulatorConfig, OrgSize};
//! let emu = okta_emulator::start(EmulatorConfig { size: OrgSize::Small, seed: 7, ..Default::default() }).await?;
//! let _url = emu.base_url(); // http://127.0.0.1:PORT
//! let _token = emu.token(); // the first configured SSWS token
//! let _org = emu.export(); // {users, groups, group_rules, apps, …, policies, network_zones, …}: see control.rs
//! emu.churn(1, 100); // 100 random mutations, with their System Log events
//! emu.shutdown().await;
//! # Ok(())
//! # }
//! ```

pub mod activity;
pub mod api;
pub mod churn;
pub mod clock;
pub mod config;
pub mod control;
pub mod error;
pub mod gate;
pub mod generate;
pub mod model;
pub mod places;
pub mod principal;
pub mod scenario;
pub mod server;

pub use clock::{Clock, ManualClock, OffsetClock, SystemClock};
pub use config::{EmulatorConfig, OrgSize, RateLimitMode};
pub use error::OktaError;
pub use server::{RunningEmulator, StartError, start, start_tls};
