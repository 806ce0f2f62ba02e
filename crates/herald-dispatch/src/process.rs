//! One claimed delivery: the pre-publish checks, the adapter's steps, and what each outcome means.

use herald_domain::delivery::DeliveryStatus;
use herald_domain::platform::Feature;
use herald_domain::profile::{ConnectionState, ReconnectReason, SecretKind};
use herald_domain::rules::{self, Draft, LiveFacts, MediaFacts, OptionType};
use herald_platforms::{
    Headroom, Item, Note, Part, PlatformError, PublishJob, Published, Publisher, Step, StepContext,
};
use herald_store::{Claimed, StoreError, Transition};
use jiff::SignedDuration;
use secrecy::SecretString;

use crate::Dispatcher;
use crate::allowance::Calling;

/// How long a delivery waits when the quota is used up before it looks again.
const QUOTA_RECHECK: SignedDuration = SignedDuration::from_hours(1);
/// The most steps one claim takes before handing the delivery back (per part of a thread).
const MAX_STEPS: usize = 6;
/// The code of a claim's stop when it took its share of steps and the attempt goes on: not a
/// failure.
const CONTINUING: &str = "continuing";

/// How far a failed step had gone.
#[derive(Debug, Clone, Copy)]
struct Started {
    /// The call that makes the post visible may have been made (by this claim or an earlier one).
    visible_call: bool,
    /// The failing step was the first after an earlier claim had started that call: its outcome
    /// is still unknown.
    by_earlier_claim: bool,
    /// Part of the post is surely live already (a thread's first parts, an uploaded video).
    partly_live: bool,
    /// When the delivery's time came (or the person said "publish now"): retries end a policy's
    /// maximum time after it.
    since: jiff::Timestamp,
}

/// Why a delivery stops here.
enum Stop {
    /// The profile needs the person; `may_be_live`: the post may already be on the platform, so
    /// the delivery is `unconfirmed`, not waiting to be sent again.
    Reconnect {
        reason: ReconnectReason,
        message: String,
        may_be_live: bool,
    },
    Fail(&'static str, String),
    Retry(jiff::Timestamp, &'static str, String),
    /// Herald cannot tell whether (or which) post is on the platform; the candidates, if any.
    Unconfirmed(String, Vec<Published>),
    /// Too late to go out by itself: it waits for the person.
    Missed(String),
}

impl Dispatcher {
    pub(crate) async fn process(&self, c: Claimed) {
        if c.taken_over {
            crate::metrics::lease_taken_over();
        }
        let result = self.attempt(&c).await;
        let outcome = match result {
            Ok(()) => return,
            Err(Err(StoreError::LeaseLost)) => {
                tracing::warn!(delivery = %c.id, "lease lost: another worker owns this delivery now");
                return;
            }
            Err(Err(e)) => {
                tracing::error!(delivery = %c.id, error = %e, "store failure while publishing");
                let at = self.clock.now() + SignedDuration::from_secs(30);
                Stop::Retry(
                    at,
                    "internal",
                    "Herald could not reach its database; it will retry.".into(),
                )
            }
            Err(Ok(stop)) => stop,
        };
        if let Err(e) = self.stop(&c, outcome).await {
            tracing::warn!(delivery = %c.id, error = %e, "could not record the delivery's outcome");
        }
    }

    async fn stop(&self, c: &Claimed, stop: Stop) -> Result<(), StoreError> {
        let mut candidates = None;
        let (to, code, message, due) = match stop {
            Stop::Reconnect {
                reason,
                message,
                may_be_live,
            } => {
                self.store
                    .set_profile_state(
                        c.workspace,
                        c.profile,
                        ConnectionState::NeedsReconnect,
                        Some(reason),
                    )
                    .await?;
                self.notify_reconnect(c.workspace, c.profile, reason, &message)
                    .await?;
                let to = if may_be_live {
                    DeliveryStatus::Unconfirmed
                } else {
                    DeliveryStatus::NeedsReconnect
                };
                (to, reason.as_str(), message, None)
            }
            Stop::Fail(code, message) => (DeliveryStatus::Failed, code, message, None),
            Stop::Retry(at, code, message) => (
                DeliveryStatus::RetryWait,
                code,
                message,
                Some(at.as_microsecond()),
            ),
            Stop::Missed(message) => (DeliveryStatus::Missed, "missed", message, None),
            Stop::Unconfirmed(message, found) => {
                if !found.is_empty() {
                    let list: Vec<_> = found
                        .iter()
                        .map(|p| serde_json::json!({"id": p.id, "permalink": p.permalink}))
                        .collect();
                    candidates = Some(serde_json::Value::from(list).to_string());
                }
                (DeliveryStatus::Unconfirmed, "unconfirmed", message, None)
            }
        };
        tracing::info!(delivery = %c.id, status = to.as_str(), code, "delivery stopped");
        self.store
            .transition(
                c,
                to,
                Transition {
                    due_at: due,
                    error_code: Some(code),
                    error_message: Some(&message),
                    candidates: candidates.as_deref(),
                    failure: to == DeliveryStatus::RetryWait && code == "transient",
                    outcome: code,
                    ..Default::default()
                },
            )
            .await?;
        self.notify_delivery(c, to, &message).await
    }

    /// Checks, then steps. `Err(Ok(stop))` is an outcome to record; `Err(Err(_))` a store failure.
    async fn attempt(&self, c: &Claimed) -> Result<(), Result<Stop, StoreError>> {
        // Everything read at once: the profile, the post, the sealed token, the cached facts.
        let work = self.store.work(c).await.map_err(Err)?;
        let profile = match work.profile {
            Ok(p) => p,
            // A profile Herald cannot read is damage: said once, never retried forever or guessed at.
            Err(StoreError::Corrupt(why)) => {
                // Without the profile there is no adapter to read the handle: the saved record
                // says, and a handle that is not even JSON may describe a live post.
                let live = c.may_be_live
                    || c.handle
                        .as_deref()
                        .is_some_and(|h| serde_json::from_str::<serde_json::Value>(h).is_err());
                return Err(Ok(match live {
                    true => Stop::Unconfirmed(
                        format!(
                            "The profile's record cannot be read ({why}); the post may already be on the platform. Check there, and reconnect the profile."
                        ),
                        Vec::new(),
                    ),
                    false => Stop::Fail(
                        "corrupt_profile",
                        format!(
                            "The profile's record cannot be read ({why}); nothing was published. Reconnect the profile, then publish the post again."
                        ),
                    ),
                }));
            }
            Err(e) => return Err(Err(e)),
        };
        let platform = profile.platform;
        // Only the platforms the registry has a publisher for; any other is said, never guessed at.
        let publisher = match self.platforms.publisher(platform) {
            Ok(p) => p,
            Err(e) => return Err(Ok(Stop::Fail("unsupported_platform", e.to_string()))),
        };
        // The saved record, or the handle itself (a handle that cannot be read may describe a
        // live post), says the call that makes the post visible may have been made.
        let live = c.may_be_live
            || c.handle
                .as_deref()
                .is_some_and(|h| publisher.progress(h).map_or(true, |p| p.visible_call));
        let post = work.post.map_err(Err)?;
        // The window counts from the post's time, or from when the person said "publish now".
        let since = herald_domain::clock::from_micros(c.window_from.unwrap_or(post.scheduled_at));
        // The window bounds when an attempt starts, not how long one under way takes (a long
        // upload, a claim's share of steps at a time), which the retry policy's time bounds.
        let under_way = c
            .handle
            .as_deref()
            .is_some_and(|h| publisher.progress(h).is_ok_and(|p| !p.fresh));
        let policy = self.settings.retry.over(publisher.retries());
        let until = since + SignedDuration::try_from(policy.max_time).unwrap_or_default();
        let goes_on = under_way && self.clock.now() <= until;
        if !(live || goes_on) {
            self.catch_up(c, since, &post.time_zone)?;
        }
        let maybe_posted = |why: &str| {
            Stop::Unconfirmed(
                format!(
                    "{why} after Herald asked {} to publish this post, so it may be on the profile; check there before publishing it again.",
                    platform.display_name()
                ),
                Vec::new(),
            )
        };
        match profile.state {
            ConnectionState::Connected => {}
            ConnectionState::NeedsReconnect => {
                let reason = profile.reason.unwrap_or(ReconnectReason::Expired);
                let message = match reason.is_configuration() {
                    true => reason.explain().to_owned(),
                    false => format!(
                        "The {} connection needs to be reconnected.",
                        platform.display_name()
                    ),
                };
                return Err(Ok(Stop::Reconnect {
                    reason,
                    message,
                    may_be_live: live,
                }));
            }
            ConnectionState::Disconnected if live => {
                return Err(Ok(maybe_posted("The profile was disconnected")));
            }
            ConnectionState::Disconnected => {
                return Err(Ok(Stop::Fail(
                    "disconnected",
                    "The profile was disconnected before the post went out.".into(),
                )));
            }
        }
        if let Some(reason) = self.settings.backends.mismatch(profile.login, profile.sandbox) {
            return Err(Ok(Stop::Reconnect {
                reason,
                message: reason.explain().to_owned(),
                may_be_live: live,
            }));
        }
        let missing = profile.missing_for(Feature::Publish);
        if !missing.is_empty() {
            return Err(Ok(Stop::Reconnect {
                reason: ReconnectReason::PermissionMissing,
                message: format!(
                    "Publishing needs the permission {} that was not granted; reconnect and allow it.",
                    missing.join(", ")
                ),
                may_be_live: live,
            }));
        }
        let delivery = post
            .deliveries
            .iter()
            .find(|d| d.id == c.id)
            .ok_or(Err(StoreError::NotFound))?;
        let (text, media_ids) = post.content_for(delivery);
        let mut media = Vec::new();
        for id in &media_ids {
            media.push(self.store.get_media(c.workspace, *id).await.map_err(Err)?);
        }
        let facts: Vec<MediaFacts> = media.iter().map(herald_store::MediaRow::facts).collect();
        // A thread's later parts: each with its own media.
        let mut thread_media = Vec::with_capacity(post.thread.len());
        for part in &post.thread {
            let mut rows = Vec::with_capacity(part.media_ids.len());
            for id in &part.media_ids {
                rows.push(self.store.get_media(c.workspace, *id).await.map_err(Err)?);
            }
            thread_media.push(rows);
        }
        let thread_facts: Vec<Vec<MediaFacts>> = thread_media
            .iter()
            .map(|rows| rows.iter().map(herald_store::MediaRow::facts).collect())
            .collect();
        let parts: Vec<rules::Part> = post
            .thread
            .iter()
            .zip(&thread_facts)
            .map(|(p, media)| rules::Part { text: &p.text, media })
            .collect();
        let options: serde_json::Map<String, serde_json::Value> = match delivery.options.as_deref() {
            None => serde_json::Map::new(),
            Some(o) => match serde_json::from_str(o) {
                Ok(o) => o,
                // Never publish without them (a story would go out as a feed post).
                Err(e) if live => {
                    return Err(Ok(maybe_posted(&format!("Its options became unreadable ({e})"))));
                }
                Err(e) => {
                    return Err(Ok(Stop::Fail(
                        "options_unreadable",
                        format!(
                            "The post's options for this profile cannot be read ({e}); edit the post to set them again."
                        ),
                    )));
                }
            },
        };
        let draft = Draft {
            text: &text,
            media: &facts,
            options: &options,
            live: None,
            thread: &parts,
        };
        // Checked when the attempt starts; a re-check of what the platform is processing does not
        // repeat them (nothing can be edited once publishing started).
        let violations = match c.handle {
            None => rules::check(platform, &draft),
            Some(_) => Vec::new(),
        };
        if !violations.is_empty() {
            let msg = violations
                .iter()
                .map(|v| v.message.as_str())
                .collect::<Vec<_>>()
                .join(" ");
            return Err(Ok(Stop::Fail("content_rejected", msg)));
        }
        // Herald's app has spent its allowance on this platform: no new attempt calls it until
        // it resumes (one under way, an upload's next piece, meets the platform's own answer).
        let held = match under_way {
            true => None,
            false => self
                .holds
                .until(&self.store, profile.login, self.clock.now())
                .await
                .map_err(Err)?,
        };
        if let Some(until) = held {
            return Err(Ok(self.waits(platform, until, app_spent(platform, until))));
        }
        // The account's own posts are used up for now, as far as its answers here said.
        let spent = match under_way {
            true => None,
            false => self.allowances.spent(c.profile, self.clock.now()),
        };
        if let Some(until) = spent {
            return Err(Ok(self.waits(platform, until, account_spent(platform, until))));
        }
        let token = self
            .token(c, &profile, work.sealed_token.as_deref(), live)
            .await?;
        if c.handle.is_none() {
            let live = self
                .live_facts(c, &profile, publisher.as_ref(), &token, work.live_facts)
                .await
                .map_err(Err)?;
            let draft = Draft {
                live: live.as_ref(),
                ..draft
            };
            // What only the platform knows, read just now: a full quota waits; what the account
            // no longer allows (a privacy level it stopped offering) is refused, by rule.
            let found = rules::check(platform, &draft);
            if let Some(v) = found.iter().find(|v| v.rule == "quota.exhausted") {
                let until = self.clock.now() + QUOTA_RECHECK;
                return Err(Ok(self.waits(platform, until, v.message.clone())));
            }
            if !found.is_empty() {
                let msg = found
                    .iter()
                    .map(|v| v.message.as_str())
                    .collect::<Vec<_>>()
                    .join(" ");
                return Err(Ok(Stop::Fail("content_rejected", msg)));
            }
        }
        let exp = self.clock.now().as_second()
            + i64::try_from(self.settings.media_url_ttl.as_secs()).unwrap_or(3600);
        let sign = |m: &herald_store::MediaRow| {
            let ext = m.media_type.mime().rsplit('/').next().unwrap_or("bin");
            self.signer
                .url(&self.public_url, &format!("{}.{ext}", m.id), exp)
                .to_string()
        };
        let item = |m: &herald_store::MediaRow| Item {
            url: sign(m),
            media_type: m.media_type,
        };
        let items: Vec<Item> = media.iter().map(item).collect();
        let thread: Vec<Part> = post
            .thread
            .iter()
            .zip(&thread_media)
            .map(|(p, rows)| Part {
                text: p.text.clone(),
                items: rows.iter().map(item).collect(),
            })
            .collect();
        // Media-typed options (a reel's cover) become URLs the platform downloads them from.
        let mut media_options = Vec::new();
        for spec in rules::limits(platform).options {
            let OptionType::Media { .. } = spec.ty else {
                continue;
            };
            let Some(id) = options
                .get(spec.name)
                .and_then(|v| v.as_str())
                .and_then(|id| id.parse().ok())
            else {
                continue;
            };
            match self.store.get_media(c.workspace, id).await {
                Ok(m) => media_options.push((spec.name, sign(&m))),
                Err(StoreError::NotFound) => {
                    return Err(Ok(Stop::Fail(
                        "content_rejected",
                        format!("The file chosen as `{}` was deleted; choose another.", spec.name),
                    )));
                }
                Err(e) => return Err(Err(e)),
            }
        }
        let job = PublishJob {
            login: profile.login,
            token: &token,
            account: &profile.external_id,
            text: &text,
            items: &items,
            kind: rules::kind_of(platform, &draft),
            options: &options,
            media_options: &media_options,
            thread: &thread,
        };
        self.drive(c, publisher.as_ref(), since, &job).await
    }

    /// Stops a delivery whose first visible call would start later than its catch-up window
    /// allows (after downtime, a reconnect, a rate-limit or quota wait): it becomes `missed`.
    fn catch_up(
        &self,
        c: &Claimed,
        since: jiff::Timestamp,
        zone: &str,
    ) -> Result<(), Result<Stop, StoreError>> {
        let minutes = c.catch_up_minutes.ok_or(Err(StoreError::NotFound))?;
        if self.clock.now() <= since + SignedDuration::from_mins(minutes) {
            return Ok(());
        }
        let due = since
            .in_tz(zone)
            .map(|z| z.strftime("%Y-%m-%d %H:%M %Z").to_string())
            .unwrap_or_else(|_| since.to_string());
        Err(Ok(Stop::Missed(format!(
            "Due at {due}, it could not start within the workspace's catch-up window of {minutes} minutes, so Herald did not publish it late by itself. Publish it now, or cancel it."
        ))))
    }

    /// Takes the adapter's steps from the saved handle, saving it after each, until the post is
    /// published, parks while the platform processes, or stops.
    async fn drive(
        &self,
        c: &Claimed,
        publisher: &dyn Publisher,
        since: jiff::Timestamp,
        job: &PublishJob<'_>,
    ) -> Result<(), Result<Stop, StoreError>> {
        let platform = publisher.platform();
        // Never a fresh start from a record that cannot be read: the platform may hold what it described.
        let unreadable = |e: String| {
            Ok(Stop::Unconfirmed(
                format!(
                    "Herald's record of this publication cannot be read ({e}); the post may be on {}. Check there before publishing it again.",
                    platform.display_name()
                ),
                Vec::new(),
            ))
        };
        let progress = |h: &str| publisher.progress(h).map_err(unreadable);
        let mut handle = c
            .handle
            .clone()
            .unwrap_or_else(|| publisher.start(self.clock.now()));
        let saved = progress(&handle)?;
        // A claim that finds the visible call started may be resuming after a lost answer.
        let mut recovering = saved.visible_call;
        let known = if recovering {
            self.store
                .platform_ids_of_profile(c.workspace, c.profile, c.id)
                .await
                .map_err(Err)?
        } else {
            Vec::new()
        };
        // A stopping dispatcher starts nothing: the delivery is another's, as it is.
        if self.stopping.is_stopping() {
            self.hand_back(c).await;
            return Ok(());
        }
        // The account's post taken for the next call that may make the post visible.
        let mut calling = None;
        // A new attempt starts only from nothing: a carousel whose items exist is resuming, not starting.
        if saved.fresh {
            handle = publisher.begin(job, self.clock.now());
            // A handle that begins at the visible call carries that call's lease, as a save would.
            let live = progress(&handle)?.visible_call;
            // And takes the account's post first: with none left, nothing is begun.
            if live {
                calling = Some(self.take_post(c, platform).await?);
            }
            let lease = live.then(|| self.lease_until(self.budget(true)));
            let detail = format!("publishing to {}", platform.display_name());
            self.store
                .begin_attempt(c, &handle, live, lease, &detail)
                .await
                .map_err(Err)?;
        }
        // A thread takes each part's steps in turn.
        for _ in 0..MAX_STEPS * (1 + job.thread.len()) {
            // A stopping dispatcher makes no new call: the next step is another's.
            if self.stopping.is_stopping() {
                self.hand_back(c).await;
                return Ok(());
            }
            let ctx = StepContext {
                now: self.clock.now(),
                recovering,
                known: &known,
            };
            let was_recovering = recovering;
            recovering = false;
            let visible_call = progress(&handle)?.visible_call;
            // A call that may make the post visible takes one of the account's posts left (the
            // one taken as the attempt began serves its first step).
            let call = match calling.take() {
                None if visible_call => Some(self.take_post(c, platform).await?),
                taken => taken,
            };
            let (step, headroom) =
                herald_platforms::watched(self.guarded(c, visible_call, publisher.step(job, &handle, ctx)))
                    .await;
            self.heard(c, headroom, call);
            let step = step.map_err(Err)?;
            match step {
                Ok(Step::Continue(next)) => {
                    let live = progress(&next)?.visible_call;
                    // The account's post is taken before the mark is saved: a delivery that must
                    // wait for its account's posts waits with nothing marked live.
                    if live && !visible_call {
                        calling = Some(self.take_post(c, platform).await?);
                    }
                    handle = next;
                    // The next call may make the post visible: its lease is written with the
                    // handle, so the call starts without a round trip of its own.
                    let lease = live.then(|| self.lease_until(self.budget(true)));
                    self.store
                        .save_handle(c, &handle, live, lease)
                        .await
                        .map_err(Err)?;
                }
                Ok(Step::Park(next, after)) => {
                    let live = progress(&next)?.visible_call;
                    let wait = crate::retry::recheck(c.checks, after);
                    let due = (self.clock.now() + SignedDuration::try_from(wait).unwrap_or_default())
                        .as_microsecond();
                    let t = Transition {
                        due_at: Some(due),
                        handle: Some(&next),
                        may_be_live: live,
                        check: true,
                        outcome: "processing",
                        ..Default::default()
                    };
                    self.store
                        .transition(c, DeliveryStatus::Processing, t)
                        .await
                        .map_err(Err)?;
                    return Ok(());
                }
                Ok(Step::Published(p)) => {
                    self.published(c, &p, None).await.map_err(Err)?;
                    self.measured(c, platform, since);
                    return Ok(());
                }
                Ok(Step::PublishedWithNote(p, note)) => {
                    self.published(c, &p, Some(&note)).await.map_err(Err)?;
                    self.measured(c, platform, since);
                    return Ok(());
                }
                Ok(Step::Ambiguous(found)) => {
                    let ids: Vec<&str> = found.iter().map(|p| p.id.as_str()).collect();
                    return Err(Ok(Stop::Unconfirmed(
                        format!(
                            "An earlier attempt's answer was lost, and {} posts on {} match this one ({}); Herald cannot tell which is this post. Choose it, or publish again.",
                            found.len(),
                            platform.display_name(),
                            ids.join(", ")
                        ),
                        found,
                    )));
                }
                Err(e) => {
                    let state = Started {
                        visible_call,
                        by_earlier_claim: was_recovering,
                        partly_live: progress(&handle)?.partly_live,
                        since,
                    };
                    let stop = self.classify(c, publisher, &e, state);
                    // The app's allowance, not this account's: every process holds the login. The
                    // delivery's own stop stands even when the hold cannot be written.
                    if let (PlatformError::RateLimited { app_wide: true, .. }, Stop::Retry(until, ..)) =
                        (&e, &stop)
                        && let Err(e) = self
                            .holds
                            .hold(&self.store, job.login, *until, self.clock.now())
                            .await
                    {
                        tracing::warn!(delivery = %c.id, error = %e, "could not record the app-wide hold");
                    }
                    return Err(Ok(stop));
                }
            }
        }
        // An attempt that goes on and on ends where the retry policy's time does.
        let now = self.clock.now();
        let policy = self.settings.retry.over(publisher.retries());
        if now > since + SignedDuration::try_from(policy.max_time).unwrap_or_default() {
            let why = format!(
                "Publishing to {} was still under way when the retry policy's time ran out",
                platform.display_name()
            );
            return Err(Ok(match progress(&handle)? {
                p if p.visible_call || p.partly_live => Stop::Unconfirmed(
                    format!("{why}; the post may be on the profile: check there before publishing it again."),
                    Vec::new(),
                ),
                _ => Stop::Fail("transient", format!("{why}; nothing was published.")),
            }));
        }
        Err(Ok(Stop::Retry(
            now + SignedDuration::from_secs(1),
            CONTINUING,
            "Publishing goes on a piece at a time (a long upload); the next piece follows at once.".into(),
        )))
    }

    /// One of the account's posts left, for a call that may make the post visible (waiting, the
    /// lease kept, while the last ones are under way); with none left, the delivery waits for
    /// them without calling, as the platform would have made it wait.
    async fn take_post(
        &self,
        c: &Claimed,
        platform: herald_domain::platform::Platform,
    ) -> Result<Calling, Result<Stop, StoreError>> {
        tokio::select! {
            taken = self.allowances.take(c.profile, || self.clock.now()) => {
                taken.map_err(|until| Ok(self.waits(platform, until, account_spent(platform, until))))
            }
            lost = self.keep(c) => Err(Err(lost)),
        }
    }

    /// Takes in what the usage headers of a step's answers said of the account's allowance, and
    /// ends the posting call the step made, if it took one.
    fn heard(&self, c: &Claimed, headroom: Option<Headroom>, call: Option<Calling>) {
        let now = self.clock.now();
        match headroom {
            Some(Headroom::Calls { left, resets }) => {
                self.allowances.answered(c.profile, left, resets, now, call)
            }
            Some(Headroom::Used { percent }) => self.accounts.used(c.profile, percent, now),
            None => {}
        }
    }

    /// A delivery that waits for a platform's allowance to come back, counted in the metrics.
    fn waits(
        &self,
        platform: herald_domain::platform::Platform,
        until: jiff::Timestamp,
        why: String,
    ) -> Stop {
        crate::metrics::rate_limited(platform, until.duration_since(self.clock.now()).unsigned_abs());
        crate::metrics::retried(platform, "rate_limited");
        Stop::Retry(until, "rate_limited", why)
    }

    /// Counts a publication in the metrics: how late it went out after `since` (when it fell
    /// due, or the person said publish now) and how long since this process claimed it.
    fn measured(&self, c: &Claimed, platform: herald_domain::platform::Platform, since: jiff::Timestamp) {
        let lateness = self.clock.now().duration_since(since);
        if lateness.is_negative() {
            crate::metrics::published_early(platform);
        }
        let lateness = std::time::Duration::try_from(lateness).unwrap_or_default();
        crate::metrics::published(platform, lateness, c.claimed_at.elapsed());
    }

    /// Records the post as published, with what the person should know about it (a note rides
    /// with the delivery like an error does, so the API and the post's page show it).
    async fn published(&self, c: &Claimed, p: &Published, note: Option<&Note>) -> Result<(), StoreError> {
        tracing::info!(delivery = %c.id, platform_post_id = %p.id, "published");
        let t = Transition {
            platform_post_id: Some(&p.id),
            permalink: p.permalink.as_deref(),
            error_code: note.map(|n| n.code),
            error_message: note.map(|n| n.message.as_str()),
            outcome: "published",
            // A cached quota (where the platform has one) counts this post until the platform's
            // figure is read again.
            count_published: true,
            ..Default::default()
        };
        self.store.transition(c, DeliveryStatus::Published, t).await?;
        let entry = herald_store::NewAudit {
            workspace: Some(c.workspace),
            actor: herald_store::Actor::System,
            action: "post.published",
            target: format!("post:{}", c.post),
            client: None,
            detail: format!("delivery:{} profile:{}", c.id, c.profile),
        };
        self.store.audit_after(entry).await;
        if let Some(n) = note {
            self.notify_note(c, &n.message).await?;
        }
        Ok(())
    }

    /// The platform's live facts about the profile (Instagram's publishing quota, TikTok's
    /// creator info): `cached` (as read with the delivery) for [`rules::LIVE_FACTS_TTL`], read
    /// again after. When they cannot be read, publishing goes ahead (the platform refuses past
    /// its quota anyway).
    async fn live_facts(
        &self,
        c: &Claimed,
        profile: &herald_store::ProfileRow,
        publisher: &dyn Publisher,
        token: &SecretString,
        cached: Option<(LiveFacts, i64)>,
    ) -> Result<Option<LiveFacts>, StoreError> {
        let now = self.clock.now().as_microsecond();
        if let Some((facts, at)) = cached
            && now - at < rules::LIVE_FACTS_TTL.as_micros() as i64
        {
            return Ok(Some(facts));
        }
        let read = publisher.live_facts(profile.login, token, &profile.external_id);
        match self.guarded(c, false, read).await? {
            Ok(None) => Ok(None),
            Ok(Some(facts)) => {
                self.store.put_live_facts(c.workspace, c.profile, &facts).await?;
                Ok(Some(facts))
            }
            Err(e) => {
                tracing::warn!(profile = %c.profile, error = %e, "could not read the publishing quota");
                Ok(None)
            }
        }
    }

    /// The token to use (opened from `sealed`, as read with the delivery), unless it expired.
    async fn token(
        &self,
        c: &Claimed,
        profile: &herald_store::ProfileRow,
        sealed: Option<&[u8]>,
        live: bool,
    ) -> Result<SecretString, Result<Stop, StoreError>> {
        let token = match sealed {
            Some(blob) => Some(
                self.store
                    .open_secret(c.workspace, c.profile, SecretKind::AccessToken, blob)
                    .await
                    .map_err(Err)?,
            ),
            None => None,
        };
        let Some(token) = token else {
            return Err(Ok(Stop::Reconnect {
                reason: ReconnectReason::Expired,
                message: "No access token is stored for this profile.".into(),
                may_be_live: live,
            }));
        };
        let now = self.clock.now();
        let Some(expires_at) = profile.token_expires_at.map(herald_domain::clock::from_micros) else {
            return Ok(token);
        };
        if expires_at <= now && profile.login.renews_with_refresh_token() {
            // The token care renews it (an expired access token too, for such logins).
            crate::metrics::retried(profile.platform, "token_expired");
            return Err(Ok(Stop::Retry(
                now + SignedDuration::from_secs(30),
                "token_expired",
                "The access token is being renewed; publishing shortly.".into(),
            )));
        }
        if expires_at <= now {
            return Err(Ok(Stop::Reconnect {
                reason: ReconnectReason::Expired,
                message: "The access token expired; reconnect the profile.".into(),
                may_be_live: live,
            }));
        }
        // Renewing it ahead of expiry is the token care's work (`care.rs`), for every profile.
        Ok(token)
    }

    fn classify(&self, c: &Claimed, publisher: &dyn Publisher, e: &PlatformError, started: Started) -> Stop {
        let platform = publisher.platform();
        let publish_started = started.visible_call;
        let now = self.clock.now();
        // The next try after a transient failure, unless the policy's attempts or time ran out.
        let policy = self.settings.retry.over(publisher.retries());
        let next_try = now + SignedDuration::try_from(crate::retry::backoff(c.failures)).unwrap_or_default();
        let retry_until = (c.failures + 1 < policy.max_failures
            && next_try <= started.since + SignedDuration::try_from(policy.max_time).unwrap_or_default())
        .then_some(next_try);
        let message = e.to_string();
        let name = platform.display_name();
        // A refused token is an answer for a call of this claim; after an earlier claim's lost
        // answer, it leaves the earlier call's result unknown.
        let may_be_live = started.by_earlier_claim || started.partly_live;
        let reconnect = |reason, message: String| Stop::Reconnect {
            reason,
            message: if may_be_live {
                format!(
                    "{message} The post may already be on {name}: check there before publishing it again."
                )
            } else {
                message
            },
            may_be_live,
        };
        match e {
            PlatformError::TokenExpired => reconnect(
                ReconnectReason::Expired,
                format!("The {name} session expired; reconnect the profile."),
            ),
            PlatformError::TokenRevoked(why) => reconnect(
                ReconnectReason::RevokedOnPlatform,
                format!(
                    "{name} no longer accepts Herald's access (the app was removed, the password changed, the account needs attention, or the Page role was lost); reconnect the profile. {name} said: {why}"
                ),
            ),
            PlatformError::PermissionMissing(_) => reconnect(ReconnectReason::PermissionMissing, message),
            PlatformError::RateLimited {
                retry_after,
                until,
                app_wide,
            } => {
                let wait = retry_after
                    .and_then(|d| SignedDuration::try_from(d).ok())
                    .unwrap_or(SignedDuration::from_mins(15));
                // An instant the platform named that Herald's clock has passed (the clocks differ
                // by a second) is retried a second later, not after the default wait.
                let reset_at = match until {
                    Some(u) => (*u).max(now + SignedDuration::from_secs(1)),
                    None => now + wait,
                };
                let waited = reset_at.duration_since(now).unsigned_abs();
                crate::metrics::rate_limited(platform, waited);
                crate::metrics::retried(platform, "rate_limited");
                let message = match app_wide {
                    true => app_spent(platform, reset_at),
                    false => format!("{name} asked Herald to wait; it will retry at {reset_at}."),
                };
                Stop::Retry(reset_at, "rate_limited", message)
            }
            PlatformError::Transient { .. } if retry_until.is_some() => {
                crate::metrics::retried(platform, "transient");
                Stop::Retry(
                    retry_until.unwrap_or(now),
                    "transient",
                    format!("{message}; Herald will retry at {}.", retry_until.unwrap_or(now)),
                )
            }
            // Part of the post is out (a thread's first parts, an uploaded video) and the rest
            // cannot follow: never "nothing published".
            PlatformError::ContentRejected { message: why }
            | PlatformError::MediaUnreachable { message: why }
                if started.partly_live =>
            {
                Stop::Unconfirmed(
                    format!(
                        "Part of this post is already on {name}, and the rest could not follow ({why}); check the profile before publishing it again."
                    ),
                    Vec::new(),
                )
            }
            // A refusal of what was sent is an answer: nothing was published (a lookup never
            // refuses content, so this came from the call that would have made the post).
            PlatformError::ContentRejected { message: why } => {
                Stop::Fail(e.code(), format!("{name} refused the post: {why}"))
            }
            PlatformError::MediaUnreachable { message: why } => Stop::Fail(
                e.code(),
                format!("{name} could not fetch the post's media: {why}"),
            ),
            _ if publish_started => Stop::Unconfirmed(
                format!(
                    "Herald cannot tell whether {name} published this post ({message}); check the profile before publishing again."
                ),
                Vec::new(),
            ),
            PlatformError::Transient { .. } => Stop::Fail(
                "transient",
                format!(
                    "{name} kept failing ({message}); Herald gave up after {} attempts. Nothing was published; publish it again when {name} is back.",
                    c.failures + 1
                ),
            ),
            other => Stop::Fail(other.code(), message),
        }
    }
}

/// What a delivery held by its platform's app-wide allowance says.
fn app_spent(platform: herald_domain::platform::Platform, until: jiff::Timestamp) -> String {
    format!(
        "{} says Herald's app has used up its allowance, which every profile connected through it shares; publishing on {} resumes at {until}.",
        platform.display_name(),
        platform.display_name()
    )
}

/// What a delivery waiting for its account's allowance of posts says.
fn account_spent(platform: herald_domain::platform::Platform, until: jiff::Timestamp) -> String {
    format!(
        "{} says this account has used up the posts it allows for now; Herald publishes at {until}, when they come back, rather than be refused.",
        platform.display_name()
    )
}
