//! Members and invitations, each test run on SQLite and on PostgreSQL: a workspace always keeps an
//! owner, and an invitation is accepted once, never after it expired or was revoked, and never
//! demotes whoever accepts it.

mod common;

use common::on_both_backends;
use herald_domain::{Role, UserId, WorkspaceId};
use herald_store::{Store, StoreError};
use jiff::SignedDuration;

/// A new user with their own workspace, of which they are the owner.
async fn user(s: &Store) -> (UserId, WorkspaceId) {
    s.create_user(&format!("{}@example.com", uuid::Uuid::new_v4()), "hash")
        .await
        .unwrap()
}

/// An invitation into `ws` with `role`, by `by`, for a day; returns its token hash.
async fn invite(s: &Store, ws: WorkspaceId, by: UserId, role: Role) -> String {
    let hash = uuid::Uuid::new_v4().simple().to_string();
    let expires = (s.clock().now() + SignedDuration::from_hours(24)).as_microsecond();
    s.create_invitation(ws, "invited@example.com", role, &hash, by, expires)
        .await
        .unwrap();
    hash
}

/// The role `user` holds in `ws`, as the members list says.
async fn role_of(s: &Store, ws: WorkspaceId, user: UserId) -> Option<Role> {
    let members = s.members(ws).await.unwrap();
    members.iter().find(|m| m.user == user).map(|m| m.role)
}

fn conflict(r: Result<impl std::fmt::Debug, StoreError>) -> String {
    match r {
        Err(StoreError::Conflict(why)) => why,
        other => panic!("expected a conflict, got {other:?}"),
    }
}

on_both_backends! {
    the_last_owner_can_be_neither_removed_nor_demoted => |s: Store| async move {
        let (owner, ws) = user(&s).await;
        conflict(s.remove_member(ws, owner).await);
        conflict(s.set_member(ws, owner, Role::Admin).await);
        assert_eq!(role_of(&s, ws, owner).await, Some(Role::Owner));

        // With a second owner, either may step down, and then the other is the last.
        let (second, _) = user(&s).await;
        s.accept_invitation(&invite(&s, ws, owner, Role::Owner).await, second).await.unwrap();
        s.set_member(ws, owner, Role::Admin).await.unwrap();
        conflict(s.remove_member(ws, second).await);
        conflict(s.set_member(ws, second, Role::Viewer).await);
        s.remove_member(ws, owner).await.unwrap();
        assert_eq!(role_of(&s, ws, owner).await, None);
        let members = s.members(ws).await.unwrap();
        assert_eq!(members.len(), 1);
        assert_eq!((members[0].user, members[0].role), (second, Role::Owner));

        // Only members are changed or removed.
        assert!(matches!(s.remove_member(ws, owner).await, Err(StoreError::NotFound)));
        assert!(matches!(s.set_member(ws, owner, Role::Editor).await, Err(StoreError::NotFound)));
    };

    two_owners_demoting_each_other_at_once_leave_one_owner => |s: Store| async move {
        let (a, ws) = user(&s).await;
        let (b, _) = user(&s).await;
        s.accept_invitation(&invite(&s, ws, a, Role::Owner).await, b).await.unwrap();
        let (ra, rb) = tokio::join!(s.set_member(ws, a, Role::Editor), s.set_member(ws, b, Role::Editor));
        assert_eq!(
            usize::from(ra.is_ok()) + usize::from(rb.is_ok()),
            1,
            "one demotion goes through: {ra:?} {rb:?}"
        );
        let owners = s.members(ws).await.unwrap().iter().filter(|m| m.role == Role::Owner).count();
        assert_eq!(owners, 1);
    };

    members_are_listed_by_role_then_email => |s: Store| async move {
        let (owner, ws) = user(&s).await;
        for role in [Role::Viewer, Role::Admin, Role::Viewer, Role::Editor] {
            let (u, _) = user(&s).await;
            s.accept_invitation(&invite(&s, ws, owner, role).await, u).await.unwrap();
        }
        let members = s.members(ws).await.unwrap();
        let roles: Vec<Role> = members.iter().map(|m| m.role).collect();
        assert_eq!(roles, [Role::Owner, Role::Admin, Role::Editor, Role::Viewer, Role::Viewer]);
        assert!(members[3].email < members[4].email, "{members:?}");
    };

    an_invitation_is_accepted_once => |s: Store| async move {
        let (owner, ws) = user(&s).await;
        let hash = invite(&s, ws, owner, Role::Editor).await;
        assert_eq!(s.invitations(ws).await.unwrap().len(), 1);
        let (first, _) = user(&s).await;
        assert_eq!(s.accept_invitation(&hash, first).await.unwrap(), (ws, Role::Editor));
        assert_eq!(role_of(&s, ws, first).await, Some(Role::Editor));
        let (second, _) = user(&s).await;
        assert_eq!(conflict(s.accept_invitation(&hash, second).await), "used");
        assert_eq!(role_of(&s, ws, second).await, None);
        assert!(s.invitations(ws).await.unwrap().is_empty(), "no longer pending");
        let row = s.invitation_by_token(&hash).await.unwrap().unwrap();
        assert_eq!(row.spent(s.clock().now().as_microsecond()), Some("used"));
        assert!(matches!(s.accept_invitation("unknown", second).await, Err(StoreError::NotFound)));
    };

    an_expired_invitation_is_refused => |s: Store| async move {
        let (owner, ws) = user(&s).await;
        let hash = invite(&s, ws, owner, Role::Viewer).await;
        s.clock().advance(SignedDuration::from_hours(25));
        assert!(s.invitations(ws).await.unwrap().is_empty(), "no longer pending");
        let (late, _) = user(&s).await;
        assert_eq!(conflict(s.accept_invitation(&hash, late).await), "expired");
        assert_eq!(role_of(&s, ws, late).await, None);
    };

    a_revoked_invitation_is_refused => |s: Store| async move {
        let (owner, ws) = user(&s).await;
        let hash = invite(&s, ws, owner, Role::Admin).await;
        let id = s.invitations(ws).await.unwrap()[0].id;
        let (_, elsewhere) = user(&s).await;
        assert!(
            matches!(s.revoke_invitation(elsewhere, id).await, Err(StoreError::NotFound)),
            "another workspace's invitation is not found"
        );
        s.revoke_invitation(ws, id).await.unwrap();
        assert!(matches!(s.revoke_invitation(ws, id).await, Err(StoreError::NotFound)));
        let (u, _) = user(&s).await;
        assert_eq!(conflict(s.accept_invitation(&hash, u).await), "revoked");
        assert_eq!(role_of(&s, ws, u).await, None);
    };

    accepting_an_invitation_never_demotes => |s: Store| async move {
        let (owner, ws) = user(&s).await;
        let (admin, _) = user(&s).await;
        s.accept_invitation(&invite(&s, ws, owner, Role::Admin).await, admin).await.unwrap();
        let lower = invite(&s, ws, owner, Role::Viewer).await;
        assert_eq!(s.accept_invitation(&lower, admin).await.unwrap(), (ws, Role::Admin));
        assert_eq!(role_of(&s, ws, admin).await, Some(Role::Admin));
        let editor = invite(&s, ws, admin, Role::Editor).await;
        assert_eq!(s.accept_invitation(&editor, owner).await.unwrap(), (ws, Role::Owner));
        assert_eq!(role_of(&s, ws, owner).await, Some(Role::Owner));
        // A higher role is given.
        let higher = invite(&s, ws, owner, Role::Owner).await;
        assert_eq!(s.accept_invitation(&higher, admin).await.unwrap(), (ws, Role::Owner));
    };
}
