//! The engine: a draft and a platform's table in, one violation per broken rule out.

use serde_json::Value;

use super::text::count_tokens;
use super::{
    Draft, Kind, Limits, LiveFacts, MediaFacts, OptionSpec, OptionType, VideoLimits, Violation, limits,
};
use crate::platform::Platform;

/// Checks a draft against a platform's rules; empty when the platform's API can take it.
pub fn check(platform: Platform, draft: &Draft) -> Vec<Violation> {
    let mut c = Checker {
        name: platform.display_name(),
        limits: limits(platform),
        out: Vec::new(),
    };
    c.options(draft);
    c.text(draft.text);
    let kind = c.kind(draft);
    c.media(draft.media, kind);
    c.thread(draft);
    if let Some(live) = draft.live
        && let Some(creator) = &live.creator
    {
        c.creator(draft, live, creator);
    }
    if let Some(LiveFacts {
        quota_used: Some(used),
        quota_total: Some(total),
        ..
    }) = draft.live
        && used >= total
    {
        c.push(
            "quota.exhausted",
            format!(
                "{} allows {total} API-published posts per 24 hours and this profile has used them all; Herald publishes when a slot frees up.",
                c.name
            ),
        );
    }
    c.out
}

/// The kind of post a draft makes on a platform (`None` when no kind takes its media).
pub fn kind_of(platform: Platform, draft: &Draft) -> Option<&'static str> {
    resolve(limits(platform), draft).map(|k| k.id)
}

fn resolve(l: &'static Limits, draft: &Draft) -> Option<&'static Kind> {
    let kinds = l.kinds;
    let count =
        |f: fn(crate::media::MediaType) -> bool| draft.media.iter().filter(|m| f(m.media_type)).count();
    let (images, videos, documents) = (
        count(crate::media::MediaType::is_image),
        count(crate::media::MediaType::is_video),
        count(crate::media::MediaType::is_document),
    );
    let fits = |k: &&Kind| {
        (k.images.0..=k.images.1).contains(&images)
            && (k.videos.0..=k.videos.1).contains(&videos)
            && (k.documents.0..=k.documents.1).contains(&documents)
            && (k.items.0..=k.items.1).contains(&draft.media.len())
    };
    let format = draft.options.get("format").and_then(Value::as_str);
    if let Some(k) = kinds.iter().find(|k| k.explicit && Some(k.id) == format) {
        return Some(k).filter(fits);
    }
    kinds.iter().filter(|k| !k.explicit).find(fits)
}

fn list(items: impl IntoIterator<Item = impl AsRef<str>>) -> String {
    items
        .into_iter()
        .map(|s| s.as_ref().to_owned())
        .collect::<Vec<_>>()
        .join(", ")
}

fn mimes(types: &[crate::media::MediaType]) -> String {
    list(types.iter().map(|t| t.mime()))
}

fn duration(ms: u64) -> String {
    match ms {
        ms if ms >= 3_600_000 && ms % 3_600_000 == 0 => format!("{} h", ms / 3_600_000),
        ms if ms >= 120_000 && ms % 60_000 == 0 => format!("{} min", ms / 60_000),
        ms if ms % 1000 == 0 => format!("{} s", ms / 1000),
        ms => format!("{:.1} s", ms as f64 / 1000.0),
    }
}

struct Checker {
    name: &'static str,
    limits: &'static Limits,
    out: Vec<Violation>,
}

impl Checker {
    fn push(&mut self, rule: &'static str, message: String) {
        self.out.push(Violation {
            rule,
            message,
            part: None,
        });
    }

    /// A thread goes only where the platform publishes threads; each part after the first is
    /// checked like a post of its own (its text, its media), its violations naming the part.
    fn thread(&mut self, draft: &Draft) {
        if draft.thread.is_empty() {
            return;
        }
        if !self.limits.threads {
            let message = format!(
                "{} does not publish threads: a post of {} parts goes only to platforms that take threads; publish the parts as separate posts here.",
                self.name,
                draft.thread.len() + 1
            );
            self.push("thread.unsupported", message);
            return;
        }
        // Where the platform refuses the same text twice in a row, two parts cannot share one.
        let refuses_twins = self
            .limits
            .unsupported
            .iter()
            .find(|u| u.id == "unsupported.duplicate_text");
        let texts: Vec<&str> = std::iter::once(draft.text)
            .chain(draft.thread.iter().map(|p| p.text))
            .collect();
        if let Some(u) = refuses_twins
            && let Some(i) = (1..texts.len()).find(|&i| {
                !texts[i].trim().is_empty() && texts[..i].iter().any(|t| t.trim() == texts[i].trim())
            })
        {
            self.push_part(
                i + 1,
                u.id,
                format!(
                    "Part {}: the same text as an earlier part; {} ({}).",
                    i + 1,
                    u.action,
                    u.why
                ),
            );
        }
        for (i, part) in draft.thread.iter().enumerate() {
            let mut one = Checker {
                name: self.name,
                limits: self.limits,
                out: Vec::new(),
            };
            let alone = Draft {
                text: part.text,
                media: part.media,
                thread: &[],
                ..*draft
            };
            one.text(part.text);
            let kind = one.kind(&alone);
            one.media(part.media, kind);
            for v in one.out {
                self.push_part(i + 2, v.rule, format!("Part {}: {}", i + 2, v.message));
            }
        }
    }

    /// A violation of one part of a thread (numbered from 1, the post's own text and media).
    fn push_part(&mut self, part: usize, rule: &'static str, message: String) {
        self.out.push(Violation {
            rule,
            message,
            part: Some(part),
        });
    }

    /// What the account allows, as the platform said before the post: a privacy level it offers,
    /// a video no longer than its maximum.
    fn creator(&mut self, draft: &Draft, live: &LiveFacts, creator: &super::Creator) {
        let name = self.name;
        if let Some(level) = draft.options.get("privacy_level").and_then(Value::as_str)
            && let Some(offered) = live.offered("privacy_level")
            && !offered.contains(&level)
        {
            self.push(
                "options.privacy_unavailable",
                format!(
                    "This {name} account does not offer the privacy level {level}; it offers {}.",
                    list(offered.into_iter())
                ),
            );
        }
        // An interaction the account's owner turned off in the app cannot be turned on by a post.
        for (option, what) in [
            ("disable_comment", "comments"),
            ("disable_duet", "duets"),
            ("disable_stitch", "stitches"),
        ] {
            if draft.options.get(option) == Some(&Value::Bool(false)) && live.offered(option).is_some() {
                self.push(
                    "options.interaction_unavailable",
                    format!(
                        "This {name} account has {what} turned off in its settings, so a post cannot turn them on: leave `{option}` unset or yes."
                    ),
                );
            }
        }
        let longest = draft
            .media
            .iter()
            .filter_map(|m| m.video.as_ref()?.duration_ms)
            .max();
        if let (Some(max), Some(d)) = (creator.max_video_duration_s, longest)
            && d > u64::from(max) * 1000
        {
            self.push(
                "media.too_long_for_account",
                format!(
                    "This {name} account may post videos of up to {}; this one is {}.",
                    duration(u64::from(max) * 1000),
                    duration(d)
                ),
            );
        }
    }

    fn options(&mut self, draft: &Draft) {
        let name = self.name;
        let kind = resolve(self.limits, draft).map(|k| k.id);
        for (key, value) in draft.options {
            if let Some(u) = self
                .limits
                .unsupported
                .iter()
                .find(|u| u.options.contains(&key.as_str()))
            {
                self.push(
                    u.id,
                    format!("{name} cannot do this: {} ({}). Remove `{key}`.", u.action, u.why),
                );
                continue;
            }
            let Some(spec) = self.limits.options.iter().find(|o| o.name == key) else {
                let known = list(self.limits.options.iter().map(|o| o.name));
                let known = if known.is_empty() {
                    "none".to_owned()
                } else {
                    known
                };
                self.push(
                    "options.unknown",
                    format!("{name} has no option `{key}`; its options are: {known}."),
                );
                continue;
            };
            let problem = match (spec.per_item, value.as_array()) {
                (false, _) => type_problem(&spec.ty, value),
                (true, Some(items)) if items.len() == draft.media.len() => items
                    .iter()
                    .find_map(|v| type_problem(&spec.ty, v))
                    .map(|p| format!("a list of {p}, one per media item")),
                (true, _) => Some(format!(
                    "a list with one entry per media item ({})",
                    draft.media.len()
                )),
            };
            let refused = match (&spec.ty, value.as_str()) {
                (OptionType::Text { .. }, Some(s)) => self.refused_chars(s),
                _ => None,
            };
            if let Some(problem) = problem {
                self.push(
                    "options.invalid",
                    format!("{name}'s option `{key}` must be {problem}."),
                );
            } else if let Some(chars) = refused {
                self.push(
                    "options.forbidden_characters",
                    format!("{name} refuses {chars} in `{key}`; remove them."),
                );
            } else if let Some(k) = kind.filter(|k| !spec.kinds.is_empty() && !spec.kinds.contains(k)) {
                self.push(
                    "options.not_for_kind",
                    format!(
                        "{name}'s option `{key}` applies to {} posts, not to this {k}.",
                        spec.kinds.join(" and ")
                    ),
                );
            }
        }
        // A required option of some kinds only is required of those kinds.
        let applies = |o: &&OptionSpec| o.kinds.is_empty() || kind.is_some_and(|k| o.kinds.contains(&k));
        for spec in self.limits.options.iter().filter(|o| o.required).filter(applies) {
            if !draft.options.contains_key(spec.name) {
                self.push(
                    "options.required",
                    format!("{name} needs the option `{}`: {}", spec.name, spec.about),
                );
            }
        }
    }

    /// The characters of `s` the platform refuses, as people read them (`<` and `>`).
    fn refused_chars(&self, s: &str) -> Option<String> {
        let found: Vec<String> = self
            .limits
            .forbidden_chars
            .chars()
            .filter(|c| s.contains(*c))
            .map(|c| format!("`{c}`"))
            .collect();
        (!found.is_empty()).then(|| found.join(" and "))
    }

    fn text(&mut self, text: &str) {
        let name = self.name;
        let l = self.limits;
        if let Some(chars) = self.refused_chars(text) {
            self.push(
                "caption.forbidden_characters",
                format!("{name} refuses {chars} in a post's text; remove them."),
            );
        }
        let len = l.text_counting.length(text);
        if let Some(max) = l.text_max.filter(|max| len > *max) {
            self.push(
                "caption.too_long",
                format!(
                    "{name} takes at most {max} {} of text; this has {len}. Shorten it by {}.",
                    l.text_counting.unit(),
                    len - max
                ),
            );
        }
        for (max, sigil, rule, what) in [
            (l.hashtags_max, '#', "caption.too_many_hashtags", "hashtags"),
            (l.mentions_max, '@', "caption.too_many_mentions", "@-mentions"),
        ] {
            let n = count_tokens(text, sigil);
            if let Some(max) = max.filter(|max| n > *max) {
                self.push(
                    rule,
                    format!("{name} allows at most {max} {what}; this text has {n}."),
                );
            }
        }
    }

    /// Resolves the post's kind, or says why no kind takes this media (an explicitly chosen kind
    /// is returned even then).
    fn kind(&mut self, draft: &Draft) -> Option<&'static Kind> {
        let l = self.limits;
        if let Some(k) = resolve(l, draft) {
            return Some(k);
        }
        let name = self.name;
        let n = draft.media.len();
        let images = draft.media.iter().filter(|m| m.media_type.is_image()).count();
        let documents = draft.media.iter().filter(|m| m.media_type.is_document()).count();
        let videos = n - images - documents;
        let format = draft.options.get("format").and_then(Value::as_str);
        if let Some(k) = l.kinds.iter().find(|k| k.explicit && Some(k.id) == format) {
            self.push("media.kind", format!("{name} {} posts take: {}", k.id, k.about));
            // The media's own checks still follow the kind that was asked for.
            return Some(k);
        }
        let inferred = || l.kinds.iter().filter(|k| !k.explicit);
        let max = inferred().map(|k| k.items.1).max().unwrap_or(0);
        if n == 0 {
            let what = match (l.image.is_some(), l.video.is_some()) {
                (true, true) => "an image or a video",
                (false, true) => "a video",
                _ => "an image",
            };
            self.push(
                "media.required",
                format!("{name} cannot publish text alone: attach {what}."),
            );
        } else if n > max {
            self.push(
                "media.too_many",
                format!("{name} posts take at most {max} media items; remove {}.", n - max),
            );
        } else if images > 0 && videos > 0 && !inferred().any(|k| k.images.1 > 0 && k.videos.1 > 0) {
            self.push(
                "media.mixed",
                format!("{name} cannot mix images and videos in one post; post them separately."),
            );
        } else if (images > 0 && l.image.is_none())
            || (videos > 0 && l.video.is_none())
            || (documents > 0 && l.document.is_none())
        {
            // `media.type` says what the platform takes.
        } else {
            let kinds = list(inferred().map(|k| format!("{} ({})", k.id, k.about)));
            self.push(
                "media.combination",
                format!("{name} cannot publish {images} image(s) with {videos} video(s) together; it publishes: {kinds}"),
            );
        }
        None
    }

    fn media(&mut self, media: &[MediaFacts], kind: Option<&Kind>) {
        let name = self.name;
        let l = self.limits;
        let (documents, media): (Vec<&MediaFacts>, Vec<&MediaFacts>) =
            media.iter().partition(|m| m.media_type.is_document());
        let (images, videos): (Vec<&MediaFacts>, Vec<&MediaFacts>) =
            media.into_iter().partition(|m| m.media_type.is_image());
        let image_ok = |m: &&MediaFacts| {
            l.image
                .as_ref()
                .is_some_and(|il| il.types.contains(&m.media_type))
        };
        let video_ok = |m: &&MediaFacts| {
            l.video
                .as_ref()
                .is_some_and(|vl| vl.types.contains(&m.media_type))
        };
        let document_ok = |m: &&MediaFacts| {
            l.document
                .as_ref()
                .is_some_and(|dl| dl.types.contains(&m.media_type))
        };
        if !images.iter().all(image_ok) || !videos.iter().all(video_ok) || !documents.iter().all(document_ok)
        {
            let mut allowed = Vec::new();
            if let Some(il) = &l.image {
                allowed.push(format!("{} images", mimes(il.types)));
            }
            if let Some(vl) = &l.video {
                allowed.push(format!("{} videos", mimes(vl.types)));
            }
            if let Some(dl) = &l.document {
                allowed.push(format!("{} documents", mimes(dl.types)));
            }
            self.push(
                "media.type",
                format!(
                    "{name} accepts only {} through its API; convert the file.",
                    allowed.join(" and ")
                ),
            );
        }
        if let Some(dl) = &l.document
            && documents.iter().any(|m| m.bytes > dl.max_bytes)
        {
            self.push(
                "media.too_large",
                format!(
                    "{name} accepts documents up to {} MiB; use a smaller file.",
                    dl.max_bytes >> 20
                ),
            );
        }
        if let Some(il) = &l.image {
            if images.iter().any(|m| m.bytes > il.max_bytes) {
                self.push(
                    "media.too_large",
                    format!(
                        "{name} accepts images up to {} MiB; use a smaller file.",
                        il.max_bytes >> 20
                    ),
                );
            }
            if let Some((lo, hi)) = kind.and_then(|k| k.aspect_ratio).or(il.aspect_ratio) {
                let outside = images
                    .iter()
                    .filter_map(|m| Some((m.width?, m.height?)))
                    .find(|(w, h)| {
                        let r = f64::from(*w) / f64::from((*h).max(1));
                        r < lo - 1e-3 || r > hi + 1e-3
                    });
                if let Some((w, h)) = outside {
                    self.push(
                        "media.aspect_ratio",
                        format!("{name} accepts images from {lo:.2}:1 to {hi:.2}:1 (width:height); this one is {w}x{h}. Crop it."),
                    );
                }
            }
        }
        if let Some((lo, hi)) = kind.and_then(|k| k.aspect_ratio) {
            let outside = videos
                .iter()
                .filter_map(|m| Some((m.width?, m.height?)))
                .find(|(w, h)| {
                    let r = f64::from(*w) / f64::from((*h).max(1));
                    r < lo - 1e-2 || r > hi + 1e-2
                });
            if let Some((w, h)) = outside {
                self.push(
                    "media.aspect_ratio",
                    format!("{name} takes videos from {lo:.2}:1 to {hi:.2}:1 (width:height) here; this one is {w}x{h}. Crop it."),
                );
            }
        }
        if let Some(vl) = &l.video {
            let bounds = kind.and_then(|k| k.video_duration_ms).unwrap_or(vl.duration_ms);
            for m in videos.iter().filter(|m| vl.types.contains(&m.media_type)) {
                self.video(vl, bounds, m);
            }
        }
    }

    /// A video's own rules: size, `moov` position, duration, frame rate, width.
    fn video(&mut self, vl: &VideoLimits, (lo, hi): (u64, u64), m: &MediaFacts) {
        let name = self.name;
        let facts = m.video.clone().unwrap_or_default();
        if m.bytes > vl.max_bytes {
            self.push(
                "media.too_large",
                format!(
                    "{name} accepts videos up to {} MiB; use a smaller file.",
                    vl.max_bytes >> 20
                ),
            );
        }
        if vl.moov_first && facts.moov_first == Some(false) {
            self.push(
                "media.moov_at_end",
                format!("{name} needs the video's index (`moov` atom) at the start of the file; re-export it with fast start (ffmpeg: -movflags +faststart)."),
            );
        }
        if let Some(d) = facts.duration_ms.filter(|d| *d < lo || *d > hi) {
            self.push(
                "media.duration",
                format!(
                    "{name} takes videos of {} to {} here; this one lasts {}.",
                    duration(lo),
                    duration(hi),
                    duration(d)
                ),
            );
        }
        if let Some((flo, fhi)) = vl.frame_rate
            && let Some(f) = facts.frame_rate.filter(|f| *f < flo - 0.5 || *f > fhi + 0.5)
        {
            self.push(
                "media.frame_rate",
                format!("{name} takes {flo} to {fhi} frames per second; this video has {f:.1}."),
            );
        }
        if let Some(max) = vl.max_width
            && m.width.is_some_and(|w| w > max)
        {
            self.push(
                "media.width",
                format!("{name} takes videos up to {max} pixels wide; scale it down."),
            );
        }
    }
}

/// What a value must be, when it is not.
fn type_problem(ty: &OptionType, value: &Value) -> Option<String> {
    match ty {
        OptionType::Text { max_chars } => match value.as_str() {
            Some(s) if s.chars().count() <= *max_chars => None,
            Some(_) => Some(format!("at most {max_chars} characters")),
            None => Some("a string".into()),
        },
        OptionType::Choice { list } => match value.as_str() {
            Some(s) if !s.is_empty() && s.len() <= 256 => None,
            _ => Some(format!("the id of one of the profile's {list}")),
        },
        OptionType::Media { .. } => match value.as_str() {
            Some(s) if s.parse::<crate::MediaId>().is_ok() => None,
            _ => Some("the id of an uploaded media file".into()),
        },
        OptionType::Url => match value.as_str().map(url_ok) {
            Some(true) => None,
            _ => Some("an http(s) URL".into()),
        },
        OptionType::Bool => (!value.is_boolean()).then(|| "true or false".into()),
        OptionType::Integer { min, max } => match value.as_i64() {
            Some(n) if (*min..=*max).contains(&n) => None,
            _ => Some(format!("an integer from {min} to {max}")),
        },
        OptionType::OneOf { values } => match value.as_str() {
            Some(s) if values.contains(&s) => None,
            _ => Some(format!("one of: {}", values.join(", "))),
        },
    }
}

fn url_ok(s: &str) -> bool {
    s.len() <= 2048
        && (s.starts_with("https://") || s.starts_with("http://"))
        && s.split("://")
            .nth(1)
            .is_some_and(|rest| !rest.is_empty() && !rest.contains(char::is_whitespace))
}
