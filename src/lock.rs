//! The workspace lock, `.yibao/workspace.lock`: every command that writes the ledger, the
//! history, the code tables or the crosswalks (`run`, `batch`, `codes import`, `map accept`)
//! holds it, so two of them on one workspace cannot interleave. The second one is refused and
//! told who holds the lock.
//!
//! The lock is an OS advisory lock on the file (`File::try_lock`: `flock` on Unix, `LockFileEx`
//! on Windows), so the kernel releases it when its holder dies, however it dies: no stale lock,
//! no pid to check, no race between two takers of a dead one. The file itself stays; while the
//! lock is held it says who holds it (pid, host, start, command as JSON), which is only for the
//! message. On a network file system without advisory locks, taking the lock fails with an I/O
//! error rather than pretending.

use std::fs::{File, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use miette::Diagnostic;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    /// Process id.
    pub pid: u32,
    /// Host name.
    pub host: String,
    /// When it started (RFC 3339, UTC).
    pub started: String,
    /// The command, e.g. `yibao run --nightly`.
    pub command: String,
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} on {} ({}, started {})",
            self.pid, self.host, self.command, self.started
        )
    }
}

/// Why the lock could not be taken.
#[derive(Debug, Error, Diagnostic)]
pub enum LockError {
    /// Another command holds it.
    #[error("workspace is locked by {who}; nothing was done")]
    #[diagnostic(
        code(yibao::run::locked),
        help("wait for it to finish and run this again; the lock is released when its holder ends, even when killed")
    )]
    Held {
        /// Who holds it, as the lock file says (`another yibao process` while it is being written).
        who: String,
        /// The holder, when the lock file could be read.
        holder: Option<Holder>,
        /// The lock file.
        path: PathBuf,
    },
    /// The lock file could not be opened, locked or written.
    #[error("cannot use the workspace lock {}: {source}", path.display())]
    #[diagnostic(
        code(yibao::io::lock),
        help("check that the workspace's .yibao folder is writable and on a file system with file locks")
    )]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// A held lock; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct WorkspaceLock {
    file: File,
    holder: Holder,
}

impl WorkspaceLock {
    /// The lock file of a workspace.
    pub fn path_in(workspace: &Path) -> PathBuf {
        workspace.join(".yibao").join("workspace.lock")
    }

    /// Take the lock of `workspace` for `command`, or say who holds it.
    pub fn acquire(workspace: &Path, command: &str) -> Result<WorkspaceLock, LockError> {
        let path = Self::path_in(workspace);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = read_holder(&mut file);
                let who = holder
                    .as_ref()
                    .map_or_else(|| "another yibao process".to_string(), Holder::to_string);
                return Err(LockError::Held { who, holder, path });
            }
            Err(TryLockError::Error(e)) => return Err(io(e)),
        }
        let holder = Holder {
            pid: std::process::id(),
            host: host_name(),
            started: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            command: command.to_string(),
        };
        // What the file says is only for the message of a refused taker; the lock is the flock.
        let body = serde_json::to_vec(&holder).unwrap_or_default();
        file.set_len(0)
            .and_then(|()| file.seek(SeekFrom::Start(0)))
            .and_then(|_| file.write_all(&body))
            .and_then(|()| file.flush())
            .map_err(io)?;
        Ok(WorkspaceLock { file, holder })
    }

    /// Who holds it (this process).
    pub fn holder(&self) -> &Holder {
        &self.holder
    }
}

impl Drop for WorkspaceLock {
    fn drop(&mut self) {
        // Emptied first, so that nobody reads a holder that has gone; the kernel drops the lock
        // with the file handle (and with the process, if it never gets here).
        let _ = self.file.set_len(0);
        let _ = self.file.unlock();
    }
}

fn read_holder(file: &mut File) -> Option<Holder> {
    let mut text = Vec::new();
    file.seek(SeekFrom::Start(0)).ok()?;
    file.read_to_end(&mut text).ok()?;
    serde_json::from_slice(&text).ok()
}

/// The host name, as the kernel knows it; `localhost` when it cannot be read.
fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_taker_is_refused_and_release_frees_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = WorkspaceLock::acquire(dir.path(), "yibao run").unwrap();
        let err = WorkspaceLock::acquire(dir.path(), "yibao batch").unwrap_err();
        let text = err.to_string();
        assert!(
            text.starts_with(&format!(
                "workspace is locked by pid {}",
                std::process::id()
            )),
            "{text}"
        );
        assert!(text.contains("(yibao run, started "), "{text}");
        drop(first);
        let again = WorkspaceLock::acquire(dir.path(), "yibao batch").unwrap();
        assert_eq!(again.holder().command, "yibao batch");
    }

    #[test]
    fn i16_11_leftover_lock_file_of_a_dead_holder_is_not_a_lock() {
        // What a killed holder leaves behind: the file with its details, but no flock.
        let dir = tempfile::tempdir().unwrap();
        let path = WorkspaceLock::path_in(dir.path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let dead = Holder {
            pid: 0,
            host: host_name(),
            started: "2026-01-01T00:00:00Z".into(),
            command: "yibao run".into(),
        };
        std::fs::write(&path, serde_json::to_vec(&dead).unwrap()).unwrap();
        let lock = WorkspaceLock::acquire(dir.path(), "yibao run").unwrap();
        assert_eq!(lock.holder().pid, std::process::id());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(
            text.contains(&format!("\"pid\":{}", std::process::id())),
            "{text}"
        );
    }

    #[test]
    fn i16_11_lock_taken_while_its_file_is_empty_still_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let first = WorkspaceLock::acquire(dir.path(), "yibao run").unwrap();
        std::fs::write(WorkspaceLock::path_in(dir.path()), b"").unwrap();
        let err = WorkspaceLock::acquire(dir.path(), "yibao batch").unwrap_err();
        assert_eq!(
            err.to_string(),
            "workspace is locked by another yibao process; nothing was done"
        );
        drop(first);
    }
}
