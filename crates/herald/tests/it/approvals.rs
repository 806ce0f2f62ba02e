//! Approvals end to end, on both databases: where a workspace requires approval, an editor's post
//! waits and the dispatcher leaves it alone; an admin approves it (or rejects it, saying why), an
//! editor's edit makes it wait again, a post not approved by its time is missed, and only an admin
//! publishes a missed post now. In a browser, an owner turns approval on and approves on the post
//! page.

use herald_store::Backend;
use jiff::SignedDuration;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::browser::Browser;
use crate::harness::{Mode, TestApp, advance_both, client, herald_now, invitation_secret};
use crate::on_both_backends;

const PASSWORD: &str = "correct horse battery";

/// What `r` is answered: (status, JSON body).
async fn send(r: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let r = r.send().await.unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

/// A browser session of `email`, who signed up through the owner's invitation and so joined the
/// app's workspace as `role`.
async fn member(app: &TestApp, email: &str, role: &str) -> reqwest::Client {
    let (s, inv) = app
        .post(app.ws_url("invitations"), json!({"email": email, "role": role}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{inv}");
    let token = invitation_secret(inv["url"].as_str().unwrap());
    let c = client();
    let body = json!({"email": email, "password": PASSWORD, "invitation": token});
    let (s, joined) = send(c.post(app.url("api/v1/auth/signup")).json(&body)).await;
    assert_eq!(
        (s, joined["joined"]["role"].as_str()),
        (StatusCode::CREATED, Some(role)),
        "{joined}"
    );
    c
}

/// `c` schedules `text` with the photo an hour from now on Herald's clock: the post.
async fn schedule(
    app: &TestApp,
    c: &reqwest::Client,
    (profile, media): &(String, String),
    text: &str,
) -> Value {
    let at = (herald_now(app) + SignedDuration::from_hours(1)).to_string();
    let body =
        json!({"text": text, "media_ids": [media], "targets": [{"profile_id": profile}], "scheduled_at": at});
    let (s, post) = send(c.post(app.ws_url("posts")).json(&body)).await;
    assert_eq!(s, StatusCode::CREATED, "{post}");
    post
}

/// `c` approves (`approve`) or rejects (`reject`) the post with `body`.
async fn decide(
    app: &TestApp,
    c: &reqwest::Client,
    post: &str,
    what: &str,
    body: Value,
) -> (StatusCode, Value) {
    send(c.post(app.ws_url(&format!("posts/{post}/{what}"))).json(&body)).await
}

/// `c` asks to publish the post's first delivery now.
async fn publish_now(app: &TestApp, c: &reqwest::Client, post: &Value) -> (StatusCode, Value) {
    let (id, delivery) = (
        post["id"].as_str().unwrap(),
        post["deliveries"][0]["id"].as_str().unwrap(),
    );
    send(c.post(app.ws_url(&format!("posts/{id}/deliveries/{delivery}/publish-now")))).await
}

fn id(post: &Value) -> String {
    post["id"].as_str().unwrap().to_owned()
}

fn status(post: &Value) -> &str {
    post["deliveries"][0]["status"].as_str().unwrap()
}

#[tokio::test]
async fn an_editors_post_waits_for_an_admins_approval_and_one_not_approved_in_time_is_missed_until_an_admin_publishes_it()
 {
    on_both_backends!(Mode::Builtin, |app| {
        let target = app.ready_on_instagram("owner@example.com").await;
        let (s, settings) = send(
            app.client
                .patch(app.ws_url("settings"))
                .json(&json!({"require_approval": true})),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{settings}");
        assert_eq!(
            (
                settings["require_approval"].as_bool(),
                settings["catch_up_minutes"].as_i64()
            ),
            (Some(true), Some(15))
        );
        let editor = member(&app, "editor@example.com", "editor").await;
        let admin = member(&app, "admin@example.com", "admin").await;

        // The editor's posts wait; the admin's own post does not.
        let approved = schedule(&app, &editor, &target, "Spring menu, first draft").await;
        let rejected = schedule(&app, &editor, &target, "Opening hours: 9 to 5").await;
        assert_eq!(status(&approved), "pending_approval", "{approved:#}");
        assert_eq!(approved["approval"]["state"], "pending", "{approved:#}");
        let own = schedule(&app, &admin, &target, "The admin's own words").await;
        assert_eq!(
            (status(&own), &own["approval"]),
            ("scheduled", &Value::Null),
            "{own:#}"
        );
        assert_eq!(
            send(admin.post(app.ws_url(&format!("posts/{}/cancel", id(&own)))))
                .await
                .0,
            StatusCode::OK
        );

        // Only an admin or owner decides, and a rejection says why.
        let (s, e) = decide(&app, &editor, &id(&approved), "approve", json!({})).await;
        assert_eq!(
            (s, e["error"]["needed_role"].as_str()),
            (StatusCode::FORBIDDEN, Some("admin")),
            "{e}"
        );
        let (s, e) = decide(&app, &admin, &id(&rejected), "reject", json!({"comment": "  "})).await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("comment_required")),
            "{e}"
        );
        let (s, post) = decide(
            &app,
            &admin,
            &id(&rejected),
            "reject",
            json!({"comment": "We open at 8 now"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{post}");
        let (_, seen) = TestApp::get_with(&editor, app.ws_url(&format!("posts/{}", id(&rejected)))).await;
        assert_eq!(
            (status(&seen), seen["approval"]["state"].as_str()),
            ("pending_approval", Some("rejected")),
            "{seen:#}"
        );
        let last = seen["approval"]["decisions"]
            .as_array()
            .unwrap()
            .last()
            .unwrap()
            .clone();
        assert_eq!(
            (last["decision"].as_str(), last["comment"].as_str()),
            (Some("rejected"), Some("We open at 8 now")),
            "{seen:#}"
        );

        // A page that showed the post before a change decides nothing.
        let r = admin
            .post(app.url(&format!("posts/{}/approve", id(&approved))))
            .form(&[("seen", "a version the post no longer has"), ("comment", "")])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::CONFLICT);
        let page = r.text().await.unwrap();
        assert!(page.contains("changed after this page showed it"), "{page}");

        // Approved, then edited by the editor: it waits again, until approved again.
        let (s, post) = decide(
            &app,
            &admin,
            &id(&approved),
            "approve",
            json!({"comment": "Lovely"}),
        )
        .await;
        assert_eq!(
            (s, status(&post), post["approval"]["state"].as_str()),
            (StatusCode::OK, "scheduled", Some("approved")),
            "{post:#}"
        );
        let (s, post) = send(
            editor
                .patch(app.ws_url(&format!("posts/{}", id(&approved))))
                .json(&json!({"text": "Spring menu, final"})),
        )
        .await;
        assert_eq!(
            (s, status(&post), post["approval"]["state"].as_str()),
            (StatusCode::OK, "pending_approval", Some("pending")),
            "{post:#}"
        );
        let (s, post) = decide(&app, &admin, &id(&approved), "approve", json!({})).await;
        assert_eq!((s, status(&post)), (StatusCode::OK, "scheduled"), "{post:#}");

        // Past their time: the approved post goes out; the rejected one, never approved, is missed.
        advance_both(&app, SignedDuration::from_mins(61), "owner@example.com").await;
        app.wait_for(&id(&approved), |d| d["status"] == "published").await;
        let missed = app.wait_for(&id(&rejected), |d| d["status"] == "missed").await;
        assert_eq!(
            missed["deliveries"][0]["error"]["code"], "not_approved",
            "{missed:#}"
        );
        assert_eq!(missed["approval"]["state"], "expired", "{missed:#}");
        let captions: Vec<Value> = app
            .sandbox_media()
            .await
            .iter()
            .map(|m| m["caption"].clone())
            .collect();
        assert_eq!(
            captions,
            [json!("Spring menu, final")],
            "only the approved post, as edited, is published"
        );

        // Only an admin publishes the missed post now, which approves it.
        let (s, e) = publish_now(&app, &editor, &missed).await;
        assert_eq!(
            (s, e["error"]["code"].as_str(), e["error"]["needed_role"].as_str()),
            (StatusCode::FORBIDDEN, Some("role_required"), Some("admin")),
            "{e}"
        );
        assert_eq!(
            status(&app.get(app.ws_url(&format!("posts/{}", id(&missed)))).await.1),
            "missed"
        );
        let (s, post) = publish_now(&app, &admin, &missed).await;
        assert_eq!(
            (s, post["approval"]["state"].as_str()),
            (StatusCode::OK, Some("approved")),
            "{post:#}"
        );
        app.wait_for(&id(&missed), |d| d["status"] == "published").await;

        // Decisions are audited without their comments; the rejection reached the workspace.
        let (_, log) = app.get(app.ws_url("audit?action=post.")).await;
        let actions: Vec<&str> = log["data"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["action"].as_str())
            .collect();
        for action in ["post.approved", "post.rejected"] {
            assert!(actions.contains(&action), "{action} missing: {actions:?}");
        }
        assert!(
            !log.to_string().contains("We open at 8") && !log.to_string().contains("Lovely"),
            "no comment in the log: {log}"
        );
        let (_, news) = app.get(app.ws_url("notifications")).await;
        assert!(
            news["data"]
                .as_array()
                .unwrap()
                .iter()
                .any(|n| n["kind"] == "post_rejected"),
            "{news:#}"
        );
    });
}

#[tokio::test]
async fn an_owner_turns_approval_on_and_approves_an_editors_post_on_its_page() {
    let Some(b) = Browser::start("an_owner_approves_an_editors_post_on_its_page").await else {
        return;
    };
    let mut app = TestApp::spawn(Backend::Sqlite, Mode::Builtin).await;
    let target = app.ready_on_instagram("owner@example.com").await;
    let editor = member(&app, "editor@example.com", "editor").await;
    b.goto(app.url("login").as_str()).await;
    b.fill("#email", "owner@example.com").await;
    b.fill("#password", PASSWORD).await;
    b.click("button[type=submit]").await;
    b.text_with(".who", "owner@example.com").await;

    b.goto(app.url("workspace/settings").as_str()).await;
    b.click("#require-approval").await;
    b.click("#save-settings").await;
    b.text_with("#notice", "Saved.").await;
    let (_, settings) = app.get(app.ws_url("settings")).await;
    assert_eq!(settings["require_approval"], true, "{settings}");

    let post = id(&schedule(&app, &editor, &target, "Tasting night on Friday").await);
    b.goto(app.url(&format!("posts/{post}")).as_str()).await;
    b.text_with("#approval-state", "Waiting for an admin or owner")
        .await;
    b.text_with("#decisions", "Submitted for approval by editor@example.com")
        .await;
    // A rejection without its reason is refused beside the field.
    b.click("#reject-post").await;
    b.text_with("#reject-comment-error", "Say why").await;
    b.console_errors().await;
    b.fill("#approve-comment", "Looks right").await;
    b.click("#approve-post").await;
    b.text_with("#approval-state", "Approved").await;
    let decisions = b.text_with("#decisions", "Approved by owner@example.com").await;
    assert!(decisions.contains("Looks right"), "{decisions}");
    b.text_with("#deliveries", "Scheduled").await;
    b.shoot("post-approved").await;
    let (_, p) = app.get(app.ws_url(&format!("posts/{post}"))).await;
    assert_eq!(status(&p), "scheduled", "{p:#}");
    let errors = b.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    b.quit().await;
    app.stop().await;
}
