//! A request body as the API reads it: empty, JSON, or `multipart/form-data` (its text fields and
//! its `file`, with the request's whole size, framing included, for Snap's 32 MiB limit); and what
//! the journal keeps of it (no key, no IV, no media bytes).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{StatusCode, header};
use serde_json::{Value, json};

use super::api::{Refusal, invalid};
use crate::Sandbox;

/// A request body as the sandbox read it.
pub(super) enum Body {
    Empty,
    Json(Value),
    /// A `multipart/form-data` body: its text fields, its `file`, and its whole size (the
    /// `Content-Length`, which counts the framing, when the client sent one).
    Form {
        fields: BTreeMap<String, String>,
        file: Option<Bytes>,
        size: usize,
    },
    /// A body that could not be read: why.
    Bad(&'static str),
    /// A multipart body past what the sandbox reads at all.
    TooLarge,
}

impl Body {
    pub(super) async fn read(sb: &Sandbox, request: Request) -> Self {
        let (multipart, declared) = {
            let h = request.headers();
            let text = |v: &axum::http::HeaderValue| v.to_str().ok().map(str::to_owned);
            let ctype = h.get(header::CONTENT_TYPE).and_then(text).unwrap_or_default();
            let length = h.get(header::CONTENT_LENGTH).and_then(text);
            (
                ctype.starts_with("multipart/form-data"),
                length.and_then(|n| n.trim().parse::<usize>().ok()),
            )
        };
        if !multipart {
            return match Bytes::from_request(request, sb).await {
                Ok(b) if b.is_empty() => Self::Empty,
                Ok(b) => serde_json::from_slice(&b)
                    .map(Self::Json)
                    .unwrap_or(Self::Bad("The request body is not valid JSON")),
                Err(_) => Self::Bad("The request body could not be read"),
            };
        }
        let Ok(mut form) = Multipart::from_request(request, sb).await else {
            return Self::Bad("The multipart body has no boundary");
        };
        let (mut fields, mut file, mut read) = (BTreeMap::new(), None, 0usize);
        loop {
            let field = match form.next_field().await {
                Ok(Some(f)) => f,
                Ok(None) => break,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Self::TooLarge,
                Err(_) => return Self::Bad("The multipart body is malformed"),
            };
            let name = field.name().unwrap_or_default().to_owned();
            let data = match field.bytes().await {
                Ok(d) => d,
                Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => return Self::TooLarge,
                Err(_) => return Self::Bad("The multipart body is malformed"),
            };
            read += data.len();
            match name.as_str() {
                "file" => file = Some(data),
                _ => {
                    fields.insert(name, String::from_utf8_lossy(&data).into_owned());
                }
            }
        }
        Self::Form {
            fields,
            file,
            size: declared.unwrap_or(read),
        }
    }

    /// What the journal keeps: the media's key and IV redacted, the file as its size.
    pub(super) fn public(&self) -> Option<Value> {
        match self {
            Self::Json(v) => {
                let mut v = v.clone();
                if let Some(o) = v.as_object_mut() {
                    for k in ["key", "iv"] {
                        if o.contains_key(k) {
                            o.insert(k.into(), json!("REDACTED"));
                        }
                    }
                }
                Some(v)
            }
            Self::Form { fields, file, .. } => {
                let mut v: serde_json::Map<String, Value> =
                    fields.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
                if let Some(f) = file {
                    v.insert("file".into(), json!(format!("<{} bytes>", f.len())));
                }
                Some(Value::Object(v))
            }
            _ => None,
        }
    }

    /// The JSON object a create call needs.
    pub fn json(&self) -> Result<&Value, Refusal> {
        match self {
            Self::Json(v) if v.is_object() => Ok(v),
            Self::Bad(why) => Err(invalid(why)),
            _ => Err(invalid("The request body must be a JSON object")),
        }
    }
}
