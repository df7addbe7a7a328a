//! One kept System Log event as rules read it: the fields detections ask for, by name, read
//! leniently (real events carry every key with `null` where there is no value; test events
//! are sparse; `isProxy` arrives as a boolean or a string).

use chrono::{DateTime, Utc};
use oktasync_store::LoggedEvent;
use serde_json::Value;

/// An event with its time parsed once.
#[derive(Debug, Clone)]
pub struct Event {
    /// Local order of arrival (`log_events.seq`); 0 for events not from the store.
    pub seq: i64,
    pub published: DateTime<Utc>,
    pub raw: Value,
}

impl Event {
    /// `None` when the event has no parsable `published`.
    pub fn from_raw(seq: i64, raw: Value) -> Option<Event> {
        let published = text_at(&raw, &["published"])
            .and_then(|p| DateTime::parse_from_rfc3339(p).ok())?
            .with_timezone(&Utc);
        Some(Event {
            seq,
            published,
            raw,
        })
    }

    /// A kept event, whole (`None` when its JSON cannot be read).
    pub fn from_logged(e: LoggedEvent) -> Option<Event> {
        Event::from_raw(e.seq, serde_json::from_str(&e.raw).ok()?)
    }

    /// A kept event with only the fields windowed rules read: a look-back holds many.
    pub fn slim_from_logged(e: LoggedEvent) -> Option<Event> {
        let raw: Value = serde_json::from_str(&e.raw).ok()?;
        let mut slim = serde_json::Map::new();
        for key in [
            "uuid",
            "published",
            "eventType",
            "legacyEventType",
            "displayMessage",
        ] {
            if let Some(v) = raw.get(key) {
                slim.insert(key.into(), v.clone());
            }
        }
        let mut keep = |path: &[&str], fields: &[&str]| {
            let Some(Value::Object(from)) = at(&raw, path) else {
                return;
            };
            let picked: serde_json::Map<String, Value> = fields
                .iter()
                .filter_map(|f| from.get(*f).map(|v| ((*f).to_string(), v.clone())))
                .collect();
            let mut node = &mut slim;
            for key in &path[..path.len() - 1] {
                node = match node
                    .entry(key.to_string())
                    .or_insert_with(|| Value::Object(Default::default()))
                {
                    Value::Object(m) => m,
                    _ => return,
                };
            }
            node.insert(path[path.len() - 1].to_string(), Value::Object(picked));
        };
        keep(&["outcome"], &["result", "reason"]);
        keep(&["actor"], &["id", "type", "alternateId"]);
        keep(&["client"], &["ipAddress"]);
        keep(
            &["client", "geographicalContext"],
            &["country", "city", "state"],
        );
        keep(&["client", "userAgent"], &["os", "browser", "rawUserAgent"]);
        keep(&["securityContext"], &["isProxy", "asNumber", "asOrg"]);
        keep(
            &["authenticationContext"],
            &["externalSessionId", "rootSessionId"],
        );
        keep(
            &["debugContext", "debugData"],
            &["dtHash", "factor", "behaviors", "risk", "threatSuspected"],
        );
        if let Some(Value::Array(targets)) = raw.get("target") {
            let slimmed: Vec<Value> = targets
                .iter()
                .map(|t| {
                    let mut m = serde_json::Map::new();
                    for f in ["id", "type", "alternateId", "displayName"] {
                        if let Some(v) = t.get(f) {
                            m.insert(f.into(), v.clone());
                        }
                    }
                    Value::Object(m)
                })
                .collect();
            slim.insert("target".into(), Value::Array(slimmed));
        }
        Event::from_raw(e.seq, Value::Object(slim))
    }

    /// The string at a dotted path (`client.ipAddress`); `None` for null, absent or empty.
    pub fn text(&self, path: &str) -> Option<&str> {
        let parts: Vec<&str> = path.split('.').collect();
        text_at(&self.raw, &parts)
    }

    pub fn uuid(&self) -> Option<&str> {
        text_at(&self.raw, &["uuid"])
    }

    pub fn event_type(&self) -> &str {
        text_at(&self.raw, &["eventType"]).unwrap_or("")
    }

    /// `outcome.result` (`SUCCESS`, `FAILURE`, `ALLOW`, `DENY`, `UNANSWERED`, ...).
    pub fn outcome(&self) -> &str {
        text_at(&self.raw, &["outcome", "result"]).unwrap_or("")
    }

    pub fn reason(&self) -> &str {
        text_at(&self.raw, &["outcome", "reason"]).unwrap_or("")
    }

    /// A successful outcome (`SUCCESS` or `ALLOW`).
    pub fn succeeded(&self) -> bool {
        matches!(self.outcome(), "SUCCESS" | "ALLOW")
    }

    pub fn actor_id(&self) -> Option<&str> {
        text_at(&self.raw, &["actor", "id"])
    }

    /// `actor.alternateId`: a user's login, or a client id.
    pub fn actor_login(&self) -> Option<&str> {
        text_at(&self.raw, &["actor", "alternateId"])
    }

    /// Who acted, as alerts name them: the login, else the id.
    pub fn actor(&self) -> Option<String> {
        self.actor_login()
            .map(str::to_lowercase)
            .or_else(|| self.actor_id().map(str::to_string))
    }

    pub fn ip(&self) -> Option<&str> {
        text_at(&self.raw, &["client", "ipAddress"])
    }

    pub fn country(&self) -> Option<&str> {
        text_at(&self.raw, &["client", "geographicalContext", "country"])
    }

    pub fn city(&self) -> Option<&str> {
        text_at(&self.raw, &["client", "geographicalContext", "city"])
    }

    pub fn os(&self) -> Option<&str> {
        text_at(&self.raw, &["client", "userAgent", "os"])
    }

    pub fn browser(&self) -> Option<&str> {
        text_at(&self.raw, &["client", "userAgent", "browser"])
    }

    pub fn user_agent(&self) -> Option<&str> {
        text_at(&self.raw, &["client", "userAgent", "rawUserAgent"])
    }

    /// `debugContext.debugData.<key>`.
    pub fn debug(&self, key: &str) -> Option<&str> {
        text_at(&self.raw, &["debugContext", "debugData", key])
    }

    pub fn dt_hash(&self) -> Option<&str> {
        self.debug("dtHash").filter(|h| *h != "-")
    }

    pub fn session_id(&self) -> Option<&str> {
        text_at(&self.raw, &["authenticationContext", "externalSessionId"])
            .filter(|s| *s != "unknown")
    }

    /// `securityContext.isProxy`, a boolean or the strings `"true"`/`"false"`.
    pub fn is_proxy(&self) -> bool {
        match at(&self.raw, &["securityContext", "isProxy"]) {
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
            _ => false,
        }
    }

    /// The targets (`target[]`).
    pub fn targets(&self) -> &[Value] {
        self.raw
            .get("target")
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    /// The first target of a type (`User`, `AppInstance`, ...): its id, else its alternateId.
    pub fn target_id(&self, kind: &str) -> Option<&str> {
        self.targets()
            .iter()
            .find(|t| text_at(t, &["type"]) == Some(kind))
            .and_then(|t| text_at(t, &["id"]).or_else(|| text_at(t, &["alternateId"])))
    }

    /// The first target of a type: its login or name (`alternateId`), else its id.
    pub fn target_name(&self, kind: &str) -> Option<&str> {
        self.targets()
            .iter()
            .find(|t| text_at(t, &["type"]) == Some(kind))
            .and_then(|t| text_at(t, &["alternateId"]).or_else(|| text_at(t, &["id"])))
    }

    /// A sign-in that failed on credentials (what spray, stuffing and brute force count).
    pub fn is_credential_failure(&self) -> bool {
        let t = self.event_type();
        (t == "user.session.start" || t.starts_with("user.authentication.auth"))
            && self.outcome() == "FAILURE"
            && matches!(
                self.reason(),
                "INVALID_CREDENTIALS" | "LOCKED_OUT" | "VERIFICATION_ERROR"
            )
    }

    /// A successful sign-in or authentication step.
    pub fn is_sign_in_success(&self) -> bool {
        matches!(
            self.event_type(),
            "user.session.start"
                | "user.authentication.sso"
                | "user.authentication.auth_via_mfa"
                | "user.authentication.verify"
        ) && self.outcome() == "SUCCESS"
    }
}

fn at<'v>(value: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

/// A non-empty string at `path` (the literal `"null"` Okta writes for `client.zone` counts as
/// absent).
fn text_at<'v>(value: &'v Value, path: &[&str]) -> Option<&'v str> {
    match at(value, path)? {
        Value::String(s) if !s.is_empty() && s != "null" => Some(s),
        _ => None,
    }
}
