//! The notifications the dispatcher records: a delivery that stopped where a person must act, and
//! a profile that needs its person. Each occurrence is recorded once.

use herald_domain::delivery::DeliveryStatus;
use herald_domain::profile::ReconnectReason;
use herald_domain::{ProfileId, WorkspaceId};
use herald_store::{Claimed, NewNotification, ProfileDue, StoreError};

use crate::Dispatcher;

impl Dispatcher {
    /// After a delivery stopped at `to`: a notification when a person must act on it.
    pub(crate) async fn notify_delivery(
        &self,
        c: &Claimed,
        to: DeliveryStatus,
        message: &str,
    ) -> Result<(), StoreError> {
        let kind = match to {
            DeliveryStatus::Failed => "delivery_failed",
            DeliveryStatus::Unconfirmed => "delivery_unconfirmed",
            DeliveryStatus::Missed => "delivery_missed",
            DeliveryStatus::NeedsReconnect => "delivery_needs_reconnect",
            _ => return Ok(()),
        };
        let occurrence = format!("delivery:{}:{}:{}", c.id, to.as_str(), c.fence);
        self.record(
            c.workspace,
            kind,
            ("post", c.post.to_string()),
            message,
            occurrence,
        )
        .await
    }

    /// After a delivery was published with a note (a custom thumbnail the platform refused): the
    /// person has something to do there.
    pub(crate) async fn notify_note(&self, c: &Claimed, message: &str) -> Result<(), StoreError> {
        let occurrence = format!("delivery:{}:note:{}", c.id, c.fence);
        self.record(
            c.workspace,
            "delivery_note",
            ("post", c.post.to_string()),
            message,
            occurrence,
        )
        .await
    }

    /// Records a notification about `subject` (`post` or `profile`), linking to its API path.
    async fn record(
        &self,
        ws: WorkspaceId,
        kind: &str,
        subject: (&str, String),
        message: &str,
        dedupe_key: String,
    ) -> Result<(), StoreError> {
        let link = format!("/api/v1/workspaces/{ws}/{}s/{}", subject.0, subject.1);
        self.store
            .notify(NewNotification {
                workspace: ws,
                kind,
                subject,
                link,
                message,
                dedupe_key,
            })
            .await
    }

    /// A notification about a profile; `occurrence` tells this episode from earlier ones.
    pub(crate) async fn notify_profile(
        &self,
        p: ProfileDue,
        kind: &str,
        message: &str,
        occurrence: &str,
    ) -> Result<(), StoreError> {
        let key = format!("profile:{}:{kind}:{occurrence}", p.profile);
        self.record(
            p.workspace,
            kind,
            ("profile", p.profile.to_string()),
            message,
            key,
        )
        .await
    }

    /// The profile needs its person for `reason`: one notification per connection (a reconnect
    /// brings a new token, and a new episode).
    pub(crate) async fn notify_reconnect(
        &self,
        ws: WorkspaceId,
        profile: ProfileId,
        reason: ReconnectReason,
        message: &str,
    ) -> Result<(), StoreError> {
        let row = self.store.get_profile(ws, profile).await?;
        crate::metrics::reconnect_requested(row.platform, reason);
        let p = ProfileDue {
            workspace: ws,
            profile,
            at: row.token_issued_at.unwrap_or_default(),
        };
        let occurrence = format!("{}:{}", reason.as_str(), p.at);
        self.notify_profile(p, "profile_needs_reconnect", message, &occurrence)
            .await
    }
}
