//! Webhook deliveries signed per the Standard Webhooks specification
//! (<https://www.standardwebhooks.com/>): every request carries `webhook-id`,
//! `webhook-timestamp` and `webhook-signature`, the last being
//! `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
//!
//! serve's change feed and push's `kind = "webhook"` targets sign with [`Signer`]; a receiver
//! checks a delivery with [`Signer::verify`] (the tests' receivers do).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// The header carrying the delivery's id: the same on every attempt at one delivery, so that
/// a receiver can drop repeats.
pub const ID_HEADER: &str = "webhook-id";
/// The header carrying the signing time, in seconds since the Unix epoch.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// The header carrying the signature.
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// A signing key. `Debug` never shows it.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer([REDACTED])")
    }
}

/// Why a delivery does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the delivery has no {0} header")]
    MissingHeader(&'static str),
    #[error("the webhook-timestamp {0:?} is not a number of seconds")]
    BadTimestamp(String),
    #[error(
        "the webhook-timestamp is {seconds}s away from now, more than the {tolerance}s allowed"
    )]
    Stale { seconds: i64, tolerance: i64 },
    #[error("no v1 signature in webhook-signature matches the body")]
    Mismatch,
}

impl Signer {
    /// The key of a secret as the specification writes it: `whsec_` and base64; any other text
    /// (or `whsec_` followed by something that is not base64) is used as raw bytes.
    pub fn from_secret(secret: &str) -> Signer {
        let secret = secret.trim();
        let key = match secret.strip_prefix("whsec_") {
            Some(encoded) => STANDARD
                .decode(encoded)
                .unwrap_or_else(|_| secret.as_bytes().to_vec()),
            None => secret.as_bytes().to_vec(),
        };
        Signer { key }
    }

    /// `v1,<base64 HMAC-SHA256 of "id.timestamp.body">`.
    pub fn signature(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        use aws_lc_rs::hmac;
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.key);
        let mut context = hmac::Context::with_key(&key);
        context.update(id.as_bytes());
        context.update(b".");
        context.update(timestamp.to_string().as_bytes());
        context.update(b".");
        context.update(body);
        format!("v1,{}", STANDARD.encode(context.sign().as_ref()))
    }

    /// The three headers of one signed delivery, as (name, value) pairs.
    pub fn headers(&self, id: &str, timestamp: i64, body: &[u8]) -> [(&'static str, String); 3] {
        [
            (ID_HEADER, id.to_owned()),
            (TIMESTAMP_HEADER, timestamp.to_string()),
            (SIGNATURE_HEADER, self.signature(id, timestamp, body)),
        ]
    }

    /// Checks a delivery: `header` looks a header up by name; `now` is the receiver's time in
    /// seconds; a timestamp further than `tolerance` seconds from it is refused (replays). The
    /// signature header may hold several space-separated signatures (key rotation): one
    /// matching `v1` signature is enough. The comparison takes constant time.
    pub fn verify<'h>(
        &self,
        header: impl Fn(&str) -> Option<&'h str>,
        body: &[u8],
        now: i64,
        tolerance: i64,
    ) -> Result<(), VerifyError> {
        let id = header(ID_HEADER).ok_or(VerifyError::MissingHeader(ID_HEADER))?;
        let timestamp =
            header(TIMESTAMP_HEADER).ok_or(VerifyError::MissingHeader(TIMESTAMP_HEADER))?;
        let signatures =
            header(SIGNATURE_HEADER).ok_or(VerifyError::MissingHeader(SIGNATURE_HEADER))?;
        let timestamp: i64 = timestamp
            .trim()
            .parse()
            .map_err(|_| VerifyError::BadTimestamp(timestamp.to_owned()))?;
        let seconds = (now - timestamp).abs();
        if seconds > tolerance {
            return Err(VerifyError::Stale { seconds, tolerance });
        }
        let expected = self.signature(id, timestamp, body);
        let matches = signatures.split_whitespace().any(|candidate| {
            candidate.len() == expected.len()
                && aws_lc_rs::constant_time::verify_slices_are_equal(
                    candidate.as_bytes(),
                    expected.as_bytes(),
                )
                .is_ok()
        });
        if matches {
            Ok(())
        } else {
            Err(VerifyError::Mismatch)
        }
    }
}

/// A URL as it may appear in logs and listings: no user, password or query (where tokens are
/// often passed).
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_password(None);
            let _ = u.set_username("");
            u.set_query(None);
            u.to_string()
        }
        Err(_) => "(not a URL)".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const TIMESTAMP: i64 = 1614265330;
    const BODY: &[u8] = br#"{"test": 2432232314}"#;

    #[test]
    fn the_signature_is_the_standard_webhooks_one() {
        // The Standard Webhooks specification's example.
        assert_eq!(
            Signer::from_secret(SECRET).signature(ID, TIMESTAMP, BODY),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn verify_accepts_the_signed_delivery_and_refuses_changes() {
        let signer = Signer::from_secret(SECRET);
        let headers = signer.headers(ID, TIMESTAMP, BODY);
        let lookup = |name: &str| {
            headers
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(signer.verify(lookup, BODY, TIMESTAMP + 10, 300), Ok(()));
        assert_eq!(
            signer.verify(lookup, b"{\"test\": 1}", TIMESTAMP, 300),
            Err(VerifyError::Mismatch)
        );
        assert_eq!(
            signer.verify(lookup, BODY, TIMESTAMP + 301, 300),
            Err(VerifyError::Stale {
                seconds: 301,
                tolerance: 300
            })
        );
        let other = Signer::from_secret("whsec_b3RoZXI=");
        assert_eq!(
            other.verify(lookup, BODY, TIMESTAMP, 300),
            Err(VerifyError::Mismatch)
        );
        // one of several signatures (a rotated key) is enough
        let both = format!("v1,bm90IGl0 {}", headers[2].1);
        let rotated = |name: &str| match name {
            SIGNATURE_HEADER => Some(both.as_str()),
            other => lookup(other),
        };
        assert_eq!(signer.verify(rotated, BODY, TIMESTAMP, 300), Ok(()));
        assert_eq!(
            signer.verify(|_| None, BODY, TIMESTAMP, 300),
            Err(VerifyError::MissingHeader(ID_HEADER))
        );
    }

    #[test]
    fn debug_and_urls_hide_secrets() {
        assert_eq!(
            format!("{:?}", Signer::from_secret("hunter2")),
            "Signer([REDACTED])"
        );
        assert_eq!(
            redact_url("https://user:pw@hooks.example.com/in?token=abc"),
            "https://hooks.example.com/in"
        );
        assert_eq!(redact_url("not a url"), "(not a URL)");
    }
}
