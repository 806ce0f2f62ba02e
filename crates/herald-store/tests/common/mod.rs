//! What the storage test files share: a migrated store on a fresh database, running each test on
//! SQLite and on PostgreSQL, and the rows most tests start from (a user with an Instagram profile,
//! a post, an audit entry).

// Each test file is its own crate and uses only some of these helpers.
#![allow(dead_code)]

use std::sync::Arc;

use herald_domain::platform::Login;
use herald_domain::{Clock, PostId, ProfileId, UserId, WorkspaceId};
use herald_store::testing::TestDatabase;
use herald_store::{Actor, Db, NewAudit, NewPost, NewProfile, NewTarget, Store};
use herald_vault::{KeySource, Keyring, Vault};
use jiff::SignedDuration;

pub async fn store(t: &TestDatabase) -> Store {
    let db = Db::connect(&t.url).await.unwrap();
    db.migrate().await.unwrap();
    Store::new(
        db,
        Arc::new(Vault::new(Keyring::generate().unwrap(), KeySource::Inline)),
        Clock::system(),
    )
}

/// Makes each `name => |s: Store| async move { … };` a test that runs on every backend, on a
/// fresh database each time.
macro_rules! on_both_backends {
    ($($name:ident => $body:expr;)*) => {$(
        #[tokio::test]
        async fn $name() {
            for backend in herald_store::testing::backends().await {
                let t = herald_store::testing::TestDatabase::create(backend).await;
                let s = $crate::common::store(&t).await;
                ($body)(s).await;
                t.drop_database().await;
            }
        }
    )*};
}
pub(crate) use on_both_backends;

/// A new user (a random address) with their own workspace and an Instagram profile in it: the
/// external id `17841400000000001`, the handle `creator`, granted `instagram_business_basic`.
pub async fn user_with_profile(s: &Store) -> (UserId, WorkspaceId, ProfileId) {
    let (user, ws) = s
        .create_user(&format!("{}@example.com", uuid::Uuid::new_v4()), "hash")
        .await
        .unwrap();
    let scopes = ["instagram_business_basic".to_owned()];
    let profile = instagram_profile(s, ws, "17841400000000001", "creator", &scopes).await;
    (user, ws, profile)
}

/// An Instagram profile in `ws` with `external_id`, `handle` and `granted_scopes`: in sandbox
/// mode, its token issued at 0 and never expiring, and no token stored.
pub async fn instagram_profile(
    s: &Store,
    ws: WorkspaceId,
    external_id: &str,
    handle: &str,
    granted_scopes: &[String],
) -> ProfileId {
    s.upsert_profile(NewProfile {
        workspace: ws,
        platform: "instagram",
        external_id,
        handle,
        granted_scopes,
        token_issued_at: 0,
        token_expires_at: None,
        sandbox: true,
        login: Login::Instagram,
        grant: None,
        reconnect_by: None,
    })
    .await
    .unwrap()
}

/// A post in `ws` by `user` saying `text` to `profile` alone, due `hours` from now (`0`: now),
/// held for approval when `held`, in UTC and with no idempotency key; to create, or to change
/// with `NewPost { …, ..new_post(…) }` first.
pub fn new_post<'a>(
    s: &Store,
    ws: WorkspaceId,
    user: UserId,
    profile: ProfileId,
    text: &'a str,
    hours: i64,
    held: bool,
) -> NewPost<'a> {
    NewPost {
        workspace: ws,
        user,
        text,
        media_ids: &[],
        thread: &[],
        scheduled_at: (s.clock().now() + SignedDuration::from_hours(hours)).as_microsecond(),
        time_zone: "UTC",
        idempotency_key: None,
        request_hash: None,
        targets: vec![NewTarget {
            profile,
            text: None,
            media_ids: None,
            options: None,
        }],
        awaits_approval: held,
    }
}

/// Creates [`new_post`]'s post and returns its id.
pub async fn post_due(
    s: &Store,
    ws: WorkspaceId,
    user: UserId,
    profile: ProfileId,
    text: &str,
    hours: i64,
    held: bool,
) -> PostId {
    s.create_post(new_post(s, ws, user, profile, text, hours, held))
        .await
        .unwrap()
        .0
}

/// Appends an entry by the system, with no target, client or detail, to a workspace's chain (the
/// instance's for `None`).
pub async fn audit_entry(s: &Store, ws: Option<WorkspaceId>, action: &str) {
    let e = NewAudit {
        workspace: ws,
        actor: Actor::System,
        action,
        target: String::new(),
        client: None,
        detail: String::new(),
    };
    s.audit(e).await.unwrap();
}

/// Runs a statement straight on the database, as someone with access to it could.
pub async fn tamper(s: &Store, sql: String) {
    let sql = sqlx::AssertSqlSafe(sql);
    match s.db() {
        Db::Sqlite(p) => {
            sqlx::query(sql).execute(p).await.unwrap();
        }
        Db::Postgres(p) => {
            sqlx::query(sql).execute(p).await.unwrap();
        }
    }
}
