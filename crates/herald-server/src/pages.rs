//! The sign-in page: a form for people in a browser (`/` without a session, and the confirmation
//! of a connection, send them here), signing in through the same code as `POST /api/v1/auth/login`
//! (an account with two-factor sign-in goes on to `/login/second-factor`).

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use secrecy::SecretString;

use crate::AppState;
use crate::accounts::{SignedIn, sign_in};
use crate::client::ClientAddr;
use crate::json::FormFields;
use crate::web::{SignIn, render};

/// Where to go after signing in: a path on this Herald only, never another site. Browsers drop
/// tabs and new lines from URLs and read `\\` as `/`, so any of those (or a second leading slash)
/// could turn a path into another host: such a `next` is ignored.
pub(crate) fn next_path(next: Option<&String>) -> String {
    let safe = |n: &str| {
        n.starts_with('/')
            && !n.starts_with("//")
            && !n
                .chars()
                .any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    };
    match next {
        Some(n) if safe(n) => n.clone(),
        _ => "/".into(),
    }
}

pub(crate) fn form(
    state: &AppState,
    status: StatusCode,
    next: &str,
    email: &str,
    error: Option<&str>,
) -> Response {
    let page = SignIn {
        next,
        email,
        error: error.map(str::to_owned),
        signup_open: state.config.signup_open,
    };
    render(status, &page)
}

pub(crate) fn login() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, Query(q): Query<HashMap<String, String>>| async move {
            form(&state, StatusCode::OK, &next_path(q.get("next")), "", None)
        },
    )
    .post(
        |State(state): State<AppState>,
         addr: ClientAddr,
         headers: HeaderMap,
         FormFields(f): FormFields| async move {
            let next = next_path(f.get("next"));
            let email = f.get("email").cloned().unwrap_or_default();
            let password = SecretString::from(f.get("password").cloned().unwrap_or_default());
            match sign_in(&state, &email, password, None, &headers, addr).await {
                // An account with a second factor: no session yet, the page that asks for it.
                Ok(SignedIn::SecondFactor(user)) => {
                    crate::two_factor_page::challenge(&state, user, &next).await
                }
                Ok(SignedIn::Session(_, _, cookie)) => (
                    StatusCode::SEE_OTHER,
                    [
                        (header::LOCATION, next),
                        (header::SET_COOKIE, cookie.to_str().unwrap_or_default().to_owned()),
                    ],
                )
                    .into_response(),
                Err(e) => {
                    let mut res = form(&state, e.status, &next, &email, Some(&e.message));
                    if let Some(s) = e.retry_after {
                        res.headers_mut().insert(header::RETRY_AFTER, s.into());
                    }
                    res
                }
            }
        },
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn after_signing_in_only_a_path_on_this_herald_is_followed() {
        let next = |s: &str| super::next_path(Some(&s.to_owned()));
        assert_eq!(next("/connections/pending/x"), "/connections/pending/x");
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/ /evil.example",
            "evil",
        ] {
            assert_eq!(next(bad), "/", "{bad}");
        }
    }
}
