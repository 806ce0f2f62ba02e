//! Approvals, each test run on SQLite and on PostgreSQL: a post held for approval is never
//! claimed, an approval schedules it (or, after its time, makes it missed), a rejection keeps it
//! waiting with its comment, an edit that resubmits it makes it wait again, the sweep makes a post
//! not approved by its time missed once, and every decision is kept in order.

mod common;

use common::{on_both_backends, post_due, user_with_profile};
use herald_domain::delivery::DeliveryStatus;
use herald_domain::{PostId, UserId, WorkspaceId};
use herald_store::{Decision, DeliveryAction, PostChange, Store, StoreError};
use jiff::SignedDuration;

/// A post due in an hour, held for approval when `held`.
async fn schedule(
    s: &Store,
    user: UserId,
    ws: WorkspaceId,
    profile: herald_domain::ProfileId,
    held: bool,
) -> PostId {
    post_due(s, ws, user, profile, "waiting for a yes", 1, held).await
}

async fn status(s: &Store, ws: WorkspaceId, post: PostId) -> DeliveryStatus {
    s.get_post(ws, post).await.unwrap().deliveries[0].status
}

async fn decisions(s: &Store, ws: WorkspaceId, post: PostId) -> Vec<Decision> {
    s.approvals(ws, post)
        .await
        .unwrap()
        .iter()
        .map(|d| d.decision)
        .collect()
}

/// What the dispatcher would claim now.
async fn claimable(s: &Store) -> usize {
    let lease = (s.clock().now() + SignedDuration::from_secs(30)).as_microsecond();
    s.claim_due("w", lease, 10).await.unwrap().len()
}

on_both_backends! {
    a_workspace_requires_approval_only_once_told_to => |s: Store| async move {
        let (_, ws, _) = user_with_profile(&s).await;
        assert!(!s.require_approval(ws).await.unwrap(), "off by default");
        s.set_require_approval(ws, true).await.unwrap();
        assert!(s.require_approval(ws).await.unwrap());
        s.set_require_approval(ws, false).await.unwrap();
        assert!(!s.require_approval(ws).await.unwrap());
        assert!(matches!(s.require_approval(WorkspaceId::new()).await, Err(StoreError::NotFound)));
    };

    a_held_post_is_never_claimed_until_approved_and_then_goes_out_at_its_time => |s: Store| async move {
        let (user, ws, profile) = user_with_profile(&s).await;
        let (approver, _) = s.create_user("approver@example.com", "hash").await.unwrap();
        let post = schedule(&s, user, ws, profile, true).await;
        assert_eq!(status(&s, ws, post).await, DeliveryStatus::PendingApproval);
        assert_eq!(decisions(&s, ws, post).await, [Decision::Submitted]);
        assert_eq!(s.next_due_at().await.unwrap(), None, "nothing for the dispatcher to wait for");

        let done = s.approve_post(ws, post, approver, Some("good to go")).await.unwrap();
        assert_eq!((done.scheduled, done.missed), (1, 0));
        assert_eq!(status(&s, ws, post).await, DeliveryStatus::Scheduled);
        assert_eq!(claimable(&s).await, 0, "not before its time");
        let kept = s.approvals(ws, post).await.unwrap();
        assert_eq!((kept[1].decision, kept[1].by, kept[1].comment.as_deref()), (Decision::Approved, Some(approver), Some("good to go")));
        let r = s.approve_post(ws, post, approver, None).await;
        assert!(matches!(r, Err(StoreError::Conflict(_))), "approved once: {r:?}");

        s.clock().advance(SignedDuration::from_mins(61));
        assert_eq!(claimable(&s).await, 1);
        let outcomes: Vec<String> = s.delivery_events(ws, post).await.unwrap().into_iter().map(|e| e.outcome).collect();
        assert_eq!(outcomes, ["awaiting_approval", "approved"]);
    };

    a_held_post_past_its_time_is_never_claimed_and_the_sweep_makes_it_missed_once => |s: Store| async move {
        let (user, ws, profile) = user_with_profile(&s).await;
        let post = schedule(&s, user, ws, profile, true).await;
        // Another workspace's post, due half an hour after this one.
        s.clock().advance(SignedDuration::from_mins(30));
        let (other_user, other_ws, other_profile) = user_with_profile(&s).await;
        let later = schedule(&s, other_user, other_ws, other_profile, true).await;
        s.clock().advance(SignedDuration::from_mins(31));
        assert_eq!(claimable(&s).await, 0, "a post waiting for approval is never claimed");
        let swept = s.miss_unapproved().await.unwrap();
        assert_eq!(swept.len(), 1, "{swept:?}");
        assert_eq!((swept[0].workspace, swept[0].post), (ws, post));
        let d = &s.get_post(ws, post).await.unwrap().deliveries[0];
        assert_eq!((d.status, d.error_code.as_deref()), (DeliveryStatus::Missed, Some("not_approved")));
        assert_eq!(decisions(&s, ws, post).await, [Decision::Submitted, Decision::Expired]);
        assert!(s.miss_unapproved().await.unwrap().is_empty(), "swept once");
        assert_eq!(status(&s, other_ws, later).await, DeliveryStatus::PendingApproval, "its time has not come");
        let r = s.approve_post(ws, post, user, None).await;
        assert!(matches!(r, Err(StoreError::Conflict(_))), "a missed post is published now, not approved: {r:?}");

        // Only "publish now" as an approver asks for it sends a missed post.
        let delivery = d.id;
        let r = s.act_on_delivery(ws, post, delivery, DeliveryAction::PublishNowNotMissed).await;
        assert!(matches!(r, Err(StoreError::Conflict(_))), "{r:?}");
        assert_eq!(s.act_on_delivery(ws, post, delivery, DeliveryAction::PublishNow).await.unwrap(), DeliveryStatus::Scheduled);
        assert_eq!(claimable(&s).await, 1);
    };

    an_approval_after_the_posts_time_makes_it_missed => |s: Store| async move {
        let (user, ws, profile) = user_with_profile(&s).await;
        let post = schedule(&s, user, ws, profile, true).await;
        s.clock().advance(SignedDuration::from_mins(61));
        let done = s.approve_post(ws, post, user, None).await.unwrap();
        assert_eq!((done.scheduled, done.missed), (0, 1));
        assert_eq!(status(&s, ws, post).await, DeliveryStatus::Missed);
        assert_eq!(claimable(&s).await, 0);
    };

    a_rejected_post_keeps_waiting_with_its_comment_until_an_edit_submits_it_again => |s: Store| async move {
        let (user, ws, profile) = user_with_profile(&s).await;
        let (approver, _) = s.create_user("approver@example.com", "hash").await.unwrap();
        let post = schedule(&s, user, ws, profile, true).await;
        s.reject_post(ws, post, approver, "the date in the caption is wrong").await.unwrap();
        assert_eq!(status(&s, ws, post).await, DeliveryStatus::PendingApproval);
        let kept = s.approvals(ws, post).await.unwrap();
        assert_eq!((kept[1].decision, kept[1].comment.as_deref()), (Decision::Rejected, Some("the date in the caption is wrong")));

        let change = PostChange { text: Some("the right date"), resubmitted_by: Some(user), ..PostChange::default() };
        s.update_post(ws, post, change).await.unwrap();
        assert_eq!(decisions(&s, ws, post).await, [Decision::Submitted, Decision::Rejected, Decision::Submitted]);
        s.approve_post(ws, post, approver, None).await.unwrap();
        assert_eq!(status(&s, ws, post).await, DeliveryStatus::Scheduled);

        // An approver's edit keeps it approved; an editor's makes it wait again.
        s.update_post(ws, post, PostChange { text: Some("approver's touch"), ..PostChange::default() }).await.unwrap();
        assert_eq!(status(&s, ws, post).await, DeliveryStatus::Scheduled);
        let change = PostChange { text: Some("editor's touch"), resubmitted_by: Some(user), ..PostChange::default() };
        s.update_post(ws, post, change).await.unwrap();
        let p = s.get_post(ws, post).await.unwrap();
        assert_eq!((p.text.as_str(), p.deliveries[0].status), ("editor's touch", DeliveryStatus::PendingApproval));
        let outcomes: Vec<String> = s.delivery_events(ws, post).await.unwrap().into_iter().map(|e| e.outcome).collect();
        assert_eq!(outcomes, ["awaiting_approval", "rejected", "approved", "resubmitted"]);
        let r = s.reject_post(WorkspaceId::new(), post, approver, "not yours").await;
        assert!(matches!(r, Err(StoreError::NotFound)), "another workspace's post: {r:?}");
    };

    a_post_not_held_is_scheduled_and_a_waiting_one_can_be_cancelled => |s: Store| async move {
        let (user, ws, profile) = user_with_profile(&s).await;
        let free = schedule(&s, user, ws, profile, false).await;
        assert_eq!(status(&s, ws, free).await, DeliveryStatus::Scheduled);
        assert!(decisions(&s, ws, free).await.is_empty());
        let r = s.reject_post(ws, free, user, "no").await;
        assert!(matches!(r, Err(StoreError::Conflict(_))), "it waits for no approval: {r:?}");
        let held = schedule(&s, user, ws, profile, true).await;
        assert_eq!(s.count_scheduled_for_profile(ws, profile).await.unwrap(), 2);
        assert_eq!(s.cancel_post(ws, held).await.unwrap().cancelled, 1);
        assert_eq!(status(&s, ws, held).await, DeliveryStatus::Cancelled);
    };
}
