//! Okta's error body (`errorCode`, `errorSummary`, `errorLink`, `errorId`, `errorCauses`)
//! and the codes clients branch on.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answered the way Okta answers it.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {code}: {summary}")]
pub struct OktaError {
    pub status: StatusCode,
    pub code: &'static str,
    pub summary: String,
    pub causes: Vec<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBody<'a> {
    error_code: &'a str,
    error_summary: &'a str,
    error_link: &'a str,
    error_id: String,
    error_causes: Vec<Cause<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Cause<'a> {
    error_summary: &'a str,
}

impl OktaError {
    pub fn new(status: StatusCode, code: &'static str, summary: impl Into<String>) -> Self {
        Self {
            status,
            code,
            summary: summary.into(),
            causes: Vec::new(),
        }
    }

    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.causes.push(cause.into());
        self
    }

    /// E0000001 400 `Api validation failed: {0}`.
    pub fn validation(what: &str, cause: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "E0000001",
            format!("Api validation failed: {what}"),
        )
        .with_cause(cause)
    }

    /// E0000002 400 `The request was not valid: {0}`, with no causes (e.g. an unknown policy
    /// type: `Invalid policy type specified`).
    pub fn invalid_request(detail: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "E0000002",
            format!("The request was not valid: {detail}"),
        )
    }

    /// E0000003 400 malformed body.
    pub fn malformed_body() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "E0000003",
            "The request body was not well-formed.",
        )
    }

    /// E0000004 401.
    pub fn authentication_failed() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "E0000004",
            "Authentication failed",
        )
    }

    /// E0000006 403.
    pub fn forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "E0000006",
            "You do not have permission to perform the requested action",
        )
    }

    /// E0000007 404, e.g. `not_found("00g…", "UserGroup")`.
    pub fn not_found(id: &str, kind: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "E0000007",
            format!("Not found: Resource not found: {id} ({kind})"),
        )
    }

    /// E0000007 404 for a path the emulator does not serve.
    pub fn no_route(path: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "E0000007",
            format!("Not found: {path}"),
        )
    }

    /// E0000009 500.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "E0000009",
            "Internal Server Error",
        )
    }

    /// E0000011 401 bad or expired token.
    pub fn invalid_token() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "E0000011",
            "Invalid token provided",
        )
    }

    /// E0000022 405.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "E0000022",
            "The endpoint does not support the provided HTTP method",
        )
    }

    /// E0000029 400 bad cursor.
    pub fn invalid_paging() -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "E0000029",
            "Invalid paging request.",
        )
        .with_cause("Invalid cursor.")
    }

    /// E0000031 400 bad filter or search.
    pub fn invalid_search(cause: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "E0000031",
            "Invalid search criteria.",
        )
        .with_cause(cause)
    }

    /// E0000032 403: unlocking a user who is not LOCKED_OUT.
    pub fn unlock_forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "E0000032",
            "Unlock is not allowed for this user.",
        )
        .with_cause("The user is not locked out.")
    }

    /// E0000038 403: a lifecycle operation the user's status does not allow (e.g.
    /// reactivating a user who is not PROVISIONED). Okta sends no causes.
    pub fn user_status_forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "E0000038",
            "This operation is not allowed in the user's current status.",
        )
    }

    /// E0000056 403: deleting an app that is still ACTIVE.
    pub fn app_delete_forbidden() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "E0000056",
            "Delete application forbidden.",
        )
        .with_cause("The application must be deactivated before deletion.")
    }

    /// E0000047 429.
    pub fn rate_limited() -> Self {
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
        )
    }

    /// E0000053 400 System Log parameter errors.
    pub fn invalid_log_param(cause: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "E0000053", "Invalid SCIM filter.").with_cause(cause)
    }

    /// The JSON body Okta sends for this error.
    pub fn body(&self) -> serde_json::Value {
        let body = ErrorBody {
            error_code: self.code,
            error_summary: &self.summary,
            error_link: self.code,
            error_id: format!("oae{}", uuid::Uuid::new_v4().simple()),
            error_causes: self
                .causes
                .iter()
                .map(|c| Cause { error_summary: c })
                .collect(),
        };
        serde_json::to_value(body).unwrap_or_default()
    }
}

impl IntoResponse for OktaError {
    fn into_response(self) -> Response {
        (self.status, axum::Json(self.body())).into_response()
    }
}

pub type Result<T, E = OktaError> = std::result::Result<T, E>;
