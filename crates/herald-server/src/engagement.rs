//! After publishing: each published delivery's comments and metrics, read from the platform when asked,
//! and replies written as the profile.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{MethodRouter, get, post};
use herald_domain::delivery::DeliveryStatus;
use herald_domain::platform::Feature;
use herald_domain::profile::SecretKind;
use herald_domain::{PostId, ProfileId, WorkspaceId};
use herald_platforms::PlatformError;
use herald_store::PostRow;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::Body;

/// Why a delivery's metrics could not be read: a stable code and words for a person.
type Unavailable = (&'static str, String);

/// The access token for a feature on a profile, or why it cannot be used.
async fn token_for(
    state: &AppState,
    ws: WorkspaceId,
    profile: ProfileId,
    feature: Feature,
) -> Result<SecretString, Unavailable> {
    let internal = |e: herald_store::StoreError| ("internal", ApiError::internal(&e).message);
    let p = state.store.get_profile(ws, profile).await.map_err(internal)?;
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
    state
        .store
        .get_secret(ws, profile, SecretKind::AccessToken)
        .await
        .map_err(internal)?
        .ok_or_else(|| {
            (
                "needs_reconnect",
                "The profile is disconnected; connect it again.".to_owned(),
            )
        })
}

/// Runs `read` for every published delivery of the post; others get `not_published`.
async fn per_delivery<T: serde::Serialize, F, Fut>(
    state: &AppState,
    ws: WorkspaceId,
    post: &PostRow,
    key: &str,
    feature: Feature,
    read: F,
) -> Vec<Value>
where
    F: Fn(SecretString, String) -> Fut,
    Fut: std::future::Future<Output = Result<T, PlatformError>>,
{
    let mut data = Vec::new();
    for d in &post.deliveries {
        let mut entry =
            json!({"delivery_id": d.id, "profile_id": d.profile, "platform_post_id": d.platform_post_id});
        let result: Result<T, Unavailable> = match (d.status, &d.platform_post_id) {
            (DeliveryStatus::Published, Some(media)) => {
                match token_for(state, ws, d.profile, feature).await {
                    Ok(token) => read(token, media.clone())
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
        data.push(entry);
    }
    data
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
            let ig = &state.instagram;
            let data = per_delivery(
                &state,
                ws,
                &post,
                "metrics",
                Feature::Metrics,
                |t, m| async move { ig.metrics(&t, &m).await },
            )
            .await;
            Ok::<_, ApiError>(axum::Json(json!({ "data": data })))
        },
    )
}

pub(crate) fn comments() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Caller, Path((ws, id)): Path<(String, String)>| async move {
            let (ws, post) = load_post(&state, &caller, &ws, &id).await?;
            let ig = &state.instagram;
            let data = per_delivery(
                &state,
                ws,
                &post,
                "comments",
                Feature::Comments,
                |t, m| async move { ig.comments(&t, &m).await },
            )
            .await;
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
            let text = r.text.trim();
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
                let token = token_for(&state, ws, d.profile, Feature::Comments)
                    .await
                    .map_err(|(code, m)| ApiError::unprocessable(code, m))?;
                let comments = state
                    .instagram
                    .comments(&token, media)
                    .await
                    .map_err(platform_error)?;
                if comments.iter().flat_map(|c| &c.replies).any(|c| c.id == comment) {
                    return Err(ApiError::unprocessable(
                        "not_top_level",
                        "Instagram takes replies only to top-level comments; reply to the comment this one answers.",
                    ));
                }
                let Some(target) = comments.iter().find(|c| c.id == comment) else {
                    continue;
                };
                if target.hidden {
                    return Err(ApiError::unprocessable(
                        "comment_hidden",
                        "Instagram does not allow replies to hidden comments; unhide it first.",
                    ));
                }
                let reply_id = state
                    .instagram
                    .reply(&token, &comment, text)
                    .await
                    .map_err(platform_error)?;
                let body = json!({"id": reply_id, "text": text, "in_reply_to": comment, "profile_id": d.profile, "delivery_id": d.id});
                return Ok((StatusCode::CREATED, axum::Json(body)));
            }
            Err(ApiError::not_found("comment"))
        },
    )
}

/// A platform refusal, as the API reports it.
fn platform_error(e: PlatformError) -> ApiError {
    ApiError::new(
        StatusCode::BAD_GATEWAY,
        e.code(),
        format!("Instagram refused: {e}"),
    )
}
