//! Bearer tokens of the API. A token is `oks_` and 43 characters of base64url (32 random
//! bytes); the mirror keeps only its SHA-256, so a leaked database leaks no token.

use crate::problem::{ApiError, ProblemKind};
use crate::state::AppState;
use axum::extract::{Request, State};
use axum::http::{Method, header};
use axum::middleware::Next;
use axum::response::Response;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use oktasync_store::{ApiToken, ApiTokens, TokenScope};

const TOKEN_PREFIX: &str = "oks_";

/// A new random token: (the token, to show once; its hash, to store).
pub fn new_token() -> Result<(String, String), aws_lc_rs::error::Unspecified> {
    use aws_lc_rs::rand::SecureRandom;
    let mut bytes = [0u8; 32];
    aws_lc_rs::rand::SystemRandom::new().fill(&mut bytes)?;
    let token = format!("{TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let hash = token_hash(&token);
    Ok((token, hash))
}

/// The hash the mirror stores for a token: SHA-256, lower-case hex. A plain digest is
/// enough: tokens are 256 random bits, not passwords a dictionary could find.
pub fn token_hash(token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

/// The token a request was made with, for handlers.
#[derive(Debug, Clone)]
pub struct Caller(pub ApiToken);

impl Caller {
    /// Refuses an org the token does not reach.
    pub fn check_org(&self, org_name: &str) -> Result<(), ApiError> {
        match &self.0.org {
            Some(only) if !only.eq_ignore_ascii_case(org_name) => Err(ApiError::new(
                ProblemKind::Forbidden,
                format!("the token {:?} reaches only the org {only:?}", self.0.name),
            )),
            _ => Ok(()),
        }
    }

    pub fn reaches(&self, org_name: &str) -> bool {
        self.check_org(org_name).is_ok()
    }
}

/// The scope a request needs: reads need `read`; changing grants `grant`; anything else
/// (starting a sync) `sync`.
fn needed_scope(method: &Method, path: &str) -> TokenScope {
    if method == Method::GET || method == Method::HEAD {
        TokenScope::Read
    } else if path.split('/').nth(4) == Some("grants") {
        TokenScope::Grant
    } else {
        TokenScope::Sync
    }
}

/// The token of a request, if it is valid and its scope reaches `needed`.
pub async fn authenticate(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    needed: TokenScope,
) -> Result<ApiToken, ApiError> {
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let Some(presented) = presented.filter(|t| !t.is_empty()) else {
        return Err(ApiError::new(
            ProblemKind::Unauthorized,
            "send a token in `Authorization: Bearer <token>`; create one with `oktasync token create`",
        ));
    };
    let now = state.clock.now();
    let hash = token_hash(presented);
    let token = match state.tokens.get(&hash, now) {
        Some(token) => token,
        None => {
            let Some(token) = state
                .store
                .use_token(&hash, &oktasync_store::timestamp(now))
                .await?
            else {
                return Err(ApiError::new(
                    ProblemKind::Unauthorized,
                    "the token is not valid (mistyped, or revoked); `oktasync token list` shows the valid ones",
                ));
            };
            state.tokens.put(hash, token.clone(), now);
            token
        }
    };
    if token.scope < needed {
        return Err(ApiError::new(
            ProblemKind::Forbidden,
            format!(
                "the token {:?} has the scope {}; this request needs {needed}",
                token.name, token.scope
            ),
        ));
    }
    Ok(token)
}

/// Lets a request through only with a valid token of a sufficient scope.
pub async fn require_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let needed = needed_scope(request.method(), request.uri().path());
    let token = authenticate(&state, request.headers(), needed).await?;
    request.extensions_mut().insert(Caller(token));
    Ok(next.run(request).await)
}

/// `/openapi.json` and `/docs`: open when `docs_public`, else a read token.
pub async fn require_token_unless_docs_public(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if !state.docs_public {
        authenticate(&state, request.headers(), TokenScope::Read).await?;
    }
    Ok(next.run(request).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changing_grants_needs_the_grant_scope() {
        let grants = "/v1/orgs/acme/grants/12:revoke";
        assert_eq!(needed_scope(&Method::POST, grants), TokenScope::Grant);
        assert_eq!(
            needed_scope(&Method::POST, "/v1/orgs/acme/grants"),
            TokenScope::Grant
        );
        assert_eq!(needed_scope(&Method::GET, grants), TokenScope::Read);
        assert_eq!(
            needed_scope(&Method::POST, "/v1/orgs/grants/syncs"),
            TokenScope::Sync
        );
        assert_eq!(
            needed_scope(&Method::POST, "/v1/orgs/acme/syncs"),
            TokenScope::Sync
        );
    }

    #[test]
    fn tokens_are_random_and_only_their_hash_is_kept() {
        let (a, hash_a) = new_token().unwrap();
        let (b, _) = new_token().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX) && a.len() == 4 + 43, "{a}");
        assert_eq!(hash_a, token_hash(&a));
        assert_eq!(hash_a.len(), 64);
        assert!(!hash_a.contains(&a[4..]));
    }
}
