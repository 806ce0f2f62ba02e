//! Signed, expiring media URLs: platforms download media from Herald without any session. The key
//! is derived from the newest master key of the keyring as it is now (another process may have
//! rotated it); any key of the ring verifies, so processes started at different times agree.

use std::sync::Arc;

use hmac::Mac;
use url::Url;

use crate::{HmacSha256, MasterVersion, Vault, derive_key, mac};

/// Signs and checks `/media/{file}?exp=…&kv=…&sig=…` URLs; `kv` names the master key version.
#[derive(Clone)]
pub struct UrlSigner {
    vault: Arc<Vault>,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UrlSigner(<redacted>)")
    }
}

/// The signing key derived from a master key.
fn derived(master: &[u8; 32]) -> [u8; 32] {
    derive_key(master, b"herald:media-url:v1")
}

fn signature(key: &[u8; 32], file: &str, exp: i64) -> HmacSha256 {
    mac(key, &[file.as_bytes(), exp.to_string().as_bytes()])
}

impl UrlSigner {
    pub fn new(vault: Arc<Vault>) -> Self {
        Self { vault }
    }

    /// `{base}/media/{file}?exp={exp}&kv={version}&sig={hmac}`, signed with the newest key.
    pub fn url(&self, base: &Url, file: &str, exp: i64) -> Url {
        let mut u = base.clone();
        let path = u.path().trim_end_matches('/').to_owned();
        u.set_path(&format!("{path}/media/{file}"));
        let ring = self.vault.current_ring();
        let (version, sig) = ring.newest().map_or((0, String::new()), |(v, k)| {
            (
                v,
                hex::encode(signature(&derived(k), file, exp).finalize().into_bytes()),
            )
        });
        u.query_pairs_mut()
            .append_pair("exp", &exp.to_string())
            .append_pair("kv", &version.to_string())
            .append_pair("sig", &sig);
        u
    }

    /// Whether `sig` is valid for `file` and `exp` under the key `version` (any key of the ring
    /// when the URL names none), and `exp` has not passed (Unix seconds). A version this process
    /// does not know yet makes it re-read the keyring, if its file changed.
    pub fn verify(&self, file: &str, exp: i64, version: Option<MasterVersion>, sig: &str, now: i64) -> bool {
        let Ok(given) = hex::decode(sig) else {
            return false;
        };
        if exp < now {
            return false;
        }
        let check = |k: &[u8; 32]| signature(&derived(k), file, exp).verify_slice(&given).is_ok();
        let ring = self.vault.ring();
        match version {
            Some(v) => match ring.raw_key(v) {
                Some(k) => check(k),
                // Re-read only when the file changed: a made-up version costs one `stat`.
                None => self.vault.current_ring().raw_key(v).is_some_and(check),
            },
            None => ring.versions().iter().filter_map(|v| ring.raw_key(*v)).any(check),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{KeySource, Keyring};

    fn sig(u: &Url) -> (Option<MasterVersion>, String) {
        let get = |k: &str| u.query_pairs().find(|(n, _)| n == k).map(|(_, v)| v.into_owned());
        (get("kv").and_then(|v| v.parse().ok()), get("sig").unwrap())
    }

    #[test]
    fn a_signed_url_verifies_until_it_expires_and_not_for_another_file() {
        let s = UrlSigner::new(Arc::new(Vault::new(
            Keyring::generate().unwrap(),
            KeySource::Inline,
        )));
        let u = s.url(&Url::parse("http://h:1/").unwrap(), "abc.jpg", 100);
        assert_eq!(u.path(), "/media/abc.jpg");
        let (kv, sig) = sig(&u);
        assert_eq!(kv, Some(1));
        assert!(s.verify("abc.jpg", 100, kv, &sig, 99));
        assert!(s.verify("abc.jpg", 100, None, &sig, 99), "no version: any key");
        assert!(!s.verify("abc.jpg", 100, kv, &sig, 101));
        assert!(!s.verify("abd.jpg", 100, kv, &sig, 99));
        assert!(!s.verify("abc.jpg", 101, kv, &sig, 99));
        assert!(!s.verify("abc.jpg", 100, Some(7), &sig, 99), "no such version");
    }

    #[test]
    fn processes_started_before_and_after_a_rotation_agree_without_a_restart() {
        let dir = std::env::temp_dir().join(format!("herald-signing-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let source = KeySource::File(dir.join("master.keys"));
        let ring = Keyring::generate().unwrap();
        source.save(&ring).unwrap();
        let old = UrlSigner::new(Arc::new(Vault::new(source.load(None).unwrap(), source.clone())));
        // `herald keys rotate` in another process; a process started after it.
        let mut rotated = ring.clone();
        rotated.add_new_version().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        source.save(&rotated).unwrap();
        let new = UrlSigner::new(Arc::new(Vault::new(source.load(None).unwrap(), source.clone())));
        let base = Url::parse("http://h/").unwrap();
        let (kv, s) = sig(&new.url(&base, "f.mp4", 100));
        assert_eq!(kv, Some(2));
        assert!(
            old.verify("f.mp4", 100, kv, &s, 1),
            "the older process learns version 2"
        );
        let (kv, s) = sig(&old.url(&base, "f.mp4", 100));
        assert_eq!(kv, Some(2), "and signs with the newest key");
        assert!(new.verify("f.mp4", 100, kv, &s, 1));
        let v1 = UrlSigner::new(Arc::new(Vault::new(ring, KeySource::Inline)));
        let (kv, s) = sig(&v1.url(&base, "f.mp4", 100));
        assert!(
            new.verify("f.mp4", 100, kv, &s, 1),
            "version 1 still verifies until retired"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
