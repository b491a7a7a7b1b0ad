//! `yibao batch verify`: recount and re-hash emitted batches against their manifests and the
//! ledger. Every batch file must be whole (size and SHA-256 as listed), hold the records the
//! manifest counts, and hold exactly the records the ledger says it does, with the same content
//! hashes; no record key may be emitted as new twice.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::plan::hex;
use super::record::{canonical_of, content_hash};
use super::{BatchError, Manifest};
use crate::store::ledger::BatchState;
use crate::store::Store;
use crate::workspace::path::confined;

/// What kind of mismatch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Problem {
    /// A batch or record that should be there is not.
    Missing,
    /// A batch or record that nothing accounts for.
    Extra,
    /// A batch or record whose bytes differ from what was recorded.
    Altered,
    /// A record key emitted as new more than once.
    Duplicated,
}

/// One mismatch.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// What kind.
    pub problem: Problem,
    /// The dataset.
    pub dataset: String,
    /// The batch file, when the finding is about one.
    pub batch: Option<String>,
    /// The record key, when the finding is about a record.
    pub key: Option<String>,
    /// What was found.
    pub detail: String,
}

/// One dataset folder's figures.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Checked {
    /// The dataset.
    pub dataset: String,
    /// The folder.
    pub dir: PathBuf,
    /// Batches listed in the manifest.
    pub batches: u64,
    /// Records counted in the files.
    pub records: u64,
    /// Of which corrections.
    pub corrections: u64,
    /// Checked against the ledger too.
    pub ledger: bool,
}

/// What verify found.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Verification {
    /// The folder verified.
    pub dir: PathBuf,
    /// Per dataset folder.
    pub datasets: Vec<Checked>,
    /// Mismatches per kind.
    pub counts: BTreeMap<Problem, u64>,
    /// The mismatches (the first 1,000).
    pub findings: Vec<Finding>,
    /// No mismatch at all.
    pub ok: bool,
}

const MAX_FINDINGS: usize = 1000;

impl Verification {
    fn add(
        &mut self,
        problem: Problem,
        dataset: &str,
        batch: Option<&str>,
        key: Option<&str>,
        detail: String,
    ) {
        *self.counts.entry(problem).or_default() += 1;
        if self.findings.len() < MAX_FINDINGS {
            self.findings.push(Finding {
                problem,
                dataset: dataset.to_string(),
                batch: batch.map(str::to_string),
                key: key.map(str::to_string),
                detail,
            });
        }
    }
}

/// The dataset folders under `dir`: `dir` itself when it holds a manifest, else the folders of
/// `dir/batches/` (a run folder) or of `dir` (a batches folder) holding batch files.
fn dataset_dirs(dir: &Path) -> Result<Vec<PathBuf>, BatchError> {
    // A mistyped folder is the user's mistake (exit 2), not a failing disk.
    if !dir.is_dir() {
        return Err(BatchError::NoFolder(dir.to_path_buf()));
    }
    if dir.join("manifest.json").is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let base = if dir.join("batches").is_dir() {
        dir.join("batches")
    } else {
        dir.to_path_buf()
    };
    let entries = std::fs::read_dir(&base).map_err(BatchError::io(&base))?;
    let mut out: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir() && (p.join("manifest.json").is_file() || !batch_files(p).is_empty()))
        .collect();
    out.sort();
    if out.is_empty() {
        return Err(BatchError::NoManifest(dir.to_path_buf()));
    }
    Ok(out)
}

/// `NNNNNN.json` files of a folder.
fn batch_files(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut names: Vec<String> = entries
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| {
            n.strip_suffix(".json")
                .is_some_and(|s| s.len() >= 6 && s.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    names.sort();
    names
}

/// A record read back from a batch file.
struct Read {
    key: String,
    hash: [u8; 32],
    correction: bool,
}

/// The records of a batch file: the lines between the envelope's first line and its closing
/// line, each one record (docs/BATCH.md). `Err` says why the file is not a batch.
fn records_of(bytes: &[u8], node: &str, key_fields: &[String]) -> Result<Vec<Read>, String> {
    let doc: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    let parsed = doc["input"][node]
        .as_array()
        .ok_or_else(|| format!("no `input.{node}` list"))?
        .len();
    // The envelope's institution is part of each record's content hash.
    let institution = doc["fixmedins_code"].as_str();
    let mut out = Vec::with_capacity(parsed);
    for line in bytes.split(|&b| b == b'\n').skip(1) {
        if !line.starts_with(b"{") {
            continue;
        }
        let line = line.strip_suffix(b",").unwrap_or(line);
        let (canonical, correction) = canonical_of(line);
        let fields: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&canonical)
            .map_err(|e| format!("a record line is not an object: {e}"))?;
        let key = key_fields
            .iter()
            .map(|k| match fields.get(k) {
                Some(serde_json::Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
                None => String::new(),
            })
            .collect::<Vec<_>>()
            .join("|");
        out.push(Read {
            key,
            hash: content_hash(&canonical, institution),
            correction,
        });
    }
    if out.len() != parsed {
        return Err(format!(
            "{parsed} records in `input.{node}` but {} record lines",
            out.len()
        ));
    }
    Ok(out)
}

fn key_digest(key: &str) -> u128 {
    let d = Sha256::digest(key.as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    u128::from_le_bytes(b)
}

/// Verify the batches under `dir` against their manifests and, with a store, the ledger.
pub fn verify(dir: &Path, store: Option<&Store>) -> Result<Verification, BatchError> {
    let mut v = Verification {
        dir: dir.to_path_buf(),
        ..Default::default()
    };
    for ds_dir in dataset_dirs(dir)? {
        verify_dataset(&ds_dir, store, &mut v)?;
    }
    v.ok = v.counts.is_empty();
    Ok(v)
}

fn verify_dataset(
    dir: &Path,
    store: Option<&Store>,
    v: &mut Verification,
) -> Result<(), BatchError> {
    let folder = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mpath = dir.join("manifest.json");
    let manifest: Manifest = match std::fs::read(&mpath) {
        Ok(bytes) => match serde_json::from_slice(&bytes) {
            Ok(m) => m,
            Err(e) => {
                v.add(
                    Problem::Altered,
                    &folder,
                    Some("manifest.json"),
                    None,
                    format!("manifest.json cannot be read: {e}"),
                );
                return Ok(());
            }
        },
        Err(_) => {
            v.add(
                Problem::Missing,
                &folder,
                Some("manifest.json"),
                None,
                "no manifest.json beside the batch files".into(),
            );
            return Ok(());
        }
    };
    let name = manifest.dataset.clone();
    let mut figures = Checked {
        dataset: name.clone(),
        dir: dir.to_path_buf(),
        batches: manifest.batches.len() as u64,
        ledger: store.is_some(),
        ..Default::default()
    };
    let mut new_keys: HashMap<u128, u32> = HashMap::new();
    let listed: Vec<&str> = manifest.batches.iter().map(|b| b.file.as_str()).collect();
    for extra in batch_files(dir)
        .iter()
        .filter(|f| !listed.contains(&f.as_str()))
    {
        v.add(
            Problem::Extra,
            &name,
            Some(extra),
            None,
            "a batch file the manifest does not list".into(),
        );
    }
    for entry in &manifest.batches {
        let file = entry.file.as_str();
        // The manifest is data: a file it names is read only inside the dataset's folder.
        let path = match confined(dir, &[file]) {
            Ok(p) => p,
            Err(e) => {
                v.add(
                    Problem::Altered,
                    &name,
                    Some(file),
                    None,
                    format!(
                        "not a file name in this folder ({}); it was not read",
                        e.reason
                    ),
                );
                continue;
            }
        };
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(_) => {
                v.add(
                    Problem::Missing,
                    &name,
                    Some(file),
                    None,
                    format!("listed with {} records but absent", entry.records),
                );
                continue;
            }
        };
        let sha = hex(&Sha256::digest(&bytes));
        if bytes.len() as u64 != entry.bytes || sha != entry.sha256 {
            v.add(
                Problem::Altered,
                &name,
                Some(file),
                None,
                format!(
                    "{} bytes, SHA-256 {sha}; the manifest says {} bytes, {}",
                    bytes.len(),
                    entry.bytes,
                    entry.sha256
                ),
            );
        }
        let records = match records_of(&bytes, &manifest.node, &manifest.key) {
            Ok(r) => r,
            Err(why) => {
                v.add(Problem::Altered, &name, Some(file), None, why);
                continue;
            }
        };
        figures.records += records.len() as u64;
        figures.corrections += records.iter().filter(|r| r.correction).count() as u64;
        if records.len() as u64 != entry.records {
            v.add(
                Problem::Altered,
                &name,
                Some(file),
                None,
                format!(
                    "holds {} records; the manifest says {}",
                    records.len(),
                    entry.records
                ),
            );
        }
        let first = records.first().map(|r| r.key.as_str()).unwrap_or("");
        let last = records.last().map(|r| r.key.as_str()).unwrap_or("");
        if first != entry.first_key || last != entry.last_key {
            v.add(
                Problem::Altered,
                &name,
                Some(file),
                None,
                format!(
                    "first/last keys {first}/{last}; the manifest says {}/{}",
                    entry.first_key, entry.last_key
                ),
            );
        }
        for r in records.iter().filter(|r| !r.correction) {
            let n = new_keys.entry(key_digest(&r.key)).or_default();
            *n += 1;
            if *n == 2 {
                v.add(
                    Problem::Duplicated,
                    &name,
                    Some(file),
                    Some(&r.key),
                    "emitted as new more than once in this run".into(),
                );
            }
        }
        if let Some(store) = store {
            check_ledger(store, &name, entry.number, file, &records, v)?;
        }
    }
    if let Some(store) = store {
        for b in store.ledger_done(&manifest.run_id, &name)? {
            if !manifest.batches.iter().any(|e| e.number == b.number) {
                v.add(
                    Problem::Missing,
                    &name,
                    Some(&super::file_name(b.number)),
                    None,
                    "done in the ledger but not in the manifest".into(),
                );
            }
        }
        // Across every name the stream had: a rename must not have re-emitted anything.
        let stream = store.ledger_stream_of(&name)?;
        let dups = match &stream {
            Some(stream) => store.ledger_duplicates(stream)?,
            None => Vec::new(),
        };
        for key in dups {
            v.add(
                Problem::Duplicated,
                &name,
                None,
                Some(&key),
                "the ledger has it emitted as new in more than one batch".into(),
            );
        }
    }
    v.datasets.push(figures);
    Ok(())
}

fn check_ledger(
    store: &Store,
    dataset: &str,
    number: u64,
    file: &str,
    records: &[Read],
    v: &mut Verification,
) -> Result<(), BatchError> {
    let Some(row) = store.ledger_batch(dataset, number)? else {
        v.add(
            Problem::Extra,
            dataset,
            Some(file),
            None,
            "the ledger has no such batch".into(),
        );
        return Ok(());
    };
    if row.state != BatchState::Done {
        v.add(
            Problem::Extra,
            dataset,
            Some(file),
            None,
            format!("the ledger has this batch {:?}", row.state),
        );
    }
    let mut expected: HashMap<String, ([u8; 32], bool)> = store
        .ledger_records(row.id)?
        .into_iter()
        .map(|r| (r.key, (r.hash, r.correction)))
        .collect();
    for r in records {
        match expected.remove(&r.key) {
            Some((hash, _)) if hash == r.hash => {}
            Some(_) => v.add(
                Problem::Altered,
                dataset,
                Some(file),
                Some(&r.key),
                "content differs from the hash in the ledger".into(),
            ),
            None => v.add(
                Problem::Extra,
                dataset,
                Some(file),
                Some(&r.key),
                "a record the ledger does not have in this batch".into(),
            ),
        }
    }
    let mut missing: Vec<String> = expected.into_keys().collect();
    missing.sort();
    for key in missing {
        v.add(
            Problem::Missing,
            dataset,
            Some(file),
            Some(&key),
            "in the ledger for this batch but not in the file".into(),
        );
    }
    Ok(())
}
