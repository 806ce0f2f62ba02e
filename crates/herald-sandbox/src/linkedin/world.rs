//! The state of the emulated LinkedIn: members, organizations and their administrators, grants,
//! codes, access and refresh tokens, image and video uploads, posts and comments.

use std::collections::HashMap;

use jiff::Timestamp;

#[derive(Debug, Clone)]
pub(crate) struct Member {
    /// The OpenID Connect `sub`: the id in `urn:li:person:{id}`.
    pub id: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Organization {
    pub id: String,
    pub name: String,
    pub vanity: String,
    /// (member id, role): `ADMINISTRATOR`, `ANALYST`, …
    pub roles: Vec<(String, &'static str)>,
}

#[derive(Debug, Clone)]
pub(crate) struct Code {
    pub client_id: String,
    pub redirect_uri: String,
    pub member: String,
    pub scopes: Vec<String>,
    pub expires_at: Timestamp,
    pub used: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub member: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub expires_at: Timestamp,
}

/// An image or video upload (Images and Videos APIs).
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Asset {
    pub urn: String,
    pub owner: String,
    /// Bytes the video was declared to have (images: what arrived).
    pub size: u64,
    /// The video's parts: (first byte, last byte, the ETag its upload answered).
    pub parts: Vec<(u64, u64, Option<String>)>,
    #[serde(skip)]
    pub upload_token: String,
    /// `WAITING_UPLOAD`, `PROCESSING`, `AVAILABLE` or `PROCESSING_FAILED`.
    pub status: &'static str,
    pub ready_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Post {
    /// `urn:li:share:{n}`.
    pub id: String,
    /// `urn:li:activity:{n}`: what comments hang on.
    pub activity: String,
    pub author: String,
    /// As sent, in the little format.
    pub commentary: String,
    /// What LinkedIn shows: the little format read.
    pub shown: String,
    pub visibility: String,
    pub content: serde_json::Value,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Comment {
    /// `urn:li:comment:({activity},{id})`.
    pub urn: String,
    pub id: String,
    /// The post's activity.
    pub object: String,
    /// The comment answered, for a reply.
    pub parent: Option<String>,
    pub actor: String,
    pub text: String,
    pub created_at: Timestamp,
}

/// Everything the emulated LinkedIn knows.
pub(crate) struct World {
    pub members: Vec<Member>,
    pub organizations: Vec<Organization>,
    /// (client id, member) → granted scopes.
    pub grants: HashMap<(String, String), Vec<String>>,
    pub codes: HashMap<String, Code>,
    pub tokens: HashMap<String, Token>,
    /// Refresh tokens, each ending a year after its consent however often it is used.
    pub refresh_tokens: HashMap<String, Token>,
    /// Whether the app is one LinkedIn approved for programmatic refresh tokens (a partner's).
    pub refresh_enabled: bool,
    pub assets: HashMap<String, Asset>,
    /// Upload URL keys → (the media's URN, the part they take).
    pub uploads: HashMap<String, (String, usize)>,
    pub posts: Vec<Post>,
    pub comments: crate::bounded::Bounded<Comment>,
    next_id: u64,
}

/// The member the consent page offers first: administrator of two Pages, analyst of a third.
pub(crate) const MEMBER: &str = "sbx4Lk9Qw2";

impl World {
    pub fn seeded(comments: usize) -> Self {
        let member = |id: &str, name: &str| Member {
            id: id.into(),
            name: name.into(),
        };
        let org = |id: &str, name: &str, vanity: &str, role: &'static str| Organization {
            id: id.into(),
            name: name.into(),
            vanity: vanity.into(),
            roles: vec![(MEMBER.into(), role)],
        };
        Self {
            members: vec![member(MEMBER, "Sandra Box"), member("sbx7Rt3Yu8", "Lee Reader")],
            organizations: vec![
                org("90210001", "Sandbox Coffee Co", "sandbox-coffee", "ADMINISTRATOR"),
                org("90210002", "Sandbox Labs", "sandbox-labs", "ADMINISTRATOR"),
                org("90210003", "Sandbox Analytics Guild", "sandbox-guild", "ANALYST"),
            ],
            grants: HashMap::new(),
            codes: HashMap::new(),
            tokens: HashMap::new(),
            refresh_tokens: HashMap::new(),
            refresh_enabled: false,
            assets: HashMap::new(),
            uploads: HashMap::new(),
            posts: Vec::new(),
            comments: crate::bounded::Bounded::new(comments),
            next_id: 7_400_000_000_000_000_001,
        }
    }

    /// A fresh number: 19 digits, as LinkedIn's share and activity ids.
    pub fn next_id(&mut self) -> u64 {
        self.next_id += 13;
        self.next_id
    }

    pub fn member(&self, id: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.id == id)
    }

    /// The organization behind `urn:li:organization:{id}` (or its bare id); any other URN is none.
    pub fn organization(&self, urn_or_id: &str) -> Option<&Organization> {
        let id = urn_or_id
            .strip_prefix("urn:li:organization:")
            .unwrap_or(urn_or_id);
        self.organizations.iter().find(|o| o.id == id)
    }

    /// Whether `member` may post as the organization `urn` (an administrator or a content
    /// administrator of it).
    pub fn administers(&self, member: &str, urn: &str) -> bool {
        self.organization(urn).is_some_and(|o| {
            o.roles
                .iter()
                .any(|(m, r)| m == member && matches!(*r, "ADMINISTRATOR" | "CONTENT_ADMINISTRATOR"))
        })
    }

    pub fn add_code(&mut self, code: String, c: Code, now: Timestamp) {
        crate::bounded::add_code(&mut self.codes, (code, c), now, |c| c.expires_at);
    }

    pub fn add_token(&mut self, token: String, t: Token, now: Timestamp) {
        crate::bounded::add_token(&mut self.tokens, (token, t), now, |t| t.expires_at);
    }

    pub fn add_refresh_token(&mut self, token: String, t: Token, now: Timestamp) {
        crate::bounded::add_token(&mut self.refresh_tokens, (token, t), now, |t| t.expires_at);
    }

    /// Uploads whose processing time has passed are available.
    pub fn settle(&mut self, now: Timestamp) {
        for a in self.assets.values_mut() {
            if a.status == "PROCESSING" && a.ready_at.is_some_and(|t| t <= now) {
                a.status = "AVAILABLE";
            }
        }
    }

    /// The post a share or activity URN names.
    pub fn post(&self, urn: &str) -> Option<&Post> {
        self.posts.iter().find(|p| p.id == urn || p.activity == urn)
    }
}
