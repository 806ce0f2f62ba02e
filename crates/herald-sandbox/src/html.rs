//! Minimal HTML helpers for the consent pages: escaping, the page frame, an error page, and the
//! redirect back to the app.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};

pub(crate) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// The hidden fields that carry an authorization request's `keys` from `q` through the consent form.
pub(crate) fn hidden(q: &std::collections::HashMap<String, String>, keys: &[&str]) -> String {
    keys.iter()
        .map(|k| {
            format!(
                "<input type=\"hidden\" name=\"{k}\" value=\"{}\">",
                escape(q.get(*k).map(String::as_str).unwrap_or_default())
            )
        })
        .collect()
}

/// The accounts a person can log in as, one radio button each (the first chosen):
/// `(value, label)` pairs, labels unescaped.
pub(crate) fn account_radios(accounts: impl Iterator<Item = (String, String)>) -> String {
    accounts
        .enumerate()
        .map(|(i, (value, label))| {
            format!(
                "<label class=\"perm\"><input type=\"radio\" name=\"account\" value=\"{}\"{}> {}</label>",
                escape(&value),
                if i == 0 { " checked" } else { "" },
                escape(&label)
            )
        })
        .collect()
}

/// One ticked checkbox per requested scope, labelled as the platform's `known` scopes say.
pub(crate) fn scope_boxes(requested: &[String], known: &[(&str, &str)]) -> String {
    requested
        .iter()
        .map(|s| {
            let label = known.iter().find(|(n, _)| n == s).map_or("", |(_, l)| l);
            format!(
                "<label class=\"perm\"><input type=\"checkbox\" name=\"scope\" value=\"{}\" checked> {} <code>{}</code></label>",
                escape(s),
                escape(label),
                escape(s)
            )
        })
        .collect()
}

/// A consent form as posted: its fields but `scope`, the scopes left ticked, and whether the
/// person refused.
pub(crate) fn decision(body: &[u8]) -> (std::collections::HashMap<String, String>, Vec<String>, bool) {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body).into_owned().collect();
    let q: std::collections::HashMap<String, String> =
        pairs.iter().filter(|(k, _)| k != "scope").cloned().collect();
    let granted = pairs
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.clone())
        .collect();
    let deny = q.get("decision").map(String::as_str) != Some("allow");
    (q, granted, deny)
}

/// The consent pages' style, served at `/_sandbox/sandbox.css` so the pages need no inline style
/// (Herald's Content-Security-Policy allows none).
const STYLESHEET: &str = "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}\n\
.perm{display:block;margin:.5rem 0}\n.banner{background:#fff3cd;padding:.5rem;border-radius:4px}\n";

pub(crate) async fn stylesheet() -> Response {
    (
        [
            (axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        STYLESHEET,
    )
        .into_response()
}

pub(crate) fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title>\
         <link rel=\"stylesheet\" href=\"/_sandbox/sandbox.css\">\
         </head><body><p class=\"banner\">Herald platform sandbox: no real account is involved.</p>{}</body></html>",
        escape(title),
        body
    )
}

/// A platform's error page: `heading` is its wording, `message` says what is wrong.
pub(crate) fn error_page(status: StatusCode, heading: &str, message: &str) -> Response {
    let body = format!(
        "<h1>{}</h1><p id=\"error\">{}</p>",
        escape(heading),
        escape(message)
    );
    (status, Html(page("Error", &body))).into_response()
}

/// The redirect back to the app with `params`, and the fragment the platform appends (Instagram
/// `#_`, Facebook `#_=_`; clients strip it).
pub(crate) fn redirect_to(uri: &str, params: &[(&str, &str)], fragment: &str) -> Response {
    let Ok(mut u) = url::Url::parse(uri) else {
        let message = format!("The app's registered redirect URI `{uri}` is not a URL.");
        return error_page(StatusCode::BAD_REQUEST, "Invalid redirect URI", &message);
    };
    u.query_pairs_mut().extend_pairs(params);
    Redirect::to(&format!("{u}#{fragment}")).into_response()
}
