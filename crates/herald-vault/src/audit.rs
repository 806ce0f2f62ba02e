//! The audit log's MACs: each entry is chained to the one before it by an HMAC under a key derived
//! from the newest master key as it is now (another process may have rotated it). The entry names
//! that key's version, so any key still in the ring verifies it; a retired one cannot.

use std::sync::Arc;

use hmac::Mac;

use crate::{HmacSha256, MasterVersion, Vault, derive_key, mac};

/// Why an audit MAC did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AuditMacError {
    #[error("master key version {0} is not in the keyring (retired or missing)")]
    UnknownKey(MasterVersion),
    #[error("the MAC does not match")]
    Mismatch,
}

/// Signs and checks the audit log's chained MACs.
#[derive(Clone)]
pub struct AuditSigner {
    vault: Arc<Vault>,
}

impl std::fmt::Debug for AuditSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditSigner(<redacted>)")
    }
}

/// `HMAC(audit key, prev_mac ‖ entry)`, the audit key derived from `master`.
fn chained(master: &[u8; 32], prev_mac: &[u8], entry: &[u8]) -> HmacSha256 {
    mac(&derive_key(master, b"herald:audit:v1"), &[prev_mac, entry])
}

impl AuditSigner {
    pub fn new(vault: Arc<Vault>) -> Self {
        Self { vault }
    }

    /// The MAC of `entry` chained to `prev_mac` under the newest key, and that key's version;
    /// `None` when the ring has no key.
    pub fn sign(&self, prev_mac: &[u8], entry: &[u8]) -> Option<(MasterVersion, [u8; 32])> {
        let ring = self.vault.current_ring();
        let (version, master) = ring.newest()?;
        let mac: [u8; 32] = chained(master, prev_mac, entry).finalize().into_bytes().into();
        Some((version, mac))
    }

    /// Checks, in constant time, that `mac` is `entry`'s chained to `prev_mac` under the key
    /// `version`. A version this process does not know yet makes it re-read the keyring, if its
    /// file changed.
    pub fn verify(
        &self,
        version: MasterVersion,
        prev_mac: &[u8],
        entry: &[u8],
        mac: &[u8],
    ) -> Result<(), AuditMacError> {
        let ring = self.vault.ring();
        let ring = if ring.raw_key(version).is_some() {
            ring
        } else {
            self.vault.current_ring()
        };
        let master = ring.raw_key(version).ok_or(AuditMacError::UnknownKey(version))?;
        chained(master, prev_mac, entry)
            .verify_slice(mac)
            .map_err(|_| AuditMacError::Mismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KeySource, Keyring};

    fn signer(ring: Keyring) -> AuditSigner {
        AuditSigner::new(Arc::new(Vault::new(ring, KeySource::Inline)))
    }

    #[test]
    fn a_signed_entry_verifies_and_an_altered_entry_or_predecessor_does_not() {
        let s = signer(Keyring::generate().unwrap());
        let prev = [7u8; 32];
        let (v, mac) = s.sign(&prev, b"entry").unwrap();
        assert_eq!(v, 1);
        assert_eq!(s.verify(v, &prev, b"entry", &mac), Ok(()));
        let mismatch: Result<(), _> = Err(AuditMacError::Mismatch);
        assert_eq!(s.verify(v, &prev, b"entrY", &mac), mismatch);
        assert_eq!(s.verify(v, &[8u8; 32], b"entry", &mac), mismatch);
        assert_eq!(s.verify(v, &prev, b"entry", &mac[..31]), mismatch);
    }

    #[test]
    fn an_unknown_key_version_is_named_and_an_empty_ring_signs_nothing() {
        let s = signer(Keyring::generate().unwrap());
        let (_, mac) = s.sign(b"", b"entry").unwrap();
        let unknown: Result<(), _> = Err(AuditMacError::UnknownKey(2));
        assert_eq!(s.verify(2, b"", b"entry", &mac), unknown);
        assert!(signer(Keyring::default()).sign(b"", b"entry").is_none());
    }

    #[test]
    fn an_entry_signed_before_a_rotation_still_verifies_and_new_ones_use_the_new_key() {
        let mut ring = Keyring::generate().unwrap();
        let (v1, mac) = signer(ring.clone()).sign(b"", b"entry").unwrap();
        ring.add_new_version().unwrap();
        let rotated = signer(ring);
        assert_eq!(rotated.verify(v1, b"", b"entry", &mac), Ok(()));
        let (v2, newer) = rotated.sign(b"", b"entry").unwrap();
        assert_eq!(v2, 2);
        assert_ne!(newer, mac, "each version derives its own audit key");
    }
}
