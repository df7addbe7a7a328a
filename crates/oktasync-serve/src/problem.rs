//! Errors as `application/problem+json` (RFC 9457), one stable `type` per kind of error.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The kinds of error the API answers with; each is one `type` URI and one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProblemKind {
    /// No token, or one that is not (or no longer) valid.
    Unauthorized,
    /// A valid token whose scope or org does not allow the request.
    Forbidden,
    NotFound,
    /// A query parameter or body that cannot be used.
    InvalidRequest,
    /// A `page_token` this list did not issue.
    InvalidPageToken,
    /// The org's sync is held by another process and it is not yet known which run it is.
    Conflict,
    /// The database cannot be reached, or its schema is not current.
    Unavailable,
    /// A grant refused by policy or by a safety check, before any call to Okta.
    GrantRefused,
    /// Okta answered with an error this request cannot get past.
    Upstream,
    Internal,
}

impl ProblemKind {
    fn slug(self) -> &'static str {
        match self {
            ProblemKind::Unauthorized => "unauthorized",
            ProblemKind::Forbidden => "forbidden",
            ProblemKind::NotFound => "not-found",
            ProblemKind::InvalidRequest => "invalid-request",
            ProblemKind::InvalidPageToken => "invalid-page-token",
            ProblemKind::Conflict => "conflict",
            ProblemKind::Unavailable => "unavailable",
            ProblemKind::GrantRefused => "grant-refused",
            ProblemKind::Upstream => "okta-error",
            ProblemKind::Internal => "internal",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            ProblemKind::Unauthorized => StatusCode::UNAUTHORIZED,
            ProblemKind::Forbidden => StatusCode::FORBIDDEN,
            ProblemKind::NotFound => StatusCode::NOT_FOUND,
            ProblemKind::InvalidRequest | ProblemKind::InvalidPageToken => StatusCode::BAD_REQUEST,
            ProblemKind::Conflict => StatusCode::CONFLICT,
            ProblemKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ProblemKind::GrantRefused => StatusCode::UNPROCESSABLE_ENTITY,
            ProblemKind::Upstream => StatusCode::BAD_GATEWAY,
            ProblemKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn title(self) -> &'static str {
        match self {
            ProblemKind::Unauthorized => "Authentication required",
            ProblemKind::Forbidden => "Not allowed for this token",
            ProblemKind::NotFound => "Not found",
            ProblemKind::InvalidRequest => "Invalid request",
            ProblemKind::InvalidPageToken => "Invalid page token",
            ProblemKind::Conflict => "Conflict",
            ProblemKind::Unavailable => "Service unavailable",
            ProblemKind::GrantRefused => "Grant refused",
            ProblemKind::Upstream => "Okta error",
            ProblemKind::Internal => "Internal error",
        }
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of error, stable across releases
    /// (`urn:oktasync:problem:not-found`, ...).
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    /// The HTTP status code.
    pub status: u16,
    /// What went wrong in this request, and what to do.
    pub detail: String,
}

/// An error a handler returns; answered as a problem document.
#[derive(Debug)]
pub struct ApiError {
    pub kind: ProblemKind,
    pub detail: String,
}

impl ApiError {
    pub fn new(kind: ProblemKind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
        }
    }

    pub fn not_found(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::NotFound, detail)
    }

    pub fn invalid(detail: impl Into<String>) -> Self {
        Self::new(ProblemKind::InvalidRequest, detail)
    }

    pub fn problem(&self) -> Problem {
        Problem {
            problem_type: format!("urn:oktasync:problem:{}", self.kind.slug()),
            title: self.kind.title().to_owned(),
            status: self.kind.status().as_u16(),
            detail: self.detail.clone(),
        }
    }
}

impl From<oktasync_store::StoreError> for ApiError {
    fn from(e: oktasync_store::StoreError) -> Self {
        // The store's messages name paths and hosts, never secrets; the cause is logged in
        // full and the client told what kind of failure it was.
        tracing::error!(error = %e, "The mirror could not answer.");
        ApiError::new(
            ProblemKind::Unavailable,
            "the mirror could not be read; the server's log says why",
        )
    }
}

impl From<oktasync_grants::GrantError> for ApiError {
    fn from(e: oktasync_grants::GrantError) -> Self {
        use oktasync_grants::GrantError as G;
        let kind = match &e {
            G::Refused(_) | G::Policy(_) => ProblemKind::GrantRefused,
            G::NoSuchGrant(_) => ProblemKind::NotFound,
            G::WrongState { .. } | G::Changed(_) => ProblemKind::Conflict,
            G::SelfApproval { .. } => ProblemKind::Forbidden,
            G::Okta(_) => ProblemKind::Upstream,
            G::Store(_) => {
                tracing::error!(error = %e, "The mirror could not answer.");
                return ApiError::new(
                    ProblemKind::Unavailable,
                    "the mirror could not be read; the server's log says why",
                );
            }
        };
        ApiError::new(kind, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = self.problem();
        let mut response = (self.kind.status(), axum::Json(problem)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if self.kind == ProblemKind::Unauthorized {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"oktasync\""),
            );
        }
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
