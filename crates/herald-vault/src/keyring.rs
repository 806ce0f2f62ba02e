//! The master keyring: versions of 256-bit keys, loaded from the environment or a 0600 file.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use zeroize::Zeroizing;

use crate::cipher::{open, seal};
use crate::{DataKey, VaultError, random_bytes};

pub type MasterVersion = u32;

/// Versioned master keys. The highest version wraps new data keys.
#[derive(Clone, Default)]
pub struct Keyring {
    keys: BTreeMap<MasterVersion, Zeroizing<[u8; 32]>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Keyring(versions={:?})", self.versions())
    }
}

fn dk_aad(workspace_id: &str) -> Vec<u8> {
    format!("herald:data-key:v1|{workspace_id}").into_bytes()
}

impl Keyring {
    /// Parses `VERSION:BASE64` entries separated by commas or new lines (`#` starts a comment).
    pub fn parse(text: &str) -> Result<Self, VaultError> {
        let mut keys = BTreeMap::new();
        for entry in text
            .split([',', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty() && !e.starts_with('#'))
        {
            let (v, k) = entry
                .split_once(':')
                .ok_or_else(|| VaultError::BadKeyring("each entry must be VERSION:BASE64KEY".into()))?;
            let version: MasterVersion = v
                .trim()
                .parse()
                .map_err(|_| VaultError::BadKeyring(format!("`{v}` is not a version number")))?;
            let raw = Zeroizing::new(
                STANDARD
                    .decode(k.trim())
                    .map_err(|_| VaultError::BadKeyring(format!("key version {version} is not base64")))?,
            );
            let key: [u8; 32] = raw.as_slice().try_into().map_err(|_| {
                VaultError::BadKeyring(format!(
                    "key version {version} must be 32 bytes, is {}",
                    raw.len()
                ))
            })?;
            keys.insert(version, Zeroizing::new(key));
        }
        if keys.is_empty() {
            return Err(VaultError::BadKeyring("no keys".into()));
        }
        Ok(Self { keys })
    }

    /// A ring with one new random key, version 1.
    pub fn generate() -> Result<Self, VaultError> {
        let mut ring = Self::default();
        ring.add_new_version()?;
        Ok(ring)
    }

    /// Adds a random key with the next version number and returns that version.
    pub fn add_new_version(&mut self) -> Result<MasterVersion, VaultError> {
        let version = self.current().map_or(1, |v| v + 1);
        self.keys.insert(version, Zeroizing::new(random_bytes()?));
        Ok(version)
    }

    pub fn remove(&mut self, version: MasterVersion) -> bool {
        self.keys.remove(&version).is_some()
    }

    pub fn current(&self) -> Option<MasterVersion> {
        self.keys.keys().next_back().copied()
    }

    /// The key of `version`, if the ring has it.
    pub(crate) fn raw_key(&self, version: MasterVersion) -> Option<&[u8; 32]> {
        self.keys.get(&version).map(|k| &**k)
    }

    /// The newest version and its key.
    pub(crate) fn newest(&self) -> Option<(MasterVersion, &[u8; 32])> {
        self.keys.iter().next_back().map(|(v, k)| (*v, &**k))
    }

    pub fn versions(&self) -> Vec<MasterVersion> {
        self.keys.keys().copied().collect()
    }

    /// The ring in its file form. The result is secret: write it only to a 0600 file.
    pub fn to_file_text(&self) -> Zeroizing<String> {
        let mut s =
            String::from("# Herald master keys. Back this file up: without it no token can be decrypted.\n");
        for (v, k) in &self.keys {
            s.push_str(&format!("{v}:{}\n", STANDARD.encode(**k)));
        }
        Zeroizing::new(s)
    }

    /// Wraps a workspace's data key under the current master key.
    pub fn wrap(&self, workspace_id: &str, dk: &DataKey) -> Result<(MasterVersion, Vec<u8>), VaultError> {
        let (version, key) = self
            .keys
            .iter()
            .next_back()
            .ok_or(VaultError::BadKeyring("no keys".into()))?;
        Ok((*version, seal(key, &dk_aad(workspace_id), dk.bytes())?))
    }

    pub fn unwrap(
        &self,
        workspace_id: &str,
        version: MasterVersion,
        blob: &[u8],
    ) -> Result<DataKey, VaultError> {
        let key = self
            .keys
            .get(&version)
            .ok_or(VaultError::UnknownMasterKey(version))?;
        DataKey::from_bytes(&open(key, &dk_aad(workspace_id), blob)?)
    }
}

/// Where the keyring comes from, so a running process can reload it after `herald keys rotate`.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// `HERALD_MASTER_KEYS`: fixed for the life of the process.
    Inline,
    /// A file: `HERALD_MASTER_KEYS_FILE`, or `master.keys` in the data directory.
    File(PathBuf),
}

impl KeySource {
    /// Reads the ring; a file that anyone but its owner may read is refused, every time it is read.
    pub fn load(&self, inline: Option<&str>) -> Result<Keyring, VaultError> {
        match self {
            Self::Inline => Keyring::parse(inline.unwrap_or_default()),
            Self::File(path) => {
                #[cfg(unix)]
                {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = std::fs::metadata(path)
                        .map_err(|source| VaultError::Io {
                            path: path.display().to_string(),
                            source,
                        })?
                        .permissions()
                        .mode();
                    if mode & 0o077 != 0 {
                        return Err(VaultError::Exposed {
                            path: path.display().to_string(),
                            mode: mode & 0o777,
                        });
                    }
                }
                let text =
                    Zeroizing::new(std::fs::read_to_string(path).map_err(|source| VaultError::Io {
                        path: path.display().to_string(),
                        source,
                    })?);
                Keyring::parse(&text)
            }
        }
    }

    /// Writes the ring to the file with mode 0600, atomically.
    pub fn save(&self, ring: &Keyring) -> Result<(), VaultError> {
        let Self::File(path) = self else {
            return Err(VaultError::BadKeyring(
                "the keyring comes from HERALD_MASTER_KEYS; update that variable instead".into(),
            ));
        };
        let io = |source| VaultError::Io {
            path: path.display().to_string(),
            source,
        };
        let tmp = path.with_extension("keys.tmp");
        {
            use std::io::Write;
            // A leftover temporary file would keep its mode: start from none.
            let _ = std::fs::remove_file(&tmp);
            let mut opts = std::fs::OpenOptions::new();
            opts.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
            let mut f = opts.open(&tmp).map_err(io)?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                f.set_permissions(std::fs::Permissions::from_mode(0o600))
                    .map_err(io)?;
            }
            f.write_all(ring.to_file_text().as_bytes()).map_err(io)?;
            f.sync_all().map_err(io)?;
        }
        std::fs::rename(&tmp, path).map_err(io)
    }
}

/// The keyring a process uses, reloaded from its source when it meets an unknown version or its
/// file changed (another process rotated it).
pub struct Vault {
    ring: RwLock<Arc<Keyring>>,
    source: KeySource,
    /// The keyring file's modification time when it was last read.
    read_at: RwLock<Option<std::time::SystemTime>>,
}

fn modified(source: &KeySource) -> Option<std::time::SystemTime> {
    match source {
        KeySource::File(path) => std::fs::metadata(path).and_then(|m| m.modified()).ok(),
        KeySource::Inline => None,
    }
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Vault({:?})", self.source)
    }
}

impl Vault {
    pub fn new(ring: Keyring, source: KeySource) -> Self {
        let read_at = RwLock::new(modified(&source));
        Self {
            ring: RwLock::new(Arc::new(ring)),
            source,
            read_at,
        }
    }

    pub fn ring(&self) -> Arc<Keyring> {
        self.ring
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Re-reads a file keyring (a no-op for an inline one).
    pub fn reload(&self) -> Result<(), VaultError> {
        if let KeySource::File(_) = self.source {
            let at = modified(&self.source);
            let ring = self.source.load(None)?;
            *self
                .ring
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(ring);
            *self
                .read_at
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = at;
            tracing::info!("master keyring reloaded");
        }
        Ok(())
    }

    /// The ring, re-read first when its file changed since it was read (one `stat`), so a key
    /// another process added is used at once.
    pub fn current_ring(&self) -> Arc<Keyring> {
        let known = *self
            .read_at
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = modified(&self.source);
        if now.is_some()
            && now != known
            && let Err(e) = self.reload()
        {
            tracing::warn!(error = %e, "re-reading the master keyring failed; keeping the one in memory");
        }
        self.ring()
    }

    pub fn wrap(&self, workspace_id: &str, dk: &DataKey) -> Result<(MasterVersion, Vec<u8>), VaultError> {
        self.ring().wrap(workspace_id, dk)
    }

    /// Unwraps a data key, reloading the ring once if the version is unknown (rotated by another process).
    pub fn unwrap(
        &self,
        workspace_id: &str,
        version: MasterVersion,
        blob: &[u8],
    ) -> Result<DataKey, VaultError> {
        match self.ring().unwrap(workspace_id, version, blob) {
            Err(VaultError::UnknownMasterKey(_)) => {
                self.reload()?;
                self.ring().unwrap(workspace_id, version, blob)
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_data_key_wrapped_by_an_old_version_opens_after_rotation_and_not_after_its_removal() {
        let mut ring = Keyring::generate().unwrap();
        let dk = DataKey::generate().unwrap();
        let (v1, blob) = ring.wrap("ws", &dk).unwrap();
        let v2 = ring.add_new_version().unwrap();
        assert_eq!((v1, v2), (1, 2));
        let opened = ring.unwrap("ws", v1, &blob).unwrap();
        let (v, rewrapped) = ring.wrap("ws", &opened).unwrap();
        assert_eq!(v, 2);
        ring.remove(1);
        assert!(matches!(
            ring.unwrap("ws", 1, &blob),
            Err(VaultError::UnknownMasterKey(1))
        ));
        assert!(ring.unwrap("ws", 2, &rewrapped).is_ok());
        assert!(ring.unwrap("other-ws", 2, &rewrapped).is_err());
    }

    #[test]
    fn the_file_form_parses_back_and_bad_entries_are_explained() {
        let ring = Keyring::generate().unwrap();
        let back = Keyring::parse(&ring.to_file_text()).unwrap();
        assert_eq!(back.versions(), vec![1]);
        let err = Keyring::parse("1:c2hvcnQ=").unwrap_err().to_string();
        assert!(err.contains("32 bytes"), "{err}");
        assert!(!format!("{ring:?}").contains(&ring.to_file_text()[60..70]));
    }

    #[test]
    fn a_running_vault_picks_up_a_rotated_file() {
        let dir = std::env::temp_dir().join(format!("herald-vault-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let source = KeySource::File(dir.join("master.keys"));
        let ring = Keyring::generate().unwrap();
        source.save(&ring).unwrap();
        let vault = Vault::new(source.load(None).unwrap(), source.clone());
        let mut rotated = ring.clone();
        rotated.add_new_version().unwrap();
        source.save(&rotated).unwrap();
        let dk = DataKey::generate().unwrap();
        let (v, blob) = rotated.wrap("ws", &dk).unwrap();
        assert!(vault.unwrap("ws", v, &blob).is_ok());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
