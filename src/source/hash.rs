//! The SHA-256 and size of an input file, taken while it is read: the history records what was
//! read (docs/REPORT.md), and reading a 10 GB export a second time only to hash it would double
//! the run's disk time.

use std::cell::RefCell;
use std::io::Read;
use std::rc::Rc;

use sha2::{Digest, Sha256};

/// The digest being taken, shared with the reader that feeds it.
#[derive(Clone, Default)]
pub struct Tap(Rc<RefCell<(Sha256, u64)>>);

impl Tap {
    /// `reader`, with everything read through it hashed into this tap.
    pub fn wrap<R: Read>(&self, reader: R) -> Hashing<R> {
        Hashing {
            inner: reader,
            tap: self.clone(),
        }
    }

    /// Lower-case hex SHA-256 and bytes of what was read so far.
    pub fn finish(&self) -> (String, u64) {
        let state = self.0.borrow();
        let digest = state.0.clone().finalize();
        (hex(&digest), state.1)
    }
}

/// A reader that hashes what passes through it.
pub struct Hashing<R> {
    inner: R,
    tap: Tap,
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut state = self.tap.0.borrow_mut();
        state.0.update(&buf[..n]);
        state.1 += n as u64;
        Ok(n)
    }
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Hash a whole file (for the readers whose library reads the file itself).
pub fn file(path: &std::path::Path) -> std::io::Result<(String, u64)> {
    let tap = Tap::default();
    let mut r = tap.wrap(std::fs::File::open(path)?);
    std::io::copy(&mut r, &mut std::io::sink())?;
    Ok(tap.finish())
}

#[cfg(test)]
mod tests {
    #[test]
    fn hashes_what_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(
            super::file(&p).unwrap(),
            (
                "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad".to_string(),
                3
            )
        );
    }
}
