//! The platforms Herald knows, the permissions it asks each for, and why.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Instagram,
    Facebook,
    Tiktok,
    Pinterest,
    Linkedin,
    X,
    Youtube,
    Snapchat,
}

/// Something Herald does on a profile that needs permissions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Feature {
    Publish,
    Comments,
    Metrics,
}

/// A permission Herald requests, with the reason shown to the person before consent.
#[derive(Debug, Clone, Serialize)]
pub struct Permission {
    pub scope: &'static str,
    pub reason: &'static str,
    /// Features that cannot work without this permission.
    pub needed_for: &'static [Feature],
}

impl Platform {
    pub const ALL: [Platform; 8] = [
        Self::Instagram,
        Self::Facebook,
        Self::Tiktok,
        Self::Pinterest,
        Self::Linkedin,
        Self::X,
        Self::Youtube,
        Self::Snapchat,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Instagram => "instagram",
            Self::Facebook => "facebook",
            Self::Tiktok => "tiktok",
            Self::Pinterest => "pinterest",
            Self::Linkedin => "linkedin",
            Self::X => "x",
            Self::Youtube => "youtube",
            Self::Snapchat => "snapchat",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    pub fn display_name(self) -> &'static str {
        match self {
            Self::Instagram => "Instagram",
            Self::Facebook => "Facebook Pages",
            Self::Tiktok => "TikTok",
            Self::Pinterest => "Pinterest",
            Self::Linkedin => "LinkedIn",
            Self::X => "X",
            Self::Youtube => "YouTube",
            Self::Snapchat => "Snapchat",
        }
    }

    /// Whether Herald can connect and publish to this platform yet.
    pub fn is_available(self) -> bool {
        matches!(self, Self::Instagram)
    }

    /// Whether the platform's authorization server accepts PKCE (S256), and if not, why.
    pub fn pkce(self) -> PkceSupport {
        match self {
            Self::Instagram => PkceSupport::Unsupported(
                "Instagram Login does not document PKCE; Herald relies on a single-use state and the app secret",
            ),
            Self::Facebook | Self::Tiktok | Self::X | Self::Youtube | Self::Linkedin => PkceSupport::S256,
            Self::Pinterest | Self::Snapchat => {
                PkceSupport::Unsupported("the platform does not document PKCE for web apps")
            }
        }
    }

    /// The permissions Herald asks for on this platform.
    pub fn permissions(self) -> &'static [Permission] {
        match self {
            Self::Instagram => INSTAGRAM_PERMISSIONS,
            _ => &[],
        }
    }

    /// Permissions a feature needs that `granted` lacks.
    pub fn missing_for<'a>(self, feature: Feature, granted: &[String]) -> Vec<&'a str>
    where
        Self: 'a,
    {
        self.permissions()
            .iter()
            .filter(|p| p.needed_for.contains(&feature))
            .filter(|p| !granted.iter().any(|g| g == p.scope))
            .map(|p| p.scope)
            .collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkceSupport {
    S256,
    Unsupported(&'static str),
}

const INSTAGRAM_PERMISSIONS: &[Permission] = &[
    Permission {
        scope: "instagram_business_basic",
        reason: "To read your Instagram account's id and username so Herald can show which account is connected.",
        needed_for: &[Feature::Publish, Feature::Comments, Feature::Metrics],
    },
    Permission {
        scope: "instagram_business_content_publish",
        reason: "To publish the posts you schedule, at the time you choose. Herald never posts anything you did not schedule.",
        needed_for: &[Feature::Publish],
    },
    Permission {
        scope: "instagram_business_manage_comments",
        reason: "To show the comments on your published posts and post the replies you write, as your account.",
        needed_for: &[Feature::Comments],
    },
    Permission {
        scope: "instagram_business_manage_insights",
        reason: "To show how your published posts perform (views, reach, likes, comments, shares, saves).",
        needed_for: &[Feature::Metrics],
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instagram_without_publish_permission_lacks_publish_but_not_metrics() {
        let granted = vec![
            "instagram_business_basic".to_owned(),
            "instagram_business_manage_insights".to_owned(),
        ];
        assert_eq!(
            Platform::Instagram.missing_for(Feature::Publish, &granted),
            ["instagram_business_content_publish"]
        );
        assert!(
            Platform::Instagram
                .missing_for(Feature::Metrics, &granted)
                .is_empty()
        );
    }

    #[test]
    fn platform_names_round_trip() {
        for p in Platform::ALL {
            assert_eq!(Platform::parse(p.as_str()), Some(p));
        }
    }
}
