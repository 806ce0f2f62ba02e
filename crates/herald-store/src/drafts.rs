//! Drafts: a post being written, kept as the composer's input whatever rules it breaks, scoped to
//! its workspace like everything else.

use herald_domain::{DraftId, UserId, WorkspaceId};

use crate::{Result, Store, StoreError, on_db, parse_id};

#[derive(Debug, Clone)]
pub struct DraftRow {
    pub id: DraftId,
    pub created_by: UserId,
    /// The post as the API takes it (JSON).
    pub body: String,
    pub created_at: i64,
    pub updated_at: i64,
}

type Row = (String, String, String, i64, i64);

fn draft_from((id, by, body, created_at, updated_at): Row) -> Result<DraftRow> {
    Ok(DraftRow {
        id: parse_id(&id)?,
        created_by: parse_id(&by)?,
        body,
        created_at,
        updated_at,
    })
}

impl Store {
    /// Saves a new draft, or replaces the body of `id` (which must be this workspace's).
    pub async fn save_draft(
        &self,
        ws: WorkspaceId,
        user: UserId,
        id: Option<DraftId>,
        body: &str,
    ) -> Result<DraftId> {
        let now = self.now();
        match id {
            Some(id) => {
                let n = on_db!(self.db(), pool => sqlx::query("UPDATE drafts SET body = $1, updated_at = $2 WHERE workspace_id = $3 AND id = $4")
                    .bind(body).bind(now).bind(ws.to_string()).bind(id.to_string()).execute(pool).await?.rows_affected());
                if n == 0 {
                    return Err(StoreError::NotFound);
                }
                Ok(id)
            }
            None => {
                let id = DraftId::new();
                on_db!(self.db(), pool => sqlx::query("INSERT INTO drafts (id, workspace_id, created_by, body, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)")
                    .bind(id.to_string()).bind(ws.to_string()).bind(user.to_string()).bind(body).bind(now).execute(pool).await?.rows_affected());
                Ok(id)
            }
        }
    }

    pub async fn get_draft(&self, ws: WorkspaceId, id: DraftId) -> Result<DraftRow> {
        let row: Option<Row> = on_db!(self.db(), pool => sqlx::query_as("SELECT id, created_by, body, created_at, updated_at FROM drafts WHERE workspace_id = $1 AND id = $2")
            .bind(ws.to_string()).bind(id.to_string()).fetch_optional(pool).await?);
        draft_from(row.ok_or(StoreError::NotFound)?)
    }

    /// The workspace's drafts, the latest edited first.
    pub async fn list_drafts(&self, ws: WorkspaceId, limit: i64) -> Result<Vec<DraftRow>> {
        let rows: Vec<Row> = on_db!(self.db(), pool => sqlx::query_as("SELECT id, created_by, body, created_at, updated_at FROM drafts WHERE workspace_id = $1 ORDER BY updated_at DESC, id LIMIT $2")
            .bind(ws.to_string()).bind(limit).fetch_all(pool).await?);
        rows.into_iter().map(draft_from).collect()
    }

    pub async fn delete_draft(&self, ws: WorkspaceId, id: DraftId) -> Result<()> {
        let n = on_db!(self.db(), pool => sqlx::query("DELETE FROM drafts WHERE workspace_id = $1 AND id = $2")
            .bind(ws.to_string()).bind(id.to_string()).execute(pool).await?.rows_affected());
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}
