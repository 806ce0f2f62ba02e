//! Deliveries: one per (post, profile), with the public status list and its transitions.

use serde::{Deserialize, Serialize};

/// The public status of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Its post waits for an admin's or owner's approval (an editor's post where the workspace
    /// requires one): the dispatcher never claims it, and it is `missed` if its time comes first.
    PendingApproval,
    Scheduled,
    Publishing,
    Processing,
    RetryWait,
    Published,
    Unconfirmed,
    NeedsReconnect,
    /// Its first visible call would have started later than its catch-up window allows: it waits
    /// for the person (publish now, or cancel) instead of going out late by surprise.
    Missed,
    Failed,
    Cancelled,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 11] = [
        Self::PendingApproval,
        Self::Scheduled,
        Self::Publishing,
        Self::Processing,
        Self::RetryWait,
        Self::Published,
        Self::Unconfirmed,
        Self::NeedsReconnect,
        Self::Missed,
        Self::Failed,
        Self::Cancelled,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::PendingApproval => "pending_approval",
            Self::Scheduled => "scheduled",
            Self::Publishing => "publishing",
            Self::Processing => "processing",
            Self::RetryWait => "retry_wait",
            Self::Published => "published",
            Self::Unconfirmed => "unconfirmed",
            Self::NeedsReconnect => "needs_reconnect",
            Self::Missed => "missed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == s)
    }

    /// Ended: nothing more will happen to the delivery without a person.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Published | Self::Failed | Self::Cancelled | Self::Unconfirmed | Self::Missed
        )
    }

    /// Still waiting for its first claim: the post may be edited or cancelled freely.
    pub fn is_untouched(self) -> bool {
        matches!(self, Self::Scheduled | Self::PendingApproval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_name() {
        for s in DeliveryStatus::ALL {
            assert_eq!(DeliveryStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(DeliveryStatus::parse("done"), None);
    }
}
