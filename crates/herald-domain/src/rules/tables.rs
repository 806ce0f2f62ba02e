//! One table per platform. Facts from the platforms' own documentation are plain; facts that only
//! third parties state are marked [3p] (docs/PLATFORMS.md lists the sources).

use super::{
    Counting, DocumentLimits, ImageLimits, Kind, Limits, OptionSpec, OptionType, Unsupported, VideoLimits,
};
use crate::media::MediaType::{Gif, Jpeg, Mp4, Pdf, Png};
use crate::platform::Platform;

const MIB: u64 = 1024 * 1024;
const GIB: u64 = 1024 * MIB;

const fn kind(
    id: &'static str,
    about: &'static str,
    images: (usize, usize),
    videos: (usize, usize),
    items: (usize, usize),
) -> Kind {
    Kind {
        id,
        about,
        images,
        videos,
        documents: (0, 0),
        items,
        explicit: false,
        video_duration_ms: None,
        aspect_ratio: None,
    }
}

const fn option(
    name: &'static str,
    ty: OptionType,
    kinds: &'static [&'static str],
    about: &'static str,
) -> OptionSpec {
    OptionSpec {
        name,
        ty,
        kinds,
        required: false,
        per_item: false,
        about,
    }
}

const EDIT: Unsupported = Unsupported {
    id: "unsupported.edit_after_publish",
    action: "Changing a post's media after it is published",
    why: "the platform's API cannot replace published media; Herald keeps published posts as they are",
    options: &[],
};

const TEXT_ONLY: Unsupported = Unsupported {
    id: "unsupported.text_only",
    action: "Text-only posts",
    why: "the platform's API publishes only posts with media",
    options: &[],
};

pub fn limits(platform: Platform) -> &'static Limits {
    match platform {
        Platform::Instagram => &INSTAGRAM,
        Platform::Facebook => &FACEBOOK,
        Platform::Tiktok => &TIKTOK,
        Platform::Pinterest => &PINTEREST,
        Platform::Linkedin => &LINKEDIN,
        Platform::X => &X,
        Platform::Youtube => &YOUTUBE,
        Platform::Snapchat => &SNAPCHAT,
    }
}

/// Instagram content publishing guide and IG User media reference: caption 2,200 characters, 30
/// hashtags, 20 @-mentions, JPEG only up to 8 MiB, 4:5 to 1.91:1; carousels of 2-10 [3p]; reels
/// MP4/MOV with `moov` first, 3 s-15 min, 23-60 fps, at most 1920 px wide, 1 GiB [3p]; stories of one
/// image or a video up to 60 s [3p].
static INSTAGRAM: Limits = Limits {
    text_max: Some(2200),
    text_counting: Counting::Characters,
    hashtags_max: Some(30),
    mentions_max: Some(20),
    kinds: &[
        kind("image", "One image in the feed.", (1, 1), (0, 0), (1, 1)),
        kind(
            "carousel",
            "2 to 10 images and videos, swiped through as one post.",
            (0, 10),
            (0, 10),
            (2, 10),
        ),
        kind("reel", "One video, published as a reel.", (0, 0), (1, 1), (1, 1)),
        Kind {
            explicit: true,
            video_duration_ms: Some((1_000, 60_000)),
            // Stories are 9:16; Instagram fits other shapes into the frame [3p].
            aspect_ratio: Some((9.0 / 16.0, 1.91)),
            ..kind(
                "story",
                "One image or video for 24 hours (set the option `format` to `story`); stories carry no caption.",
                (0, 1),
                (0, 1),
                (1, 1),
            )
        },
    ],
    image: Some(ImageLimits {
        types: &[Jpeg],
        max_bytes: 8 * MIB,
        aspect_ratio: Some((4.0 / 5.0, 1.91)),
    }),
    video: Some(VideoLimits {
        types: &[Mp4],
        max_bytes: GIB,
        duration_ms: (3_000, 900_000),
        frame_rate: Some((23.0, 60.0)),
        max_width: Some(1920),
        moov_first: true,
    }),
    document: None,
    options: &[
        option(
            "format",
            OptionType::OneOf {
                values: &["feed", "story"],
            },
            &[],
            "`story` publishes a Story; `feed` (the default) an image, carousel or reel.",
        ),
        option(
            "alt_text",
            OptionType::Text { max_chars: 1000 },
            &["image", "carousel"],
            "Describes the image for people using screen readers.",
        ),
        option(
            "share_to_feed",
            OptionType::Bool,
            &["reel"],
            "Whether the reel also appears in the profile's feed (default true).",
        ),
        option(
            "thumb_offset_ms",
            OptionType::Integer { min: 0, max: 900_000 },
            &["reel"],
            "The moment of the video, in milliseconds, used as the reel's cover.",
        ),
        option(
            "cover_media_id",
            OptionType::Media {
                types: &[Jpeg],
                max_bytes: 8 * MIB,
            },
            &["reel"],
            "An uploaded JPEG shown as the reel's cover instead of a frame.",
        ),
    ],
    threads: false,
    preview_fold: Some(125),
    unsupported: &[
        Unsupported {
            why: "Instagram's API publishes only images and videos",
            ..TEXT_ONLY
        },
        Unsupported {
            id: "unsupported.story_stickers",
            action: "Stickers, polls, links and mentions on Stories",
            why: "Instagram's publishing API has no parameters for them; add them in the Instagram app",
            options: &["stickers", "sticker", "poll", "link", "mentions"],
        },
        Unsupported {
            id: "unsupported.music",
            action: "Music from Instagram's library",
            why: "the API takes only the audio inside your video",
            options: &["music"],
        },
        Unsupported {
            id: "unsupported.product_tags",
            action: "Shopping and branded-content tags",
            why: "Instagram Login apps cannot tag products",
            options: &["product_tags"],
        },
        Unsupported {
            id: "unsupported.delete",
            action: "Deleting a published post",
            why: "Instagram's API has no delete for media; delete it in the app",
            options: &[],
        },
        EDIT,
    ],
    forbidden_chars: "",
};

/// Pages API (posts, photos, videos): text-only posts allowed, several photos through
/// `attached_media`; text up to 63,206 characters [3p]; images up to 10 MB in JPEG/PNG/GIF [3p];
/// video up to 10 GB and 4 h [3p].
static FACEBOOK: Limits = Limits {
    text_max: Some(63_206),
    text_counting: Counting::Characters,
    hashtags_max: None,
    mentions_max: None,
    kinds: &[
        kind(
            "text",
            "Text, optionally with a link (option `link`).",
            (0, 0),
            (0, 0),
            (0, 0),
        ),
        kind(
            "photos",
            "One or several photos in one post.",
            (1, 10),
            (0, 0),
            (1, 10),
        ),
        kind("video", "One video in the feed.", (0, 0), (1, 1), (1, 1)),
        // Reels Publishing API: MP4, 9:16, at least 540x960, 24-60 fps, 3-90 s; stories: one
        // photo, or a video of 3-60 s (Page Stories API).
        Kind {
            explicit: true,
            video_duration_ms: Some((3_000, 90_000)),
            aspect_ratio: Some((9.0 / 16.0, 9.0 / 16.0)),
            ..kind(
                "reel",
                "One vertical (9:16) video of 3 to 90 s, as a reel (set `format` to `reel`).",
                (0, 0),
                (1, 1),
                (1, 1),
            )
        },
        Kind {
            explicit: true,
            video_duration_ms: Some((3_000, 60_000)),
            ..kind(
                "story",
                "One photo, or a video of 3 to 60 s, for 24 hours (set `format` to `story`).",
                (0, 1),
                (0, 1),
                (1, 1),
            )
        },
    ],
    image: Some(ImageLimits {
        types: &[Jpeg, Png, Gif],
        max_bytes: 10 * MIB,
        aspect_ratio: None,
    }),
    video: Some(VideoLimits {
        types: &[Mp4],
        max_bytes: 10 * GIB,
        duration_ms: (1_000, 4 * 3_600_000),
        frame_rate: None,
        max_width: None,
        moov_first: false,
    }),
    document: None,
    options: &[
        option(
            "format",
            OptionType::OneOf {
                values: &["feed", "reel", "story"],
            },
            &[],
            "`reel` publishes a reel, `story` a Page story; `feed` (the default) a post.",
        ),
        option(
            "link",
            OptionType::Url,
            &["text"],
            "A link the post shares, shown as a preview.",
        ),
        option(
            "alt_text",
            OptionType::Text { max_chars: 1000 },
            &["photos"],
            "Describes the photos for people using screen readers.",
        ),
        option(
            "title",
            OptionType::Text { max_chars: 255 },
            &["video"],
            "The video's title.",
        ),
    ],
    threads: false,
    preview_fold: Some(477),
    unsupported: &[
        Unsupported {
            id: "unsupported.poll",
            action: "Polls",
            why: "the Pages API cannot create polls",
            options: &["poll"],
        },
        EDIT,
    ],
    forbidden_chars: "",
};

/// Content Posting API: caption 2,200 UTF-16 units; video MP4/MOV/WebM up to 4 GB, 3 s to the
/// creator's maximum (10 min typical), 23-60 fps, 360-4096 px; photos JPEG/WebP up to 20 MB, 1-35
/// per post, never mixed with video.
static TIKTOK: Limits = Limits {
    text_max: Some(2200),
    text_counting: Counting::Utf16,
    hashtags_max: None,
    mentions_max: None,
    kinds: &[
        kind("video", "One video.", (0, 0), (1, 1), (1, 1)),
        kind(
            "photos",
            "1 to 35 photos, swiped through.",
            (1, 35),
            (0, 0),
            (1, 35),
        ),
    ],
    image: Some(ImageLimits {
        types: &[Jpeg],
        max_bytes: 20 * MIB,
        aspect_ratio: None,
    }),
    video: Some(VideoLimits {
        types: &[Mp4],
        max_bytes: 4 * GIB,
        duration_ms: (3_000, 600_000),
        frame_rate: Some((23.0, 60.0)),
        max_width: Some(4096),
        moov_first: false,
    }),
    document: None,
    options: &[
        // TikTok's guidelines: the person chooses the privacy of each post; there is no default.
        OptionSpec {
            required: true,
            ..option(
                "privacy_level",
                OptionType::OneOf {
                    values: &[
                        "PUBLIC_TO_EVERYONE",
                        "MUTUAL_FOLLOW_FRIENDS",
                        "FOLLOWER_OF_CREATOR",
                        "SELF_ONLY",
                    ],
                },
                &[],
                "Who can see the post; one of the levels the account offers.",
            )
        },
        option(
            "title",
            OptionType::Text { max_chars: 90 },
            &["photos"],
            "The photo post's title.",
        ),
        option("disable_comment", OptionType::Bool, &[], "Turns comments off."),
        option("disable_duet", OptionType::Bool, &["video"], "Turns duets off."),
        option(
            "disable_stitch",
            OptionType::Bool,
            &["video"],
            "Turns stitches off.",
        ),
    ],
    threads: false,
    preview_fold: None,
    unsupported: &[
        Unsupported {
            why: "TikTok publishes only videos and photos",
            ..TEXT_ONLY
        },
        Unsupported {
            id: "unsupported.music",
            action: "Sounds from TikTok's library",
            why: "the Content Posting API takes only the audio inside your video",
            options: &["music"],
        },
        Unsupported {
            id: "unsupported.watermark",
            action: "Adding Herald's or your watermark to the video",
            why: "TikTok's guidelines forbid branding added by the app",
            options: &["watermark"],
        },
        Unsupported {
            id: "unsupported.delete",
            action: "Deleting a published post",
            why: "the Content Posting API has no delete",
            options: &[],
        },
    ],
    forbidden_chars: "",
};

/// Pins API v5: title 100, description 800 (the spec; the app shows 500), link 2,048, alt text 500;
/// one image or video, or 2-5 images; a board is required.
static PINTEREST: Limits = Limits {
    text_max: Some(800),
    text_counting: Counting::Characters,
    hashtags_max: None,
    mentions_max: None,
    kinds: &[
        kind("image", "One image pin.", (1, 1), (0, 0), (1, 1)),
        kind("carousel", "2 to 5 images in one pin.", (2, 5), (0, 0), (2, 5)),
        kind("video", "One video pin.", (0, 0), (1, 1), (1, 1)),
    ],
    image: Some(ImageLimits {
        types: &[Jpeg, Png],
        max_bytes: 20 * MIB,
        aspect_ratio: None,
    }),
    video: Some(VideoLimits {
        types: &[Mp4],
        max_bytes: 2 * GIB,
        duration_ms: (4_000, 900_000),
        frame_rate: None,
        max_width: None,
        moov_first: false,
    }),
    document: None,
    options: &[
        OptionSpec {
            required: true,
            ..option(
                "board_id",
                OptionType::Choice { list: "boards" },
                &[],
                "The board the pin goes to.",
            )
        },
        option(
            "title",
            OptionType::Text { max_chars: 100 },
            &[],
            "The pin's title.",
        ),
        option(
            "link",
            OptionType::Url,
            &[],
            "Where the pin leads (up to 2,048 characters).",
        ),
        option(
            "alt_text",
            OptionType::Text { max_chars: 500 },
            &["image", "carousel"],
            "Describes the image for people using screen readers.",
        ),
        OptionSpec {
            per_item: true,
            ..option(
                "item_titles",
                OptionType::Text { max_chars: 100 },
                &["carousel"],
                "Each image's own title, in the images' order.",
            )
        },
        OptionSpec {
            per_item: true,
            ..option(
                "item_links",
                OptionType::Url,
                &["carousel"],
                "Where each image leads, in the images' order.",
            )
        },
        OptionSpec {
            per_item: true,
            ..option(
                "item_descriptions",
                OptionType::Text { max_chars: 800 },
                &["carousel"],
                "Each image's own description, in the images' order.",
            )
        },
        option(
            "board_section_id",
            OptionType::Choice { list: "sections" },
            &[],
            "A section of the board to put the pin in.",
        ),
        option(
            "cover_media_id",
            OptionType::Media {
                types: &[Jpeg, Png],
                max_bytes: 20 * MIB,
            },
            &["video"],
            "An uploaded image shown as the video pin's cover instead of a frame.",
        ),
        option(
            "cover_frame_s",
            OptionType::Integer { min: 0, max: 900 },
            &["video"],
            "The second of the video used as its cover (the first frame when neither cover is set).",
        ),
    ],
    threads: false,
    preview_fold: None,
    unsupported: &[
        Unsupported {
            why: "every pin needs an image or a video",
            ..TEXT_ONLY
        },
        Unsupported {
            id: "unsupported.idea_pins",
            action: "Idea pins with several pages",
            why: "the Pins API does not create them",
            options: &["pages"],
        },
    ],
    forbidden_chars: "",
};

/// Posts API: commentary 3,000 characters [3p] in "little text format"; one image, video or
/// document, or several images (multiImage, 2-20 [3p]); images JPG/PNG/GIF; video 3 s-30 min up to
/// 500 MB [3p].
static LINKEDIN: Limits = Limits {
    text_max: Some(3000),
    text_counting: Counting::Characters,
    hashtags_max: None,
    mentions_max: None,
    kinds: &[
        kind(
            "text",
            "Text, optionally sharing an article (option `link`).",
            (0, 0),
            (0, 0),
            (0, 0),
        ),
        kind("image", "One image.", (1, 1), (0, 0), (1, 1)),
        kind("multi_image", "2 to 20 images.", (2, 20), (0, 0), (2, 20)),
        kind("video", "One video.", (0, 0), (1, 1), (1, 1)),
        Kind {
            documents: (1, 1),
            ..kind(
                "document",
                "One PDF document, shown as pages to swipe through (its title: option `document_title`).",
                (0, 0),
                (0, 0),
                (1, 1),
            )
        },
    ],
    image: Some(ImageLimits {
        types: &[Jpeg, Png, Gif],
        max_bytes: 36 * MIB,
        aspect_ratio: None,
    }),
    video: Some(VideoLimits {
        types: &[Mp4],
        max_bytes: 500 * MIB,
        duration_ms: (3_000, 1_800_000),
        frame_rate: None,
        max_width: None,
        moov_first: false,
    }),
    // Documents API: PDF (and office formats Herald does not take) up to 100 MB [official].
    document: Some(DocumentLimits {
        types: &[Pdf],
        max_bytes: 100 * MIB,
    }),
    options: &[
        option("link", OptionType::Url, &["text"], "An article the post shares."),
        option(
            "link_title",
            OptionType::Text { max_chars: 400 },
            &["text"],
            "The shared article's title (LinkedIn requires one; the link itself when empty).",
        ),
        option(
            "visibility",
            OptionType::OneOf {
                values: &["PUBLIC", "CONNECTIONS", "LOGGED_IN"],
            },
            &[],
            "Who can see the post (default PUBLIC).",
        ),
        option(
            "alt_text",
            OptionType::Text { max_chars: 4086 },
            &["image", "multi_image"],
            "Describes the images for people using screen readers.",
        ),
        option(
            "document_title",
            OptionType::Text { max_chars: 400 },
            &["document"],
            "The document's title, shown above its pages (LinkedIn requires one; the text's first line when empty).",
        ),
    ],
    threads: false,
    preview_fold: Some(210),
    unsupported: &[
        Unsupported {
            id: "unsupported.carousel",
            action: "Document carousels as organic posts",
            why: "LinkedIn allows carousels only in sponsored content",
            options: &["carousel"],
        },
        EDIT,
    ],
    forbidden_chars: "",
};

/// API v2 and media best practices: 280 weighted characters; up to 4 images, or 1 GIF, or 1 video;
/// images JPG/PNG/GIF/WebP up to 5 MB; video MP4 up to 512 MB, 0.5-140 s, up to 60 fps and 1280 px.
static X: Limits = Limits {
    text_max: Some(280),
    text_counting: Counting::XWeighted,
    hashtags_max: None,
    mentions_max: None,
    kinds: &[
        kind("text", "Text only.", (0, 0), (0, 0), (0, 0)),
        kind(
            "images",
            "Up to 4 images (a GIF goes alone).",
            (1, 4),
            (0, 0),
            (1, 4),
        ),
        kind("video", "One video.", (0, 0), (1, 1), (1, 1)),
    ],
    image: Some(ImageLimits {
        types: &[Jpeg, Png, Gif],
        max_bytes: 5 * MIB,
        aspect_ratio: None,
    }),
    video: Some(VideoLimits {
        types: &[Mp4],
        max_bytes: 512 * MIB,
        duration_ms: (500, 140_000),
        frame_rate: Some((1.0, 60.0)),
        max_width: Some(1280),
        moov_first: false,
    }),
    document: None,
    options: &[
        option(
            "reply_settings",
            OptionType::OneOf {
                values: &["following", "mentionedUsers", "subscribers", "verified"],
            },
            &[],
            "Who can reply (default everyone).",
        ),
        option(
            "alt_text",
            OptionType::Text { max_chars: 1000 },
            &["images"],
            "Describes the images for people using screen readers.",
        ),
    ],
    threads: true,
    preview_fold: None,
    unsupported: &[
        Unsupported {
            id: "unsupported.poll_with_media",
            action: "Polls together with media",
            why: "X's API takes a poll or media in one post, not both",
            options: &["poll"],
        },
        Unsupported {
            id: "unsupported.duplicate_text",
            action: "Posting the same text twice in a row",
            why: "X refuses duplicate text",
            options: &[],
        },
    ],
    forbidden_chars: "",
};

/// Data API v3 `videos.insert`: one video, title up to 100 characters (required), description up
/// to 5,000 bytes, tags up to 500 characters in all; files up to 256 GB; the made-for-kids
/// self-declaration is required (COPPA); a custom thumbnail JPEG or PNG up to 2 MB. A vertical or
/// square video up to three minutes shows as a Short (YouTube decides; the API has no flag).
static YOUTUBE: Limits = Limits {
    text_max: Some(5000),
    text_counting: Counting::Utf8Bytes,
    hashtags_max: Some(60),
    mentions_max: None,
    kinds: &[kind(
        "video",
        "One video; the post's text is its description. A vertical or square video up to three minutes shows as a Short.",
        (0, 0),
        (1, 1),
        (1, 1),
    )],
    image: None,
    video: Some(VideoLimits {
        types: &[Mp4],
        max_bytes: 256 * GIB,
        duration_ms: (1_000, 12 * 3_600_000),
        frame_rate: None,
        max_width: None,
        moov_first: false,
    }),
    document: None,
    options: &[
        OptionSpec {
            required: true,
            ..option(
                "title",
                OptionType::Text { max_chars: 100 },
                &[],
                "The video's title (YouTube refuses < and >).",
            )
        },
        OptionSpec {
            required: true,
            ..option(
                "made_for_kids",
                OptionType::Bool,
                &[],
                "Whether the video is made for children: YouTube requires every uploader to say (COPPA).",
            )
        },
        option(
            "privacy_status",
            OptionType::OneOf {
                values: &["public", "unlisted", "private"],
            },
            &[],
            "Who can watch (default public; an API project Google has not audited can only upload private videos).",
        ),
        option(
            "tags",
            OptionType::Text { max_chars: 500 },
            &[],
            "Tags, separated by commas (500 characters in all).",
        ),
        option(
            "category_id",
            OptionType::OneOf {
                values: &[
                    "1", "2", "10", "15", "17", "19", "20", "22", "23", "24", "25", "26", "27", "28", "29",
                ],
            },
            &[],
            "YouTube's category: 1 Film & Animation, 2 Autos & Vehicles, 10 Music, 15 Pets & Animals, 17 Sports, 19 Travel & Events, 20 Gaming, 22 People & Blogs (the default), 23 Comedy, 24 Entertainment, 25 News & Politics, 26 Howto & Style, 27 Education, 28 Science & Technology, 29 Nonprofits & Activism.",
        ),
        option(
            "thumbnail",
            OptionType::Media {
                types: &[Jpeg, Png],
                max_bytes: 2 * MIB,
            },
            &[],
            "A custom thumbnail, JPEG or PNG up to 2 MB (the channel must be allowed custom thumbnails).",
        ),
        option(
            "notify_subscribers",
            OptionType::Bool,
            &[],
            "Whether YouTube tells the channel's subscribers about the video (default yes).",
        ),
    ],
    threads: false,
    preview_fold: None,
    unsupported: &[
        Unsupported {
            id: "unsupported.community_posts",
            action: "Community posts (text and images)",
            why: "the YouTube Data API has no endpoint for them",
            options: &[],
        },
        Unsupported {
            id: "unsupported.images",
            action: "Image posts",
            why: "YouTube publishes videos only",
            options: &[],
        },
    ],
    forbidden_chars: "<>",
};

/// Public Profile API (allow-listed): one image or video per post, 9:16; JPEG/PNG up to 20 MB,
/// MP4 5-60 s [3p]; Stories, Saved Stories (titles of 45 characters) and Spotlights (videos,
/// descriptions of 160 characters, a locale) [3p].
static SNAPCHAT: Limits = Limits {
    text_max: Some(160),
    text_counting: Counting::Characters,
    hashtags_max: None,
    mentions_max: None,
    kinds: &[
        kind(
            "story",
            "One image or video on the Public Profile's Story for 24 hours. Stories carry no caption: the post's text is not sent.",
            (0, 1),
            (0, 1),
            (1, 1),
        ),
        Kind {
            explicit: true,
            ..kind(
                "saved_story",
                "One image or video kept on the Public Profile as a Saved Story, with a `title` of up to 45 characters (set `format` to `saved_story`). The post's text is not sent.",
                (0, 1),
                (0, 1),
                (1, 1),
            )
        },
        Kind {
            explicit: true,
            ..kind(
                "spotlight",
                "One video on Spotlight, the post's text as its description (set `format` to `spotlight`).",
                (0, 0),
                (1, 1),
                (1, 1),
            )
        },
    ],
    image: Some(ImageLimits {
        types: &[Jpeg, Png],
        max_bytes: 20 * MIB,
        aspect_ratio: Some((0.5, 0.6)),
    }),
    video: Some(VideoLimits {
        types: &[Mp4],
        max_bytes: GIB,
        duration_ms: (5_000, 60_000),
        frame_rate: None,
        max_width: None,
        moov_first: false,
    }),
    document: None,
    options: &[
        option(
            "format",
            OptionType::OneOf {
                values: &["story", "saved_story", "spotlight"],
            },
            &[],
            "`saved_story` keeps the post on the Public Profile, `spotlight` publishes a video to Spotlight; `story` (the default) posts to the Story for 24 hours.",
        ),
        OptionSpec {
            required: true,
            ..option(
                "title",
                OptionType::Text { max_chars: 45 },
                &["saved_story"],
                "The Saved Story's title (up to 45 characters), required for a Saved Story.",
            )
        },
        option(
            "locale",
            OptionType::Text { max_chars: 10 },
            &["spotlight"],
            "The Spotlight's language and region (`en_US` unless set).",
        ),
    ],
    threads: false,
    preview_fold: None,
    unsupported: &[
        Unsupported {
            why: "Snapchat posts are images or videos",
            ..TEXT_ONLY
        },
        Unsupported {
            id: "unsupported.personal_accounts",
            action: "Posting to personal (non-Public-Profile) accounts",
            why: "Snapchat's API publishes only to Public Profiles of allow-listed apps",
            options: &[],
        },
        Unsupported {
            id: "unsupported.comments",
            action: "Reading or replying to comments",
            why: "Snapchat has no public API for comments",
            options: &[],
        },
    ],
    forbidden_chars: "",
};
