//! Roles: every operation of the route table (API routes and pages alike) declares what it needs,
//! and each role below that is refused with 403 before anything is written (404 outside the
//! workspace).

use jiff::{SignedDuration, Timestamp};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{Mode, TestApp, client, invitation_secret, page_text};
use crate::on_both_backends;

/// The tables a refused call must leave as they were (sessions and sign-in counters change on
/// every request, by design, and are left out).
const TABLES: [&str; 25] = [
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
    "post_approvals",
    "two_factor",
    "recovery_codes",
    "user_data_keys",
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

/// What the owner's workspace holds for the calls to act on.
#[derive(Clone)]
struct Seeded {
    post: String,
    delivery: String,
    profile: String,
    media: String,
    draft: String,
    platform: String,
}

/// The owner signs up and fills their workspace: a profile, a photo, a post, a draft.
async fn seed(app: &mut TestApp) -> Seeded {
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

    Seeded {
        post,
        delivery,
        profile,
        media,
        draft,
        platform,
    }
}

/// The route table's `path` with the seeded objects' ids in place of its parameters.
fn fill(app: &TestApp, w: &Seeded, path: &str) -> String {
    let id = if path.contains("/profiles/") {
        &w.profile
    } else if path.contains("/media/") || path.starts_with("/library/") {
        &w.media
    } else if path.contains("/drafts/") {
        &w.draft
    } else {
        &w.post
    };
    path.replace("{ws}", &app.ws)
        .replace("{id}", id)
        .replace("{delivery}", &w.delivery)
        .replace("{action}", "dismiss")
        .replace("{comment}", "c1")
        .replace("{comment_id}", "c1")
        .replace("{list}", "boards")
        .replace("{platform}", &w.platform)
}

#[tokio::test]
async fn each_role_below_an_operations_declared_need_is_refused_and_nothing_is_written() {
    on_both_backends!(Mode::Builtin, |app| {
        let w = seed(&mut app).await;
        let Seeded { post, profile, .. } = w.clone();

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
        // Nobody signed in reaches any API operation but the public ones: 401, before its handler.
        for (path, method, need) in &operations {
            if need == "anyone" || !path.starts_with("/api/") {
                continue;
            }
            let r = client()
                .request(
                    method.to_uppercase().parse::<Method>().unwrap(),
                    app.url(&fill(&app, &w, path)),
                )
                .json(&json!({}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "anonymous {method} {path}");
        }
        let fill = |path: &str| fill(&app, &w, path);
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

/// The owner's browser makes a token of the workspace `ws` holding `scopes`: its secret.
async fn scoped_token(app: &TestApp, ws: &str, scopes: &[&str]) -> String {
    let (s, t) = app
        .post(
            app.url("api/v1/tokens"),
            json!({"name": "scoped", "workspace_id": ws, "scopes": scopes}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    assert_eq!(t["scopes"].as_array().unwrap().len(), scopes.len(), "{t}");
    t["token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_token_lacking_each_scope_is_refused_what_needs_it_and_nothing_is_written() {
    on_both_backends!(Mode::Builtin, |app| {
        let w = seed(&mut app).await;
        let doc = app.get(app.url("api/v1/openapi.json")).await.1;
        let mut scoped = Vec::new();
        let mut scopes = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                if let Some(scope) = op["x-herald-scope"].as_str() {
                    scoped.push((path.clone(), method.clone(), scope.to_owned()));
                    if !scopes.contains(&scope.to_owned()) {
                        scopes.push(scope.to_owned());
                    }
                } else if path.starts_with("/api/v1/workspaces/{ws}/") {
                    panic!("{method} {path} asks no scope of a token");
                }
            }
        }
        assert!(scopes.len() >= 11, "{scopes:?}");

        let mut tokens = Vec::new();
        for lacking in &scopes {
            let others: Vec<&str> = scopes
                .iter()
                .filter(|s| *s != lacking)
                .map(String::as_str)
                .collect();
            tokens.push((lacking, scoped_token(&app, &app.ws, &others).await));
        }
        let before = fingerprint(&app, &w.post, &w.profile).await;
        let mut refused = 0;
        for (lacking, token) in &tokens {
            for (path, method, _) in scoped.iter().filter(|(_, _, s)| s == *lacking) {
                let mut req = reqwest::Client::new()
                    .request(
                        method.to_uppercase().parse::<Method>().unwrap(),
                        app.url(&fill(&app, &w, path)),
                    )
                    .bearer_auth(token);
                if method != "get" {
                    req = req.json(&json!({"text": "changed by a token without the scope"}));
                }
                let r = req.send().await.unwrap();
                let status = r.status();
                let body: Value = r.json().await.unwrap_or(Value::Null);
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{method} {path} without {lacking}: {body}"
                );
                assert_eq!(body["error"]["code"], "scope_required", "{body}");
                assert_eq!(body["error"]["needed_scope"], **lacking, "{body}");
                refused += 1;
            }
        }
        assert!(refused > 30, "{refused} refusals");
        assert_eq!(
            fingerprint(&app, &w.post, &w.profile).await,
            before,
            "a refused call wrote"
        );

        // A token reads what its scope allows, in its own workspace only, and never makes tokens.
        let token = scoped_token(&app, &app.ws, &["posts:read"]).await;
        let bearer = |req: reqwest::RequestBuilder| req.bearer_auth(&token);
        let r = bearer(reqwest::Client::new().get(app.ws_url(&format!("posts/{}", w.post))))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let r = bearer(reqwest::Client::new().post(app.url("api/v1/tokens")))
            .json(&json!({"name": "more"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        let r = bearer(reqwest::Client::new().get(app.url("calendar")))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "pages are for browsers");
        let (_, me) = app.get(app.url("api/v1/me")).await;
        let own = me["workspaces"][0]["id"].as_str().unwrap().to_owned();
        let other = client();
        let theirs = app.signup_in(&other, "colleague@example.com").await;
        let r = other
            .post(app.url(&format!("api/v1/workspaces/{theirs}/invitations")))
            .json(&json!({"email": "owner@example.com", "role": "editor"}))
            .send()
            .await
            .unwrap();
        let link: Value = r.json().await.unwrap();
        let secret = invitation_secret(link["url"].as_str().unwrap());
        let (s, _) = app
            .post(app.url("api/v1/invitations/accept"), json!({"token": secret}))
            .await;
        assert_eq!(s, StatusCode::OK);
        let r = bearer(reqwest::Client::new().get(app.url(&format!("api/v1/workspaces/{theirs}/posts"))))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::NOT_FOUND,
            "another workspace of the same person"
        );
        assert_eq!(own, app.ws);

        // An editor there may not give a token more than an editor's scopes.
        let (s, e) = app
            .post(
                app.url("api/v1/tokens"),
                json!({"name": "too much", "workspace_id": theirs, "scopes": ["members:write"]}),
            )
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_scopes"))
        );
        // By default a token gets what the role allows there: an editor's scopes.
        let (s, t) = app
            .post(
                app.url("api/v1/tokens"),
                json!({"name": "default", "workspace_id": theirs}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        let given: Vec<&str> = t["scopes"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(
            given.contains(&"posts:write") && !given.contains(&"members:write"),
            "{given:?}"
        );
    });
}

#[tokio::test]
async fn a_token_made_before_scopes_keeps_its_owners_rights_and_is_marked_legacy() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup("owner@example.com").await;
        let (s, t) = app
            .post(app.url("api/v1/tokens"), json!({"name": "old script"}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        assert_eq!(t["workspace_id"], app.ws.as_str(), "{t}");
        let (id, secret) = (t["id"].as_str().unwrap(), t["token"].as_str().unwrap());
        // As the migration leaves a token made before scopes existed.
        app.tamper(&format!(
            "UPDATE api_tokens SET workspace_id = NULL, scopes = NULL WHERE id = '{id}'"
        ))
        .await;
        let (_, list) = app.get(app.url("api/v1/tokens")).await;
        assert_eq!(list["data"][0]["legacy"], json!(true), "{list}");
        assert_eq!(list["data"][0]["scopes"], Value::Null, "{list}");
        let r = reqwest::Client::new()
            .patch(app.ws_url("settings"))
            .bearer_auth(secret)
            .json(&json!({"catch_up_minutes": 20}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "an owner's legacy token acts as the owner"
        );
        let page = page_text(&app.client, app.url("settings")).await;
        assert!(page.contains("Legacy: all your rights"), "{page}");
    });
}
