//! Connections started without a browser session (with an API token): bound to no browser, their
//! consent URL could be completed by anyone. So the callback connects nothing: it exchanges the code
//! at once (codes live for seconds on some platforms), seals what it got for ten minutes, marks the
//! browser with a cookie, and sends it to a Herald page that names the account and the workspace.
//! Only the user who started the connection, signed in in that same browser, can confirm it; anyone
//! else's visit ends it. Unconfirmed, it expires and its tokens are revoked where the platform allows.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use herald_domain::PendingConnectionId;
use herald_domain::platform::Platform;
use herald_platforms::{Exchanged, Grant, PersonGrant, PlatformError, RenewBy};
use herald_store::{NewPending, OAuthStateRow, PendingRow};
use jiff::Timestamp;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;

use crate::AppState;
use crate::auth::{Caller, cookie, hash_secret, random_secret};
use crate::connections::{complete, describe, escape, oauth_page, page, store_failed};
use crate::error::ApiError;
use crate::json::FormFields;

/// How long a connection waits for its confirmation.
const TTL_MINUTES: i64 = 10;

fn cookie_name(state: &AppState) -> &'static str {
    if state.config.https() {
        "__Host-herald_pending"
    } else {
        "herald_pending"
    }
}

/// What the platform gave, as sealed in the pending row.
#[derive(Deserialize)]
struct Held {
    kind: String,
    access_token: SecretString,
    issued_at: i64,
    expires_at: Option<i64>,
    scopes: Vec<String>,
    id: String,
    name: String,
    #[serde(default)]
    refresh_token: Option<SecretString>,
    /// A person's refresh token's fixed end (LinkedIn).
    #[serde(default)]
    refresh_until: Option<i64>,
}

fn seal(e: &Exchanged) -> SecretString {
    let (kind, token, issued, expires, scopes, id, name) = match e {
        Exchanged::Account(g) => (
            "account",
            &g.access_token,
            g.issued_at,
            g.expires_at,
            &g.scopes,
            &g.account_id,
            &g.handle,
        ),
        Exchanged::Person(g) => (
            "person",
            &g.access_token,
            g.issued_at,
            g.expires_at,
            &g.scopes,
            &g.user_id,
            &g.name,
        ),
    };
    let (renew, until) = match e {
        Exchanged::Account(g) => (g.renew.as_ref(), None),
        Exchanged::Person(g) => (g.renew.as_ref(), g.renew_until),
    };
    let v = json!({
        "kind": kind, "access_token": token.expose_secret(), "issued_at": issued.as_microsecond(),
        "expires_at": expires.map(|t| t.as_microsecond()), "scopes": scopes, "id": id, "name": name,
        "refresh_token": renew.map(|r| r.token.expose_secret()),
        "refresh_until": until.map(|t| t.as_microsecond()),
    });
    SecretString::from(v.to_string())
}

fn unseal(payload: &SecretString) -> Option<Exchanged> {
    let h: Held = serde_json::from_str(payload.expose_secret()).ok()?;
    let at = |us: i64| Timestamp::from_microsecond(us).ok();
    let (issued_at, expires_at) = (at(h.issued_at)?, h.expires_at.and_then(at));
    Some(match h.kind.as_str() {
        "account" => Exchanged::Account(Grant {
            access_token: h.access_token,
            issued_at,
            expires_at,
            scopes: h.scopes,
            account_id: h.id,
            handle: h.name,
            renew: h.refresh_token.map(|token| RenewBy { token }),
        }),
        _ => Exchanged::Person(PersonGrant {
            access_token: h.access_token,
            issued_at,
            expires_at,
            scopes: h.scopes,
            user_id: h.id,
            name: h.name,
            renew: h.refresh_token.map(|token| RenewBy { token }),
            renew_until: h.refresh_until.and_then(at),
        }),
    })
}

/// Holds what the callback got and sends the browser to the confirmation page.
pub(crate) async fn hold(
    state: &AppState,
    platform: Platform,
    row: &OAuthStateRow,
    exchanged: Exchanged,
) -> Result<Response, Response> {
    // A fresh secret, never one the browser offers (a planted cookie would be known to whoever
    // planted it); a second connection waiting in the same browser replaces the first.
    let name = cookie_name(state);
    let secret = random_secret();
    let expires = state.store.clock().now() + jiff::SignedDuration::from_mins(TTL_MINUTES);
    let id = state
        .store
        .insert_pending(NewPending {
            workspace: row.workspace,
            user: row.user,
            platform: platform.as_str(),
            sandbox: state.config.sandboxed(platform),
            browser_hash: &hash_secret(&secret),
            account: &describe(state, platform, &exchanged),
            payload: &seal(&exchanged),
            expires_at: expires.as_microsecond(),
        })
        .await
        .map_err(store_failed)?;
    let secure = if state.config.https() { "; Secure" } else { "" };
    let set = format!(
        "{name}={secret}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
        TTL_MINUTES * 60
    );
    let set = HeaderValue::from_str(&set).map_err(|e| store_failed_display(&e))?;
    let location = format!("/connections/pending/{id}");
    Ok((
        StatusCode::SEE_OTHER,
        [
            (
                header::LOCATION,
                HeaderValue::from_str(&location).map_err(|e| store_failed_display(&e))?,
            ),
            (header::SET_COOKIE, set),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")),
        ],
    )
        .into_response())
}

fn store_failed_display(e: &dyn std::fmt::Display) -> Response {
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        &ApiError::internal(e).message,
    )
}

/// Whether the tokens of `row` may go to the backend its platform has now (the one that issued
/// them): after a restart with other credentials or sandbox mode, they go nowhere.
fn same_backend(state: &AppState, row: &PendingRow, login: herald_domain::platform::Login) -> bool {
    state.config.backends.mismatch(login, row.sandbox).is_none()
}

/// Revokes what the platform gave, where its login offers a way; otherwise the token is simply
/// forgotten.
async fn revoke(state: &AppState, row: &PendingRow, exchanged: &Exchanged) {
    let Some(login) = Platform::parse(&row.platform).and_then(Platform::login) else {
        return;
    };
    if !same_backend(state, row, login) {
        return;
    }
    let (token, renew) = match exchanged {
        Exchanged::Account(g) => (&g.access_token, g.renew.as_ref().map(|r| &r.token)),
        Exchanged::Person(g) => (&g.access_token, g.renew.as_ref().map(|r| &r.token)),
    };
    match state.platforms.connector(login).revoke(token, renew).await {
        Ok(()) => {}
        Err(PlatformError::Unsupported(why)) => {
            tracing::debug!(%why, "an unconfirmed connection's token is forgotten")
        }
        Err(e) => tracing::warn!(error = %e, "revoking an unconfirmed connection at the platform failed"),
    }
}

/// Ends a pending connection unconfirmed: deleted, its tokens revoked where possible.
async fn end(state: &AppState, id: PendingConnectionId) -> Result<(), Response> {
    if let Some((row, payload)) = state.store.take_pending(id).await.map_err(store_failed)?
        && let Some(exchanged) = unseal(&payload)
    {
        revoke(state, &row, &exchanged).await;
    }
    Ok(())
}

/// Who may act on the pending connection here: its starter, signed in, in the browser that came
/// back from the platform. Anything else is answered with a page, and a stranger's visit ends it.
/// The pending connection, its platform, and the workspace's name and signed-in user's email.
async fn check(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    caller: Result<Caller, ApiError>,
) -> Result<(PendingRow, Platform, (String, String)), Response> {
    let gone = || {
        page(
            StatusCode::NOT_FOUND,
            "Connection not found",
            "This connection request is unknown, was already answered, or expired (they last 10 minutes). Start connecting again from Herald.",
        )
    };
    let id: PendingConnectionId = id.parse().map_err(|_| gone())?;
    let row = state
        .store
        .get_pending(id)
        .await
        .map_err(store_failed)?
        .ok_or_else(gone)?;
    let platform = Platform::parse(&row.platform).ok_or_else(gone)?;
    let here = cookie(headers, cookie_name(state)).map(|c| hash_secret(&c));
    if here.as_deref() != Some(row.browser_hash.as_str()) {
        return Err(page(
            StatusCode::FORBIDDEN,
            "Confirm in the browser you connected with",
            &format!(
                "This connection can only be confirmed in the browser that came back from {}. Nothing was connected.",
                platform.display_name()
            ),
        ));
    }
    let Some(caller) = caller.ok().filter(|c| c.session.is_some()) else {
        let next = format!("/connections/pending/{id}");
        let html = format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Herald: sign in to confirm</title>\
             <link rel=\"stylesheet\" href=\"{{{{herald.css}}}}\"></head><body><h1>Sign in to confirm</h1>\
             <p id=\"message\">A connection to {platform} is waiting for the Herald user who started it. Nothing is connected until they confirm it here.</p>\
             <p><a id=\"sign-in\" href=\"/login?next={next}\">Sign in to Herald</a></p></body></html>",
            platform = escape(platform.display_name()),
            next = escape(&url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()),
        );
        return Err(oauth_page(StatusCode::UNAUTHORIZED, &html));
    };
    let workspace = if caller.user == row.user {
        let user = state.store.get_user(caller.user).await.map_err(store_failed)?;
        let email = user.email;
        user.workspaces
            .into_iter()
            .find(|(ws, _, _)| *ws == row.workspace)
            .map(|(_, name, _)| (name, email))
    } else {
        None
    };
    let Some(workspace) = workspace else {
        // Another user's browser: this consent was not meant for them. End it so that nobody
        // can use what the platform gave.
        end(state, row.id).await?;
        return Err(page(
            StatusCode::FORBIDDEN,
            "Not connected",
            &format!(
                "This connection was started by another Herald user. Nothing was connected to any workspace, and the access {} gave was ended.",
                platform.display_name()
            ),
        ));
    };
    Ok((row, platform, workspace))
}

/// `GET` shows what would be connected where; `POST decision=confirm|cancel` answers it.
pub(crate) fn confirm() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>,
         Path(id): Path<String>,
         headers: HeaderMap,
         caller: Result<Caller, ApiError>| async move {
            let (row, _, (workspace, email)) = match check(&state, &id, &headers, caller).await {
                Ok(found) => found,
                Err(page) => return page,
            };
            let html = format!(
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Herald: confirm the connection</title>\
                 <link rel=\"stylesheet\" href=\"{{{{herald.css}}}}\"></head><body><h1>Confirm the connection</h1>\
                 <p id=\"message\">Connect <strong id=\"account\">{account}</strong> to the workspace <strong id=\"workspace\">{workspace}</strong>?</p>\
                 <p>You, <span id=\"user\">{email}</span>, started this connection with an API token. Confirm only if you just gave this consent yourself.</p>\
                 <form method=\"post\" action=\"/connections/pending/{id}\" class=\"actions\">\
                 <button type=\"submit\" name=\"decision\" value=\"confirm\">Connect</button>\
                 <button type=\"submit\" name=\"decision\" value=\"cancel\">Cancel</button></form></body></html>",
                account = escape(&row.account),
                workspace = escape(&workspace),
                email = escape(&email),
                id = row.id,
            );
            oauth_page(StatusCode::OK, &html)
        },
    )
    .post(
        |State(state): State<AppState>,
         Path(id): Path<String>,
         headers: HeaderMap,
         caller: Result<Caller, ApiError>,
         FormFields(form): FormFields| async move {
            let (row, platform, _) = match check(&state, &id, &headers, caller).await {
                Ok(found) => found,
                Err(page) => return page,
            };
            let taken = match state.store.take_pending(row.id).await {
                Ok(Some((_, payload))) => unseal(&payload),
                Ok(None) => None,
                Err(e) => return store_failed(e),
            };
            let Some(exchanged) = taken else {
                return page(StatusCode::NOT_FOUND, "Connection not found", "This connection request was already answered.");
            };
            if form.get("decision").map(String::as_str) != Some("confirm") {
                revoke(&state, &row, &exchanged).await;
                return page(StatusCode::OK, "Not connected", "You cancelled: nothing was connected.");
            }
            if !platform.login().is_some_and(|l| same_backend(&state, &row, l)) {
                return page(
                    StatusCode::CONFLICT,
                    "Not connected",
                    "Herald's configuration for this platform changed since you gave your consent (the sandbox, or the platform's app). Start connecting again.",
                );
            }
            complete(&state, row.workspace, row.user, platform, exchanged)
                .await
                .unwrap_or_else(|r| r)
        },
    )
}

/// Ends the connections that waited too long, revoking their tokens where the platform allows.
pub(crate) async fn expire(state: &AppState) {
    match state.store.take_expired_pending().await {
        Ok(expired) => {
            for taken in expired {
                match taken {
                    Ok((row, payload)) => {
                        tracing::info!(pending = %row.id, platform = row.platform, "an unconfirmed connection expired");
                        if let Some(exchanged) = unseal(&payload) {
                            revoke(state, &row, &exchanged).await;
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "an expired pending connection could not be opened"),
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "ending expired pending connections failed"),
    }
}
