//! One error type for everything the client does. Every message says what to do next, and no
//! message ever carries a secret: only statuses, Okta's error fields, request ids and paths.

use std::fmt;

/// What Okta said about a failed request, as far as it said anything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApiErrorDetails {
    /// HTTP method of the failed request.
    pub method: String,
    /// Path (without query) of the failed request.
    pub path: String,
    /// HTTP status code.
    pub status: u16,
    /// Okta's `errorCode`, e.g. `E0000011`.
    pub error_code: Option<String>,
    /// Okta's `errorSummary`.
    pub error_summary: Option<String>,
    /// Okta's `errorId`.
    pub error_id: Option<String>,
    /// The `errorSummary` of each of Okta's `errorCauses`.
    pub error_causes: Vec<String>,
    /// The `X-Okta-Request-Id` response header: quote it to Okta support.
    pub request_id: Option<String>,
}

impl fmt::Display for ApiErrorDetails {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} -> HTTP {}", self.method, self.path, self.status)?;
        if let Some(code) = &self.error_code {
            write!(f, " {code}")?;
        }
        if let Some(summary) = &self.error_summary {
            write!(f, " \"{summary}\"")?;
        }
        if !self.error_causes.is_empty() {
            write!(f, " (causes: {})", self.error_causes.join("; "))?;
        }
        if let Some(id) = &self.error_id {
            write!(f, ", errorId {id}")?;
        }
        if let Some(id) = &self.request_id {
            write!(f, ", X-Okta-Request-Id {id}")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong talking to Okta.
#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    #[error("invalid Okta org URL {input:?}: {reason}")]
    InvalidOrgUrl { input: String, reason: String },

    #[error(
        "invalid private key: {reason}. Give the service app's private key as PEM (PKCS#8 \
         `BEGIN PRIVATE KEY`, PKCS#1 `BEGIN RSA PRIVATE KEY` or SEC1 `BEGIN EC PRIVATE KEY`) or \
         as the private JWK JSON the Okta Admin Console shows when you generate a key"
    )]
    InvalidPrivateKey { reason: String },

    #[error("invalid client configuration: {0}")]
    InvalidConfig(String),

    #[error(
        "Okta rejected the credentials ({0}). Check that the API token or OAuth access token is \
         valid, has not expired or been revoked, and belongs to this org; create a new token in \
         the Admin Console (Security > API > Tokens) if needed"
    )]
    InvalidToken(Box<ApiErrorDetails>),

    #[error(
        "the OAuth access token lacks the scope `{scope}` ({details}). Grant `{scope}` to the \
         service app (Admin Console > Applications > the app > Okta API Scopes) and add it to \
         the scopes oktasync requests"
    )]
    MissingScope {
        scope: String,
        details: Box<ApiErrorDetails>,
    },

    #[error(
        "Okta refused the request ({0}). The token's admin, or the service app's admin role, \
         lacks permission for it: assign a role that covers it (read-only admin covers reads; \
         group membership changes need a group or super admin role)"
    )]
    Forbidden(Box<ApiErrorDetails>),

    #[error("not found ({0}): check the id, and that it exists in this org")]
    NotFound(Box<ApiErrorDetails>),

    #[error(
        "still rate limited on bucket `{bucket}` after {retries} retries ({details}). Other \
         integrations may be using this bucket: lower max_concurrency, raise reserve_fraction, \
         run at a quieter time, or raise the app's rate-limit share in the Admin Console"
    )]
    RateLimited {
        bucket: String,
        retries: u32,
        details: Box<ApiErrorDetails>,
    },

    #[error(
        "Okta answered with a server error after {retries} retries ({details}); Okta may be \
         degraded (see status.okta.com): try again later"
    )]
    Server {
        retries: u32,
        details: Box<ApiErrorDetails>,
    },

    #[error("Okta rejected the request ({0})")]
    Api(Box<ApiErrorDetails>),

    #[error(
        "could not reach {target} after {retries} retries: {cause}. Check the network, proxy \
         and DNS, and for TLS errors the CA bundle (ca_bundle)"
    )]
    Transport {
        target: String,
        retries: u32,
        cause: String,
    },

    #[error(
        "Okta's response to {target} could not be read after {retries} retries: {cause}. If \
         this persists, report it with the request id"
    )]
    InvalidResponse {
        target: String,
        retries: u32,
        cause: String,
    },

    #[error("the OAuth token request failed (HTTP {status} {error}{description}). {hint}")]
    OAuth {
        status: u16,
        error: String,
        description: String,
        hint: &'static str,
    },

    #[error(
        "refusing to follow a next link to {link_origin}: the org is {org_origin}, and \
         credentials are never sent to another origin. Check the org URL (a custom domain and \
         the okta.com domain are different origins)"
    )]
    ForeignNextLink {
        link_origin: String,
        org_origin: String,
    },

    #[error(
        "pagination loop: the server returned the next link {url} twice. Stopping instead of \
         reading the same pages forever; retry the sync, and report it if it persists"
    )]
    RepeatedCursor { url: String },

    #[error("could not read the CA bundle {path}: {cause}")]
    CaBundle { path: String, cause: String },
}

impl Error {
    /// The HTTP status, when the error came from an Okta response.
    pub fn status(&self) -> Option<u16> {
        self.details().map(|d| d.status).or(match self {
            Error::OAuth { status, .. } => Some(*status),
            _ => None,
        })
    }

    /// Okta's error fields, when the error came from an Okta response.
    pub fn details(&self) -> Option<&ApiErrorDetails> {
        match self {
            Error::InvalidToken(d)
            | Error::Forbidden(d)
            | Error::NotFound(d)
            | Error::Api(d)
            | Error::MissingScope { details: d, .. }
            | Error::RateLimited { details: d, .. }
            | Error::Server { details: d, .. } => Some(d),
            _ => None,
        }
    }

    /// Okta's `errorCode`, e.g. `E0000011`.
    pub fn error_code(&self) -> Option<&str> {
        self.details().and_then(|d| d.error_code.as_deref())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
