//! What a workspace's export reads, each test run on SQLite and on PostgreSQL: posts page by page
//! with exactly their deliveries' history, and the audit chain oldest first with its MACs, never
//! another workspace's.

mod common;

use common::{audit_entry, on_both_backends, post_due, user_with_profile};
use herald_domain::PostId;
use herald_store::Store;

on_both_backends! {
    posts_are_read_page_by_page_in_time_order_each_page_with_its_own_deliveries_history => |s: Store| async move {
        let (user, ws, profile) = user_with_profile(&s).await;
        let (other_user, other, other_profile) = user_with_profile(&s).await;
        // Created out of time order: the export reads them in the order they are due.
        let third = post_due(&s, ws, user, profile, "third", 3, false).await;
        let first = post_due(&s, ws, user, profile, "first", 1, false).await;
        let second = post_due(&s, ws, user, profile, "second", 2, false).await;
        post_due(&s, other, other_user, other_profile, "elsewhere", 2, false).await;
        s.cancel_post(ws, second).await.unwrap();

        let page = s.export_posts(ws, None, 2).await.unwrap();
        let ids: Vec<PostId> = page.posts.iter().map(|p| p.id).collect();
        assert_eq!(ids, [first, second]);
        let deliveries: Vec<_> = page.posts.iter().map(|p| p.deliveries[0].id).collect();
        let outcomes: Vec<(bool, &str)> = page
            .events
            .iter()
            .map(|e| (e.delivery == deliveries[0], e.outcome.as_str()))
            .collect();
        assert_eq!(
            outcomes,
            [(true, "scheduled"), (false, "scheduled"), (false, "cancelled")],
            "the page's posts' history, oldest first, and nothing else"
        );

        let last = page.posts.last().map(|p| (p.scheduled_at, p.id));
        let page = s.export_posts(ws, last, 2).await.unwrap();
        assert_eq!(page.posts.iter().map(|p| p.id).collect::<Vec<_>>(), [third]);
        assert_eq!(page.events.len(), 1);
        assert_eq!(page.events[0].delivery, page.posts[0].deliveries[0].id);

        let last = page.posts.last().map(|p| (p.scheduled_at, p.id));
        let page = s.export_posts(ws, last, 2).await.unwrap();
        assert!(page.posts.is_empty() && page.events.is_empty(), "after the last page, none");

        let page = s.export_posts(other, None, 10).await.unwrap();
        assert_eq!(page.posts.len(), 1);
        assert_eq!(page.posts[0].text, "elsewhere");
        assert_eq!(page.events.len(), 1);
    };

    the_audit_chain_is_read_oldest_first_with_its_macs_and_only_the_workspaces_own => |s: Store| async move {
        let (_, ws, _) = user_with_profile(&s).await;
        let (_, other, _) = user_with_profile(&s).await;
        assert_eq!(s.export_audit_start(ws).await.unwrap(), None, "no chain before its first entry");
        for action in ["profile.connected", "post.created", "member.joined"] {
            audit_entry(&s, Some(ws), action).await;
        }
        audit_entry(&s, Some(other), "profile.connected").await;

        let rows = s.export_audit(ws, 0, 2).await.unwrap();
        let seen: Vec<(i64, &str)> = rows.iter().map(|r| (r.entry.seq, r.entry.action.as_str())).collect();
        assert_eq!(seen, [(1, "profile.connected"), (2, "post.created")]);
        let rest = s.export_audit(ws, 2, 2).await.unwrap();
        assert_eq!(rest.len(), 1);
        assert_eq!((rest[0].entry.seq, rest[0].entry.action.as_str()), (3, "member.joined"));
        assert!(s.export_audit(ws, 3, 2).await.unwrap().is_empty());

        let macs: Vec<&str> = rows.iter().chain(&rest).map(|r| r.mac.as_str()).collect();
        assert!(macs.iter().all(|m| m.len() == 64 && m.chars().all(|c| c.is_ascii_hexdigit())), "{macs:?}");
        assert!(macs[0] != macs[1] && macs[1] != macs[2], "each entry's own MAC");
        assert!(rows.iter().chain(&rest).all(|r| r.key_version >= 1 && r.entry.workspace == Some(ws)));

        let start = s.export_audit_start(ws).await.unwrap().unwrap();
        assert_eq!((start.seq, start.prev_mac.as_str()), (1, "0".repeat(64).as_str()));
        let theirs = s.export_audit(other, 0, 10).await.unwrap();
        assert_eq!(theirs.len(), 1);
        assert_eq!(theirs[0].entry.chain, other.to_string());
    };
}
