//! The workspace's settings page (`/workspace/settings`, admins and owners): how late a post may
//! still go out by itself, whether editors' posts wait for an approval, and whether every member
//! signs in with a second factor; saved through the same
//! function as the API's `PATCH …/settings`, each change audited.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{MethodRouter, get};

use crate::AppState;
use crate::auth::Caller;
use crate::client::ClientAddr;
use crate::deliveries::{MAX_CATCH_UP_MINUTES, SettingsPatch, change_settings};
use crate::error::{ApiError, ApiResult};
use crate::json::FormFields;
use crate::web::{Me, error_page, render, see_other, sentence, signed_in};

#[derive(Template, Default)]
#[template(path = "workspace_settings.html")]
struct SettingsPage {
    email: String,
    workspace: String,
    /// As stored, or as typed when it was refused.
    catch_up_minutes: String,
    require_approval: bool,
    require_two_factor: bool,
    max: i64,
    catch_up_error: Option<String>,
    notice: Option<String>,
}

/// The page for `me`'s current workspace, with the stored values.
async fn stored(state: &AppState, me: &Me) -> ApiResult<SettingsPage> {
    Ok(SettingsPage {
        email: me.email.clone(),
        workspace: me.workspace.clone(),
        catch_up_minutes: state.store.catch_up_minutes(me.ws).await?.to_string(),
        require_approval: state.store.require_approval(me.ws).await?,
        require_two_factor: state.store.require_two_factor(me.ws).await?,
        max: MAX_CATCH_UP_MINUTES,
        ..SettingsPage::default()
    })
}

/// What the form changes: only the values that differ from the stored ones, so an unchanged
/// setting is not audited as changed. A catch-up window that is not a whole number of minutes
/// from 0 to a week is refused (422), in words for the page.
fn patch_of(f: &HashMap<String, String>, now: &SettingsPage) -> ApiResult<SettingsPatch> {
    let typed = f.get("catch_up_minutes").map_or("", |v| v.trim());
    let minutes = typed
        .parse::<i64>()
        .ok()
        .filter(|m| (0..=MAX_CATCH_UP_MINUTES).contains(m))
        .ok_or_else(|| {
            ApiError::unprocessable(
                "invalid_catch_up_minutes",
                format!("the catch-up window must be a whole number of minutes, from 0 to {MAX_CATCH_UP_MINUTES} (a week)"),
            )
        })?;
    let require = f.contains_key("require_approval");
    let two_factor = f.contains_key("require_two_factor");
    Ok(SettingsPatch {
        catch_up_minutes: (minutes.to_string() != now.catch_up_minutes).then_some(minutes),
        require_approval: (require != now.require_approval).then_some(require),
        require_two_factor: (two_factor != now.require_two_factor).then_some(two_factor),
    })
}

/// `GET /workspace/settings` shows the current workspace's settings (`?saved` says they were
/// saved); `POST` (`catch_up_minutes`, `require_approval`) saves them and comes back, or shows the
/// form again with the refusal beside its field.
pub(crate) fn page() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         Query(q): Query<HashMap<String, String>>| async move {
            let me = match signed_in(&state, caller, "/workspace/settings").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            match stored(&state, &me).await {
                Ok(mut page) => {
                    page.notice = q.contains_key("saved").then(|| "Saved.".to_owned());
                    render(StatusCode::OK, &page)
                }
                Err(e) => error_page(&e),
            }
        },
    )
    .post(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         addr: ClientAddr,
         FormFields(f): FormFields| async move {
            let me = match signed_in(&state, caller, "/workspace/settings").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            save(&state, &me, addr, &f).await
        },
    )
}

async fn save(state: &AppState, me: &Me, addr: ClientAddr, f: &HashMap<String, String>) -> Response {
    let mut page = match stored(state, me).await {
        Ok(page) => page,
        Err(e) => return error_page(&e),
    };
    let done = match patch_of(f, &page) {
        Ok(patch) => change_settings(state, &me.caller, addr, me.ws, &patch).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(()) => see_other("/workspace/settings?saved", None),
        Err(e) if e.code == crate::two_factor::REAUTHENTICATION_REQUIRED => {
            crate::two_factor_page::to_reauth("/workspace/settings")
        }
        Err(e) if e.code == "invalid_catch_up_minutes" => {
            page.catch_up_minutes = f.get("catch_up_minutes").cloned().unwrap_or_default();
            page.require_approval = f.contains_key("require_approval");
            page.require_two_factor = f.contains_key("require_two_factor");
            page.catch_up_error = Some(sentence(&e));
            render(e.status, &page)
        }
        Err(e) => error_page(&e),
    }
}
