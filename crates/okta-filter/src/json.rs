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
/// `type.id` is `object["type"]["id"]`, timestamps compare as times.
#[derive(Debug, Clone, Copy)]
pub struct JsonObject<'a>(pub &'a Value);

impl JsonObject<'_> {
    fn value(&self, name: &str) -> Option<&Value> {
        name.split('.').try_fold(self.0, |v, key| v.get(key))
    }

    fn scalar<'v>(name: &str, value: &'v Value) -> Attr<'v> {
        match value {
            Value::String(s) if TIMESTAMPS.contains(&name) => {
                parse_ts(s).map_or(Attr::Str(s), Attr::Ts)
            }
            Value::String(s) => Attr::Str(s),
            Value::Bool(b) => Attr::Bool(*b),
            _ => Attr::Missing,
        }
    }
}

impl Filterable for JsonObject<'_> {
    fn attr(&self, name: &str) -> Attr<'_> {
        match self.value(name) {
            Some(v) => Self::scalar(name, v),
            None => Attr::Missing,
        }
    }

    /// A multi-valued profile attribute (an array of strings) matches when any value does.
    fn any_attr(&self, name: &str, pred: &mut dyn FnMut(Attr<'_>) -> bool) -> bool {
        match self.value(name) {
            Some(Value::Array(values)) => values.iter().any(|v| pred(Self::scalar(name, v))),
            Some(v) => pred(Self::scalar(name, v)),
            None => pred(Attr::Missing),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{USER_SEARCH, eval, parse};
    use serde_json::json;

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
