//! The org authorization server's token endpoint, `POST /oauth2/v1/token`, for OAuth 2.0
//! service apps: `client_credentials` with a `private_key_jwt` client assertion, scopes granted
//! per client, optional DPoP (okta-api.md §4.2, §4.3). Access tokens are ES256 JWTs signed by a
//! key the emulator makes at start-up, valid one hour by the injected clock.

use super::dpop::{self, ProofError, ProofExpectation};
use super::jws::{self, Jws, PublicKey};
use super::{Gate, GateError, request_host};
use crate::config::OAuthClientConfig;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;

/// "The lifetime for this token is fixed at one hour."
pub const ACCESS_TOKEN_LIFETIME_S: i64 = 3600;
/// A client assertion may expire at most this far ahead.
pub const ASSERTION_MAX_LIFETIME_S: i64 = 3600;
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const ACCESS_TOKEN_TYP: &str = "application/okta-internal-at+jwt";

/// A registered service app.
#[derive(Debug)]
pub(crate) struct RegisteredClient {
    pub key: PublicKey,
    pub scopes: Vec<String>,
    pub require_dpop: bool,
}

impl RegisteredClient {
    pub fn from_config(config: &OAuthClientConfig) -> Result<Self, GateError> {
        let bad =
            |what: String| GateError::Config(format!("OAuth client {}: {what}", config.client_id));
        let key = match (&config.public_jwk, &config.public_key_pem_file) {
            (Some(jwk), _) => jws::public_key_from_jwk(jwk).map_err(|e| bad(e.to_string()))?,
            (None, Some(path)) => {
                let pem = std::fs::read_to_string(path)
                    .map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
                jws::public_key_from_pem(&pem)
                    .map_err(|e| bad(format!("{}: {e}", path.display())))?
            }
            (None, None) => return Err(bad("needs public_jwk or public_key_pem_file".into())),
        };
        Ok(Self {
            key,
            scopes: config.scopes.clone(),
            require_dpop: config.require_dpop,
        })
    }
}

/// What a valid access token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessClaims {
    pub client_id: String,
    pub scopes: Vec<String>,
    /// Thumbprint of the DPoP key the token is bound to.
    pub jkt: Option<String>,
    /// The origin that issued it (`iss`), scheme included.
    pub issuer: String,
}

/// Signs and checks the emulator's access tokens.
pub(crate) struct TokenIssuer {
    key: EcdsaKeyPair,
    public: PublicKey,
    kid: String,
}

impl std::fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl TokenIssuer {
    pub fn new() -> Result<Self, GateError> {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).map_err(|_| {
            GateError::Config("cannot generate the access-token signing key".into())
        })?;
        let public = PublicKey::Ec {
            crv: "P-256".into(),
            point: key.public_key().as_ref().to_vec(),
        };
        let kid = jws::sha256_b64url(key.public_key().as_ref());
        Ok(Self { key, public, kid })
    }

    pub fn issue(
        &self,
        origin: &str,
        client_id: &str,
        scopes: &[String],
        jkt: Option<&str>,
        now: i64,
    ) -> Result<String, GateError> {
        let header = json!({"kid": self.kid, "typ": ACCESS_TOKEN_TYP, "alg": "ES256"});
        let mut claims = json!({
            "ver": 1,
            "jti": format!("AT.{}", uuid::Uuid::new_v4().simple()),
            "iss": origin,
            "aud": origin,
            "sub": client_id,
            "iat": now,
            "exp": now + ACCESS_TOKEN_LIFETIME_S,
            "cid": client_id,
            "scp": scopes,
        });
        if let Some(jkt) = jkt {
            claims["cnf"] = json!({"jkt": jkt});
        }
        jws::sign_es256(&self.key, &header, &claims)
            .map_err(|_| GateError::Config("cannot sign an access token".into()))
    }

    /// The claims of a token this issuer signed that has not expired.
    pub fn verify(&self, token: &str, now: i64) -> Option<AccessClaims> {
        let jws = Jws::parse(token).ok()?;
        if jws.header_str("typ") != Some(ACCESS_TOKEN_TYP) || jws.alg().ok()? != "ES256" {
            return None;
        }
        jws.verify(&self.public).ok()?;
        if jws.claim_i64("exp")? <= now {
            return None;
        }
        let scopes = jws
            .claims
            .get("scp")?
            .as_array()?
            .iter()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect();
        let jkt = jws
            .claims
            .get("cnf")
            .and_then(|c| c.get("jkt"))
            .and_then(|j| j.as_str())
            .map(str::to_string);
        Some(AccessClaims {
            client_id: jws.claim_str("cid")?.to_string(),
            scopes,
            jkt,
            issuer: jws.claim_str("iss")?.to_string(),
        })
    }
}

/// An OAuth error answer: `{"error": …, "error_description": …}`.
#[derive(Debug)]
struct OAuthError {
    status: StatusCode,
    error: &'static str,
    description: String,
    dpop_nonce: Option<String>,
}

impl OAuthError {
    fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            dpop_nonce: None,
        }
    }
    fn invalid_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description)
    }
    fn bad_request(error: &'static str, description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error, description)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            axum::Json(json!({"error": self.error, "error_description": self.description})),
        )
            .into_response();
        no_store(resp.headers_mut());
        if let Some(nonce) = self.dpop_nonce.and_then(|n| HeaderValue::from_str(&n).ok()) {
            resp.headers_mut().insert("dpop-nonce", nonce);
        }
        resp
    }
}

fn no_store(headers: &mut HeaderMap) {
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store"),
    );
    headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
}

/// `POST /oauth2/v1/token`; mount it under the gate middleware (it has its own bucket).
pub fn oauth_router(gate: Arc<Gate>) -> Router {
    Router::new()
        .route("/oauth2/v1/token", axum::routing::post(token))
        .with_state(gate)
}

async fn token(
    State(gate): State<Arc<Gate>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    match issue_token(&gate, &headers, &body) {
        Ok(resp) => resp,
        Err(e) => e.into_response(),
    }
}

fn issue_token(gate: &Gate, headers: &HeaderMap, body: &[u8]) -> Result<Response, OAuthError> {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| {
        OAuthError::bad_request(
            "invalid_request",
            "The request body must be application/x-www-form-urlencoded.",
        )
    })?;
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    match field("grant_type") {
        Some("client_credentials") => {}
        Some(_) => {
            return Err(OAuthError::bad_request(
                "unsupported_grant_type",
                "The authorization grant type is not supported by the authorization server. Configured grant types: [client_credentials].",
            ));
        }
        None => {
            return Err(OAuthError::bad_request(
                "invalid_request",
                "The 'grant_type' parameter is required.",
            ));
        }
    }
    if field("client_assertion_type") != Some(JWT_BEARER) {
        return Err(OAuthError::invalid_client(format!(
            "Client authentication requires 'client_assertion_type={JWT_BEARER}' and a private_key_jwt 'client_assertion'."
        )));
    }
    let assertion = field("client_assertion").ok_or_else(|| {
        OAuthError::invalid_client("The 'client_assertion' parameter is required.")
    })?;
    let now = gate.clock.now().timestamp();
    let host = request_host(headers).unwrap_or_default();

    // Client authentication: signature first, then the claims.
    let jws = Jws::parse(assertion)
        .map_err(|_| OAuthError::invalid_client("The client_assertion token is malformed."))?;
    jws.alg().map_err(|e| {
        OAuthError::invalid_client(format!("The client_assertion token is invalid: {e}."))
    })?;
    let client_id = jws
        .claim_str("iss")
        .ok_or_else(|| {
            OAuthError::invalid_client("The client_assertion token has no 'iss' claim.")
        })?
        .to_string();
    if field("client_id").is_some_and(|c| c != client_id) {
        return Err(OAuthError::invalid_client(
            "The 'client_id' parameter does not match the client_assertion issuer.",
        ));
    }
    let client = gate
        .clients
        .get(&client_id)
        .ok_or_else(|| OAuthError::invalid_client("The client_id provided is invalid."))?;
    jws.verify(&client.key)
        .map_err(|_| OAuthError::invalid_client("The client_assertion signature is invalid."))?;
    if jws.claim_str("sub") != Some(client_id.as_str()) {
        return Err(OAuthError::invalid_client(
            "The client_assertion 'sub' claim must equal its 'iss' (the client_id).",
        ));
    }
    let aud_ok = |aud: &str| {
        aud == format!("http://{host}/oauth2/v1/token")
            || aud == format!("https://{host}/oauth2/v1/token")
    };
    // The audience the client used also tells the scheme it called (http, or https with --tls).
    let matched_aud: Option<&str> = match jws.claims.get("aud") {
        Some(serde_json::Value::String(a)) => Some(a.as_str()).filter(|a| aud_ok(a)),
        Some(serde_json::Value::Array(all)) => {
            all.iter().filter_map(|a| a.as_str()).find(|a| aud_ok(a))
        }
        _ => None,
    };
    let aud_matches = matched_aud.is_some();
    if !aud_matches {
        return Err(OAuthError::invalid_client(
            "The audience claim for client_assertion must be the endpoint invoked for the request.",
        ));
    }
    let exp = jws.claim_i64("exp").ok_or_else(|| {
        OAuthError::invalid_client("The client_assertion token has no 'exp' claim.")
    })?;
    if exp <= now {
        return Err(OAuthError::invalid_client(
            "The client_assertion token is expired.",
        ));
    }
    if exp > now + ASSERTION_MAX_LIFETIME_S {
        return Err(OAuthError::invalid_client(
            "The client_assertion token has an expiration too far into the future (at most one hour).",
        ));
    }
    let jti = jws.claim_str("jti").map(str::to_string);
    if let Some(jti) = &jti
        && gate.assertion_jtis.is_used(jti, now)
    {
        return Err(OAuthError::invalid_client(
            "The client_assertion token has already been used (jti).",
        ));
    }

    // DPoP before the assertion's jti is spent: the SDKs resend the same assertion after
    // `use_dpop_nonce`.
    let jkt = if client.require_dpop {
        let nonce_now = gate.dpop_nonces.current(now);
        let with_nonce = |mut e: OAuthError| {
            e.dpop_nonce = Some(nonce_now.clone());
            e
        };
        let proof = headers
            .get("dpop")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                with_nonce(OAuthError::bad_request(
                    "invalid_dpop_proof",
                    "The DPoP proof JWT header is missing.",
                ))
            })?;
        let expect = ProofExpectation {
            method: "POST",
            host: &host,
            path: "/oauth2/v1/token",
            now,
            access_token: None,
            nonces: Some(&gate.dpop_nonces),
        };
        match dpop::verify_proof(proof, &expect, &gate.dpop_jtis) {
            Ok(jkt) => Some(jkt),
            Err(ProofError::UseNonce) => {
                return Err(with_nonce(OAuthError::bad_request(
                    "use_dpop_nonce",
                    "Authorization server requires nonce in DPoP proof.",
                )));
            }
            Err(ProofError::Invalid(msg)) => {
                return Err(with_nonce(OAuthError::bad_request(
                    "invalid_dpop_proof",
                    msg,
                )));
            }
        }
    } else {
        None
    };

    if let Some(jti) = &jti
        && !gate.assertion_jtis.first_use(jti, exp, now)
    {
        return Err(OAuthError::invalid_client(
            "The client_assertion token has already been used (jti).",
        ));
    }

    let requested: Vec<String> = field("scope")
        .unwrap_or("")
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if requested.is_empty() {
        return Err(OAuthError::bad_request(
            "invalid_scope",
            "The authorization server resource does not have any configured default scopes, 'scope' must be provided.",
        ));
    }
    let missing: Vec<&str> = requested
        .iter()
        .filter(|s| !client.scopes.contains(s))
        .map(String::as_str)
        .collect();
    if !missing.is_empty() {
        return Err(OAuthError::bad_request(
            "invalid_scope",
            format!(
                "The following scopes are not granted to the client: {}.",
                missing.join(" ")
            ),
        ));
    }

    let origin = matched_aud
        .and_then(|a| a.strip_suffix("/oauth2/v1/token"))
        .map_or_else(|| format!("http://{host}"), str::to_string);
    let access_token = gate
        .issuer
        .issue(&origin, &client_id, &requested, jkt.as_deref(), now)
        .map_err(|_| {
            OAuthError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "Cannot sign the access token.",
            )
        })?;
    let body = json!({
        "token_type": if jkt.is_some() { "DPoP" } else { "Bearer" },
        "expires_in": ACCESS_TOKEN_LIFETIME_S,
        "access_token": access_token,
        "scope": requested.join(" "),
    });
    let mut resp = (StatusCode::OK, axum::Json(body)).into_response();
    no_store(resp.headers_mut());
    if jkt.is_some()
        && let Ok(v) = HeaderValue::from_str(&gate.dpop_nonces.current(now))
    {
        resp.headers_mut().insert("dpop-nonce", v);
    }
    Ok(resp)
}
