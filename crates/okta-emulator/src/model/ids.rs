//! Okta ids (20 alphanumeric characters with a type prefix) and timestamps.

use chrono::{DateTime, Utc};
use rand::Rng;
use std::fmt;

const ALNUM: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// An Okta object id such as `00u118oQYT4TBTemp0g4`: always 20 ASCII alphanumerics, so it
/// is `Copy` and orders like the string it is.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Id([u8; 20]);

impl Id {
    /// Parses an id; `None` unless it is 20 ASCII alphanumerics.
    pub fn parse(s: &str) -> Option<Id> {
        let bytes = s.as_bytes();
        if bytes.len() != 20 || !bytes.iter().all(u8::is_ascii_alphanumeric) {
            return None;
        }
        let mut b = [0u8; 20];
        b.copy_from_slice(bytes);
        Some(Id(b))
    }

    /// A random id with a 3-character type prefix (`00u` users, `00g` groups, `0oa` apps …).
    pub fn random(prefix: &[u8; 3], rng: &mut impl Rng) -> Id {
        let mut b = [0u8; 20];
        b[..3].copy_from_slice(prefix);
        for x in &mut b[3..] {
            *x = ALNUM[rng.random_range(0..ALNUM.len())];
        }
        Id(b)
    }

    pub fn as_str(&self) -> &str {
        // Only ever built from ASCII alphanumerics.
        std::str::from_utf8(&self.0).unwrap_or("")
    }

    pub fn prefix(&self) -> &[u8] {
        &self.0[..3]
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Id {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

pub use okta_filter::Ts;

/// `ms` down to its whole second: Okta's object timestamps (`created`, `lastUpdated`, …)
/// always end in `.000Z`; only System Log `published` times carry milliseconds.
pub fn whole_second(ms: Ts) -> Ts {
    ms.div_euclid(1000) * 1000
}

/// Okta's timestamp format, `YYYY-MM-DDTHH:mm:ss.SSSZ`.
pub fn format_ts(ms: Ts) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

pub use okta_filter::parse_ts;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_in_okta_format() {
        let ms = parse_ts("2022-04-04T15:56:05.123Z").unwrap();
        assert_eq!(format_ts(ms), "2022-04-04T15:56:05.123Z");
        assert_eq!(
            format_ts(parse_ts("2022-04-04T15:56:05Z").unwrap()),
            "2022-04-04T15:56:05.000Z"
        );
    }

    #[test]
    fn ids_parse_only_okta_shaped_strings() {
        assert!(Id::parse("00u118oQYT4TBTemp0g4").is_some());
        assert!(Id::parse("00u118oQYT4TBTemp0g").is_none());
        assert!(Id::parse("00u118oQYT4TBTemp0g!").is_none());
    }
}
