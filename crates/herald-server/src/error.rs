//! The API's one error type, mapped to HTTP in one place: `{"error":{"code","message",...}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use herald_store::StoreError;
use serde_json::{Value, json};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    pub details: Option<(&'static str, Value)>,
    /// Seconds to send as `Retry-After` (throttled or busy).
    pub retry_after: Option<u64>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            details: None,
            retry_after: None,
        }
    }

    /// Tells the client when to try again (`Retry-After`, in seconds).
    pub fn retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds.max(1));
        self
    }

    pub fn with(mut self, key: &'static str, value: Value) -> Self {
        self.details = Some((key, value));
        self
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", message)
    }

    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }

    /// Maps a store error: `NotFound` becomes a 404 naming `what`; anything else stays what it is.
    pub fn missing(what: &str) -> impl FnOnce(StoreError) -> ApiError + '_ {
        move |e| match e {
            StoreError::NotFound => Self::not_found(what),
            other => other.into(),
        }
    }

    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "sign in, or send an API token as `Authorization: Bearer …`",
        )
    }

    /// An unexpected failure: the cause goes to the log (on the request's span, with its id); the
    /// caller gets the request id to quote, never the cause.
    pub fn internal(cause: &dyn std::fmt::Display) -> Self {
        let id = crate::security::request_id().unwrap_or_else(|| uuid::Uuid::new_v4().simple().to_string());
        tracing::error!(request_id = %id, error = %cause, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            format!("something went wrong on our side; quote request id {id}"),
        )
        .with("request_id", json!(id))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => Self::not_found("object"),
            StoreError::Conflict(m) => Self::new(StatusCode::CONFLICT, "conflict", m),
            other => Self::internal(&other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({"code": self.code, "message": self.message});
        if let Some((k, v)) = self.details {
            error[k] = v;
        }
        let mut res = (self.status, axum::Json(json!({ "error": error }))).into_response();
        if let Some(s) = self.retry_after {
            res.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, s.into());
        }
        res
    }
}
