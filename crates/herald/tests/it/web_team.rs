//! The team and trust pages in a real browser: the audit log as an owner reads and filters it,
//! and the page a member without the role is shown instead.

use herald_store::Backend;

use crate::browser::Browser;
use crate::harness::{Mode, TestApp, client};
use crate::web::{connect_instagram, sign_up};

#[tokio::test]
async fn an_owner_reads_and_filters_the_audit_log_and_a_viewer_is_told_it_needs_an_admin() {
    let Some(b) = Browser::start("an_owner_reads_and_filters_the_audit_log").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite, Mode::Builtin).await;
    sign_up(&b, &app, "owner@example.com").await;
    connect_instagram(&b, &app, &[]).await;
    b.goto(app.url("settings").as_str()).await;
    b.click("#audit-link").await;
    b.text_with("h1", "Audit log").await;
    let list = b.text_with("#audit-list", "profile.connected").await;
    assert!(list.contains("workspace.created"), "{list}");
    assert!(list.contains("owner@example.com"), "who, by email: {list}");
    b.shoot("audit-log").await;
    b.fill("#action", "workspace.").await;
    b.click("#filters button[type=submit]").await;
    b.url_with("action=workspace.").await;
    let list = b.text_with("#audit-list", "workspace.created").await;
    assert!(!list.contains("profile.connected"), "filtered: {list}");
    b.fill("#action", "nothing.").await;
    b.click("#filters button[type=submit]").await;
    b.text_with("#no-entries", "No entry matches this filter").await;
    let errors = b.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");

    // A viewer of the same workspace, in another browser, is shown why instead of the log.
    let viewer = client();
    let ws = app.signup_in(&viewer, "viewer@example.com").await;
    app.tamper(&format!(
        "UPDATE memberships SET workspace_id = (SELECT workspace_id FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = 'owner@example.com'), role = 'viewer' WHERE workspace_id = '{ws}'"
    ))
    .await;
    b.click("form[action='/logout'] button").await;
    // Signed out before going on: a navigation started now would race the sign-out's.
    b.text_with("h1", "Sign in to Herald").await;
    b.goto(app.url("login").as_str()).await;
    b.fill("#email", "viewer@example.com").await;
    b.fill("#password", "correct horse battery").await;
    b.click("button[type=submit]").await;
    b.text_with(".who", "viewer@example.com").await;
    b.goto(app.url("audit").as_str()).await;
    let said = b.text_with("main", "admin role").await;
    assert!(said.contains("you are a viewer"), "{said}");
    b.quit().await;
    app.stop().await;
}

#[tokio::test]
async fn an_owner_invites_by_link_on_the_members_page_and_the_person_signs_up_through_it() {
    let Some(b) = Browser::start("an_owner_invites_by_link_on_the_members_page").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite, Mode::Builtin).await;
    sign_up(&b, &app, "owner@example.com").await;
    b.goto(app.url("members").as_str()).await;
    b.text_with("#members", "owner@example.com").await;
    b.fill("#invite-email", "not an address").await;
    b.click("#invite").await;
    b.text_with("#invite-email-error", "name@example.com").await;
    // The refused form answers 422, which Chromium logs; the pages after it must log nothing.
    b.console_errors().await;
    b.fill("#invite-email", "editor@example.com").await;
    b.click("#invite").await;
    let link = b.text_with("#invite-link", "/invitations/").await;
    b.text_with("#invitations", "editor@example.com").await;
    b.shoot("members-invited").await;
    b.click("form[action='/logout'] button").await;
    // Signed out before going on: a navigation started now would race the sign-out's.
    b.text_with("h1", "Sign in to Herald").await;

    // The person invited opens the link, signs up through it and belongs to the workspace.
    b.goto(link.trim()).await;
    b.text_with("#invited", "editor").await;
    b.click("#sign-up").await;
    b.text_with("#through-invitation", "you join the workspace").await;
    b.fill("#email", "editor@example.com").await;
    b.fill("#password", "a long and quiet harbour").await;
    b.click("button[type=submit]").await;
    b.text_with("#no-profiles", "No profiles yet").await;
    let editors = app
        .count("SELECT COUNT(*) FROM memberships m JOIN users u ON u.id = m.user_id WHERE u.email = 'editor@example.com' AND m.role = 'editor'")
        .await;
    assert_eq!(editors, 1, "the invited person is the workspace's editor");
    let errors = b.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    b.quit().await;
    app.stop().await;
}
