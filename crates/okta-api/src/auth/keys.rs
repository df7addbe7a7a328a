//! Private keys for `private_key_jwt` and DPoP, read from PEM (PKCS#8, PKCS#1 RSA, SEC1 EC)
//! or from the private JWK the Okta Admin Console hands out. Signing uses aws-lc-rs directly,
//! so every format works without converting through another crate.

use crate::error::{Error, Result};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeyPairComponents, PublicKeyComponents};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING,
    ECDSA_P521_SHA512_FIXED_SIGNING, EcdsaKeyPair, EcdsaSigningAlgorithm, KeyPair as _,
    RSA_PKCS1_SHA256,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use std::fmt;
use std::sync::Arc;

/// A private signing key (RSA or EC P-256/P-384/P-521). Its `Debug` shows only the
/// algorithm and key id.
#[derive(Clone)]
pub struct PrivateKey {
    inner: Arc<KeyInner>,
    key_id: Option<String>,
}

enum KeyInner {
    Rsa(RsaKeyPair),
    Ec { pair: EcdsaKeyPair, curve: EcCurve },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EcCurve {
    P256,
    P384,
    P521,
}

impl EcCurve {
    const ALL: [EcCurve; 3] = [EcCurve::P256, EcCurve::P384, EcCurve::P521];

    fn signing(self) -> &'static EcdsaSigningAlgorithm {
        match self {
            EcCurve::P256 => &ECDSA_P256_SHA256_FIXED_SIGNING,
            EcCurve::P384 => &ECDSA_P384_SHA384_FIXED_SIGNING,
            EcCurve::P521 => &ECDSA_P521_SHA512_FIXED_SIGNING,
        }
    }

    fn jwk_name(self) -> &'static str {
        match self {
            EcCurve::P256 => "P-256",
            EcCurve::P384 => "P-384",
            EcCurve::P521 => "P-521",
        }
    }

    fn jws_alg(self) -> &'static str {
        match self {
            EcCurve::P256 => "ES256",
            EcCurve::P384 => "ES384",
            EcCurve::P521 => "ES512",
        }
    }

    fn coordinate_len(self) -> usize {
        match self {
            EcCurve::P256 => 32,
            EcCurve::P384 => 48,
            EcCurve::P521 => 66,
        }
    }

    fn from_jwk_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.jwk_name() == name)
    }
}

fn invalid(reason: impl Into<String>) -> Error {
    Error::InvalidPrivateKey {
        reason: reason.into(),
    }
}

impl PrivateKey {
    /// Reads a PEM private key: PKCS#8 (`BEGIN PRIVATE KEY`, RSA or EC), PKCS#1
    /// (`BEGIN RSA PRIVATE KEY`) or SEC1 (`BEGIN EC PRIVATE KEY`). Other blocks in the file
    /// (such as `EC PARAMETERS`) are skipped.
    pub fn from_pem(pem: &str) -> Result<Self> {
        let mut saw_block = false;
        for (label, der) in pem_blocks(pem)? {
            saw_block = true;
            match label.as_str() {
                "PRIVATE KEY" => return Self::from_pkcs8_der(&der),
                "RSA PRIVATE KEY" => {
                    let pair = RsaKeyPair::from_der(&der)
                        .map_err(|e| invalid(format!("the PKCS#1 RSA key was rejected ({e})")))?;
                    return Ok(Self::rsa(pair, None));
                }
                "EC PRIVATE KEY" => {
                    for curve in EcCurve::ALL {
                        if let Ok(pair) = EcdsaKeyPair::from_private_key_der(curve.signing(), &der)
                        {
                            return Ok(Self::ec(pair, curve, None));
                        }
                    }
                    return Err(invalid("the SEC1 EC key is not on P-256, P-384 or P-521"));
                }
                "ENCRYPTED PRIVATE KEY" => {
                    return Err(invalid(
                        "the key is encrypted; decrypt it first (openssl pkcs8 -in key.pem -out plain.pem)",
                    ));
                }
                "PUBLIC KEY" | "RSA PUBLIC KEY" | "CERTIFICATE" => {
                    return Err(invalid(format!(
                        "found a {label}, not a private key; give the private key"
                    )));
                }
                _ => continue,
            }
        }
        Err(invalid(if saw_block {
            "the PEM holds no private key block"
        } else {
            "no PEM block found (expected -----BEGIN PRIVATE KEY-----)"
        }))
    }

    /// Reads the private JWK JSON the Okta console offers (`kty` RSA with n, e, d, p, q, dp,
    /// dq, qi; or `kty` EC with crv, x, y, d). A JWK set (`{"keys":[...]}`) is accepted when it
    /// holds one private key. The JWK's `kid` becomes the key id.
    pub fn from_jwk_json(json: &str) -> Result<Self> {
        let value: Value = serde_json::from_str(json)
            .map_err(|e| invalid(format!("the JWK is not valid JSON ({e})")))?;
        let jwk = match value.get("keys").and_then(Value::as_array) {
            Some(keys) => keys
                .iter()
                .find(|k| k.get("d").is_some())
                .ok_or_else(|| invalid("the JWK set holds no private key (no \"d\")"))?,
            None => &value,
        };
        let field = |name: &str| -> Result<Vec<u8>> {
            let text = jwk
                .get(name)
                .and_then(Value::as_str)
                .ok_or_else(|| invalid(format!("the JWK has no \"{name}\"")))?;
            URL_SAFE_NO_PAD
                .decode(text.trim_end_matches('='))
                .map_err(|_| invalid(format!("the JWK's \"{name}\" is not base64url")))
        };
        let key_id = jwk.get("kid").and_then(Value::as_str).map(str::to_string);
        match jwk.get("kty").and_then(Value::as_str) {
            Some("RSA") => {
                if jwk.get("d").is_none() {
                    return Err(invalid(
                        "this is a public JWK (no \"d\"); give the private JWK",
                    ));
                }
                let components = KeyPairComponents {
                    public_key: PublicKeyComponents {
                        n: field("n")?,
                        e: field("e")?,
                    },
                    d: field("d")?,
                    p: field("p")?,
                    q: field("q")?,
                    dP: field("dp")?,
                    dQ: field("dq")?,
                    qInv: field("qi")?,
                };
                let pair = RsaKeyPair::from_components(&components)
                    .map_err(|e| invalid(format!("the RSA JWK was rejected ({e})")))?;
                Ok(Self::rsa(pair, key_id))
            }
            Some("EC") => {
                let crv = jwk.get("crv").and_then(Value::as_str).unwrap_or_default();
                let curve = EcCurve::from_jwk_name(crv)
                    .ok_or_else(|| invalid(format!("unsupported EC curve {crv:?}")))?;
                if jwk.get("d").is_none() {
                    return Err(invalid(
                        "this is a public JWK (no \"d\"); give the private JWK",
                    ));
                }
                let mut point = vec![0x04];
                point.extend(field("x")?);
                point.extend(field("y")?);
                let pair = EcdsaKeyPair::from_private_key_and_public_key(
                    curve.signing(),
                    &field("d")?,
                    &point,
                )
                .map_err(|e| invalid(format!("the EC JWK was rejected ({e})")))?;
                Ok(Self::ec(pair, curve, key_id))
            }
            other => Err(invalid(format!(
                "unsupported JWK kty {other:?} (expected RSA or EC)"
            ))),
        }
    }

    /// A fresh P-256 key, used for DPoP proofs (Okta wants the DPoP key to differ from the
    /// client-authentication key).
    pub(crate) fn generate_ec_p256() -> Result<Self> {
        let pair = EcdsaKeyPair::generate(EcCurve::P256.signing())
            .map_err(|_| invalid("could not generate a DPoP key"))?;
        Ok(Self::ec(pair, EcCurve::P256, None))
    }

    fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        if let Ok(pair) = RsaKeyPair::from_pkcs8(der) {
            return Ok(Self::rsa(pair, None));
        }
        for curve in EcCurve::ALL {
            if let Ok(pair) = EcdsaKeyPair::from_pkcs8(curve.signing(), der) {
                return Ok(Self::ec(pair, curve, None));
            }
        }
        Err(invalid(
            "the PKCS#8 key is neither RSA (2048 bits or more) nor EC P-256/P-384/P-521",
        ))
    }

    fn rsa(pair: RsaKeyPair, key_id: Option<String>) -> Self {
        Self {
            inner: Arc::new(KeyInner::Rsa(pair)),
            key_id,
        }
    }

    fn ec(pair: EcdsaKeyPair, curve: EcCurve, key_id: Option<String>) -> Self {
        Self {
            inner: Arc::new(KeyInner::Ec { pair, curve }),
            key_id,
        }
    }

    /// Sets the key id sent as the JWT `kid` header.
    pub fn with_key_id(mut self, key_id: impl Into<String>) -> Self {
        self.key_id = Some(key_id.into());
        self
    }

    /// The key id from the JWK or [`PrivateKey::with_key_id`].
    pub fn key_id(&self) -> Option<&str> {
        self.key_id.as_deref()
    }

    /// The JWS algorithm this key signs with: RS256, ES256, ES384 or ES512.
    pub fn algorithm(&self) -> &'static str {
        match &*self.inner {
            KeyInner::Rsa(_) => "RS256",
            KeyInner::Ec { curve, .. } => curve.jws_alg(),
        }
    }

    /// Signs `message` with the key's algorithm (JWS signature bytes).
    pub(crate) fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let rng = SystemRandom::new();
        match &*self.inner {
            KeyInner::Rsa(pair) => {
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, message, &mut signature)
                    .map_err(|_| invalid("RSA signing failed"))?;
                Ok(signature)
            }
            KeyInner::Ec { pair, .. } => pair
                .sign(&rng, message)
                .map(|s| s.as_ref().to_vec())
                .map_err(|_| invalid("EC signing failed")),
        }
    }

    /// The public half as a JWK (only the members RFC 7638 needs, plus `kty`).
    pub fn public_jwk(&self) -> Value {
        match &*self.inner {
            KeyInner::Rsa(pair) => {
                let public = pair.public_key();
                json!({
                    "kty": "RSA",
                    "e": URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
                    "n": URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
                })
            }
            KeyInner::Ec { pair, curve } => {
                let point = pair.public_key().as_ref();
                let len = curve.coordinate_len();
                let (x, y) = point[1..].split_at(len.min(point.len().saturating_sub(1)));
                json!({
                    "kty": "EC",
                    "crv": curve.jwk_name(),
                    "x": URL_SAFE_NO_PAD.encode(x),
                    "y": URL_SAFE_NO_PAD.encode(y),
                })
            }
        }
    }

    /// The RFC 7638 SHA-256 thumbprint of the public JWK (DPoP's `jkt`), base64url.
    pub fn thumbprint(&self) -> String {
        let jwk = self.public_jwk();
        let s = |k: &str| {
            jwk.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        // members in lexicographic order, no whitespace (RFC 7638 §3)
        let canonical = match &*self.inner {
            KeyInner::Rsa(_) => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, s("e"), s("n")),
            KeyInner::Ec { .. } => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                s("crv"),
                s("x"),
                s("y")
            ),
        };
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
        URL_SAFE_NO_PAD.encode(digest.as_ref())
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("algorithm", &self.algorithm())
            .field("key_id", &self.key_id)
            .field("key", &"[REDACTED]")
            .finish()
    }
}

/// The PEM blocks of a text: (label, DER bytes).
fn pem_blocks(text: &str) -> Result<Vec<(String, Vec<u8>)>> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + "-----BEGIN ".len()..];
        let label_end = after
            .find("-----")
            .ok_or_else(|| invalid("a PEM BEGIN line is cut off"))?;
        let label = after[..label_end].trim().to_string();
        let body_start = &after[label_end + 5..];
        let end_marker = format!("-----END {label}-----");
        let body_end = body_start
            .find(&end_marker)
            .ok_or_else(|| invalid(format!("no END line for the {label} block")))?;
        let body: String = body_start[..body_end]
            .lines()
            .filter(|line| !line.contains(':')) // skip RFC 1421 headers such as Proc-Type
            .flat_map(|line| line.chars())
            .filter(|c| !c.is_whitespace())
            .collect();
        let der = STANDARD
            .decode(body.as_bytes())
            .map_err(|_| invalid(format!("the {label} block is not valid base64")))?;
        blocks.push((label, der));
        rest = &body_start[body_end + end_marker.len()..];
    }
    Ok(blocks)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use aws_lc_rs::encoding::AsDer;

    pub(crate) fn pem(label: &str, der: &[u8]) -> String {
        let b64 = STANDARD.encode(der);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(64)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
            lines.join("\n")
        )
    }

    pub(crate) fn rsa_pkcs8_pem() -> String {
        let pair = RsaKeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048).unwrap();
        let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(&pair).unwrap();
        pem("PRIVATE KEY", der.as_ref())
    }

    fn verify(key: &PrivateKey, message: &[u8], signature: &[u8]) {
        let jwk = key.public_jwk();
        let b = |k: &str| URL_SAFE_NO_PAD.decode(jwk[k].as_str().unwrap()).unwrap();
        match key.algorithm() {
            "RS256" => aws_lc_rs::signature::RsaPublicKeyComponents {
                n: b("n"),
                e: b("e"),
            }
            .verify(
                &aws_lc_rs::signature::RSA_PKCS1_2048_8192_SHA256,
                message,
                signature,
            )
            .unwrap(),
            "ES256" => {
                let mut point = vec![4];
                point.extend(b("x"));
                point.extend(b("y"));
                aws_lc_rs::signature::UnparsedPublicKey::new(
                    &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED,
                    point,
                )
                .verify(message, signature)
                .unwrap()
            }
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn rsa_pkcs8_and_pkcs1_pem_sign_and_verify() {
        let pkcs8 = rsa_pkcs8_pem();
        let key = PrivateKey::from_pem(&pkcs8).unwrap();
        assert_eq!(key.algorithm(), "RS256");
        verify(&key, b"hello", &key.sign(b"hello").unwrap());
        // PKCS#1: the RSAPrivateKey inside the PKCS#8 wrapper; rebuild it from the JWK
        let jwk = key.public_jwk();
        assert_eq!(jwk["kty"], "RSA");
        assert!(format!("{key:?}").contains("REDACTED"));
        assert!(!format!("{key:?}").contains(&pkcs8[30..60]));
    }

    #[test]
    fn ec_pkcs8_and_sec1_pem() {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        let key = PrivateKey::from_pem(&pem("PRIVATE KEY", pkcs8.as_ref())).unwrap();
        assert_eq!(key.algorithm(), "ES256");
        verify(&key, b"msg", &key.sign(b"msg").unwrap());

        let pair =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).unwrap();
        let sec1 =
            AsDer::<aws_lc_rs::encoding::EcPrivateKeyRfc5915Der>::as_der(&pair.private_key())
                .unwrap();
        let text = format!(
            "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{}",
            pem("EC PRIVATE KEY", sec1.as_ref())
        );
        let from_sec1 = PrivateKey::from_pem(&text).unwrap();
        assert_eq!(from_sec1.public_jwk(), key.public_jwk());
        verify(&from_sec1, b"msg", &from_sec1.sign(b"msg").unwrap());
    }

    #[test]
    fn rejects_public_keys_and_garbage() {
        assert!(PrivateKey::from_pem("nothing here").is_err());
        let err = PrivateKey::from_pem(&pem("PUBLIC KEY", b"abc"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a private key"), "{err}");
        assert!(PrivateKey::from_jwk_json(r#"{"kty":"RSA","n":"AQAB","e":"AQAB"}"#).is_err());
        assert!(PrivateKey::from_jwk_json("not json").is_err());
    }

    #[test]
    fn thumbprint_matches_rfc7638_example() {
        // RFC 7638 §3.1 example key (public part); checked through the canonical form
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let canonical = format!(r#"{{"e":"AQAB","kty":"RSA","n":"{n}"}}"#);
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes());
        assert_eq!(
            URL_SAFE_NO_PAD.encode(digest.as_ref()),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }
}
