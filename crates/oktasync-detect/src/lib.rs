//! Detection over the kept Okta System Log.
//!
//! Rules ([`Rule`]) are single-event matches (Okta System Log filter expressions, Sigma, or
//! Rust), windowed aggregations per entity (push bombing, password spray, credential stuffing,
//! brute force, cookie reuse, several countries), or absences (MFA removed and not enrolled
//! again). [`Detector::run`] evaluates them over the events the store keeps, each event once
//! (the `detect.seq` checkpoint), or over a time range on demand, and saves alerts deduplicated
//! per rule, entity and window, with the matching events' uuids.
//!
//! The built-in rules reimplement public detections and name them in `sources`; users add
//! their own in `rules_dir` ([`user_rules`]).

mod catalogue;
mod engine;
mod error;
mod event;
mod rule;
mod settings;
pub mod sigma;
pub mod user_rules;

pub use catalogue::builtin;
pub use engine::{
    DETECT_AT_CHECKPOINT, DETECT_CHECKPOINT, DetectReport, Detector, EVENTS_PER_BATCH, Range,
};
pub use error::{DetectError, Result};
pub use event::Event;
pub use oktasync_store::{Severity, UnknownSeverity};
pub use rule::{Context, Finding, Key, Logic, Matcher, Params, Rule, WindowRule, login_shape};
pub use settings::DetectionSettings;
