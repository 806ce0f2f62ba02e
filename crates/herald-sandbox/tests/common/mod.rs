//! Helpers shared by the sandbox's tests: serving a router, fixtures, and reading Graph errors.
//! Each test file is its own crate and uses some of them.
#![allow(dead_code)]

use axum::Router;
use serde_json::Value;

pub async fn serve(router: Router) -> String {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(l, router).await.unwrap() });
    format!("http://{addr}")
}

/// Serves `router` as a media host the sandbox trusts (as Herald's own origin is).
pub async fn serve_media(sb: &herald_sandbox::Sandbox, router: Router) -> String {
    let base = serve(router).await;
    sb.trust_origin(&url::Url::parse(&base).unwrap());
    base
}

pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/../../tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

pub fn graph_error(body: &Value) -> (i64, Option<i64>) {
    assert_eq!(
        body["error"]["type"].as_str().map(|t| t.ends_with("Exception")),
        Some(true),
        "{body}"
    );
    assert!(body["error"]["fbtrace_id"].is_string(), "{body}");
    (
        body["error"]["code"].as_i64().unwrap(),
        body["error"]["error_subcode"].as_i64(),
    )
}
