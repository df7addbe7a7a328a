//! An Okta object as its JSON (a user or group read from the API), for [`crate::eval`].

use crate::{Attr, Filterable, parse_ts};
use serde_json::Value;

/// Attributes that Okta compares as timestamps, not text.
const TIMESTAMPS: &[&str] = &[
    "created",
    "activated",
    "statusChanged",
    "lastLogin",
    "lastUpdated",
    "passwordChanged",
    "lastMembershipUpdated",
    "published",
];

/// An object as Okta returns it: `profile.department` is `object["profile"]["department"]`,
/// `type.id` is `object["type"]["id"]`, timestamps compare as times. A path goes through
/// arrays: `target.displayName` is every target's, `target.0.displayName` the first one's.
#[derive(Debug, Clone, Copy)]
pub struct JsonObject<'a>(pub &'a Value);

impl<'a> JsonObject<'a> {
    /// Calls `found` with every value at `path` (arrays fan out) until it returns true.
    fn walk(value: &'a Value, path: &[&str], found: &mut dyn FnMut(&'a Value) -> bool) -> bool {
        let Some((key, rest)) = path.split_first() else {
            return match value {
                Value::Array(items) => items.iter().any(&mut *found),
                v => found(v),
            };
        };
        match value {
            Value::Object(map) => map.get(*key).is_some_and(|v| Self::walk(v, rest, found)),
            Value::Array(items) => match key.parse::<usize>() {
                Ok(i) => items.get(i).is_some_and(|v| Self::walk(v, rest, found)),
                Err(_) => items.iter().any(|v| Self::walk(v, path, found)),
            },
            _ => false,
        }
    }

    fn scalar<'v>(name: &str, value: &'v Value) -> Attr<'v> {
        match value {
            Value::String(s) if TIMESTAMPS.contains(&name) => {
                parse_ts(s).map_or(Attr::Str(s), Attr::Ts)
            }
            Value::String(s) => Attr::Str(s),
            Value::Bool(b) => Attr::Bool(*b),
            Value::Number(n) => n.as_f64().map_or(Attr::Missing, Attr::Num),
            _ => Attr::Missing,
        }
    }
}

impl Filterable for JsonObject<'_> {
    fn attr(&self, name: &str) -> Attr<'_> {
        let path: Vec<&str> = name.split('.').collect();
        let mut first = None;
        Self::walk(self.0, &path, &mut |v| {
            first = Some(v);
            true
        });
        first.map_or(Attr::Missing, |v| Self::scalar(name, v))
    }

    /// A multi-valued attribute (an array of strings, or a field of every element of an
    /// array) matches when any value does.
    fn any_attr(&self, name: &str, pred: &mut dyn FnMut(Attr<'_>) -> bool) -> bool {
        let path: Vec<&str> = name.split('.').collect();
        let mut seen = false;
        let matched = Self::walk(self.0, &path, &mut |v| {
            seen = true;
            pred(Self::scalar(name, v))
        });
        matched || (!seen && pred(Attr::Missing))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DETECTION, USER_SEARCH, eval, parse};
    use serde_json::json;

    #[test]
    fn detections_reach_into_arrays_and_coerce_booleans_and_numbers() {
        let event = json!({
            "eventType": "user.session.start",
            "outcome": {"result": "FAILURE", "reason": "INVALID_CREDENTIALS"},
            "securityContext": {"isProxy": true, "asNumber": 13335},
            "debugContext": {"debugData": {"threatSuspected": "false"}},
            "target": [
                {"id": "0oa1", "type": "AppInstance", "displayName": "Okta Admin Console"},
                {"id": "00u1", "type": "AppUser", "displayName": "Ana"}
            ]
        });
        let yes = [
            r#"eventType eq "user.session.start" and securityContext.isProxy eq "true""#,
            "securityContext.isProxy eq true",
            r#"target.displayName co "admin console""#,
            r#"target.1.type eq "AppUser""#,
            r#"outcome.reason in ["LOCKED_OUT", "INVALID_CREDENTIALS"]"#,
            r#"not (outcome.result eq "SUCCESS")"#,
            r#"not outcome.result eq "SUCCESS" and target.id eq "00u1""#,
            r#"securityContext.asNumber eq "13335""#,
            r#"securityContext.asNumber gt "1000""#,
            "target.id pr",
            r#"debugContext.debugData.threatSuspected eq "false""#,
        ];
        for src in yes {
            let expr = parse(src, &DETECTION).unwrap_or_else(|e| panic!("{src}: {e}"));
            assert!(eval(&expr, &JsonObject(&event)), "{src}");
        }
        let no = [
            r#"target.0.type eq "AppUser""#,
            r#"outcome.reason in ["LOCKED_OUT"]"#,
            r#"not target.displayName co "admin""#,
            "securityContext.isProxy eq false",
            "client.ipAddress pr",
            r#"target.5.id eq "0oa1""#,
        ];
        for src in no {
            assert!(
                !eval(&parse(src, &DETECTION).unwrap(), &JsonObject(&event)),
                "{src}"
            );
        }
        for bad in [
            r#"outcome.reason in []"#,
            r#"outcome.reason in ["a" "b"]"#,
            r#"outcome.reason in "a""#,
            r#"outcome..reason eq "a""#,
            "not",
        ] {
            assert!(parse(bad, &DETECTION).is_err(), "{bad}");
        }
        // The API filters keep refusing what Okta refuses.
        assert!(parse(r#"eventType in ["a"]"#, &crate::LOG_FILTER).is_err());
        assert!(parse(r#"not eventType eq "a""#, &crate::LOG_FILTER).is_err());
    }

    #[test]
    fn evaluates_a_search_on_a_user_read_from_okta() {
        let user = json!({
            "id": "00u1", "status": "ACTIVE", "type": {"id": "oty1"},
            "lastUpdated": "2026-01-02T00:00:00.000Z",
            "profile": {"login": "ana@example.com", "department": "Engineering",
                        "tags": ["oncall", "sre"]}
        });
        let yes = [
            r#"profile.department eq "engineering""#,
            r#"status eq "ACTIVE" and profile.login sw "ana""#,
            r#"lastUpdated gt "2026-01-01T00:00:00.000Z""#,
            r#"profile.tags eq "sre""#,
            r#"type.id eq "oty1""#,
            "profile.department pr",
        ];
        for src in yes {
            assert!(
                eval(&parse(src, &USER_SEARCH).unwrap(), &JsonObject(&user)),
                "{src}"
            );
        }
        let no = [
            r#"profile.department eq "Sales""#,
            r#"lastUpdated lt "2026-01-01T00:00:00.000Z""#,
            "profile.city pr",
        ];
        for src in no {
            assert!(
                !eval(&parse(src, &USER_SEARCH).unwrap(), &JsonObject(&user)),
                "{src}"
            );
        }
    }
}
