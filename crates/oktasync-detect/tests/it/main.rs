mod panther;
mod runs;
mod single;
mod user_rules;
mod windows;

use chrono::{DateTime, Duration, TimeZone, Utc};
use oktasync_detect::{Context, Detector, Event};
use oktasync_store::NewAlert;
use serde_json::{Value, json};

/// 2026-05-01 09:00 UTC plus `seconds`.
pub fn at(seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 9, 0, 0).unwrap() + Duration::seconds(seconds)
}

/// A System Log event in Okta's full shape, for `actor` from `ip` in `country`.
pub struct E {
    pub v: Value,
}

static UUID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl E {
    pub fn new(seconds: i64, event_type: &str, actor: &str) -> E {
        let n = UUID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        E {
            v: json!({
                "uuid": format!("00000000-0000-4000-8000-{n:012}"),
                "published": at(seconds).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                "eventType": event_type,
                "legacyEventType": null,
                "displayMessage": "",
                "actor": {"id": format!("00u{actor}"), "type": "User",
                          "alternateId": format!("{actor}@example.com"), "displayName": actor},
                "client": {"ipAddress": "198.51.100.10", "device": "Computer",
                           "geographicalContext": {"country": "United States", "city": "Boston"},
                           "userAgent": {"rawUserAgent": "Mozilla/5.0 (Macintosh) Chrome/120",
                                         "os": "Mac OS X", "browser": "CHROME"}},
                "securityContext": {"isProxy": false, "asNumber": 7922, "asOrg": "comcast"},
                "authenticationContext": {"externalSessionId": "102abc", "rootSessionId": "102abc"},
                "outcome": {"result": "SUCCESS", "reason": null},
                "debugContext": {"debugData": {}},
                "target": [],
            }),
        }
    }

    pub fn failed(mut self, reason: &str) -> E {
        self.v["outcome"] = json!({"result": "FAILURE", "reason": reason});
        self
    }

    pub fn outcome(mut self, result: &str) -> E {
        self.v["outcome"]["result"] = json!(result);
        self
    }

    pub fn from(mut self, ip: &str, country: &str) -> E {
        self.v["client"]["ipAddress"] = json!(ip);
        self.v["client"]["geographicalContext"]["country"] = json!(country);
        self
    }

    pub fn agent(mut self, os: &str, browser: &str) -> E {
        self.v["client"]["userAgent"]["os"] = json!(os);
        self.v["client"]["userAgent"]["browser"] = json!(browser);
        self
    }

    pub fn debug(mut self, key: &str, value: &str) -> E {
        self.v["debugContext"]["debugData"][key] = json!(value);
        self
    }

    pub fn proxy(mut self) -> E {
        self.v["securityContext"]["isProxy"] = json!(true);
        self
    }

    pub fn target(mut self, kind: &str, id: &str, alternate_id: &str) -> E {
        self.v["target"]
            .as_array_mut()
            .unwrap()
            .push(json!({"id": id, "type": kind, "alternateId": alternate_id, "displayName": alternate_id}));
        self
    }
}

/// The alerts the built-in rules raise for these events, all new.
pub fn detect(events: Vec<E>) -> Vec<NewAlert> {
    detect_with(&Detector::builtin(), events, &Context::default())
}

pub fn detect_with(detector: &Detector, events: Vec<E>, ctx: &Context) -> Vec<NewAlert> {
    let events: Vec<Event> = events
        .into_iter()
        .enumerate()
        .map(|(i, e)| Event::from_raw(i as i64 + 1, e.v).unwrap())
        .collect();
    detector.evaluate(&events, &events, ctx)
}

/// The ids of the rules that fired (sorted, once each).
pub fn fired(alerts: &[NewAlert]) -> Vec<String> {
    let mut ids: Vec<String> = alerts.iter().map(|a| a.rule_id.clone()).collect();
    ids.sort();
    ids.dedup();
    ids
}
