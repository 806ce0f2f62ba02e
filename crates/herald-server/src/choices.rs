//! The choices an option reads live from the platform (a profile's boards and their sections, the
//! organizations it administers, the privacy levels it may use), for the composer to offer.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{MethodRouter, get};
use herald_domain::platform::Feature;
use herald_domain::rules::{self, OptionType};
use herald_domain::{ProfileId, WorkspaceId};
use herald_platforms::{Choice, PlatformError};
use herald_store::ProfileRow;
use serde_json::json;

use crate::AppState;
use crate::auth::Caller;
use crate::engagement::token_for;
use crate::error::ApiError;

/// How long the composer reuses a list it read (the API always reads it again).
const FRESH_FOR: Duration = Duration::from_secs(120);
/// The most lists a process keeps.
const MAX_LISTS: usize = 1_000;

/// The lists the composer read lately, per profile: a page re-rendered as the person types does
/// not ask the platform again (its rate limits count every call).
#[derive(Clone, Default)]
pub struct ChoiceCache(Arc<Mutex<HashMap<(ProfileId, String), Read>>>);

/// A list, and when it was read.
type Read = (Instant, Vec<Choice>);

impl ChoiceCache {
    fn get(&self, key: &(ProfileId, String)) -> Option<Vec<Choice>> {
        let map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        map.get(key)
            .filter(|(at, _)| at.elapsed() < FRESH_FOR)
            .map(|(_, c)| c.clone())
    }

    fn put(&self, key: (ProfileId, String), choices: Vec<Choice>) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() >= MAX_LISTS {
            map.retain(|_, (at, _)| at.elapsed() < FRESH_FOR);
        }
        if map.len() < MAX_LISTS {
            map.insert(key, (Instant::now(), choices));
        }
    }
}

/// The choices the platform lists now for the profile `p` under `list`, which one of its
/// platform's options must name; `cached` lets a recent read stand.
pub(crate) async fn live(
    state: &AppState,
    ws: WorkspaceId,
    p: &ProfileRow,
    list: &str,
    cached: bool,
) -> Result<Vec<Choice>, ApiError> {
    let key = (p.id, list.to_owned());
    if cached && let Some(c) = state.choices.get(&key) {
        return Ok(c);
    }
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
    let (engage, name, token) = token_for(state, ws, p.id, Feature::Publish)
        .await
        .map_err(|(code, m)| {
            // The profile needs the person (reconnect, a permission, a backend) unless the store
            // failed (its message carries the request id) or the platform has no adapter.
            let status = match code {
                "internal" => StatusCode::INTERNAL_SERVER_ERROR,
                "unsupported_platform" | "unsupported" => StatusCode::UNPROCESSABLE_ENTITY,
                _ => StatusCode::CONFLICT,
            };
            ApiError::new(status, code, m)
        })?;
    let choices = engage.choices(&token, list).await.map_err(|e| match e {
        PlatformError::Unsupported(why) => ApiError::unprocessable("unsupported", why),
        e => ApiError::new(
            StatusCode::BAD_GATEWAY,
            e.code(),
            format!("{name} did not list the {list}: {e}"),
        ),
    })?;
    state.choices.put(key, choices.clone());
    Ok(choices)
}

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
            let choices = live(&state, ws, &p, &list, false).await?;
            Ok::<_, ApiError>(axum::Json(json!({ "data": choices })))
        },
    )
}
