use serde_json::{Map, Value, json};

use super::*;
use crate::media::MediaType;
use crate::platform::Platform;

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

fn opts(v: Value) -> Map<String, Value> {
    v.as_object().cloned().unwrap_or_default()
}

fn rules_with(platform: Platform, text: &str, media: &[MediaFacts], options: Value) -> Vec<&'static str> {
    let options = opts(options);
    check(
        platform,
        &Draft {
            text,
            media,
            options: &options,
            live: None,
            thread: &[],
        },
    )
    .iter()
    .map(|v| v.rule)
    .collect()
}

fn rules(platform: Platform, text: &str, media: &[MediaFacts]) -> Vec<&'static str> {
    rules_with(platform, text, media, json!({}))
}

#[test]
fn an_instagram_reel_needs_fast_start_a_duration_and_frame_rate_in_range() {
    let ig = Platform::Instagram;
    assert!(rules(ig, "reel", &[mp4(4_000, 30.0, true)]).is_empty());
    assert_eq!(
        rules(ig, "reel", &[mp4(4_000, 30.0, false)]),
        ["media.moov_at_end"]
    );
    assert_eq!(rules(ig, "reel", &[mp4(2_000, 30.0, true)]), ["media.duration"]);
    assert_eq!(rules(ig, "reel", &[mp4(4_000, 15.0, true)]), ["media.frame_rate"]);
}

#[test]
fn instagram_infers_image_carousel_and_reel_and_takes_videos_inside_carousels() {
    let ig = Platform::Instagram;
    let none = Map::new();
    let kind = |media: &[MediaFacts]| {
        kind_of(
            ig,
            &Draft {
                text: "",
                media,
                options: &none,
                live: None,
                thread: &[],
            },
        )
    };
    assert_eq!(kind(&[jpeg(1080, 1080)]), Some("image"));
    assert_eq!(kind(&[jpeg(1080, 1080), jpeg(1080, 1080)]), Some("carousel"));
    assert_eq!(kind(&[mp4(4_000, 30.0, true)]), Some("reel"));
    assert_eq!(
        kind(&[mp4(4_000, 30.0, true), jpeg(1080, 1080)]),
        Some("carousel")
    );
    assert!(rules(ig, "mixed", &[mp4(4_000, 30.0, true), jpeg(1080, 1080)]).is_empty());
}

#[test]
fn a_square_jpeg_with_a_short_caption_passes_on_instagram() {
    assert!(rules(Platform::Instagram, "hello #world", &[jpeg(1080, 1080)]).is_empty());
}

#[test]
fn instagram_refuses_text_only_png_wide_and_long_captions_with_one_violation_each() {
    let ig = Platform::Instagram;
    assert_eq!(rules(ig, "hi", &[]), ["media.required"]);
    let png = MediaFacts {
        media_type: MediaType::Png,
        ..jpeg(1080, 1080)
    };
    assert_eq!(rules(ig, "hi", &[png]), ["media.type"]);
    assert_eq!(rules(ig, "hi", &[jpeg(1920, 600)]), ["media.aspect_ratio"]);
    assert!(rules(ig, "hi", &[jpeg(1080, 1350)]).is_empty());
    assert_eq!(
        rules(ig, &"a".repeat(2201), &[jpeg(1080, 1080)]),
        ["caption.too_long"]
    );
    assert!(rules(ig, &"é".repeat(2200), &[jpeg(1080, 1080)]).is_empty());
}

#[test]
fn an_instagram_story_takes_one_image_or_a_short_video_and_no_stickers() {
    let ig = Platform::Instagram;
    let story = json!({"format": "story"});
    assert!(rules_with(ig, "", &[jpeg(1080, 1920)], story.clone()).is_empty());
    assert!(rules_with(ig, "", &[mp4(30_000, 30.0, true)], story.clone()).is_empty());
    assert_eq!(
        rules_with(ig, "", &[mp4(90_000, 30.0, true)], story.clone()),
        ["media.duration"]
    );
    assert_eq!(
        rules_with(ig, "", &[jpeg(1080, 1920), jpeg(1080, 1920)], story),
        ["media.kind"]
    );
    let with_sticker = opts(json!({"format": "story", "stickers": [{"type": "poll"}]}));
    let v = check(
        ig,
        &Draft {
            text: "",
            media: &[jpeg(1080, 1920)],
            options: &with_sticker,
            live: None,
            thread: &[],
        },
    );
    assert_eq!(v.len(), 1);
    assert_eq!(v[0].rule, "unsupported.story_stickers");
    assert!(v[0].message.contains("Instagram") && v[0].message.contains("Remove `stickers`"));
}

#[test]
fn options_are_typed_and_apply_to_their_kinds() {
    let ig = Platform::Instagram;
    let img = [jpeg(1080, 1080)];
    assert!(rules_with(ig, "", &img, json!({"alt_text": "a red square"})).is_empty());
    assert_eq!(
        rules_with(ig, "", &img, json!({"board": "x"})),
        ["options.unknown"]
    );
    assert_eq!(
        rules_with(ig, "", &img, json!({"alt_text": 3})),
        ["options.invalid"]
    );
    assert_eq!(
        rules_with(ig, "", &img, json!({"share_to_feed": false})),
        ["options.not_for_kind"]
    );
    let reel = [mp4(4_000, 30.0, true)];
    assert!(
        rules_with(
            ig,
            "",
            &reel,
            json!({"share_to_feed": false, "thumb_offset_ms": 1500})
        )
        .is_empty()
    );
    assert_eq!(
        rules_with(ig, "", &reel, json!({"thumb_offset_ms": -1})),
        ["options.invalid"]
    );
    assert_eq!(
        rules_with(ig, "", &img, json!({"format": "album"})),
        ["options.invalid"]
    );
}

#[test]
fn an_instagram_carousel_takes_up_to_ten_items() {
    assert!(rules(Platform::Instagram, "album", &vec![jpeg(1080, 1080); 10]).is_empty());
    let options = Map::new();
    let v = check(
        Platform::Instagram,
        &Draft {
            text: "album",
            media: &vec![jpeg(1080, 1080); 11],
            options: &options,
            live: None,
            thread: &[],
        },
    );
    assert_eq!(v.iter().map(|v| v.rule).collect::<Vec<_>>(), ["media.too_many"]);
    assert!(v[0].message.contains("at most 10"));
}

#[test]
fn instagram_counts_hashtags_and_mentions() {
    let tags: String = (0..31).map(|i| format!("#t{i} ")).collect();
    assert_eq!(
        rules(Platform::Instagram, &tags, &[jpeg(1080, 1080)]),
        ["caption.too_many_hashtags"]
    );
    let mentions: String = (0..21).map(|i| format!("@u{i} ")).collect();
    assert_eq!(
        rules(Platform::Instagram, &mentions, &[jpeg(1080, 1080)]),
        ["caption.too_many_mentions"]
    );
}

#[test]
fn facebook_takes_text_alone_a_link_and_several_photos_but_no_polls() {
    let fb = Platform::Facebook;
    assert!(rules(fb, "Just words.", &[]).is_empty());
    assert!(rules_with(fb, "Read this", &[], json!({"link": "https://example.com/a"})).is_empty());
    assert_eq!(
        rules_with(fb, "x", &[], json!({"link": "not a url"})),
        ["options.invalid"]
    );
    let png = MediaFacts {
        media_type: MediaType::Png,
        ..jpeg(3000, 1000)
    };
    assert!(rules(fb, "", &[jpeg(1080, 1080), png]).is_empty());
    assert_eq!(
        rules_with(fb, "x", &[], json!({"poll": {}})),
        ["unsupported.poll"]
    );
    assert_eq!(
        rules(fb, "", &[jpeg(10, 10), mp4(4_000, 30.0, true)]),
        ["media.mixed"]
    );
}

#[test]
fn every_platform_has_a_table_with_kinds_and_documented_unsupported_actions() {
    for p in Platform::ALL {
        let l = limits(p);
        assert!(!l.kinds.is_empty(), "{p:?} has no kinds");
        assert!(!l.unsupported.is_empty(), "{p:?} lists nothing unsupported");
        for u in l.unsupported {
            assert!(u.id.starts_with("unsupported."), "{}", u.id);
        }
        // Every option a kind list names is a kind of the platform.
        for o in l.options {
            for k in o.kinds {
                assert!(
                    l.kinds.iter().any(|kind| kind.id == *k),
                    "{p:?} option {} names kind {k}",
                    o.name
                );
            }
        }
    }
}

#[test]
fn x_counts_weighted_text_and_takes_four_images_or_one_video() {
    let x = Platform::X;
    assert!(rules(x, &"a".repeat(280), &[]).is_empty());
    assert_eq!(rules(x, &"日".repeat(141), &[]), ["caption.too_long"]);
    assert!(rules(x, "", &vec![jpeg(100, 100); 4]).is_empty());
    assert_eq!(rules(x, "", &vec![jpeg(100, 100); 5]), ["media.too_many"]);
}

#[test]
fn required_options_are_named_pinterest_board_and_youtube_title() {
    assert_eq!(
        rules(Platform::Pinterest, "", &[jpeg(1000, 1500)]),
        ["options.required"]
    );
    assert!(
        rules_with(
            Platform::Pinterest,
            "",
            &[jpeg(1000, 1500)],
            json!({"board_id": "123"})
        )
        .is_empty()
    );
    // A title and the made-for-kids declaration, each named.
    let yt = rules_with(Platform::Youtube, "", &[mp4(60_000, 30.0, true)], json!({}));
    assert_eq!(yt, ["options.required", "options.required"]);
    let yt = rules_with(
        Platform::Youtube,
        "",
        &[mp4(60_000, 30.0, true)],
        json!({"title": "t", "made_for_kids": false, "category_id": "99"}),
    );
    assert_eq!(yt, ["options.invalid"], "a category YouTube does not have");
    let yt = rules_with(
        Platform::Youtube,
        "Bread > cake",
        &[mp4(60_000, 30.0, true)],
        json!({"title": "<b>Loaf</b>", "made_for_kids": false}),
    );
    assert_eq!(
        yt,
        ["options.forbidden_characters", "caption.forbidden_characters"],
        "YouTube refuses < and > (invalidTitle, invalidDescription)"
    );
    let title = json!({"title": "t", "made_for_kids": false});
    let video = [mp4(60_000, 30.0, true)];
    assert!(rules_with(Platform::Youtube, &"a".repeat(5000), &video, title.clone()).is_empty());
    assert_eq!(
        rules_with(Platform::Youtube, &"é".repeat(2501), &video, title),
        ["caption.too_long"],
        "a description of 5,000 bytes, not characters"
    );
    assert_eq!(
        rules(Platform::Youtube, "", &[jpeg(10, 10)]),
        ["options.required", "options.required", "media.type"]
    );
}

#[test]
fn a_snapchat_saved_story_needs_a_title_of_at_most_45_characters_and_a_spotlight_a_video() {
    let portrait = [jpeg(1080, 1920)];
    assert!(rules(Platform::Snapchat, "", &portrait).is_empty(), "a story");
    let saved = |title: &str| json!({"format": "saved_story", "title": title});
    assert!(rules_with(Platform::Snapchat, "", &portrait, saved(&"t".repeat(45))).is_empty());
    assert_eq!(
        rules_with(Platform::Snapchat, "", &portrait, saved(&"t".repeat(46))),
        vec!["options.invalid"]
    );
    assert_eq!(
        rules_with(
            Platform::Snapchat,
            "",
            &portrait,
            json!({"format": "saved_story"})
        ),
        vec!["options.required"],
        "a Saved Story without its title"
    );
    // The title belongs to Saved Stories: a story needs none and takes none.
    assert_eq!(
        rules_with(Platform::Snapchat, "", &portrait, json!({"title": "Hi"})),
        vec!["options.not_for_kind"]
    );
    let spotlight = json!({"format": "spotlight"});
    assert!(
        rules_with(
            Platform::Snapchat,
            "Hi",
            &[mp4(10_000, 30.0, true)],
            spotlight.clone()
        )
        .is_empty()
    );
    assert!(!rules_with(Platform::Snapchat, "Hi", &portrait, spotlight).is_empty());
}

#[test]
fn a_facebook_reel_is_a_vertical_video_of_three_to_ninety_seconds_and_a_story_takes_a_photo() {
    let fb = Platform::Facebook;
    let reel = json!({"format": "reel"});
    assert!(rules_with(fb, "", &[mp4(30_000, 30.0, true)], reel.clone()).is_empty());
    assert_eq!(
        rules_with(fb, "", &[mp4(120_000, 30.0, true)], reel.clone()),
        ["media.duration"]
    );
    let landscape = MediaFacts {
        width: Some(1280),
        height: Some(720),
        ..mp4(30_000, 30.0, true)
    };
    assert_eq!(rules_with(fb, "", &[landscape], reel), ["media.aspect_ratio"]);
    assert!(rules_with(fb, "", &[jpeg(1080, 1920)], json!({"format": "story"})).is_empty());
    assert!(
        rules(fb, "", &[mp4(30_000, 30.0, true)]).is_empty(),
        "a feed video"
    );
}

#[test]
fn an_exhausted_publishing_quota_is_a_violation_only_when_the_live_facts_say_so() {
    let none = Map::new();
    let img = [jpeg(1080, 1080)];
    let draft = |live| Draft {
        text: "",
        media: &img,
        options: &none,
        live,
        thread: &[],
    };
    let full = LiveFacts {
        quota_used: Some(50),
        quota_total: Some(50),
        creator: None,
    };
    let some = LiveFacts {
        quota_used: Some(12),
        quota_total: Some(50),
        creator: None,
    };
    let rules = |d: &Draft| {
        check(Platform::Instagram, d)
            .iter()
            .map(|v| v.rule)
            .collect::<Vec<_>>()
    };
    assert_eq!(rules(&draft(Some(&full))), ["quota.exhausted"]);
    assert!(rules(&draft(Some(&some))).is_empty());
    assert!(rules(&draft(None)).is_empty());
}

#[test]
fn a_per_item_option_takes_one_valid_entry_per_media_item() {
    let pin = |options: Value| {
        rules_with(
            Platform::Pinterest,
            "",
            &[jpeg(1000, 1500), jpeg(1000, 1500)],
            options,
        )
    };
    assert!(pin(json!({"board_id": "1", "item_titles": ["one", "two"]})).is_empty());
    assert_eq!(
        pin(json!({"board_id": "1", "item_titles": ["only one"]})),
        ["options.invalid"]
    );
    assert_eq!(
        pin(json!({"board_id": "1", "item_links": ["https://a.example", "not a url"]})),
        ["options.invalid"]
    );
    assert_eq!(
        pin(json!({"board_id": "1", "item_titles": "not a list"})),
        ["options.invalid"]
    );
}

#[test]
fn a_live_choice_is_an_id_the_platform_lists_and_threads_are_said_per_platform() {
    assert_eq!(
        rules_with(
            Platform::Pinterest,
            "",
            &[jpeg(1000, 1500)],
            json!({"board_id": ""})
        ),
        ["options.invalid"]
    );
    let threads: Vec<Platform> = Platform::ALL
        .into_iter()
        .filter(|p| super::limits(*p).threads)
        .collect();
    assert_eq!(threads, [Platform::X]);
}

#[test]
fn a_thread_goes_only_where_threads_are_published_and_each_part_is_checked_as_its_own_post() {
    let none = serde_json::Map::new();
    let long = "a".repeat(281);
    let parts = [
        Part {
            text: "second",
            media: &[],
        },
        Part {
            text: &long,
            media: &[],
        },
    ];
    let draft = Draft {
        text: "first",
        media: &[],
        options: &none,
        live: None,
        thread: &parts,
    };
    let v = check(Platform::Linkedin, &draft);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].rule, "thread.unsupported");
    assert!(v[0].message.contains("3 parts"), "{}", v[0].message);
    let v = check(Platform::X, &draft);
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].rule, "caption.too_long");
    assert!(v[0].message.starts_with("Part 3: "), "{}", v[0].message);
    // X refuses the same text twice in a row: two parts cannot share one.
    let twins = [Part {
        text: "first",
        media: &[],
    }];
    let v = check(
        Platform::X,
        &Draft {
            thread: &twins,
            ..draft
        },
    );
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(v[0].rule, "unsupported.duplicate_text");
    assert!(v[0].message.starts_with("Part 2: "), "{}", v[0].message);
}

#[test]
fn a_pdf_is_a_linkedin_document_and_a_media_type_no_other_platform_takes() {
    let none = serde_json::Map::new();
    let pdf = [MediaFacts {
        media_type: MediaType::Pdf,
        bytes: 120_000,
        width: None,
        height: None,
        video: None,
    }];
    let draft = Draft {
        text: "Our deck",
        media: &pdf,
        options: &none,
        live: None,
        thread: &[],
    };
    assert_eq!(check(Platform::Linkedin, &draft), vec![]);
    assert_eq!(kind_of(Platform::Linkedin, &draft), Some("document"));
    let v = check(Platform::X, &draft);
    assert!(v.iter().any(|v| v.rule == "media.type"), "{v:?}");
}

#[test]
fn a_tiktok_post_takes_only_a_privacy_level_the_account_offers_and_a_video_no_longer_than_its_maximum() {
    let tt = Platform::Tiktok;
    let private_account = LiveFacts {
        creator: Some(crate::rules::Creator {
            privacy_levels: vec![
                "FOLLOWER_OF_CREATOR".into(),
                "MUTUAL_FOLLOW_FRIENDS".into(),
                "SELF_ONLY".into(),
            ],
            max_video_duration_s: Some(60),
            ..Default::default()
        }),
        ..Default::default()
    };
    let rules_live = |media: &[MediaFacts], options: Value, live: Option<&LiveFacts>| {
        let options = opts(options);
        check(
            tt,
            &Draft {
                text: "caption",
                media,
                options: &options,
                live,
                thread: &[],
            },
        )
        .iter()
        .map(|v| v.rule)
        .collect::<Vec<_>>()
    };
    let public = json!({"privacy_level": "PUBLIC_TO_EVERYONE"});
    let minute = [mp4(60_000, 30.0, true)];
    assert_eq!(
        rules_live(&minute, json!({}), None),
        ["options.required"],
        "the person chooses the privacy; there is no default"
    );
    assert!(
        rules_live(&minute, public.clone(), None).is_empty(),
        "no live facts, nothing to hold against"
    );
    assert_eq!(
        rules_live(&minute, public, Some(&private_account)),
        ["options.privacy_unavailable"]
    );
    let followers = json!({"privacy_level": "FOLLOWER_OF_CREATOR"});
    assert!(rules_live(&minute, followers.clone(), Some(&private_account)).is_empty());
    let silent = LiveFacts {
        creator: Some(crate::rules::Creator::default()),
        ..Default::default()
    };
    assert!(
        rules_live(&minute, followers.clone(), Some(&silent)).is_empty(),
        "no levels listed is the platform saying nothing, not offering nothing"
    );
    assert_eq!(
        rules_live(&[mp4(61_000, 30.0, true)], followers, Some(&private_account)),
        ["media.too_long_for_account"]
    );
    let photos = vec![jpeg(1080, 1350); 36];
    assert_eq!(
        rules_live(&photos, json!({"privacy_level": "SELF_ONLY"}), None),
        ["media.too_many"]
    );
    // Comments turned off in the app: a post may keep them off, never turn them on.
    let no_comments = LiveFacts {
        creator: Some(crate::rules::Creator {
            comment_disabled: true,
            ..private_account.creator.clone().unwrap()
        }),
        ..Default::default()
    };
    let with = |on: Value| json!({"privacy_level": "SELF_ONLY", "disable_comment": on});
    assert_eq!(
        rules_live(&minute, with(json!(false)), Some(&no_comments)),
        ["options.interaction_unavailable"]
    );
    assert!(rules_live(&minute, with(json!(true)), Some(&no_comments)).is_empty());
    assert!(rules_live(&minute, with(json!(false)), Some(&private_account)).is_empty());
    assert_eq!(no_comments.offered("disable_comment"), Some(vec!["yes"]));
    assert_eq!(private_account.offered("disable_duet"), None);
}
