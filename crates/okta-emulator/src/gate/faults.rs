//! Seeded, reproducible faults: 500/502/503/504 with Okta bodies, dropped connections,
//! truncated bodies and slow answers. The same `fault_seed` gives the same sequence of faults
//! for the same sequence of requests. `PUT /__emulator/faults` changes the settings live
//! ([`FaultInjector::update`]).

use crate::error::OktaError;
use http::StatusCode;
use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Duration;

/// How long a "slow" fault delays its answer unless `slow_ms` says otherwise.
pub const DEFAULT_SLOW_MS: u64 = 2_000;

/// The fault kinds, in the order of their weights (`kinds` keys in the settings body).
pub const FAULT_KINDS: [&str; 7] = ["500", "502", "503", "504", "drop", "truncate", "slow"];

/// One injected fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer with this 5xx status and an Okta error body; the handler does not run.
    Status(u16),
    /// Close the connection without an answer; the handler does not run.
    Drop,
    /// Run the handler, announce its full length, send part of the body, then close.
    Truncate,
    /// Wait, then answer normally.
    Slow(Duration),
}

impl Fault {
    /// The Okta error a status fault answers with.
    pub fn error(status: u16) -> OktaError {
        match status {
            503 => OktaError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "E0000010",
                "Service is in read only mode",
            ),
            other => OktaError::new(
                StatusCode::from_u16(other).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                "E0000009",
                "Internal Server Error",
            ),
        }
    }
}

#[derive(Debug)]
struct State {
    rate: f64,
    weights: [u32; FAULT_KINDS.len()],
    slow_ms: u64,
    rng: ChaCha8Rng,
}

#[derive(Debug)]
pub struct FaultInjector {
    state: Mutex<State>,
}

/// The body of `PUT /__emulator/faults`; every field is optional.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    /// Share of requests that get a fault, 0.0 ..= 1.0.
    fault_rate: Option<f64>,
    /// Restarts the fault sequence from this seed.
    fault_seed: Option<u64>,
    /// Relative weights by kind: "500", "502", "503", "504", "drop", "truncate", "slow".
    /// Kinds not named keep their weight; the default is 1 each.
    kinds: Option<std::collections::BTreeMap<String, u32>>,
    /// Delay of a slow answer.
    slow_ms: Option<u64>,
}

impl FaultInjector {
    pub fn new(rate: f64, seed: u64) -> Result<Self, String> {
        check_rate(rate)?;
        Ok(Self {
            state: Mutex::new(State {
                rate,
                weights: [1; FAULT_KINDS.len()],
                slow_ms: DEFAULT_SLOW_MS,
                rng: ChaCha8Rng::seed_from_u64(seed),
            }),
        })
    }

    /// Decides the fault of the next request (one draw per request, plus one when faulted).
    pub fn draw(&self) -> Option<Fault> {
        let mut s = self.state.lock();
        if s.rate <= 0.0 {
            return None;
        }
        let roll: f64 = s.rng.random();
        if roll >= s.rate {
            return None;
        }
        let total: u32 = s.weights.iter().sum();
        if total == 0 {
            return None;
        }
        let mut pick = s.rng.random_range(0..total);
        let mut kind = 0;
        for (i, w) in s.weights.iter().enumerate() {
            if pick < *w {
                kind = i;
                break;
            }
            pick -= w;
        }
        Some(match FAULT_KINDS[kind] {
            "drop" => Fault::Drop,
            "truncate" => Fault::Truncate,
            "slow" => Fault::Slow(Duration::from_millis(s.slow_ms)),
            status => Fault::Status(status.parse().unwrap_or(500)),
        })
    }

    /// Applies `{"fault_rate": F, "fault_seed": S, "kinds": {...}, "slow_ms": N}`.
    pub fn update(&self, body: serde_json::Value) -> Result<(), OktaError> {
        let settings: Settings = serde_json::from_value(body).map_err(|e| {
            OktaError::validation(
                "faults",
                format!("{e}; fields: fault_rate, fault_seed, kinds, slow_ms"),
            )
        })?;
        let mut weights = self.state.lock().weights;
        if let Some(kinds) = &settings.kinds {
            for (name, weight) in kinds {
                let Some(i) = FAULT_KINDS.iter().position(|k| k == name) else {
                    return Err(OktaError::validation(
                        "faults",
                        format!(
                            "unknown fault kind {name:?}; kinds: {}",
                            FAULT_KINDS.join(", ")
                        ),
                    ));
                };
                weights[i] = *weight;
            }
        }
        if let Some(rate) = settings.fault_rate {
            check_rate(rate).map_err(|e| OktaError::validation("faults", e))?;
        }
        let mut s = self.state.lock();
        s.weights = weights;
        if let Some(rate) = settings.fault_rate {
            s.rate = rate;
        }
        if let Some(seed) = settings.fault_seed {
            s.rng = ChaCha8Rng::seed_from_u64(seed);
        }
        if let Some(ms) = settings.slow_ms {
            s.slow_ms = ms;
        }
        Ok(())
    }
}

fn check_rate(rate: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&rate) {
        Ok(())
    } else {
        Err(format!("fault_rate must be between 0 and 1, got {rate}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_faults() {
        let seq = |seed| {
            let f = FaultInjector::new(0.5, seed).unwrap();
            (0..200).map(|_| f.draw()).collect::<Vec<_>>()
        };
        assert_eq!(seq(7), seq(7));
        assert_ne!(seq(7), seq(8));
        let faulted = seq(7).iter().filter(|f| f.is_some()).count();
        assert!((60..140).contains(&faulted), "{faulted}");
    }

    #[test]
    fn update_reseeds_and_restricts_kinds() {
        let f = FaultInjector::new(0.0, 1).unwrap();
        assert!(f.draw().is_none());
        let body = serde_json::json!({"fault_rate": 1.0, "fault_seed": 3,
            "kinds": {"500": 0, "502": 0, "504": 0, "drop": 0, "truncate": 0, "slow": 0}});
        f.update(body).unwrap();
        assert!((0..20).all(|_| f.draw() == Some(Fault::Status(503))));
        assert!(f.update(serde_json::json!({"fault_rate": 2.0})).is_err());
        assert!(f.update(serde_json::json!({"kinds": {"418": 1}})).is_err());
        assert!(f.update(serde_json::json!({"rate": 0.1})).is_err());
    }
}
