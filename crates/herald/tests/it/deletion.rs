//! Deletion and retention end to end, on both databases: an owner deletes a workspace through the
//! API (its members lose it at once, a lesser member is refused), a person deletes their account
//! with their password (signed out, their email free again), `herald retention run` says what it
//! removed while the audit log still verifies, a running Herald sweeps by itself, and an owner
//! deletes a workspace on its page in a real browser.

use herald_store::Backend;
use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::harness::{Mode, TestApp, accept_invitation, client, herald, invite};
use crate::on_both_backends;
use crate::web::sign_up;

const PASSWORD: &str = "correct horse battery";

/// `c` asks to delete the workspace `ws`, typing `confirm` as its name: (status, body).
async fn delete_workspace(
    app: &TestApp,
    c: &reqwest::Client,
    ws: &str,
    confirm: &str,
) -> (StatusCode, Value) {
    let r = c
        .delete(app.url(&format!("api/v1/workspaces/{ws}")))
        .json(&json!({ "confirm": confirm }))
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

/// `c` asks to delete its account with `password`: (status, the `Set-Cookie` it got, body).
async fn delete_account(app: &TestApp, c: &reqwest::Client, password: &str) -> (StatusCode, String, Value) {
    let r = c
        .delete(app.url("api/v1/me"))
        .json(&json!({ "password": password }))
        .send()
        .await
        .unwrap();
    let cookie = r
        .headers()
        .get("set-cookie")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (r.status(), cookie, r.json().await.unwrap_or(Value::Null))
}

/// `inviter` invites `email` with `role` into `ws`, and `joiner` (signed in as `email`) accepts.
async fn join(
    app: &TestApp,
    inviter: &reqwest::Client,
    ws: &str,
    joiner: &reqwest::Client,
    email: &str,
    role: &str,
) {
    let secret = invite(app, inviter, ws, email, role).await;
    accept_invitation(app, joiner, &secret).await;
}

/// The current workspace of the person `c` is signed in as: (id, name).
async fn current(app: &TestApp, c: &reqwest::Client) -> (String, String) {
    let (s, me) = TestApp::get_with(c, app.url("api/v1/me")).await;
    assert_eq!(s, StatusCode::OK, "{me}");
    let ws = me["workspaces"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["current"] == true)
        .unwrap_or_else(|| panic!("no current workspace: {me}"));
    (
        ws["id"].as_str().unwrap().to_owned(),
        ws["name"].as_str().unwrap().to_owned(),
    )
}

#[tokio::test]
async fn an_owner_deletes_a_workspace_its_members_lose_it_at_once_and_a_lesser_member_is_refused() {
    on_both_backends!(Mode::Builtin, |app| {
        let (profile, media) = app.ready_on_instagram("owner@example.com").await;
        let ws = app.ws.clone();
        let at = (jiff::Timestamp::now() + SignedDuration::from_hours(1)).to_string();
        let (s, post) = app
            .schedule(json!({"text": "the owner's secret plans", "media_ids": [media], "targets": [{"profile_id": profile}], "scheduled_at": at}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{post}");
        let admin = client();
        app.signup_in(&admin, "admin@example.com").await;
        join(&app, &app.client, &ws, &admin, "admin@example.com", "admin").await;
        let (_, name) = current(&app, &app.client).await;
        assert!(app.dir.join("media").join(&ws).exists(), "the upload is on disk");
        // Scoped tokens bound to the workspace (the owner's and a member's) go with it.
        for c in [&app.client, &admin] {
            let r = c
                .post(app.url("api/v1/tokens"))
                .json(&json!({"name": "script", "workspace_id": ws}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::CREATED);
        }

        // An admin is refused for their role; the owner must type the name.
        let (s, refused) = delete_workspace(&app, &admin, &ws, &name).await;
        assert_eq!(
            (s, refused["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("role_required")),
            "{refused}"
        );
        let (s, wrong) = delete_workspace(&app, &app.client, &ws, "another name").await;
        assert_eq!(
            (s, wrong["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("confirmation_mismatch")),
            "{wrong}"
        );
        assert_eq!(
            app.count(&format!("SELECT COUNT(*) FROM workspaces WHERE id = '{ws}'"))
                .await,
            1
        );

        let (s, done) = delete_workspace(&app, &app.client, &ws, &name).await;
        assert_eq!(s, StatusCode::OK, "{done}");
        assert_eq!(done["status"], "deleted");
        assert_eq!(done["media_files_removed"], 1, "{done}");
        assert!(!app.dir.join("media").join(&ws).exists(), "its media folder went");

        // Both lose it at once; the owner's pages act in a new, empty workspace of their own.
        for c in [&app.client, &admin] {
            let r = c.get(app.ws_url("posts")).send().await.unwrap();
            assert_eq!(r.status(), StatusCode::NOT_FOUND);
        }
        let (now, _) = current(&app, &app.client).await;
        assert_ne!(now, ws);
        assert_eq!(done["current_workspace_id"], now.as_str());
        for (what, query) in [
            (
                "posts",
                format!("SELECT COUNT(*) FROM posts WHERE workspace_id = '{ws}'"),
            ),
            (
                "the post's text",
                "SELECT COUNT(*) FROM posts WHERE text LIKE '%secret plans%'".to_owned(),
            ),
            (
                "profiles",
                format!("SELECT COUNT(*) FROM profiles WHERE workspace_id = '{ws}'"),
            ),
            (
                "tokens",
                format!("SELECT COUNT(*) FROM profile_secrets WHERE workspace_id = '{ws}'"),
            ),
            (
                "the data key",
                format!("SELECT COUNT(*) FROM data_keys WHERE workspace_id = '{ws}'"),
            ),
            (
                "memberships",
                format!("SELECT COUNT(*) FROM memberships WHERE workspace_id = '{ws}'"),
            ),
            (
                "its audit entries",
                format!("SELECT COUNT(*) FROM audit_entries WHERE chain = '{ws}'"),
            ),
        ] {
            assert_eq!(app.count(&query).await, 0, "{what} remain");
        }
        // Audited in the instance's chain, with ids alone.
        let audited = app
            .count(&format!(
                "SELECT COUNT(*) FROM audit_entries WHERE chain = 'instance' AND action = 'workspace.deleted'
                   AND target = 'workspace:{ws}' AND actor LIKE 'user:%' AND client IS NULL AND detail = ''"
            ))
            .await;
        assert_eq!(audited, 1);
        let (code, out, err) = herald(&app, &["audit", "verify"]);
        assert_eq!(code, Some(0), "{out}{err}");
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) FROM api_tokens WHERE workspace_id = '{ws}'"
            ))
            .await,
            0
        );

        // A person deletes a few workspaces an hour at most (each rewrites tables all wait on).
        for _ in 0..2 {
            let (id, name) = current(&app, &app.client).await;
            let (s, done) = delete_workspace(&app, &app.client, &id, &name).await;
            assert_eq!(s, StatusCode::OK, "{done}");
        }
        let (id, name) = current(&app, &app.client).await;
        let (s, e) = delete_workspace(&app, &app.client, &id, &name).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::TOO_MANY_REQUESTS, Some("too_many_deletions")),
            "{e}"
        );
    });
}

#[tokio::test]
async fn a_person_deletes_their_account_with_their_password_is_signed_out_and_their_email_signs_up_again() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup("leaver@example.com").await;
        let (own, _) = current(&app, &app.client).await;
        let (s, _) = app.upload("square-1080.jpg").await;
        assert_eq!(s, StatusCode::CREATED);
        // A member of another person's workspace, who stays behind there with a draft of theirs.
        let stayer = client();
        let theirs = app.signup_in(&stayer, "stayer@example.com").await;
        join(
            &app,
            &stayer,
            &theirs,
            &app.client,
            "leaver@example.com",
            "editor",
        )
        .await;
        let r = app
            .client
            .post(app.url(&format!("api/v1/workspaces/{theirs}/drafts")))
            .json(&json!({"text": "the leaver's draft"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);

        let (s, _, wrong) = delete_account(&app, &app.client, "not my password").await;
        assert_eq!(
            (s, wrong["error"]["code"].as_str()),
            (StatusCode::FORBIDDEN, Some("wrong_password")),
            "{wrong}"
        );

        // The last owner of a workspace someone else joined cannot go until another owns it.
        join(&app, &app.client, &own, &stayer, "stayer@example.com", "viewer").await;
        let (s, _, blocked) = delete_account(&app, &app.client, PASSWORD).await;
        assert_eq!(
            (s, blocked["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("last_owner")),
            "{blocked}"
        );
        assert!(
            blocked["error"]["message"]
                .as_str()
                .unwrap()
                .contains("leaver's workspace"),
            "{blocked}"
        );
        let stayer_id = TestApp::get_with(&stayer, app.url("api/v1/me")).await.1["user"]["id"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = app
            .client
            .delete(app.url(&format!("api/v1/workspaces/{own}/members/{stayer_id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NO_CONTENT);

        let (s, cookie, done) = delete_account(&app, &app.client, PASSWORD).await;
        assert_eq!(s, StatusCode::OK, "{done}");
        assert_eq!(
            (
                done["workspaces_deleted"].as_u64(),
                done["media_files_removed"].as_u64()
            ),
            (Some(1), Some(1)),
            "{done}"
        );
        assert!(
            cookie.contains("Max-Age=0"),
            "the browser forgets its cookie: {cookie}"
        );
        let (s, _) = app.get(app.url("api/v1/me")).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "signed out");
        for (what, query) in [
            (
                "the email",
                "SELECT COUNT(*) FROM users WHERE email LIKE '%leaver@%'".to_owned(),
            ),
            (
                "invitations naming it",
                "SELECT COUNT(*) FROM invitations WHERE email LIKE '%leaver@%'".to_owned(),
            ),
            (
                "its own workspace",
                format!("SELECT COUNT(*) FROM workspaces WHERE id = '{own}'"),
            ),
            (
                "its memberships",
                format!(
                    "SELECT COUNT(*) FROM memberships WHERE workspace_id IN ('{own}', '{theirs}') AND user_id <> '{stayer_id}'"
                ),
            ),
        ] {
            assert_eq!(app.count(&query).await, 0, "{what} remain");
        }
        let (s, drafts) =
            TestApp::get_with(&stayer, app.url(&format!("api/v1/workspaces/{theirs}/drafts"))).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(
            drafts["data"].as_array().unwrap().len(),
            1,
            "the other's workspace keeps it: {drafts}"
        );
        let audited = app
            .count("SELECT COUNT(*) FROM audit_entries WHERE chain = 'instance' AND action = 'account.deleted' AND client IS NULL AND detail = 'workspaces_deleted=1'")
            .await;
        assert_eq!(audited, 1);
        assert_eq!(
            app.count(
                "SELECT COUNT(*) FROM audit_entries WHERE target LIKE '%leaver%' OR detail LIKE '%leaver%'"
            )
            .await,
            0,
            "no email in the log"
        );

        // The email is free again.
        let again = client();
        app.signup_in(&again, "leaver@example.com").await;
        let (code, out, err) = herald(&app, &["audit", "verify"]);
        assert_eq!(code, Some(0), "{out}{err}");
    });
}

#[tokio::test]
async fn retention_run_says_what_it_removed_the_log_still_verifies_and_a_running_herald_sweeps_by_itself() {
    on_both_backends!(Mode::Builtin, |app| {
        let clock = app.settings.clock.clone();
        // A hundred days ago: an account, its workspace and an invitation, each audited.
        clock.advance(SignedDuration::from_hours(-100 * 24));
        app.signup("early@example.com").await;
        let r = app
            .client
            .post(app.ws_url("invitations"))
            .json(&json!({"email": "invited@example.com", "role": "viewer"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        // Stopped meanwhile, so that the command alone sweeps what the clock's jump makes old
        // (a running Herald sweeps as soon as its clock moves an hour).
        app.app.take().unwrap().stop().await;
        clock.advance(SignedDuration::from_hours(100 * 24));
        let old = (jiff::Timestamp::now() - SignedDuration::from_hours(100 * 24)).as_microsecond();
        let ws = app.ws.clone();
        let note = |id: &str, at: i64| {
            format!(
                "INSERT INTO notifications (id, workspace_id, kind, subject_type, subject_id, link, message, dedupe_key, created_at)
                 VALUES ('{id}', '{ws}', 'profile_expiring_soon', 'profile', 'p1', '/profiles', 'a note', '{id}', {at})"
            )
        };
        app.tamper(&note("old-note", old)).await;
        app.tamper(&note("new-note", jiff::Timestamp::now().as_microsecond()))
            .await;

        let (code, out, err) = herald(&app, &["retention", "run"]);
        assert_eq!(code, Some(0), "{out}{err}");
        let removed = |kind: &str| -> u64 {
            let line = out
                .lines()
                .find(|l| l.starts_with(&format!("{kind} removed: ")))
                .unwrap_or_else(|| panic!("no line for {kind}: {out}"));
            line[kind.len() + 10..]
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        assert_eq!(removed("delivery events"), 0, "{out}");
        assert_eq!(removed("notifications"), 1, "{out}");
        assert_eq!(removed("invitations"), 1, "{out}");
        // The workspace's chain and the instance's each lose what came before their newest entry.
        assert!(removed("audit entries") >= 2, "{out}");
        assert!(out.contains("kept: everything since"), "{out}");
        assert_eq!(
            app.count("SELECT COUNT(*) FROM notifications WHERE id = 'new-note'")
                .await,
            1
        );
        let (code, out, err) = herald(&app, &["audit", "verify"]);
        assert_eq!(code, Some(0), "{out}{err}");
        let (_, again, _) = herald(&app, &["retention", "run"]);
        assert!(
            again.contains("notifications removed: 0") && again.contains("invitations removed: 0"),
            "{again}"
        );

        // Herald sweeps by itself once its clock has moved on an hour.
        app.restart_with(|_| {}).await;
        app.tamper(&note("another-old-note", old)).await;
        clock.advance(SignedDuration::from_hours(2));
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        while app
            .count("SELECT COUNT(*) FROM notifications WHERE id = 'another-old-note'")
            .await
            > 0
        {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the running Herald never swept"
            );
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    });
}

#[tokio::test]
async fn an_owner_deletes_a_workspace_on_its_page_after_typing_its_name() {
    let Some(b) = Browser::start("an_owner_deletes_a_workspace_on_its_page").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite, Mode::Builtin).await;
    sign_up(&b, &app, "owner@example.com").await;
    assert_eq!(app.count("SELECT COUNT(*) FROM workspaces").await, 1);
    b.goto(app.url("workspaces").as_str()).await;
    b.click("#delete-workspace").await;
    b.text_with("h1", "Delete owner's workspace?").await;
    let goes = b.text_with("#goes", "You are its only member").await;
    assert!(goes.contains("It has no profile"), "{goes}");
    let axe = crate::browser::axe_source("an_owner_deletes_a_workspace_on_its_page");
    if let Some(axe) = &axe {
        let found = b.axe(axe).await;
        assert!(found.is_empty(), "the confirmation page: {found:?}");
    }
    b.fill("#confirm", "someone else's workspace").await;
    b.click("#confirm-delete").await;
    b.text_with("#confirm-error", "exactly as it is").await;
    // The refused form answers 422, which Chromium logs; the pages after it must log nothing.
    b.console_errors().await;
    b.fill("#confirm", "owner's workspace").await;
    b.click("#confirm-delete").await;
    let done = b.text_with("#done", "deleted the workspace").await;
    assert!(!done.contains("could not be revoked"), "{done}");
    b.shoot("workspace-deleted").await;
    if let Some(axe) = &axe {
        let found = b.axe(axe).await;
        assert!(found.is_empty(), "the page after: {found:?}");
    }
    b.click("#to-dashboard").await;
    b.text_with("#no-profiles", "No profiles yet").await;
    let left = app
        .count("SELECT COUNT(*) FROM workspaces w JOIN memberships m ON m.workspace_id = w.id JOIN users u ON u.id = m.user_id WHERE u.email = 'owner@example.com'")
        .await;
    assert_eq!(
        left, 1,
        "a new, empty workspace of their own, and the deleted one gone"
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_entries WHERE chain = 'instance' AND action = 'workspace.deleted'"
        )
        .await,
        1
    );
    let errors = b.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    b.quit().await;
    app.stop().await;
}
