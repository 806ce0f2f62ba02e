//! Sealing and opening with AES-256-GCM: data keys under master keys, secrets under data keys.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use zeroize::{Zeroize, Zeroizing};

use crate::{VaultError, random_bytes};

const FORMAT_V1: u8 = 1;
const NONCE_LEN: usize = 12;

/// Seals `msg` under `key` with `aad`: `[format][nonce][ciphertext+tag]`.
pub(crate) fn seal(key: &[u8; 32], aad: &[u8], msg: &[u8]) -> Result<Vec<u8>, VaultError> {
    let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key));
    let nonce_bytes: [u8; NONCE_LEN] = random_bytes()?;
    let ct = cipher
        .encrypt(&Nonce::from(nonce_bytes), Payload { msg, aad })
        .map_err(|_| VaultError::Decrypt)?;
    let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
    out.push(FORMAT_V1);
    out.extend_from_slice(&nonce_bytes);
    out.extend_from_slice(&ct);
    Ok(out)
}

pub(crate) fn open(key: &[u8; 32], aad: &[u8], blob: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    if blob.len() < 1 + NONCE_LEN + 16 || blob[0] != FORMAT_V1 {
        return Err(VaultError::Decrypt);
    }
    let cipher = Aes256Gcm::new(&Key::<Aes256Gcm>::from(*key));
    let mut nonce = [0u8; NONCE_LEN];
    nonce.copy_from_slice(&blob[1..=NONCE_LEN]);
    cipher
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: &blob[1 + NONCE_LEN..],
                aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| VaultError::Decrypt)
}

/// The associated data that binds a secret to its row.
pub fn secret_aad(workspace_id: &str, profile_id: &str, kind: &str) -> String {
    format!("herald:secret:v1|{workspace_id}|{profile_id}|{kind}")
}

/// A workspace's data key, zeroized on drop and never printed.
pub struct DataKey([u8; 32]);

impl DataKey {
    pub fn generate() -> Result<Self, VaultError> {
        Ok(Self(random_bytes()?))
    }

    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Self, VaultError> {
        let arr: [u8; 32] = bytes.try_into().map_err(|_| VaultError::Decrypt)?;
        Ok(Self(arr))
    }

    pub(crate) fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Encrypts a secret for the row named by `aad`.
    pub fn seal(&self, aad: &str, plaintext: &[u8]) -> Result<Vec<u8>, VaultError> {
        seal(&self.0, aad.as_bytes(), plaintext)
    }

    /// Decrypts a secret; fails when the ciphertext was made for another row or key.
    pub fn open(&self, aad: &str, blob: &[u8]) -> Result<Zeroizing<Vec<u8>>, VaultError> {
        open(&self.0, aad.as_bytes(), blob)
    }
}

impl Drop for DataKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DataKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_sealed_for_one_row_does_not_open_for_another() {
        let dk = DataKey::generate().unwrap();
        let a = secret_aad("ws1", "p1", "access_token");
        let b = secret_aad("ws1", "p2", "access_token");
        let blob = dk.seal(&a, b"IGtoken").unwrap();
        assert_eq!(&**dk.open(&a, &blob).unwrap(), b"IGtoken");
        assert!(matches!(dk.open(&b, &blob), Err(VaultError::Decrypt)));
    }

    #[test]
    fn a_tampered_ciphertext_does_not_open_and_debug_hides_the_key() {
        let dk = DataKey::generate().unwrap();
        let mut blob = dk.seal("aad", b"secret").unwrap();
        let last = blob.len() - 1;
        blob[last] ^= 1;
        assert!(dk.open("aad", &blob).is_err());
        assert_eq!(format!("{dk:?}"), "DataKey(<redacted>)");
    }
}
