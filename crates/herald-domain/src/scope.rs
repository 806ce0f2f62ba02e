//! What a scoped API token may do in its one workspace, and the least role each scope needs: a
//! token never holds more than its user's role allows.

use std::fmt;
use std::str::FromStr;

use crate::Role;

/// One permission of a scoped API token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    PostsRead,
    PostsWrite,
    PostsApprove,
    ProfilesRead,
    ProfilesWrite,
    MediaWrite,
    EngagementRead,
    EngagementWrite,
    AnalyticsRead,
    MembersWrite,
    SettingsWrite,
    Export,
    AuditRead,
}

impl Scope {
    pub const ALL: [Scope; 13] = [
        Scope::PostsRead,
        Scope::PostsWrite,
        Scope::PostsApprove,
        Scope::ProfilesRead,
        Scope::ProfilesWrite,
        Scope::MediaWrite,
        Scope::EngagementRead,
        Scope::EngagementWrite,
        Scope::AnalyticsRead,
        Scope::MembersWrite,
        Scope::SettingsWrite,
        Scope::Export,
        Scope::AuditRead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::PostsRead => "posts:read",
            Scope::PostsWrite => "posts:write",
            Scope::PostsApprove => "posts:approve",
            Scope::ProfilesRead => "profiles:read",
            Scope::ProfilesWrite => "profiles:write",
            Scope::MediaWrite => "media:write",
            Scope::EngagementRead => "engagement:read",
            Scope::EngagementWrite => "engagement:write",
            Scope::AnalyticsRead => "analytics:read",
            Scope::MembersWrite => "members:write",
            Scope::SettingsWrite => "settings:write",
            Scope::Export => "export",
            Scope::AuditRead => "audit:read",
        }
    }

    /// The least role whose member may hold it.
    pub fn min_role(self) -> Role {
        match self {
            Scope::PostsRead | Scope::ProfilesRead | Scope::EngagementRead | Scope::AnalyticsRead => {
                Role::Viewer
            }
            Scope::PostsWrite | Scope::MediaWrite | Scope::EngagementWrite => Role::Editor,
            Scope::PostsApprove
            | Scope::ProfilesWrite
            | Scope::MembersWrite
            | Scope::SettingsWrite
            | Scope::AuditRead => Role::Admin,
            Scope::Export => Role::Owner,
        }
    }

    /// What it lets a token do, for the page that makes one.
    pub fn describe(self) -> &'static str {
        match self {
            Scope::PostsRead => "read posts, drafts, media and notifications",
            Scope::PostsWrite => "schedule, edit and cancel posts and drafts",
            Scope::PostsApprove => "approve or reject posts waiting for approval",
            Scope::ProfilesRead => "read profiles and connections",
            Scope::ProfilesWrite => "connect and disconnect profiles",
            Scope::MediaWrite => "upload media",
            Scope::EngagementRead => "read comments",
            Scope::EngagementWrite => "reply to comments",
            Scope::AnalyticsRead => "read metrics",
            Scope::MembersWrite => "read and manage members and invitations",
            Scope::SettingsWrite => "change the workspace's settings",
            Scope::Export => "download the workspace's export",
            Scope::AuditRead => "read the workspace's audit log",
        }
    }

    /// The scopes a member with `role` may give a token.
    pub fn allowed_for(role: Role) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| s.min_role() <= role)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a scope: use posts:read, posts:write, posts:approve, profiles:read, profiles:write, media:write, engagement:read, engagement:write, analytics:read, members:write, settings:write, export or audit:read"
)]
pub struct UnknownScope(pub String);

impl FromStr for Scope {
    type Err = UnknownScope;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scope::ALL
            .into_iter()
            .find(|x| x.as_str() == s)
            .ok_or_else(|| UnknownScope(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_round_trip_through_their_names_and_a_viewer_may_give_only_reads() {
        for s in Scope::ALL {
            assert_eq!(s.as_str().parse::<Scope>(), Ok(s));
        }
        assert!("posts:delete".parse::<Scope>().is_err());
        let viewer: Vec<_> = Scope::allowed_for(Role::Viewer).collect();
        assert!(
            viewer
                .iter()
                .all(|s| s.as_str().ends_with(":read") && *s != Scope::AuditRead)
        );
        assert_eq!(Scope::allowed_for(Role::Owner).count(), Scope::ALL.len());
        assert!(!Scope::allowed_for(Role::Admin).any(|s| s == Scope::Export));
    }
}
