//! Platform rules as data, checked by one engine for the API, the composer and the dispatcher.

use serde::Serialize;

use crate::media::MediaType;
use crate::platform::Platform;

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

/// The videos a platform takes as a post of their own (Instagram: a reel).
#[derive(Debug, Clone, Serialize)]
pub struct VideoLimits {
    pub types: &'static [MediaType],
    pub max_bytes: u64,
    /// Inclusive bounds, milliseconds.
    pub duration_ms: (u64, u64),
    /// Inclusive bounds, frames per second.
    pub frame_rate: (f64, f64),
    pub max_width: u32,
    /// The `moov` atom must come before the media data.
    pub moov_first: bool,
}

/// A broken rule, with a stable id and a message that names the platform and the fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub rule: &'static str,
    pub message: String,
}

/// The limits of one platform, as data.
#[derive(Debug, Clone, Serialize)]
pub struct Limits {
    pub text_max_chars: Option<usize>,
    pub hashtags_max: Option<usize>,
    pub mentions_max: Option<usize>,
    pub media_required: bool,
    pub media_max: usize,
    pub image_types: &'static [MediaType],
    pub image_max_bytes: u64,
    /// Width divided by height, inclusive bounds.
    pub aspect_ratio: Option<(f64, f64)>,
    /// Per-target options the platform's API takes, each a string.
    pub options: &'static [&'static str],
    pub video: Option<VideoLimits>,
}

pub fn limits(platform: Platform) -> Option<Limits> {
    match platform {
        // Sources: Instagram content publishing guide and IG User media reference (official):
        // caption 2,200 characters, 30 hashtags, 20 @-mentions, JPEG only, 8 MiB, 4:5 to 1.91:1.
        Platform::Instagram => Some(Limits {
            text_max_chars: Some(2200),
            hashtags_max: Some(30),
            mentions_max: Some(20),
            media_required: true,
            // One image, or a carousel of 2 to 10 (carousel counts as one post).
            media_max: 10,
            image_types: &[MediaType::Jpeg],
            image_max_bytes: 8 * 1024 * 1024,
            aspect_ratio: Some((4.0 / 5.0, 1.91)),
            // `alt_text` is accepted for image posts since 2025-03-24 (IG Media reference).
            options: &["alt_text"],
            // Reels (content publishing guide, official): MP4/MOV with `moov` at the front, 3 s to
            // 15 min, 23-60 fps, at most 1920 px wide; 1 GiB is the newer size limit [3p].
            video: Some(VideoLimits {
                types: &[MediaType::Mp4],
                max_bytes: 1024 * 1024 * 1024,
                duration_ms: (3_000, 900_000),
                frame_rate: (23.0, 60.0),
                max_width: 1920,
                moov_first: true,
            }),
        }),
        _ => None,
    }
}

fn count_tokens(text: &str, sigil: char) -> usize {
    text.split(|c: char| c.is_whitespace())
        .filter(|w| w.starts_with(sigil) && w.chars().nth(1).is_some_and(|c| c.is_alphanumeric() || c == '_'))
        .count()
}

/// Checks a post's text and media against a platform's rules; one violation per broken rule.
pub fn check(platform: Platform, text: &str, media: &[MediaFacts]) -> Vec<Violation> {
    let name = platform.display_name();
    let Some(l) = limits(platform) else {
        return vec![Violation {
            rule: "platform.unavailable",
            message: format!("Publishing to {name} is not available in this version of Herald."),
        }];
    };
    let mut v = Vec::new();
    let mut push = |rule, message: String| v.push(Violation { rule, message });
    let chars = text.chars().count();
    if let Some(max) = l.text_max_chars.filter(|max| chars > *max) {
        push(
            "caption.too_long",
            format!("{name} captions hold at most {max} characters; this one has {chars}. Shorten it."),
        );
    }
    if let Some(max) = l.hashtags_max {
        let n = count_tokens(text, '#');
        if n > max {
            push(
                "caption.too_many_hashtags",
                format!("{name} allows at most {max} hashtags; this caption has {n}."),
            );
        }
    }
    if let Some(max) = l.mentions_max {
        let n = count_tokens(text, '@');
        if n > max {
            push(
                "caption.too_many_mentions",
                format!("{name} allows at most {max} @-mentions; this caption has {n}."),
            );
        }
    }
    if l.media_required && media.is_empty() {
        push(
            "media.required",
            format!("{name} cannot publish text alone: attach an image."),
        );
    }
    if media.len() > l.media_max {
        push(
            "media.too_many",
            format!(
                "{name} posts take at most {} media items; remove {}.",
                l.media_max,
                media.len() - l.media_max
            ),
        );
    }
    let (images, videos): (Vec<&MediaFacts>, Vec<&MediaFacts>) =
        media.iter().partition(|m| m.media_type.is_image());
    let video_ok = l
        .video
        .as_ref()
        .is_some_and(|vl| videos.iter().all(|m| vl.types.contains(&m.media_type)));
    if images.iter().any(|m| !l.image_types.contains(&m.media_type)) || !video_ok && !videos.is_empty() {
        let mut allowed: Vec<String> = vec![format!(
            "{} images",
            l.image_types
                .iter()
                .map(|t| t.mime())
                .collect::<Vec<_>>()
                .join(", ")
        )];
        if let Some(vl) = &l.video {
            allowed.push(format!(
                "{} videos",
                vl.types.iter().map(|t| t.mime()).collect::<Vec<_>>().join(", ")
            ));
        }
        push(
            "media.type",
            format!(
                "{name} accepts only {} through its API; convert the file.",
                allowed.join(" and ")
            ),
        );
    }
    if !videos.is_empty() && media.len() > 1 {
        push(
            "media.video_in_carousel",
            format!("Herald does not yet publish videos inside {name} carousels; post the video on its own."),
        );
    }
    if images.iter().any(|m| m.bytes > l.image_max_bytes) {
        push(
            "media.too_large",
            format!(
                "{name} accepts images up to {} MiB; use a smaller file.",
                l.image_max_bytes / (1024 * 1024)
            ),
        );
    }
    if let Some((lo, hi)) = l.aspect_ratio {
        let outside = images
            .iter()
            .filter_map(|m| Some((m.width?, m.height?)))
            .find(|(w, h)| {
                let r = f64::from(*w) / f64::from((*h).max(1));
                r < lo - 1e-3 || r > hi + 1e-3
            });
        if let Some((w, h)) = outside {
            push(
                "media.aspect_ratio",
                format!(
                    "{name} accepts aspect ratios from {lo:.2}:1 (4:5) to {hi}:1; this image is {w}x{h}. Crop it."
                ),
            );
        }
    }
    if let Some(vl) = &l.video {
        for m in videos.iter().filter(|m| vl.types.contains(&m.media_type)) {
            v.extend(check_video(name, vl, m));
        }
    }
    v
}

/// A video's own rules: size, `moov` position, duration, frame rate, width.
fn check_video(name: &str, vl: &VideoLimits, m: &MediaFacts) -> Vec<Violation> {
    let mut v = Vec::new();
    let facts = m.video.clone().unwrap_or_default();
    if m.bytes > vl.max_bytes {
        v.push(Violation {
            rule: "media.too_large",
            message: format!(
                "{name} accepts videos up to {} MiB; use a smaller file.",
                vl.max_bytes / (1024 * 1024)
            ),
        });
    }
    if vl.moov_first && facts.moov_first == Some(false) {
        v.push(Violation {
            rule: "media.moov_at_end",
            message: format!("{name} needs the video's index (`moov` atom) at the start of the file; re-export it with fast start (ffmpeg: -movflags +faststart)."),
        });
    }
    let (lo, hi) = vl.duration_ms;
    if let Some(d) = facts.duration_ms.filter(|d| *d < lo || *d > hi) {
        v.push(Violation {
            rule: "media.duration",
            message: format!(
                "{name} takes videos of {} s to {} min; this one lasts {:.1} s.",
                lo / 1000,
                hi / 60_000,
                d as f64 / 1000.0
            ),
        });
    }
    let (flo, fhi) = vl.frame_rate;
    if let Some(f) = facts.frame_rate.filter(|f| *f < flo - 0.5 || *f > fhi + 0.5) {
        v.push(Violation {
            rule: "media.frame_rate",
            message: format!("{name} takes {flo} to {fhi} frames per second; this video has {f:.1}."),
        });
    }
    if m.width.is_some_and(|w| w > vl.max_width) {
        v.push(Violation {
            rule: "media.width",
            message: format!(
                "{name} takes videos up to {} pixels wide; scale it down.",
                vl.max_width
            ),
        });
    }
    v
}

/// Checks a target's `options` object: only the platform's known keys, each a string.
pub fn check_options(
    platform: Platform,
    options: &serde_json::Map<String, serde_json::Value>,
) -> Vec<Violation> {
    let known = limits(platform).map_or(&[][..], |l| l.options);
    let name = platform.display_name();
    options
        .iter()
        .filter_map(|(k, v)| {
            if !known.contains(&k.as_str()) {
                let list = if known.is_empty() {
                    "none".to_owned()
                } else {
                    known.join(", ")
                };
                Some(Violation {
                    rule: "options.unknown",
                    message: format!("{name} has no option `{k}`; its options are: {list}."),
                })
            } else if !v.is_string() {
                Some(Violation {
                    rule: "options.invalid",
                    message: format!("{name}'s option `{k}` must be a string."),
                })
            } else {
                None
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jpeg(w: u32, h: u32) -> MediaFacts {
        MediaFacts {
            media_type: MediaType::Jpeg,
            bytes: 100_000,
            width: Some(w),
            height: Some(h),
            video: None,
        }
    }

    fn mp4(duration_ms: u64, fps: f64, moov_first: bool) -> MediaFacts {
        MediaFacts {
            media_type: MediaType::Mp4,
            bytes: 2_000_000,
            width: Some(720),
            height: Some(1280),
            video: Some(Video {
                duration_ms: Some(duration_ms),
                frame_rate: Some(fps),
                moov_first: Some(moov_first),
            }),
        }
    }

    #[test]
    fn an_instagram_reel_needs_fast_start_a_duration_and_frame_rate_in_range_and_no_company() {
        assert!(check(Platform::Instagram, "reel", &[mp4(4_000, 30.0, true)]).is_empty());
        assert_eq!(
            rules(&check(Platform::Instagram, "reel", &[mp4(4_000, 30.0, false)])),
            ["media.moov_at_end"]
        );
        assert_eq!(
            rules(&check(Platform::Instagram, "reel", &[mp4(2_000, 30.0, true)])),
            ["media.duration"]
        );
        assert_eq!(
            rules(&check(Platform::Instagram, "reel", &[mp4(4_000, 15.0, true)])),
            ["media.frame_rate"]
        );
        assert_eq!(
            rules(&check(
                Platform::Instagram,
                "reel",
                &[mp4(4_000, 30.0, true), jpeg(1080, 1080)]
            )),
            ["media.video_in_carousel"]
        );
    }

    fn rules(v: &[Violation]) -> Vec<&str> {
        v.iter().map(|v| v.rule).collect()
    }

    #[test]
    fn a_square_jpeg_with_a_short_caption_passes_on_instagram() {
        assert!(check(Platform::Instagram, "hello #world", &[jpeg(1080, 1080)]).is_empty());
    }

    #[test]
    fn instagram_refuses_text_only_png_wide_and_long_captions_with_one_violation_each() {
        assert_eq!(rules(&check(Platform::Instagram, "hi", &[])), ["media.required"]);
        let png = MediaFacts {
            media_type: MediaType::Png,
            ..jpeg(1080, 1080)
        };
        assert_eq!(rules(&check(Platform::Instagram, "hi", &[png])), ["media.type"]);
        assert_eq!(
            rules(&check(Platform::Instagram, "hi", &[jpeg(1920, 600)])),
            ["media.aspect_ratio"]
        );
        assert!(check(Platform::Instagram, "hi", &[jpeg(1080, 1350)]).is_empty());
        assert_eq!(
            rules(&check(
                Platform::Instagram,
                &"a".repeat(2201),
                &[jpeg(1080, 1080)]
            )),
            ["caption.too_long"]
        );
        assert!(check(Platform::Instagram, &"é".repeat(2200), &[jpeg(1080, 1080)]).is_empty());
    }

    #[test]
    fn instagram_takes_alt_text_as_a_string_and_nothing_else() {
        let opts = |v: serde_json::Value| v.as_object().unwrap().clone();
        assert!(
            check_options(
                Platform::Instagram,
                &opts(serde_json::json!({"alt_text": "a red square"}))
            )
            .is_empty()
        );
        assert_eq!(
            rules(&check_options(
                Platform::Instagram,
                &opts(serde_json::json!({"board": "x"}))
            )),
            ["options.unknown"]
        );
        assert_eq!(
            rules(&check_options(
                Platform::Instagram,
                &opts(serde_json::json!({"alt_text": 3}))
            )),
            ["options.invalid"]
        );
    }

    #[test]
    fn an_instagram_carousel_takes_up_to_ten_items() {
        let ten = vec![jpeg(1080, 1080); 10];
        assert!(check(Platform::Instagram, "album", &ten).is_empty());
        let eleven = vec![jpeg(1080, 1080); 11];
        let v = check(Platform::Instagram, "album", &eleven);
        assert_eq!(rules(&v), ["media.too_many"]);
        assert!(v[0].message.contains("at most 10"));
    }

    #[test]
    fn instagram_counts_hashtags_and_mentions() {
        let tags: String = (0..31).map(|i| format!("#t{i} ")).collect();
        assert_eq!(
            rules(&check(Platform::Instagram, &tags, &[jpeg(1080, 1080)])),
            ["caption.too_many_hashtags"]
        );
        let mentions: String = (0..21).map(|i| format!("@u{i} ")).collect();
        assert_eq!(
            rules(&check(Platform::Instagram, &mentions, &[jpeg(1080, 1080)])),
            ["caption.too_many_mentions"]
        );
    }
}
