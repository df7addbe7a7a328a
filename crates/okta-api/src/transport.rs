//! One HTTP attempt: through the governor, timed, the whole body read (so a truncated body is
//! a failed attempt the caller can retry), metrics recorded. Knows nothing about auth.
//!
//! The HTTP client itself ([`http_client`]) is built in one place, so the API client and
//! [`probe_reachability`] (the CLI's `doctor`) see the network the same way:
//! - proxies from `HTTPS_PROXY` / `HTTP_PROXY` / `ALL_PROXY` and `NO_PROXY` (either case), as
//!   reqwest reads them by default;
//! - the system's trusted roots (rustls-platform-verifier: the OS verifier on macOS and
//!   Windows; on Linux the system store, or `SSL_CERT_FILE` / `SSL_CERT_DIR` when set) plus
//!   the certificates of [`ClientConfig::ca_file`];
//! - redirects never followed, so credentials never travel to another URL.

use crate::OrgUrl;
use crate::config::ClientConfig;
use crate::error::{Error, Result};
use crate::governor::{Governor, RequestKind};
use crate::metrics::Metrics;
use crate::retry::{Backoff, RetryReason};
use bytes::Bytes;
use http::HeaderMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;
use url::Url;

/// Time limit for [`probe_reachability`]'s one request: a connection (at most
/// [`ClientConfig::connect_timeout`], 10 s by default), a TLS handshake and one small answer.
/// A person waits for it, so it is shorter than the API's 45 s request limit.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(20);

/// The unauthenticated path [`probe_reachability`] requests: Okta serves it on every org
/// (and custom domain) without credentials, so any answer other than a redirect shows the
/// network, proxy and TLS path works.
pub const PROBE_PATH: &str = "/.well-known/okta-organization";

pub(crate) struct Transport {
    pub http: reqwest::Client,
    pub org: OrgUrl,
    pub governor: Governor,
    pub metrics: Metrics,
    pub config: ClientConfig,
    pub backoff: Backoff,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("org", &self.org)
            .finish_non_exhaustive()
    }
}

/// A complete response: status, headers and the whole body.
#[derive(Debug, Clone)]
pub(crate) struct HttpResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

/// An attempt that produced no complete response.
#[derive(Debug)]
pub(crate) enum AttemptError {
    Timeout(String),
    Connection(String),
    Body(String),
    /// The server's certificate failed verification: retrying cannot help.
    Certificate {
        host: String,
        detail: String,
    },
}

impl AttemptError {
    /// The error to report when this attempt is the last one. `target` is `METHOD /path`.
    pub(crate) fn into_error(self, target: String, retries: u32) -> Error {
        match self {
            AttemptError::Certificate { host, detail } => Error::Certificate { host, detail },
            AttemptError::Body(cause) => Error::InvalidResponse {
                target,
                retries,
                cause,
            },
            other => Error::Transport {
                target,
                retries,
                cause: other.to_string(),
            },
        }
    }
}

impl fmt::Display for AttemptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttemptError::Timeout(m) => write!(f, "timed out ({m})"),
            AttemptError::Connection(m) => write!(f, "connection failed ({m})"),
            AttemptError::Body(m) => write!(f, "the response body was cut off ({m})"),
            AttemptError::Certificate { host, detail } => {
                write!(f, "the certificate of {host} is not trusted ({detail})")
            }
        }
    }
}

/// What one unauthenticated request to the org says about reaching it
/// ([`probe_reachability`], [`crate::OktaClient::probe_reachability`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reachability {
    /// The org answered (with this status; any status but a redirect counts).
    Reachable { status: u16 },
    /// The TLS handshake failed on the server's certificate.
    Certificate { host: String, detail: String },
    /// The org URL answers with a redirect elsewhere (`location` without query).
    Redirect { status: u16, location: String },
    /// No answer: DNS, connection, proxy, timeout, or TLS other than the certificate.
    Unreachable { cause: String },
}

impl Reachability {
    pub fn is_reachable(&self) -> bool {
        matches!(self, Reachability::Reachable { .. })
    }

    /// The client error that says what to do about an unreachable org (`None` when reachable):
    /// [`Error::Certificate`], [`Error::Redirect`] or [`Error::Transport`].
    pub fn error(&self) -> Option<Error> {
        let target = format!("GET {PROBE_PATH}");
        match self {
            Reachability::Reachable { .. } => None,
            Reachability::Certificate { host, detail } => Some(Error::Certificate {
                host: host.clone(),
                detail: detail.clone(),
            }),
            Reachability::Redirect { status, location } => Some(Error::Redirect {
                target,
                status: *status,
                location: location.clone(),
            }),
            Reachability::Unreachable { cause } => Some(Error::Transport {
                target,
                retries: 0,
                cause: cause.clone(),
            }),
        }
    }
}

/// Sends one unauthenticated `GET {org}/.well-known/okta-organization` with an HTTP client set
/// up exactly as [`crate::OktaClient`]'s (same proxies, same trusted roots, no redirects).
/// Fails only when that client cannot be built (e.g. an unreadable `ca_file`).
pub async fn probe_reachability(org: &OrgUrl, config: &ClientConfig) -> Result<Reachability> {
    let http = http_client(config)?;
    Ok(probe(&http, org).await)
}

pub(crate) async fn probe(http: &reqwest::Client, org: &OrgUrl) -> Reachability {
    let url = match org.join(PROBE_PATH) {
        Ok(url) => url,
        Err(e) => {
            return Reachability::Unreachable {
                cause: e.to_string(),
            };
        }
    };
    match http.get(url.clone()).timeout(PROBE_TIMEOUT).send().await {
        Ok(response) if response.status().is_redirection() => Reachability::Redirect {
            status: response.status().as_u16(),
            location: describe_location(&url, response.headers()),
        },
        Ok(response) => Reachability::Reachable {
            status: response.status().as_u16(),
        },
        Err(e) => match certificate_problem(&e) {
            Some(detail) => Reachability::Certificate {
                host: host_of(&url),
                detail,
            },
            None => Reachability::Unreachable {
                cause: describe(&e),
            },
        },
    }
}

/// The HTTP client for every request to the org (see the module docs).
pub(crate) fn http_client(config: &ClientConfig) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .user_agent(config.user_agent.clone())
        .timeout(config.request_timeout)
        .connect_timeout(config.connect_timeout)
        // never follow redirects: credentials must not travel to another URL
        .redirect(reqwest::redirect::Policy::none());
    // no `.no_proxy()`: reqwest reads HTTP(S)_PROXY, ALL_PROXY and NO_PROXY from the environment
    if let Some(path) = &config.ca_file {
        builder = builder.tls_certs_merge(load_ca_file(path)?);
    }
    builder.build().map_err(|e| {
        let cause = describe(&e);
        match &config.ca_file {
            Some(path) => Error::CaFile {
                path: path.display().to_string(),
                cause: format!("a certificate in it cannot be used ({cause})"),
            },
            None => Error::InvalidConfig(format!(
                "cannot set up HTTPS: {cause}. If this machine has no trusted root \
                 certificates, install them (e.g. the ca-certificates package) or give ca_file \
                 (env OKTASYNC_CA_FILE){}",
                crate::error::SSL_CERT_FILE_HINT
            )),
        }
    })
}

/// The certificates of a PEM file, or an error naming the file and what is wrong with it.
fn load_ca_file(path: &Path) -> Result<Vec<reqwest::Certificate>> {
    let fail = |cause: String| Error::CaFile {
        path: path.display().to_string(),
        cause,
    };
    let pem = std::fs::read(path).map_err(|e| {
        fail(match e.kind() {
            std::io::ErrorKind::NotFound => "the file does not exist".into(),
            std::io::ErrorKind::PermissionDenied => "permission denied".into(),
            _ => e.to_string(),
        })
    })?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| {
        fail(format!(
            "it is not a PEM certificate file ({})",
            describe(&e)
        ))
    })?;
    if certs.is_empty() {
        return Err(fail("it holds no certificate".into()));
    }
    Ok(certs)
}

/// `host[:port]` of a URL, for messages.
pub(crate) fn host_of(url: &Url) -> String {
    match (url.host_str(), url.port()) {
        (Some(host), Some(port)) => format!("{host}:{port}"),
        (Some(host), None) => host.to_string(),
        (None, _) => url.origin().ascii_serialization(),
    }
}

/// The `Location` of a redirect for a message: resolved against the request URL, without
/// user info, query or fragment (they may carry anything).
pub(crate) fn describe_location(request: &Url, headers: &HeaderMap) -> String {
    let Some(location) = headers
        .get(http::header::LOCATION)
        .and_then(|v| v.to_str().ok())
    else {
        return "(no Location header)".into();
    };
    let Ok(mut url) = request.join(location.trim()) else {
        return "(an unreadable Location header)".into();
    };
    let had_query = url.query().is_some();
    url.set_query(None);
    url.set_fragment(None);
    let _ = url.set_username("");
    let _ = url.set_password(None);
    if had_query {
        format!("{url}?…")
    } else {
        url.to_string()
    }
}

/// The redirect error for a 3xx answer to `method url`.
pub(crate) fn redirect_error(method: &http::Method, url: &Url, response: &HttpResponse) -> Error {
    Error::Redirect {
        target: format!("{method} {}", url.path()),
        status: response.status,
        location: describe_location(url, &response.headers),
    }
}

/// The certificate problem behind a failed request, described for a person; `None` when the
/// failure is not about the server's certificate. rustls' error sits inside an `io::Error`
/// somewhere down reqwest's error chain (and `io::Error::source` skips its own payload, so the
/// payload is checked explicitly).
pub(crate) fn certificate_problem(e: &reqwest::Error) -> Option<String> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = current {
        if let Some(tls) = err.downcast_ref::<rustls::Error>() {
            return describe_certificate_error(tls);
        }
        // an io::Error's payload (rustls' error, or another io::Error around it) is not its
        // `source`: step into the payload instead
        current = match err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
        {
            Some(payload) => Some(payload as &(dyn std::error::Error + 'static)),
            None => err.source(),
        };
    }
    None
}

fn describe_certificate_error(e: &rustls::Error) -> Option<String> {
    use rustls::CertificateError as C;
    let text = match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => "it is issued by a certificate authority this machine does not \
                                 trust (self-signed, a private CA, or a TLS-inspecting proxy's)"
                .to_string(),
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "it was issued for another host name; check the org URL".to_string()
            }
            C::Expired | C::ExpiredContext { .. } => {
                "it has expired, or this machine's clock is wrong".to_string()
            }
            C::NotValidYet | C::NotValidYetContext { .. } => {
                "it is not valid yet; check this machine's clock".to_string()
            }
            C::Revoked => "it has been revoked".to_string(),
            other => format!("{}", rustls::Error::InvalidCertificate(other.clone())),
        },
        rustls::Error::NoCertificatesPresented => "the server presented no certificate".into(),
        _ => return None,
    };
    Some(text)
}

/// A reqwest error's message with its causes. URLs carry no secrets, and reqwest errors
/// carry no headers, so no credential can appear here.
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

impl Transport {
    pub(crate) fn new(org: OrgUrl, config: ClientConfig) -> Result<Self> {
        config.validate()?;
        let http = http_client(&config)?;
        let governor = Governor::new(
            config.clock.clone(),
            config.reserve_fraction,
            config.max_concurrency,
        );
        let backoff = Backoff {
            base: config.backoff_base,
            cap: config.backoff_cap,
        };
        Ok(Self {
            http,
            org,
            governor,
            metrics: Metrics::default(),
            config,
            backoff,
        })
    }

    /// Sends one attempt once the governor allows it, and reads the whole body.
    pub(crate) async fn attempt(
        &self,
        bucket: &'static str,
        request: reqwest::Request,
        kind: RequestKind,
        is_retry: bool,
    ) -> Result<HttpResponse, AttemptError> {
        let method = request.method().clone();
        let path = request.url().path().to_string();
        let host = host_of(request.url());
        let admission = self.governor.admit(bucket, kind, &self.metrics).await;
        self.metrics.request(bucket, is_retry);
        let sent = self.governor.local_now();
        tracing::trace!(%method, url = %request.url(), bucket, is_retry, "sending");
        let response = match self.http.execute(request).await {
            Ok(r) => r,
            Err(e) => {
                drop(admission);
                let message = describe(&e);
                tracing::debug!(%method, path, bucket, error = %message, "request failed");
                if let Some(detail) = certificate_problem(&e) {
                    return Err(AttemptError::Certificate { host, detail });
                }
                return Err(if e.is_timeout() {
                    AttemptError::Timeout(message)
                } else {
                    AttemptError::Connection(message)
                });
            }
        };
        let received = self.governor.local_now();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.bytes().await;
        let limits = admission.finish(&headers, status, sent, received);
        if status == 429 {
            self.metrics
                .http_429(bucket, limits.is_some_and(|l| l.is_concurrency_limit()));
        }
        match body {
            Ok(body) => {
                self.metrics.bytes(body.len());
                tracing::debug!(
                    %method,
                    path,
                    status,
                    bucket,
                    bytes = body.len(),
                    remaining = limits.map(|l| l.remaining),
                    request_id = headers.get("x-okta-request-id").and_then(|v| v.to_str().ok()),
                    "response"
                );
                Ok(HttpResponse {
                    status,
                    headers,
                    body,
                })
            }
            Err(e) => {
                let message = describe(&e);
                tracing::debug!(%method, path, status, bucket, error = %message, "body cut off");
                Err(if e.is_timeout() {
                    AttemptError::Timeout(message)
                } else {
                    AttemptError::Body(message)
                })
            }
        }
    }

    /// Waits before retry number `retry` of a request in `bucket`.
    pub(crate) async fn backoff_sleep(
        &self,
        bucket: &'static str,
        retry: u32,
        reason: RetryReason,
    ) {
        let delay: Duration =
            self.backoff
                .delay(retry, reason, self.governor.time_to_reset(bucket));
        tracing::debug!(
            bucket,
            retry,
            ?reason,
            delay_ms = delay.as_millis() as u64,
            "backing off"
        );
        let _waiting = (reason == RetryReason::RateLimited).then(|| self.metrics.waiting());
        tokio::time::sleep(delay).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ca_file_error(path: &Path) -> Error {
        let config = ClientConfig {
            ca_file: Some(path.into()),
            ..ClientConfig::default()
        };
        http_client(&config).unwrap_err()
    }

    #[test]
    fn a_ca_file_that_is_missing_or_holds_no_certificate_is_named() {
        let err = ca_file_error(Path::new("/nonexistent/ca.pem"));
        assert!(matches!(err, Error::CaFile { .. }), "{err}");
        let text = err.to_string();
        assert!(
            text.contains("/nonexistent/ca.pem")
                && text.contains("does not exist")
                && text.contains("OKTASYNC_CA_FILE"),
            "{text}"
        );

        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        let text = ca_file_error(&empty).to_string();
        assert!(
            text.contains("empty.pem") && text.contains("holds no certificate"),
            "{text}"
        );

        let key_only = dir.path().join("key.pem");
        std::fs::write(
            &key_only,
            "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n",
        )
        .unwrap();
        let text = ca_file_error(&key_only).to_string();
        assert!(text.contains("holds no certificate"), "{text}");

        let garbage = dir.path().join("garbage.pem");
        std::fs::write(
            &garbage,
            "-----BEGIN CERTIFICATE-----\nAAAAAAAA\n-----END CERTIFICATE-----\n",
        )
        .unwrap();
        let err = ca_file_error(&garbage);
        assert!(matches!(err, Error::CaFile { .. }), "{err}");
        assert!(err.to_string().contains("garbage.pem"), "{err}");
        println!("{err}");
    }

    #[test]
    fn redirect_locations_lose_query_and_user_info() {
        let request = Url::parse("https://acme.okta.com/api/v1/users?limit=200").unwrap();
        let mut headers = HeaderMap::new();
        assert_eq!(
            describe_location(&request, &headers),
            "(no Location header)"
        );
        headers.insert(
            http::header::LOCATION,
            http::HeaderValue::from_static("https://u:pw@login.example.com/login?state=secret#x"),
        );
        assert_eq!(
            describe_location(&request, &headers),
            "https://login.example.com/login?…"
        );
        headers.insert(
            http::header::LOCATION,
            http::HeaderValue::from_static("/login/default"),
        );
        assert_eq!(
            describe_location(&request, &headers),
            "https://acme.okta.com/login/default"
        );
    }
}
