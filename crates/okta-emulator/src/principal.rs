//! Who is calling: set by the gate on every authenticated request (a request extension),
//! read by handlers to write the System Log actor.

/// The caller of one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An SSWS API token. `token_index` is its position in `EmulatorConfig::tokens` followed by
    /// `EmulatorConfig::non_super_admin_tokens`; the token itself is never kept here.
    /// `super_admin` says whether the admin it belongs to is a Super Admin.
    ApiToken {
        token_index: usize,
        super_admin: bool,
    },
    /// An OAuth 2.0 service app, by client id, with the scopes its access token carries, and
    /// whether its admin role is Super Admin.
    OAuthClient {
        client_id: String,
        scopes: Vec<String>,
        super_admin: bool,
    },
}

impl Principal {
    /// Whether the principal is a Super Admin (the default for every token and client).
    pub fn is_super_admin(&self) -> bool {
        match self {
            Principal::ApiToken { super_admin, .. }
            | Principal::OAuthClient { super_admin, .. } => *super_admin,
        }
    }

    /// A stable key for per-principal rate-limit shares and statistics.
    pub fn key(&self) -> String {
        match self {
            Principal::ApiToken { token_index, .. } => format!("token:{token_index}"),
            Principal::OAuthClient { client_id, .. } => format!("client:{client_id}"),
        }
    }
}
