//! OAuth 2.0 for an Okta service app: `client_credentials` at `POST {org}/oauth2/v1/token`,
//! the client authenticated by a `private_key_jwt` client assertion or by its client secret
//! (`client_secret_basic` or `client_secret_post`). The access token (one hour) is cached and
//! replaced shortly before it expires; concurrent requests share one fetch. When the server
//! asks for DPoP (`use_dpop_nonce`, or a DPoP-bound token type), tokens are DPoP-bound and
//! every request carries a fresh proof.

use super::{
    AuthHeaders, AuthProvider, ClientSecretMethod, OAuthCredentials, OAuthSecretCredentials,
    PrivateKey, dpop, jwt, sensitive_header,
};
use crate::error::{Error, Result};
use crate::governor::RequestKind;
use crate::retry::{self, AttemptOutcome, Verdict};
use crate::transport::{HttpResponse, Transport, redirect_error};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, TimeDelta, Utc};
use http::{HeaderMap, Method};
use parking_lot::{Mutex, RwLock};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use url::Url;

const TOKEN_PATH: &str = "/oauth2/v1/token";
const CLIENT_ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Lifetime of a client assertion. Okta accepts at most one hour; a short one limits replay.
const ASSERTION_LIFETIME: TimeDelta = TimeDelta::minutes(5);

/// Token requests that answer a protocol question (a DPoP nonce, DPoP required, a clock
/// correction) rather than fail; more than this means something else is wrong.
const MAX_PROTOCOL_ROUNDS: u32 = 3;

/// A clock this far from the server's (by the `Date` header) makes the assertion's `iat`/`exp`
/// suspect: an `invalid_client` answer is then retried once with corrected times.
const CLOCK_RETRY_THRESHOLD: TimeDelta = TimeDelta::seconds(30);

/// Used when the token response has no `expires_in` (Okta's tokens last one hour).
const DEFAULT_TOKEN_LIFETIME_SECS: i64 = 3600;

#[derive(Clone)]
struct CachedToken {
    access_token: SecretString,
    dpop_bound: bool,
    /// Local clock time after which the token is not used.
    refresh_at: DateTime<Utc>,
    generation: u64,
}

#[derive(Debug)]
struct DpopState {
    /// The server wants DPoP (learned from its answers).
    enabled: bool,
    key: PrivateKey,
    token_nonce: Option<String>,
    resource_nonce: Option<String>,
}

/// How the client authenticates at the token endpoint.
enum ClientAuth {
    /// `private_key_jwt`: a client assertion signed with the app's key.
    KeyAssertion {
        key: PrivateKey,
        key_id: Option<String>,
    },
    /// `client_secret_basic` or `client_secret_post`.
    Secret {
        secret: SecretString,
        method: ClientSecretMethod,
    },
}

impl fmt::Debug for ClientAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientAuth::KeyAssertion { key, key_id } => f
                .debug_struct("PrivateKeyAssertion")
                .field("key", key)
                .field("key_id", key_id)
                .finish(),
            ClientAuth::Secret { method, .. } => f
                .debug_struct("ClientSecret")
                .field("method", method)
                .finish_non_exhaustive(),
        }
    }
}

pub(crate) struct OAuthAuth {
    client_id: String,
    client_auth: ClientAuth,
    scopes: String,
    token_url: Url,
    cached: RwLock<Option<CachedToken>>,
    /// Held while fetching, so concurrent requests wait for one fetch instead of each
    /// starting their own.
    refresh: tokio::sync::Mutex<()>,
    /// The last failed fetch, shared with the requests that waited for it.
    last_failure: Mutex<Option<(tokio::time::Instant, Error)>>,
    dpop: Mutex<DpopState>,
    generation: AtomicU64,
}

impl fmt::Debug for OAuthAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthAuth")
            .field("client_id", &self.client_id)
            .field("client_auth", &self.client_auth)
            .field("scopes", &self.scopes)
            .field("token_url", &self.token_url.as_str())
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    #[serde(default)]
    token_type: Option<String>,
    #[serde(default)]
    expires_in: Option<i64>,
}

#[derive(Deserialize, Default)]
struct OAuthErrorBody {
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    error_description: Option<String>,
}

impl OAuthAuth {
    /// A service app authenticated by `private_key_jwt`.
    pub(crate) fn with_private_key(creds: &OAuthCredentials, org: &crate::OrgUrl) -> Result<Self> {
        let client_auth = ClientAuth::KeyAssertion {
            key: creds.private_key.clone(),
            key_id: creds
                .key_id
                .clone()
                .or_else(|| creds.private_key.key_id().map(str::to_string)),
        };
        Self::new(&creds.client_id, &creds.scopes, client_auth, org)
    }

    /// A client authenticated by its client secret.
    pub(crate) fn with_secret(creds: &OAuthSecretCredentials, org: &crate::OrgUrl) -> Result<Self> {
        let secret = creds.client_secret.expose_secret().trim();
        if secret.is_empty() {
            return Err(Error::InvalidConfig(format!(
                "the OAuth client secret for client {} is empty; copy it from the Admin Console \
                 (Applications > the app > General > Client Credentials)",
                creds.client_id.trim()
            )));
        }
        if secret.chars().any(char::is_control) {
            return Err(Error::InvalidConfig(format!(
                "the OAuth client secret for client {} contains a control character (a stray \
                 newline inside it?)",
                creds.client_id.trim()
            )));
        }
        let client_auth = ClientAuth::Secret {
            secret: SecretString::from(secret.to_string()),
            method: creds.method,
        };
        Self::new(&creds.client_id, &creds.scopes, client_auth, org)
    }

    fn new(
        client_id: &str,
        scopes: &[String],
        client_auth: ClientAuth,
        org: &crate::OrgUrl,
    ) -> Result<Self> {
        if client_id.trim().is_empty() {
            return Err(Error::InvalidConfig("the OAuth client_id is empty".into()));
        }
        if scopes.is_empty() {
            return Err(Error::InvalidConfig(
                "no OAuth scopes requested; request the okta.*.read scopes the sync needs, e.g. \
                 okta.users.read okta.groups.read"
                    .into(),
            ));
        }
        Ok(Self {
            client_id: client_id.trim().to_string(),
            client_auth,
            scopes: scopes.join(" "),
            token_url: org.join(TOKEN_PATH)?,
            cached: RwLock::new(None),
            refresh: tokio::sync::Mutex::new(()),
            last_failure: Mutex::new(None),
            dpop: Mutex::new(DpopState {
                enabled: false,
                key: PrivateKey::generate_ec_p256()?,
                token_nonce: None,
                resource_nonce: None,
            }),
            generation: AtomicU64::new(0),
        })
    }

    fn usable(&self, now: DateTime<Utc>) -> Option<CachedToken> {
        self.cached
            .read()
            .as_ref()
            .filter(|t| now < t.refresh_at)
            .cloned()
    }

    async fn token(&self, transport: &Transport) -> Result<CachedToken> {
        let clock = &transport.config.clock;
        if let Some(t) = self.usable(clock.now()) {
            return Ok(t);
        }
        let waiting_since = tokio::time::Instant::now();
        let _single_flight = self.refresh.lock().await;
        if let Some(t) = self.usable(clock.now()) {
            return Ok(t);
        }
        // a fetch that failed while this request waited fails it too, instead of every
        // waiting request repeating a doomed token request
        if let Some((failed_at, error)) = &*self.last_failure.lock()
            && *failed_at >= waiting_since
        {
            return Err(error.clone());
        }
        match self.fetch(transport).await {
            Ok(token) => {
                *self.cached.write() = Some(token.clone());
                *self.last_failure.lock() = None;
                Ok(token)
            }
            Err(error) => {
                *self.last_failure.lock() = Some((tokio::time::Instant::now(), error.clone()));
                Err(error)
            }
        }
    }

    fn assertion(
        &self,
        key: &PrivateKey,
        key_id: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<SecretString> {
        let mut header = json!({ "alg": key.algorithm(), "typ": "JWT" });
        if let Some(kid) = key_id {
            header["kid"] = json!(kid);
        }
        let claims = json!({
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.token_url.as_str(),
            "iat": now.timestamp(),
            "exp": (now + ASSERTION_LIFETIME).timestamp(),
            "jti": uuid::Uuid::new_v4().to_string(),
        });
        jwt::sign(key, &header, &claims)
    }

    /// The token request, its client authentication included.
    fn token_request(
        &self,
        transport: &Transport,
        now: DateTime<Utc>,
        proof: Option<&SecretString>,
    ) -> Result<reqwest::Request> {
        let mut form: Vec<(&str, &str)> = vec![
            ("grant_type", "client_credentials"),
            ("scope", self.scopes.as_str()),
        ];
        let mut builder = transport
            .http
            .post(self.token_url.clone())
            .header(http::header::ACCEPT, "application/json");
        let assertion;
        match &self.client_auth {
            ClientAuth::KeyAssertion { key, key_id } => {
                assertion = self.assertion(key, key_id.as_deref(), now)?;
                form.push(("client_assertion_type", CLIENT_ASSERTION_TYPE));
                form.push(("client_assertion", assertion.expose_secret()));
            }
            ClientAuth::Secret {
                secret,
                method: ClientSecretMethod::Basic,
            } => {
                // RFC 6749 §2.3.1: both parts form-urlencoded, then joined and base64-encoded
                let encode = |v: &str| {
                    url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>()
                };
                let pair = SecretString::from(format!(
                    "{}:{}",
                    encode(&self.client_id),
                    encode(secret.expose_secret())
                ));
                let basic =
                    SecretString::from(format!("Basic {}", STANDARD.encode(pair.expose_secret())));
                builder = builder.header(
                    http::header::AUTHORIZATION,
                    sensitive_header(basic.expose_secret())?,
                );
            }
            ClientAuth::Secret {
                secret,
                method: ClientSecretMethod::Post,
            } => {
                form.push(("client_id", self.client_id.as_str()));
                form.push(("client_secret", secret.expose_secret()));
            }
        }
        builder = builder.form(&form);
        if let Some(proof) = proof {
            builder = builder.header("DPoP", sensitive_header(proof.expose_secret())?);
        }
        // the message names no part of the request: the form holds the secret or assertion
        builder
            .build()
            .map_err(|_| Error::InvalidConfig("cannot build the OAuth token request".into()))
    }

    async fn fetch(&self, transport: &Transport) -> Result<CachedToken> {
        let mut retries = 0u32;
        let mut protocol_rounds = 0u32;
        let mut clock_retry_done = false;
        loop {
            let now = transport.governor.server_now();
            let proof = {
                let d = self.dpop.lock();
                if d.enabled {
                    Some(dpop::proof(
                        &d.key,
                        "POST",
                        &self.token_url,
                        now,
                        None,
                        d.token_nonce.as_deref(),
                    )?)
                } else {
                    None
                }
            };
            let request = self.token_request(transport, now, proof.as_ref())?;
            let is_retry = retries + protocol_rounds > 0;
            let outcome = transport
                .attempt("token", request, RequestKind::Start, is_retry)
                .await;
            let response = match outcome {
                Ok(r) => r,
                Err(e) => {
                    let target = format!("POST {}", self.token_url.path());
                    let Some(reason) = retry::retry_reason_for(&e) else {
                        return Err(e.into_error(target, retries));
                    };
                    if retries >= transport.config.max_retries {
                        return Err(e.into_error(target, retries));
                    }
                    transport.backoff_sleep("token", retries, reason).await;
                    retries += 1;
                    continue;
                }
            };
            if let Some(nonce) = header_str(&response.headers, "dpop-nonce") {
                self.dpop.lock().token_nonce = Some(nonce.to_string());
            }
            let verdict = retry::classify(&AttemptOutcome::Response {
                status: response.status,
                headers: &response.headers,
            });
            match verdict {
                Verdict::Success => match serde_json::from_slice::<TokenResponse>(&response.body) {
                    Ok(body) => return Ok(self.cache_entry(transport, body)),
                    Err(_) if retries < transport.config.max_retries => {
                        transport
                            .backoff_sleep("token", retries, retry::RetryReason::TruncatedBody)
                            .await;
                        retries += 1;
                    }
                    Err(e) => {
                        return Err(Error::InvalidResponse {
                            target: format!("POST {}", self.token_url.path()),
                            retries,
                            cause: format!("the token response is not the expected JSON ({e})"),
                        });
                    }
                },
                Verdict::Retry(reason) => {
                    if retries >= transport.config.max_retries {
                        return Err(self.oauth_error(&response));
                    }
                    transport.backoff_sleep("token", retries, reason).await;
                    retries += 1;
                }
                Verdict::Fail if (300..400).contains(&response.status) => {
                    return Err(redirect_error(&Method::POST, &self.token_url, &response));
                }
                Verdict::Fail => {
                    let body: OAuthErrorBody =
                        serde_json::from_slice(&response.body).unwrap_or_default();
                    let error = body.error.as_deref().unwrap_or_default();
                    let mut d = self.dpop.lock();
                    let dpop_question =
                        error == "use_dpop_nonce" || (error == "invalid_dpop_proof" && !d.enabled);
                    if dpop_question && protocol_rounds < MAX_PROTOCOL_ROUNDS {
                        tracing::debug!(
                            error,
                            "token endpoint asks for DPoP; retrying with a proof"
                        );
                        d.enabled = true;
                        protocol_rounds += 1;
                        continue;
                    }
                    drop(d);
                    let corrected = transport.governor.server_now();
                    let clock_was_off = (corrected - now).abs() > CLOCK_RETRY_THRESHOLD;
                    let signed = matches!(self.client_auth, ClientAuth::KeyAssertion { .. });
                    if error == "invalid_client" && signed && clock_was_off && !clock_retry_done {
                        tracing::warn!(
                            skew_seconds = (corrected - now).num_seconds(),
                            "this machine's clock differs from Okta's; retrying the token request with Okta's time"
                        );
                        clock_retry_done = true;
                        protocol_rounds += 1;
                        continue;
                    }
                    return Err(self.oauth_error(&response));
                }
            }
        }
    }

    /// The error for a refused token request: Okta's `error` and description (never the
    /// secret, even if a server echoed it), and what to check for this kind of client.
    fn oauth_error(&self, response: &HttpResponse) -> Error {
        let body: OAuthErrorBody = serde_json::from_slice(&response.body).unwrap_or_default();
        let error = body.error.unwrap_or_else(|| "no error code".into());
        let mut description = body
            .error_description
            .map(|d| format!(": {d}"))
            .unwrap_or_default();
        if let ClientAuth::Secret { secret, .. } = &self.client_auth {
            description = description.replace(secret.expose_secret(), "[redacted]");
        }
        let secret = matches!(self.client_auth, ClientAuth::Secret { .. });
        let hint = match error.as_str() {
            "invalid_client" if secret => {
                "Check the client id and the client secret (Admin Console > Applications > the \
                 app > General > Client Credentials; a secret that was rotated or deactivated \
                 must be replaced), and that the app's client authentication is 'Client secret'"
            }
            "invalid_client" => {
                "Check the client id, that the app's client authentication is 'Public key / \
                 Private key' and its registered public key (and kid) matches this private key, \
                 and that this machine's clock is right"
            }
            "invalid_scope" => {
                "Grant the requested scopes to the app (Admin Console > Applications > the app > \
                 Okta API Scopes) or request fewer scopes"
            }
            "unauthorized_client" => {
                "The app may not use the client_credentials grant: it must be an API Services app"
            }
            "invalid_dpop_proof" | "use_dpop_nonce" => {
                "The DPoP proof was rejected; check this machine's clock and the app's DPoP setting"
            }
            _ if response.status == 429 => {
                "The token endpoint is rate limited; try again in a minute"
            }
            _ if response.status >= 500 => "Okta's token endpoint is failing; try again later",
            _ => "Check the service app's settings in the Admin Console",
        };
        Error::OAuth {
            client_id: self.client_id.clone(),
            status: response.status,
            error,
            description,
            hint,
        }
    }

    fn cache_entry(&self, transport: &Transport, body: TokenResponse) -> CachedToken {
        let lifetime = TimeDelta::seconds(
            body.expires_in
                .unwrap_or(DEFAULT_TOKEN_LIFETIME_SECS)
                .max(0),
        );
        let margin = TimeDelta::from_std(transport.config.token_refresh_margin).unwrap_or_default();
        // a token shorter-lived than twice the margin is used for half its life
        let usable_for = if lifetime > margin * 2 {
            lifetime - margin
        } else {
            lifetime / 2
        };
        let dpop_bound = body
            .token_type
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("DPoP"));
        if dpop_bound {
            self.dpop.lock().enabled = true;
        }
        transport.metrics.token_fetched();
        tracing::debug!(
            expires_in = lifetime.num_seconds(),
            dpop_bound,
            "fetched an OAuth access token"
        );
        CachedToken {
            access_token: SecretString::from(body.access_token),
            dpop_bound,
            refresh_at: transport.config.clock.now() + usable_for,
            generation: self.generation.fetch_add(1, Ordering::Relaxed) + 1,
        }
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[async_trait::async_trait]
impl AuthProvider for OAuthAuth {
    async fn authorize(
        &self,
        transport: &Transport,
        method: &Method,
        url: &Url,
    ) -> Result<AuthHeaders> {
        let token = self.token(transport).await?;
        let scheme = if token.dpop_bound { "DPoP" } else { "Bearer" };
        let authorization =
            sensitive_header(&format!("{scheme} {}", token.access_token.expose_secret()))?;
        let dpop = if token.dpop_bound {
            let d = self.dpop.lock();
            let proof = dpop::proof(
                &d.key,
                method.as_str(),
                url,
                transport.governor.server_now(),
                Some(&token.access_token),
                d.resource_nonce.as_deref(),
            )?;
            Some(sensitive_header(proof.expose_secret())?)
        } else {
            None
        };
        Ok(AuthHeaders {
            authorization,
            dpop,
            generation: token.generation,
        })
    }

    fn rejected(&self, headers: &HeaderMap, used: &AuthHeaders) -> bool {
        let params = super::www_authenticate_params(headers);
        let error = params
            .iter()
            .find(|(k, _)| k == "error")
            .map(|(_, v)| v.as_str());
        if error == Some("use_dpop_nonce")
            && let Some(nonce) = header_str(headers, "dpop-nonce")
        {
            self.dpop.lock().resource_nonce = Some(nonce.to_string());
            return true;
        }
        // the token was revoked or expired early: drop it so the next attempt fetches one
        let mut cached = self.cached.write();
        if cached
            .as_ref()
            .is_some_and(|t| t.generation == used.generation)
        {
            *cached = None;
            return true;
        }
        false
    }
}
