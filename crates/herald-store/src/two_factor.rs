//! Two-factor sign-in: a person's TOTP secret (sealed under a data key of their own, pending until
//! a code confirms it), the last time step a code was accepted for, their single-use recovery
//! codes (hashed), the short-lived challenges of sign-ins waiting for their second factor, and
//! when a session last proved who it is (re-authentication).

use herald_domain::{SessionId, UserId, WorkspaceId};
use herald_vault::{DataKey, secret_aad};
use secrecy::{ExposeSecret, SecretSlice};

use crate::keys::version;
use crate::{Result, Store, StoreError, on_db, parse_id};

/// The associated-data kind of a person's sealed TOTP secret.
const TOTP_SECRET: &str = "totp_secret";

/// What a new enrolment meets when two-factor sign-in is already on.
const ALREADY_ON: &str = "two_factor_on";
/// What a confirmation meets when its enrolment is not waiting (none begun, another replaced it,
/// or it is on already).
const NOTHING_PENDING: &str = "nothing_pending";

/// A person's two-factor sign-in, as they see it (never its secret).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TwoFactorStatus {
    /// When a code confirmed it; `None` while it is off (or only begun).
    pub enabled_at: Option<i64>,
    /// Recovery codes not used yet.
    pub recovery_codes_left: i64,
}

/// A person's TOTP secret, opened, and when it was stored: that instant names the enrolment, so a
/// confirmation holds only for the secret its code was checked against.
pub struct TotpSecret {
    pub secret: SecretSlice<u8>,
    pub since: i64,
}

/// The id a person's data key is wrapped under and their secrets sealed for: `user:<id>`, which
/// no workspace id can be.
pub(crate) fn user_key_id(user: UserId) -> String {
    format!("user:{user}")
}

fn totp_aad(user: UserId) -> String {
    secret_aad(&user_key_id(user), &user.to_string(), TOTP_SECRET)
}

/// Replaces the person's recovery codes with `$hashes` inside the transaction `$tx`.
macro_rules! put_recovery_codes {
    ($tx:ident, $user:expr, $hashes:expr, $now:expr) => {
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind($user)
            .execute(&mut *$tx)
            .await?;
        for hash in $hashes {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)")
                .bind($user)
                .bind(hash)
                .bind($now)
                .execute(&mut *$tx)
                .await?;
        }
    };
}

impl Store {
    /// The person's own data key, created and wrapped on first use (as a workspace's is, and
    /// re-wrapped with them when the master key rotates).
    pub(crate) async fn user_data_key(&self, user: UserId) -> Result<DataKey> {
        let (id, key_id) = (user.to_string(), user_key_id(user));
        loop {
            let row: Option<(i64, Vec<u8>)> = on_db!(self.db(), pool =>
                sqlx::query_as("SELECT master_version, wrapped FROM user_data_keys WHERE user_id = $1")
                    .bind(&id).fetch_optional(pool).await?);
            if let Some((v, wrapped)) = row {
                return Ok(self.vault().unwrap(&key_id, version(v)?, &wrapped)?);
            }
            let dk = DataKey::generate()?;
            let (v, wrapped) = self.vault().wrap(&key_id, &dk)?;
            on_db!(self.db(), pool => sqlx::query("INSERT INTO user_data_keys (user_id, master_version, wrapped, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO NOTHING")
                .bind(&id).bind(i64::from(v)).bind(wrapped).bind(self.now()).execute(pool).await?.rows_affected());
        }
    }

    /// Begins an enrolment: `secret` is stored sealed, pending (it signs nobody in until a code
    /// confirms it), replacing an enrolment begun before. `Conflict(ALREADY_ON)` when two-factor
    /// sign-in is on: it is turned off first.
    pub async fn begin_two_factor(&self, user: UserId, secret: &SecretSlice<u8>) -> Result<()> {
        let sealed = self
            .user_data_key(user)
            .await?
            .seal(&totp_aad(user), secret.expose_secret())?;
        let n = on_db!(self.db(), pool => sqlx::query(
            "INSERT INTO two_factor (user_id, secret_ciphertext, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (user_id) DO UPDATE SET secret_ciphertext = excluded.secret_ciphertext,
               created_at = excluded.created_at, last_step = NULL
             WHERE two_factor.enabled_at IS NULL")
            .bind(user.to_string()).bind(sealed).bind(self.now()).execute(pool).await?.rows_affected());
        if n == 0 {
            return Err(StoreError::Conflict(ALREADY_ON.into()));
        }
        Ok(())
    }

    /// The person's TOTP secret: the confirmed one (`active`), or the one an enrolment waits to
    /// confirm; `None` when there is no such secret.
    pub async fn totp_secret(&self, user: UserId, active: bool) -> Result<Option<TotpSecret>> {
        let sql = if active {
            "SELECT secret_ciphertext, created_at FROM two_factor WHERE user_id = $1 AND enabled_at IS NOT NULL"
        } else {
            "SELECT secret_ciphertext, created_at FROM two_factor WHERE user_id = $1 AND enabled_at IS NULL"
        };
        let row: Option<(Vec<u8>, i64)> = on_db!(self.db(), pool =>
            sqlx::query_as(sql).bind(user.to_string()).fetch_optional(pool).await?);
        let Some((blob, since)) = row else {
            return Ok(None);
        };
        let plain = self.user_data_key(user).await?.open(&totp_aad(user), &blob)?;
        Ok(Some(TotpSecret {
            secret: SecretSlice::from(plain.to_vec()),
            since,
        }))
    }

    /// Confirms the enrolment begun at `since`, in one transaction: two-factor sign-in is on, the
    /// code's time step `step` counts as used, and `code_hashes` are the recovery codes (any
    /// others are gone). `Conflict(NOTHING_PENDING)` when that enrolment is not waiting (none was
    /// begun, another replaced it, or it is on already).
    pub async fn confirm_two_factor(
        &self,
        user: UserId,
        since: i64,
        step: i64,
        code_hashes: &[String],
    ) -> Result<()> {
        let (user, now) = (user.to_string(), self.now());
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let n = sqlx::query(
                "UPDATE two_factor SET enabled_at = $1, last_step = $2
                 WHERE user_id = $3 AND created_at = $4 AND enabled_at IS NULL")
                .bind(now).bind(step).bind(&user).bind(since).execute(&mut *tx).await?.rows_affected();
            if n == 0 {
                return Err(StoreError::Conflict(NOTHING_PENDING.into()));
            }
            put_recovery_codes!(tx, &user, code_hashes, now);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Whether two-factor sign-in is on, since when, and how many recovery codes are left.
    pub async fn two_factor_status(&self, user: UserId) -> Result<TwoFactorStatus> {
        let row: Option<(Option<i64>,)> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT enabled_at FROM two_factor WHERE user_id = $1")
            .bind(user.to_string()).fetch_optional(pool).await?);
        let enabled_at = row.and_then(|(at,)| at);
        let (left,): (i64,) = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL")
            .bind(user.to_string()).fetch_one(pool).await?);
        Ok(TwoFactorStatus {
            enabled_at,
            recovery_codes_left: if enabled_at.is_some() { left } else { 0 },
        })
    }

    /// Records that a code of time step `step` was accepted, in one statement and only when `step`
    /// is later than the last one accepted: `false` for a code used already (a replay, or the
    /// loser of two sent at once) and when two-factor sign-in is off.
    pub async fn use_totp_step(&self, user: UserId, step: i64) -> Result<bool> {
        let n = on_db!(self.db(), pool => sqlx::query(
            "UPDATE two_factor SET last_step = $1
             WHERE user_id = $2 AND enabled_at IS NOT NULL AND (last_step IS NULL OR last_step < $1)")
            .bind(step).bind(user.to_string()).execute(pool).await?.rows_affected());
        Ok(n == 1)
    }

    /// Counts a wrong code against the person, in one statement: the window of `window`
    /// microseconds it falls in starts anew once the last one is over. Returns how many wrong
    /// codes the window holds now.
    pub async fn count_second_factor_failure(&self, user: UserId, window: i64) -> Result<i64> {
        let now = self.now();
        let row: Option<(i64,)> = on_db!(self.db(), pool => sqlx::query_as(
            "UPDATE two_factor SET
                failures = CASE WHEN failures_since > $1 THEN failures + 1 ELSE 1 END,
                failures_since = CASE WHEN failures_since > $1 THEN failures_since ELSE $2 END
             WHERE user_id = $3 RETURNING failures")
            .bind(now - window).bind(now).bind(user.to_string()).fetch_optional(pool).await?);
        Ok(row.map_or(0, |r| r.0))
    }

    /// How many wrong codes the person's current window of `window` microseconds holds.
    pub async fn second_factor_failures(&self, user: UserId, window: i64) -> Result<i64> {
        let row: Option<(i64,)> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT CASE WHEN failures_since > $1 THEN failures ELSE 0 END FROM two_factor WHERE user_id = $2")
            .bind(self.now() - window).bind(user.to_string()).fetch_optional(pool).await?);
        Ok(row.map_or(0, |r| r.0))
    }

    /// Forgets the person's wrong codes, once they proved who they are.
    pub async fn clear_second_factor_failures(&self, user: UserId) -> Result<()> {
        on_db!(self.db(), pool => sqlx::query("UPDATE two_factor SET failures = 0, failures_since = NULL WHERE user_id = $1")
            .bind(user.to_string()).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Uses the recovery code hashing to `code_hash`, in one statement: `true` once for each
    /// unused code of a person whose two-factor sign-in is on, `false` ever after.
    pub async fn use_recovery_code(&self, user: UserId, code_hash: &str) -> Result<bool> {
        let n = on_db!(self.db(), pool => sqlx::query(
            "UPDATE recovery_codes SET used_at = $1
             WHERE user_id = $2 AND code_hash = $3 AND used_at IS NULL
               AND EXISTS (SELECT 1 FROM two_factor t WHERE t.user_id = $2 AND t.enabled_at IS NOT NULL)")
            .bind(self.now()).bind(user.to_string()).bind(code_hash).execute(pool).await?.rows_affected());
        Ok(n == 1)
    }

    /// Replaces the person's recovery codes with `code_hashes`, in one transaction that holds
    /// their two-factor row, so turning it off meanwhile leaves no code behind. `NotFound` while
    /// two-factor sign-in is off.
    pub async fn replace_recovery_codes(&self, user: UserId, code_hashes: &[String]) -> Result<()> {
        let (user, now) = (user.to_string(), self.now());
        on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let on = sqlx::query("UPDATE two_factor SET created_at = created_at WHERE user_id = $1 AND enabled_at IS NOT NULL")
                .bind(&user).execute(&mut *tx).await?.rows_affected();
            if on == 0 {
                return Err(StoreError::NotFound);
            }
            put_recovery_codes!(tx, &user, code_hashes, now);
            tx.commit().await?;
        });
        Ok(())
    }

    /// Turns the person's two-factor sign-in off, in one transaction: the secret (confirmed or
    /// pending), every recovery code and every sign-in waiting for a second factor are deleted.
    /// Returns whether there was a secret or a code. Used when the person turns it off and when
    /// an administrator resets it on the server.
    pub async fn reset_two_factor(&self, user: UserId) -> Result<bool> {
        let user = user.to_string();
        let n = on_db!(self.db(), pool => {
            let mut tx = pool.begin().await?;
            let mut n = sqlx::query("DELETE FROM two_factor WHERE user_id = $1")
                .bind(&user).execute(&mut *tx).await?.rows_affected();
            n += sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                .bind(&user).execute(&mut *tx).await?.rows_affected();
            sqlx::query("DELETE FROM second_factor_challenges WHERE user_id = $1")
                .bind(&user).execute(&mut *tx).await?;
            tx.commit().await?;
            n
        });
        Ok(n > 0)
    }

    /// Whether the person must enrol a second factor and has none on: a workspace they belong to
    /// requires it of everyone, or (with `of_admins`: where Herald is served over https) they are
    /// an owner or admin of some workspace.
    pub async fn second_factor_missing(&self, user: UserId, of_admins: bool) -> Result<bool> {
        let (n,): (i64,) = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT COUNT(*) FROM memberships m JOIN workspaces w ON w.id = m.workspace_id
              WHERE m.user_id = $1 AND (w.require_two_factor OR ($2 AND m.role IN ('owner', 'admin')))
                AND NOT EXISTS (SELECT 1 FROM two_factor t WHERE t.user_id = $1 AND t.enabled_at IS NOT NULL)")
            .bind(user.to_string()).bind(of_admins).fetch_one(pool).await?);
        Ok(n > 0)
    }

    /// Whether the workspace requires two-factor sign-in of every member.
    pub async fn require_two_factor(&self, ws: WorkspaceId) -> Result<bool> {
        let row: Option<(bool,)> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT require_two_factor FROM workspaces WHERE id = $1").bind(ws.to_string()).fetch_optional(pool).await?);
        row.map(|r| r.0).ok_or(StoreError::NotFound)
    }

    /// Requires two-factor sign-in of every member of the workspace, or stops requiring it.
    pub async fn set_require_two_factor(&self, ws: WorkspaceId, on: bool) -> Result<()> {
        let n = on_db!(self.db(), pool => sqlx::query("UPDATE workspaces SET require_two_factor = $1 WHERE id = $2")
            .bind(on).bind(ws.to_string()).execute(pool).await?.rows_affected());
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }

    /// Records a sign-in of `user` whose password was right and whose second factor is awaited,
    /// by the hash of the secret in that browser's cookie, until `expires_at`.
    pub async fn create_second_factor_challenge(
        &self,
        token_hash: &str,
        user: UserId,
        expires_at: i64,
    ) -> Result<()> {
        on_db!(self.db(), pool => sqlx::query(
            "INSERT INTO second_factor_challenges (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash).bind(user.to_string()).bind(self.now()).bind(expires_at).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// The person a sign-in waiting for its second factor is for, while it is neither taken nor
    /// expired.
    pub async fn second_factor_challenge(&self, token_hash: &str) -> Result<Option<UserId>> {
        let row: Option<(String,)> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT user_id FROM second_factor_challenges WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2")
            .bind(token_hash).bind(self.now()).fetch_optional(pool).await?);
        row.map(|(u,)| parse_id(&u)).transpose()
    }

    /// Takes a sign-in waiting for its second factor, in one statement: its person once, while it
    /// has not expired; `None` ever after.
    pub async fn take_second_factor_challenge(&self, token_hash: &str) -> Result<Option<UserId>> {
        let row: Option<(String,)> = on_db!(self.db(), pool => sqlx::query_as(
            "UPDATE second_factor_challenges SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1
             RETURNING user_id")
            .bind(self.now()).bind(token_hash).fetch_optional(pool).await?);
        row.map(|(u,)| parse_id(&u)).transpose()
    }

    /// When the session last proved who it is (its start, or its last re-authentication); `None`
    /// when it is not the person's.
    pub async fn session_reauthenticated_at(&self, user: UserId, session: SessionId) -> Result<Option<i64>> {
        let row: Option<(i64,)> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT COALESCE(reauthenticated_at, created_at) FROM sessions WHERE id = $1 AND user_id = $2")
            .bind(session.to_string()).bind(user.to_string()).fetch_optional(pool).await?);
        Ok(row.map(|(at,)| at))
    }

    /// Records that the session proved who it is now. `NotFound` when it is not the person's.
    pub async fn mark_reauthenticated(&self, user: UserId, session: SessionId) -> Result<()> {
        let n = on_db!(self.db(), pool => sqlx::query(
            "UPDATE sessions SET reauthenticated_at = $1 WHERE id = $2 AND user_id = $3")
            .bind(self.now()).bind(session.to_string()).bind(user.to_string()).execute(pool).await?.rows_affected());
        if n == 0 { Err(StoreError::NotFound) } else { Ok(()) }
    }
}
