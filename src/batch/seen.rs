//! What the ledger knows of a stream's keys, for judging each clean record new, changed,
//! unchanged or repeated, without holding the ledger, or the run, in memory (docs/BATCH.md,
//! "Judging against the ledger").
//!
//! A key is a 128-bit digest of the record key, a content the first 64 bits of the record's
//! SHA-256. Three places hold them:
//!
//! - the **index**, `.yibao/seen/<stream digest>.seen`: the latest content of every key the
//!   ledger holds for the stream, sorted by key, read a block at a time by offset. Its footer says
//!   which of the ledger's batches it covers; a footer the ledger does not match (a run killed
//!   after some batches, a recovery, an older index) makes it rebuilt from the ledger, and batches
//!   newer than it covers are folded in. The ledger stays the truth; the index is its sorted copy.
//! - the keys **met in this run**, in memory up to a bound ([`Seen::DEFAULT_HELD`] keys), then
//!   sorted into unnamed temporary files ("spills") with a blocked Bloom filter over them, so a key
//!   not met costs a few memory reads and no file read;
//! - at the end of a dataset whose batches all reached the ledger, index, spills and memory are
//!   merged into the next index, written atomically.
//!
//! Memory: the held keys (about 40 bytes each), the Bloom filters (12 bits a key met), and a
//! 16-byte fence per 128 entries of each sorted file.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fs::File;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::BatchError;
use crate::store::ledger::Extent;
use crate::store::Store;

/// A record key's digest: two `u64`s, compared as a pair.
pub(crate) type Key = [u64; 2];

/// What to do with one clean record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    New,
    Correction,
    Unchanged,
    Duplicate,
}

/// Entries per block of a sorted file: one fence (16 bytes in memory) per 3 KiB on disk.
const BLOCK: usize = 128;
const ENTRY: usize = 24;
const MAGIC: &[u8; 8] = b"YBSEEN01";
const FOOTER: usize = 48;

pub(crate) fn digest(bytes: &[u8]) -> Key {
    let d = Sha256::digest(bytes);
    [word(&d[0..8]), word(&d[8..16])]
}

/// The first 64 bits of a content hash. A false "unchanged" needs two contents of one key to
/// share them: 2^-64 a changed record.
pub(crate) fn content(hash: &[u8]) -> u64 {
    let mut b = [0u8; 8];
    let n = hash.len().min(8);
    b[..n].copy_from_slice(&hash[..n]);
    u64::from_le_bytes(b)
}

fn word(b: &[u8]) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(b);
    u64::from_le_bytes(w)
}

/// The digests are uniformly distributed already: their first 64 bits are the hash.
#[derive(Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    // `Hash for [u64; 2]` writes its length (ignored) and then its words.
    fn write(&mut self, bytes: &[u8]) {
        let mut b = [0u8; 8];
        let n = bytes.len().min(8);
        b[..n].copy_from_slice(&bytes[..n]);
        self.0 ^= u64::from_le_bytes(b);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 ^= n;
    }
    fn write_usize(&mut self, _: usize) {}
}

type Held = HashMap<Key, u64, BuildHasherDefault<DigestHasher>>;

fn read_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<()> {
    #[cfg(unix)]
    {
        std::os::unix::fs::FileExt::read_exact_at(file, buf, offset)
    }
    #[cfg(not(unix))]
    {
        let mut f = file;
        f.seek(SeekFrom::Start(offset))?;
        f.read_exact(buf)
    }
}

/// The footer of a sorted file: how many entries, and (for an index) which ledger batches.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Footer {
    entries: u64,
    covers: Extent,
}

impl Footer {
    fn bytes(&self) -> [u8; FOOTER] {
        let mut b = [0u8; FOOTER];
        b[0..8].copy_from_slice(&self.entries.to_le_bytes());
        b[8..16].copy_from_slice(&self.covers.last.to_le_bytes());
        b[16..24].copy_from_slice(&self.covers.batches.to_le_bytes());
        b[24..32].copy_from_slice(&self.covers.records.to_le_bytes());
        b[40..48].copy_from_slice(MAGIC);
        b
    }

    fn parse(b: &[u8; FOOTER]) -> Option<Footer> {
        if &b[40..48] != MAGIC {
            return None;
        }
        Some(Footer {
            entries: word(&b[0..8]),
            covers: Extent {
                last: word(&b[8..16]) as i64,
                batches: word(&b[16..24]),
                records: word(&b[24..32]),
            },
        })
    }
}

/// Writes a sorted file: entries (strictly ascending keys), their fences, the footer.
struct RunWriter<W: Write> {
    out: W,
    entries: u64,
    fences: Vec<Key>,
    last: Option<Key>,
}

impl<W: Write> RunWriter<W> {
    fn new(out: W) -> RunWriter<W> {
        RunWriter {
            out,
            entries: 0,
            fences: Vec::new(),
            last: None,
        }
    }

    fn push(&mut self, key: Key, value: u64) -> io::Result<()> {
        debug_assert!(self.last.is_none_or(|l| l < key), "entries out of order");
        if self.entries % BLOCK as u64 == 0 {
            self.fences.push(key);
        }
        let mut b = [0u8; ENTRY];
        b[0..8].copy_from_slice(&key[0].to_le_bytes());
        b[8..16].copy_from_slice(&key[1].to_le_bytes());
        b[16..24].copy_from_slice(&value.to_le_bytes());
        self.out.write_all(&b)?;
        self.entries += 1;
        self.last = Some(key);
        Ok(())
    }

    /// Fences and footer written; the writer and what a [`Run`] needs.
    fn finish(mut self, covers: Extent) -> io::Result<(W, u64, Vec<Key>)> {
        for f in &self.fences {
            self.out.write_all(&f[0].to_le_bytes())?;
            self.out.write_all(&f[1].to_le_bytes())?;
        }
        let footer = Footer {
            entries: self.entries,
            covers,
        };
        self.out.write_all(&footer.bytes())?;
        Ok((self.out, self.entries, self.fences))
    }
}

/// A sorted file, read a block at a time.
struct Run {
    file: File,
    entries: u64,
    fences: Vec<Key>,
}

impl Run {
    /// Open a sorted file written by [`RunWriter`]; `None` when it is not one (or is cut short).
    fn open(file: File) -> io::Result<Option<(Run, Footer)>> {
        let len = file.metadata()?.len();
        if len < FOOTER as u64 {
            return Ok(None);
        }
        let mut b = [0u8; FOOTER];
        read_at(&file, &mut b, len - FOOTER as u64)?;
        let Some(footer) = Footer::parse(&b) else {
            return Ok(None);
        };
        let blocks = footer.entries.div_ceil(BLOCK as u64);
        let Some(expected) = footer
            .entries
            .checked_mul(ENTRY as u64)
            .and_then(|n| n.checked_add(blocks * 16 + FOOTER as u64))
        else {
            return Ok(None);
        };
        if expected != len {
            return Ok(None);
        }
        let mut raw = vec![0u8; blocks as usize * 16];
        read_at(&file, &mut raw, footer.entries * ENTRY as u64)?;
        let fences = raw
            .chunks_exact(16)
            .map(|c| [word(&c[0..8]), word(&c[8..16])])
            .collect();
        Ok(Some((
            Run {
                file,
                entries: footer.entries,
                fences,
            },
            footer,
        )))
    }

    fn get(&self, key: &Key, buf: &mut Vec<u8>) -> io::Result<Option<u64>> {
        let b = self.fences.partition_point(|f| f <= key);
        if b == 0 {
            return Ok(None);
        }
        let start = (b - 1) * BLOCK;
        let n = (self.entries as usize - start).min(BLOCK);
        buf.resize(n * ENTRY, 0);
        read_at(&self.file, buf, (start * ENTRY) as u64)?;
        let at = |i: usize| -> Key {
            let e = &buf[i * ENTRY..];
            [word(&e[0..8]), word(&e[8..16])]
        };
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            match at(mid).cmp(key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => {
                    return Ok(Some(word(&buf[mid * ENTRY + 16..mid * ENTRY + 24])));
                }
            }
        }
        Ok(None)
    }

    /// The entries in order, from a reader of their own.
    fn entries(&self) -> io::Result<Entries> {
        let mut f = self.file.try_clone()?;
        f.seek(SeekFrom::Start(0))?;
        Ok(Entries {
            read: BufReader::with_capacity(1 << 16, f),
            left: self.entries,
        })
    }
}

/// A sorted file's entries in order.
struct Entries {
    read: BufReader<File>,
    left: u64,
}

impl Iterator for Entries {
    type Item = io::Result<(Key, u64)>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let mut b = [0u8; ENTRY];
        Some(
            self.read
                .read_exact(&mut b)
                .map(|()| ([word(&b[0..8]), word(&b[8..16])], word(&b[16..24]))),
        )
    }
}

type Source = Box<dyn Iterator<Item = io::Result<(Key, u64)>>>;

/// Merge sorted sources (each strictly ascending) into `out`; for a key in several, the source
/// later in the list wins.
fn merge<W: Write>(sources: Vec<Source>, out: &mut RunWriter<W>) -> io::Result<()> {
    let mut sources = sources;
    let mut heap = BinaryHeap::new();
    for (i, s) in sources.iter_mut().enumerate() {
        if let Some(e) = s.next() {
            let (k, v) = e?;
            heap.push(Reverse((k, Reverse(i), v)));
        }
    }
    let mut last: Option<Key> = None;
    while let Some(Reverse((k, Reverse(i), v))) = heap.pop() {
        // The first of a key popped is from the latest source that has it.
        if last != Some(k) {
            out.push(k, v)?;
            last = Some(k);
        }
        if let Some(e) = sources[i].next() {
            let (k, v) = e?;
            heap.push(Reverse((k, Reverse(i), v)));
        }
    }
    Ok(())
}

/// Entries in any order, later ones of a key winning, sorted into temporary files of at most
/// `limit` entries each.
struct Sorter {
    buf: Vec<(Key, u64)>,
    runs: Vec<Run>,
    dir: PathBuf,
    limit: usize,
}

impl Sorter {
    fn new(dir: &Path, limit: usize) -> Sorter {
        Sorter {
            buf: Vec::new(),
            runs: Vec::new(),
            dir: dir.to_path_buf(),
            limit: limit.max(1),
        }
    }

    fn push(&mut self, key: Key, value: u64) -> io::Result<()> {
        self.buf.push((key, value));
        if self.buf.len() >= self.limit {
            self.spill()?;
        }
        Ok(())
    }

    /// Sorted and with the last of each key only.
    fn sorted(buf: &mut Vec<(Key, u64)>) {
        // Stable: of equal keys the one pushed last stays last.
        buf.sort_by_key(|e| e.0);
        let mut out = 0;
        for i in 0..buf.len() {
            if i + 1 < buf.len() && buf[i + 1].0 == buf[i].0 {
                continue;
            }
            buf[out] = buf[i];
            out += 1;
        }
        buf.truncate(out);
    }

    fn spill(&mut self) -> io::Result<()> {
        let mut buf = std::mem::take(&mut self.buf);
        Self::sorted(&mut buf);
        self.runs
            .push(write_temp(&self.dir, buf.into_iter().map(Ok))?);
        Ok(())
    }

    /// The sorted sources, oldest first.
    fn sources(mut self) -> io::Result<Vec<Source>> {
        let mut out: Vec<Source> = Vec::new();
        for r in &self.runs {
            out.push(Box::new(r.entries()?));
        }
        Self::sorted(&mut self.buf);
        out.push(Box::new(std::mem::take(&mut self.buf).into_iter().map(Ok)));
        Ok(out)
    }
}

/// A sorted temporary file with no name: gone when dropped, however the process ends.
fn write_temp(
    dir: &Path,
    entries: impl Iterator<Item = io::Result<(Key, u64)>>,
) -> io::Result<Run> {
    std::fs::create_dir_all(dir)?;
    let mut w = RunWriter::new(BufWriter::with_capacity(
        1 << 16,
        tempfile::tempfile_in(dir)?,
    ));
    for e in entries {
        let (k, v) = e?;
        w.push(k, v)?;
    }
    let (out, entries, fences) = w.finish(Extent::default())?;
    let file = out.into_inner().map_err(|e| e.into_error())?;
    Ok(Run {
        file,
        entries,
        fences,
    })
}

/// Blocked Bloom filters over the spilled keys, each twice the capacity of the one before: a
/// key is in one 64-byte block of each, 6 bits of it.
#[derive(Default)]
struct Bloom {
    filters: Vec<Filter>,
}

struct Filter {
    blocks: Vec<[u64; 8]>,
    capacity: usize,
    len: usize,
}

impl Filter {
    fn new(capacity: usize) -> Filter {
        // 12 bits a key.
        let blocks = (capacity * 12).div_ceil(512).max(1);
        Filter {
            blocks: vec![[0; 8]; blocks],
            capacity,
            len: 0,
        }
    }

    fn bits(&self, key: &Key) -> (usize, [(usize, u64); 6]) {
        let block = ((key[0] as u128 * self.blocks.len() as u128) >> 64) as usize;
        let mut h = key[1];
        let mut bits = [(0usize, 0u64); 6];
        for b in &mut bits {
            let bit = (h & 511) as usize;
            *b = (bit / 64, 1u64 << (bit % 64));
            h = h.rotate_right(9);
        }
        (block, bits)
    }

    fn insert(&mut self, key: &Key) {
        let (block, bits) = self.bits(key);
        let words = &mut self.blocks[block];
        for (w, m) in bits {
            words[w] |= m;
        }
        self.len += 1;
    }

    fn may_hold(&self, key: &Key) -> bool {
        let (block, bits) = self.bits(key);
        let words = &self.blocks[block];
        bits.iter().all(|&(w, m)| words[w] & m != 0)
    }
}

impl Bloom {
    fn insert(&mut self, key: &Key, first: usize) {
        if self.filters.last().is_none_or(|f| f.len >= f.capacity) {
            let capacity = self
                .filters
                .last()
                .map_or(first.max(1024), |f| f.capacity * 2);
            self.filters.push(Filter::new(capacity));
        }
        if let Some(f) = self.filters.last_mut() {
            f.insert(key);
        }
    }

    fn may_hold(&self, key: &Key) -> bool {
        self.filters.iter().any(|f| f.may_hold(key))
    }

    fn bytes(&self) -> usize {
        self.filters.iter().map(|f| f.blocks.len() * 64).sum()
    }
}

/// Where the index of a stream lives.
pub(crate) fn index_path(root: &Path, stream: &str) -> PathBuf {
    let d = Sha256::digest(stream.as_bytes());
    let hex: String = d[..8].iter().map(|b| format!("{b:02x}")).collect();
    root.join(".yibao").join("seen").join(format!("{hex}.seen"))
}

/// What the ledger knows of a stream, and the keys met in this run.
pub struct Seen {
    base: Option<Run>,
    held: Held,
    spills: Vec<Run>,
    bloom: Bloom,
    limit: usize,
    tmp: PathBuf,
    buf: Vec<u8>,
    changed: u64,
    /// The most keys held in memory at once (the memory bound's mechanism, for tests).
    pub most_held: usize,
}

impl Seen {
    /// Keys met in a run held in memory before they are sorted to disk.
    pub const DEFAULT_HELD: usize = 1 << 20;

    /// The bound on keys held: `YIBAO_SEEN_KEYS` when set (tests use it to spill small runs),
    /// else [`Self::DEFAULT_HELD`].
    pub fn held_limit() -> usize {
        std::env::var("YIBAO_SEEN_KEYS")
            .ok()
            .and_then(|v| v.parse::<usize>().ok())
            .filter(|&n| n > 0)
            .unwrap_or(Self::DEFAULT_HELD)
    }

    /// Nothing known (no ledger); spills go to `tmp`.
    pub fn empty(tmp: &Path) -> Seen {
        Seen::with_base(None, tmp)
    }

    fn with_base(base: Option<Run>, tmp: &Path) -> Seen {
        Seen {
            base,
            held: Held::default(),
            spills: Vec::new(),
            bloom: Bloom::default(),
            limit: Self::held_limit(),
            tmp: tmp.to_path_buf(),
            buf: Vec::new(),
            changed: 0,
            most_held: 0,
        }
    }

    /// What the ledger holds for `stream`, from its index at `index`, brought up to date with
    /// the ledger first (and written back) when the ledger has batches the index lacks.
    pub fn load(store: &Store, stream: &str, index: &Path, tmp: &Path) -> Result<Seen, BatchError> {
        let (base, covered) = open_index(store, stream, index)?;
        let now = store.ledger_done_extent(stream, None)?;
        if now.last == covered.last && base.is_some() || now.batches == 0 {
            let base = if now.batches == 0 { None } else { base };
            return Ok(Seen::with_base(base, tmp));
        }
        let mut sorter = Sorter::new(tmp, Self::held_limit());
        let mut failed = None;
        store.ledger_emitted_after(stream, covered.last, |k, h| {
            if failed.is_none() {
                failed = sorter.push(digest(k.as_bytes()), content(h)).err();
            }
        })?;
        let io = BatchError::io(tmp);
        if let Some(e) = failed {
            return Err(io(e));
        }
        let mut sources: Vec<Source> = Vec::new();
        if let Some(b) = &base {
            sources.push(Box::new(b.entries().map_err(BatchError::io(index))?));
        }
        sources.extend(sorter.sources().map_err(BatchError::io(tmp))?);
        write_index(index, sources, now)?;
        let (base, _) = open_index(store, stream, index)?;
        Ok(Seen::with_base(base, tmp))
    }

    /// As `load` without writing anything: the index when it is current, else a copy brought
    /// up to date in a temporary file; with the batches `dataset` recorded before streams
    /// existed under the stream's own (what `Store::ledger_adopt` would give it).
    pub fn load_read_only(
        store: &Store,
        stream: &str,
        dataset: &str,
        index: &Path,
        tmp: &Path,
    ) -> Result<Seen, BatchError> {
        let (base, covered) = open_index(store, stream, index)?;
        let now = store.ledger_done_extent(stream, None)?;
        let io = BatchError::io(tmp);
        let mut legacy = Sorter::new(tmp, Self::held_limit());
        let mut failed = None;
        store.ledger_emitted_legacy(dataset, |k, h| {
            if failed.is_none() {
                failed = legacy.push(digest(k.as_bytes()), content(h)).err();
            }
        })?;
        let no_legacy = legacy.runs.is_empty() && legacy.buf.is_empty();
        if no_legacy && (now.batches == 0 || base.is_some() && now.last == covered.last) {
            let base = if now.batches == 0 { None } else { base };
            return Ok(Seen::with_base(base, tmp));
        }
        let mut delta = Sorter::new(tmp, Self::held_limit());
        store.ledger_emitted_after(stream, covered.last, |k, h| {
            if failed.is_none() {
                failed = delta.push(digest(k.as_bytes()), content(h)).err();
            }
        })?;
        if let Some(e) = failed {
            return Err(io(e));
        }
        let mut sources: Vec<Source> = legacy.sources().map_err(BatchError::io(tmp))?;
        if let Some(b) = &base {
            sources.push(Box::new(b.entries().map_err(BatchError::io(index))?));
        }
        sources.extend(delta.sources().map_err(BatchError::io(tmp))?);
        let mut w = RunWriter::new(BufWriter::with_capacity(
            1 << 16,
            tempfile::tempfile_in(tmp).map_err(BatchError::io(tmp))?,
        ));
        merge(sources, &mut w).map_err(BatchError::io(tmp))?;
        let (out, entries, fences) = w.finish(Extent::default()).map_err(BatchError::io(tmp))?;
        let file = out.into_inner().map_err(|e| io(e.into_error()))?;
        Ok(Seen::with_base(
            Some(Run {
                file,
                entries,
                fences,
            }),
            tmp,
        ))
    }

    /// Judge one clean record by its key and content hash, and remember its key as met.
    pub(crate) fn judge(&mut self, key: &str, hash: &[u8; 32]) -> Result<Verdict, BatchError> {
        let k = digest(key.as_bytes());
        let h = content(hash);
        if self.held.contains_key(&k) {
            return Ok(Verdict::Duplicate);
        }
        if self.bloom.may_hold(&k) {
            for s in &self.spills {
                if s.get(&k, &mut self.buf)
                    .map_err(BatchError::io(&self.tmp))?
                    .is_some()
                {
                    return Ok(Verdict::Duplicate);
                }
            }
        }
        let known = match &self.base {
            Some(b) => b
                .get(&k, &mut self.buf)
                .map_err(BatchError::io(&self.tmp))?,
            None => None,
        };
        let verdict = match known {
            Some(c) if c == h => Verdict::Unchanged,
            Some(_) => Verdict::Correction,
            None => Verdict::New,
        };
        if verdict != Verdict::Unchanged {
            self.changed += 1;
        }
        self.held.insert(k, h);
        self.most_held = self.most_held.max(self.held.len());
        if self.held.len() >= self.limit {
            self.spill()?;
        }
        Ok(verdict)
    }

    fn spill(&mut self) -> Result<(), BatchError> {
        let mut entries: Vec<(Key, u64)> = self.held.drain().collect();
        self.held.shrink_to(self.limit);
        entries.sort_unstable_by_key(|e| e.0);
        for (k, _) in &entries {
            self.bloom.insert(k, self.limit);
        }
        let run = write_temp(&self.tmp, entries.into_iter().map(Ok))
            .map_err(BatchError::io(&self.tmp))?;
        self.spills.push(run);
        Ok(())
    }

    /// Keys met in this run and sorted to disk, in how many files.
    pub fn spilled(&self) -> (u64, usize) {
        (
            self.spills.iter().map(|s| s.entries).sum(),
            self.spills.len(),
        )
    }

    /// Bytes the Bloom filters take.
    pub fn bloom_bytes(&self) -> usize {
        self.bloom.bytes()
    }

    /// After every batch of the dataset reached the ledger: write the index `stream` will be
    /// judged against next, the ledger's entries with this run's merged in. Nothing to write
    /// when no record was new or changed.
    pub fn persist(mut self, store: &Store, stream: &str, index: &Path) -> Result<(), BatchError> {
        if self.changed == 0 {
            return Ok(());
        }
        let now = store.ledger_done_extent(stream, None)?;
        let mut sources: Vec<Source> = Vec::new();
        if let Some(b) = &self.base {
            sources.push(Box::new(b.entries().map_err(BatchError::io(index))?));
        }
        for s in &self.spills {
            sources.push(Box::new(s.entries().map_err(BatchError::io(&self.tmp))?));
        }
        let mut held: Vec<(Key, u64)> = self.held.drain().collect();
        held.sort_unstable_by_key(|e| e.0);
        sources.push(Box::new(held.into_iter().map(Ok)));
        write_index(index, sources, now)
    }
}

/// The index at `path` when its footer matches what the ledger holds up to the last batch it
/// covers; else none, covering nothing.
fn open_index(
    store: &Store,
    stream: &str,
    path: &Path,
) -> Result<(Option<Run>, Extent), BatchError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok((None, Extent::default())),
        Err(e) => return Err(BatchError::io(path)(e)),
    };
    let Some((run, footer)) = Run::open(file).map_err(BatchError::io(path))? else {
        return Ok((None, Extent::default()));
    };
    let ledger = store.ledger_done_extent(stream, Some(footer.covers.last))?;
    if ledger == footer.covers {
        Ok((Some(run), footer.covers))
    } else {
        Ok((None, Extent::default()))
    }
}

fn write_index(path: &Path, sources: Vec<Source>, covers: Extent) -> Result<(), BatchError> {
    let io = |e| BatchError::io(path)(e);
    let mut w = RunWriter::new(crate::atomic::Writer::new(path).map_err(io)?);
    merge(sources, &mut w).map_err(io)?;
    let (out, _, _) = w.finish(covers).map_err(io)?;
    out.commit().map_err(io)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(b: u8) -> [u8; 32] {
        let mut x = [0u8; 32];
        x[0] = b;
        x
    }

    /// A key met in memory, in a spill or only in the base judges as a single map would.
    #[test]
    fn judges_as_one_map_would_however_the_keys_are_spread() {
        let dir = tempfile::tempdir().unwrap();
        // A base of 1,000 keys with content 1, written twice (first with content 9) through a
        // sorter that keeps 300 entries in memory: the later write of a key wins.
        let mut sorter = Sorter::new(dir.path(), 300);
        for c in [9, 1] {
            for i in 0..1000u32 {
                sorter
                    .push(digest(format!("K{i}").as_bytes()), content(&h(c)))
                    .unwrap();
            }
        }
        assert_eq!(sorter.runs.len(), 6);
        let mut w = RunWriter::new(BufWriter::new(tempfile::tempfile_in(dir.path()).unwrap()));
        merge(sorter.sources().unwrap(), &mut w).unwrap();
        let (out, entries, fences) = w.finish(Extent::default()).unwrap();
        let base = Run {
            file: out.into_inner().unwrap(),
            entries,
            fences,
        };
        assert_eq!(base.entries, 1000);
        let mut seen = Seen::with_base(Some(base), dir.path());
        seen.limit = 64;
        let mut model: HashMap<String, bool> = HashMap::new();
        let mut counts = [0u32; 4];
        // Keys 500..2500, some twice, contents 1 or 2.
        for round in 0..2 {
            for i in (500..2500u32).step_by(1 + round) {
                let key = format!("K{i}");
                let c = if i % 3 == 0 { 2 } else { 1 };
                let expect = if model.contains_key(&key) {
                    Verdict::Duplicate
                } else if i < 1000 && c == 1 {
                    Verdict::Unchanged
                } else if i < 1000 {
                    Verdict::Correction
                } else {
                    Verdict::New
                };
                model.insert(key.clone(), true);
                let got = seen.judge(&key, &h(c)).unwrap();
                assert_eq!(got, expect, "{key} in round {round}");
                counts[got as usize] += 1;
            }
        }
        // 1,500 new, 167 corrections, 333 unchanged, then every key again.
        assert_eq!(counts, [1500, 167, 333, 1000]);
        assert!(seen.most_held <= 64, "held {}", seen.most_held);
        let (spilled, files) = seen.spilled();
        assert_eq!(files, 2000 / 64);
        assert_eq!(spilled, 64 * (2000 / 64) as u64);
    }

    /// A content differing only in its last bits of the first 8 bytes is still a change.
    #[test]
    fn a_change_in_the_eighth_byte_is_a_correction() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = RunWriter::new(Vec::new());
        w.push(digest(b"S1"), content(&h(1))).unwrap();
        let (bytes, ..) = w.finish(Extent::default()).unwrap();
        let path = dir.path().join("i.seen");
        std::fs::write(&path, bytes).unwrap();
        let (run, footer) = Run::open(File::open(&path).unwrap()).unwrap().unwrap();
        assert_eq!(footer.entries, 1);
        let mut seen = Seen::with_base(Some(run), dir.path());
        let mut low = h(1);
        low[7] ^= 0x80;
        assert_eq!(seen.judge("S1", &low).unwrap(), Verdict::Correction);
    }

    /// Merging keeps the latest source's value of a key and every key once, in order.
    #[test]
    fn merge_takes_the_latest_source() {
        let a: Source = Box::new(vec![Ok(([1, 0], 10)), Ok(([3, 0], 30))].into_iter());
        let b: Source = Box::new(vec![Ok(([1, 0], 11)), Ok(([2, 0], 20))].into_iter());
        let mut w = RunWriter::new(Vec::new());
        merge(vec![a, b], &mut w).unwrap();
        let (bytes, n, fences) = w.finish(Extent::default()).unwrap();
        assert_eq!(n, 3);
        assert_eq!(fences, vec![[1, 0]]);
        let values: Vec<u64> = bytes[..3 * ENTRY]
            .chunks_exact(ENTRY)
            .map(|c| word(&c[16..24]))
            .collect();
        assert_eq!(values, vec![11, 20, 30]);
    }

    /// A file cut short, or not an index, is not taken for one.
    #[test]
    fn a_damaged_index_is_not_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = RunWriter::new(Vec::new());
        for i in 0..300u64 {
            w.push([i, 0], i).unwrap();
        }
        let (bytes, ..) = w.finish(Extent::default()).unwrap();
        let path = dir.path().join("i.seen");
        std::fs::write(&path, &bytes[..bytes.len() - 1]).unwrap();
        assert!(Run::open(File::open(&path).unwrap()).unwrap().is_none());
        std::fs::write(&path, &bytes[1..]).unwrap();
        assert!(Run::open(File::open(&path).unwrap()).unwrap().is_none());
        std::fs::write(&path, &bytes).unwrap();
        let (run, _) = Run::open(File::open(&path).unwrap()).unwrap().unwrap();
        let mut buf = Vec::new();
        for i in [0u64, 127, 128, 255, 299] {
            assert_eq!(run.get(&[i, 0], &mut buf).unwrap(), Some(i));
        }
        assert_eq!(run.get(&[300, 0], &mut buf).unwrap(), None);
    }

    /// The Bloom filters say no for most keys never inserted, and never for one inserted.
    #[test]
    fn bloom_has_no_false_negatives_and_few_false_positives() {
        let mut b = Bloom::default();
        for i in 0..50_000u32 {
            b.insert(&digest(&i.to_le_bytes()), 10_000);
        }
        assert!((0..50_000u32).all(|i| b.may_hold(&digest(&i.to_le_bytes()))));
        let fp = (50_000..150_000u32)
            .filter(|i| b.may_hold(&digest(&i.to_le_bytes())))
            .count();
        // Three filters (10k, 20k, 40k, the last part full): a few percent at most.
        assert!(fp < 5_000, "{fp} false positives in 100,000");
    }
}
