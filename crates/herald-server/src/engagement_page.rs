//! A post's comments and metrics page (`/posts/{id}/engagement`): each published delivery's
//! metrics and comments, read from the platform now, with a reply form under each comment that
//! takes one; through the same code as the API's `…/comments`, `…/metrics` and `…/replies`.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{MethodRouter, get, post};
use herald_domain::PostId;
use herald_platforms::{Comment, Metrics};

use crate::AppState;
use crate::auth::Caller;
use crate::engagement::{comments_of, metrics_of, reply_to};
use crate::error::{ApiError, ApiResult};
use crate::json::FormFields;
use crate::web::{Me, error_page, render, sentence, signed_in};

struct Shown {
    handle: String,
    platform: &'static str,
    metrics: Vec<(&'static str, u64)>,
    metrics_error: Option<String>,
    comments: Vec<Comment>,
    comments_error: Option<String>,
}

#[derive(Template)]
#[template(path = "engagement.html")]
struct Engagement {
    email: String,
    id: String,
    deliveries: Vec<Shown>,
    notice: Option<String>,
    error: Option<String>,
}

fn figures(m: &Metrics) -> Vec<(&'static str, u64)> {
    [
        ("Views", m.views),
        ("Reach", m.reach),
        ("Likes", m.likes),
        ("Comments", m.comments),
        ("Shares", m.shares),
        ("Saves", m.saves),
        ("Clicks", m.clicks),
        ("Link clicks", m.link_clicks),
        ("Profile visits", m.profile_clicks),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.map(|v| (k, v)))
    .collect()
}

async fn view(state: &AppState, me: &Me, id: &str) -> ApiResult<Engagement> {
    let id: PostId = id.parse().map_err(|_| ApiError::not_found("post"))?;
    let post = state
        .store
        .get_post(me.ws, id)
        .await
        .map_err(ApiError::missing("post"))?;
    let profiles = state.store.list_profiles(me.ws).await?;
    let metrics = metrics_of(state, me.ws, &post).await;
    let mut comments = comments_of(state, me.ws, &post).await;
    let deliveries = metrics
        .into_iter()
        .zip(comments.drain(..))
        .map(|((d, m), (_, c))| {
            let profile = profiles.iter().find(|p| p.id == d.profile);
            let (metrics, metrics_error) = match m {
                Ok(m) => (figures(&m), None),
                Err((_, why)) => (Vec::new(), Some(why)),
            };
            let (comments, comments_error) = match c {
                Ok(c) => (c, None),
                Err((_, why)) => (Vec::new(), Some(why)),
            };
            Shown {
                handle: profile.map_or_else(
                    || "a disconnected profile".to_owned(),
                    |p| format!("@{}", p.handle),
                ),
                platform: profile.map_or("", |p| p.platform.display_name()),
                metrics,
                metrics_error,
                comments,
                comments_error,
            }
        })
        .collect();
    Ok(Engagement {
        email: me.email.clone(),
        id: post.id.to_string(),
        deliveries,
        notice: None,
        error: None,
    })
}

async fn show(
    state: &AppState,
    me: &Me,
    id: &str,
    notice: Option<String>,
    error: Option<ApiError>,
) -> Response {
    match view(state, me, id).await {
        Ok(mut page) => {
            page.notice = notice;
            page.error = error.as_ref().map(sentence);
            render(error.map_or(StatusCode::OK, |e| e.status), &page)
        }
        Err(e) => error_page(&e),
    }
}

/// `GET /posts/{id}/engagement`.
pub(crate) fn page() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>, Path(id): Path<String>| async move {
            match signed_in(&state, caller, &format!("/posts/{id}/engagement")).await {
                Ok(me) => show(&state, &me, &id, None, None).await,
                Err(page) => page,
            }
        },
    )
}

/// `POST /posts/{id}/comments/{comment}/reply` (`text`): the reply goes out as the profile.
pub(crate) fn reply() -> MethodRouter<AppState> {
    post(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         Path((id, comment)): Path<(String, String)>,
         FormFields(f): FormFields| async move {
            let me = match signed_in(&state, caller, &format!("/posts/{id}/engagement")).await {
                Ok(me) => me,
                Err(page) => return page,
            };
            let text = f.get("text").cloned().unwrap_or_default();
            let post = match id.parse::<PostId>() {
                Ok(p) => state
                    .store
                    .get_post(me.ws, p)
                    .await
                    .map_err(ApiError::missing("post")),
                Err(_) => Err(ApiError::not_found("post")),
            };
            let done = match post {
                Ok(post) => reply_to(&state, me.ws, &post, &comment, &text).await,
                Err(e) => Err(e),
            };
            match done {
                Ok(_) => show(&state, &me, &id, Some("Your reply is posted.".to_owned()), None).await,
                Err(e) if e.status == StatusCode::NOT_FOUND => error_page(&e),
                Err(e) => show(&state, &me, &id, None, Some(e)).await,
            }
        },
    )
}
