//! The state of the emulated Pinterest: accounts with their boards and sections, grants, codes,
//! access and refresh tokens, registered media and pins.

use std::collections::HashMap;

use jiff::Timestamp;

#[derive(Debug, Clone)]
pub(crate) struct Board {
    pub id: String,
    pub name: String,
    pub privacy: &'static str,
    /// (id, name)
    pub sections: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub(crate) struct Account {
    /// Pinterest's user account id: a string of digits.
    pub id: String,
    pub username: String,
    pub business_name: String,
    pub boards: Vec<Board>,
}

#[derive(Debug, Clone)]
pub(crate) struct Code {
    pub client_id: String,
    pub redirect_uri: String,
    pub account: String,
    pub scopes: Vec<String>,
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
    pub account: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub kind: TokenKind,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum MediaStatus {
    Registered,
    Processing,
    Succeeded,
    Failed,
}

/// A registered media upload (`POST /v5/media`).
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Media {
    pub id: String,
    pub account: String,
    /// The key the upload form must carry (what S3 would be told to store).
    pub key: String,
    pub status: MediaStatus,
    pub bytes: usize,
    pub registered_at: Timestamp,
    /// When a processing upload becomes `succeeded`.
    pub ready_at: Option<Timestamp>,
}

/// One image of a pin (a multi-image pin has 2 to 5).
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Image {
    pub url: String,
    pub bytes: usize,
    pub title: Option<String>,
    pub description: Option<String>,
    pub link: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Pin {
    pub id: String,
    pub account: String,
    pub board_id: String,
    pub board_section_id: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub link: Option<String>,
    pub alt_text: Option<String>,
    /// `image`, `multiple_images` or `video`.
    pub media_type: &'static str,
    pub images: Vec<Image>,
    pub media_id: Option<String>,
    /// A video pin's cover: an image URL or a key frame (seconds).
    pub cover: Option<String>,
    pub created_at: Timestamp,
}

/// Everything the emulated Pinterest knows.
pub(crate) struct World {
    pub accounts: Vec<Account>,
    /// (client id, account) → the scopes the person granted; removed when access is revoked.
    pub grants: HashMap<(String, String), Vec<String>>,
    pub codes: HashMap<String, Code>,
    pub tokens: HashMap<String, Token>,
    pub media: HashMap<String, Media>,
    pub pins: Vec<Pin>,
    next_id: u64,
}

impl World {
    pub fn seeded() -> Self {
        let board = |id: &str, name: &str, sections: &[(&str, &str)]| Board {
            id: id.into(),
            name: name.into(),
            privacy: "PUBLIC",
            sections: sections
                .iter()
                .map(|(i, n)| ((*i).to_owned(), (*n).to_owned()))
                .collect(),
        };
        Self {
            accounts: vec![
                Account {
                    id: "2783136121146311751".into(),
                    username: "sandbox_pins".into(),
                    business_name: "Sandbox Pins".into(),
                    boards: vec![
                        board(
                            "549755885175",
                            "Product launches",
                            &[("5497558851751", "Spring"), ("5497558851752", "Autumn")],
                        ),
                        board("549755885176", "Recipes", &[]),
                    ],
                },
                Account {
                    id: "2783136121146311752".into(),
                    username: "sandbox_studio".into(),
                    business_name: "Sandbox Studio".into(),
                    boards: vec![board("549755885177", "Studio work", &[])],
                },
            ],
            grants: HashMap::new(),
            codes: HashMap::new(),
            tokens: HashMap::new(),
            media: HashMap::new(),
            pins: Vec::new(),
            next_id: 1_129_000_000_000_000_001,
        }
    }

    /// A fresh id: a string of digits, as Pinterest issues them.
    pub fn next_id(&mut self) -> String {
        self.next_id += 13;
        self.next_id.to_string()
    }

    pub fn account(&self, id: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.id == id)
    }

    pub fn board(&self, account: &str, board: &str) -> Option<&Board> {
        self.account(account)?.boards.iter().find(|b| b.id == board)
    }

    /// Records a code, forgetting expired codes (and the soonest to expire beyond [`MAX_CODES`]).
    pub fn add_code(&mut self, code: String, c: Code, now: Timestamp) {
        crate::bounded::add_code(&mut self.codes, (code, c), now, |c| c.expires_at);
    }

    /// Records a token, forgetting tokens that expired more than a week ago.
    pub fn add_token(&mut self, token: String, t: Token, now: Timestamp) {
        crate::bounded::add_token(&mut self.tokens, (token, t), now, |t| t.expires_at);
    }

    /// Registered uploads that finished processing become `succeeded`.
    pub fn settle(&mut self, now: Timestamp) {
        for m in self.media.values_mut() {
            if m.status == MediaStatus::Processing && m.ready_at.is_some_and(|t| t <= now) {
                m.status = MediaStatus::Succeeded;
            }
        }
    }
}
