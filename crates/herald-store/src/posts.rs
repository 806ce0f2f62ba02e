//! Posts and their deliveries: creation with idempotency keys, listing, fenced edits and cancels;
//! a post held for approval is created (or returned by an edit) with its deliveries waiting.

use herald_domain::delivery::DeliveryStatus;
use herald_domain::{DeliveryId, MediaId, PostId, ProfileId, UserId, WorkspaceId};

use crate::approvals::{Decision, record_decision};
use crate::deliveries::cancel_pending;
use crate::{Result, Store, StoreError, on_db, parse_id};

pub struct NewTarget {
    pub profile: ProfileId,
    pub text: Option<String>,
    pub media_ids: Option<Vec<MediaId>>,
    /// Platform options as a JSON object.
    pub options: Option<String>,
}

/// A part of a thread after the first: its own text and media.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ThreadPart {
    pub text: String,
    pub media_ids: Vec<MediaId>,
}

pub struct NewPost<'a> {
    pub workspace: WorkspaceId,
    pub user: UserId,
    pub text: &'a str,
    pub media_ids: &'a [MediaId],
    /// The parts that follow, for a thread (empty for a post of one part).
    pub thread: &'a [ThreadPart],
    pub scheduled_at: i64,
    pub time_zone: &'a str,
    pub idempotency_key: Option<&'a str>,
    /// A digest of the request, kept with the idempotency key.
    pub request_hash: Option<&'a str>,
    pub targets: Vec<NewTarget>,
    /// Its author may not approve it and the workspace requires approval: its deliveries wait as
    /// `pending_approval`, and `submitted` is kept as its first decision.
    pub awaits_approval: bool,
}

/// An edit of a post: what is `None` stays.
#[derive(Debug, Default, Clone, Copy)]
pub struct PostChange<'a> {
    pub text: Option<&'a str>,
    pub media: Option<&'a [MediaId]>,
    /// Replaces the thread (an empty one removes it).
    pub thread: Option<&'a [ThreadPart]>,
    /// The new time, and the zone it was planned in.
    pub at: Option<(i64, &'a str)>,
    /// The member whose edit submits the post for approval again (an editor's, where the
    /// workspace requires approval): every delivery waits as `pending_approval` again.
    pub resubmitted_by: Option<UserId>,
}

#[derive(Debug, Clone)]
pub struct DeliveryRow {
    pub id: DeliveryId,
    pub profile: ProfileId,
    pub text_override: Option<String>,
    pub media_override: Option<Vec<MediaId>>,
    /// Platform options as a JSON object.
    pub options: Option<String>,
    pub status: DeliveryStatus,
    pub due_at: i64,
    pub attempts: i64,
    pub platform_post_id: Option<String>,
    pub permalink: Option<String>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// For an `unconfirmed` delivery, the posts that may be it (JSON `[{id, permalink}]`).
    pub candidates: Option<String>,
    pub updated_at: i64,
}

#[derive(Debug, Clone)]
pub struct PostRow {
    pub id: PostId,
    pub workspace: WorkspaceId,
    pub created_by: UserId,
    pub text: String,
    pub media_ids: Vec<MediaId>,
    /// The parts that follow, for a thread.
    pub thread: Vec<ThreadPart>,
    pub scheduled_at: i64,
    pub time_zone: String,
    pub created_at: i64,
    pub deliveries: Vec<DeliveryRow>,
}

impl PostRow {
    /// The text and media a delivery publishes: its overrides, else the post's.
    pub fn content_for(&self, d: &DeliveryRow) -> (String, Vec<MediaId>) {
        (
            d.text_override.clone().unwrap_or_else(|| self.text.clone()),
            d.media_override.clone().unwrap_or_else(|| self.media_ids.clone()),
        )
    }
}

/// Which posts to list: by delivery status and scheduled time, paged by `(scheduled_at, id)`.
#[derive(Debug, Default)]
pub struct PostFilter {
    pub status: Option<DeliveryStatus>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub after: Option<(i64, PostId)>,
    /// Only posts with a delivery to this profile.
    pub profile: Option<ProfileId>,
    pub limit: i64,
}

/// A delivery as a calendar reads it: its post, profile and status.
type TargetRow = (String, String, String);

/// A post as a calendar shows it: its time, the start of its text, and where it goes.
#[derive(Debug, Clone)]
pub struct CalendarPost {
    pub id: PostId,
    pub scheduled_at: i64,
    /// The first 60 characters of the text.
    pub text: String,
    /// Each delivery's profile and status.
    pub targets: Vec<(ProfileId, DeliveryStatus)>,
}

/// What cancelling a post did.
#[derive(Debug, Default, Clone, Copy)]
pub struct CancelOutcome {
    pub cancelled: u64,
    pub published: u64,
    pub in_flight: u64,
}

fn ids_json(ids: &[MediaId]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

fn ids_from_json(s: &str) -> Result<Vec<MediaId>> {
    serde_json::from_str(s).map_err(|_| StoreError::Corrupt(format!("media ids {s}")))
}

pub(crate) type PostTuple = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    i64,
    String,
    i64,
);

/// A thread as stored: NULL for none.
fn thread_json(parts: &[ThreadPart]) -> Option<String> {
    (!parts.is_empty()).then(|| serde_json::to_string(parts).unwrap_or_else(|_| "[]".into()))
}
pub(crate) type DeliveryTuple = (
    String,
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    i64,
    i64,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    i64,
);

/// A delivery's row followed by its post's id (read by name; the tuple reads the first columns).
#[derive(sqlx::FromRow)]
struct DeliveryOfPost {
    #[sqlx(flatten)]
    delivery: DeliveryTuple,
    post_id: String,
}

pub(crate) const DELIVERY_COLUMNS: &str = "id, profile_id, text_override, media_override, options, status, due_at, attempts, platform_post_id, permalink, error_code, error_message, candidates, updated_at";

pub(crate) const POST_COLUMNS: &str =
    "id, workspace_id, created_by, text, media_ids, thread, scheduled_at, time_zone, created_at";

impl Store {
    /// Creates a post with one delivery per target, or returns the post an earlier request with the same
    /// idempotency key created. The flag says whether this call created it.
    pub async fn create_post(&self, p: NewPost<'_>) -> Result<(PostId, bool)> {
        if let Some(existing) = self.post_by_idempotency_key(&p).await? {
            return Ok((existing, false));
        }
        let (id, now) = (PostId::new(), self.now());
        let (status, outcome) = if p.awaits_approval {
            (DeliveryStatus::PendingApproval.as_str(), "awaiting_approval")
        } else {
            (DeliveryStatus::Scheduled.as_str(), "scheduled")
        };
        let inserted: Result<()> = on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            sqlx::query("INSERT INTO posts (id, workspace_id, created_by, text, media_ids, scheduled_at, time_zone, idempotency_key, request_hash, created_at, updated_at, thread) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $10, $9, $9, $11)")
                .bind(id.to_string()).bind(p.workspace.to_string()).bind(p.user.to_string()).bind(p.text)
                .bind(ids_json(p.media_ids)).bind(p.scheduled_at).bind(p.time_zone).bind(p.idempotency_key).bind(now).bind(p.request_hash)
                .bind(thread_json(p.thread))
                .execute(&mut *tx).await?;
            for t in &p.targets {
                let did = DeliveryId::new().to_string();
                sqlx::query("INSERT INTO deliveries (id, workspace_id, post_id, profile_id, text_override, media_override, options, status, due_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $10, $8, $9)")
                    .bind(&did).bind(p.workspace.to_string()).bind(id.to_string()).bind(t.profile.to_string())
                    .bind(t.text.as_deref()).bind(t.media_ids.as_deref().map(ids_json)).bind(t.options.as_deref()).bind(p.scheduled_at).bind(now)
                    .bind(status)
                    .execute(&mut *tx).await?;
                sqlx::query("INSERT INTO delivery_events (workspace_id, delivery_id, at, from_status, to_status, attempt, fence, outcome, detail) VALUES ($1, $2, $3, NULL, $4, 0, 0, $5, NULL)")
                    .bind(p.workspace.to_string()).bind(&did).bind(now).bind(status).bind(outcome).execute(&mut *tx).await?;
            }
            if p.awaits_approval {
                record_decision!(tx, p.workspace, id, Decision::Submitted, Some(p.user), None::<&str>, now);
            }
            tx.commit().await?;
            Ok(())
        });
        match inserted {
            Ok(()) => Ok((id, true)),
            // A concurrent request with the same key won the race: answer with its post.
            Err(StoreError::Database(e))
                if e.as_database_error().is_some_and(|d| d.is_unique_violation()) =>
            {
                self.post_by_idempotency_key(&p)
                    .await?
                    .map(|id| (id, false))
                    .ok_or(StoreError::Database(e))
            }
            Err(e) => Err(e),
        }
    }

    /// The post an earlier request with the same key created; `Conflict` when that request differed.
    async fn post_by_idempotency_key(&self, p: &NewPost<'_>) -> Result<Option<PostId>> {
        let Some(key) = p.idempotency_key else {
            return Ok(None);
        };
        let row: Option<(String, Option<String>)> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT id, request_hash FROM posts WHERE workspace_id = $1 AND created_by = $2 AND idempotency_key = $3")
            .bind(p.workspace.to_string()).bind(p.user.to_string()).bind(key).fetch_optional(pool).await?);
        let Some((id, hash)) = row else { return Ok(None) };
        if hash.as_deref() != p.request_hash {
            return Err(StoreError::Conflict(format!(
                "the Idempotency-Key `{key}` was already used for a different request"
            )));
        }
        Ok(Some(parse_id(&id)?))
    }

    pub async fn get_post(&self, ws: WorkspaceId, id: PostId) -> Result<PostRow> {
        let sql = format!("SELECT {POST_COLUMNS} FROM posts WHERE workspace_id = $1 AND id = $2");
        let row: Option<PostTuple> = on_db!(self.db(), pool =>
            sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str())).bind(ws.to_string()).bind(id.to_string()).fetch_optional(pool).await?);
        let mut post = post_from(row.ok_or(StoreError::NotFound)?)?;
        post.deliveries = self.deliveries_of(ws, id).await?;
        Ok(post)
    }

    async fn deliveries_of(&self, ws: WorkspaceId, post: PostId) -> Result<Vec<DeliveryRow>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE workspace_id = $1 AND post_id = $2 ORDER BY id"
        );
        let rows: Vec<DeliveryTuple> = on_db!(self.db(), pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(ws.to_string()).bind(post.to_string()).fetch_all(pool).await?);
        rows.into_iter().map(delivery_from).collect()
    }

    /// The zone of the post last created in the workspace, if any.
    pub async fn latest_post_zone(&self, ws: WorkspaceId) -> Result<Option<String>> {
        let row: Option<(String,)> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT time_zone FROM posts WHERE workspace_id = $1 ORDER BY created_at DESC, id DESC LIMIT 1")
            .bind(ws.to_string()).fetch_optional(pool).await?);
        Ok(row.map(|(z,)| z))
    }

    /// How many posts the profile has a delivery waiting (`scheduled`, or `pending_approval`) in.
    pub async fn count_scheduled_for_profile(&self, ws: WorkspaceId, profile: ProfileId) -> Result<i64> {
        let (n,): (i64,) = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT COUNT(DISTINCT post_id) FROM deliveries WHERE workspace_id = $1 AND profile_id = $2 AND status IN ('scheduled', 'pending_approval')")
            .bind(ws.to_string()).bind(profile.to_string()).fetch_one(pool).await?);
        Ok(n)
    }

    /// How many posts have a delivery in each of `statuses` (the dashboard's "needs you"), counting
    /// at most `cap` per status.
    pub async fn count_posts_by_status(
        &self,
        ws: WorkspaceId,
        statuses: &[DeliveryStatus],
        cap: i64,
    ) -> Result<Vec<(DeliveryStatus, i64)>> {
        let mut out = Vec::new();
        for status in statuses {
            let (n,): (i64,) = on_db!(self.db(), pool => sqlx::query_as(
                "SELECT COUNT(*) FROM (SELECT DISTINCT post_id FROM deliveries WHERE workspace_id = $1 AND status = $2 LIMIT $3) s")
                .bind(ws.to_string()).bind(status.as_str()).bind(cap).fetch_one(pool).await?);
            out.push((*status, n));
        }
        Ok(out)
    }

    /// The posts due in `[from, to)` as a calendar shows them, in time order, at most `limit`: only
    /// the columns a chip needs, so a busy month reads little.
    pub async fn calendar_posts(
        &self,
        ws: WorkspaceId,
        from: i64,
        to: i64,
        limit: i64,
    ) -> Result<Vec<CalendarPost>> {
        let selected = "FROM posts WHERE workspace_id = $1 AND scheduled_at >= $2 AND scheduled_at < $3 ORDER BY scheduled_at, id LIMIT $4";
        let posts_sql = format!("SELECT id, scheduled_at, substr(text, 1, 60) {selected}");
        let targets_sql = format!(
            "SELECT post_id, profile_id, status FROM deliveries WHERE workspace_id = $1 AND post_id IN (SELECT id {selected})"
        );
        let (posts, targets): (Vec<(String, i64, String)>, Vec<TargetRow>) = on_db!(self.db(), pool => {
            let posts = sqlx::query_as(sqlx::AssertSqlSafe(posts_sql.as_str()))
                .bind(ws.to_string()).bind(from).bind(to).bind(limit).fetch_all(pool).await?;
            let targets = sqlx::query_as(sqlx::AssertSqlSafe(targets_sql.as_str()))
                .bind(ws.to_string()).bind(from).bind(to).bind(limit).fetch_all(pool).await?;
            (posts, targets)
        });
        let mut by_post: std::collections::HashMap<String, Vec<(ProfileId, DeliveryStatus)>> =
            std::collections::HashMap::new();
        for (post, profile, status) in targets {
            let status = DeliveryStatus::parse(&status)
                .ok_or_else(|| StoreError::Corrupt(format!("delivery status {status}")))?;
            by_post
                .entry(post)
                .or_default()
                .push((parse_id(&profile)?, status));
        }
        posts
            .into_iter()
            .map(|(id, scheduled_at, text)| {
                let targets = by_post.remove(&id).unwrap_or_default();
                Ok(CalendarPost {
                    id: parse_id(&id)?,
                    scheduled_at,
                    text,
                    targets,
                })
            })
            .collect()
    }

    /// The posts `f` selects, in time order, each with its deliveries (two queries in all).
    pub async fn list_posts(&self, ws: WorkspaceId, f: &PostFilter) -> Result<Vec<PostRow>> {
        // The status and profile filters are uncorrelated `IN` lists (read once, through their
        // indexes), not an `EXISTS` per post: SQLite would otherwise scan every delivery of that
        // status for each post of the workspace.
        let selected = "FROM posts p WHERE workspace_id = $1
               AND ($2 IS NULL OR p.id IN (SELECT post_id FROM deliveries WHERE workspace_id = $1 AND status = $2))
               AND ($3 IS NULL OR scheduled_at >= $3) AND ($4 IS NULL OR scheduled_at < $4)
               AND ($5 IS NULL OR scheduled_at > $5 OR (scheduled_at = $5 AND id > $6))
               AND ($8 IS NULL OR p.id IN (SELECT post_id FROM deliveries WHERE profile_id = $8))
             ORDER BY scheduled_at, id LIMIT $7";
        let posts_sql = format!("SELECT {POST_COLUMNS} {selected}");
        let deliveries_sql = format!(
            "SELECT {DELIVERY_COLUMNS}, post_id FROM deliveries WHERE workspace_id = $1 AND post_id IN (SELECT id {selected}) ORDER BY id"
        );
        let status = f.status.map(DeliveryStatus::as_str);
        let (after_at, after_id) = f
            .after
            .map(|(at, id)| (Some(at), id.to_string()))
            .unwrap_or((None, String::new()));
        let profile = f.profile.map(|p| p.to_string());
        let (rows, deliveries): (Vec<PostTuple>, Vec<(String, DeliveryTuple)>) = on_db!(self.db(), pool => {
            let posts = sqlx::query_as(sqlx::AssertSqlSafe(posts_sql.as_str()))
                .bind(ws.to_string()).bind(status).bind(f.from).bind(f.to).bind(after_at).bind(after_id.clone()).bind(f.limit).bind(profile.clone())
                .fetch_all(pool).await?;
            let rows: Vec<DeliveryOfPost> = sqlx::query_as(sqlx::AssertSqlSafe(deliveries_sql.as_str()))
                .bind(ws.to_string()).bind(status).bind(f.from).bind(f.to).bind(after_at).bind(after_id).bind(f.limit).bind(profile)
                .fetch_all(pool).await?;
            (posts, rows.into_iter().map(|r| (r.post_id, r.delivery)).collect())
        });
        let mut by_post: std::collections::HashMap<String, Vec<DeliveryRow>> =
            std::collections::HashMap::new();
        for (post, d) in deliveries {
            by_post.entry(post).or_default().push(delivery_from(d)?);
        }
        let mut posts = Vec::with_capacity(rows.len());
        for r in rows {
            let mut post = post_from(r)?;
            post.deliveries = by_post.remove(&post.id.to_string()).unwrap_or_default();
            posts.push(post);
        }
        Ok(posts)
    }

    /// Edits a post whose deliveries all still wait (`scheduled`, or `pending_approval`) and never
    /// started (no handle: a delivery requeued after a reconnect resumes what it began, so its
    /// content is fixed). With `resubmitted_by`, every delivery waits for approval again.
    /// Fenced against a claim: if the dispatcher claimed any delivery first, nothing changes and
    /// `Conflict` says so.
    pub async fn update_post(&self, ws: WorkspaceId, id: PostId, change: PostChange<'_>) -> Result<()> {
        let PostChange {
            text,
            media,
            thread,
            at,
            resubmitted_by,
        } = change;
        let now = self.now();
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let (total,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM deliveries WHERE workspace_id = $1 AND post_id = $2")
                .bind(ws.to_string()).bind(id.to_string()).fetch_one(&mut *tx).await?;
            if resubmitted_by.is_some() {
                // Written before the change; if a claim wins meanwhile, the count below undoes both.
                sqlx::query("INSERT INTO delivery_events (workspace_id, delivery_id, at, from_status, to_status, attempt, fence, outcome, detail)
                             SELECT workspace_id, id, $3, status, 'pending_approval', attempts, fence, 'resubmitted', 'edited: it waits for approval again'
                             FROM deliveries WHERE workspace_id = $1 AND post_id = $2 AND status = 'scheduled' AND handle IS NULL")
                    .bind(ws.to_string()).bind(id.to_string()).bind(now).execute(&mut *tx).await?;
            }
            let touched = sqlx::query("UPDATE deliveries SET due_at = COALESCE($1, due_at), fence = fence + 1, updated_at = $2,
                                         status = CASE WHEN $5 THEN 'pending_approval' ELSE status END
                                       WHERE workspace_id = $3 AND post_id = $4 AND status IN ('scheduled', 'pending_approval') AND handle IS NULL")
                .bind(at.map(|a| a.0)).bind(now).bind(ws.to_string()).bind(id.to_string()).bind(resubmitted_by.is_some())
                .execute(&mut *tx).await?.rows_affected();
            if i64::try_from(touched).unwrap_or(-1) != total {
                return Err(StoreError::Conflict("publishing has already started for this post; it can no longer be edited".into()));
            }
            // A thread given replaces the one stored (an empty one removes it).
            let n = sqlx::query("UPDATE posts SET text = COALESCE($1, text), media_ids = COALESCE($2, media_ids), scheduled_at = COALESCE($3, scheduled_at), time_zone = COALESCE($4, time_zone), updated_at = $5, thread = CASE WHEN $8 THEN $9 ELSE thread END WHERE workspace_id = $6 AND id = $7")
                .bind(text).bind(media.map(ids_json)).bind(at.map(|a| a.0)).bind(at.map(|a| a.1)).bind(now)
                .bind(ws.to_string()).bind(id.to_string()).bind(thread.is_some()).bind(thread.and_then(thread_json))
                .execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::NotFound);
            }
            if let Some(by) = resubmitted_by {
                record_decision!(tx, ws, id, Decision::Submitted, Some(by), None::<&str>, now);
            }
            tx.commit().await?;
        });
        Ok(())
    }

    /// Cancels every delivery of the post that has not started; published ones stay published.
    pub async fn cancel_post(&self, ws: WorkspaceId, id: PostId) -> Result<CancelOutcome> {
        let now = self.now();
        let cancelled = on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let exists: Option<(String,)> = sqlx::query_as("SELECT id FROM posts WHERE workspace_id = $1 AND id = $2")
                .bind(ws.to_string()).bind(id.to_string()).fetch_optional(&mut *tx).await?;
            if exists.is_none() {
                return Err(StoreError::NotFound);
            }
            let n = cancel_pending!(tx, ws, "post_id", id.to_string(), now, "cancelled by the user");
            tx.commit().await?;
            n
        });
        let deliveries = self.deliveries_of(ws, id).await?;
        let count = |f: fn(DeliveryStatus) -> bool| deliveries.iter().filter(|d| f(d.status)).count() as u64;
        Ok(CancelOutcome {
            cancelled,
            published: count(|s| s == DeliveryStatus::Published),
            in_flight: count(|s| {
                matches!(
                    s,
                    DeliveryStatus::Publishing | DeliveryStatus::Processing | DeliveryStatus::RetryWait
                )
            }),
        })
    }
}

pub(crate) fn post_from(r: PostTuple) -> Result<PostRow> {
    let (id, ws, by, text, media, thread, scheduled_at, time_zone, created_at) = r;
    let thread = match thread {
        None => Vec::new(),
        Some(t) => serde_json::from_str(&t).map_err(|_| StoreError::Corrupt(format!("thread {t}")))?,
    };
    Ok(PostRow {
        id: parse_id(&id)?,
        workspace: parse_id(&ws)?,
        created_by: parse_id(&by)?,
        text,
        media_ids: ids_from_json(&media)?,
        thread,
        scheduled_at,
        time_zone,
        created_at,
        deliveries: Vec::new(),
    })
}

pub(crate) fn delivery_from(r: DeliveryTuple) -> Result<DeliveryRow> {
    let (
        id,
        profile,
        text_override,
        media_override,
        options,
        status,
        due_at,
        attempts,
        platform_post_id,
        permalink,
        error_code,
        error_message,
        candidates,
        updated_at,
    ) = r;
    Ok(DeliveryRow {
        id: parse_id(&id)?,
        profile: parse_id(&profile)?,
        text_override,
        media_override: media_override.as_deref().map(ids_from_json).transpose()?,
        options,
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| StoreError::Corrupt(format!("delivery status {status}")))?,
        due_at,
        attempts,
        platform_post_id,
        permalink,
        error_code,
        error_message,
        candidates,
        updated_at,
    })
}
