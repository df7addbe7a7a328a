//! The push against a real SCIM 2.0 service provider (scim2-server) and a local webhook
//! receiver, one integration-test binary.

mod proxy;
mod push;
mod webhook;

use oktasync_push::{RetryPolicy, SourceGroup, SourceUser, Target, TargetConfig};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

pub const DEPARTMENT: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";

/// An Okta user in `groups` (names; ids are derived from them).
pub fn okta_user(id: &str, login: &str, department: Option<&str>, groups: &[&str]) -> SourceUser {
    let first = login.split('@').next().unwrap_or(login);
    let mut profile = json!({
        "login": login,
        "email": login,
        "firstName": first,
        "lastName": "Example",
    });
    if let Some(d) = department {
        profile["department"] = json!(d);
    }
    SourceUser {
        id: id.into(),
        status: "ACTIVE".into(),
        profile,
        groups: groups
            .iter()
            .map(|g| SourceGroup {
                id: format!("00g-{g}"),
                name: (*g).to_owned(),
            })
            .collect(),
    }
}

/// A target at `url` with the group mapping every test uses, plus `extra` TOML lines.
pub fn target_config(url: &str, extra: &str) -> TargetConfig {
    let text = format!(
        r#"
        name = "scim-test"
        kind = "scim"
        groups = ["Engineering", "Sales"]
        url = "{url}"
        bearer_token = "{token}"
        {extra}
        [group_map]
        "Engineering" = ["eng", "all-staff"]
        "00g-Sales" = ["sales", "all-staff"]
        "#,
        token = oktasync_testkit::scim::TOKEN,
    );
    toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

/// Retries fast enough for tests; `Retry-After` is still honoured up to 5 s.
pub fn test_retry_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 4,
        base: Duration::from_millis(10),
        cap: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
    }
}

pub fn target(config: TargetConfig) -> Target {
    Target::with_retry_policy(config, Arc::new(okta_api::SystemClock), test_retry_policy())
        .unwrap_or_else(|e| panic!("{e}"))
}
