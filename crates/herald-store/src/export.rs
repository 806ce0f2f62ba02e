//! What a workspace's export reads that no other query gives: a page of posts with every one of
//! their deliveries' history in one query, and the workspace's audit chain, oldest first, with
//! each entry's MAC. Every query is scoped to the workspace.

use herald_domain::{PostId, WorkspaceId};

use crate::audit::{COLUMNS, Sealed};
use crate::deliveries::{EventTuple, events_of};
use crate::{AuditRow, DeliveryEventRow, PostFilter, PostRow, Result, Store, on_db};

/// A page of a workspace's posts, each with its deliveries, and those deliveries' history.
#[derive(Debug, Clone, Default)]
pub struct ExportPage {
    /// In time order (`scheduled_at`, then id).
    pub posts: Vec<PostRow>,
    /// Every event of the posts' deliveries, oldest first.
    pub events: Vec<DeliveryEventRow>,
}

/// An audit entry with what chains it to the entry before it.
#[derive(Debug, Clone)]
pub struct SealedAuditRow {
    pub entry: AuditRow,
    /// The master key version the MAC's key was derived from.
    pub key_version: i64,
    /// HMAC-SHA256 (hex) over the entry and the MAC before it.
    pub mac: String,
}

/// Where a workspace's audit chain starts: its first seq and the MAC its first entry is chained
/// to (all zeros unless a retention cut moved the start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditStart {
    pub seq: i64,
    pub prev_mac: String,
}

impl Store {
    /// The workspace's posts after `after` (`(scheduled_at, id)` of the previous page's last, none
    /// for the first page), at most `limit`, each with its deliveries, and every event of those
    /// deliveries (two queries for the posts, one for the events).
    pub async fn export_posts(
        &self,
        ws: WorkspaceId,
        after: Option<(i64, PostId)>,
        limit: i64,
    ) -> Result<ExportPage> {
        let filter = PostFilter {
            after,
            limit,
            ..PostFilter::default()
        };
        let posts = self.list_posts(ws, &filter).await?;
        let Some(last) = posts.last() else {
            return Ok(ExportPage::default());
        };
        // The page's posts are those after `after` up to its last one, whatever was scheduled
        // meanwhile: an event of a post outside the page matches no delivery of it.
        let (after_at, after_id) = after
            .map(|(at, id)| (Some(at), id.to_string()))
            .unwrap_or((None, String::new()));
        let rows: Vec<EventTuple> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT e.delivery_id, e.at, e.from_status, e.to_status, e.attempt, e.outcome, e.detail FROM delivery_events e
             JOIN deliveries d ON d.id = e.delivery_id
             WHERE e.workspace_id = $1 AND d.workspace_id = $1 AND d.post_id IN (
               SELECT id FROM posts WHERE workspace_id = $1
                 AND ($2 IS NULL OR scheduled_at > $2 OR (scheduled_at = $2 AND id > $3))
                 AND (scheduled_at < $4 OR (scheduled_at = $4 AND id <= $5)))
             ORDER BY e.id")
            .bind(ws.to_string()).bind(after_at).bind(after_id).bind(last.scheduled_at).bind(last.id.to_string())
            .fetch_all(pool).await?);
        let events = events_of(rows)?;
        Ok(ExportPage { posts, events })
    }

    /// The workspace's audit entries after `after_seq`, oldest first, at most `limit`, each with
    /// its MAC and the key version that made it.
    pub async fn export_audit(
        &self,
        ws: WorkspaceId,
        after_seq: i64,
        limit: i64,
    ) -> Result<Vec<SealedAuditRow>> {
        let sql = format!(
            "SELECT {COLUMNS}, key_version, mac FROM audit_entries WHERE chain = $1 AND seq > $2 ORDER BY seq LIMIT $3"
        );
        let rows: Vec<Sealed> = on_db!(self.db(), pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(ws.to_string()).bind(after_seq).bind(limit).fetch_all(pool).await?);
        rows.into_iter()
            .map(|s| {
                Ok(SealedAuditRow {
                    entry: AuditRow::try_from(s.record)?,
                    key_version: s.key_version,
                    mac: s.mac,
                })
            })
            .collect()
    }

    /// Where the workspace's audit chain starts; `None` before its first entry.
    pub async fn export_audit_start(&self, ws: WorkspaceId) -> Result<Option<AuditStart>> {
        let row: Option<(i64, String)> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT start_seq, start_prev_mac FROM audit_chains WHERE chain = $1")
            .bind(ws.to_string()).fetch_optional(pool).await?);
        Ok(row.map(|(seq, prev_mac)| AuditStart { seq, prev_mac }))
    }
}
