//! Roles: every operation of the route table (API routes and pages alike) declares what it needs,
//! and each role below that is refused with 403 before anything is written (404 outside the
//! workspace).

use jiff::{SignedDuration, Timestamp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Mode, TestApp, client};
use crate::on_both_backends;

/// The tables a refused call must leave as they were (sessions and sign-in counters change on
/// every request, by design, and are left out).
const TABLES: [&str; 21] = [
    "users",
    "workspaces",
    "memberships",
    "api_tokens",
    "data_keys",
    "oauth_states",
    "profiles",
    "profile_secrets",
    "media",
    "posts",
    "deliveries",
    "delivery_events",
    "grants",
    "pending_connections",
    "notifications",
    "notification_reads",
    "drafts",
    "conversations",
    "audit_chains",
    "audit_entries",
    "invitations",
];

/// What the workspace holds, seen from outside: row counts, and its objects as the owner reads them.
async fn fingerprint(app: &TestApp, post: &str, profile: &str) -> Vec<String> {
    let mut seen = Vec::new();
    for t in TABLES {
        seen.push(format!(
            "{t}={}",
            app.count(&format!("SELECT COUNT(*) FROM {t}")).await
        ));
    }
    for path in [
        format!("posts/{post}"),
        format!("profiles/{profile}"),
        "settings".to_owned(),
        "drafts".to_owned(),
        "media".to_owned(),
    ] {
        seen.push(app.get(app.ws_url(&path)).await.1.to_string());
    }
    seen
}

const RANK: [&str; 4] = ["viewer", "editor", "admin", "owner"];

fn rank(role: &str) -> Option<usize> {
    RANK.iter().position(|r| *r == role)
}

#[tokio::test]
async fn each_role_below_an_operations_declared_need_is_refused_and_nothing_is_written() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup("owner@example.com").await;
        app.connect(&[]).await;
        let profile = app.profiles().await[0]["id"].as_str().unwrap().to_owned();
        let (_, media) = app.upload("square-1080.jpg").await;
        let media = media["id"].as_str().unwrap().to_owned();
        let at = (Timestamp::now() + SignedDuration::from_hours(1)).to_string();
        let (s, post) = app
            .schedule(json!({"text": "the owner's words", "media_ids": [media], "targets": [{"profile_id": profile}], "scheduled_at": at}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{post}");
        let delivery = post["deliveries"][0]["id"].as_str().unwrap().to_owned();
        let post = post["id"].as_str().unwrap().to_owned();
        let (s, draft) = app
            .post(
                app.ws_url("drafts"),
                json!({"text": "a draft", "targets": [{"profile_id": profile}]}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{draft}");
        let draft = draft["id"].as_str().unwrap().to_owned();
        let platform = app.get(app.url("api/v1/platforms")).await.1["data"][0]["id"]
            .as_str()
            .unwrap()
            .to_owned();

        // Members with each lesser role, each signed in in a browser of their own.
        let mut members = Vec::new();
        for role in ["viewer", "editor", "admin"] {
            let browser = client();
            let r = browser
                .post(app.url("api/v1/auth/signup"))
                .json(&json!({"email": format!("{role}@example.com"), "password": "correct horse battery"}))
                .send()
                .await
                .unwrap();
            let body: Value = r.json().await.unwrap();
            let user = body["user"]["id"].as_str().unwrap().to_owned();
            // Their own workspace goes; they belong to the owner's with this role only.
            app.tamper(&format!("DELETE FROM memberships WHERE user_id = '{user}'"))
                .await;
            app.tamper(&format!(
                "INSERT INTO memberships (workspace_id, user_id, role) VALUES ('{}', '{user}', '{role}')",
                app.ws
            ))
            .await;
            members.push((role, browser));
        }

        let doc = app.get(app.url("api/v1/openapi.json")).await.1;
        let mut operations = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let need = op["x-herald-needs"].as_str().unwrap_or_default();
                assert!(
                    ["anyone", "account", "instance_admin"].contains(&need) || rank(need).is_some(),
                    "{method} {path} declares no need ({need:?})"
                );
                // A write in a workspace needs an editor at least; marking notifications read is
                // the reader's own business.
                if method != "get" && rank(need).is_some() && !path.contains("notifications") {
                    assert!(
                        rank(need) >= rank("editor"),
                        "{method} {path} is a write declared {need}"
                    );
                }
                operations.push((path.clone(), method.clone(), need.to_owned()));
            }
        }
        assert!(operations.len() > 90, "{} operations", operations.len());
        let fill = |path: &str| {
            let id = if path.contains("/profiles/") {
                &profile
            } else if path.contains("/media/") || path.starts_with("/library/") {
                &media
            } else if path.contains("/drafts/") {
                &draft
            } else {
                &post
            };
            path.replace("{ws}", &app.ws)
                .replace("{id}", id)
                .replace("{delivery}", &delivery)
                .replace("{action}", "dismiss")
                .replace("{comment}", "c1")
                .replace("{comment_id}", "c1")
                .replace("{list}", "boards")
                .replace("{platform}", &platform)
        };

        let before = fingerprint(&app, &post, &profile).await;
        let mut refused = 0;
        for (role, browser) in &members {
            let held = rank(role).unwrap();
            for (path, method, need) in &operations {
                // Only the instance's first account (the owner here) administers it.
                let admitted = match rank(need) {
                    Some(needed) => held >= needed,
                    None => need != "instance_admin",
                };
                if admitted {
                    continue;
                }
                let page = !path.starts_with("/api/");
                let mut req = browser
                    .request(
                        method.to_uppercase().parse::<Method>().unwrap(),
                        app.url(&fill(path)),
                    )
                    .header("accept", if page { "text/html" } else { "application/json" });
                if method != "get" {
                    req = if page {
                        req.form(&[("text", "changed by a lesser role")])
                    } else {
                        req.json(&json!({"text": "changed by a lesser role"}))
                    };
                }
                let r = req.send().await.unwrap();
                let status = r.status();
                let body = r.text().await.unwrap();
                // A member is refused for their role before any id is looked at: always 403.
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{role} {method} {path} (needs {need}): {body}"
                );
                if !page {
                    let e: Value = serde_json::from_str(&body).unwrap();
                    if need == "instance_admin" {
                        assert_eq!(e["error"]["code"], "instance_admin_required", "{body}");
                    } else {
                        assert_eq!(e["error"]["code"], "role_required", "{body}");
                        assert_eq!(e["error"]["needed_role"], need.as_str(), "{body}");
                    }
                }
                refused += 1;
            }
        }
        assert!(refused > 50, "{refused} refusals");
        assert_eq!(
            fingerprint(&app, &post, &profile).await,
            before,
            "a refused call wrote"
        );

        // The roles admit what they are for.
        let (viewer, editor, admin) = (&members[0].1, &members[1].1, &members[2].1);
        let r = viewer
            .get(app.ws_url(&format!("posts/{post}")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let r = viewer.get(app.url("/calendar")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "a viewer sees the calendar");
        let r = editor
            .patch(app.ws_url(&format!("posts/{post}")))
            .json(&json!({"text": "edited by the editor"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());
        let r = editor.get(app.url("/compose")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::OK, "an editor composes");
        let r = admin
            .patch(app.ws_url("settings"))
            .json(&json!({"catch_up_minutes": 30}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{}", r.text().await.unwrap());

        // A viewer's API token holds no more than the viewer.
        let r = viewer
            .post(app.url("api/v1/tokens"))
            .json(&json!({"name": "viewer's"}))
            .send()
            .await
            .unwrap();
        let token = r.json::<Value>().await.unwrap()["token"]
            .as_str()
            .unwrap()
            .to_owned();
        let r = reqwest::Client::new()
            .patch(app.ws_url("settings"))
            .bearer_auth(&token)
            .json(&json!({"catch_up_minutes": 5}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{}", r.text().await.unwrap());

        // Someone outside the workspace is told it does not exist, whatever the route needs.
        let stranger = client();
        app.signup_in(&stranger, "stranger@example.com").await;
        let r = stranger.get(app.ws_url("profiles")).send().await.unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
        let r = stranger
            .patch(app.ws_url("settings"))
            .json(&json!({"catch_up_minutes": 5}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND);
    });
}
