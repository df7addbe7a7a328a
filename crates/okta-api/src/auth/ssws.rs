//! `Authorization: SSWS <token>`.

use super::{AuthHeaders, AuthProvider, sensitive_header};
use crate::error::Result;
use crate::transport::Transport;
use http::{HeaderValue, Method};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

#[derive(Debug)]
pub(crate) struct SswsAuth {
    header: HeaderValue,
}

impl SswsAuth {
    /// Every API token passes here, so this is the one place that forgives how it was pasted:
    /// spaces and newlines around it, and the `SSWS ` scheme in front (any case, once), as
    /// copied from an `Authorization` header or Okta's docs.
    pub(crate) fn new(token: &SecretString) -> Result<Self> {
        let token = bare_token(token.expose_secret())?;
        Ok(Self {
            header: sensitive_header(&format!("SSWS {token}"))?,
        })
    }
}

/// The token without surrounding whitespace and without a leading `SSWS ` scheme. Refuses
/// an empty token, and a `Bearer ` one (an OAuth access token, which expires within the hour
/// and is not what this setting takes). Errors never quote the token.
fn bare_token(text: &str) -> Result<&str> {
    let invalid = |m: &str| Err(crate::Error::InvalidConfig(m.to_string()));
    let mut token = text.trim();
    if let Some((scheme, rest)) = token.split_once(char::is_whitespace) {
        if scheme.eq_ignore_ascii_case("SSWS") {
            token = rest.trim();
        } else if scheme.eq_ignore_ascii_case("Bearer") || scheme.eq_ignore_ascii_case("DPoP") {
            return invalid(
                "the API token starts with `Bearer`: that is an OAuth access token, which \
                 expires within the hour. Give an SSWS API token (Admin Console > Security > \
                 API > Tokens), or configure the OAuth service app's client id and key or \
                 secret instead",
            );
        }
    }
    if token.is_empty() || token.eq_ignore_ascii_case("SSWS") {
        return invalid(
            "the API token is empty; create one in the Admin Console (Security > API > Tokens)",
        );
    }
    if token.chars().any(char::is_whitespace) {
        return invalid(
            "the API token contains spaces or line breaks; give the token alone, as the Admin \
             Console showed it (Security > API > Tokens)",
        );
    }
    Ok(token)
}

#[async_trait::async_trait]
impl AuthProvider for SswsAuth {
    async fn authorize(&self, _: &Transport, _: &Method, _: &Url) -> Result<AuthHeaders> {
        Ok(AuthHeaders {
            authorization: self.header.clone(),
            dpop: None,
            generation: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ssws_scheme_and_whitespace_around_a_token_are_dropped() {
        for pasted in [
            "00abc-DEF_123",
            "  00abc-DEF_123\n",
            "SSWS 00abc-DEF_123",
            "ssws\t00abc-DEF_123\r\n",
            " SsWs   00abc-DEF_123 ",
        ] {
            assert_eq!(bare_token(pasted).unwrap(), "00abc-DEF_123", "{pasted:?}");
        }
        // stripped once: a token that itself were to start with SSWS is not touched
        assert_eq!(bare_token("SSWS00abc").unwrap(), "SSWS00abc");
        for bad in ["", "  \n", "SSWS ", "SSWS 00a 00b", "Bearer eyJ.x.y"] {
            let err = bare_token(bad).unwrap_err().to_string();
            assert!(!err.contains("eyJ") && !err.contains("00a"), "{err}");
        }
    }
}
