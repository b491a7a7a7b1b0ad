//! Planning: the clean records of a dataset, streamed in chunks from the query engine, encoded,
//! compared with the ledger (new, changed, or already emitted), and cut into batches by record
//! count and file size. Each batch is handed to the caller as soon as it is full, so memory holds
//! one batch and what `seen` keeps of the keys (a bounded number), never the whole dataset.

use polars::prelude::*;
use sha2::{Digest, Sha256};

use super::record::{content_hash, mark_correction, Encoder};
use super::seen::{Seen, Verdict};
use super::{BatchError, DatasetSummary, Layout, ManifestBatch, Settings};
use crate::store::ledger::LedgerRecord;

/// A batch ready to be written.
#[derive(Debug, Clone)]
pub struct Planned {
    /// Batch number.
    pub number: u64,
    /// The whole file.
    pub bytes: Vec<u8>,
    /// Its records, for the ledger, in file order.
    pub records: Vec<LedgerRecord>,
    /// Its line in the manifest.
    pub entry: ManifestBatch,
}

/// The message envelope around a batch's records.
struct Envelope {
    infno: Option<&'static str>,
    node: &'static str,
    area: Option<String>,
    time: String,
}

/// The institution a message is for: its code and, when the records have it, its name.
type Institution = (String, Option<String>);

impl Envelope {
    /// `{"infno":…,"msgid":…,…,"input":{"<node>":[` and a newline.
    fn prefix(&self, number: u64, institution: Option<&Institution>) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        let s = |v: &str| serde_json::to_string(v).unwrap_or_default();
        out.push(b'{');
        if let Some(infno) = self.infno {
            out.extend_from_slice(format!("\"infno\":{},", s(infno)).as_bytes());
        }
        // 报文ID: the 12-character sender (the institution's code; without one, the 区划 code
        // padded with zeros), yyyyMMddHHmmss, a 4-digit sequence.
        let sender = match institution {
            Some((code, _)) => format!("{code:0<12}"),
            None => format!("{:0<12}", self.area.as_deref().unwrap_or("")),
        };
        let stamp: String = self.time.chars().filter(char::is_ascii_digit).collect();
        let msgid = format!("{sender:.12}{stamp:.14}{:04}", number % 10_000);
        out.extend_from_slice(format!("\"msgid\":{},", s(&msgid)).as_bytes());
        out.extend_from_slice(b"\"infver\":\"V1.0\",");
        out.extend_from_slice(format!("\"inf_time\":{},", s(&self.time)).as_bytes());
        if let Some(area) = &self.area {
            out.extend_from_slice(format!("\"mdtrtarea_admvs\":{},", s(area)).as_bytes());
        }
        if let Some((code, name)) = institution {
            out.extend_from_slice(format!("\"fixmedins_code\":{},", s(code)).as_bytes());
            if let Some(name) = name {
                out.extend_from_slice(format!("\"fixmedins_name\":{},", s(name)).as_bytes());
            }
        }
        out.extend_from_slice(format!("\"input\":{{{}:[\n", s(self.node)).as_bytes());
        out
    }

    const SUFFIX: &'static [u8] = b"\n]}}\n";
    const SEPARATOR: &'static [u8] = b",\n";
}

/// A batch being filled: the records of one institution.
struct Open {
    institution: Option<Institution>,
    /// Size of its envelope.
    fixed: usize,
    body: Vec<u8>,
    records: Vec<LedgerRecord>,
    corrections: u64,
}

/// Most batches open at once (one per institution met and not yet full); past it, or past
/// [`OPEN_BYTES`] in all, the largest is closed early. A batch may hold fewer records than the
/// limits allow; it never holds two institutions.
const MAX_OPEN: usize = 64;
/// Most bytes held in open batches at once.
const OPEN_BYTES: usize = 32 << 20;

pub(crate) use crate::source::hash::hex;

/// A dataset's clean records turned into what the planner judges: for each record with a key,
/// its key, canonical line and content hash. Encoding needs nothing of the ledger, so it runs
/// on a thread of its own ahead of the planner ([`Encoding::encode`]).
pub struct Encoding {
    encoder: Encoder,
    /// The columns a chunk must have, in the encoder's order.
    read: Vec<String>,
    /// The chunk columns it was made for.
    columns: Vec<String>,
}

/// A chunk of clean records, encoded.
pub struct Encoded {
    /// The chunk's columns (a dataset's planner is made from its first chunk's).
    pub columns: Vec<String>,
    records: u64,
    missing_key: u64,
    keys: Vec<String>,
    hashes: Vec<[u8; 32]>,
    /// The canonical lines, one after another; `ends[i]` is where line `i` ends.
    bytes: Vec<u8>,
    ends: Vec<usize>,
    /// Per line, its institution's index in `institutions` (`u32::MAX`: none).
    institution_of: Vec<u32>,
    institutions: Vec<Institution>,
}

impl Encoded {
    /// Records of the chunk, with a key or not.
    pub fn records(&self) -> u64 {
        self.records
    }
}

impl Encoding {
    /// The encoding of `ds`'s clean chunks with `columns`; refused when a key field is not
    /// among them.
    pub fn new(ds: &crate::workspace::Dataset, columns: &[String]) -> Result<Encoding, BatchError> {
        let (encoder, read) = Encoder::new(ds, columns).map_err(|missing| BatchError::NoKey {
            dataset: ds.name.clone(),
            key: ds.key.clone(),
            missing: if missing.is_empty() {
                "it declares no key".to_string()
            } else {
                format!("not mapped: {}", missing.join(", "))
            },
        })?;
        Ok(Encoding {
            encoder,
            read,
            columns: columns.to_vec(),
        })
    }

    /// Whether chunks with `columns` are encoded by this one.
    pub fn fits(&self, columns: &[String]) -> bool {
        self.columns == columns
    }

    /// The emitted field names, in canonical order (the manifest's `fields`).
    pub fn field_names(&self) -> Vec<String> {
        self.encoder.field_names()
    }

    /// Encode one chunk of clean records, in order.
    pub fn encode(&self, df: &DataFrame) -> Result<Encoded, BatchError> {
        let texts: Vec<Column> = self
            .read
            .iter()
            .map(|c| df.column(c)?.cast(&DataType::String))
            .collect::<PolarsResult<_>>()?;
        let cols: Vec<&StringChunked> =
            texts.iter().map(|c| c.str()).collect::<PolarsResult<_>>()?;
        let mut out = Encoded {
            columns: df
                .get_column_names()
                .iter()
                .map(|n| n.to_string())
                .collect(),
            records: df.height() as u64,
            missing_key: 0,
            keys: Vec::with_capacity(df.height()),
            hashes: Vec::with_capacity(df.height()),
            bytes: Vec::new(),
            ends: Vec::with_capacity(df.height()),
            institution_of: Vec::with_capacity(df.height()),
            institutions: Vec::new(),
        };
        let mut iters: Vec<_> = cols.iter().map(|c| c.iter()).collect();
        let mut values: Vec<Option<&str>> = vec![None; cols.len()];
        for _ in 0..df.height() {
            for (v, c) in values.iter_mut().zip(iters.iter_mut()) {
                *v = c.next().flatten();
            }
            let Some(key) = self.encoder.key(&values) else {
                out.missing_key += 1;
                continue;
            };
            let institution = self.encoder.institution(&values);
            let start = out.bytes.len();
            self.encoder.encode(&values, &mut out.bytes);
            out.hashes
                .push(content_hash(&out.bytes[start..], institution.map(|i| i.0)));
            out.ends.push(out.bytes.len());
            out.keys.push(key);
            let index = match institution {
                None => u32::MAX,
                Some((code, name)) => {
                    // A chunk holds few institutions; the latest is the likeliest.
                    match out.institutions.iter().rposition(|(c, _)| c == code) {
                        Some(i) => i as u32,
                        None => {
                            out.institutions
                                .push((code.to_string(), name.map(str::to_string)));
                            (out.institutions.len() - 1) as u32
                        }
                    }
                }
            };
            out.institution_of.push(index);
        }
        Ok(out)
    }
}

/// The batches of one dataset's clean records, planned as the records arrive: every record new
/// to the ledger or changed since emitted goes into a batch, numbered on from the first number;
/// `act` receives each batch as soon as it is full (and the last one at [`Planner::finish`]) and
/// may write it. Memory: the batch being filled and the keys `Seen` holds, whatever the chunks.
pub struct Planner {
    encoding: Encoding,
    envelope: Envelope,
    max_records: usize,
    max_bytes: usize,
    time: String,
    seen: Seen,
    /// The next batch's number.
    number: u64,
    /// The batches being filled, one per institution.
    open: Vec<Open>,
    /// Bytes held in `open`.
    open_bytes: usize,
    summary: DatasetSummary,
    line: Vec<u8>,
    /// The most clean records one push has handed over (the memory bound's mechanism).
    pub largest_push: u64,
}

impl Planner {
    /// A planner for `ds`, whose clean chunks have `columns`.
    pub fn new(
        ds: &crate::workspace::Dataset,
        columns: &[String],
        settings: &Settings,
        seen: Seen,
        first_number: u64,
    ) -> Result<Planner, BatchError> {
        let encoding = Encoding::new(ds, columns)?;
        let layout = Layout::of(ds.kind);
        let envelope = Envelope {
            infno: layout.infno,
            node: layout.node,
            area: ds.area.clone(),
            time: settings.time.clone(),
        };
        Ok(Planner {
            encoding,
            envelope,
            max_records: settings.max_records,
            max_bytes: settings.max_bytes,
            time: settings.time.clone(),
            seen,
            number: first_number,
            open: Vec::new(),
            open_bytes: 0,
            summary: DatasetSummary {
                dataset: ds.name.clone(),
                ..Default::default()
            },
            line: Vec::with_capacity(1024),
            largest_push: 0,
        })
    }

    /// The emitted field names, in canonical order (the manifest's `fields`).
    pub fn field_names(&self) -> Vec<String> {
        self.encoding.field_names()
    }

    /// Plan the records of one chunk of clean records, in order.
    pub fn push(
        &mut self,
        df: &DataFrame,
        act: &mut dyn FnMut(Planned) -> Result<(), BatchError>,
    ) -> Result<(), BatchError> {
        let encoded = self.encoding.encode(df)?;
        self.push_encoded(encoded, act)
    }

    /// Plan the records of one chunk encoded beforehand (by an [`Encoding`] of the same
    /// dataset and columns), in order.
    pub fn push_encoded(
        &mut self,
        chunk: Encoded,
        act: &mut dyn FnMut(Planned) -> Result<(), BatchError>,
    ) -> Result<(), BatchError> {
        self.largest_push = self.largest_push.max(chunk.records);
        self.summary.clean += chunk.records;
        self.summary.missing_key += chunk.missing_key;
        let mut start = 0;
        let lines = chunk
            .keys
            .into_iter()
            .zip(chunk.hashes)
            .zip(chunk.ends)
            .zip(chunk.institution_of);
        for (((key, hash), end), institution) in lines {
            let canonical = &chunk.bytes[start..end];
            start = end;
            let correction = match self.seen.judge(&key, &hash)? {
                Verdict::Unchanged => {
                    self.summary.unchanged += 1;
                    continue;
                }
                Verdict::Duplicate => {
                    self.summary.duplicate_keys += 1;
                    continue;
                }
                Verdict::New => {
                    self.summary.new += 1;
                    false
                }
                Verdict::Correction => {
                    self.summary.corrections += 1;
                    true
                }
            };
            self.line.clear();
            self.line.extend_from_slice(canonical);
            if correction {
                mark_correction(&mut self.line, &self.time);
            }
            let institution = chunk.institutions.get(institution as usize);
            let at = self.open_for(institution, act)?;
            let open = &self.open[at];
            let sep = if open.records.is_empty() {
                0
            } else {
                Envelope::SEPARATOR.len()
            };
            let full = open.records.len() >= self.max_records
                || open.fixed + open.body.len() + sep + self.line.len() > self.max_bytes;
            let at = if !open.records.is_empty() && full {
                self.close(at, act)?;
                self.open_for(institution, act)?
            } else {
                at
            };
            let open = &mut self.open[at];
            let before = open.body.len();
            if !open.records.is_empty() {
                open.body.extend_from_slice(Envelope::SEPARATOR);
            }
            open.body.extend_from_slice(&self.line);
            open.corrections += u64::from(correction);
            open.records.push(LedgerRecord {
                key,
                hash,
                correction,
            });
            self.open_bytes += open.body.len() - before;
        }
        Ok(())
    }

    /// The open batch of `institution`, opened when there is none; opening one past the bounds
    /// closes the largest first.
    fn open_for(
        &mut self,
        institution: Option<&Institution>,
        act: &mut dyn FnMut(Planned) -> Result<(), BatchError>,
    ) -> Result<usize, BatchError> {
        let code = institution.map(|i| i.0.as_str());
        if let Some(i) = self
            .open
            .iter()
            .position(|o| o.institution.as_ref().map(|i| i.0.as_str()) == code)
        {
            return Ok(i);
        }
        while !self.open.is_empty()
            && (self.open.len() >= MAX_OPEN || self.open_bytes >= OPEN_BYTES)
        {
            let largest = (0..self.open.len())
                .max_by_key(|&i| self.open[i].body.len())
                .unwrap_or(0);
            self.close(largest, act)?;
        }
        let fixed = self.envelope.prefix(0, institution).len() + Envelope::SUFFIX.len();
        self.open.push(Open {
            institution: institution.cloned(),
            fixed,
            body: Vec::new(),
            records: Vec::new(),
            corrections: 0,
        });
        Ok(self.open.len() - 1)
    }

    /// Close the last batch; the dataset's counts and batches, and what was judged (for the
    /// next index, once every batch is in the ledger).
    pub fn finish(
        mut self,
        act: &mut dyn FnMut(Planned) -> Result<(), BatchError>,
    ) -> Result<(DatasetSummary, Seen), BatchError> {
        // In the order they were opened, so a source written institution after institution
        // gets its batches in that order.
        while !self.open.is_empty() {
            self.close(0, act)?;
        }
        Ok((self.summary, self.seen))
    }

    /// Write the open batch `at` (it leaves `open`), numbered next.
    fn close(
        &mut self,
        at: usize,
        act: &mut dyn FnMut(Planned) -> Result<(), BatchError>,
    ) -> Result<(), BatchError> {
        let mut open = self.open.remove(at);
        self.open_bytes -= open.body.len();
        if open.records.is_empty() {
            return Ok(());
        }
        let number = self.number;
        let mut bytes = self.envelope.prefix(number, open.institution.as_ref());
        bytes.append(&mut open.body);
        bytes.extend_from_slice(Envelope::SUFFIX);
        let records = std::mem::take(&mut open.records);
        let entry = ManifestBatch {
            number,
            file: super::file_name(number),
            records: records.len() as u64,
            corrections: open.corrections,
            bytes: bytes.len() as u64,
            sha256: hex(&Sha256::digest(&bytes)),
            first_key: records.first().map(|r| r.key.clone()).unwrap_or_default(),
            last_key: records.last().map(|r| r.key.clone()).unwrap_or_default(),
        };
        act(Planned {
            number,
            bytes,
            records,
            entry: entry.clone(),
        })?;
        self.summary.batches.push(entry);
        self.number += 1;
        Ok(())
    }
}
