//! Profiles: a connected platform account and its connection status.

use serde::{Deserialize, Serialize};

use crate::platform::Login;

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
    /// Connected through Herald's built-in sandbox, which is off on this instance now.
    SandboxOff,
    /// Connected to the real platform, whose app credentials this instance no longer has.
    AppNotConfigured,
}

impl ReconnectReason {
    const ALL: [Self; 5] = [
        Self::Expired,
        Self::RevokedOnPlatform,
        Self::PermissionMissing,
        Self::SandboxOff,
        Self::AppNotConfigured,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::RevokedOnPlatform => "revoked_on_platform",
            Self::PermissionMissing => "permission_missing",
            Self::SandboxOff => "sandbox_off",
            Self::AppNotConfigured => "app_not_configured",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// What the person reads beside the reason.
    pub fn explain(self) -> &'static str {
        match self {
            Self::Expired => "The access token expired; reconnect the profile.",
            Self::RevokedOnPlatform => "Access was removed on the platform; reconnect the profile.",
            Self::PermissionMissing => "A permission Herald needs was not granted; reconnect and allow it.",
            Self::SandboxOff => {
                "This profile was connected through Herald's built-in sandbox, which is off on this instance: nothing is sent to the real platform for it. Connect the real account, or run Herald with the sandbox on."
            }
            Self::AppNotConfigured => {
                "This instance has no app credentials for this profile's platform any more: nothing is sent anywhere for it. Restore the credentials (docs/PLATFORMS.md) and it works again."
            }
        }
    }

    /// Whether the reason is this instance's configuration rather than the connection itself, so
    /// the profile works again, untouched, once the configuration matches it.
    pub fn is_configuration(self) -> bool {
        matches!(self, Self::SandboxOff | Self::AppNotConfigured)
    }
}

/// Who answers a login's calls on this instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Backend {
    /// The platform itself, with this instance's app credentials.
    Real,
    /// Herald's built-in sandbox.
    Sandbox,
    /// Neither: no app credentials and the sandbox off.
    Unconfigured,
}

/// Each login's backend on this instance.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Backends {
    by_login: Vec<(Login, Backend)>,
}

impl Backends {
    pub fn new(by_login: impl IntoIterator<Item = (Login, Backend)>) -> Self {
        Self {
            by_login: by_login.into_iter().collect(),
        }
    }

    pub fn get(&self, login: Login) -> Backend {
        self.by_login
            .iter()
            .find(|(l, _)| *l == login)
            .map_or(Backend::Unconfigured, |(_, b)| *b)
    }

    /// Why a profile (connected through `login`, sandbox-backed or not) cannot be used on this
    /// instance: its tokens must never reach another backend than the one that issued them.
    pub fn mismatch(&self, login: Login, sandbox: bool) -> Option<ReconnectReason> {
        match (sandbox, self.get(login)) {
            (true, Backend::Sandbox) | (false, Backend::Real) => None,
            (true, _) => Some(ReconnectReason::SandboxOff),
            (false, _) => Some(ReconnectReason::AppNotConfigured),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_used_only_with_the_backend_that_issued_it() {
        let b = Backends::new([
            (Login::Instagram, Backend::Real),
            (Login::Facebook, Backend::Sandbox),
        ]);
        assert_eq!(b.mismatch(Login::Instagram, false), None);
        assert_eq!(
            b.mismatch(Login::Instagram, true),
            Some(ReconnectReason::SandboxOff)
        );
        assert_eq!(b.mismatch(Login::Facebook, true), None);
        assert_eq!(
            b.mismatch(Login::Facebook, false),
            Some(ReconnectReason::AppNotConfigured)
        );
        let off = Backends::new([(Login::Facebook, Backend::Unconfigured)]);
        assert_eq!(
            off.mismatch(Login::Facebook, true),
            Some(ReconnectReason::SandboxOff)
        );
        assert_eq!(
            off.mismatch(Login::Instagram, false),
            Some(ReconnectReason::AppNotConfigured)
        );
        for r in ReconnectReason::ALL {
            assert_eq!(ReconnectReason::parse(r.as_str()), Some(r));
        }
    }
}

/// The kind of secret stored for a profile; part of the ciphertext's associated data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretKind {
    AccessToken,
    RefreshToken,
    /// The tokens of the profile's conversations login ([`crate::platform::Platform::conversations`]).
    ConversationsToken,
    ConversationsRefreshToken,
}

impl SecretKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AccessToken => "access_token",
            Self::RefreshToken => "refresh_token",
            Self::ConversationsToken => "conversations_token",
            Self::ConversationsRefreshToken => "conversations_refresh_token",
        }
    }
}
