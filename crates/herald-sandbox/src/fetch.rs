//! Downloading media as Meta's fetcher does for `image_url`, `video_url`, `cover_url`, `url` and
//! `file_url`, without becoming a way into anything else: only `http(s)` URLs of the origins the
//! sandbox trusts (Herald's own, by default) are fetched, a redirect to another origin is not
//! followed, and the body streams through a probe that keeps a few bytes of state, never the file,
//! stopping at the platform's documented size.

use std::time::Duration;

use crate::Sandbox;
use crate::graph::GraphError;

/// The HTTP client downloads go through: redirects stay on the origin they started from.
pub(crate) fn client() -> reqwest::Client {
    let policy = reqwest::redirect::Policy::custom(|attempt| {
        let same_origin = attempt
            .previous()
            .first()
            .is_some_and(|first| first.origin() == attempt.url().origin());
        if attempt.previous().len() > 3 || !same_origin {
            attempt.stop()
        } else {
            attempt.follow()
        }
    });
    // Failing here (no TLS backend) must not fall back to a client that follows any redirect.
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .connect_timeout(Duration::from_secs(5))
        .redirect(policy)
        .build()
        .expect("the sandbox's download client builds")
}

/// What a download was, as far as the platforms look at it.
#[derive(Debug, Default)]
pub(crate) struct Fetched {
    pub len: usize,
    /// A JPEG's width and height, from its frame header.
    pub jpeg: Option<(u32, u32)>,
    /// A JPEG, PNG or GIF, by its first bytes.
    pub image: bool,
    /// An ISO media file (MP4, MOV): `ftyp` first.
    pub iso: bool,
    /// For an ISO media file, whether `moov` comes before `mdat`; `None` when neither was found.
    pub moov_first: Option<bool>,
    /// The SHA-256 of the bytes, hex.
    pub sha256: String,
}

/// Why a download gave nothing.
enum Failure {
    Unreachable,
    TooLarge,
}

/// Whether the sandbox may download `url`: `http(s)` on a trusted origin.
fn trusted(sb: &Sandbox, url: &str) -> bool {
    let Ok(u) = url::Url::parse(url) else {
        return false;
    };
    matches!(u.scheme(), "http" | "https")
        && crate::lock(&sb.inner.config)
            .trusted_origins
            .contains(&u.origin().ascii_serialization())
}

async fn fetch(sb: &Sandbox, url: &str, max: usize) -> Result<Fetched, Failure> {
    if !trusted(sb, url) {
        return Err(Failure::Unreachable);
    }
    let mut res = sb
        .inner
        .http
        .get(url)
        .send()
        .await
        .map_err(|_| Failure::Unreachable)?;
    if !res.status().is_success() {
        return Err(Failure::Unreachable);
    }
    let mut probe = Probe::default();
    while let Some(chunk) = res.chunk().await.map_err(|_| Failure::Unreachable)? {
        probe.feed(&chunk);
        if probe.len > max {
            return Err(Failure::TooLarge);
        }
    }
    Ok(probe.finish())
}

/// Downloads `url` as Meta's fetcher would: `unreachable` when it cannot (or may not), `too_large`
/// past `max` bytes.
pub(crate) async fn download(
    sb: &Sandbox,
    url: &str,
    max: usize,
    unreachable: fn(&str) -> GraphError,
    too_large: fn() -> GraphError,
) -> Result<Fetched, GraphError> {
    fetch(sb, url, max).await.map_err(|f| match f {
        Failure::Unreachable => unreachable(url),
        Failure::TooLarge => too_large(),
    })
}

/// Probes bytes already in hand (a body uploaded to `rupload`).
pub(crate) fn probe(bytes: &[u8]) -> Fetched {
    let mut p = Probe::default();
    p.feed(bytes);
    p.finish()
}

/// Reads a stream once, keeping the first bytes and the state of the JPEG and ISO scanners.
#[derive(Default)]
struct Probe {
    len: usize,
    hash: sha2::Sha256,
    head: Vec<u8>,
    jpeg: Jpeg,
    iso: Iso,
}

const HEAD: usize = 16;

impl Probe {
    fn feed(&mut self, chunk: &[u8]) {
        let start = self.len;
        self.len += chunk.len();
        sha2::Digest::update(&mut self.hash, chunk);
        if self.head.len() < HEAD {
            let take = chunk.len().min(HEAD - self.head.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        self.jpeg.feed(chunk, start);
        self.iso.feed(chunk);
    }

    fn finish(self) -> Fetched {
        let h = &self.head;
        let is_jpeg = h.starts_with(&[0xFF, 0xD8, 0xFF]);
        Fetched {
            len: self.len,
            jpeg: if is_jpeg { self.jpeg.size() } else { None },
            image: is_jpeg || h.starts_with(b"\x89PNG") || h.starts_with(b"GIF8"),
            iso: h.get(4..8) == Some(b"ftyp"),
            moov_first: self.iso.order(),
            sha256: hex::encode(sha2::Digest::finalize(self.hash)),
        }
    }
}

/// A streaming reader of a JPEG's markers, up to its frame header (width and height).
#[derive(Debug, Default)]
enum Jpeg {
    /// Skipping the first bytes (the SOI marker).
    #[default]
    Start,
    /// Expecting `FF` (any number of them) then a marker byte; `ff` once one was read.
    Marker {
        ff: bool,
    },
    /// Reading the segment length after `marker`.
    Length {
        marker: u8,
        bytes: Vec<u8>,
    },
    /// Reading a frame header: precision, height, width.
    Frame {
        bytes: Vec<u8>,
    },
    Skip(usize),
    Done(Option<(u32, u32)>),
}

impl Jpeg {
    fn feed(&mut self, chunk: &[u8], offset: usize) {
        let mut i = 0;
        if let Self::Start = self {
            // The SOI marker (FF D8) occupies bytes 0 and 1.
            i = 2usize.saturating_sub(offset).min(chunk.len());
            if offset + i >= 2 {
                *self = Self::Marker { ff: false };
            }
        }
        while i < chunk.len() {
            let b = chunk[i];
            match self {
                Self::Start | Self::Done(_) => return,
                Self::Skip(n) => {
                    let k = (*n).min(chunk.len() - i);
                    *n -= k;
                    i += k;
                    if *n == 0 {
                        *self = Self::Marker { ff: false };
                    }
                    continue;
                }
                Self::Marker { ff: false } if b == 0xFF => *self = Self::Marker { ff: true },
                Self::Marker { ff: false } => *self = Self::Done(None),
                // Fill bytes: any number of FF before the marker.
                Self::Marker { ff: true } if b == 0xFF => {}
                // Markers without a length: TEM and the restart markers; the image's end.
                Self::Marker { ff: true } if b == 0x01 || (0xD0..=0xD7).contains(&b) => {
                    *self = Self::Marker { ff: false }
                }
                Self::Marker { ff: true } if b == 0xD9 => *self = Self::Done(None),
                Self::Marker { ff: true } => {
                    *self = Self::Length {
                        marker: b,
                        bytes: Vec::with_capacity(2),
                    }
                }
                Self::Length { marker, bytes } => {
                    bytes.push(b);
                    if bytes.len() == 2 {
                        let len = usize::from(u16::from_be_bytes([bytes[0], bytes[1]]));
                        let is_frame =
                            matches!(*marker, 0xC0..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF);
                        *self = match (is_frame, len) {
                            (_, 0..=1) => Self::Done(None),
                            (true, _) => Self::Frame {
                                bytes: Vec::with_capacity(5),
                            },
                            (false, 2) => Self::Marker { ff: false },
                            (false, n) => Self::Skip(n - 2),
                        };
                    }
                }
                Self::Frame { bytes } => {
                    bytes.push(b);
                    if bytes.len() == 5 {
                        let h = u32::from(u16::from_be_bytes([bytes[1], bytes[2]]));
                        let w = u32::from(u16::from_be_bytes([bytes[3], bytes[4]]));
                        *self = Self::Done(Some((w, h)));
                    }
                }
            }
            i += 1;
        }
    }

    fn size(&self) -> Option<(u32, u32)> {
        match self {
            Self::Done(size) => *size,
            _ => None,
        }
    }
}

/// A streaming reader of an ISO media file's top-level boxes, until `moov` or `mdat`.
#[derive(Debug)]
enum Iso {
    Header { bytes: Vec<u8>, first: bool },
    Skip(u64),
    Done(Option<bool>),
}

impl Default for Iso {
    fn default() -> Self {
        Self::Header {
            bytes: Vec::with_capacity(16),
            first: true,
        }
    }
}

impl Iso {
    fn feed(&mut self, chunk: &[u8]) {
        let mut i = 0;
        while i < chunk.len() {
            match self {
                Self::Done(_) => return,
                Self::Skip(n) => {
                    let k = usize::try_from(*n).unwrap_or(usize::MAX).min(chunk.len() - i);
                    *n -= k as u64;
                    i += k;
                    if *n == 0 {
                        *self = Self::Header {
                            bytes: Vec::with_capacity(16),
                            first: false,
                        };
                    }
                }
                Self::Header { bytes, first } => {
                    bytes.push(chunk[i]);
                    i += 1;
                    if bytes.len() < 8 {
                        continue;
                    }
                    let kind: [u8; 4] = [bytes[4], bytes[5], bytes[6], bytes[7]];
                    let size32 = u64::from(u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]));
                    if *first && &kind != b"ftyp" {
                        *self = Self::Done(None);
                        continue;
                    }
                    match &kind {
                        b"moov" => *self = Self::Done(Some(true)),
                        b"mdat" => *self = Self::Done(Some(false)),
                        _ if size32 == 1 && bytes.len() < 16 => {}
                        _ => {
                            let (size, header) = if size32 == 1 {
                                let mut large = [0u8; 8];
                                large.copy_from_slice(&bytes[8..16]);
                                (u64::from_be_bytes(large), 16)
                            } else {
                                (size32, 8)
                            };
                            *self = match size.checked_sub(header) {
                                // Size 0 (to the end of the file) or too small: no moov, no mdat.
                                _ if size == 0 => Self::Done(None),
                                None => Self::Done(None),
                                Some(0) => Self::Header {
                                    bytes: Vec::with_capacity(16),
                                    first: false,
                                },
                                Some(n) => Self::Skip(n),
                            };
                        }
                    }
                }
            }
        }
    }

    fn order(&self) -> Option<bool> {
        match self {
            Self::Done(order) => *order,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../../tests/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    /// The same answer whether the bytes come at once or one at a time.
    fn both_ways(bytes: &[u8]) -> (Fetched, Fetched) {
        let whole = probe(bytes);
        let mut p = Probe::default();
        for b in bytes {
            p.feed(std::slice::from_ref(b));
        }
        (whole, p.finish())
    }

    #[test]
    fn a_jpeg_is_sized_from_its_frame_header_in_any_chunking() {
        for (name, size) in [
            ("square-1080.jpg", (1080, 1080)),
            ("portrait-4x5-1080x1350.jpg", (1080, 1350)),
            ("too-wide-1920x600.jpg", (1920, 600)),
        ] {
            let (a, b) = both_ways(&fixture(name));
            assert_eq!(a.jpeg, Some(size), "{name}");
            assert_eq!(b.jpeg, Some(size), "{name}");
            assert!(a.image && !a.iso);
        }
        let png = probe(&fixture("square-1080.png"));
        assert!(png.image && png.jpeg.is_none());
        assert!(!probe(b"<html>not an image</html>").image);
    }

    #[test]
    fn markers_without_a_length_before_the_frame_header_are_stepped_over() {
        // SOI, a restart marker, an APP0 of 4 bytes, then SOF0: 8 bits, 20 high, 30 wide.
        let bytes = [
            0xFF, 0xD8, 0xFF, 0xD0, 0xFF, 0xE0, 0x00, 0x04, 0xAA, 0xBB, 0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00,
            0x14, 0x00, 0x1E,
        ];
        let (a, b) = both_ways(&bytes);
        assert_eq!((a.jpeg, b.jpeg), (Some((30, 20)), Some((30, 20))));
    }

    #[test]
    fn an_mp4_tells_whether_moov_precedes_mdat_in_any_chunking() {
        let (a, b) = both_ways(&fixture("reel-720x1280-4s.mp4"));
        assert_eq!(
            (a.iso, a.moov_first, b.moov_first),
            (true, Some(true), Some(true))
        );
        let (a, b) = both_ways(&fixture("reel-no-faststart-2s.mp4"));
        assert_eq!(
            (a.iso, a.moov_first, b.moov_first),
            (true, Some(false), Some(false))
        );
        let jpeg = probe(&fixture("square-1080.jpg"));
        assert_eq!((jpeg.iso, jpeg.moov_first), (false, None));
    }
}
