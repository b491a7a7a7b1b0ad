//! Acting on the plan: each batch is recorded `pending` in the ledger with its records, written
//! aside and renamed into place, listed in the manifest, then marked `done`; [`recover`] finishes
//! or rolls back what a stopped run left pending. docs/BATCH.md argues why every record then ends
//! in exactly one batch whatever moment the process was killed at.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use polars::prelude::DataFrame;

use super::plan::{hex, Encoded, Planned, Planner};
use super::seen::{index_path, Seen};
use super::{
    file_name, BatchError, DatasetSummary, Layout, Manifest, ManifestBatch, Settings, Summary,
    MANIFEST_SCHEMA,
};
use crate::store::ledger::{BatchRow, BatchState};
use crate::store::Store;
use crate::workspace::path::confined;
use crate::workspace::{Dataset, Workspace};

/// What recovery found of an interrupted run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Recovery {
    /// Pending batches whose file was in place: now done (`dataset/NNNNNN`).
    pub finished: Vec<String>,
    /// Pending batches without their file: records released for this run to emit.
    pub abandoned: Vec<String>,
    /// Pending batches seen by a dry run (nothing was changed).
    pub pending: Vec<String>,
    /// Files half-written aside (`.yibao-*.tmp`) removed.
    pub temp_removed: u64,
}

/// The folder of a run's batches of one dataset. The run id and dataset name come from the
/// ledger, so they are confined like any name from data.
pub fn batch_dir(ws: &Workspace, run_id: &str, dataset: &str) -> Result<PathBuf, BatchError> {
    Ok(confined(&ws.out, &[run_id, "batches", dataset])?)
}

fn manifest_bytes(m: &Manifest) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(m).unwrap_or_default();
    v.push(b'\n');
    v
}

fn entry_of(b: &BatchRow) -> ManifestBatch {
    ManifestBatch {
        number: b.number,
        file: file_name(b.number),
        records: b.records,
        corrections: b.corrections,
        bytes: b.bytes,
        sha256: b.sha256.clone(),
        first_key: b.first_key.clone(),
        last_key: b.last_key.clone(),
    }
}

/// Rewrite a run's manifest for a dataset from the ledger: its done batches, plus `extra`.
fn rewrite_manifest(
    ws: &Workspace,
    store: &Store,
    run_id: &str,
    dataset: &str,
    extra: Option<&BatchRow>,
) -> Result<(), BatchError> {
    let dir = batch_dir(ws, run_id, dataset)?;
    let mut batches: Vec<ManifestBatch> = store
        .ledger_done(run_id, dataset)?
        .iter()
        .chain(extra)
        .map(entry_of)
        .collect();
    if batches.is_empty() {
        return Ok(());
    }
    batches.sort_by_key(|b| b.number);
    batches.dedup_by_key(|b| b.number);
    let header = store
        .ledger_header(run_id, dataset)?
        .ok_or_else(|| BatchError::Manifest {
            path: dir.join("manifest.json"),
            message: format!("the ledger has no manifest header for run {run_id}"),
        })?;
    let mut manifest: Manifest =
        serde_json::from_str(&header).map_err(|e| BatchError::Manifest {
            path: dir.join("manifest.json"),
            message: e.to_string(),
        })?;
    manifest.batches = batches;
    let path = dir.join("manifest.json");
    crate::atomic::write(&path, &manifest_bytes(&manifest)).map_err(BatchError::io(&path))
}

/// Finish or roll back every batch a stopped run left pending: a batch whose file is in place
/// with the recorded SHA-256 is listed in its manifest and marked done; any other is abandoned
/// (its file, if some other hand put one there, removed; its records released). Files left
/// half-written aside in those folders are removed.
pub fn recover(ws: &Workspace, store: &mut Store) -> Result<Recovery, BatchError> {
    let mut out = Recovery::default();
    let mut touched = BTreeSet::new();
    for b in store.ledger_pending()? {
        let dir = batch_dir(ws, &b.run_id, &b.dataset)?;
        let path = dir.join(file_name(b.number));
        let name = format!("{}/{}", b.dataset, file_name(b.number));
        let in_place = match std::fs::read(&path) {
            Ok(bytes) => hex(&Sha256::digest(&bytes)) == b.sha256,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => false,
            Err(e) => return Err(BatchError::io(&path)(e)),
        };
        if in_place {
            // The manifest first: a done batch is always in its manifest.
            rewrite_manifest(ws, store, &b.run_id, &b.dataset, Some(&b))?;
            store.ledger_finish(b.id)?;
            out.finished.push(name);
        } else {
            if path.exists() {
                std::fs::remove_file(&path).map_err(BatchError::io(&path))?;
                sync_dir(&dir);
            }
            store.ledger_abandon(b.id)?;
            out.abandoned.push(name);
        }
        touched.insert((b.run_id.clone(), b.dataset.clone()));
    }
    for (run_id, dataset) in &touched {
        rewrite_manifest(ws, store, run_id, dataset, None)?;
        out.temp_removed += remove_temp_files(&batch_dir(ws, run_id, dataset)?)?;
    }
    Ok(out)
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Remove `.yibao-*.tmp` files (atomic writes that never reached their rename).
fn remove_temp_files(dir: &Path) -> Result<u64, BatchError> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(0);
    };
    let mut n = 0;
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with(".yibao-") && name.ends_with(".tmp") {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(BatchError::io(&path))?;
            n += 1;
        }
    }
    Ok(n)
}

/// The manifest of a run's dataset, without batches yet.
fn header(ds: &Dataset, settings: &Settings, fields: Vec<String>) -> Manifest {
    let layout = Layout::of(ds.kind);
    Manifest {
        schema: MANIFEST_SCHEMA,
        run_id: settings.run_id.clone(),
        dataset: ds.name.clone(),
        kind: ds.kind,
        area: ds.area.clone(),
        infno: layout.infno.map(str::to_string),
        node: layout.node.to_string(),
        key: ds.key.clone(),
        fields,
        code_sets: settings.code_sets.clone(),
        rule_packs: settings.rule_packs.clone(),
        yibao: env!("CARGO_PKG_VERSION").to_string(),
        batches: Vec::new(),
    }
}

/// Where an [`Emitter`] records what it emits.
pub enum Ledger<'a> {
    /// Batches are written and recorded (`yibao batch`, `yibao run`).
    Write(&'a mut Store),
    /// Nothing is written; planned against the ledger when there is one (`--dry-run`).
    DryRun(Option<&'a mut Store>),
}

/// The dataset being planned.
struct Current {
    name: String,
    planner: Planner,
    manifest: Manifest,
    dir: PathBuf,
    started: bool,
    continues: Vec<String>,
}

/// Batches emitted as the clean records arrive, chunk by chunk, dataset after dataset: recovery
/// of an interrupted run first, then per batch the protocol of docs/BATCH.md (ledger pending ->
/// file -> manifest -> done). Memory: one batch and the ledger's digests of the dataset.
pub struct Emitter<'a> {
    ws: &'a Workspace,
    ledger: Ledger<'a>,
    settings: Settings,
    recovered: Recovery,
    current: Option<Current>,
    datasets: Vec<DatasetSummary>,
    /// The most clean records handed over at once.
    pub largest_push: u64,
}

impl<'a> Emitter<'a> {
    /// Recover what an interrupted run left pending (a dry run only lists it), and be ready for
    /// the first dataset's records.
    pub fn new(
        ws: &'a Workspace,
        mut ledger: Ledger<'a>,
        settings: Settings,
    ) -> Result<Emitter<'a>, BatchError> {
        let mut recovered = Recovery::default();
        match &mut ledger {
            Ledger::Write(store) => {
                store.ledger_durable()?;
                recovered = recover(ws, store)?;
            }
            Ledger::DryRun(Some(store)) => {
                recovered.pending = store
                    .ledger_pending()?
                    .iter()
                    .map(|b| format!("{}/{}", b.dataset, file_name(b.number)))
                    .collect();
            }
            Ledger::DryRun(None) => {}
        }
        Ok(Emitter {
            ws,
            ledger,
            settings,
            recovered,
            current: None,
            datasets: Vec::new(),
            largest_push: 0,
        })
    }

    fn open(&mut self, ds: &Dataset, columns: &[String]) -> Result<Current, BatchError> {
        let name = ds.name.clone();
        let stream = super::stream_of(ds);
        let index = index_path(&self.ws.root, &stream);
        let tmp = self.ws.root.join(".yibao").join("tmp");
        let (seen, first, continues) = match &mut self.ledger {
            Ledger::Write(store) => {
                store.ledger_adopt(&name, &stream)?;
                (
                    Seen::load(store, &stream, &index, &tmp)?,
                    store.ledger_next_number(&name, &stream)?,
                    store.ledger_other_names(&stream, &name)?,
                )
            }
            // Read-only: the rows from before streams are adopted as `Write` would adopt them.
            Ledger::DryRun(Some(store)) => (
                Seen::load_read_only(store, &stream, &name, &index, &tmp)?,
                store.ledger_next_number(&name, &stream)?,
                store.ledger_other_names(&stream, &name)?,
            ),
            Ledger::DryRun(None) => (Seen::empty(&tmp), 1, Vec::new()),
        };
        let planner = Planner::new(ds, columns, &self.settings, seen, first)?;
        let manifest = header(ds, &self.settings, planner.field_names());
        Ok(Current {
            dir: batch_dir(self.ws, &self.settings.run_id, &name)?,
            name,
            planner,
            manifest,
            started: false,
            continues,
        })
    }

    /// Plan (and, writing, emit) one chunk of a dataset's clean records; `last` ends the
    /// dataset (its chunk may be empty). `on_batch` hears of each batch once it is done.
    pub fn push(
        &mut self,
        ds: &Dataset,
        records: &DataFrame,
        last: bool,
        on_batch: &mut dyn FnMut(&str, &ManifestBatch),
    ) -> Result<(), BatchError> {
        let columns: Vec<String> = records
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect();
        self.push_with(ds, &columns, last, on_batch, |planner, act| {
            planner.push(records, act)
        })
    }

    /// The same with the chunk encoded beforehand, on another thread ([`super::Encoding`]).
    pub fn push_encoded(
        &mut self,
        ds: &Dataset,
        chunk: Encoded,
        last: bool,
        on_batch: &mut dyn FnMut(&str, &ManifestBatch),
    ) -> Result<(), BatchError> {
        let columns = chunk.columns.clone();
        self.push_with(ds, &columns, last, on_batch, |planner, act| {
            planner.push_encoded(chunk, act)
        })
    }

    fn push_with(
        &mut self,
        ds: &Dataset,
        columns: &[String],
        last: bool,
        on_batch: &mut dyn FnMut(&str, &ManifestBatch),
        plan: impl FnOnce(
            &mut Planner,
            &mut dyn FnMut(Planned) -> Result<(), BatchError>,
        ) -> Result<(), BatchError>,
    ) -> Result<(), BatchError> {
        let mut cur = match self.current.take() {
            Some(c) if c.name == ds.name => c,
            other => {
                if let Some(c) = other {
                    self.close(c)?;
                }
                self.open(ds, columns)?
            }
        };
        let run_id = self.settings.run_id.clone();
        let Current {
            name,
            planner,
            manifest,
            dir,
            started,
            ..
        } = &mut cur;
        match &mut self.ledger {
            Ledger::Write(store) => {
                let mut act = |p: Planned| -> Result<(), BatchError> {
                    write_batch(store, &run_id, name, dir, manifest, started, &p)?;
                    on_batch(name, &p.entry);
                    Ok(())
                };
                plan(planner, &mut act)?;
            }
            Ledger::DryRun(_) => plan(planner, &mut |_| Ok(()))?,
        }
        self.largest_push = self.largest_push.max(planner.largest_push);
        if last {
            self.close_with(cur, on_batch)
        } else {
            self.current = Some(cur);
            Ok(())
        }
    }

    fn close(&mut self, cur: Current) -> Result<(), BatchError> {
        self.close_with(cur, &mut |_, _| {})
    }

    fn close_with(
        &mut self,
        cur: Current,
        on_batch: &mut dyn FnMut(&str, &ManifestBatch),
    ) -> Result<(), BatchError> {
        let run_id = self.settings.run_id.clone();
        let Current {
            name,
            planner,
            mut manifest,
            dir,
            mut started,
            continues,
        } = cur;
        let stream = super::stream_of_manifest(&manifest);
        let (mut summary, seen) = match &mut self.ledger {
            Ledger::Write(store) => {
                let mut act = |p: Planned| -> Result<(), BatchError> {
                    write_batch(store, &run_id, &name, &dir, &mut manifest, &mut started, &p)?;
                    on_batch(&name, &p.entry);
                    Ok(())
                };
                planner.finish(&mut act)?
            }
            Ledger::DryRun(_) => planner.finish(&mut |_| Ok(()))?,
        };
        summary.held_keys = seen.most_held as u64;
        summary.spilled_keys = seen.spilled().0;
        // Every batch of the dataset is done: the index takes in what they emitted.
        if let Ledger::Write(store) = &mut self.ledger {
            seen.persist(store, &stream, &index_path(&self.ws.root, &stream))?;
        }
        summary.dir = dir;
        summary.continues = continues;
        self.datasets.push(summary);
        Ok(())
    }

    /// What was emitted (or, dry, would be), per dataset.
    pub fn finish(mut self) -> Result<Summary, BatchError> {
        if let Some(c) = self.current.take() {
            self.close(c)?;
        }
        Ok(Summary {
            run_id: self.settings.run_id.clone(),
            dry_run: matches!(self.ledger, Ledger::DryRun(_)),
            recovered: self.recovered,
            datasets: self.datasets,
        })
    }
}

/// One batch by the exactly-once protocol: the ledger knows it (pending) with its records
/// before its file exists; the file appears whole or not at all; the manifest lists it; done.
fn write_batch(
    store: &mut Store,
    run_id: &str,
    name: &str,
    dir: &Path,
    manifest: &mut Manifest,
    started: &mut bool,
    p: &Planned,
) -> Result<(), BatchError> {
    if !*started {
        let text = String::from_utf8(manifest_bytes(manifest)).unwrap_or_default();
        store.ledger_set_header(run_id, name, &text)?;
        std::fs::create_dir_all(dir).map_err(BatchError::io(dir))?;
        *started = true;
    }
    let row = BatchRow {
        id: 0,
        dataset: name.to_string(),
        stream: super::stream_of_manifest(manifest),
        number: p.number,
        run_id: run_id.to_string(),
        records: p.entry.records,
        corrections: p.entry.corrections,
        bytes: p.entry.bytes,
        sha256: p.entry.sha256.clone(),
        first_key: p.entry.first_key.clone(),
        last_key: p.entry.last_key.clone(),
        state: BatchState::Pending,
        created_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    // 1. The ledger knows the batch and its records before any file exists.
    let id = store.ledger_begin(&row, &p.records)?;
    // 2. The file appears whole or not at all.
    let path = dir.join(&p.entry.file);
    crate::atomic::write(&path, &p.bytes).map_err(BatchError::io(&path))?;
    // 3. The manifest lists it.
    manifest.batches.push(p.entry.clone());
    let mpath = dir.join("manifest.json");
    crate::atomic::write(&mpath, &manifest_bytes(manifest)).map_err(BatchError::io(&mpath))?;
    // 4. Done.
    store.ledger_finish(id)?;
    Ok(())
}
