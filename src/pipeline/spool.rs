//! The dirty records' identities of a run, kept on disk between the check that finds them (a
//! chunk at a time) and the history that records them (in one transaction at the run's end), so
//! that a run with millions of dirty records holds none of them in memory. The file is an
//! unnamed temporary file in the workspace's `out/` folder: nothing is left behind when the run
//! stops, however it stops.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::report::location;
use crate::store::history::DirtyRecord;

/// Dirty records written one after another: each a few length-prefixed strings and the row.
pub struct Spool {
    out: BufWriter<File>,
    count: u64,
}

impl Spool {
    /// A new, empty spool in `dir` (created when missing).
    pub fn new(dir: &Path) -> io::Result<Spool> {
        std::fs::create_dir_all(dir)?;
        Ok(Spool {
            out: BufWriter::with_capacity(1 << 20, tempfile::tempfile_in(dir)?),
            count: 0,
        })
    }

    /// Records written so far.
    pub fn len(&self) -> u64 {
        self.count
    }

    /// Whether nothing was written.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Append one record.
    pub fn push(&mut self, d: &DirtyRecord) -> io::Result<()> {
        for text in [&d.dataset, &d.key, &d.file, &d.rules] {
            put(&mut self.out, text.as_bytes())?;
        }
        match &d.sheet {
            Some(s) => {
                self.out.write_all(&[1])?;
                put(&mut self.out, s.as_bytes())?;
            }
            None => self.out.write_all(&[0])?,
        }
        self.out.write_all(&d.row.to_le_bytes())?;
        self.count += 1;
        Ok(())
    }

    /// The records, in the order written.
    pub fn read(self) -> io::Result<Records> {
        let mut file = self.out.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        Ok(Records {
            input: BufReader::with_capacity(1 << 20, file),
            left: self.count,
        })
    }
}

fn put(out: &mut impl Write, bytes: &[u8]) -> io::Result<()> {
    let len = u32::try_from(bytes.len()).map_err(io::Error::other)?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(bytes)
}

/// A spool read back.
pub struct Records {
    input: BufReader<File>,
    left: u64,
}

impl Records {
    fn text(&mut self) -> io::Result<String> {
        let mut len = [0u8; 4];
        self.input.read_exact(&mut len)?;
        let mut bytes = vec![0u8; u32::from_le_bytes(len) as usize];
        self.input.read_exact(&mut bytes)?;
        String::from_utf8(bytes).map_err(io::Error::other)
    }

    fn next_record(&mut self) -> io::Result<DirtyRecord> {
        let dataset = self.text()?;
        let key = self.text()?;
        let file = self.text()?;
        let rules = self.text()?;
        let mut tag = [0u8; 1];
        self.input.read_exact(&mut tag)?;
        let sheet = match tag[0] {
            0 => None,
            _ => Some(self.text()?),
        };
        let mut row = [0u8; 8];
        self.input.read_exact(&mut row)?;
        let row = u64::from_le_bytes(row);
        let loc = location(&file, sheet.as_deref(), row);
        Ok(DirtyRecord {
            dataset,
            key,
            file,
            sheet,
            row,
            loc,
            rules,
        })
    }
}

impl Iterator for Records {
    type Item = io::Result<DirtyRecord>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        Some(self.next_record())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut spool = Spool::new(dir.path()).unwrap();
        let recs: Vec<DirtyRecord> = (0..1000u64)
            .map(|i| DirtyRecord {
                dataset: "fee_details".into(),
                key: format!("S{i}|\t\n键"),
                file: "data/a.xlsx".into(),
                sheet: (i % 2 == 0).then(|| "明细".to_string()),
                row: i + 2,
                loc: location("data/a.xlsx", (i % 2 == 0).then_some("明细"), i + 2),
                rules: "a;b".into(),
            })
            .collect();
        for r in &recs {
            spool.push(r).unwrap();
        }
        assert_eq!(spool.len(), 1000);
        let back: Vec<DirtyRecord> = spool.read().unwrap().map(Result::unwrap).collect();
        assert_eq!(back, recs);
        // Unnamed: nothing in the folder.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
