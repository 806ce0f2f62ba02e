//! AES-256-CBC decryption with PKCS#7 padding, fed part by part: what Snap asks clients to encrypt
//! media with (`openssl enc -aes-256-cbc -nosalt -K <key> -iv <iv>`, which pads with PKCS#7)
//! [official S3], undone by the sandbox to see what was uploaded. The plaintext is hashed and its
//! first bytes kept as it comes; it is never stored.

use aes::Aes256;
use aes::cipher::{BlockCipherDecrypt, Key, KeyInit};
use sha2::Digest;

/// A key of 32 bytes and an IV of 16, sent base64-encoded [official S3].
pub(crate) const KEY_BYTES: usize = 32;
pub(crate) const IV_BYTES: usize = 16;
const BLOCK: usize = 16;
/// How many of the plaintext's first bytes are kept, to tell what the media is.
const HEAD: usize = 32;

/// A decryption under way: the cipher, the chaining block, the ciphertext bytes short of a whole
/// block, and the last plaintext block (held back: it carries the padding until the end).
pub(crate) struct Decryption {
    cipher: Aes256,
    chain: [u8; BLOCK],
    carry: Vec<u8>,
    held: Option<[u8; BLOCK]>,
    digest: sha2::Sha256,
    bytes: u64,
    head: Vec<u8>,
}

/// The decrypted media: its SHA-256 (hex), its size and its first bytes.
#[derive(Debug)]
pub(crate) struct Plaintext {
    pub sha256: String,
    pub bytes: u64,
    pub head: Vec<u8>,
}

impl Decryption {
    pub fn new(key: &[u8; KEY_BYTES], iv: &[u8; IV_BYTES]) -> Self {
        Self {
            cipher: Aes256::new(&<Key<Aes256>>::from(*key)),
            chain: *iv,
            carry: Vec::with_capacity(BLOCK),
            held: None,
            digest: sha2::Sha256::new(),
            bytes: 0,
            head: Vec::with_capacity(HEAD),
        }
    }

    /// Decrypts the next ciphertext bytes (any number: a part need not end on a block).
    pub fn feed(&mut self, mut data: &[u8]) {
        if !self.carry.is_empty() {
            let take = (BLOCK - self.carry.len()).min(data.len());
            self.carry.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.carry.len() < BLOCK {
                return;
            }
            let mut block = [0u8; BLOCK];
            block.copy_from_slice(&self.carry);
            self.carry.clear();
            self.blocks(&block);
        }
        let whole = data.len() - data.len() % BLOCK;
        self.blocks(&data[..whole]);
        self.carry.extend_from_slice(&data[whole..]);
    }

    /// Decrypts whole blocks (`ciphertext.len()` a multiple of 16), in one batch.
    fn blocks(&mut self, ciphertext: &[u8]) {
        if ciphertext.is_empty() {
            return;
        }
        let mut blocks: Vec<aes::Block> = ciphertext
            .chunks_exact(BLOCK)
            .map(|c| {
                let mut b = [0u8; BLOCK];
                b.copy_from_slice(c);
                aes::Block::from(b)
            })
            .collect();
        self.cipher.decrypt_blocks(&mut blocks);
        for (decrypted, c) in blocks.iter().zip(ciphertext.chunks_exact(BLOCK)) {
            let mut plain = [0u8; BLOCK];
            for ((p, d), x) in plain.iter_mut().zip(decrypted.iter()).zip(self.chain.iter()) {
                *p = d ^ x;
            }
            self.chain.copy_from_slice(c);
            if let Some(earlier) = self.held.replace(plain) {
                self.emit(&earlier);
            }
        }
    }

    fn emit(&mut self, plain: &[u8]) {
        self.digest.update(plain);
        self.bytes += plain.len() as u64;
        let room = HEAD.saturating_sub(self.head.len()).min(plain.len());
        self.head.extend_from_slice(&plain[..room]);
    }

    /// Ends the decryption: the plaintext's digest, or why the ciphertext is not what AES-256-CBC
    /// with PKCS#7 padding makes with this key and IV.
    pub fn finish(mut self) -> Result<Plaintext, &'static str> {
        if !self.carry.is_empty() {
            return Err("the ciphertext's length is not a multiple of 16 bytes (AES-256-CBC blocks)");
        }
        let Some(last) = self.held.take() else {
            return Err("the ciphertext is empty");
        };
        let pad = usize::from(last[BLOCK - 1]);
        if pad == 0 || pad > BLOCK || last[BLOCK - pad..].iter().any(|b| usize::from(*b) != pad) {
            return Err(
                "the media does not decrypt with the key and iv it was created with (the PKCS#7 padding is wrong)",
            );
        }
        self.emit(&last[..BLOCK - pad]);
        Ok(Plaintext {
            sha256: hex::encode(self.digest.finalize()),
            bytes: self.bytes,
            head: self.head,
        })
    }
}

/// What the plaintext's first bytes say it is: `MP4` (an ISO media file's `ftyp` box), `JPEG` or
/// `PNG`; `None` for anything else.
pub(crate) fn detect(head: &[u8]) -> Option<&'static str> {
    if head.get(4..8) == Some(b"ftyp") {
        Some("MP4")
    } else if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("JPEG")
    } else if head.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("PNG")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use aes::cipher::BlockCipherEncrypt;

    use super::*;

    const KEY: [u8; KEY_BYTES] = [7; KEY_BYTES];
    const IV: [u8; IV_BYTES] = [9; IV_BYTES];

    /// What `openssl enc -aes-256-cbc` makes of `plain`.
    fn encrypt(plain: &[u8]) -> Vec<u8> {
        let cipher = Aes256::new(&<Key<Aes256>>::from(KEY));
        let pad = BLOCK - plain.len() % BLOCK;
        let mut padded = plain.to_vec();
        padded.extend(std::iter::repeat_n(u8::try_from(pad).unwrap(), pad));
        let mut chain = IV;
        let mut out = Vec::new();
        for c in padded.chunks_exact(BLOCK) {
            let mut b = [0u8; BLOCK];
            for ((o, p), x) in b.iter_mut().zip(c).zip(chain.iter()) {
                *o = p ^ x;
            }
            let mut block = aes::Block::from(b);
            cipher.encrypt_block(&mut block);
            chain.copy_from_slice(&block);
            out.extend_from_slice(&block);
        }
        out
    }

    fn mp4(len: usize) -> Vec<u8> {
        let mut v = b"\0\0\0\x20ftypisom".to_vec();
        v.extend((0..len).map(|i| (i % 251) as u8));
        v
    }

    #[test]
    fn parts_of_any_size_decrypt_to_the_original() {
        let plain = mp4(1000);
        let ciphertext = encrypt(&plain);
        for split in [1, 7, 16, 33, 500, ciphertext.len()] {
            let mut d = Decryption::new(&KEY, &IV);
            for part in ciphertext.chunks(split) {
                d.feed(part);
            }
            let p = d.finish().unwrap();
            assert_eq!(p.bytes, plain.len() as u64);
            assert_eq!(p.sha256, hex::encode(sha2::Sha256::digest(&plain)));
            assert_eq!(detect(&p.head), Some("MP4"));
        }
    }

    #[test]
    fn a_whole_block_of_padding_is_removed() {
        let plain = [0x41u8; 32];
        let mut d = Decryption::new(&KEY, &IV);
        d.feed(&encrypt(&plain));
        assert_eq!(d.finish().unwrap().bytes, 32);
    }

    #[test]
    fn another_key_a_cut_ciphertext_or_none_is_refused() {
        let ciphertext = encrypt(&mp4(100));
        let mut other = Decryption::new(&[8; KEY_BYTES], &IV);
        other.feed(&ciphertext);
        assert!(other.finish().is_err(), "the padding comes out wrong");
        let mut cut = Decryption::new(&KEY, &IV);
        cut.feed(&ciphertext[..ciphertext.len() - 3]);
        assert!(cut.finish().is_err());
        assert!(Decryption::new(&KEY, &IV).finish().is_err());
    }

    #[test]
    fn jpeg_png_and_mp4_are_told_apart() {
        assert_eq!(detect(&[0xFF, 0xD8, 0xFF, 0xE0]), Some("JPEG"));
        assert_eq!(detect(b"\x89PNG\r\n\x1a\n...."), Some("PNG"));
        assert_eq!(detect(b"GIF89a"), None);
    }
}
