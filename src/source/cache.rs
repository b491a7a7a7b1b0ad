//! The read cache under `.yibao/tmp/`: each dataset read normalises its files into Parquet in a
//! folder of its own, removed when the read is dropped. A killed or interrupted process cannot
//! remove its folder, so each one holds an OS lock on a file inside it for as long as it lives
//! (released by the kernel when it dies, however it dies), and every new read first removes
//! the folders whose lock nobody holds. Two processes reading at once never remove each other's.

use std::fs::{File, TryLockError};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::ReadError;

/// The lock file inside each cache folder.
const LOCK: &str = ".owner";
/// A folder without its lock file is being made right now, or is from before locks: removed
/// only once it is this old.
const UNLOCKED_GRACE: Duration = Duration::from_secs(3600);

/// A read cache folder, held by this process; removed on drop.
#[derive(Debug)]
pub struct ReadCache {
    // Dropped in order: the folder (with the lock file in it) goes first, then the lock.
    dir: tempfile::TempDir,
    _owner: File,
}

impl ReadCache {
    /// Remove what killed readers left under `<root>/.yibao/tmp`, then make a folder of our own.
    pub fn new(root: &Path) -> Result<ReadCache, ReadError> {
        let tmp = root.join(".yibao").join("tmp");
        let err = |path: &Path| {
            let path = path.to_path_buf();
            move |source| ReadError::Cache { path, source }
        };
        std::fs::create_dir_all(&tmp).map_err(err(&tmp))?;
        sweep(&tmp);
        let dir = tempfile::Builder::new()
            .prefix("read-")
            .tempdir_in(&tmp)
            .map_err(err(&tmp))?;
        let lock = dir.path().join(LOCK);
        let owner = File::create(&lock).map_err(err(&lock))?;
        owner.try_lock().map_err(|e| match e {
            TryLockError::Error(e) => ReadError::Cache {
                path: lock,
                source: e,
            },
            TryLockError::WouldBlock => ReadError::Cache {
                path: lock,
                source: std::io::Error::other("a new cache folder was locked by someone else"),
            },
        })?;
        Ok(ReadCache { dir, _owner: owner })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// Remove the cache folders of dead readers; what cannot be removed now is left for next time.
/// Returns the folders removed.
pub fn sweep(tmp: &Path) -> Vec<PathBuf> {
    let mut removed = Vec::new();
    let Ok(entries) = std::fs::read_dir(tmp) else {
        return removed;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let is_cache = entry.file_name().to_string_lossy().starts_with("read-");
        if !is_cache || !path.is_dir() {
            continue;
        }
        let dead = match File::options().read(true).write(true).open(path.join(LOCK)) {
            // Lockable: its owner is gone. The lock is ours until the folder is removed.
            Ok(f) => f.try_lock().is_ok(),
            Err(_) => entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| SystemTime::now().duration_since(t).ok())
                .is_some_and(|age| age > UNLOCKED_GRACE),
        };
        if dead && std::fs::remove_dir_all(&path).is_ok() {
            removed.push(path);
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn i16_10_a_dead_readers_cache_is_removed_a_live_ones_kept() {
        let root = tempfile::tempdir().unwrap();
        let live = ReadCache::new(root.path()).unwrap();
        std::fs::write(live.path().join("0.parquet"), b"x").unwrap();
        // What a killed reader leaves: a folder whose lock file nobody holds.
        let tmp = root.path().join(".yibao/tmp");
        let dead = tmp.join("read-dead");
        std::fs::create_dir_all(&dead).unwrap();
        std::fs::write(dead.join(LOCK), b"").unwrap();
        std::fs::write(dead.join("0.parquet"), vec![0u8; 4096]).unwrap();
        // A folder being made this instant (no lock file yet) is young: kept.
        let young = tmp.join("read-young");
        std::fs::create_dir_all(&young).unwrap();

        let other = ReadCache::new(root.path()).unwrap();
        assert!(!dead.exists(), "the dead reader's cache is gone");
        assert!(young.exists());
        assert!(
            live.path().join("0.parquet").exists(),
            "a live reader's cache stays"
        );
        let (a, b) = (live.path().to_path_buf(), other.path().to_path_buf());
        drop(live);
        drop(other);
        assert!(!a.exists() && !b.exists());
    }
}
