//! Herald's HTTP API: accounts and sessions, connections (OAuth), profiles, media, posts, signed media
//! URLs, health, readiness and metrics, and the OpenAPI document. Every workspace route checks
//! membership first and answers 404 for anything outside the caller's workspace.

mod access;
mod accounts;
mod approvals;
mod assets;
mod audit;
mod auth;
mod calendar;
mod choices;
mod choose;
mod client;
mod compose;
mod connections;
mod conversations;
mod deletion;
mod deliveries;
mod docs;
mod drafts;
mod engagement;
mod engagement_page;
mod error;
mod export;
mod janitor;
mod json;
mod media;
mod members;
mod metrics;
mod notifications;
mod pages;
mod password;
mod pending;
mod post_page;
mod posts;
mod profiles;
mod recovery;
mod scopes;
mod security;
mod serve;
mod sessions;
mod settings;
mod tar;
mod throttle;
mod totp;
mod two_factor;
mod two_factor_page;
mod web;
mod workspace_settings;
mod workspaces;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::routing::MethodRouter;
use herald_domain::platform::Platform;
use herald_domain::profile::{Backend, Backends};
use herald_platforms::Registry;
use herald_store::Store;
use herald_vault::UrlSigner;
use tokio::sync::Notify;

use access::{ACCOUNT, ADMIN, ANYONE, EDITOR, INSTANCE_ADMIN, OWNER, VIEWER};
use url::Url;

pub use self::metrics::{Metrics, Scrapers};
pub use auth::new_setup_code;
pub use choices::ChoiceCache;
pub use client::TrustedProxies;
pub use error::ApiError;
pub use janitor::janitor;
pub use password::Hashing;
pub use recovery::reset_password;
pub use serve::{Limits, serve};
pub use totp::totp_code;
pub use two_factor::reset_two_factor;

/// What the server is configured with.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// The URL people and platforms reach Herald at (OAuth redirects and media URLs are built on it).
    pub public_url: Url,
    /// Where uploaded media are stored.
    pub media_dir: PathBuf,
    /// Whether anyone may create an account (otherwise only the first one, and people invited).
    pub signup_open: bool,
    /// The one-time code the first account needs, printed at start by an instance whose public
    /// URL is not loopback and which has no account yet.
    pub setup_code: Option<Arc<secrecy::SecretString>>,
    pub max_upload_bytes: u64,
    /// The longest an upload may take from its first byte to its last.
    pub upload_timeout: std::time::Duration,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    /// Sign-ups allowed per client address per hour.
    pub signups_per_hour: u32,
    /// A session unused this long ends.
    pub session_idle: std::time::Duration,
    /// A profile whose access ends sooner than this is `expiring_soon`.
    pub expiring_soon: std::time::Duration,
    /// A session ends this long after it began, used or not.
    pub session_lifetime: std::time::Duration,
    /// Each login's backend (the real platform, the built-in sandbox, or none): profiles made
    /// through the sandbox are marked `sandbox: true`, and no token goes to another backend.
    pub backends: Backends,
}

impl ServerConfig {
    /// The backend that connects `platform`'s accounts here.
    pub(crate) fn backend(&self, platform: Platform) -> Backend {
        platform
            .login()
            .map_or(Backend::Unconfigured, |l| self.backends.get(l))
    }

    pub(crate) fn sandboxed(&self, platform: Platform) -> bool {
        self.backend(platform) == Backend::Sandbox
    }

    pub(crate) fn https(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// The session cookie's name: `__Host-` prefixed over https.
    pub(crate) fn session_cookie(&self) -> &'static str {
        if self.https() {
            auth::SECURE_SESSION_COOKIE
        } else {
            auth::SESSION_COOKIE
        }
    }
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<ServerConfig>,
    /// Every login's and platform's adapter.
    pub platforms: Registry,
    pub signer: UrlSigner,
    /// Wakes the dispatcher when a post is scheduled or edited.
    pub wake: Arc<Notify>,
    /// Password hashing, a few at a time.
    pub hashing: Hashing,
    /// The platforms' lists (boards, sections) the composer read lately.
    pub choices: ChoiceCache,
    /// The process's metrics (`/metrics`), where the binary installed a recorder; `None` answers
    /// `/metrics` with 404 and times no request.
    pub metrics: Option<Metrics>,
}

/// One documented operation of the API.
pub(crate) struct Op {
    pub method: &'static str,
    /// Who may call it, enforced before the handler runs ([`access::enforce`]).
    pub need: access::Need,
    pub summary: &'static str,
    /// An example JSON request body, for operations that take one.
    pub example: Option<&'static str>,
}

/// Example bodies for the OpenAPI document (checked to be valid JSON by a unit test).
mod examples {
    pub const CREDENTIALS: &str = r#"{"email":"you@example.com","password":"a long passphrase"}"#;
    pub const PASSWORD: &str =
        r#"{"current_password":"a long passphrase","new_password":"an even longer passphrase"}"#;
    pub const TOKEN: &str = r#"{"name":"cli","expires_in_days":90}"#;
    use std::sync::LazyLock;

    use herald_domain::platform::Platform;

    /// The first platform Herald can connect, whichever it is.
    fn connectable(nth: usize) -> &'static str {
        Platform::ALL
            .into_iter()
            .filter(|p| p.is_available())
            .nth(nth)
            .map_or("", Platform::as_str)
    }

    pub static CONNECT: LazyLock<String> =
        LazyLock::new(|| format!(r#"{{"platform":"{}"}}"#, connectable(0)));
    pub const POST: &str = r#"{"text":"Hello #launch","media_ids":["01a21050-6d18-758b-8f5c-c4714eed58a4"],"targets":[{"profile_id":"01a21050-6c3d-7568-95db-59e3a159e345","options":{"alt_text":"A red square"}}],"scheduled_at":"2026-12-01T09:00:00","time_zone":"Europe/Paris"}"#;
    pub static CHOOSE: LazyLock<String> = LazyLock::new(|| {
        format!(
            r#"{{"accounts":["{}:100000000000001","{}:17841400000000002"]}}"#,
            connectable(1),
            connectable(0)
        )
    });
    pub const REPLY: &str = r#"{"text":"Thank you!"}"#;
    pub const ROLE: &str = r#"{"role":"editor"}"#;
    pub const INVITATION: &str = r#"{"email":"colleague@example.com","role":"editor"}"#;
    pub const ACCEPT: &str = r#"{"token":"the secret the invitation's link ends with"}"#;
    pub const CANDIDATE: &str = r#"{"platform_post_id":"17895695668004550"}"#;
    pub const SETTINGS: &str =
        r#"{"catch_up_minutes":30,"require_approval":true,"require_two_factor":false}"#;
    pub const APPROVE: &str = r#"{"comment":"Good to go"}"#;
    pub const REJECT: &str = r#"{"comment":"The opening hours in the caption are wrong"}"#;
    pub const CODE: &str = r#"{"code":"123456"}"#;
    pub const REAUTHENTICATE: &str = r#"{"password":"a long passphrase","code":"123456"}"#;
    pub const PATCH: &str = r#"{"text":"Edited caption","scheduled_at":"2026-12-01T10:00:00+01:00"}"#;
}

/// The route table: the router and the OpenAPI document are both built from it, so neither can
/// forget a route the other has.
pub(crate) fn routes() -> Vec<(&'static str, MethodRouter<AppState>, Vec<Op>)> {
    let op = |method, need, summary| Op {
        method,
        need,
        summary,
        example: None,
    };
    let with = |method, need, summary, example| Op {
        method,
        need,
        summary,
        example: Some(example),
    };
    vec![
        (
            "/healthz",
            docs::healthz(),
            vec![op("get", ANYONE, "Liveness: the process answers")],
        ),
        (
            "/readyz",
            docs::readyz(),
            vec![op(
                "get",
                ANYONE,
                "Readiness: the database answers within 2 seconds (503 `database_unavailable` while it does not)",
            )],
        ),
        (
            "/metrics",
            metrics::route(),
            vec![op(
                "get",
                ANYONE,
                "Prometheus metrics of this process and of the queue: open where Herald is reachable from this machine only, otherwise to a scraper sending HERALD_METRICS_TOKEN as a bearer token (401 without it; 404 `metrics_off` where no token is set)",
            )],
        ),
        (
            "/api/v1/openapi.json",
            docs::openapi(),
            vec![op("get", ANYONE, "This document")],
        ),
        (
            "/api/v1/auth/signup",
            accounts::signup(),
            vec![with(
                "post",
                ANYONE,
                "Create an account and its workspace; starts a session",
                examples::CREDENTIALS,
            )],
        ),
        (
            "/api/v1/auth/login",
            accounts::login(),
            vec![with(
                "post",
                ANYONE,
                "Start a browser session (cookie)",
                examples::CREDENTIALS,
            )],
        ),
        (
            "/api/v1/auth/logout",
            accounts::logout(),
            vec![op("post", ANYONE, "End the session")],
        ),
        (
            "/api/v1/auth/password",
            accounts::password(),
            vec![with(
                "post",
                ACCOUNT,
                "Change your password (the current one is required); signs out every other session",
                examples::PASSWORD,
            )],
        ),
        (
            "/api/v1/auth/two-factor",
            two_factor::route(),
            vec![
                op(
                    "get",
                    ACCOUNT,
                    "Your two-factor sign-in: `enrolled`, `enrolled_at`, `recovery_codes_left`, and whether this Herald `required` it of you (browser sessions only)",
                ),
                op(
                    "post",
                    ACCOUNT,
                    "Begin two-factor sign-in: a new key (`secret`, base32), its `otpauth_uri` and QR code (`qr_svg`), pending until confirmed (a session that proved who it is in the last 10 minutes)",
                ),
                op(
                    "delete",
                    ACCOUNT,
                    "Turn two-factor sign-in off: key and recovery codes deleted (a session that proved who it is in the last 10 minutes)",
                ),
            ],
        ),
        (
            "/api/v1/auth/two-factor/confirm",
            two_factor::confirm_route(),
            vec![with(
                "post",
                ACCOUNT,
                "Confirm the key with the code your app shows (`code`): two-factor sign-in is on; returns ten recovery codes, shown once",
                examples::CODE,
            )],
        ),
        (
            "/api/v1/auth/two-factor/recovery-codes",
            two_factor::recovery_codes_route(),
            vec![op(
                "post",
                ACCOUNT,
                "Ten new recovery codes, shown once; the old ones stop working (a session that proved who it is in the last 10 minutes)",
            )],
        ),
        (
            "/api/v1/auth/reauthenticate",
            two_factor::reauthenticate_route(),
            vec![with(
                "post",
                ACCOUNT,
                "Prove who you are again (`password`, and `code` or `recovery_code` with two-factor sign-in): the password, API tokens and two-factor sign-in can be changed from this session for 10 minutes",
                examples::REAUTHENTICATE,
            )],
        ),
        (
            "/api/v1/me",
            accounts::me().merge(deletion::me()),
            vec![
                op(
                    "get",
                    ACCOUNT,
                    "The caller and their workspaces (`current`: the one their pages act in)",
                ),
                with(
                    "delete",
                    ACCOUNT,
                    "Delete your account at once (`password`: yours; a browser session, not an API token): the workspaces only you belong to go with it; 409 `last_owner` while you are the last owner of one others belong to; signs this browser out",
                    deletion::PASSWORD_EXAMPLE,
                ),
            ],
        ),
        (
            "/api/v1/sessions",
            sessions::list(),
            vec![op(
                "get",
                ACCOUNT,
                "Your browser sessions: when each began and was last used, its browser and address",
            )],
        ),
        (
            "/api/v1/sessions/revoke-others",
            sessions::revoke_others(),
            vec![op("post", ACCOUNT, "Sign out every session but this one")],
        ),
        (
            "/api/v1/sessions/{id}",
            sessions::one(),
            vec![op("delete", ACCOUNT, "Sign out one session")],
        ),
        (
            "/api/v1/tokens",
            accounts::tokens(),
            vec![
                op("get", ACCOUNT, "List personal API tokens"),
                with(
                    "post",
                    ACCOUNT,
                    "Create a personal API token (shown once; from a signed-in session only)",
                    examples::TOKEN,
                ),
            ],
        ),
        (
            "/api/v1/tokens/{id}",
            accounts::token(),
            vec![op("delete", ACCOUNT, "Revoke a personal API token")],
        ),
        (
            "/api/v1/platforms",
            connections::platforms(),
            vec![op(
                "get",
                ACCOUNT,
                "Platforms, capabilities, permissions and why Herald asks for them",
            )],
        ),
        (
            "/api/v1/workspaces/{ws}/connections",
            connections::start(),
            vec![
                op(
                    "get",
                    VIEWER,
                    "Multi-account connections (grants of a login that covers several accounts)",
                ),
                with(
                    "post",
                    ADMIN,
                    "Start connecting a profile: returns the platform's consent URL",
                    &examples::CONNECT,
                ),
            ],
        ),
        (
            "/api/v1/workspaces/{ws}/connections/{id}",
            choose::one(),
            vec![op(
                "delete",
                ADMIN,
                "Remove Herald from the person's account at the platform, disconnect its profiles, forget the connection",
            )],
        ),
        (
            "/api/v1/workspaces/{ws}/connections/{id}/accounts",
            choose::accounts(),
            vec![
                op(
                    "get",
                    ADMIN,
                    "The accounts a connection covers (pages, and the accounts linked to them)",
                ),
                with(
                    "post",
                    ADMIN,
                    "Make the chosen accounts profiles",
                    &examples::CHOOSE,
                ),
            ],
        ),
        (
            "/oauth/{platform}/callback",
            connections::callback(),
            vec![op(
                "get",
                ANYONE,
                "OAuth redirect target: finishes the connection and shows what happened (a connection started with an API token waits for confirmation)",
            )],
        ),
        (
            "/connections/pending/{id}",
            pending::confirm(),
            vec![
                op(
                    "get",
                    ACCOUNT,
                    "Page: confirm a connection started with an API token (its starter, signed in, in the browser that came back)",
                ),
                op(
                    "post",
                    ACCOUNT,
                    "Page form: `decision=confirm` or `decision=cancel`",
                ),
            ],
        ),
        (
            "/",
            web::home(),
            vec![op(
                "get",
                VIEWER,
                "Page: the dashboard (profiles, posts due soon), or the sign-in page without a session",
            )],
        ),
        (
            "/notifications/read",
            web::read_all(),
            vec![op(
                "post",
                VIEWER,
                "Page form: mark every notification read for you; back to the dashboard",
            )],
        ),
        (
            "/settings",
            settings::show(),
            vec![op(
                "get",
                ACCOUNT,
                "Page: the planning time zone, personal API tokens, sessions, the password, the API reference",
            )],
        ),
        (
            "/settings/tokens",
            settings::new_token(),
            vec![op(
                "post",
                ACCOUNT,
                "Page form: `name`, `days` (or `never`): a new token, shown once",
            )],
        ),
        (
            "/settings/tokens/{id}/revoke",
            settings::revoke_token(),
            vec![op("post", ACCOUNT, "Page form: revoke a personal API token")],
        ),
        (
            "/settings/zone",
            settings::zone(),
            vec![op(
                "post",
                ACCOUNT,
                "Page form: `zone`, the IANA zone the calendar shows and the composer starts in",
            )],
        ),
        (
            "/settings/sessions/{id}/revoke",
            settings::revoke_session(),
            vec![op(
                "post",
                ACCOUNT,
                "Page form: sign one session out (`others`: every one but this browser's)",
            )],
        ),
        (
            "/settings/password",
            settings::password(),
            vec![op(
                "post",
                ACCOUNT,
                "Page form: `current_password`, `new_password`; every other session ends",
            )],
        ),
        (
            "/signup",
            web::signup(),
            vec![
                op("get", ANYONE, "Page: create an account"),
                op("post", ANYONE, "Page form: `email`, `password`"),
            ],
        ),
        (
            "/profiles",
            web::profiles(),
            vec![op(
                "get",
                VIEWER,
                "Page: the workspace's profiles (status, missing permissions and what they turn off) and the platforms to connect",
            )],
        ),
        (
            "/profiles/{id}/disconnect",
            web::disconnect(),
            vec![
                op(
                    "get",
                    ADMIN,
                    "Page: what disconnecting the profile does (tokens deleted, pending posts cancelled) and does not do (published posts stay)",
                ),
                op("post", ADMIN, "Page form: disconnect the profile"),
            ],
        ),
        (
            "/profiles/{id}/conversations",
            web::add_conversations(),
            vec![op(
                "post",
                ADMIN,
                "Page form: add the login the profile reads and answers comments through, where its own has none: to its consent page",
            )],
        ),
        (
            "/profiles/{id}/conversations/remove",
            web::remove_conversations(),
            vec![op(
                "post",
                ADMIN,
                "Page form: remove the profile's comments login (revoked there, tokens deleted)",
            )],
        ),
        (
            "/connect/{platform}",
            web::connect(),
            vec![
                op(
                    "get",
                    ADMIN,
                    "Page: the permissions Herald will ask the platform for, and why",
                ),
                op(
                    "post",
                    ADMIN,
                    "Page form: start connecting; redirects to the platform's consent page",
                ),
            ],
        ),
        (
            "/connections/{id}/choose",
            web::choose(),
            vec![
                op(
                    "get",
                    ADMIN,
                    "Page: the accounts a login covers, to make profiles of",
                ),
                op(
                    "post",
                    ADMIN,
                    "Page form: `account:{platform}:{id}=yes` for each account to make a profile",
                ),
            ],
        ),
        (
            "/compose",
            compose::route(),
            vec![
                op("get", EDITOR, "Page: the composer (`?draft={id}` opens a draft)"),
                op(
                    "post",
                    EDITOR,
                    "Page form: schedule the post (`form_token`, `text`, `target:{profile}`, `media:{id}`, `order:media:{id}`, `text:{profile}`, `own_media:{profile}`, `tmedia:{profile}:{id}`, `order:tmedia:{profile}:{id}`, `opt:{profile}:{option}`, `part:{n}`, `pmedia:{n}:{id}`, `order:pmedia:{n}:{id}`, `date`, `time`, `zone`)",
                ),
            ],
        ),
        (
            "/compose/draft",
            compose::save_draft(),
            vec![op(
                "post",
                EDITOR,
                "Page form: the composer's fields saved as a draft (`draft` to replace one); then `/compose?draft={id}`",
            )],
        ),
        (
            "/compose/check",
            compose::check(),
            vec![op(
                "post",
                EDITOR,
                "Page form: the composer for the form as it stands, every problem beside its cause (the page's live check)",
            )],
        ),
        (
            "/compose/part",
            compose::add_part(),
            vec![op(
                "post",
                EDITOR,
                "Page form: the composer again with one more, empty, part of the thread (`part:{n}`, `pmedia:{n}:{id}`, `order:pmedia:{n}:{id}`), everything typed kept",
            )],
        ),
        (
            "/compose/upload",
            compose::upload(),
            vec![op(
                "post",
                EDITOR,
                "Page form (multipart): add `file` to the library and show the composer again, everything typed kept",
            )],
        ),
        (
            "/library/{id}",
            compose::library_file(),
            vec![op(
                "get",
                VIEWER,
                "Page: a library file, for the signed-in person's previews",
            )],
        ),
        (
            "/calendar",
            calendar::page(),
            vec![op(
                "get",
                VIEWER,
                "Page: a month or a week of posts (`view`, `date`, `zone`)",
            )],
        ),
        (
            "/posts",
            calendar::list_page(),
            vec![op(
                "get",
                VIEWER,
                "Page: posts in time order, filtered by `status`, `profile`, `from`, `to`; paged by `cursor`",
            )],
        ),
        (
            "/posts/{id}",
            post_page::page(),
            vec![op(
                "get",
                VIEWER,
                "Page: a post, each delivery's status, permalink and timeline, and what it offers",
            )],
        ),
        (
            "/posts/{id}/engagement",
            engagement_page::page(),
            vec![op(
                "get",
                VIEWER,
                "Page: each published delivery's metrics and comments, read from the platform now",
            )],
        ),
        (
            "/posts/{id}/comments/{comment}/reply",
            engagement_page::reply(),
            vec![op(
                "post",
                EDITOR,
                "Page form: `text`, the reply, posted as the profile",
            )],
        ),
        (
            "/posts/{id}/edit",
            post_page::edit(),
            vec![op(
                "post",
                EDITOR,
                "Page form: `text`, `seen` (the page's version): change the text, refused if the page was stale or publishing started",
            )],
        ),
        (
            "/posts/{id}/cancel",
            post_page::cancel_form(),
            vec![op(
                "post",
                EDITOR,
                "Page form: cancel what has not been published",
            )],
        ),
        (
            "/posts/{id}/approve",
            approvals::approve_form(),
            vec![op(
                "post",
                ADMIN,
                "Page form: `comment` (optional): approve the post waiting for approval",
            )],
        ),
        (
            "/posts/{id}/reject",
            approvals::reject_form(),
            vec![op(
                "post",
                ADMIN,
                "Page form: `comment` (required): reject the post waiting for approval, saying why",
            )],
        ),
        (
            "/workspace/settings",
            workspace_settings::page(),
            vec![
                op(
                    "get",
                    ADMIN,
                    "Page: the workspace's catch-up window and whether editors' posts need an approval",
                ),
                op(
                    "post",
                    ADMIN,
                    "Page form: `catch_up_minutes`, `require_approval` (a checkbox); each change audited",
                ),
            ],
        ),
        (
            "/posts/{id}/reschedule",
            calendar::reschedule(),
            vec![op(
                "post",
                EDITOR,
                "Page form: `date`, `time`, `zone` (and `back`): move every target, refused once publishing started",
            )],
        ),
        (
            "/posts/{id}/deliveries/{delivery}/{action}",
            post_page::act(),
            vec![op(
                "post",
                EDITOR,
                "Page form: `publish-now`, `dismiss`, or `choose` with `candidate`",
            )],
        ),
        (
            "/logout",
            web::logout(),
            vec![op("post", ANYONE, "Page form: sign out of this browser")],
        ),
        (
            "/login",
            pages::login(),
            vec![
                op("get", ANYONE, "Page: sign in (`?next=/path` to return there)"),
                op("post", ANYONE, "Page form: `email`, `password`, `next`"),
            ],
        ),
        (
            "/settings/two-factor",
            two_factor_page::page(),
            vec![
                op(
                    "get",
                    ACCOUNT,
                    "Page: two-factor sign-in (on or off, recovery codes left; why it is required where it is)",
                ),
                op(
                    "post",
                    ACCOUNT,
                    "Page form: `action` = `begin` (QR code and key), `confirm` (`code`; the recovery codes shown once), `regenerate` or `disable`",
                ),
            ],
        ),
        (
            "/login/second-factor",
            two_factor_page::login(),
            vec![
                op(
                    "get",
                    ANYONE,
                    "Page: the code (or a recovery code) a sign-in whose password was right still needs, in the browser holding its challenge",
                ),
                op(
                    "post",
                    ANYONE,
                    "Page form: `code` or `recovery_code`, `next`: the session starts",
                ),
            ],
        ),
        (
            "/reauth",
            two_factor_page::reauth(),
            vec![
                op(
                    "get",
                    ACCOUNT,
                    "Page: prove who you are again before a sensitive change (`?next=/path` to return there)",
                ),
                op(
                    "post",
                    ACCOUNT,
                    "Page form: `password`, `code` or `recovery_code`, `next`",
                ),
            ],
        ),
        (
            "/api/v1/workspaces/{ws}/profiles",
            profiles::list(),
            vec![op("get", VIEWER, "Connected profiles and their status")],
        ),
        (
            "/api/v1/workspaces/{ws}/profiles/{id}",
            profiles::one(),
            vec![
                op("get", VIEWER, "One profile"),
                op(
                    "delete",
                    ADMIN,
                    "Disconnect: delete tokens, cancel pending deliveries",
                ),
            ],
        ),
        (
            "/api/v1/workspaces/{ws}/profiles/{id}/conversations",
            conversations::route(),
            vec![
                op(
                    "post",
                    ADMIN,
                    "Start adding the login the profile reads and answers comments through, where its own has none (`conversations` in the profile says which): the consent page's URL (browser sessions only)",
                ),
                op(
                    "delete",
                    ADMIN,
                    "Remove the profile's comments login: access revoked at the platform, tokens deleted",
                ),
            ],
        ),
        (
            "/api/v1/workspaces/{ws}/profiles/{id}/choices/{list}",
            choices::list(),
            vec![op(
                "get",
                EDITOR,
                "The choices the platform lists now for an option of the profile (its boards, organizations, privacy levels)",
            )],
        ),
        (
            "/api/v1/workspaces/{ws}/media",
            media::collection(),
            vec![
                op("get", VIEWER, "List media"),
                op("post", EDITOR, "Upload media (multipart field `file`)"),
            ],
        ),
        (
            "/api/v1/workspaces/{ws}/media/{id}",
            media::one(),
            vec![op("get", VIEWER, "One media file's facts")],
        ),
        (
            "/media/{file}",
            media::signed(),
            vec![op("get", ANYONE, "Download a media file by signed, expiring URL")],
        ),
        (
            "/api/v1/workspaces/{ws}/posts",
            posts::collection(),
            vec![
                op(
                    "get",
                    VIEWER,
                    "List posts by delivery status, profile and time, paged",
                ),
                with(
                    "post",
                    EDITOR,
                    "Schedule a post to one or more profiles (`thread`: the parts that follow the first, each `{text, media_ids}`, for platforms that publish threads)",
                    examples::POST,
                ),
            ],
        ),
        (
            "/api/v1/workspaces/{ws}/drafts",
            drafts::collection(),
            vec![
                op("get", VIEWER, "Drafts, the latest edited first"),
                with(
                    "post",
                    EDITOR,
                    "Save a draft (the body of `POST …/posts`, any part missing or breaking rules); answers the rules it breaks",
                    examples::POST,
                ),
            ],
        ),
        (
            "/api/v1/workspaces/{ws}/drafts/{id}",
            drafts::one(),
            vec![
                op("get", VIEWER, "A draft and the rules it breaks now"),
                with("put", EDITOR, "Replace a draft's content", examples::POST),
                op("delete", EDITOR, "Delete a draft"),
            ],
        ),
        (
            "/api/v1/workspaces/{ws}/posts/validate",
            posts::validate(),
            vec![with(
                "post",
                EDITOR,
                "Check a draft against each target's rules without saving it",
                examples::POST,
            )],
        ),
        (
            "/api/v1/workspaces/{ws}/posts/{id}",
            posts::one(),
            vec![
                op(
                    "get",
                    VIEWER,
                    "A post, its deliveries and their attempts (a published delivery's `error` is a note: something to do there, as a custom thumbnail the platform refused)",
                ),
                with(
                    "patch",
                    EDITOR,
                    "Edit text, media or time before publishing starts",
                    examples::PATCH,
                ),
            ],
        ),
        (
            "/api/v1/workspaces/{ws}/posts/{id}/comments",
            engagement::comments(),
            vec![op(
                "get",
                VIEWER,
                "Comments on each published delivery, with their replies",
            )],
        ),
        (
            "/api/v1/workspaces/{ws}/posts/{id}/comments/{comment_id}/replies",
            engagement::reply(),
            vec![with(
                "post",
                EDITOR,
                "Reply to a top-level comment as the profile",
                examples::REPLY,
            )],
        ),
        (
            "/api/v1/workspaces/{ws}/posts/{id}/metrics",
            engagement::metrics(),
            vec![op(
                "get",
                VIEWER,
                "Each published delivery's metrics, read from the platform now",
            )],
        ),
        (
            "/api/v1/workspaces/{ws}/posts/{id}/cancel",
            posts::cancel(),
            vec![op("post", EDITOR, "Cancel what has not been published")],
        ),
        (
            "/api/v1/workspaces/{ws}/posts/{id}/approve",
            approvals::approve(),
            vec![with(
                "post",
                ADMIN,
                "Approve a post waiting for approval (`comment` optional): its deliveries are scheduled, or `missed` if its time came; 409 `not_pending_approval` when it waits for none",
                examples::APPROVE,
            )],
        ),
        (
            "/api/v1/workspaces/{ws}/posts/{id}/reject",
            approvals::reject(),
            vec![with(
                "post",
                ADMIN,
                "Reject a post waiting for approval, saying why (`comment` required, 422 `comment_required`): it keeps waiting, for an edit that submits it again",
                examples::REJECT,
            )],
        ),
        (
            "/api/v1/workspaces/{ws}/posts/{id}/deliveries/{delivery}/publish-now",
            deliveries::publish_now(),
            vec![op(
                "post",
                EDITOR,
                "Publish a missed, failed or unconfirmed delivery again, now",
            )],
        ),
        (
            "/api/v1/workspaces/{ws}/posts/{id}/deliveries/{delivery}/choose",
            deliveries::choose(),
            vec![with(
                "post",
                EDITOR,
                "Say which candidate is an unconfirmed delivery's post",
                examples::CANDIDATE,
            )],
        ),
        (
            "/api/v1/workspaces/{ws}/posts/{id}/deliveries/{delivery}/dismiss",
            deliveries::dismiss(),
            vec![op("post", EDITOR, "Stop asking about an unconfirmed delivery")],
        ),
        (
            "/api/v1/workspaces/{ws}/members",
            members::list(),
            vec![op(
                "get",
                VIEWER,
                "The workspace's members (`user_id`, `email`, `role`), the highest role first",
            )],
        ),
        (
            "/api/v1/workspaces/{ws}/members/{user}",
            members::one(),
            vec![
                with(
                    "patch",
                    OWNER,
                    "Give a member another role (409 `last_owner` when no owner would be left)",
                    examples::ROLE,
                ),
                op(
                    "delete",
                    ADMIN,
                    "Remove a member (an owner only by an owner; never the last owner): their sessions and tokens lose the workspace at once",
                ),
            ],
        ),
        (
            "/api/v1/workspaces/{ws}/invitations",
            members::invitations(),
            vec![
                op(
                    "get",
                    ADMIN,
                    "Pending invitations (not accepted, revoked or expired)",
                ),
                with(
                    "post",
                    ADMIN,
                    "Invite an email with a role for 7 days (only an owner invites an owner): returns the link, shown once",
                    examples::INVITATION,
                ),
            ],
        ),
        (
            "/api/v1/workspaces/{ws}/invitations/{id}",
            members::invitation(),
            vec![op("delete", ADMIN, "Revoke a pending invitation")],
        ),
        (
            "/api/v1/invitations/accept",
            members::accept(),
            vec![with(
                "post",
                ACCOUNT,
                "Join an invitation's workspace (`token`: the secret its link ends with); 404 unknown, 410 `invitation_used`, `invitation_expired` or `invitation_revoked`",
                examples::ACCEPT,
            )],
        ),
        (
            "/api/v1/workspaces/{ws}/audit",
            audit::list(),
            vec![op(
                "get",
                ADMIN,
                "The workspace's audit log, newest first: `action` (a prefix), `actor`, `since`, `until` (RFC 3339), `before` (the `next_before` of the previous page), `limit` (1 to 500)",
            )],
        ),
        (
            "/api/v1/workspaces/{ws}/export",
            export::download(),
            vec![op(
                "get",
                OWNER,
                "Download everything the workspace holds as one tar archive (docs/EXPORT.md): profiles without their tokens, members, posts with each delivery's history, drafts, media files, the audit chain with its MACs",
            )],
        ),
        (
            "/members",
            members::page(),
            vec![op(
                "get",
                VIEWER,
                "Page: the workspace's members, with the role, remove and invitation forms the person's role allows",
            )],
        ),
        (
            "/members/invite",
            members::invite_form(),
            vec![op(
                "post",
                ADMIN,
                "Page form: `email`, `role`: an invitation, its link shown once",
            )],
        ),
        (
            "/members/{user}/role",
            members::role_form(),
            vec![op("post", OWNER, "Page form: `role`, the member's new role")],
        ),
        (
            "/members/{user}/remove",
            members::remove_form(),
            vec![op("post", ADMIN, "Page form: remove the member")],
        ),
        (
            "/invitations/{id}/revoke",
            members::revoke_form(),
            vec![op("post", ADMIN, "Page form: revoke a pending invitation")],
        ),
        (
            "/invitations/{secret}",
            members::invitation_page(),
            vec![
                op(
                    "get",
                    ANYONE,
                    "Page: what an invitation's link invites to, and how to accept it (sign in, or sign up through it)",
                ),
                op(
                    "post",
                    ACCOUNT,
                    "Page form: accept the invitation; to the dashboard",
                ),
            ],
        ),
        (
            "/workspaces",
            workspaces::page(),
            vec![op(
                "get",
                ACCOUNT,
                "Page: the workspaces you belong to, with your role; the pages act in the current one",
            )],
        ),
        (
            "/workspaces/{id}/switch",
            workspaces::switch(),
            vec![op(
                "post",
                ACCOUNT,
                "Page form: make this workspace the one your pages act in",
            )],
        ),
        (
            "/api/v1/workspaces/{ws}",
            deletion::workspace(),
            vec![with(
                "delete",
                OWNER,
                "Delete the workspace and everything in it, at once (`confirm`: its name, or 422 `confirmation_mismatch`): its members lose it, its tokens are revoked at the platforms that allow it, its media files removed; audited in the instance's chain",
                deletion::CONFIRM_EXAMPLE,
            )],
        ),
        (
            "/workspace/delete",
            deletion::workspace_page(),
            vec![
                op(
                    "get",
                    OWNER,
                    "Page: what deleting the current workspace does, and a field for its name",
                ),
                op(
                    "post",
                    OWNER,
                    "Page form: `confirm`, the workspace's name: deletes it and everything in it; then what happened",
                ),
            ],
        ),
        (
            "/account/delete",
            deletion::account_page(),
            vec![
                op(
                    "get",
                    ACCOUNT,
                    "Page: what deleting your account does, and which workspaces go with it or keep it from going",
                ),
                op(
                    "post",
                    ACCOUNT,
                    "Page form: `password`: deletes your account and signs this browser out",
                ),
            ],
        ),
        (
            "/audit",
            audit::page(),
            vec![op("get", ADMIN, "Page: the workspace's audit log, with filters")],
        ),
        (
            "/export",
            export::page(),
            vec![op(
                "get",
                OWNER,
                "Page: what the workspace's archive holds, and the link to download it",
            )],
        ),
        (
            "/export/download",
            export::page_download(),
            vec![op(
                "get",
                OWNER,
                "Page link: download the current workspace's archive",
            )],
        ),
        (
            "/instance/audit",
            audit::instance_page(),
            vec![op(
                "get",
                INSTANCE_ADMIN,
                "Page: the instance's audit log (accounts, sign-ins, tokens, keys), with filters",
            )],
        ),
        (
            "/api/v1/instance/audit",
            audit::instance_list(),
            vec![op(
                "get",
                INSTANCE_ADMIN,
                "The instance's audit log (accounts, sign-ins, tokens, keys), newest first, with the workspace log's filters",
            )],
        ),
        (
            "/api/v1/workspaces/{ws}/notifications",
            notifications::list(),
            vec![op(
                "get",
                VIEWER,
                "What needs you: failed, unconfirmed, missed or reconnect-waiting deliveries, and profiles that need you; newest first",
            )],
        ),
        (
            "/api/v1/workspaces/{ws}/notifications/read",
            notifications::read_all(),
            vec![op("post", VIEWER, "Mark every notification read for you")],
        ),
        (
            "/api/v1/workspaces/{ws}/notifications/{id}/read",
            notifications::read_one(),
            vec![op("post", VIEWER, "Mark one notification read for you")],
        ),
        (
            "/api/v1/workspaces/{ws}/settings",
            deliveries::settings(),
            vec![
                op("get", VIEWER, "The workspace's catch-up window"),
                with(
                    "patch",
                    ADMIN,
                    "How late (in minutes) a delivery may still go out by itself",
                    examples::SETTINGS,
                ),
            ],
        ),
        (
            "/api/docs",
            docs::page(),
            vec![op("get", ANYONE, "Browsable API reference")],
        ),
        (
            "/favicon.ico",
            assets::favicon(),
            vec![op("get", ANYONE, "Herald's icon, for pages that name none")],
        ),
        (
            "/assets/{file}",
            assets::route(),
            vec![op(
                "get",
                ANYONE,
                "Herald's stylesheet and scripts, under content-hashed names (cached for a year)",
            )],
        ),
    ]
}

/// The largest request body but an upload's.
const MAX_BODY: usize = 1024 * 1024;

/// Everything Herald serves on its listener: the API, and `beside` it (the built-in sandbox's
/// emulators, when they run), behind the same CSRF guard, request ids and security headers.
pub fn router(state: AppState, beside: Option<Router>) -> Router {
    let policy = security::Policy {
        https: state.config.public_url.scheme() == "https",
    };
    let timed = state.metrics.is_some();
    let mut r = Router::new();
    for (path, method_router, ops) in routes() {
        let needs: access::Needs = ops
            .iter()
            .map(|o| {
                let method = o.method.to_uppercase().parse().expect("an HTTP method");
                (method, o.need, scopes::token_use(path, o.method, o.need))
            })
            .collect();
        let check = axum::middleware::from_fn_with_state((state.clone(), needs), access::enforce);
        r = r.route(path, method_router.route_layer(check));
    }
    let mut r = r
        .fallback(web::not_found)
        // Request bodies are small JSON or forms; the upload route lifts this for itself.
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY))
        .with_state(state);
    if let Some(other) = beside {
        r = r.merge(other);
    }
    let r = r
        .layer(axum::middleware::from_fn(auth::csrf_guard))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_| {
            axum::response::IntoResponse::into_response(ApiError::internal(&"a handler panicked"))
        }))
        .layer(axum::middleware::from_fn_with_state(policy, security::headers));
    metrics::timed(r, timed)
}

/// What a process that serves no API (`herald worker`) answers on a listener of its own: its
/// health, its readiness and its metrics, behind the same security headers and request timing.
pub fn ops_router(store: Store, exported: Option<Metrics>) -> Router {
    let timed = exported.is_some();
    let r: Router = Router::new()
        .route("/healthz", docs::healthz())
        .route("/readyz", docs::readyz())
        .route("/metrics", metrics::route())
        .with_state(metrics::Ops {
            store,
            metrics: exported,
        })
        .layer(axum::middleware::from_fn_with_state(
            security::Policy { https: false },
            security::headers,
        ));
    metrics::timed(r, timed)
}
