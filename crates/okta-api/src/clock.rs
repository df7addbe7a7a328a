//! Time goes through a [`Clock`] so that token expiry and clock skew can be tested.
//! Durations for sleeping are measured with tokio's monotonic timer; wall time (token
//! lifetimes, JWT claims, rate-limit resets) comes from the clock.

use chrono::{DateTime, Utc};
use std::fmt::Debug;

/// A source of wall-clock time.
pub trait Clock: Send + Sync + Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The system clock shifted by a fixed offset: a machine whose clock is wrong.
#[derive(Debug, Clone, Copy)]
pub struct OffsetClock(pub chrono::Duration);

impl Clock for OffsetClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + self.0
    }
}
