//! The state of the emulated Facebook: people, their Pages (some linked to an Instagram account),
//! grants, codes, user and Page tokens, photos and Page posts.

use std::collections::HashMap;

use jiff::Timestamp;

use crate::bounded::{Bounded, MAX_TOKENS, insert_expiring};

/// The permissions a Page token needs to publish on its Page.
const PUBLISHING_SCOPES: [&str; 3] = ["pages_show_list", "pages_read_engagement", "pages_manage_posts"];

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
    /// `post`, `video`, `reel` or `story`.
    pub kind: &'static str,
    pub video: Option<u64>,
    pub created_time: Timestamp,
    pub permalink_url: String,
}

/// A video uploaded through the resumable protocol for a reel or a story: started, uploaded
/// (`rupload.facebook.com`), finished, then processed into a post.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Video {
    pub id: u64,
    pub page_id: u64,
    /// `video` (feed), `reel` or `story`.
    pub kind: &'static str,
    pub bytes: Option<usize>,
    pub description: String,
    pub finished_at: Option<Timestamp>,
    pub ready_at: Option<Timestamp>,
    pub post_id: Option<String>,
}

/// A comment on a Page post: `parent` is set on replies; `from_page` when the Page wrote it.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Comment {
    /// `{post-number}_{comment-number}`.
    pub id: String,
    pub post_id: String,
    pub parent: Option<String>,
    pub from_page: Option<u64>,
    pub from_id: String,
    pub from_name: String,
    pub message: String,
    pub created_time: Timestamp,
    pub hidden: bool,
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
    /// Where each post is in `posts`, by id: every Graph call on a node looks its id up (the
    /// journal's node type, reading a post back), which a scan would make cost as much as the
    /// posts published so far.
    post_ids: HashMap<String, usize>,
    pub comments: Bounded<Comment>,
    pub videos: Vec<Video>,
    next_id: u64,
}

impl World {
    /// One person administering two Pages; the first is linked to the sandbox's Instagram account.
    pub fn seeded(instagram: (u64, &str), comments_limit: usize) -> Self {
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
            post_ids: HashMap::new(),
            comments: Bounded::new(comments_limit),
            videos: Vec::new(),
            next_id: 300_000_000_000_001,
        }
    }

    /// Records a code, forgetting expired codes (and the soonest to expire beyond [`MAX_CODES`]).
    pub fn add_code(&mut self, code: String, c: Code, now: Timestamp) {
        crate::bounded::add_code(&mut self.codes, (code, c), now, |c| c.expires_at);
    }

    /// Records a token, forgetting tokens that expired more than a week ago.
    pub fn add_token(&mut self, token: String, t: Token, now: Timestamp) {
        let week_ago = now - jiff::SignedDuration::from_hours(24 * 7);
        let keep = |t: &Token| t.expires_at.is_none_or(|at| at > week_ago);
        let rank = |t: &Token| t.expires_at.unwrap_or(Timestamp::MAX);
        insert_expiring(&mut self.tokens, (token, t), MAX_TOKENS, keep, rank);
    }

    pub fn next_id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    /// The spec name of the object `id` names: a person, a Page, a Page post or a photo.
    pub fn node_type(&self, id: &str) -> Option<&'static str> {
        if self.post(id).is_some() {
            return Some("PagePost");
        }
        if self.comments.iter().any(|c| c.id == id) {
            return Some("Comment");
        }
        if id
            .parse::<u64>()
            .is_ok_and(|n| self.videos.iter().any(|v| v.id == n))
        {
            return Some("AdVideo");
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

    /// Adds `count` Pages administered by the seeded person; returns their ids.
    pub fn seed_pages(&mut self, count: usize) -> Vec<u64> {
        let first = self
            .pages
            .iter()
            .map(|p| p.id)
            .max()
            .unwrap_or(100_000_000_000_000)
            + 1;
        let admin = self.users[0].id;
        let ids: Vec<u64> = (first..first + count as u64).collect();
        self.pages.extend(ids.iter().map(|&id| Page {
            id,
            name: format!("Sandbox Page {}", id - 100_000_000_000_000),
            category: "Local business".into(),
            admin,
            instagram: None,
        }));
        ids
    }

    /// Adds one Page per token (as [`World::seed_pages`]), granted by the seeded person to the app
    /// `client_id` with the permissions publishing needs, each with its token as a Page token that
    /// never expires: what a benchmark that writes the tokens into Herald's database itself needs,
    /// instead of thousands of Pages connected through the dialog. Returns the Pages' ids.
    pub fn seed_granted_pages(&mut self, client_id: &str, tokens: Vec<String>, now: Timestamp) -> Vec<u64> {
        let ids = self.seed_pages(tokens.len());
        let admin = self.users[0].id;
        let grant = self
            .grants
            .entry((client_id.to_owned(), admin))
            .or_insert_with(|| Grant {
                scopes: Vec::new(),
                declined: Vec::new(),
                pages: Vec::new(),
            });
        for scope in PUBLISHING_SCOPES {
            if !grant.scopes.iter().any(|s| s == scope) {
                grant.scopes.push(scope.to_owned());
            }
        }
        grant.pages.extend(&ids);
        for (&page, token) in ids.iter().zip(tokens) {
            let t = Token {
                user_id: admin,
                client_id: client_id.to_owned(),
                kind: TokenKind::Page(page),
                expires_at: None,
            };
            self.add_token(token, t, now);
        }
        ids
    }

    /// Creates a post on `page`; returns its id (`{page}_{n}`).
    pub fn new_post(
        &mut self,
        page: u64,
        message: String,
        link: Option<String>,
        photos: Vec<u64>,
        now: Timestamp,
    ) -> String {
        self.push_post(page, message, link, photos, ("post", None), now)
    }

    fn push_post(
        &mut self,
        page: u64,
        message: String,
        link: Option<String>,
        photos: Vec<u64>,
        (kind, video): (&'static str, Option<u64>),
        now: Timestamp,
    ) -> String {
        let n = self.next_id();
        let id = format!("{page}_{n}");
        let permalink_url = match kind {
            "reel" => format!("https://www.facebook.com/reel/{}", video.unwrap_or(n)),
            "video" => format!("https://www.facebook.com/{page}/videos/{}", video.unwrap_or(n)),
            "story" => format!("https://www.facebook.com/stories/{page}/{n}"),
            _ => format!("https://www.facebook.com/{page}/posts/{n}"),
        };
        self.post_ids.insert(id.clone(), self.posts.len());
        self.posts.push(Post {
            id: id.clone(),
            page_id: page,
            message,
            link,
            photos,
            kind,
            video,
            created_time: now,
            permalink_url,
        });
        id
    }

    /// A photo story: the post that shows an unpublished photo for 24 hours.
    pub fn new_photo_story(&mut self, page: u64, photo: u64, now: Timestamp) -> String {
        let id = self.push_post(page, String::new(), None, vec![photo], ("story", None), now);
        if let Some(p) = self.photos.iter_mut().find(|p| p.id == photo) {
            p.post_id = Some(id.clone());
        }
        id
    }

    /// Videos whose processing ended become posts (reels and stories publish once processed).
    pub fn settle(&mut self, now: Timestamp) {
        let ready: Vec<Video> = self
            .videos
            .iter()
            .filter(|v| v.post_id.is_none() && v.ready_at.is_some_and(|at| at <= now))
            .cloned()
            .collect();
        for v in ready {
            let at = v.ready_at.unwrap_or(now);
            let post = self.push_post(
                v.page_id,
                v.description.clone(),
                None,
                Vec::new(),
                (v.kind, Some(v.id)),
                at,
            );
            if let Some(video) = self.videos.iter_mut().find(|x| x.id == v.id) {
                video.post_id = Some(post);
            }
        }
    }

    /// A person's top-level comment on a post; `None` when there is no such post.
    pub fn add_comment(
        &mut self,
        post_id: &str,
        name: &str,
        message: &str,
        hidden: bool,
        now: Timestamp,
    ) -> Option<String> {
        let post = self.posts.iter().find(|p| p.id == post_id)?.id.clone();
        let n = self.next_id();
        let id = format!("{}_{n}", post.split('_').nth(1).unwrap_or_default());
        self.comments.push(Comment {
            id: id.clone(),
            post_id: post,
            parent: None,
            from_page: None,
            from_id: (20_000_000_000_000 + n % 1_000_000).to_string(),
            from_name: name.to_owned(),
            message: message.to_owned(),
            created_time: now,
            hidden,
        });
        Some(id)
    }

    /// The post `id` names, if any.
    pub fn post(&self, id: &str) -> Option<&Post> {
        self.post_ids.get(id).map(|&i| &self.posts[i])
    }

    pub fn page(&self, id: u64) -> Option<&Page> {
        self.pages.iter().find(|p| p.id == id)
    }
}
