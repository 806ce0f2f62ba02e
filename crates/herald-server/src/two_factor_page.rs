//! The pages of two-factor sign-in: `/settings/two-factor` (whether it is on, setting it up with
//! a QR code and the key to type, confirming, the recovery codes shown once, new codes, turning it
//! off), `/login/second-factor` (the second step of signing in, after a right password) and
//! `/reauth` (proving who you are again before a sensitive change); through the same code as the
//! API's `/api/v1/auth/two-factor…` and `/api/v1/auth/reauthenticate`.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use axum::routing::{MethodRouter, get};
use herald_domain::UserId;
use herald_domain::clock::from_micros;
use herald_store::Actor;
use secrecy::{ExposeSecret, SecretString};

use crate::AppState;
use crate::accounts::{cookie_attributes, start_session};
use crate::auth::{Caller, cookie, hash_secret, random_secret};
use crate::client::ClientAddr;
use crate::error::{ApiError, ApiResult};
use crate::json::FormFields;
use crate::pages::next_path;
use crate::two_factor::{
    ENROLMENT_PAGE, Factor, REAUTHENTICATION_REQUIRED, Setup, begin, confirm, disable, enrolment_required,
    pending_setup, reauthenticate, regenerate, second_factor, second_factor_required,
};
use crate::web::{Me, error_page, render, see_other, sentence, signed_in};
use crate::{audit, throttle};

/// The challenge cookie over plain http (a loopback Herald).
const CHALLENGE_COOKIE: &str = "herald_2fa";
/// The challenge cookie over https (`__Host-`: `Secure`, `Path=/`, no `Domain`).
const SECURE_CHALLENGE_COOKIE: &str = "__Host-herald_2fa";
/// How long a right password waits for its second factor, in seconds.
const CHALLENGE_SECONDS: i64 = 5 * 60;

fn challenge_cookie(state: &AppState) -> &'static str {
    if state.config.https() {
        SECURE_CHALLENGE_COOKIE
    } else {
        CHALLENGE_COOKIE
    }
}

/// The way to `/reauth`, coming back to `next` after (a page form's sensitive change refused
/// with `reauthentication_required`).
pub(crate) fn to_reauth(next: &str) -> Response {
    let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    see_other(&format!("/reauth?next={next}"), None)
}

/// A refusal for want of a recent proof of identity goes to `/reauth` (and back to `here`);
/// `None` for any other refusal.
fn reauth_first(e: &ApiError, here: &str) -> Option<Response> {
    (e.code == REAUTHENTICATION_REQUIRED).then(|| to_reauth(here))
}

/// An enrolment as the page shows it: the QR code and the key in groups of four.
struct SetupView {
    qr_svg: SecretString,
    key: SecretString,
}

impl From<Setup> for SetupView {
    fn from(s: Setup) -> Self {
        let key = s.key.expose_secret();
        let grouped: Vec<&str> = (0..key.len())
            .step_by(4)
            .map(|at| &key[at..(at + 4).min(key.len())])
            .collect();
        SetupView {
            qr_svg: s.qr_svg,
            key: SecretString::from(grouped.join(" ")),
        }
    }
}

#[derive(Template)]
#[template(path = "two_factor.html")]
struct TwoFactorPage {
    email: String,
    /// This Herald requires it of the person now (served over https; they administer a
    /// workspace) and it is off.
    required: bool,
    /// Herald is served over https (otherwise the page recommends it).
    https: bool,
    /// When it was turned on; `None` while it is off.
    enabled: Option<String>,
    codes_left: i64,
    /// An enrolment begun, waiting for its code.
    setup: Option<SetupView>,
    /// Recovery codes just made, shown this once.
    codes: Vec<SecretString>,
    code_error: Option<String>,
    error: Option<String>,
    notice: Option<String>,
}

/// What one request adds to the page.
#[derive(Default)]
struct View {
    setup: Option<SetupView>,
    codes: Vec<SecretString>,
    code_error: Option<String>,
    error: Option<String>,
    notice: Option<String>,
}

async fn show(state: &AppState, me: &Me, v: View) -> Response {
    let status = match state.store.two_factor_status(me.caller.user).await {
        Ok(s) => s,
        Err(e) => return error_page(&e.into()),
    };
    let required = match enrolment_required(state, me.caller.user).await {
        Ok(r) => r,
        Err(e) => return error_page(&e),
    };
    let refused = v.code_error.is_some() || v.error.is_some();
    let page = TwoFactorPage {
        email: me.email.clone(),
        required,
        https: state.config.https(),
        enabled: status
            .enabled_at
            .map(|at| from_micros(at).strftime("%Y-%m-%d").to_string()),
        codes_left: status.recovery_codes_left,
        setup: v.setup,
        codes: v.codes,
        code_error: v.code_error,
        error: v.error,
        notice: v.notice,
    };
    let code = if refused {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render(code, &page)
}

/// What the form's `action` does, through the API's functions.
async fn act(state: &AppState, me: &Me, addr: ClientAddr, f: &HashMap<String, String>) -> Response {
    let mut v = View::default();
    let done: ApiResult<()> = match f.get("action").map(String::as_str) {
        Some("begin") => begin(state, &me.caller).await.map(|s| v.setup = Some(s.into())),
        Some("confirm") => {
            let code = SecretString::from(f.get("code").cloned().unwrap_or_default());
            match confirm(state, &me.caller, &code, addr).await {
                Ok(codes) => {
                    v.codes = codes;
                    v.notice = Some("Two-factor sign-in is on: from now on, signing in asks for the code your app shows as well as your password.".to_owned());
                    Ok(())
                }
                Err(e) if e.code == "invalid_code" => {
                    v.code_error = Some(sentence(&e));
                    pending_setup(state, &me.caller)
                        .await
                        .map(|s| v.setup = s.map(SetupView::from))
                }
                Err(e) => Err(e),
            }
        }
        Some("regenerate") => regenerate(state, &me.caller, addr).await.map(|codes| {
            v.codes = codes;
            v.notice = Some("New recovery codes are made; the old ones no longer work.".to_owned());
        }),
        Some("disable") => disable(state, &me.caller, addr).await.map(|_| {
            v.notice = Some("Two-factor sign-in is off: signing in asks for your password only.".to_owned());
        }),
        _ => Err(ApiError::bad_request(
            "`action` must be begin, confirm, regenerate or disable",
        )),
    };
    match done {
        Ok(()) => {}
        Err(e) if e.status.is_server_error() => return error_page(&e),
        Err(e) => {
            if let Some(to) = reauth_first(&e, ENROLMENT_PAGE) {
                return to;
            }
            v.error = Some(sentence(&e));
        }
    }
    show(state, me, v).await
}

/// `GET /settings/two-factor` shows where two-factor sign-in stands; `POST` (`action`: `begin`,
/// `confirm` with `code`, `regenerate`, `disable`) changes it, as the API's routes do.
pub(crate) fn page() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>| async move {
            match signed_in(&state, caller, ENROLMENT_PAGE).await {
                Ok(me) => show(&state, &me, View::default()).await,
                Err(page) => page,
            }
        },
    )
    .post(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         addr: ClientAddr,
         FormFields(f): FormFields| async move {
            match signed_in(&state, caller, ENROLMENT_PAGE).await {
                Ok(me) => act(&state, &me, addr, &f).await,
                Err(page) => page,
            }
        },
    )
}

#[derive(Template)]
#[template(path = "second_factor.html")]
struct SecondFactorPage<'a> {
    next: &'a str,
    error: Option<String>,
}

/// After a right password for an account with a second factor, the page's sign-in starts no
/// session: it records a challenge for this browser (a random secret in an `HttpOnly` cookie, its
/// hash stored, for five minutes) and goes to the page that asks for the code.
pub(crate) async fn challenge(state: &AppState, user: UserId, next: &str) -> Response {
    let secret = random_secret();
    let expires = state.store.clock().now().as_microsecond() + CHALLENGE_SECONDS * 1_000_000;
    if let Err(e) = state
        .store
        .create_second_factor_challenge(&hash_secret(&secret), user, expires)
        .await
    {
        return error_page(&e.into());
    }
    let cookie = format!(
        "{}={secret}; {}; Max-Age={CHALLENGE_SECONDS}",
        challenge_cookie(state),
        cookie_attributes(state)
    );
    let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
    see_other(&format!("/login/second-factor?next={next}"), Some(cookie))
}

/// The sign-in form again, saying the sign-in must start over.
fn start_over(state: &AppState, next: &str) -> Response {
    crate::pages::form(
        state,
        StatusCode::UNAUTHORIZED,
        next,
        "",
        Some(
            "Signing in took longer than five minutes, or was finished already: enter your email and password again.",
        ),
    )
}

/// Ends the sign-in of the challenge `hash` for `user` with `factor`: the code is checked inside a
/// throttled attempt (a wrong one counts as a failed sign-in), the challenge taken once, and the
/// session started. Returns its `Set-Cookie`.
async fn complete(
    state: &AppState,
    user: UserId,
    hash: &str,
    factor: Option<Factor>,
    headers: &HeaderMap,
    addr: ClientAddr,
) -> ApiResult<Option<String>> {
    if factor.is_none() {
        return Err(second_factor_required());
    }
    let email = state.store.get_user(user).await?.email;
    let attempt = throttle::check(state, &email, addr.0).await?;
    let method = second_factor(state, user, &attempt, factor, Actor::Anonymous, addr)
        .await?
        .unwrap_or("password");
    if state.store.take_second_factor_challenge(hash).await?.is_none() {
        return Ok(None);
    }
    throttle::succeeded(state, &attempt).await?;
    let session = start_session(state, user, headers, addr).await?;
    audit::record(
        state,
        None,
        Actor::User(user),
        "auth.signin",
        format!("user:{user}"),
        Some(addr),
        method,
    )
    .await;
    Ok(Some(session.to_str().unwrap_or_default().to_owned()))
}

/// `GET /login/second-factor` asks for the code (or a recovery code) of a sign-in whose password
/// was right, in the browser holding its challenge; `POST` (`code` or `recovery_code`, `next`)
/// finishes it: the session starts and the browser goes to `next`.
pub(crate) fn login() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, headers: HeaderMap, Query(q): Query<HashMap<String, String>>| async move {
            let next = next_path(q.get("next"));
            let waiting = match cookie(&headers, challenge_cookie(&state)) {
                Some(secret) => state.store.second_factor_challenge(&hash_secret(&secret)).await,
                None => Ok(None),
            };
            match waiting {
                Ok(Some(_)) => render(StatusCode::OK, &SecondFactorPage { next: &next, error: None }),
                Ok(None) => {
                    let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
                    see_other(&format!("/login?next={next}"), None)
                }
                Err(e) => error_page(&e.into()),
            }
        },
    )
    .post(
        |State(state): State<AppState>,
         addr: ClientAddr,
         headers: HeaderMap,
         FormFields(f): FormFields| async move {
            let next = next_path(f.get("next"));
            let Some(secret) = cookie(&headers, challenge_cookie(&state)) else {
                return start_over(&state, &next);
            };
            let hash = hash_secret(&secret);
            let user = match state.store.second_factor_challenge(&hash).await {
                Ok(Some(user)) => user,
                Ok(None) => return start_over(&state, &next),
                Err(e) => return error_page(&e.into()),
            };
            let field = |k: &str| f.get(k).cloned().map(SecretString::from);
            let factor = Factor::from_fields(field("code"), field("recovery_code"));
            match complete(&state, user, &hash, factor, &headers, addr).await {
                Ok(Some(session)) => {
                    let mut res = see_other(&next, Some(session));
                    let clear = format!(
                        "{}=; {}; Max-Age=0",
                        challenge_cookie(&state),
                        cookie_attributes(&state)
                    );
                    if let Ok(v) = clear.parse::<axum::http::HeaderValue>() {
                        res.headers_mut().append(header::SET_COOKIE, v);
                    }
                    res
                }
                Ok(None) => start_over(&state, &next),
                Err(e) if e.status.is_server_error() => error_page(&e),
                Err(e) => {
                    let said = if e.code == "second_factor_required" {
                        "Enter the 6-digit code your authenticator app shows, or one of your recovery codes.".to_owned()
                    } else {
                        sentence(&e)
                    };
                    let page = SecondFactorPage {
                        next: &next,
                        error: Some(said),
                    };
                    let mut res = render(e.status, &page);
                    if let Some(s) = e.retry_after {
                        res.headers_mut().insert(header::RETRY_AFTER, s.into());
                    }
                    res
                }
            }
        },
    )
}

#[derive(Template)]
#[template(path = "reauth.html")]
struct ReauthPage {
    email: String,
    next: String,
    /// The person has a second factor, which the form asks for too.
    enrolled: bool,
    password_error: Option<String>,
    code_error: Option<String>,
    error: Option<String>,
}

async fn reauth_form(state: &AppState, me: &Me, next: String, refused: Option<ApiError>) -> Response {
    let enrolled = match state.store.two_factor_status(me.caller.user).await {
        Ok(s) => s.enabled_at.is_some(),
        Err(e) => return error_page(&e.into()),
    };
    let mut page = ReauthPage {
        email: me.email.clone(),
        next,
        enrolled,
        password_error: None,
        code_error: None,
        error: None,
    };
    let Some(e) = refused else {
        return render(StatusCode::OK, &page);
    };
    let said = Some(sentence(&e));
    match e.code {
        "wrong_password" => page.password_error = said,
        "invalid_second_factor" | "second_factor_required" => page.code_error = said,
        _ => page.error = said,
    }
    let mut res = render(e.status, &page);
    if let Some(s) = e.retry_after {
        res.headers_mut().insert(header::RETRY_AFTER, s.into());
    }
    res
}

/// `GET /reauth?next=/path` asks for the password (and the second factor, where the person has
/// one) again; `POST` checks them as `POST /api/v1/auth/reauthenticate` does, and goes back to
/// `next`: sensitive changes are open to this session for ten minutes.
pub(crate) fn reauth() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         Query(q): Query<HashMap<String, String>>| async move {
            let next = next_path(q.get("next"));
            match signed_in(&state, caller, "/reauth").await {
                Ok(me) => reauth_form(&state, &me, next, None).await,
                Err(page) => page,
            }
        },
    )
    .post(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         addr: ClientAddr,
         FormFields(f): FormFields| async move {
            let next = next_path(f.get("next"));
            let me = match signed_in(&state, caller, "/reauth").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            let field = |k: &str| f.get(k).cloned().map(SecretString::from);
            let password = field("password").unwrap_or_else(|| SecretString::from(""));
            let factor = Factor::from_fields(field("code"), field("recovery_code"));
            match reauthenticate(&state, &me.caller, password, factor, addr).await {
                Ok(_) => see_other(&next, None),
                Err(e) if e.status.is_server_error() => error_page(&e),
                Err(e) => reauth_form(&state, &me, next, Some(e)).await,
            }
        },
    )
}
