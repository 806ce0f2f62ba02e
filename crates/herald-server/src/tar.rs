//! A POSIX ustar archive, written by Herald itself into a file: for each member a 512-byte header
//! (its name, mode 0644, size and time in octal, the checksum), its bytes padded to 512, and two
//! zero blocks at the end. A member may be streamed in before its size is known: its header is
//! written once it ends.

use std::io::SeekFrom;
use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// A ustar block.
pub(crate) const BLOCK: usize = 512;

/// The longest member name a header holds (Herald's names never need the prefix field).
pub(crate) const MAX_NAME: usize = 100;

/// Files are copied into an archive this many bytes at a time.
const CHUNK: usize = 64 * 1024;

fn invalid(what: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, what)
}

/// Writes `value` in octal into `field`: zero-padded digits and a NUL, as ustar numbers are.
fn octal(field: &mut [u8], value: u64, what: &str) -> std::io::Result<()> {
    let digits = field.len() - 1;
    let text = format!("{value:0digits$o}");
    if text.len() > digits {
        return Err(invalid(format!("a tar {what} of {value} does not fit its field")));
    }
    field[..digits].copy_from_slice(text.as_bytes());
    field[digits] = 0;
    Ok(())
}

/// The header of a regular file `name` of `size` bytes, last modified at `mtime` (seconds since
/// the epoch), mode 0644, owned by no one in particular (uid and gid 0).
pub(crate) fn header(name: &str, size: u64, mtime: i64) -> std::io::Result<[u8; BLOCK]> {
    if name.is_empty() || name.len() > MAX_NAME || !name.is_ascii() {
        return Err(invalid(format!(
            "a tar member's name must be 1 to {MAX_NAME} ASCII bytes: {name:?}"
        )));
    }
    let mut h = [0u8; BLOCK];
    h[..name.len()].copy_from_slice(name.as_bytes());
    octal(&mut h[100..108], 0o644, "mode")?;
    octal(&mut h[108..116], 0, "uid")?;
    octal(&mut h[116..124], 0, "gid")?;
    octal(&mut h[124..136], size, "size")?;
    octal(&mut h[136..148], u64::try_from(mtime).unwrap_or(0), "time")?;
    h[156] = b'0';
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    octal(&mut h[329..337], 0, "device major")?;
    octal(&mut h[337..345], 0, "device minor")?;
    // The checksum is the sum of the header's bytes with its own field read as eight spaces,
    // written as six octal digits, a NUL and a space.
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
    octal(&mut h[148..155], u64::from(sum), "checksum")?;
    h[155] = b' ';
    Ok(h)
}

/// How many zero bytes follow a member of `size` bytes, to the end of its last block.
pub(crate) fn padding(size: u64) -> usize {
    let rest = (size % BLOCK as u64) as usize;
    (BLOCK - rest) % BLOCK
}

/// An archive being written to a file.
pub(crate) struct TarWriter {
    file: tokio::fs::File,
    /// Each member's time (seconds since the epoch).
    mtime: i64,
    /// Bytes written so far.
    at: u64,
    /// The member being written: where its header is, its name, and its bytes so far.
    open: Option<(u64, String, u64)>,
}

impl TarWriter {
    /// A new archive in a new file at `path`; every member is dated `mtime`.
    pub(crate) async fn create(path: &Path, mtime: i64) -> std::io::Result<Self> {
        let file = tokio::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(path)
            .await?;
        Ok(Self {
            file,
            mtime,
            at: 0,
            open: None,
        })
    }

    /// Starts a member whose size is not known yet: a block is kept for its header, which
    /// [`TarWriter::end`] writes.
    pub(crate) async fn begin(&mut self, name: &str) -> std::io::Result<()> {
        if self.open.is_some() {
            return Err(invalid(format!("{name}: the member before it was not ended")));
        }
        // A name no header can hold is refused before anything is written.
        header(name, 0, self.mtime)?;
        self.file.write_all(&[0u8; BLOCK]).await?;
        self.open = Some((self.at, name.to_owned(), 0));
        self.at += BLOCK as u64;
        Ok(())
    }

    /// Appends `bytes` to the member begun.
    pub(crate) async fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        let Some((_, _, size)) = self.open.as_mut() else {
            return Err(invalid("bytes written outside a member".to_owned()));
        };
        self.file.write_all(bytes).await?;
        *size += bytes.len() as u64;
        self.at += bytes.len() as u64;
        Ok(())
    }

    /// Ends the member begun: pads it to its last block and writes its header.
    pub(crate) async fn end(&mut self) -> std::io::Result<()> {
        let Some((header_at, name, size)) = self.open.take() else {
            return Err(invalid("no member to end".to_owned()));
        };
        let pad = padding(size);
        self.file.write_all(&vec![0u8; pad]).await?;
        self.at += pad as u64;
        let h = header(&name, size, self.mtime)?;
        self.file.seek(SeekFrom::Start(header_at)).await?;
        self.file.write_all(&h).await?;
        self.file.seek(SeekFrom::Start(self.at)).await?;
        Ok(())
    }

    /// A member whose bytes are all at hand.
    pub(crate) async fn add(&mut self, name: &str, bytes: &[u8]) -> std::io::Result<()> {
        self.begin(name).await?;
        self.write(bytes).await?;
        self.end().await
    }

    /// A member copied from the open file `from`, a chunk at a time; returns its size.
    pub(crate) async fn add_file(&mut self, name: &str, mut from: tokio::fs::File) -> std::io::Result<u64> {
        self.begin(name).await?;
        let mut buf = vec![0u8; CHUNK];
        let mut copied = 0u64;
        loop {
            let n = from.read(&mut buf).await?;
            if n == 0 {
                break;
            }
            self.write(&buf[..n]).await?;
            copied += n as u64;
        }
        self.end().await?;
        Ok(copied)
    }

    /// Ends the archive with its two zero blocks; returns its file, read from the start, and its
    /// length.
    pub(crate) async fn finish(mut self) -> std::io::Result<(tokio::fs::File, u64)> {
        if let Some((_, name, _)) = &self.open {
            return Err(invalid(format!("{name}: the archive ended inside it")));
        }
        self.file.write_all(&[0u8; 2 * BLOCK]).await?;
        self.at += 2 * BLOCK as u64;
        self.file.flush().await?;
        self.file.seek(SeekFrom::Start(0)).await?;
        Ok((self.file, self.at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A number of a header's field, as tar reads it.
    fn number(field: &[u8]) -> u64 {
        let text: String = field
            .iter()
            .take_while(|b| **b != 0 && **b != b' ')
            .map(|b| char::from(*b))
            .collect();
        u64::from_str_radix(&text, 8).unwrap()
    }

    /// The members of an archive as `(name, bytes)`, checking each header as a reader would:
    /// its checksum (the field read as spaces), magic, version and type.
    fn members(archive: &[u8]) -> Vec<(String, Vec<u8>)> {
        assert_eq!(archive.len() % BLOCK, 0, "whole blocks");
        let mut out = Vec::new();
        let mut at = 0;
        loop {
            let h = &archive[at..at + BLOCK];
            if h.iter().all(|b| *b == 0) {
                assert_eq!(archive.len(), at + 2 * BLOCK, "two zero blocks end it");
                assert!(archive[at..].iter().all(|b| *b == 0));
                return out;
            }
            let mut blank = h.to_vec();
            blank[148..156].copy_from_slice(b"        ");
            let sum: u64 = blank.iter().map(|b| u64::from(*b)).sum();
            assert_eq!(number(&h[148..156]), sum, "checksum");
            assert_eq!(&h[155..156], b" ", "the checksum's field ends NUL, space");
            assert_eq!(&h[257..263], b"ustar\0");
            assert_eq!(&h[263..265], b"00");
            assert_eq!(h[156], b'0', "a regular file");
            assert_eq!(number(&h[100..108]), 0o644);
            let name: String = h[..100]
                .iter()
                .take_while(|b| **b != 0)
                .map(|b| char::from(*b))
                .collect();
            let size = usize::try_from(number(&h[124..136])).unwrap();
            let body = &archive[at + BLOCK..at + BLOCK + size];
            out.push((name, body.to_vec()));
            at += BLOCK + size + padding(size as u64);
        }
    }

    #[test]
    fn a_header_holds_the_name_size_time_and_a_checksum_of_itself() {
        let h = header("media/photo.jpeg", 1234, 1_700_000_000).unwrap();
        assert_eq!(&h[..16], b"media/photo.jpeg");
        assert!(h[16..100].iter().all(|b| *b == 0));
        assert_eq!(&h[100..108], b"0000644\0");
        assert_eq!(&h[124..136], b"00000002322\0");
        assert_eq!(number(&h[136..148]), 1_700_000_000);
        let mut blank = h;
        blank[148..156].copy_from_slice(b"        ");
        let sum: u64 = blank.iter().map(|b| u64::from(*b)).sum();
        assert_eq!(number(&h[148..156]), sum);
        assert_eq!(h[154], 0);
    }

    #[test]
    fn a_name_no_header_can_hold_is_refused() {
        assert!(header(&"a".repeat(MAX_NAME), 0, 0).is_ok());
        assert!(header(&"a".repeat(MAX_NAME + 1), 0, 0).is_err());
        assert!(header("", 0, 0).is_err());
        assert!(header("médias", 0, 0).is_err());
        assert!(
            header("big", 8u64.pow(11), 0).is_err(),
            "a size of 12 octal digits"
        );
    }

    #[tokio::test]
    async fn members_written_whole_streamed_or_copied_read_back_as_written() {
        let dir = std::env::temp_dir();
        let path = dir.join(format!("herald-tar-{}.tar", uuid::Uuid::new_v4().simple()));
        let source = dir.join(format!("herald-tar-{}.bin", uuid::Uuid::new_v4().simple()));
        let file_bytes: Vec<u8> = (0..(3 * CHUNK + 17)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&source, &file_bytes).unwrap();

        let mut tar = TarWriter::create(&path, 1_700_000_000).await.unwrap();
        tar.add("manifest.json", b"{\"format_version\":1}").await.unwrap();
        tar.begin("posts.json").await.unwrap();
        for part in ["[", "{\"id\":1}", ",", "{\"id\":2}", "]"] {
            tar.write(part.as_bytes()).await.unwrap();
        }
        tar.end().await.unwrap();
        tar.add("empty.json", b"").await.unwrap();
        let from = tokio::fs::File::open(&source).await.unwrap();
        assert_eq!(
            tar.add_file("media/a.bin", from).await.unwrap(),
            file_bytes.len() as u64
        );
        tar.add("exact.bin", &[7u8; BLOCK]).await.unwrap();
        let (mut file, len) = tar.finish().await.unwrap();
        let mut archive = Vec::new();
        file.read_to_end(&mut archive).await.unwrap();
        std::fs::remove_file(&path).unwrap();
        std::fs::remove_file(&source).unwrap();

        assert_eq!(archive.len() as u64, len);
        let found = members(&archive);
        let names: Vec<&str> = found.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "manifest.json",
                "posts.json",
                "empty.json",
                "media/a.bin",
                "exact.bin"
            ]
        );
        assert_eq!(found[0].1, b"{\"format_version\":1}");
        assert_eq!(found[1].1, b"[{\"id\":1},{\"id\":2}]");
        assert!(found[2].1.is_empty());
        assert_eq!(found[3].1, file_bytes);
        assert_eq!(found[4].1, vec![7u8; BLOCK]);
    }

    #[tokio::test]
    async fn a_member_left_open_or_nested_is_an_error_not_a_broken_archive() {
        let path = std::env::temp_dir().join(format!("herald-tar-{}.tar", uuid::Uuid::new_v4().simple()));
        let mut tar = TarWriter::create(&path, 0).await.unwrap();
        assert!(tar.write(b"loose").await.is_err());
        tar.begin("a.json").await.unwrap();
        assert!(tar.begin("b.json").await.is_err());
        assert!(tar.finish().await.is_err());
        std::fs::remove_file(&path).unwrap();
    }
}
