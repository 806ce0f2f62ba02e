//! After publishing: each published delivery's comments and metrics, read from the platform when asked,
//! and replies written as the profile.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{MethodRouter, get, post};
use herald_domain::delivery::DeliveryStatus;
use std::sync::Arc;

use herald_domain::platform::{Feature, Login};
use herald_domain::profile::SecretKind;
use herald_domain::rules::LiveFacts;
use herald_domain::{PostId, ProfileId, WorkspaceId};
use herald_platforms::{Choice, Comment, Metrics, PlatformError, Publisher};
use herald_store::{DeliveryRow, PostRow};
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::json::Body;

/// Why a delivery's metrics could not be read: a stable code and words for a person.
pub(crate) type Unavailable = (&'static str, String);

/// The adapter that reads and writes a profile's engagement, and the login that reaches it.
pub(crate) struct Engage {
    publisher: Arc<dyn Publisher>,
    login: Login,
    /// The platform's id for the profile's account.
    account: String,
}

impl Engage {
    /// The choices the platform lists for the account under `list`.
    pub(crate) async fn choices(
        &self,
        token: &SecretString,
        list: &str,
    ) -> Result<Vec<Choice>, PlatformError> {
        self.publisher
            .choices(self.login, token, &self.account, list)
            .await
    }

    async fn comments(&self, token: &SecretString, id: &str) -> Result<Vec<Comment>, PlatformError> {
        self.publisher
            .comments(self.login, token, &self.account, id)
            .await
    }

    async fn metrics(
        &self,
        token: &SecretString,
        id: &str,
        now: jiff::Timestamp,
    ) -> Result<Metrics, PlatformError> {
        self.publisher
            .metrics(self.login, token, &self.account, id, now)
            .await
    }

    async fn live_facts(&self, token: &SecretString) -> Result<Option<LiveFacts>, PlatformError> {
        self.publisher.live_facts(self.login, token, &self.account).await
    }

    async fn reply(
        &self,
        token: &SecretString,
        post: &str,
        comment: &str,
        text: &str,
    ) -> Result<String, PlatformError> {
        self.publisher
            .reply(self.login, token, &self.account, post, comment, text)
            .await
    }
}

/// The adapter and access token for a feature on a profile, or why they cannot be used.
pub(crate) async fn token_for(
    state: &AppState,
    ws: WorkspaceId,
    profile: ProfileId,
    feature: Feature,
) -> Result<(Engage, String, SecretString), Unavailable> {
    let internal = |e: herald_store::StoreError| ("internal", ApiError::internal(&e).message);
    let p = state.store.get_profile(ws, profile).await.map_err(internal)?;
    let publisher = state.platforms.publisher(p.platform).map_err(|_| {
        (
            "unsupported_platform",
            format!(
                "Herald does not read comments or metrics from {} yet.",
                p.platform.display_name()
            ),
        )
    })?;
    let available = match feature {
        Feature::Comments => publisher.comments_available(),
        Feature::Metrics => publisher.metrics_available(),
        Feature::Publish => Ok(()),
    };
    if let Err(why) = available {
        return Err(("unsupported", format!("{}: {why}", p.platform.display_name())));
    }
    // Comments through the login the profile added for them, where its own has none.
    if let Some(login) = p
        .platform
        .conversations()
        .filter(|_| feature == Feature::Comments)
    {
        if let Some(reason) = state.config.backends.mismatch(p.login, p.sandbox) {
            return Err((reason.as_str(), reason.explain().to_owned()));
        }
        let (account, token) = crate::conversations::token(state, &p, login).await?;
        let engage = Engage {
            publisher,
            login,
            account,
        };
        return Ok((engage, p.platform.display_name().to_owned(), token));
    }
    let engage = Engage {
        publisher,
        login: p.login,
        account: p.external_id.clone(),
    };
    if let Some(reason) = state.config.backends.mismatch(p.login, p.sandbox) {
        return Err((reason.as_str(), reason.explain().to_owned()));
    }
    let missing = p.missing_for(feature);
    if !missing.is_empty() {
        return Err((
            "permission_missing",
            format!(
                "This needs {}; reconnect the profile and allow it.",
                missing.join(", ")
            ),
        ));
    }
    let token = state
        .store
        .get_secret(ws, profile, SecretKind::AccessToken)
        .await
        .map_err(internal)?
        .ok_or_else(|| {
            (
                "needs_reconnect",
                "The profile is disconnected; connect it again.".to_owned(),
            )
        })?;
    Ok((engage, p.platform.display_name().to_owned(), token))
}

/// Reads and keeps what only the platform knows about a profile's account where it decides what
/// a post may be (what TikTok's account allows), so the rules hold a post to it from scheduling
/// on. A failure leaves what was known; publishing reads them again anyway.
pub(crate) async fn remember_live_facts(state: &AppState, ws: WorkspaceId, profile: ProfileId) {
    let Ok((engage, _, token)) = token_for(state, ws, profile, Feature::Publish).await else {
        return;
    };
    if !engage.publisher.live_facts_shape_posts() {
        return;
    }
    match engage.live_facts(&token).await {
        Ok(Some(facts)) => {
            if let Err(e) = state.store.put_live_facts(ws, profile, &facts).await {
                tracing::warn!(%profile, error = %e, "keeping the account's live facts failed");
            }
        }
        Ok(None) => {}
        Err(e) => tracing::warn!(%profile, error = %e, "reading the account's live facts failed"),
    }
}

/// The live facts the rules hold a post to at scheduling: the cached ones, read again first where
/// they decide what a post may be and are older than [`rules::LIVE_FACTS_TTL`].
pub(crate) async fn live_facts_for_rules(
    state: &AppState,
    ws: WorkspaceId,
    profile: &herald_store::ProfileRow,
) -> Result<Option<LiveFacts>, herald_store::StoreError> {
    let cached = state.store.live_facts(ws, profile.id).await?;
    let now = state.store.clock().now().as_microsecond();
    let stale = cached
        .as_ref()
        .is_none_or(|(_, at)| now - at >= herald_domain::rules::LIVE_FACTS_TTL.as_micros() as i64);
    let shaping = state
        .platforms
        .publisher(profile.platform)
        .is_ok_and(|p| p.live_facts_shape_posts());
    if !(stale && shaping) {
        return Ok(cached.map(|(facts, _)| facts));
    }
    remember_live_facts(state, ws, profile.id).await;
    Ok(state
        .store
        .live_facts(ws, profile.id)
        .await?
        .map(|(facts, _)| facts))
}

/// Runs `read` for every published delivery of the post; others get `not_published`.
pub(crate) async fn per_delivery<'p, T, F, Fut>(
    state: &AppState,
    ws: WorkspaceId,
    post: &'p PostRow,
    feature: Feature,
    read: F,
) -> Vec<(&'p DeliveryRow, Result<T, Unavailable>)>
where
    F: Fn(Engage, SecretString, String) -> Fut,
    Fut: std::future::Future<Output = Result<T, PlatformError>>,
{
    let mut out = Vec::new();
    for d in &post.deliveries {
        let result = match (d.status, &d.platform_post_id) {
            (DeliveryStatus::Published, Some(media)) => {
                match token_for(state, ws, d.profile, feature).await {
                    Ok((engage, _, token)) => read(engage, token, media.clone())
                        .await
                        .map_err(|e| (e.code(), e.to_string())),
                    Err(u) => Err(u),
                }
            }
            _ => Err((
                "not_published",
                "This delivery has not been published yet.".to_owned(),
            )),
        };
        out.push((d, result));
    }
    out
}

/// The API's answer for `per_delivery`'s results: each under `key`, or its error.
fn entries<T: serde::Serialize>(
    state: &AppState,
    key: &str,
    results: Vec<(&DeliveryRow, Result<T, Unavailable>)>,
) -> Vec<Value> {
    results
        .into_iter()
        .map(|(d, result)| {
            let mut entry =
                json!({"delivery_id": d.id, "profile_id": d.profile, "platform_post_id": d.platform_post_id});
            match result {
                Ok(v) => {
                    entry[key] = json!(v);
                    entry["fetched_at"] = json!(state.store.clock().now().to_string());
                }
                Err((code, message)) => {
                    entry[key] = Value::Null;
                    entry["error"] = json!({"code": code, "message": message});
                }
            }
            entry
        })
        .collect()
}

/// Reads the metrics of each delivery of the post.
pub(crate) async fn metrics_of<'p>(
    state: &AppState,
    ws: WorkspaceId,
    post: &'p PostRow,
) -> Vec<(&'p DeliveryRow, Result<Metrics, Unavailable>)> {
    let now = state.store.clock().now();
    per_delivery(state, ws, post, Feature::Metrics, |e, t, m| async move {
        e.metrics(&t, &m, now).await
    })
    .await
}

/// Reads the comments of each delivery of the post.
pub(crate) async fn comments_of<'p>(
    state: &AppState,
    ws: WorkspaceId,
    post: &'p PostRow,
) -> Vec<(&'p DeliveryRow, Result<Vec<Comment>, Unavailable>)> {
    per_delivery(state, ws, post, Feature::Comments, |e, t, m| async move {
        e.comments(&t, &m).await
    })
    .await
}

async fn load_post(
    state: &AppState,
    caller: &Caller,
    ws: &str,
    id: &str,
) -> Result<(WorkspaceId, PostRow), ApiError> {
    let ws = caller.workspace(state, ws).await?;
    let id: PostId = id.parse().map_err(|_| ApiError::not_found("post"))?;
    Ok((
        ws,
        state
            .store
            .get_post(ws, id)
            .await
            .map_err(ApiError::missing("post"))?,
    ))
}

pub(crate) fn metrics() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Caller, Path((ws, id)): Path<(String, String)>| async move {
            let (ws, post) = load_post(&state, &caller, &ws, &id).await?;
            let data = entries(&state, "metrics", metrics_of(&state, ws, &post).await);
            Ok::<_, ApiError>(axum::Json(json!({ "data": data })))
        },
    )
}

pub(crate) fn comments() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Caller, Path((ws, id)): Path<(String, String)>| async move {
            let (ws, post) = load_post(&state, &caller, &ws, &id).await?;
            let data = entries(&state, "comments", comments_of(&state, ws, &post).await);
            Ok::<_, ApiError>(axum::Json(json!({ "data": data })))
        },
    )
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Reply {
    text: String,
}

/// Replies to a top-level, visible comment on one of the post's published deliveries, as its profile.
pub(crate) fn reply() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>,
         caller: Caller,
         Path((ws, id, comment)): Path<(String, String, String)>,
         Body(r): Body<Reply>| async move {
            let (ws, post) = load_post(&state, &caller, &ws, &id).await?;
            let body = reply_to(&state, ws, &post, &comment, &r.text).await?;
            Ok::<_, ApiError>((StatusCode::CREATED, axum::Json(body)))
        },
    )
}

/// Replies to a top-level, visible comment on one of the post's published deliveries, as its
/// profile (the API's route and the post's comments page).
pub(crate) async fn reply_to(
    state: &AppState,
    ws: WorkspaceId,
    post: &PostRow,
    comment: &str,
    text: &str,
) -> ApiResult<Value> {
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 2200 {
        return Err(ApiError::unprocessable(
            "invalid_text",
            "`text` must be 1 to 2,200 characters",
        ));
    }
    for d in post
        .deliveries
        .iter()
        .filter(|d| d.status == DeliveryStatus::Published)
    {
        let Some(media) = &d.platform_post_id else {
            continue;
        };
        let (engage, name, token) = token_for(state, ws, d.profile, Feature::Comments)
            .await
            .map_err(|(code, m)| ApiError::unprocessable(code, m))?;
        let refused = |e| platform_error(&name, e);
        let comments = engage.comments(&token, media).await.map_err(refused)?;
        if comments.iter().flat_map(|c| &c.replies).any(|c| c.id == *comment) {
            return Err(ApiError::unprocessable(
                "not_top_level",
                format!(
                    "{name} takes replies only to top-level comments; reply to the comment this one answers."
                ),
            ));
        }
        let Some(target) = comments.iter().find(|c| c.id == *comment) else {
            continue;
        };
        if target.hidden {
            return Err(ApiError::unprocessable(
                "comment_hidden",
                format!("{name} does not allow replies to hidden comments; unhide it first."),
            ));
        }
        let reply_id = engage
            .reply(&token, media, comment, text)
            .await
            .map_err(refused)?;
        let body = json!({"id": reply_id, "text": text, "in_reply_to": comment, "profile_id": d.profile, "delivery_id": d.id});
        return Ok(body);
    }
    Err(ApiError::not_found("comment"))
}

/// A platform refusal, as the API reports it: content it refuses (a reply too long for it) is
/// the request's to fix.
fn platform_error(platform: &str, e: PlatformError) -> ApiError {
    let status = match e {
        PlatformError::ContentRejected { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::BAD_GATEWAY,
    };
    ApiError::new(status, e.code(), format!("{platform} refused: {e}"))
}
