//! Compact JWS signing (the `header.claims.signature` form).

use super::PrivateKey;
use crate::error::Result;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;
use serde_json::Value;

/// Signs a JWT. The result is a credential, so it comes back as a secret.
pub(crate) fn sign(key: &PrivateKey, header: &Value, claims: &Value) -> Result<SecretString> {
    let mut signing_input = URL_SAFE_NO_PAD.encode(header.to_string());
    signing_input.push('.');
    signing_input.push_str(&URL_SAFE_NO_PAD.encode(claims.to_string()));
    let signature = key.sign(signing_input.as_bytes())?;
    signing_input.push('.');
    signing_input.push_str(&URL_SAFE_NO_PAD.encode(signature));
    Ok(SecretString::from(signing_input))
}
