//! The listener holds every client to its limits: a client trickling its headers is dropped at
//! the header timeout, an idle connection is closed, and every log line of a request names it.

use std::time::Duration;

use herald_store::Backend;
use reqwest::StatusCode;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::harness::{Mode, TestApp, log_buffer};

async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(("127.0.0.1", app.base.port().unwrap()))
        .await
        .unwrap()
}

#[tokio::test]
async fn a_client_sending_its_headers_a_byte_at_a_time_is_dropped_at_the_header_timeout() {
    let app = TestApp::spawn_with(Backend::Sqlite, Mode::Builtin, |s| {
        s.http.header_timeout = Duration::from_secs(1);
    })
    .await;
    let head =
        b"GET /healthz HTTP/1.1\r\nHost: herald\r\nUser-Agent: a-very-slow-client/1.0\r\nAccept: */*\r\n\r\n";
    let mut slow = connect(&app).await;
    let mut sent = 0;
    let mut buf = [0u8; 256];
    let dropped = loop {
        if sent == head.len() {
            break false;
        }
        tokio::select! {
            n = slow.read(&mut buf) => {
                // Herald closed the connection (0 bytes, or a reset) before the head was complete.
                assert!(!matches!(n, Ok(n) if n > 0 && buf.starts_with(b"HTTP/1.1 200")), "answered");
                break true;
            }
            () = tokio::time::sleep(Duration::from_millis(250)) => {
                if slow.write_all(&head[sent..=sent]).await.is_err() {
                    break true;
                }
                sent += 1;
            }
        }
    };
    assert!(dropped, "the whole head went through, one byte every 250 ms");
    assert!(sent < head.len());
    // Everyone else is still served.
    let (s, _) = app.get(app.url("healthz")).await;
    assert_eq!(s, StatusCode::OK);
    app.stop().await;
}

#[tokio::test]
async fn a_connection_on_which_nothing_moves_is_closed_at_the_idle_timeout() {
    let app = TestApp::spawn_with(Backend::Sqlite, Mode::Builtin, |s| {
        s.http.header_timeout = Duration::from_secs(600);
        s.http.idle_timeout = Duration::from_secs(1);
    })
    .await;
    let mut idle = connect(&app).await;
    let mut buf = [0u8; 16];
    let closed = tokio::time::timeout(Duration::from_secs(60), idle.read(&mut buf))
        .await
        .expect("the idle connection was closed");
    assert!(matches!(closed, Ok(0) | Err(_)), "{closed:?}");
    app.stop().await;
}

#[tokio::test]
async fn every_log_line_of_a_request_carries_its_request_id() {
    let logs = log_buffer();
    let mut app = TestApp::spawn(Backend::Sqlite, Mode::Builtin).await;
    app.signup("logs@example.com").await;
    let r = app.client.get(app.url("api/v1/me")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let captured =
        String::from_utf8_lossy(&logs.lock().unwrap_or_else(std::sync::PoisonError::into_inner)).into_owned();
    let lines: Vec<&str> = captured.lines().filter(|l| l.contains(&id)).collect();
    assert!(
        lines.iter().any(|l| l.contains("answered")),
        "the request's own line: {lines:#?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("sqlx")),
        "and the lines of what it did (its database queries): {lines:#?}"
    );
    app.stop().await;
}

#[tokio::test]
async fn a_media_file_is_served_as_a_private_attachment_only_with_a_valid_signature() {
    let mut app = TestApp::spawn(Backend::Sqlite, Mode::Builtin).await;
    app.signup("media@example.com").await;
    let (_, media) = app.upload("square-1080.jpg").await;
    let file = format!("{}.jpeg", media["id"].as_str().unwrap());
    let store = &app.app.as_ref().unwrap().store;
    let signer = herald_vault::UrlSigner::new(store.vault_handle());
    let exp = store.clock().now().as_second() + 60;
    let url = signer.url(&app.base, &file, exp);
    let r = reqwest::get(url.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment")
    );
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("private")
    );
    let mut forged = url.clone();
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == "sig" {
                "00".repeat(32)
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    forged.query_pairs_mut().clear().extend_pairs(pairs);
    assert_eq!(
        reqwest::get(forged).await.unwrap().status(),
        StatusCode::FORBIDDEN
    );
    app.stop().await;
}

#[tokio::test]
async fn a_body_trickled_in_is_cut_off_at_the_body_deadline() {
    let app = TestApp::spawn_with(Backend::Sqlite, Mode::Builtin, |s| {
        s.http.body_deadline = Duration::from_secs(1);
    })
    .await;
    let mut slow = connect(&app).await;
    let head = "POST /api/v1/auth/login HTTP/1.1\r\nHost: herald\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n";
    slow.write_all(head.as_bytes()).await.unwrap();
    let mut buf = vec![0u8; 4096];
    let mut sent = 0;
    let answer = loop {
        tokio::select! {
            n = slow.read(&mut buf) => break String::from_utf8_lossy(&buf[..n.unwrap_or(0)]).into_owned(),
            () = tokio::time::sleep(Duration::from_millis(200)) => {
                assert!(sent < 200, "the whole body went through, a byte every 200 ms");
                if slow.write_all(b" ").await.is_err() {
                    break String::new();
                }
                sent += 1;
            }
        }
    };
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("request_timeout"), "{answer}");
    app.stop().await;
}
