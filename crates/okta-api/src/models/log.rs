//! `LogEvent` (GET /api/v1/logs).

use super::{lenient, okta_model};
use chrono::{DateTime, Utc};
use serde::Deserialize;

okta_model! {
    /// One System Log event.
    pub struct LogEvent {
        /// Unique per event: de-duplicate on it.
        pub uuid: String,
        pub published: Option<DateTime<Utc>> => serde(default, deserialize_with = "lenient::timestamp"),
        pub event_type: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub legacy_event_type: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub display_message: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub severity: Option<String> => serde(default, deserialize_with = "lenient::string"),
        pub actor: Option<LogActor> => serde(default),
        pub outcome: Option<LogOutcome> => serde(default),
        /// The event's targets (`target` in Okta's JSON).
        pub targets: Vec<LogTarget> => serde(default, rename = "target", deserialize_with = "lenient::vec"),
        pub debug_context: Option<LogDebugContext> => serde(default, deserialize_with = "lenient::object"),
    }
}

impl LogEvent {
    /// The `X-Okta-Request-Id` of the API request that caused the event
    /// (`debugContext.debugData.requestId`): how a write is matched to its event.
    pub fn request_id(&self) -> Option<&str> {
        self.debug_context
            .as_ref()?
            .debug_data
            .as_ref()?
            .request_id
            .as_deref()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogDebugContext {
    #[serde(default, deserialize_with = "lenient::object")]
    pub debug_data: Option<LogDebugData>,
}

/// The part of `debugContext.debugData` read here; Okta puts many more keys in it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogDebugData {
    #[serde(default, deserialize_with = "lenient::string")]
    pub request_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogActor {
    #[serde(default, deserialize_with = "lenient::string")]
    pub id: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "lenient::string")]
    pub actor_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub alternate_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogTarget {
    #[serde(default, deserialize_with = "lenient::string")]
    pub id: Option<String>,
    #[serde(default, rename = "type", deserialize_with = "lenient::string")]
    pub target_type: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub alternate_id: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogOutcome {
    #[serde(default, deserialize_with = "lenient::string")]
    pub result: Option<String>,
    #[serde(default, deserialize_with = "lenient::string")]
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether the tests run under CI (`CI` set and not `false`/`0`, as `.ci/run` sets it).
    fn under_ci() -> bool {
        std::env::var("CI")
            .is_ok_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
    }

    /// Real System Log events recorded from Okta orgs, in `../shared/okta/logs` beside the
    /// workspace. Without them the test would check nothing: under CI that fails; elsewhere
    /// it is skipped with a note written past the harness's output capture.
    #[test]
    fn reads_real_log_samples() {
        let dir =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/okta/logs");
        let entries = match std::fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                assert!(
                    !under_ci(),
                    "{}: {e}; under CI the recorded log samples must be there (check out \
                     ../shared beside the workspace)",
                    dir.display()
                );
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "\n!!! SKIPPED: {} not found ({e}); reads_real_log_samples checked \
                     NOTHING (under CI this fails)\n",
                    dir.display()
                );
                return;
            }
        };
        let mut read = 0;
        let mut stack: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        while let Some(path) = stack.pop() {
            if path.is_dir() {
                stack.extend(
                    std::fs::read_dir(&path)
                        .unwrap()
                        .flatten()
                        .map(|e| e.path()),
                );
                continue;
            }
            if path.extension().and_then(|e| e.to_str()) != Some("jsonl") {
                continue;
            }
            for line in std::fs::read_to_string(&path)
                .unwrap()
                .lines()
                .filter(|l| !l.trim().is_empty())
            {
                let Ok(mut value) = serde_json::from_str::<serde_json::Value>(line) else {
                    continue;
                };
                // rule-test fixtures wrap the event
                if let Some(event) = value.get("event").filter(|e| e.is_object()) {
                    value = event.clone();
                }
                if value.get("uuid").is_none() {
                    continue;
                }
                let event: LogEvent = serde_json::from_value(value.clone())
                    .unwrap_or_else(|e| panic!("{path:?}: {e}"));
                assert_eq!(event.raw, value);
                assert!(event.event_type.is_some());
                read += 1;
            }
        }
        eprintln!("read {read} real log events");
        assert!(read >= 50, "only {read} log events in {}", dir.display());
    }

    #[test]
    fn reads_targets() {
        let e: LogEvent = serde_json::from_str(
            r#"{"uuid":"u1","eventType":"group.user_membership.add","published":"2024-01-01T00:00:00.000Z",
               "actor":{"id":"00u1","type":"User"},"target":[{"id":"00u2","type":"User"},{"id":"00g1","type":"UserGroup"}]}"#,
        )
        .unwrap();
        assert_eq!(e.targets.len(), 2);
        assert_eq!(e.targets[1].target_type.as_deref(), Some("UserGroup"));
        let none: LogEvent = serde_json::from_str(r#"{"uuid":"u2","target":null}"#).unwrap();
        assert!(none.targets.is_empty());
    }
}
