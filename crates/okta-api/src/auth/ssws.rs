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
    pub(crate) fn new(token: &SecretString) -> Result<Self> {
        let token = token.expose_secret().trim();
        if token.is_empty() {
            return Err(crate::Error::InvalidConfig(
                "the API token is empty; create one in the Admin Console (Security > API > Tokens)"
                    .into(),
            ));
        }
        Ok(Self {
            header: sensitive_header(&format!("SSWS {token}"))?,
        })
    }
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
