//! Profiles: a connected platform account and its connection status.

use serde::{Deserialize, Serialize};

/// Where a profile's connection stands, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    Connected,
    NeedsReconnect,
    Disconnected,
}

impl ConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Connected => "connected",
            Self::NeedsReconnect => "needs_reconnect",
            Self::Disconnected => "disconnected",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Connected, Self::NeedsReconnect, Self::Disconnected]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// Why a profile needs the user to reconnect it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReconnectReason {
    Expired,
    RevokedOnPlatform,
    PermissionMissing,
}

impl ReconnectReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::RevokedOnPlatform => "revoked_on_platform",
            Self::PermissionMissing => "permission_missing",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Expired, Self::RevokedOnPlatform, Self::PermissionMissing]
            .into_iter()
            .find(|c| c.as_str() == s)
    }
}

/// The kind of secret stored for a profile; part of the ciphertext's associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    AccessToken,
    RefreshToken,
}

impl SecretKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccessToken => "access_token",
            Self::RefreshToken => "refresh_token",
        }
    }
}
