//! Uploaded media files: where they are and what probing found.

use herald_domain::media::MediaType;
use herald_domain::rules::MediaFacts;
use herald_domain::{MediaId, WorkspaceId};

use crate::{Result, Store, StoreError, on_db, parse_id};

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
}

type Row = (
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<i64>,
    String,
    Option<String>,
    String,
    i64,
);
const COLUMNS: &str =
    "id, workspace_id, content_type, bytes, width, height, sha256, original_name, path, created_at";

fn from_row(r: Row) -> Result<MediaRow> {
    let (id, ws, ct, bytes, width, height, sha256, original_name, path, created_at) = r;
    Ok(MediaRow {
        id: parse_id(&id)?,
        workspace: parse_id(&ws)?,
        media_type: MediaType::parse_mime(&ct)
            .ok_or_else(|| StoreError::Corrupt(format!("content type {ct}")))?,
        bytes,
        width,
        height,
        sha256,
        original_name,
        path,
        created_at,
    })
}

impl Store {
    pub async fn insert_media(&self, m: NewMedia<'_>) -> Result<MediaRow> {
        let sql = format!(
            "INSERT INTO media ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {COLUMNS}"
        );
        let row: Row = on_db!(self.db(), pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(m.id.to_string()).bind(m.workspace.to_string()).bind(m.media_type.mime()).bind(m.bytes)
            .bind(m.width).bind(m.height).bind(m.sha256).bind(m.original_name).bind(m.path).bind(self.now())
            .fetch_one(pool).await?);
        from_row(row)
    }

    pub async fn get_media(&self, ws: WorkspaceId, id: MediaId) -> Result<MediaRow> {
        let sql = format!("SELECT {COLUMNS} FROM media WHERE workspace_id = $1 AND id = $2");
        let row: Option<Row> = on_db!(self.db(), pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(ws.to_string()).bind(id.to_string()).fetch_optional(pool).await?);
        from_row(row.ok_or(StoreError::NotFound)?)
    }

    /// A media file by id alone: only for serving a URL whose signature already proved the right to it.
    pub async fn get_media_for_signed_url(&self, id: MediaId) -> Result<MediaRow> {
        let sql = format!("SELECT {COLUMNS} FROM media WHERE id = $1");
        let row: Option<Row> = on_db!(self.db(), pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(id.to_string()).fetch_optional(pool).await?);
        from_row(row.ok_or(StoreError::NotFound)?)
    }

    pub async fn list_media(&self, ws: WorkspaceId) -> Result<Vec<MediaRow>> {
        let sql = format!("SELECT {COLUMNS} FROM media WHERE workspace_id = $1 ORDER BY created_at DESC");
        let rows: Vec<Row> = on_db!(self.db(), pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(ws.to_string()).fetch_all(pool).await?);
        rows.into_iter().map(from_row).collect()
    }
}
