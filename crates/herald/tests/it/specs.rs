//! What Herald sends to Meta validates against Meta's own node specs (`tests/specs/meta/`): every
//! Graph request of every Meta publish kind, comments and metrics is checked for its edge, its
//! parameters and their types, and the fields it asks for.

use std::collections::HashMap;

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::harness::{Mode, TestApp};
use herald_store::Backend;

/// Parameters every Graph call takes, whatever its node.
const GENERIC: &[&str] = &[
    "limit",
    "after",
    "before",
    "pretty",
    "suppress_http_code",
    "metadata",
];

struct Specs(HashMap<String, Value>);

impl Specs {
    fn load() -> Self {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/specs/meta");
        let mut nodes = HashMap::new();
        for entry in std::fs::read_dir(dir).expect("the vendored Meta specs") {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            nodes.insert(
                name,
                serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap(),
            );
        }
        assert!(nodes.contains_key("IGUser") && nodes.contains_key("Page"));
        Self(nodes)
    }

    fn knows(&self, node: &str, name: &str) -> bool {
        self.0.get(node).is_none_or(|spec| {
            let field = spec["fields"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["name"] == name);
            let edge = spec["apis"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["endpoint"] == name);
            field || edge
        })
    }

    /// `Ok(Some(operation))` when the request matches its node's spec, `Ok(None)` when Meta ships
    /// no spec for the node (the person, OAuth), `Err(why)` otherwise.
    fn check(&self, r: &Value) -> Result<Option<String>, String> {
        let Some(node) = r["node"].as_str() else {
            return Ok(None);
        };
        let Some(spec) = self.0.get(node) else {
            return Ok(None);
        };
        let method = r["method"].as_str().unwrap();
        let edge = r["edge"].as_str();
        let op = format!("{method} {node}/{}", edge.unwrap_or(""));
        let api = spec["apis"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["method"] == method && a["endpoint"].as_str() == edge)
            .ok_or_else(|| format!("{op} ({}) is not in Meta's {node} spec", r["path"]))?;
        let returns = api["return"].as_str().unwrap_or(node);
        let params = api["params"].as_array().unwrap();
        for (k, v) in r["params"].as_object().unwrap() {
            let v = v.as_str().unwrap();
            if k == "fields" {
                for field in top_level(v) {
                    if !self.knows(returns, field) {
                        return Err(format!("{op} asks for `{field}`, which {returns} does not have"));
                    }
                }
                continue;
            }
            if GENERIC.contains(&k.as_str()) {
                continue;
            }
            let p = params
                .iter()
                .find(|p| p["name"] == k.as_str())
                .ok_or_else(|| format!("{op} sends `{k}`, which the spec does not list"))?;
            let ty = p["type"].as_str().unwrap();
            let ok = match ty {
                "bool" => v == "true" || v == "false",
                "int" | "unsigned int" => v.parse::<i64>().is_ok(),
                // Graph takes a list as a JSON array, or (for lists of names, such as insights
                // metrics, which the specs type `list<Object>`) comma-separated.
                t if t.starts_with("list<Object>") || t.starts_with("list<map>") => {
                    serde_json::from_str::<Value>(v).is_ok_and(|j| j.is_array())
                        || v.split(',').all(|n| {
                            !n.is_empty()
                                && n.chars()
                                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                        })
                }
                t if t.starts_with("list<") => !v.is_empty(),
                _ => true,
            };
            if !ok {
                return Err(format!("{op} sends `{k}={v}`, not a {ty}"));
            }
        }
        for p in params.iter().filter(|p| p["required"] == true) {
            let name = p["name"].as_str().unwrap();
            if r["params"].get(name).is_none() {
                return Err(format!("{op} lacks the required `{name}`"));
            }
        }
        Ok(Some(op))
    }
}

/// Top-level names of a `fields` list (`replies{id,text}` gives `replies`, and
/// `comments.summary(true)` gives `comments`).
fn top_level(fields: &str) -> Vec<&str> {
    let (mut out, mut depth, mut start) = (Vec::new(), 0usize, 0usize);
    for (i, c) in fields.char_indices().chain([(fields.len(), ',')]) {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            ',' if depth == 0 => {
                let f = fields[start..i].split(['{', '.']).next().unwrap().trim();
                if !f.is_empty() {
                    out.push(f);
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    out
}

fn in_secs(s: i64) -> String {
    (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(s)).to_string()
}

async fn publish(app: &TestApp, profile: &str, text: &str, media: Value, options: Value) -> Value {
    let (s, post) = app
        .schedule(json!({"text": text, "media_ids": media, "targets": [{"profile_id": profile, "options": options}], "scheduled_at": in_secs(1)}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{post}");
    let done = app
        .wait_for(post["id"].as_str().unwrap(), |d| {
            d["status"] == "published" || d["status"] == "failed"
        })
        .await;
    assert_eq!(done["deliveries"][0]["status"], "published", "{done:#}");
    done
}

#[tokio::test]
async fn every_graph_request_herald_makes_validates_against_metas_node_specs() {
    let specs = Specs::load();
    // The checker itself refuses what Meta's specs refuse.
    let req = |edge: &str, params: Value| json!({"node": "IGUser", "method": "POST", "edge": edge, "path": "/1/x", "params": params});
    assert!(
        specs
            .check(&req("media", json!({"image_url": "https://x/a.jpg"})))
            .is_ok()
    );
    assert!(
        specs.check(&req("media", json!({"bogus": "1"}))).is_err(),
        "an unknown parameter"
    );
    assert!(
        specs
            .check(&req("media", json!({"share_to_feed": "yes"})))
            .is_err(),
        "a bool that is not"
    );
    assert!(
        specs.check(&req("media_publish", json!({}))).is_err(),
        "a required parameter missing"
    );
    assert!(
        specs.check(&req("reels", json!({}))).is_err(),
        "an edge the node lacks"
    );
    let get = json!({"node": "IGMedia", "method": "GET", "edge": null, "path": "/1", "params": {"fields": "id,caption,impressions"}});
    assert!(specs.check(&get).is_err(), "a field IGMedia does not have");
    let mut app = TestApp::spawn(Backend::Sqlite, Mode::Standalone).await;
    app.signup("specs@example.com").await;
    app.connect(&[]).await;
    let ig = app.profiles().await[0]["id"].as_str().unwrap().to_owned();
    let (_, jpeg) = app.upload("square-1080.jpg").await;
    let (_, portrait) = app.upload("portrait-4x5-1080x1350.jpg").await;
    let (_, png) = app.upload("square-1080.png").await;
    let (_, reel) = app.upload("reel-720x1280-4s.mp4").await;
    let image = publish(
        &app,
        &ig,
        "an image",
        json!([jpeg["id"]]),
        json!({"alt_text": "a square"}),
    )
    .await;
    publish(
        &app,
        &ig,
        "a carousel",
        json!([jpeg["id"], portrait["id"], reel["id"]]),
        json!({}),
    )
    .await;
    publish(
        &app,
        &ig,
        "a reel",
        json!([reel["id"]]),
        json!({"share_to_feed": false, "thumb_offset_ms": 1000}),
    )
    .await;
    publish(&app, &ig, "", json!([portrait["id"]]), json!({"format": "story"})).await;
    let media_id = image["deliveries"][0]["platform_post_id"].as_str().unwrap();
    let r = reqwest::Client::new()
        .post(
            app.sandbox_base
                .join(&format!("_sandbox/instagram/media/{media_id}/comments"))
                .unwrap(),
        )
        .json(&json!({"username": "a_follower", "text": "Lovely"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let post = image["id"].as_str().unwrap();
    let (_, comments) = app.get(app.ws_url(&format!("posts/{post}/comments"))).await;
    let comment = comments["data"][0]["comments"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, reply) = app
        .post(
            app.ws_url(&format!("posts/{post}/comments/{comment}/replies")),
            json!({"text": "Thanks"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{reply}");
    let (s, _) = app.get(app.ws_url(&format!("posts/{post}/metrics"))).await;
    assert_eq!(s, StatusCode::OK);

    let (s, page) = app.connect_facebook(&[]).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let (_, list) = app.get(app.ws_url("connections")).await;
    let connection = list["data"][0]["id"].as_str().unwrap();
    let (s, chosen) = app
        .post(
            app.ws_url(&format!("connections/{connection}/accounts")),
            json!({"accounts": ["facebook:100000000000001", "instagram:17841400000000002"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{chosen}");
    let of = |platform: &str| {
        chosen["data"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["platform"] == platform)
            .unwrap()["id"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let (page, linked) = (of("facebook"), of("instagram"));
    let text = publish(&app, &page, "text", json!([]), json!({})).await;
    let post_id = text["deliveries"][0]["platform_post_id"].as_str().unwrap();
    let r = reqwest::Client::new()
        .post(
            app.sandbox_base
                .join(&format!("_sandbox/facebook/posts/{post_id}/comments"))
                .unwrap(),
        )
        .json(&json!({"username": "Ada", "text": "Hello"}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let post = text["id"].as_str().unwrap();
    let (_, comments) = app.get(app.ws_url(&format!("posts/{post}/comments"))).await;
    let comment = comments["data"][0]["comments"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, reply) = app
        .post(
            app.ws_url(&format!("posts/{post}/comments/{comment}/replies")),
            json!({"text": "Hi"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{reply}");
    let (s, _) = app.get(app.ws_url(&format!("posts/{post}/metrics"))).await;
    assert_eq!(s, StatusCode::OK);
    publish(
        &app,
        &page,
        "a link",
        json!([]),
        json!({"link": "https://example.com/"}),
    )
    .await;
    publish(
        &app,
        &page,
        "a photo",
        json!([jpeg["id"]]),
        json!({"alt_text": "a square"}),
    )
    .await;
    publish(&app, &page, "photos", json!([jpeg["id"], png["id"]]), json!({})).await;
    publish(&app, &linked, "through the Page", json!([jpeg["id"]]), json!({})).await;
    publish(
        &app,
        &page,
        "a reel",
        json!([reel["id"]]),
        json!({"format": "reel"}),
    )
    .await;
    publish(&app, &page, "", json!([jpeg["id"]]), json!({"format": "story"})).await;
    let (_, landscape) = app.upload("landscape-1280x720-6s.mp4").await;
    publish(&app, &page, "a video", json!([landscape["id"]]), json!({})).await;
    publish(&app, &page, "", json!([reel["id"]]), json!({"format": "story"})).await;

    // A lost answer on each Graph product: the searches for what the lost call made.
    for (platform, operation, profile, text) in [
        ("facebook", "feed", &page, "answer lost on the Page"),
        ("instagram", "media_publish", &ig, "answer lost on Instagram"),
    ] {
        app.fault(
            platform,
            json!({"operation": operation, "method": "POST", "kind": "lost_response"}),
        )
        .await;
        let (_, post) = app
            .schedule(json!({"text": text, "media_ids": if platform == "instagram" { json!([jpeg["id"]]) } else { json!([]) },
                "targets": [{"profile_id": profile}], "scheduled_at": (crate::harness::herald_now(&app) + jiff::SignedDuration::from_secs(1)).to_string()}))
            .await;
        let id = post["id"].as_str().unwrap();
        app.wait_for(id, |d| d["status"] == "retry_wait").await;
        crate::harness::advance_both(&app, jiff::SignedDuration::from_secs(20), "specs@example.com").await;
        app.wait_for(id, |d| d["status"] == "published").await;
    }

    let journal: Value = app.sandbox_json("_sandbox/requests").await;
    let mut checked = std::collections::BTreeSet::new();
    let mut failures = Vec::new();
    for r in journal["data"].as_array().unwrap() {
        match specs.check(r) {
            Ok(Some(op)) => {
                checked.insert(format!("{} {op}", r["host"].as_str().unwrap()));
            }
            Ok(None) => {}
            Err(why) => failures.push(why),
        }
    }
    assert!(
        failures.is_empty(),
        "requests that break Meta's specs:\n{}",
        failures.join("\n")
    );
    for op in [
        "graph.instagram.com POST IGUser/media",
        "graph.instagram.com POST IGUser/media_publish",
        "graph.instagram.com GET IGUser/media",
        "graph.instagram.com GET ShadowIGMediaBuilder/",
        "graph.instagram.com GET IGMedia/comments",
        "graph.instagram.com POST IGComment/replies",
        "graph.instagram.com GET IGMedia/insights",
        "graph.facebook.com POST Page/feed",
        "graph.facebook.com POST Page/photos",
        "graph.facebook.com GET Page/feed",
        "graph.facebook.com GET PagePost/comments",
        "graph.facebook.com POST Comment/comments",
        "graph.facebook.com GET PagePost/insights",
        "graph.facebook.com GET PagePost/",
        "graph.facebook.com POST Page/video_reels",
        "graph.facebook.com POST Page/videos",
        "graph.facebook.com POST AdVideo/",
        "graph.facebook.com POST Page/video_stories",
        "graph.facebook.com POST Page/photo_stories",
        "graph.facebook.com GET AdVideo/",
        "graph.facebook.com GET Photo/",
        "graph.facebook.com POST IGUser/media",
        "graph.facebook.com POST IGUser/media_publish",
    ] {
        assert!(
            checked.contains(op),
            "{op} was never checked; checked: {checked:#?}"
        );
    }
    app.stop().await;
}
