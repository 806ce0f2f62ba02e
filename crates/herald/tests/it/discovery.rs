//! A checker of requests against a Google API's vendored Discovery document (`tests/specs/`): the
//! method exists at the path (or at one of its upload paths) with that HTTP method, every query
//! parameter is the method's or one of the document's standard ones, with a value of its type and
//! within its bounds, required ones are present, every field of the body is a property of the
//! method's request schema, and the token is a bearer token. A test shows it fails wrong ones.

use serde_json::{Value, json};

use crate::openapi::{Case, Spec};

pub struct Discovery {
    doc: Value,
}

/// A method of the document and the paths it is reached at.
struct Method<'a> {
    def: &'a Value,
    paths: Vec<String>,
}

impl Discovery {
    /// Loads `tests/specs/{file}`.
    pub fn load(file: &str) -> Self {
        let path = format!("{}/../../tests/specs/{file}", env!("CARGO_MANIFEST_DIR"));
        let doc = serde_json::from_slice(&std::fs::read(&path).expect("the vendored document")).unwrap();
        Self { doc }
    }

    /// Every method of every resource, with its paths (`/youtube/v3/videos`, and for a method
    /// that takes media its `/upload/…` and `/resumable/upload/…` paths).
    fn methods(&self) -> Vec<Method<'_>> {
        fn walk<'a>(resources: &'a Value, out: &mut Vec<Method<'a>>) {
            for r in resources.as_object().into_iter().flat_map(|o| o.values()) {
                for def in r["methods"].as_object().into_iter().flat_map(|o| o.values()) {
                    let mut paths = vec![format!("/{}", def["path"].as_str().unwrap_or_default())];
                    for p in def["mediaUpload"]["protocols"]
                        .as_object()
                        .into_iter()
                        .flat_map(|o| o.values())
                    {
                        paths.extend(p["path"].as_str().map(str::to_owned));
                    }
                    out.push(Method { def, paths });
                }
                walk(&r["resources"], out);
            }
        }
        let mut out = Vec::new();
        walk(&self.doc["resources"], &mut out);
        out
    }

    /// Follows a `$ref` to the schema it names.
    fn schema<'a>(&'a self, v: &'a Value) -> &'a Value {
        match v["$ref"].as_str() {
            Some(name) => &self.doc["schemas"][name],
            None => v,
        }
    }

    /// Every field of `body` is a property of `schema`, all the way down.
    fn declared(&self, body: &Value, schema: &Value, at: &str) -> Result<(), String> {
        let schema = self.schema(schema);
        match body {
            Value::Object(fields) => {
                for (k, v) in fields {
                    let Some(p) = schema["properties"].get(k) else {
                        return Err(format!("{at}{k} is not a property of {}", schema["id"]));
                    };
                    self.declared(v, p, &format!("{at}{k}."))?;
                }
                Ok(())
            }
            Value::Array(items) => items
                .iter()
                .try_for_each(|v| self.declared(v, &schema["items"], at)),
            Value::String(_) if schema["type"] == "boolean" || schema["type"] == "object" => Err(format!(
                "{} is a string, not a {}",
                at.trim_end_matches('.'),
                schema["type"].as_str().unwrap_or_default()
            )),
            _ => Ok(()),
        }
    }

    /// A query parameter's value against its declaration.
    fn param(name: &str, value: &str, p: &Value) -> Result<(), String> {
        let bound = |k: &str| p[k].as_str().and_then(|b| b.parse::<i64>().ok());
        match p["type"].as_str() {
            Some("boolean") if !matches!(value, "true" | "false") => {
                Err(format!("{name}={value} is not a boolean"))
            }
            Some("integer") => {
                let n: i64 = value
                    .parse()
                    .map_err(|_| format!("{name}={value} is not an integer"))?;
                match (bound("minimum"), bound("maximum")) {
                    (Some(lo), _) if n < lo => Err(format!("{name}={n} is below {lo}")),
                    (_, Some(hi)) if n > hi => Err(format!("{name}={n} is above {hi}")),
                    _ => Ok(()),
                }
            }
            _ => match p["enum"].as_array() {
                Some(values) if !values.iter().any(|v| v == value) => {
                    Err(format!("{name}={value} is not one of {values:?}"))
                }
                _ => Ok(()),
            },
        }
    }
}

impl Spec for Discovery {
    fn check(&self, r: &Value) -> Result<String, String> {
        let (path, method) = (
            r["path"].as_str().unwrap_or_default(),
            r["method"].as_str().unwrap_or_default(),
        );
        let params = r["params"].as_object().cloned().unwrap_or_default();
        // The resumable protocol's PUTs to a session are not methods of the document.
        if method == "PUT" && params.contains_key("upload_id") && path.contains("/upload/") {
            return Ok("resumable upload session".into());
        }
        if r["auth"] != "bearer" {
            return Err(format!(
                "{method} {path}: authorization {} is not bearer",
                r["auth"]
            ));
        }
        let methods = self.methods();
        let at_path: Vec<&Method<'_>> = methods
            .iter()
            .filter(|m| m.paths.iter().any(|p| p == path))
            .collect();
        if at_path.is_empty() {
            return Err(format!("no method of the document is at {path}"));
        }
        let m = at_path
            .iter()
            .find(|m| m.def["httpMethod"] == method)
            .ok_or_else(|| format!("{method} {path} is not in the document"))?;
        let id = m.def["id"].as_str().unwrap_or_default().to_owned();
        let declared = &m.def["parameters"];
        for (name, value) in &params {
            let value = value.as_str().unwrap_or_default();
            let p = declared
                .get(name)
                .or(self.doc["parameters"].get(name))
                .ok_or_else(|| format!("{id}: {name} is not declared"))?;
            Self::param(name, value, p).map_err(|e| format!("{id}: {e}"))?;
        }
        for (name, p) in declared.as_object().into_iter().flatten() {
            if p["required"] == true && !params.contains_key(name) {
                return Err(format!("{id}: {name} is required"));
            }
        }
        if let Some(body) = r.get("body").filter(|b| b.is_object()) {
            let request = &m.def["request"];
            if request.is_null() {
                return Err(format!("{id} takes no body"));
            }
            self.declared(body, request, "")
                .map_err(|e| format!("{id}: {e}"))?;
        }
        Ok(id)
    }
}

#[test]
fn the_checker_fails_requests_the_youtube_discovery_document_does_not_allow() {
    let spec = Discovery::load("youtube/v3-discovery.json");
    let insert = json!({
        "host": "www.googleapis.com", "method": "POST", "path": "/upload/youtube/v3/videos",
        "params": {"uploadType": "resumable", "part": "snippet,status"}, "auth": "bearer",
        "content_type": "application/json",
        "body": {"snippet": {"title": "t", "description": "d", "tags": ["a"], "categoryId": "22"},
            "status": {"privacyStatus": "public", "selfDeclaredMadeForKids": false}},
    });
    assert_eq!(spec.check(&insert), Ok("youtube.videos.insert".into()));
    let mut resumable = insert.clone();
    resumable["path"] = json!("/resumable/upload/youtube/v3/videos");
    assert_eq!(spec.check(&resumable), Ok("youtube.videos.insert".into()));
    let wrong = |change: &dyn Fn(&mut Value)| {
        let mut r = insert.clone();
        change(&mut r);
        spec.check(&r).expect_err("a wrong request must fail")
    };
    let cases: [Case<'_>; 8] = [
        ("no method of the document", &|r| {
            r["path"] = json!("/upload/youtube/v3/shorts")
        }),
        ("is not in the document", &|r| r["method"] = json!("PATCH")),
        ("part is required", &|r| {
            r["params"] = json!({"uploadType": "resumable"})
        }),
        ("publishAfter is not declared", &|r| {
            r["params"]["publishAfter"] = json!("x")
        }),
        ("is not a boolean", &|r| {
            r["params"]["notifySubscribers"] = json!("no")
        }),
        ("madeForKidz is not a property", &|r| {
            r["body"]["status"]["madeForKidz"] = json!(true)
        }),
        ("is not bearer", &|r| r["auth"] = json!("basic")),
        ("is a string, not a boolean", &|r| {
            r["body"]["status"]["selfDeclaredMadeForKids"] = json!("false")
        }),
    ];
    for (why, change) in cases {
        let e = wrong(change);
        assert!(e.contains(why), "expected {why:?} in {e}");
    }
    let threads = |max: &str| {
        json!({"method": "GET", "path": "/youtube/v3/commentThreads", "auth": "bearer",
            "params": {"part": "snippet,replies", "videoId": "v", "maxResults": max}})
    };
    assert_eq!(
        spec.check(&threads("100")),
        Ok("youtube.commentThreads.list".into())
    );
    assert!(spec.check(&threads("101")).unwrap_err().contains("above 100"));
    let session = json!({"method": "PUT", "path": "/upload/youtube/v3/videos", "auth": "bearer",
        "params": {"uploadType": "resumable", "upload_id": "x"}});
    assert!(spec.check(&session).is_ok());
}
