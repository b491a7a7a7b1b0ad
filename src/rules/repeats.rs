//! A uniqueness rule's repeats — the records whose key an earlier record of the dataset has —
//! found without holding the dataset's keys in memory. Each chunk's keys become 128-bit digests
//! with their record's position; digests and positions are sorted a million at a time into
//! unnamed temporary files and merged, and a position whose digest equals the one before it in
//! that order is a repeat. What stays in memory is the repeats' positions, not the keys.
//!
//! Polars' `is_first_distinct` over the whole key column gives the same positions, but holds
//! the whole column and its hash table: at 50 million fee lines several gigabytes.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use polars::prelude::*;
use sha2::{Digest, Sha256};

type Entry = ([u64; 2], u64);

/// Entries sorted in memory at once (24 MB).
const RUN: usize = 1 << 20;

/// Digests and positions in any order; out come the positions whose digest an entry of lower
/// position has, ascending.
pub(super) struct Repeats {
    buf: Vec<Entry>,
    runs: Vec<(File, u64)>,
    dir: Option<std::path::PathBuf>,
    limit: usize,
}

impl Repeats {
    /// Spilling to unnamed files in `dir` (the system's temporary folder without one).
    pub(super) fn new(dir: Option<&Path>) -> Repeats {
        Repeats {
            buf: Vec::new(),
            runs: Vec::new(),
            dir: dir.map(Path::to_path_buf),
            limit: RUN,
        }
    }

    /// The key of the record at `position`, as its fields' texts.
    pub(super) fn push(&mut self, fields: &[&str], position: u64) -> io::Result<()> {
        let mut h = Sha256::new();
        for f in fields {
            h.update((f.len() as u64).to_le_bytes());
            h.update(f.as_bytes());
        }
        let d = h.finalize();
        let w = |i: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&d[i..i + 8]);
            u64::from_le_bytes(b)
        };
        self.buf.push(([w(0), w(8)], position));
        if self.buf.len() >= self.limit {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> io::Result<()> {
        self.buf.sort_unstable();
        let file = match &self.dir {
            Some(d) => {
                std::fs::create_dir_all(d)?;
                tempfile::tempfile_in(d)?
            }
            None => tempfile::tempfile()?,
        };
        let mut out = BufWriter::with_capacity(1 << 16, file);
        for (k, p) in &self.buf {
            out.write_all(&k[0].to_le_bytes())?;
            out.write_all(&k[1].to_le_bytes())?;
            out.write_all(&p.to_le_bytes())?;
        }
        let mut file = out.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        self.runs.push((file, self.buf.len() as u64));
        self.buf.clear();
        Ok(())
    }

    /// The repeats' positions, ascending.
    pub(super) fn finish(mut self) -> io::Result<Vec<u64>> {
        self.buf.sort_unstable();
        let mut later = Vec::new();
        if self.runs.is_empty() {
            for w in self.buf.windows(2) {
                if w[0].0 == w[1].0 {
                    later.push(w[1].1);
                }
            }
            later.sort_unstable();
            return Ok(later);
        }
        let mut sources: Vec<Box<dyn Iterator<Item = io::Result<Entry>>>> = Vec::new();
        for (file, n) in std::mem::take(&mut self.runs) {
            sources.push(Box::new(RunReader {
                read: BufReader::with_capacity(1 << 16, file),
                left: n,
            }));
        }
        sources.push(Box::new(std::mem::take(&mut self.buf).into_iter().map(Ok)));
        let mut heap = BinaryHeap::new();
        for (i, s) in sources.iter_mut().enumerate() {
            if let Some(e) = s.next() {
                heap.push(Reverse((e?, i)));
            }
        }
        let mut last: Option<[u64; 2]> = None;
        while let Some(Reverse(((k, p), i))) = heap.pop() {
            if last == Some(k) {
                later.push(p);
            }
            last = Some(k);
            if let Some(e) = sources[i].next() {
                heap.push(Reverse((e?, i)));
            }
        }
        later.sort_unstable();
        Ok(later)
    }
}

struct RunReader {
    read: BufReader<File>,
    left: u64,
}

impl Iterator for RunReader {
    type Item = io::Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let mut b = [0u8; 24];
        Some(self.read.read_exact(&mut b).map(|()| {
            let w = |i: usize| {
                let mut x = [0u8; 8];
                x.copy_from_slice(&b[i..i + 8]);
                u64::from_le_bytes(x)
            };
            ([w(0), w(8)], w(16))
        }))
    }
}

/// Feed `repeats` the keys of one chunk: `df` holds the key fields (as text, in order), its
/// first record at `offset`. A record with an empty key field has no key.
pub(super) fn push_chunk(repeats: &mut Repeats, df: &DataFrame, offset: u64) -> PolarsResult<()> {
    let cols: Vec<&StringChunked> = df
        .columns()
        .iter()
        .map(|c| c.str())
        .collect::<PolarsResult<_>>()?;
    let iters: Vec<Vec<Option<&str>>> = cols.iter().map(|c| c.iter().collect()).collect();
    let mut fields: Vec<&str> = Vec::with_capacity(cols.len());
    'rows: for i in 0..df.height() {
        fields.clear();
        for c in &iters {
            match c[i] {
                Some(v) => fields.push(v),
                None => continue 'rows,
            }
        }
        repeats
            .push(&fields, offset + i as u64)
            .map_err(PolarsError::from)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spilled or not, the positions are every later record of a key, and a record with an
    /// empty field is nobody's repeat.
    #[test]
    fn later_records_of_a_key_whatever_the_spills() {
        for limit in [1, 3, 1000] {
            let mut r = Repeats::new(None);
            r.limit = limit;
            let keys = ["a", "b", "a", "c", "b", "a", "d"];
            for (i, k) in keys.iter().enumerate() {
                r.push(&[k], i as u64).unwrap();
            }
            // Two fields: ("x","y") twice; ("xy","") is another key.
            r.push(&["x", "y"], 7).unwrap();
            r.push(&["xy", ""], 8).unwrap();
            r.push(&["x", "y"], 9).unwrap();
            assert_eq!(r.finish().unwrap(), vec![2, 4, 5, 9], "limit {limit}");
        }
    }

    /// A frame's chunks give what polars' `is_first_distinct` gives over the whole column.
    #[test]
    fn chunks_agree_with_is_first_distinct() {
        let n = 5000u32;
        let a: Vec<Option<String>> = (0..n)
            .map(|i| (i % 17 != 0).then(|| format!("K{}", (i * 7919) % 400)))
            .collect();
        let b: Vec<String> = (0..n).map(|i| format!("{}", i % 3)).collect();
        let df = df!("a" => &a, "b" => &b).unwrap();
        let expected: Vec<u64> = df
            .clone()
            .lazy()
            .with_row_index("i", None)
            .filter(
                col("a").is_not_null().and(
                    as_struct(vec![col("a"), col("b")])
                        .is_first_distinct()
                        .not(),
                ),
            )
            .select([col("i").cast(DataType::UInt64)])
            .collect()
            .unwrap()
            .column("i")
            .unwrap()
            .u64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert!(expected.len() > 1000);
        let mut r = Repeats::new(None);
        r.limit = 700;
        let mut offset = 0;
        while offset < n as i64 {
            let chunk = df.slice(offset, 999);
            push_chunk(&mut r, &chunk, offset as u64).unwrap();
            offset += 999;
        }
        assert_eq!(r.finish().unwrap(), expected);
    }
}
