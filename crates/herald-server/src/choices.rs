//! The choices an option reads live from the platform (a profile's boards and their sections, the
//! organizations it administers, the privacy levels it may use), for the composer to offer.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{MethodRouter, get};
use herald_domain::ProfileId;
use herald_domain::platform::Feature;
use herald_domain::rules::{self, OptionType};
use herald_platforms::PlatformError;
use serde_json::json;

use crate::AppState;
use crate::auth::Caller;
use crate::engagement::token_for;
use crate::error::ApiError;

/// `GET /profiles/{id}/choices/{list}`: the choices the platform lists now under `list`, which one
/// of the platform's options names.
pub(crate) fn list() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>,
         caller: Caller,
         Path((ws, id, list)): Path<(String, String, String)>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            let id: ProfileId = id.parse().map_err(|_| ApiError::not_found("profile"))?;
            let p = state
                .store
                .get_profile(ws, id)
                .await
                .map_err(ApiError::missing("profile"))?;
            let declared = rules::limits(p.platform)
                .options
                .iter()
                .any(|o| matches!(o.ty, OptionType::Choice { list: l } if l == list));
            if !declared {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "not_found",
                    format!(
                        "{} has no option whose choices are `{list}`",
                        p.platform.display_name()
                    ),
                ));
            }
            let (engage, name, token) =
                token_for(&state, ws, id, Feature::Publish)
                    .await
                    .map_err(|(code, m)| {
                        // The profile needs the person (reconnect, a permission, a backend) unless the
                        // store failed (its message carries the request id) or the platform has no adapter.
                        let status = match code {
                            "internal" => StatusCode::INTERNAL_SERVER_ERROR,
                            "unsupported_platform" | "unsupported" => StatusCode::UNPROCESSABLE_ENTITY,
                            _ => StatusCode::CONFLICT,
                        };
                        ApiError::new(status, code, m)
                    })?;
            let choices = engage.choices(&token, &list).await.map_err(|e| match e {
                PlatformError::Unsupported(why) => ApiError::unprocessable("unsupported", why),
                e => ApiError::new(
                    StatusCode::BAD_GATEWAY,
                    e.code(),
                    format!("{name} did not list the {list}: {e}"),
                ),
            })?;
            Ok::<_, ApiError>(axum::Json(json!({ "data": choices })))
        },
    )
}
