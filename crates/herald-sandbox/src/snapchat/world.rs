//! The state of the emulated Snapchat: the one Snapchat user, the organizations and the Public
//! Profiles (two the user manages, one it does not), grants, codes, access and rotating refresh
//! tokens, media being uploaded (the decryption under way, never the key), what was posted
//! (Stories, Saved Stories, Spotlights), the rate windows, and the switches the control API sets.

use std::collections::{HashMap, VecDeque};

use jiff::{SignedDuration, Timestamp};

use super::assets::{Media, SavedStory, Spotlight, Story};
use crate::bounded::Bounded;

/// The Snapchat user who logs in, and the organization whose Public Profiles it manages.
pub(crate) const USER: &str = "8d3f3c2a-5b1e-4f7a-9c0d-1a2b3c4d5e01";
pub(crate) const ORGANIZATION: &str = "2f6e1d4c-3b2a-4e19-8f70-6a5b4c3d2e01";
/// Another organization, with a Public Profile the user does not manage (a 403 to ask about).
pub(crate) const OTHER_ORGANIZATION: &str = "2f6e1d4c-3b2a-4e19-8f70-6a5b4c3d2e02";
/// The Public Profiles: two the user manages, one it does not.
pub(crate) const SNACKS: &str = "c0ffee00-5a4d-4b0c-8a11-5a4d0b0c5a01";
pub(crate) const STREET: &str = "c0ffee00-5a4d-4b0c-8a11-5a4d0b0c5a02";
pub(crate) const ELSEWHERE: &str = "c0ffee00-5a4d-4b0c-8a11-5a4d0b0c5a03";

/// How long the sandbox remembers media past its expiry (a late post answers `MEDIA_EXPIRED`, not
/// "unknown"), and the most it keeps at once (the oldest go first).
const MEDIA_KEPT: SignedDuration = SignedDuration::from_hours(8 * 24);
const MAX_MEDIA: usize = 10_000;
/// The most Stories, Saved Stories and Spotlights kept of each (the oldest are dropped; no test
/// comes near).
const MAX_POSTS: usize = 100_000;
/// The rate windows kept before the idle ones are swept.
const MAX_WINDOWS: usize = 4096;

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct User {
    pub id: String,
    pub display_name: String,
    pub email: String,
    pub organization_id: String,
    /// The Public Profile of the user's own Snapchat account (`my_profile`).
    pub own_profile: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Organization {
    pub id: String,
    pub name: String,
    pub country: String,
    /// The users who are members (admins) of it.
    pub members: Vec<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Profile {
    pub id: String,
    pub organization_id: String,
    pub display_name: String,
    pub snap_user_name: String,
    pub description: String,
    pub website: String,
    pub subscriber_count: u64,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub(crate) struct Code {
    pub client_id: String,
    pub redirect_uri: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    /// A PKCE challenge and its method, when the app sent one (Snap documents none for this flow).
    pub challenge: Option<(String, String)>,
    pub expires_at: Timestamp,
    pub used: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Kind {
    Access,
    Refresh,
}

#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub user_id: String,
    pub client_id: String,
    pub scopes: Vec<String>,
    pub kind: Kind,
    pub issued_at: Timestamp,
    /// `None`: a refresh token not yet used (it lasts until it is used or revoked).
    pub expires_at: Option<Timestamp>,
}

impl Token {
    pub fn live(&self, now: Timestamp) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// What the control API switches: the allow-list, the refresh tokens' grace, and faults of Snap's
/// own kinds (media still processing, a failed Saved Story item, a rejected Spotlight).
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Settings {
    /// Whether Snap allow-listed the app; when not, every API call is a 403 with an empty body
    /// [3p: C4's production observation].
    pub allow_listed: bool,
    /// How long a used refresh token keeps working after it was rotated (0: not at all).
    pub refresh_grace_seconds: u64,
    /// How many coming posts answer `MEDIA_PROCESSING` whatever the media's state.
    pub media_processing: u32,
    /// How many coming Saved Story items fail (`sub_request_status: ERROR` in a 200 `PARTIAL`).
    pub saved_story_failures: u32,
    /// Whether review rejects the Spotlights posted from now on.
    pub reject_spotlights: bool,
}

/// Everything the emulated Snapchat knows.
pub(crate) struct World {
    pub users: Vec<User>,
    pub organizations: Vec<Organization>,
    pub profiles: Vec<Profile>,
    /// (client id, user id) → granted scopes.
    pub grants: HashMap<(String, String), Vec<String>>,
    pub codes: HashMap<String, Code>,
    pub tokens: HashMap<String, Token>,
    pub media: HashMap<String, Media>,
    pub stories: Bounded<Story>,
    pub saved_stories: Bounded<SavedStory>,
    pub spotlights: Bounded<Spotlight>,
    pub settings: Settings,
    /// When the calls of the last second were admitted: per token fingerprint, and per app.
    windows: HashMap<String, VecDeque<Timestamp>>,
}

/// A random id in the form of a version 4 UUID, as Snap's ids are.
pub(crate) fn uuid() -> String {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).expect("randomness");
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

impl World {
    pub fn seeded() -> Self {
        let at = |s: &str| s.parse::<Timestamp>().unwrap_or_default();
        let profile =
            |id: &str, org: &str, name: &str, handle: &str, description: &str, subscribers| Profile {
                id: id.into(),
                organization_id: org.into(),
                display_name: name.into(),
                snap_user_name: handle.into(),
                description: description.into(),
                website: format!("https://{handle}.example"),
                subscriber_count: subscribers,
                created_at: at("2021-03-15T09:00:00Z"),
            };
        Self {
            users: vec![User {
                id: USER.into(),
                display_name: "Sandy Box".into(),
                email: "sandy@sandboxsnacks.example".into(),
                organization_id: ORGANIZATION.into(),
                own_profile: SNACKS.into(),
                created_at: at("2020-06-01T12:00:00Z"),
            }],
            organizations: vec![
                Organization {
                    id: ORGANIZATION.into(),
                    name: "Sandbox Foods".into(),
                    country: "US".into(),
                    members: vec![USER.into()],
                    created_at: at("2020-06-01T12:00:00Z"),
                },
                Organization {
                    id: OTHER_ORGANIZATION.into(),
                    name: "Elsewhere Media".into(),
                    country: "GB".into(),
                    members: Vec::new(),
                    created_at: at("2019-01-10T08:00:00Z"),
                },
            ],
            profiles: vec![
                profile(
                    SNACKS,
                    ORGANIZATION,
                    "Sandbox Snacks",
                    "sandboxsnacks",
                    "Snacks from the sandbox.",
                    12_345,
                ),
                profile(
                    STREET,
                    ORGANIZATION,
                    "Sandbox Street",
                    "sandboxstreet",
                    "Street food nobody ate.",
                    4_321,
                ),
                profile(
                    ELSEWHERE,
                    OTHER_ORGANIZATION,
                    "Elsewhere",
                    "elsewheremedia",
                    "Not yours.",
                    99_000,
                ),
            ],
            grants: HashMap::new(),
            codes: HashMap::new(),
            tokens: HashMap::new(),
            media: HashMap::new(),
            stories: Bounded::new(MAX_POSTS),
            saved_stories: Bounded::new(MAX_POSTS),
            spotlights: Bounded::new(MAX_POSTS),
            settings: Settings {
                allow_listed: true,
                refresh_grace_seconds: 0,
                media_processing: 0,
                saved_story_failures: 0,
                reject_spotlights: false,
            },
            windows: HashMap::new(),
        }
    }

    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn profile(&self, id: &str) -> Option<&Profile> {
        self.profiles.iter().find(|p| p.id == id)
    }

    /// Whether `user_id` is a member of the organization.
    pub fn member(&self, user_id: &str, organization_id: &str) -> bool {
        self.organizations
            .iter()
            .any(|o| o.id == organization_id && o.members.iter().any(|m| m == user_id))
    }

    /// Whether `user_id` manages the Public Profile: it is a member of the profile's organization.
    pub fn manages(&self, user_id: &str, profile_id: &str) -> bool {
        self.profile(profile_id)
            .is_some_and(|p| self.member(user_id, &p.organization_id))
    }

    /// The Public Profiles `user_id` manages.
    pub fn managed(&self, user_id: &str) -> Vec<&Profile> {
        self.profiles
            .iter()
            .filter(|p| self.member(user_id, &p.organization_id))
            .collect()
    }

    pub fn add_code(&mut self, code: String, c: Code, now: Timestamp) {
        crate::bounded::add_code(&mut self.codes, (code, c), now, |c| c.expires_at);
    }

    pub fn add_token(&mut self, token: String, t: Token, now: Timestamp) {
        let expires = |t: &Token| t.expires_at.unwrap_or(Timestamp::MAX);
        crate::bounded::add_token(&mut self.tokens, (token, t), now, expires);
    }

    /// Records media, forgetting media long expired (and the oldest beyond [`MAX_MEDIA`]).
    pub fn add_media(&mut self, m: Media, now: Timestamp) {
        self.media.retain(|_, o| o.expires_at() + MEDIA_KEPT > now);
        while self.media.len() >= MAX_MEDIA {
            let Some(oldest) = self
                .media
                .values()
                .min_by_key(|o| o.created_at)
                .map(|o| o.id.clone())
            else {
                break;
            };
            self.media.remove(&oldest);
        }
        self.media.insert(m.id.clone(), m);
    }

    /// Counts a call against the token's and the app's calls per second; `false` (not counted)
    /// when either is used up.
    pub fn admit_rate(
        &mut self,
        token: &str,
        app: &str,
        (per_token, per_app): (usize, usize),
        now: Timestamp,
    ) -> bool {
        let second_ago = now - SignedDuration::from_secs(1);
        if self.windows.len() >= MAX_WINDOWS {
            self.windows
                .retain(|_, w| w.back().is_some_and(|at| *at > second_ago));
        }
        let keys = [
            (format!("token:{token}"), per_token),
            (format!("app:{app}"), per_app),
        ];
        for (key, limit) in &keys {
            let w = self.windows.entry(key.clone()).or_default();
            while w.front().is_some_and(|at| *at <= second_ago) {
                w.pop_front();
            }
            if w.len() >= *limit {
                return false;
            }
        }
        for (key, _) in keys {
            self.windows.entry(key).or_default().push_back(now);
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_form_of_uuids() {
        let id = uuid();
        let groups: Vec<usize> = id.split('-').map(str::len).collect();
        assert_eq!(groups, vec![8, 4, 4, 4, 12]);
        assert_eq!(&id[14..15], "4");
    }

    #[test]
    fn the_user_manages_two_public_profiles_and_not_the_third() {
        let w = World::seeded();
        let mine: Vec<&str> = w.managed(USER).iter().map(|p| p.id.as_str()).collect();
        assert_eq!(mine, vec![SNACKS, STREET]);
        assert!(!w.manages(USER, ELSEWHERE));
    }

    #[test]
    fn a_token_gets_its_calls_per_second_and_the_app_its_own() {
        let mut w = World::seeded();
        let now: Timestamp = "2026-11-30T10:00:00Z".parse().unwrap();
        for _ in 0..3 {
            assert!(w.admit_rate("a", "app", (3, 5), now));
        }
        assert!(
            !w.admit_rate("a", "app", (3, 5), now),
            "the token's fourth in a second"
        );
        assert!(w.admit_rate("b", "app", (3, 5), now));
        assert!(w.admit_rate("b", "app", (3, 5), now));
        assert!(
            !w.admit_rate("b", "app", (3, 5), now),
            "the app's sixth in a second"
        );
        let later = now + SignedDuration::from_millis(1001);
        assert!(w.admit_rate("a", "app", (3, 5), later), "a second later");
    }
}
