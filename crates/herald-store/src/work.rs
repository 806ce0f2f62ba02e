//! What the dispatcher reads to work one claimed delivery, in one query: the profile, the post with
//! this delivery, the profile's sealed access token and the platform's cached live facts (five
//! queries before, one after another, for every delivery).

use std::sync::LazyLock;

use herald_domain::profile::SecretKind;
use herald_domain::rules::LiveFacts;

use crate::deliveries::Claimed;
use crate::posts::{DELIVERY_COLUMNS, POST_COLUMNS, PostRow, delivery_from, post_from};
use crate::profiles::{self, ProfileRow, facts_from};
use crate::{Result, Store, on_db};

/// What a claimed delivery needs, as read at the start of its attempt.
pub struct Work {
    /// The profile, or why its record cannot be read ([`crate::StoreError::Corrupt`]): the
    /// dispatcher says so rather than retrying for ever.
    pub profile: Result<ProfileRow>,
    /// The post, with this delivery alone among its deliveries, or why its record (or the
    /// delivery's) cannot be read: looked at after the profile, as before the reads were one.
    pub post: Result<PostRow>,
    /// The profile's access token as sealed, when one is stored: opened with
    /// [`Store::open_secret`] only once the checks before it pass.
    pub sealed_token: Option<Vec<u8>>,
    /// The platform's live facts about the profile as last read, and when; none when they
    /// cannot be read either (the dispatcher then reads them from the platform again, which
    /// replaces them).
    pub live_facts: Option<(LiveFacts, i64)>,
}

/// One row of [`WORK`]: the profile's columns first (read by position), then the delivery's,
/// the post's, the token and the facts by name.
#[derive(sqlx::FromRow)]
struct WorkRow {
    #[sqlx(flatten)]
    profile: profiles::Row,
    d_id: String,
    d_profile_id: String,
    d_text_override: Option<String>,
    d_media_override: Option<String>,
    d_options: Option<String>,
    d_status: String,
    d_due_at: i64,
    d_attempts: i64,
    d_platform_post_id: Option<String>,
    d_permalink: Option<String>,
    d_error_code: Option<String>,
    d_error_message: Option<String>,
    d_candidates: Option<String>,
    d_updated_at: i64,
    p_id: String,
    p_workspace_id: String,
    p_created_by: String,
    p_text: String,
    p_media_ids: String,
    p_thread: Option<String>,
    p_scheduled_at: i64,
    p_time_zone: String,
    p_created_at: i64,
    token: Option<Vec<u8>>,
    f_used: Option<i64>,
    f_total: Option<i64>,
    f_creator: Option<String>,
    f_at: Option<i64>,
}

/// `table.column AS prefix_column` for each of `columns`.
fn aliased(table: &str, columns: &str, prefix: Option<&str>) -> String {
    columns
        .split(", ")
        .map(|c| match prefix {
            Some(p) => format!("{table}.{c} AS {p}_{c}"),
            None => format!("{table}.{c}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The query: the delivery `$1` of workspace `$2`, its post and profile, the profile's secret of
/// kind `$3` and its facts.
static WORK: LazyLock<String> = LazyLock::new(|| {
    format!(
        "SELECT {}, {}, {}, s.ciphertext AS token,
           f.quota_used AS f_used, f.quota_total AS f_total, f.creator AS f_creator, f.fetched_at AS f_at
         FROM deliveries d
         JOIN posts p ON p.id = d.post_id AND p.workspace_id = d.workspace_id
         JOIN profiles pr ON pr.id = d.profile_id AND pr.workspace_id = d.workspace_id
         LEFT JOIN profile_secrets s ON s.profile_id = pr.id AND s.workspace_id = pr.workspace_id AND s.kind = $3
         LEFT JOIN profile_facts f ON f.profile_id = pr.id AND f.workspace_id = pr.workspace_id
         WHERE d.id = $1 AND d.workspace_id = $2",
        aliased("pr", profiles::COLUMNS, None),
        aliased("d", DELIVERY_COLUMNS, Some("d")),
        aliased("p", POST_COLUMNS, Some("p")),
    )
});

impl Store {
    /// What the claimed delivery `c` needs, in one query; [`crate::StoreError::NotFound`] when the
    /// delivery, its post or its profile is gone. What cannot be read is said in its own field,
    /// so each is judged where the dispatcher looks at it.
    pub async fn work(&self, c: &Claimed) -> Result<Work> {
        let row: Option<WorkRow> = on_db!(self.db(), pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(WORK.as_str()))
                .bind(c.id.to_string())
                .bind(c.workspace.to_string())
                .bind(SecretKind::AccessToken.as_str())
                .fetch_optional(pool)
                .await?);
        let r = row.ok_or(crate::StoreError::NotFound)?;
        let delivery = delivery_from((
            r.d_id,
            r.d_profile_id,
            r.d_text_override,
            r.d_media_override,
            r.d_options,
            r.d_status,
            r.d_due_at,
            r.d_attempts,
            r.d_platform_post_id,
            r.d_permalink,
            r.d_error_code,
            r.d_error_message,
            r.d_candidates,
            r.d_updated_at,
        ));
        let post = post_from((
            r.p_id,
            r.p_workspace_id,
            r.p_created_by,
            r.p_text,
            r.p_media_ids,
            r.p_thread,
            r.p_scheduled_at,
            r.p_time_zone,
            r.p_created_at,
        ))
        .and_then(|mut post| {
            post.deliveries = vec![delivery?];
            Ok(post)
        });
        let live_facts = r
            .f_at
            .and_then(|at| facts_from(r.f_used, r.f_total, r.f_creator, at).ok());
        Ok(Work {
            profile: profiles::from_row(r.profile),
            post,
            sealed_token: r.token,
            live_facts,
        })
    }
}
