//! What a person does with a delivery that waits for them: publish it now (missed, failed, or
//! unconfirmed once they checked the platform), choose which candidate is the post, or dismiss it.
//! Each moves the delivery only from the state it was read in, and bumps the fence.

use herald_domain::delivery::DeliveryStatus;
use herald_domain::{DeliveryId, PostId, WorkspaceId};

use crate::{Result, Store, StoreError, on_db};

/// A person's decision about one delivery.
#[derive(Debug, Clone, Copy)]
pub enum DeliveryAction<'a> {
    /// Publish again from the start, now (the catch-up window counts from now).
    PublishNow,
    /// As `PublishNow`, but never a missed delivery: what a member who may not approve asks where
    /// the workspace requires approval (a missed post goes out only when an approver says so).
    PublishNowNotMissed,
    /// This candidate (a platform id among the delivery's candidates) is the post.
    Choose(&'a str),
    /// Leave it as it is: Herald stops asking.
    Dismiss,
}

impl DeliveryAction<'_> {
    fn allowed(self, from: DeliveryStatus) -> bool {
        match self {
            Self::PublishNow => matches!(
                from,
                DeliveryStatus::Missed | DeliveryStatus::Failed | DeliveryStatus::Unconfirmed
            ),
            Self::PublishNowNotMissed => {
                matches!(from, DeliveryStatus::Failed | DeliveryStatus::Unconfirmed)
            }
            Self::Choose(_) | Self::Dismiss => from == DeliveryStatus::Unconfirmed,
        }
    }

    fn refusal(self, from: DeliveryStatus) -> String {
        let what = match self {
            Self::PublishNow => "published now only when it is missed, failed or unconfirmed",
            Self::PublishNowNotMissed => {
                "published now by you only when it is failed or unconfirmed (a missed one, by an admin or owner, as this workspace requires approval)"
            }
            Self::Choose(_) => "confirmed only while it is unconfirmed",
            Self::Dismiss => "dismissed only while it is unconfirmed",
        };
        format!("the delivery is {}; it can be {what}", from.as_str())
    }
}

type Row = (String, Option<String>, i64);

impl Store {
    /// Applies `action` to a delivery of the workspace's post. `NotFound` when it is not there;
    /// `Conflict` with a sentence when its state does not allow the action (or changed meanwhile).
    pub async fn act_on_delivery(
        &self,
        ws: WorkspaceId,
        post: PostId,
        delivery: DeliveryId,
        action: DeliveryAction<'_>,
    ) -> Result<DeliveryStatus> {
        let now = self.now();
        let row: Option<Row> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT status, candidates, fence FROM deliveries WHERE workspace_id = $1 AND post_id = $2 AND id = $3")
            .bind(ws.to_string()).bind(post.to_string()).bind(delivery.to_string()).fetch_optional(pool).await?);
        let (status, candidates, fence) = row.ok_or(StoreError::NotFound)?;
        let from = DeliveryStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("delivery status {status}")))?;
        if !action.allowed(from) {
            return Err(StoreError::Conflict(action.refusal(from)));
        }
        let (to, set, outcome, detail, id, permalink) = match action {
            DeliveryAction::PublishNow | DeliveryAction::PublishNowNotMissed => (
                DeliveryStatus::Scheduled,
                "due_at = $1, window_from = $1, handle = NULL, candidates = NULL, error_code = NULL, error_message = NULL,
                 may_be_live = 0, failures = 0, checks = 0",
                "publish_now",
                "the person asked to publish it now".to_owned(),
                None,
                None,
            ),
            DeliveryAction::Choose(id) => {
                let listed: Vec<serde_json::Value> = candidates
                    .as_deref()
                    .and_then(|c| serde_json::from_str(c).ok())
                    .unwrap_or_default();
                let Some(chosen) = listed.iter().find(|c| c["id"] == id) else {
                    return Err(StoreError::Conflict(format!(
                        "{id} is not among this delivery's candidates"
                    )));
                };
                (
                    DeliveryStatus::Published,
                    "platform_post_id = $4, permalink = $5, candidates = NULL, error_code = NULL, error_message = NULL",
                    "chosen",
                    format!("the person chose {id}"),
                    Some(id.to_owned()),
                    chosen["permalink"].as_str().map(str::to_owned),
                )
            }
            DeliveryAction::Dismiss => (
                DeliveryStatus::Cancelled,
                "error_code = 'dismissed', error_message = 'Dismissed: Herald never confirmed whether this post is on the platform.'",
                "dismissed",
                "the person dismissed it".to_owned(),
                None,
                None,
            ),
        };
        let sql = format!(
            "UPDATE deliveries SET status = $2, {set}, fence = fence + 1, lease_owner = NULL, lease_until = NULL, updated_at = $1
             WHERE id = $3 AND fence = $6 AND status = $7"
        );
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let n = sqlx::query(sqlx::AssertSqlSafe(sql.as_str()))
                .bind(now).bind(to.as_str()).bind(delivery.to_string()).bind(&id).bind(&permalink).bind(fence).bind(from.as_str())
                .execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::Conflict("the delivery changed meanwhile; look at it again".into()));
            }
            sqlx::query("INSERT INTO delivery_events (workspace_id, delivery_id, at, from_status, to_status, attempt, fence, outcome, detail)
                         SELECT workspace_id, id, $1, $2, status, attempts, fence, $3, $4 FROM deliveries WHERE id = $5")
                .bind(now).bind(from.as_str()).bind(outcome).bind(&detail).bind(delivery.to_string())
                .execute(&mut *tx).await?;
            tx.commit().await?;
        });
        Ok(to)
    }

    /// How late (in minutes) the workspace's deliveries may still go out by themselves.
    pub async fn catch_up_minutes(&self, ws: WorkspaceId) -> Result<i64> {
        let row: Option<(i64,)> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT catch_up_minutes FROM workspaces WHERE id = $1").bind(ws.to_string()).fetch_optional(pool).await?);
        row.map(|r| r.0).ok_or(StoreError::NotFound)
    }

    pub async fn set_catch_up_minutes(&self, ws: WorkspaceId, minutes: i64) -> Result<()> {
        let n = on_db!(self.db(), pool => sqlx::query("UPDATE workspaces SET catch_up_minutes = $1 WHERE id = $2")
            .bind(minutes).bind(ws.to_string()).execute(pool).await?.rows_affected());
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}
