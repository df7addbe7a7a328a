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
        "could not reach {target} after {retries} retries: {cause}. Check the org URL, the \
         network and DNS, and the proxy settings (HTTPS_PROXY, NO_PROXY){tls}",
        tls = TLS_HINT
    )]
    Transport {
        target: String,
        retries: u32,
        cause: String,
    },

    #[error(
        "the TLS certificate of {host} is not trusted: {detail}. If {host} is the right org \
         host and your network uses a private CA or a TLS-inspecting proxy, save that CA's \
         certificate as PEM and point ca_file (env OKTASYNC_CA_FILE) at it{ssl_cert_file}. \
         Certificate checks cannot be switched off",
        ssl_cert_file = SSL_CERT_FILE_HINT
    )]
    Certificate { host: String, detail: String },

    #[error(
        "{target} was answered with a redirect (HTTP {status}) to {location}: the org URL is \
         probably wrong. Use the org's own URL (e.g. https://acme.okta.com), not a sign-in \
         page, the Admin Console or a proxy's portal; redirects are never followed, so \
         credentials go nowhere else"
    )]
    Redirect {
        target: String,
        status: u16,
        /// The `Location` header without its query and fragment, or a note that it had none.
        location: String,
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

    #[error(
        "the OAuth token request for client {client_id} failed (HTTP {status} \
         {error}{description}). {hint}"
    )]
    OAuth {
        client_id: String,
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
        "stopped reading {endpoint}: the server returned the next link {url} a second time. \
         The server is misbehaving (a listing must come to an end); retry later, and report it \
         to Okta support if it persists"
    )]
    RepeatedCursor { endpoint: String, url: String },

    #[error(
        "stopped reading {endpoint} after {pages} pages: {problem}. The server is misbehaving \
         (a listing must come to an end); retry later, and report it to Okta support if it \
         persists"
    )]
    RunawayListing {
        endpoint: String,
        pages: u64,
        problem: ListingProblem,
    },

    #[error(
        "cannot use the CA file {path} (ca_file, env OKTASYNC_CA_FILE): {cause}. Give a PEM file \
         holding the CA certificate(s) to trust (-----BEGIN CERTIFICATE-----)"
    )]
    CaFile { path: String, cause: String },
}

/// Where `SSL_CERT_FILE` works: on Linux and other Unix systems (not macOS) the client's
/// verifier (rustls-platform-verifier) loads the system roots through rustls-native-certs,
/// which reads `SSL_CERT_FILE` / `SSL_CERT_DIR` instead of the system store. On macOS and
/// Windows the operating system verifies certificates and ignores `SSL_CERT_FILE`.
#[cfg(all(unix, not(target_vendor = "apple")))]
pub(crate) const SSL_CERT_FILE_HINT: &str = " (or set SSL_CERT_FILE to a PEM bundle, which then \
     replaces the system's roots)";
#[cfg(not(all(unix, not(target_vendor = "apple"))))]
pub(crate) const SSL_CERT_FILE_HINT: &str = " (or add the CA to the system's trust store)";

const TLS_HINT: &str = "; for TLS errors, a CA file (ca_file, env OKTASYNC_CA_FILE)";

/// Why a listing was stopped before its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListingProblem {
    /// A page carried the same items (ids, in order) as an earlier page under a new cursor, or
    /// an empty page followed an empty page.
    RepeatedPage { page: u64, earlier_page: u64 },
    /// More items than a listing expected to hold `expected` may return.
    TooManyItems {
        items: u64,
        bound: u64,
        expected: u64,
    },
    /// More pages than any Okta listing has (`ClientConfig::max_listing_pages`).
    TooManyPages { pages: u64, bound: u64 },
}

impl fmt::Display for ListingProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ListingProblem::RepeatedPage { page, earlier_page } => write!(
                f,
                "page {page} repeats page {earlier_page} (the same ids in the same order) under \
                 a new cursor"
            ),
            ListingProblem::TooManyItems {
                items,
                bound,
                expected,
            } => write!(
                f,
                "it returned {items} items, more than the {bound} allowed for a listing \
                 expected to hold {expected}"
            ),
            ListingProblem::TooManyPages { pages, bound } => write!(
                f,
                "it returned {pages} pages and sent a link to more, while no Okta listing has \
                 more than {bound} (ClientConfig::max_listing_pages)"
            ),
        }
    }
}

/// What kind of failure an [`Error`] is, for exit codes and for deciding what to do next.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCategory {
    /// The settings are wrong: org URL, private key, CA file, client tuning, a redirect.
    Config,
    /// Okta rejected the credentials (bad, expired or revoked token; OAuth client refused).
    Credentials,
    /// The credentials are valid but lack a role or scope for this request.
    Permission,
    /// Okta could not be reached, or its certificate is not trusted.
    Network,
    /// Okta answered with an error, or with something that is not a valid answer.
    Okta,
}

impl Error {
    /// The HTTP status, when the error came from an Okta response.
    pub fn status(&self) -> Option<u16> {
        self.details().map(|d| d.status).or(match self {
            Error::OAuth { status, .. } | Error::Redirect { status, .. } => Some(*status),
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

    /// What kind of failure this is. A 401 on any endpoint is [`ErrorCategory::Credentials`];
    /// only a 403 or a missing scope is [`ErrorCategory::Permission`].
    pub fn category(&self) -> ErrorCategory {
        match self {
            Error::InvalidOrgUrl { .. }
            | Error::InvalidPrivateKey { .. }
            | Error::InvalidConfig(_)
            | Error::CaFile { .. }
            | Error::Redirect { .. } => ErrorCategory::Config,
            Error::InvalidToken(_) => ErrorCategory::Credentials,
            Error::OAuth { status, .. } if *status == 429 || *status >= 500 => ErrorCategory::Okta,
            Error::OAuth { .. } => ErrorCategory::Credentials,
            Error::MissingScope { .. } | Error::Forbidden(_) => ErrorCategory::Permission,
            Error::Transport { .. } | Error::Certificate { .. } => ErrorCategory::Network,
            Error::NotFound(_)
            | Error::RateLimited { .. }
            | Error::Server { .. }
            | Error::Api(_)
            | Error::InvalidResponse { .. }
            | Error::ForeignNextLink { .. }
            | Error::RepeatedCursor { .. }
            | Error::RunawayListing { .. } => ErrorCategory::Okta,
        }
    }

    /// Okta's `errorCode`, e.g. `E0000011`.
    pub fn error_code(&self) -> Option<&str> {
        self.details().and_then(|d| d.error_code.as_deref())
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
