//! Meta's Graph API, shared by the Instagram and Facebook adapters: requests with a token, the error
//! envelope mapped into the taxonomy, and the rate-limit usage headers.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use crate::PlatformError;

/// One Graph host (`graph.instagram.com` or `graph.facebook.com`) at one API version.
#[derive(Debug, Clone)]
pub(crate) struct Graph {
    pub http: reqwest::Client,
    pub base: Url,
    pub version: String,
}

impl Graph {
    /// `{base}/{version}/{path}`.
    pub fn url(&self, path: &str) -> Url {
        let mut u = self.base.clone();
        let base = u.path().trim_end_matches('/').to_owned();
        u.set_path(&format!("{base}/{}/{path}", self.version));
        u
    }

    /// `{base}/{path}`, for the few endpoints outside the versioned tree.
    pub fn unversioned(&self, path: &str) -> Url {
        let mut u = self.base.clone();
        let base = u.path().trim_end_matches('/').to_owned();
        u.set_path(&format!("{base}/{path}"));
        u
    }

    pub async fn get_json(&self, url: Url, token: &SecretString) -> Result<Value, PlatformError> {
        let res = crate::send(self.http.get(url).bearer_auth(token.expose_secret())).await?;
        graph_result(res).await
    }

    pub async fn delete(&self, url: Url, token: &SecretString) -> Result<Value, PlatformError> {
        let res = crate::send(self.http.delete(url).bearer_auth(token.expose_secret())).await?;
        graph_result(res).await
    }

    pub async fn post_form(
        &self,
        url: Url,
        token: &SecretString,
        form: &[(&str, &str)],
    ) -> Result<Value, PlatformError> {
        let res = crate::send(self.http.post(url).bearer_auth(token.expose_secret()).form(form)).await?;
        graph_result(res).await
    }
}

/// How far the platform's clock may be from Herald's when matching a post's time (seconds).
const SKEW: i64 = 5;

/// A Graph time (`2026-11-25T09:00:00+0000`) in Unix seconds.
fn graph_seconds(v: &Value) -> Option<i64> {
    let t = v.as_str()?;
    Some(
        jiff::fmt::strtime::parse("%Y-%m-%dT%H:%M:%S%z", t)
            .ok()?
            .to_timestamp()
            .ok()?
            .as_second(),
    )
}

/// In a listing (`{"data": [...]}`), every entry that `matches` and was created (its `time` field)
/// within the attempt's window, from `since` to `until` (Unix seconds): the posts an interrupted
/// attempt may have made.
fn candidates(
    listing: &Value,
    (time, permalink): (&str, &str),
    (since, until): (i64, i64),
    matches: impl Fn(&Value) -> bool,
) -> Vec<crate::Published> {
    listing["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|entry| {
            graph_seconds(&entry[time]).is_some_and(|at| at >= since - SKEW && at <= until + SKEW)
                && matches(entry)
        })
        .filter_map(|entry| {
            Some(crate::Published {
                id: entry["id"].as_str()?.to_owned(),
                permalink: entry[permalink].as_str().map(str::to_owned),
            })
        })
        .collect()
}

/// The most pages of a listing one search reads: past them Herald cannot tell what the account holds.
const SEARCH_PAGES: usize = 20;
/// How much older than the window an entry must be before a search stops reading (seconds).
const SEARCH_MARGIN: i64 = 600;

impl Graph {
    /// Every entry of the newest-first listing at `url` that `matches` and was created within the
    /// window (see [`candidates`]), read page after page with Graph's `after` cursor until the
    /// entries are well older than the window or the listing ends. A window holding more than
    /// [`SEARCH_PAGES`] pages is an error: Herald does not claim to have searched what it has not.
    pub async fn search(
        &self,
        url: Url,
        token: &SecretString,
        fields: (&str, &str),
        window: (i64, i64),
        matches: impl Fn(&Value) -> bool,
    ) -> Result<Vec<crate::Published>, PlatformError> {
        let mut found = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..SEARCH_PAGES {
            let mut page = url.clone();
            if let Some(cursor) = &after {
                page.query_pairs_mut().append_pair("after", cursor);
            }
            // A search refuses no content: whatever its error says, the post may be there.
            let body = self.get_json(page, token).await.map_err(|e| match e {
                PlatformError::ContentRejected { message } | PlatformError::MediaUnreachable { message } => {
                    PlatformError::Platform {
                        message: format!("the search for the earlier attempt's post was refused: {message}"),
                    }
                }
                other => other,
            })?;
            // A post listed on two pages (the listing moved while it was read) is one candidate.
            for c in candidates(&body, fields, window, &matches) {
                if !found.iter().any(|f: &crate::Published| f.id == c.id) {
                    found.push(c);
                }
            }
            // Only a listing without `next` has ended (a page may come back short, or empty);
            // past that, reading stops once an entry is well older than the window (listings are
            // newest first, but a video's time is when it finished, so allow a margin).
            if body["paging"]["next"].as_str().is_none() {
                return Ok(found);
            }
            let oldest = body["data"]
                .as_array()
                .and_then(|d| d.last())
                .and_then(|e| graph_seconds(&e[fields.0]));
            if oldest.is_some_and(|at| at < window.0 - SKEW - SEARCH_MARGIN) {
                return Ok(found);
            }
            match body["paging"]["cursors"]["after"].as_str() {
                Some(cursor) => after = Some(cursor.to_owned()),
                None => {
                    return Err(PlatformError::Platform {
                        message: "the listing has more pages but no cursor to read them with".into(),
                    });
                }
            }
        }
        Err(PlatformError::Platform {
            message: format!(
                "more posts were made since the attempt started than Herald searches ({SEARCH_PAGES} pages)"
            ),
        })
    }
}

/// Where a comment's parts are in one Graph product's JSON (Instagram and Pages name them apart).
pub(crate) struct CommentFields<'a> {
    pub text: &'a str,
    /// The path to the author's name.
    pub author: &'a [&'a str],
    pub time: &'a str,
    pub hidden: &'a str,
    /// The edge holding the replies.
    pub replies: &'a str,
}

/// The comments of a listing (`{"data": [...]}`), each with its replies.
pub(crate) fn comments(listing: &Value, f: &CommentFields) -> Vec<crate::Comment> {
    let one = |c: &Value| -> crate::Comment {
        let author = f.author.iter().fold(c, |v, k| &v[*k]);
        crate::Comment {
            id: c["id"].as_str().unwrap_or_default().to_owned(),
            text: c[f.text].as_str().unwrap_or_default().to_owned(),
            username: author.as_str().unwrap_or_default().to_owned(),
            timestamp: c[f.time].as_str().map(str::to_owned),
            hidden: c[f.hidden].as_bool().unwrap_or(false),
            replies: Vec::new(),
        }
    };
    listing["data"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| crate::Comment {
            replies: c[f.replies]["data"]
                .as_array()
                .into_iter()
                .flatten()
                .map(one)
                .collect(),
            ..one(c)
        })
        .collect()
}

pub(crate) fn malformed(field: &str) -> PlatformError {
    PlatformError::Platform {
        message: format!("Meta's answer lacked `{field}`"),
    }
}

pub(crate) fn id_of(body: &Value) -> Result<String, PlatformError> {
    body["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| malformed("id"))
}

pub(crate) async fn graph_result(res: reqwest::Response) -> Result<Value, PlatformError> {
    let status = res.status();
    let regain = regain_after(res.headers());
    if let Some(percent) = business_used(res.headers()) {
        crate::headroom::seen(crate::Headroom::Used { percent });
    }
    let body: Value = res.json().await.map_err(|e| PlatformError::from_http(&e))?;
    if status.is_success() {
        return Ok(body);
    }
    if status.is_server_error() && body["error"].is_null() {
        return Err(PlatformError::Transient {
            message: format!("Meta answered {status}"),
        });
    }
    match map_graph_error(&body["error"]) {
        PlatformError::RateLimited {
            retry_after,
            until,
            app_wide,
        } => Err(PlatformError::RateLimited {
            until,
            retry_after: regain.or(retry_after),
            app_wide,
        }),
        other => Err(other),
    }
}

/// How long Meta asks to wait: the longest `estimated_time_to_regain_access` (minutes) in
/// `X-Business-Use-Case-Usage`, which maps each business object to a list of usage entries; else,
/// when `X-App-Usage` shows the app at 100% of a measure, the rest of Meta's one-hour window
/// (Meta's rate-limiting guide).
pub fn regain_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    business_regain(headers).or_else(|| app_exhausted(headers).then_some(APP_WINDOW))
}

/// App-level limits are counted over a rolling hour.
const APP_WINDOW: Duration = Duration::from_secs(3600);

fn app_exhausted(headers: &reqwest::header::HeaderMap) -> bool {
    let usage: Option<Value> = headers
        .get("x-app-usage")
        .and_then(|v| v.to_str().ok())
        .and_then(|raw| serde_json::from_str(raw).ok());
    usage.is_some_and(|u| {
        ["call_count", "total_cputime", "total_time"]
            .iter()
            .any(|k| u[*k].as_u64().is_some_and(|pct| pct >= 100))
    })
}

fn business_regain(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let minutes = business_usage(headers)?
        .iter()
        .filter_map(|u| u["estimated_time_to_regain_access"].as_u64())
        .max()?;
    (minutes > 0).then(|| Duration::from_secs(minutes * 60))
}

/// How much of its allowance the busiest business object in `X-Business-Use-Case-Usage` has
/// used, in percent: the highest of its measures (Meta throttles at 100 in any of them).
fn business_used(headers: &reqwest::header::HeaderMap) -> Option<u32> {
    business_usage(headers)?
        .iter()
        .flat_map(|u| ["call_count", "total_cputime", "total_time"].map(|k| u[k].as_u64()))
        .flatten()
        .max()
        .map(|pct| u32::try_from(pct).unwrap_or(u32::MAX))
}

/// The usage entries of every business object in `X-Business-Use-Case-Usage` (a JSON object
/// mapping each object's id to a list of entries).
fn business_usage(headers: &reqwest::header::HeaderMap) -> Option<Vec<Value>> {
    let raw = headers.get("x-business-use-case-usage")?.to_str().ok()?;
    let usage: Value = serde_json::from_str(raw).ok()?;
    let entries = usage.as_object()?.values().filter_map(Value::as_array).flatten();
    Some(entries.cloned().collect())
}

/// Maps a Graph error envelope into the taxonomy (Meta's error-handling guide and IG error codes).
pub fn map_graph_error(e: &Value) -> PlatformError {
    let code = e["code"].as_i64().unwrap_or_default();
    let subcode = e["error_subcode"].as_i64().unwrap_or_default();
    let message = e["error_user_msg"]
        .as_str()
        .or(e["message"].as_str())
        .unwrap_or("unknown error")
        .to_owned();
    match (code, subcode) {
        (190, 463) => PlatformError::TokenExpired,
        (190, _) => PlatformError::TokenRevoked(e["message"].as_str().unwrap_or_default().to_owned()),
        (10 | 200..=299, _) => PlatformError::PermissionMissing(message),
        // 9: a publishing allowance is used up (Instagram's 50 posts, Facebook's 30 reels a day).
        (9, _) => PlatformError::RateLimited {
            retry_after: None,
            until: None,
            app_wide: false,
        },
        // 4: the app's own limit (200 calls an hour per user of the app, all Pages together);
        // with a subcode it is the account's (2207051: its actions were taken for spam).
        (4, subcode) => PlatformError::RateLimited {
            retry_after: None,
            until: None,
            app_wide: subcode == 0,
        },
        // Rate limits (user, Page, custom, business use case) and 368, a temporary block: wait.
        (17 | 32 | 341 | 368 | 613 | 80001 | 80002, _) => PlatformError::RateLimited {
            retry_after: None,
            until: None,
            app_wide: false,
        },
        (506, _) => PlatformError::ContentRejected {
            message: "the platform refused a duplicate of the previous post".into(),
        },
        (9007, 2207027) | (1 | 2 | -1, _) | (-2, 2207003) => PlatformError::Transient { message },
        (9004, _) | (_, 2207052) => PlatformError::MediaUnreachable { message },
        (100 | 36000..=36010 | -2, _) => PlatformError::ContentRejected { message },
        _ => PlatformError::Platform { message },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn graph_errors_map_to_the_taxonomy() {
        let m = |v: Value| map_graph_error(&v);
        assert_eq!(
            m(json!({"code": 190, "error_subcode": 463, "message": "expired"})),
            PlatformError::TokenExpired
        );
        assert!(matches!(
            m(json!({"code": 190, "error_subcode": 458, "message": "x"})),
            PlatformError::TokenRevoked(_)
        ));
        assert!(matches!(
            m(json!({"code": 190, "error_subcode": 460, "message": "x"})),
            PlatformError::TokenRevoked(_)
        ));
        assert!(matches!(
            m(json!({"code": 10, "message": "x"})),
            PlatformError::PermissionMissing(_)
        ));
        assert!(matches!(
            m(json!({"code": 9, "error_subcode": 2207042})),
            PlatformError::RateLimited { .. }
        ));
        assert!(matches!(
            m(json!({"code": 9004, "error_subcode": 2207052})),
            PlatformError::MediaUnreachable { .. }
        ));
        assert!(matches!(
            m(json!({"code": 36003, "error_subcode": 2207009})),
            PlatformError::ContentRejected { .. }
        ));
        assert!(matches!(
            m(json!({"code": 9007, "error_subcode": 2207027})),
            PlatformError::Transient { .. }
        ));
        assert!(matches!(
            m(json!({"code": 506, "message": "Duplicate status message"})),
            PlatformError::ContentRejected { .. }
        ));
        assert!(matches!(
            m(json!({"code": 368, "message": "blocked"})),
            PlatformError::RateLimited { .. }
        ));
        assert!(matches!(
            m(json!({"code": 190, "error_subcode": 492, "message": "no longer an admin"})),
            PlatformError::TokenRevoked(_)
        ));
    }

    #[test]
    fn the_business_use_case_header_gives_the_longest_wait() {
        let mut h = reqwest::header::HeaderMap::new();
        h.insert(
            "x-business-use-case-usage",
            r#"{"1784":[{"type":"instagram","call_count":100,"total_cputime":5,"total_time":5,"estimated_time_to_regain_access":7}],"99":[{"type":"pages","call_count":1,"estimated_time_to_regain_access":0}]}"#
                .parse()
                .unwrap(),
        );
        assert_eq!(regain_after(&h), Some(Duration::from_secs(420)));
        assert_eq!(
            business_used(&h),
            Some(100),
            "the busiest object's highest measure"
        );
        h.insert("x-business-use-case-usage", "not json".parse().unwrap());
        assert_eq!(business_used(&h), None);
        assert_eq!(regain_after(&h), None);
        h.insert(
            "x-app-usage",
            r#"{"call_count":100,"total_cputime":12,"total_time":30}"#
                .parse()
                .unwrap(),
        );
        assert_eq!(
            regain_after(&h),
            Some(Duration::from_secs(3600)),
            "the app used its hour"
        );
        h.insert(
            "x-app-usage",
            r#"{"call_count":40,"total_cputime":12,"total_time":30}"#.parse().unwrap(),
        );
        assert_eq!(regain_after(&h), None);
    }
}
