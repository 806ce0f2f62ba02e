//! Approvals: where a workspace requires them, an editor's post waits (`pending_approval`, which
//! the dispatcher never claims) until an admin or owner approves it (its deliveries become
//! `scheduled`) or rejects it with a comment (they keep waiting, for an edit or a later approval).
//! Every decision is kept, oldest first; a post not approved by its time becomes `missed`.

use std::collections::HashSet;

use herald_domain::{DeliveryId, PostId, UserId, WorkspaceId};

use crate::{Result, Store, StoreError, on_db, parse_id};

/// Why a delivery whose post was not approved in time is `missed` (its `error_message`).
pub(crate) const NOT_APPROVED: &str = "It was not approved before its time, so Herald did not publish it. An admin or owner can publish it now, or cancel it.";

/// A decision about a post's approval.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Made or edited by a member who may not approve: it waits for an approval.
    Submitted,
    /// An admin or owner let it go out.
    Approved,
    /// An admin or owner sent it back, saying why: it waits for an edit (or an approval).
    Rejected,
    /// Its time came before anyone approved it: its deliveries are `missed`.
    Expired,
}

impl Decision {
    pub const ALL: [Decision; 4] = [Self::Submitted, Self::Approved, Self::Rejected, Self::Expired];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Submitted => "submitted",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// One decision about a post, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApprovalRow {
    pub decision: Decision,
    /// Who decided; `None` for `expired`, which no one did.
    pub by: Option<UserId>,
    /// What the approver said (a rejection always says why).
    pub comment: Option<String>,
    pub at: i64,
}

/// What an approval did to the post's deliveries.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Approved {
    /// Now `scheduled`: their time is still to come.
    pub scheduled: u64,
    /// Now `missed`: their time came before the approval.
    pub missed: u64,
}

/// A delivery the sweep made `missed` because its post was not approved by its time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unapproved {
    pub workspace: WorkspaceId,
    pub post: PostId,
    pub delivery: DeliveryId,
    /// Its fence after the change, which names this occurrence.
    pub fence: i64,
}

/// Keeps a decision about `$post` inside the transaction `$tx`: `$by` an `Option<UserId>`,
/// `$comment` an `Option<&str>`.
macro_rules! record_decision {
    ($tx:expr, $ws:expr, $post:expr, $decision:expr, $by:expr, $comment:expr, $now:expr) => {
        sqlx::query("INSERT INTO post_approvals (workspace_id, post_id, decision, decided_by, comment, at) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind($ws.to_string()).bind($post.to_string()).bind($decision.as_str())
            .bind($by.map(|u: herald_domain::UserId| u.to_string())).bind($comment).bind($now)
            .execute(&mut *$tx).await?
    };
}
pub(crate) use record_decision;

/// A moved delivery as `RETURNING` reads it: id, status, attempts, fence.
type Moved = (String, String, i64, i64);
/// A delivery the sweep moved: id, workspace, post, attempts, fence.
type Swept = (String, String, String, i64, i64);
type DecisionTuple = (String, Option<String>, Option<String>, i64);

/// `NotFound` (returned) unless the workspace `$ws` holds the post `$post`, read inside `$tx`.
macro_rules! post_in_workspace {
    ($tx:ident, $ws:expr, $post:expr) => {
        let exists: Option<(String,)> =
            sqlx::query_as("SELECT id FROM posts WHERE workspace_id = $1 AND id = $2")
                .bind($ws.to_string())
                .bind($post.to_string())
                .fetch_optional(&mut *$tx)
                .await?;
        if exists.is_none() {
            return Err(StoreError::NotFound);
        }
    };
}

impl Store {
    /// Whether the workspace holds its editors' posts for an approval.
    pub async fn require_approval(&self, ws: WorkspaceId) -> Result<bool> {
        let row: Option<(i64,)> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT require_approval FROM workspaces WHERE id = $1").bind(ws.to_string()).fetch_optional(pool).await?);
        row.map(|r| r.0 != 0).ok_or(StoreError::NotFound)
    }

    /// Turns the requirement on or off. Posts already waiting keep waiting for a decision.
    pub async fn set_require_approval(&self, ws: WorkspaceId, on: bool) -> Result<()> {
        let n = on_db!(self.db(), pool => sqlx::query("UPDATE workspaces SET require_approval = $1 WHERE id = $2")
            .bind(i64::from(on)).bind(ws.to_string()).execute(pool).await?.rows_affected());
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Approves a post that waits for it, keeping `comment`: its deliveries whose time is still to
    /// come become `scheduled`; those whose time came are `missed`, as the post was not approved
    /// by its time. `NotFound` for a post not in the workspace; `Conflict` when none of its
    /// deliveries waits for an approval.
    pub async fn approve_post(
        &self,
        ws: WorkspaceId,
        post: PostId,
        by: UserId,
        comment: Option<&str>,
    ) -> Result<Approved> {
        let now = self.now();
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            post_in_workspace!(tx, ws, post);
            let moved: Vec<Moved> = sqlx::query_as(
                "UPDATE deliveries SET status = CASE WHEN due_at > $1 THEN 'scheduled' ELSE 'missed' END,
                   error_code = CASE WHEN due_at > $1 THEN NULL ELSE 'not_approved' END,
                   error_message = CASE WHEN due_at > $1 THEN NULL ELSE $4 END,
                   fence = fence + 1, updated_at = $1
                 WHERE workspace_id = $2 AND post_id = $3 AND status = 'pending_approval'
                 RETURNING id, status, attempts, fence")
                .bind(now).bind(ws.to_string()).bind(post.to_string()).bind(NOT_APPROVED)
                .fetch_all(&mut *tx).await?;
            if moved.is_empty() {
                return Err(StoreError::Conflict("this post is not waiting for approval".into()));
            }
            for (id, status, attempts, fence) in &moved {
                let outcome = if status == "scheduled" { "approved" } else { "not_approved" };
                sqlx::query("INSERT INTO delivery_events (workspace_id, delivery_id, at, from_status, to_status, attempt, fence, outcome, detail) VALUES ($1, $2, $3, 'pending_approval', $4, $5, $6, $7, NULL)")
                    .bind(ws.to_string()).bind(id.as_str()).bind(now).bind(status.as_str()).bind(*attempts).bind(*fence).bind(outcome)
                    .execute(&mut *tx).await?;
            }
            record_decision!(tx, ws, post, Decision::Approved, Some(by), comment, now);
            tx.commit().await?;
            let scheduled = moved.iter().filter(|m| m.1 == "scheduled").count() as u64;
            Ok(Approved { scheduled, missed: moved.len() as u64 - scheduled })
        })
    }

    /// Rejects a post that waits for approval, keeping `comment` (why): its deliveries keep
    /// waiting, for an edit that submits it again or a later approval. `NotFound` and `Conflict`
    /// as [`Store::approve_post`].
    pub async fn reject_post(&self, ws: WorkspaceId, post: PostId, by: UserId, comment: &str) -> Result<()> {
        let now = self.now();
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            post_in_workspace!(tx, ws, post);
            // The post changed: a page that showed it before is stale.
            let n = sqlx::query("UPDATE deliveries SET updated_at = $1 WHERE workspace_id = $2 AND post_id = $3 AND status = 'pending_approval'")
                .bind(now).bind(ws.to_string()).bind(post.to_string()).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::Conflict("this post is not waiting for approval".into()));
            }
            sqlx::query("INSERT INTO delivery_events (workspace_id, delivery_id, at, from_status, to_status, attempt, fence, outcome, detail)
                         SELECT workspace_id, id, $3, status, status, attempts, fence, 'rejected', NULL FROM deliveries
                         WHERE workspace_id = $1 AND post_id = $2 AND status = 'pending_approval'")
                .bind(ws.to_string()).bind(post.to_string()).bind(now).execute(&mut *tx).await?;
            record_decision!(tx, ws, post, Decision::Rejected, Some(by), Some(comment), now);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Keeps a decision made outside an approval (an approver publishing a missed post now
    /// approves it).
    pub async fn record_approval(
        &self,
        ws: WorkspaceId,
        post: PostId,
        decision: Decision,
        by: Option<UserId>,
    ) -> Result<()> {
        let now = self.now();
        on_db!(self.db(), pool => {
            sqlx::query("INSERT INTO post_approvals (workspace_id, post_id, decision, decided_by, comment, at) VALUES ($1, $2, $3, $4, NULL, $5)")
                .bind(ws.to_string()).bind(post.to_string()).bind(decision.as_str()).bind(by.map(|u| u.to_string())).bind(now)
                .execute(pool).await?;
        });
        Ok(())
    }

    /// The decisions about a post, oldest first (none for a post that never needed approval).
    pub async fn approvals(&self, ws: WorkspaceId, post: PostId) -> Result<Vec<ApprovalRow>> {
        let rows: Vec<DecisionTuple> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT decision, decided_by, comment, at FROM post_approvals WHERE workspace_id = $1 AND post_id = $2 ORDER BY id")
            .bind(ws.to_string()).bind(post.to_string()).fetch_all(pool).await?);
        rows.into_iter()
            .map(|(decision, by, comment, at)| {
                Ok(ApprovalRow {
                    decision: Decision::parse(&decision)
                        .ok_or_else(|| StoreError::Corrupt(format!("approval decision {decision}")))?,
                    by: by.as_deref().map(parse_id).transpose()?,
                    comment,
                    at,
                })
            })
            .collect()
    }

    /// Makes `missed` every delivery still waiting for approval whose time came, each with an
    /// event saying why, and keeps `expired` as its post's decision. Returns them (for
    /// notifications).
    pub async fn miss_unapproved(&self) -> Result<Vec<Unapproved>> {
        let now = self.now();
        let moved: Vec<Swept> = on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let moved: Vec<Swept> = sqlx::query_as(
                "UPDATE deliveries SET status = 'missed', error_code = 'not_approved', error_message = $2, fence = fence + 1, updated_at = $1
                 WHERE status = 'pending_approval' AND due_at <= $1
                 RETURNING id, workspace_id, post_id, attempts, fence")
                .bind(now).bind(NOT_APPROVED).fetch_all(&mut *tx).await?;
            let mut posts = HashSet::new();
            for (id, ws, post, attempts, fence) in &moved {
                sqlx::query("INSERT INTO delivery_events (workspace_id, delivery_id, at, from_status, to_status, attempt, fence, outcome, detail) VALUES ($1, $2, $3, 'pending_approval', 'missed', $4, $5, 'not_approved', 'not approved before its time')")
                    .bind(ws.as_str()).bind(id.as_str()).bind(now).bind(*attempts).bind(*fence)
                    .execute(&mut *tx).await?;
                if posts.insert((ws.clone(), post.clone())) {
                    record_decision!(tx, ws, post, Decision::Expired, None::<UserId>, None::<&str>, now);
                }
            }
            tx.commit().await?;
            moved
        });
        moved
            .into_iter()
            .map(|(id, ws, post, _, fence)| {
                Ok(Unapproved {
                    workspace: parse_id(&ws)?,
                    post: parse_id(&post)?,
                    delivery: parse_id(&id)?,
                    fence,
                })
            })
            .collect()
    }
}
