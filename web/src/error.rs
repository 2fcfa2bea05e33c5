//! The web layer's one error type, and the one place where domain errors become HTTP statuses.

use actors::DomainError;
use axum::Json;
use axum::extract::rejection::{FormRejection, JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// An error answered as `{"error": {"code", "message", "field"?}}`.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub field: Option<&'static str>,
    pub retry_after: Option<u64>,
    /// More members of the error object (`missing` for `missing_variables`).
    pub extra: Option<serde_json::Map<String, serde_json::Value>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError { status, code, message: message.into(), field: None, retry_after: None, extra: None }
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        let message = format!("{field}: {}", message.into());
        ApiError { field: Some(field), ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", message) }
    }

    pub fn unauthorized() -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", "sign in first")
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }

    pub fn rate_limited(retry_after: u64) -> Self {
        ApiError {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", "too many requests, slow down")
        }
    }
}

impl From<DomainError> for ApiError {
    fn from(e: DomainError) -> Self {
        match e {
            DomainError::NotFound(what) => ApiError::not_found(what),
            DomainError::Conflict(m) => ApiError::new(StatusCode::CONFLICT, "conflict", m),
            DomainError::Invalid { field, message } => ApiError::invalid(field, message),
            DomainError::MissingVariables(ref missing) => {
                let extra = serde_json::Map::from_iter([("missing".to_owned(), json!(missing))]);
                ApiError { extra: Some(extra), ..ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "missing_variables", e.to_string()) }
            }
            e @ DomainError::OptedOut => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "opted_out", e.to_string()),
            e @ DomainError::WindowClosed => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "window_closed", e.to_string()),
            e @ DomainError::NotVerified(_) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "not_verified", e.to_string()),
            DomainError::Unauthorized(m) => ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", m),
            DomainError::Forbidden(m) => ApiError::forbidden(m),
            e @ DomainError::Unavailable => {
                ApiError { retry_after: Some(1), ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", e.to_string()) }
            }
            e @ DomainError::TooManyAttempts { retry_after } => ApiError {
                retry_after: Some(retry_after.max(1)),
                ..ApiError::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", e.to_string())
            },
            e @ DomainError::Busy => {
                ApiError { retry_after: Some(1), ..ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "busy", e.to_string()) }
            }
            DomainError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
            }
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            // serde_path_to_error names the field: "name: missing field `phone`".
            JsonRejection::JsonDataError(e) => {
                let mut err = ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", e.body_text());
                err.message = err.message.replace("Failed to deserialize the JSON body into the target type: ", "");
                err
            }
            JsonRejection::JsonSyntaxError(e) => ApiError::bad_request(format!("malformed JSON: {}", e.body_text())),
            JsonRejection::MissingJsonContentType(_) => {
                ApiError::new(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "send Content-Type: application/json")
            }
            JsonRejection::BytesRejection(e) => ApiError::new(e.status(), "payload_too_large", e.body_text()),
            other => ApiError::bad_request(other.body_text()),
        }
    }
}

impl From<FormRejection> for ApiError {
    fn from(r: FormRejection) -> Self {
        let status = r.status();
        let code = if status == StatusCode::PAYLOAD_TOO_LARGE { "payload_too_large" } else { "bad_request" };
        ApiError::new(if status.is_client_error() { status } else { StatusCode::BAD_REQUEST }, code, r.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid", r.body_text().replace("Failed to deserialize query string: ", "query: "))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({ "code": self.code, "message": self.message });
        if let Some(field) = self.field {
            body["field"] = field.into();
        }
        for (key, value) in self.extra.into_iter().flatten() {
            body[key] = value;
        }
        let mut res = (self.status, Json(json!({ "error": body }))).into_response();
        if let Some(secs) = self.retry_after {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        res
    }
}

/// The web layer's result type.
pub type ApiResult<T> = Result<T, ApiError>;
