//! A TCP proxy the test controls, between Herald and its PostgreSQL: `cut` closes every
//! connection through it and closes new ones at once (as a database that went away), `restore`
//! lets them through again. The shared server itself is never touched.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use url::Url;

/// A proxy in front of one database, listening on a port of its own on loopback.
pub struct Proxy {
    port: u16,
    upstream: Arc<OnceLock<String>>,
    open: watch::Sender<bool>,
    refused: Arc<AtomicUsize>,
    accepting: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let upstream = Arc::new(OnceLock::new());
        let refused = Arc::new(AtomicUsize::new(0));
        let (open, _) = watch::channel(true);
        let accepting = tokio::spawn(relay(listener, upstream.clone(), open.clone(), refused.clone()));
        Self {
            port,
            upstream,
            open,
            refused,
            accepting,
        }
    }

    /// `url`, a PostgreSQL URL, made to go through the proxy, which forwards to where it pointed.
    pub fn route(&self, url: &str) -> String {
        let mut u = Url::parse(url).unwrap();
        let to = format!("{}:{}", u.host_str().unwrap(), u.port().unwrap_or(5432));
        self.upstream.set(to).expect("one database behind the proxy");
        u.set_host(Some("127.0.0.1")).unwrap();
        u.set_port(Some(self.port)).unwrap();
        u.to_string()
    }

    /// Closes every connection through the proxy, and each new one, until [`Proxy::restore`].
    pub fn cut(&self) {
        self.open.send_replace(false);
    }

    pub fn restore(&self) {
        self.open.send_replace(true);
    }

    /// How many connections were closed at once because the proxy was cut.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

/// Relays each connection to the database while the proxy is open; a cut ends them all.
async fn relay(
    listener: TcpListener,
    upstream: Arc<OnceLock<String>>,
    open: watch::Sender<bool>,
    refused: Arc<AtomicUsize>,
) {
    while let Ok((mut client, _)) = listener.accept().await {
        let mut state = open.subscribe();
        let Some(to) = upstream.get().filter(|_| *state.borrow_and_update()).cloned() else {
            refused.fetch_add(1, Ordering::SeqCst);
            continue;
        };
        tokio::spawn(async move {
            let Ok(mut server) = TcpStream::connect(to).await else {
                return;
            };
            tokio::select! {
                _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                _ = state.wait_for(|open| !*open) => {}
            }
        });
    }
}
