//! What every response carries, set in one place: a request id (also on every log line of the
//! request, and in internal errors), and the security headers (a strict Content-Security-Policy,
//! `nosniff`, a referrer policy, framing refused, HSTS when Herald is served over https).

use std::time::Instant;

use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request this task serves, if it serves one.
pub(crate) fn request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// No script or style but Herald's own files, no framing, no plugins, forms only to Herald.
pub(crate) const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'; form-action 'self'";

pub(crate) const REQUEST_ID_HEADER: &str = "x-request-id";

/// How the headers depend on where Herald is served.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Policy {
    /// Herald is served over https: browsers are told to use nothing else.
    pub https: bool,
}

pub(crate) async fn headers(State(policy): State<Policy>, req: Request, next: Next) -> Response {
    let id = uuid::Uuid::new_v4().simple().to_string();
    // Spans name the path only: query strings carry OAuth codes and media signatures, and an
    // invitation's path its secret.
    let path = match req.uri().path() {
        p if p.starts_with("/invitations/") => "/invitations/…",
        p => p,
    };
    let span = tracing::info_span!("request", id = %id, method = %req.method(), path = path);
    let started = Instant::now();
    let mut res = REQUEST_ID
        .scope(id.clone(), next.run(req))
        .instrument(span.clone())
        .await;
    span.in_scope(|| {
        tracing::debug!(
            status = res.status().as_u16(),
            ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            "answered"
        );
    });
    let h = res.headers_mut();
    let mut set = |name: HeaderName, value: &'static str| {
        // A handler that chose its own (an OAuth page's `no-referrer`) keeps it.
        h.entry(name).or_insert(HeaderValue::from_static(value));
    };
    set(header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::REFERRER_POLICY, "same-origin");
    set(header::X_FRAME_OPTIONS, "DENY");
    set(
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        HeaderName::from_static("permissions-policy"),
        "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    );
    if policy.https {
        set(
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=63072000; includeSubDomains",
        );
    }
    if let Ok(v) = HeaderValue::from_str(&id) {
        h.insert(HeaderName::from_static(REQUEST_ID_HEADER), v);
    }
    res
}
