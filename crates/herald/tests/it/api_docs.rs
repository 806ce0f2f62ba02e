//! The OpenAPI document covers every route, and every documented operation is really routed.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::harness::{Mode, TestApp, page_text};
use herald_store::Backend;

/// Every endpoint the core loop promises.
const PROMISED: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("post", "/api/v1/auth/signup"),
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/auth/logout"),
    ("get", "/api/v1/me"),
    ("get", "/api/v1/tokens"),
    ("post", "/api/v1/tokens"),
    ("delete", "/api/v1/tokens/{id}"),
    ("get", "/api/v1/platforms"),
    ("post", "/api/v1/workspaces/{ws}/connections"),
    ("get", "/oauth/{platform}/callback"),
    ("get", "/api/v1/workspaces/{ws}/profiles"),
    ("delete", "/api/v1/workspaces/{ws}/profiles/{id}"),
    ("post", "/api/v1/workspaces/{ws}/media"),
    ("post", "/api/v1/workspaces/{ws}/posts"),
    ("get", "/api/v1/workspaces/{ws}/posts"),
    ("post", "/api/v1/workspaces/{ws}/posts/validate"),
    ("get", "/api/v1/workspaces/{ws}/posts/{id}"),
    ("patch", "/api/v1/workspaces/{ws}/posts/{id}"),
    ("post", "/api/v1/workspaces/{ws}/posts/{id}/cancel"),
    ("get", "/api/v1/openapi.json"),
    ("get", "/api/v1/workspaces/{ws}/posts/{id}/comments"),
    (
        "post",
        "/api/v1/workspaces/{ws}/posts/{id}/comments/{comment_id}/replies",
    ),
    ("get", "/api/v1/workspaces/{ws}/posts/{id}/metrics"),
    (
        "post",
        "/api/v1/workspaces/{ws}/posts/{id}/deliveries/{delivery}/publish-now",
    ),
    (
        "post",
        "/api/v1/workspaces/{ws}/posts/{id}/deliveries/{delivery}/choose",
    ),
    (
        "post",
        "/api/v1/workspaces/{ws}/posts/{id}/deliveries/{delivery}/dismiss",
    ),
    ("get", "/api/v1/workspaces/{ws}/notifications"),
    ("post", "/api/v1/workspaces/{ws}/notifications/read"),
    ("post", "/api/v1/workspaces/{ws}/notifications/{id}/read"),
    ("get", "/api/v1/workspaces/{ws}/settings"),
    ("patch", "/api/v1/workspaces/{ws}/settings"),
];

#[tokio::test]
async fn the_openapi_document_lists_every_route_and_each_listed_operation_is_routed() {
    let app = TestApp::spawn(Backend::Sqlite, Mode::Builtin).await;
    let (s, doc) = app.get(app.url("api/v1/openapi.json")).await;
    assert_eq!(s, StatusCode::OK);
    for (method, path) in PROMISED {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is missing from the OpenAPI document"
        );
    }
    let paths = doc["paths"].as_object().unwrap();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            let concrete = path
                .split('/')
                .map(|s| {
                    if s.starts_with('{') {
                        "00000000-0000-7000-8000-000000000000"
                    } else {
                        s
                    }
                })
                .collect::<Vec<_>>()
                .join("/");
            let r = app
                .client
                .request(
                    Method::from_bytes(method.to_uppercase().as_bytes()).unwrap(),
                    app.url(&concrete),
                )
                .send()
                .await
                .unwrap();
            let status = r.status();
            assert_secured(r.headers(), &format!("{method} {path}"));
            let body: Value = r.json().await.unwrap_or(Value::Null);
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{method} {path}");
            assert_ne!(
                body["error"]["message"], "route not found",
                "{method} {path} is documented but not routed"
            );
        }
    }
    let page = page_text(&app.client, app.url("api/docs")).await;
    assert!(
        page.contains("/api/v1/openapi.json") && !page.contains("https://"),
        "the reference page loads nothing from elsewhere"
    );
    assert!(
        !page.contains("<script>") && !page.contains("<style>"),
        "nothing inline: the Content-Security-Policy allows none"
    );
    // What is not in the table answers the same way: the fallback, the sandbox beside the API,
    // and the assets the reference page links.
    let mut extra = vec![
        "no/such/route".to_owned(),
        "_sandbox/".to_owned(),
        "graph.instagram.com/v24.0/me".to_owned(),
        "www.facebook.com/v24.0/dialog/oauth".to_owned(),
    ];
    for link in page.split('"').filter(|s| s.starts_with("/assets/")) {
        extra.push(link.trim_start_matches('/').to_owned());
    }
    assert!(
        extra.len() >= 6,
        "the page links its stylesheet and script: {page}"
    );
    for path in extra {
        let r = app.client.get(app.url(&path)).send().await.unwrap();
        assert_secured(r.headers(), &path);
        if path.starts_with("assets/") {
            assert_eq!(r.status(), StatusCode::OK, "{path}");
            assert!(
                r.headers()["cache-control"]
                    .to_str()
                    .unwrap()
                    .contains("immutable")
            );
        }
    }
    app.stop().await;
}

/// The headers every response carries, and the request id that names it in the logs.
fn assert_secured(h: &reqwest::header::HeaderMap, what: &str) {
    let get = |name: &str| h.get(name).map(|v| v.to_str().unwrap().to_owned());
    let csp = get("content-security-policy").unwrap_or_default();
    assert!(
        csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"),
        "{what}: {csp:?}"
    );
    assert!(
        !csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"),
        "{what}"
    );
    assert_eq!(
        get("x-content-type-options").as_deref(),
        Some("nosniff"),
        "{what}"
    );
    assert!(get("referrer-policy").is_some(), "{what}");
    assert!(
        get("strict-transport-security").is_none(),
        "{what}: not over http"
    );
    let id = get("x-request-id").unwrap_or_default();
    assert!(
        id.len() >= 16 && id.chars().all(|c| c.is_ascii_hexdigit()),
        "{what}: {id:?}"
    );
}

#[tokio::test]
async fn over_https_browsers_are_told_to_use_nothing_else() {
    let mut app = TestApp::spawn(Backend::Sqlite, Mode::Builtin).await;
    app.restart_with(|s| s.public_url = url::Url::parse("https://herald.example/").unwrap())
        .await;
    for path in ["healthz", "api/v1/me", "no/such/route"] {
        let r = app.client.get(app.url(path)).send().await.unwrap();
        let hsts = r.headers()["strict-transport-security"].to_str().unwrap();
        assert!(
            hsts.starts_with("max-age=") && hsts.contains("includeSubDomains"),
            "{path}"
        );
    }
    app.stop().await;
}

#[tokio::test]
async fn the_platform_list_gives_each_platform_its_limits_kinds_options_and_what_its_api_cannot_do() {
    let mut app = TestApp::spawn(Backend::Sqlite, Mode::Builtin).await;
    let (s, _) = app.get(app.url("api/v1/platforms")).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "for signed-in people");
    app.signup("platforms@example.com").await;
    let (s, body) = app.get(app.url("api/v1/platforms")).await;
    assert_eq!(s, StatusCode::OK);
    let platforms = body["data"].as_array().unwrap();
    assert_eq!(platforms.len(), 8);
    for p in platforms {
        assert!(!p["kinds"].as_array().unwrap().is_empty(), "{}", p["id"]);
        assert!(p["limits"]["text_counting"].is_string(), "{}", p["id"]);
        assert!(!p["unsupported"].as_array().unwrap().is_empty(), "{}", p["id"]);
    }
    let by_id = |id: &str| platforms.iter().find(|p| p["id"] == id).unwrap();
    let ig = by_id("instagram");
    assert_eq!(ig["limits"]["text_max"], 2200);
    let kinds: Vec<&str> = ig["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["id"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["image", "carousel", "reel", "story"]);
    assert!(
        ig["unsupported"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == "unsupported.story_stickers" && u["options"][0] == "stickers")
    );
    assert_eq!(by_id("x")["limits"]["text_counting"], "x_weighted");
    assert_eq!(by_id("tiktok")["limits"]["text_counting"], "utf16");
    assert!(
        by_id("pinterest")["options"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["name"] == "board_id" && o["required"] == true)
    );
    app.stop().await;
}
