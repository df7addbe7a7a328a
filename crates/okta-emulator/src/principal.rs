//! Who is calling: set by the gate on every authenticated request (a request extension),
//! read by handlers to write the System Log actor.

/// The caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An SSWS API token. `token_index` is its position in `EmulatorConfig::tokens`; the token
    /// itself is never kept here.
    ApiToken { token_index: usize },
    /// An OAuth 2.0 service app, by client id, with the scopes its access token carries.
    OAuthClient {
        client_id: String,
        scopes: Vec<String>,
    },
}

impl Principal {
    /// A stable key for per-principal rate-limit shares and statistics.
    pub fn key(&self) -> String {
        match self {
            Principal::ApiToken { token_index } => format!("token:{token_index}"),
            Principal::OAuthClient { client_id, .. } => format!("client:{client_id}"),
        }
    }
}
