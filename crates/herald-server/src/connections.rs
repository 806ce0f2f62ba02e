//! Connecting a profile: the platform list, starting OAuth with a single-use `state`, and the callback.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use herald_domain::platform::{Feature, Login, PkceSupport, Platform};
use herald_domain::profile::{Backend, SecretKind};
use herald_domain::{ProfileId, UserId, WorkspaceId};
use herald_platforms::{Authorize, CodeExchange, Exchanged};
use herald_store::{NewOAuthState, NewProfile, OAuthStateRow};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::AppState;
use crate::auth::{Caller, cookie, hash_secret, random_secret};
use crate::error::ApiError;
use crate::json::{Body, rfc3339};

/// How long a person has to finish the platform's consent screen.
const STATE_TTL_MINUTES: i64 = 10;

/// The address of `path` on this Herald, under its public URL (which may have a path of its own).
pub(crate) fn public_link(state: &AppState, path: &str) -> String {
    let mut u = state.config.public_url.clone();
    let base = u.path().trim_end_matches('/').to_owned();
    u.set_path(&format!("{base}/{path}"));
    u.to_string()
}

/// Where a platform's (or a conversations login's) consent page sends the person back.
pub(crate) fn redirect_uri(state: &AppState, segment: &str) -> String {
    public_link(state, &format!("oauth/{segment}/callback"))
}

fn pkce_json(p: Platform) -> serde_json::Value {
    match p.pkce() {
        PkceSupport::S256 => json!({"supported": true, "method": "S256"}),
        PkceSupport::Unsupported(why) => json!({"supported": false, "reason": why}),
    }
}

pub(crate) fn platforms() -> MethodRouter<AppState> {
    get(|State(state): State<AppState>| async move {
        let data: Vec<_> = Platform::ALL
            .iter()
            .map(|p| {
                let l = herald_domain::rules::limits(*p);
                json!({
                    "id": p.as_str(),
                    "name": p.display_name(),
                    "available": p.is_available(),
                    "sandbox": state.config.sandboxed(*p),
                    "backend": state.config.backend(*p),
                    "pkce": pkce_json(*p),
                    "capabilities": if p.is_available() { json!(["publish", "comments", "metrics"]) } else { json!([]) },
                    "permissions": p.permissions(),
                    "limits": {
                        "text_max": l.text_max,
                        "text_counting": l.text_counting,
                        "hashtags_max": l.hashtags_max,
                        "mentions_max": l.mentions_max,
                        "image": l.image,
                        "video": l.video,
                    },
                    "kinds": l.kinds,
                    "options": l.options,
                    "threads": l.threads,
                    "unsupported": l.unsupported,
                })
            })
            .collect();
        axum::Json(json!({ "data": data }))
    })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Connect {
    platform: String,
}

pub(crate) fn start() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Caller, Path(ws): Path<String>| async move {
            Ok::<_, ApiError>(axum::Json(crate::choose::list(&state, &caller, &ws).await?))
        },
    )
    .post(
        |State(state): State<AppState>, caller: Caller, Path(ws): Path<String>, Body(c): Body<Connect>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            let Begun { platform, url, redirect, expires } = begin(&state, &caller, ws, &c.platform).await?;
            let body = json!({
                "platform": platform.as_str(),
                "authorize_url": url.as_str(),
                "redirect_uri": redirect,
                "expires_at": rfc3339(expires),
                "pkce": pkce_json(platform),
                "permissions": platform.permissions(),
            });
            Ok::<_, ApiError>((StatusCode::CREATED, axum::Json(body)))
        },
    )
}

/// A connection started: where to send the person, and until when the attempt is valid.
pub(crate) struct Begun {
    pub platform: Platform,
    pub url: url::Url,
    pub redirect: String,
    /// Microseconds.
    pub expires: i64,
}

/// Starts connecting `platform` for `caller` in `ws` (the API's `POST /connections` and the
/// connect page share it): a single-use state, PKCE where taken, and the consent URL.
pub(crate) async fn begin(
    state: &AppState,
    caller: &Caller,
    ws: WorkspaceId,
    platform: &str,
) -> Result<Begun, ApiError> {
    let platform = Platform::parse(platform).ok_or_else(|| {
        let known: Vec<_> = Platform::ALL.iter().map(|p| p.as_str()).collect();
        ApiError::unprocessable(
            "unknown_platform",
            format!("unknown platform `{}`; known: {}", platform, known.join(", ")),
        )
    })?;
    let Some(login) = platform.login() else {
        return Err(ApiError::unprocessable(
            "platform_unavailable",
            format!(
                "connecting {} is not available in this version of Herald",
                platform.display_name()
            ),
        ));
    };
    if state.config.backend(platform) == Backend::Unconfigured {
        let login = login.as_str().to_uppercase();
        return Err(ApiError::unprocessable(
            "platform_not_configured",
            format!(
                "{} has no app credentials on this Herald and the sandbox is off: set HERALD_{login}_CLIENT_ID and HERALD_{login}_CLIENT_SECRET (docs/PLATFORMS.md)",
                platform.display_name()
            ),
        ));
    }
    let (url, redirect, expires) = authorize(
        state,
        caller,
        ws,
        Authorization {
            login,
            segment: platform.as_str(),
            scopes: platform.permissions(),
            pkce: platform.pkce(),
            profile: None,
        },
    )
    .await?;
    Ok(Begun {
        platform,
        url,
        redirect,
        expires,
    })
}

/// An authorization to ask a login for: what the callback is named by (`segment`), what to ask,
/// and the profile it adds a conversations login to, if that is what it is for.
pub(crate) struct Authorization {
    pub login: Login,
    pub segment: &'static str,
    pub scopes: &'static [herald_domain::platform::Permission],
    pub pkce: PkceSupport,
    pub profile: Option<ProfileId>,
}

/// Stores a single-use state (and a PKCE verifier where the login takes one) and returns the
/// consent page's URL, the redirect URI, and the attempt's end (microseconds).
pub(crate) async fn authorize(
    state: &AppState,
    caller: &Caller,
    ws: WorkspaceId,
    a: Authorization,
) -> Result<(url::Url, String, i64), ApiError> {
    let secret = random_secret();
    let redirect = redirect_uri(state, a.segment);
    let scopes: Vec<&str> = a.scopes.iter().map(|p| p.scope).collect();
    // PKCE S256 wherever the login takes it.
    let verifier = (a.pkce == PkceSupport::S256).then(|| SecretString::from(random_secret()));
    let expires = state.store.clock().now() + jiff::SignedDuration::from_mins(STATE_TTL_MINUTES);
    state
        .store
        .insert_oauth_state(NewOAuthState {
            state_hash: &hash_secret(&secret),
            workspace: ws,
            user: caller.user,
            session_hash: caller.session_hash.as_deref(),
            platform: a.segment,
            redirect_uri: &redirect,
            pkce_verifier: verifier.as_ref(),
            scopes: &scopes.join(","),
            expires_at: expires.as_microsecond(),
            profile: a.profile,
        })
        .await?;
    let challenge = verifier
        .as_ref()
        .map(|v| URL_SAFE_NO_PAD.encode(Sha256::digest(v.expose_secret().as_bytes())));
    let url = state.platforms.connector(a.login).authorize_url(&Authorize {
        state: &secret,
        redirect_uri: &redirect,
        scopes: &scopes,
        pkce_challenge: challenge.as_deref(),
    });
    Ok((url, redirect, expires.as_microsecond()))
}

/// A page about a connection, for the person in the browser: never cached, and it sends no
/// `Referer` (its address may carry an authorization code).
pub(crate) fn page(status: StatusCode, title: &str, message: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Herald: {t}</title>\
         <link rel=\"stylesheet\" href=\"{{{{herald.css}}}}\"></head>\
         <body><h1>{t}</h1><p id=\"message\">{m}</p><p><a id=\"back\" href=\"/profiles\">Back to your profiles</a></p></body></html>",
        t = escape(title),
        m = escape(message)
    );
    oauth_page(status, &html)
}

/// Escapes text for HTML.
pub(crate) fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// An HTML page of the OAuth flow: `no-store`, `no-referrer`.
pub(crate) fn oauth_page(status: StatusCode, html: &str) -> Response {
    (
        status,
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        crate::assets::page(html),
    )
        .into_response()
}

pub(crate) fn callback() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>,
         Path(platform): Path<String>,
         Query(q): Query<HashMap<String, String>>,
         headers: HeaderMap| async move {
            finish(&state, &platform, &q, &headers)
                .await
                .unwrap_or_else(|r| r)
        },
    )
}

async fn finish(
    state: &AppState,
    segment: &str,
    q: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<Response, Response> {
    let bad = |m: &str| page(StatusCode::BAD_REQUEST, "Connection not completed", m);
    // A login that connects no platform of its own adds conversations to a profile.
    if let Some(login) = Login::parse(segment).filter(|_| Platform::parse(segment).is_none()) {
        let (row, code) = authorized(state, segment, login.display_name(), q, headers).await?;
        return crate::conversations::finish(state, login, &row, code).await;
    }
    let platform =
        Platform::parse(segment).ok_or_else(|| bad("Unknown platform in the callback address."))?;
    let (row, code) = authorized(state, platform.as_str(), platform.display_name(), q, headers).await?;
    if row.profile.is_some() {
        return Err(bad(
            "This callback does not match the platform the connection was started for.",
        ));
    }
    // The code lives for seconds on some platforms: exchanged now, whatever happens next.
    let exchanged = exchange(state, platform, &row, code).await?;
    if row.session_hash.is_none() {
        // Started with an API token, so bound to no browser: nothing is connected until the same
        // user, signed in in this browser, confirms it.
        return crate::pending::hold(state, platform, &row, exchanged).await;
    }
    complete(state, row.workspace, row.user, platform, exchanged).await
}

/// The checks every callback makes: the single-use state (taken now, whatever follows), its
/// time, the callback it was started for, the browser it was started in, and the platform's own
/// refusal; the state's record and the authorization code.
async fn authorized<'q>(
    state: &AppState,
    segment: &str,
    name: &str,
    q: &'q HashMap<String, String>,
    headers: &HeaderMap,
) -> Result<(OAuthStateRow, &'q str), Response> {
    let bad = |m: &str| page(StatusCode::BAD_REQUEST, "Connection not completed", m);
    let secret = q.get("state").filter(|s| !s.is_empty()).ok_or_else(|| {
        bad("The platform did not send back the `state` Herald gave it. Start connecting again from Herald.")
    })?;
    let row = state
        .store
        .take_oauth_state(&hash_secret(secret))
        .await
        .map_err(|e| {
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                &ApiError::internal(&e).message,
            )
        })?
        .ok_or_else(|| {
            bad("This connection link is unknown or was already used. Start connecting again from Herald.")
        })?;
    if row.expires_at < state.store.clock().now().as_microsecond() {
        return Err(bad(
            "This connection attempt expired (they last 10 minutes). Start connecting again from Herald.",
        ));
    }
    if row.platform != segment {
        return Err(bad(
            "This callback does not match the platform the connection was started for.",
        ));
    }
    if let Some(expected) = &row.session_hash {
        let here = cookie(headers, state.config.session_cookie()).map(|c| hash_secret(&c));
        if here.as_ref() != Some(expected) {
            return Err(bad(
                "This connection was started in another browser session. Start connecting again from this browser.",
            ));
        }
    }
    if let Some(err) = q.get("error") {
        let why = q.get("error_description").map(String::as_str).unwrap_or(err);
        let title = if err == "access_denied" {
            "Access not granted"
        } else {
            "Connection not completed"
        };
        return Err(page(
            StatusCode::BAD_REQUEST,
            title,
            &format!(
                "{name} said: {}. Nothing was connected.",
                why.trim_end_matches('.')
            ),
        ));
    }
    let code = q
        .get("code")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| bad("The platform sent no authorization code. Start connecting again from Herald."))?;
    Ok((row, code.as_str()))
}

/// The account (or the person and what their grant covers) a code exchange gave, as a person reads it.
pub(crate) fn describe(state: &AppState, platform: Platform, exchanged: &Exchanged) -> String {
    match (exchanged, platform.login()) {
        (Exchanged::Person(g), Some(login)) => format!(
            "{} on {} ({})",
            g.name,
            login.display_name(),
            state.platforms.connector(login).covers()
        ),
        (Exchanged::Person(g), None) => g.name.clone(),
        (Exchanged::Account(g), _) => format!("@{} on {}", g.handle, platform.display_name()),
    }
}

async fn exchange(
    state: &AppState,
    platform: Platform,
    row: &OAuthStateRow,
    code: &str,
) -> Result<Exchanged, Response> {
    let login = platform
        .login()
        .ok_or_else(|| exchange_failed(platform.display_name(), &unavailable(platform)))?;
    if platform.pkce() == PkceSupport::S256 && row.pkce_verifier.is_none() {
        return Err(page(
            StatusCode::BAD_REQUEST,
            "Connection not completed",
            "This connection attempt has no PKCE verifier. Start connecting again from Herald.",
        ));
    }
    let requested: Vec<&str> = row.scopes.split(',').collect();
    state
        .platforms
        .connector(login)
        .exchange(CodeExchange {
            code,
            redirect_uri: &row.redirect_uri,
            requested: &requested,
            pkce_verifier: row.pkce_verifier.as_ref(),
            now: state.store.clock().now(),
        })
        .await
        .map_err(|e| exchange_failed(platform.display_name(), &e))
}

fn unavailable(platform: Platform) -> herald_platforms::PlatformError {
    herald_platforms::PlatformError::Unsupported(format!(
        "connecting {} is not available in this version of Herald",
        platform.display_name()
    ))
}

/// Turns what the platform gave into profiles (or a grant to choose from) of `ws`.
pub(crate) async fn complete(
    state: &AppState,
    ws: WorkspaceId,
    user: UserId,
    platform: Platform,
    exchanged: Exchanged,
) -> Result<Response, Response> {
    let login = platform
        .login()
        .ok_or_else(|| exchange_failed(platform.display_name(), &unavailable(platform)))?;
    match exchanged {
        Exchanged::Person(g) => crate::choose::complete_person(state, ws, user, login, g).await,
        Exchanged::Account(g) => complete_account(state, ws, user, platform, login, g).await,
    }
}

/// Renders a failed code exchange for the person in the browser.
pub(crate) fn exchange_failed(name: &str, e: &herald_platforms::PlatformError) -> Response {
    tracing::warn!(platform = name, error = %e, "code exchange failed");
    page(
        StatusCode::BAD_GATEWAY,
        "Connection not completed",
        &format!("{name} refused to finish the connection: {e}"),
    )
}

/// Renders a storage failure for the person in the browser (the cause is logged with an id).
pub(crate) fn store_failed(e: herald_store::StoreError) -> Response {
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        &ApiError::internal(&e).message,
    )
}

/// Saves a connected profile and its tokens (the refresh token too, where the login gave one);
/// posts that waited for it go out now if they are still inside their catch-up window (the
/// others become `missed`). Returns the profile and how many posts were requeued.
pub(crate) async fn save_profile(
    state: &AppState,
    profile: NewProfile<'_>,
    token: &SecretString,
    renew: Option<&SecretString>,
    by: herald_store::Actor,
) -> Result<(ProfileId, u64), herald_store::StoreError> {
    let ws = profile.workspace;
    let platform = profile.platform.to_owned();
    let id = state.store.upsert_profile(profile).await?;
    state
        .store
        .put_secret(ws, id, SecretKind::AccessToken, token.expose_secret())
        .await?;
    match renew {
        Some(renew) => {
            state
                .store
                .put_secret(ws, id, SecretKind::RefreshToken, renew.expose_secret())
                .await?
        }
        // A login that gave no refresh token this time leaves none of an earlier one behind.
        None => {
            state
                .store
                .delete_secret(ws, id, SecretKind::RefreshToken)
                .await?
        }
    }
    tracing::info!(profile = %id, platform, "profile connected");
    crate::audit::record(
        state,
        Some(ws),
        by,
        "profile.connected",
        format!("profile:{id}"),
        None,
        &platform,
    )
    .await;
    crate::engagement::remember_live_facts(state, ws, id).await;
    let requeued = state.store.requeue_after_reconnect(ws, id).await?;
    if requeued > 0 {
        state.wake.notify_one();
    }
    Ok((id, requeued))
}

/// A login that gives one account: it becomes (or updates) a profile at once.
async fn complete_account(
    state: &AppState,
    ws: WorkspaceId,
    user: UserId,
    platform: Platform,
    login: Login,
    grant: herald_platforms::Grant,
) -> Result<Response, Response> {
    let (_, requeued) = save_profile(
        state,
        NewProfile {
            workspace: ws,
            platform: platform.as_str(),
            external_id: &grant.account_id,
            handle: &grant.handle,
            granted_scopes: &grant.scopes,
            token_issued_at: grant.issued_at.as_microsecond(),
            token_expires_at: grant.expires_at.map(|t| t.as_microsecond()),
            sandbox: state.config.sandboxed(platform),
            login,
            grant: None,
            reconnect_by: None,
        },
        &grant.access_token,
        grant.renew.as_ref().map(|r| &r.token),
        herald_store::Actor::User(user),
    )
    .await
    .map_err(store_failed)?;
    let missing = platform.missing_for(login, Feature::Publish, &grant.scopes);
    let message = if missing.is_empty() {
        format!(
            "@{} on {} is connected. Herald can publish to it.",
            grant.handle,
            platform.display_name()
        )
    } else {
        format!(
            "@{} on {} is connected, but publishing is unavailable: the permission {} was not granted. Reconnect and allow it to publish.",
            grant.handle,
            platform.display_name(),
            missing.join(", ")
        )
    };
    let message = match requeued {
        0 => message,
        n => format!("{message} {n} post(s) that were waiting for this connection will be published now."),
    };
    Ok(page(StatusCode::OK, "Connected", &message))
}
