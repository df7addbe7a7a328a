//! Compact JWS parsing, verification and signing on aws-lc-rs, for the six algorithms Okta
//! accepts in client assertions and DPoP proofs (RS256/384/512, ES256/384/512). Hand-written
//! because `jsonwebtoken` has no ES512 and validates `exp` against the wall clock, while the
//! emulator's time is injected.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self, EcdsaKeyPair, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

/// The asymmetric algorithms Okta accepts, in the order of `DPoP algs="…"`.
pub const SUPPORTED_ALGS: [&str; 6] = ["RS256", "RS384", "RS512", "ES256", "ES384", "ES512"];

/// Why a JWS was refused; messages are safe to show (they never contain the token).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    #[error("the JWT is not three base64url parts")]
    Malformed,
    #[error("the JWT header or payload is not a JSON object")]
    NotJson,
    #[error("unsupported signing algorithm {0:?}; use one of RS256 RS384 RS512 ES256 ES384 ES512")]
    UnsupportedAlg(String),
    #[error("the key is not a usable RSA or EC public key: {0}")]
    BadKey(String),
    #[error("the signature does not verify with the registered key")]
    BadSignature,
}

/// A parsed (not yet verified) compact JWS.
#[derive(Clone)]
pub struct Jws {
    pub header: serde_json::Map<String, Value>,
    pub claims: serde_json::Map<String, Value>,
    signing_input: String,
    signature: Vec<u8>,
}

impl std::fmt::Debug for Jws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The claims of a client assertion or proof are not secret, but the whole token is a
        // credential: never print the signature.
        f.debug_struct("Jws")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

/// A public key to verify with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PublicKey {
    Rsa {
        n: Vec<u8>,
        e: Vec<u8>,
    },
    /// `crv` is P-256, P-384 or P-521; `point` is uncompressed (0x04 || x || y).
    Ec {
        crv: String,
        point: Vec<u8>,
    },
    /// SubjectPublicKeyInfo DER (from a PEM file): RSA or EC.
    Spki(Vec<u8>),
}

fn b64(part: &str) -> Result<Vec<u8>, JwsError> {
    URL_SAFE_NO_PAD
        .decode(part)
        .map_err(|_| JwsError::Malformed)
}

fn json_object(bytes: &[u8]) -> Result<serde_json::Map<String, Value>, JwsError> {
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(JwsError::NotJson),
    }
}

impl Jws {
    pub fn parse(token: &str) -> Result<Self, JwsError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwsError::Malformed);
        };
        Ok(Self {
            header: json_object(&b64(h)?)?,
            claims: json_object(&b64(p)?)?,
            signing_input: format!("{h}.{p}"),
            signature: b64(s)?,
        })
    }

    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header.get(name).and_then(Value::as_str)
    }

    pub fn claim_str(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    pub fn claim_i64(&self, name: &str) -> Option<i64> {
        self.claims
            .get(name)
            .and_then(|v| v.as_i64().or_else(|| v.as_f64().map(|f| f as i64)))
    }

    /// The header's `alg`, when it is one of [`SUPPORTED_ALGS`].
    pub fn alg(&self) -> Result<&'static str, JwsError> {
        let alg = self.header_str("alg").unwrap_or("");
        SUPPORTED_ALGS
            .iter()
            .find(|a| **a == alg)
            .copied()
            .ok_or_else(|| JwsError::UnsupportedAlg(alg.to_string()))
    }

    /// Verifies the signature with `key` under the header's algorithm.
    pub fn verify(&self, key: &PublicKey) -> Result<(), JwsError> {
        let alg = self.alg()?;
        let msg = self.signing_input.as_bytes();
        let sig = &self.signature;
        let ok = match (alg, key) {
            (rs, PublicKey::Rsa { n, e }) if rs.starts_with("RS") => RsaPublicKeyComponents {
                n: n.as_slice(),
                e: e.as_slice(),
            }
            .verify(rsa_params(rs), msg, sig)
            .is_ok(),
            (rs, PublicKey::Spki(der)) if rs.starts_with("RS") => {
                UnparsedPublicKey::new(rsa_params(rs), der)
                    .verify(msg, sig)
                    .is_ok()
            }
            (es, PublicKey::Ec { crv, point }) if es.starts_with("ES") => {
                curve_of(es) == crv
                    && UnparsedPublicKey::new(ec_params(es), point)
                        .verify(msg, sig)
                        .is_ok()
            }
            (es, PublicKey::Spki(der)) if es.starts_with("ES") => {
                UnparsedPublicKey::new(ec_params(es), der)
                    .verify(msg, sig)
                    .is_ok()
            }
            _ => false,
        };
        if ok {
            Ok(())
        } else {
            Err(JwsError::BadSignature)
        }
    }
}

fn rsa_params(alg: &str) -> &'static signature::RsaParameters {
    match alg {
        "RS384" => &signature::RSA_PKCS1_2048_8192_SHA384,
        "RS512" => &signature::RSA_PKCS1_2048_8192_SHA512,
        _ => &signature::RSA_PKCS1_2048_8192_SHA256,
    }
}

fn ec_params(alg: &str) -> &'static signature::EcdsaVerificationAlgorithm {
    match alg {
        "ES384" => &signature::ECDSA_P384_SHA384_FIXED,
        "ES512" => &signature::ECDSA_P521_SHA512_FIXED,
        _ => &signature::ECDSA_P256_SHA256_FIXED,
    }
}

fn curve_of(alg: &str) -> &'static str {
    match alg {
        "ES384" => "P-384",
        "ES512" => "P-521",
        _ => "P-256",
    }
}

fn jwk_member<'a>(jwk: &'a Value, name: &str) -> Result<&'a str, JwsError> {
    jwk.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| JwsError::BadKey(format!("JWK member {name:?} is missing")))
}

fn jwk_bytes(jwk: &Value, name: &str) -> Result<Vec<u8>, JwsError> {
    URL_SAFE_NO_PAD
        .decode(jwk_member(jwk, name)?)
        .map_err(|_| JwsError::BadKey(format!("JWK member {name:?} is not base64url")))
}

/// The public key of a JWK (`kty` RSA or EC; private members are ignored).
pub fn public_key_from_jwk(jwk: &Value) -> Result<PublicKey, JwsError> {
    match jwk_member(jwk, "kty")? {
        "RSA" => Ok(PublicKey::Rsa {
            n: jwk_bytes(jwk, "n")?,
            e: jwk_bytes(jwk, "e")?,
        }),
        "EC" => {
            let crv = jwk_member(jwk, "crv")?;
            let size = match crv {
                "P-256" => 32,
                "P-384" => 48,
                "P-521" => 66,
                other => return Err(JwsError::BadKey(format!("unsupported curve {other:?}"))),
            };
            let (x, y) = (jwk_bytes(jwk, "x")?, jwk_bytes(jwk, "y")?);
            if x.len() != size || y.len() != size {
                return Err(JwsError::BadKey(format!(
                    "{crv} coordinates must be {size} bytes"
                )));
            }
            let mut point = Vec::with_capacity(1 + 2 * size);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            Ok(PublicKey::Ec {
                crv: crv.to_string(),
                point,
            })
        }
        other => Err(JwsError::BadKey(format!(
            "unsupported kty {other:?}; use RSA or EC"
        ))),
    }
}

/// The public key in a PEM file: `BEGIN PUBLIC KEY` (SubjectPublicKeyInfo).
pub fn public_key_from_pem(pem: &str) -> Result<PublicKey, JwsError> {
    let body: String = pem
        .lines()
        .map(str::trim)
        .skip_while(|l| *l != "-----BEGIN PUBLIC KEY-----")
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    if body.is_empty() {
        return Err(JwsError::BadKey(
            "expected a `-----BEGIN PUBLIC KEY-----` PEM block".into(),
        ));
    }
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map(PublicKey::Spki)
        .map_err(|_| JwsError::BadKey("the PEM body is not base64".into()))
}

/// RFC 7638 JWK SHA-256 thumbprint (base64url), what `cnf.jkt` holds.
pub fn thumbprint(jwk: &Value) -> Result<String, JwsError> {
    let canonical = match jwk_member(jwk, "kty")? {
        "RSA" => {
            serde_json::json!({"e": jwk_member(jwk, "e")?, "kty": "RSA", "n": jwk_member(jwk, "n")?})
        }
        "EC" => serde_json::json!({
            "crv": jwk_member(jwk, "crv")?, "kty": "EC",
            "x": jwk_member(jwk, "x")?, "y": jwk_member(jwk, "y")?,
        }),
        other => return Err(JwsError::BadKey(format!("unsupported kty {other:?}"))),
    };
    // serde_json's Map is ordered by key here (no preserve_order feature), as RFC 7638 needs.
    Ok(sha256_b64url(canonical.to_string().as_bytes()))
}

/// base64url(SHA-256(bytes)), e.g. DPoP `ath`.
pub fn sha256_b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes))
}

/// Signs `claims` as an ES256 compact JWS with `header` (whose `alg` must say ES256).
pub fn sign_es256(key: &EcdsaKeyPair, header: &Value, claims: &Value) -> Result<String, JwsError> {
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let sig = key
        .sign(&SystemRandom::new(), input.as_bytes())
        .map_err(|_| JwsError::BadKey("signing failed".into()))?;
    Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig.as_ref())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, KeyPair};

    #[test]
    fn es256_roundtrip_and_tamper() {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let token = sign_es256(
            &key,
            &serde_json::json!({"alg": "ES256"}),
            &serde_json::json!({"a": 1}),
        )
        .unwrap();
        let jws = Jws::parse(&token).unwrap();
        let public = PublicKey::Ec {
            crv: "P-256".into(),
            point: key.public_key().as_ref().to_vec(),
        };
        jws.verify(&public).unwrap();
        let other = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let wrong = PublicKey::Ec {
            crv: "P-256".into(),
            point: other.public_key().as_ref().to_vec(),
        };
        assert_eq!(jws.verify(&wrong), Err(JwsError::BadSignature));
        assert_eq!(Jws::parse("a.b").unwrap_err(), JwsError::Malformed);
    }

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        // RFC 7638 §3.1
        let jwk = serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"
        });
        assert_eq!(
            thumbprint(&jwk).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
