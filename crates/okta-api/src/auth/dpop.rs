//! DPoP proofs (RFC 9449): a fresh JWT per request, signed with a key only this client holds,
//! naming the method and URL and, on resource requests, hashing the access token (`ath`).

use super::{PrivateKey, jwt};
use crate::error::Result;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use url::Url;

/// The `htu` claim: the request URL without query and fragment.
pub(crate) fn htu(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

pub(crate) fn proof(
    key: &PrivateKey,
    method: &str,
    url: &Url,
    now: DateTime<Utc>,
    access_token: Option<&SecretString>,
    nonce: Option<&str>,
) -> Result<SecretString> {
    let header = json!({ "typ": "dpop+jwt", "alg": key.algorithm(), "jwk": key.public_jwk() });
    let mut claims = json!({
        "htm": method,
        "htu": htu(url),
        "iat": now.timestamp(),
        "jti": uuid::Uuid::new_v4().to_string(),
    });
    if let Some(token) = access_token {
        let digest =
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.expose_secret().as_bytes());
        claims["ath"] = json!(URL_SAFE_NO_PAD.encode(digest.as_ref()));
    }
    if let Some(nonce) = nonce {
        claims["nonce"] = json!(nonce);
    }
    jwt::sign(key, &header, &claims)
}
