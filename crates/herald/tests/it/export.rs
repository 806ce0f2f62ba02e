//! Workspace export end to end, on both databases: an owner downloads one ustar archive holding
//! the workspace's profiles (and no token), members, posts with each delivery's history, the
//! media byte for byte and the audit chain with its MACs; the export is audited; an admin is
//! refused and another workspace is not found; and in a real browser, the `/export` page's link
//! downloads the same for the owner signed in.

use herald_store::Backend;
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::browser::Browser;
use crate::harness::{Mode, TestApp, accept_invitation, client, fixture, invite};
use crate::on_both_backends;
use crate::secrets::assert_absent;
use crate::web::sign_up;

/// The members of a ustar archive as `(name, bytes)`, in order, checked as a reader checks
/// them: each header's checksum (its own field read as spaces), magic and version, whole blocks,
/// and two zero blocks at the end.
fn untar(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
    let octal = |field: &[u8]| {
        let digits: String = field
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .map(|b| char::from(*b))
            .collect();
        usize::from_str_radix(&digits, 8).unwrap()
    };
    assert_eq!(archive.len() % 512, 0, "whole blocks");
    let mut out = Vec::new();
    let mut at = 0;
    while archive[at..at + 512].iter().any(|b| *b != 0) {
        let h = &archive[at..at + 512];
        let sum: usize = h
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if (148..156).contains(&i) {
                    32
                } else {
                    usize::from(*b)
                }
            })
            .sum();
        assert_eq!(octal(&h[148..156]), sum, "the header's checksum");
        assert_eq!(&h[257..265], b"ustar\x0000", "a ustar header");
        assert_eq!(h[156], b'0', "a regular file");
        let name: Vec<u8> = h[..100].iter().take_while(|b| **b != 0).copied().collect();
        let size = octal(&h[124..136]);
        out.push((
            String::from_utf8(name).unwrap(),
            archive[at + 512..at + 512 + size].to_vec(),
        ));
        at += 512 + size.div_ceil(512) * 512;
    }
    assert_eq!(&archive[at..], &[0u8; 1024][..], "two zero blocks end it");
    out
}

fn member<'a>(files: &'a [(String, Vec<u8>)], name: &str) -> &'a [u8] {
    &files
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no {name} in the archive"))
        .1
}

fn json_member(files: &[(String, Vec<u8>)], name: &str) -> Value {
    serde_json::from_slice(member(files, name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The archive `c` is answered at `url`, after checking it is one: its headers, and its length.
async fn archive(c: &reqwest::Client, url: reqwest::Url) -> (String, Vec<u8>) {
    let r = c.get(url).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let h = r.headers().clone();
    assert_eq!(h["content-type"].to_str().unwrap(), "application/x-tar");
    assert_eq!(h["cache-control"].to_str().unwrap(), "no-store");
    let disposition = h["content-disposition"].to_str().unwrap().to_owned();
    let bytes = r.bytes().await.unwrap().to_vec();
    assert_eq!(
        h["content-length"].to_str().unwrap().parse::<usize>().unwrap(),
        bytes.len()
    );
    (disposition, bytes)
}

/// What `c` is answered fetching `url`: the status and the error's body.
async fn refused(c: &reqwest::Client, url: reqwest::Url) -> (StatusCode, Value) {
    let r = c.get(url).send().await.unwrap();
    (r.status(), r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn an_owner_exports_posts_history_media_and_audit_as_one_archive_without_a_token() {
    on_both_backends!(Mode::Builtin, |app| {
        let (profile, media) = app.ready_on_instagram("owner@example.com").await;
        let at = (Timestamp::now() + SignedDuration::from_secs(1)).to_string();
        let (s, post) = app
            .schedule(json!({"text": "Archived words #export", "media_ids": [media], "targets": [{"profile_id": profile}], "scheduled_at": at}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{post}");
        let post = post["id"].as_str().unwrap().to_owned();
        app.wait_for(&post, |d| d["status"] == "published").await;

        let (disposition, bytes) = archive(&app.client, app.ws_url("export")).await;
        let files = untar(&bytes);
        let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
        let photo = format!("media/{media}.jpeg");
        assert_eq!(
            names,
            [
                "profiles.json",
                "members.json",
                "posts.json",
                "drafts.json",
                photo.as_str(),
                "media.json",
                "metrics.json",
                "audit.jsonl",
                "manifest.json"
            ],
            "the manifest comes last, once everything it counts is in"
        );

        let manifest = json_member(&files, "manifest.json");
        assert_eq!(manifest["format_version"], 1, "{manifest:#}");
        assert_eq!(manifest["workspace"]["id"], app.ws.as_str());
        assert_eq!(manifest["workspace"]["name"], "owner's workspace");
        assert!(manifest["herald_version"].as_str().is_some_and(|v| !v.is_empty()));
        let exported_at = manifest["exported_at"].as_str().unwrap();
        assert!(exported_at.parse::<Timestamp>().is_ok(), "{exported_at}");
        assert_eq!(
            disposition,
            format!(
                "attachment; filename=\"herald-owner-s-workspace-{}.tar\"",
                &exported_at[..10]
            )
        );
        let counts = &manifest["counts"];
        for (what, n) in [
            ("profiles", 1),
            ("members", 1),
            ("posts", 1),
            ("deliveries", 1),
            ("media", 1),
            ("media_files", 1),
            ("drafts", 0),
            ("metrics", 0),
        ] {
            assert_eq!(counts[what], n, "{what}: {manifest:#}");
        }

        // The post as the API shows it, each delivery with its whole history.
        let posts = json_member(&files, "posts.json");
        assert_eq!(posts.as_array().unwrap().len(), 1, "{posts:#}");
        let exported = &posts[0];
        assert_eq!(exported["text"], "Archived words #export");
        let (_, shown) = app.get(app.ws_url(&format!("posts/{post}"))).await;
        assert_eq!(exported["deliveries"], shown["deliveries"]);
        let history: Vec<&str> = exported["deliveries"][0]["history"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["outcome"].as_str().unwrap())
            .collect();
        assert!(history.contains(&"published"), "{history:?}");
        assert_eq!(counts["delivery_events"], history.len(), "every event is counted");

        // The photo, byte for byte, and what Herald knows of it.
        let uploaded = fixture("square-1080.jpg");
        assert_eq!(member(&files, &photo), uploaded.as_slice());
        let listed = json_member(&files, "media.json");
        assert_eq!(listed[0]["id"], media.as_str());
        assert_eq!(listed[0]["file"], photo.as_str());
        assert_eq!(listed[0]["sha256"], hex::encode(Sha256::digest(&uploaded)));
        assert_eq!(counts["media_bytes"], uploaded.len());

        let profiles = json_member(&files, "profiles.json");
        assert_eq!(profiles[0]["id"], profile.as_str());
        assert_eq!(profiles[0]["status"], "connected");
        let members = json_member(&files, "members.json");
        assert_eq!(members[0]["email"], "owner@example.com");
        assert_eq!(members[0]["role"], "owner");
        assert_eq!(json_member(&files, "metrics.json"), json!([]));
        assert_eq!(json_member(&files, "drafts.json"), json!([]));

        // The audit chain, oldest first, each entry with its MAC.
        let audit = String::from_utf8(member(&files, "audit.jsonl").to_vec()).unwrap();
        let entries: Vec<Value> = audit.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(counts["audit_entries"], entries.len());
        let seqs: Vec<i64> = entries.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
        assert_eq!(
            seqs,
            (1..=seqs.len() as i64).collect::<Vec<_>>(),
            "in order, none left out"
        );
        let actions: Vec<&str> = entries.iter().map(|e| e["action"].as_str().unwrap()).collect();
        for expected in ["workspace.created", "profile.connected"] {
            assert!(actions.contains(&expected), "{actions:?}");
        }
        for e in &entries {
            assert_eq!(e["chain"], app.ws.as_str(), "{e}");
            let mac = e["mac"].as_str().unwrap();
            assert!(
                mac.len() == 64 && mac.chars().all(|c| c.is_ascii_hexdigit()),
                "{e}"
            );
        }
        assert_eq!(manifest["audit"]["start_seq"], 1);

        // No token the platform gave Herald, in any encoding, anywhere in the archive.
        let tokens = app.sandbox.issued_tokens();
        assert!(!tokens.is_empty(), "the sandbox issued Herald tokens");
        assert_absent(&bytes, &tokens, "the export");

        // The export itself is in the workspace's audit log.
        let (s, logged) = app.get(app.ws_url("audit?action=workspace.exported")).await;
        assert_eq!(s, StatusCode::OK, "{logged}");
        let logged = logged["data"].as_array().unwrap();
        assert_eq!(logged.len(), 1, "{logged:?}");
        assert!(
            logged[0]["detail"]
                .as_str()
                .unwrap()
                .starts_with("posts=1 media=1 "),
            "{logged:?}"
        );

        // An admin may not export; someone outside the workspace does not see it.
        let secret = invite(&app, &app.client, &app.ws, "admin@example.com", "admin").await;
        let admin = client();
        app.signup_in(&admin, "admin@example.com").await;
        accept_invitation(&app, &admin, &secret).await;
        let (s, body) = refused(&admin, app.ws_url("export")).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{body}");
        assert_eq!(body["error"]["code"], "role_required");
        assert_eq!(body["error"]["needed_role"], "owner");
        let (s, _) = refused(&admin, app.url("export/download")).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "the page's download too");

        let stranger = client();
        let theirs = app.signup_in(&stranger, "stranger@example.com").await;
        let (s, _) = refused(&stranger, app.ws_url("export")).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let elsewhere = app.url(&format!("api/v1/workspaces/{theirs}/export"));
        let (s, _) = refused(&app.client, elsewhere.clone()).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "the owner of one is no one in another");

        // The stranger's own archive holds their workspace only.
        let (_, own) = archive(&stranger, elsewhere).await;
        let files = untar(&own);
        assert_eq!(json_member(&files, "posts.json"), json!([]));
        assert_eq!(json_member(&files, "media.json"), json!([]));
        assert_eq!(json_member(&files, "profiles.json"), json!([]));
        assert!(
            !own.windows(14).any(|w| w == b"Archived words"),
            "nothing of the other workspace"
        );
    });
}

#[tokio::test]
async fn the_export_page_links_the_archive_and_the_link_downloads_it_for_the_owner_signed_in() {
    let Some(b) = Browser::start("the_export_page_links_the_archive").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite, Mode::Builtin).await;
    sign_up(&b, &app, "owner@example.com").await;
    b.goto(app.url("settings").as_str()).await;
    b.click("#export-link").await;
    b.text_with("h1", "Export").await;
    let holds = b.text_with("#contents", "audit.jsonl").await;
    assert!(holds.contains("Never their tokens"), "{holds}");
    b.shoot("export").await;
    if let Some(axe) = crate::browser::axe_source("the_export_page_links_the_archive") {
        let found = b.axe(&axe).await;
        assert!(found.is_empty(), "axe found: {found:#?}");
    }
    let href = b
        .run(
            "return document.querySelector('#download').getAttribute('href');",
            json!([]),
        )
        .await;
    assert_eq!(href, "/export/download");

    // What the link downloads, fetched with the browser's session as the browser would.
    let session = b.cookie("herald_session").await;
    let browser_like = reqwest::Client::new();
    let fetch = || {
        browser_like
            .get(app.url(href.as_str().unwrap()))
            .header("cookie", format!("herald_session={session}"))
            .send()
    };
    let r = fetch().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let disposition = r.headers()["content-disposition"].to_str().unwrap().to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"herald-owner-s-workspace-"),
        "{disposition}"
    );
    let files = untar(&r.bytes().await.unwrap());
    assert_eq!(
        json_member(&files, "manifest.json")["workspace"]["name"],
        "owner's workspace"
    );
    // The next archive's audit chain holds the first download.
    let again = untar(&fetch().await.unwrap().bytes().await.unwrap());
    let audit = String::from_utf8(member(&again, "audit.jsonl").to_vec()).unwrap();
    assert!(audit.contains("\"workspace.exported\""), "{audit}");
    let errors = b.console_errors().await;
    assert!(errors.is_empty(), "console errors: {errors:?}");
    b.quit().await;
    app.stop().await;
}
