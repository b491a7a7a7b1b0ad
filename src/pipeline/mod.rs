//! The one driver of read -> map -> check -> batch -> report. `yibao check`, `yibao batch` and
//! `yibao run` are three [`Plan`]s over it: what to emit (nothing, a plan of batches, batches)
//! and whether the run goes into the history. Each stage is announced to a progress callback;
//! nothing here prints. The batch stage calls `batch::` below it; `batch/` knows nothing of the
//! driver.

pub mod record;
pub mod setup;
pub mod spool;
pub mod trend;

pub use setup::{pack_refs, setup, CheckError, Setup};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use polars::prelude::{DataFrame, PolarsError, Schema, SchemaExt};

use crate::batch::{self, ManifestBatch, Summary};
use crate::mapping::apply::apply;
use crate::mapping::coverage::{self, Coverage, Tally};
use crate::mapping::fill::{fill, Lookups};
use crate::report::{self, Report};
use crate::rules::engine::{self, EngineError, Input, Stop};
use crate::source::dataset::read_dataset;
use crate::store::history::{BatchFigure, InputFile};
use crate::store::Store;
use crate::workspace::path::confined;
use crate::workspace::{Dataset, Workspace};

/// The stages of a run, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Read each dataset's files (and hash them).
    Read,
    /// Apply the crosswalks; measure mapping coverage.
    Map,
    /// Run the rule packs.
    Check,
    /// Write report.json, rejects, record the history, render report.html.
    Report,
}

impl Stage {
    /// The stage's name as shown to people.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Read => "read",
            Stage::Map => "map",
            Stage::Check => "check",
            Stage::Report => "report",
        }
    }
}

/// What a run tells its progress callback.
#[derive(Debug, Clone)]
pub enum Progress {
    /// A stage started work on something (a dataset, the rules...).
    Begin {
        /// The stage.
        stage: Stage,
        /// On what.
        what: String,
    },
    /// That work ended.
    End {
        /// The stage.
        stage: Stage,
        /// On what.
        what: String,
        /// How long it took.
        elapsed: Duration,
    },
    /// A batch file is in place and in the ledger.
    Batch {
        /// The dataset.
        dataset: String,
        /// The batch.
        entry: ManifestBatch,
    },
}

/// What a plan emits besides the report and the rejects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    /// Nothing (`yibao check`).
    Nothing,
    /// The batches that would be written, planned against the ledger; nothing is written, not
    /// even the report (`yibao batch --dry-run`).
    DryRun,
    /// Upload batches of the clean records, in the ledger (`yibao batch`, `yibao run`).
    Batches,
}

/// A run that goes into the history (`yibao run`).
#[derive(Debug, Clone)]
pub struct History {
    /// The command line recorded, e.g. `yibao run --nightly`.
    pub command: String,
    /// How far back the report's trend goes.
    pub since: chrono::Duration,
}

/// A dataset a run checked but did not batch, and why.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NotBatched {
    /// The dataset.
    pub dataset: String,
    /// What keeps its records from being national messages.
    pub reason: String,
}

/// What a run does.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Packs to run (empty: the workspace's, else `national`).
    pub packs: Vec<String>,
    /// Datasets to run on (empty: all).
    pub datasets: Vec<String>,
    /// Failing sample rows kept per rule in report.json.
    pub samples: usize,
    /// What to emit.
    pub emit: Emit,
    /// Record the run in the history, measure mapping coverage, hash the inputs and render
    /// report.html.
    pub history: Option<History>,
    /// A dataset that cannot be batched as its national node (docs/BATCH.md, "Mandatory
    /// fields") is checked and reported but not batched, and the outcome says so (`yibao run`:
    /// the nightly report still comes out); without it, such a dataset stops the plan before
    /// anything is read (`yibao batch`).
    pub hold_incomplete: bool,
}

impl Plan {
    /// `yibao check`.
    pub fn check(packs: Vec<String>, datasets: Vec<String>, samples: usize) -> Plan {
        Plan {
            packs,
            datasets,
            samples,
            emit: Emit::Nothing,
            history: None,
            hold_incomplete: false,
        }
    }

    /// `yibao run`.
    pub fn run(command: &str) -> Plan {
        Plan {
            packs: Vec::new(),
            datasets: Vec::new(),
            samples: 5,
            emit: Emit::Batches,
            history: Some(History {
                command: command.to_string(),
                since: chrono::Duration::days(30),
            }),
            hold_incomplete: true,
        }
    }
}

/// What a run did.
#[derive(Debug)]
pub struct RunOutcome {
    /// The run's report.json content.
    pub report: Report,
    /// `out/<run-id>/report.json`, unless the run was dry.
    pub report_path: Option<PathBuf>,
    /// Mapping coverage per area and family (runs with history).
    pub coverage: Vec<Coverage>,
    /// Overall: mapped distinct local codes / distinct local codes (`None` without code fields).
    pub coverage_rate: Option<f64>,
    /// Coverage below `[thresholds] coverage`.
    pub coverage_breached: bool,
    /// What the batch stage did or would do (`None` when the plan emits nothing).
    pub batches: Option<Summary>,
    /// Datasets checked but not batched ([`Plan::hold_incomplete`]).
    pub not_batched: Vec<NotBatched>,
    /// The most clean records handed to the batch planner at once: a chunk's worth at most,
    /// whatever the dataset's size (the memory bound's mechanism).
    pub largest_push: u64,
    /// The most rejects (dirty or warned records) handed over at once: a chunk's at most.
    pub largest_rejects: u64,
    /// `out/<run-id>/`.
    pub out_dir: PathBuf,
    /// Dirty records handed to the history (a key two of them share is stored once).
    pub dirty_records: usize,
    /// How long each stage took, summed over its pieces.
    pub stage_times: Vec<(Stage, Duration)>,
    /// How long the whole run took.
    pub elapsed: Duration,
}

impl RunOutcome {
    /// A threshold (dirty-data rate or coverage) was breached.
    pub fn breached(&self) -> bool {
        self.report.breached || self.coverage_breached
    }

    /// Batch files written (or planned), per dataset, as the history keeps them.
    pub fn batch_figures(&self) -> Vec<BatchFigure> {
        self.batches
            .iter()
            .flat_map(|s| &s.datasets)
            .map(|d| BatchFigure {
                dataset: d.dataset.clone(),
                batches: d.batches.len() as u64,
                records: d.batches.iter().map(|b| b.records).sum(),
                bytes: d.batches.iter().map(|b| b.bytes).sum(),
            })
            .collect()
    }
}

fn polars_err(e: PolarsError) -> miette::Report {
    miette::miette!(code = "yibao::internal::polars", "{e}")
}

fn io_err(path: &Path, e: std::io::Error) -> miette::Report {
    miette::miette!(
        code = "yibao::io::write",
        help = "check the folder is writable and the disk has space",
        "cannot write {}: {e}",
        path.display()
    )
}

/// A run id: the UTC time, sortable, safe in a folder name.
pub fn run_id(at: chrono::DateTime<chrono::Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// A run id whose folder does not exist under `out/` and that the history does not know: two
/// runs in one second (a re-run after an interrupted one) must not share a folder. `-2`,
/// `-3`... are added.
fn fresh_run_id(
    ws: &Workspace,
    store: Option<&Store>,
    at: chrono::DateTime<chrono::Utc>,
) -> miette::Result<String> {
    let base = run_id(at);
    let mut id = base.clone();
    for n in 2.. {
        let known = match store {
            Some(s) => s.has_run(&id)?,
            None => false,
        };
        if !ws.out.join(&id).exists() && !known {
            break;
        }
        id = format!("{base}-{n}");
    }
    Ok(id)
}

/// Time one piece of a stage, telling the callback when it begins and ends.
fn timed<T>(
    progress: &mut dyn FnMut(Progress),
    times: &mut Vec<(Stage, Duration)>,
    stage: Stage,
    what: String,
    work: impl FnOnce() -> miette::Result<T>,
) -> miette::Result<T> {
    progress(Progress::Begin {
        stage,
        what: what.clone(),
    });
    let start = Instant::now();
    let out = work()?;
    let elapsed = start.elapsed();
    add_time(times, stage, elapsed);
    progress(Progress::End {
        stage,
        what,
        elapsed,
    });
    Ok(out)
}

fn add_time(times: &mut Vec<(Stage, Duration)>, stage: Stage, elapsed: Duration) {
    match times.iter_mut().find(|(s, _)| *s == stage) {
        Some((_, t)) => *t += elapsed,
        None => times.push((stage, elapsed)),
    }
}

/// Run a plan over the workspace. A plan that writes the ledger or the history needs the
/// caller to hold the workspace lock.
pub fn run(
    ws: &Workspace,
    plan: &Plan,
    progress: &mut dyn FnMut(Progress),
) -> miette::Result<RunOutcome> {
    let started = chrono::Utc::now();
    let clock = Instant::now();
    let mut times = Vec::new();
    // The store is created by what writes it (batches, history); a check or a dry run only
    // reads it, when there is one.
    let writes = plan.emit == Emit::Batches || plan.history.is_some();
    let mut store = if writes {
        Some(Store::open(&ws.root)?)
    } else {
        Store::open_existing(&ws.root)?
    };
    let Setup {
        packs,
        rules,
        context,
        code_sets,
        crosswalks,
    } = setup(ws, &plan.packs, store.as_ref())?;
    let datasets: Vec<&Dataset> = ws
        .datasets
        .iter()
        .filter(|d| plan.datasets.is_empty() || plan.datasets.contains(&d.name))
        .collect();
    if datasets.is_empty() {
        return Err(CheckError::NoDataset(ws.config_path()).into());
    }
    let id = fresh_run_id(ws, store.as_ref(), started)?;
    let history = plan.history.as_ref();

    // read
    let mut reads = Vec::new();
    let mut files = Vec::new();
    for ds in &datasets {
        let read = timed(progress, &mut times, Stage::Read, ds.name.clone(), || {
            let read = read_dataset(ws, ds, None).map_err(CheckError::from)?;
            if history.is_some() {
                // The files the read resolved and hashed while reading them.
                files.extend(read.files.iter().map(|r| input_file(ws, &ds.name, r)));
            }
            Ok(read)
        })?;
        reads.push(read);
    }

    // fill: the lookups of `[datasets.fill]`, from the other datasets as mapped (read here
    // when the plan does not check them)
    let mut lookups = Lookups::default();
    for ds in &datasets {
        for need in lookups.needed(ds) {
            let Some(from) = ws.dataset(&need.0) else {
                continue;
            };
            // A dataset read for the lookup alone is read, used and let go (with its cache).
            let extra;
            let frame = match datasets.iter().position(|d| d.name == from.name) {
                Some(i) => reads[i].frame.clone(),
                None => {
                    extra = timed(progress, &mut times, Stage::Read, from.name.clone(), || {
                        Ok(read_dataset(ws, from, None).map_err(CheckError::from)?)
                    })?;
                    extra.frame.clone()
                }
            };
            let mapped = apply(frame, from, &crosswalks).map_err(polars_err)?;
            lookups.build(need, mapped).map_err(polars_err)?;
        }
    }

    // map: the crosswalks are applied to each chunk as the check reads it, then the fills;
    // mapping coverage is tallied from the same pass, batch by batch (runs with history)
    let mut inputs = Vec::new();
    for (ds, read) in datasets.iter().zip(&reads) {
        let frame = timed(progress, &mut times, Stage::Map, ds.name.clone(), || {
            let mapped = apply(read.frame.clone(), ds, &crosswalks).map_err(polars_err)?;
            fill(mapped, ds, &lookups).map_err(polars_err)
        })?;
        // Each chunk is sliced before the crosswalks, so that only its rows are read.
        let (lookups, crosswalks) = (&lookups, &crosswalks);
        let mut input = Input::sliced(ds, frame.clone(), move |offset, len| {
            fill(
                apply(read.frame.clone().slice(offset, len), ds, crosswalks)?,
                ds,
                lookups,
            )
        })
        .spilling_to(ws.root.join(".yibao").join("tmp"));
        if history.is_some() && !ds.codes.is_empty() {
            let schema = frame.clone().collect_schema().map_err(polars_err)?;
            let carry = coverage::columns(ds, &schema);
            let part: Schema = carry.iter().filter_map(|c| schema.get_field(c)).collect();
            let owned = (*ds).clone();
            input = input.tallied(
                carry,
                Arc::new(move |batch| coverage::group(batch, &owned, &part)),
            );
        }
        inputs.push(input);
    }
    // A dataset to be batched must give every record its node's mandatory fields, or count the
    // record dirty: refused before the check reads anything.
    let mut not_batched = Vec::new();
    if plan.emit != Emit::Nothing {
        for input in &inputs {
            let schema = input.frame.clone().collect_schema().map_err(polars_err)?;
            let columns: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
            match batch::require_complete(input.dataset, &columns, &rules) {
                Ok(()) => {}
                Err(e) if plan.hold_incomplete => {
                    not_batched.push(NotBatched {
                        dataset: input.dataset.name.clone(),
                        reason: e.to_string(),
                    });
                }
                Err(e) => return Err(e.into()),
            }
        }
    }
    let held: std::collections::BTreeSet<String> =
        not_batched.iter().map(|n| n.dataset.clone()).collect();
    // check; the clean records go to the batch planner out of the same pass, chunk by chunk
    let engine_opts = engine::Options {
        samples: plan.samples,
        rejects: true,
        clean: plan.emit != Emit::Nothing,
        ..engine::Options::default()
    };
    let settings = batch::Settings::new(
        ws,
        &id,
        &code_sets,
        packs
            .iter()
            .map(|p| format!("{}@{}", p.name, p.version))
            .collect(),
    );
    let emitter = match plan.emit {
        Emit::Nothing => None,
        Emit::DryRun => Some(batch::Emitter::new(
            ws,
            batch::Ledger::DryRun(store.as_mut()),
            settings,
        )?),
        Emit::Batches => {
            let Some(store) = store.as_mut() else {
                return Err(miette::miette!(
                    code = "yibao::internal::store",
                    "the ledger was not opened"
                ));
            };
            Some(batch::Emitter::new(
                ws,
                batch::Ledger::Write(store),
                settings,
            )?)
        }
    };
    let what = format!("{} rules on {} datasets", rules.len(), inputs.len());
    progress(Progress::Begin {
        stage: Stage::Check,
        what: what.clone(),
    });
    let start = Instant::now();
    let out_dir = ws.out.join(&id);
    // A writing emitter works on a thread of its own, a chunk behind the check: the check's
    // next chunk is evaluated while the last one's clean records are planned and written.
    let (emitter, writer) = match emitter {
        Some(e) if plan.emit == Emit::Batches => (None, Some(e)),
        other => (other, None),
    };
    let (outcome, parts, emitted) = std::thread::scope(|scope| {
        let (emitting, handle) = match writer {
            Some(mut e) => {
                let (chunks, received) = std::sync::mpsc::sync_channel::<ToEmitter<'_>>(0);
                let (pieces, encoded) = std::sync::mpsc::sync_channel::<ToPlanner<'_>>(1);
                let (events, announced) = std::sync::mpsc::channel::<(String, ManifestBatch)>();
                // Encoding (canonical JSON and content hashes) needs nothing of the ledger: a
                // thread of its own does it ahead of the planner, in pieces, so that the
                // writer's thread only judges, cuts and writes.
                let encoder = scope.spawn(move || -> Result<(), batch::BatchError> {
                    let mut encoding: Option<(String, batch::Encoding)> = None;
                    for msg in received {
                        let (ds, records, last) = match msg {
                            ToEmitter::Chunk(ds, records, last) => (ds, records, last),
                            ToEmitter::Done => {
                                let _ = pieces.send(ToPlanner::Done);
                                return Ok(());
                            }
                        };
                        let columns: Vec<String> = records
                            .get_column_names()
                            .iter()
                            .map(|n| n.to_string())
                            .collect();
                        let fits = matches!(&encoding, Some((name, e)) if *name == ds.name && e.fits(&columns));
                        if !fits {
                            encoding = Some((ds.name.clone(), batch::Encoding::new(ds, &columns)?));
                        }
                        let Some((_, enc)) = &encoding else {
                            continue;
                        };
                        let height = records.height();
                        let mut offset = 0;
                        loop {
                            let len = PIECE_ROWS.min(height - offset);
                            let piece = enc.encode(&records.slice(offset as i64, len))?;
                            offset += len;
                            let end = offset >= height;
                            // A closed channel: the writer stopped; its error is its own.
                            if pieces
                                .send(ToPlanner::Piece(ds, piece, last && end))
                                .is_err()
                            {
                                return Ok(());
                            }
                            if end {
                                break;
                            }
                        }
                    }
                    Ok(())
                });
                let handle = scope.spawn(
                    move || -> Result<Option<(Summary, u64)>, batch::BatchError> {
                        let mut done = None;
                        for msg in encoded {
                            match msg {
                                ToPlanner::Piece(ds, piece, last) => {
                                    e.push_encoded(ds, piece, last, &mut |name, entry| {
                                        let _ = events.send((name.to_string(), entry.clone()));
                                    })?;
                                }
                                ToPlanner::Done => {
                                    let largest = e.largest_push;
                                    done = Some((e.finish()?, largest));
                                    break;
                                }
                            }
                        }
                        // Without Done the check or the encoder failed: nothing more is
                        // written, and the encoder's error is the one to tell.
                        match encoder.join() {
                            Ok(Ok(())) => Ok(done),
                            Ok(Err(err)) => Err(err),
                            Err(panic) => std::panic::resume_unwind(panic),
                        }
                    },
                );
                (
                    Some(Emitting {
                        chunks,
                        events: announced,
                    }),
                    Some(handle),
                )
            }
            None => (None, None),
        };
        let mut sinks = Sinks {
            ws,
            held: held.clone(),
            emitter,
            emitting,
            // A dry run writes nothing, not even the rejects.
            rejects: (plan.emit != Emit::DryRun).then(|| RejectFiles::new(out_dir.join("rejects"))),
            spool: match history {
                Some(_) => match spool::Spool::new(&ws.out) {
                    Ok(s) => Some(s),
                    Err(e) => return (Err(EngineError::Stopped), None, Err(io_err(&ws.out, e))),
                },
                None => None,
            },
            progress: &mut *progress,
            coverage: history.map(|_| Tally::default()),
            largest_rejects: 0,
            failed: None,
        };
        let outcome = engine::check(&inputs, &rules, context, &engine_opts, &mut sinks);
        let Sinks {
            ws: _,
            held: _,
            emitter,
            emitting,
            rejects,
            spool,
            progress,
            coverage,
            largest_rejects,
            failed,
        } = sinks;
        let emitted = match (emitting, handle) {
            (Some(em), Some(handle)) => {
                if outcome.is_ok() {
                    let _ = em.chunks.send(ToEmitter::Done);
                }
                drop(em.chunks);
                let joined = handle.join();
                for (name, entry) in em.events.try_iter() {
                    progress(Progress::Batch {
                        dataset: name,
                        entry,
                    });
                }
                match joined {
                    Ok(Ok(done)) => Ok(done),
                    Ok(Err(e)) => Err(miette::Report::new(e)),
                    Err(_) => Err(miette::miette!(
                        code = "yibao::internal::thread",
                        "the batch writer's thread panicked"
                    )),
                }
            }
            // The emitter of a dry run plans on this thread.
            _ => match emitter {
                Some(e) if outcome.is_ok() => {
                    let largest = e.largest_push;
                    e.finish()
                        .map(|s| Some((s, largest)))
                        .map_err(miette::Report::new)
                }
                _ => Ok(None),
            },
        };
        let parts = Checked {
            rejects,
            spool,
            coverage,
            largest_rejects,
            failed,
        };
        (outcome, Some(parts), emitted)
    });
    let Some(Checked {
        rejects,
        spool,
        coverage,
        largest_rejects,
        failed,
    }) = parts
    else {
        return Err(emitted.err().unwrap_or_else(|| {
            miette::miette!(code = "yibao::internal::sinks", "the check did not run")
        }));
    };
    // A failed check's error comes first; the writer's own error next.
    let emitted = match (&outcome, emitted) {
        (Ok(_), e) => e?,
        (Err(EngineError::Stopped), Err(e)) if failed.is_none() => return Err(e),
        (Err(_), _) => None,
    };
    let outcome = match outcome {
        Ok(o) => o,
        Err(EngineError::Stopped) => {
            return Err(failed.unwrap_or_else(|| miette::Report::new(EngineError::Stopped)))
        }
        Err(e) => return Err(e.into()),
    };
    let coverage = coverage.map(Tally::finish).unwrap_or_default();
    let (codes, mapped) = coverage
        .iter()
        .fold((0u64, 0u64), |(a, b), c| (a + c.codes, b + c.codes_mapped));
    let coverage_rate = (codes > 0).then(|| mapped as f64 / codes as f64);
    let coverage_breached = match (ws.thresholds.coverage, coverage_rate) {
        (Some(t), Some(c)) => c < t,
        _ => false,
    };
    let (largest_push, batches) = match emitted {
        Some((summary, largest)) => (largest, Some(summary)),
        None => (0, None),
    };
    add_time(&mut times, Stage::Check, start.elapsed());
    progress(Progress::End {
        stage: Stage::Check,
        what,
        elapsed: start.elapsed(),
    });
    let report = Report::new(
        id.clone(),
        started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ws.name.clone(),
        pack_refs(&packs),
        code_sets.clone(),
        outcome.datasets,
        ws.thresholds.dirty_rate,
    );

    // report.json and the rejects (not for a dry run)
    let mut report_path = None;
    if let Some(rejects) = rejects {
        let path = timed(
            progress,
            &mut times,
            Stage::Report,
            out_dir.display().to_string(),
            || write_report(&out_dir, &report, rejects),
        )?;
        report_path = Some(path);
    }
    drop(inputs);
    drop(reads);

    let mut out = RunOutcome {
        report,
        report_path,
        coverage,
        coverage_rate,
        coverage_breached,
        batches,
        not_batched,
        largest_push,
        largest_rejects,
        out_dir,
        dirty_records: 0,
        stage_times: Vec::new(),
        elapsed: Duration::ZERO,
    };

    // history
    if let (Some(h), Some(store)) = (history, store.as_mut()) {
        let figures = out.batch_figures();
        out.dirty_records = timed(
            progress,
            &mut times,
            Stage::Report,
            "history".into(),
            || {
                let spool = spool.ok_or_else(|| {
                    miette::miette!(code = "yibao::internal::spool", "no dirty-record spool")
                })?;
                let n = spool.len() as usize;
                let rec = record::run_record(
                    ws,
                    &out.report,
                    record::Extra {
                        finished_at: chrono::Utc::now()
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        command: h.command.clone(),
                        coverage: &out.coverage,
                        coverage_rate: out.coverage_rate,
                        breached: out.report.breached || out.coverage_breached,
                        inputs: files,
                        batches: figures,
                    },
                );
                let mut dirty = spool.read().map_err(|e| io_err(&ws.out, e))?;
                store.record_run_with(&rec, &mut dirty)?;
                let since = started - h.since;
                let view = trend::load(
                    store,
                    &ws.name,
                    &since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                )?;
                if let Some(view) = view {
                    let path = out.out_dir.join("report.html");
                    crate::atomic::write(&path, report::html::render(&view).as_bytes())
                        .map_err(|e| io_err(&path, e))?;
                }
                Ok(n)
            },
        )?;
    }
    out.stage_times = times;
    out.elapsed = clock.elapsed();
    Ok(out)
}

/// Put the rejects written during the check into place, then write `report.json` into `dir`;
/// returns the path of report.json. Each file is written atomically.
fn write_report(dir: &Path, report: &Report, rejects: RejectFiles) -> miette::Result<PathBuf> {
    rejects.commit()?;
    std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let path = dir.join("report.json");
    crate::atomic::write(&path, &report::json(report)).map_err(|e| io_err(&path, e))?;
    Ok(path)
}

/// `rejects/<dataset>.csv` of a run, written while the check runs, a chunk at a time (at 10M
/// records they are hundreds of megabytes): each into a temporary file beside its place, renamed
/// into place only when the check has ended well.
struct RejectFiles {
    dir: PathBuf,
    open: Vec<(PathBuf, crate::atomic::Writer)>,
}

impl RejectFiles {
    fn new(dir: PathBuf) -> RejectFiles {
        RejectFiles {
            dir,
            open: Vec::new(),
        }
    }

    /// Append a chunk of `dataset`'s rejects (the first with the header).
    fn append(&mut self, dataset: &str, rejects: &DataFrame) -> miette::Result<()> {
        let path = confined(&self.dir, &[&format!("{dataset}.csv")])?;
        let first = !self.open.iter().any(|(p, _)| *p == path);
        if first {
            let w = crate::atomic::Writer::new(&path).map_err(|e| io_err(&path, e))?;
            self.open.push((path.clone(), w));
        }
        let Some((_, w)) = self.open.iter_mut().find(|(p, _)| *p == path) else {
            return Ok(());
        };
        crate::sheet::write_frame_part(rejects, w, first).map_err(|e| match e {
            PolarsError::IO { error, .. } => {
                io_err(&path, std::io::Error::new(error.kind(), error.to_string()))
            }
            e => polars_err(e),
        })
    }

    fn commit(self) -> miette::Result<()> {
        for (path, w) in self.open {
            w.commit().map_err(|e| io_err(&path, e))?;
        }
        Ok(())
    }
}

/// What the check's consumer leaves for the report and the history.
struct Checked {
    rejects: Option<RejectFiles>,
    spool: Option<spool::Spool>,
    coverage: Option<Tally>,
    largest_rejects: u64,
    failed: Option<miette::Report>,
}

/// What the check hands the batch writer's thread.
enum ToEmitter<'d> {
    /// A chunk of a dataset's clean records; `last` ends the dataset.
    Chunk(&'d Dataset, DataFrame, bool),
    /// The check ended well: close the last batch.
    Done,
}

/// What the encoder's thread hands the batch writer's thread.
enum ToPlanner<'d> {
    /// A piece of a chunk of a dataset's clean records, encoded; `last` ends the dataset.
    Piece(&'d Dataset, batch::Encoded, bool),
    /// The check ended well: close the last batch.
    Done,
}

/// Clean records encoded at once: pieces of a chunk, so that the writer starts on a chunk
/// before all of it is encoded and an encoded chunk is never held whole beside its records.
const PIECE_ROWS: usize = 1 << 16;

/// The batch writer's thread, seen from the check: where chunks go, and the batches it
/// announces.
struct Emitting<'d> {
    chunks: std::sync::mpsc::SyncSender<ToEmitter<'d>>,
    events: std::sync::mpsc::Receiver<(String, ManifestBatch)>,
}

/// What the check's chunks go to: the rejects' files, the history's spool of dirty records and
/// the batch emitter. The first failure is kept and stops the check.
struct Sinks<'a, 'p> {
    ws: &'a Workspace,
    /// Datasets whose clean records are not batched ([`NotBatched`]).
    held: std::collections::BTreeSet<String>,
    emitter: Option<batch::Emitter<'a>>,
    emitting: Option<Emitting<'a>>,
    rejects: Option<RejectFiles>,
    spool: Option<spool::Spool>,
    progress: &'p mut dyn FnMut(Progress),
    coverage: Option<Tally>,
    largest_rejects: u64,
    failed: Option<miette::Report>,
}

impl Sinks<'_, '_> {
    fn fail(&mut self, e: miette::Report) -> Stop {
        self.failed.get_or_insert(e);
        Stop
    }
}

impl engine::Consumer for Sinks<'_, '_> {
    fn rejects(&mut self, ds: &Dataset, rejects: &DataFrame) -> Result<(), Stop> {
        self.largest_rejects = self.largest_rejects.max(rejects.height() as u64);
        if let Some(files) = self.rejects.as_mut() {
            if let Err(e) = files.append(&ds.name, rejects) {
                return Err(self.fail(e));
            }
        }
        if let Some(spool) = self.spool.as_mut() {
            let written = record::dirty_of(self.ws, &ds.name, rejects)
                .map_err(polars_err)
                .and_then(|dirty| {
                    dirty
                        .iter()
                        .try_for_each(|d| spool.push(d))
                        .map_err(|e| io_err(&self.ws.out, e))
                });
            if let Err(e) = written {
                return Err(self.fail(e));
            }
        }
        Ok(())
    }

    fn tallied(&mut self, ds: &Dataset, grouped: &DataFrame) -> Result<(), Stop> {
        let Some(tally) = self.coverage.as_mut() else {
            return Ok(());
        };
        match tally.absorb(ds, grouped) {
            Ok(()) => Ok(()),
            Err(e) => Err(self.fail(polars_err(e))),
        }
    }

    fn clean(&mut self, ds: &Dataset, records: &DataFrame, last: bool) -> Result<(), Stop> {
        if self.held.contains(&ds.name) {
            return Ok(());
        }
        if let Some(em) = self.emitting.as_mut() {
            for (name, entry) in em.events.try_iter() {
                (self.progress)(Progress::Batch {
                    dataset: name,
                    entry,
                });
            }
            // The dataset as the workspace holds it, for as long as the writer lives.
            let Some(ds) = self.ws.dataset(&ds.name) else {
                return Err(self.fail(miette::miette!(
                    code = "yibao::internal::dataset",
                    "dataset `{}` is not in the workspace",
                    ds.name
                )));
            };
            // A closed channel: the writer stopped, its error is read when it is joined.
            return em
                .chunks
                .send(ToEmitter::Chunk(ds, records.clone(), last))
                .map_err(|_| Stop);
        }
        let Some(e) = self.emitter.as_mut() else {
            return Ok(());
        };
        let progress = &mut *self.progress;
        let pushed = e.push(ds, records, last, &mut |name, entry| {
            progress(Progress::Batch {
                dataset: name.to_string(),
                entry: entry.clone(),
            })
        });
        match pushed {
            Ok(()) => Ok(()),
            Err(err) => Err(self.fail(miette::Report::new(err))),
        }
    }
}

/// An input file as the history keeps it: its path relative to the workspace, and the size and
/// SHA-256 its reader took while reading it.
fn input_file(ws: &Workspace, dataset: &str, report: &crate::source::FileReport) -> InputFile {
    let rel = report.path.strip_prefix(&ws.root).unwrap_or(&report.path);
    InputFile {
        dataset: dataset.to_string(),
        path: rel.to_string_lossy().replace('\\', "/"),
        bytes: report.sha256.1,
        sha256: report.sha256.0.clone(),
        rows: report.rows,
    }
}
