//! The upload host a media registration names (S3 in front of Pinterest): a multipart `POST` with
//! every upload parameter the registration gave, then the file. The bytes are counted and probed,
//! not kept; the media is `processing` until the sandbox's processing delay has passed.

use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use jiff::SignedDuration;
use sha2::Digest;

use super::world::MediaStatus;
use crate::Sandbox;

/// The largest video the sandbox takes (Pinterest: 2 GB).
pub(crate) const MAX_VIDEO_BYTES: usize = 2 * 1024 * 1024 * 1024;
/// How much of the file is kept to tell what it is.
const PROBE: usize = 64 * 1024;

/// The signature a registration hands out for `key` (what S3 checks the form against).
pub(crate) fn signature(key: &str) -> String {
    hex::encode(sha2::Sha256::digest(format!("sandbox-upload:{key}").as_bytes()))
}

/// S3's error document.
fn s3_error(status: StatusCode, code: &str, message: &str) -> Response {
    let xml = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>"
    );
    (
        status,
        [(axum::http::header::CONTENT_TYPE, "application/xml")],
        xml,
    )
        .into_response()
}

/// `POST /pinterest-media-upload.s3-accelerate.amazonaws.com/`.
pub(crate) async fn upload(State(sb): State<Sandbox>, mut form: Multipart) -> Response {
    let (mut key, mut sig, mut bytes, mut head) = (None, None, 0usize, Vec::new());
    // S3 reads no field after the file.
    let mut file_seen = false;
    loop {
        let field = match form.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(_) => {
                return s3_error(
                    StatusCode::BAD_REQUEST,
                    "MalformedPOSTRequest",
                    "The body of your POST request is not well-formed multipart/form-data.",
                );
            }
        };
        match field.name().unwrap_or_default().to_owned().as_str() {
            _ if file_seen => {}
            "file" => {
                file_seen = true;
                let mut field = field;
                loop {
                    match field.chunk().await {
                        Ok(Some(chunk)) => {
                            bytes += chunk.len();
                            if head.len() < PROBE {
                                head.extend_from_slice(&chunk[..chunk.len().min(PROBE - head.len())]);
                            }
                            if bytes > MAX_VIDEO_BYTES {
                                return s3_error(
                                    StatusCode::BAD_REQUEST,
                                    "EntityTooLarge",
                                    "Your proposed upload exceeds the maximum allowed size",
                                );
                            }
                        }
                        Ok(None) => break,
                        Err(_) => {
                            return s3_error(
                                StatusCode::BAD_REQUEST,
                                "IncompleteBody",
                                "The request body terminated unexpectedly",
                            );
                        }
                    }
                }
            }
            "key" => key = field.text().await.ok(),
            "x-amz-signature" => sig = field.text().await.ok(),
            _ => {}
        }
    }
    let (Some(key), Some(sig)) = (key, sig) else {
        return s3_error(
            StatusCode::BAD_REQUEST,
            "InvalidArgument",
            "Bucket POST must contain a field named 'key' and a signature.",
        );
    };
    if sig != signature(&key) {
        return s3_error(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        );
    }
    let now = sb.clock().now();
    let delay = SignedDuration::try_from(sb.config().processing_delay).unwrap_or_default();
    let video = crate::fetch::probe(&head).iso;
    let mut world = sb.pinterest();
    let Some(m) = world.media.values_mut().find(|m| m.key == key) else {
        return s3_error(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied");
    };
    m.bytes = bytes;
    m.status = if video && bytes > 0 {
        MediaStatus::Processing
    } else {
        MediaStatus::Failed
    };
    m.ready_at = Some(now + delay);
    StatusCode::NO_CONTENT.into_response()
}
