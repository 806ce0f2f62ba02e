//! MP4/MOV probing in pure Rust: duration, picture size (rotation applied), frame rate, codecs, and
//! whether the `moov` atom comes before the media data (what Instagram calls "fast start").
//!
//! The file is read through [`Source`], so only box headers and the `moov` atom are read, never the
//! media data itself.

/// Random access to a file's bytes.
pub trait Source {
    fn size(&self) -> u64;
    /// Exactly `len` bytes at `offset`, or `None` past the end or on a read error.
    fn read_at(&mut self, offset: u64, len: usize) -> Option<Vec<u8>>;
}

impl Source for &[u8] {
    fn size(&self) -> u64 {
        <[u8]>::len(self) as u64
    }

    fn read_at(&mut self, offset: u64, len: usize) -> Option<Vec<u8>> {
        let start = usize::try_from(offset).ok()?;
        self.get(start..start.checked_add(len)?).map(<[u8]>::to_vec)
    }
}

/// What probing a video found.
#[derive(Debug, Clone, PartialEq)]
pub struct VideoProbe {
    pub duration_ms: u64,
    pub width: u32,
    pub height: u32,
    /// Frames per second of the video track.
    pub frame_rate: Option<f64>,
    /// Sample entry of the video track: `avc1`, `hvc1`, `hev1`, …
    pub video_codec: Option<String>,
    /// Sample entry of the audio track: `mp4a`, …; `None` when there is no audio.
    pub audio_codec: Option<String>,
    /// `moov` precedes `mdat`: the file can start playing before it is fully downloaded.
    pub moov_first: bool,
}

/// The largest `moov` atom read into memory.
const MAX_MOOV: u64 = 64 * 1024 * 1024;

fn be_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn be_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// Iterates the boxes inside `data` as (type, payload).
fn children(data: &[u8]) -> impl Iterator<Item = ([u8; 4], &[u8])> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        let size32 = be_u32(data, at)?;
        let kind: [u8; 4] = data.get(at + 4..at + 8)?.try_into().ok()?;
        let (size, header) = match size32 {
            1 => (usize::try_from(be_u64(data, at + 8)?).ok()?, 16),
            0 => (data.len() - at, 8),
            n => (n as usize, 8),
        };
        let payload = data.get(at + header..at.checked_add(size)?)?;
        at += size.max(header);
        Some((kind, payload))
    })
}

fn child<'a>(data: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    children(data).find(|(k, _)| k == kind).map(|(_, p)| p)
}

/// (timescale, duration) from an `mvhd` or `mdhd` payload.
fn header_times(p: &[u8]) -> Option<(u32, u64)> {
    match p.first()? {
        1 => Some((be_u32(p, 20)?, be_u64(p, 24)?)),
        _ => Some((be_u32(p, 12)?, u64::from(be_u32(p, 16)?))),
    }
}

struct Track {
    handler: [u8; 4],
    codec: Option<String>,
    width: u32,
    height: u32,
    frame_rate: Option<f64>,
}

fn track(trak: &[u8]) -> Option<Track> {
    let tkhd = child(trak, b"tkhd")?;
    let (matrix_at, size_at) = if tkhd.first()? == &1 { (52, 88) } else { (40, 76) };
    let (mut width, mut height) = (be_u32(tkhd, size_at)? >> 16, be_u32(tkhd, size_at + 4)? >> 16);
    // A 90° or 270° rotation matrix (a = d = 0) swaps the displayed width and height.
    if be_u32(tkhd, matrix_at)? == 0 && be_u32(tkhd, matrix_at + 16)? == 0 {
        std::mem::swap(&mut width, &mut height);
    }
    let mdia = child(trak, b"mdia")?;
    let handler: [u8; 4] = child(mdia, b"hdlr")?.get(8..12)?.try_into().ok()?;
    let (timescale, duration) = header_times(child(mdia, b"mdhd")?)?;
    let stbl = child(child(mdia, b"minf")?, b"stbl")?;
    let codec = child(stbl, b"stsd")
        .and_then(|s| s.get(12..16))
        .map(|c| String::from_utf8_lossy(c).into_owned());
    let samples: u64 = child(stbl, b"stts")
        .and_then(|s| {
            let n = be_u32(s, 4)? as usize;
            (0..n)
                .map(|i| be_u32(s, 8 + i * 8).map(u64::from))
                .sum::<Option<u64>>()
        })
        .unwrap_or(0);
    let frame_rate =
        (duration > 0 && samples > 0).then(|| samples as f64 * f64::from(timescale) / duration as f64);
    Some(Track {
        handler,
        codec,
        width,
        height,
        frame_rate,
    })
}

/// Probes an MP4 or MOV file; `None` when it is not one or has no video track.
pub fn probe_mp4(src: &mut impl Source) -> Option<VideoProbe> {
    let len = src.size();
    let (mut at, mut moov, mut mdat_seen, mut moov_first) = (0u64, None, false, false);
    while at + 8 <= len {
        let head = src.read_at(at, 16.min((len - at) as usize))?;
        let kind: [u8; 4] = head.get(4..8)?.try_into().ok()?;
        let (size, header) = match be_u32(&head, 0)? {
            1 => (be_u64(&head, 8)?, 16),
            0 => (len - at, 8),
            n => (u64::from(n), 8),
        };
        if size < header {
            return None;
        }
        if at == 0 && &kind != b"ftyp" {
            return None;
        }
        match &kind {
            b"mdat" => mdat_seen = true,
            b"moov" if size <= MAX_MOOV => {
                moov_first = !mdat_seen;
                moov = Some(src.read_at(at + header, usize::try_from(size - header).ok()?)?);
            }
            _ => {}
        }
        at = at.checked_add(size)?;
    }
    let moov = moov?;
    let (timescale, duration) = header_times(child(&moov, b"mvhd")?)?;
    let tracks: Vec<Track> = children(&moov)
        .filter(|(k, _)| k == b"trak")
        .filter_map(|(_, t)| track(t))
        .collect();
    let video = tracks.iter().find(|t| &t.handler == b"vide")?;
    let audio = tracks.iter().find(|t| &t.handler == b"soun");
    Some(VideoProbe {
        duration_ms: if timescale == 0 {
            0
        } else {
            duration.saturating_mul(1000) / u64::from(timescale)
        },
        width: video.width,
        height: video.height,
        frame_rate: video.frame_rate,
        video_codec: video.codec.clone(),
        audio_codec: audio.and_then(|a| a.codec.clone()),
        moov_first,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn probe(name: &str) -> VideoProbe {
        let bytes = std::fs::read(format!(
            "{}/../../tests/fixtures/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        probe_mp4(&mut bytes.as_slice()).unwrap()
    }

    #[test]
    fn a_fast_start_reel_is_probed_with_size_duration_rate_and_codecs() {
        let p = probe("reel-720x1280-4s.mp4");
        assert_eq!((p.width, p.height), (720, 1280));
        assert!((3900..=4100).contains(&p.duration_ms), "{}", p.duration_ms);
        assert!(
            p.frame_rate
                .is_some_and(|r| (r - 30.0).abs() < 1.0 || (r - 25.0).abs() < 1.0),
            "{:?}",
            p.frame_rate
        );
        assert_eq!(p.video_codec.as_deref(), Some("avc1"));
        assert_eq!(p.audio_codec.as_deref(), Some("mp4a"));
        assert!(p.moov_first);
    }

    #[test]
    fn moov_at_the_end_and_no_audio_are_reported() {
        let p = probe("reel-no-faststart-2s.mp4");
        assert!(!p.moov_first);
        assert_eq!(p.audio_codec, None);
        assert!((1900..=2100).contains(&p.duration_ms));
        let wide = probe("landscape-1280x720-6s.mp4");
        assert_eq!((wide.width, wide.height), (1280, 720));
    }

    #[test]
    fn a_jpeg_or_truncated_file_is_not_a_video() {
        let jpeg = std::fs::read(format!(
            "{}/../../tests/fixtures/square-1080.jpg",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        assert_eq!(probe_mp4(&mut jpeg.as_slice()), None);
        let reel = std::fs::read(format!(
            "{}/../../tests/fixtures/reel-no-faststart-2s.mp4",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        assert_eq!(probe_mp4(&mut &reel[..reel.len() / 2]), None);
    }
}
