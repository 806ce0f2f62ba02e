//! Platform rules as data, checked by one engine for the API, the composer and the dispatcher.
//!
//! Each platform has one table ([`tables`]): text limits as the platform counts them, the kinds of
//! post its API publishes, media limits, option fields, and the things its API cannot do. The engine
//! ([`check`]) turns a draft into one [`Violation`] per broken rule, each with a stable id.

mod engine;
mod tables;
mod text;

use serde::Serialize;

use crate::media::MediaType;

pub use engine::{check, kind_of};
pub use tables::limits;
pub use text::Counting;

/// What the rules need to know about an attached media file.
#[derive(Debug, Clone)]
pub struct MediaFacts {
    pub media_type: MediaType,
    pub bytes: u64,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// What probing found in a video.
    pub video: Option<Video>,
}

/// A video's probed facts that rules look at.
#[derive(Debug, Clone, Default)]
pub struct Video {
    pub duration_ms: Option<u64>,
    pub frame_rate: Option<f64>,
    pub moov_first: Option<bool>,
}

/// A post for one target as the rules see it.
#[derive(Debug, Clone, Copy)]
pub struct Draft<'a> {
    pub text: &'a str,
    pub media: &'a [MediaFacts],
    pub options: &'a serde_json::Map<String, serde_json::Value>,
    /// What the platform said about the profile lately, when the caller has it.
    pub live: Option<&'a LiveFacts>,
    /// The parts that follow the first in a thread, in order (empty for a post of one part).
    pub thread: &'a [Part<'a>],
}

/// One part of a thread after the first: its own text and media.
#[derive(Debug, Clone, Copy)]
pub struct Part<'a> {
    pub text: &'a str,
    pub media: &'a [MediaFacts],
}

/// How long the live facts read from a platform are trusted before they are read again.
pub const LIVE_FACTS_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// Facts only the platform knows, read from its API and cached per profile (Instagram's
/// `content_publishing_limit`: API-published posts in the last 24 hours, and the allowance;
/// TikTok's `creator_info`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct LiveFacts {
    pub quota_used: Option<u32>,
    pub quota_total: Option<u32>,
    pub creator: Option<Creator>,
}

impl LiveFacts {
    /// The values the account offers for an option, where the platform says (TikTok's privacy
    /// levels; `yes` alone for turning off an interaction its owner turned off); `None` when it
    /// says nothing (an empty list says nothing either).
    pub fn offered(&self, option: &str) -> Option<Vec<&str>> {
        let c = self.creator.as_ref()?;
        let off = match option {
            "privacy_level" => {
                let levels: Vec<&str> = c.privacy_levels.iter().map(String::as_str).collect();
                return Some(levels).filter(|l| !l.is_empty());
            }
            "disable_comment" => c.comment_disabled,
            "disable_duet" => c.duet_disabled,
            "disable_stitch" => c.stitch_disabled,
            _ => false,
        };
        off.then(|| vec!["yes"])
    }
}

/// What the account allows a post, as the platform says before each one (TikTok's
/// `creator_info`): the privacy levels it offers, the interactions its owner turned off, and the
/// longest video it may post.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(default)]
pub struct Creator {
    pub privacy_levels: Vec<String>,
    pub comment_disabled: bool,
    pub duet_disabled: bool,
    pub stitch_disabled: bool,
    pub max_video_duration_s: Option<u32>,
}

/// A broken rule, with a stable id and a message that names the platform and the fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub rule: &'static str,
    pub message: String,
    /// The part of a thread it concerns (2 for the part after the first), when it concerns one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<usize>,
}

/// The limits of one platform, as data.
#[derive(Debug, Clone, Serialize)]
pub struct Limits {
    /// The post's text (caption, commentary, description): maximum length and how it is counted.
    pub text_max: Option<usize>,
    pub text_counting: Counting,
    pub hashtags_max: Option<usize>,
    pub mentions_max: Option<usize>,
    /// The kinds of post the API publishes. Kinds not marked `explicit` are inferred from the media.
    pub kinds: &'static [Kind],
    pub image: Option<ImageLimits>,
    pub video: Option<VideoLimits>,
    /// Documents (PDF) the platform publishes, if any.
    pub document: Option<DocumentLimits>,
    /// Per-target options the platform's API takes.
    pub options: &'static [OptionSpec],
    /// Whether the platform publishes threads (a post followed by replies of its own).
    pub threads: bool,
    /// Where the platform's feed cuts a long text behind "more", for the composer's preview (third
    /// parties' measurements; the apps vary by screen); `None` shows it whole.
    pub preview_fold: Option<usize>,
    /// What the platform's API cannot do, whatever Herald does.
    pub unsupported: &'static [Unsupported],
    /// Characters the platform refuses in the post's text and in its text options (YouTube's
    /// `<` and `>`).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub forbidden_chars: &'static str,
}

/// One kind of post (Instagram: image, carousel, reel, story).
#[derive(Debug, Clone, Serialize)]
pub struct Kind {
    pub id: &'static str,
    pub about: &'static str,
    /// Inclusive bounds on the number of images, of videos, of documents, and of all together.
    pub images: (usize, usize),
    pub videos: (usize, usize),
    pub documents: (usize, usize),
    pub items: (usize, usize),
    /// Chosen only by the `format` option, never inferred from the media.
    pub explicit: bool,
    /// Overrides the platform's video duration bounds for this kind (milliseconds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub video_duration_ms: Option<(u64, u64)>,
    /// Overrides the platform's image aspect ratio bounds for this kind.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aspect_ratio: Option<(f64, f64)>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DocumentLimits {
    pub types: &'static [MediaType],
    pub max_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImageLimits {
    pub types: &'static [MediaType],
    pub max_bytes: u64,
    /// Width divided by height, inclusive bounds.
    pub aspect_ratio: Option<(f64, f64)>,
}

/// The videos a platform takes.
#[derive(Debug, Clone, Serialize)]
pub struct VideoLimits {
    pub types: &'static [MediaType],
    pub max_bytes: u64,
    /// Inclusive bounds, milliseconds.
    pub duration_ms: (u64, u64),
    /// Inclusive bounds, frames per second.
    pub frame_rate: Option<(f64, f64)>,
    pub max_width: Option<u32>,
    /// The `moov` atom must come before the media data.
    pub moov_first: bool,
}

/// A per-target option: its name, its type, which kinds take it, and what it does.
#[derive(Debug, Clone, Serialize)]
pub struct OptionSpec {
    pub name: &'static str,
    #[serde(rename = "type")]
    pub ty: OptionType,
    /// Kinds that take this option; empty means every kind.
    pub kinds: &'static [&'static str],
    pub required: bool,
    /// Set once per media item, in the media's order (a multi-image pin's titles): the value is a
    /// list with one entry per item.
    pub per_item: bool,
    pub about: &'static str,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "is", rename_all = "snake_case")]
pub enum OptionType {
    Text {
        max_chars: usize,
    },
    Url,
    Bool,
    Integer {
        min: i64,
        max: i64,
    },
    OneOf {
        values: &'static [&'static str],
    },
    /// The id of an uploaded media file of one of these types (a reel's cover image): Herald hands
    /// the platform a URL to it.
    Media {
        types: &'static [crate::media::MediaType],
        /// The largest file the platform takes there.
        max_bytes: u64,
    },
    /// One of the choices the platform lists for the profile (its boards, organizations, privacy
    /// levels), read live from the platform when the composer asks: `list` names the list.
    Choice {
        list: &'static str,
    },
}

/// Something a platform's API does not allow. When `options` names keys, a draft that sets one is
/// refused with this rule id (`unsupported.…`) instead of a generic unknown-option error.
#[derive(Debug, Clone, Serialize)]
pub struct Unsupported {
    pub id: &'static str,
    pub action: &'static str,
    pub why: &'static str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub options: &'static [&'static str],
}

#[cfg(test)]
mod tests;
