//! Posture: checks over the mirror that say whether the org is configured safely, with no call
//! to Okta. Each check ([`Check`]) is SQL over the mirror's tables and documented views, with
//! a stable id, a severity, the baseline it comes from, why it matters, how to fix it, and
//! thresholds users can change. A run ([`Posture::run`]) evaluates them and keeps the findings
//! (first seen, last seen, resolved), so that the next run says what is new and what was fixed;
//! [`sarif`] writes a run for code-scanning tools.

mod catalogue;
mod check;
mod error;
mod runner;
pub mod sarif;

pub use catalogue::builtin;
pub use check::{Applies, Check};
pub use error::{PostureError, Result};
pub use runner::{CheckResult, CheckStatus, Finding, Posture, PostureReport, PostureSettings};
