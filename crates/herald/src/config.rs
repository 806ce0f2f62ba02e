//! Settings: defaults, then a TOML file, then `HERALD_*` environment, then flags (the CLI resolves them).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use secrecy::SecretString;
use url::Url;

/// Real platform app credentials and where the platform lives (for Facebook, `api_base` is the
/// resumable-upload host, `rupload.facebook.com`).
#[derive(Debug, Clone)]
pub struct Credentials {
    pub client_id: String,
    pub client_secret: SecretString,
    pub www_base: Url,
    pub api_base: Url,
    pub graph_base: Url,
}

/// Where the master keyring comes from.
#[derive(Debug, Clone)]
pub enum KeySetting {
    /// `HERALD_MASTER_KEYS`: `VERSION:BASE64,...`.
    Inline(SecretString),
    /// `HERALD_MASTER_KEYS_FILE`, or `master.keys` in the data directory (created on first start).
    File(PathBuf),
}

/// Everything a Herald process needs, fully resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database_url: String,
    pub public_url: Url,
    pub signup_open: bool,
    pub max_upload_bytes: u64,
    /// `None`: the built-in sandbox stands in for Instagram (Instagram Login).
    pub instagram: Option<Credentials>,
    /// `None`: the built-in sandbox stands in for Facebook (Facebook Login, Pages, Instagram via Pages).
    pub facebook: Option<Credentials>,
    pub graph_version: String,
    pub sandbox_processing_delay: Duration,
    pub keys: KeySetting,
    pub run_api: bool,
    pub run_dispatcher: bool,
    /// The dispatcher's backstop poll.
    pub poll: Duration,
}

/// `http://LISTEN`, with a wildcard address replaced by loopback (browsers cannot be sent to 0.0.0.0).
fn default_public_url(listen: SocketAddr) -> Url {
    let host = if listen.ip().is_unspecified() {
        SocketAddr::new([127, 0, 0, 1].into(), listen.port())
    } else {
        listen
    };
    Url::parse(&format!("http://{host}")).expect("socket addresses make URLs")
}

impl Settings {
    /// Defaults for a data directory: SQLite inside it, listening on `listen`, every platform sandboxed.
    pub fn local(data_dir: PathBuf, listen: SocketAddr) -> Self {
        let database_url = format!("sqlite://{}", data_dir.join("herald.db").display());
        Self {
            listen,
            database_url,
            public_url: default_public_url(listen),
            signup_open: true,
            max_upload_bytes: 256 * 1024 * 1024,
            instagram: None,
            facebook: None,
            graph_version: "v24.0".into(),
            sandbox_processing_delay: Duration::from_secs(3),
            keys: KeySetting::File(data_dir.join("master.keys")),
            data_dir,
            run_api: true,
            run_dispatcher: true,
            poll: Duration::from_secs(5),
        }
    }

    pub fn is_sqlite(&self) -> bool {
        !(self.database_url.starts_with("postgres://") || self.database_url.starts_with("postgresql://"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_on_every_interface_defaults_the_public_url_to_loopback() {
        let s = Settings::local(PathBuf::from("d"), "0.0.0.0:9000".parse().unwrap());
        assert_eq!(s.public_url.as_str(), "http://127.0.0.1:9000/");
        assert_eq!(s.database_url, "sqlite://d/herald.db");
        assert!(s.is_sqlite() && s.instagram.is_none());
    }
}
