//! A faithful Okta Management API emulator.
//!
//! It serves the parts of the Okta Management API that a directory sync reads and writes,
//! with Okta's pagination, filters, errors, rate limits, OAuth and System Log behaviour, over
//! a seeded synthetic org. oktasync's tests, benchmarks and `oktasync demo` run against it;
//! anyone building against Okta can run it on its own (`okta-emulator --help`).
//!
//! Module map:
//! - [`model`]: the org held in memory (users, groups, apps, roles, idps, factors, log).
//! - [`generate`]: seeded synthetic orgs (`--seed`, `--size`).
//! - [`churn`]: random realistic mutations through the same code paths as the API.
//! - [`api`]: one module per Okta resource (HTTP handlers), plus pagination and filters.
//! - [`gate`]: what every request passes first: faults, concurrency, auth, scopes, rate limits.
//! - [`control`]: the `/__emulator/` endpoints.

pub mod api;
pub mod churn;
pub mod clock;
pub mod config;
pub mod control;
pub mod error;
pub mod gate;
pub mod generate;
pub mod model;
pub mod principal;
pub mod server;

pub use clock::{Clock, ManualClock, SystemClock};
pub use config::{EmulatorConfig, OrgSize, RateLimitMode};
pub use error::OktaError;
pub use server::{RunningEmulator, StartError, start, start_tls};
