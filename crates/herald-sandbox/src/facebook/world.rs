//! The state of the emulated Facebook: people, their Pages (some linked to an Instagram account),
//! grants, codes, user and Page tokens, photos and Page posts.

use std::collections::HashMap;

use jiff::Timestamp;

#[derive(Debug, Clone)]
pub(crate) struct User {
    /// The app-scoped user id.
    pub id: u64,
    pub name: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Page {
    pub id: u64,
    pub name: String,
    pub category: String,
    /// The person who administers the Page.
    pub admin: u64,
    /// The Instagram professional account linked to the Page (its IG user id).
    pub instagram: Option<(u64, String)>,
}

/// What a person granted an app: permissions, and the Pages it may use.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub scopes: Vec<String>,
    pub declined: Vec<String>,
    pub pages: Vec<u64>,
}

#[derive(Debug, Clone)]
pub(crate) struct Code {
    pub client_id: String,
    pub redirect_uri: String,
    pub user_id: u64,
    /// The PKCE S256 challenge sent to the dialog, if any.
    pub challenge: Option<String>,
    pub expires_at: Timestamp,
    pub used: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenKind {
    ShortLivedUser,
    LongLivedUser,
    /// A Page token; it never expires when it came from a long-lived user token.
    Page(u64),
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub user_id: u64,
    pub client_id: String,
    pub kind: TokenKind,
    pub expires_at: Option<Timestamp>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Photo {
    pub id: u64,
    pub page_id: u64,
    pub bytes: usize,
    pub caption: String,
    pub alt_text: Option<String>,
    pub published: bool,
    /// The post this photo was attached to or published as.
    pub post_id: Option<String>,
    pub created_time: Timestamp,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Post {
    /// `{page-id}_{post-number}`.
    pub id: String,
    pub page_id: u64,
    pub message: String,
    pub link: Option<String>,
    pub photos: Vec<u64>,
    pub created_time: Timestamp,
    pub permalink_url: String,
}

/// Everything the emulated Facebook knows.
pub(crate) struct World {
    pub users: Vec<User>,
    pub pages: Vec<Page>,
    /// (client id, user id) → what the person granted; removed when they remove the app.
    pub grants: HashMap<(String, u64), Grant>,
    pub codes: HashMap<String, Code>,
    pub tokens: HashMap<String, Token>,
    pub photos: Vec<Photo>,
    pub posts: Vec<Post>,
    next_id: u64,
}

impl World {
    /// One person administering two Pages; the first is linked to the sandbox's Instagram account.
    pub fn seeded(instagram: (u64, &str)) -> Self {
        let page = |id, name: &str, category: &str, instagram| Page {
            id,
            name: name.into(),
            category: category.into(),
            admin: 10_000_000_000_001,
            instagram,
        };
        Self {
            users: vec![User {
                id: 10_000_000_000_001,
                name: "Sam Sandbox".into(),
            }],
            pages: vec![
                page(
                    100_000_000_000_001,
                    "Sandbox Bakery",
                    "Bakery",
                    Some((instagram.0, instagram.1.to_owned())),
                ),
                page(100_000_000_000_002, "Sandbox Books", "Book Shop", None),
            ],
            grants: HashMap::new(),
            codes: HashMap::new(),
            tokens: HashMap::new(),
            photos: Vec::new(),
            posts: Vec::new(),
            next_id: 300_000_000_000_001,
        }
    }

    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The spec name of the object `id` names: a person, a Page, a Page post or a photo.
    pub fn node_type(&self, id: &str) -> Option<&'static str> {
        if self.posts.iter().any(|p| p.id == id) {
            return Some("PagePost");
        }
        let n: u64 = id.parse().ok()?;
        if self.users.iter().any(|u| u.id == n) {
            Some("User")
        } else if self.page(n).is_some() {
            Some("Page")
        } else if self.photos.iter().any(|p| p.id == n) {
            Some("Photo")
        } else {
            None
        }
    }

    pub fn page(&self, id: u64) -> Option<&Page> {
        self.pages.iter().find(|p| p.id == id)
    }
}
