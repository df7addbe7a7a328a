//! Client tuning. Every default is a named constant with the reason for its value.

use crate::clock::{Clock, SystemClock};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Most requests in flight at once. Okta's org-wide concurrency limit is 75 (Workforce) or 35
/// (Integrator Free), shared with every other integration; 16 stays well under either while
/// keeping every rate-limit bucket busy at Okta's usual 100-400 ms latency.
pub const DEFAULT_MAX_CONCURRENCY: usize = 16;

/// Share of each bucket's per-principal limit left unused for the org's other integrations
/// and for requests already in flight when the client decides.
pub const DEFAULT_RESERVE_FRACTION: f64 = 0.05;

/// Retries after the first attempt for one request (429s, 5xx, timeouts, dropped connections,
/// truncated bodies). Six retries with capped backoff ride out a minute of trouble.
pub const DEFAULT_MAX_RETRIES: u32 = 6;

/// Time limit for one attempt, body included. Okta answers list pages in well under a second;
/// System Log queries time out server-side after 30 s, so allow a little more.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(45);

/// Time limit for opening a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// First retry's backoff ceiling; doubles per retry up to [`DEFAULT_BACKOFF_CAP`].
pub const DEFAULT_BACKOFF_BASE: Duration = Duration::from_millis(200);

/// Largest backoff ceiling for 5xx and connection errors.
pub const DEFAULT_BACKOFF_CAP: Duration = Duration::from_secs(20);

/// An OAuth access token is replaced this long before it expires, so no request carries a
/// token that expires in flight. Okta's tokens live one hour.
pub const DEFAULT_TOKEN_REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// Most pages one listing may return before it is stopped as runaway. Okta's largest orgs hold
/// tens of millions of users (200 a page: a few hundred thousand pages), and the System Log
/// keeps 90 days of events (1000 a page); a million pages is more than any real listing, and
/// at Okta's rate limits (a few hundred pages a minute per bucket) would take days to read. So
/// the cap never ends a real listing; it ends one from a server that never stops (a fresh
/// cursor on every page), which otherwise runs until killed. Listings whose size is known
/// get a much tighter bound ([`crate::OktaClient::paginate_expecting`]).
pub const DEFAULT_MAX_LISTING_PAGES: u64 = 1_000_000;

/// How the client behaves. `ClientConfig::default()` suits a production org.
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Most requests in flight at once; the client lowers it on concurrency 429s.
    pub max_concurrency: usize,
    /// Share (0.0..0.5) of each rate-limit bucket left unused.
    pub reserve_fraction: f64,
    /// Retries per request after the first attempt.
    pub max_retries: u32,
    /// Time limit for one attempt, body included.
    pub request_timeout: Duration,
    /// Time limit for opening a connection.
    pub connect_timeout: Duration,
    /// A PEM file of extra trusted CA certificates (a private CA, or the CA of a TLS-inspecting
    /// proxy), trusted in addition to the system's roots. Certificate verification itself
    /// cannot be switched off. The CLI fills it from `ca_file` / `OKTASYNC_CA_FILE`.
    pub ca_file: Option<PathBuf>,
    /// First backoff ceiling for retries (doubles per retry).
    pub backoff_base: Duration,
    /// Largest backoff ceiling.
    pub backoff_cap: Duration,
    /// Most pages one listing may return; see [`DEFAULT_MAX_LISTING_PAGES`].
    pub max_listing_pages: u64,
    /// Replace OAuth access tokens this long before they expire.
    pub token_refresh_margin: Duration,
    /// Sent as `User-Agent`.
    pub user_agent: String,
    /// Wall-clock time (token expiry, JWT claims, rate-limit resets).
    pub clock: Arc<dyn Clock>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            max_concurrency: DEFAULT_MAX_CONCURRENCY,
            reserve_fraction: DEFAULT_RESERVE_FRACTION,
            max_retries: DEFAULT_MAX_RETRIES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            ca_file: None,
            backoff_base: DEFAULT_BACKOFF_BASE,
            backoff_cap: DEFAULT_BACKOFF_CAP,
            max_listing_pages: DEFAULT_MAX_LISTING_PAGES,
            token_refresh_margin: DEFAULT_TOKEN_REFRESH_MARGIN,
            user_agent: format!("oktasync-okta-api/{}", env!("CARGO_PKG_VERSION")),
            clock: Arc::new(SystemClock),
        }
    }
}

impl ClientConfig {
    pub(crate) fn validate(&self) -> crate::Result<()> {
        let bad = |m: &str| Err(crate::Error::InvalidConfig(m.to_string()));
        if self.max_concurrency == 0 {
            return bad("max_concurrency must be at least 1");
        }
        if !(0.0..0.5).contains(&self.reserve_fraction) {
            return bad("reserve_fraction must be at least 0.0 and below 0.5");
        }
        if self.request_timeout.is_zero() {
            return bad("request_timeout must be positive");
        }
        if self.max_listing_pages == 0 {
            return bad("max_listing_pages must be at least 1");
        }
        Ok(())
    }
}
