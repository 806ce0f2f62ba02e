//! Herald's own static files (stylesheet, scripts), built into the binary and served under
//! content-hashed names (`/assets/herald.3f2a9c1b.css`) with a year-long cache: a new build gets new
//! names, so nothing stale is ever used, and pages need no inline script or style.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::error::ApiError;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "herald.css",
        content_type: "text/css; charset=utf-8",
        bytes: include_bytes!("../assets/herald.css"),
    },
    Asset {
        name: "favicon.svg",
        content_type: "image/svg+xml",
        bytes: include_bytes!("../assets/favicon.svg"),
    },
    Asset {
        name: "api-docs.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/api-docs.js"),
    },
    Asset {
        name: "compose.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/compose.js"),
    },
    Asset {
        name: "calendar.js",
        content_type: "text/javascript; charset=utf-8",
        bytes: include_bytes!("../assets/calendar.js"),
    },
];

/// Each asset's served file name: its stem, the first 8 hex digits of its SHA-256, its extension.
fn hashed_names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        ASSETS
            .iter()
            .map(|a| {
                let hash = hex::encode(&Sha256::digest(a.bytes)[..4]);
                match a.name.rsplit_once('.') {
                    Some((stem, ext)) => format!("{stem}.{hash}.{ext}"),
                    None => format!("{}.{hash}", a.name),
                }
            })
            .collect()
    })
}

/// The URL path of the asset `name` (`herald.css`).
pub(crate) fn url(name: &str) -> String {
    let i = ASSETS
        .iter()
        .position(|a| a.name == name)
        .unwrap_or_else(|| panic!("no asset named {name}"));
    format!("/assets/{}", hashed_names()[i])
}

/// `html` with each `{{name}}` of an asset replaced by its URL.
pub(crate) fn link(html: &str) -> String {
    ASSETS.iter().fold(html.to_owned(), |out, a| {
        out.replace(&format!("{{{{{}}}}}", a.name), &url(a.name))
    })
}

pub(crate) fn route() -> MethodRouter<AppState> {
    get(|Path(file): Path<String>| async move {
        let Some(i) = hashed_names().iter().position(|n| *n == file) else {
            return ApiError::not_found("asset").into_response();
        };
        let a = &ASSETS[i];
        let headers = [
            (header::CONTENT_TYPE, a.content_type),
            (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
        ];
        (headers, a.bytes).into_response()
    })
}

/// `GET /favicon.ico`, which browsers ask for on pages that name no icon (the OAuth pages, the
/// built-in sandbox's): Herald's icon, under the name they ask for.
pub(crate) fn favicon() -> MethodRouter<AppState> {
    get(|| async {
        let Some(a) = ASSETS.iter().find(|a| a.name == "favicon.svg") else {
            return ApiError::not_found("icon").into_response();
        };
        (
            [
                (header::CONTENT_TYPE, a.content_type),
                (header::CACHE_CONTROL, "public, max-age=86400"),
            ],
            a.bytes,
        )
            .into_response()
    })
}

/// The response for a page: the HTML with its assets linked.
pub(crate) fn page(html: &str) -> Response {
    axum::response::Html(link(html)).into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn asset_names_carry_their_content_hash_and_pages_link_them() {
        let css = super::url("herald.css");
        assert!(
            css.starts_with("/assets/herald.") && css.ends_with(".css") && css.len() == 27,
            "{css}"
        );
        let html = super::link("<link href=\"{{herald.css}}\"><script src=\"{{api-docs.js}}\">");
        assert!(html.contains(&css) && !html.contains("{{"), "{html}");
    }
}
