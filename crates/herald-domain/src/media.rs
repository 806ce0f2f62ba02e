//! Media probing from the bytes themselves (never the file name): type and dimensions.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum MediaType {
    #[serde(rename = "image/jpeg")]
    Jpeg,
    #[serde(rename = "image/png")]
    Png,
    #[serde(rename = "image/gif")]
    Gif,
    #[serde(rename = "video/mp4")]
    Mp4,
    /// A document (LinkedIn's document posts).
    #[serde(rename = "application/pdf")]
    Pdf,
}

impl MediaType {
    pub fn mime(self) -> &'static str {
        match self {
            Self::Jpeg => "image/jpeg",
            Self::Png => "image/png",
            Self::Gif => "image/gif",
            Self::Mp4 => "video/mp4",
            Self::Pdf => "application/pdf",
        }
    }

    pub fn parse_mime(s: &str) -> Option<Self> {
        [Self::Jpeg, Self::Png, Self::Gif, Self::Mp4, Self::Pdf]
            .into_iter()
            .find(|m| m.mime() == s)
    }

    pub fn is_image(self) -> bool {
        matches!(self, Self::Jpeg | Self::Png | Self::Gif)
    }

    pub fn is_video(self) -> bool {
        matches!(self, Self::Mp4)
    }

    pub fn is_document(self) -> bool {
        matches!(self, Self::Pdf)
    }
}

/// What probing found in a file's first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    pub media_type: MediaType,
    pub width: Option<u32>,
    pub height: Option<u32>,
}

/// How many leading bytes [`probe`] needs at most to find an image's dimensions in ordinary files.
pub const PROBE_PREFIX: usize = 256 * 1024;

/// Identifies the media type from magic bytes and reads image dimensions; `None` when it is
/// neither media nor a PDF document.
pub fn probe(head: &[u8]) -> Option<Probe> {
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        let (width, height) = jpeg_dimensions(head).unzip();
        return Some(Probe {
            media_type: MediaType::Jpeg,
            width,
            height,
        });
    }
    if head.starts_with(b"\x89PNG\r\n\x1a\n") && head.len() >= 24 && &head[12..16] == b"IHDR" {
        return Some(Probe {
            media_type: MediaType::Png,
            width: Some(be32(&head[16..20])),
            height: Some(be32(&head[20..24])),
        });
    }
    if (head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a")) && head.len() >= 10 {
        return Some(Probe {
            media_type: MediaType::Gif,
            width: Some(u32::from(u16::from_le_bytes([head[6], head[7]]))),
            height: Some(u32::from(u16::from_le_bytes([head[8], head[9]]))),
        });
    }
    if head.starts_with(b"%PDF-") {
        return Some(Probe {
            media_type: MediaType::Pdf,
            width: None,
            height: None,
        });
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return Some(Probe {
            media_type: MediaType::Mp4,
            width: None,
            height: None,
        });
    }
    None
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Walks JPEG segments to the first start-of-frame marker.
fn jpeg_dimensions(data: &[u8]) -> Option<(u32, u32)> {
    let mut i = 2;
    while i + 4 <= data.len() {
        if data[i] != 0xFF {
            return None;
        }
        let marker = data[i + 1];
        if marker == 0xFF {
            i += 1;
            continue;
        }
        if (0xD0..=0xD9).contains(&marker) || marker == 0x01 {
            i += 2;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([data[i + 2], data[i + 3]]));
        let is_sof = (0xC0..=0xCF).contains(&marker) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof {
            let seg = data.get(i + 4..i + 9)?;
            let height = u32::from(u16::from_be_bytes([seg[1], seg[2]]));
            let width = u32::from(u16::from_be_bytes([seg[3], seg[4]]));
            return Some((width, height));
        }
        i += 2 + len;
    }
    None
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

    #[test]
    fn jpeg_png_and_gif_fixtures_are_probed_with_their_dimensions() {
        let jpeg = probe(&fixture("square-1080.jpg")).unwrap();
        assert_eq!(
            (jpeg.media_type, jpeg.width, jpeg.height),
            (MediaType::Jpeg, Some(1080), Some(1080))
        );
        let wide = probe(&fixture("too-wide-1920x600.jpg")).unwrap();
        assert_eq!((wide.width, wide.height), (Some(1920), Some(600)));
        let png = probe(&fixture("square-1080.png")).unwrap();
        assert_eq!((png.media_type, png.width), (MediaType::Png, Some(1080)));
    }

    #[test]
    fn text_named_jpg_is_not_media() {
        assert_eq!(probe(&fixture("not-media.jpg")), None);
    }
}
