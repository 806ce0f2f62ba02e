//! The state of the emulated YouTube: channels and what each may do, grants, codes, access and
//! refresh tokens, resumable upload sessions, videos and their comments, and the app's
//! verification, publishing status and daily quota.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};

use super::quota::Quota;
use crate::bounded::Bounded;

/// The channel the consent page offers first, and a second one.
pub(crate) const CHANNEL: &str = "UCsbxSandboxKitchen00001";
pub(crate) const SECOND_CHANNEL: &str = "UCsbxSandboxTravel000002";

/// Uploads a channel may make per rolling 24 hours [3p: YouTube publishes no figure; it varies by
/// channel and answers `uploadLimitExceeded` past it].
const UPLOAD_LIMIT: u32 = 15;
/// The most live refresh tokens per client and channel; a newer one drops the oldest [official].
const REFRESH_TOKENS_PER_GRANT: usize = 100;
/// How long a resumable session can be resumed [3p: about a week].
pub(crate) const SESSION_TTL: SignedDuration = SignedDuration::from_hours(7 * 24);
/// The most upload sessions kept at once (the oldest are dropped).
const MAX_SESSIONS: usize = 10_000;

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Channel {
    pub id: String,
    pub title: String,
    /// The handle (`@sandboxkitchen`), which YouTube calls `customUrl`.
    pub custom_url: String,
    pub description: String,
    /// The uploads playlist: `UU` and the rest of the channel id.
    pub uploads: String,
    pub published_at: Timestamp,
    /// Uploads allowed per rolling 24 hours, before the sandbox's limits apply.
    pub upload_limit: u32,
    /// Whether the channel may set custom thumbnails (YouTube asks a channel to verify first).
    pub custom_thumbnails: bool,
    /// When its uploads of the last 24 hours began.
    #[serde(skip)]
    pub recent_uploads: Vec<Timestamp>,
}

#[derive(Debug, Clone)]
pub(crate) struct Code {
    pub client_id: String,
    pub redirect_uri: String,
    pub channel_id: String,
    pub scopes: Vec<String>,
    /// The PKCE challenge and its method (`S256` or `plain`), when one was sent.
    pub challenge: Option<(String, String)>,
    /// Whether the exchange gives a refresh token (offline access, on a first or forced consent).
    pub refresh: bool,
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
    pub channel_id: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub kind: Kind,
    pub issued_at: Timestamp,
    /// `None`: a refresh token that lasts until it is revoked.
    pub expires_at: Option<Timestamp>,
}

impl Token {
    /// Whether the token has not expired.
    pub fn live(&self, now: Timestamp) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// A video's metadata as `videos.insert` gave it, checked; the session keeps it for the video.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Draft {
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub category_id: String,
    /// `public`, `unlisted` or `private`.
    pub privacy_status: String,
    /// When a private video becomes public.
    pub publish_at: Option<Timestamp>,
    pub made_for_kids: bool,
    pub embeddable: bool,
    /// `youtube` or `creativeCommon`.
    pub license: String,
    pub public_stats_viewable: bool,
}

/// A resumable upload session: the video's metadata, its size and the bytes received so far (hashed
/// as they came, never kept).
pub(crate) struct Session {
    pub upload_id: String,
    pub channel_id: String,
    /// The parts the insert asked for, which the finished upload answers with.
    pub parts: Vec<String>,
    pub draft: Draft,
    /// `X-Upload-Content-Length`, or the total the first chunk named.
    pub declared_bytes: Option<u64>,
    pub received_bytes: u64,
    pub hasher: sha2::Sha256,
    /// Whether the first bytes were a video (an ISO media file).
    pub video: bool,
    pub created_at: Timestamp,
    /// The video, once the last byte arrived.
    pub video_id: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Video {
    pub id: String,
    pub channel_id: String,
    #[serde(flatten)]
    pub draft: Draft,
    /// `uploaded` until processed, then `processed` or `failed`.
    pub upload_status: &'static str,
    /// What processing will find wrong (`invalidFile`, `emptyFile`); shown once it has failed.
    pub failure_reason: Option<&'static str>,
    pub sha256: String,
    pub bytes: u64,
    pub thumbnail_sha256: Option<String>,
    pub published_at: Timestamp,
    /// When processing ends.
    #[serde(skip)]
    pub ready_at: Timestamp,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Comment {
    pub id: String,
    pub video_id: String,
    /// The top-level comment a reply answers (replies are one level deep).
    pub parent_id: Option<String>,
    pub author: String,
    pub author_channel_id: String,
    pub text: String,
    pub published_at: Timestamp,
}

/// Everything the emulated YouTube knows.
pub(crate) struct World {
    pub channels: Vec<Channel>,
    /// (client id, channel id) → granted scopes.
    pub grants: HashMap<(String, String), Vec<String>>,
    pub codes: HashMap<String, Code>,
    pub tokens: HashMap<String, Token>,
    /// Upload sessions by upload id.
    pub sessions: HashMap<String, Session>,
    pub videos: Vec<Video>,
    pub comments: Bounded<Comment>,
    /// Whether Google verified the app: an unverified one's uploads are locked to private [official].
    pub verified: bool,
    /// Whether the app's publishing status is Testing: its refresh tokens then last seven days
    /// [official].
    pub testing: bool,
    pub quota: Quota,
}

/// A time as Google writes it: `2026-11-25T09:00:00Z`.
pub(crate) fn google_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl World {
    pub fn seeded(comments_limit: usize) -> Self {
        let joined: Timestamp = "2019-04-02T10:00:00Z".parse().unwrap_or_default();
        let channel = |id: &str, title: &str, handle: &str, description: &str| Channel {
            id: id.into(),
            title: title.into(),
            custom_url: handle.into(),
            description: description.into(),
            uploads: format!("UU{}", &id[2..]),
            published_at: joined,
            upload_limit: UPLOAD_LIMIT,
            custom_thumbnails: true,
            recent_uploads: Vec::new(),
        };
        Self {
            channels: vec![
                channel(
                    CHANNEL,
                    "Sandbox Kitchen",
                    "@sandboxkitchen",
                    "Recipes from the sandbox.",
                ),
                channel(
                    SECOND_CHANNEL,
                    "Sandbox Travel",
                    "@sandboxtravel",
                    "Trips nobody took.",
                ),
            ],
            grants: HashMap::new(),
            codes: HashMap::new(),
            tokens: HashMap::new(),
            sessions: HashMap::new(),
            videos: Vec::new(),
            comments: Bounded::new(comments_limit),
            verified: true,
            testing: false,
            quota: Quota::default(),
        }
    }

    pub fn channel(&self, id: &str) -> Option<&Channel> {
        self.channels.iter().find(|c| c.id == id)
    }

    pub fn add_code(&mut self, code: String, c: Code, now: Timestamp) {
        crate::bounded::add_code(&mut self.codes, (code, c), now, |c| c.expires_at);
    }

    /// Records a token; a refresh token past the hundredth of its client and channel drops the
    /// oldest of them.
    pub fn add_token(&mut self, token: String, t: Token, now: Timestamp) {
        if t.kind == Kind::Refresh {
            let mut same: Vec<(Timestamp, String)> = self
                .tokens
                .iter()
                .filter(|(_, o)| o.kind == Kind::Refresh && o.client_id == t.client_id)
                .filter(|(_, o)| o.channel_id == t.channel_id)
                .map(|(k, o)| (o.issued_at, k.clone()))
                .collect();
            same.sort();
            let excess = (same.len() + 1).saturating_sub(REFRESH_TOKENS_PER_GRANT);
            for (_, k) in same.into_iter().take(excess) {
                self.tokens.remove(&k);
            }
        }
        let expires = |t: &Token| t.expires_at.unwrap_or(Timestamp::MAX);
        crate::bounded::add_token(&mut self.tokens, (token, t), now, expires);
    }

    /// Records an upload session, forgetting those past their week (and the oldest beyond
    /// [`MAX_SESSIONS`]).
    pub fn add_session(&mut self, s: Session, now: Timestamp) {
        self.sessions.retain(|_, o| o.created_at + SESSION_TTL > now);
        while self.sessions.len() >= MAX_SESSIONS {
            let Some(oldest) = self
                .sessions
                .values()
                .min_by_key(|o| o.created_at)
                .map(|o| o.upload_id.clone())
            else {
                break;
            };
            self.sessions.remove(&oldest);
        }
        self.sessions.insert(s.upload_id.clone(), s);
    }

    /// Counts an upload against the channel's cap of `limit` per rolling 24 hours; `false` (not
    /// counted) when the cap is reached.
    pub fn take_upload(&mut self, channel_id: &str, limits: crate::Limits, now: Timestamp) -> bool {
        let Some(c) = self.channels.iter_mut().find(|c| c.id == channel_id) else {
            return false;
        };
        c.recent_uploads
            .retain(|at| *at > now - SignedDuration::from_hours(24));
        if c.recent_uploads.len() >= limits.applied(c.upload_limit) as usize {
            return false;
        }
        c.recent_uploads.push(now);
        true
    }

    /// Processing whose time has passed is done, and scheduled videos whose time has come are public.
    pub fn settle(&mut self, now: Timestamp) {
        for v in &mut self.videos {
            if v.upload_status == "uploaded" && v.ready_at <= now {
                v.upload_status = match v.failure_reason {
                    Some(_) => "failed",
                    None => "processed",
                };
            }
            let due = v.draft.publish_at.filter(|at| *at <= now);
            if let (Some(at), "processed") = (due, v.upload_status) {
                v.draft.privacy_status = "public".into();
                v.draft.publish_at = None;
                v.published_at = at;
            }
        }
    }

    /// A comment on a video (a reply when `parent_id` is given) by `author` (a name and a channel
    /// id), kept with the newest `comments_limit`.
    pub fn add_comment(
        &mut self,
        video_id: &str,
        parent_id: Option<&str>,
        (author, author_channel_id): (&str, &str),
        text: &str,
        now: Timestamp,
    ) -> Comment {
        let id = match parent_id {
            Some(parent) => format!("{parent}.{}", crate::random_token("", 22)),
            None => crate::random_token("Ugz", 23),
        };
        let c = Comment {
            id,
            video_id: video_id.into(),
            parent_id: parent_id.map(str::to_owned),
            author: author.into(),
            author_channel_id: author_channel_id.into(),
            text: text.into(),
            published_at: now,
        };
        self.comments.push(c.clone());
        c
    }

    /// Comments and replies on a video.
    pub fn comment_count(&self, video_id: &str) -> usize {
        self.comments.iter().filter(|c| c.video_id == video_id).count()
    }

    /// The channel's videos that finished processing.
    pub fn processed(&self, channel_id: &str) -> usize {
        self.videos
            .iter()
            .filter(|v| v.channel_id == channel_id && v.upload_status == "processed")
            .count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(issued_at: Timestamp) -> Token {
        Token {
            channel_id: CHANNEL.into(),
            client_id: "client".into(),
            scopes: Vec::new(),
            kind: Kind::Refresh,
            issued_at,
            expires_at: None,
        }
    }

    #[test]
    fn the_hundred_and_first_refresh_token_of_a_grant_drops_the_oldest() {
        let mut w = World::seeded(10);
        let start: Timestamp = "2026-11-30T10:00:00Z".parse().unwrap();
        for i in 0..101 {
            let at = start + SignedDuration::from_secs(i);
            w.add_token(format!("1//{i}"), token(at), at);
        }
        assert_eq!(w.tokens.len(), 100);
        assert!(!w.tokens.contains_key("1//0"), "the oldest is gone");
        assert!(w.tokens.contains_key("1//1") && w.tokens.contains_key("1//100"));
    }
}
