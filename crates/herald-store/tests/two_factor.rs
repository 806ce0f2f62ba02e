//! Two-factor sign-in's storage, each test run on SQLite and on PostgreSQL: a code's time step is
//! accepted once and only after the last one (of two sent at once, one), a recovery code works
//! once, a key begun signs nobody in until confirmed, the key is sealed at rest and re-wrapped
//! with the master key, turning it off deletes everything, a sign-in waiting for its second factor
//! is taken once, and a session keeps when it last proved who it is.

mod common;

use std::sync::Arc;

use common::on_both_backends;
use herald_domain::{Clock, UserId};
use herald_store::{Db, NewSession, Store, StoreError};
use herald_vault::{KeySource, Vault};
use jiff::SignedDuration;
use secrecy::{ExposeSecret, SecretSlice};

/// RFC 6238's SHA-1 key.
const KEY: &[u8; 20] = b"12345678901234567890";

fn key() -> SecretSlice<u8> {
    SecretSlice::from(KEY.to_vec())
}

/// A new user with their own workspace, of which they are the owner.
async fn user(s: &Store) -> UserId {
    s.create_user(&format!("{}@example.com", uuid::Uuid::new_v4()), "hash")
        .await
        .unwrap()
        .0
}

/// A new user whose two-factor sign-in is on (confirmed by a code of time step 100), with the
/// recovery codes hashing to `codes`.
async fn enrolled(s: &Store, codes: &[&str]) -> UserId {
    let u = user(s).await;
    s.begin_two_factor(u, &key()).await.unwrap();
    let since = s.totp_secret(u, false).await.unwrap().unwrap().since;
    let hashes: Vec<String> = codes.iter().map(|c| (*c).to_owned()).collect();
    s.confirm_two_factor(u, since, 100, &hashes).await.unwrap();
    u
}

/// What `sql` (one `$1`: the user's id) counts, read behind the store's back.
async fn count(s: &Store, sql: &'static str, u: UserId) -> i64 {
    match s.db() {
        Db::Sqlite(p) => sqlx::query_scalar::<_, i64>(sql)
            .bind(u.to_string())
            .fetch_one(p)
            .await
            .unwrap(),
        Db::Postgres(p) => sqlx::query_scalar::<_, i64>(sql)
            .bind(u.to_string())
            .fetch_one(p)
            .await
            .unwrap(),
    }
}

fn conflict<T: std::fmt::Debug>(r: Result<T, StoreError>) {
    assert!(
        matches!(r, Err(StoreError::Conflict(_))),
        "expected a conflict, got {r:?}"
    );
}

on_both_backends! {
    a_time_step_is_accepted_once_and_only_after_the_last_even_sent_twice_at_once => |s: Store| async move {
        let u = enrolled(&s, &[]).await;
        assert!(!s.use_totp_step(u, 100).await.unwrap(), "the confirming code counts as used");
        assert!(!s.use_totp_step(u, 99).await.unwrap(), "an earlier step");
        assert!(s.use_totp_step(u, 101).await.unwrap());
        assert!(!s.use_totp_step(u, 101).await.unwrap(), "a replay");
        let (a, b) = tokio::join!(s.use_totp_step(u, 102), s.use_totp_step(u, 102));
        assert_eq!(usize::from(a.unwrap()) + usize::from(b.unwrap()), 1, "one of two sent at once");
        let other = user(&s).await;
        assert!(!s.use_totp_step(other, 500).await.unwrap(), "no second factor, no step");
    };

    a_key_begun_signs_nobody_in_and_a_confirmation_holds_for_the_key_it_read_only => |s: Store| async move {
        let u = user(&s).await;
        s.begin_two_factor(u, &key()).await.unwrap();
        assert!(s.totp_secret(u, true).await.unwrap().is_none());
        assert!(!s.use_totp_step(u, 1).await.unwrap());
        assert_eq!(s.two_factor_status(u).await.unwrap().enabled_at, None);
        let first = s.totp_secret(u, false).await.unwrap().unwrap();
        assert_eq!(first.secret.expose_secret(), &KEY[..]);

        // Begun again (another browser, say): the first key can no longer be confirmed.
        s.clock().advance(SignedDuration::from_secs(1));
        let other = SecretSlice::from(b"abcdefghijabcdefghij".to_vec());
        s.begin_two_factor(u, &other).await.unwrap();
        conflict(s.confirm_two_factor(u, first.since, 7, &[]).await);
        let second = s.totp_secret(u, false).await.unwrap().unwrap();
        s.confirm_two_factor(u, second.since, 7, &["h".to_owned()]).await.unwrap();
        let on = s.totp_secret(u, true).await.unwrap().unwrap();
        assert_eq!(on.secret.expose_secret(), &b"abcdefghijabcdefghij"[..]);
        assert!(s.two_factor_status(u).await.unwrap().enabled_at.is_some());
        conflict(s.begin_two_factor(u, &key()).await);
        conflict(s.confirm_two_factor(u, second.since, 8, &[]).await);
    };

    a_recovery_code_works_once_even_used_twice_at_once => |s: Store| async move {
        let u = enrolled(&s, &["aaa", "bbb", "ccc"]).await;
        assert_eq!(s.two_factor_status(u).await.unwrap().recovery_codes_left, 3);
        assert!(s.use_recovery_code(u, "aaa").await.unwrap());
        assert!(!s.use_recovery_code(u, "aaa").await.unwrap(), "used");
        assert!(!s.use_recovery_code(u, "zzz").await.unwrap(), "unknown");
        let other = enrolled(&s, &["ddd"]).await;
        assert!(!s.use_recovery_code(other, "bbb").await.unwrap(), "another person's");
        let (a, b) = tokio::join!(s.use_recovery_code(u, "bbb"), s.use_recovery_code(u, "bbb"));
        assert_eq!(usize::from(a.unwrap()) + usize::from(b.unwrap()), 1, "one of two sent at once");
        assert_eq!(s.two_factor_status(u).await.unwrap().recovery_codes_left, 1);

        // New codes replace the old ones, used or not; without a second factor there are none.
        s.replace_recovery_codes(u, &["eee".to_owned()]).await.unwrap();
        assert!(!s.use_recovery_code(u, "ccc").await.unwrap(), "replaced");
        assert!(s.use_recovery_code(u, "eee").await.unwrap());
        let off = user(&s).await;
        assert!(matches!(s.replace_recovery_codes(off, &[]).await, Err(StoreError::NotFound)));
    };

    turning_it_off_deletes_the_key_the_codes_and_the_sign_ins_waiting => |s: Store| async move {
        let u = enrolled(&s, &["aaa"]).await;
        let expires = s.clock().now().as_microsecond() + 300_000_000;
        s.create_second_factor_challenge("waiting", u, expires).await.unwrap();
        assert_eq!(s.second_factor_challenge("waiting").await.unwrap(), Some(u));
        assert!(!s.second_factor_missing(u, true).await.unwrap());

        assert!(s.reset_two_factor(u).await.unwrap());
        let status = s.two_factor_status(u).await.unwrap();
        assert_eq!((status.enabled_at, status.recovery_codes_left), (None, 0));
        assert!(s.totp_secret(u, true).await.unwrap().is_none());
        assert!(s.totp_secret(u, false).await.unwrap().is_none());
        assert!(!s.use_recovery_code(u, "aaa").await.unwrap());
        assert!(!s.use_totp_step(u, 1_000).await.unwrap());
        assert_eq!(s.second_factor_challenge("waiting").await.unwrap(), None);
        for table in [
            "SELECT COUNT(*) FROM two_factor WHERE user_id = $1",
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1",
            "SELECT COUNT(*) FROM second_factor_challenges WHERE user_id = $1",
        ] {
            assert_eq!(count(&s, table, u).await, 0, "{table}");
        }
        assert!(s.second_factor_missing(u, true).await.unwrap(), "the owner of their own workspace");
        assert!(!s.second_factor_missing(u, false).await.unwrap(), "not over http");
        let ws = s.get_user(u).await.unwrap().workspaces[0].0;
        s.set_require_two_factor(ws, true).await.unwrap();
        assert!(s.require_two_factor(ws).await.unwrap());
        assert!(s.second_factor_missing(u, false).await.unwrap(), "the workspace requires it of all");
        assert!(!s.reset_two_factor(u).await.unwrap(), "nothing was left");
        s.begin_two_factor(u, &key()).await.unwrap();
    };

    the_key_is_sealed_at_rest_and_rewrapped_with_the_master_key => |s: Store| async move {
        let u = enrolled(&s, &[]).await;
        let blob: Vec<u8> = match s.db() {
            Db::Sqlite(p) => sqlx::query_scalar::<_, Vec<u8>>("SELECT secret_ciphertext FROM two_factor WHERE user_id = $1")
                .bind(u.to_string()).fetch_one(p).await.unwrap(),
            Db::Postgres(p) => sqlx::query_scalar::<_, Vec<u8>>("SELECT secret_ciphertext FROM two_factor WHERE user_id = $1")
                .bind(u.to_string()).fetch_one(p).await.unwrap(),
        };
        assert!(!blob.windows(KEY.len()).any(|w| w == &KEY[..]), "sealed");

        let mut ring = (*s.vault().ring()).clone();
        ring.add_new_version().unwrap();
        assert_eq!(s.rewrap_data_keys(&ring).await.unwrap(), 1, "the person's own data key");
        let status = s.key_status().await.unwrap();
        assert_eq!(status.iter().map(|k| k.master_version).collect::<Vec<_>>(), vec![2]);
        ring.remove(1);
        s.verify_data_keys(&ring).await.unwrap();
        let s2 = Store::new(s.db().clone(), Arc::new(Vault::new(ring, KeySource::Inline)), Clock::system());
        let opened = s2.totp_secret(u, true).await.unwrap().unwrap();
        assert_eq!(opened.secret.expose_secret(), &KEY[..]);
    };

    a_sign_in_waiting_for_its_second_factor_is_taken_once_and_not_after_it_expired => |s: Store| async move {
        let u = user(&s).await;
        let now = s.clock().now().as_microsecond();
        s.create_second_factor_challenge("one", u, now + 300_000_000).await.unwrap();
        s.create_second_factor_challenge("two", u, now + 300_000_000).await.unwrap();
        let (a, b) = tokio::join!(s.take_second_factor_challenge("one"), s.take_second_factor_challenge("one"));
        let taken = [a.unwrap(), b.unwrap()];
        assert_eq!(taken.iter().filter(|t| **t == Some(u)).count(), 1, "{taken:?}");
        assert_eq!(s.second_factor_challenge("one").await.unwrap(), None, "taken");
        s.clock().advance(SignedDuration::from_mins(6));
        assert_eq!(s.second_factor_challenge("two").await.unwrap(), None, "expired");
        assert_eq!(s.take_second_factor_challenge("two").await.unwrap(), None);
        let now = s.clock().now().as_microsecond();
        s.purge_expired(86_400_000_000, now - 3_600_000_000).await.unwrap();
        assert_eq!(count(&s, "SELECT COUNT(*) FROM second_factor_challenges WHERE user_id = $1", u).await, 0);
    };

    a_session_starts_proven_and_proves_itself_again_later => |s: Store| async move {
        let u = user(&s).await;
        let started = s.clock().now().as_microsecond();
        let session = s
            .create_session(NewSession {
                token_hash: "session",
                user: u,
                expires_at: started + 86_400_000_000,
                user_agent: None,
                address: None,
            })
            .await
            .unwrap();
        let at = s.session_reauthenticated_at(u, session).await.unwrap().unwrap();
        assert!(at >= started, "proven when it started");
        s.clock().advance(SignedDuration::from_mins(11));
        s.mark_reauthenticated(u, session).await.unwrap();
        let later = s.session_reauthenticated_at(u, session).await.unwrap().unwrap();
        assert!(later >= at + 11 * 60 * 1_000_000, "{at} {later}");
        let other = user(&s).await;
        assert_eq!(s.session_reauthenticated_at(other, session).await.unwrap(), None);
        assert!(matches!(s.mark_reauthenticated(other, session).await, Err(StoreError::NotFound)));
    };
}
