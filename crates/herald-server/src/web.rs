//! The web app's pages: `/` (the dashboard with what needs the person, or the sign-in page for a
//! browser without a session), sign-up, sign-out, the profiles page, connecting, choosing accounts
//! and disconnecting a profile, marking notifications read, and the error pages. Templates are
//! askama's, checked at compile time; each page calls the same application code as its API route
//! (`accounts::sign_up`, `sign_out`, `profiles::disconnect`, the store's scoped queries).

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use herald_domain::WorkspaceId;
use herald_domain::delivery::DeliveryStatus;
use herald_domain::platform::{Feature, Platform};
use herald_domain::profile::{Backend, ReconnectReason};
use herald_store::PostFilter;
use jiff::SignedDuration;
use secrecy::SecretString;

use crate::AppState;
use crate::accounts::{sign_out, sign_up};
use crate::auth::Caller;
use crate::client::ClientAddr;
use crate::connections::{begin, oauth_page};
use crate::error::ApiError;
use crate::json::FormFields;

/// How far ahead the dashboard lists scheduled posts.
const UPCOMING_DAYS: i64 = 7;
/// The most upcoming posts the dashboard lists.
const UPCOMING_MAX: i64 = 20;

/// A rendered page: never cached (it may hold personal data), and it sends no `Referer`.
pub(crate) fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => oauth_page(status, &html),
        Err(e) => ApiError::internal(&e).into_response(),
    }
}

/// An API error's message as a sentence on a page (no code formatting, a capital first letter).
pub(crate) fn sentence(e: &ApiError) -> String {
    let plain = e.message.replace('`', "");
    let mut chars = plain.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => plain,
    }
}

pub(crate) fn see_other(to: &str, cookie: Option<String>) -> Response {
    let mut res = (StatusCode::SEE_OTHER, [(header::LOCATION, to.to_owned())]).into_response();
    if let Some(c) = cookie.and_then(|c| c.parse().ok()) {
        res.headers_mut().insert(header::SET_COOKIE, c);
    }
    res
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    status: u16,
    title: &'static str,
    message: String,
    request_id: Option<String>,
}

/// An error as a page: a sentence saying what happened and what to do, and for a failure on
/// Herald's side the request id to quote (its cause is in the log, never on the page).
pub(crate) fn error_page(e: &ApiError) -> Response {
    let request_id = match &e.details {
        Some(("request_id", v)) => v.as_str().map(str::to_owned),
        _ => None,
    };
    let (title, message) = match e.status {
        StatusCode::NOT_FOUND => (
            "Not found",
            "There is nothing here, or it belongs to another workspace. Check the address, or go back to the dashboard.".to_owned(),
        ),
        s if s.is_server_error() => (
            "Something went wrong",
            "Herald could not finish this on its side. Check whether what you did took effect before trying again; if it happens again, give your administrator the request id below.".to_owned(),
        ),
        _ => ("That did not work", sentence(e)),
    };
    let page = ErrorPage {
        status: e.status.as_u16(),
        title,
        message,
        request_id,
    };
    let mut res = render(e.status, &page);
    if let Some(s) = e.retry_after {
        res.headers_mut().insert(header::RETRY_AFTER, s.into());
    }
    res
}

/// What Herald answers for an address it does not serve: a page for a browser's page address, the
/// API's JSON error for everything under `/api/` (and for clients that do not ask for HTML).
pub(crate) async fn not_found(uri: axum::http::Uri, headers: HeaderMap) -> Response {
    crate::access::respond(&uri, &headers, ApiError::not_found("route"))
}

#[derive(Template)]
#[template(path = "signin.html")]
pub(crate) struct SignIn<'a> {
    pub next: &'a str,
    pub email: &'a str,
    pub error: Option<String>,
    pub signup_open: bool,
}

#[derive(Template)]
#[template(path = "signup.html")]
struct SignUp<'a> {
    email: &'a str,
    /// The secret of the invitation the person signs up through, carried in a hidden field.
    invitation: &'a str,
    /// Whether the setup code's field shows: the instance has no account and Herald printed one.
    setup: bool,
    setup_error: Option<String>,
    email_error: Option<String>,
    password_error: Option<String>,
    error: Option<String>,
}

/// A profile as the dashboard lists it.
struct ProfileLine {
    handle: String,
    platform: &'static str,
    status: &'static str,
    sandbox: bool,
}

/// A post due soon, at its time in its own zone.
struct Upcoming {
    id: String,
    at_utc: String,
    at_local: String,
    text: String,
}

/// Something that needs the person, with where to act on it.
struct Need {
    message: String,
    when: String,
    link: String,
    action: &'static str,
}

/// How many posts wait for the person in one status.
struct Waiting {
    status: &'static str,
    words: &'static str,
    count: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    email: String,
    workspace: String,
    profiles: Vec<ProfileLine>,
    upcoming: Vec<Upcoming>,
    needs: Vec<Need>,
    waiting: Vec<Waiting>,
}

/// The most unread notifications the dashboard lists.
const NEEDS_MAX: i64 = 20;
/// The most posts the dashboard counts per waiting status ("50+" beyond).
const WAITING_COUNT_MAX: i64 = 50;

/// Where a notification's page is, and what to do there.
fn where_to_act(subject_type: &str, subject_id: &str) -> (String, &'static str) {
    match subject_type {
        "post" => (format!("/posts/{subject_id}"), "Open the post"),
        _ => ("/profiles".to_owned(), "Reconnect on the profiles page"),
    }
}

/// The first `n` characters of a post's text, for a list.
pub(crate) fn excerpt(text: &str, n: usize) -> String {
    let mut out: String = text.chars().take(n).collect();
    if text.chars().count() > n {
        out.push('…');
    }
    out
}

async fn dashboard(state: &AppState, me: Me) -> Result<Response, ApiError> {
    let Me {
        email,
        ws,
        workspace,
        caller,
        ..
    } = me;
    let me_user = caller.user;
    let profiles = state
        .store
        .list_profiles(ws)
        .await?
        .into_iter()
        .map(|p| ProfileLine {
            handle: p.handle,
            platform: p.platform.display_name(),
            status: p.state.as_str(),
            sandbox: p.sandbox,
        })
        .collect();
    let now = state.store.clock().now();
    let filter = PostFilter {
        status: Some(DeliveryStatus::Scheduled),
        from: Some(now.as_microsecond()),
        to: Some((now + SignedDuration::from_hours(24 * UPCOMING_DAYS)).as_microsecond()),
        after: None,
        profile: None,
        limit: UPCOMING_MAX,
    };
    let upcoming = state
        .store
        .list_posts(ws, &filter)
        .await?
        .into_iter()
        .map(|p| {
            let at = herald_domain::clock::from_micros(p.scheduled_at);
            let local = at
                .in_tz(&p.time_zone)
                .map(|z| z.strftime("%a %-d %b %H:%M").to_string())
                .unwrap_or_else(|_| at.to_string());
            Upcoming {
                id: p.id.to_string(),
                at_utc: at.to_string(),
                at_local: format!("{local} ({})", p.time_zone),
                text: excerpt(&p.text, 80),
            }
        })
        .collect();
    let needs = state
        .store
        .notifications(ws, me_user, true, NEEDS_MAX)
        .await?
        .into_iter()
        .map(|n| {
            let (link, action) = where_to_act(&n.subject_type, &n.subject_id);
            Need {
                message: n.message,
                when: herald_domain::clock::from_micros(n.created_at)
                    .strftime("%Y-%m-%d %H:%M UTC")
                    .to_string(),
                link,
                action,
            }
        })
        .collect();
    let waiting = state
        .store
        .count_posts_by_status(
            ws,
            &[
                DeliveryStatus::PendingApproval,
                DeliveryStatus::Failed,
                DeliveryStatus::Unconfirmed,
                DeliveryStatus::Missed,
                DeliveryStatus::NeedsReconnect,
            ],
            WAITING_COUNT_MAX,
        )
        .await?
        .into_iter()
        .filter(|(_, n)| *n > 0)
        .map(|(status, n)| Waiting {
            status: status.as_str(),
            words: crate::post_page::status_words(status),
            count: if n == WAITING_COUNT_MAX {
                format!("{n}+")
            } else {
                n.to_string()
            },
        })
        .collect();
    let page = Dashboard {
        email,
        workspace,
        profiles,
        upcoming,
        needs,
        waiting,
    };
    Ok(render(StatusCode::OK, &page))
}

/// `GET /`: the dashboard for a signed-in browser, the sign-in page otherwise.
pub(crate) fn home() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>| async move {
            match signed_in(&state, caller, "/").await {
                Ok(me) => dashboard(&state, me).await.unwrap_or_else(|e| error_page(&e)),
                // Without a session, the sign-in form itself rather than a redirect to it.
                Err(r) if r.status() == StatusCode::SEE_OTHER => {
                    crate::pages::form(&state, StatusCode::OK, "/", "", None)
                }
                Err(r) => r,
            }
        },
    )
}

/// `GET /signup` shows the form (`?invitation={secret}`: signing up through an invitation, which
/// the account then accepts); `POST /signup` creates the account (as `POST /api/v1/auth/signup`
/// does) and goes to the dashboard, or shows the form again with the email kept and each error
/// beside its field.
pub(crate) fn signup() -> MethodRouter<AppState> {
    get(|State(state): State<AppState>, Query(q): Query<HashMap<String, String>>| async move {
        let setup = match needs_setup_code(&state).await {
            Ok(s) => s,
            Err(e) => return e.into_response(),
        };
        let page = SignUp {
            email: "",
            invitation: q.get("invitation").map_or("", String::as_str),
            setup,
            setup_error: None,
            email_error: None,
            password_error: None,
            error: None,
        };
        render(StatusCode::OK, &page)
    })
    .post(
        |State(state): State<AppState>,
         addr: ClientAddr,
         headers: HeaderMap,
         FormFields(f): FormFields| async move {
            let email = f.get("email").cloned().unwrap_or_default();
            let password = SecretString::from(f.get("password").cloned().unwrap_or_default());
            let invitation = f.get("invitation").map(String::as_str).filter(|s| !s.is_empty());
            let setup_code = f.get("setup_code").cloned().map(SecretString::from);
            match sign_up(&state, &email, password, invitation, setup_code.as_ref(), &headers, addr).await {
                Ok((.., cookie)) => see_other("/", cookie.to_str().ok().map(str::to_owned)),
                Err(e) => {
                    let mut page = SignUp {
                        email: &email,
                        invitation: invitation.unwrap_or_default(),
                        setup: needs_setup_code(&state).await.unwrap_or(true),
                        setup_error: None,
                        email_error: None,
                        password_error: None,
                        error: None,
                    };
                    let said = Some(sentence(&e));
                    match e.code {
                        "invalid_email" | "email_taken" => page.email_error = said,
                        "setup_code_required" | "setup_code_invalid" => page.setup_error = said,
                        code if code.starts_with("password_") => page.password_error = said,
                        _ => page.error = said,
                    }
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

/// Whether a sign-up here needs the setup code: Herald printed one and no account exists yet.
async fn needs_setup_code(state: &AppState) -> Result<bool, ApiError> {
    Ok(state.config.setup_code.is_some() && !state.store.instance_claimed().await?)
}

/// `POST /logout`: ends the session (as `POST /api/v1/auth/logout` does) and goes to sign-in.
pub(crate) fn logout() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, addr: ClientAddr, headers: HeaderMap| async move {
            match sign_out(&state, &headers, addr).await {
                Ok(clear) => see_other("/", Some(clear)),
                Err(e) => e.into_response(),
            }
        },
    )
}

/// The signed-in person (with a browser session) and their workspace.
pub(crate) struct Me {
    pub caller: Caller,
    pub email: String,
    /// The zone the person plans in, once known.
    pub time_zone: Option<String>,
    pub ws: WorkspaceId,
    pub workspace: String,
}

/// The signed-in person, or the way to the sign-in page (which returns to `here` after).
pub(crate) async fn signed_in(
    state: &AppState,
    caller: Result<Caller, ApiError>,
    here: &str,
) -> Result<Me, Response> {
    let caller = match caller {
        // An owner or admin who must set up two-factor sign-in first goes to do it.
        Err(e) if e.code == crate::two_factor::ENROLMENT_REQUIRED => {
            return Err(see_other(crate::two_factor::ENROLMENT_PAGE, None));
        }
        other => other.ok().filter(|c| c.session.is_some()),
    };
    let Some(caller) = caller else {
        return Err(see_other(&format!("/login?next={here}"), None));
    };
    let user = state
        .store
        .get_user(caller.user)
        .await
        .map_err(|e| error_page(&e.into()))?;
    // The workspace the access check let the page act in; else (a page open to any account) the
    // person's current one.
    let acting = caller.acting.map(|(ws, _)| ws);
    let mut workspaces = user.workspaces.into_iter();
    let found = match acting {
        Some(ws) => workspaces.find(|(id, ..)| *id == ws),
        None => workspaces.next(),
    };
    let Some((ws, workspace, _)) = found else {
        return Err(error_page(&ApiError::not_found("workspace")));
    };
    Ok(Me {
        caller,
        email: user.email,
        time_zone: user.time_zone,
        ws,
        workspace,
    })
}

/// A profile as the profiles page shows it: the API's status and missing permissions, in words.
struct ProfileCard {
    id: String,
    login: &'static str,
    handle: String,
    platform: &'static str,
    status: &'static str,
    reason: Option<&'static str>,
    reconnect_by: Option<String>,
    unavailable: Vec<String>,
    sandbox: bool,
    /// The login the profile adds for its comments, where its platform needs one.
    conversations: Option<ConversationsLine>,
}

/// A profile's comments login on the profiles page.
struct ConversationsLine {
    name: &'static str,
    status: String,
    added: bool,
}

/// A platform in the connect list: why it cannot be connected here, if it cannot.
struct Connectable {
    id: &'static str,
    name: &'static str,
    sandbox: bool,
    unavailable: Option<&'static str>,
}

/// A login that covers several accounts, to choose from again.
struct ConnectionLine {
    id: String,
    name: String,
    login: &'static str,
}

#[derive(Template)]
#[template(path = "profiles.html")]
struct Profiles {
    email: String,
    profiles: Vec<ProfileCard>,
    connections: Vec<ConnectionLine>,
    connectable: Vec<Connectable>,
}

/// `GET /profiles`: each profile with its status, what it needs, and the platforms to connect.
pub(crate) fn profiles() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>| async move {
            let Me { email, ws, .. } = match signed_in(&state, caller, "/profiles").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            let rows = match state.store.list_profiles(ws).await {
                Ok(rows) => rows,
                Err(e) => return error_page(&e.into()),
            };
            let connections = match state.store.list_grants(ws).await {
                Ok(grants) => grants
                    .into_iter()
                    .map(|g| ConnectionLine {
                        id: g.id.to_string(),
                        name: g.name,
                        login: g.login.display_name(),
                    })
                    .collect(),
                Err(e) => return error_page(&e.into()),
            };
            let at = crate::profiles::Moment::of(&state);
            let profiles = rows
                .iter()
                .map(|p| {
                    let (status, reason) = crate::profiles::status(p, at);
                    let unavailable = [Feature::Publish, Feature::Comments, Feature::Metrics]
                        .into_iter()
                        .filter_map(|f| {
                            let m = p.missing_for(f);
                            (!m.is_empty()).then(|| {
                                format!(
                                    "{} is off: it needs {}, which was not granted. Reconnect and allow it.",
                                    feature_name(f),
                                    m.join(", ")
                                )
                            })
                        })
                        .collect();
                    ProfileCard {
                        id: p.id.to_string(),
                        login: p.login.as_str(),
                        handle: p.handle.clone(),
                        platform: p.platform.display_name(),
                        status,
                        reason: reason
                            .and_then(ReconnectReason::parse)
                            .map(ReconnectReason::explain),
                        reconnect_by: p.reconnect_by().map(|t| {
                            herald_domain::clock::from_micros(t)
                                .strftime("%Y-%m-%d")
                                .to_string()
                        }),
                        unavailable,
                        sandbox: p.sandbox,
                        conversations: None,
                    }
                })
                .collect::<Vec<_>>();
            let mut profiles = profiles;
            for (card, p) in profiles.iter_mut().zip(&rows) {
                card.conversations = match conversations_line(&state, p).await {
                    Ok(line) => line,
                    Err(e) => return error_page(&e),
                };
            }
            let connectable = Platform::ALL
                .into_iter()
                .map(|p| Connectable {
                    id: p.as_str(),
                    name: p.display_name(),
                    sandbox: state.config.sandboxed(p),
                    unavailable: match (p.is_available(), state.config.backend(p)) {
                        (false, _) => Some("not connectable in this version of Herald yet"),
                        (true, Backend::Unconfigured) => {
                            Some("no app is configured on this Herald and the sandbox is off")
                        }
                        _ => None,
                    },
                })
                .collect();
            render(
                StatusCode::OK,
                &Profiles {
                    email,
                    profiles,
                    connections,
                    connectable,
                },
            )
        },
    )
}

/// What the profiles page says about a profile's comments login, where its platform needs one.
async fn conversations_line(
    state: &AppState,
    p: &herald_store::ProfileRow,
) -> Result<Option<ConversationsLine>, ApiError> {
    let Some(login) = p.platform.conversations() else {
        return Ok(None);
    };
    let c = state.store.get_conversations(p.workspace, p.id).await?;
    let (_, status) = crate::conversations::status(p, login, c.as_ref());
    let (name, added) = (login.display_name(), c.is_some());
    Ok(Some(ConversationsLine { name, status, added }))
}

/// `POST /profiles/{id}/conversations`: to the consent page of the login the profile adds for
/// its comments (as `POST …/profiles/{id}/conversations` does).
pub(crate) fn add_conversations() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>, Path(id): Path<String>| async move {
            let me = match signed_in(&state, caller, "/profiles").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            let Ok(id) = id.parse() else {
                return error_page(&ApiError::not_found("profile"));
            };
            match crate::conversations::begin(&state, &me.caller, me.ws, id).await {
                Ok((_, url, _)) => see_other(url.as_str(), None),
                Err(e) => error_page(&e),
            }
        },
    )
}

/// `POST /profiles/{id}/conversations/remove`: removes the profile's comments login; back to the
/// profiles page.
pub(crate) fn remove_conversations() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>, Path(id): Path<String>| async move {
            let me = match signed_in(&state, caller, "/profiles").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            let Ok(id) = id.parse() else {
                return error_page(&ApiError::not_found("profile"));
            };
            match crate::conversations::remove(&state, me.ws, id).await {
                Ok(note) => crate::connections::page(StatusCode::OK, "Comments removed", &note),
                Err(e) => error_page(&e),
            }
        },
    )
}

fn feature_name(f: Feature) -> &'static str {
    match f {
        Feature::Publish => "Publishing",
        Feature::Comments => "Comments",
        Feature::Metrics => "Metrics",
    }
}

#[derive(Template)]
#[template(path = "connect.html")]
struct Connect {
    email: String,
    id: &'static str,
    name: &'static str,
    sandbox: bool,
    permissions: &'static [herald_domain::platform::Permission],
    error: Option<String>,
}

/// `GET /connect/{platform}` reviews the permissions Herald will ask for and why; `POST` starts
/// the connection (as `POST /api/v1/workspaces/{ws}/connections` does) and sends the browser to
/// the platform's consent page.
pub(crate) fn connect() -> MethodRouter<AppState> {
    async fn review(state: &AppState, email: String, platform: &str, error: Option<String>) -> Response {
        let Some(p) = Platform::parse(platform) else {
            return error_page(&ApiError::not_found("platform"));
        };
        let status = match error {
            Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
            None => StatusCode::OK,
        };
        let page = Connect {
            email,
            id: p.as_str(),
            name: p.display_name(),
            sandbox: state.config.sandboxed(p),
            permissions: p.permissions(),
            error,
        };
        render(status, &page)
    }
    get(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         Path(platform): Path<String>| async move {
            match signed_in(&state, caller, &format!("/connect/{platform}")).await {
                Ok(me) => review(&state, me.email, &platform, None).await,
                Err(page) => page,
            }
        },
    )
    .post(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         Path(platform): Path<String>| async move {
            let me = match signed_in(&state, caller, "/profiles").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            match begin(&state, &me.caller, me.ws, &platform).await {
                Ok(started) => see_other(started.url.as_str(), None),
                Err(e) => review(&state, me.email, &platform, Some(sentence(&e))).await,
            }
        },
    )
}

/// An account a login covers, as the choose page offers it.
struct AccountChoice {
    key: String,
    handle: String,
    platform: &'static str,
    group: String,
    chosen: bool,
    /// The permissions publishing to it needs that the login did not grant.
    missing: Option<String>,
}

#[derive(Template)]
#[template(path = "choose.html")]
struct Choose {
    email: String,
    id: String,
    login: &'static str,
    name: String,
    accounts: Vec<AccountChoice>,
    error: Option<String>,
}

/// `GET /connections/{id}/choose` lists the accounts a login covers; `POST` makes the ticked ones
/// profiles, as `POST /api/v1/workspaces/{ws}/connections/{id}/accounts` does.
pub(crate) fn choose() -> MethodRouter<AppState> {
    async fn show(
        state: &AppState,
        caller: Result<Caller, ApiError>,
        id: &str,
        picked: Option<FormFields>,
    ) -> Response {
        let here = format!("/connections/{id}/choose");
        let Me {
            caller, email, ws, ..
        } = match signed_in(state, caller, &here).await {
            Ok(me) => me,
            Err(page) => return page,
        };
        let (ws, grant, accounts) = match crate::choose::load(state, &caller, &ws.to_string(), id).await {
            Ok(loaded) => loaded,
            Err(e) => return error_page(&e),
        };
        let mut error = None;
        if let Some(FormFields(f)) = picked {
            let wanted: Vec<_> = accounts
                .iter()
                .filter(|a| f.contains_key(&format!("account:{}", crate::choose::key(a))))
                .collect();
            if wanted.is_empty() {
                error = Some("Tick at least one account to make it a profile.".to_owned());
            } else {
                for a in wanted {
                    if let Err(e) =
                        crate::choose::connect(state, &grant, a, crate::audit::actor(&caller)).await
                    {
                        return error_page(&e.into());
                    }
                }
                return see_other("/profiles", None);
            }
        }
        let profiles = match state.store.list_profiles(ws).await {
            Ok(p) => p,
            Err(e) => return error_page(&e.into()),
        };
        let accounts = accounts
            .iter()
            .map(|a| {
                let missing = a
                    .platform
                    .missing_for(grant.login, Feature::Publish, &grant.granted_scopes);
                AccountChoice {
                    key: crate::choose::key(a),
                    handle: a.handle.clone(),
                    platform: a.platform.display_name(),
                    group: a.group.clone(),
                    chosen: crate::choose::chosen(&profiles, a).is_some(),
                    missing: (!missing.is_empty()).then(|| missing.join(", ")),
                }
            })
            .collect();
        let status = match error {
            Some(_) => StatusCode::UNPROCESSABLE_ENTITY,
            None => StatusCode::OK,
        };
        let page = Choose {
            email,
            id: grant.id.to_string(),
            login: grant.login.display_name(),
            name: grant.name.clone(),
            accounts,
            error,
        };
        render(status, &page)
    }
    get(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>, Path(id): Path<String>| async move {
            show(&state, caller, &id, None).await
        },
    )
    .post(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         Path(id): Path<String>,
         form: FormFields| async move { show(&state, caller, &id, Some(form)).await },
    )
}

#[derive(Template)]
#[template(path = "disconnect.html")]
struct Disconnect {
    email: String,
    id: String,
    handle: String,
    platform: &'static str,
    sandbox: bool,
    pending: i64,
    cancelled: u64,
    done: Option<String>,
}

/// `GET /profiles/{id}/disconnect` says what disconnecting does and does not do; `POST` does it
/// (as `DELETE /api/v1/workspaces/{ws}/profiles/{id}` does) and says what happened.
pub(crate) fn disconnect() -> MethodRouter<AppState> {
    async fn page(
        state: &AppState,
        caller: Result<Caller, ApiError>,
        id: &str,
        confirmed: bool,
    ) -> Result<Response, ApiError> {
        let me = match signed_in(state, caller, &format!("/profiles/{id}/disconnect")).await {
            Ok(me) => me,
            Err(page) => return Ok(page),
        };
        let id: herald_domain::ProfileId = id.parse().map_err(|_| ApiError::not_found("profile"))?;
        let p = state
            .store
            .get_profile(me.ws, id)
            .await
            .map_err(ApiError::missing("profile"))?;
        let pending = state.store.count_scheduled_for_profile(me.ws, id).await?;
        let mut page = Disconnect {
            email: me.email,
            id: id.to_string(),
            handle: p.handle,
            platform: p.platform.display_name(),
            sandbox: p.sandbox,
            pending,
            cancelled: 0,
            done: None,
        };
        if confirmed {
            let d = crate::profiles::disconnect(state, me.ws, id, crate::audit::actor(&me.caller)).await?;
            page.cancelled = d.cancelled;
            page.done = Some(d.note);
        }
        Ok(render(StatusCode::OK, &page))
    }
    get(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>, Path(id): Path<String>| async move {
            page(&state, caller, &id, false)
                .await
                .unwrap_or_else(|e| error_page(&e))
        },
    )
    .post(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>, Path(id): Path<String>| async move {
            page(&state, caller, &id, true)
                .await
                .unwrap_or_else(|e| error_page(&e))
        },
    )
}

/// `POST /notifications/read`: the person has seen what the dashboard lists (as the API's
/// `…/notifications/read` does); back to the dashboard.
pub(crate) fn read_all() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>| async move {
            let me = match signed_in(&state, caller, "/").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            match state.store.mark_read(me.ws, me.caller.user, None).await {
                Ok(_) => see_other("/", None),
                Err(e) => error_page(&e.into()),
            }
        },
    )
}
