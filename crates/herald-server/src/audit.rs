//! The audit log as people meet it: appending what a request did (never failing the request
//! for it), and reading entries with filters, through the API and on a page: a workspace's
//! (admins and owners) and the instance's (its administrator), as the route table declares.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{MethodRouter, get};
use herald_domain::{UserId, WorkspaceId};
use herald_store::{Actor, AuditFilter, AuditRow, NewAudit};
use serde_json::{Value, json};

use crate::AppState;
use crate::auth::Caller;
use crate::client::ClientAddr;
use crate::error::{ApiError, ApiResult};
use crate::json::rfc3339;
use crate::web::{error_page, render, sentence, signed_in};

/// The most entries one page or one call lists.
const MAX_LIMIT: i64 = 500;

/// Records an entry for what a request did ([`herald_store::Store::audit_after`]: a failure to
/// record it is logged and does not turn the person's success into an error).
pub(crate) async fn record(
    state: &AppState,
    workspace: Option<WorkspaceId>,
    actor: Actor,
    action: &str,
    target: String,
    client: Option<ClientAddr>,
    detail: &str,
) {
    let entry = NewAudit {
        workspace,
        actor,
        action,
        target,
        client: client.map(|c| c.0.to_string()),
        detail: detail.to_owned(),
    };
    state.store.audit_after(entry).await;
}

/// What the caller is, as the audit log names them.
pub(crate) fn actor(caller: &Caller) -> Actor {
    match caller.token {
        Some(token) => Actor::Token {
            token,
            user: caller.user,
        },
        None => Actor::User(caller.user),
    }
}

/// The filters of the API's query and the page's form alike: `action` (a prefix such as
/// `profile.`), `actor` (as listed, e.g. `user:…`), `since` and `until` (RFC 3339), `before`
/// (the last `seq` of the previous page) and `limit`.
fn filter(q: &HashMap<String, String>) -> ApiResult<AuditFilter> {
    let given = |k: &str| q.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());
    let instant = |k: &str| -> ApiResult<Option<i64>> {
        given(k)
            .map(|v| {
                v.parse::<jiff::Timestamp>()
                    .map(|t| t.as_microsecond())
                    .map_err(|_| {
                        ApiError::bad_request(format!("`{k}` must be an instant like 2026-12-01T09:00:00Z"))
                            .with("field", k.into())
                    })
            })
            .transpose()
    };
    let number = |k: &str, range: std::ops::RangeInclusive<i64>| -> ApiResult<Option<i64>> {
        given(k)
            .map(|v| {
                v.parse::<i64>()
                    .ok()
                    .filter(|n| range.contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "`{k}` must be a whole number from {} to {}",
                            range.start(),
                            range.end()
                        ))
                        .with("field", k.into())
                    })
            })
            .transpose()
    };
    Ok(AuditFilter {
        action_prefix: given("action").map(str::to_owned),
        actor: given("actor").map(str::to_owned),
        since: instant("since")?,
        until: instant("until")?,
        before_seq: number("before", 1..=i64::MAX)?,
        limit: number("limit", 1..=MAX_LIMIT)?.unwrap_or(100),
    })
}

fn to_json(e: &AuditRow) -> Value {
    json!({
        "id": e.id, "seq": e.seq, "at": rfc3339(e.at), "actor": e.actor, "action": e.action,
        "target": e.target, "client": e.client, "detail": e.detail,
    })
}

/// The entries of a chain a filter selects, and the `seq` the next page starts before.
async fn listed(
    state: &AppState,
    ws: Option<WorkspaceId>,
    f: &AuditFilter,
) -> ApiResult<(Vec<AuditRow>, Option<i64>)> {
    let rows = match ws {
        Some(ws) => state.store.audit_entries(ws, f).await?,
        None => state.store.audit_instance_entries(f).await?,
    };
    let next = (rows.len() as i64 == f.limit)
        .then(|| rows.last().map(|r| r.seq))
        .flatten();
    Ok((rows, next))
}

fn answer(rows: &[AuditRow], next: Option<i64>) -> axum::Json<Value> {
    let data: Vec<Value> = rows.iter().map(to_json).collect();
    axum::Json(json!({ "data": data, "next_before": next }))
}

/// `GET /workspaces/{ws}/audit`: the workspace's entries, newest first, filtered and paged.
pub(crate) fn list() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>,
         caller: Caller,
         Path(ws): Path<String>,
         Query(q): Query<HashMap<String, String>>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            let (rows, next) = listed(&state, Some(ws), &filter(&q)?).await?;
            Ok::<_, ApiError>(answer(&rows, next))
        },
    )
}

/// `GET /instance/audit`: the instance's entries (accounts, sign-ins, keys), newest first,
/// filtered and paged.
pub(crate) fn instance_list() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, _: Caller, Query(q): Query<HashMap<String, String>>| async move {
            let (rows, next) = listed(&state, None, &filter(&q)?).await?;
            Ok::<_, ApiError>(answer(&rows, next))
        },
    )
}

/// One entry as the page shows it.
struct Line {
    when: String,
    who: String,
    action: String,
    target: String,
    client: String,
    detail: String,
}

#[derive(Template)]
#[template(path = "audit.html")]
struct AuditPage {
    email: String,
    /// The page's own address (`/audit` or `/instance/audit`), which its filters go back to.
    here: &'static str,
    /// Whether it shows the instance's log rather than the workspace's.
    instance: bool,
    zone: String,
    action: String,
    lines: Vec<Line>,
    error: Option<String>,
    next: Option<String>,
}

/// A user's email where the page can tell it (a member's), else the stored name.
async fn who(state: &AppState, actor: &str, known: &mut HashMap<String, String>) -> String {
    if let Some(name) = known.get(actor) {
        return name.clone();
    }
    let user = actor
        .rsplit("user:")
        .next()
        .and_then(|id| id.parse::<UserId>().ok());
    let name = match user {
        Some(id) => match state.store.get_user(id).await {
            Ok(u) if actor.starts_with("token:") => format!("{} (API token)", u.email),
            Ok(u) => u.email,
            Err(_) => actor.to_owned(),
        },
        None => actor.to_owned(),
    };
    known.insert(actor.to_owned(), name.clone());
    name
}

/// `GET /audit`: the workspace's audit log, newest first, with the API's filters.
pub(crate) fn page() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         Query(q): Query<HashMap<String, String>>| async move {
            shown(&state, caller, &q, "/audit").await
        },
    )
}

/// `GET /instance/audit`: the instance's audit log, for its administrator.
pub(crate) fn instance_page() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>,
         caller: Result<Caller, ApiError>,
         Query(q): Query<HashMap<String, String>>| async move {
            shown(&state, caller, &q, "/instance/audit").await
        },
    )
}

/// The audit page at `here`: the workspace's log, or the instance's at `/instance/audit`.
async fn shown(
    state: &AppState,
    caller: Result<Caller, ApiError>,
    q: &HashMap<String, String>,
    here: &'static str,
) -> axum::response::Response {
    let me = match signed_in(state, caller, here).await {
        Ok(me) => me,
        Err(page) => return page,
    };
    let instance = here.starts_with("/instance/");
    let zone = me.time_zone.clone().unwrap_or_else(|| "UTC".to_owned());
    let mut page = AuditPage {
        email: me.email.clone(),
        here,
        instance,
        zone: zone.clone(),
        action: q.get("action").cloned().unwrap_or_default(),
        lines: Vec::new(),
        error: None,
        next: None,
    };
    let f = match filter(q) {
        Ok(f) => f,
        Err(e) => {
            page.error = Some(sentence(&e));
            return render(StatusCode::BAD_REQUEST, &page);
        }
    };
    let (rows, next) = match listed(state, (!instance).then_some(me.ws), &f).await {
        Ok(listed) => listed,
        Err(e) => return error_page(&e),
    };
    let mut known = HashMap::new();
    for r in &rows {
        page.lines.push(Line {
            when: crate::post_page::local(r.at, &zone),
            who: who(state, &r.actor, &mut known).await,
            action: r.action.clone(),
            target: r.target.clone(),
            client: r.client.clone().unwrap_or_default(),
            detail: r.detail.clone(),
        });
    }
    if let Some(before) = next {
        let action = url::form_urlencoded::byte_serialize(page.action.as_bytes()).collect::<String>();
        page.next = Some(format!("{here}?action={action}&before={before}"));
    }
    render(StatusCode::OK, &page)
}
