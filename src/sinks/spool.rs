//! The on-disk spool: every batch is written (and synced) to a segment file
//! before it is sent, and removed only once the receiver has taken it. A
//! receiver that is down loses nothing: the segments wait for the next run
//! (or `okta365 audit flush`), oldest first.

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;

/// One sink's spool folder.
#[derive(Clone, Debug)]
pub struct Spool {
    dir: PathBuf,
}

static SEQUENCE: AtomicU64 = AtomicU64::new(0);

impl Spool {
    /// The spool of sink `name` under `root` (created if needed).
    pub fn open(root: &Path, name: &str) -> io::Result<Self> {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir)?;
        Ok(Self { dir })
    }

    /// The folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Segments waiting to be sent, oldest first.
    pub fn pending(&self) -> io::Result<Vec<PathBuf>> {
        let mut segments: Vec<PathBuf> = std::fs::read_dir(&self.dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
            .collect();
        segments.sort();
        Ok(segments)
    }

    /// Writes `records` as a new segment (a temporary file synced, then
    /// renamed, so a crash leaves a whole segment or none).
    pub fn write(&self, records: &[Value]) -> io::Result<PathBuf> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let seq = SEQUENCE.fetch_add(1, Ordering::Relaxed);
        let path = self.dir.join(format!(
            "{nanos:024}-{:08}-{seq:06}.jsonl",
            std::process::id()
        ));
        let mut file = tempfile::NamedTempFile::new_in(&self.dir)?;
        for record in records {
            serde_json::to_writer(&mut file, record)?;
            file.write_all(b"\n")?;
        }
        file.as_file().sync_all()?;
        file.persist(&path).map_err(|e| e.error)?;
        sync_dir(&self.dir);
        Ok(path)
    }

    /// The records of a segment.
    pub fn read(segment: &Path) -> io::Result<Vec<Value>> {
        std::fs::read_to_string(segment)?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).map_err(io::Error::other))
            .collect()
    }

    /// Removes a delivered segment.
    pub fn remove(segment: &Path) -> io::Result<()> {
        std::fs::remove_file(segment)?;
        if let Some(dir) = segment.parent() {
            sync_dir(dir);
        }
        Ok(())
    }

    /// Records in the segments still waiting.
    pub fn waiting(&self) -> usize {
        self.pending()
            .unwrap_or_default()
            .iter()
            .map(|p| Self::read(p).map_or(0, |r| r.len()))
            .sum()
    }
}

/// Makes a rename or removal in `dir` durable (best effort: not every
/// platform can sync a folder).
fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_come_back_in_order_and_go_when_removed() {
        let root = tempfile::tempdir().unwrap();
        let spool = Spool::open(root.path(), "splunk").unwrap();
        let a = spool
            .write(&[serde_json::json!({"n": 1}), serde_json::json!({"n": 2})])
            .unwrap();
        let b = spool.write(&[serde_json::json!({"n": 3})]).unwrap();
        assert_eq!(spool.pending().unwrap(), [a.clone(), b.clone()]);
        assert_eq!(spool.waiting(), 3);
        assert_eq!(Spool::read(&a).unwrap()[1]["n"], 2);
        Spool::remove(&a).unwrap();
        assert_eq!(spool.pending().unwrap(), [b]);
        // Reopening finds what a previous run left.
        assert_eq!(Spool::open(root.path(), "splunk").unwrap().waiting(), 1);
    }
}
