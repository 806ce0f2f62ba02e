//! The registry: built once at start-up from configuration, it is the only code outside the
//! platform modules that names platforms. Everything else asks it for a login's [`Connector`] or
//! a platform's [`Publisher`]; a platform without a publisher is an error, never a fallback.

use std::collections::HashMap;
use std::sync::Arc;

use herald_domain::platform::{Login, Platform};
use secrecy::SecretString;
use url::Url;

use crate::PlatformError;
use crate::adapter::{Connector, Publisher};
use crate::facebook::{Facebook, FacebookConfig};
use crate::instagram::{Instagram, InstagramConfig};
use crate::linkedin::{Linkedin, LinkedinConfig};
use crate::pinterest::{Pinterest, PinterestConfig};
use crate::snapchat::{Snapchat, SnapchatConfig};
use crate::tiktok::{Tiktok, TiktokBusiness, TiktokBusinessConfig, TiktokConfig};
use crate::x::{X, XConfig};
use crate::youtube::{Youtube, YoutubeConfig};

/// The hosts a login's API lives on, by their real names: the consent page, the API host that
/// takes uploads or code exchanges, and the Graph host. The sandbox serves each under
/// `/{host}` of Herald's own address.
#[derive(Debug, Clone, Copy)]
pub struct Hosts {
    pub www: &'static str,
    pub api: &'static str,
    pub graph: &'static str,
}

impl Hosts {
    /// Each distinct host with the part it plays (`www`, `api`, `graph`): a login whose API has
    /// one host (Pinterest) names it once.
    pub fn each(&self) -> Vec<(&'static str, &'static str)> {
        let mut out = vec![("www", self.www), ("api", self.api)];
        if self.graph != self.api {
            out.push(("graph", self.graph));
        }
        out
    }
}

/// A login's app at its platform, and where its hosts are reached.
#[derive(Clone)]
pub struct App {
    pub client_id: String,
    pub client_secret: SecretString,
    pub www_base: Url,
    pub api_base: Url,
    pub graph_base: Url,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("client_id", &self.client_id)
            .field("graph_base", &self.graph_base.as_str())
            .finish_non_exhaustive()
    }
}

impl App {
    /// The app reached at the login's real hosts.
    pub fn real(login: Login, client_id: String, client_secret: SecretString) -> Self {
        Self::under(login, client_id, client_secret, None)
    }

    /// The app reached through a server that mounts each real host under `/{host}` (the sandbox).
    pub fn under(login: Login, client_id: String, client_secret: SecretString, base: Option<&Url>) -> Self {
        let h = Registry::hosts(login);
        let at = |host: &str| match base {
            Some(b) => {
                let mut u = b.clone();
                let path = u.path().trim_end_matches('/').to_owned();
                u.set_path(&format!("{path}/{host}"));
                u
            }
            None => Url::parse(&format!("https://{host}")).expect("hosts make URLs"),
        };
        Self {
            client_id,
            client_secret,
            www_base: at(h.www),
            api_base: at(h.api),
            graph_base: at(h.graph),
        }
    }
}

/// Every login's app, the Graph API version Meta's adapters speak, and whether Herald's media
/// links are on a domain the platforms that ask for one have verified (TikTok pulls videos then).
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    pub apps: HashMap<Login, App>,
    pub graph_version: String,
    pub media_domain_verified: bool,
}

/// The logins and platforms Herald can use, each behind the platform interface.
#[derive(Clone)]
pub struct Registry {
    connectors: HashMap<Login, Arc<dyn Connector>>,
    publishers: HashMap<Platform, Arc<dyn Publisher>>,
}

impl Registry {
    /// The real hosts of each login.
    pub fn hosts(login: Login) -> Hosts {
        match login {
            Login::Instagram => Hosts {
                www: "www.instagram.com",
                api: "api.instagram.com",
                graph: "graph.instagram.com",
            },
            Login::Facebook => Hosts {
                www: "www.facebook.com",
                api: "rupload.facebook.com",
                graph: "graph.facebook.com",
            },
            // Pinterest has one API host (the upload host is named by each registration).
            Login::Pinterest => Hosts {
                www: "www.pinterest.com",
                api: "api.pinterest.com",
                graph: "api.pinterest.com",
            },
            // LinkedIn's consent page and token endpoints are on www, the API on api.
            Login::Linkedin => Hosts {
                www: "www.linkedin.com",
                api: "api.linkedin.com",
                graph: "api.linkedin.com",
            },
            // TikTok's consent page is on www, the API and token endpoints on open.tiktokapis.com
            // (the upload host is named by each upload).
            Login::Tiktok => Hosts {
                www: "www.tiktok.com",
                api: "open.tiktokapis.com",
                graph: "open.tiktokapis.com",
            },
            Login::X => Hosts {
                www: "x.com",
                api: "api.x.com",
                graph: "api.x.com",
            },
            // Google's consent page, its token endpoints, and the Data API (uploads included).
            Login::Youtube => Hosts {
                www: "accounts.google.com",
                api: "oauth2.googleapis.com",
                graph: "www.googleapis.com",
            },
            // Snap's consent page and token endpoints, and the Public Profile API.
            Login::Snapchat => Hosts {
                www: "accounts.snapchat.com",
                api: "businessapi.snapchat.com",
                graph: "businessapi.snapchat.com",
            },
            // TikTok's consent page, and the API for Business (tokens and comments).
            Login::TiktokBusiness => Hosts {
                www: "www.tiktok.com",
                api: "business-api.tiktok.com",
                graph: "business-api.tiktok.com",
            },
        }
    }

    /// Builds every adapter; fails when a login has no app configured.
    pub fn new(config: &RegistryConfig) -> Result<Self, String> {
        let app = |l: Login| {
            config
                .apps
                .get(&l)
                .cloned()
                .ok_or_else(|| format!("no app is configured for {} Login", l.display_name()))
        };
        let (x_app, li, tt) = (app(Login::X)?, app(Login::Linkedin)?, app(Login::Tiktok)?);
        let (yt, tb, sc) = (
            app(Login::Youtube)?,
            app(Login::TiktokBusiness)?,
            app(Login::Snapchat)?,
        );
        let (ig, fb, pin) = (
            app(Login::Instagram)?,
            app(Login::Facebook)?,
            app(Login::Pinterest)?,
        );
        let version = config.graph_version.clone();
        let facebook = Arc::new(Facebook::new(
            FacebookConfig {
                client_id: fb.client_id,
                client_secret: fb.client_secret,
                www_base: fb.www_base,
                graph_base: fb.graph_base,
                rupload_base: fb.api_base,
                graph_version: version.clone(),
            },
            crate::http_client(),
        ));
        let instagram = Arc::new(Instagram::new(
            InstagramConfig {
                client_id: ig.client_id,
                client_secret: ig.client_secret,
                www_base: ig.www_base,
                api_base: ig.api_base,
                graph_base: ig.graph_base,
                graph_version: version,
            },
            facebook.graph_base().clone(),
            crate::http_client(),
        ));
        let pinterest = Arc::new(Pinterest::new(
            PinterestConfig {
                client_id: pin.client_id,
                client_secret: pin.client_secret,
                www_base: pin.www_base,
                api_base: pin.api_base,
            },
            crate::http_client(),
        ));
        let x = Arc::new(X::new(
            XConfig {
                client_id: x_app.client_id,
                client_secret: x_app.client_secret,
                www_base: x_app.www_base,
                api_base: x_app.api_base,
            },
            crate::http_client(),
        ));
        let linkedin = Arc::new(Linkedin::new(
            LinkedinConfig {
                client_id: li.client_id,
                client_secret: li.client_secret,
                www_base: li.www_base,
                api_base: li.api_base,
            },
            crate::http_client(),
        ));
        let tiktok_business = Arc::new(TiktokBusiness::new(
            TiktokBusinessConfig {
                app_id: tb.client_id,
                secret: tb.client_secret,
                www_base: tb.www_base,
                api_base: tb.api_base,
            },
            crate::http_client(),
        ));
        let tiktok = Arc::new(Tiktok::new(
            TiktokConfig {
                client_key: tt.client_id,
                client_secret: tt.client_secret,
                www_base: tt.www_base,
                api_base: tt.api_base,
                pull_videos: config.media_domain_verified,
            },
            tiktok_business.clone(),
            crate::http_client(),
        ));
        let youtube = Arc::new(Youtube::new(
            YoutubeConfig {
                client_id: yt.client_id,
                client_secret: yt.client_secret,
                www_base: yt.www_base,
                oauth_base: yt.api_base,
                api_base: yt.graph_base,
            },
            crate::http_client(),
        ));
        let snapchat = Arc::new(Snapchat::new(
            SnapchatConfig {
                client_id: sc.client_id,
                client_secret: sc.client_secret,
                www_base: sc.www_base,
                api_base: sc.api_base,
            },
            crate::http_client(),
        ));
        let connectors: HashMap<Login, Arc<dyn Connector>> = HashMap::from([
            (Login::Snapchat, snapchat.clone() as Arc<dyn Connector>),
            (Login::Youtube, youtube.clone() as Arc<dyn Connector>),
            (Login::Tiktok, tiktok.clone() as Arc<dyn Connector>),
            (Login::TiktokBusiness, tiktok_business as Arc<dyn Connector>),
            (Login::Linkedin, linkedin.clone() as Arc<dyn Connector>),
            (Login::X, x.clone() as Arc<dyn Connector>),
            (Login::Instagram, instagram.clone() as Arc<dyn Connector>),
            (Login::Facebook, facebook.clone() as Arc<dyn Connector>),
            (Login::Pinterest, pinterest.clone() as Arc<dyn Connector>),
        ]);
        let publishers: HashMap<Platform, Arc<dyn Publisher>> = HashMap::from([
            (Platform::Snapchat, snapchat as Arc<dyn Publisher>),
            (Platform::Youtube, youtube as Arc<dyn Publisher>),
            (Platform::Tiktok, tiktok as Arc<dyn Publisher>),
            (Platform::Linkedin, linkedin as Arc<dyn Publisher>),
            (Platform::X, x as Arc<dyn Publisher>),
            (Platform::Instagram, instagram as Arc<dyn Publisher>),
            (Platform::Facebook, facebook as Arc<dyn Publisher>),
            (Platform::Pinterest, pinterest as Arc<dyn Publisher>),
        ]);
        Ok(Self {
            connectors,
            publishers,
        })
    }

    /// The adapter of a login.
    pub fn connector(&self, login: Login) -> &dyn Connector {
        self.connectors
            .get(&login)
            .map(Arc::as_ref)
            .expect("the registry builds every login")
    }

    /// The adapter that publishes to a platform, or why there is none.
    pub fn publisher(&self, platform: Platform) -> Result<Arc<dyn Publisher>, PlatformError> {
        self.publishers.get(&platform).cloned().ok_or_else(|| {
            PlatformError::Unsupported(format!(
                "Herald cannot publish to {} yet.",
                platform.display_name()
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> RegistryConfig {
        let base = Url::parse("http://127.0.0.1:1/").unwrap();
        let apps = Login::ALL
            .into_iter()
            .map(|l| (l, App::under(l, "1".into(), SecretString::from("s"), Some(&base))))
            .collect();
        RegistryConfig {
            apps,
            graph_version: "v24.0".into(),
            media_domain_verified: false,
        }
    }

    #[test]
    fn every_available_platform_and_login_has_its_adapter_and_the_others_are_an_error() {
        let r = Registry::new(&config()).unwrap();
        for l in Login::ALL {
            assert_eq!(r.connector(l).login(), l);
        }
        for p in Platform::ALL {
            match r.publisher(p) {
                Ok(adapter) => assert!(p.is_available() && adapter.platform() == p, "{p:?}"),
                Err(e) => assert!(
                    !p.is_available() && e.to_string().contains(p.display_name()),
                    "{p:?}: {e}"
                ),
            }
        }
    }

    #[test]
    fn a_login_without_an_app_is_refused_at_start_up() {
        let mut c = config();
        c.apps.remove(&Login::Facebook);
        let e = Registry::new(&c).err().unwrap();
        assert!(e.contains("Facebook Login"), "{e}");
    }

    #[test]
    fn sandboxed_hosts_sit_under_the_base_and_real_ones_are_https() {
        let sb = App::under(
            Login::Instagram,
            "1".into(),
            SecretString::from("s"),
            Some(&Url::parse("http://h:1/x/").unwrap()),
        );
        assert_eq!(sb.graph_base.as_str(), "http://h:1/x/graph.instagram.com");
        let real = App::real(Login::Facebook, "1".into(), SecretString::from("s"));
        assert_eq!(real.api_base.as_str(), "https://rupload.facebook.com/");
        assert!(!format!("{real:?}").contains("\"s\""));
    }
}
