//! Storage tests, each run on SQLite and on PostgreSQL.

mod common;

use std::sync::Arc;

use common::{instagram_profile, new_post, on_both_backends, tamper, user_with_profile};
use herald_domain::delivery::DeliveryStatus;
use herald_domain::platform::Login;
use herald_domain::profile::SecretKind;
use herald_domain::{Clock, ProfileId, WorkspaceId};
use herald_store::{Db, NewGrant, NewPost, NewProfile, PostChange, Store, StoreError, Transition};
use herald_vault::{KeySource, Vault};
use jiff::SignedDuration;

/// A post saying "hello" due now, with `key` as its idempotency key (and the same request each
/// time).
async fn schedule_now(
    s: &Store,
    user: herald_domain::UserId,
    ws: WorkspaceId,
    profile: ProfileId,
    key: Option<&str>,
) -> herald_domain::PostId {
    s.create_post(NewPost {
        idempotency_key: key,
        request_hash: key.map(|_| "same request"),
        ..new_post(s, ws, user, profile, "hello", 0, false)
    })
    .await
    .unwrap()
    .0
}

on_both_backends! {
    a_draft_is_kept_replaced_listed_and_deleted_inside_its_workspace_only => |s: Store| async move {
        let (user, ws, _) = user_with_profile(&s).await;
        let (_, other, _) = user_with_profile(&s).await;
        let id = s.save_draft(ws, user, None, r#"{"text":"first"}"#).await.unwrap();
        s.clock().advance(SignedDuration::from_secs(1));
        assert_eq!(s.save_draft(ws, user, Some(id), r#"{"text":"second"}"#).await.unwrap(), id);
        let d = s.get_draft(ws, id).await.unwrap();
        assert_eq!(d.body, r#"{"text":"second"}"#);
        assert!(d.updated_at > d.created_at);
        assert_eq!(s.list_drafts(ws, 10).await.unwrap().len(), 1);
        assert!(matches!(s.get_draft(other, id).await, Err(StoreError::NotFound)));
        assert!(matches!(s.save_draft(other, user, Some(id), "{}").await, Err(StoreError::NotFound)));
        assert!(matches!(s.delete_draft(other, id).await, Err(StoreError::NotFound)));
        assert!(s.list_drafts(other, 10).await.unwrap().is_empty());
        s.delete_draft(ws, id).await.unwrap();
        assert!(s.list_drafts(ws, 10).await.unwrap().is_empty());
    };
    a_worker_whose_lease_lapsed_changes_nothing => |s: Store| async move {
        let (user, ws, profile) = user_with_profile(&s).await;
        schedule_now(&s, user, ws, profile, None).await;
        let now = s.clock().now();
        let lease = (now + SignedDuration::from_secs(30)).as_microsecond();
        let first = s.claim_due("worker-a", lease, 10).await.unwrap();
        assert_eq!(first.len(), 1);
        assert!(s.claim_due("worker-b", lease, 10).await.unwrap().is_empty(), "a held lease is not claimed twice");
        s.clock().advance(SignedDuration::from_secs(31));
        let lease_b = (s.clock().now() + SignedDuration::from_secs(30)).as_microsecond();
        let second = s.claim_due("worker-b", lease_b, 10).await.unwrap();
        assert_eq!(second.len(), 1);
        assert_eq!(second[0].fence, first[0].fence + 1);
        let a = &first[0];
        assert!(matches!(s.begin_attempt(a, "{}", false, None, "late").await, Err(StoreError::LeaseLost)));
        assert!(matches!(s.save_handle(a, "{\"container\":\"1\"}", false, None).await, Err(StoreError::LeaseLost)));
        for to in [DeliveryStatus::Published, DeliveryStatus::Failed, DeliveryStatus::Processing] {
            let r = s.transition(a, to, Transition { outcome: "late", ..Default::default() }).await;
            assert!(matches!(r, Err(StoreError::LeaseLost)), "{to:?}");
        }
        s.transition(&second[0], DeliveryStatus::Published, Transition { platform_post_id: Some("1790"), outcome: "published", ..Default::default() }).await.unwrap();
        let post = s.get_post(ws, second[0].post).await.unwrap();
        assert_eq!(post.deliveries[0].status, DeliveryStatus::Published);
        assert_eq!(post.deliveries[0].platform_post_id.as_deref(), Some("1790"));
    };

    a_lapsed_lease_refuses_writes_even_before_another_worker_claims_it => |s: Store| async move {
        let (user, ws, profile) = user_with_profile(&s).await;
        schedule_now(&s, user, ws, profile, None).await;
        let lease = (s.clock().now() + SignedDuration::from_secs(30)).as_microsecond();
        let a = s.claim_due("worker-a", lease, 10).await.unwrap().remove(0);
        s.save_handle(&a, "{}", false, None).await.unwrap();
        s.clock().advance(SignedDuration::from_secs(31));
        assert!(matches!(s.extend_lease(&a, lease * 2).await, Err(StoreError::LeaseLost)));
        assert!(matches!(s.save_handle(&a, "{}", true, None).await, Err(StoreError::LeaseLost)));
    };

    a_lease_is_extended_only_by_its_holder_and_never_shortened => |s: Store| async move {
        let (user, ws, profile) = user_with_profile(&s).await;
        schedule_now(&s, user, ws, profile, None).await;
        let now = s.clock().now();
        let lease = (now + SignedDuration::from_secs(30)).as_microsecond();
        let a = s.claim_due("worker-a", lease, 10).await.unwrap().remove(0);
        let impostor = herald_store::Claimed { owner: "worker-b".into(), ..a.clone() };
        assert!(matches!(s.extend_lease(&impostor, lease * 2).await, Err(StoreError::LeaseLost)));
        s.extend_lease(&a, (now + SignedDuration::from_secs(90)).as_microsecond()).await.unwrap();
        s.extend_lease(&a, (now + SignedDuration::from_secs(10)).as_microsecond()).await.unwrap();
        s.clock().advance(SignedDuration::from_secs(60));
        let later = (s.clock().now() + SignedDuration::from_secs(30)).as_microsecond();
        assert!(s.claim_due("worker-b", later, 10).await.unwrap().is_empty(), "still held for 90 s");
        s.save_handle(&a, "{}", false, None).await.unwrap();
    };

    attempts_begun_and_outcomes_written_at_once_are_each_recorded_once_and_a_lost_claim_among_them_changes_only_itself => |s: Store| async move {
        let (user, ws, profile) = user_with_profile(&s).await;
        let mut posts = Vec::new();
        for _ in 0..12 {
            posts.push(schedule_now(&s, user, ws, profile, None).await);
        }
        let lease = (s.clock().now() + SignedDuration::from_secs(30)).as_microsecond();
        let claimed = s.claim_due("worker-a", lease, 20).await.unwrap();
        assert_eq!(claimed.len(), 12);
        // The fourth was handed back and claimed by another worker: worker-a's claim is stale.
        s.release(&claimed[3]).await.unwrap();
        let taken = s.claim_due("worker-b", lease, 1).await.unwrap().remove(0);
        assert_eq!(taken.id, claimed[3].id);
        let mut writes = tokio::task::JoinSet::new();
        for (i, c) in claimed.iter().cloned().enumerate() {
            let s = s.clone();
            writes.spawn(async move {
                // Long enough that the batch's rows go in several statements.
                let id = format!("p-{i}-{}", "x".repeat(1500));
                let handle = format!("{{\"pad\":\"{}\"}}", "y".repeat(1500));
                let begun = s.begin_attempt(&c, &handle, false, None, "publishing").await;
                let t = Transition { platform_post_id: Some(&id), outcome: "published", count_published: true, ..Default::default() };
                let ended = s.transition(&c, DeliveryStatus::Published, t).await;
                // The stale claim's start and outcome are each refused on their own.
                match (begun, ended) {
                    (Ok(()), Ok(())) => (c.post, Ok(())),
                    (Err(StoreError::LeaseLost), Err(StoreError::LeaseLost)) => (c.post, Err(StoreError::LeaseLost)),
                    other => panic!("a start and an outcome of one claim differ: {other:?}"),
                }
            });
        }
        let mut lost = None;
        while let Some(done) = writes.join_next().await {
            match done.unwrap() {
                (post, Err(StoreError::LeaseLost)) => lost = Some(post),
                (_, r) => r.unwrap(),
            }
        }
        let lost = lost.expect("the stale claim is told its lease was lost");
        for post in posts {
            let row = s.get_post(ws, post).await.unwrap();
            let events = s.delivery_events(ws, post).await.unwrap();
            let published = events.iter().filter(|e| e.outcome == "published").count();
            let started = events.iter().filter(|e| e.outcome == "attempt_started").count();
            match post == lost {
                true => assert!(
                    row.deliveries[0].status == DeliveryStatus::Publishing && row.deliveries[0].platform_post_id.is_none() && published + started == 0,
                    "the stale claim changed nothing: the delivery is the other worker's"
                ),
                false => {
                    assert!(
                        row.deliveries[0].status == DeliveryStatus::Published && published == 1 && started == 1,
                        "each attempt's start and outcome recorded once with its event"
                    );
                    let id = row.deliveries[0].platform_post_id.as_deref().unwrap_or_default();
                    assert!(id.starts_with("p-") && id.len() > 1500, "the outcome's whole value is written");
                    assert!(events.iter().filter(|e| e.to_status != "scheduled").all(|e| e.attempt == 1), "{events:?}");
                }
            }
        }
    };

    a_delivery_handed_back_keeps_its_place_before_those_due_after_it => |s: Store| async move {
        let (user, ws, profile) = user_with_profile(&s).await;
        let first = schedule_now(&s, user, ws, profile, None).await;
        let lease = (s.clock().now() + SignedDuration::from_secs(30)).as_microsecond();
        let a = s.claim_due("worker-a", lease, 10).await.unwrap().remove(0);
        s.clock().advance(SignedDuration::from_secs(5));
        let later = schedule_now(&s, user, ws, profile, None).await;
        // Handed back after the second fell due: its place is still its own time, not this moment.
        s.clock().advance(SignedDuration::from_secs(5));
        s.release(&a).await.unwrap();
        s.clock().advance(SignedDuration::from_secs(1));
        let lease = (s.clock().now() + SignedDuration::from_secs(30)).as_microsecond();
        let next = s.claim_due("worker-b", lease, 1).await.unwrap();
        assert_eq!(next[0].post, first, "the delivery due first is claimed first, handed back or not");
        assert!(next[0].taken_over);
        assert_eq!(s.claim_due("worker-b", lease, 1).await.unwrap()[0].post, later);
    };

    an_attempt_begun_or_a_handle_saved_with_a_lease_extends_it_in_the_same_write_and_the_claim_reads_the_catch_up_window => |s: Store| async move {
        let (user, ws, profile) = user_with_profile(&s).await;
        s.set_catch_up_minutes(ws, 45).await.unwrap();
        schedule_now(&s, user, ws, profile, None).await;
        let now = s.clock().now();
        let lease = (now + SignedDuration::from_secs(15)).as_microsecond();
        let a = s.claim_due("worker-a", lease, 10).await.unwrap().remove(0);
        assert_eq!(a.catch_up_minutes, Some(45));
        let call = (now + SignedDuration::from_secs(40)).as_microsecond();
        // An attempt that begins at the visible call records the mark and that call's lease at once.
        s.begin_attempt(&a, "{\"visible\":true}", true, Some(call), "publishing").await.unwrap();
        assert_eq!(a.lease_ends(), call, "the worker knows the lease it wrote");
        // A shorter one never shortens it.
        s.save_handle(&a, "{\"visible\":true}", true, Some(lease)).await.unwrap();
        assert_eq!(a.lease_ends(), call);
        s.clock().advance(SignedDuration::from_secs(30));
        let later = (s.clock().now() + SignedDuration::from_secs(15)).as_microsecond();
        assert!(s.claim_due("worker-b", later, 10).await.unwrap().is_empty(), "held for the call's 40 s");
        s.clock().advance(SignedDuration::from_secs(11));
        let later = (s.clock().now() + SignedDuration::from_secs(15)).as_microsecond();
        let taken = s.claim_due("worker-b", later, 10).await.unwrap();
        assert_eq!(taken.len(), 1, "and no longer");
        assert!(taken[0].may_be_live && taken[0].attempts == 1, "the taker knows the visible call may have been made");
    };

    a_claimed_delivery_reads_its_post_profile_token_and_facts_in_one_go_and_only_its_own_workspaces => |s: Store| async move {
        use herald_domain::rules::LiveFacts;
        use secrecy::ExposeSecret;
        let (user, ws, profile) = user_with_profile(&s).await;
        let (_, other_ws, other_profile) = user_with_profile(&s).await;
        let post = schedule_now(&s, user, ws, profile, None).await;
        let lease = (s.clock().now() + SignedDuration::from_secs(30)).as_microsecond();
        let c = s.claim_due("worker-a", lease, 10).await.unwrap().remove(0);
        // Nothing stored yet beside the post: no token, no facts.
        let bare = s.work(&c).await.unwrap();
        assert!(bare.sealed_token.is_none() && bare.live_facts.is_none());
        s.put_secret(ws, profile, SecretKind::AccessToken, "IGAAwork-token").await.unwrap();
        s.put_live_facts(ws, profile, &LiveFacts { quota_used: Some(7), quota_total: Some(50), creator: None }).await.unwrap();
        let work = s.work(&c).await.unwrap();
        let read = work.post.unwrap();
        assert_eq!((read.id, read.text.as_str()), (post, "hello"));
        assert_eq!(read.deliveries.iter().map(|d| d.id).collect::<Vec<_>>(), vec![c.id]);
        assert_eq!(work.profile.unwrap().id, profile);
        let token = s.open_secret(ws, profile, SecretKind::AccessToken, &work.sealed_token.unwrap()).await.unwrap();
        assert_eq!(token.expose_secret(), "IGAAwork-token");
        let (facts, _) = work.live_facts.unwrap();
        assert_eq!((facts.quota_used, facts.quota_total), (Some(7), Some(50)));
        // Facts that cannot be read are no facts (the dispatcher reads them again), and hold up
        // nothing else.
        tamper(&s, format!("UPDATE profile_facts SET creator = 'not json' WHERE profile_id = '{profile}'")).await;
        let damaged = s.work(&c).await.unwrap();
        assert!(damaged.live_facts.is_none() && damaged.post.is_ok() && damaged.profile.is_ok());
        // The claim names its workspace: the same delivery read as another workspace's is not found.
        let stranger = herald_store::Claimed { workspace: other_ws, profile: other_profile, ..c.clone() };
        assert!(matches!(s.work(&stranger).await, Err(StoreError::NotFound)));
    };

    after_a_restart_only_deliveries_whose_visible_call_never_started_resume_at_once => |s: Store| async move {
        let (user, ws, profile) = user_with_profile(&s).await;
        schedule_now(&s, user, ws, profile, None).await;
        schedule_now(&s, user, ws, profile, None).await;
        let lease = (s.clock().now() + SignedDuration::from_secs(40)).as_microsecond();
        let claimed = s.claim_due("the-process-that-died", lease, 10).await.unwrap();
        assert_eq!(claimed.len(), 2);
        s.save_handle(&claimed[0], "{}", false, None).await.unwrap();
        s.save_handle(&claimed[1], "{\"visible\":true}", true, None).await.unwrap();
        assert_eq!(s.resume_in_flight().await.unwrap(), 1);
        // Claimed for longer than the dead process's call budget, so only the other lapses below.
        let next = (s.clock().now() + SignedDuration::from_secs(120)).as_microsecond();
        let resumed = s.claim_due("restarted", next, 10).await.unwrap();
        assert_eq!(resumed.iter().map(|c| c.id).collect::<Vec<_>>(), vec![claimed[0].id], "the call may still be running at the platform");
        s.clock().advance(SignedDuration::from_secs(41));
        let later = (s.clock().now() + SignedDuration::from_secs(15)).as_microsecond();
        let taken = s.claim_due("restarted", later, 10).await.unwrap();
        assert_eq!(taken.iter().map(|c| c.id).collect::<Vec<_>>(), vec![claimed[1].id], "once its budget has run out");
    };

    a_person_acts_on_a_delivery_only_from_a_state_that_allows_it => |s: Store| async move {
        use herald_store::DeliveryAction;
        let (user, ws, profile) = user_with_profile(&s).await;
        let post = schedule_now(&s, user, ws, profile, None).await;
        let lease = (s.clock().now() + SignedDuration::from_secs(30)).as_microsecond();
        let c = s.claim_due("w", lease, 10).await.unwrap().remove(0);
        let candidates = r#"[{"id":"1790","permalink":null},{"id":"1791","permalink":"https://example.com/p/1791"}]"#;
        s.transition(&c, DeliveryStatus::Unconfirmed, Transition { candidates: Some(candidates), outcome: "unconfirmed", ..Default::default() }).await.unwrap();
        let r = s.act_on_delivery(ws, post, c.id, DeliveryAction::Choose("1792")).await;
        assert!(matches!(r, Err(StoreError::Conflict(_))), "only a listed candidate: {r:?}");
        let (_, other_ws) = s.create_user("other@example.com", "hash").await.unwrap();
        let r = s.act_on_delivery(other_ws, post, c.id, DeliveryAction::Dismiss).await;
        assert!(matches!(r, Err(StoreError::NotFound)), "another workspace's delivery: {r:?}");
        let to = s.act_on_delivery(ws, post, c.id, DeliveryAction::Choose("1791")).await.unwrap();
        assert_eq!(to, DeliveryStatus::Published);
        let d = &s.get_post(ws, post).await.unwrap().deliveries[0];
        assert_eq!((d.platform_post_id.as_deref(), d.permalink.as_deref()), (Some("1791"), Some("https://example.com/p/1791")));
        assert!(d.candidates.is_none());
        for action in [DeliveryAction::PublishNow, DeliveryAction::Dismiss, DeliveryAction::Choose("1790")] {
            let r = s.act_on_delivery(ws, post, c.id, action).await;
            assert!(matches!(r, Err(StoreError::Conflict(_))), "a published delivery stays published: {r:?}");
        }
        // A stale claim cannot overwrite what the person decided.
        let r = s.transition(&c, DeliveryStatus::Failed, Transition { outcome: "late", ..Default::default() }).await;
        assert!(matches!(r, Err(StoreError::LeaseLost)));
    };

    an_edit_after_a_claim_is_refused_and_changes_nothing => |s: Store| async move {
        let (user, ws, profile) = user_with_profile(&s).await;
        let post = schedule_now(&s, user, ws, profile, None).await;
        let lease = (s.clock().now() + SignedDuration::from_secs(30)).as_microsecond();
        assert_eq!(s.claim_due("w", lease, 10).await.unwrap().len(), 1);
        let r = s.update_post(ws, post, PostChange { text: Some("edited"), ..PostChange::default() }).await;
        assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
        assert_eq!(s.get_post(ws, post).await.unwrap().text, "hello");
        let cancel = s.cancel_post(ws, post).await.unwrap();
        assert_eq!((cancel.cancelled, cancel.in_flight), (0, 1));
    };

    an_edit_before_a_claim_wins_and_moves_the_due_time => |s: Store| async move {
        let (user, ws, profile) = user_with_profile(&s).await;
        let post = schedule_now(&s, user, ws, profile, None).await;
        let later = (s.clock().now() + SignedDuration::from_hours(1)).as_microsecond();
        let change = PostChange { text: Some("edited"), at: Some((later, "Europe/Paris")), ..PostChange::default() };
        s.update_post(ws, post, change).await.unwrap();
        let lease = (s.clock().now() + SignedDuration::from_secs(30)).as_microsecond();
        assert!(s.claim_due("w", lease, 10).await.unwrap().is_empty());
        let p = s.get_post(ws, post).await.unwrap();
        assert_eq!((p.text.as_str(), p.time_zone.as_str(), p.deliveries[0].due_at), ("edited", "Europe/Paris", later));
    };

    the_same_idempotency_key_returns_the_first_post => |s: Store| async move {
        let (user, ws, profile) = user_with_profile(&s).await;
        let a = schedule_now(&s, user, ws, profile, Some("key-1")).await;
        let b = schedule_now(&s, user, ws, profile, Some("key-1")).await;
        let c = schedule_now(&s, user, ws, profile, Some("key-2")).await;
        assert_eq!(a, b);
        assert_ne!(a, c);
        let other = s.create_post(NewPost {
            workspace: ws, user, text: "different", media_ids: &[], thread: &[], scheduled_at: 0, time_zone: "UTC",
            idempotency_key: Some("key-1"), request_hash: Some("another request"), targets: vec![],
            awaits_approval: false,
        }).await;
        assert!(matches!(other, Err(StoreError::Conflict(_))), "{other:?}");
    };

    a_token_renewed_while_its_profile_is_disconnected_is_not_kept => |s: Store| async move {
        let (_, ws, p1) = user_with_profile(&s).await;
        s.put_secret(ws, p1, SecretKind::AccessToken, "old-token").await.unwrap();
        let due = herald_store::ProfileDue { workspace: ws, profile: p1, at: 0 };
        // The renewal was asked for; the person disconnects before its answer is stored.
        s.disconnect_profile(ws, p1).await.unwrap();
        let r = s.finish_refresh(due, "worker-1", "new-token", Some("new-refresh"), Some(1)).await;
        assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
        for kind in [SecretKind::AccessToken, SecretKind::RefreshToken] {
            assert!(s.get_secret(ws, p1, kind).await.unwrap().is_none(), "{kind:?} was kept");
        }
    };

    a_token_that_already_ends_with_its_refresh_token_is_not_renewed_again_until_it_ends => |s: Store| async move {
        let (_, ws, _) = user_with_profile(&s).await;
        let now = s.clock().now().as_microsecond();
        let day = 86_400_000_000_i64;
        let linkedin = |id: &'static str, expires: i64, by: i64| NewProfile {
            workspace: ws, platform: "linkedin", external_id: id, handle: id, granted_scopes: &[], token_issued_at: 0,
            token_expires_at: Some(expires), sandbox: true, login: Login::Linkedin, grant: None, reconnect_by: Some(by),
        };
        // Ends in five days, with the year: a renewal would gain nothing.
        s.upsert_profile(linkedin("urn:li:person:capped", now + 5 * day, now + 5 * day)).await.unwrap();
        // Ends in five days, the year much later: due.
        let due = s.upsert_profile(linkedin("urn:li:person:due", now + 5 * day, now + 300 * day)).await.unwrap();
        // Ended with the year: claimed once more, so its refusal holds the profile.
        let ended = s.upsert_profile(linkedin("urn:li:person:ended", now - 1, now - 1)).await.unwrap();
        let claimed = s.claim_refreshes("w", now + 60_000_000, Login::Linkedin, now + 7 * day, now, 10).await.unwrap();
        let mut ids: Vec<_> = claimed.iter().map(|p| p.profile).collect();
        ids.sort();
        let mut want = vec![due, ended];
        want.sort();
        assert_eq!(ids, want);
    };

    a_ciphertext_moved_to_another_profile_does_not_decrypt => |s: Store| async move {
        let (_, ws, p1) = user_with_profile(&s).await;
        let p2 = instagram_profile(&s, ws, "2", "b", &[]).await;
        s.put_secret(ws, p1, SecretKind::AccessToken, "IGAAtoken-one").await.unwrap();
        s.put_secret(ws, p2, SecretKind::AccessToken, "IGAAtoken-two").await.unwrap();
        use secrecy::ExposeSecret;
        assert_eq!(s.get_secret(ws, p1, SecretKind::AccessToken).await.unwrap().unwrap().expose_secret(), "IGAAtoken-one");
        let copy = "UPDATE profile_secrets SET ciphertext = (SELECT ciphertext FROM profile_secrets WHERE profile_id = $1) WHERE profile_id = $2";
        match s.db() {
            Db::Sqlite(p) => { sqlx::query(copy).bind(p1.to_string()).bind(p2.to_string()).execute(p).await.unwrap(); }
            Db::Postgres(p) => { sqlx::query(copy).bind(p1.to_string()).bind(p2.to_string()).execute(p).await.unwrap(); }
        }
        let r = s.get_secret(ws, p2, SecretKind::AccessToken).await;
        assert!(matches!(r, Err(StoreError::Vault(_))), "{r:?}");
    };

    a_second_login_by_the_same_person_updates_their_grant_and_its_token_opens_only_in_its_row => |s: Store| async move {
        use secrecy::{ExposeSecret, SecretString};
        let (user, ws, _) = user_with_profile(&s).await;
        let grant = |id: &'static str, token: &'static SecretString| NewGrant {
            workspace: ws, user, login: Login::Facebook, external_user_id: id, name: "Sam", granted_scopes: &[],
            token, token_issued_at: 0, token_expires_at: Some(10), refresh: None, refresh_expires_at: None, sandbox: true,
        };
        static FIRST: std::sync::LazyLock<SecretString> = std::sync::LazyLock::new(|| SecretString::from("EAAfirst"));
        static SECOND: std::sync::LazyLock<SecretString> = std::sync::LazyLock::new(|| SecretString::from("EAAsecond"));
        let a = s.upsert_grant(grant("10", &FIRST)).await.unwrap();
        let again = s.upsert_grant(grant("10", &SECOND)).await.unwrap();
        assert_eq!(a, again, "the same person's second login is the same grant");
        assert_eq!(s.grant_token(ws, a).await.unwrap().expose_secret(), "EAAsecond");
        let b = s.upsert_grant(grant("11", &FIRST)).await.unwrap();
        assert_ne!(a, b);
        let copy = "UPDATE grants SET ciphertext = (SELECT ciphertext FROM grants WHERE id = $1) WHERE id = $2";
        match s.db() {
            Db::Sqlite(p) => { sqlx::query(copy).bind(a.to_string()).bind(b.to_string()).execute(p).await.unwrap(); }
            Db::Postgres(p) => { sqlx::query(copy).bind(a.to_string()).bind(b.to_string()).execute(p).await.unwrap(); }
        }
        assert!(matches!(s.grant_token(ws, b).await, Err(StoreError::Vault(_))), "a token copied to another grant does not open");
        let (_, other_ws) = s.create_user(&format!("{}@example.com", uuid::Uuid::new_v4()), "hash").await.unwrap();
        assert!(matches!(s.get_grant(other_ws, a).await, Err(StoreError::NotFound)), "grants are scoped to their workspace");
    };

    a_grants_refresh_token_is_kept_sealed_with_its_end_and_a_login_without_one_forgets_it => |s: Store| async move {
        use secrecy::{ExposeSecret, SecretString};
        let (user, ws, _) = user_with_profile(&s).await;
        let (token, refresh) = (SecretString::from("AQVaccess"), SecretString::from("AQXrefresh"));
        let grant = |refresh: Option<&'static SecretString>| NewGrant {
            workspace: ws, user, login: Login::Linkedin, external_user_id: "sbx", name: "Sandra", granted_scopes: &[],
            token: &token, token_issued_at: 0, token_expires_at: Some(10), refresh, refresh_expires_at: refresh.map(|_| 365), sandbox: true,
        };
        static REFRESH: std::sync::LazyLock<SecretString> = std::sync::LazyLock::new(|| SecretString::from("AQXrefresh"));
        let id = s.upsert_grant(grant(Some(&REFRESH))).await.unwrap();
        let row = s.get_grant(ws, id).await.unwrap();
        assert!(row.renews && row.refresh_expires_at == Some(365), "{row:?}");
        assert_eq!(s.grant_refresh_token(ws, id).await.unwrap().unwrap().expose_secret(), refresh.expose_secret());
        assert_eq!(s.grant_token(ws, id).await.unwrap().expose_secret(), "AQVaccess", "each token opens as itself");
        // The user token's sealed bytes in the refresh token's place do not open: each is bound to its kind.
        let swap = "UPDATE grants SET refresh_ciphertext = ciphertext WHERE id = $1";
        match s.db() {
            Db::Sqlite(p) => { sqlx::query(swap).bind(id.to_string()).execute(p).await.unwrap(); }
            Db::Postgres(p) => { sqlx::query(swap).bind(id.to_string()).execute(p).await.unwrap(); }
        }
        assert!(matches!(s.grant_refresh_token(ws, id).await, Err(StoreError::Vault(_))));
        // Logging in again where the platform no longer gives one leaves none behind.
        assert_eq!(s.upsert_grant(grant(None)).await.unwrap(), id);
        let row = s.get_grant(ws, id).await.unwrap();
        assert!(!row.renews && row.refresh_expires_at.is_none(), "{row:?}");
        assert!(s.grant_refresh_token(ws, id).await.unwrap().is_none());
    };

    concurrent_publishes_each_count_against_the_cached_quota => |s: Store| async move {
        use herald_domain::rules::LiveFacts;
        let (user, ws, p) = user_with_profile(&s).await;
        s.put_live_facts(ws, p, &LiveFacts { quota_used: Some(3), quota_total: Some(50), creator: None }).await.unwrap();
        for _ in 0..10 {
            schedule_now(&s, user, ws, p, None).await;
        }
        let lease = (s.clock().now() + SignedDuration::from_secs(30)).as_microsecond();
        let claimed = s.claim_due("worker-a", lease, 10).await.unwrap();
        assert_eq!(claimed.len(), 10);
        let tasks: Vec<_> = claimed
            .into_iter()
            .map(|c| {
                let s = s.clone();
                let t = Transition { outcome: "published", count_published: true, ..Default::default() };
                tokio::spawn(async move { s.transition(&c, DeliveryStatus::Published, t).await })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let (facts, _) = s.live_facts(ws, p).await.unwrap().unwrap();
        assert_eq!((facts.quota_used, facts.quota_total), (Some(13), Some(50)), "no count is lost");
    };

    what_an_account_allows_a_post_is_kept_with_its_live_facts => |s: Store| async move {
        use herald_domain::rules::{Creator, LiveFacts};
        let (_, ws, p) = user_with_profile(&s).await;
        let facts = LiveFacts {
            creator: Some(Creator {
                privacy_levels: vec!["FOLLOWER_OF_CREATOR".into(), "SELF_ONLY".into()],
                comment_disabled: true,
                max_video_duration_s: Some(180),
                ..Creator::default()
            }),
            ..LiveFacts::default()
        };
        s.put_live_facts(ws, p, &facts).await.unwrap();
        assert_eq!(s.live_facts(ws, p).await.unwrap().unwrap().0, facts);
    };

    rotation_rewraps_every_data_key_and_the_old_version_can_then_go => |s: Store| async move {
        let (_, ws, p1) = user_with_profile(&s).await;
        s.put_secret(ws, p1, SecretKind::AccessToken, "IGAAtoken").await.unwrap();
        let mut ring = (*s.vault().ring()).clone();
        ring.add_new_version().unwrap();
        assert_eq!(s.rewrap_data_keys(&ring).await.unwrap(), 1);
        let status = s.key_status().await.unwrap();
        assert_eq!(status.iter().map(|k| k.master_version).collect::<Vec<_>>(), vec![2]);
        ring.remove(1);
        s.verify_data_keys(&ring).await.unwrap();
        let s2 = Store::new(s.db().clone(), Arc::new(Vault::new(ring, KeySource::Inline)), Clock::system());
        use secrecy::ExposeSecret;
        assert_eq!(s2.get_secret(ws, p1, SecretKind::AccessToken).await.unwrap().unwrap().expose_secret(), "IGAAtoken");
    };

    another_workspace_cannot_see_profiles_posts_or_secrets => |s: Store| async move {
        let (user, ws, profile) = user_with_profile(&s).await;
        let post = schedule_now(&s, user, ws, profile, None).await;
        let (_, other) = s.create_user("other@example.com", "hash").await.unwrap();
        assert!(matches!(s.get_profile(other, profile).await, Err(StoreError::NotFound)));
        assert!(matches!(s.get_post(other, post).await, Err(StoreError::NotFound)));
        assert!(matches!(s.cancel_post(other, post).await, Err(StoreError::NotFound)));
        assert!(matches!(s.disconnect_profile(other, profile).await, Err(StoreError::NotFound)));
        assert!(s.list_profiles(other).await.unwrap().is_empty());
    };
}
