//! The state of the emulated TikTok: creators and what each allows a post, grants, codes, access
//! and refresh tokens, uploads in progress, publications and posts.

use std::collections::HashMap;

use jiff::Timestamp;

use crate::bounded::Bounded;

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Creator {
    /// The `open_id` TikTok gives this app for the account.
    pub open_id: String,
    pub username: String,
    pub display_name: String,
    /// A private account offers followers, friends and "only me"; a public one everyone too.
    pub private: bool,
    pub comment_disabled: bool,
    pub duet_disabled: bool,
    pub stitch_disabled: bool,
    pub max_video_post_duration_sec: u32,
    /// The `open_id` TikTok gives the Business app for the same account (each app gets its own).
    pub business_id: String,
    /// Whether the account is a Business account (only those have comments in the API for
    /// Business).
    pub business: bool,
}

impl Creator {
    /// The privacy levels `creator_info` offers [official].
    pub fn privacy_levels(&self) -> &'static [&'static str] {
        match self.private {
            true => &["FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"],
            false => &["PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"],
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Code {
    pub client_key: String,
    pub redirect_uri: String,
    pub open_id: String,
    pub scopes: Vec<String>,
    pub challenge: Option<String>,
    pub expires_at: Timestamp,
    pub used: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    Access,
    Refresh,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub open_id: String,
    pub client_key: String,
    pub scopes: Vec<String>,
    pub kind: Kind,
    pub expires_at: Timestamp,
}

/// One publication (`publish_id`): a video being uploaded, or photos being pulled, until it is
/// processed and becomes a post.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Publication {
    pub publish_id: String,
    pub open_id: String,
    /// `VIDEO` or `PHOTO`.
    pub media_type: &'static str,
    pub title: String,
    pub description: String,
    pub privacy_level: String,
    pub options: serde_json::Value,
    /// A video's declared size and chunk plan, and the bytes received so far.
    pub video_size: u64,
    pub chunk_size: u64,
    pub total_chunks: u64,
    pub uploaded_bytes: u64,
    /// The SHA-256 of the video as it arrived, once complete.
    pub sha256: Option<String>,
    /// Photos pulled (their links, signatures masked), with their sizes.
    pub photos: Vec<(String, u64)>,
    #[serde(skip)]
    pub upload_token: String,
    /// `PROCESSING_UPLOAD`, `PROCESSING_DOWNLOAD`, `PUBLISH_COMPLETE` or `FAILED`.
    pub status: &'static str,
    pub fail_reason: Option<String>,
    /// When processing ends, and when moderation gives a public post its id.
    pub ready_at: Option<Timestamp>,
    pub moderated_at: Option<Timestamp>,
    /// The post, once it is one.
    pub post_id: Option<String>,
    pub created_at: Timestamp,
}

/// A comment on a post, or a reply to one (`parent_comment_id`), as the API for Business lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct VideoComment {
    pub comment_id: String,
    pub video_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_comment_id: Option<String>,
    pub text: String,
    pub username: String,
    pub create_time: i64,
    pub likes: u64,
    /// Whether the account that owns the video wrote it.
    pub owner: bool,
    /// `PUBLIC` or `HIDDEN`.
    pub status: &'static str,
}

/// Everything the emulated TikTok knows.
pub(crate) struct World {
    pub creators: Vec<Creator>,
    /// (client key, open id) → granted scopes.
    pub grants: HashMap<(String, String), Vec<String>>,
    pub codes: HashMap<String, Code>,
    pub tokens: HashMap<String, Token>,
    pub publications: Vec<Publication>,
    /// Whether TikTok has audited the app (an unaudited one posts only `SELF_ONLY`, to private
    /// accounts).
    pub audited: bool,
    /// The URL prefixes the app verified for `PULL_FROM_URL`; empty: every URL is taken.
    pub verified_prefixes: Vec<String>,
    /// Init calls per open id in the last minute (6 allowed).
    pub inits: HashMap<String, Vec<Timestamp>>,
    /// Videos being uploaded: the hash of the bytes so far, and whether the first chunk was a video.
    pub uploads: HashMap<String, (sha2::Sha256, bool)>,
    /// Comments and replies on posts, oldest first (the newest `comments_limit` kept).
    pub comments: Bounded<VideoComment>,
    next_id: u64,
}

/// The public account the consent page offers first, and a private one.
pub(crate) const CREATOR: &str = "-000sbxTikTokCreatorPublic";
pub(crate) const PRIVATE_CREATOR: &str = "-000sbxTikTokCreatorPrivate";

impl World {
    pub fn seeded(comments_limit: usize) -> Self {
        let creator = |open_id: &str, username: &str, display_name: &str, private: bool| Creator {
            business_id: format!("{open_id}-biz"),
            // The public account is a Business account, the private one a personal account.
            business: !private,
            open_id: open_id.into(),
            username: username.into(),
            display_name: display_name.into(),
            private,
            comment_disabled: false,
            duet_disabled: false,
            stitch_disabled: false,
            max_video_post_duration_sec: 600,
        };
        Self {
            creators: vec![
                creator(CREATOR, "sandbox.bakes", "Sandbox Bakes", false),
                creator(PRIVATE_CREATOR, "sandbox.diary", "Sandbox Diary", true),
            ],
            grants: HashMap::new(),
            codes: HashMap::new(),
            tokens: HashMap::new(),
            publications: Vec::new(),
            audited: true,
            verified_prefixes: Vec::new(),
            inits: HashMap::new(),
            uploads: HashMap::new(),
            comments: Bounded::new(comments_limit),
            next_id: 7_300_000_000_000_000_001,
        }
    }

    /// A fresh 19-digit id, as TikTok's video ids.
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 11;
        self.next_id
    }

    pub fn creator(&self, open_id: &str) -> Option<&Creator> {
        self.creators.iter().find(|c| c.open_id == open_id)
    }

    /// The account the Business app knows as `business_id`.
    pub fn business(&self, business_id: &str) -> Option<&Creator> {
        self.creators.iter().find(|c| c.business_id == business_id)
    }

    pub fn add_code(&mut self, code: String, c: Code, now: Timestamp) {
        crate::bounded::add_code(&mut self.codes, (code, c), now, |c| c.expires_at);
    }

    pub fn add_token(&mut self, token: String, t: Token, now: Timestamp) {
        crate::bounded::add_token(&mut self.tokens, (token, t), now, |t| t.expires_at);
    }

    /// Processing and moderation whose time has passed are done.
    pub fn settle(&mut self, now: Timestamp) {
        let mut made = Vec::new();
        for p in &mut self.publications {
            if matches!(p.status, "PROCESSING_UPLOAD" | "PROCESSING_DOWNLOAD")
                && p.ready_at.is_some_and(|t| t <= now)
            {
                p.status = "PUBLISH_COMPLETE";
            }
            if p.status == "PUBLISH_COMPLETE"
                && p.post_id.is_none()
                && p.moderated_at.is_some_and(|t| t <= now)
            {
                made.push(p.publish_id.clone());
            }
        }
        for id in made {
            let n = self.next_id().to_string();
            if let Some(p) = self.publications.iter_mut().find(|p| p.publish_id == id) {
                p.post_id = Some(n);
            }
        }
    }
}
