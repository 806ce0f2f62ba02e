//! Deletion and retention, each test run on SQLite and on PostgreSQL: the sweep removes the logs
//! older than 90 days and keeps the newer ones, the audit log verifying across the cut; deleting a
//! workspace or an account leaves no row in any table holding what was theirs; and on SQLite what
//! a deleted workspace held is gone from the database's files too.

mod common;

use common::{audit_entry, instagram_profile, on_both_backends, post_due};
use herald_domain::media::MediaType;
use herald_domain::platform::Login;
use herald_domain::profile::SecretKind;
use herald_domain::{MediaId, ProfileId, Role, UserId, WorkspaceId};
use herald_store::testing::TestDatabase;
use herald_store::{
    Backend, Db, NewGrant, NewMedia, NewNotification, NewSession, RETENTION, RetentionReport, Store,
    StoreError, VideoFacts,
};
use jiff::SignedDuration;
use secrecy::SecretString;

/// A new person with their own workspace, of which they are the owner.
async fn person(s: &Store, email: &str) -> (UserId, WorkspaceId) {
    s.create_user(email, "hash").await.unwrap()
}

/// A profile in `ws` named `handle`, with an access token.
async fn profile(s: &Store, ws: WorkspaceId, handle: &str) -> ProfileId {
    let id = instagram_profile(s, ws, handle, handle, &[]).await;
    s.put_secret(ws, id, SecretKind::AccessToken, &format!("IGAA-{handle}"))
        .await
        .unwrap();
    id
}

/// A notification in `ws` saying `message`.
async fn note(s: &Store, ws: WorkspaceId, message: &str) {
    s.notify(NewNotification {
        workspace: ws,
        kind: "profile_expiring_soon",
        subject: ("profile", "p1".to_owned()),
        link: "/profiles".to_owned(),
        message,
        dedupe_key: uuid::Uuid::new_v4().to_string(),
    })
    .await
    .unwrap();
}

/// An invitation into `ws` for `email`, by `by`, for a day; `hash` stands for its secret.
async fn invite(s: &Store, ws: WorkspaceId, email: &str, by: UserId, hash: &str) {
    let expires = (s.clock().now() + SignedDuration::from_hours(24)).as_microsecond();
    s.create_invitation(ws, email, Role::Editor, hash, by, expires)
        .await
        .unwrap();
}

/// What `sql` (`SELECT COUNT(*) …`) counts.
async fn count(s: &Store, sql: &str) -> i64 {
    let sql = sqlx::AssertSqlSafe(sql);
    match s.db() {
        Db::Sqlite(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
        Db::Postgres(p) => sqlx::query_scalar(sql).fetch_one(p).await.unwrap(),
    }
}

/// The tables with a row that holds `needle` in any column, read as text: every table there is,
/// whoever made it.
async fn mentions(s: &Store, needle: &str) -> Vec<String> {
    let like = format!("%{needle}%");
    let tables: Vec<(String,)> = match s.db() {
        Db::Sqlite(p) => sqlx::query_as("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(p)
            .await
            .unwrap(),
        Db::Postgres(p) => sqlx::query_as(
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1",
        )
        .fetch_all(p)
        .await
        .unwrap(),
    };
    let mut found = Vec::new();
    for (table,) in tables {
        let n: i64 = match s.db() {
            Db::Sqlite(p) => {
                let columns: Vec<(String,)> = sqlx::query_as("SELECT name FROM pragma_table_info($1)")
                    .bind(&table)
                    .fetch_all(p)
                    .await
                    .unwrap();
                let text = columns
                    .iter()
                    .map(|(c,)| format!("COALESCE(CAST(\"{c}\" AS TEXT), '')"))
                    .collect::<Vec<_>>()
                    .join(" || '|' || ");
                let sql = format!("SELECT COUNT(*) FROM \"{table}\" WHERE {text} LIKE $1");
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(&like)
                    .fetch_one(p)
                    .await
                    .unwrap()
            }
            Db::Postgres(p) => {
                let sql = format!("SELECT COUNT(*) FROM \"{table}\" x WHERE CAST(x AS TEXT) LIKE $1");
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                    .bind(&like)
                    .fetch_one(p)
                    .await
                    .unwrap()
            }
        };
        if n > 0 {
            found.push(table);
        }
    }
    found
}

on_both_backends! {
    the_sweep_removes_logs_older_than_ninety_days_keeps_newer_ones_and_the_audit_log_still_verifies => |s: Store| async move {
        let (user, ws) = person(&s, "sweeper@example.com").await;
        let p = profile(&s, ws, "sweeper").await;
        // Day 0: a post (its delivery's first event), a notification, an invitation, audit entries.
        post_due(&s, ws, user, p, "an early post", 1, false).await;
        note(&s, ws, "an early note").await;
        invite(&s, ws, "early@example.com", user, "hash-early").await;
        for action in ["auth.signin", "profile.connected"] {
            audit_entry(&s, None, action).await;
            audit_entry(&s, Some(ws), action).await;
        }
        // Day 100: one more of each.
        s.clock().advance(SignedDuration::from_hours(100 * 24));
        post_due(&s, ws, user, p, "a later post", 1, false).await;
        note(&s, ws, "a later note").await;
        invite(&s, ws, "later@example.com", user, "hash-later").await;
        audit_entry(&s, None, "auth.signin").await;
        audit_entry(&s, Some(ws), "post.created").await;
        s.mark_read(ws, user, None).await.unwrap();

        let now = s.clock().now().as_microsecond();
        let r = s.retention_sweep(now, RETENTION).await.unwrap();
        let expected = RetentionReport { delivery_events: 1, notifications: 1, audit_entries: 4, invitations: 1, deleted_workspaces: 0 };
        assert_eq!(r, expected);
        assert_eq!(count(&s, "SELECT COUNT(*) FROM delivery_events").await, 1);
        assert_eq!(count(&s, "SELECT COUNT(*) FROM notifications WHERE message = 'a later note'").await, 1);
        assert_eq!(count(&s, "SELECT COUNT(*) FROM notification_reads").await, 1, "the old note's read went with it");
        assert_eq!(count(&s, "SELECT COUNT(*) FROM invitations WHERE email = 'later@example.com'").await, 1);
        assert_eq!(count(&s, "SELECT COUNT(*) FROM invitations").await, 1);
        assert_eq!(count(&s, "SELECT COUNT(*) FROM audit_entries").await, 2);

        // The log verifies across the cut: each chain starts at its checkpoint.
        let v = s.audit_verify(None).await.unwrap();
        assert!(v.problems.is_empty(), "{:?}", v.problems);
        for c in &v.chains {
            assert_eq!((c.start_seq, c.head_seq, c.entries), (3, 3, 1), "{c:?}");
        }
        // Nothing more is old enough.
        let again = s.retention_sweep(now, RETENTION).await.unwrap();
        assert_eq!(again, RetentionReport::default());
    };

    deleting_a_workspace_leaves_no_row_that_names_it_or_holds_its_words => |s: Store| async move {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let dir = std::env::temp_dir().join(format!("herald-retention-{tag}"));
        std::fs::create_dir_all(&dir).unwrap();
        let heads = dir.join("audit-heads.json");
        let s = s.with_audit_heads(heads.clone());
        let member_email = format!("member-{tag}@example.com");
        let (owner, ws) = person(&s, &format!("owner-{tag}@example.com")).await;
        let (member, own) = person(&s, &member_email).await;
        invite(&s, ws, &member_email, owner, "hash-member").await;
        s.accept_invitation("hash-member", member).await.unwrap();
        s.set_current_workspace(member, ws).await.unwrap();
        invite(&s, ws, &format!("invitee-{tag}@example.com"), owner, "hash-invitee").await;
        let p = profile(&s, ws, &format!("handle-{tag}")).await;
        post_due(&s, ws, member, p, &format!("words-{tag}"), 1, false).await;
        s.save_draft(ws, member, None, &format!(r#"{{"text":"draft-{tag}"}}"#)).await.unwrap();
        let path = format!("/data/media/{ws}/{tag}.png");
        let original = format!("photo-{tag}.png");
        s.insert_media(NewMedia {
            id: MediaId::new(), workspace: ws, media_type: MediaType::Png, bytes: 1, width: None, height: None,
            sha256: "00", original_name: Some(&original), path: &path, video: VideoFacts::default(),
        }).await.unwrap();
        note(&s, ws, &format!("note-{tag}")).await;
        s.mark_read(ws, member, None).await.unwrap();
        let token = SecretString::from(format!("EAA-{tag}"));
        let grant_name = format!("grant-{tag}");
        s.upsert_grant(NewGrant {
            workspace: ws, user: owner, login: Login::Facebook, external_user_id: "10", name: &grant_name,
            granted_scopes: &[], token: &token, token_issued_at: 0, token_expires_at: None, refresh: None,
            refresh_expires_at: None, sandbox: true,
        }).await.unwrap();
        audit_entry(&s, Some(ws), "profile.connected").await;
        // The member's own workspace, which stays.
        let kept = profile(&s, own, &format!("kept-{tag}")).await;
        post_due(&s, own, member, kept, &format!("stays-{tag}"), 1, false).await;

        let d = s.delete_workspace(ws).await.unwrap();
        assert_eq!(d.workspaces, vec![ws]);
        assert_eq!(d.media_files, vec![path]);
        assert!(d.scrubbed, "the database's files were scrubbed");
        for gone in [
            format!("words-{tag}"), format!("handle-{tag}"), format!("draft-{tag}"), original,
            format!("note-{tag}"), grant_name, format!("invitee-{tag}"),
        ] {
            let left = mentions(&s, &gone).await;
            assert!(left.is_empty(), "{gone} is still in {left:?}");
        }
        assert_eq!(mentions(&s, &ws.to_string()).await, ["audit_chains"], "only its chain's row names it");
        // The members' accounts and their other workspaces stay.
        assert_eq!(mentions(&s, &format!("stays-{tag}")).await, ["posts"]);
        assert_eq!(mentions(&s, &member_email).await, ["users"]);
        assert!(s.membership(member, ws).await.unwrap().is_none());
        let user = s.get_user(member).await.unwrap();
        assert_eq!(user.workspaces.iter().map(|w| w.0).collect::<Vec<_>>(), vec![own]);

        // The log verifies without the chain's entries, and the deleted chain takes no more.
        audit_entry(&s, Some(ws), "post.published").await;
        assert_eq!(count(&s, &format!("SELECT COUNT(*) FROM audit_entries WHERE chain = '{ws}'")).await, 0);
        let v = s.audit_verify(Some(&heads)).await.unwrap();
        assert!(v.problems.is_empty(), "{:?}", v.problems);
        assert!(matches!(s.delete_workspace(ws).await, Err(StoreError::NotFound)));

        // Ninety days on, the sweep takes that last row (and the heads file's line), and the log
        // still verifies against the file.
        s.clock().advance(SignedDuration::from_hours(89 * 24));
        let now = s.clock().now().as_microsecond();
        assert_eq!(s.retention_sweep(now, RETENTION).await.unwrap().deleted_workspaces, 0, "not yet");
        s.clock().advance(SignedDuration::from_hours(2 * 24));
        let now = s.clock().now().as_microsecond();
        assert_eq!(s.retention_sweep(now, RETENTION).await.unwrap().deleted_workspaces, 1);
        assert_eq!(mentions(&s, &ws.to_string()).await, Vec::<String>::new(), "no row names it");
        assert!(!std::fs::read_to_string(&heads).unwrap().contains(&ws.to_string()));
        let v = s.audit_verify(Some(&heads)).await.unwrap();
        assert!(v.problems.is_empty(), "{:?}", v.problems);
        std::fs::remove_dir_all(dir).unwrap();
    };

    deleting_an_account_takes_what_is_theirs_and_leaves_what_others_keep => |s: Store| async move {
        let tag = uuid::Uuid::new_v4().simple().to_string();
        let email = format!("leaver-{tag}@example.com");
        let other_email = format!("other-{tag}@example.com");
        let (leaver, alone) = person(&s, &email).await;
        let (other, theirs) = person(&s, &other_email).await;
        let p = profile(&s, alone, &format!("handle-{tag}")).await;
        post_due(&s, alone, leaver, p, &format!("words-{tag}"), 1, false).await;
        // An editor of the other's workspace, where they leave a draft and invite a friend; a
        // second invitation to their email waits there.
        invite(&s, theirs, &email, other, "hash-leaver").await;
        s.accept_invitation("hash-leaver", leaver).await.unwrap();
        s.save_draft(theirs, leaver, None, r#"{"text":"the leaver's draft"}"#).await.unwrap();
        invite(&s, theirs, &format!("friend-{tag}@example.com"), leaver, "hash-friend").await;
        invite(&s, theirs, &email, other, "hash-again").await;
        let expires = (s.clock().now() + SignedDuration::from_hours(24)).as_microsecond();
        let session = format!("session-{tag}");
        s.create_session(NewSession { token_hash: &session, user: leaver, expires_at: expires, user_agent: None, address: Some("192.0.2.1") })
            .await.unwrap();
        s.create_api_token(leaver, "cli", &format!("token-{tag}"), None, None).await.unwrap();

        // The last owner of a workspace another person joined: refused, and nothing goes.
        invite(&s, alone, &other_email, leaver, "hash-other").await;
        s.accept_invitation("hash-other", other).await.unwrap();
        let why = match s.delete_account(leaver).await {
            Err(StoreError::Conflict(why)) => why,
            r => panic!("expected a conflict, got {r:?}"),
        };
        assert!(why.contains(&format!("leaver-{tag}'s workspace")), "{why}");
        assert_eq!(mentions(&s, &session).await, ["sessions"], "nothing went");
        s.remove_member(alone, other).await.unwrap();

        let d = s.delete_account(leaver).await.unwrap();
        assert_eq!(d.workspaces, vec![alone]);
        assert!(d.user_row_kept, "the draft in the other's workspace still names its author");
        assert!(d.scrubbed);
        for gone in [
            email.clone(), format!("handle-{tag}"), format!("words-{tag}"), session, format!("token-{tag}"),
            format!("friend-{tag}"), alone.to_string(),
        ] {
            let left = mentions(&s, &gone).await;
            assert!(left.is_empty() || left == ["audit_chains"], "{gone} is still in {left:?}");
        }
        assert!(s.find_login(&email).await.unwrap().is_none());
        let kept = s.get_user(leaver).await.unwrap();
        assert!(kept.workspaces.is_empty() && !kept.email.contains('@'), "{kept:?}");
        assert_eq!(s.list_drafts(theirs, 10).await.unwrap().len(), 1, "the other's workspace keeps the draft");
        let members = s.members(theirs).await.unwrap();
        assert_eq!(members.iter().map(|m| m.user).collect::<Vec<_>>(), vec![other]);
        // The email is free again.
        person(&s, &email).await;

        // A person nothing else names goes whole.
        let (loner, _) = person(&s, &format!("loner-{tag}@example.com")).await;
        let d = s.delete_account(loner).await.unwrap();
        assert!(!d.user_row_kept);
        assert!(matches!(s.get_user(loner).await, Err(StoreError::NotFound)));
        assert!(matches!(s.delete_account(loner).await, Err(StoreError::NotFound)));
        let v = s.audit_verify(None).await.unwrap();
        assert!(v.problems.is_empty(), "{:?}", v.problems);
    };

    a_person_left_in_no_workspace_gets_a_new_empty_one_of_their_own => |s: Store| async move {
        let (user, ws) = person(&s, "alone@example.com").await;
        assert_eq!(s.ensure_workspace(user).await.unwrap(), None, "they belong to one");
        s.delete_workspace(ws).await.unwrap();
        let made = s.ensure_workspace(user).await.unwrap().expect("a new workspace");
        assert_ne!(made, ws);
        let u = s.get_user(user).await.unwrap();
        assert_eq!(u.workspaces.len(), 1);
        assert_eq!((u.workspaces[0].0, u.workspaces[0].1.as_str(), u.workspaces[0].2), (made, "alone's workspace", Role::Owner));
        assert_eq!(s.ensure_workspace(user).await.unwrap(), None);
    };
}

/// The database's files as bytes: the main file and its write-ahead log.
/// The bytes of SQLite's files: the database, its write-ahead log and its shared-memory index.
fn database_files(dir: &std::path::Path) -> Vec<u8> {
    let mut bytes = std::fs::read(dir.join("herald.db")).unwrap();
    for extra in ["herald.db-wal", "herald.db-shm"] {
        if let Ok(more) = std::fs::read(dir.join(extra)) {
            bytes.extend(more);
        }
    }
    bytes
}

fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A workspace about to be deleted, and what it holds that must leave the database's files: a
/// post's text, a profile's handle, an invited email, the sealed token, the wrapped data key.
struct Doomed {
    ws: WorkspaceId,
    held: Vec<(&'static str, Vec<u8>)>,
}

/// The bytes of the one row `sql` selects for the workspace `ws` (a sealed or wrapped column).
async fn stored_bytes(s: &Store, sql: &str, ws: WorkspaceId) -> Vec<u8> {
    let sql = sqlx::AssertSqlSafe(sql.to_owned());
    match s.db() {
        Db::Sqlite(pool) => sqlx::query_scalar(sql)
            .bind(ws.to_string())
            .fetch_one(pool)
            .await
            .unwrap(),
        Db::Postgres(pool) => sqlx::query_scalar(sql)
            .bind(ws.to_string())
            .fetch_one(pool)
            .await
            .unwrap(),
    }
}

async fn doomed(s: &Store) -> Doomed {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let (user, ws) = person(s, &format!("files-{tag}@example.com")).await;
    let invited = format!("invited-{tag}@example.com");
    invite(s, ws, &invited, user, &format!("hash-{tag}")).await;
    let handle = format!("handle-{tag}");
    let p = profile(s, ws, &handle).await;
    let words = format!("the words of post {tag}");
    post_due(s, ws, user, p, &words, 1, false).await;
    let sealed = stored_bytes(
        s,
        "SELECT ciphertext FROM profile_secrets WHERE workspace_id = $1",
        ws,
    )
    .await;
    let wrapped = stored_bytes(s, "SELECT wrapped FROM data_keys WHERE workspace_id = $1", ws).await;
    Doomed {
        ws,
        held: vec![
            ("the post's text", words.into_bytes()),
            ("the profile's handle", handle.into_bytes()),
            ("the invited email", invited.into_bytes()),
            ("the sealed token", sealed),
            ("the wrapped data key", wrapped),
        ],
    }
}

impl Doomed {
    /// Deletes the workspace, having checked that `files` (read before and after) held its words
    /// before and hold none of what it held after.
    async fn delete_and_check<F: std::future::Future<Output = Vec<u8>>>(
        &self,
        s: &Store,
        files: impl Fn() -> F,
    ) {
        let before = files().await;
        assert!(
            self.held.iter().take(2).all(|(_, b)| holds(&before, b)),
            "the test looks where the rows are"
        );
        let d = s.delete_workspace(self.ws).await.unwrap();
        assert!(d.scrubbed);
        let after = files().await;
        for (what, needle) in &self.held {
            assert!(!holds(&after, needle), "{what} is still in the database's files");
        }
    }
}

#[tokio::test]
async fn on_sqlite_what_a_deleted_workspace_held_is_gone_from_the_database_files() {
    let t = TestDatabase::create(Backend::Sqlite).await;
    let s = common::store(&t).await;
    let doomed = doomed(&s).await;
    let dir = t.sqlite_dir().unwrap().to_owned();
    doomed
        .delete_and_check(&s, || async { database_files(&dir) })
        .await;
    let wal = std::fs::metadata(dir.join("herald.db-wal")).map_or(0, |m| m.len());
    assert_eq!(wal, 0, "the write-ahead log was emptied");
    s.db().close().await;
    t.drop_database().await;
}

/// The bytes of the PostgreSQL files that hold the test database's tables (each table's, its TOAST
/// table's and its indexes'), or `None` where this process cannot read the server's data
/// directory (another machine, another user): said aloud, and a failure under `CI=true`.
async fn table_files(pool: &sqlx::PgPool) -> Option<Vec<u8>> {
    let (dir,): (String,) = sqlx::query_as("SHOW data_directory")
        .fetch_one(pool)
        .await
        .unwrap();
    if std::fs::read_dir(&dir).is_err() {
        let ci = std::env::var("CI").is_ok_and(|v| v == "true");
        assert!(
            !ci,
            "CI=true: PostgreSQL's data directory {dir} must be readable for this test"
        );
        eprintln!("note: skipped scanning PostgreSQL's files: its data directory {dir} is not readable here");
        return None;
    }
    let files: Vec<(Option<String>,)> = sqlx::query_as(
        "SELECT pg_relation_filepath(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = current_schema() OR c.oid IN (
                SELECT reltoastrelid FROM pg_class t JOIN pg_namespace tn ON tn.oid = t.relnamespace
                 WHERE tn.nspname = current_schema())
             OR c.oid IN (SELECT indexrelid FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid
                 JOIN pg_namespace tn ON tn.oid = t.relnamespace WHERE tn.nspname = current_schema())",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let mut bytes = Vec::new();
    for (path,) in files.into_iter().filter_map(|(p,)| p.map(|p| (p,))) {
        // A relation's first segment, and any further 1 GB segments.
        for n in 0.. {
            let file = if n == 0 {
                format!("{dir}/{path}")
            } else {
                format!("{dir}/{path}.{n}")
            };
            match std::fs::read(&file) {
                Ok(b) => bytes.extend(b),
                Err(_) => break,
            }
        }
    }
    Some(bytes)
}

#[tokio::test]
async fn on_postgresql_what_a_deleted_workspace_held_is_gone_from_its_tables_files() {
    if !herald_store::testing::backends()
        .await
        .contains(&Backend::Postgres)
    {
        return;
    }
    let t = TestDatabase::create(Backend::Postgres).await;
    let s = common::store(&t).await;
    let doomed = doomed(&s).await;
    let Db::Postgres(pool) = s.db() else {
        unreachable!("a PostgreSQL test database")
    };
    if table_files(pool).await.is_some() {
        // What is written reaches the table files at a checkpoint: the test forces them (as the
        // superuser it connects as).
        let files = || async {
            sqlx::query("CHECKPOINT").execute(pool).await.unwrap();
            table_files(pool).await.unwrap()
        };
        doomed.delete_and_check(&s, files).await;
    }
    s.db().close().await;
    t.drop_database().await;
}
