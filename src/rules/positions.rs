//! Rules that a record cannot be judged by alone, judged by position: a uniqueness rule's
//! repeats (the records whose key an earlier record of the dataset has) and a reference rule's
//! misses (the records whose value the target dataset does not hold), found without holding
//! either dataset's values in memory. Each value becomes a 128-bit digest with its record's
//! position; digests are sorted a million at a time into unnamed temporary files and merged;
//! a repeat is a position whose digest equals the one before it, a miss a position whose digest
//! the target's sorted digests lack. What stays in memory is the positions found.
//!
//! Polars' `is_first_distinct` over the whole key column, or `is_in` against the whole target
//! column, gives the same positions but holds the whole column and its hash table (several
//! gigabytes at 50 million fee lines), and `is_in` rebuilt that table for every chunk.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use sha2::{Digest, Sha256};

use super::kind::RepeatedKey;

type Key = [u64; 2];
type Entry = (Key, u64);

/// Entries sorted in memory at once (24 MB).
const RUN: usize = 1 << 20;

/// The digest of a value made of `fields` (each length-prefixed, so `("ab","c")` and
/// `("a","bc")` differ).
fn digest(fields: &[&str]) -> Key {
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
    [w(0), w(8)]
}

fn temp(dir: Option<&Path>) -> io::Result<File> {
    match dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            tempfile::tempfile_in(d)
        }
        None => tempfile::tempfile(),
    }
}

/// Entries in any order, out in ascending order (digest, then position).
struct Sorter {
    buf: Vec<Entry>,
    runs: Vec<(File, u64)>,
    dir: Option<PathBuf>,
    limit: usize,
}

impl Sorter {
    fn new(dir: Option<&Path>) -> Sorter {
        Sorter {
            buf: Vec::new(),
            runs: Vec::new(),
            dir: dir.map(Path::to_path_buf),
            limit: RUN,
        }
    }

    fn push(&mut self, e: Entry) -> io::Result<()> {
        self.buf.push(e);
        if self.buf.len() >= self.limit {
            self.spill()?;
        }
        Ok(())
    }

    fn spill(&mut self) -> io::Result<()> {
        self.buf.sort_unstable();
        let mut out = BufWriter::with_capacity(1 << 16, temp(self.dir.as_deref())?);
        for e in &self.buf {
            write_entry(&mut out, *e)?;
        }
        let mut file = out.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        self.runs.push((file, self.buf.len() as u64));
        self.buf.clear();
        Ok(())
    }

    fn sorted(mut self) -> io::Result<Merged> {
        self.buf.sort_unstable();
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
        Ok(Merged { sources, heap })
    }
}

/// The sorted files and the last entries in memory, merged.
struct Merged {
    sources: Vec<Box<dyn Iterator<Item = io::Result<Entry>>>>,
    heap: BinaryHeap<Reverse<(Entry, usize)>>,
}

impl Iterator for Merged {
    type Item = io::Result<Entry>;

    fn next(&mut self) -> Option<Self::Item> {
        let Reverse((e, i)) = self.heap.pop()?;
        match self.sources[i].next() {
            Some(Ok(n)) => self.heap.push(Reverse((n, i))),
            Some(Err(err)) => return Some(Err(err)),
            None => {}
        }
        Some(Ok(e))
    }
}

/// Digests and positions in any order; out come the positions whose digest an entry of lower
/// position has, ascending.
pub(super) struct Repeats(Sorter);

impl Repeats {
    /// Spilling to unnamed files in `dir` (the system's temporary folder without one).
    pub(super) fn new(dir: Option<&Path>) -> Repeats {
        Repeats(Sorter::new(dir))
    }

    /// The key of the record at `position`, as its fields' texts.
    pub(super) fn push(&mut self, fields: &[&str], position: u64) -> io::Result<()> {
        self.0.push((digest(fields), position))
    }

    /// The repeats' positions, ascending: with [`RepeatedKey::Later`] every record of a key
    /// but its first, with [`RepeatedKey::All`] every record of a key that more than one
    /// record has.
    pub(super) fn finish(self, mode: RepeatedKey) -> io::Result<Vec<u64>> {
        let mut out = Vec::new();
        // The key of the group being read, its first position, and whether it repeats.
        let mut last: Option<(Key, u64, bool)> = None;
        for e in self.0.sorted()? {
            let (k, p) = e?;
            match &mut last {
                Some((key, first, repeats)) if *key == k => {
                    if !*repeats && mode == RepeatedKey::All {
                        out.push(*first);
                    }
                    *repeats = true;
                    out.push(p);
                }
                _ => last = Some((k, p, false)),
            }
        }
        out.sort_unstable();
        Ok(out)
    }
}

/// The values a reference rule looks records up in, as sorted distinct digests in an unnamed
/// temporary file.
#[derive(Debug)]
pub struct Targets {
    file: File,
    len: u64,
}

/// Builds [`Targets`] from values in any order.
pub(super) struct TargetsBuilder(Sorter);

impl TargetsBuilder {
    pub(super) fn new(dir: Option<&Path>) -> TargetsBuilder {
        TargetsBuilder(Sorter::new(dir))
    }

    pub(super) fn push(&mut self, value: &str) -> io::Result<()> {
        self.0.push((digest(&[value]), 0))
    }

    pub(super) fn finish(self) -> io::Result<Targets> {
        let dir = self.0.dir.clone();
        let mut out = BufWriter::with_capacity(1 << 16, temp(dir.as_deref())?);
        let mut last: Option<Key> = None;
        let mut len = 0;
        for e in self.0.sorted()? {
            let (k, _) = e?;
            if last != Some(k) {
                out.write_all(&k[0].to_le_bytes())?;
                out.write_all(&k[1].to_le_bytes())?;
                len += 1;
                last = Some(k);
            }
        }
        let file = out.into_inner().map_err(|e| e.into_error())?;
        Ok(Targets { file, len })
    }
}

impl Targets {
    /// Distinct values.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn keys(&self) -> io::Result<impl Iterator<Item = io::Result<Key>>> {
        let mut f = self.file.try_clone()?;
        f.seek(SeekFrom::Start(0))?;
        let mut read = BufReader::with_capacity(1 << 16, f);
        let mut left = self.len;
        Ok(std::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            let mut b = [0u8; 16];
            Some(read.read_exact(&mut b).map(|()| {
                let w = |i: usize| {
                    let mut x = [0u8; 8];
                    x.copy_from_slice(&b[i..i + 8]);
                    u64::from_le_bytes(x)
                };
                [w(0), w(8)]
            }))
        }))
    }
}

/// Values and positions in any order; out come the positions whose value `targets` lacks.
pub(super) struct Misses(Sorter);

impl Misses {
    pub(super) fn new(dir: Option<&Path>) -> Misses {
        Misses(Sorter::new(dir))
    }

    pub(super) fn push(&mut self, value: &str, position: u64) -> io::Result<()> {
        self.0.push((digest(&[value]), position))
    }

    /// The positions of values not in `targets`, ascending.
    pub(super) fn finish(self, targets: &Targets) -> io::Result<Vec<u64>> {
        let mut keys = targets.keys()?;
        let mut cur = keys.next().transpose()?;
        let mut missing = Vec::new();
        for e in self.0.sorted()? {
            let (k, p) = e?;
            while cur.is_some_and(|c| c < k) {
                cur = keys.next().transpose()?;
            }
            if cur != Some(k) {
                missing.push(p);
            }
        }
        missing.sort_unstable();
        Ok(missing)
    }
}

/// Amounts summed by the digest of their key (a `detail-sum` rule's detail lines), sorted, in
/// an unnamed temporary file: entries of key digest and the sum's bits.
#[derive(Debug)]
pub struct Sums {
    file: File,
    len: u64,
}

/// Builds [`Sums`] from (key, amount) in any order.
pub(super) struct SumsBuilder(Sorter);

impl SumsBuilder {
    pub(super) fn new(dir: Option<&Path>) -> SumsBuilder {
        SumsBuilder(Sorter::new(dir))
    }

    pub(super) fn push(&mut self, key: &str, amount: f64) -> io::Result<()> {
        self.0.push((digest(&[key]), amount.to_bits()))
    }

    /// A key's amounts are added in the order of their bits, so the sum does not depend on
    /// the order of the lines or of the files.
    pub(super) fn finish(self) -> io::Result<Sums> {
        let dir = self.0.dir.clone();
        let mut out = BufWriter::with_capacity(1 << 16, temp(dir.as_deref())?);
        let mut len = 0;
        let mut cur: Option<(Key, f64)> = None;
        let mut put = |out: &mut BufWriter<File>, (k, sum): (Key, f64)| -> io::Result<()> {
            write_entry(out, (k, sum.to_bits()))?;
            len += 1;
            Ok(())
        };
        for e in self.0.sorted()? {
            let (k, bits) = e?;
            let amount = f64::from_bits(bits);
            cur = match cur {
                Some((c, sum)) if c == k => Some((c, sum + amount)),
                Some(done) => {
                    put(&mut out, done)?;
                    Some((k, amount))
                }
                None => Some((k, amount)),
            };
        }
        if let Some(done) = cur {
            put(&mut out, done)?;
        }
        let mut file = out.into_inner().map_err(|e| e.into_error())?;
        file.seek(SeekFrom::Start(0))?;
        Ok(Sums { file, len })
    }
}

impl Sums {
    /// Distinct keys.
    #[cfg(test)]
    fn len(&self) -> u64 {
        self.len
    }

    fn entries(&self) -> io::Result<RunReader> {
        let mut f = self.file.try_clone()?;
        f.seek(SeekFrom::Start(0))?;
        Ok(RunReader {
            read: BufReader::with_capacity(1 << 16, f),
            left: self.len,
        })
    }
}

/// Keys and positions in any order (a `detail-sum` rule's totals); out come, by position,
/// the sums their keys have in [`Sums`].
pub(super) struct Summed(Sorter);

impl Summed {
    pub(super) fn new(dir: Option<&Path>) -> Summed {
        Summed(Sorter::new(dir))
    }

    pub(super) fn push(&mut self, key: &str, position: u64) -> io::Result<()> {
        self.0.push((digest(&[key]), position))
    }

    /// The positions whose key has a sum, with it, ascending by position, to be taken a chunk
    /// at a time ([`SumsAt::below`]): sorted once more, on disk, by position.
    pub(super) fn finish(self, sums: &Sums) -> io::Result<SumsAt> {
        let dir = self.0.dir.clone();
        let mut entries = sums.entries()?;
        let mut cur = entries.next().transpose()?;
        let mut by_position = Sorter::new(dir.as_deref());
        by_position.limit = self.0.limit;
        for e in self.0.sorted()? {
            let (k, p) = e?;
            while cur.is_some_and(|(c, _)| c < k) {
                cur = entries.next().transpose()?;
            }
            if let Some((c, bits)) = cur {
                if c == k {
                    by_position.push(([p, 0], bits))?;
                }
            }
        }
        Ok(SumsAt {
            merged: by_position.sorted()?,
            next: None,
        })
    }
}

/// Sums by position, ascending.
pub(super) struct SumsAt {
    merged: Merged,
    next: Option<(u64, f64)>,
}

impl SumsAt {
    /// The positions below `end` not yet taken, with their sums.
    pub(super) fn below(&mut self, end: u64) -> io::Result<Vec<(u64, f64)>> {
        let mut out = Vec::new();
        loop {
            let next = match self.next.take() {
                Some(n) => n,
                None => match self.merged.next().transpose()? {
                    Some(([p, _], bits)) => (p, f64::from_bits(bits)),
                    None => return Ok(out),
                },
            };
            if next.0 >= end {
                self.next = Some(next);
                return Ok(out);
            }
            out.push(next);
        }
    }
}

fn write_entry(out: &mut impl Write, (k, v): Entry) -> io::Result<()> {
    out.write_all(&k[0].to_le_bytes())?;
    out.write_all(&k[1].to_le_bytes())?;
    out.write_all(&v.to_le_bytes())
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

/// The texts of `df`'s columns (all `String`), row by row: `each(fields, position)` for every
/// record with no empty field, its first record at `offset`.
pub(super) fn each_row(
    df: &DataFrame,
    offset: u64,
    mut each: impl FnMut(&[&str], u64) -> io::Result<()>,
) -> PolarsResult<()> {
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
        each(&fields, offset + i as u64).map_err(PolarsError::from)?;
    }
    Ok(())
}

/// Feed `repeats` the keys of one chunk: `df` holds the key fields (as text, in order), its
/// first record at `offset`. A record with an empty key field has no key.
pub(super) fn push_chunk(repeats: &mut Repeats, df: &DataFrame, offset: u64) -> PolarsResult<()> {
    each_row(df, offset, |fields, p| repeats.push(fields, p))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key's lines summed whatever the spills and the order; each total's position gets its
    /// key's sum, a key without lines none; taken a chunk at a time, every position once.
    #[test]
    fn sums_by_position_whatever_the_spills() {
        for limit in [1, 2, 1000] {
            let mut b = SumsBuilder::new(None);
            b.0.limit = limit;
            for (k, a) in [
                ("s1", 10.0),
                ("s2", 1.5),
                ("s1", 0.25),
                ("s3", -2.0),
                ("s2", 1.5),
            ] {
                b.push(k, a).unwrap();
            }
            let sums = b.finish().unwrap();
            assert_eq!(sums.len(), 3);
            let mut t = Summed::new(None);
            t.0.limit = limit;
            // Positions 0..6: s2, s9 (no lines), s1, s3, s1 again, s2.
            for (p, k) in ["s2", "s9", "s1", "s3", "s1", "s2"].iter().enumerate() {
                t.push(k, p as u64).unwrap();
            }
            let mut at = t.finish(&sums).unwrap();
            assert_eq!(at.below(2).unwrap(), vec![(0, 3.0)], "limit {limit}");
            assert_eq!(at.below(2).unwrap(), vec![], "limit {limit}");
            assert_eq!(
                at.below(5).unwrap(),
                vec![(2, 10.25), (3, -2.0), (4, 10.25)],
                "limit {limit}"
            );
            assert_eq!(at.below(100).unwrap(), vec![(5, 3.0)], "limit {limit}");
        }
    }

    /// Spilled or not, the positions are every later record of a key (`later`) or every
    /// record of a key more than one record has, its first included (`all`); a key seen once
    /// is nobody's repeat.
    #[test]
    fn repeats_of_a_key_whatever_the_spills() {
        for (mode, expected) in [
            (RepeatedKey::Later, vec![2, 4, 5, 9]),
            (RepeatedKey::All, vec![0, 1, 2, 4, 5, 7, 9]),
        ] {
            for limit in [1, 3, 1000] {
                let mut r = Repeats::new(None);
                r.0.limit = limit;
                let keys = ["a", "b", "a", "c", "b", "a", "d"];
                for (i, k) in keys.iter().enumerate() {
                    r.push(&[k], i as u64).unwrap();
                }
                // Two fields: ("x","y") twice; ("xy","") is another key.
                r.push(&["x", "y"], 7).unwrap();
                r.push(&["xy", ""], 8).unwrap();
                r.push(&["x", "y"], 9).unwrap();
                assert_eq!(r.finish(mode).unwrap(), expected, "{mode:?}, limit {limit}");
            }
        }
    }

    /// Misses: values absent from the targets (spilled or not on either side), and never a
    /// value present, however often.
    #[test]
    fn misses_are_the_values_the_targets_lack() {
        for limit in [1, 2, 1000] {
            let mut t = TargetsBuilder::new(None);
            t.0.limit = limit;
            for v in ["S1", "S2", "S2", "S4"] {
                t.push(v).unwrap();
            }
            let targets = t.finish().unwrap();
            assert_eq!(targets.len(), 3);
            let mut m = Misses::new(None);
            m.0.limit = limit;
            for (i, v) in ["S1", "S3", "S2", "S3", "S5", "S4", "S0"]
                .iter()
                .enumerate()
            {
                m.push(v, i as u64).unwrap();
            }
            assert_eq!(
                m.finish(&targets).unwrap(),
                vec![1, 3, 4, 6],
                "limit {limit}"
            );
        }
        let empty = TargetsBuilder::new(None).finish().unwrap();
        let mut m = Misses::new(None);
        m.push("S1", 0).unwrap();
        assert_eq!(m.finish(&empty).unwrap(), vec![0]);
    }

    /// A frame's chunks give what polars' `is_first_distinct` (later records) and
    /// `is_duplicated` (all records of a repeated key) give over the whole column.
    #[test]
    fn chunks_agree_with_polars_over_the_whole_column() {
        let n = 5000u32;
        let a: Vec<Option<String>> = (0..n)
            .map(|i| (i % 17 != 0).then(|| format!("K{}", (i * 7919) % 400)))
            .collect();
        let b: Vec<String> = (0..n).map(|i| format!("{}", i % 3)).collect();
        let df = df!("a" => &a, "b" => &b).unwrap();
        let key = || as_struct(vec![col("a"), col("b")]);
        let positions = |fails: Expr| -> Vec<u64> {
            df.clone()
                .lazy()
                .with_row_index("i", None)
                .filter(col("a").is_not_null().and(fails))
                .select([col("i").cast(DataType::UInt64)])
                .collect()
                .unwrap()
                .column("i")
                .unwrap()
                .u64()
                .unwrap()
                .into_no_null_iter()
                .collect()
        };
        for (mode, expected) in [
            (
                RepeatedKey::Later,
                positions(key().is_first_distinct().not()),
            ),
            (RepeatedKey::All, positions(key().is_duplicated())),
        ] {
            assert!(expected.len() > 1000);
            let mut r = Repeats::new(None);
            r.0.limit = 700;
            let mut offset = 0;
            while offset < n as i64 {
                let chunk = df.slice(offset, 999);
                push_chunk(&mut r, &chunk, offset as u64).unwrap();
                offset += 999;
            }
            assert_eq!(r.finish(mode).unwrap(), expected, "{mode:?}");
        }
    }
}
