//! Who is calling: `SSWS <token>` (also without the space, as the Python SDK sends it),
//! `Bearer <access token>`, or `DPoP <access token>` with a `DPoP` proof header.

use super::Gate;
use super::dpop::{self, ProofExpectation};
use super::oauth::AccessClaims;
use crate::error::OktaError;
use crate::principal::Principal;
use http::HeaderMap;

/// How the caller authenticated; decides the `WWW-Authenticate` scheme of a 403.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Ssws,
    Bearer,
    Dpop,
}

#[derive(Debug, Clone)]
pub struct Authenticated {
    pub principal: Principal,
    pub scheme: Scheme,
    /// For OAuth callers: the origin their token names (`http://…` or `https://…`).
    pub origin: Option<String>,
}

/// A 401 with, for OAuth callers, the challenge to send.
#[derive(Debug, Clone)]
pub struct AuthFailure {
    pub error: OktaError,
    pub www_authenticate: Option<String>,
}

impl AuthFailure {
    fn invalid_token() -> Self {
        Self {
            error: OktaError::invalid_token(),
            www_authenticate: None,
        }
    }

    fn oauth(scheme: Scheme, host: &str, path: &str, error: &str, description: &str) -> Self {
        let lead = match scheme {
            Scheme::Dpop => format!("DPoP {}, ", dpop::algs_param()),
            _ => "Bearer ".to_string(),
        };
        Self {
            error: OktaError::invalid_token(),
            www_authenticate: Some(format!(
                "{lead}authorization_uri=\"http://{host}/oauth2/v1/authorize\", realm=\"IdentityServer\", \
                 error=\"{error}\", error_description=\"{description}\", resource=\"{path}\""
            )),
        }
    }
}

/// The request facts authentication needs.
#[derive(Debug)]
pub struct RequestFacts<'a> {
    pub method: &'a str,
    pub host: &'a str,
    pub path: &'a str,
    pub headers: &'a HeaderMap,
}

pub fn authenticate(gate: &Gate, req: &RequestFacts<'_>) -> Result<Authenticated, AuthFailure> {
    let Some(value) = req
        .headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    else {
        return Err(AuthFailure::invalid_token());
    };
    let (scheme_name, rest) = split_scheme(value);
    match scheme_name.to_ascii_lowercase().as_str() {
        "ssws" => {
            let token = rest.trim();
            gate.tokens
                .iter()
                .position(|known| {
                    aws_lc_rs::constant_time::verify_slices_are_equal(
                        known.as_bytes(),
                        token.as_bytes(),
                    )
                    .is_ok()
                })
                .map(|token_index| Authenticated {
                    principal: Principal::ApiToken {
                        token_index,
                        super_admin: token_index < gate.super_admin_tokens,
                    },
                    scheme: Scheme::Ssws,
                    origin: None,
                })
                .ok_or_else(AuthFailure::invalid_token)
        }
        "bearer" => {
            let now = gate.clock.now().timestamp();
            let invalid = || {
                AuthFailure::oauth(
                    Scheme::Bearer,
                    req.host,
                    req.path,
                    "invalid_token",
                    "The access token is invalid.",
                )
            };
            let claims = gate.issuer.verify(rest.trim(), now).ok_or_else(invalid)?;
            if claims.jkt.is_some() {
                // A DPoP-bound token is not a bearer token.
                return Err(invalid());
            }
            known_client(gate, claims, Scheme::Bearer).ok_or_else(invalid)
        }
        "dpop" => {
            let now = gate.clock.now().timestamp();
            let token = rest.trim();
            let fail = |d: &str| {
                AuthFailure::oauth(Scheme::Dpop, req.host, req.path, "invalid_dpop_proof", d)
            };
            let claims = gate.issuer.verify(token, now).ok_or_else(|| {
                AuthFailure::oauth(
                    Scheme::Dpop,
                    req.host,
                    req.path,
                    "invalid_token",
                    "The access token is invalid.",
                )
            })?;
            let Some(jkt) = claims.jkt.as_deref() else {
                return Err(fail(
                    "The access token is not DPoP-bound; send it as a Bearer token.",
                ));
            };
            let proof = req
                .headers
                .get("dpop")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| fail("The DPoP proof JWT header is missing."))?;
            let expect = ProofExpectation {
                method: req.method,
                host: req.host,
                path: req.path,
                now,
                access_token: Some(token),
                nonces: None,
            };
            let proof_jkt =
                dpop::verify_proof(proof, &expect, &gate.dpop_jtis).map_err(|e| match e {
                    dpop::ProofError::Invalid(msg) => fail(&msg),
                    dpop::ProofError::UseNonce => fail("The DPoP proof nonce is invalid."),
                })?;
            if proof_jkt != jkt {
                return Err(fail(
                    "The DPoP proof key does not match the key the access token is bound to.",
                ));
            }
            known_client(gate, claims, Scheme::Dpop)
                .ok_or_else(|| fail("The access token's client no longer exists."))
        }
        _ => Err(AuthFailure::invalid_token()),
    }
}

/// The rate-limit key of the caller a request names, without checking a DPoP proof (and so
/// without spending its `jti`); `None` when the credential is not valid.
pub fn principal_key_hint(gate: &Gate, headers: &HeaderMap) -> Option<String> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, rest) = split_scheme(value);
    let principal = match scheme.to_ascii_lowercase().as_str() {
        "ssws" => Principal::ApiToken {
            token_index: gate.tokens.iter().position(|t| {
                aws_lc_rs::constant_time::verify_slices_are_equal(
                    t.as_bytes(),
                    rest.trim().as_bytes(),
                )
                .is_ok()
            })?,
            super_admin: true,
        },
        "bearer" | "dpop" => {
            let claims = gate
                .issuer
                .verify(rest.trim(), gate.clock.now().timestamp())?;
            Principal::OAuthClient {
                client_id: claims.client_id,
                scopes: Vec::new(),
                super_admin: true,
            }
        }
        _ => return None,
    };
    Some(principal.key())
}

fn known_client(gate: &Gate, claims: AccessClaims, scheme: Scheme) -> Option<Authenticated> {
    let super_admin = !gate.non_super_admin_clients.contains(&claims.client_id);
    gate.clients
        .contains_key(&claims.client_id)
        .then_some(Authenticated {
            principal: Principal::OAuthClient {
                client_id: claims.client_id,
                scopes: claims.scopes,
                super_admin,
            },
            scheme,
            origin: Some(claims.issuer),
        })
}

/// Splits `Scheme rest`; `SSWS<token>` (no space) splits after the four letters.
fn split_scheme(value: &str) -> (&str, &str) {
    if value.len() >= 4 && value.is_char_boundary(4) && value[..4].eq_ignore_ascii_case("ssws") {
        return (&value[..4], &value[4..]);
    }
    match value.split_once(' ') {
        Some((scheme, rest)) => (scheme, rest),
        None => (value, ""),
    }
}

/// The 403 challenge for a token without the route's scope (okta-api.md §3.4).
pub fn insufficient_scope_challenge(
    scheme: Scheme,
    origin: &str,
    path: &str,
    scope: &str,
) -> String {
    let lead = match scheme {
        Scheme::Dpop => format!("DPoP {}, ", dpop::algs_param()),
        _ => "Bearer ".to_string(),
    };
    format!(
        "{lead}authorization_uri=\"{origin}/oauth2/v1/authorize\", realm=\"IdentityServer\", scope=\"{scope}\", \
         error=\"insufficient_scope\", error_description=\"The access token provided does not contain the required scopes.\", \
         resource=\"{path}\""
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssws_with_and_without_space() {
        assert_eq!(split_scheme("SSWS abc"), ("SSWS", " abc"));
        assert_eq!(split_scheme("SSWSabc"), ("SSWS", "abc"));
        assert_eq!(split_scheme("Bearer x.y.z"), ("Bearer", "x.y.z"));
        assert_eq!(split_scheme("DPoP x.y.z"), ("DPoP", "x.y.z"));
    }
}
