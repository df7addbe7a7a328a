//! Authentication: one `AuthProvider` trait with two implementations, SSWS API tokens and
//! OAuth 2.0 client credentials (the client authenticated by `private_key_jwt` or by a client
//! secret; tokens DPoP-bound when the server asks). Credentials live in secret types; header
//! values are marked sensitive so no HTTP layer prints them.

mod dpop;
mod jwt;
mod keys;
mod oauth;
mod ssws;

pub use keys::PrivateKey;
pub(crate) use oauth::OAuthAuth;
pub(crate) use ssws::SswsAuth;

use crate::error::Result;
use crate::transport::Transport;
use http::{HeaderMap, HeaderValue, Method};
use secrecy::SecretString;
use std::fmt;
use url::Url;

/// How the client proves who it is. `Debug` never shows a secret.
#[derive(Debug, Clone)]
pub enum Credentials {
    /// An SSWS API token (Admin Console > Security > API > Tokens). A token pasted with its
    /// `SSWS ` scheme in front, or with spaces or a newline around it, is accepted.
    ApiToken(SecretString),
    /// An OAuth 2.0 service app using `private_key_jwt`.
    OAuth(OAuthCredentials),
    /// An OAuth 2.0 client with a client secret: how Okta Integration Network "API service
    /// integrations" connect.
    OAuthSecret(OAuthSecretCredentials),
}

/// An OAuth 2.0 client authenticated by its client secret (`client_secret_basic` or
/// `client_secret_post` at `/oauth2/v1/token`, client credentials grant). `Debug` never shows
/// the secret, and no error or log line carries it.
#[derive(Debug, Clone)]
pub struct OAuthSecretCredentials {
    pub client_id: String,
    /// Spaces and a newline around it (a pasted or file-read secret) are ignored.
    pub client_secret: SecretString,
    /// Okta scopes to request, e.g. `okta.users.read`.
    pub scopes: Vec<String>,
    /// How the secret is sent; Okta accepts both, the Admin Console's default is Basic.
    pub method: ClientSecretMethod,
}

/// Where the client secret travels in the token request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum ClientSecretMethod {
    /// `client_secret_basic`: `Authorization: Basic base64(client_id:client_secret)`.
    #[default]
    Basic,
    /// `client_secret_post`: `client_id` and `client_secret` in the form body.
    Post,
}

/// An OAuth 2.0 service app's credentials. `Debug` never shows the key.
#[derive(Debug, Clone)]
pub struct OAuthCredentials {
    pub client_id: String,
    pub private_key: PrivateKey,
    /// Okta scopes to request, e.g. `okta.users.read`.
    pub scopes: Vec<String>,
    /// The key id registered with the app (JWT `kid`); defaults to the JWK's `kid`.
    pub key_id: Option<String>,
}

/// The headers that authorize one attempt. `Debug` is redacted.
#[derive(Clone)]
pub(crate) struct AuthHeaders {
    pub authorization: HeaderValue,
    pub dpop: Option<HeaderValue>,
    /// Which cached credential was used, so a 401 invalidates only that one.
    pub generation: u64,
}

impl fmt::Debug for AuthHeaders {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthHeaders")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

/// A sensitive header value from secret text.
pub(crate) fn sensitive_header(value: &str) -> Result<HeaderValue> {
    let mut header = HeaderValue::from_str(value).map_err(|_| {
        crate::Error::InvalidConfig(
            "the credential contains characters not allowed in an HTTP header (a stray newline \
             or quote?)"
                .into(),
        )
    })?;
    header.set_sensitive(true);
    Ok(header)
}

/// Supplies credentials for resource requests.
#[async_trait::async_trait]
pub(crate) trait AuthProvider: Send + Sync + fmt::Debug {
    /// Headers for one attempt of `method url`.
    async fn authorize(
        &self,
        transport: &Transport,
        method: &Method,
        url: &Url,
    ) -> Result<AuthHeaders>;

    /// The server answered 401 to a request made with `used`. Returns true when another
    /// attempt may succeed (a cached token was dropped, or a DPoP nonce arrived).
    fn rejected(&self, _headers: &HeaderMap, _used: &AuthHeaders) -> bool {
        false
    }
}

/// Parses `WWW-Authenticate` auth-params (`scheme k="v", k2=v2`) into pairs.
pub(crate) fn www_authenticate_params(headers: &HeaderMap) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for value in headers.get_all(http::header::WWW_AUTHENTICATE) {
        let Ok(text) = value.to_str() else { continue };
        // drop the scheme (the first token, when followed by a space before any '=')
        let rest = match text.split_once(' ') {
            Some((scheme, rest)) if !scheme.contains('=') => rest,
            _ => text,
        };
        let mut chars = rest.chars().peekable();
        loop {
            while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
                chars.next();
            }
            let key: String = chars
                .by_ref()
                .take_while(|c| *c != '=')
                .collect::<String>()
                .trim()
                .to_string();
            if key.is_empty() {
                break;
            }
            let mut val = String::new();
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => val.extend(chars.next()),
                        '"' => break,
                        c => val.push(c),
                    }
                }
            } else {
                while let Some(c) = chars.peek() {
                    if *c == ',' {
                        break;
                    }
                    val.push(*c);
                    chars.next();
                }
                val = val.trim().to_string();
            }
            out.push((key.to_ascii_lowercase(), val));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_www_authenticate() {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static(
                r#"Bearer authorization_uri="http://x/oauth2/v1/authorize", realm="IdpMyAccountAPI", scope="okta.groups.read", error="insufficient_scope", error_description="The access token provided does not contain the required scopes.", resource="/api/v1/groups""#,
            ),
        );
        let p = www_authenticate_params(&h);
        assert!(p.contains(&("scope".into(), "okta.groups.read".into())));
        assert!(p.contains(&("error".into(), "insufficient_scope".into())));
        assert!(p.contains(&("resource".into(), "/api/v1/groups".into())));
    }
}
