//! The sandbox cannot be worn down: junk requests leave its memory bounded, and only the
//! emulators asked for are mounted. (Downloads from untrusted origins and the clock's bounds are
//! tested with the emulator they concern.)

use herald_sandbox::{Emulator, Sandbox, SandboxConfig};

mod common;
use common::serve;

#[tokio::test]
async fn twenty_thousand_junk_requests_leave_the_sandbox_bounded() {
    let sb = Sandbox::new(SandboxConfig {
        journal_limit: 300,
        ..SandboxConfig::default()
    });
    let base = serve(sb.router()).await;
    let http = reqwest::Client::new();
    let junk = |i: usize| {
        let (post, path) = match i % 5 {
            0 => (false, format!("graph.facebook.com/v24.0/me?access_token=junk{i}")),
            1 => (
                true,
                format!("graph.facebook.com/v24.0/{i}/feed?message=x&access_token=junk"),
            ),
            2 => (
                false,
                format!("graph.instagram.com/v24.0/{i}/media?access_token=junk{i}"),
            ),
            3 => (true, format!("api.instagram.com/oauth/access_token?code=junk{i}")),
            _ => (
                true,
                format!("www.facebook.com/dialog/oauth?client_id=junk&i={i}"),
            ),
        };
        let url = format!("{base}/{path}");
        if post { http.post(url) } else { http.get(url) }
    };
    let mut after_first = None;
    for round in 0..20 {
        let mut statuses = Vec::new();
        for batch in (round * 1000..(round + 1) * 1000).collect::<Vec<_>>().chunks(50) {
            let tasks: Vec<_> = batch.iter().map(|i| tokio::spawn(junk(*i).send())).collect();
            for t in tasks {
                statuses.push(t.await.unwrap().map(|r| r.status().as_u16()).unwrap_or(0));
            }
        }
        assert!(
            statuses.iter().all(|s| (400..500).contains(s)),
            "junk is refused: {statuses:?}"
        );
        let f = sb.footprint();
        assert!(f.journal <= 300 && f.calls <= 300, "{f:?}");
        assert_eq!(
            (
                f.instagram_codes,
                f.instagram_tokens,
                f.facebook_codes,
                f.facebook_tokens
            ),
            (0, 0, 0, 0),
            "{f:?}"
        );
        match after_first {
            None => after_first = Some(f),
            Some(first) => assert_eq!(f, first, "no growth after the first thousand"),
        }
    }
}

#[tokio::test]
async fn only_the_emulators_asked_for_are_mounted() {
    let sb = Sandbox::new(SandboxConfig::default());
    let base = serve(sb.router_for(&[Emulator::Facebook])).await;
    let http = reqwest::Client::new();
    let status = |path: &str| {
        let r = http.get(format!("{base}/{path}")).send();
        async move { r.await.unwrap().status().as_u16() }
    };
    assert_eq!(status("graph.instagram.com/v24.0/me").await, 404);
    assert_eq!(status("www.instagram.com/oauth/authorize").await, 404);
    assert_eq!(status("_sandbox/instagram/tokens").await, 404);
    assert_eq!(status("_sandbox/facebook").await, 200);
    assert_eq!(status("_sandbox").await, 200);
    assert_eq!(
        status("graph.facebook.com/v24.0/me").await,
        400,
        "Graph's own refusal"
    );
}
