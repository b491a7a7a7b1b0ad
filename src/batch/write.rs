//! Acting on the plan: each batch is recorded `pending` in the ledger with its records, written
//! aside and renamed into place, listed in the manifest, then marked `done`; [`recover`] finishes
//! or rolls back what a stopped run left pending. docs/BATCH.md argues why every record then ends
//! in exactly one batch whatever moment the process was killed at.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::plan::{hex, Seen};
use super::Clean;
use super::{
    file_name, plan, BatchError, DatasetSummary, Layout, Manifest, ManifestBatch, Settings,
    Summary, MANIFEST_SCHEMA,
};
use crate::store::ledger::{BatchRow, BatchState};
use crate::store::Store;
use crate::workspace::path::confined;
use crate::workspace::Workspace;

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
fn header(clean: &Clean, settings: &Settings, fields: Vec<String>) -> Manifest {
    let ds = &clean.dataset;
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

fn fields_of(clean: &Clean) -> Result<Vec<String>, BatchError> {
    let mut frame = clean.frame.clone();
    let schema = frame.collect_schema()?;
    let columns: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    Ok(super::record::Encoder::new(&clean.dataset, &columns)
        .map(|(e, _)| e.field_names())
        .unwrap_or_default())
}

/// Emit the batches of every clean dataset: recover first, then plan and write batch by batch.
/// `on_batch` hears of each batch once it is done (for progress).
pub fn emit(
    ws: &Workspace,
    store: &mut Store,
    clean: &[Clean],
    settings: &Settings,
    on_batch: &mut dyn FnMut(&str, &ManifestBatch),
) -> Result<Summary, BatchError> {
    store.ledger_durable()?;
    let recovered = recover(ws, store)?;
    let mut datasets = Vec::new();
    for c in clean {
        let name = c.dataset.name.clone();
        let stream = super::stream_of(&c.dataset);
        let dir = batch_dir(ws, &settings.run_id, &name)?;
        store.ledger_adopt(&name, &stream)?;
        let continues = store.ledger_other_names(&stream, &name)?;
        let seen = Seen::load(store, &stream)?;
        let first = store.ledger_next_number(&name, &stream)?;
        let mut manifest = header(c, settings, fields_of(c)?);
        let mut started = false;
        let mut act = |p: super::Planned| -> Result<(), BatchError> {
            if !started {
                let text = String::from_utf8(manifest_bytes(&manifest)).unwrap_or_default();
                store.ledger_set_header(&settings.run_id, &name, &text)?;
                std::fs::create_dir_all(&dir).map_err(BatchError::io(&dir))?;
                started = true;
            }
            let row = BatchRow {
                id: 0,
                dataset: name.clone(),
                stream: stream.clone(),
                number: p.number,
                run_id: settings.run_id.clone(),
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
            crate::atomic::write(&mpath, &manifest_bytes(&manifest))
                .map_err(BatchError::io(&mpath))?;
            // 4. Done.
            store.ledger_finish(id)?;
            on_batch(&name, &p.entry);
            Ok(())
        };
        let mut summary = plan(c, settings, seen, first, &mut act)?;
        summary.dir = dir;
        summary.continues = continues;
        datasets.push(summary);
    }
    Ok(Summary {
        run_id: settings.run_id.clone(),
        dry_run: false,
        recovered,
        datasets,
    })
}

/// Plan without writing anything: what `emit` would write now (pending batches of a stopped
/// run are listed; `emit` would recover them first).
pub fn dry_run(
    ws: &Workspace,
    store: Option<&Store>,
    clean: &[Clean],
    settings: &Settings,
) -> Result<Summary, BatchError> {
    let mut recovered = Recovery::default();
    let mut datasets: Vec<DatasetSummary> = Vec::new();
    if let Some(store) = store {
        recovered.pending = store
            .ledger_pending()?
            .iter()
            .map(|b| format!("{}/{}", b.dataset, file_name(b.number)))
            .collect();
    }
    for c in clean {
        let name = &c.dataset.name;
        let stream = super::stream_of(&c.dataset);
        let (seen, first, continues) = match store {
            // Read-only: the rows from before streams are adopted as `emit` would adopt them.
            Some(s) => (
                Seen::load_or_legacy(s, &stream, name)?,
                s.ledger_next_number(name, &stream)?,
                s.ledger_other_names(&stream, name)?,
            ),
            None => (Seen::default(), 1, Vec::new()),
        };
        let mut summary = plan(c, settings, seen, first, &mut |_| Ok(()))?;
        summary.dir = batch_dir(ws, &settings.run_id, name)?;
        summary.continues = continues;
        datasets.push(summary);
    }
    Ok(Summary {
        run_id: settings.run_id.clone(),
        dry_run: true,
        recovered,
        datasets,
    })
}
