//! Two-factor sign-in (TOTP) and re-authentication: enrolling (a key shown as a QR code Herald
//! draws itself, confirmed with a code; ten recovery codes shown once), the second step of signing
//! in (a code of a later time step than the last one used, or an unused recovery code, inside the
//! sign-in's throttled attempt), turning it off, forced enrolment of owners and admins where Herald
//! is served over https, and the recent proof of identity sensitive changes need. The API's
//! routes are here; the pages (`two_factor_page.rs`) call the same functions.

use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use herald_domain::UserId;
use herald_store::{Actor, NewAudit, Store, StoreError};
use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::Caller;
use crate::client::ClientAddr;
use crate::error::{ApiError, ApiResult};
use crate::json::{Body, rfc3339};
use crate::throttle::{self, Attempt};
use crate::{audit, totp};

/// How long a session's proof of who it is lets it make sensitive changes, in microseconds.
const REAUTH_WINDOW: i64 = 10 * 60 * 1_000_000;
/// How many recovery codes a person holds at once.
pub(crate) const RECOVERY_CODES: usize = 10;
/// The error code of a session that must enrol before anything else.
pub(crate) const ENROLMENT_REQUIRED: &str = "second_factor_enrolment_required";
/// The error code of a sensitive change the session has not recently proved itself for.
pub(crate) const REAUTHENTICATION_REQUIRED: &str = "reauthentication_required";
/// Where a person sets up two-factor sign-in.
pub(crate) const ENROLMENT_PAGE: &str = "/settings/two-factor";
/// What a person who must enrol can still reach (with everything under each): enrolling, proving
/// who they are for it, and signing out.
const OPEN_WHILE_ENROLLING: [&str; 6] = [
    ENROLMENT_PAGE,
    "/api/v1/auth/two-factor",
    "/api/v1/auth/reauthenticate",
    "/reauth",
    "/logout",
    "/api/v1/auth/logout",
];

/// What a person offers beside their password.
pub(crate) enum Factor {
    /// The six digits their authenticator app shows.
    Code(SecretString),
    /// One of their recovery codes.
    Recovery(SecretString),
}

impl Factor {
    /// The factor sent, the code first; empty fields (a form sends both) are none.
    pub(crate) fn from_fields(code: Option<SecretString>, recovery: Option<SecretString>) -> Option<Self> {
        let given = |s: Option<SecretString>| s.filter(|s| !s.expose_secret().trim().is_empty());
        given(code)
            .map(Factor::Code)
            .or_else(|| given(recovery).map(Factor::Recovery))
    }

    /// The field it came in.
    fn field(&self) -> &'static str {
        match self {
            Factor::Code(_) => "code",
            Factor::Recovery(_) => "recovery_code",
        }
    }

    /// What it is, in the audit log's words.
    fn word(&self) -> &'static str {
        match self {
            Factor::Code(_) => "totp",
            Factor::Recovery(_) => "recovery_code",
        }
    }
}

/// 401 `second_factor_required`: the password was right, and the account has a second factor.
pub(crate) fn second_factor_required() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "second_factor_required",
        "this account signs in with a second factor: send `code` (the 6 digits your authenticator app shows now) or a `recovery_code` with the password",
    )
    .with("field", "code".into())
}

/// 401 `invalid_second_factor`, naming the field.
fn wrong_factor(f: &Factor) -> ApiError {
    let message = match f {
        Factor::Code(_) => {
            "`code` is not the code your authenticator app shows now, or it was used already: enter the next one"
        }
        Factor::Recovery(_) => "`recovery_code` is not one of your unused recovery codes",
    };
    ApiError::new(StatusCode::UNAUTHORIZED, "invalid_second_factor", message).with("field", f.field().into())
}

fn already_on() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "second_factor_on",
        "two-factor sign-in is on already; turn it off first to set up another authenticator",
    )
}

fn nothing_pending() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "no_enrolment_pending",
        "there is no key waiting to be confirmed: begin setting up two-factor sign-in first (`POST /api/v1/auth/two-factor`)",
    )
}

fn second_factor_off() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "second_factor_off",
        "two-factor sign-in is off, so there are no recovery codes to replace",
    )
}

/// How many wrong codes one account takes in [`CODE_WINDOW`], from any number of addresses,
/// before its codes are refused for the rest of the window.
const MAX_WRONG_CODES: i64 = 10;
/// The window wrong codes are counted in.
const CODE_WINDOW: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// The second step of a sign-in or re-authentication whose password was right, inside its
/// throttled `attempt`: how the person proved who they are (`password` when they have no second
/// factor, `password+totp`, `password+recovery_code`), or `None` when they have one and sent none
/// (which is not counted as a failure). A wrong or used factor counts as a failed sign-in and is
/// audited as `auth.second_factor_failed`.
pub(crate) async fn second_factor(
    state: &AppState,
    user: UserId,
    attempt: &Attempt,
    factor: Option<Factor>,
    actor: Actor,
    addr: ClientAddr,
) -> ApiResult<Option<&'static str>> {
    if state.store.two_factor_status(user).await?.enabled_at.is_none() {
        return Ok(Some("password"));
    }
    let Some(factor) = factor else {
        return Ok(None);
    };
    // Codes are six digits: whatever addresses the guesses come from, a person's account takes
    // only so many wrong ones in a window; a recovery code (50 bits) still works meanwhile.
    let window = crate::auth::micros(CODE_WINDOW);
    if matches!(factor, Factor::Code(_))
        && state.store.second_factor_failures(user, window).await? >= MAX_WRONG_CODES
    {
        audit::record(
            state,
            None,
            actor,
            "auth.second_factor_locked",
            format!("user:{user}"),
            Some(addr),
            "",
        )
        .await;
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "second_factor_locked",
            "too many wrong codes for this account lately: use a recovery code, or try again in 15 minutes",
        )
        .retry_after(CODE_WINDOW.as_secs()));
    }
    if verify(state, user, &factor, addr).await? {
        state.store.clear_second_factor_failures(user).await?;
        return Ok(Some(match factor {
            Factor::Code(_) => "password+totp",
            Factor::Recovery(_) => "password+recovery_code",
        }));
    }
    if matches!(factor, Factor::Code(_)) {
        state.store.count_second_factor_failure(user, window).await?;
    }
    throttle::failed(state, attempt).await?;
    audit::record(
        state,
        None,
        actor,
        "auth.second_factor_failed",
        format!("user:{user}"),
        Some(addr),
        factor.word(),
    )
    .await;
    Err(wrong_factor(&factor))
}

/// Checks and uses up `factor`: a code whose time step is later than the last one accepted (so no
/// code works twice, even sent twice at once), or an unused recovery code (its use audited).
async fn verify(state: &AppState, user: UserId, factor: &Factor, addr: ClientAddr) -> ApiResult<bool> {
    match factor {
        Factor::Code(code) => {
            let Some(key) = state.store.totp_secret(user, true).await? else {
                return Ok(false);
            };
            let now = state.store.clock().now().as_second();
            match totp::matching_step(key.secret.expose_secret(), code.expose_secret(), now) {
                Some(step) => Ok(state.store.use_totp_step(user, step).await?),
                None => Ok(false),
            }
        }
        Factor::Recovery(code) => {
            let Some(key) = state.store.totp_secret(user, true).await? else {
                return Ok(false);
            };
            let hash = recovery_hash(key.secret.expose_secret(), code.expose_secret());
            let used = state.store.use_recovery_code(user, &hash).await?;
            if used {
                let left = state.store.two_factor_status(user).await?.recovery_codes_left;
                audit::record(
                    state,
                    None,
                    Actor::User(user),
                    "auth.recovery_code.used",
                    format!("user:{user}"),
                    Some(addr),
                    &format!("recovery_codes_left={left}"),
                )
                .await;
            }
            Ok(used)
        }
    }
}

/// A recovery code as typed, compared without its dash, spaces or case.
fn normal_recovery_code(code: &str) -> String {
    code.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// A new recovery code: 50 random bits as two groups of five base32 characters.
fn new_recovery_code() -> SecretString {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).expect("randomness");
    let mut b32 = totp::base32(&bytes);
    let code = format!("{}-{}", &b32[..5], &b32[5..10]);
    bytes.zeroize();
    b32.zeroize();
    SecretString::from(code)
}

/// A person's recovery codes, made at once: the codes (shown once) and their SHA-256 (stored).
fn recovery_codes(key: &[u8]) -> (Vec<SecretString>, Vec<String>) {
    let codes: Vec<SecretString> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
    let hashes = codes
        .iter()
        .map(|c| recovery_hash(key, c.expose_secret()))
        .collect();
    (codes, hashes)
}

/// What is stored of a recovery code: its HMAC-SHA256 (hex) under the person's TOTP key, which is
/// sealed at rest, so a copy of the database alone cannot test guesses at the codes.
fn recovery_hash(key: &[u8], code: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(normal_recovery_code(code).as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// An enrolment begun: the key as an authenticator app takes it, typed (base32) or scanned (the
/// `otpauth://` URI, and its QR code as SVG drawn by Herald, for a page to show inline).
pub(crate) struct Setup {
    pub key: SecretString,
    pub uri: SecretString,
    pub qr_svg: SecretString,
}

/// The `otpauth://` label's account part, percent-encoded (everything but RFC 3986's unreserved).
fn label(email: &str) -> String {
    email
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn setup(email: &str, secret: &[u8]) -> ApiResult<Setup> {
    let key = totp::base32(secret);
    let uri = format!(
        "otpauth://totp/Herald:{}?secret={key}&issuer=Herald&algorithm=SHA1&digits={}&period={}",
        label(email),
        totp::DIGITS,
        totp::STEP_SECONDS
    );
    let mut drawn = qrcode::QrCode::new(uri.as_bytes())
        .map_err(|e| ApiError::internal(&e))?
        .render::<qrcode::render::svg::Color>()
        .min_dimensions(200, 200)
        .build();
    // Inline in a page: no XML declaration, and a name for screen readers.
    let inline = drawn
        .find("<svg")
        .map_or(drawn.as_str(), |at| &drawn[at..])
        .replacen(
            "<svg",
            "<svg role=\"img\" aria-label=\"QR code of your two-factor key\"",
            1,
        );
    drawn.zeroize();
    Ok(Setup {
        key: SecretString::from(key),
        uri: SecretString::from(uri),
        qr_svg: SecretString::from(inline),
    })
}

/// Begins an enrolment for the caller, a browser session that proved who it is in the last ten
/// minutes: a new random 160-bit key, stored sealed and pending (it signs nobody in) until
/// [`confirm`]; a key begun before and never confirmed is replaced. 409 `second_factor_on` when
/// it is on already.
pub(crate) async fn begin(state: &AppState, caller: &Caller) -> ApiResult<Setup> {
    require_fresh(state, caller, "setting up two-factor sign-in").await?;
    let mut raw = vec![0u8; totp::SECRET_BYTES];
    getrandom::fill(&mut raw).expect("randomness");
    let secret = SecretSlice::from(raw);
    state
        .store
        .begin_two_factor(caller.user, &secret)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => already_on(),
            other => other.into(),
        })?;
    let email = state.store.get_user(caller.user).await?.email;
    setup(&email, secret.expose_secret())
}

/// The enrolment waiting to be confirmed, shown again (after a wrong code), for a session that
/// proved who it is in the last ten minutes; `None` when there is none.
pub(crate) async fn pending_setup(state: &AppState, caller: &Caller) -> ApiResult<Option<Setup>> {
    require_fresh(state, caller, "setting up two-factor sign-in").await?;
    let Some(pending) = state.store.totp_secret(caller.user, false).await? else {
        return Ok(None);
    };
    let email = state.store.get_user(caller.user).await?.email;
    setup(&email, pending.secret.expose_secret()).map(Some)
}

/// Confirms the caller's enrolment with a code their app shows for the new key: two-factor
/// sign-in is on (that code's time step counts as used) and ten recovery codes are made, all in
/// one transaction; returns the codes, to be shown once. 422 `invalid_code` for another code.
pub(crate) async fn confirm(
    state: &AppState,
    caller: &Caller,
    code: &SecretString,
    addr: ClientAddr,
) -> ApiResult<Vec<SecretString>> {
    require_fresh(state, caller, "setting up two-factor sign-in").await?;
    let Some(pending) = state.store.totp_secret(caller.user, false).await? else {
        return Err(nothing_pending());
    };
    let now = state.store.clock().now().as_second();
    let Some(step) = totp::matching_step(pending.secret.expose_secret(), code.expose_secret(), now) else {
        return Err(ApiError::unprocessable(
            "invalid_code",
            "`code` is not the code your authenticator app shows for this key now; check that the device's clock is right and enter the current code",
        )
        .with("field", "code".into()));
    };
    let (codes, hashes) = recovery_codes(pending.secret.expose_secret());
    state
        .store
        .confirm_two_factor(caller.user, pending.since, step, &hashes)
        .await
        .map_err(|e| match e {
            StoreError::Conflict(_) => nothing_pending(),
            other => other.into(),
        })?;
    record_own(state, caller, addr, "auth.second_factor.enrolled", "totp").await;
    Ok(codes)
}

/// Replaces the caller's recovery codes with ten new ones (the old ones stop working), for a
/// session that proved who it is in the last ten minutes; returns them, to be shown once.
pub(crate) async fn regenerate(
    state: &AppState,
    caller: &Caller,
    addr: ClientAddr,
) -> ApiResult<Vec<SecretString>> {
    require_fresh(state, caller, "making new recovery codes").await?;
    let Some(key) = state.store.totp_secret(caller.user, true).await? else {
        return Err(second_factor_off());
    };
    let (codes, hashes) = recovery_codes(key.secret.expose_secret());
    state
        .store
        .replace_recovery_codes(caller.user, &hashes)
        .await
        .map_err(|e| match e {
            StoreError::NotFound => second_factor_off(),
            other => other.into(),
        })?;
    record_own(
        state,
        caller,
        addr,
        "auth.recovery_codes.regenerated",
        &format!("codes={RECOVERY_CODES}"),
    )
    .await;
    Ok(codes)
}

/// Turns the caller's two-factor sign-in off (key, recovery codes, waiting sign-ins), for a
/// session that proved who it is in the last ten minutes. Returns whether it was on or begun.
pub(crate) async fn disable(state: &AppState, caller: &Caller, addr: ClientAddr) -> ApiResult<bool> {
    require_fresh(state, caller, "turning two-factor sign-in off").await?;
    let removed = state.store.reset_two_factor(caller.user).await?;
    if removed {
        record_own(state, caller, addr, "auth.second_factor.disabled", "").await;
    }
    Ok(removed)
}

/// Records what the caller did to their own sign-in, in the instance's audit chain.
async fn record_own(state: &AppState, caller: &Caller, addr: ClientAddr, action: &str, detail: &str) {
    let target = format!("user:{}", caller.user);
    audit::record(
        state,
        None,
        audit::actor(caller),
        action,
        target,
        Some(addr),
        detail,
    )
    .await;
}

/// Refuses a sensitive change (the password, API tokens, two-factor sign-in) unless the caller is
/// a browser session that proved who it is (its password, and its second factor where it has
/// one) within the last ten minutes: 403 `session_required` for an API token, 403
/// `reauthentication_required` for a session that has not lately.
pub(crate) async fn require_fresh(state: &AppState, caller: &Caller, what: &str) -> ApiResult<()> {
    let session = caller.require_session(what)?;
    let at = state
        .store
        .session_reauthenticated_at(caller.user, session)
        .await?;
    let now = state.store.clock().now().as_microsecond();
    if at.is_some_and(|at| now - at <= REAUTH_WINDOW) {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        REAUTHENTICATION_REQUIRED,
        format!(
            "{what} needs you to confirm who you are first: enter your password again (`POST /api/v1/auth/reauthenticate`, or the page /reauth); that holds for ten minutes"
        ),
    ))
}

/// Re-authenticates the caller's session: its password (guesses throttled as signing in is) and,
/// where the person has one, their second factor. Returns how they proved it.
pub(crate) async fn reauthenticate(
    state: &AppState,
    caller: &Caller,
    password: SecretString,
    factor: Option<Factor>,
    addr: ClientAddr,
) -> ApiResult<&'static str> {
    let session = caller.require_session("re-authenticating")?;
    let email = state.store.get_user(caller.user).await?.email;
    let hash = state.store.password_hash(caller.user).await?;
    let slot = state.hashing.reserve().await?;
    let attempt = throttle::check(state, &email, addr.0).await?;
    let target = format!("user:{}", caller.user);
    if !state.hashing.verify(slot, password, hash).await? {
        throttle::failed(state, &attempt).await?;
        audit::record(
            state,
            None,
            audit::actor(caller),
            "auth.reauthentication_failed",
            target,
            Some(addr),
            "wrong_password",
        )
        .await;
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_password",
            "`password` is not your password",
        )
        .with("field", "password".into()));
    }
    let proved = second_factor(state, caller.user, &attempt, factor, audit::actor(caller), addr).await?;
    let Some(method) = proved else {
        return Err(second_factor_required());
    };
    throttle::succeeded(state, &attempt).await?;
    state
        .store
        .mark_reauthenticated(caller.user, session)
        .await
        .map_err(ApiError::missing("session"))?;
    audit::record(
        state,
        None,
        audit::actor(caller),
        "auth.reauthenticated",
        target,
        Some(addr),
        method,
    )
    .await;
    Ok(method)
}

/// Whether the gate applies to `path`: everything but what enrolling needs.
fn gated(path: &str) -> bool {
    !OPEN_WHILE_ENROLLING.iter().any(|open| {
        path.strip_prefix(open)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    })
}

/// Whether the person must enrol now and has no second factor: a workspace they belong to
/// requires it of everyone, or Herald is served over https and they own or administer one.
pub(crate) async fn enrolment_required(state: &AppState, user: UserId) -> ApiResult<bool> {
    Ok(state
        .store
        .second_factor_missing(user, state.config.https())
        .await?)
}

/// The gate a browser session passes on every request (where the session cookie is read, in
/// [`Caller`]): where Herald is served over https, an owner or admin without a second factor
/// reaches only enrolling (and signing out) until they enrol; anything else is 403
/// `second_factor_enrolment_required`, which pages turn into the way to the enrolment page.
pub(crate) async fn enrolment_gate(state: &AppState, user: UserId, path: &str) -> ApiResult<()> {
    if !gated(path) || !enrolment_required(state, user).await? {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::FORBIDDEN,
        ENROLMENT_REQUIRED,
        format!(
            "two-factor sign-in is required of you here (of workspace owners and admins over https, and of everyone in a workspace that asks for it): set it up first ({ENROLMENT_PAGE}, or `POST /api/v1/auth/two-factor`)"
        ),
    ))
}

/// What a request refused by [`enrolment_gate`] before its handler ran gets: a page address
/// goes to the enrolment page, anything under `/api/` gets the 403.
pub(crate) fn enrolment_response(uri: &Uri, e: ApiError) -> Response {
    if uri.path().starts_with("/api/") {
        e.into_response()
    } else {
        crate::web::see_other(ENROLMENT_PAGE, None)
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Confirmation {
    code: SecretString,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Reauthentication {
    password: SecretString,
    code: Option<SecretString>,
    recovery_code: Option<SecretString>,
}

/// Recovery codes as JSON, with what to do with them.
fn codes_json(codes: &[SecretString]) -> serde_json::Value {
    let codes: Vec<&str> = codes.iter().map(|c| c.expose_secret()).collect();
    json!({
        "recovery_codes": codes,
        "note": "Store these recovery codes now, somewhere apart from your device: each signs you in once without it, and Herald never shows them again.",
    })
}

/// `GET /auth/two-factor` (whether it is on, since when, recovery codes left, whether this
/// Herald requires it of you), `POST` (begin: the key, its `otpauth://` URI and QR code) and
/// `DELETE` (turn it off); from a browser session.
pub(crate) fn route() -> MethodRouter<AppState> {
    get(|State(state): State<AppState>, caller: Caller| async move {
        caller.require_session("two-factor sign-in")?;
        let s = state.store.two_factor_status(caller.user).await?;
        let required = enrolment_required(&state, caller.user).await?;
        Ok::<_, ApiError>(axum::Json(json!({
            "enrolled": s.enabled_at.is_some(), "enrolled_at": s.enabled_at.map(rfc3339),
            "recovery_codes_left": s.recovery_codes_left, "required": required,
        })))
    })
    .post(|State(state): State<AppState>, caller: Caller| async move {
        let s = begin(&state, &caller).await?;
        let body = json!({
            "secret": s.key.expose_secret(), "otpauth_uri": s.uri.expose_secret(),
            "qr_svg": s.qr_svg.expose_secret(),
            "note": "Add the key to an authenticator app (scan the QR code, or type the secret), then confirm with the code it shows: POST /api/v1/auth/two-factor/confirm.",
        });
        Ok::<_, ApiError>((StatusCode::CREATED, axum::Json(body)))
    })
    .delete(
        |State(state): State<AppState>, caller: Caller, addr: ClientAddr| async move {
            disable(&state, &caller, addr).await?;
            Ok::<_, ApiError>(StatusCode::NO_CONTENT)
        },
    )
}

/// `POST /auth/two-factor/confirm` (`code`): two-factor sign-in on; the recovery codes, shown once.
pub(crate) fn confirm_route() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, caller: Caller, addr: ClientAddr, Body(c): Body<Confirmation>| async move {
            let codes = confirm(&state, &caller, &c.code, addr).await?;
            let mut body = codes_json(&codes);
            body["status"] = json!("enrolled");
            Ok::<_, ApiError>(axum::Json(body))
        },
    )
}

/// `POST /auth/two-factor/recovery-codes`: ten new recovery codes, shown once.
pub(crate) fn recovery_codes_route() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, caller: Caller, addr: ClientAddr| async move {
            let codes = regenerate(&state, &caller, addr).await?;
            Ok::<_, ApiError>(axum::Json(codes_json(&codes)))
        },
    )
}

/// `POST /auth/reauthenticate` (`password`, and `code` or `recovery_code` where the person has
/// a second factor): the session may make sensitive changes for ten minutes.
pub(crate) fn reauthenticate_route() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, caller: Caller, addr: ClientAddr, Body(r): Body<Reauthentication>| async move {
            let factor = Factor::from_fields(r.code, r.recovery_code);
            reauthenticate(&state, &caller, r.password, factor, addr).await?;
            let until = state.store.clock().now().as_microsecond() + REAUTH_WINDOW;
            Ok::<_, ApiError>(axum::Json(
                json!({"status": "reauthenticated", "valid_until": rfc3339(until)}),
            ))
        },
    )
}

/// Turns off two-factor sign-in of the account with `email`, for an instance administrator on
/// the server (`herald users reset-2fa`: the person lost their device and their recovery codes);
/// audited in the instance chain as the command line. Returns whether it was on (or begun).
pub async fn reset_two_factor(store: &Store, email: &str) -> Result<bool, String> {
    let email = email.trim().to_lowercase();
    let user = match store.find_login(&email).await {
        Ok(Some((user, _))) => user,
        Ok(None) => return Err(format!("no account has the email {email}")),
        Err(e) => return Err(e.to_string()),
    };
    let removed = store.reset_two_factor(user).await.map_err(|e| e.to_string())?;
    if removed {
        store
            .audit_after(NewAudit {
                workspace: None,
                actor: Actor::Cli,
                action: "auth.second_factor.reset",
                target: format!("user:{user}"),
                client: None,
                detail: String::new(),
            })
            .await;
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn everything_but_enrolling_and_signing_out_is_gated() {
        for open in [
            "/settings/two-factor",
            "/api/v1/auth/two-factor",
            "/api/v1/auth/two-factor/confirm",
            "/api/v1/auth/reauthenticate",
            "/reauth",
            "/logout",
            "/api/v1/auth/logout",
        ] {
            assert!(!gated(open), "{open}");
        }
        for closed in [
            "/",
            "/settings",
            "/settings/two-factorial",
            "/api/v1/me",
            "/api/v1/tokens",
            "/reauthx",
        ] {
            assert!(gated(closed), "{closed}");
        }
    }

    #[test]
    fn the_otpauth_label_percent_encodes_the_email_and_the_key_is_unpadded_base32() {
        assert_eq!(label("a.b+c@example.com"), "a.b%2Bc%40example.com");
        let s = setup("a@example.com", b"12345678901234567890").unwrap();
        assert_eq!(
            s.uri.expose_secret(),
            "otpauth://totp/Herald:a%40example.com?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Herald&algorithm=SHA1&digits=6&period=30"
        );
        let svg = s.qr_svg.expose_secret();
        assert!(svg.starts_with("<svg role=\"img\""), "{svg}");
        assert!(
            !svg.contains("<?xml") && !svg.contains("style="),
            "inline, no style: {svg}"
        );
    }

    #[test]
    fn recovery_codes_are_ten_distinct_and_compared_without_dashes_or_case() {
        let key = b"12345678901234567890";
        let (codes, hashes) = recovery_codes(key);
        assert_eq!((codes.len(), hashes.len()), (RECOVERY_CODES, RECOVERY_CODES));
        let mut unique = hashes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), RECOVERY_CODES);
        let code = codes[0].expose_secret();
        assert_eq!(code.len(), 11, "{code}");
        assert_eq!(
            recovery_hash(key, &code.to_lowercase().replace('-', " ")),
            hashes[0]
        );
        assert_ne!(
            recovery_hash(b"another person's key", code),
            hashes[0],
            "keyed per person"
        );
    }
}
