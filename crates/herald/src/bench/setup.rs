//! The run's database: a fresh one (SQLite in the run's directory, or a database of its own on the
//! PostgreSQL server, dropped after), migrated, holding a workspace, one Facebook Page profile per
//! sandbox Page with its token sealed as connecting it would seal it, and the run's posts.

use anyhow::Context;
use herald_domain::platform::{Feature, Login, Platform};
use herald_domain::profile::SecretKind;
use herald_domain::{ProfileId, WorkspaceId};
use herald_store::{Db, NewProfile, SeedPost, Store};
use herald_vault::{KeySource, Keyring, Vault};
use jiff::{SignedDuration, Timestamp};

use super::Plan;
use crate::config::{DatabaseUrl, KeySetting, Settings};

/// How late a delivery may still go out by itself: a run measures lateness, so none of its posts
/// may be turned away as missed, however slowly they go out.
const CATCH_UP_MINUTES: i64 = 24 * 60;
/// Time for Herald's processes to start once the posts have their time: they read it from the
/// database as they start, so the first post falls due only after they are all waiting for it.
const START_MARGIN: SignedDuration = SignedDuration::from_secs(5);
/// Time to give each post its time (a post row and a delivery row, and their indexes), added to
/// the margin: the statement runs before the processes start.
const MOVE_MICROS_PER_POST: i64 = 60;

/// Where the run's database lives.
pub(super) enum Scratch {
    /// In the run's directory, removed with it.
    Sqlite,
    /// A database of its own on a PostgreSQL server; `server` is connected to that server.
    Postgres { server: Db, name: String },
}

impl Scratch {
    /// Makes the run's database and points `settings` at it (on SQLite they already name a file in
    /// the run's directory).
    pub(super) async fn create(plan: &Plan, settings: &mut Settings) -> anyhow::Result<Self> {
        let Some(url) = &plan.server else {
            return Ok(Self::Sqlite);
        };
        let mut scratch_url = url::Url::parse(url).context("--database-url is not a URL")?;
        let server = Db::connect(url)
            .await
            .with_context(|| format!("connecting to PostgreSQL at {}", crate::app::redact(url)))?;
        let name = server
            .create_scratch_database()
            .await
            .context("making the run's database (the --database-url user needs the CREATEDB right)")?;
        scratch_url.set_path(&format!("/{name}"));
        settings.database_url = DatabaseUrl::new(scratch_url.as_str());
        Ok(Self::Postgres { server, name })
    }

    /// Drops the run's PostgreSQL database, whoever is still connected to it.
    pub(super) async fn drop_database(self) {
        if let Self::Postgres { server, name } = self {
            if let Err(e) = server.drop_scratch_database(&name).await {
                eprintln!("bench: the run's database {name} could not be dropped ({e}); drop it by hand");
            }
            server.close().await;
        }
    }
}

/// What the run's database holds for it.
pub(super) struct Seeded {
    pub store: Store,
    pub ws: WorkspaceId,
    /// When the run's first post falls due.
    pub due: Timestamp,
}

/// Migrates the run's database and writes the run into it: a workspace, a profile per account
/// (a sandbox Page and its token), and the posts, spread over the profiles in turn, each falling due
/// at the run's time plus its offset.
pub(super) async fn seed(
    plan: &Plan,
    settings: &Settings,
    accounts: &[(String, String)],
    prefix: &str,
) -> anyhow::Result<Seeded> {
    let store = crate::keys::open_store(settings, keyring(settings)?).await?;
    // Nobody signs in: no password matches an empty hash.
    let (user, ws) = store.create_user("bench@herald.invalid", "").await?;
    store.set_catch_up_minutes(ws, CATCH_UP_MINUTES).await?;
    let profiles = profiles(&store, ws, accounts).await?;
    // Written a day ahead, then moved to the run's time in one statement, so the time spent writing
    // them makes none of them late.
    let ahead = (Timestamp::now() + SignedDuration::from_hours(24)).as_microsecond();
    let posts: Vec<SeedPost> = (0..plan.posts)
        .map(|i| SeedPost {
            text: format!("{prefix}{i}"),
            scheduled_at: ahead + plan.offset(i),
            profile: profiles[i % profiles.len()],
        })
        .collect();
    let started = std::time::Instant::now();
    store.seed_posts(ws, user, "UTC", &posts).await?;
    eprintln!(
        "bench: wrote {} posts in {:.1} s",
        posts.len(),
        started.elapsed().as_secs_f64()
    );
    let margin = START_MARGIN + SignedDuration::from_micros(MOVE_MICROS_PER_POST * plan.posts as i64);
    let due = Timestamp::now() + margin;
    store.move_schedule(ws, due.as_microsecond() - ahead).await?;
    Ok(Seeded { store, ws, due })
}

/// A new master keyring where the processes started on the run's directory read it, written as
/// Herald writes one (mode 0600).
fn keyring(settings: &Settings) -> anyhow::Result<Vault> {
    let KeySetting::File(path) = &settings.keys else {
        unreachable!("Settings::local keeps the keyring in the data directory")
    };
    let source = KeySource::File(path.clone());
    let ring = Keyring::generate()?;
    source.save(&ring)?;
    Ok(Vault::new(ring, source))
}

/// One Facebook Page profile per account, connected with the permissions publishing needs and its
/// Page token sealed, as choosing the Page after a Facebook login leaves it.
async fn profiles(
    store: &Store,
    ws: WorkspaceId,
    accounts: &[(String, String)],
) -> anyhow::Result<Vec<ProfileId>> {
    let login = Login::Facebook;
    let scopes: Vec<String> = Platform::Facebook
        .missing_for(login, Feature::Publish, &[])
        .into_iter()
        .map(str::to_owned)
        .collect();
    let now = store.clock().now().as_microsecond();
    let mut out = Vec::with_capacity(accounts.len());
    for (page, token) in accounts {
        let id = store
            .upsert_profile(NewProfile {
                workspace: ws,
                platform: Platform::Facebook.as_str(),
                external_id: page,
                handle: &format!("Sandbox Page {page}"),
                granted_scopes: &scopes,
                token_issued_at: now,
                token_expires_at: None,
                // Herald reaches the sandbox as it would reach Facebook's real API.
                sandbox: false,
                login,
                grant: None,
                reconnect_by: None,
            })
            .await?;
        store.put_secret(ws, id, SecretKind::AccessToken, token).await?;
        out.push(id);
    }
    Ok(out)
}
