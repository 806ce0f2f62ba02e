//! Operations: `/metrics` of a real `herald serve` (the recorder is global to a process) parses as
//! Prometheus text and counts what the API says happened; `/readyz` says 503 while the database is
//! cut off (through a TCP proxy the test controls) and 200 once it is back.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use herald::config::DatabaseUrl;
use herald_sandbox::SandboxConfig;
use herald_store::Backend;
use jiff::{SignedDuration, Timestamp};
use reqwest::StatusCode;
use serde_json::json;

use crate::fleet::{Fleet, Role};
use crate::harness::{Mode, TestApp, backends};
use crate::proxy::Proxy;

#[tokio::test]
async fn metrics_parse_as_prometheus_text_and_count_the_deliveries_the_api_shows() {
    for backend in backends().await {
        let mut fleet = Fleet::start(backend, SandboxConfig::default(), &[Role::Serve]).await;
        let app = &mut fleet.app;
        app.signup("metrics@example.com").await;
        let (s, page) = app.connect(&[]).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let profile = app.profiles().await[0]["id"].as_str().unwrap().to_owned();
        let (_, media) = app.upload("square-1080.jpg").await;
        let media = media["id"].as_str().unwrap().to_owned();
        let fault = |kind: &str| json!({"operation": "media", "method": "POST", "kind": kind});
        // Refused for its content: failed, and never retried.
        app.fault("instagram", fault("refuse")).await;
        let refused = schedule(app, &profile, &media, "Refused by the platform").await;
        let p = app.settled(&refused).await;
        assert_eq!(p["deliveries"][0]["status"], "failed", "{p:#}");
        // One server error on the way: one retry, then both of these go out.
        app.fault("instagram", fault("server_error")).await;
        let retried = schedule(app, &profile, &media, "Out on the second try").await;
        let plain = schedule(app, &profile, &media, "Out at once").await;
        for post in [&retried, &plain] {
            app.wait_for(post, |d| d["status"] == "published").await;
        }

        // What happened, in the API's words.
        let mut shown: BTreeMap<String, f64> = BTreeMap::new();
        for post in [&refused, &retried, &plain] {
            let (_, p) = app.get(app.ws_url(&format!("posts/{post}"))).await;
            for d in p["deliveries"].as_array().unwrap() {
                *shown.entry(d["status"].as_str().unwrap().to_owned()).or_default() += 1.0;
            }
        }
        assert_eq!(
            shown,
            BTreeMap::from([("failed".to_owned(), 1.0), ("published".to_owned(), 2.0)])
        );

        let r = app.client.get(app.url("metrics")).send().await.unwrap();
        assert_eq!(
            r.status(),
            StatusCode::OK,
            "a loopback-only Herald serves this machine"
        );
        let kind = r.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(kind.starts_with("text/plain; version=0.0.4"), "{kind}");
        let text = r.text().await.unwrap();
        let m = Exposition::parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        m.check_histograms().unwrap_or_else(|e| panic!("{e}\n{text}"));

        // The queue as the database holds it: every status, the API's figures, zeros included.
        let deliveries: Vec<&Sample> = m.all("herald_deliveries").collect();
        assert_eq!(deliveries.len(), 11, "one series per status: {deliveries:#?}");
        for s in deliveries {
            let want = shown.get(&s.labels["status"]).copied().unwrap_or(0.0);
            assert_eq!(s.value, want, "{s:?}");
        }
        assert_eq!(m.value("herald_queue_due", &[]), Some(0.0));
        assert_eq!(m.value("herald_database_up", &[]), Some(1.0));
        // The dispatcher's own counts of the same run.
        let instagram = [("platform", "instagram")];
        for h in [
            "herald_publish_lateness_seconds",
            "herald_publish_latency_seconds",
        ] {
            assert_eq!(m.value(&format!("{h}_count"), &instagram), Some(2.0), "{h}");
            let buckets = m
                .all(&format!("{h}_bucket"))
                .filter(|s| s.labels["platform"] == "instagram")
                .count();
            assert_eq!(buckets, 19, "{h}: 1 ms to an hour, and +Inf");
        }
        assert_eq!(
            m.value(
                "herald_retries_total",
                &[("platform", "instagram"), ("code", "transient")]
            ),
            Some(1.0)
        );
        // Requests, by their route's template: never a series per id.
        assert_eq!(
            m.value(
                "herald_http_request_duration_seconds_count",
                &[
                    ("method", "POST"),
                    ("path", "/api/v1/workspaces/{ws}/posts"),
                    ("status", "2xx")
                ]
            ),
            Some(3.0)
        );
        for id in [&app.ws, &refused, &retried, &plain, &profile] {
            assert!(!text.contains(id.as_str()), "{id} is in a label:\n{text}");
        }
        fleet.stop().await;
    }
}

#[tokio::test]
async fn readyz_answers_503_while_the_database_is_cut_off_and_200_once_it_is_back() {
    let Some(backend) = backends().await.into_iter().find(|b| *b == Backend::Postgres) else {
        eprintln!(
            "SKIPPED: the database is cut off through a TCP proxy to PostgreSQL, which is not reachable here"
        );
        return;
    };
    let proxy = Proxy::start().await;
    let app = TestApp::spawn_with(backend, Mode::Builtin, |s| {
        s.database_url = DatabaseUrl::new(proxy.route(s.database_url.expose()));
    })
    .await;
    let (s, body) = app.get(app.url("readyz")).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    assert_eq!(body["status"], "ready");

    proxy.cut();
    let asked = Instant::now();
    let (s, body) = app.get(app.url("readyz")).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert_eq!(body["error"]["code"], "database_unavailable", "{body}");
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "answered after {:?}: the check waits 2 seconds, not the pool's own wait",
        asked.elapsed()
    );
    assert_eq!(
        app.get(app.url("healthz")).await.0,
        StatusCode::OK,
        "alive all the same"
    );

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (s, body) = app.get(app.url("readyz")).await;
        if s == StatusCode::OK {
            break;
        }
        assert!(Instant::now() < deadline, "never ready again: {s} {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.stop().await;
}

#[test]
fn the_parser_refuses_what_is_not_prometheus_text() {
    let good = "# HELP a_total Things.\n# TYPE a_total counter\na_total{k=\"v \\\"q\\\"\",} 3\n\n# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\nh_sum 1.5\nh_count 2\n";
    let m = Exposition::parse(good).unwrap();
    m.check_histograms().unwrap();
    assert_eq!(m.value("a_total", &[("k", "v \"q\"")]), Some(3.0));
    for bad in [
        "a_total 1\n",
        "# TYPE a counter\na{k=v} 1\n",
        "# TYPE a counter\na 1 2 3\n",
        "# TYPE a counter\na one\n",
        "# TYPE a counter\n# a comment\n",
        "# TYPE a counter\n# TYPE b gauge\nb 1\na 1\n",
        "# TYPE a gauge\na 1\n# TYPE a gauge\n",
        "# TYPE 1a gauge\n",
    ] {
        assert!(Exposition::parse(bad).is_err(), "{bad:?}");
    }
    let uneven = "# TYPE h histogram\nh_bucket{le=\"1\"} 3\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 2\n";
    assert!(Exposition::parse(uneven).unwrap().check_histograms().is_err());
}

/// Schedules `text` with `media` on `profile` a second from now; returns the post's id.
async fn schedule(app: &TestApp, profile: &str, media: &str, text: &str) -> String {
    let at = (Timestamp::now() + SignedDuration::from_secs(1)).to_string();
    let (s, post) = app
        .schedule(json!({"text": text, "media_ids": [media], "targets": [{"profile_id": profile}], "scheduled_at": at}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{post}");
    post["id"].as_str().unwrap().to_owned()
}

/// One sample line of a scrape.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// A scrape parsed as Prometheus's text format (0.0.4), refusing anything else: every line is
/// `# HELP`, `# TYPE`, a sample of a declared family, or empty (which the format allows between
/// families); a family's lines are together, its `TYPE` before its samples.
struct Exposition {
    types: HashMap<String, String>,
    samples: Vec<Sample>,
}

impl Exposition {
    fn parse(text: &str) -> Result<Self, String> {
        let mut types: HashMap<String, String> = HashMap::new();
        let mut helped = HashSet::new();
        let mut samples = Vec::new();
        // Families met so far, and the one whose lines these are: a family met again is split.
        let mut done: HashSet<String> = HashSet::new();
        let mut current = String::new();
        let mut enter = |family: &str| -> Result<(), String> {
            if family != current {
                if done.contains(family) {
                    return Err(format!("the lines of {family} are not together"));
                }
                done.insert(std::mem::replace(&mut current, family.to_owned()));
            }
            Ok(())
        };
        for (i, line) in text.lines().enumerate() {
            let at = |why: String| format!("line {}: {why}: {line:?}", i + 1);
            if line.is_empty() {
                continue;
            }
            if let Some(rest) = line.strip_prefix("# HELP ") {
                let name = rest.split(' ').next().unwrap_or_default();
                metric_name(name).map_err(at)?;
                if !helped.insert(name.to_owned()) {
                    return Err(at(format!("a second HELP for {name}")));
                }
                enter(name).map_err(at)?;
            } else if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (name, kind) = rest
                    .split_once(' ')
                    .ok_or_else(|| at("a TYPE without its type".into()))?;
                metric_name(name).map_err(at)?;
                if !["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind) {
                    return Err(at(format!("no such type {kind}")));
                }
                if samples
                    .iter()
                    .any(|s: &Sample| family(&s.name, &types) == Some(name))
                {
                    return Err(at(format!("the TYPE of {name} after its samples")));
                }
                if types.insert(name.to_owned(), kind.to_owned()).is_some() {
                    return Err(at(format!("a second TYPE for {name}")));
                }
                enter(name).map_err(at)?;
            } else if line.starts_with('#') {
                return Err(at("a comment that is neither HELP nor TYPE".into()));
            } else {
                let s = sample(line).map_err(at)?;
                let f = family(&s.name, &types)
                    .ok_or_else(|| at("a sample of no declared family".into()))?
                    .to_owned();
                enter(&f).map_err(at)?;
                samples.push(s);
            }
        }
        Ok(Self { types, samples })
    }

    /// Each histogram series: bucket bounds rising to `+Inf`, counts never falling, the `+Inf`
    /// bucket equal to `_count`, and a `_sum`.
    fn check_histograms(&self) -> Result<(), String> {
        for (name, _) in self.types.iter().filter(|(_, k)| *k == "histogram") {
            let mut series: BTreeMap<BTreeMap<String, String>, Vec<(f64, f64)>> = BTreeMap::new();
            for s in self.all(&format!("{name}_bucket")) {
                let mut labels = s.labels.clone();
                let le = labels
                    .remove("le")
                    .ok_or_else(|| format!("a bucket of {name} without `le`"))?;
                let le = number(&le).map_err(|e| format!("{name}: {e}"))?;
                series.entry(labels).or_default().push((le, s.value));
            }
            for (labels, buckets) in &series {
                let rising = buckets.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1);
                let last = buckets.last().copied().unwrap_or((0.0, 0.0));
                let pairs: Vec<(&str, &str)> = labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                let count = self.value(&format!("{name}_count"), &pairs);
                if !rising || last.0 != f64::INFINITY || count != Some(last.1) {
                    return Err(format!("{name}{labels:?}: buckets {buckets:?}, count {count:?}"));
                }
                if self.value(&format!("{name}_sum"), &pairs).is_none() {
                    return Err(format!("{name}{labels:?} has no _sum"));
                }
            }
        }
        Ok(())
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| s.name == name)
    }

    /// The value of the sample named `name` with exactly these labels.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let want: BTreeMap<String, String> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self.all(name).find(|s| s.labels == want).map(|s| s.value)
    }
}

/// The family a sample belongs to: its own name, or a histogram's or summary's it is a part of.
fn family<'a>(sample: &'a str, types: &HashMap<String, String>) -> Option<&'a str> {
    if types.contains_key(sample) {
        return Some(sample);
    }
    [
        ("_bucket", &["histogram"][..]),
        ("_sum", &["histogram", "summary"][..]),
        ("_count", &["histogram", "summary"][..]),
    ]
    .into_iter()
    .find_map(|(suffix, kinds)| {
        let base = sample.strip_suffix(suffix)?;
        kinds.contains(&types.get(base)?.as_str()).then_some(base)
    })
}

fn metric_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':');
    match first && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
        true => Ok(()),
        false => Err(format!("`{name}` is not a metric name")),
    }
}

fn label_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    let first = chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    match first && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
        true => Ok(()),
        false => Err(format!("`{name}` is not a label name")),
    }
}

/// A sample's value (or a bucket's bound): a number, `+Inf`, `-Inf` or `NaN`.
fn number(s: &str) -> Result<f64, String> {
    match s {
        "+Inf" => Ok(f64::INFINITY),
        "-Inf" => Ok(f64::NEG_INFINITY),
        "NaN" => Ok(f64::NAN),
        _ => s.parse().map_err(|_| format!("`{s}` is not a number")),
    }
}

/// `name{label="value",…} value [timestamp]`, label values with `\\`, `\"` and `\n` escaped.
fn sample(line: &str) -> Result<Sample, String> {
    let end = line.find(['{', ' ']).ok_or("a sample without a value")?;
    let name = &line[..end];
    metric_name(name)?;
    let mut rest = &line[end..];
    let mut labels = BTreeMap::new();
    if let Some(inner) = rest.strip_prefix('{') {
        rest = inner;
        loop {
            if let Some(after) = rest.strip_prefix('}') {
                rest = after;
                break;
            }
            let (key, after) = rest.split_once('=').ok_or("a label without `=`")?;
            label_name(key)?;
            let quoted = after.strip_prefix('"').ok_or("a label value without quotes")?;
            let mut value = String::new();
            let mut chars = quoted.char_indices();
            let close = loop {
                match chars.next() {
                    None => return Err("a label value without its closing quote".into()),
                    Some((i, '"')) => break i,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, '\\')) => value.push('\\'),
                        Some((_, '"')) => value.push('"'),
                        Some((_, 'n')) => value.push('\n'),
                        _ => return Err("a label value with a bad escape".into()),
                    },
                    Some((_, c)) => value.push(c),
                }
            };
            if labels.insert(key.to_owned(), value).is_some() {
                return Err(format!("the label {key} twice"));
            }
            rest = &quoted[close + 1..];
            match rest.strip_prefix(',') {
                Some(after) => rest = after,
                None if rest.starts_with('}') => {}
                None => return Err("labels not separated by `,`".into()),
            }
        }
    }
    let mut fields = rest
        .strip_prefix(' ')
        .ok_or("no space before the value")?
        .split(' ');
    let value = number(fields.next().unwrap_or_default())?;
    if let Some(at) = fields.next() {
        at.parse::<i64>()
            .map_err(|_| format!("`{at}` is not a timestamp"))?;
    }
    if fields.next().is_some() {
        return Err("more than a value and a timestamp".into());
    }
    Ok(Sample {
        name: name.to_owned(),
        labels,
        value,
    })
}
