//! The workspace run lock, `.yibao/run.lock`: two `yibao run` on one workspace would interleave
//! their outputs and history, so the second one is refused and told who holds the lock.
//!
//! The file is created with `create_new` (atomic on every local file system) and holds the
//! holder's pid, host, start time and command as JSON. A lock whose pid no longer runs on this
//! host is stale (the holder was killed) and is taken over; a lock from another host is never
//! taken over, since its pid cannot be checked from here.

use std::io::Write;
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

/// Why the lock could not be taken.
#[derive(Debug, Error, Diagnostic)]
pub enum LockError {
    /// Another run holds it.
    #[error(
        "workspace is locked by pid {} on {} ({}, started {}); nothing was done",
        holder.pid, holder.host, holder.command, holder.started
    )]
    #[diagnostic(
        code(yibao::run::locked),
        help("wait for that run to finish; if it is gone (another host, or a crash), remove {}", path.display())
    )]
    Held {
        /// The holder.
        holder: Holder,
        /// The lock file.
        path: PathBuf,
    },
    /// The lock file could not be written or read.
    #[error("cannot use the run lock {}: {source}", path.display())]
    #[diagnostic(
        code(yibao::io::lock),
        help("check that the workspace's .yibao folder is writable")
    )]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// A held lock; released (the file removed) when dropped.
#[derive(Debug)]
pub struct RunLock {
    path: PathBuf,
    holder: Holder,
}

impl RunLock {
    /// The lock file of a workspace.
    pub fn path_in(workspace: &Path) -> PathBuf {
        workspace.join(".yibao").join("run.lock")
    }

    /// Take the lock of `workspace` for `command`, taking over a stale one.
    pub fn acquire(workspace: &Path, command: &str) -> Result<RunLock, LockError> {
        let path = Self::path_in(workspace);
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let holder = Holder {
            pid: std::process::id(),
            host: host_name(),
            started: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            command: command.to_string(),
        };
        let body = serde_json::to_vec(&holder).unwrap_or_default();
        // Two attempts: the second after removing a stale lock.
        for _ in 0..2 {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    f.write_all(&body).and_then(|()| f.sync_all()).map_err(io)?;
                    return Ok(RunLock { path, holder });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let other = read_holder(&path);
                    match other {
                        Some(h) if h.host == holder.host && !alive(h.pid) => {
                            // The holder died without releasing it: take over.
                            match std::fs::remove_file(&path) {
                                Ok(()) => continue,
                                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                                Err(e) => return Err(io(e)),
                            }
                        }
                        Some(h) => return Err(LockError::Held { holder: h, path }),
                        // Being written this instant by its holder, or unreadable: held.
                        None => {
                            return Err(LockError::Held {
                                holder: Holder {
                                    pid: 0,
                                    host: "?".into(),
                                    started: "?".into(),
                                    command: "unknown".into(),
                                },
                                path,
                            })
                        }
                    }
                }
                Err(e) => return Err(io(e)),
            }
        }
        match read_holder(&path) {
            Some(h) => Err(LockError::Held { holder: h, path }),
            None => Err(io(std::io::Error::other(
                "the lock changed hands while taking it",
            ))),
        }
    }

    /// Who holds it (this process).
    pub fn holder(&self) -> &Holder {
        &self.holder
    }
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Remove only our own lock: a stale-lock takeover by someone else must not be undone.
        if read_holder(&self.path).is_some_and(|h| h == self.holder) {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn read_holder(path: &Path) -> Option<Holder> {
    let text = std::fs::read(path).ok()?;
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

/// Whether a process runs. Linux answers through /proc; elsewhere a lock is assumed alive, so
/// a stale one there must be removed by hand (the message says which file).
fn alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    if proc.join("self").exists() {
        proc.join(pid.to_string()).exists()
    } else {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_taker_is_refused_and_release_frees_it() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(dir.path(), "yibao run").unwrap();
        let err = RunLock::acquire(dir.path(), "yibao run --nightly").unwrap_err();
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
        assert!(!RunLock::path_in(dir.path()).exists());
        RunLock::acquire(dir.path(), "yibao run").unwrap();
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn stale_lock_is_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let path = RunLock::path_in(dir.path());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        // A pid above the kernel's pid_max never runs.
        let stale = Holder {
            pid: 99_999_999,
            host: host_name(),
            started: "2026-01-01T00:00:00Z".into(),
            command: "yibao run".into(),
        };
        std::fs::write(&path, serde_json::to_vec(&stale).unwrap()).unwrap();
        let lock = RunLock::acquire(dir.path(), "yibao run").unwrap();
        assert_eq!(lock.holder().pid, std::process::id());
    }
}
