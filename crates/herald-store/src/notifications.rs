//! In-app notifications: what needs a person (a delivery failed, unconfirmed, missed or waiting
//! for a reconnect; a profile expiring soon or needing a reconnect), each recorded once per
//! occurrence and read per user.

use herald_domain::{NotificationId, UserId, WorkspaceId};

use crate::{Result, Store, on_db, parse_id};

/// What a notification is about, and where to look.
#[derive(Debug, Clone)]
pub struct NewNotification<'a> {
    pub workspace: WorkspaceId,
    /// `delivery_failed`, `delivery_unconfirmed`, `delivery_missed`, `delivery_needs_reconnect`,
    /// `delivery_note` (published, with something to do), `post_rejected` (its approver's words),
    /// `profile_needs_reconnect`, `profile_expiring_soon`.
    pub kind: &'a str,
    /// `post` or `profile`, and its id.
    pub subject: (&'a str, String),
    /// The API path of what it is about.
    pub link: String,
    pub message: &'a str,
    /// The same occurrence is recorded once (e.g. a delivery's status at a fence).
    pub dedupe_key: String,
}

#[derive(Debug, Clone)]
pub struct NotificationRow {
    pub id: NotificationId,
    pub kind: String,
    pub subject_type: String,
    pub subject_id: String,
    pub link: String,
    pub message: String,
    pub created_at: i64,
    pub read: bool,
}

type Row = (String, String, String, String, String, String, i64, bool);

impl Store {
    /// Records a notification, unless this occurrence already was.
    pub async fn notify(&self, n: NewNotification<'_>) -> Result<()> {
        on_db!(self.db(), pool => sqlx::query(
            "INSERT INTO notifications (id, workspace_id, kind, subject_type, subject_id, link, message, dedupe_key, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (workspace_id, dedupe_key) DO NOTHING")
            .bind(NotificationId::new().to_string()).bind(n.workspace.to_string()).bind(n.kind).bind(n.subject.0)
            .bind(&n.subject.1).bind(&n.link).bind(n.message).bind(&n.dedupe_key).bind(self.now())
            .execute(pool).await?.rows_affected());
        Ok(())
    }

    /// The workspace's newest notifications (at most `limit`), with whether `user` read each.
    pub async fn notifications(
        &self,
        ws: WorkspaceId,
        user: UserId,
        unread_only: bool,
        limit: i64,
    ) -> Result<Vec<NotificationRow>> {
        let rows: Vec<Row> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT n.id, n.kind, n.subject_type, n.subject_id, n.link, n.message, n.created_at, r.user_id IS NOT NULL
             FROM notifications n LEFT JOIN notification_reads r ON r.notification_id = n.id AND r.user_id = $2
             WHERE n.workspace_id = $1 AND ($3 = FALSE OR r.user_id IS NULL)
             ORDER BY n.created_at DESC, n.id DESC LIMIT $4")
            .bind(ws.to_string()).bind(user.to_string()).bind(unread_only).bind(limit).fetch_all(pool).await?);
        rows.into_iter()
            .map(
                |(id, kind, subject_type, subject_id, link, message, created_at, read)| {
                    Ok(NotificationRow {
                        id: parse_id(&id)?,
                        kind,
                        subject_type,
                        subject_id,
                        link,
                        message,
                        created_at,
                        read,
                    })
                },
            )
            .collect()
    }

    /// Marks the workspace's notifications read for `user`: one (`Some(id)`; `NotFound` when it
    /// is not the workspace's), or all of them.
    pub async fn mark_read(&self, ws: WorkspaceId, user: UserId, one: Option<NotificationId>) -> Result<u64> {
        let n = on_db!(self.db(), pool => sqlx::query(
            "INSERT INTO notification_reads (notification_id, user_id, read_at)
             SELECT id, $2, $3 FROM notifications WHERE workspace_id = $1 AND ($4 IS NULL OR id = $4)
             ON CONFLICT (notification_id, user_id) DO NOTHING")
            .bind(ws.to_string()).bind(user.to_string()).bind(self.now()).bind(one.map(|i| i.to_string()))
            .execute(pool).await?.rows_affected());
        if let Some(id) = one
            && n == 0
        {
            let mine: Option<(String,)> = on_db!(self.db(), pool => sqlx::query_as(
                "SELECT id FROM notifications WHERE workspace_id = $1 AND id = $2")
                .bind(ws.to_string()).bind(id.to_string()).fetch_optional(pool).await?);
            if mine.is_none() {
                return Err(crate::StoreError::NotFound);
            }
        }
        Ok(n)
    }
}
