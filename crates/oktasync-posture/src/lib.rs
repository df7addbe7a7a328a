//! Posture: checks over the mirror that say whether the org is configured safely, with no call
//! to Okta. Each check ([`Check`]) is SQL over the mirror's tables and documented views, with
//! a stable id, a severity, the baseline it comes from, why it matters, how to fix it, and
//! thresholds users can change. The built-in ones ([`builtin`], 45) cover admins, users, apps,
//! groups, identity providers, the kept System Log and the org's security configuration
//! (password and global session policies, the Admin Console's sign-in policy, ThreatInsight,
//! network zones, log streams, Okta API tokens, apps' Okta API scopes, authenticators); a
//! check whose data the mirror lacks reports itself not applicable and says which resource to
//! sync. A run ([`Posture::run`]) evaluates them and keeps the findings
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
