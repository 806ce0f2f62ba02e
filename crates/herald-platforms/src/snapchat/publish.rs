//! Publishing to a Public Profile, one resumable step at a time: the media container (key and IV
//! chosen, paths saved before any byte), its parts encrypted and sent in order, FINALIZE, the
//! listing of the profile's assets of the post's kind and the `posting` mark, then the post call
//! (parked while the media processes, sent again after a lost answer); what Snap's answers say
//! about which asset the post is; and a post's figures read back.

use std::time::Duration;

use jiff::Timestamp;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::crypto::{self, BLOCK, KEY_BYTES};
use super::wire::{self, ALREADY_POSTED, MEDIA_EXPIRED, MEDIA_PROCESSING, RATE_PAUSE, Refused};
use super::{Snapchat, malformed};
use crate::adapter::{Item, Progress, PublishJob, read_handle, saved, unreadable};
use crate::{Metrics, PlatformError, Published, Step, StepContext, settle};

/// Progress of one delivery's post, saved by the dispatcher between steps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Handle {
    /// When the attempt began (Unix seconds).
    #[serde(default)]
    started_at: i64,
    /// The media container and the paths its parts and its end go to: saved before any byte.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    media_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    add_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    finalize_path: Option<String>,
    /// The media's AES-256 key and CBC IV (base64), kept so a part can be encrypted again exactly
    /// as before after an interruption. They protect media that is about to be public, and are
    /// forgotten once the upload is finalized (a new upload gets new ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iv: Option<String>,
    /// The file's size, the plaintext of each part but the last, and how many parts there are.
    #[serde(default)]
    size: u64,
    #[serde(default)]
    part_size: u64,
    #[serde(default)]
    parts: u64,
    /// Parts Snap has taken.
    #[serde(default)]
    sent: u64,
    /// The last ciphertext block sent (base64): the CBC chaining value the next part continues
    /// from (the IV before the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    chain: Option<String>,
    #[serde(default)]
    finalized: bool,
    /// The ids of the profile's assets of the post's kind just before the first post call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    before: Option<Vec<String>>,
    /// The stats endpoint would not list the profile's assets: nothing to compare with.
    #[serde(default)]
    unlisted: bool,
    /// Set (and saved) before the call that posts the media.
    #[serde(default)]
    posting: bool,
    /// Snap took the post without naming it: what remains is telling which asset it is.
    #[serde(default)]
    posted: bool,
    /// When Snap first answered that the media was still processing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    processing_since: Option<i64>,
}

/// The plaintext of a part: 31 MiB, whole AES blocks, so that a part with its padding and the
/// multipart framing stays under Snap's 32 MiB a request (a part of exactly 32 MiB is refused
/// "Media size is too large" [3p-live: C1]).
const PART: u64 = 31 * 1024 * 1024;
/// At most 35 parts and 1 GB a media [3p×4], taken as 1 GiB of ciphertext.
const MAX_PARTS: u64 = 35;
const MAX_MEDIA: u64 = 1024 * 1024 * 1024;
/// How soon a media still processing is posted again, and for how long.
const RECHECK: Duration = Duration::from_secs(5);
const PROCESSING_LIMIT: i64 = 3600;

// A part is whole AES blocks, stays under 32 MiB with its padding and framing, and 35 of them hold
// the largest media.
const _: () = assert!(PART.is_multiple_of(BLOCK as u64));
const _: () = assert!(PART + BLOCK as u64 + 64 * 1024 < 32 * 1024 * 1024);
const _: () = assert!(MAX_PARTS * PART >= MAX_MEDIA);

/// A Spotlight's locale unless the post sets one (Snap requires one).
const DEFAULT_LOCALE: &str = "en_US";

/// What a post becomes on Snapchat (the rules' kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Story,
    SavedStory,
    Spotlight,
}

impl Kind {
    /// The kind the rules recognised, else the `format` option; a Story unless either says more.
    fn of(job: &PublishJob<'_>) -> Self {
        let named: Option<&str> = job.kind;
        match named.or(job.text_option("format")) {
            Some("saved_story") => Self::SavedStory,
            Some("spotlight") => Self::Spotlight,
            _ => Self::Story,
        }
    }

    /// The path its posts are made at (and their stats read under).
    fn path(self) -> &'static str {
        match self {
            Self::Story => "stories",
            Self::SavedStory => "saved_stories",
            Self::Spotlight => "spotlights",
        }
    }

    /// The stats endpoint's `assetType`.
    fn asset_type(self) -> &'static str {
        match self {
            Self::Story => "STORY",
            Self::SavedStory => "SAVED_STORY",
            Self::Spotlight => "SPOTLIGHT",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Story => "Story",
            Self::SavedStory => "Saved Story",
            Self::Spotlight => "Spotlight",
        }
    }
}

/// A new handle for an attempt starting at `at`.
pub(super) fn start(at: Timestamp) -> String {
    let h = Handle {
        started_at: at.as_second(),
        ..Handle::default()
    };
    serde_json::to_string(&h).expect("handles serialise")
}

/// What a saved handle says: fresh until the media exists; the post call is the visible one (a
/// media is public only once posted, so nothing is ever partly live).
pub(super) fn progress(handle: &str) -> Result<Progress, String> {
    let h: Handle = read_handle(handle)?;
    Ok(Progress {
        fresh: h.media_id.is_none(),
        visible_call: h.posting || h.posted,
        partly_live: false,
    })
}

impl Snapchat {
    /// One step from the saved handle; the dispatcher saves what it returns.
    pub(super) async fn publish(
        &self,
        job: &PublishJob<'_>,
        handle: &str,
        ctx: StepContext<'_>,
    ) -> Result<Step<String>, PlatformError> {
        let h: Handle = read_handle(handle).map_err(unreadable)?;
        self.publish_step(job, h, &ctx).await.map(saved)
    }

    /// The ids of the profile's assets of a kind, as the stats endpoint lists them (every asset
    /// of the type, with its lifetime figures).
    async fn asset_ids(
        &self,
        token: &SecretString,
        profile: &str,
        kind: Kind,
    ) -> Result<Vec<String>, PlatformError> {
        let mut url = self.api(&["v1", "public_profiles", profile, "stats"]);
        url.query_pairs_mut()
            .append_pair("assetType", kind.asset_type())
            .append_pair("fields", "VIEWS");
        let d = self.get(url, token).await?;
        Ok(wire::stat_ids(&d))
    }

    /// The profile's assets of the kind that were not there before the first post call.
    async fn new_assets(
        &self,
        job: &PublishJob<'_>,
        kind: Kind,
        h: &Handle,
    ) -> Result<Vec<Published>, PlatformError> {
        let Some(before) = &h.before else {
            return Ok(Vec::new());
        };
        let now = self.asset_ids(job.token, job.account, kind).await?;
        Ok(now
            .into_iter()
            .filter(|id| !before.contains(id))
            .map(|id| Published { id, permalink: None })
            .collect())
    }

    /// One step of publishing; see the module docs.
    async fn publish_step(
        &self,
        job: &PublishJob<'_>,
        handle: Handle,
        ctx: &StepContext<'_>,
    ) -> Result<Step<Handle>, PlatformError> {
        let handle = Handle {
            started_at: match handle.started_at {
                0 => ctx.now.as_second(),
                t => t,
            },
            ..handle
        };
        let kind = Kind::of(job);
        if kind == Kind::SavedStory && title(job).is_none() {
            return Err(PlatformError::ContentRejected {
                message: "A Saved Story needs a title (the `title` option).".into(),
            });
        }
        let item = job.items.first().ok_or_else(|| PlatformError::ContentRejected {
            message: "A Snapchat post needs one image or video.".into(),
        })?;
        if handle.posted {
            return self.name_post(job, kind, &handle, ctx).await;
        }
        let Some(media_id) = handle.media_id.clone() else {
            return self.create_media(job, item, handle).await;
        };
        if handle.sent < handle.parts {
            return self.send_part(job, item, handle).await;
        }
        if !handle.finalized {
            return self.finalize(job, handle).await;
        }
        if !handle.posting {
            return self.prepare_post(job, kind, handle).await;
        }
        self.post_media(job, kind, &media_id, handle, ctx).await
    }

    /// The media container, with a new key and IV; nothing of the file has gone yet.
    async fn create_media(
        &self,
        job: &PublishJob<'_>,
        item: &Item,
        handle: Handle,
    ) -> Result<Step<Handle>, PlatformError> {
        let source = crate::oauth2::open_media(&self.upload, item).await?;
        let size = source
            .content_length()
            .ok_or_else(|| PlatformError::MediaUnreachable {
                message: "Herald's own media link did not say the file's size".into(),
            })?;
        drop(source);
        if size == 0 {
            return Err(PlatformError::ContentRejected {
                message: "The media file is empty.".into(),
            });
        }
        let parts = size.div_ceil(PART);
        let ciphertext = size + (BLOCK as u64 - size % BLOCK as u64);
        if parts > MAX_PARTS || ciphertext > MAX_MEDIA {
            return Err(PlatformError::ContentRejected {
                message: "Snapchat takes media of at most 1 GiB once encrypted.".into(),
            });
        }
        let key: [u8; KEY_BYTES] = crypto::random()?;
        let iv: [u8; BLOCK] = crypto::random()?;
        let media_type = if item.video() { "VIDEO" } else { "IMAGE" };
        let body = json!({
            "type": media_type, "name": format!("herald-{}", handle.started_at),
            "key": crypto::encode(&key), "iv": crypto::encode(&iv),
        });
        let url = self.api(&["v1", "public_profiles", job.account, "media"]);
        let d = self.post(url, job.token, &body).await?;
        let path = |k: &str| -> Result<String, PlatformError> {
            let p = d[k].as_str().ok_or_else(|| malformed(k))?;
            self.upload_url(p)?;
            Ok(p.to_owned())
        };
        let (add_path, finalize_path) = (path("add_path")?, path("finalize_path")?);
        let media_id = d["media_id"].as_str().ok_or_else(|| malformed("media_id"))?;
        Ok(Step::Continue(Handle {
            media_id: Some(media_id.to_owned()),
            add_path: Some(add_path),
            finalize_path: Some(finalize_path),
            key: Some(crypto::encode(&key)),
            iv: Some(crypto::encode(&iv)),
            size,
            part_size: PART,
            parts,
            sent: 0,
            chain: Some(crypto::encode(&iv)),
            ..handle
        }))
    }

    /// The next part, encrypted from where the chain stands. A part whose answer was lost is sent
    /// again as the very same bytes (same key, chain and plaintext), which Snap takes again without
    /// effect.
    async fn send_part(
        &self,
        job: &PublishJob<'_>,
        item: &Item,
        handle: Handle,
    ) -> Result<Step<Handle>, PlatformError> {
        let key: [u8; KEY_BYTES] = crypto::decode(handle.key.as_deref(), "media key")?;
        let chain: [u8; BLOCK] =
            crypto::decode(handle.chain.as_deref().or(handle.iv.as_deref()), "CBC chain")?;
        let first = handle.sent * handle.part_size;
        let last = handle.sent + 1 == handle.parts;
        let len = match last {
            true => handle.size - first,
            false => handle.part_size,
        };
        let plain = crate::oauth2::read_range(&self.upload, item, first, len).await?;
        let (ciphertext, next) = crypto::encrypt_part(&key, &chain, plain, last)?;
        let url = self.upload_url(handle.add_path.as_deref().unwrap_or_default())?;
        let number = handle.sent + 1;
        let file = reqwest::multipart::Part::bytes(ciphertext)
            .file_name(format!("part-{number}.enc"))
            .mime_str("application/octet-stream")
            .expect("a MIME type");
        let form = reqwest::multipart::Form::new()
            .text("action", "ADD")
            .text("part_number", number.to_string())
            .part("file", file);
        match self.upload_call(url, form, job.token).await {
            Ok(_) => Ok(Step::Continue(Handle {
                sent: number,
                chain: Some(crypto::encode(&next)),
                ..handle
            })),
            Err(r) if r.code == MEDIA_EXPIRED => Ok(Step::Continue(restart(&handle))),
            Err(r) => Err(r.into()),
        }
    }

    /// The end of the upload (a repeated FINALIZE answers as the first did).
    async fn finalize(&self, job: &PublishJob<'_>, handle: Handle) -> Result<Step<Handle>, PlatformError> {
        let url = self.upload_url(handle.finalize_path.as_deref().unwrap_or_default())?;
        let form = reqwest::multipart::Form::new().text("action", "FINALIZE");
        match self.upload_call(url, form, job.token).await {
            Ok(_) => Ok(Step::Continue(Handle {
                finalized: true,
                key: None,
                iv: None,
                chain: None,
                ..handle
            })),
            Err(r) if r.code == MEDIA_EXPIRED => Ok(Step::Continue(restart(&handle))),
            Err(r) => Err(r.into()),
        }
    }

    /// Lists the profile's assets of the kind (once), then marks the post call as about to be
    /// made: the next step makes it.
    async fn prepare_post(
        &self,
        job: &PublishJob<'_>,
        kind: Kind,
        mut handle: Handle,
    ) -> Result<Step<Handle>, PlatformError> {
        if handle.before.is_none() && !handle.unlisted {
            match self.asset_ids(job.token, job.account, kind).await {
                Ok(ids) => handle.before = Some(ids),
                Err(
                    e @ (PlatformError::Transient { .. }
                    | PlatformError::RateLimited { .. }
                    | PlatformError::TokenExpired
                    | PlatformError::TokenRevoked(_)),
                ) => return Err(e),
                // Snap would not list them: the post goes ahead, and after a lost answer only
                // Snap's refusal of a second post can tell that it was made.
                Err(_) => handle.unlisted = true,
            }
        }
        Ok(Step::Continue(Handle {
            posting: true,
            ..handle
        }))
    }

    /// The call that makes the post (sent again after a lost answer: Snap posts a media once).
    async fn post_media(
        &self,
        job: &PublishJob<'_>,
        kind: Kind,
        media_id: &str,
        handle: Handle,
        ctx: &StepContext<'_>,
    ) -> Result<Step<Handle>, PlatformError> {
        // After a lost answer, the post is looked for before the call is made again (Snap's
        // refusal of a second post of a media is a second safety, not the first).
        if ctx.recovering && handle.before.is_some() {
            let found = self.new_assets(job, kind, &handle).await?;
            if let Some(step) = settle(found, ctx.known) {
                return Ok(step);
            }
        }
        let body = match kind {
            Kind::Story => json!({ "media_id": media_id }),
            Kind::SavedStory => json!({"saved_stories": [{
                "title": title(job).unwrap_or_default(),
                "snap_sources": [{ "media_id": media_id }],
            }]}),
            Kind::Spotlight => json!({
                "media_id": media_id, "description": job.text, "locale": locale(job),
                "skip_save_to_profile": false,
            }),
        };
        let url = self.api(&["v1", "public_profiles", job.account, kind.path()]);
        let d = match self.post(url, job.token, &body).await {
            Ok(d) => d,
            // The media was posted: by the earlier call whose answer was lost.
            Err(r) if r.code == ALREADY_POSTED => {
                return self.find_posted(job, kind, media_id, &handle, ctx).await;
            }
            // An answer that nothing was posted (a posted media is not processing): posted again
            // shortly, the call not yet under way.
            Err(r) if r.code == MEDIA_PROCESSING => {
                let since = handle.processing_since.unwrap_or(ctx.now.as_second());
                if ctx.now.as_second() - since > PROCESSING_LIMIT {
                    return Err(PlatformError::ContentRejected {
                        message: "Snapchat was still processing the media an hour after it was uploaded."
                            .into(),
                    });
                }
                // After a lost answer the earlier call may still have posted it: the marker stays.
                return Ok(Step::Park(
                    Handle {
                        posting: ctx.recovering,
                        processing_since: Some(since),
                        ..handle
                    },
                    RECHECK,
                ));
            }
            Err(r) if r.code == MEDIA_EXPIRED => return self.expired(job, kind, handle, ctx).await,
            // A limit is an answer to this call, the first of the attempt: nothing was posted.
            Err(Refused {
                error: PlatformError::RateLimited { retry_after, .. },
                ..
            }) if !ctx.recovering => {
                let handle = Handle {
                    posting: false,
                    ..handle
                };
                return Ok(Step::Park(handle, retry_after.unwrap_or(RATE_PAUSE)));
            }
            Err(r) => return Err(r.into()),
        };
        let id = match kind {
            Kind::Spotlight => d["spotlight_id"]
                .as_str()
                .or(d["spotlights"][0]["spotlight"]["id"].as_str()),
            Kind::SavedStory => {
                let item = &d["saved_stories"][0];
                if wire::item_failed(item) {
                    let why = item["sub_request_error_reason"]
                        .as_str()
                        .unwrap_or("no reason given");
                    return Err(PlatformError::Transient {
                        message: format!("Snapchat did not make the Saved Story ({why})"),
                    });
                }
                item["saved_story"]["id"].as_str()
            }
            // Snap answers a Story with its request id alone [3p: C2]; some clients read a
            // `story_id` or `snap_id` [3p: C3, C4].
            Kind::Story => d["story_id"].as_str().or(d["snap_id"].as_str()),
        };
        Ok(match id.filter(|i| !i.is_empty()) {
            Some(id) => Step::Published(Published {
                id: id.to_owned(),
                permalink: None,
            }),
            None => Step::Continue(Handle {
                posted: true,
                ..handle
            }),
        })
    }

    /// A post Snap took without naming it: the asset of its kind new since the listing, else
    /// (none, several, or no listing) its media, which was posted once and stands for it.
    async fn name_post(
        &self,
        job: &PublishJob<'_>,
        kind: Kind,
        handle: &Handle,
        ctx: &StepContext<'_>,
    ) -> Result<Step<Handle>, PlatformError> {
        // A listing that failed for a passing reason is tried again (the post is made: only its
        // name is missing).
        let found = self.new_assets(job, kind, handle).await?;
        Ok(match settle::<Handle>(found, ctx.known) {
            Some(Step::Published(p)) => Step::Published(p),
            _ => Step::Published(Published {
                id: handle.media_id.clone().unwrap_or_default(),
                permalink: None,
            }),
        })
    }

    /// Snap says the media was posted already: the earlier call landed. Its asset is the one new
    /// since the listing; a Story none can be told for is named by its media; a Saved Story or a
    /// Spotlight that cannot be found leaves the delivery unconfirmed.
    async fn find_posted(
        &self,
        job: &PublishJob<'_>,
        kind: Kind,
        media_id: &str,
        handle: &Handle,
        ctx: &StepContext<'_>,
    ) -> Result<Step<Handle>, PlatformError> {
        let found = self.new_assets(job, kind, handle).await?;
        match settle(found, ctx.known) {
            Some(step) => Ok(step),
            None if kind == Kind::Story => Ok(Step::Published(Published {
                id: media_id.to_owned(),
                permalink: None,
            })),
            None => Err(PlatformError::Platform {
                message: format!(
                    "Snapchat says this post's media was already posted (by an earlier call whose answer was lost), but Herald cannot find the {} among the Public Profile's, so it cannot tell which it is",
                    kind.name()
                ),
            }),
        }
    }

    /// The media expired (24 hours after it was made) before it was posted: the attempt starts
    /// again. After a lost answer the earlier call may have posted it, so the post is looked for
    /// first.
    async fn expired(
        &self,
        job: &PublishJob<'_>,
        kind: Kind,
        handle: Handle,
        ctx: &StepContext<'_>,
    ) -> Result<Step<Handle>, PlatformError> {
        if ctx.recovering {
            if handle.before.is_none() {
                return Err(PlatformError::Platform {
                    message: "the media expired after a call whose answer was lost, and Snapchat would not list the profile's posts, so Herald cannot tell whether it was posted".into(),
                });
            }
            if let Some(step) = settle(self.new_assets(job, kind, &handle).await?, ctx.known) {
                return Ok(step);
            }
        }
        Ok(Step::Continue(restart(&handle)))
    }

    /// The post's lifetime figures, from the stats of its asset (its kind found by asking each).
    pub(super) async fn figures_of(
        &self,
        token: &SecretString,
        profile: &str,
        post: &str,
    ) -> Result<Metrics, PlatformError> {
        for kind in [Kind::Spotlight, Kind::SavedStory, Kind::Story] {
            let url = self.api(&["v1", "public_profiles", profile, kind.path(), post, "stats"]);
            match self.call(self.http.get(url), token).await {
                Ok(d) => return Ok(wire::figures(&d)),
                Err(r) if r.status == 404 => {}
                Err(r) => return Err(wire::lookup(r.error)),
            }
        }
        Err(PlatformError::Platform {
            message: "Snapchat has no figures for this post: it is none of the Public Profile's Spotlights, Saved Stories or Stories (a Story Snap did not name is known by its media only)".into(),
        })
    }
}

/// A Saved Story's title, when the post sets one.
fn title<'a>(job: &PublishJob<'a>) -> Option<&'a str> {
    job.options
        .get("title")
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// A Spotlight's locale as Snap writes them (`en_US`; `en-US` is taken too).
fn locale(job: &PublishJob<'_>) -> String {
    job.text_option("locale")
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .unwrap_or(DEFAULT_LOCALE)
        .replace('-', "_")
}

/// A new attempt: a new media, key and IV (nothing of the old one was posted).
fn restart(h: &Handle) -> Handle {
    Handle {
        started_at: h.started_at,
        ..Handle::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_is_fresh_until_the_media_exists_and_the_post_call_is_the_visible_one() {
        let p = |h: Handle| progress(&serde_json::to_string(&h).unwrap()).unwrap();
        let made = Handle {
            media_id: Some("m".into()),
            parts: 2,
            ..Handle::default()
        };
        let fresh = p(Handle::default());
        assert!(fresh.fresh && !fresh.visible_call && !fresh.partly_live);
        let uploading = p(made.clone());
        assert!(!uploading.fresh && !uploading.visible_call);
        let posting = p(Handle {
            posting: true,
            ..made.clone()
        });
        assert!(posting.visible_call && !posting.partly_live);
        assert!(
            p(Handle {
                posted: true,
                ..made.clone()
            })
            .visible_call
        );
        assert!(restart(&made).media_id.is_none());
        let started: Handle =
            serde_json::from_str(&start(Timestamp::from_second(1_800_000_000).unwrap())).unwrap();
        assert_eq!((started.started_at, started.media_id), (1_800_000_000, None));
    }
}
