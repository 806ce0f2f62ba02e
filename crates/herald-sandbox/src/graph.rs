//! Meta Graph API conventions: the error envelope, and parameters and tokens read the way Graph reads them
//! (query string, form or JSON body, `Authorization: Bearer|OAuth` header).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A Graph API error: `{"error":{"message","type","code","error_subcode","fbtrace_id",...}}`.
#[derive(Debug)]
pub(crate) struct GraphError {
    pub status: StatusCode,
    pub message: String,
    pub kind: &'static str,
    pub code: i64,
    pub subcode: Option<i64>,
    pub user_title: Option<&'static str>,
    pub user_msg: Option<String>,
}

impl GraphError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            kind: "OAuthException",
            code,
            subcode: None,
            user_title: None,
            user_msg: None,
        }
    }

    pub fn subcode(mut self, subcode: i64) -> Self {
        self.subcode = Some(subcode);
        self
    }

    pub fn user(mut self, title: &'static str, msg: impl Into<String>) -> Self {
        self.user_title = Some(title);
        self.user_msg = Some(msg.into());
        self
    }

    pub fn kind(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }

    /// Code 100: a missing or invalid parameter.
    pub fn param(message: impl Into<String>) -> Self {
        Self::new(100, message).kind("IGApiException")
    }

    /// Code 100, subcode 33: the object does not exist or the token may not see it.
    pub fn no_object(id: &str, method: &str) -> Self {
        Self::new(
            100,
            format!(
                "Unsupported {method} request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation."
            ),
        )
        .kind("GraphMethodException")
        .subcode(33)
    }

    /// Code 10: the token lacks the permission this call needs.
    pub fn permission(scope: &str) -> Self {
        Self::new(
            10,
            format!(
                "(#10) Application does not have permission for this action. Requires permission: {scope}"
            ),
        )
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let mut error = json!({
            "message": self.message,
            "type": self.kind,
            "code": self.code,
            "fbtrace_id": crate::random_token("A", 23),
        });
        if let Some(s) = self.subcode {
            error["error_subcode"] = json!(s);
        }
        if self.user_title.is_some() {
            error["error_user_title"] = json!(self.user_title);
            error["error_user_msg"] = json!(self.user_msg);
        }
        error["is_transient"] = json!(false);
        let mut res = (self.status, axum::Json(json!({ "error": error }))).into_response();
        res.headers_mut().insert(
            "www-authenticate",
            "OAuth \"Facebook Platform\" \"invalid_request\""
                .parse()
                .expect("static header"),
        );
        res
    }
}

/// All parameters of a Graph request: query string merged with a form or JSON body.
pub(crate) struct Params {
    values: HashMap<String, String>,
    header_token: Option<String>,
}

impl Params {
    pub fn parse(query: Option<&str>, headers: &HeaderMap, body: &Bytes) -> Result<Self, GraphError> {
        let mut values: HashMap<String, String> =
            url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .into_owned()
                .collect();
        let ctype = headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !body.is_empty() {
            if ctype.starts_with("application/json") {
                let v: serde_json::Value = serde_json::from_slice(body)
                    .map_err(|_| GraphError::param("(#100) Invalid JSON in the request body"))?;
                let obj = v
                    .as_object()
                    .ok_or_else(|| GraphError::param("(#100) The request body must be a JSON object"))?;
                for (k, v) in obj {
                    let s = match v {
                        serde_json::Value::String(s) => s.clone(),
                        other => other.to_string(),
                    };
                    values.insert(k.clone(), s);
                }
            } else {
                values.extend(url::form_urlencoded::parse(body).into_owned());
            }
        }
        let header_token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("OAuth ")))
            .map(|t| t.trim().to_owned());
        Ok(Self { values, header_token })
    }

    /// Every parameter the caller sent except credentials (tokens, secrets, codes), for the journal;
    /// a URL's `sig` (Herald's signed media links) is masked.
    pub fn public(&self) -> std::collections::BTreeMap<String, String> {
        const SECRET: &[&str] = &[
            "access_token",
            "client_secret",
            "fb_exchange_token",
            "code",
            "code_verifier",
            "input_token",
        ];
        self.values
            .iter()
            .filter(|(k, _)| !SECRET.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), mask_signature(v)))
            .collect()
    }

    pub fn get(&self, k: &str) -> Option<&str> {
        self.values.get(k).map(String::as_str).filter(|v| !v.is_empty())
    }

    pub fn require(&self, k: &str) -> Result<&str, GraphError> {
        self.get(k)
            .ok_or_else(|| GraphError::param(format!("(#100) The parameter {k} is required")))
    }

    /// A list parameter as Graph takes it: comma-separated (`children=1,2`) or a JSON array
    /// (`children=["1","2"]`, or an array in a JSON body).
    pub fn list(&self, k: &str) -> Result<Vec<String>, GraphError> {
        let raw = self.require(k)?.trim();
        if raw.starts_with('[') {
            let items: Vec<serde_json::Value> = serde_json::from_str(raw).map_err(|_| {
                GraphError::param(format!("(#100) The parameter {k} is not a valid JSON array"))
            })?;
            return items
                .into_iter()
                .map(|v| match v {
                    serde_json::Value::String(s) => Ok(s),
                    serde_json::Value::Number(n) => Ok(n.to_string()),
                    _ => Err(GraphError::param(format!(
                        "(#100) Each item of {k} must be a string or a number"
                    ))),
                })
                .collect();
        }
        Ok(raw.split(',').map(|s| s.trim().to_owned()).collect())
    }

    /// Checks `appsecret_proof` when the request carries one: the hex HMAC-SHA256 of the access
    /// token keyed with the app's secret, refused as Graph refuses a wrong one.
    pub fn check_proof(&self, app_secret: &str) -> Result<(), GraphError> {
        use hmac::{KeyInit, Mac};
        let Some(proof) = self.get("appsecret_proof") else {
            return Ok(());
        };
        let token = self.token()?;
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(app_secret.as_bytes())
            .map_err(|_| GraphError::param("(#100) Invalid appsecret_proof provided in the API argument"))?;
        mac.update(token.as_bytes());
        let expected = hex::encode(mac.finalize().into_bytes());
        if expected.len() == proof.len()
            && expected
                .bytes()
                .zip(proof.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
        {
            Ok(())
        } else {
            Err(
                GraphError::new(100, "Invalid appsecret_proof provided in the API argument")
                    .kind("GraphMethodException"),
            )
        }
    }

    /// The access token from the header, the query string or the body.
    pub fn token(&self) -> Result<&str, GraphError> {
        self.header_token
            .as_deref()
            .or_else(|| self.get("access_token"))
            .ok_or_else(|| {
                GraphError::new(
                    2500,
                    "An active access token must be used to query information about the current user.",
                )
            })
    }

    /// The requested top-level `fields` (a nested selection such as `page{id,name}` gives `page`), or
    /// `default` when none were asked for.
    pub fn fields<'a>(&'a self, default: &'a [&'a str]) -> Vec<&'a str> {
        let Some(f) = self.get("fields") else {
            return default.to_vec();
        };
        let mut out = Vec::new();
        let (mut depth, mut start) = (0usize, 0usize);
        for (i, c) in f.char_indices().chain([(f.len(), ',')]) {
            match c {
                '{' => depth += 1,
                '}' => depth = depth.saturating_sub(1),
                ',' if depth == 0 => {
                    // `comments.limit(0).summary(true)` and `replies{id}` name `comments` and `replies`.
                    let field = f[start..i].split(['{', '.']).next().unwrap_or_default().trim();
                    if !field.is_empty() {
                        out.push(field);
                    }
                    start = i + 1;
                }
                _ => {}
            }
        }
        out
    }
}

/// `value` with the `sig` of a URL's query replaced by `REDACTED`; anything else unchanged.
/// A form body as the journal keeps it: credentials (codes, tokens, verifiers, secrets) replaced
/// by `REDACTED`, every other value passed through `keep`.
pub(crate) fn redacted_form<'a>(
    form: impl IntoIterator<Item = (&'a String, &'a String)>,
    keep: fn(&str) -> String,
) -> serde_json::Value {
    const SECRET: &[&str] = &[
        "code",
        "refresh_token",
        "token",
        "client_secret",
        "access_token",
        "code_verifier",
    ];
    form.into_iter()
        .map(|(k, v)| {
            let v = match SECRET.contains(&k.as_str()) {
                true => "REDACTED".to_owned(),
                false => keep(v),
            };
            (k.clone(), serde_json::Value::String(v))
        })
        .collect()
}

/// A JSON body with every signed link's signature masked, wherever it sits.
pub(crate) fn mask_signatures(v: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match v {
        Value::String(s) => Value::String(mask_signature(s)),
        Value::Array(items) => items.iter().map(mask_signatures).collect(),
        Value::Object(o) => o.iter().map(|(k, v)| (k.clone(), mask_signatures(v))).collect(),
        other => other.clone(),
    }
}

pub(crate) fn mask_signature(value: &str) -> String {
    match url::Url::parse(value) {
        Ok(mut u) if u.query_pairs().any(|(k, _)| k == "sig") => {
            let pairs: Vec<(String, String)> = u
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k == "sig" {
                        "REDACTED".into()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            u.query_pairs_mut().clear().extend_pairs(pairs);
            u.to_string()
        }
        _ => value.to_owned(),
    }
}

/// A path segment naming an API version (`v24.0`).
pub(crate) fn is_version(s: &str) -> bool {
    s.strip_prefix('v')
        .is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'))
}

/// A time as Graph writes it (`2026-11-25T09:00:00+0000`).
pub(crate) fn graph_time(t: jiff::Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S+0000").to_string()
}

/// One Graph request as the sandbox understood it: the host, the node type the path's object has
/// (Meta's spec name: `IGUser`, `IGMedia`, `Page`, …), the edge, and the parameters without
/// credentials. Tests check Herald's requests against Meta's node specs with it.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Recorded {
    pub host: &'static str,
    pub method: String,
    pub path: String,
    pub node: Option<&'static str>,
    pub edge: Option<String>,
    pub params: std::collections::BTreeMap<String, String>,
    /// A JSON or form body, without credentials (platforms other than Meta's Graph).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub body: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The `Authorization` scheme (`bearer`, `basic`), lowercased.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub auth: Option<String>,
}

/// Records a Graph request in the sandbox's journal.
pub(crate) fn record(
    sb: &crate::Sandbox,
    host: &'static str,
    method: &axum::http::Method,
    path: &str,
    p: &Params,
) {
    let segs: Vec<&str> = path
        .split('/')
        .filter(|s| !s.is_empty() && !is_version(s))
        .collect();
    let node = segs.first().and_then(|id| {
        let ig = sb.instagram().node_type(id);
        ig.or_else(|| sb.facebook().node_type(id))
    });
    let entry = Recorded {
        host,
        method: method.to_string(),
        path: format!("/{}", segs.join("/")),
        node,
        edge: segs.get(1).map(|e| (*e).to_owned()),
        params: p.public(),
        body: None,
        content_type: None,
        auth: None,
    };
    sb.journal().push(entry);
}

/// Records a request to a platform other than Meta's Graph: its query, its body as given (without
/// credentials), its content type and its `Authorization` scheme, for the spec checks.
pub(crate) fn record_rest(
    sb: &crate::Sandbox,
    host: &'static str,
    method: &axum::http::Method,
    path: String,
    query: &std::collections::BTreeMap<String, String>,
    body: Option<serde_json::Value>,
    headers: &axum::http::HeaderMap,
) {
    let header = |h: axum::http::HeaderName| headers.get(h).and_then(|v| v.to_str().ok());
    let auth = header(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.split_once(' '))
        .map(|(scheme, _)| scheme.to_ascii_lowercase());
    let content_type = header(axum::http::header::CONTENT_TYPE)
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_owned());
    sb.journal().push(Recorded {
        host,
        method: method.to_string(),
        path,
        node: None,
        edge: None,
        params: query.clone(),
        body,
        content_type,
        auth,
    });
}

/// The asked-for `fields` of an object, as Graph answers a `fields=` request.
pub(crate) fn select(all: &serde_json::Map<String, serde_json::Value>, fields: &[&str]) -> serde_json::Value {
    serde_json::Value::Object(
        fields
            .iter()
            .filter_map(|f| all.get(*f).map(|v| ((*f).to_owned(), v.clone())))
            .collect(),
    )
}

/// An object's asked-for fields as a response.
pub(crate) fn pick(all: &serde_json::Map<String, serde_json::Value>, fields: &[&str]) -> Response {
    axum::Json(select(all, fields)).into_response()
}

/// The most entries one page of a Graph listing holds.
const MAX_LIMIT: usize = 100;

/// One page of a newest-first listing as Graph pages it: `limit` entries (`default` when not
/// given, at most 100) after the `after` cursor, with `paging.cursors` and, while more remain,
/// `paging.next`. Cursors name an entry, not a position, so entries added meanwhile never repeat
/// one. Clients page with the cursor (as Meta's SDKs do); `next` says that more remain and is a
/// plain link to the next page of `path` (default fields), not Graph's own signed address.
pub(crate) fn paged(
    entries: impl Iterator<Item = (String, serde_json::Value)>,
    p: &Params,
    default: usize,
    path: &str,
) -> Result<serde_json::Value, GraphError> {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let limit = match p.get("limit") {
        None => default,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|l| *l > 0)
            .ok_or_else(|| GraphError::param("(#100) The parameter limit must be a positive integer"))?
            .min(MAX_LIMIT),
    };
    let after = match p.get("after") {
        None => None,
        Some(cursor) => Some(
            b64.decode(cursor)
                .ok()
                .and_then(|raw| String::from_utf8(raw).ok())
                .and_then(|s| s.strip_prefix("id:").map(str::to_owned))
                .ok_or_else(|| GraphError::param("(#100) The after cursor is not valid"))?,
        ),
    };
    let mut rest = entries.peekable();
    if let Some(id) = &after {
        while rest.next_if(|(e, _)| e != id).is_some() {}
        rest.next();
    }
    let page: Vec<(String, serde_json::Value)> = rest.by_ref().take(limit).collect();
    let cursor = |id: &str| b64.encode(format!("id:{id}"));
    let mut paging = serde_json::json!({});
    if let (Some((first, _)), Some((last, _))) = (page.first(), page.last()) {
        paging["cursors"] = serde_json::json!({"before": cursor(first), "after": cursor(last)});
        if rest.peek().is_some() {
            paging["next"] = format!(
                "https://graph.facebook.com/{path}?limit={limit}&after={}",
                cursor(last)
            )
            .into();
        }
    }
    let data: Vec<serde_json::Value> = page.into_iter().map(|(_, v)| v).collect();
    Ok(serde_json::json!({ "data": data, "paging": paging }))
}
