//! The state of the emulated Instagram: accounts, grants, codes, tokens, containers and media.

use std::collections::HashMap;

use jiff::Timestamp;

use crate::bounded::Bounded;

#[derive(Debug, Clone)]
pub(crate) struct Account {
    /// The Instagram professional account id (`user_id`), as used in Graph paths.
    pub user_id: u64,
    /// The app-scoped id returned as `id` by `/me`.
    pub app_scoped_id: u64,
    pub username: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Code {
    pub client_id: String,
    pub redirect_uri: String,
    pub user_id: u64,
    pub scopes: Vec<String>,
    pub expires_at: Timestamp,
    pub used: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    ShortLived,
    LongLived,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub user_id: u64,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub kind: TokenKind,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ContainerStatus {
    InProgress,
    Published,
}

/// Where a media object appears: `media_product_type` in the Graph API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum Product {
    Feed,
    Reels,
    Story,
}

impl Product {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Feed => "FEED",
            Self::Reels => "REELS",
            Self::Story => "STORY",
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Container {
    pub id: u64,
    pub owner: u64,
    pub caption: String,
    pub alt_text: Option<String>,
    pub image_bytes: usize,
    /// Created with `is_carousel_item=true`: publishable only inside a carousel.
    pub carousel_item: bool,
    /// The media is a video (a reel, a video story, or a carousel's `VIDEO` item).
    pub video: bool,
    pub product: Product,
    pub share_to_feed: bool,
    /// A reel's cover frame, milliseconds into the video.
    pub thumb_offset: Option<u64>,
    /// The size of a reel's cover image (`cover_url`), when it has one.
    pub cover_bytes: Option<usize>,
    /// A carousel's item containers.
    pub children: Vec<u64>,
    /// An item of a published carousel: kept as long as the carousel.
    pub kept: bool,
    pub created_at: Timestamp,
    pub ready_at: Timestamp,
    pub status: ContainerStatus,
    pub media_id: Option<u64>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Media {
    pub id: u64,
    pub owner: u64,
    pub caption: String,
    pub alt_text: Option<String>,
    pub media_type: &'static str,
    pub product: Product,
    pub share_to_feed: bool,
    pub thumb_offset: Option<u64>,
    pub cover_bytes: Option<usize>,
    /// A carousel album's item containers.
    pub children: Vec<u64>,
    pub permalink: String,
    pub shortcode: String,
    pub timestamp: Timestamp,
    pub container_id: u64,
    pub image_bytes: usize,
}

/// A comment on a media object; `parent_id` is set on replies (always to a top-level comment).
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Comment {
    pub id: u64,
    pub media_id: u64,
    pub parent_id: Option<u64>,
    pub from_id: u64,
    pub username: String,
    pub text: String,
    pub timestamp: Timestamp,
    pub hidden: bool,
}

/// Everything the emulated Instagram knows.
pub(crate) struct World {
    pub accounts: Vec<Account>,
    /// (client id, user id) → the scopes the person granted; removed when they remove the app.
    pub grants: HashMap<(String, u64), Vec<String>>,
    pub codes: HashMap<String, Code>,
    pub tokens: HashMap<String, Token>,
    pub containers: HashMap<u64, Container>,
    pub media: Vec<Media>,
    pub comments: Bounded<Comment>,
    next_id: u64,
}

impl World {
    pub fn seeded(comments_limit: usize) -> Self {
        let account = |user_id, app_scoped_id, username: &str, name: &str| Account {
            user_id,
            app_scoped_id,
            username: username.into(),
            name: name.into(),
        };
        Self {
            accounts: vec![
                account(
                    17841400000000001,
                    26000000000000001,
                    "sandbox_creator",
                    "Sandbox Creator",
                ),
                account(
                    17841400000000002,
                    26000000000000002,
                    "sandbox_brand",
                    "Sandbox Brand",
                ),
            ],
            grants: HashMap::new(),
            codes: HashMap::new(),
            tokens: HashMap::new(),
            containers: HashMap::new(),
            media: Vec::new(),
            comments: Bounded::new(comments_limit),
            next_id: 17_890_000_000_000_001,
        }
    }

    /// A fresh numeric id, shaped like Instagram's.
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 7;
        self.next_id
    }

    /// Records a code, forgetting expired codes (and the soonest to expire beyond [`MAX_CODES`]).
    pub fn add_code(&mut self, code: String, c: Code, now: Timestamp) {
        crate::bounded::add_code(&mut self.codes, (code, c), now, |c| c.expires_at);
    }

    /// Records a token, forgetting tokens that expired more than a week ago (a token that expired
    /// recently still answers "expired" rather than "unknown", as Instagram's do).
    pub fn add_token(&mut self, token: String, t: Token, now: Timestamp) {
        crate::bounded::add_token(&mut self.tokens, (token, t), now, |t| t.expires_at);
    }

    /// Records a container, forgetting unpublished ones older than two days (Instagram expires
    /// them after one) unless a published carousel holds them; published media are never forgotten.
    pub fn add_container(&mut self, c: Container, now: Timestamp) {
        let two_days_ago = now - jiff::SignedDuration::from_hours(48);
        self.containers
            .retain(|_, c| c.status == ContainerStatus::Published || c.kept || c.created_at > two_days_ago);
        self.containers.insert(c.id, c);
    }

    pub fn account(&self, user_id: u64) -> Option<&Account> {
        self.accounts.iter().find(|a| a.user_id == user_id)
    }

    /// The spec name of the object `id` names: an account, a container, a media object or a comment.
    pub fn node_type(&self, id: &str) -> Option<&'static str> {
        let id: u64 = id.parse().ok()?;
        if self.account(id).is_some() {
            Some("IGUser")
        } else if self.media.iter().any(|m| m.id == id) {
            Some("IGMedia")
        } else if self.containers.contains_key(&id) {
            Some("ShadowIGMediaBuilder")
        } else if self.comments.iter().any(|c| c.id == id) {
            Some("IGComment")
        } else {
            None
        }
    }

    /// Whether `id` names an Instagram object: an account, a container, a media object or a comment.
    pub fn owns(&self, id: u64) -> bool {
        self.account(id).is_some()
            || self.containers.contains_key(&id)
            || self.media.iter().any(|m| m.id == id)
            || self.comments.iter().any(|c| c.id == id)
    }

    /// Lets a Facebook Page token act for the Instagram account linked to the Page, with the
    /// Facebook Login permissions mapped to Instagram's (the Graph API serves both logins' calls).
    pub fn admit_page_token(
        &mut self,
        token: &str,
        client_id: &str,
        account: u64,
        fb_scopes: &[String],
        now: Timestamp,
    ) {
        let scopes: Vec<String> = fb_scopes
            .iter()
            .filter_map(|s| {
                Some(match s.as_str() {
                    "instagram_basic" => "instagram_business_basic",
                    "instagram_content_publish" => "instagram_business_content_publish",
                    "instagram_manage_comments" => "instagram_business_manage_comments",
                    "instagram_manage_insights" => "instagram_business_manage_insights",
                    _ => return None,
                })
            })
            .map(str::to_owned)
            .collect();
        self.grants
            .insert((client_id.to_owned(), account), scopes.clone());
        self.tokens.insert(
            token.to_owned(),
            Token {
                user_id: account,
                client_id: client_id.to_owned(),
                scopes,
                kind: TokenKind::LongLived,
                issued_at: now,
                // The Page token does not expire; Facebook checks it before every bridged call.
                expires_at: now + jiff::SignedDuration::from_hours(24 * 365 * 10),
            },
        );
    }
}
