//! Time-bound group grants written back to Okta: a person added to a group until a time,
//! and removed at that time whatever happened in between.
//!
//! - [`policy`]: what may be granted (nothing by default), for how long, with what.
//! - [`check`]: a request checked against the policies and the mirror, refused before any
//!   call when it cannot be honoured safely.
//! - [`actions`]: asking, approving, denying, extending and ending grants (CLI and REST).
//! - [`enforce`]: one enforcement pass: confirm the adds, remove what is due, retry what
//!   failed; run by `grant enforce`, and continuously by `watch` and `serve`.
//! - [`drift`]: what others did to granted memberships, read from the change log (reported,
//!   not fought), and each grant call tied to its System Log event.
//! - [`cleanup`]: accounts created for grants, deactivated and deleted after their last one.
//!
//! The store keeps the grants and their audit (`oktasync_store::Grants`): a grant is committed
//! before Okta is called, so a crash between the two leaves work the next pass finds.

pub mod actions;
pub mod check;
pub mod cleanup;
pub mod drift;
pub mod enforce;
mod error;
pub mod policy;

pub use error::{GrantError, Refusal};
