//! DPoP (RFC 9449) as Okta's org authorization server and resource server check it
//! (okta-api.md §4.3): proof header and claims, the token endpoint's nonce, `ath` on resource
//! requests, and the key thumbprint that binds a token (`cnf.jkt`).

use super::jws::{self, Jws, SUPPORTED_ALGS};
use super::replay::ReplayCache;
use parking_lot::Mutex;
use rand::Rng;

/// A proof older than this is refused (seconds).
pub const PROOF_MAX_AGE_S: i64 = 300;
/// A proof dated further ahead than this is refused (seconds of clock skew tolerated).
pub const PROOF_MAX_FUTURE_S: i64 = 60;
/// Okta renews its DPoP nonce every 24 hours ...
pub const NONCE_RENEW_S: i64 = 24 * 3600;
/// ... and keeps accepting old ones for 3 days.
pub const NONCE_VALID_S: i64 = 3 * 24 * 3600;

/// `DPoP algs="…"` in `WWW-Authenticate`.
pub fn algs_param() -> String {
    format!("algs=\"{}\"", SUPPORTED_ALGS.join(" "))
}

/// Why a proof was refused, as the OAuth error the token endpoint answers with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofError {
    /// `use_dpop_nonce`: the proof needs the server's current nonce.
    UseNonce,
    /// `invalid_dpop_proof` with a description.
    Invalid(String),
}

impl ProofError {
    fn invalid(msg: impl Into<String>) -> Self {
        Self::Invalid(msg.into())
    }
}

/// What a proof must match.
#[derive(Debug)]
pub struct ProofExpectation<'a> {
    pub method: &'a str,
    /// The request's `Host` (with port).
    pub host: &'a str,
    pub path: &'a str,
    pub now: i64,
    /// On resource requests: the access token the proof must carry the hash of (`ath`).
    pub access_token: Option<&'a str>,
    /// On token requests: the nonces the server accepts.
    pub nonces: Option<&'a NonceStore>,
}

/// Verifies a DPoP proof and returns its key's thumbprint (jkt). The `jti` is recorded only
/// once every other check passed, so a refused proof can be corrected and resent.
pub fn verify_proof(
    proof: &str,
    expect: &ProofExpectation<'_>,
    replay: &ReplayCache,
) -> Result<String, ProofError> {
    let jws = Jws::parse(proof)
        .map_err(|e| ProofError::invalid(format!("The DPoP proof is malformed: {e}.")))?;
    if jws.header_str("typ") != Some("dpop+jwt") {
        return Err(ProofError::invalid(
            "The DPoP proof 'typ' header must be 'dpop+jwt'.",
        ));
    }
    jws.alg().map_err(|_| {
        ProofError::invalid("The DPoP proof must be signed with an asymmetric algorithm (RS256 RS384 RS512 ES256 ES384 ES512).")
    })?;
    let jwk = jws
        .header
        .get("jwk")
        .filter(|j| j.is_object())
        .ok_or_else(|| ProofError::invalid("The DPoP proof has no 'jwk' header."))?;
    if jwk.get("d").is_some() {
        return Err(ProofError::invalid(
            "The DPoP proof 'jwk' header must not contain a private key.",
        ));
    }
    let key = jws::public_key_from_jwk(jwk)
        .map_err(|e| ProofError::invalid(format!("The DPoP proof 'jwk' is unusable: {e}.")))?;
    jws.verify(&key)
        .map_err(|_| ProofError::invalid("The DPoP proof signature is invalid."))?;
    if jws.claim_str("htm") != Some(expect.method) {
        return Err(ProofError::invalid(format!(
            "The DPoP proof 'htm' must be '{}'.",
            expect.method
        )));
    }
    let htu = jws.claim_str("htu").unwrap_or("");
    if !htu_matches(htu, expect.host, expect.path) {
        return Err(ProofError::invalid(
            "The DPoP proof 'htu' does not match the request URL.",
        ));
    }
    let iat = jws
        .claim_i64("iat")
        .ok_or_else(|| ProofError::invalid("The DPoP proof has no 'iat' claim."))?;
    if iat < expect.now - PROOF_MAX_AGE_S || iat > expect.now + PROOF_MAX_FUTURE_S {
        return Err(ProofError::invalid("The DPoP proof 'iat' is not recent."));
    }
    let jti = jws
        .claim_str("jti")
        .filter(|j| !j.is_empty())
        .ok_or_else(|| ProofError::invalid("The DPoP proof has no 'jti' claim."))?;
    if let Some(nonces) = expect.nonces {
        match jws.claim_str("nonce") {
            Some(n) if nonces.is_valid(n, expect.now) => {}
            _ => return Err(ProofError::UseNonce),
        }
    }
    if let Some(token) = expect.access_token
        && jws.claim_str("ath") != Some(jws::sha256_b64url(token.as_bytes()).as_str())
    {
        return Err(ProofError::invalid(
            "The DPoP proof 'ath' does not match the access token.",
        ));
    }
    let jkt = jws::thumbprint(jwk)
        .map_err(|e| ProofError::invalid(format!("The DPoP proof 'jwk' is unusable: {e}.")))?;
    if !replay.first_use(jti, iat + PROOF_MAX_AGE_S + PROOF_MAX_FUTURE_S, expect.now) {
        return Err(ProofError::invalid(
            "The DPoP proof 'jti' has already been used.",
        ));
    }
    Ok(jkt)
}

/// `htu` without query and fragment equals `http(s)://host/path`.
fn htu_matches(htu: &str, host: &str, path: &str) -> bool {
    let base = htu.split(['?', '#']).next().unwrap_or("");
    let Some(rest) = base
        .strip_prefix("http://")
        .or_else(|| base.strip_prefix("https://"))
    else {
        return false;
    };
    rest.strip_prefix(host) == Some(path)
}

/// The server's DPoP nonces: renewed daily, each accepted for three days.
#[derive(Debug, Default)]
pub struct NonceStore {
    /// (nonce, issued at), newest last.
    issued: Mutex<Vec<(String, i64)>>,
}

impl NonceStore {
    /// The nonce to hand out now (a new one once the newest is a day old).
    pub fn current(&self, now: i64) -> String {
        let mut issued = self.issued.lock();
        issued.retain(|(_, at)| now - at < NONCE_VALID_S);
        match issued.last() {
            Some((nonce, at)) if now - at < NONCE_RENEW_S && *at <= now => nonce.clone(),
            _ => {
                let bytes: [u8; 24] = rand::rng().random();
                let nonce = base64::Engine::encode(
                    &base64::engine::general_purpose::URL_SAFE_NO_PAD,
                    bytes,
                );
                issued.push((nonce.clone(), now));
                nonce
            }
        }
    }

    pub fn is_valid(&self, nonce: &str, now: i64) -> bool {
        self.issued
            .lock()
            .iter()
            .any(|(n, at)| n == nonce && now - at < NONCE_VALID_S)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn htu_ignores_query_and_accepts_either_scheme() {
        assert!(htu_matches(
            "http://127.0.0.1:9/api/v1/users?limit=2",
            "127.0.0.1:9",
            "/api/v1/users"
        ));
        assert!(htu_matches(
            "https://127.0.0.1:9/api/v1/users",
            "127.0.0.1:9",
            "/api/v1/users"
        ));
        assert!(!htu_matches(
            "http://127.0.0.1:8/api/v1/users",
            "127.0.0.1:9",
            "/api/v1/users"
        ));
        assert!(!htu_matches(
            "http://127.0.0.1:9/api/v1/users/x",
            "127.0.0.1:9",
            "/api/v1/users"
        ));
    }

    #[test]
    fn nonces_renew_daily_and_expire_after_three_days() {
        let store = NonceStore::default();
        let first = store.current(0);
        assert_eq!(store.current(100), first);
        let second = store.current(NONCE_RENEW_S);
        assert_ne!(second, first);
        assert!(store.is_valid(&first, NONCE_RENEW_S + 10));
        assert!(!store.is_valid(&first, NONCE_VALID_S));
        assert!(!store.is_valid("made-up", 0));
    }
}
