//! The state of the emulated X: users, grants, codes (with their PKCE challenge), access and
//! refresh tokens, media uploads and posts.

use std::collections::HashMap;

use jiff::Timestamp;

#[derive(Debug, Clone)]
pub(crate) struct User {
    /// X's user id: a string of digits.
    pub id: String,
    pub username: String,
    pub name: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Code {
    pub client_id: String,
    pub redirect_uri: String,
    pub user: String,
    pub scopes: Vec<String>,
    pub challenge: String,
    /// `S256` or `plain`.
    pub method: String,
    pub expires_at: Timestamp,
    pub used: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum TokenKind {
    Access,
    Refresh,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub user: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub kind: TokenKind,
    pub expires_at: Timestamp,
}

/// A chunked media upload.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Upload {
    pub id: String,
    pub user: String,
    pub media_type: String,
    pub category: String,
    pub total_bytes: u64,
    /// Bytes received per segment index.
    pub segments: std::collections::BTreeMap<u32, u64>,
    /// The first bytes, to tell what the file is.
    #[serde(skip)]
    pub head: Vec<u8>,
    pub finalized: bool,
    /// `pending`, `in_progress`, `succeeded` or `failed` (videos); images succeed at finalize.
    pub state: &'static str,
    pub ready_at: Option<Timestamp>,
    pub alt_text: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Post {
    pub id: String,
    pub author: String,
    pub text: String,
    pub media_ids: Vec<String>,
    pub reply_settings: Option<String>,
    pub in_reply_to: Option<String>,
    pub conversation_id: String,
    pub created_at: Timestamp,
}

/// Everything the emulated X knows.
pub(crate) struct World {
    pub users: Vec<User>,
    /// (client id, user) → granted scopes.
    pub grants: HashMap<(String, String), Vec<String>>,
    pub codes: HashMap<String, Code>,
    pub tokens: HashMap<String, Token>,
    pub uploads: HashMap<String, Upload>,
    pub posts: Vec<Post>,
    /// Whether the app's access level includes recent search (X's Free level does not).
    pub search_allowed: bool,
    /// The app's daily cap on posts, when its access level sets one other than the default.
    pub app_daily_posts: Option<u32>,
    next_id: u64,
}

impl World {
    pub fn seeded() -> Self {
        let user = |id: &str, username: &str, name: &str| User {
            id: id.into(),
            username: username.into(),
            name: name.into(),
        };
        Self {
            users: vec![
                user("1500000000000000001", "sandbox_news", "Sandbox News"),
                user("1500000000000000002", "sandbox_reader", "Sandbox Reader"),
            ],
            grants: HashMap::new(),
            codes: HashMap::new(),
            tokens: HashMap::new(),
            uploads: HashMap::new(),
            posts: Vec::new(),
            search_allowed: true,
            app_daily_posts: None,
            next_id: 1_860_000_000_000_000_001,
        }
    }

    /// A fresh id: up to 19 digits, as X's snowflakes.
    pub fn next_id(&mut self) -> String {
        self.next_id += 17;
        self.next_id.to_string()
    }

    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn add_code(&mut self, code: String, c: Code, now: Timestamp) {
        crate::bounded::add_code(&mut self.codes, (code, c), now, |c| c.expires_at);
    }

    pub fn add_token(&mut self, token: String, t: Token, now: Timestamp) {
        crate::bounded::add_token(&mut self.tokens, (token, t), now, |t| t.expires_at);
    }

    /// Videos that finished processing succeed.
    pub fn settle(&mut self, now: Timestamp) {
        for u in self.uploads.values_mut() {
            if u.state == "in_progress" && u.ready_at.is_some_and(|t| t <= now) {
                u.state = "succeeded";
            }
        }
    }
}
