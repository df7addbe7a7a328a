//! How an emulator is set up: org size and seed, credentials, rate limits, faults.

use crate::clock::{Clock, SystemClock};
use chrono::{DateTime, Utc};
use std::path::PathBuf;
use std::sync::Arc;

/// The size of a synthetic org.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OrgSize {
    /// about 25 users, 8 groups, 5 apps
    Tiny,
    /// about 1,000 users, 100 groups, 20 apps
    Small,
    /// about 10,000 users, 1,000 groups, 100 apps
    Medium,
    /// about 100,000 users, 10,000 groups, 500 apps
    Large,
}

impl OrgSize {
    /// (users, groups, apps)
    pub fn counts(self) -> (usize, usize, usize) {
        match self {
            OrgSize::Tiny => (25, 8, 5),
            OrgSize::Small => (1_000, 100, 20),
            OrgSize::Medium => (10_000, 1_000, 100),
            OrgSize::Large => (100_000, 10_000, 500),
        }
    }
}

/// Which rate limits the emulator enforces.
#[derive(Debug, Clone, PartialEq)]
pub enum RateLimitMode {
    /// No limits; headers still report a generous bucket.
    Off,
    /// Okta's Workforce per-minute defaults.
    Workforce,
    /// A TOML file of bucket overrides (see `gate::ratelimit`).
    File(PathBuf),
}

/// One OAuth 2.0 service app the token endpoint accepts, authenticated either by a key pair
/// (`private_key_jwt`: `public_jwk` or `public_key_pem_file`) or by a client secret
/// (`client_secret_basic` or `client_secret_post`: `client_secret`, as Okta Integration
/// Network API service integrations connect). `Debug` never shows the secret.
#[derive(Clone, serde::Deserialize)]
pub struct OAuthClientConfig {
    pub client_id: String,
    /// The public key as a JWK object (what the Okta console registers) ...
    #[serde(default)]
    pub public_jwk: Option<serde_json::Value>,
    /// ... or as a PEM file (SubjectPublicKeyInfo).
    #[serde(default)]
    pub public_key_pem_file: Option<PathBuf>,
    /// Okta scopes granted to this app, e.g. `okta.users.read`.
    pub scopes: Vec<String>,
    /// "Require DPoP header in token requests".
    #[serde(default)]
    pub require_dpop: bool,
    /// The client secret of a client that authenticates with one instead of a key pair. The
    /// token endpoint keeps only its SHA-256 digest and compares in constant time.
    #[serde(default)]
    pub client_secret: Option<String>,
}

impl OAuthClientConfig {
    /// A client that authenticates with a client secret.
    pub fn with_secret(client_id: &str, client_secret: &str, scopes: &[&str]) -> Self {
        Self {
            client_id: client_id.to_string(),
            public_jwk: None,
            public_key_pem_file: None,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            require_dpop: false,
            client_secret: Some(client_secret.to_string()),
        }
    }

    /// A client that authenticates with `private_key_jwt`, its public key given as a JWK.
    pub fn with_public_jwk(
        client_id: &str,
        public_jwk: serde_json::Value,
        scopes: &[&str],
    ) -> Self {
        Self {
            client_id: client_id.to_string(),
            public_jwk: Some(public_jwk),
            public_key_pem_file: None,
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            require_dpop: false,
            client_secret: None,
        }
    }
}

impl std::fmt::Debug for OAuthClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthClientConfig")
            .field("client_id", &self.client_id)
            .field("public_jwk", &self.public_jwk)
            .field("public_key_pem_file", &self.public_key_pem_file)
            .field("scopes", &self.scopes)
            .field("require_dpop", &self.require_dpop)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "[redacted]"),
            )
            .finish()
    }
}

#[derive(Clone)]
pub struct EmulatorConfig {
    pub host: String,
    /// 0 picks a free port.
    pub port: u16,
    pub seed: u64,
    pub size: OrgSize,
    /// Explicit counts override the size's.
    pub users: Option<usize>,
    pub groups: Option<usize>,
    pub apps: Option<usize>,
    /// Accepted SSWS API tokens, each belonging to a Super Admin.
    pub tokens: Vec<String>,
    /// Accepted SSWS API tokens of an admin who is not a Super Admin (say a Group Admin or a
    /// custom role over every group). They reach what `tokens` reach, except what Okta keeps
    /// for Super Admins: changing memberships of groups that hold admin roles, and creating,
    /// changing or deleting group rules (403 E0000006). Default: none.
    pub non_super_admin_tokens: Vec<String>,
    pub oauth_clients: Vec<OAuthClientConfig>,
    /// Client ids (of `oauth_clients`) of service apps whose admin role is not Super Admin,
    /// with the same limit as `non_super_admin_tokens`. Every other client is a Super Admin,
    /// the default.
    pub non_super_admin_clients: Vec<String>,
    pub rate_limits: RateLimitMode,
    /// Share of each bucket one principal may use (Okta's default is 50%).
    pub principal_share: f64,
    /// Simultaneous in-flight requests the org allows (Workforce: 75).
    pub concurrency_limit: usize,
    /// A rate-limit window lasts 60 / time_scale seconds.
    pub time_scale: f64,
    /// Added latency per request, with jitter.
    pub latency_ms: u64,
    /// Share of requests that fail (500/502/503/504, drops, truncated bodies, slow answers).
    pub fault_rate: f64,
    pub fault_seed: u64,
    pub clock: Arc<dyn Clock>,
    /// The generated org's "now": its timestamps and log history end here. `None` anchors it
    /// to `clock` at start, so the org is always current; set it for byte-identical exports
    /// across runs.
    pub anchor: Option<DateTime<Utc>>,
    /// Normal sign-ins per minute the running server writes in the background, as the
    /// clock moves (0: none).
    pub activity_rate: f64,
    /// Minutes of normal activity the generated history ends with, up to the anchor (0:
    /// none), at `activity_rate`, or at the org's usual rate (3 sign-ins a day per ACTIVE
    /// user) when that is 0.
    pub activity_minutes: u64,
}

impl Default for EmulatorConfig {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 0,
            seed: 1,
            size: OrgSize::Tiny,
            users: None,
            groups: None,
            apps: None,
            tokens: vec![DEFAULT_TOKEN.into()],
            non_super_admin_tokens: Vec::new(),
            oauth_clients: Vec::new(),
            non_super_admin_clients: Vec::new(),
            rate_limits: RateLimitMode::Off,
            principal_share: 0.5,
            concurrency_limit: 75,
            time_scale: 1.0,
            latency_ms: 0,
            fault_rate: 0.0,
            fault_seed: 1,
            clock: Arc::new(SystemClock),
            anchor: None,
            activity_rate: 0.0,
            activity_minutes: 0,
        }
    }
}

/// The token a default emulator accepts: for demos and local runs only.
pub const DEFAULT_TOKEN: &str = "00emulator-demo-token";

/// Tokens are secrets: `Debug` shows how many there are, never their text.
impl std::fmt::Debug for EmulatorConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmulatorConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("seed", &self.seed)
            .field("size", &self.size)
            .field("users", &self.users)
            .field("groups", &self.groups)
            .field("apps", &self.apps)
            .field("tokens", &format_args!("[{} redacted]", self.tokens.len()))
            .field(
                "non_super_admin_tokens",
                &format_args!("[{} redacted]", self.non_super_admin_tokens.len()),
            )
            .field("oauth_clients", &self.oauth_clients)
            .field("non_super_admin_clients", &self.non_super_admin_clients)
            .field("rate_limits", &self.rate_limits)
            .field("principal_share", &self.principal_share)
            .field("concurrency_limit", &self.concurrency_limit)
            .field("time_scale", &self.time_scale)
            .field("latency_ms", &self.latency_ms)
            .field("fault_rate", &self.fault_rate)
            .field("fault_seed", &self.fault_seed)
            .field("clock", &self.clock)
            .field("anchor", &self.anchor)
            .field("activity_rate", &self.activity_rate)
            .field("activity_minutes", &self.activity_minutes)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_tokens() {
        let config = EmulatorConfig {
            tokens: vec!["s3cret-token-value".into()],
            non_super_admin_tokens: vec!["l1mited-token-value".into()],
            ..Default::default()
        };
        let shown = format!("{config:?}");
        assert!(!shown.contains("s3cret-token-value"), "{shown}");
        assert!(!shown.contains("l1mited-token-value"), "{shown}");
        assert!(shown.contains("[1 redacted]"), "{shown}");
    }
}
