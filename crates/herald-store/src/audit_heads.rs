//! The audit heads file: each audit chain's newest seq and MAC, kept outside the database, so that
//! removing a chain's newest entries and rewinding its head in the database still shows. Several
//! processes append, so a write holds a lock file and never moves a head backwards.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A chain's head as the file records it.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct Head {
    pub(crate) seq: i64,
    /// Hex.
    pub(crate) mac: String,
}

/// `path` with `suffix` added to its file name.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    name.into()
}

/// Each chain's head as the file records it (none when there is no file yet).
pub(crate) fn read(path: &Path) -> io::Result<BTreeMap<String, Head>> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(io::Error::other),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(e) => Err(e),
    }
}

/// Records `chain`'s head at `seq` with `mac`, unless the file already holds a later one (another
/// process appended meanwhile). The file is replaced whole, under the lock file `<path>.lock`.
pub(crate) fn record(path: &Path, chain: &str, seq: i64, mac: &str) -> io::Result<()> {
    write(path, chain, seq, mac, |held| held.seq >= seq)
}

/// Records `chain`'s head at `seq` with `mac` in place of whatever the file holds for it: after
/// the chain was signed again under a newer key, every MAC in it changed.
pub(crate) fn replace(path: &Path, chain: &str, seq: i64, mac: &str) -> io::Result<()> {
    write(path, chain, seq, mac, |_| false)
}

/// Writes `chain`'s head unless `keep` says to keep the head the file holds for it.
fn write(path: &Path, chain: &str, seq: i64, mac: &str, keep: impl Fn(&Head) -> bool) -> io::Result<()> {
    update(path, |heads| {
        if heads.get(chain).is_some_and(keep) {
            return false;
        }
        let head = Head {
            seq,
            mac: mac.to_owned(),
        };
        heads.insert(chain.to_owned(), head);
        true
    })
}

/// Drops `chain` from the file: its row left the database for good (a deleted workspace's
/// chain, swept after the retention period).
pub(crate) fn forget(path: &Path, chain: &str) -> io::Result<()> {
    update(path, |heads| heads.remove(chain).is_some())
}

/// Reads the file, lets `change` edit the heads, and replaces the file whole when it says it
/// changed something, all under the lock file `<path>.lock`.
fn update(path: &Path, change: impl FnOnce(&mut BTreeMap<String, Head>) -> bool) -> io::Result<()> {
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(beside(path, ".lock"))?;
    lock.lock()?;
    let mut heads = read(path)?;
    if !change(&mut heads) {
        return Ok(());
    }
    let json = serde_json::to_vec_pretty(&heads).map_err(io::Error::other)?;
    let tmp = beside(path, ".tmp");
    let mut f = File::create(&tmp)?;
    f.write_all(&json)?;
    f.sync_all()?;
    // The lock is let go when `lock` closes, after the rename.
    std::fs::rename(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_never_moves_backwards_and_each_chain_keeps_its_own() {
        let dir = std::env::temp_dir().join(format!("herald-heads-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("audit-heads.json");
        assert!(read(&path).unwrap().is_empty(), "no file yet: no heads");
        record(&path, "a", 5, "aa").unwrap();
        record(&path, "a", 3, "older").unwrap();
        record(&path, "b", 1, "bb").unwrap();
        let heads = read(&path).unwrap();
        assert_eq!((heads["a"].seq, heads["a"].mac.as_str()), (5, "aa"));
        assert_eq!((heads["b"].seq, heads["b"].mac.as_str()), (1, "bb"));
        forget(&path, "a").unwrap();
        assert_eq!(
            read(&path).unwrap().keys().collect::<Vec<_>>(),
            ["b"],
            "a is forgotten, b kept"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
