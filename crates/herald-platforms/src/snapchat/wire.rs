//! Snap's answers as Herald reads them: the envelope `{"request_status","request_id",...}` (a 200
//! may still say `ERROR`), its refusals `{"request_status":"ERROR","debug_message",
//! "display_message","error_code"}` and the bare 403 an app Snap has not allow-listed gets, mapped
//! into the taxonomy with the code kept for the steps that act on it; the batch items; the paging
//! cursor; and the stats answer read as Herald's metrics.

use std::time::Duration;

use serde_json::Value;

use crate::{Metrics, PlatformError};

/// How long Herald waits after a 429: Snap's limits are calls a second (10 per token, 20 per app)
/// and it names no wait [official S9].
pub(super) const RATE_PAUSE: Duration = Duration::from_secs(10);

/// Codes the steps act on [3p: C7, from the docs; C1 for the processing one].
pub(super) const MEDIA_PROCESSING: &str = "MEDIA_PROCESSING";
pub(super) const MEDIA_EXPIRED: &str = "MEDIA_EXPIRED";
pub(super) const ALREADY_POSTED: &str = "MEDIA_POSTING_ALREADY_IN_PROGRESS";

/// Why an app Snap has not allow-listed is refused everything [3p: C4 saw a bare 403 in production].
const NOT_ALLOW_LISTED: &str = "Snapchat refused the call with a bare 403: Snap lets only the apps it has allow-listed use the Public Profile API. Ask Snap (bpp-api-access@snapchat.com) to allow-list Herald's OAuth app, giving its client id, then connect again.";
/// What a 403 `AUTHORIZATION_PERMISSION_DENIED` asks of the person.
const DENIED: &str = "the Snapchat user who connected Herald must manage this Public Profile (be a member of its organization in Snap Business Manager) and have granted the snapchat-profile-api scope, and Snap must have allow-listed Herald's app for the Public Profile API";

/// A call that did not succeed: the HTTP status (0 when no answer came), Snap's `error_code`
/// (empty when it gave none), and the failure in the taxonomy.
#[derive(Debug)]
pub(super) struct Refused {
    pub(super) status: u16,
    pub(super) code: String,
    pub(super) error: PlatformError,
}

impl From<PlatformError> for Refused {
    /// No answer at all (the network, a timeout).
    fn from(error: PlatformError) -> Self {
        Self {
            status: 0,
            code: String::new(),
            error,
        }
    }
}

impl From<Refused> for PlatformError {
    fn from(r: Refused) -> Self {
        r.error
    }
}

/// Snap's answer: its body when it succeeded (`SUCCESS` or `PARTIAL`, compared without case: older
/// answers write it in lower case [official S12]), else the refusal.
pub(super) async fn answer(res: reqwest::Response) -> Result<Value, Refused> {
    let status = res.status().as_u16();
    let text = res
        .text()
        .await
        .map_err(|e| Refused::from(PlatformError::from_http(&e)))?;
    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    let failed = body["request_status"]
        .as_str()
        .is_some_and(|s| s.eq_ignore_ascii_case("ERROR"));
    if (200..300).contains(&status) && !failed {
        return Ok(body);
    }
    Err(refusal(status, &body))
}

/// A refusal in the taxonomy: 401 the token, 403 the allow-list or the profile, 429 the rate,
/// 5xx Snap's trouble, 400 `INVALID_*` the content; the media codes stay for the steps to act on
/// (`MEDIA_PROCESSING` is a wait where a step does not park on it).
pub(super) fn refusal(status: u16, body: &Value) -> Refused {
    let code = body["error_code"].as_str().unwrap_or_default().to_owned();
    let said = body["debug_message"]
        .as_str()
        .filter(|s| !s.is_empty())
        .or(body["display_message"].as_str())
        .unwrap_or_default();
    let message = match (said.is_empty(), code.is_empty()) {
        (true, true) => format!("Snapchat answered {status}"),
        (true, false) => format!("Snapchat answered {status} ({code})"),
        (false, true) => said.to_owned(),
        (false, false) => format!("{said} ({code})"),
    };
    let error = match (status, code.as_str()) {
        (429, _) | (_, "RATE_LIMITED") => PlatformError::RateLimited {
            retry_after: Some(RATE_PAUSE),
            until: None,
            app_wide: false,
        },
        (401, _) => PlatformError::TokenRevoked(message),
        (403, "") if said.is_empty() => PlatformError::PermissionMissing(NOT_ALLOW_LISTED.into()),
        (403, _) | (_, "AUTHORIZATION_PERMISSION_DENIED") => {
            PlatformError::PermissionMissing(format!("{message}: {DENIED}"))
        }
        (s, _) if s >= 500 => PlatformError::Transient { message },
        (_, MEDIA_PROCESSING) => PlatformError::Transient { message },
        (_, c) if c.starts_with("INVALID_") => PlatformError::ContentRejected { message },
        _ => PlatformError::Platform { message },
    };
    Refused { status, code, error }
}

/// A lookup's failure: what it refuses is never the post's content (the dispatcher takes a
/// content refusal for the answer of the call that makes the post).
pub(super) fn lookup(e: PlatformError) -> PlatformError {
    match e {
        PlatformError::ContentRejected { message } => PlatformError::Platform { message },
        e => e,
    }
}

/// Whether a batch item (`{"sub_request_status", "<entity>"}`) failed.
pub(super) fn item_failed(item: &Value) -> bool {
    item["sub_request_status"]
        .as_str()
        .is_some_and(|s| !s.eq_ignore_ascii_case("SUCCESS"))
}

/// The cursor of the next page: `paging.next_page_id`, else the `cursor` of `paging.next_link`
/// (whose host is Snap's own, so only its cursor is taken).
pub(super) fn next_cursor(paging: &Value) -> Option<String> {
    if let Some(id) = paging["next_page_id"].as_str().filter(|s| !s.is_empty()) {
        return Some(id.to_owned());
    }
    let link = url::Url::parse(paging["next_link"].as_str()?).ok()?;
    link.query_pairs()
        .find(|(k, _)| k == "cursor")
        .map(|(_, v)| v.into_owned())
}

/// The ids of the assets a stats answer lists (`total_stats` or `timeseries_stats`, each item's
/// `total_stat` or `timeseries_stat`).
pub(super) fn stat_ids(d: &Value) -> Vec<String> {
    let items = d["total_stats"]
        .as_array()
        .or(d["timeseries_stats"].as_array())
        .into_iter()
        .flatten();
    items
        .filter(|i| !item_failed(i))
        .filter_map(|i| {
            i["total_stat"]["id"]
                .as_str()
                .or(i["timeseries_stat"]["id"].as_str())
                .map(str::to_owned)
        })
        .collect()
}

/// One asset's lifetime stats as Herald's metrics: views, viewers (reach), favorites (Snapchat's
/// hearts, as likes), replies (answers to the post, which reach the profile privately), shares,
/// and swipe-ups (to the post's link).
pub(super) fn figures(d: &Value) -> Metrics {
    let first = &d["total_stats"][0];
    let stats = [
        &first["total_stat"]["stats"],
        &d["timeseries_stats"][0]["timeseries_stat"]["stats"],
        &d["stats"],
    ]
    .into_iter()
    .find(|s| s.is_object())
    .cloned()
    .unwrap_or(Value::Null);
    let n = |k: &str| stats[k].as_u64();
    Metrics {
        views: n("VIEWS"),
        reach: n("VIEWERS"),
        likes: n("FAVORITES"),
        comments: n("REPLIES"),
        shares: n("SHARES"),
        link_clicks: n("SWIPE_UPS"),
        ..Metrics::default()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn envelope(code: &str, debug: &str) -> Value {
        json!({"request_status": "ERROR", "request_id": "ab12", "debug_message": debug,
            "display_message": "We're sorry", "error_code": code})
    }

    #[test]
    fn snaps_refusals_map_into_the_taxonomy_with_their_codes_kept() {
        let r = refusal(403, &Value::Null);
        assert!(
            matches!(&r.error, PlatformError::PermissionMissing(m) if m.contains("allow-list")),
            "{r:?}"
        );
        let r = refusal(
            403,
            &envelope("AUTHORIZATION_PERMISSION_DENIED", "The user does not manage it"),
        );
        assert!(
            matches!(&r.error, PlatformError::PermissionMissing(m) if m.contains("manage this Public Profile")),
            "{r:?}"
        );
        assert!(matches!(
            refusal(401, &envelope("UNAUTHORIZED", "expired")).error,
            PlatformError::TokenRevoked(_)
        ));
        assert!(matches!(
            refusal(429, &envelope("RATE_LIMITED", "slow down")).error,
            PlatformError::RateLimited {
                retry_after: Some(_),
                ..
            }
        ));
        assert!(matches!(
            refusal(502, &Value::Null).error,
            PlatformError::Transient { .. }
        ));
        let r = refusal(400, &envelope("INVALID_TITLE", "The title has 46 characters"));
        assert_eq!(r.code, "INVALID_TITLE");
        assert!(
            matches!(&r.error, PlatformError::ContentRejected { message } if message.contains("46 characters")),
            "{r:?}"
        );
        let r = refusal(400, &envelope(MEDIA_PROCESSING, "Media is still being processed"));
        assert_eq!((r.status, r.code.as_str()), (400, MEDIA_PROCESSING));
        assert!(matches!(r.error, PlatformError::Transient { .. }));
        let r = refusal(400, &envelope(ALREADY_POSTED, "The media is already posted"));
        assert!(matches!(r.error, PlatformError::Platform { .. }));
    }

    #[test]
    fn paging_stats_and_batch_items_are_read() {
        assert_eq!(
            next_cursor(&json!({"next_page_id": "aWQ6eA", "next_link": "https://x/?cursor=other"})),
            Some("aWQ6eA".into())
        );
        assert_eq!(
            next_cursor(&json!({"next_link": "https://businessapi.snapchat.com/v1/o?cursor=c1&limit=10"})),
            Some("c1".into())
        );
        assert_eq!(next_cursor(&json!({})), None);
        let stats = json!({"request_status": "SUCCESS", "total_stats": [
            {"sub_request_status": "SUCCESS", "total_stat": {"id": "s1", "type": "SPOTLIGHT",
                "stats": {"VIEWS": 120, "VIEWERS": 90, "SHARES": 4, "FAVORITES": 7, "REPLIES": 2}}},
            {"sub_request_status": "ERROR", "total_stat": {"id": "s2"}}]});
        assert_eq!(stat_ids(&stats), vec!["s1".to_owned()]);
        let m = figures(&stats);
        assert_eq!(
            (m.views, m.reach, m.shares, m.likes, m.comments, m.link_clicks),
            (Some(120), Some(90), Some(4), Some(7), Some(2), None)
        );
        assert!(item_failed(&json!({"sub_request_status": "ERROR"})));
        assert!(!item_failed(&json!({"sub_request_status": "success"})));
    }
}
