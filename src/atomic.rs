//! Atomic file writes: written aside in the same folder, synced, then renamed over the target,
//! so a reader (or a crash) sees the old file or the new one, never half of one. A new file gets
//! a plain file's mode; a replaced file keeps its own.

use std::io::Write;
use std::path::Path;

/// Write `bytes` to `path` atomically, creating its folder.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_with(path, |w| w.write_all(bytes))
}

/// Write `path` atomically with what `fill` writes, creating its folder. `fill` writes into a
/// buffered temporary file, so a large file need not be built in memory first.
pub fn write_with(
    path: &Path,
    fill: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let mut w = Writer::new(path)?;
    fill(&mut w)?;
    w.commit()
}

/// A file being written atomically: written into a buffered temporary file beside `path`,
/// which [`Writer::commit`] syncs and renames over it. Dropped without a commit, it leaves
/// nothing behind. For outputs written piece by piece over a long time (a check's rejects,
/// chunk by chunk).
pub struct Writer {
    path: std::path::PathBuf,
    out: std::io::BufWriter<tempfile::NamedTempFile>,
}

impl Writer {
    /// Start writing `path`, creating its folder.
    pub fn new(path: &Path) -> std::io::Result<Writer> {
        let dir = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let mut builder = tempfile::Builder::new();
        builder.prefix(".yibao-").suffix(".tmp");
        // A temporary file is private (0600); the output is not: like any file a program
        // creates, it is readable as the umask allows, so a report can be served or read by a
        // colleague.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let tmp = builder.tempfile_in(dir)?;
        // Replacing a file keeps its mode: a crosswalk a team keeps group-writable (0664) stays
        // so after `map accept` rewrites it, as it would after an edit in place. (The owner and
        // group become the writer's, as with any editor that saves by rename.)
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.is_file() {
                tmp.as_file().set_permissions(meta.permissions())?;
            }
        }
        Ok(Writer {
            path: path.to_path_buf(),
            out: std::io::BufWriter::with_capacity(1 << 16, tmp),
        })
    }

    /// Sync the file and rename it into place.
    pub fn commit(self) -> std::io::Result<()> {
        let tmp = self.out.into_inner().map_err(|e| e.into_error())?;
        tmp.as_file().sync_all()?;
        tmp.persist(&self.path).map_err(|e| e.error)?;
        // The rename itself must reach the disk too.
        let dir = self
            .path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }
}

impl Write for Writer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.out.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    #[test]
    fn an_uncommitted_writer_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.csv");
        super::write(&p, b"old").unwrap();
        {
            let mut w = super::Writer::new(&p).unwrap();
            w.write_all(b"half").unwrap();
        }
        assert_eq!(std::fs::read(&p).unwrap(), b"old");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let mut w = super::Writer::new(&p).unwrap();
        w.write_all(b"new").unwrap();
        w.commit().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
    }

    #[test]
    fn replaces_whole_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/b.csv");
        super::write(&p, b"one").unwrap();
        super::write(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }

    /// An output gets the mode of any file created here (0666 less the umask), not a
    /// temporary file's 0600.
    #[cfg(unix)]
    #[test]
    fn outputs_are_as_readable_as_plain_files() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"x").unwrap();
        let out = dir.path().join("out");
        super::write(&out, b"x").unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&out), mode(&plain));
    }

    /// Issue 16 item 10: rewriting a group-writable file keeps it group-writable.
    #[cfg(unix)]
    #[test]
    fn i16_10_a_replaced_file_keeps_its_mode() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("drug.csv");
        for mode in [0o664, 0o640, 0o600] {
            std::fs::write(&p, b"old").unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
            super::write(&p, b"new").unwrap();
            let got = std::fs::metadata(&p).unwrap().permissions().mode() & 0o777;
            assert_eq!(got, mode, "{mode:o}");
            assert_eq!(std::fs::read(&p).unwrap(), b"new");
        }
    }
}
