//! Request bodies that fail with a clear 400 instead of axum's plain-text rejections, read within
//! the request's body deadline; and time formatting.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use herald_domain::clock::from_micros;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::serve::BodyDeadline;

/// The whole body, within the deadline the listener set for it.
async fn read<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
    let deadline = req.extensions().get::<BodyDeadline>().map(|d| d.0);
    let read = Bytes::from_request(req, state);
    let bytes = match deadline {
        Some(at) => tokio::time::timeout_at(at, read).await.map_err(|_| {
            ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "the request's body took longer to arrive than this Herald allows",
            )
        })?,
        None => read.await,
    };
    bytes.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "the request body is larger than 1 MiB",
            )
        } else {
            ApiError::bad_request("could not read the request body")
        }
    })
}

/// An HTML form's fields (`application/x-www-form-urlencoded`), read like [`Body`].
pub struct FormFields(pub HashMap<String, String>);

impl<S: Send + Sync> FromRequest<S> for FormFields {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read(req, state).await?;
        Ok(Self(url::form_urlencoded::parse(&bytes).into_owned().collect()))
    }
}

/// `Json<T>` whose rejections are API errors naming what is wrong.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = req
            .headers()
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
            return Err(ApiError::new(
                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send a JSON body with `Content-Type: application/json`",
            ));
        }
        let bytes = read(req, state).await?;
        let de = &mut serde_json::Deserializer::from_slice(&bytes);
        serde_path_to_error::deserialize(de).map(Body).map_err(|e| {
            let path = e.path().to_string();
            let inner = e.into_inner();
            let what = if inner.is_syntax() || inner.is_eof() {
                "malformed JSON"
            } else {
                "invalid body"
            };
            let at = if path == "." {
                String::new()
            } else {
                format!(" at `{path}`")
            };
            ApiError::bad_request(format!("{what}{at}: {inner}"))
        })
    }
}

/// An instant as RFC 3339 UTC.
pub fn rfc3339(micros: i64) -> String {
    from_micros(micros).to_string()
}
