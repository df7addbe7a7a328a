//! `okta-emulator keygen`: a key pair for an OAuth service app, in the forms the Okta console
//! offers: private key as PKCS#8 PEM and as a JWK, public key as PEM and as a JWK (with `kid`).
//!
//! Files written to `out_dir`: [`PRIVATE_PEM`], [`PUBLIC_PEM`], [`PRIVATE_JWK`], [`PUBLIC_JWK`].
//! The private files are created with owner-only permissions on Unix.

use aws_lc_rs::encoding::{AsBigEndian, AsDer};
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING,
    ECDSA_P521_SHA512_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use std::path::Path;

/// File name of the private key, PKCS#8 PEM (`BEGIN PRIVATE KEY`).
pub const PRIVATE_PEM: &str = "private_key.pem";
/// File name of the public key, SubjectPublicKeyInfo PEM (`BEGIN PUBLIC KEY`).
pub const PUBLIC_PEM: &str = "public_key.pem";
/// File name of the private JWK (what the Okta console offers to download).
pub const PRIVATE_JWK: &str = "private_jwk.json";
/// File name of the public JWK (what an OAuth client config registers).
pub const PUBLIC_JWK: &str = "public_jwk.json";

/// A freshly generated key pair. `Debug` never shows the private parts.
#[derive(Clone)]
pub struct KeyMaterial {
    pub alg: &'static str,
    /// RFC 7638 thumbprint of the public key.
    pub kid: String,
    pub private_pem: String,
    pub public_pem: String,
    pub private_jwk: Value,
    pub public_jwk: Value,
}

impl std::fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyMaterial")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("public_jwk", &self.public_jwk)
            .finish_non_exhaustive()
    }
}

/// Why a key could not be made.
#[derive(Debug, thiserror::Error)]
pub enum KeygenError {
    #[error("unsupported algorithm {0:?}; use RS256, RS384, RS512, ES256, ES384 or ES512")]
    UnsupportedAlg(String),
    #[error("key generation failed in aws-lc-rs")]
    Crypto,
    #[error("the generated PKCS#8 document could not be read back: {0}")]
    Der(&'static str),
}

/// Writes the four key files for `alg` to `out_dir` (created if missing).
pub fn run(out_dir: &Path, alg: &str) -> anyhow::Result<()> {
    let key = generate(alg)?;
    std::fs::create_dir_all(out_dir)?;
    write(&out_dir.join(PRIVATE_PEM), key.private_pem.as_bytes(), true)?;
    write(&out_dir.join(PUBLIC_PEM), key.public_pem.as_bytes(), false)?;
    write(
        &out_dir.join(PRIVATE_JWK),
        serde_json::to_string_pretty(&key.private_jwk)?.as_bytes(),
        true,
    )?;
    write(
        &out_dir.join(PUBLIC_JWK),
        serde_json::to_string_pretty(&key.public_jwk)?.as_bytes(),
        false,
    )?;
    Ok(())
}

fn write(path: &Path, bytes: &[u8], private: bool) -> anyhow::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    if private {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = private;
    let mut file = options
        .open(path)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
    file.write_all(bytes)?;
    file.write_all(b"\n")?;
    Ok(())
}

/// Generates a key pair for `alg` (RSA 2048 for RS*, P-256/384/521 for ES256/384/512).
pub fn generate(alg: &str) -> Result<KeyMaterial, KeygenError> {
    let (alg, pkcs8, spki, mut private_jwk) = match alg {
        "RS256" | "RS384" | "RS512" => {
            let alg = match alg {
                "RS384" => "RS384",
                "RS512" => "RS512",
                _ => "RS256",
            };
            let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .map_err(|_| KeygenError::Crypto)?;
            let pkcs8: aws_lc_rs::encoding::Pkcs8V1Der =
                pair.as_der().map_err(|_| KeygenError::Crypto)?;
            let pkcs8 = pkcs8.as_ref().to_vec();
            let spki: aws_lc_rs::encoding::PublicKeyX509Der = pair
                .public_key()
                .as_der()
                .map_err(|_| KeygenError::Crypto)?;
            let jwk = rsa_private_jwk(&pkcs8)?;
            (alg, pkcs8, spki.as_ref().to_vec(), jwk)
        }
        "ES256" | "ES384" | "ES512" => {
            let (alg, signing, crv, size) = match alg {
                "ES384" => ("ES384", &ECDSA_P384_SHA384_FIXED_SIGNING, "P-384", 48),
                "ES512" => ("ES512", &ECDSA_P521_SHA512_FIXED_SIGNING, "P-521", 66),
                _ => ("ES256", &ECDSA_P256_SHA256_FIXED_SIGNING, "P-256", 32),
            };
            let pair = EcdsaKeyPair::generate(signing).map_err(|_| KeygenError::Crypto)?;
            let pkcs8 = pair
                .to_pkcs8v1()
                .map_err(|_| KeygenError::Crypto)?
                .as_ref()
                .to_vec();
            let spki: aws_lc_rs::encoding::PublicKeyX509Der = pair
                .public_key()
                .as_der()
                .map_err(|_| KeygenError::Crypto)?;
            let point = pair.public_key().as_ref();
            if point.len() != 1 + 2 * size {
                return Err(KeygenError::Der("unexpected EC public point length"));
            }
            let d: aws_lc_rs::encoding::EcPrivateKeyBin = pair
                .private_key()
                .as_be_bytes()
                .map_err(|_| KeygenError::Crypto)?;
            let jwk = json!({
                "kty": "EC",
                "crv": crv,
                "x": URL_SAFE_NO_PAD.encode(&point[1..=size]),
                "y": URL_SAFE_NO_PAD.encode(&point[1 + size..]),
                "d": URL_SAFE_NO_PAD.encode(d.as_ref()),
            });
            (alg, pkcs8, spki.as_ref().to_vec(), jwk)
        }
        other => return Err(KeygenError::UnsupportedAlg(other.to_string())),
    };
    let mut public_jwk = private_jwk.clone();
    if let Value::Object(map) = &mut public_jwk {
        map.retain(|k, _| matches!(k.as_str(), "kty" | "crv" | "x" | "y" | "n" | "e"));
    }
    let kid = super::jws::thumbprint(&public_jwk).map_err(|_| KeygenError::Der("thumbprint"))?;
    for jwk in [&mut public_jwk, &mut private_jwk] {
        if let Value::Object(map) = jwk {
            map.insert("kid".into(), json!(kid));
            map.insert("alg".into(), json!(alg));
            map.insert("use".into(), json!("sig"));
        }
    }
    Ok(KeyMaterial {
        alg,
        kid,
        private_pem: pem("PRIVATE KEY", &pkcs8),
        public_pem: pem("PUBLIC KEY", &spki),
        private_jwk,
        public_jwk,
    })
}

/// PEM armour with 64-character lines.
pub fn pem(label: &str, der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----"));
    out
}

/// The private JWK of an RSA PKCS#8 document: PrivateKeyInfo { version, algorithm,
/// OCTET STRING { RSAPrivateKey { version, n, e, d, p, q, dp, dq, qi } } }.
fn rsa_private_jwk(pkcs8: &[u8]) -> Result<Value, KeygenError> {
    let info = der_children(der_expect(pkcs8, 0x30)?)?;
    let private_key = info
        .iter()
        .find(|(tag, _)| *tag == 0x04)
        .ok_or(KeygenError::Der("no privateKey in PKCS#8"))?
        .1;
    let rsa = der_children(der_expect(private_key, 0x30)?)?;
    let ints: Vec<&[u8]> = rsa
        .iter()
        .filter(|(t, _)| *t == 0x02)
        .map(|(_, v)| *v)
        .collect();
    if ints.len() < 9 {
        return Err(KeygenError::Der("RSAPrivateKey has fewer than 9 integers"));
    }
    let enc = |v: &[u8]| {
        let trimmed = match v.iter().position(|b| *b != 0) {
            Some(i) => &v[i..],
            None => &v[v.len().saturating_sub(1)..],
        };
        URL_SAFE_NO_PAD.encode(trimmed)
    };
    Ok(json!({
        "kty": "RSA",
        "n": enc(ints[1]), "e": enc(ints[2]), "d": enc(ints[3]),
        "p": enc(ints[4]), "q": enc(ints[5]),
        "dp": enc(ints[6]), "dq": enc(ints[7]), "qi": enc(ints[8]),
    }))
}

/// One DER TLV: (tag, value, rest).
fn der_tlv(input: &[u8]) -> Result<(u8, &[u8], &[u8]), KeygenError> {
    let (&tag, rest) = input.split_first().ok_or(KeygenError::Der("truncated"))?;
    let (&first, rest) = rest.split_first().ok_or(KeygenError::Der("truncated"))?;
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 || rest.len() < n {
            return Err(KeygenError::Der("bad length"));
        }
        let len = rest[..n]
            .iter()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        (len, &rest[n..])
    };
    if rest.len() < len {
        return Err(KeygenError::Der("truncated value"));
    }
    Ok((tag, &rest[..len], &rest[len..]))
}

fn der_expect(input: &[u8], tag: u8) -> Result<&[u8], KeygenError> {
    match der_tlv(input)? {
        (t, value, _) if t == tag => Ok(value),
        _ => Err(KeygenError::Der("unexpected tag")),
    }
}

fn der_children(mut input: &[u8]) -> Result<Vec<(u8, &[u8])>, KeygenError> {
    let mut out = Vec::new();
    while !input.is_empty() {
        let (tag, value, rest) = der_tlv(input)?;
        out.push((tag, value));
        input = rest;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_private_parts() {
        let key = generate("ES256").unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains("PRIVATE KEY"));
        assert!(!shown.contains(key.private_jwk["d"].as_str().unwrap()));
    }

    #[test]
    fn every_alg_generates_consistent_keys() {
        for alg in ["RS256", "ES256", "ES384", "ES512"] {
            let key = generate(alg).unwrap();
            assert_eq!(key.public_jwk["kid"], json!(key.kid));
            assert!(key.public_jwk.get("d").is_none(), "{alg}");
            assert!(key.private_jwk.get("d").is_some(), "{alg}");
            assert!(key.private_pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
            // the PEM and the JWK describe the same public key
            let from_pem = super::super::jws::public_key_from_pem(&key.public_pem).unwrap();
            assert!(matches!(from_pem, super::super::jws::PublicKey::Spki(_)));
        }
        assert!(generate("HS256").is_err());
    }
}
