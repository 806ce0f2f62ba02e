//! The methods the sandbox serves, as Google's discovery document describes them [official]: how
//! each is called, the query parameters it takes and the one it needs, the scopes that may call it;
//! and what each costs in quota units.

use super::api::Req;

/// The methods the sandbox serves.
#[derive(Debug, Clone, Copy)]
pub(super) enum Op {
    ChannelsList,
    VideosList,
    PlaylistItemsList,
    CommentThreadsList,
    CommentsList,
    CommentsInsert,
    VideosInsert,
    ThumbnailsSet,
}

/// One method as the discovery document describes it [official]: how it is called, the query
/// parameters it takes, the one it needs, the scopes that may call it; and its quota cost.
pub(super) struct Spec {
    pub op: Op,
    /// The operation faults match: the method's name (`channels.list`), `insert` for videos.insert.
    pub name: &'static str,
    pub http: &'static str,
    pub path: &'static str,
    pub params: &'static [&'static str],
    pub required: &'static str,
    /// Scopes without `https://www.googleapis.com/auth/`.
    pub scopes: &'static [&'static str],
    /// Units a call costs; `None`: the app's `insert_cost`.
    pub units: Option<u32>,
}

/// Parameters every method takes [official: the discovery document's `parameters`], and the id of
/// a resumable session.
pub(super) const STANDARD: &[&str] = &[
    "$.xgafv",
    "access_token",
    "alt",
    "callback",
    "fields",
    "key",
    "oauth_token",
    "prettyPrint",
    "quotaUser",
    "uploadType",
    "upload_protocol",
    "upload_id",
];

const READ: &[&str] = &[
    "youtube",
    "youtube.force-ssl",
    "youtube.readonly",
    "youtubepartner",
];
const WRITE_MEDIA: &[&str] = &["youtube", "youtube.force-ssl", "youtube.upload", "youtubepartner"];
const COMMENTS: &[&str] = &["youtube.force-ssl"];

static SPECS: &[Spec] = &[
    Spec {
        op: Op::ChannelsList,
        name: "channels.list",
        http: "GET",
        path: "/youtube/v3/channels",
        params: &[
            "categoryId",
            "forHandle",
            "forUsername",
            "hl",
            "id",
            "managedByMe",
            "maxResults",
            "mine",
            "mySubscribers",
            "onBehalfOfContentOwner",
            "pageToken",
            "part",
        ],
        required: "part",
        scopes: &[
            "youtube",
            "youtube.force-ssl",
            "youtube.readonly",
            "youtubepartner",
            "youtubepartner-channel-audit",
        ],
        units: Some(1),
    },
    Spec {
        op: Op::VideosList,
        name: "videos.list",
        http: "GET",
        path: "/youtube/v3/videos",
        params: &[
            "chart",
            "hl",
            "id",
            "locale",
            "maxHeight",
            "maxResults",
            "maxWidth",
            "myRating",
            "onBehalfOfContentOwner",
            "pageToken",
            "part",
            "regionCode",
            "videoCategoryId",
        ],
        required: "part",
        scopes: READ,
        units: Some(1),
    },
    Spec {
        op: Op::PlaylistItemsList,
        name: "playlistItems.list",
        http: "GET",
        path: "/youtube/v3/playlistItems",
        params: &[
            "id",
            "maxResults",
            "onBehalfOfContentOwner",
            "pageToken",
            "part",
            "playlistId",
            "videoId",
        ],
        required: "part",
        scopes: READ,
        units: Some(1),
    },
    Spec {
        op: Op::CommentThreadsList,
        name: "commentThreads.list",
        http: "GET",
        path: "/youtube/v3/commentThreads",
        params: &[
            "allThreadsRelatedToChannelId",
            "channelId",
            "id",
            "maxResults",
            "moderationStatus",
            "order",
            "pageToken",
            "part",
            "searchTerms",
            "textFormat",
            "videoId",
        ],
        required: "part",
        scopes: COMMENTS,
        units: Some(1),
    },
    Spec {
        op: Op::CommentsList,
        name: "comments.list",
        http: "GET",
        path: "/youtube/v3/comments",
        params: &["id", "maxResults", "pageToken", "parentId", "part", "textFormat"],
        required: "part",
        scopes: COMMENTS,
        units: Some(1),
    },
    Spec {
        op: Op::CommentsInsert,
        name: "comments.insert",
        http: "POST",
        path: "/youtube/v3/comments",
        params: &["part"],
        required: "part",
        scopes: COMMENTS,
        units: Some(50),
    },
    Spec {
        op: Op::VideosInsert,
        name: "insert",
        http: "POST",
        path: "/upload/youtube/v3/videos",
        params: &[
            "autoLevels",
            "notifySubscribers",
            "onBehalfOfContentOwner",
            "onBehalfOfContentOwnerChannel",
            "part",
            "stabilize",
        ],
        required: "part",
        scopes: WRITE_MEDIA,
        units: None,
    },
    Spec {
        op: Op::ThumbnailsSet,
        name: "thumbnails.set",
        http: "POST",
        path: "/upload/youtube/v3/thumbnails/set",
        params: &["onBehalfOfContentOwner", "videoId"],
        required: "videoId",
        scopes: WRITE_MEDIA,
        units: Some(50),
    },
];

/// The method a request calls (the resumable upload paths are the upload paths).
pub(super) fn spec_of(req: &Req) -> Option<&'static Spec> {
    let path = req.path.strip_prefix("/resumable").unwrap_or(&req.path);
    SPECS
        .iter()
        .find(|s| s.http == req.method.as_str() && s.path == path)
}
