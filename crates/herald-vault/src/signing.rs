//! Signed, expiring media URLs: platforms download media from Herald without any session.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use url::Url;

use crate::Keyring;

type HmacSha256 = Hmac<Sha256>;

/// Signs and checks `/media/{file}?exp=…&sig=…` URLs with a key derived from each master key.
#[derive(Clone)]
pub struct UrlSigner {
    /// Derived keys, newest first; the first signs, any verifies.
    keys: Vec<[u8; 32]>,
}

impl std::fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UrlSigner(<redacted>)")
    }
}

fn mac(key: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    let mut m = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    for p in parts {
        m.update(p);
        m.update(b"|");
    }
    m
}

impl UrlSigner {
    pub fn from_keyring(ring: &Keyring) -> Self {
        let keys = ring
            .raw_keys_newest_first()
            .map(|k| mac(k, &[b"herald:media-url:v1"]).finalize().into_bytes().into())
            .collect();
        Self { keys }
    }

    fn signature(key: &[u8; 32], file: &str, exp: i64) -> String {
        hex::encode(
            mac(key, &[file.as_bytes(), exp.to_string().as_bytes()])
                .finalize()
                .into_bytes(),
        )
    }

    /// `{base}/media/{file}?exp={exp}&sig={hmac}`.
    pub fn url(&self, base: &Url, file: &str, exp: i64) -> Url {
        let mut u = base.clone();
        let path = u.path().trim_end_matches('/').to_owned();
        u.set_path(&format!("{path}/media/{file}"));
        let sig = self
            .keys
            .first()
            .map(|k| Self::signature(k, file, exp))
            .unwrap_or_default();
        u.query_pairs_mut()
            .append_pair("exp", &exp.to_string())
            .append_pair("sig", &sig);
        u
    }

    /// Whether `sig` is valid for `file` and `exp` has not passed (Unix seconds).
    pub fn verify(&self, file: &str, exp: i64, sig: &str, now: i64) -> bool {
        let Ok(given) = hex::decode(sig) else { return false };
        exp >= now
            && self.keys.iter().any(|k| {
                mac(k, &[file.as_bytes(), exp.to_string().as_bytes()])
                    .verify_slice(&given)
                    .is_ok()
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signed_url_verifies_until_it_expires_and_not_for_another_file() {
        let s = UrlSigner::from_keyring(&Keyring::generate().unwrap());
        let u = s.url(&Url::parse("http://h:1/").unwrap(), "abc.jpg", 100);
        assert_eq!(u.path(), "/media/abc.jpg");
        let sig = u.query_pairs().find(|(k, _)| k == "sig").unwrap().1.into_owned();
        assert!(s.verify("abc.jpg", 100, &sig, 99));
        assert!(!s.verify("abc.jpg", 100, &sig, 101));
        assert!(!s.verify("abd.jpg", 100, &sig, 99));
        assert!(!s.verify("abc.jpg", 101, &sig, 99));
    }
}
