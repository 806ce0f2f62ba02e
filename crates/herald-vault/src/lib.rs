//! The token vault: AES-256-GCM envelope encryption with a versioned master keyring.
//!
//! Every workspace has a data key; the data key is wrapped by a master key of the keyring, and each
//! secret is sealed with the data key and its row's identity as associated data, so a ciphertext copied
//! to another row does not open. Rotation re-wraps data keys; secrets never need re-encrypting.

mod audit;
mod cipher;
mod keyring;
mod signing;

pub use audit::{AuditMacError, AuditSigner};
pub use cipher::{DataKey, secret_aad};
pub use keyring::{KeySource, Keyring, MasterVersion, Vault};
pub use signing::UrlSigner;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

pub(crate) type HmacSha256 = Hmac<Sha256>;

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("master key version {0} is not in the keyring")]
    UnknownMasterKey(MasterVersion),
    #[error("decryption failed: the ciphertext does not belong to this row or key")]
    Decrypt,
    #[error("malformed keyring: {0}")]
    BadKeyring(String),
    #[error("keyring file {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error(
        "the master keyring {path} can be read by group or others (mode {mode:o}); run `chmod 600 {path}`"
    )]
    Exposed { path: String, mode: u32 },
    #[error("randomness unavailable: {0}")]
    Random(String),
}

pub(crate) fn random_bytes<const N: usize>() -> Result<[u8; N], VaultError> {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).map_err(|e| VaultError::Random(e.to_string()))?;
    Ok(b)
}

/// An HMAC over `parts`, each followed by `|`.
pub(crate) fn mac(key: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        m.update(p);
        m.update(b"|");
    }
    m
}

/// The key for one purpose derived from a master key (never the master key itself).
pub(crate) fn derive_key(master: &[u8; 32], purpose: &[u8]) -> [u8; 32] {
    mac(master, &[purpose]).finalize().into_bytes().into()
}
