//! Audit log tests, each run on SQLite and on PostgreSQL: an untouched log verifies, each way of
//! tampering with it straight in the database is named, and a workspace lists only its own.

mod common;

use std::sync::Arc;

use common::{audit_entry, on_both_backends, tamper};
use herald_domain::{ApiTokenId, Clock, UserId, WorkspaceId};
use herald_store::{Actor, AuditFilter, NewAudit, Store, VerifyReport};
use herald_vault::{KeySource, Vault};
use jiff::SignedDuration;

/// Whether verification named this chain at this seq.
fn names(r: &VerifyReport, chain: impl std::fmt::Display, seq: Option<i64>) -> bool {
    let chain = chain.to_string();
    r.problems.iter().any(|p| p.chain == chain && p.seq == seq)
}

const ACTIONS: [&str; 4] = ["auth.signin", "profile.added", "post.created", "auth.signout"];

on_both_backends! {
    two_hundred_appends_at_once_to_one_chain_land_in_order_without_gaps_and_verify => |s: Store| async move {
        let dir = std::env::temp_dir().join(format!("herald-audit-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let heads = dir.join("audit-heads.json");
        let s = s.with_audit_heads(heads.clone());
        let ws = WorkspaceId::new();
        let mut appends = tokio::task::JoinSet::new();
        for i in 0..200 {
            let s = s.clone();
            appends.spawn(async move {
                let e = NewAudit {
                    workspace: Some(ws), actor: Actor::System, action: "post.published",
                    target: format!("post:{i}"), client: None, detail: String::new(),
                };
                s.audit(e).await
            });
        }
        while let Some(r) = appends.join_next().await {
            r.unwrap().expect("each append is committed before it returns");
        }
        let f = AuditFilter { limit: 500, ..AuditFilter::default() };
        let listed = s.audit_entries(ws, &f).await.unwrap();
        let seqs: Vec<i64> = listed.iter().map(|e| e.seq).rev().collect();
        assert_eq!(seqs, (1..=200).collect::<Vec<_>>(), "one entry per append, no gap, no repeat");
        let v = s.audit_verify(Some(&heads)).await.unwrap();
        assert!(v.problems.is_empty(), "{:?}", v.problems);
        std::fs::remove_dir_all(dir).unwrap();
    };

    an_untouched_log_verifies => |s: Store| async move {
        let ws = WorkspaceId::new();
        for action in &ACTIONS[..3] {
            audit_entry(&s, Some(ws), action).await;
            audit_entry(&s, None, action).await;
        }
        let r = s.audit_verify(None).await.unwrap();
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        assert_eq!(r.chains.len(), 2);
        for c in &r.chains {
            assert_eq!((c.entries, c.head_seq, c.start_seq), (3, 3, 1), "{c:?}");
        }
        assert_eq!(s.audit_key_versions_in_use().await.unwrap(), vec![1]);
    };

    an_edited_entry_is_named_by_its_chain_and_seq => |s: Store| async move {
        let (a, b) = (WorkspaceId::new(), WorkspaceId::new());
        for action in &ACTIONS[..3] {
            audit_entry(&s, Some(a), action).await;
            audit_entry(&s, Some(b), action).await;
        }
        tamper(&s, format!("UPDATE audit_entries SET target = 'profile:1' WHERE chain = '{a}' AND seq = 2")).await;
        let r = s.audit_verify(None).await.unwrap();
        assert!(names(&r, a, Some(2)), "{:?}", r.problems);
        assert!(r.problems[0].what.contains("altered"), "{:?}", r.problems);
        assert_eq!(r.problems.len(), 1, "the other chain is intact: {:?}", r.problems);
    };

    entries_swapped_in_order_are_named => |s: Store| async move {
        let ws = WorkspaceId::new();
        for action in ACTIONS {
            audit_entry(&s, Some(ws), action).await;
        }
        for (from, to) in [(2, -1), (3, 2), (-1, 3)] {
            tamper(&s, format!("UPDATE audit_entries SET seq = {to} WHERE chain = '{ws}' AND seq = {from}")).await;
        }
        let r = s.audit_verify(None).await.unwrap();
        assert!(names(&r, ws, Some(2)), "{:?}", r.problems);
    };

    a_removed_entry_is_named_by_the_missing_seq => |s: Store| async move {
        let ws = WorkspaceId::new();
        for action in ACTIONS {
            audit_entry(&s, Some(ws), action).await;
        }
        tamper(&s, format!("DELETE FROM audit_entries WHERE chain = '{ws}' AND seq = 2")).await;
        let r = s.audit_verify(None).await.unwrap();
        assert!(names(&r, ws, Some(2)), "{:?}", r.problems);
        assert!(r.problems[0].what.contains("missing"), "{:?}", r.problems);
    };

    the_newest_entries_removed_with_the_head_rewound_show_against_the_heads_file => |s: Store| async move {
        let dir = std::env::temp_dir().join(format!("herald-audit-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let heads = dir.join("audit-heads.json");
        let s = s.with_audit_heads(heads.clone());
        let ws = WorkspaceId::new();
        for action in ACTIONS {
            audit_entry(&s, Some(ws), action).await;
        }
        audit_entry(&s, None, "instance.started").await;
        tamper(&s, format!("DELETE FROM audit_entries WHERE chain = '{ws}' AND seq > 2")).await;
        tamper(&s, format!(
            "UPDATE audit_chains SET head_seq = 2,
               head_mac = (SELECT mac FROM audit_entries WHERE chain = '{ws}' AND seq = 2)
             WHERE chain = '{ws}'")).await;
        let r = s.audit_verify(None).await.unwrap();
        assert!(r.problems.is_empty(), "the database alone looks whole: {:?}", r.problems);
        let r = s.audit_verify(Some(heads.as_path())).await.unwrap();
        assert!(names(&r, ws, Some(4)), "{:?}", r.problems);
        assert_eq!(r.problems.len(), 1, "the instance chain is whole: {:?}", r.problems);
        // Appending again grows the chain over the removed entries and past the recorded head:
        // the file keeps the head it holds, so the removal stays found.
        for action in ACTIONS {
            audit_entry(&s, Some(ws), action).await;
        }
        let r = s.audit_verify(Some(heads.as_path())).await.unwrap();
        assert!(names(&r, ws, Some(4)), "still found after the chain grew again: {:?}", r.problems);
        // Without the heads file, verify says it cannot tell.
        std::fs::remove_file(&heads).unwrap();
        let r = s.audit_verify(Some(heads.as_path())).await.unwrap();
        assert!(
            r.problems.iter().any(|p| p.what.contains("heads file") && p.what.contains("missing")),
            "{:?}",
            r.problems
        );
        std::fs::remove_dir_all(dir).unwrap();
    };

    a_retention_cut_moves_the_start_behind_a_checkpoint_that_vouches_for_it => |s: Store| async move {
        let (a, b) = (WorkspaceId::new(), WorkspaceId::new());
        for ws in [a, b] {
            for action in &ACTIONS[..3] {
                audit_entry(&s, Some(ws), action).await;
            }
        }
        s.clock().advance(SignedDuration::from_hours(2));
        for ws in [a, b] {
            audit_entry(&s, Some(ws), "post.published").await;
            audit_entry(&s, Some(ws), "auth.signout").await;
        }
        let before = s.clock().now().as_microsecond() - 3_600_000_000;
        assert_eq!(s.audit_cut(before).await.unwrap(), 6);
        let r = s.audit_verify(None).await.unwrap();
        assert!(r.problems.is_empty(), "{:?}", r.problems);
        for c in &r.chains {
            assert_eq!((c.start_seq, c.head_seq, c.entries), (4, 5, 2), "{c:?}");
        }
        assert_eq!(s.audit_cut(before).await.unwrap(), 0, "nothing more is old enough");
        // In `a`, the first entry kept is removed; in `b` too, with the start moved past it.
        tamper(&s, format!("DELETE FROM audit_entries WHERE chain = '{a}' AND seq = 4")).await;
        tamper(&s, format!(
            "UPDATE audit_chains SET start_seq = 5,
               start_prev_mac = (SELECT mac FROM audit_entries WHERE chain = '{b}' AND seq = 4)
             WHERE chain = '{b}'")).await;
        tamper(&s, format!("DELETE FROM audit_entries WHERE chain = '{b}' AND seq = 4")).await;
        let r = s.audit_verify(None).await.unwrap();
        assert!(names(&r, a, Some(4)), "{:?}", r.problems);
        assert!(names(&r, b, None) && r.problems.iter().any(|p| p.what.contains("checkpoint")), "{:?}", r.problems);
    };

    entries_under_a_retired_master_key_cannot_be_checked_and_say_so => |s: Store| async move {
        let ws = WorkspaceId::new();
        audit_entry(&s, Some(ws), "auth.signin").await;
        let mut ring = (*s.vault().ring()).clone();
        ring.add_new_version().unwrap();
        ring.remove(1);
        let rotated = Store::new(s.db().clone(), Arc::new(Vault::new(ring, KeySource::Inline)), Clock::system());
        audit_entry(&rotated, Some(ws), "auth.signout").await;
        assert_eq!(rotated.audit_key_versions_in_use().await.unwrap(), vec![1, 2]);
        let r = rotated.audit_verify(None).await.unwrap();
        assert!(names(&r, ws, Some(1)) && r.problems[0].what.contains("version 1"), "{:?}", r.problems);
        let r = s.audit_verify(None).await.unwrap();
        assert!(names(&r, ws, Some(2)), "the old ring does not know version 2: {:?}", r.problems);
    };

    a_workspace_lists_only_its_own_entries_newest_first => |s: Store| async move {
        let (a, b) = (WorkspaceId::new(), WorkspaceId::new());
        for action in &ACTIONS[..3] {
            audit_entry(&s, Some(a), action).await;
        }
        audit_entry(&s, Some(b), "auth.signin").await;
        audit_entry(&s, None, "auth.signin").await;
        let (user, token) = (UserId::new(), ApiTokenId::new());
        s.audit(NewAudit {
            workspace: Some(a),
            actor: Actor::Token { token, user },
            action: "profile.disconnected",
            target: "profile:1".into(),
            client: Some("203.0.113.7".into()),
            detail: "by_token".into(),
        }).await.unwrap();
        let all = AuditFilter { limit: 100, ..AuditFilter::default() };
        let mine = s.audit_entries(a, &all).await.unwrap();
        assert_eq!(mine.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![4, 3, 2, 1]);
        assert!(mine.iter().all(|e| e.workspace == Some(a) && e.chain == a.to_string()), "{mine:?}");
        let newest = &mine[0];
        assert_eq!(newest.actor, format!("token:{token}/user:{user}"));
        assert_eq!((newest.target.as_str(), newest.client.as_deref(), newest.detail.as_str()), ("profile:1", Some("203.0.113.7"), "by_token"));
        let theirs = s.audit_entries(b, &all).await.unwrap();
        assert_eq!((theirs.len(), theirs[0].workspace), (1, Some(b)));
        let signins = AuditFilter { action_prefix: Some("auth.".into()), before_seq: Some(3), ..all.clone() };
        let page = s.audit_entries(a, &signins).await.unwrap();
        assert_eq!(page.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), vec!["auth.signin"]);
        let by_system = AuditFilter { actor: Some(Actor::System.to_string()), limit: 2, ..AuditFilter::default() };
        assert_eq!(s.audit_entries(a, &by_system).await.unwrap().iter().map(|e| e.seq).collect::<Vec<_>>(), vec![3, 2]);
        let now = s.clock().now().as_microsecond();
        let later = AuditFilter { since: Some(now + 1), ..all.clone() };
        assert!(s.audit_entries(a, &later).await.unwrap().is_empty());
        let earlier = AuditFilter { until: Some(now + 1), ..all };
        assert_eq!(s.audit_entries(a, &earlier).await.unwrap().len(), 4);
    };
}
