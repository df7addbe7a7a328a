//! One HTTP attempt: through the governor, timed, the whole body read (so a truncated body is
//! a failed attempt the caller can retry), metrics recorded. Knows nothing about auth.

use crate::OrgUrl;
use crate::config::ClientConfig;
use crate::error::{Error, Result};
use crate::governor::{Governor, RequestKind};
use crate::metrics::Metrics;
use crate::retry::{Backoff, RetryReason};
use bytes::Bytes;
use http::HeaderMap;
use std::fmt;
use std::time::Duration;

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
}

impl fmt::Display for AttemptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AttemptError::Timeout(m) => write!(f, "timed out ({m})"),
            AttemptError::Connection(m) => write!(f, "connection failed ({m})"),
            AttemptError::Body(m) => write!(f, "the response body was cut off ({m})"),
        }
    }
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
        let mut builder = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            // never follow redirects: credentials must not travel to another URL
            .redirect(reqwest::redirect::Policy::none());
        if let Some(path) = &config.ca_bundle {
            let pem = std::fs::read(path).map_err(|e| Error::CaBundle {
                path: path.display().to_string(),
                cause: e.to_string(),
            })?;
            let certs =
                reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| Error::CaBundle {
                    path: path.display().to_string(),
                    cause: format!("not a PEM certificate bundle ({e})"),
                })?;
            builder = builder.tls_certs_merge(certs);
        }
        let http = builder
            .build()
            .map_err(|e| Error::InvalidConfig(format!("cannot set up HTTP: {}", describe(&e))))?;
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

    #[test]
    fn ca_bundle_is_added_or_explained() {
        let org = OrgUrl::parse("acme.okta.com").unwrap();
        let missing = ClientConfig {
            ca_bundle: Some("/nonexistent/ca.pem".into()),
            ..ClientConfig::default()
        };
        let err = Transport::new(org.clone(), missing).unwrap_err();
        assert!(matches!(err, Error::CaBundle { .. }), "{err}");
        assert!(err.to_string().contains("/nonexistent/ca.pem"));
        let system = std::path::Path::new("/etc/ssl/certs/ca-certificates.crt");
        if system.exists() {
            let config = ClientConfig {
                ca_bundle: Some(system.into()),
                ..ClientConfig::default()
            };
            Transport::new(org, config).expect("a PEM bundle is accepted");
        }
    }
}
