//! The media's encryption: AES-256-CBC with PKCS#7 padding under a random 32-byte key and 16-byte
//! IV, as Snap asks (`openssl enc -aes-256-cbc -nosalt -K <key> -iv <iv>`) [official S3], computed
//! one part at a time: each part continues the chain from the last ciphertext block of the one
//! before (the IV for the first), and only the last is padded, so the parts put together are the
//! ciphertext of the whole file.

use aes::Aes256;
use aes::cipher::{BlockCipherEncrypt, Key, KeyInit};
use base64::Engine;

use crate::PlatformError;

/// AES's block, and a CBC chaining value.
pub(super) const BLOCK: usize = 16;
/// An AES-256 key.
pub(super) const KEY_BYTES: usize = 32;

/// `N` random bytes from the system.
pub(super) fn random<const N: usize>() -> Result<[u8; N], PlatformError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(|e| PlatformError::Platform {
        message: format!("the system's random number generator failed ({e})"),
    })?;
    Ok(bytes)
}

/// Base64 (standard, padded), as Snap takes the key and IV.
pub(super) fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `N` bytes the handle saved as base64 (`what` names them when they cannot be read).
pub(super) fn decode<const N: usize>(text: Option<&str>, what: &str) -> Result<[u8; N], PlatformError> {
    let raw = text
        .and_then(|t| base64::engine::general_purpose::STANDARD.decode(t).ok())
        .ok_or_else(|| crate::adapter::unreadable(format!("it holds no readable {what}")))?;
    <[u8; N]>::try_from(raw.as_slice())
        .map_err(|_| crate::adapter::unreadable(format!("its {what} is not {N} bytes")))
}

/// Encrypts one part of the media with AES-256-CBC, continuing from `chain` (the IV for the first
/// part, else the last ciphertext block of the part before); the last part gets PKCS#7 padding (a
/// whole block of it when the file ends on a block). Returns the ciphertext and its last block,
/// the chain the next part continues from. A part before the last must be whole blocks.
pub(super) fn encrypt_part(
    key: &[u8; KEY_BYTES],
    chain: &[u8; BLOCK],
    mut data: Vec<u8>,
    last: bool,
) -> Result<(Vec<u8>, [u8; BLOCK]), PlatformError> {
    if last {
        let pad = BLOCK - data.len() % BLOCK;
        data.extend(std::iter::repeat_n(pad as u8, pad));
    } else if data.is_empty() || !data.len().is_multiple_of(BLOCK) {
        return Err(PlatformError::Platform {
            message: format!(
                "a part of the media before the last is {} bytes, not whole AES blocks",
                data.len()
            ),
        });
    }
    let cipher = Aes256::new(&<Key<Aes256>>::from(*key));
    let mut previous = *chain;
    for chunk in data.chunks_exact_mut(BLOCK) {
        let mut mixed = [0u8; BLOCK];
        for ((m, p), c) in mixed.iter_mut().zip(chunk.iter()).zip(previous.iter()) {
            *m = p ^ c;
        }
        let mut block = aes::Block::from(mixed);
        cipher.encrypt_block(&mut block);
        chunk.copy_from_slice(&block);
        previous.copy_from_slice(&block);
    }
    Ok((data, previous))
}

#[cfg(test)]
mod tests {
    use aes::cipher::BlockCipherDecrypt;

    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn key_iv() -> ([u8; KEY_BYTES], [u8; BLOCK]) {
        let key = hex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
        let iv = hex("000102030405060708090a0b0c0d0e0f");
        (key.try_into().unwrap(), iv.try_into().unwrap())
    }

    #[test]
    fn whole_blocks_encrypt_as_nist_sp_800_38a_says() {
        let (key, iv) = key_iv();
        let plain = hex(concat!(
            "6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51",
            "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710"
        ));
        let (ciphertext, chain) = encrypt_part(&key, &iv, plain, false).unwrap();
        let expected = hex(concat!(
            "f58c4c04d6e5f1ba779eabfb5f7bfbd69cfc4e967edb808d679f777bc6702c7d",
            "39f23369a9d9bacfa530e26304231461b2eb05e2c39be9fcda6c19078c6a9d1b"
        ));
        assert_eq!(ciphertext, expected, "no padding on a part before the last");
        assert_eq!(
            chain[..],
            expected[48..],
            "the chain is the last ciphertext block"
        );
    }

    #[test]
    fn parts_chained_make_what_openssl_enc_makes_of_the_whole_file() {
        let (key, iv) = key_iv();
        // `openssl enc -aes-256-cbc -K … -iv …` of these 20 bytes (padded with 12 twelves).
        let plain = hex("6bc1bee22e409f96e93d7e117393172aae2d8a57");
        let openssl = hex("f58c4c04d6e5f1ba779eabfb5f7bfbd684354e280bfa27ef071b563dc89d0364");
        let (whole, _) = encrypt_part(&key, &iv, plain.clone(), true).unwrap();
        assert_eq!(whole, openssl);
        let (first, chain) = encrypt_part(&key, &iv, plain[..16].to_vec(), false).unwrap();
        let (second, _) = encrypt_part(&key, &chain, plain[16..].to_vec(), true).unwrap();
        assert_eq!([first, second].concat(), openssl);
    }

    #[test]
    fn a_long_buffer_in_two_parts_equals_it_at_once_and_only_the_last_part_is_padded() {
        let key = [7u8; KEY_BYTES];
        let iv = [9u8; BLOCK];
        let plain: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        let (whole, _) = encrypt_part(&key, &iv, plain.clone(), true).unwrap();
        assert_eq!(whole.len(), 1008, "1000 bytes and 8 of padding");
        let (first, chain) = encrypt_part(&key, &iv, plain[..512].to_vec(), false).unwrap();
        assert_eq!(first.len(), 512);
        let (second, _) = encrypt_part(&key, &chain, plain[512..].to_vec(), true).unwrap();
        assert_eq!([first, second].concat(), whole);
        // The last block decrypts to the file's last 8 bytes and 8 bytes of 8.
        let cipher = Aes256::new(&<Key<Aes256>>::from(key));
        let mut last = aes::Block::from(<[u8; BLOCK]>::try_from(&whole[992..]).unwrap());
        cipher.decrypt_block(&mut last);
        let tail: Vec<u8> = last.iter().zip(&whole[976..992]).map(|(d, c)| d ^ c).collect();
        assert_eq!(&tail[..8], &plain[992..]);
        assert!(tail[8..].iter().all(|b| *b == 8), "{tail:?}");
    }

    #[test]
    fn a_file_ending_on_a_block_gets_a_whole_block_of_padding_and_a_ragged_middle_part_is_refused() {
        let (key, iv) = key_iv();
        let (ciphertext, _) = encrypt_part(&key, &iv, vec![0u8; 32], true).unwrap();
        assert_eq!(ciphertext.len(), 48);
        assert!(encrypt_part(&key, &iv, vec![0u8; 20], false).is_err());
        assert!(encrypt_part(&key, &iv, Vec::new(), false).is_err());
    }

    #[test]
    fn keys_and_chains_round_trip_through_base64_and_randomness_differs() {
        let a: [u8; KEY_BYTES] = random().unwrap();
        let b: [u8; KEY_BYTES] = random().unwrap();
        assert_ne!(a, b);
        let text = encode(&a);
        assert_eq!(decode::<KEY_BYTES>(Some(text.as_str()), "key").unwrap(), a);
        assert!(
            decode::<BLOCK>(Some(text.as_str()), "iv").is_err(),
            "32 bytes are not an IV"
        );
        assert!(decode::<BLOCK>(None, "iv").is_err());
    }
}
