//! `TestApp`: a sandbox and Herald on free ports, a fresh database, and typed helpers.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use herald::{KeySetting, RunningApp, Settings};
use herald_domain::platform::Login;
use herald_platforms::App;
use herald_sandbox::{Emulator, Sandbox, SandboxConfig};
use herald_store::Backend;
use herald_store::testing::TestDatabase;
use reqwest::StatusCode;
use secrecy::SecretString;
use serde_json::{Value, json};
use url::Url;

pub use herald_store::testing::backends;

/// Where the platforms are: the built-in sandbox inside Herald (as a newcomer runs it), or a sandbox
/// on its own port that Herald reaches as it would reach the real API.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    Builtin,
    Standalone,
}

pub struct TestApp {
    pub base: Url,
    pub sandbox_base: Url,
    /// The sandbox standing in for the platforms (built in, or on its own port).
    pub sandbox: Sandbox,
    pub app: Option<RunningApp>,
    pub settings: Settings,
    pub db: Option<TestDatabase>,
    pub dir: PathBuf,
    pub client: reqwest::Client,
    pub ws: String,
    pub sandbox_task: Option<tokio::task::JoinHandle<()>>,
}

/// Everything logged by this test binary, at trace level.
pub fn log_buffer() -> Arc<Mutex<Vec<u8>>> {
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUF.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = buf.clone();
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_ansi(false)
            .with_writer(move || Sink(writer.clone()))
            .finish();
        tracing::subscriber::set_global_default(subscriber).expect("one global subscriber");
        buf
    })
    .clone()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

/// An MP4 fixture made `size` bytes long by a `free` box at its end (ignored by every reader): a
/// video just large enough to need several chunks.
pub fn padded_video(name: &str, size: usize) -> Vec<u8> {
    let mut v = fixture(name);
    let pad = size - v.len();
    v.extend_from_slice(&u32::try_from(pad).unwrap().to_be_bytes());
    v.extend_from_slice(b"free");
    v.resize(size, 0);
    v
}

/// A real grey PNG of `width` × `height` (8-bit greyscale, stored deflate blocks): media of an
/// aspect ratio no fixture has (Snapchat's 9:16).
pub fn grey_png(width: u32, height: u32) -> Vec<u8> {
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &b in bytes {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = (crc >> 1) ^ (0xEDB8_8320 & (crc & 1).wrapping_neg());
            }
        }
        !crc
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        let start = out.len();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[start..]);
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let mut raw = Vec::new();
    for _ in 0..height {
        raw.push(0); // no filter
        raw.extend(std::iter::repeat_n(0x80u8, width as usize));
    }
    let (mut a, mut b) = (1u32, 0u32);
    for &x in &raw {
        a = (a + u32::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65_535).collect();
    for (i, block) in blocks.iter().enumerate() {
        z.push(u8::from(i + 1 == blocks.len()));
        let len = u16::try_from(block.len()).unwrap();
        z.extend_from_slice(&len.to_le_bytes());
        z.extend_from_slice(&(!len).to_le_bytes());
        z.extend_from_slice(block);
    }
    z.extend_from_slice(&((b << 16) | a).to_be_bytes());
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &z);
    chunk(&mut png, b"IEND", &[]);
    png
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The body of what `c` gets at `url` (a page's HTML), as text, whatever its status.
pub async fn page_text(c: &reqwest::Client, url: impl reqwest::IntoUrl) -> String {
    c.get(url).send().await.unwrap().text().await.unwrap()
}

/// Runs `herald ARGS` on the app's data directory and database: (exit code, stdout, stderr).
pub fn herald(app: &TestApp, args: &[&str]) -> (Option<i32>, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_herald"))
        .args(["--data-dir", app.dir.to_str().unwrap()])
        .args(args)
        .env("HERALD_DATABASE_URL", app.settings.database_url.expose())
        .env_remove("HERALD_MASTER_KEYS")
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// The secret at the end of an invitation's link.
pub fn invitation_secret(link: &str) -> String {
    link.rsplit('/').next().unwrap().to_owned()
}

/// `inviter` invites `email` with `role` into the workspace `ws`: the invitation's secret.
pub async fn invite(app: &TestApp, inviter: &reqwest::Client, ws: &str, email: &str, role: &str) -> String {
    let r = inviter
        .post(app.url(&format!("api/v1/workspaces/{ws}/invitations")))
        .json(&json!({"email": email, "role": role}))
        .send()
        .await
        .unwrap();
    let s = r.status();
    let invitation: Value = r.json().await.unwrap_or(Value::Null);
    assert_eq!(s, StatusCode::CREATED, "{invitation}");
    invitation_secret(invitation["url"].as_str().unwrap())
}

/// `joiner`, signed in as the invited email, accepts the invitation whose secret is `secret`.
pub async fn accept_invitation(app: &TestApp, joiner: &reqwest::Client, secret: &str) {
    let r = joiner
        .post(app.url("api/v1/invitations/accept"))
        .json(&json!({ "token": secret }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}

impl TestApp {
    pub async fn spawn(backend: Backend, mode: Mode) -> Self {
        Self::spawn_with(backend, mode, |_| {}).await
    }

    /// Like [`TestApp::spawn`], with settings adjusted by `tweak` before Herald starts.
    pub async fn spawn_with(backend: Backend, mode: Mode, tweak: impl FnOnce(&mut Settings)) -> Self {
        let db = TestDatabase::create(backend).await;
        let dir = std::env::temp_dir().join(format!("herald-it-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut settings = Settings::local(dir.clone(), "127.0.0.1:0".parse().unwrap());
        settings.database_url = herald::config::DatabaseUrl::new(db.url.clone());
        settings.keys = KeySetting::File(dir.join("master.keys"));
        settings.sandbox_processing_delay = Duration::from_millis(300);
        settings.poll = Duration::from_millis(500);
        let (sandbox, sandbox_task, sandbox_base) = match mode {
            Mode::Standalone => {
                let sb = Sandbox::new(SandboxConfig {
                    processing_delay: Duration::from_millis(300),
                    ..SandboxConfig::default()
                });
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                let base = Url::parse(&format!("http://{}/", listener.local_addr().unwrap())).unwrap();
                for login in Login::ALL {
                    let app = sb.app(Emulator::for_login(login.as_str()).unwrap());
                    let secret = SecretString::from(app.client_secret);
                    let real = App::under(login, app.client_id, secret, Some(&base));
                    settings.apps.insert(login, real);
                }
                let served = herald_sandbox::serve(sb.clone(), listener, std::future::pending());
                let task = tokio::spawn(async move {
                    let _ = served.await;
                });
                (Some(sb), Some(task), Some(base))
            }
            Mode::Builtin => (None, None, None),
        };
        tweak(&mut settings);
        let app = herald::start(settings.clone()).await.expect("Herald starts");
        let base = app.public_url.clone();
        let sandbox = sandbox.unwrap_or_else(|| app.sandbox.clone().expect("built-in sandbox"));
        for login in Login::ALL {
            let callback = base.join(&format!("oauth/{}/callback", login.as_str())).unwrap();
            let emulator = Emulator::for_login(login.as_str()).unwrap();
            sandbox.allow_redirect(emulator, callback.as_str());
        }
        sandbox.trust_origin(&base);
        let sandbox_base = sandbox_base.unwrap_or_else(|| base.clone());
        Self {
            base,
            sandbox_base,
            sandbox,
            app: Some(app),
            settings,
            db: Some(db),
            dir,
            client: client(),
            ws: String::new(),
            sandbox_task,
        }
    }

    /// Stops Herald and starts it again on the same database and data directory with `tweak`ed
    /// settings (as an operator changing the configuration would); requests then go to the new
    /// listener at 127.0.0.1, whatever its public URL.
    pub async fn restart_with(&mut self, tweak: impl FnOnce(&mut Settings)) {
        if let Some(app) = self.app.take() {
            app.stop().await;
        }
        let mut settings = self.settings.clone();
        settings.listen = "127.0.0.1:0".parse().unwrap();
        settings.public_url = Url::parse("http://127.0.0.1:0/").unwrap();
        tweak(&mut settings);
        let app = herald::start(settings.clone())
            .await
            .expect("Herald starts again");
        self.base = Url::parse(&format!("http://127.0.0.1:{}/", app.addr.port())).unwrap();
        if let Some(sb) = &app.sandbox {
            self.sandbox = sb.clone();
            self.sandbox_base = self.base.clone();
        }
        // A sandbox that outlived the restart fetches media from Herald's new address.
        self.sandbox.trust_origin(&self.base);
        self.settings = settings;
        self.app = Some(app);
    }

    /// Starts another Herald process on the same database that only dispatches (`herald worker`),
    /// handing platforms media links to this one.
    pub async fn start_worker(&self) -> RunningApp {
        let mut settings = self.settings.clone();
        settings.run_api = false;
        settings.run_dispatcher = true;
        settings.listen = "127.0.0.1:0".parse().unwrap();
        settings.public_url = self.base.clone();
        herald::start(settings).await.expect("the worker starts")
    }

    /// What the sandbox's control API answers at `path` (`_sandbox/…`).
    pub async fn sandbox_json(&self, path: &str) -> Value {
        reqwest::get(self.sandbox_base.join(path).unwrap())
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// The sandbox's journal of Graph requests: (method, path) of each, oldest first.
    pub async fn sandbox_requests(&self) -> Vec<(String, String)> {
        self.sandbox_json("_sandbox/requests").await["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["method"].as_str().unwrap().to_owned(),
                    r["path"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }

    /// Revokes Herald's grant for an Instagram account, as its owner would in Instagram's settings.
    pub async fn revoke_on_instagram(&self, account: &str) {
        let r = reqwest::Client::new()
            .post(
                self.sandbox_base
                    .join(&format!("_sandbox/instagram/accounts/{account}/revoke"))
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "grant revoked");
    }

    /// Queues a sandbox fault on `platform` (`instagram` or `facebook`).
    pub async fn fault(&self, platform: &str, fault: Value) {
        self.sandbox_post(&format!("_sandbox/{platform}/faults"), fault)
            .await;
    }

    /// Posts `body` to one of the sandbox's control routes (someone comments, a fault, an
    /// access level), which must accept it; returns its answer.
    pub async fn sandbox_post(&self, path: &str, body: Value) -> Value {
        let r = reqwest::Client::new()
            .post(self.sandbox_base.join(path).unwrap())
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path} refused");
        r.json().await.unwrap()
    }

    /// Runs one statement on Herald's database directly, as damage from outside would (a test's
    /// way to corrupt a row); returns the rows it changed.
    pub async fn tamper(&self, statement: &str) -> u64 {
        let db = herald_store::Db::connect(self.settings.database_url.expose())
            .await
            .unwrap();
        let n = match &db {
            herald_store::Db::Sqlite(p) => sqlx::query(sqlx::AssertSqlSafe(statement))
                .execute(p)
                .await
                .unwrap()
                .rows_affected(),
            herald_store::Db::Postgres(p) => sqlx::query(sqlx::AssertSqlSafe(statement))
                .execute(p)
                .await
                .unwrap()
                .rows_affected(),
        };
        db.close().await;
        n
    }

    /// Counts what `query` (`SELECT COUNT(*) …`) counts in Herald's database, behind Herald's
    /// back: how a harness watches thousands of deliveries without listing them.
    pub async fn count(&self, query: &str) -> i64 {
        let db = herald_store::Db::connect(self.settings.database_url.expose())
            .await
            .unwrap();
        let n: i64 = match &db {
            herald_store::Db::Sqlite(p) => sqlx::query_scalar(sqlx::AssertSqlSafe(query)).fetch_one(p).await,
            herald_store::Db::Postgres(p) => {
                sqlx::query_scalar(sqlx::AssertSqlSafe(query)).fetch_one(p).await
            }
        }
        .unwrap();
        db.close().await;
        n
    }

    /// Sets the workspace's catch-up window (`PATCH …/settings`).
    pub async fn set_catch_up(&self, minutes: i64) -> (StatusCode, Value) {
        let r = self
            .client
            .patch(self.ws_url("settings"))
            .json(&json!({ "catch_up_minutes": minutes }))
            .send()
            .await
            .unwrap();
        (r.status(), r.json().await.unwrap())
    }

    pub fn url(&self, path: &str) -> Url {
        self.base.join(path.trim_start_matches('/')).unwrap()
    }

    pub fn ws_url(&self, path: &str) -> Url {
        self.url(&format!(
            "api/v1/workspaces/{}/{}",
            self.ws,
            path.trim_start_matches('/')
        ))
    }

    pub async fn get(&self, url: Url) -> (StatusCode, Value) {
        Self::get_with(&self.client, url).await
    }

    pub async fn get_with(client: &reqwest::Client, url: Url) -> (StatusCode, Value) {
        let r = client.get(url).send().await.unwrap();
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn post(&self, url: Url, body: Value) -> (StatusCode, Value) {
        let r = self.client.post(url).json(&body).send().await.unwrap();
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn delete(&self, url: Url) -> (StatusCode, Value) {
        let r = self.client.delete(url).send().await.unwrap();
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    /// Signs up a new user (this client keeps the session) and remembers their workspace.
    /// The setup code Herald printed at start (a fresh instance whose public URL is not
    /// loopback asks its first account for it).
    pub fn setup_code(&self) -> String {
        let running = self.app.as_ref().expect("Herald runs");
        let code = running.setup_code.as_ref().expect("a setup code was printed");
        secrecy::ExposeSecret::expose_secret(code.as_ref()).to_owned()
    }

    pub async fn signup(&mut self, email: &str) -> Value {
        let (s, body) = self
            .post(
                self.url("api/v1/auth/signup"),
                json!({"email": email, "password": "correct horse battery"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        self.ws = body["workspace_id"].as_str().unwrap().to_owned();
        body
    }

    /// Signs up `email`, connects Instagram and uploads a photo; returns (profile, media).
    pub async fn ready_on_instagram(&mut self, email: &str) -> (String, String) {
        self.signup(email).await;
        let (s, page) = self.connect(&[]).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        assert!(page.contains("is connected"), "{page}");
        let profile = self.profiles().await[0]["id"].as_str().unwrap().to_owned();
        let (s, media) = self.upload("square-1080.jpg").await;
        assert_eq!(s, StatusCode::CREATED, "{media}");
        (profile, media["id"].as_str().unwrap().to_owned())
    }

    /// Signs in again (this client keeps the new session).
    pub async fn sign_in(&self, email: &str) {
        let (s, _) = self
            .post(
                self.url("api/v1/auth/login"),
                json!({"email": email, "password": "correct horse battery"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
    }

    /// Signs up another user in `browser` (its own cookie jar); returns their workspace id.
    pub async fn signup_in(&self, browser: &reqwest::Client, email: &str) -> String {
        let r = browser
            .post(self.url("api/v1/auth/signup"))
            .json(&json!({"email": email, "password": "correct horse battery"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        r.json::<Value>().await.unwrap()["workspace_id"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Connects Instagram through the sandbox's consent form, unticking `untick`; returns the callback page.
    pub async fn connect(&self, untick: &[&str]) -> (StatusCode, String) {
        let location = self.consent(untick, "allow").await;
        self.callback(&location).await
    }

    /// Logs in with Facebook through the sandbox's dialog, unticking permissions or Pages in
    /// `untick`; returns the callback page.
    pub async fn connect_facebook(&self, untick: &[&str]) -> (StatusCode, String) {
        let location = self.consent_on("facebook", untick, "allow").await;
        self.callback(&location).await
    }

    /// Logs in with Facebook (every Page ticked) and makes `account` (`facebook:{page}` or
    /// `instagram:{id}`) a profile; returns the profile's id.
    pub async fn choose_account(&self, account: &str) -> String {
        let (s, page) = self.connect_facebook(&[]).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let (_, list) = self.get(self.ws_url("connections")).await;
        let connection = list["data"][0]["id"].as_str().unwrap().to_owned();
        let (s, chosen) = self
            .post(
                self.ws_url(&format!("connections/{connection}/accounts")),
                json!({ "accounts": [account] }),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{chosen}");
        chosen["data"][0]["id"].as_str().unwrap().to_owned()
    }

    /// Starts a connection and answers the sandbox's consent form; returns where it redirects.
    pub async fn consent(&self, untick: &[&str], button: &str) -> String {
        self.consent_on("instagram", untick, button).await
    }

    pub async fn consent_on(&self, platform: &str, untick: &[&str], button: &str) -> String {
        let (s, started) = self
            .post(self.ws_url("connections"), json!({ "platform": platform }))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{started}");
        let page = reqwest::get(started["authorize_url"].as_str().unwrap())
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let form = crate::form::parse(&page, untick);
        let action = self
            .sandbox_base
            .join(form.action.trim_start_matches('/'))
            .unwrap();
        let fields = form.submit(button);
        let res = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(action)
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "consent submitted");
        res.headers()["location"].to_str().unwrap().to_owned()
    }

    /// Follows the platform's redirect back to Herald in this user's browser session.
    pub async fn callback(&self, location: &str) -> (StatusCode, String) {
        let r = self.client.get(location).send().await.unwrap();
        (r.status(), r.text().await.unwrap())
    }

    pub async fn profiles(&self) -> Vec<Value> {
        let (s, body) = self.get(self.ws_url("profiles")).await;
        assert_eq!(s, StatusCode::OK);
        body["data"].as_array().unwrap().clone()
    }

    pub async fn upload(&self, name: &str) -> (StatusCode, Value) {
        self.upload_bytes(name, fixture(name)).await
    }

    pub async fn upload_bytes(&self, name: &str, bytes: Vec<u8>) -> (StatusCode, Value) {
        let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_owned());
        let r = self
            .client
            .post(self.ws_url("media"))
            .multipart(reqwest::multipart::Form::new().part("file", part))
            .send()
            .await
            .unwrap();
        let s = r.status();
        (s, r.json().await.unwrap())
    }

    pub async fn schedule(&self, body: Value) -> (StatusCode, Value) {
        self.post(self.ws_url("posts"), body).await
    }

    /// Waits until the post's first delivery is settled: published, failed, unconfirmed or held,
    /// not on its way (a retry is on its way).
    pub async fn settled(&self, post: &str) -> Value {
        self.wait_for(post, |d| {
            !matches!(
                d["status"].as_str(),
                Some("scheduled" | "publishing" | "processing" | "retry_wait")
            )
        })
        .await
    }

    /// Polls the post until `done` holds for its first delivery, or fails after a generous bound.
    pub async fn wait_for(&self, post: &str, done: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let (_, p) = self.get(self.ws_url(&format!("posts/{post}"))).await;
            if done(&p["deliveries"][0]) {
                return p;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the delivery never reached the expected state: {p:#}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Media the sandbox's Instagram holds, as its inspection API reports them.
    pub async fn sandbox_media(&self) -> Vec<Value> {
        self.sandbox_json("_sandbox/instagram/media").await["data"]
            .as_array()
            .unwrap()
            .clone()
    }

    /// Facebook's Pages, posts and photos, as the sandbox's inspection API reports them.
    pub async fn sandbox_facebook(&self) -> Value {
        self.sandbox_json("_sandbox/facebook").await
    }

    /// A Page token from the sandbox's Facebook, got as a Facebook client of its own would get
    /// one (the dialog, the code exchange, `/me/accounts`), to act as the Page's owner.
    pub async fn sandbox_page_token(&self, page: &str) -> String {
        let redirect = "http://127.0.0.1:9/test-client";
        self.sandbox.allow_facebook_redirect(redirect);
        let app = self.sandbox.config().facebook_app;
        let http = client();
        let url = |p: &str| self.sandbox_base.join(p).unwrap();
        let r = http
            .post(url("www.facebook.com/dialog/oauth"))
            .form(&[
                ("client_id", app.client_id.as_str()),
                ("redirect_uri", redirect),
                ("response_type", "code"),
                ("user", "10000000000001"),
                ("page", page),
                ("scope", "pages_show_list"),
                ("scope", "pages_read_engagement"),
                ("scope", "pages_manage_posts"),
                ("scope", "pages_manage_engagement"),
                ("decision", "allow"),
            ])
            .send()
            .await
            .unwrap();
        let location = Url::parse(r.headers()["location"].to_str().unwrap()).unwrap();
        let code = location
            .query_pairs()
            .find(|(k, _)| k == "code")
            .unwrap()
            .1
            .into_owned();
        let user: Value = http
            .post(url("graph.facebook.com/v24.0/oauth/access_token"))
            .form(&[
                ("client_id", app.client_id.as_str()),
                ("client_secret", app.client_secret.as_str()),
                ("redirect_uri", redirect),
                ("code", code.as_str()),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let accounts: Value = http
            .get(url("graph.facebook.com/v24.0/me/accounts?fields=id,access_token"))
            .bearer_auth(user["access_token"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        accounts["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == page)
            .unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn stop(mut self) {
        if let Some(app) = self.app.take() {
            app.stop().await;
        }
        if let Some(t) = self.sandbox_task.take() {
            t.abort();
        }
        if let Some(db) = self.db.take() {
            db.drop_database().await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Moves the sandbox's clock and then Herald's by the same amount, and signs in again (sessions expire
/// too). The platform moves first: Herald wakes as soon as its clock moves and must find the platform
/// already there.
pub async fn advance_both(app: &TestApp, by: jiff::SignedDuration, email: &str) {
    move_clocks(app, by).await;
    app.sign_in(email).await;
}

/// The outcomes in a post's first delivery's history, oldest first.
pub fn outcomes(post: &Value) -> Vec<String> {
    post["deliveries"][0]["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["outcome"].as_str().unwrap().to_owned())
        .collect()
}

/// A Herald on PostgreSQL, for a test of several processes; `None`, said aloud, where PostgreSQL is
/// not reachable (a newcomer's machine: in CI that is a failure before any test runs).
pub async fn on_postgres() -> Option<TestApp> {
    let Some(backend) = backends()
        .await
        .into_iter()
        .find(|b| *b == herald_store::Backend::Postgres)
    else {
        eprintln!("SKIPPED: several workers need PostgreSQL, which is not reachable here");
        return None;
    };
    Some(TestApp::spawn(backend, Mode::Standalone).await)
}

/// Four `herald worker`s beside the server race on the (only) profile's two-hour token, an hour
/// old and half an hour from its end: one refresh reaches the platform's token endpoint
/// (`token_path` in the sandbox's journal), the profile stays connected, and the refresh token it
/// used is retired. Returns the platform's answer to `replay` of that used refresh token, for the
/// caller to check it is refused as the platform refuses it.
pub async fn four_workers_renew_once(
    app: &TestApp,
    email: &str,
    token_path: &str,
    replay: impl Fn(&str) -> reqwest::RequestBuilder,
) -> reqwest::Response {
    let first = app.sandbox.issued_tokens();
    let before = app.profiles().await[0]["token_expires_at"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut workers = Vec::new();
    for _ in 0..4 {
        workers.push(app.start_worker().await);
    }
    // Every process shares the test's clock, so moving it wakes all five at once.
    advance_both(app, jiff::SignedDuration::from_mins(90), email).await;
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let p = app.profiles().await[0].clone();
        if p["token_expires_at"]
            .as_str()
            .is_some_and(|t| t > before.as_str())
        {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "never renewed: {p:#}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let journal = app.sandbox_json("_sandbox/requests").await;
    let renewals = journal["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["path"] == token_path && r["body"]["grant_type"] == "refresh_token")
        .count();
    assert_eq!(renewals, 1, "one refresh at the platform");
    let now = app.sandbox.issued_tokens();
    let used: Vec<&String> = first.iter().filter(|t| !now.contains(t)).collect();
    assert_eq!(used.len(), 1, "exactly the used refresh token was retired");
    assert_eq!(app.profiles().await[0]["status"], "connected");
    for w in workers {
        w.stop().await;
    }
    replay(used[0]).send().await.unwrap()
}

/// Moves the sandbox's clock, then Herald's (running or not: a restart keeps it).
pub async fn move_clocks(app: &TestApp, by: jiff::SignedDuration) {
    let r = reqwest::Client::new()
        .post(app.sandbox_base.join("_sandbox/clock/advance").unwrap())
        .json(&json!({"seconds": by.as_secs()}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    app.settings.clock.advance(by);
}

/// Stops Herald, lets `by` pass on both clocks, and starts Herald again (signed in as `email`):
/// Herald was down for that long while the platform lived on.
pub async fn down_for(app: &mut TestApp, by: jiff::SignedDuration, email: &str) {
    if let Some(running) = app.app.take() {
        running.stop().await;
    }
    move_clocks(app, by).await;
    app.restart_with(|_| {}).await;
    app.sign_in(email).await;
}

pub fn herald_now(app: &TestApp) -> jiff::Timestamp {
    app.app.as_ref().unwrap().store.clock().now()
}

/// Runs `body` once per backend available here (PostgreSQL is mandatory under CI=true).
#[macro_export]
macro_rules! on_both_backends {
    ($mode:expr, |$app:ident| $body:block) => {
        for backend in $crate::harness::backends().await {
            #[allow(unused_mut)]
            let mut $app = $crate::harness::TestApp::spawn(backend, $mode).await;
            $body
            $app.stop().await;
        }
    };
}
