//! What was uploaded and posted on the emulated Snapchat: media containers (their parts, the
//! decryption under way, never the key; what FINALIZE found), and the Stories, Saved Stories and
//! Spotlights made from them.

use jiff::{SignedDuration, Timestamp};

use super::crypto::Decryption;

/// Media stays usable for posting 24 hours after it was created [official S3].
pub(crate) const MEDIA_TTL: SignedDuration = SignedDuration::from_hours(24);

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub(crate) enum MediaKind {
    Video,
    Image,
}

/// One part as it arrived: its number and the size and SHA-256 of its ciphertext (a retried part
/// with the same bytes is taken again without effect).
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Part {
    pub number: u32,
    pub bytes: u64,
    pub sha256: String,
}

/// What FINALIZE found in the decrypted media.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Finished {
    pub sha256: String,
    pub bytes: u64,
    /// `MP4`, `JPEG` or `PNG`.
    pub detected: &'static str,
}

/// A media container: created with its key and IV, its ciphertext decrypted part by part as it
/// arrives (the key lives only inside the decryption, which FINALIZE ends).
pub(crate) struct Media {
    pub id: String,
    pub profile_id: String,
    pub kind: MediaKind,
    pub name: String,
    pub parts: Vec<Part>,
    pub ciphertext_bytes: u64,
    pub decryption: Option<Decryption>,
    /// After FINALIZE: the plaintext's digest, or why the media was refused.
    pub finalized: Option<Result<Finished, String>>,
    pub created_at: Timestamp,
    /// When processing ends, after FINALIZE.
    pub ready_at: Option<Timestamp>,
    /// What the media was posted as (`story`, `saved_story`, `spotlight`) and that post's id.
    pub used_by: Option<(&'static str, String)>,
}

impl Media {
    pub fn expires_at(&self) -> Timestamp {
        self.created_at + MEDIA_TTL
    }

    /// `PENDING_UPLOAD`, `PROCESSING`, `READY`, `FAILED` or `EXPIRED` [assumption: the names of
    /// the Ads API's `media_status`, plus the sandbox's own].
    pub fn status(&self, now: Timestamp) -> &'static str {
        if now >= self.expires_at() {
            return "EXPIRED";
        }
        match (&self.finalized, self.ready_at) {
            (None, _) => "PENDING_UPLOAD",
            (Some(Err(_)), _) => "FAILED",
            (Some(Ok(_)), Some(at)) if at > now => "PROCESSING",
            (Some(Ok(_)), _) => "READY",
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Story {
    pub id: String,
    pub profile_id: String,
    pub media_id: String,
    pub kind: MediaKind,
    /// `ONE_DAY`, `TWO_DAYS`, `THREE_DAYS` or `ONE_WEEK`.
    pub ttl: &'static str,
    /// The request id of the call that posted it: all a client is told [3p].
    pub request_id: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct SavedStory {
    pub id: String,
    pub profile_id: String,
    pub title: String,
    pub media_ids: Vec<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Spotlight {
    pub id: String,
    pub profile_id: String,
    pub media_id: String,
    pub description: String,
    pub locale: String,
    pub skip_save_to_profile: bool,
    pub created_at: Timestamp,
    /// When review ends, and whether it rejects the Spotlight.
    #[serde(skip)]
    pub review_until: Timestamp,
    #[serde(skip)]
    pub rejected: bool,
}

impl Spotlight {
    /// `SUBMITTED` under review, then `LIVE` or `REJECTED` [3p: C2].
    pub fn status(&self, now: Timestamp) -> &'static str {
        match (now < self.review_until, self.rejected) {
            (true, _) => "SUBMITTED",
            (false, true) => "REJECTED",
            (false, false) => "LIVE",
        }
    }

    /// The link to a live Spotlight [assumption: the form of Snapchat's share links].
    pub fn share_link(&self) -> String {
        format!("https://www.snapchat.com/spotlight/{}", self.id)
    }
}
