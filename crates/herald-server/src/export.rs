//! Workspace export, for its owners: everything the workspace holds (profiles without their
//! tokens, members, posts with their deliveries and each delivery's history, drafts, media and
//! their files, the audit chain with its MACs) as one ustar archive in the format
//! `docs/EXPORT.md` describes. The archive is built in a temporary file beside the media library,
//! a page of rows and a chunk of a file at a time, so a large library never sits in memory; then
//! it is streamed, and its file is gone once the download ends. The API's route and the
//! `/export` page serve the same archive.

use std::path::PathBuf;

use askama::Template;
use axum::body::Body as HttpBody;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use herald_domain::{UserId, WorkspaceId};
use serde_json::{Value, json};

use crate::AppState;
use crate::audit;
use crate::auth::Caller;
use crate::client::ClientAddr;
use crate::error::{ApiError, ApiResult};
use crate::json::rfc3339;
use crate::tar::TarWriter;
use crate::web::{error_page, render, signed_in};

/// The archive format's version, in its manifest: raised when a reader of the previous one
/// would misread it.
const FORMAT_VERSION: u32 = 1;

/// Posts read at once (each with its deliveries and their history).
const POSTS_PAGE: i64 = 200;

/// Audit entries read at once.
const AUDIT_PAGE: i64 = 1_000;

/// Every draft: drafts are few, and read in one query.
const ALL_DRAFTS: i64 = i64::MAX;

/// The archive is streamed to the client this many bytes at a time.
const CHUNK: usize = 64 * 1024;

/// What an archive holds, for its manifest and the audit entry.
#[derive(Debug, Default, serde::Serialize)]
struct Counts {
    profiles: u64,
    members: u64,
    posts: u64,
    deliveries: u64,
    delivery_events: u64,
    drafts: u64,
    media: u64,
    /// Media whose file is in the archive (a file missing from the library is not).
    media_files: u64,
    media_bytes: u64,
    metrics: u64,
    audit_entries: u64,
}

/// A built archive: its file (open, its name already removed), its length, and the name to
/// download it as.
struct Archive {
    file: tokio::fs::File,
    len: u64,
    filename: String,
    counts: Counts,
}

/// The archive's file while it is built: removed however the export ends. Once built, the open
/// handle is what is streamed, so the name goes before the download starts.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn io(e: std::io::Error) -> ApiError {
    ApiError::internal(&e)
}

/// The workspace's name as part of a file name: lowercase ASCII letters and digits, anything else
/// as one hyphen, at most 40 characters (`workspace` when nothing is left).
fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    let out: String = out.chars().take(40).collect();
    match out.trim_end_matches('-') {
        "" => "workspace".to_owned(),
        s => s.to_owned(),
    }
}

/// A JSON array written into the archive one element a line, as it is read.
struct JsonArray {
    count: u64,
}

impl JsonArray {
    async fn open(tar: &mut TarWriter, name: &str) -> std::io::Result<Self> {
        tar.begin(name).await?;
        Ok(Self { count: 0 })
    }

    async fn push(&mut self, tar: &mut TarWriter, v: &Value) -> std::io::Result<()> {
        let sep: &[u8] = if self.count == 0 { b"[\n" } else { b",\n" };
        tar.write(sep).await?;
        tar.write(&serde_json::to_vec(v)?).await?;
        self.count += 1;
        Ok(())
    }

    /// Ends the array and its member; returns how many elements it holds.
    async fn close(self, tar: &mut TarWriter) -> std::io::Result<u64> {
        let end: &[u8] = if self.count == 0 { b"[]\n" } else { b"\n]\n" };
        tar.write(end).await?;
        tar.end().await?;
        Ok(self.count)
    }
}

/// Writes the workspace's archive: each member in turn, the manifest last, once it can count
/// everything before it (an archive without one was cut short).
async fn build(state: &AppState, ws: WorkspaceId, by: UserId) -> ApiResult<Archive> {
    let name = state.store.workspace_name(ws).await?;
    let now = state.store.clock().now();
    let dir = &state.config.media_dir;
    tokio::fs::create_dir_all(dir).await.map_err(io)?;
    let scratch = Scratch(dir.join(format!(".export-{}.tar", uuid::Uuid::new_v4().simple())));
    let mut tar = TarWriter::create(&scratch.0, now.as_second()).await.map_err(io)?;
    let mut counts = Counts::default();

    // Profiles: what the API shows of them; their tokens are sealed in another table, never read.
    let at = crate::profiles::Moment::of(state);
    let mut profiles = JsonArray::open(&mut tar, "profiles.json").await.map_err(io)?;
    for p in state.store.list_profiles(ws).await? {
        profiles
            .push(&mut tar, &crate::profiles::to_json(&p, at))
            .await
            .map_err(io)?;
    }
    counts.profiles = profiles.close(&mut tar).await.map_err(io)?;

    let mut members = JsonArray::open(&mut tar, "members.json").await.map_err(io)?;
    for m in state.store.members(ws).await? {
        let v = json!({"user_id": m.user, "email": m.email, "role": m.role.as_str()});
        members.push(&mut tar, &v).await.map_err(io)?;
    }
    counts.members = members.close(&mut tar).await.map_err(io)?;

    // Posts, a page at a time, each as `GET …/posts/{id}` shows it.
    let mut posts = JsonArray::open(&mut tar, "posts.json").await.map_err(io)?;
    let mut after = None;
    loop {
        let page = state.store.export_posts(ws, after, POSTS_PAGE).await?;
        for p in &page.posts {
            let mut v = crate::posts::post_json(p, &page.events);
            v["created_by"] = json!(p.created_by);
            posts.push(&mut tar, &v).await.map_err(io)?;
            counts.deliveries += p.deliveries.len() as u64;
        }
        counts.delivery_events += page.events.len() as u64;
        after = page.posts.last().map(|p| (p.scheduled_at, p.id));
        if (page.posts.len() as i64) < POSTS_PAGE {
            break;
        }
    }
    counts.posts = posts.close(&mut tar).await.map_err(io)?;

    let mut drafts = JsonArray::open(&mut tar, "drafts.json").await.map_err(io)?;
    for d in state.store.list_drafts(ws, ALL_DRAFTS).await? {
        let body = serde_json::from_str::<Value>(&d.body).unwrap_or_else(|_| Value::String(d.body.clone()));
        let v = json!({
            "id": d.id, "created_by": d.created_by, "created_at": rfc3339(d.created_at),
            "updated_at": rfc3339(d.updated_at), "body": body,
        });
        drafts.push(&mut tar, &v).await.map_err(io)?;
    }
    counts.drafts = drafts.close(&mut tar).await.map_err(io)?;

    // Media: each file copied from the library a chunk at a time, then what is known of them.
    let library = state.store.list_media(ws).await?;
    let mut listed = Vec::with_capacity(library.len());
    for m in &library {
        let ext = m.media_type.mime().rsplit('/').next().unwrap_or("bin");
        let file = match tokio::fs::File::open(&m.path).await {
            Ok(f) => {
                let member = format!("media/{}.{ext}", m.id);
                counts.media_bytes += tar.add_file(&member, f).await.map_err(io)?;
                counts.media_files += 1;
                Some(member)
            }
            // A file removed from the library by hand is said to be missing, not a failed export.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::warn!(media = %m.id, "a media file is missing from the library; the export lists it without its file");
                None
            }
            Err(e) => return Err(io(e)),
        };
        let mut v = crate::media::to_json(m);
        v["file"] = json!(file);
        listed.push(v);
    }
    let mut media = JsonArray::open(&mut tar, "media.json").await.map_err(io)?;
    for v in &listed {
        media.push(&mut tar, v).await.map_err(io)?;
    }
    counts.media = media.close(&mut tar).await.map_err(io)?;

    // Herald keeps no engagement metrics: they are read from the platforms when asked for.
    counts.metrics = JsonArray::open(&mut tar, "metrics.json")
        .await
        .map_err(io)?
        .close(&mut tar)
        .await
        .map_err(io)?;

    // The workspace's audit chain, oldest first, one entry a line with its MAC.
    tar.begin("audit.jsonl").await.map_err(io)?;
    let mut after_seq = 0;
    loop {
        let rows = state.store.export_audit(ws, after_seq, AUDIT_PAGE).await?;
        for r in &rows {
            let e = &r.entry;
            let mut line = serde_json::to_vec(&json!({
                "chain": e.chain, "seq": e.seq, "id": e.id, "at": rfc3339(e.at), "at_us": e.at,
                "workspace_id": e.workspace, "actor": e.actor, "action": e.action, "target": e.target,
                "client": e.client, "detail": e.detail, "key_version": r.key_version, "mac": r.mac,
            }))
            .map_err(|e| ApiError::internal(&e))?;
            line.push(b'\n');
            tar.write(&line).await.map_err(io)?;
            after_seq = e.seq;
            counts.audit_entries += 1;
        }
        if (rows.len() as i64) < AUDIT_PAGE {
            break;
        }
    }
    tar.end().await.map_err(io)?;

    let start = state.store.export_audit_start(ws).await?;
    let catch_up = state.store.catch_up_minutes(ws).await?;
    let manifest = json!({
        "format": "herald-workspace-export",
        "format_version": FORMAT_VERSION,
        "herald_version": env!("CARGO_PKG_VERSION"),
        "exported_at": rfc3339(now.as_microsecond()),
        "exported_by": by,
        "workspace": {"id": ws, "name": name, "catch_up_minutes": catch_up},
        "counts": counts,
        "files": [
            "profiles.json", "members.json", "posts.json", "drafts.json", "media.json",
            "metrics.json", "audit.jsonl",
        ],
        "audit": {
            "chain": ws.to_string(),
            "start_seq": start.as_ref().map(|s| s.seq),
            "start_prev_mac": start.as_ref().map(|s| s.prev_mac.clone()),
        },
    });
    let manifest = serde_json::to_vec_pretty(&manifest).map_err(|e| ApiError::internal(&e))?;
    tar.add("manifest.json", &manifest).await.map_err(io)?;
    let (file, len) = tar.finish().await.map_err(io)?;
    let filename = format!("herald-{}-{}.tar", slug(&name), now.strftime("%Y-%m-%d"));
    drop(scratch);
    Ok(Archive {
        file,
        len,
        filename,
        counts,
    })
}

/// Builds the workspace's archive, records the export in the workspace's audit chain, and answers
/// the download: never cached, always an attachment.
async fn export(state: &AppState, caller: &Caller, addr: ClientAddr, ws: WorkspaceId) -> ApiResult<Response> {
    let archive = build(state, ws, caller.user).await?;
    let c = &archive.counts;
    let detail = format!("posts={} media={} bytes={}", c.posts, c.media, archive.len);
    audit::record(
        state,
        Some(ws),
        audit::actor(caller),
        "workspace.exported",
        format!("workspace:{ws}"),
        Some(addr),
        &detail,
    )
    .await;
    let body = HttpBody::from_stream(tokio_util::io::ReaderStream::with_capacity(archive.file, CHUNK));
    Ok((
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/x-tar".to_owned()),
            (header::CONTENT_LENGTH, archive.len.to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", archive.filename),
            ),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}

/// `GET /workspaces/{ws}/export`: the workspace's archive (owners, as the route table declares).
pub(crate) fn download() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Caller, addr: ClientAddr, Path(ws): Path<String>| async move {
            let ws = caller.workspace(&state, &ws).await?;
            export(&state, &caller, addr, ws).await
        },
    )
}

#[derive(Template)]
#[template(path = "export.html")]
struct ExportPage {
    email: String,
    workspace: String,
}

/// `GET /export`: what the archive of the current workspace holds, and the link to download it.
pub(crate) fn page() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>| async move {
            match signed_in(&state, caller, "/export").await {
                Ok(me) => render(
                    StatusCode::OK,
                    &ExportPage {
                        email: me.email,
                        workspace: me.workspace,
                    },
                ),
                Err(page) => page,
            }
        },
    )
}

/// `GET /export/download`: the current workspace's archive, as the API's route answers it.
pub(crate) fn page_download() -> MethodRouter<AppState> {
    get(
        |State(state): State<AppState>, caller: Result<Caller, ApiError>, addr: ClientAddr| async move {
            let me = match signed_in(&state, caller, "/export").await {
                Ok(me) => me,
                Err(page) => return page,
            };
            export(&state, &me.caller, addr, me.ws)
                .await
                .unwrap_or_else(|e| error_page(&e))
        },
    )
}

#[cfg(test)]
mod tests {
    use super::slug;

    #[test]
    fn a_workspace_name_becomes_a_plain_file_name_part() {
        assert_eq!(slug("owner's workspace"), "owner-s-workspace");
        assert_eq!(slug("  Café  Team!! "), "caf-team");
        assert_eq!(slug("日本"), "workspace");
        assert_eq!(slug(""), "workspace");
        assert_eq!(
            slug(&"abc-".repeat(20)),
            "abc-".repeat(10).trim_end_matches('-'),
            "cut at 40, no hyphen at the end"
        );
    }
}
