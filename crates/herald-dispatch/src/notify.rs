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
        self.store
            .notify(NewNotification {
                workspace: c.workspace,
                kind,
                subject: ("post", c.post.to_string()),
                link: format!("/api/v1/workspaces/{}/posts/{}", c.workspace, c.post),
                message,
                dedupe_key: format!("delivery:{}:{}:{}", c.id, to.as_str(), c.fence),
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
        self.store
            .notify(NewNotification {
                workspace: p.workspace,
                kind,
                subject: ("profile", p.profile.to_string()),
                link: format!("/api/v1/workspaces/{}/profiles/{}", p.workspace, p.profile),
                message,
                dedupe_key: format!("profile:{}:{kind}:{occurrence}", p.profile),
            })
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
