//! A typed client for the parts of the Okta Management API a directory sync uses.
//!
//! - [`OrgUrl`]: the org's base URL, checked (https, not the Admin Console).
//! - [`Credentials`]: an SSWS API token, or an OAuth 2.0 service app (`private_key_jwt` with a
//!   [`PrivateKey`] from PEM or the console's JWK, or a client secret), DPoP when the server
//!   asks.
//! - [`OktaClient`]: list endpoints as [`PageStream`]s that follow `next` links, single
//!   requests, group membership writes, and [`MetricsSnapshot`]s.
//! - Underneath: one governor paces every request by the rate-limit headers (per bucket, see
//!   [`buckets`]) and adapts concurrency; one request loop retries what is worth retrying.
//! - [`Error`]: one error type whose messages say what to do; never a secret in it.
//! - [`probe_reachability`]: one unauthenticated request over the same HTTP stack (proxies,
//!   trusted roots), for a reachability check that names a certificate or redirect problem.
//!
//! ```no_run
//! use futures::TryStreamExt;
//! use okta_api::{ClientConfig, Credentials, OktaClient, OrgUrl, SecretString};
//!
//! # async fn example() -> okta_api::Result<()> {
//! let org = OrgUrl::parse("acme.okta.com")?;
//! let token = SecretString::from(std::env::var("OKTA_API_TOKEN").unwrap_or_default());
//! let client = OktaClient::new(org, Credentials::ApiToken(token), ClientConfig::default())?;
//! let mut pages = client.list_users(Some(okta_api::ALL_USER_STATUSES_FILTER));
//! while let Some(page) = pages.try_next().await? {
//!     for user in page.items {
//!         println!("{} {:?}", user.id, user.profile.login);
//!     }
//! }
//! println!("{}", serde_json::to_string(&client.metrics()).unwrap_or_default());
//! # Ok(())
//! # }
//! ```

pub mod auth;
pub mod buckets;
mod client;
pub mod clock;
pub mod config;
mod error;
mod governor;
mod metrics;
pub mod models;
mod org_url;
pub mod pagination;
mod retry;
mod transport;

pub use auth::{
    ClientSecretMethod, Credentials, OAuthCredentials, OAuthSecretCredentials, PrivateKey,
};
pub use client::{
    ALL_USER_STATUSES_FILTER, API_TOKENS_PAGE_LIMIT, APP_GROUPS_PAGE_LIMIT, APP_USERS_PAGE_LIMIT,
    APPS_PAGE_LIMIT, GROUP_RULES_PAGE_LIMIT, GROUP_USERS_PAGE_LIMIT, GROUPS_PAGE_LIMIT,
    IDPS_PAGE_LIMIT, LOG_STREAMS_PAGE_LIMIT, LOGS_PAGE_LIMIT, LogStart, OktaClient,
    ROLE_ASSIGNEES_PAGE_LIMIT, USERS_PAGE_LIMIT, WriteReceipt,
};
pub use clock::{Clock, OffsetClock, SystemClock};
pub use config::ClientConfig;
pub use error::{ApiErrorDetails, Error, ErrorCategory, ListingProblem, Result};
pub use metrics::{BucketMetrics, MetricsSnapshot};
pub use models::*;
pub use org_url::OrgUrl;
pub use pagination::{Page, PageStream};
pub use secrecy::SecretString;
pub use transport::{Reachability, probe_reachability};
