//! Data keys of workspaces and of people (wrapped by the master keyring) and the profile secrets they seal.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use herald_domain::profile::SecretKind;
use herald_domain::{ProfileId, WorkspaceId};
use herald_vault::{DataKey, Keyring, MasterVersion, secret_aad};
use secrecy::SecretString;

use crate::{Result, Store, StoreError, on_db};

/// How many data keys each master key version wraps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyStatus {
    pub master_version: MasterVersion,
    pub data_keys: u64,
}

/// Every data key with the id it is wrapped under: a workspace's id, or `user:<id>` for a
/// person's own key (two-factor sign-in's secrets).
const ALL_DATA_KEYS: &str = "SELECT workspace_id, master_version, wrapped FROM data_keys
     UNION ALL SELECT 'user:' || user_id, master_version, wrapped FROM user_data_keys";

/// How long an unwrapped data key stays in memory for the next use (publishing a burst opens
/// the same workspace's key for every delivery).
const KEEP_UNWRAPPED: Duration = Duration::from_secs(60);

/// Workspaces' unwrapped data keys, each kept for [`KEEP_UNWRAPPED`] after it was read, zeroized
/// when the last user drops it.
#[derive(Clone, Default)]
pub(crate) struct DataKeyCache(Arc<Mutex<HashMap<WorkspaceId, Unwrapped>>>);

/// A data key kept unwrapped, with when it was read.
type Unwrapped = (Instant, Arc<DataKey>);

impl DataKeyCache {
    fn get(&self, ws: WorkspaceId) -> Option<Arc<DataKey>> {
        let mut keys = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        keys.retain(|_, (read, _)| read.elapsed() < KEEP_UNWRAPPED);
        keys.get(&ws).map(|(_, k)| Arc::clone(k))
    }

    fn keep(&self, ws: WorkspaceId, key: &Arc<DataKey>) {
        let mut keys = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        keys.insert(ws, (Instant::now(), Arc::clone(key)));
    }

    /// Drops every key kept (a workspace was deleted).
    pub(crate) fn forget_all(&self) {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}

pub(crate) fn version(v: i64) -> Result<MasterVersion> {
    MasterVersion::try_from(v).map_err(|_| StoreError::Corrupt(format!("master version {v}")))
}

impl Store {
    /// The workspace's data key, created and wrapped on first use; kept unwrapped for a minute.
    pub(crate) async fn data_key(&self, ws: WorkspaceId) -> Result<Arc<DataKey>> {
        if let Some(key) = self.data_keys.get(ws) {
            return Ok(key);
        }
        let ws_s = ws.to_string();
        loop {
            let row: Option<(i64, Vec<u8>)> = on_db!(self.db(), pool =>
                sqlx::query_as("SELECT master_version, wrapped FROM data_keys WHERE workspace_id = $1")
                    .bind(&ws_s).fetch_optional(pool).await?);
            if let Some((v, wrapped)) = row {
                let key = Arc::new(self.vault().unwrap(&ws_s, version(v)?, &wrapped)?);
                self.data_keys.keep(ws, &key);
                return Ok(key);
            }
            let dk = DataKey::generate()?;
            let (v, wrapped) = self.vault().wrap(&ws_s, &dk)?;
            on_db!(self.db(), pool => sqlx::query("INSERT INTO data_keys (workspace_id, master_version, wrapped, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (workspace_id) DO NOTHING")
                .bind(&ws_s).bind(i64::from(v)).bind(wrapped).bind(self.now()).execute(pool).await?.rows_affected());
        }
    }

    /// Seals and stores a profile's secret.
    pub async fn put_secret(
        &self,
        ws: WorkspaceId,
        profile: ProfileId,
        kind: SecretKind,
        plaintext: &str,
    ) -> Result<()> {
        let dk = self.data_key(ws).await?;
        let blob = dk.seal(
            &secret_aad(&ws.to_string(), &profile.to_string(), kind.as_str()),
            plaintext.as_bytes(),
        )?;
        on_db!(self.db(), pool => sqlx::query(
            "INSERT INTO profile_secrets (profile_id, kind, workspace_id, ciphertext, updated_at) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (profile_id, kind) DO UPDATE SET ciphertext = excluded.ciphertext, updated_at = excluded.updated_at")
            .bind(profile.to_string()).bind(kind.as_str()).bind(ws.to_string()).bind(blob).bind(self.now()).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Forgets a profile's secret of `kind`, if it has one.
    pub async fn delete_secret(&self, ws: WorkspaceId, profile: ProfileId, kind: SecretKind) -> Result<()> {
        on_db!(self.db(), pool => sqlx::query(
            "DELETE FROM profile_secrets WHERE workspace_id = $1 AND profile_id = $2 AND kind = $3")
            .bind(ws.to_string()).bind(profile.to_string()).bind(kind.as_str()).execute(pool).await?.rows_affected());
        Ok(())
    }

    /// Opens a profile's secret; `None` when there is none.
    pub async fn get_secret(
        &self,
        ws: WorkspaceId,
        profile: ProfileId,
        kind: SecretKind,
    ) -> Result<Option<SecretString>> {
        let row: Option<(Vec<u8>,)> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT ciphertext FROM profile_secrets WHERE workspace_id = $1 AND profile_id = $2 AND kind = $3")
            .bind(ws.to_string()).bind(profile.to_string()).bind(kind.as_str()).fetch_optional(pool).await?);
        let Some((blob,)) = row else { return Ok(None) };
        self.open_secret(ws, profile, kind, &blob).await.map(Some)
    }

    /// Opens a profile's secret of `kind` as sealed in `blob` (read with other things, as a
    /// claimed delivery's [`crate::Work`] reads its token).
    pub async fn open_secret(
        &self,
        ws: WorkspaceId,
        profile: ProfileId,
        kind: SecretKind,
        blob: &[u8],
    ) -> Result<SecretString> {
        let dk = self.data_key(ws).await?;
        let plain = dk.open(
            &secret_aad(&ws.to_string(), &profile.to_string(), kind.as_str()),
            blob,
        )?;
        let text =
            std::str::from_utf8(&plain).map_err(|_| StoreError::Corrupt("secret is not UTF-8".into()))?;
        Ok(SecretString::from(text.to_owned()))
    }

    /// Counts data keys per master key version.
    pub async fn key_status(&self) -> Result<Vec<KeyStatus>> {
        let rows: Vec<(i64, i64)> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT master_version, COUNT(*) FROM (SELECT master_version FROM data_keys
               UNION ALL SELECT master_version FROM user_data_keys) k GROUP BY master_version ORDER BY master_version")
            .fetch_all(pool).await?);
        rows.into_iter()
            .map(|(v, n)| {
                Ok(KeyStatus {
                    master_version: version(v)?,
                    data_keys: u64::try_from(n).unwrap_or(0),
                })
            })
            .collect()
    }

    /// Checks that `ring` opens every stored data key; names the first it cannot.
    pub async fn verify_data_keys(&self, ring: &Keyring) -> Result<(), String> {
        let rows: Vec<(String, i64, Vec<u8>)> = on_db!(self.db(), pool =>
            sqlx::query_as(ALL_DATA_KEYS).fetch_all(pool).await)
        .map_err(|e| e.to_string())?;
        for (ws, v, wrapped) in rows {
            let v = version(v).map_err(|e| e.to_string())?;
            if ring.unwrap(&ws, v, &wrapped).is_err() {
                return Err(format!(
                    "no master key in the ring opens the data key of workspace {ws} (wrapped by master key version {v}); \
                     the ring has versions {:?}",
                    ring.versions()
                ));
            }
        }
        Ok(())
    }

    /// Re-wraps every data key not yet under `ring`'s current version. Each update is conditional on the
    /// version it read, so concurrent rotations cannot lose a key. Returns how many were re-wrapped.
    pub async fn rewrap_data_keys(&self, ring: &Keyring) -> Result<u64> {
        let current = ring
            .current()
            .ok_or_else(|| StoreError::Corrupt("empty keyring".into()))?;
        let rows: Vec<(String, i64, Vec<u8>)> = on_db!(self.db(), pool => sqlx::query_as(
            "SELECT workspace_id, master_version, wrapped FROM data_keys WHERE master_version <> $1
             UNION ALL SELECT 'user:' || user_id, master_version, wrapped FROM user_data_keys WHERE master_version <> $1")
            .bind(i64::from(current)).fetch_all(pool).await?);
        let mut n = 0;
        for (ws, v, wrapped) in rows {
            let dk = ring.unwrap(&ws, version(v)?, &wrapped)?;
            let (nv, rewrapped) = ring.wrap(&ws, &dk)?;
            // A person's key (`user:<id>`) or a workspace's.
            let (sql, key) = match ws.strip_prefix("user:") {
                Some(user) => (
                    "UPDATE user_data_keys SET master_version = $1, wrapped = $2 WHERE user_id = $3 AND master_version = $4",
                    user,
                ),
                None => (
                    "UPDATE data_keys SET master_version = $1, wrapped = $2 WHERE workspace_id = $3 AND master_version = $4",
                    ws.as_str(),
                ),
            };
            n += on_db!(self.db(), pool => sqlx::query(sql)
                .bind(i64::from(nv)).bind(rewrapped).bind(key).bind(v).execute(pool).await?.rows_affected());
        }
        Ok(n)
    }
}
