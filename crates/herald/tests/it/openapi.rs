//! A checker of requests against a platform's vendored OpenAPI 3 document (`tests/specs/`): the
//! path and method exist, query parameters are declared and valid, required ones present, the
//! body is of a declared content type and valid for its schema, and the `Authorization` scheme is
//! one the operation allows. The sandbox's journal gives the requests; a test shows the checker
//! fails wrong ones.

use serde_json::{Value, json};

use crate::harness::TestApp;

/// A path template, the values of its parameters, and how many of its segments are literal.
type Match<'a> = (&'a str, Vec<(String, String)>, usize);

/// A wrong change to a request, and what the checker must say about it.
pub type Case<'a> = (&'a str, &'a dyn Fn(&mut Value));

pub struct OpenApi {
    doc: Value,
    /// The servers' base path (`/v5`), which journaled paths carry.
    base: String,
}

impl OpenApi {
    /// Loads `tests/specs/{file}`.
    pub fn load(file: &str) -> Self {
        let path = format!("{}/../../tests/specs/{file}", env!("CARGO_MANIFEST_DIR"));
        let doc: Value = serde_json::from_slice(&std::fs::read(&path).expect("the vendored spec")).unwrap();
        let server = doc["servers"][0]["url"].as_str().unwrap_or_default();
        let base = url::Url::parse(server)
            .map(|u| u.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        Self { doc, base }
    }

    /// Follows `$ref`s to the schema (or parameter, or body) they name.
    fn resolve<'a>(&'a self, mut v: &'a Value) -> &'a Value {
        while let Some(r) = v["$ref"].as_str() {
            let pointer = r.trim_start_matches('#');
            v = self.doc.pointer(pointer).unwrap_or(&Value::Null);
        }
        v
    }

    /// The path template a concrete path matches (literal segments beat parameters).
    fn template(&self, path: &str) -> Option<(&str, Vec<(String, String)>)> {
        let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
        let mut best: Option<Match<'_>> = None;
        for t in self.doc["paths"].as_object()?.keys() {
            let tsegs: Vec<&str> = t.trim_matches('/').split('/').collect();
            if tsegs.len() != segs.len() {
                continue;
            }
            let mut vars = Vec::new();
            let mut literal = 0;
            let fits = tsegs.iter().zip(&segs).all(|(t, s)| match t.strip_prefix('{') {
                Some(name) => {
                    vars.push((name.trim_end_matches('}').to_owned(), (*s).to_owned()));
                    true
                }
                None => {
                    literal += 1;
                    t == s
                }
            });
            if fits && best.as_ref().is_none_or(|b| literal > b.2) {
                best = Some((t.as_str(), vars, literal));
            }
        }
        best.map(|(t, v, _)| (t, v))
    }

    /// `Ok(operation)` when the journaled request `r` is one the spec allows, else why not.
    pub fn check(&self, r: &Value) -> Result<String, String> {
        let method = r["method"].as_str().unwrap_or_default().to_ascii_lowercase();
        let full = r["path"].as_str().unwrap_or_default();
        let path = full
            .strip_prefix(&self.base)
            .ok_or_else(|| format!("{full} is not under {}", self.base))?;
        let (template, vars) = self
            .template(path)
            .ok_or_else(|| format!("no path of the spec matches {path}"))?;
        let item = &self.doc["paths"][template];
        let op = item
            .get(&method)
            .ok_or_else(|| format!("{} {template} is not in the spec", method.to_uppercase()))?;
        let name = format!("{} {template}", method.to_uppercase());
        let params: Vec<&Value> = item["parameters"]
            .as_array()
            .into_iter()
            .chain(op["parameters"].as_array())
            .flatten()
            .map(|p| self.resolve(p))
            .collect();
        let declared = |place: &str, n: &str| {
            params
                .iter()
                .find(|p| p["in"] == place && p["name"] == n)
                .copied()
        };
        for (n, v) in &vars {
            let p =
                declared("path", n).ok_or_else(|| format!("{name}: path parameter {n} is not declared"))?;
            self.value(&json!(v), &p["schema"], true, &format!("path {n}"))
                .map_err(|e| format!("{name}: {e}"))?;
        }
        let query = r["params"].as_object().cloned().unwrap_or_default();
        for (n, v) in &query {
            let p =
                declared("query", n).ok_or_else(|| format!("{name}: query parameter {n} is not declared"))?;
            let schema = self.resolve(&p["schema"]);
            let v = match (schema["type"].as_str(), v.as_str()) {
                // `explode: false` arrays are comma-separated.
                (Some("array"), Some(s)) => json!(s.split(',').collect::<Vec<_>>()),
                _ => v.clone(),
            };
            self.value(&v, schema, true, &format!("query {n}"))
                .map_err(|e| format!("{name}: {e}"))?;
        }
        for p in &params {
            let n = p["name"].as_str().unwrap_or_default();
            if p["in"] == "query" && p["required"] == true && !query.contains_key(n) {
                return Err(format!("{name}: the required query parameter {n} is missing"));
            }
        }
        let body = self.resolve(&op["requestBody"]);
        match (&r["body"], body.is_null()) {
            (Value::Null, true) => {}
            (Value::Null, false) if body["required"] == true => {
                return Err(format!("{name}: the required body is missing"));
            }
            (Value::Null, false) => {}
            (_, true) => return Err(format!("{name}: takes no body")),
            (sent, false) => {
                let ctype = r["content_type"].as_str().unwrap_or_default();
                let schema = &body["content"][ctype]["schema"];
                if schema.is_null() {
                    return Err(format!("{name}: the body's content type {ctype} is not declared"));
                }
                // Form and multipart fields arrive as text.
                let form = matches!(ctype, "application/x-www-form-urlencoded" | "multipart/form-data");
                self.value(sent, schema, form, "body")
                    .and_then(|()| self.declared(sent, schema, "body"))
                    .map_err(|e| format!("{name}: {e}"))?;
            }
        }
        let security = op.get("security").unwrap_or(&self.doc["security"]);
        let allowed: Vec<&str> = security
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|req| req.as_object()?.keys().next())
            .filter_map(|scheme| {
                let s = &self.doc["components"]["securitySchemes"][scheme.as_str()];
                match (s["type"].as_str(), s["scheme"].as_str()) {
                    (Some("http"), Some(scheme)) => Some(scheme),
                    (Some("oauth2"), _) => Some("bearer"),
                    _ => None,
                }
            })
            .collect();
        let auth = r["auth"].as_str().unwrap_or("none");
        if !allowed.is_empty() && !allowed.contains(&auth) {
            return Err(format!("{name}: authorization {auth} is not one of {allowed:?}"));
        }
        Ok(name)
    }

    /// The properties a schema declares for the object `v`: its own, its `allOf` parts', and those
    /// of the schema its discriminator maps `v` to.
    fn properties<'a>(&'a self, v: &Value, schema: &'a Value, out: &mut Vec<(&'a str, &'a Value)>) {
        let s = self.resolve(schema);
        if let Some(props) = s["properties"].as_object() {
            out.extend(props.iter().map(|(k, p)| (k.as_str(), p)));
        }
        for part in s["allOf"].as_array().into_iter().flatten() {
            self.properties(v, part, out);
        }
        let tag = s["discriminator"]["propertyName"]
            .as_str()
            .and_then(|prop| v[prop].as_str());
        if let Some(target) = tag
            .and_then(|t| s["discriminator"]["mapping"][t].as_str())
            .and_then(|r| self.doc.pointer(r.trim_start_matches('#')))
            .filter(|t| !std::ptr::eq(*t, s))
        {
            self.properties(v, target, out);
        }
    }

    /// Every property of a request body is one its schema declares (Pinterest's schemas leave
    /// `additionalProperties` open, so a misspelt field would otherwise pass), but for the few
    /// parameters documented outside the spec ([`UNDECLARED`]).
    fn declared(&self, v: &Value, schema: &Value, at: &str) -> Result<(), String> {
        let s = self.resolve(schema);
        match v {
            Value::Object(o) if s["additionalProperties"].is_object() => {
                let each = &s["additionalProperties"];
                o.iter()
                    .try_for_each(|(k, val)| self.declared(val, each, &format!("{at}.{k}")))
            }
            Value::Object(o) => {
                let mut props = Vec::new();
                self.properties(v, schema, &mut props);
                for (k, val) in o {
                    match props.iter().find(|(name, _)| name == k) {
                        Some((_, p)) => self.declared(val, p, &format!("{at}.{k}"))?,
                        None if UNDECLARED.contains(&k.as_str()) => {}
                        None => return Err(format!("{at}: {k} is not a property the spec declares")),
                    }
                }
                Ok(())
            }
            Value::Array(items) => items
                .iter()
                .enumerate()
                .try_for_each(|(i, item)| self.declared(item, &s["items"], &format!("{at}[{i}]"))),
            _ => Ok(()),
        }
    }

    /// Validates `v` against `schema`; `form` reads every scalar from its text (form bodies,
    /// query strings).
    fn value(&self, v: &Value, schema: &Value, form: bool, at: &str) -> Result<(), String> {
        let s = self.resolve(schema);
        if s.is_null() {
            return match schema["$ref"].as_str() {
                Some(r) => Err(format!("{at}: the spec's reference {r} names nothing")),
                None => Ok(()),
            };
        }
        for part in s["allOf"].as_array().into_iter().flatten() {
            self.value(v, part, form, at)?;
        }
        if let Some(choices) = s["oneOf"].as_array() {
            let discriminated = s["discriminator"]["propertyName"]
                .as_str()
                .and_then(|prop| v[prop].as_str())
                .and_then(|tag| s["discriminator"]["mapping"][tag].as_str());
            match discriminated {
                Some(target) => self.value(v, &json!({"$ref": target}), form, at)?,
                // Read as "at least one": Pinterest's choices overlap (a metric type is in both
                // the standard and the video list), which strict JSON Schema would refuse.
                None => {
                    if !choices.iter().any(|c| self.value(v, c, form, at).is_ok()) {
                        return Err(format!("{at}: {v} matches none of the oneOf choices"));
                    }
                }
            }
        } else if let Some(tag) = s["discriminator"]["propertyName"].as_str() {
            let mapped = v[tag]
                .as_str()
                .and_then(|t| s["discriminator"]["mapping"][t].as_str())
                .ok_or_else(|| format!("{at}.{tag}: {} is not a known kind", v[tag]))?;
            let target = self
                .doc
                .pointer(mapped.trim_start_matches('#'))
                .ok_or_else(|| format!("{at}: the spec's mapping {mapped} names nothing"))?;
            if !std::ptr::eq(target, s) {
                self.value(v, target, form, at)?;
            }
        }
        if v.is_null() {
            return match s["nullable"] == true || s["type"].is_null() {
                true => Ok(()),
                false => Err(format!("{at}: null is not allowed")),
            };
        }
        if let Some(allowed) = s["enum"].as_array() {
            let text = |x: &Value| x.as_str().map_or_else(|| x.to_string(), str::to_owned);
            if !allowed.iter().any(|a| text(a) == text(v)) {
                return Err(format!("{at}: {v} is not one of {allowed:?}"));
            }
        }
        match s["type"].as_str() {
            Some("object") => {
                let o = v.as_object().ok_or_else(|| format!("{at}: not an object"))?;
                for req in s["required"].as_array().into_iter().flatten() {
                    let k = req.as_str().unwrap_or_default();
                    if !o.contains_key(k) {
                        return Err(format!("{at}: {k} is required"));
                    }
                }
                let props = s["properties"].as_object();
                for (k, val) in o {
                    match props.and_then(|p| p.get(k)) {
                        Some(p) => self.value(val, p, form, &format!("{at}.{k}"))?,
                        None if s["additionalProperties"] == false => {
                            return Err(format!("{at}: {k} is not a property"));
                        }
                        None => {
                            if let Some(extra) = s["additionalProperties"].as_object() {
                                self.value(val, &Value::Object(extra.clone()), form, &format!("{at}.{k}"))?;
                            }
                        }
                    }
                }
            }
            Some("array") => {
                let items = v.as_array().ok_or_else(|| format!("{at}: not an array"))?;
                let n = items.len() as u64;
                if s["minItems"].as_u64().is_some_and(|m| n < m)
                    || s["maxItems"].as_u64().is_some_and(|m| n > m)
                {
                    return Err(format!(
                        "{at}: {n} items is outside {}..{}",
                        s["minItems"], s["maxItems"]
                    ));
                }
                for (i, item) in items.iter().enumerate() {
                    self.value(item, &s["items"], form, &format!("{at}[{i}]"))?;
                }
            }
            Some("string") => {
                let text = v.as_str().ok_or_else(|| format!("{at}: not a string"))?;
                let n = text.chars().count() as u64;
                if s["maxLength"].as_u64().is_some_and(|m| n > m)
                    || s["minLength"].as_u64().is_some_and(|m| n < m)
                {
                    return Err(format!("{at}: {n} characters is outside its length limits"));
                }
                if let Some(p) = s["pattern"].as_str() {
                    pattern(p, text).map_err(|e| format!("{at}: {e}"))?;
                }
                if s["format"] == "date" && text.parse::<jiff::civil::Date>().is_err() {
                    return Err(format!("{at}: {text} is not a date"));
                }
                if s["format"] == "date-time" && text.parse::<jiff::Timestamp>().is_err() {
                    return Err(format!("{at}: {text} is not an RFC 3339 time"));
                }
            }
            Some("integer") => {
                let n = match (v.as_i64(), v.as_str()) {
                    (Some(n), _) => n,
                    (None, Some(t)) if form => {
                        t.parse().map_err(|_| format!("{at}: {t} is not an integer"))?
                    }
                    _ => return Err(format!("{at}: not an integer")),
                };
                if s["minimum"].as_i64().is_some_and(|m| n < m)
                    || s["maximum"].as_i64().is_some_and(|m| n > m)
                {
                    return Err(format!("{at}: {n} is outside its limits"));
                }
            }
            Some("boolean") => {
                let ok = v.is_boolean() || (form && matches!(v.as_str(), Some("true" | "false")));
                if !ok {
                    return Err(format!("{at}: not a boolean"));
                }
            }
            Some("number") => {
                let ok = v.is_number() || (form && v.as_str().is_some_and(|t| t.parse::<f64>().is_ok()));
                if !ok {
                    return Err(format!("{at}: not a number"));
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Body parameters the platforms document outside their spec: Pinterest's refresh takes
/// `continuous_refresh` (its OAuth guide; absent from `OauthAccessTokenRequestRefresh`).
const UNDECLARED: &[&str] = &["continuous_refresh"];

/// The patterns the vendored specs use on what Herald sends; any other is an error, so a pattern
/// is never passed unread.
fn pattern(p: &str, s: &str) -> Result<(), String> {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let ok = match p {
        r"^\d+$" | "^[0-9]+$" => digits(s),
        "^[0-9]{1,19}$" => digits(s) && s.len() <= 19,
        r"^(\d{4})-(\d{2})-(\d{2})$" | r"^\d{4}-\d{2}-\d{2}$" => s.parse::<jiff::civil::Date>().is_ok(),
        "^(http|https|ftp|sftp)://" => ["http://", "https://", "ftp://", "sftp://"]
            .iter()
            .any(|scheme| s.starts_with(scheme)),
        other => return Err(format!("the checker does not read the pattern {other}")),
    };
    match ok {
        true => Ok(()),
        false => Err(format!("{s:?} does not match {p}")),
    }
}

/// A platform's own description of its API, which checks one journaled request and names the
/// operation it is (an OpenAPI document; Google's discovery documents).
pub trait Spec {
    fn check(&self, r: &Value) -> Result<String, String>;
}

impl Spec for OpenApi {
    fn check(&self, r: &Value) -> Result<String, String> {
        OpenApi::check(self, r)
    }
}

/// Every request the sandbox journaled for `host` is valid for `spec`, but those to the paths in
/// `outside` (what the document does not describe); returns the operations seen.
pub async fn assert_requests_valid(
    app: &TestApp,
    host: &str,
    spec: &dyn Spec,
    outside: &[&str],
) -> Vec<String> {
    let journal = app.sandbox_json("_sandbox/requests").await;
    let mut seen = Vec::new();
    let described = |r: &&Value| !outside.iter().any(|p| r["path"] == *p);
    for r in journal["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["host"] == host)
        .filter(described)
    {
        match spec.check(r) {
            Ok(op) => seen.push(op),
            Err(e) => panic!("a request to {host} breaks its spec: {e}\n{r:#}"),
        }
    }
    seen.sort();
    seen.dedup();
    seen
}

#[test]
fn the_checker_fails_requests_the_pinterest_spec_does_not_allow() {
    let spec = OpenApi::load("pinterest/openapi.json");
    let pin = json!({
        "host": "api.pinterest.com", "method": "POST", "path": "/v5/pins", "params": {},
        "content_type": "application/json", "auth": "bearer",
        "body": {"board_id": "549755885175", "title": "A lamp",
            "media_source": {"source_type": "image_url", "url": "https://example.com/a.jpg"}},
    });
    assert_eq!(spec.check(&pin), Ok("POST /pins".into()));
    let wrong = |change: &dyn Fn(&mut Value)| {
        let mut r = pin.clone();
        change(&mut r);
        spec.check(&r).expect_err("a wrong request must fail")
    };
    let cases: [Case<'_>; 13] = [
        ("no path of the spec matches", &|r| {
            r["path"] = json!("/v5/pins/123/comments")
        }),
        ("is not in the spec", &|r| r["method"] = json!("PUT")),
        ("is not declared", &|r| r["params"] = json!({"fields": "id"})),
        ("length", &|r| r["body"]["title"] = json!("t".repeat(101))),
        ("does not match", &|r| r["body"]["board_id"] = json!("board-1")),
        ("matches none", &|r| {
            r["body"]["media_source"]["source_type"] = json!("gif_url")
        }),
        ("url is required", &|r| {
            r["body"]["media_source"] = json!({"source_type": "image_url"})
        }),
        ("items is outside", &|r| {
            r["body"]["media_source"] = json!({"source_type": "multiple_image_urls",
                "items": (0..6).map(|i| json!({"url": format!("https://e.com/{i}.jpg")})).collect::<Vec<_>>()})
        }),
        ("authorization basic", &|r| r["auth"] = json!("basic")),
        ("content type", &|r| {
            r["content_type"] = json!("application/x-www-form-urlencoded")
        }),
        ("required body", &|r| r["body"] = Value::Null),
        ("descripton is not a property", &|r| {
            r["body"]["descripton"] = json!("typo")
        }),
        ("alt is not a property", &|r| {
            r["body"]["media_source"]["alt"] = json!("in the wrong place")
        }),
    ];
    for (why, change) in cases {
        let e = wrong(change);
        assert!(e.contains(why), "expected {why:?} in {e}");
    }
    let token = json!({"method": "POST", "path": "/v5/oauth/token", "auth": "basic",
        "content_type": "application/x-www-form-urlencoded",
        "body": {"grant_type": "refresh_token", "refresh_token": "REDACTED"}});
    assert!(spec.check(&token).is_ok(), "{:?}", spec.check(&token));
    let mut renew = token.clone();
    renew["body"]["continuous_refresh"] = json!("true");
    assert!(spec.check(&renew).is_ok(), "{:?}", spec.check(&renew));
    let mut no_refresh = token.clone();
    no_refresh["body"] = json!({"grant_type": "refresh_token"});
    assert!(
        spec.check(&no_refresh)
            .unwrap_err()
            .contains("refresh_token is required")
    );
    let analytics =
        |q: Value| json!({"method": "GET", "path": "/v5/pins/1/analytics", "auth": "bearer", "params": q});
    let ok = json!({"start_date": "2026-09-01", "end_date": "2026-11-30", "metric_types": "IMPRESSION,SAVE"});
    assert!(spec.check(&analytics(ok)).is_ok());
    let e = spec
        .check(&analytics(
            json!({"start_date": "2026-09-01", "end_date": "2026-11-30", "metric_types": "LIKES"}),
        ))
        .unwrap_err();
    assert!(e.contains("metric_types"), "{e}");
    let e = spec
        .check(&analytics(
            json!({"start_date": "2026-09-01", "metric_types": "SAVE"}),
        ))
        .unwrap_err();
    assert!(e.contains("end_date is missing"), "{e}");
}

#[test]
fn the_checker_fails_requests_the_x_spec_does_not_allow() {
    let spec = OpenApi::load("x/openapi.json");
    let post = |body: Value| {
        json!({"host": "api.x.com", "method": "POST", "path": "/2/tweets", "params": {},
            "content_type": "application/json", "auth": "bearer", "body": body})
    };
    assert_eq!(
        spec.check(&post(json!({"text": "hello", "media": {"media_ids": ["1860000000000000001"]}, "reply_settings": "following"}))),
        Ok("POST /2/tweets".into())
    );
    let five = json!({"text": "x", "media": {"media_ids": ["1", "2", "3", "4", "5"]}});
    assert!(spec.check(&post(five)).unwrap_err().contains("items is outside"));
    let who = json!({"text": "x", "reply_settings": "everyone"});
    assert!(spec.check(&post(who)).unwrap_err().contains("is not one of"));
    let typo = json!({"txt": "x"});
    assert!(
        spec.check(&post(typo))
            .unwrap_err()
            .contains("txt is not a property")
    );
    let mut basic = post(json!({"text": "x"}));
    basic["auth"] = json!("basic");
    assert!(spec.check(&basic).unwrap_err().contains("authorization basic"));
    let timeline =
        |q: Value| json!({"method": "GET", "path": "/2/users/1/tweets", "auth": "bearer", "params": q});
    assert!(
        spec.check(&timeline(
            json!({"max_results": "100", "post.fields": "created_at"})
        ))
        .is_ok()
    );
    let e = spec
        .check(&timeline(json!({"tweet.fields": "created_at"})))
        .unwrap_err();
    assert!(e.contains("tweet.fields is not declared"), "{e}");
    let e = spec
        .check(&timeline(json!({"start_time": "yesterday"})))
        .unwrap_err();
    assert!(e.contains("RFC 3339"), "{e}");
}
