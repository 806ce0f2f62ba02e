//! One publish as the dispatcher drives it: an adapter, the token, the account and the content, with
//! the handle type the adapter resumes from.

use herald_platforms::facebook::{Facebook, PageContent, PageHandle};
use herald_platforms::instagram::{Content, Handle, Instagram};
use herald_platforms::{PlatformError, Step, StepContext};
use secrecy::SecretString;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub(crate) trait Job {
    type Handle: Serialize + DeserializeOwned + Default + Clone;
    /// Nothing has been created on the platform yet: this is a new attempt.
    fn fresh(h: &Self::Handle) -> bool;
    fn set_started_at(h: &mut Self::Handle, at: i64);
    /// The call that makes the post visible may have been made: a failure now leaves it unknown.
    fn publish_started(h: &Self::Handle) -> bool;
    async fn step(
        &self,
        h: &Self::Handle,
        ctx: &StepContext<'_>,
    ) -> Result<Step<Self::Handle>, PlatformError>;
}

/// Whether a saved handle (of any adapter) says the call that makes the post visible may have been
/// made: then the platform may hold the post, whatever happens to the delivery next.
pub(crate) fn may_be_live(handle: Option<&str>) -> bool {
    handle
        .and_then(|h| serde_json::from_str::<serde_json::Value>(h).ok())
        .is_some_and(|v| v["publish_started"] == true || v["post_started"] == true)
}

pub(crate) struct InstagramJob<'a> {
    pub instagram: &'a Instagram,
    pub token: &'a SecretString,
    pub account: &'a str,
    pub content: Content<'a>,
}

impl Job for InstagramJob<'_> {
    type Handle = Handle;

    fn fresh(h: &Handle) -> bool {
        h.container_id.is_none() && h.children.is_empty()
    }

    fn set_started_at(h: &mut Handle, at: i64) {
        h.started_at = at;
    }

    fn publish_started(h: &Handle) -> bool {
        h.publish_started
    }

    async fn step(&self, h: &Handle, ctx: &StepContext<'_>) -> Result<Step<Handle>, PlatformError> {
        self.instagram
            .publish_step(self.token, self.account, &self.content, h, ctx)
            .await
    }
}

pub(crate) struct PageJob<'a> {
    pub facebook: &'a Facebook,
    pub token: &'a SecretString,
    pub page: &'a str,
    pub content: PageContent<'a>,
}

impl Job for PageJob<'_> {
    type Handle = PageHandle;

    fn fresh(h: &PageHandle) -> bool {
        h.photo_ids.is_empty() && h.video_id.is_none() && !h.post_started
    }

    fn set_started_at(h: &mut PageHandle, at: i64) {
        h.started_at = at;
    }

    fn publish_started(h: &PageHandle) -> bool {
        h.post_started
    }

    async fn step(&self, h: &PageHandle, ctx: &StepContext<'_>) -> Result<Step<PageHandle>, PlatformError> {
        self.facebook
            .publish_step(self.token, self.page, &self.content, h, ctx)
            .await
    }
}
