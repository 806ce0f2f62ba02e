//! Deleting what has run out, in one place the janitor calls.

use crate::{Result, Store, on_db};

impl Store {
    /// Deletes what has run out: sessions past their end or idle longer than `session_idle`,
    /// OAuth states an hour after their end, failure counts older than `failures_since` and no
    /// longer blocking, sign-up windows that closed, sign-ins that waited for a second factor
    /// past their end. Returns how many rows went.
    pub async fn purge_expired(&self, session_idle: i64, failures_since: i64) -> Result<u64> {
        let now = self.now();
        let mut n = 0;
        n += on_db!(self.db(), pool => sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at <= $2")
            .bind(now).bind(now.saturating_sub(session_idle)).execute(pool).await?.rows_affected());
        // A state is kept an hour past its end, so a late callback is told "expired", not "unknown".
        n += on_db!(self.db(), pool => sqlx::query("DELETE FROM oauth_states WHERE expires_at <= $1")
            .bind(now - 3_600_000_000).execute(pool).await?.rows_affected());
        n += on_db!(self.db(), pool => sqlx::query("DELETE FROM signin_failures WHERE last_at < $1 AND blocked_until <= $2")
            .bind(failures_since).bind(now).execute(pool).await?.rows_affected());
        n += on_db!(self.db(), pool => sqlx::query("DELETE FROM signup_attempts WHERE window_start < $1")
            .bind(failures_since).execute(pool).await?.rows_affected());
        n += on_db!(self.db(), pool => sqlx::query("DELETE FROM second_factor_challenges WHERE expires_at <= $1")
            .bind(now).execute(pool).await?.rows_affected());
        Ok(n)
    }
}
