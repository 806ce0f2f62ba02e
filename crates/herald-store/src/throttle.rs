//! Counters behind sign-in and sign-up throttling, shared by every Herald process on the database.
//! Keys are hashes chosen by the caller; the policy (how many, how long) is the server's.

use crate::{Result, Store, on_db};

/// What is counted against a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureScope {
    /// One account from one client address.
    Pair,
    /// One account from every address.
    Account,
}

impl FailureScope {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pair => "pair",
            Self::Account => "account",
        }
    }
}

/// Failed sign-ins counted against a key.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failures {
    pub failures: i64,
    pub last_at: i64,
    pub blocked_until: i64,
}

impl Store {
    /// The failures counted against `key`, those before `since` forgotten.
    pub async fn signin_failures(&self, scope: FailureScope, key: &str, since: i64) -> Result<Failures> {
        let row: Option<(i64, i64, i64)> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT failures, last_at, blocked_until FROM signin_failures WHERE scope = $1 AND key_hash = $2")
            .bind(scope.as_str()).bind(key).fetch_optional(pool).await?);
        Ok(match row {
            Some((failures, last_at, blocked_until)) if last_at >= since => Failures {
                failures,
                last_at,
                blocked_until,
            },
            Some((_, _, blocked_until)) => Failures {
                blocked_until,
                ..Failures::default()
            },
            None => Failures::default(),
        })
    }

    /// Counts one more failure against `key` (starting over when the last was before `since`);
    /// returns the count.
    pub async fn count_signin_failure(&self, scope: FailureScope, key: &str, since: i64) -> Result<i64> {
        let now = self.now();
        let (failures,): (i64,) = on_db!(self.db(), pool => sqlx::query_as(
            "INSERT INTO signin_failures (scope, key_hash, failures, last_at, blocked_until) VALUES ($1, $2, 1, $3, 0)
             ON CONFLICT (scope, key_hash) DO UPDATE SET
               failures = CASE WHEN signin_failures.last_at < $4 THEN 1 ELSE signin_failures.failures + 1 END,
               last_at = $3
             RETURNING failures")
            .bind(scope.as_str()).bind(key).bind(now).bind(since).fetch_one(pool).await?);
        Ok(failures)
    }

    /// Claims one attempt for a pair, atomically, so attempts sent at once are counted at once: the
    /// attempt is counted (starting over when the last was before `since`) and the pair made to
    /// wait before its next one — `waits[i]` microseconds once the count reaches `free + i` (the
    /// last for every count beyond), and in any case until `floor` — but only if it is not waiting
    /// already. `Err(until)`: it is waiting until then, and nothing was counted.
    pub async fn claim_signin_attempt(
        &self,
        key: &str,
        since: i64,
        floor: i64,
        (free, waits): (i64, &[i64]),
    ) -> Result<std::result::Result<i64, i64>> {
        let now = self.now();
        let scope = FailureScope::Pair.as_str();
        // The new count, as every SET expression sees the row before the update.
        let count = "(CASE WHEN signin_failures.last_at < $3 THEN 1 ELSE signin_failures.failures + 1 END)";
        let mut wait = String::from("CASE");
        for (i, w) in waits.iter().enumerate().rev() {
            wait.push_str(&format!(" WHEN {count} >= {} THEN $2 + {w}", free + i as i64));
        }
        wait.push_str(" ELSE 0 END");
        let first = match waits.first() {
            Some(w) if free <= 1 => (now + w).max(floor),
            _ => floor,
        };
        // One statement: a row swept away meanwhile cannot make the claim miss.
        let sql = format!(
            "INSERT INTO signin_failures (scope, key_hash, failures, last_at, blocked_until) VALUES ($5, $1, 1, $2, $6)
             ON CONFLICT (scope, key_hash) DO UPDATE SET failures = {count}, last_at = $2,
               blocked_until = CASE WHEN ({wait}) > $4 THEN ({wait}) ELSE $4 END
             WHERE signin_failures.blocked_until <= $2
             RETURNING failures"
        );
        let claimed: Option<(i64,)> = on_db!(self.db(), pool => sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()))
            .bind(key).bind(now).bind(since).bind(floor).bind(scope).bind(first).fetch_optional(pool).await?);
        if let Some((n,)) = claimed {
            return Ok(Ok(n));
        }
        let until: Option<(i64,)> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT blocked_until FROM signin_failures WHERE scope = $1 AND key_hash = $2")
            .bind(scope).bind(key).fetch_optional(pool).await?);
        Ok(Err(until.map_or(now, |(u,)| u)))
    }

    /// Forgets the failures against `key` (after a successful sign-in).
    pub async fn clear_signin_failures(&self, scope: FailureScope, key: &str) -> Result<()> {
        on_db!(self.db(), pool => sqlx::query("DELETE FROM signin_failures WHERE scope = $1 AND key_hash = $2")
            .bind(scope.as_str()).bind(key).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Counts one more sign-up from `key` in the window that started at `window_start` (an older
    /// window starts over); returns the count in the window.
    pub async fn count_signup(&self, key: &str, window_start: i64) -> Result<i64> {
        let now = self.now();
        let (n,): (i64,) = on_db!(self.db(), pool => sqlx::query_as(
            "INSERT INTO signup_attempts (key_hash, attempts, window_start) VALUES ($1, 1, $2)
             ON CONFLICT (key_hash) DO UPDATE SET
               attempts = CASE WHEN signup_attempts.window_start < $3 THEN 1 ELSE signup_attempts.attempts + 1 END,
               window_start = CASE WHEN signup_attempts.window_start < $3 THEN $2 ELSE signup_attempts.window_start END
             RETURNING attempts")
            .bind(key).bind(now).bind(window_start).fetch_one(pool).await?);
        Ok(n)
    }
}
