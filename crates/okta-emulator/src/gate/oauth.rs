//! The org authorization server's token endpoint, `POST /oauth2/v1/token`, for OAuth 2.0
//! service apps: `client_credentials`, the client authenticated by a `private_key_jwt` client
//! assertion or by its client secret (`client_secret_basic` in the `Authorization` header, or
//! `client_secret_post` in the body, as Okta Integration Network API service integrations
//! do), scopes granted per client, optional DPoP (okta-api.md §4.2, §4.3). Access tokens are
//! ES256 JWTs signed by a key the emulator makes at start-up, valid one hour by the injected
//! clock.

use super::dpop::{self, ProofError, ProofExpectation};
use super::jws::{self, Jws, PublicKey};
use super::{Gate, GateError, request_host};
use crate::config::OAuthClientConfig;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use std::sync::Arc;

/// "The lifetime for this token is fixed at one hour."
pub const ACCESS_TOKEN_LIFETIME_S: i64 = 3600;
/// A client assertion may expire at most this far ahead.
pub const ASSERTION_MAX_LIFETIME_S: i64 = 3600;
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
const ACCESS_TOKEN_TYP: &str = "application/okta-internal-at+jwt";

/// How a registered client proves who it is.
pub(crate) enum ClientCredential {
    /// `private_key_jwt`: assertions signed by the key this public key belongs to.
    PublicKey(PublicKey),
    /// `client_secret_basic` / `client_secret_post`: the SHA-256 digest of the secret (the
    /// secret itself is not kept). Digests compare in constant time and have a fixed length,
    /// so neither the secret's content nor its length shows in timing.
    SecretDigest([u8; 32]),
}

impl std::fmt::Debug for ClientCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientCredential::PublicKey(key) => f.debug_tuple("PublicKey").field(key).finish(),
            ClientCredential::SecretDigest(_) => f.write_str("SecretDigest(..)"),
        }
    }
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// A registered service app.
#[derive(Debug)]
pub(crate) struct RegisteredClient {
    pub credential: ClientCredential,
    pub scopes: Vec<String>,
    pub require_dpop: bool,
}

impl RegisteredClient {
    pub fn from_config(config: &OAuthClientConfig) -> Result<Self, GateError> {
        let bad =
            |what: String| GateError::Config(format!("OAuth client {}: {what}", config.client_id));
        let has_key = config.public_jwk.is_some() || config.public_key_pem_file.is_some();
        if has_key && config.client_secret.is_some() {
            return Err(bad(
                "give a public key (public_jwk or public_key_pem_file) or a client_secret, not \
                 both: an Okta app authenticates one way"
                    .into(),
            ));
        }
        let credential = match (&config.public_jwk, &config.public_key_pem_file) {
            (Some(jwk), _) => ClientCredential::PublicKey(
                jws::public_key_from_jwk(jwk).map_err(|e| bad(e.to_string()))?,
            ),
            (None, Some(path)) => {
                let pem = std::fs::read_to_string(path)
                    .map_err(|e| bad(format!("cannot read {}: {e}", path.display())))?;
                ClientCredential::PublicKey(
                    jws::public_key_from_pem(&pem)
                        .map_err(|e| bad(format!("{}: {e}", path.display())))?,
                )
            }
            (None, None) => match &config.client_secret {
                Some(secret) if !secret.is_empty() => {
                    ClientCredential::SecretDigest(sha256(secret.as_bytes()))
                }
                Some(_) => return Err(bad("client_secret is empty".into())),
                None => {
                    return Err(bad(
                        "needs public_jwk, public_key_pem_file or client_secret".into(),
                    ));
                }
            },
        };
        Ok(Self {
            credential,
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
    let form = Form(form);
    let field = |name: &str| form.get(name);
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
    let now = gate.clock.now().timestamp();
    let host = request_host(headers).unwrap_or_default();
    let caller = authenticate_client(gate, headers, &form, &host, now)?;
    let client = caller.client;
    let client_id = caller.client_id.as_str();

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

    if let Some((jti, exp)) = &caller.spend_jti
        && !gate.assertion_jtis.first_use(jti, *exp, now)
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

    let origin = caller
        .origin
        .clone()
        .unwrap_or_else(|| format!("http://{host}"));
    let access_token = gate
        .issuer
        .issue(&origin, client_id, &requested, jkt.as_deref(), now)
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

/// The token request's form fields.
struct Form(Vec<(String, String)>);

impl Form {
    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Who is asking for a token, once their client authentication checks out.
struct Caller<'a> {
    client_id: String,
    client: &'a RegisteredClient,
    /// A client assertion's `jti` and `exp`, spent once the rest of the request is valid.
    spend_jti: Option<(String, i64)>,
    /// The origin the client called (scheme included), when its assertion's `aud` says it.
    origin: Option<String>,
}

/// Checks the token request's client authentication: a client secret in the `Authorization`
/// header (`client_secret_basic`) or in the body (`client_secret_post`), or a
/// `private_key_jwt` assertion. More than one method is refused, as Okta does.
fn authenticate_client<'a>(
    gate: &'a Gate,
    headers: &HeaderMap,
    form: &Form,
    host: &str,
    now: i64,
) -> Result<Caller<'a>, OAuthError> {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("Basic"))
        .map(|(_, rest)| rest.trim());
    let posted_secret = form.get("client_secret");
    let assertion_type = form.get("client_assertion_type");
    let methods = [
        basic.is_some(),
        posted_secret.is_some(),
        assertion_type.is_some(),
    ];
    if methods.iter().filter(|used| **used).count() > 1 {
        return Err(OAuthError::bad_request(
            "invalid_request",
            "Cannot supply multiple client credentials. Use one of the following: credentials in the Authorization header, credentials in the post body, or a client_assertion in the post body.",
        ));
    }
    if let Some(basic) = basic {
        let (sent_id, secrets) = basic_credentials(basic).ok_or_else(|| {
            OAuthError::invalid_client(
                "The client credentials in the Authorization header are malformed.",
            )
        })?;
        let client_id = if gate.clients.contains_key(&sent_id) {
            sent_id
        } else {
            percent_encoding::percent_decode_str(&sent_id.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        };
        if form.get("client_id").is_some_and(|c| c != client_id) {
            return Err(OAuthError::invalid_client(
                "The 'client_id' parameter does not match the Authorization header.",
            ));
        }
        return secret_caller(gate, client_id, &secrets);
    }
    if let Some(secret) = posted_secret {
        let client_id = form.get("client_id").ok_or_else(|| {
            OAuthError::invalid_client(
                "The 'client_id' parameter is required with 'client_secret'.",
            )
        })?;
        return secret_caller(gate, client_id.to_string(), &[secret.to_string()]);
    }
    if assertion_type != Some(JWT_BEARER) {
        return Err(OAuthError::invalid_client(format!(
            "Client authentication requires 'client_assertion_type={JWT_BEARER}' and a private_key_jwt 'client_assertion', or the client secret in the Authorization header (client_secret_basic) or the body (client_secret_post)."
        )));
    }
    assertion_caller(gate, form, host, now)
}

/// The client id and secret candidates of `base64(client_id ":" secret)`. RFC 6749 §2.3.1 has
/// both parts form-urlencoded first, which many clients skip; Okta's own secrets are
/// unaffected either way (letters, digits, `-` and `_`). So the id is taken as sent when it is
/// registered, else decoded, and the secret may match as sent or decoded.
fn basic_credentials(encoded: &str) -> Option<(String, Vec<String>)> {
    let decoded = STANDARD.decode(encoded).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let form_decode = |v: &str| -> Option<String> {
        percent_encoding::percent_decode_str(&v.replace('+', " "))
            .decode_utf8()
            .ok()
            .map(|s| s.into_owned())
    };
    let mut secrets = vec![secret.to_string()];
    secrets.extend(form_decode(secret).filter(|d| d != secret));
    Some((id.to_string(), secrets))
}

/// The client `client_id`, if one of `secrets` is its secret.
fn secret_caller<'a>(
    gate: &'a Gate,
    client_id: String,
    secrets: &[String],
) -> Result<Caller<'a>, OAuthError> {
    let client = gate
        .clients
        .get(&client_id)
        .ok_or_else(|| OAuthError::invalid_client("The client_id provided is invalid."))?;
    match &client.credential {
        ClientCredential::SecretDigest(expected) => {
            let matches = secrets.iter().any(|secret| {
                aws_lc_rs::constant_time::verify_slices_are_equal(
                    expected,
                    &sha256(secret.as_bytes()),
                )
                .is_ok()
            });
            if !matches {
                return Err(OAuthError::invalid_client(
                    "The client secret supplied for a confidential client is invalid.",
                ));
            }
        }
        ClientCredential::PublicKey(_) => {
            return Err(OAuthError::invalid_client(
                "This client authenticates with private_key_jwt; a client secret is not accepted.",
            ));
        }
    }
    Ok(Caller {
        client_id,
        client,
        spend_jti: None,
        origin: None,
    })
}

/// A `private_key_jwt` client assertion: signature first, then the claims.
fn assertion_caller<'a>(
    gate: &'a Gate,
    form: &Form,
    host: &str,
    now: i64,
) -> Result<Caller<'a>, OAuthError> {
    let assertion = form.get("client_assertion").ok_or_else(|| {
        OAuthError::invalid_client("The 'client_assertion' parameter is required.")
    })?;
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
    if form.get("client_id").is_some_and(|c| c != client_id) {
        return Err(OAuthError::invalid_client(
            "The 'client_id' parameter does not match the client_assertion issuer.",
        ));
    }
    let client = gate
        .clients
        .get(&client_id)
        .ok_or_else(|| OAuthError::invalid_client("The client_id provided is invalid."))?;
    let ClientCredential::PublicKey(key) = &client.credential else {
        return Err(OAuthError::invalid_client(
            "This client authenticates with a client secret; a client_assertion is not accepted.",
        ));
    };
    jws.verify(key)
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

    let origin = matched_aud
        .and_then(|a| a.strip_suffix("/oauth2/v1/token"))
        .map(str::to_string);
    Ok(Caller {
        client_id,
        client,
        spend_jti: jti.map(|jti| (jti, exp)),
        origin,
    })
}
