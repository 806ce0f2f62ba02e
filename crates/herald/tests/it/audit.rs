//! The audit log end to end: what people and Herald do is recorded, admins read it through the
//! API and on a page, and `herald audit verify` names an entry changed in the database.

use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Mode, TestApp, client, herald};
use crate::on_both_backends;

/// Runs `herald audit verify` on the app's data directory and database: (exit code, stdout, stderr).
fn verify(app: &TestApp) -> (Option<i32>, String, String) {
    herald(app, &["audit", "verify"])
}

fn actions(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn what_is_done_is_audited_read_by_admins_and_an_entry_changed_in_the_database_is_named_by_verify() {
    on_both_backends!(Mode::Builtin, |app| {
        let (profile, media) = app.ready_on_instagram("owner@example.com").await;
        let stranger = client();
        let r = stranger
            .post(app.url("api/v1/auth/login"))
            .json(&json!({"email": "owner@example.com", "password": "not the password"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(app.set_catch_up(30).await.0, StatusCode::OK);
        let at = (Timestamp::now() + SignedDuration::from_secs(1)).to_string();
        let (s, post) = app
            .schedule(json!({"text": "audited words", "media_ids": [media], "targets": [{"profile_id": profile}], "scheduled_at": at}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{post}");
        let post = post["id"].as_str().unwrap().to_owned();
        app.wait_for(&post, |d| d["status"] == "published").await;

        // The publication's entry is appended just after the outcome is committed: polled for.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        let list = loop {
            let (s, list) = app.get(app.ws_url("audit")).await;
            assert_eq!(s, StatusCode::OK, "{list}");
            if list["data"][0]["action"] == "post.published" {
                break list;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "post.published never audited: {list}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        };
        let seen = actions(&list);
        for action in [
            "workspace.created",
            "profile.connected",
            "settings.changed",
            "post.published",
        ] {
            assert!(seen.contains(&action.to_owned()), "{action} missing: {seen:?}");
        }
        assert!(
            !seen.iter().any(|a| a.starts_with("auth.")),
            "sign-ins are the instance's, not the workspace's: {seen:?}"
        );
        let published = &list["data"][0];
        assert_eq!(published["action"], "post.published", "newest first: {list}");
        assert_eq!(published["target"], format!("post:{post}"));
        assert_eq!(published["actor"], "system");
        let (_, only) = app.get(app.ws_url("audit?action=profile.")).await;
        assert_eq!(actions(&only), ["profile.connected"], "{only}");
        let (_, one) = app.get(app.ws_url("audit?limit=1")).await;
        assert_eq!(one["data"].as_array().unwrap().len(), 1);
        let (s, bad) = app.get(app.ws_url("audit?since=yesterday")).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
        assert!(
            bad["error"]["message"].as_str().unwrap().contains("`since`"),
            "{bad}"
        );
        assert!(
            !list.to_string().contains("audited words"),
            "no post text in the log"
        );

        let page = app.client.get(app.url("audit")).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        let page = page.text().await.unwrap();
        assert!(
            page.contains("profile.connected") && page.contains("owner@example.com"),
            "{page}"
        );

        let (code, out, err) = verify(&app);
        assert_eq!(code, Some(0), "{out}{err}");
        assert!(out.contains("the audit log verifies"), "{out}");

        // The settings change, edited behind Herald's back, is named by its chain and entry.
        let seq = app
            .count(&format!(
                "SELECT seq FROM audit_entries WHERE chain = '{}' AND action = 'settings.changed'",
                app.ws
            ))
            .await;
        app.tamper(&format!(
            "UPDATE audit_entries SET detail = 'catch_up_minutes=0' WHERE chain = '{}' AND seq = {seq}",
            app.ws
        ))
        .await;
        // The instance's newest entry (the failed sign-in, or a later sign-in), removed with its
        // head rewound, is found missing by the heads file outside the database.
        let last = app
            .count("SELECT MAX(seq) FROM audit_entries WHERE chain = 'instance'")
            .await;
        app.tamper(&format!(
            "DELETE FROM audit_entries WHERE chain = 'instance' AND seq = {last}"
        ))
        .await;
        app.tamper(&format!(
            "UPDATE audit_chains SET head_seq = {}, head_mac = (SELECT mac FROM audit_entries WHERE chain = 'instance' AND seq = {}) WHERE chain = 'instance'",
            last - 1,
            last - 1
        ))
        .await;
        let (code, out, err) = verify(&app);
        assert_eq!(code, Some(1), "{out}{err}");
        assert!(
            err.contains(&format!("BROKEN chain {} at entry {seq}", app.ws)),
            "{err}"
        );
        assert!(
            err.contains(&format!("BROKEN chain instance at entry {last}")),
            "{err}"
        );
        assert!(
            err.lines()
                .last()
                .unwrap()
                .starts_with("error: the audit log does not verify"),
            "{err}"
        );
    });
}

#[tokio::test]
async fn an_administrator_resets_a_password_on_the_server_which_signs_the_account_out_and_is_audited() {
    on_both_backends!(Mode::Builtin, |app| {
        app.signup("forgetful@example.com").await;
        let (s, _) = app.get(app.url("api/v1/me")).await;
        assert_eq!(s, StatusCode::OK);
        let (code, out, err) = herald(&app, &["users", "reset-password", "Forgetful@example.com"]);
        assert_eq!(code, Some(0), "{out}{err}");
        let password = out.lines().nth(1).unwrap().trim().to_owned();
        assert!(password.len() >= 40, "{out}");
        assert!(out.contains("1 session(s) signed out"), "{out}");
        let (s, _) = app.get(app.url("api/v1/me")).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "the session ended");
        let r = client()
            .post(app.url("api/v1/auth/login"))
            .json(&json!({"email": "forgetful@example.com", "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "the new password signs in");
        let resets = app
            .count("SELECT COUNT(*) FROM audit_entries WHERE chain = 'instance' AND action = 'auth.password_reset' AND actor = 'cli'")
            .await;
        assert_eq!(resets, 1);
        let (code, _, err) = herald(&app, &["users", "reset-password", "nobody@example.com"]);
        assert_eq!(code, Some(1));
        assert_eq!(err.trim(), "error: no account has the email nobody@example.com");
    });
}
