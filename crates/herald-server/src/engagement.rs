//! After publishing: each published delivery's metrics, read from the platform when asked.

use axum::extract::{Path, State};
use axum::routing::{MethodRouter, get};
use herald_domain::delivery::DeliveryStatus;
use herald_domain::platform::{Feature, Platform};
use herald_domain::profile::SecretKind;
use herald_domain::{PostId, ProfileId, WorkspaceId};
use herald_platforms::Metrics;
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;

/// Why a delivery's metrics could not be read: a stable code and words for a person.
type Unavailable = (&'static str, String);

async fn read_metrics(
    state: &AppState,
    ws: WorkspaceId,
    profile: ProfileId,
    media_id: &str,
) -> Result<Metrics, Unavailable> {
    let internal = |e: herald_store::StoreError| ("internal", ApiError::internal(&e).message);
    let p = state.store.get_profile(ws, profile).await.map_err(internal)?;
    let platform = Platform::parse(&p.platform).unwrap_or(Platform::Instagram);
    let missing = platform.missing_for(Feature::Metrics, &p.granted_scopes);
    if !missing.is_empty() {
        return Err((
            "permission_missing",
            format!(
                "Reading metrics needs {}; reconnect the profile and allow it.",
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
                "The profile is disconnected; connect it again to read metrics.".to_owned(),
            )
        })?;
    state
        .instagram
        .metrics(&token, media_id)
        .await
        .map_err(|e| (e.code(), e.to_string()))
}

pub(crate) fn metrics() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Caller, Path((ws, id)): Path<(String, String)>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            let id: PostId = id.parse().map_err(|_| ApiError::not_found("post"))?;
            let post = state
                .store
                .get_post(ws, id)
                .await
                .map_err(ApiError::missing("post"))?;
            let mut data = Vec::new();
            for d in &post.deliveries {
                let base = json!({"delivery_id": d.id, "profile_id": d.profile, "platform_post_id": d.platform_post_id});
                let result: Result<Metrics, Unavailable> = match (d.status, &d.platform_post_id) {
                    (DeliveryStatus::Published, Some(media)) => {
                        read_metrics(&state, ws, d.profile, media).await
                    }
                    _ => Err((
                        "not_published",
                        "This delivery has not been published, so it has no metrics.".to_owned(),
                    )),
                };
                let mut entry: Value = base;
                match result {
                    Ok(m) => {
                        entry["metrics"] = json!(m);
                        entry["fetched_at"] = json!(state.store.clock().now().to_string());
                    }
                    Err((code, message)) => {
                        entry["metrics"] = Value::Null;
                        entry["error"] = json!({"code": code, "message": message});
                    }
                }
                data.push(entry);
            }
            Ok::<_, ApiError>(axum::Json(json!({ "data": data })))
        },
    )
}
