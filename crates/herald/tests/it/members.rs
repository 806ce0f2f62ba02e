//! Members and invitations end to end, on both databases: an owner invites by link, the person
//! invited joins once, a removed member loses the workspace at once (sessions and tokens alike),
//! an admin cannot remove an owner, the last owner stays one, the pages do the same through forms,
//! and a Herald whose sign-up is closed lets in only the email an invitation names.

use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Mode, TestApp, backends, client, invitation_secret, move_clocks, page_text};
use crate::on_both_backends;

const PASSWORD: &str = "correct horse battery";

/// The text between `start` and the next `end` in `page`.
fn between<'a>(page: &'a str, start: &str, end: &str) -> &'a str {
    let at = page.find(start).unwrap_or_else(|| panic!("no {start} in {page}")) + start.len();
    &page[at..at + page[at..].find(end).unwrap()]
}

/// `c` invites `email` with `role` into the app's workspace: (status, body).
async fn invite(app: &TestApp, c: &reqwest::Client, email: &str, role: &str) -> (StatusCode, Value) {
    let r = c
        .post(app.ws_url("invitations"))
        .json(&json!({"email": email, "role": role}))
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

/// `c` accepts the invitation whose secret is `token`: (status, body).
async fn accept(app: &TestApp, c: &reqwest::Client, token: &str) -> (StatusCode, Value) {
    let r = c
        .post(app.url("api/v1/invitations/accept"))
        .json(&json!({ "token": token }))
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

/// `c` changes the role of the member `user`: (status, body).
async fn set_role(app: &TestApp, c: &reqwest::Client, user: &str, role: &str) -> (StatusCode, Value) {
    let r = c
        .patch(app.ws_url(&format!("members/{user}")))
        .json(&json!({ "role": role }))
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

/// The id of the person `c` is signed in as.
async fn user_id(app: &TestApp, c: &reqwest::Client) -> String {
    TestApp::get_with(c, app.url("api/v1/me")).await.1["user"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The workspace's members as (email, role), as its owner lists them.
async fn members(app: &TestApp) -> Vec<(String, String)> {
    let (s, body) = app.get(app.ws_url("members")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| pair(m["email"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect()
}

fn pair(email: &str, role: &str) -> (String, String) {
    (email.to_owned(), role.to_owned())
}

/// What `c` is answered reading the workspace's profiles.
async fn profiles(app: &TestApp, c: &reqwest::Client) -> StatusCode {
    c.get(app.ws_url("profiles")).send().await.unwrap().status()
}

/// `c` signs up through the API, with an invitation's secret or none: (status, body).
async fn sign_up(
    app: &TestApp,
    c: &reqwest::Client,
    email: &str,
    invitation: Option<&str>,
) -> (StatusCode, Value) {
    let r = c
        .post(app.url("api/v1/auth/signup"))
        .json(&json!({"email": email, "password": PASSWORD, "invitation": invitation}))
        .send()
        .await
        .unwrap();
    (r.status(), r.json().await.unwrap())
}

fn code(body: &Value) -> Option<&str> {
    body["error"]["code"].as_str()
}

#[tokio::test]
async fn an_invited_editor_joins_once_and_a_removed_member_loses_the_workspace_at_once() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup("owner@example.com").await;
        let owner = user_id(&app, &app.client).await;
        let (s, inv) = invite(&app, &app.client, " Editor@Example.com ", "editor").await;
        assert_eq!(s, StatusCode::CREATED, "{inv}");
        assert_eq!(
            (inv["email"].as_str(), inv["role"].as_str()),
            (Some("editor@example.com"), Some("editor"))
        );
        let link = inv["url"].as_str().unwrap();
        assert!(link.starts_with(app.url("invitations/").as_str()), "{inv}");
        let token = invitation_secret(link);
        assert_eq!(
            app.count(&format!(
                "SELECT COUNT(*) FROM invitations WHERE token_hash = '{token}'"
            ))
            .await,
            0,
            "the secret is stored hashed"
        );
        let (_, pending) = app.get(app.ws_url("invitations")).await;
        assert_eq!(pending["data"].as_array().unwrap().len(), 1, "{pending}");
        assert!(
            pending["data"][0]["url"].is_null(),
            "the link is shown once: {pending}"
        );

        // The person invited, signed in in a browser of their own, joins as an editor.
        let editor = client();
        app.signup_in(&editor, "editor@example.com").await;
        let (s, joined) = accept(&app, &editor, &token).await;
        assert_eq!(s, StatusCode::OK, "{joined}");
        assert_eq!(
            (joined["workspace_id"].as_str(), joined["role"].as_str()),
            (Some(app.ws.as_str()), Some("editor"))
        );
        assert_eq!(
            members(&app).await,
            [
                pair("owner@example.com", "owner"),
                pair("editor@example.com", "editor")
            ]
        );
        assert_eq!(profiles(&app, &editor).await, StatusCode::OK);
        let r = editor
            .post(app.url("api/v1/tokens"))
            .json(&json!({"name": "script"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CREATED);
        let api_token = r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let by_token = reqwest::Client::new();
        let with_token = || {
            by_token
                .get(app.ws_url("profiles"))
                .bearer_auth(&api_token)
                .send()
        };
        assert_eq!(with_token().await.unwrap().status(), StatusCode::OK);

        // The link works once, for the email it names only; an unknown one is not found.
        let (s, used) = accept(&app, &editor, &token).await;
        assert_eq!((s, code(&used)), (StatusCode::GONE, Some("invitation_used")));
        let third = client();
        app.signup_in(&third, "third@example.com").await;
        let (s, other) = accept(&app, &third, &token).await;
        assert_eq!(
            (s, code(&other)),
            (StatusCode::FORBIDDEN, Some("invitation_for_another_email"))
        );
        assert_eq!(
            accept(&app, &third, "not-a-secret").await.0,
            StatusCode::NOT_FOUND
        );

        // An admin removes, demotes and invites no owner.
        let (_, inv) = invite(&app, &app.client, "third@example.com", "admin").await;
        assert_eq!(
            accept(&app, &third, &invitation_secret(inv["url"].as_str().unwrap()))
                .await
                .0,
            StatusCode::OK
        );
        let r = third
            .delete(app.ws_url(&format!("members/{owner}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let e: Value = r.json().await.unwrap();
        assert_eq!(
            (code(&e), e["error"]["needed_role"].as_str()),
            (Some("role_required"), Some("owner"))
        );
        assert_eq!(
            set_role(&app, &third, &owner, "viewer").await.0,
            StatusCode::FORBIDDEN
        );
        let (s, e) = invite(&app, &third, "boss@example.com", "owner").await;
        assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, Some("role_required")));

        // The last owner is neither demoted nor removed.
        let (s, e) = set_role(&app, &app.client, &owner, "admin").await;
        assert_eq!((s, code(&e)), (StatusCode::CONFLICT, Some("last_owner")));
        let (s, e) = app.delete(app.ws_url(&format!("members/{owner}"))).await;
        assert_eq!((s, code(&e)), (StatusCode::CONFLICT, Some("last_owner")));

        // The owner changes a role, then removes the member: their session and token lose the
        // workspace at once.
        let editor_id = user_id(&app, &editor).await;
        let (s, e) = set_role(&app, &app.client, &editor_id, "king").await;
        assert_eq!(
            (s, e["error"]["field"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("role"))
        );
        let (s, m) = set_role(&app, &app.client, &editor_id, "viewer").await;
        assert_eq!(s, StatusCode::OK, "{m}");
        assert_eq!(
            (m["user_id"].as_str(), m["email"].as_str(), m["role"].as_str()),
            (
                Some(editor_id.as_str()),
                Some("editor@example.com"),
                Some("viewer")
            )
        );
        let (s, _) = app.delete(app.ws_url(&format!("members/{editor_id}"))).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        assert_eq!(profiles(&app, &editor).await, StatusCode::NOT_FOUND);
        // Their token for the workspace is gone with the membership.
        assert_eq!(with_token().await.unwrap().status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            members(&app).await,
            [
                pair("owner@example.com", "owner"),
                pair("third@example.com", "admin")
            ]
        );

        // What was done is in the workspace's audit log, without anyone's email.
        let (_, log) = app.get(app.ws_url("audit")).await;
        let done: Vec<(&str, &str)> = log["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| (e["action"].as_str().unwrap(), e["detail"].as_str().unwrap()))
            .collect();
        for entry in [
            ("invitation.created", "role=editor"),
            ("member.joined", "role=editor"),
            ("member.role_changed", "role=viewer"),
            ("member.removed", ""),
        ] {
            assert!(done.contains(&entry), "{entry:?} in {done:?}");
        }
        assert!(!log.to_string().contains("@example.com"), "{log}");

        // A revoked invitation, and one past its week, are refused.
        let (_, inv) = invite(&app, &app.client, "third@example.com", "viewer").await;
        let (s, _) = app
            .delete(app.ws_url(&format!("invitations/{}", inv["id"].as_str().unwrap())))
            .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, e) = accept(&app, &third, &invitation_secret(inv["url"].as_str().unwrap())).await;
        assert_eq!((s, code(&e)), (StatusCode::GONE, Some("invitation_revoked")));
        let (_, inv) = invite(&app, &app.client, "later@example.com", "viewer").await;
        move_clocks(&app, SignedDuration::from_hours(24 * 8)).await;
        let later = client();
        app.signup_in(&later, "later@example.com").await;
        let (s, e) = accept(&app, &later, &invitation_secret(inv["url"].as_str().unwrap())).await;
        assert_eq!((s, code(&e)), (StatusCode::GONE, Some("invitation_expired")));
    });
}

#[tokio::test]
async fn the_members_page_invites_by_link_and_the_link_leads_in_signed_in_or_not() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup("owner@example.com").await;
        let owner = user_id(&app, &app.client).await;
        let page = page_text(&app.client, app.url("members")).await;
        assert!(
            page.contains(&format!("id=\"member-{owner}\"")) && page.contains("id=\"invite-email\""),
            "{page}"
        );

        // A malformed email is said beside its field, what was typed kept.
        let r = app
            .client
            .post(app.url("members/invite"))
            .form(&[("email", "nobody"), ("role", "viewer")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let page = r.text().await.unwrap();
        assert!(
            page.contains("id=\"invite-email-error\"") && page.contains("value=\"nobody\""),
            "{page}"
        );

        // The link is shown once on the page, and the invitation listed.
        let invite_on_page = |email: &'static str, role: &'static str| {
            app.client
                .post(app.url("members/invite"))
                .form(&[("email", email), ("role", role)])
                .send()
        };
        let r = invite_on_page("viewer@example.com", "viewer").await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let page = r.text().await.unwrap();
        assert!(page.contains("id=\"invitations\""), "{page}");
        let token = invitation_secret(between(&page, "<code id=\"invite-link\">", "</code>"));

        // Someone not signed in is told what the invitation is for, and signs up through it.
        let stranger = client();
        let page = page_text(&stranger, app.url(&format!("invitations/{token}"))).await;
        assert!(
            page.contains("as a viewer") && page.contains(&format!("/signup?invitation={token}")),
            "{page}"
        );
        let page = page_text(&stranger, app.url(&format!("signup?invitation={token}"))).await;
        assert!(
            page.contains(&format!("name=\"invitation\" value=\"{token}\"")),
            "{page}"
        );
        let r = stranger
            .post(app.url("signup"))
            .form(&[
                ("email", "viewer@example.com"),
                ("password", PASSWORD),
                ("invitation", token.as_str()),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(
            members(&app)
                .await
                .contains(&pair("viewer@example.com", "viewer"))
        );
        let r = stranger
            .get(app.url(&format!("invitations/{token}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::GONE);
        assert!(r.text().await.unwrap().contains("accepted already"));

        // In the owner's workspace (their own set aside), a viewer sees the members and no form.
        let viewer = user_id(&app, &stranger).await;
        app.tamper(&format!(
            "DELETE FROM memberships WHERE user_id = '{viewer}' AND workspace_id <> '{}'",
            app.ws
        ))
        .await;
        let page = page_text(&stranger, app.url("members")).await;
        assert!(
            page.contains(&format!("id=\"member-{owner}\""))
                && !page.contains("id=\"invite-email\"")
                && !page.contains("/remove\""),
            "{page}"
        );

        // Someone signed in accepts with the page's button and lands on the dashboard.
        let r = invite_on_page("second@example.com", "editor").await.unwrap();
        let token = invitation_secret(between(
            &r.text().await.unwrap(),
            "<code id=\"invite-link\">",
            "</code>",
        ));
        let second = client();
        app.signup_in(&second, "second@example.com").await;
        let page = page_text(&second, app.url(&format!("invitations/{token}"))).await;
        assert!(page.contains("id=\"accept\""), "{page}");
        let r = second
            .post(app.url(&format!("invitations/{token}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(r.headers()["location"], "/");
        assert!(
            members(&app)
                .await
                .contains(&pair("second@example.com", "editor"))
        );

        // The owner changes a role and removes a member by form; demoting themselves is refused
        // on the page.
        let second_id = user_id(&app, &second).await;
        let r = app
            .client
            .post(app.url(&format!("members/{second_id}/role")))
            .form(&[("role", "admin")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(members(&app).await.contains(&pair("second@example.com", "admin")));
        let r = app
            .client
            .post(app.url(&format!("members/{second_id}/remove")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert_eq!(profiles(&app, &second).await, StatusCode::NOT_FOUND);
        let r = app
            .client
            .post(app.url(&format!("members/{owner}/role")))
            .form(&[("role", "editor")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CONFLICT);
        assert!(r.text().await.unwrap().contains("id=\"member-error\""));

        // An invitation is revoked from the page.
        invite_on_page("third@example.com", "viewer").await.unwrap();
        let (_, pending) = app.get(app.ws_url("invitations")).await;
        let id = pending["data"][0]["id"].as_str().unwrap().to_owned();
        let r = app
            .client
            .post(app.url(&format!("invitations/{id}/revoke")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        let (_, pending) = app.get(app.ws_url("invitations")).await;
        assert_eq!(pending["data"].as_array().unwrap().len(), 0, "{pending}");
    });
}

#[tokio::test]
async fn where_sign_up_is_closed_an_invitation_lets_in_the_email_it_names_only() {
    for backend in backends().await {
        let mut app = TestApp::spawn(backend, Mode::Builtin).await;
        app.signup("owner@example.com").await;
        app.restart_with(|s| s.signup_open = false).await;
        app.sign_in("owner@example.com").await;
        let (s, inv) = invite(&app, &app.client, "new@example.com", "viewer").await;
        assert_eq!(s, StatusCode::CREATED, "{inv}");
        let token = invitation_secret(inv["url"].as_str().unwrap());

        let (s, e) = sign_up(&app, &client(), "other@example.com", Some(token.as_str())).await;
        assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, Some("signup_closed")));
        let (s, e) = sign_up(&app, &client(), "new@example.com", None).await;
        assert_eq!((s, code(&e)), (StatusCode::FORBIDDEN, Some("signup_closed")));

        let newcomer = client();
        let (s, body) = sign_up(&app, &newcomer, "New@Example.com", Some(token.as_str())).await;
        assert_eq!(s, StatusCode::CREATED, "{body}");
        assert_eq!(
            (
                body["joined"]["workspace_id"].as_str(),
                body["joined"]["role"].as_str()
            ),
            (Some(app.ws.as_str()), Some("viewer"))
        );
        assert_ne!(
            body["workspace_id"].as_str(),
            Some(app.ws.as_str()),
            "their own workspace too"
        );
        assert_eq!(profiles(&app, &newcomer).await, StatusCode::OK);
        assert!(members(&app).await.contains(&pair("new@example.com", "viewer")));

        let (s, e) = sign_up(&app, &client(), "new2@example.com", Some(token.as_str())).await;
        assert_eq!((s, code(&e)), (StatusCode::GONE, Some("invitation_used")));
        app.stop().await;
    }
}

#[tokio::test]
async fn a_person_who_joined_a_workspace_sees_it_on_the_pages_and_switches_back_to_their_own() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup("owner@example.com").await;
        let (_, inv) = invite(&app, &app.client, "editor@example.com", "editor").await;
        let editor = client();
        let own = app.signup_in(&editor, "editor@example.com").await;
        let members_page = async || page_text(&editor, app.url("members")).await;
        assert!(
            !members_page().await.contains("owner@example.com"),
            "their own, at first"
        );
        let (s, _) = accept(&app, &editor, &invitation_secret(inv["url"].as_str().unwrap())).await;
        assert_eq!(s, StatusCode::OK);

        // Joining makes the pages act in the workspace joined; /me says which is current.
        assert!(
            members_page().await.contains("owner@example.com"),
            "the joined one"
        );
        let me: Value = editor
            .get(app.url("api/v1/me"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["workspaces"][0]["id"], app.ws.as_str(), "{me}");
        assert_eq!(me["workspaces"][0]["current"], true, "{me}");
        assert_eq!(me["workspaces"][1]["current"], false, "{me}");
        let list = page_text(&editor, app.url("workspaces")).await;
        assert!(list.contains(&format!("/workspaces/{own}/switch")), "{list}");

        // Switching back to their own workspace.
        let r = editor
            .post(app.url(&format!("workspaces/{own}/switch")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::SEE_OTHER);
        assert!(
            !members_page().await.contains("owner@example.com"),
            "their own again"
        );

        // A workspace they do not belong to cannot be switched to.
        let stranger = client();
        let theirs = app.signup_in(&stranger, "stranger@example.com").await;
        let r = editor
            .post(app.url(&format!("workspaces/{theirs}/switch")))
            .header("accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    });
}

#[tokio::test]
async fn an_invitation_does_not_outlive_the_role_of_the_admin_who_made_it() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup("owner@example.com").await;
        let (_, inv) = invite(&app, &app.client, "admin@example.com", "admin").await;
        let admin = client();
        app.signup_in(&admin, "admin@example.com").await;
        assert_eq!(
            accept(&app, &admin, &invitation_secret(inv["url"].as_str().unwrap()))
                .await
                .0,
            StatusCode::OK
        );
        // The admin invites someone else, and a second address of their own, then is demoted.
        let (s, theirs) = invite(&app, &admin, "friend@example.com", "admin").await;
        assert_eq!(s, StatusCode::CREATED, "{theirs}");
        let admin_id = user_id(&app, &admin).await;
        let (s, _) = set_role(&app, &app.client, &admin_id, "viewer").await;
        assert_eq!(s, StatusCode::OK);
        let (_, pending) = app.get(app.ws_url("invitations")).await;
        assert_eq!(pending["data"].as_array().unwrap().len(), 0, "{pending}");
        let friend = client();
        app.signup_in(&friend, "friend@example.com").await;
        let (s, e) = accept(&app, &friend, &invitation_secret(theirs["url"].as_str().unwrap())).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::GONE, Some("invitation_revoked"))
        );
    });
}
