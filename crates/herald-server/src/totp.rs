//! Time-based one-time passwords (RFC 6238: HOTP of RFC 4226 over HMAC-SHA1, six digits, 30-second
//! steps) and the unpadded base32 of RFC 4648 that authenticator apps take keys in. Pure maths.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

/// How long a code lasts, in seconds.
pub(crate) const STEP_SECONDS: i64 = 30;
/// How many digits a code has.
pub(crate) const DIGITS: u32 = 6;
/// The secret's length: 160 bits, as RFC 4226 recommends for HMAC-SHA1.
pub(crate) const SECRET_BYTES: usize = 20;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// The HOTP value of `counter` under `key`, truncated to `digits` decimal digits (RFC 4226 §5.3).
fn hotp(key: &[u8], counter: u64, digits: u32) -> u32 {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(&counter.to_be_bytes());
    let out = mac.finalize().into_bytes();
    let offset = usize::from(out[out.len() - 1] & 0x0f);
    let binary = (u32::from(out[offset] & 0x7f) << 24)
        | (u32::from(out[offset + 1]) << 16)
        | (u32::from(out[offset + 2]) << 8)
        | u32::from(out[offset + 3]);
    binary % 10u32.pow(digits)
}

/// The time step an instant (Unix seconds) falls in.
pub(crate) fn step(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(STEP_SECONDS)
}

/// The code of time step `step`, as an app shows it (six digits, leading zeros kept).
pub(crate) fn code_at_step(secret: &[u8], step: i64) -> String {
    let counter = u64::try_from(step).unwrap_or(0);
    format!(
        "{:0width$}",
        hotp(secret, counter, DIGITS),
        width = DIGITS as usize
    )
}

/// The code an app shows at `unix_seconds`.
pub(crate) fn code(secret: &[u8], unix_seconds: i64) -> String {
    code_at_step(secret, step(unix_seconds))
}

/// The time step whose code `given` is (spaces ignored), looking at the step of `unix_seconds`
/// and the one either side of it (a clock a little off, a code typed as it changed); the latest
/// when several match. `None` for anything else, or what is not six digits.
pub(crate) fn matching_step(secret: &[u8], given: &str, unix_seconds: i64) -> Option<i64> {
    let given: String = given.chars().filter(|c| !c.is_whitespace()).collect();
    if given.len() != DIGITS as usize || !given.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step(unix_seconds);
    [now + 1, now, now - 1]
        .into_iter()
        .find(|s| same(code_at_step(secret, *s).as_bytes(), given.as_bytes()))
}

/// Compares two codes in time that does not depend on where they differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `bytes` in RFC 4648 base32, without padding (what authenticator apps expect).
pub(crate) fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity((bytes.len() * 8).div_ceil(5));
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = ((buffer << 8) | u32::from(b)) & 0xffff;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(BASE32[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(BASE32[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The bytes of RFC 4648 base32 text, in either case, with or without padding, spaces and dashes
/// ignored; `None` when it holds another character.
pub(crate) fn from_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-' && *c != '=')
    {
        let c = u8::try_from(c.to_ascii_uppercase()).ok()?;
        let value = BASE32.iter().position(|a| *a == c)?;
        buffer = ((buffer << 5) | value as u32) & 0xffff;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(((buffer >> bits) & 0xff) as u8);
        }
    }
    Some(out)
}

/// The code an authenticator app holding the base32 key `secret_b32` shows at `unix_seconds`:
/// what a test types, as a person would. `None` when the key is not base32.
pub fn totp_code(secret_b32: &str, unix_seconds: i64) -> Option<String> {
    from_base32(secret_b32).map(|key| code(&key, unix_seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238's SHA-1 key.
    const RFC_KEY: &[u8] = b"12345678901234567890";

    #[test]
    fn the_rfc_6238_sha1_vectors_come_out_in_eight_and_in_six_digits() {
        for (t, eight) in [
            (59, 94_287_082),
            (1_111_111_109, 7_081_804),
            (1_111_111_111, 14_050_471),
            (1_234_567_890, 89_005_924),
            (2_000_000_000, 69_279_037),
            (20_000_000_000, 65_353_130),
        ] {
            let counter = u64::try_from(step(t)).unwrap();
            assert_eq!(hotp(RFC_KEY, counter, 8), eight, "T={t}");
            assert_eq!(code(RFC_KEY, t), format!("{:06}", eight % 1_000_000), "T={t}");
        }
        assert_eq!(code(RFC_KEY, 59), "287082");
        assert_eq!(code(RFC_KEY, 1_111_111_109), "081804", "leading zeros kept");
    }

    #[test]
    fn a_code_matches_its_own_step_and_one_either_side_and_nothing_else() {
        let t = 1_111_111_111;
        let now = step(t);
        assert_eq!(matching_step(RFC_KEY, &code(RFC_KEY, t), t), Some(now));
        assert_eq!(matching_step(RFC_KEY, &code(RFC_KEY, t - 30), t), Some(now - 1));
        assert_eq!(matching_step(RFC_KEY, &code(RFC_KEY, t + 30), t), Some(now + 1));
        assert_eq!(matching_step(RFC_KEY, &code(RFC_KEY, t - 60), t), None);
        assert_eq!(matching_step(RFC_KEY, &code(RFC_KEY, t + 60), t), None);
        let spaced = format!("{} {}", &code(RFC_KEY, t)[..3], &code(RFC_KEY, t)[3..]);
        assert_eq!(matching_step(RFC_KEY, &spaced, t), Some(now));
        for bad in ["", "12345", "1234567", "12345a", "１２３４５６"] {
            assert_eq!(matching_step(RFC_KEY, bad, t), None, "{bad}");
        }
    }

    #[test]
    fn base32_follows_rfc_4648_without_padding_and_reads_back() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(plain.as_bytes()), encoded);
            assert_eq!(from_base32(encoded).unwrap(), plain.as_bytes());
        }
        assert_eq!(from_base32("mzxw 6ytb oi======").unwrap(), b"foobar");
        assert_eq!(from_base32("MZXW1"), None, "1 is not base32");
        assert_eq!(base32(RFC_KEY), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(base32(RFC_KEY).len(), 32, "160 bits, no padding");
        assert_eq!(
            totp_code("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 59).as_deref(),
            Some("287082")
        );
    }
}
