//! Uploaded media files: where they are and what probing found.

use herald_domain::media::MediaType;
use herald_domain::rules::{MediaFacts, Video};
use herald_domain::{MediaId, WorkspaceId};

use crate::{Result, Store, StoreError, on_db, parse_id};

/// What probing found in a video.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VideoFacts {
    pub duration_ms: Option<i64>,
    /// Frames per second × 1000.
    pub frame_rate_milli: Option<i64>,
    pub video_codec: Option<String>,
    pub audio_codec: Option<String>,
    pub moov_first: Option<bool>,
}

#[derive(Debug, Clone)]
pub struct MediaRow {
    pub id: MediaId,
    pub workspace: WorkspaceId,
    pub media_type: MediaType,
    pub bytes: i64,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub sha256: String,
    pub original_name: Option<String>,
    pub path: String,
    pub video: VideoFacts,
    pub created_at: i64,
}

impl MediaRow {
    /// What the platform rules need to know about this file.
    pub fn facts(&self) -> MediaFacts {
        MediaFacts {
            media_type: self.media_type,
            bytes: u64::try_from(self.bytes).unwrap_or(u64::MAX),
            width: self.width.and_then(|w| u32::try_from(w).ok()),
            height: self.height.and_then(|h| u32::try_from(h).ok()),
            video: (self.media_type == MediaType::Mp4).then(|| Video {
                duration_ms: self.video.duration_ms.and_then(|d| u64::try_from(d).ok()),
                frame_rate: self.video.frame_rate_milli.map(|f| f as f64 / 1000.0),
                moov_first: self.video.moov_first,
            }),
        }
    }
}

pub struct NewMedia<'a> {
    pub id: MediaId,
    pub workspace: WorkspaceId,
    pub media_type: MediaType,
    pub bytes: i64,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub sha256: &'a str,
    pub original_name: Option<&'a str>,
    pub path: &'a str,
    pub video: VideoFacts,
}

/// A `media` row as stored.
#[derive(sqlx::FromRow)]
struct Record {
    id: String,
    workspace_id: String,
    content_type: String,
    bytes: i64,
    width: Option<i64>,
    height: Option<i64>,
    sha256: String,
    original_name: Option<String>,
    path: String,
    duration_ms: Option<i64>,
    frame_rate_milli: Option<i64>,
    video_codec: Option<String>,
    audio_codec: Option<String>,
    moov_first: Option<bool>,
    created_at: i64,
}

const COLUMNS: &str = "id, workspace_id, content_type, bytes, width, height, sha256, original_name, path, \
                       duration_ms, frame_rate_milli, video_codec, audio_codec, moov_first, created_at";

impl TryFrom<Record> for MediaRow {
    type Error = StoreError;

    fn try_from(r: Record) -> Result<Self> {
        Ok(MediaRow {
            id: parse_id(&r.id)?,
            workspace: parse_id(&r.workspace_id)?,
            media_type: MediaType::parse_mime(&r.content_type)
                .ok_or_else(|| StoreError::Corrupt(format!("content type {}", r.content_type)))?,
            bytes: r.bytes,
            width: r.width,
            height: r.height,
            sha256: r.sha256,
            original_name: r.original_name,
            path: r.path,
            video: VideoFacts {
                duration_ms: r.duration_ms,
                frame_rate_milli: r.frame_rate_milli,
                video_codec: r.video_codec,
                audio_codec: r.audio_codec,
                moov_first: r.moov_first,
            },
            created_at: r.created_at,
        })
    }
}

impl Store {
    pub async fn insert_media(&self, m: NewMedia<'_>) -> Result<MediaRow> {
        let sql = format!(
            "INSERT INTO media ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING {COLUMNS}"
        );
        let v = &m.video;
        let row: Record = on_db!(self.db(), pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(m.id.to_string()).bind(m.workspace.to_string()).bind(m.media_type.mime()).bind(m.bytes)
            .bind(m.width).bind(m.height).bind(m.sha256).bind(m.original_name).bind(m.path)
            .bind(v.duration_ms).bind(v.frame_rate_milli).bind(v.video_codec.as_deref()).bind(v.audio_codec.as_deref()).bind(v.moov_first)
            .bind(self.now())
            .fetch_one(pool).await?);
        row.try_into()
    }

    pub async fn get_media(&self, ws: WorkspaceId, id: MediaId) -> Result<MediaRow> {
        let sql = format!("SELECT {COLUMNS} FROM media WHERE workspace_id = $1 AND id = $2");
        let row: Option<Record> = on_db!(self.db(), pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(ws.to_string()).bind(id.to_string()).fetch_optional(pool).await?);
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    /// A media file by id alone: only for serving a URL whose signature already proved the right to it.
    pub async fn get_media_for_signed_url(&self, id: MediaId) -> Result<MediaRow> {
        let sql = format!("SELECT {COLUMNS} FROM media WHERE id = $1");
        let row: Option<Record> = on_db!(self.db(), pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id.to_string()).fetch_optional(pool).await?);
        row.ok_or(StoreError::NotFound)?.try_into()
    }

    pub async fn list_media(&self, ws: WorkspaceId) -> Result<Vec<MediaRow>> {
        let sql = format!("SELECT {COLUMNS} FROM media WHERE workspace_id = $1 ORDER BY created_at DESC");
        let rows: Vec<Record> = on_db!(self.db(), pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(ws.to_string()).fetch_all(pool).await?);
        rows.into_iter().map(TryInto::try_into).collect()
    }
}
