//! The platform interface: what each platform module implements. A default method stands only
//! where a platform without the piece has one honest answer (the standard retry policy, no live
//! choices or facts, one account to connect, comments that say why there are none); every other
//! piece must be written, and a piece a platform cannot offer says why.
//!
//! Two traits, because logins and platforms are not one-to-one: a [`Connector`] is an OAuth login
//! (one login can cover several platforms' accounts), a [`Publisher`] publishes to, and reads back
//! from, one platform's accounts whichever login connected them.

use std::future::Future;
use std::pin::Pin;

use herald_domain::platform::{Login, Platform};
use herald_domain::rules::LiveFacts;
use jiff::Timestamp;
use secrecy::SecretString;
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::{Comment, Grant, Metrics, PlatformError, Refreshed, Step, StepContext};

/// One call to a platform, boxed so the traits can be used through the registry.
pub type Call<'a, T> = Pin<Box<dyn Future<Output = Result<T, PlatformError>> + Send + 'a>>;

/// What the consent page needs.
#[derive(Debug, Clone, Copy)]
pub struct Authorize<'a> {
    pub state: &'a str,
    pub redirect_uri: &'a str,
    pub scopes: &'a [&'a str],
    /// The PKCE S256 challenge, for logins that take one.
    pub pkce_challenge: Option<&'a str>,
}

/// What the callback brought back, to exchange.
#[derive(Clone, Copy)]
pub struct CodeExchange<'a> {
    pub code: &'a str,
    pub redirect_uri: &'a str,
    /// The scopes asked for (a login that does not say what was granted grants these).
    pub requested: &'a [&'a str],
    pub pkce_verifier: Option<&'a SecretString>,
    pub now: Timestamp,
}

/// A person's grant: their token and who they are; the accounts it covers are chosen after.
#[derive(Debug)]
pub struct PersonGrant {
    pub access_token: SecretString,
    pub issued_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub scopes: Vec<String>,
    pub user_id: String,
    pub name: String,
    /// The refresh token, where the platform gives the app one (LinkedIn: apps it approved).
    pub renew: Option<crate::RenewBy>,
    /// When the refresh token ends, where that end is fixed (LinkedIn: a year from the consent,
    /// however often it is used): the date the person must log in again by.
    pub renew_until: Option<Timestamp>,
}

/// What a code exchange gave.
#[derive(Debug)]
pub enum Exchanged {
    /// One account, which becomes a profile at once.
    Account(Grant),
    /// A person's grant covering several accounts: the person chooses which become profiles.
    Person(PersonGrant),
}

/// One account a person's grant covers, with the token that reaches it.
#[derive(Debug, Clone)]
pub struct Account {
    pub platform: Platform,
    pub external_id: String,
    pub handle: String,
    /// What the account belongs to on the platform, as people read it (the Page's name).
    pub group: String,
    pub token: SecretString,
}

/// An OAuth login.
pub trait Connector: Send + Sync {
    fn login(&self) -> Login;
    /// The platform's consent page.
    fn authorize_url(&self, request: &Authorize<'_>) -> Url;
    /// Code → token(s) → who granted what.
    fn exchange<'a>(&'a self, request: CodeExchange<'a>) -> Call<'a, Exchanged>;
    /// What a person's grant covers, as people read it ("their Pages and linked … accounts").
    fn covers(&self) -> &'static str;
    /// The accounts a person's grant covers (for the choose-accounts step); a login that connects
    /// one account has nothing to choose.
    fn accounts<'a>(&'a self, _token: &'a SecretString) -> Call<'a, Vec<Account>> {
        let who = self.login().display_name();
        Box::pin(async move {
            Err(PlatformError::Unsupported(format!(
                "{who} connects one account; there is nothing to choose"
            )))
        })
    }
    /// A new token for one about to expire, from the access token itself or the refresh token
    /// (`renew`) the login gave; [`PlatformError::Unsupported`] where the login's tokens cannot be
    /// renewed without the person.
    fn refresh<'a>(
        &'a self,
        token: &'a SecretString,
        renew: Option<&'a SecretString>,
        now: Timestamp,
    ) -> Call<'a, Refreshed>;
    /// Removes Herald's access at the platform (the refresh token too, `renew`, where the login
    /// revokes it on its own); [`PlatformError::Unsupported`], with what the person can do
    /// instead, where the login offers no way.
    fn revoke<'a>(&'a self, token: &'a SecretString, renew: Option<&'a SecretString>) -> Call<'a, ()>;
}

/// One media file to publish, at a URL the platform downloads it from.
#[derive(Debug, Clone)]
pub struct Item {
    pub url: String,
    pub media_type: herald_domain::media::MediaType,
}

impl Item {
    pub fn video(&self) -> bool {
        self.media_type.is_video()
    }
}

/// A part of a thread after the first: its own text and media.
#[derive(Debug, Clone)]
pub struct Part {
    pub text: String,
    pub items: Vec<Item>,
}

/// Everything one publish sends, as the dispatcher prepared it.
#[derive(Debug, Clone, Copy)]
pub struct PublishJob<'a> {
    /// The login the profile came through (it can change which host serves the account).
    pub login: Login,
    pub token: &'a SecretString,
    /// The platform's id for the account.
    pub account: &'a str,
    pub text: &'a str,
    pub items: &'a [Item],
    /// The kind the rules engine recognised (`story`, `reel`, …).
    pub kind: Option<&'static str>,
    pub options: &'a serde_json::Map<String, serde_json::Value>,
    /// Media-typed options (a reel's cover), as URLs the platform downloads them from.
    pub media_options: &'a [(&'static str, String)],
    /// The parts that follow the first, for a thread (only platforms that publish threads get
    /// any: the rules refuse the others).
    pub thread: &'a [Part],
}

impl PublishJob<'_> {
    /// A text option, when set.
    pub fn text_option(&self, name: &str) -> Option<&str> {
        self.options.get(name).and_then(|v| v.as_str())
    }

    /// A media-typed option's URL, when set.
    pub fn media_option(&self, name: &str) -> Option<&str> {
        self.media_options
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, url)| url.as_str())
    }
}

/// What a saved handle says about the publication.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Nothing was created on the platform and no call that could make the post visible was
    /// marked: this is a new attempt ([`Publisher::begin`]'s handle, marked from the start, is not).
    pub fresh: bool,
    /// The call that makes the post visible may have been made.
    pub visible_call: bool,
    /// Part of the post is surely on the platform already (a thread's first parts, an uploaded
    /// video still to be processed or given its thumbnail): whatever
    /// happens next, the post is not "nothing published".
    pub partly_live: bool,
}

/// Why a piece of a platform is missing, shown to people (Pinterest's API has no comments).
pub type Unavailable = &'static str;

/// One choice a platform lists for an option (a board, one of its sections, an organization).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Choice {
    pub id: String,
    pub name: String,
    /// The choice this one sits under (a section's board).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

/// How long and how often a delivery is retried after transient failures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Transient failures after which the delivery stops (`failed`, or `unconfirmed` when the post
    /// may be live).
    pub max_failures: i64,
    /// How long after its scheduled time (or "publish now") a delivery may still be retried.
    pub max_time: std::time::Duration,
}

/// Publishing to one platform, and reading its published posts back.
pub trait Publisher: Send + Sync {
    fn platform(&self) -> Platform;
    /// The platform's retry limits, unless the operator set others: eight transient failures
    /// within six hours (which rides out an outage without publishing a day late), unless the
    /// platform's own pace asks for more.
    fn retries(&self) -> RetryPolicy {
        RetryPolicy {
            max_failures: 8,
            max_time: std::time::Duration::from_secs(6 * 3600),
        }
    }
    /// A new handle for an attempt starting at `at`.
    fn start(&self, at: Timestamp) -> String;
    /// The handle a new attempt of `job` is recorded with, before any call: [`Publisher::start`]'s,
    /// unless the first step would only mark that the call making the post visible comes next (a
    /// Facebook text post): then the handle already so marked, and the attempt's record carries the
    /// mark (and that call's lease) in the same write, one commit instead of two.
    fn begin(&self, _job: &PublishJob<'_>, at: Timestamp) -> String {
        self.start(at)
    }
    /// What a saved handle records; an error when it cannot be read.
    fn progress(&self, handle: &str) -> Result<Progress, String>;
    /// One resumable step from the saved handle: the dispatcher saves what it returns.
    fn step<'a>(
        &'a self,
        job: &'a PublishJob<'a>,
        handle: &'a str,
        ctx: StepContext<'a>,
    ) -> Call<'a, Step<String>>;
    /// The choices the platform lists for the account under `list` (an option of type `Choice`
    /// names its list); [`PlatformError::Unsupported`] for a list the platform does not have
    /// (every list, unless the platform has some).
    fn choices<'a>(
        &'a self,
        _login: Login,
        _token: &'a SecretString,
        _account: &'a str,
        list: &'a str,
    ) -> Call<'a, Vec<Choice>> {
        let message = format!(
            "{} lists no `{list}` for an account",
            self.platform().display_name()
        );
        Box::pin(async move { Err(PlatformError::Unsupported(message)) })
    }
    /// Facts only the platform knows about the account that the rules check before publishing
    /// (Instagram's publishing quota); `None` for a platform that has none.
    fn live_facts<'a>(
        &'a self,
        _login: Login,
        _token: &'a SecretString,
        _account: &'a str,
    ) -> Call<'a, Option<LiveFacts>> {
        Box::pin(async { Ok(None) })
    }
    /// Whether those facts decide what a post may be (TikTok's creator info: the privacy levels
    /// offered, the longest video), so Herald reads them when the profile connects and again at
    /// scheduling once stale, not only before publishing.
    fn live_facts_shape_posts(&self) -> bool {
        false
    }
    /// Whether people can read and answer comments here, and if not, why.
    fn comments_available(&self) -> Result<(), Unavailable>;
    /// A published post's comments, with their replies, read as the account (the platform's id
    /// for it at `login`); where the platform has none, why (what
    /// [`Publisher::comments_available`] says).
    fn comments<'a>(
        &'a self,
        _login: Login,
        _token: &'a SecretString,
        _account: &'a str,
        _post: &'a str,
    ) -> Call<'a, Vec<Comment>> {
        no_comments(self.comments_available())
    }
    /// Replies to a top-level comment on `post` as the account (the platform's id for it at
    /// `login`); returns the reply's id. Where the platform has no comments, why.
    fn reply<'a>(
        &'a self,
        _login: Login,
        _token: &'a SecretString,
        _account: &'a str,
        _post: &'a str,
        _comment: &'a str,
        _text: &'a str,
    ) -> Call<'a, String> {
        no_comments(self.comments_available())
    }
    /// Whether the platform reports metrics of a published post, and if not, why.
    fn metrics_available(&self) -> Result<(), Unavailable>;
    /// A published post's metrics as of `now` (platforms that report by date need the day), for
    /// the account that published it.
    fn metrics<'a>(
        &'a self,
        login: Login,
        token: &'a SecretString,
        account: &'a str,
        post: &'a str,
        now: Timestamp,
    ) -> Call<'a, Metrics>;
}

/// Reads a saved handle of a platform's own type.
pub(crate) fn read_handle<H: DeserializeOwned>(saved: &str) -> Result<H, String> {
    serde_json::from_str(saved).map_err(|e| e.to_string())
}

/// A step's handle, as the dispatcher saves it.
pub(crate) fn saved<H: Serialize>(step: Step<H>) -> Step<String> {
    let json = |h: &H| serde_json::to_string(h).expect("handles serialise");
    match step {
        Step::Continue(h) => Step::Continue(json(&h)),
        Step::Park(h, after) => Step::Park(json(&h), after),
        Step::Published(p) => Step::Published(p),
        Step::PublishedWithNote(p, note) => Step::PublishedWithNote(p, note),
        Step::Ambiguous(found) => Step::Ambiguous(found),
    }
}

/// A handle that cannot be read, as a platform answer: it never becomes a fresh start.
pub(crate) fn unreadable(why: String) -> PlatformError {
    PlatformError::Platform {
        message: format!("the saved publication record cannot be read ({why})"),
    }
}

/// The answer about comments of a platform that has none: why, as it says.
fn no_comments<T: Send + 'static>(available: Result<(), Unavailable>) -> Call<'static, T> {
    let why = available
        .err()
        .unwrap_or("this platform's adapter reads no comments");
    Box::pin(async move { Err(PlatformError::Unsupported(why.into())) })
}
