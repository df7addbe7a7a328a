//! Typed Okta objects: the fields a mirror queries are typed, and every object keeps
//! `raw`, the JSON exactly as received, so nothing Okta sends is lost. Missing and null
//! fields both become `None`; profile attributes of any type never fail a page.

mod api_token;
mod app;
mod app_grant;
mod authenticator;
mod factor;
mod group;
mod group_rule;
mod idp;
mod log;
mod log_stream;
mod network_zone;
mod policy;
mod role;
mod user;

pub use api_token::ApiToken;
pub use app::{AppUser, Application, ApplicationGroupAssignment};
pub use app_grant::AppGrant;
pub use authenticator::Authenticator;
pub use factor::UserFactor;
pub use group::{Group, GroupProfile, GroupStats};
pub use group_rule::GroupRule;
pub use idp::IdentityProvider;
pub use log::{LogActor, LogDebugContext, LogDebugData, LogEvent, LogOutcome, LogTarget};
pub use log_stream::LogStream;
pub use network_zone::NetworkZone;
pub use policy::{POLICY_TYPES, Policy, PolicyRule};
pub use role::{RoleAssignee, RoleAssignment};
pub use user::{USER_STATUSES, User, UserProfile};

/// Declares a model: the public struct (typed fields plus `raw`), a private wire struct that
/// serde derives for, and `Deserialize` (through the raw value) and `Serialize` (as `raw`).
/// Field syntax: `/// doc` `pub name: Type => serde(attrs),` (the `=> serde(..)` is optional).
macro_rules! okta_model {
    (
        $(#[doc = $sdoc:expr])*
        pub struct $name:ident {
            $(
                $(#[doc = $fdoc:expr])*
                pub $field:ident : $ty:ty $(=> serde($($attr:tt)*))?
            ),* $(,)?
        }
    ) => {
        $(#[doc = $sdoc])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            $(
                $(#[doc = $fdoc])*
                pub $field: $ty,
            )*
            /// The object exactly as Okta sent it.
            pub raw: serde_json::Value,
        }

        const _: () = {
            #[derive(serde::Deserialize)]
            #[serde(rename_all = "camelCase")]
            struct Wire {
                $(
                    $(#[serde($($attr)*)])?
                    $field: $ty,
                )*
            }

            impl<'de> serde::Deserialize<'de> for $name {
                fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    use serde::de::Error as _;
                    let raw = serde_json::Value::deserialize(deserializer)?;
                    let wire = Wire::deserialize(&raw).map_err(D::Error::custom)?;
                    Ok($name { $($field: wire.$field,)* raw })
                }
            }

            impl serde::Serialize for $name {
                fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                    self.raw.serialize(serializer)
                }
            }
        };
    };
}
pub(crate) use okta_model;

/// Lenient field readers: a mirror must not fail a page because one attribute has an
/// unexpected type.
pub(crate) mod lenient {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    /// Any scalar as text; null, missing, arrays and objects as `None`.
    pub fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(match Option::<Value>::deserialize(d)? {
            Some(Value::String(s)) => Some(s),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::Bool(b)) => Some(b.to_string()),
            _ => None,
        })
    }

    /// An RFC 3339 timestamp; anything unparsable as `None`.
    pub fn timestamp<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
        Ok(match Option::<Value>::deserialize(d)? {
            Some(Value::String(s)) => DateTime::parse_from_rfc3339(&s)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
            _ => None,
        })
    }

    /// An array of objects; null or missing as empty.
    pub fn vec<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Vec<T>, D::Error> {
        Ok(Option::<Vec<T>>::deserialize(d)?.unwrap_or_default())
    }

    /// An integer; anything else as `None`.
    pub fn int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Ok(match Option::<Value>::deserialize(d)? {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        })
    }

    /// An object of type `T`; anything that does not read as one (a string, an array, an
    /// object of another shape) as `None`.
    pub fn object<'de, D: Deserializer<'de>, T: serde::de::DeserializeOwned>(
        d: D,
    ) -> Result<Option<T>, D::Error> {
        Ok(match Option::<Value>::deserialize(d)? {
            Some(value @ Value::Object(_)) => serde_json::from_value(value).ok(),
            _ => None,
        })
    }

    /// A boolean; anything else as `None`.
    pub fn bool<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
        Ok(match Option::<Value>::deserialize(d)? {
            Some(Value::Bool(b)) => Some(b),
            _ => None,
        })
    }
}
