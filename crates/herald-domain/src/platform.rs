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
    /// The kinds of profile it matters to (one login can connect several platforms' accounts).
    pub applies_to: &'static [Platform],
}

/// The OAuth login a profile was connected through: Instagram accounts can come through Instagram
/// Login or, linked to a Page, through Facebook Login.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Login {
    Instagram,
    Facebook,
    Tiktok,
    Pinterest,
    Linkedin,
    X,
    /// Google's OAuth, for YouTube channels.
    Youtube,
    /// TikTok's API for Business: no profiles of its own; a TikTok profile adds it to read and
    /// answer its comments (see [`Platform::conversations`]).
    TiktokBusiness,
    /// Snap's OAuth, for the Public Profiles a person manages.
    Snapchat,
}

impl Login {
    pub const ALL: [Login; 9] = [
        Self::Instagram,
        Self::Facebook,
        Self::Tiktok,
        Self::Pinterest,
        Self::Linkedin,
        Self::X,
        Self::Youtube,
        Self::TiktokBusiness,
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
            Self::TiktokBusiness => "tiktok_business",
            Self::Snapchat => "snapchat",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// The login's name as people read it ("log in with …").
    pub fn display_name(self) -> &'static str {
        match self {
            Self::Instagram => "Instagram",
            Self::Facebook => "Facebook",
            Self::Tiktok => "TikTok",
            Self::Pinterest => "Pinterest",
            Self::Linkedin => "LinkedIn",
            Self::X => "X",
            Self::Youtube => "YouTube",
            Self::TiktokBusiness => "TikTok for Business",
            Self::Snapchat => "Snapchat",
        }
    }

    /// Whether this login's tokens can be renewed without the person (Instagram Login's long-lived
    /// tokens refresh for another 60 days once a day old; Pinterest's 30-day and X's 2-hour access
    /// tokens, and TikTok's short ones, renew with a refresh token that rotates; LinkedIn's 60-day
    /// tokens with a refresh token
    /// where LinkedIn gave one (apps it approved for them), up to that token's fixed end; Facebook
    /// Login's grant ends when it ends; Google's one-hour tokens renew with a refresh token that
    /// does not rotate and lasts until it is revoked or unused for six months).
    ///
    /// A profile whose login renews with a refresh token but which holds none (LinkedIn without
    /// one) has no token end of its own: its grant's end is its reconnect-by date, so nothing here
    /// ever tries to renew it.
    ///
    /// TikTok for Business connects no profiles: its day-long tokens are renewed when comments
    /// are read or answered (its refresh token lasts a year).
    pub fn refreshes_tokens(self) -> bool {
        match self {
            Self::Instagram
            | Self::Tiktok
            | Self::Pinterest
            | Self::Linkedin
            | Self::X
            | Self::Youtube
            | Self::Snapchat => true,
            Self::Facebook | Self::TiktokBusiness => false,
        }
    }

    /// Whether renewing takes a refresh token rather than the access token itself: then an
    /// expired access token is renewed like any other, and only a refused renewal needs the person.
    pub fn renews_with_refresh_token(self) -> bool {
        matches!(
            self,
            Self::Tiktok
                | Self::Pinterest
                | Self::Linkedin
                | Self::X
                | Self::Youtube
                | Self::TiktokBusiness
                | Self::Snapchat
        )
    }

    /// Whether each renewal answers a new refresh token and the one used stops working (TikTok,
    /// Pinterest, X, Snap as Herald treats it): where a grant's accounts share one, a renewal is
    /// theirs all. Google's and LinkedIn's stay the same.
    pub fn rotates_refresh_tokens(self) -> bool {
        matches!(self, Self::Tiktok | Self::Pinterest | Self::X | Self::Snapchat)
    }

    /// How old a token must be before Herald renews it: Instagram renews only tokens a day old;
    /// Pinterest any, but an hour keeps a platform that hands out short tokens from being asked
    /// again and again (each refresh rotates its refresh token).
    pub fn refresh_min_age(self) -> jiff::SignedDuration {
        match self {
            Self::Instagram => jiff::SignedDuration::from_hours(24),
            Self::Pinterest => jiff::SignedDuration::from_hours(1),
            // X's two-hour tokens: renewed once half-way through; LinkedIn's 60-day ones within
            // the week before their end (never again once they end with the refresh token).
            Self::X | Self::Linkedin => jiff::SignedDuration::from_hours(1),
            // TikTok's access tokens last as long as its token endpoint says (two hours now, a
            // day in older documents): renewed once an hour old at most.
            Self::Tiktok | Self::TiktokBusiness => jiff::SignedDuration::from_hours(1),
            // Google's and Snap's one-hour tokens: renewed in their last twenty minutes.
            Self::Youtube | Self::Snapchat => jiff::SignedDuration::from_mins(40),
            Self::Facebook => jiff::SignedDuration::ZERO,
        }
    }

    /// Everything Herald asks for at this login.
    pub fn permissions(self) -> &'static [Permission] {
        match self {
            Self::Instagram => INSTAGRAM_PERMISSIONS,
            Self::Facebook => FACEBOOK_PERMISSIONS,
            Self::Tiktok => TIKTOK_PERMISSIONS,
            Self::Pinterest => PINTEREST_PERMISSIONS,
            Self::Linkedin => LINKEDIN_PERMISSIONS,
            Self::X => X_PERMISSIONS,
            Self::Youtube => YOUTUBE_PERMISSIONS,
            Self::TiktokBusiness => TIKTOK_BUSINESS_PERMISSIONS,
            Self::Snapchat => SNAPCHAT_PERMISSIONS,
        }
    }

    /// Whether the login takes PKCE (S256), and if not, why: TikTok's API for Business exchanges
    /// its codes without a verifier. A profile's own login answers as its platform does
    /// ([`Platform::pkce`]).
    pub fn pkce(self) -> PkceSupport {
        match self {
            Self::TiktokBusiness => PkceSupport::Unsupported(
                "TikTok's API for Business exchanges authorization codes without a PKCE verifier; Herald relies on a single-use state and the app secret",
            ),
            _ => self.platform_pkce(),
        }
    }

    fn platform_pkce(self) -> PkceSupport {
        Platform::ALL
            .into_iter()
            .find(|p| p.login() == Some(self))
            .map_or(PkceSupport::S256, Platform::pkce)
    }
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
        self.login().is_some()
    }

    /// The login that connects this platform's accounts, when Herald has one.
    pub fn login(self) -> Option<Login> {
        match self {
            Self::Instagram => Some(Login::Instagram),
            Self::Facebook => Some(Login::Facebook),
            Self::Tiktok => Some(Login::Tiktok),
            Self::Pinterest => Some(Login::Pinterest),
            Self::Linkedin => Some(Login::Linkedin),
            Self::X => Some(Login::X),
            Self::Youtube => Some(Login::Youtube),
            Self::Snapchat => Some(Login::Snapchat),
        }
    }

    /// The login a profile of this platform adds to read and answer comments, where the login
    /// that publishes has none: TikTok's Content Posting API has no comments, its API for Business
    /// (a separate app and authorization, Business accounts only) does.
    pub fn conversations(self) -> Option<Login> {
        match self {
            Self::Tiktok => Some(Login::TiktokBusiness),
            _ => None,
        }
    }

    /// Whether the platform's authorization server accepts PKCE (S256), and if not, why.
    pub fn pkce(self) -> PkceSupport {
        match self {
            Self::Instagram => PkceSupport::Unsupported(
                "Instagram Login does not document PKCE; Herald relies on a single-use state and the app secret",
            ),
            Self::Facebook | Self::Tiktok | Self::X | Self::Youtube => PkceSupport::S256,
            Self::Linkedin => PkceSupport::Unsupported(
                "LinkedIn takes PKCE only in its native-app flow (a loopback redirect), which it enables per app; a web app relies on a single-use state and the app secret",
            ),
            Self::Pinterest | Self::Snapchat => {
                PkceSupport::Unsupported("the platform does not document PKCE for web apps")
            }
        }
    }

    /// The permissions Herald asks for when connecting this platform.
    pub fn permissions(self) -> &'static [Permission] {
        self.login().map_or(&[], Login::permissions)
    }

    /// The permissions that matter to a profile of this platform connected through `login`.
    pub fn permissions_via(self, login: Login) -> impl Iterator<Item = &'static Permission> {
        login
            .permissions()
            .iter()
            .filter(move |p| p.applies_to.contains(&self))
    }

    /// Permissions a feature needs that `granted` lacks, for a profile connected through `login`.
    pub fn missing_for(self, login: Login, feature: Feature, granted: &[String]) -> Vec<&'static str> {
        self.permissions_via(login)
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
        applies_to: &[Platform::Instagram],
    },
    Permission {
        scope: "instagram_business_content_publish",
        reason: "To publish the posts you schedule, at the time you choose. Herald never posts anything you did not schedule.",
        needed_for: &[Feature::Publish],
        applies_to: &[Platform::Instagram],
    },
    Permission {
        scope: "instagram_business_manage_comments",
        reason: "To show the comments on your published posts and post the replies you write, as your account.",
        needed_for: &[Feature::Comments],
        applies_to: &[Platform::Instagram],
    },
    Permission {
        scope: "instagram_business_manage_insights",
        reason: "To show how your published posts perform (views, reach, likes, comments, shares, saves).",
        needed_for: &[Feature::Metrics],
        applies_to: &[Platform::Instagram],
    },
];

const PAGES_AND_INSTAGRAM: &[Platform] = &[Platform::Facebook, Platform::Instagram];

/// Facebook Login: Pages, and the Instagram accounts linked to them (Pages API and Instagram Graph
/// API with Facebook Login permission references).
const FACEBOOK_PERMISSIONS: &[Permission] = &[
    Permission {
        scope: "pages_show_list",
        reason: "To list the Pages you manage, so you choose which of them (and their Instagram accounts) Herald may use.",
        needed_for: &[Feature::Publish, Feature::Comments, Feature::Metrics],
        applies_to: PAGES_AND_INSTAGRAM,
    },
    Permission {
        scope: "pages_read_engagement",
        reason: "To read your Pages' posts, so Herald can confirm what it published and never posts twice.",
        needed_for: &[Feature::Publish, Feature::Comments, Feature::Metrics],
        applies_to: PAGES_AND_INSTAGRAM,
    },
    Permission {
        scope: "pages_manage_posts",
        reason: "To publish the posts you schedule on your Pages, at the time you choose.",
        needed_for: &[Feature::Publish],
        applies_to: &[Platform::Facebook],
    },
    Permission {
        scope: "pages_read_user_content",
        reason: "To show the comments people leave on your Pages' posts.",
        needed_for: &[Feature::Comments],
        applies_to: &[Platform::Facebook],
    },
    Permission {
        scope: "pages_manage_engagement",
        reason: "To post the replies you write to comments on your Pages, as the Page.",
        needed_for: &[Feature::Comments],
        applies_to: &[Platform::Facebook],
    },
    Permission {
        scope: "read_insights",
        reason: "To show how your Pages' posts perform (views, reach, reactions, comments, shares).",
        needed_for: &[Feature::Metrics],
        applies_to: &[Platform::Facebook],
    },
    Permission {
        scope: "instagram_basic",
        reason: "To see the Instagram accounts linked to your Pages, so you can connect them too.",
        needed_for: &[Feature::Publish, Feature::Comments, Feature::Metrics],
        applies_to: &[Platform::Instagram],
    },
    Permission {
        scope: "instagram_content_publish",
        reason: "To publish the posts you schedule on those Instagram accounts.",
        needed_for: &[Feature::Publish],
        applies_to: &[Platform::Instagram],
    },
    Permission {
        scope: "instagram_manage_comments",
        reason: "To show and answer the comments on those Instagram accounts' posts.",
        needed_for: &[Feature::Comments],
        applies_to: &[Platform::Instagram],
    },
    Permission {
        scope: "instagram_manage_insights",
        reason: "To show how those Instagram accounts' posts perform.",
        needed_for: &[Feature::Metrics],
        applies_to: &[Platform::Instagram],
    },
];

/// Pinterest API v5 scopes (the OAuth scopes reference); Herald asks for no `*_secret` scope, so
/// secret boards are neither listed nor published to.
const PINTEREST_PERMISSIONS: &[Permission] = &[
    Permission {
        scope: "user_accounts:read",
        reason: "To read your Pinterest account's id and username so Herald can show which account is connected.",
        needed_for: &[Feature::Publish, Feature::Metrics],
        applies_to: &[Platform::Pinterest],
    },
    Permission {
        scope: "boards:read",
        reason: "To list your boards and their sections, so you choose where each pin goes, and to find a pin after an interrupted publish so it is never made twice.",
        needed_for: &[Feature::Publish, Feature::Metrics],
        applies_to: &[Platform::Pinterest],
    },
    Permission {
        scope: "boards:write",
        reason: "Pinterest requires it to add a pin to one of your boards.",
        needed_for: &[Feature::Publish],
        applies_to: &[Platform::Pinterest],
    },
    Permission {
        scope: "pins:read",
        reason: "To read your published pins and how they perform (impressions, saves, clicks, reactions, comments).",
        needed_for: &[Feature::Publish, Feature::Metrics],
        applies_to: &[Platform::Pinterest],
    },
    Permission {
        scope: "pins:write",
        reason: "To publish the pins you schedule, at the time you choose. Herald never pins anything you did not schedule.",
        needed_for: &[Feature::Publish],
        applies_to: &[Platform::Pinterest],
    },
];

/// LinkedIn's OAuth scopes (Sign In with LinkedIn using OpenID Connect, Share on LinkedIn, and the
/// Community Management API's organization permissions).
const LINKEDIN_PERMISSIONS: &[Permission] = &[
    Permission {
        scope: "openid",
        reason: "LinkedIn requires it to say who you are when you sign in.",
        needed_for: &[Feature::Publish],
        applies_to: &[Platform::Linkedin],
    },
    Permission {
        scope: "profile",
        reason: "To read your name and LinkedIn member id, so Herald can show which member is connected and publish as you.",
        needed_for: &[Feature::Publish],
        applies_to: &[Platform::Linkedin],
    },
    Permission {
        scope: "w_member_social",
        reason: "To publish the posts you schedule as yourself, at the time you choose. Herald never posts anything you did not schedule.",
        needed_for: &[Feature::Publish],
        applies_to: &[Platform::Linkedin],
    },
    Permission {
        scope: "rw_organization_admin",
        reason: "To list the LinkedIn Pages you administer, so you choose which of them Herald may use, and to read their posts' statistics.",
        needed_for: &[Feature::Metrics],
        applies_to: &[Platform::Linkedin],
    },
    Permission {
        scope: "w_organization_social",
        reason: "To publish the posts you schedule as your Pages, and the replies you write to their comments.",
        needed_for: &[Feature::Publish, Feature::Comments],
        applies_to: &[Platform::Linkedin],
    },
    Permission {
        scope: "r_organization_social",
        reason: "To read your Pages' posts and their comments, so Herald can confirm what it published and never posts twice, and show the comments.",
        needed_for: &[Feature::Comments],
        applies_to: &[Platform::Linkedin],
    },
];

/// Snap's OAuth scope for the Public Profile API (Snap's authentication guide): one scope for
/// everything Herald does with Public Profiles.
const SNAPCHAT_PERMISSIONS: &[Permission] = &[Permission {
    scope: "snapchat-profile-api",
    reason: "To list the Public Profiles you manage, so you choose which Herald may use, publish the Stories, Saved Stories and Spotlights you schedule on them, and read how they perform.",
    needed_for: &[Feature::Publish, Feature::Metrics],
    applies_to: &[Platform::Snapchat],
}];

/// TikTok API for Business scopes a TikTok profile adds for its comments (the TikTok Accounts
/// authorization guide): only what reading and answering comments takes.
const TIKTOK_BUSINESS_PERMISSIONS: &[Permission] = &[
    Permission {
        scope: "user.info.basic",
        reason: "To read your TikTok account's name, so Herald shows which account answers comments.",
        needed_for: &[Feature::Comments],
        applies_to: &[Platform::Tiktok],
    },
    Permission {
        scope: "user.info.username",
        reason: "To read your account's @username, shown beside the comments Herald answers as you.",
        needed_for: &[Feature::Comments],
        applies_to: &[Platform::Tiktok],
    },
    Permission {
        scope: "user.account.type",
        reason: "To know whether your account is a Business account: TikTok has comments in its API only for those.",
        needed_for: &[Feature::Comments],
        applies_to: &[Platform::Tiktok],
    },
    Permission {
        scope: "comment.list",
        reason: "To show the comments people leave on the videos Herald published for you.",
        needed_for: &[Feature::Comments],
        applies_to: &[Platform::Tiktok],
    },
    Permission {
        scope: "comment.list.manage",
        reason: "To post the replies you write to those comments, as your account.",
        needed_for: &[Feature::Comments],
        applies_to: &[Platform::Tiktok],
    },
];

/// TikTok Login Kit scopes (the scopes reference). `video.upload` (drafts sent to the creator's
/// inbox) is not asked for: Herald posts directly.
const TIKTOK_PERMISSIONS: &[Permission] = &[
    Permission {
        scope: "user.info.basic",
        reason: "To read your TikTok account's id and name so Herald can show which account is connected.",
        needed_for: &[Feature::Publish, Feature::Metrics],
        applies_to: &[Platform::Tiktok],
    },
    Permission {
        scope: "video.publish",
        reason: "To post the videos and photos you schedule directly to your account, at the time you choose, with the privacy you choose.",
        needed_for: &[Feature::Publish],
        applies_to: &[Platform::Tiktok],
    },
    Permission {
        scope: "video.list",
        reason: "To read your public videos, so Herald can confirm what it published and never posts twice, and show their views, likes, comments and shares.",
        needed_for: &[Feature::Metrics],
        applies_to: &[Platform::Tiktok],
    },
];

/// Google's OAuth scopes for the YouTube Data API v3 (its discovery document): the narrowest
/// that publish (`youtube.upload`), read (`youtube.readonly`) and answer comments
/// (`youtube.force-ssl`, the only scope `commentThreads` and `comments` take).
const YOUTUBE_PERMISSIONS: &[Permission] = &[
    Permission {
        scope: "https://www.googleapis.com/auth/youtube.readonly",
        reason: "To read your channel's id and name so Herald can show which channel is connected, to confirm what it published (your uploads) so it never posts twice, and to show your videos' views, likes and comments.",
        needed_for: &[Feature::Publish, Feature::Metrics],
        applies_to: &[Platform::Youtube],
    },
    Permission {
        scope: "https://www.googleapis.com/auth/youtube.upload",
        reason: "To upload the videos you schedule, at the time you choose, with their title, description, privacy and thumbnail. Herald never uploads anything you did not schedule.",
        needed_for: &[Feature::Publish],
        applies_to: &[Platform::Youtube],
    },
    Permission {
        scope: "https://www.googleapis.com/auth/youtube.force-ssl",
        reason: "To show the comments on your videos and post the replies you write, as your channel (YouTube has no narrower permission for comments).",
        needed_for: &[Feature::Comments],
        applies_to: &[Platform::Youtube],
    },
];

/// X API v2 OAuth 2.0 scopes (the authorization-code guide); `offline.access` is what gives a
/// refresh token.
const X_PERMISSIONS: &[Permission] = &[
    Permission {
        scope: "users.read",
        reason: "To read your X account's id and username so Herald can show which account is connected.",
        needed_for: &[Feature::Publish, Feature::Comments, Feature::Metrics],
        applies_to: &[Platform::X],
    },
    Permission {
        scope: "tweet.read",
        reason: "To read your posts, so Herald can confirm what it published and never posts twice, and show their replies and metrics.",
        needed_for: &[Feature::Publish, Feature::Comments, Feature::Metrics],
        applies_to: &[Platform::X],
    },
    Permission {
        scope: "tweet.write",
        reason: "To publish the posts you schedule, and the replies you write, at the time you choose.",
        needed_for: &[Feature::Publish, Feature::Comments],
        applies_to: &[Platform::X],
    },
    Permission {
        scope: "media.write",
        reason: "To upload the images and videos of your posts.",
        needed_for: &[Feature::Publish],
        applies_to: &[Platform::X],
    },
    Permission {
        scope: "offline.access",
        reason: "To keep access after X's two-hour tokens end, without asking you to log in again.",
        needed_for: &[Feature::Publish, Feature::Comments, Feature::Metrics],
        applies_to: &[Platform::X],
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
            Platform::Instagram.missing_for(Login::Instagram, Feature::Publish, &granted),
            ["instagram_business_content_publish"]
        );
        assert!(
            Platform::Instagram
                .missing_for(Login::Instagram, Feature::Metrics, &granted)
                .is_empty()
        );
    }

    #[test]
    fn a_facebook_grant_judges_pages_and_linked_instagram_accounts_by_their_own_permissions() {
        let granted: Vec<String> = [
            "pages_show_list",
            "pages_read_engagement",
            "pages_manage_posts",
            "instagram_basic",
        ]
        .map(str::to_owned)
        .to_vec();
        assert!(
            Platform::Facebook
                .missing_for(Login::Facebook, Feature::Publish, &granted)
                .is_empty()
        );
        assert_eq!(
            Platform::Instagram.missing_for(Login::Facebook, Feature::Publish, &granted),
            ["instagram_content_publish"]
        );
    }

    #[test]
    fn platform_names_round_trip() {
        for p in Platform::ALL {
            assert_eq!(Platform::parse(p.as_str()), Some(p));
        }
    }
}
