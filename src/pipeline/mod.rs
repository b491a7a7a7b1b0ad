//! The pipeline behind `yibao run`: read -> map -> check -> batch -> report as one call, each
//! stage announced to a progress callback, the whole run recorded in the history.
//!
//! It shares [`check::setup`] (packs, code books, crosswalks) with [`check::check`], and drives
//! read, map and check itself so that it can time each per dataset and measure coverage between
//! map and check.
//!
//! The batch stage is a hook ([`BatchStage`]): `run` calls it, when given, with the mapped
//! frames and the check outcome, and records what it returns; `yibao run` passes `batch::emit`.

pub mod check;
pub mod record;
pub mod trend;

pub use check::{check, fresh_run_id, write_report, CheckError, CheckOptions, Checked, Clean};

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use polars::prelude::PolarsError;
use sha2::{Digest, Sha256};

use crate::mapping::apply::apply;
use crate::mapping::coverage::{Coverage, Tally};
use crate::report::{self, Report};
use crate::rules::engine::{self, Input, Outcome};
use crate::source::dataset::{read_dataset, resolve};
use crate::store::history::{BatchFigure, InputFile};
use crate::store::Store;
use crate::workspace::path::confined;
use crate::workspace::Workspace;

/// The stages of a run, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Read each dataset's files (and hash them).
    Read,
    /// Apply the crosswalks; measure mapping coverage.
    Map,
    /// Run the rule packs.
    Check,
    /// Emit upload batches of clean records (the [`BatchStage`] hook).
    Batch,
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
            Stage::Batch => "batch",
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
}

/// Settings of a run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Packs to run (empty: the workspace's, else `national`).
    pub packs: Vec<String>,
    /// Sample rows kept per rule.
    pub samples: usize,
    /// The command line recorded in the history, e.g. `yibao run --nightly`.
    pub command: String,
    /// How far back the report's trend goes.
    pub since: chrono::Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            packs: Vec::new(),
            samples: 5,
            command: "yibao run".to_string(),
            since: chrono::Duration::days(30),
        }
    }
}

/// What the batch stage is given: the run, the mapped datasets and what the check found.
pub struct BatchInput<'a> {
    /// The workspace.
    pub workspace: &'a Workspace,
    /// The run id (`out/<run-id>/batches/` is where batches go).
    pub run_id: &'a str,
    /// `out/<run-id>/`.
    pub out_dir: &'a Path,
    /// The datasets, crosswalks applied (as the check saw them).
    pub inputs: &'a [Input<'a>],
    /// Per-dataset results and the dirty/warned records (`errors` non-empty = dirty).
    pub outcome: &'a Outcome,
    /// Code-set versions checked against, by family (for the batch manifests).
    pub code_sets: &'a BTreeMap<String, String>,
    /// Rule packs that ran, as `name@version`.
    pub rule_packs: Vec<String>,
}

impl BatchInput<'_> {
    /// Each dataset's clean records: its mapped frame minus the records the check found dirty.
    pub fn clean(&self) -> Vec<Clean> {
        self.inputs
            .iter()
            .filter_map(|input| {
                let (_, dirty) = self
                    .outcome
                    .dirty
                    .iter()
                    .find(|(name, _)| *name == input.dataset.name)?;
                Some(Clean {
                    dataset: input.dataset.clone(),
                    frame: engine::clean_of(input.frame.clone(), dirty),
                })
            })
            .collect()
    }
}

/// The batch stage: emits batches of the clean records and says what it wrote, per dataset.
/// `None` skips the stage (recorded as no batches).
pub type BatchStage<'a> = &'a mut dyn FnMut(&BatchInput<'_>) -> miette::Result<Vec<BatchFigure>>;

/// What a run did.
#[derive(Debug)]
pub struct RunOutcome {
    /// The run's report.json content.
    pub report: Report,
    /// Mapping coverage per area and family.
    pub coverage: Vec<Coverage>,
    /// Overall: mapped distinct local codes / distinct local codes (`None` without code fields).
    pub coverage_rate: Option<f64>,
    /// Coverage below `[thresholds] coverage`.
    pub coverage_breached: bool,
    /// Batches written.
    pub batches: Vec<BatchFigure>,
    /// `out/<run-id>/`.
    pub out_dir: PathBuf,
    /// Dirty records handed to the history (a key two of them share is stored once).
    pub dirty_records: usize,
    /// How long the whole run took.
    pub elapsed: Duration,
}

impl RunOutcome {
    /// A threshold (dirty-data rate or coverage) was breached.
    pub fn breached(&self) -> bool {
        self.report.breached || self.coverage_breached
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

/// Time one piece of a stage, telling the callback when it begins and ends.
fn timed<T>(
    progress: &mut dyn FnMut(Progress),
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
    progress(Progress::End {
        stage,
        what,
        elapsed: start.elapsed(),
    });
    Ok(out)
}

/// Run the pipeline over the workspace. The caller holds the workspace lock.
pub fn run(
    ws: &Workspace,
    opts: &Options,
    batch: Option<BatchStage<'_>>,
    progress: &mut dyn FnMut(Progress),
) -> miette::Result<RunOutcome> {
    let started = chrono::Utc::now();
    let clock = Instant::now();
    let mut store = Store::open(&ws.root)?;
    // Two runs (or a check and a run) in one second would share a folder: number the later.
    let base = run_id(started);
    let mut id = base.clone();
    for n in 2.. {
        if !ws.out.join(&id).exists() && !store.has_run(&id)? {
            break;
        }
        id = format!("{base}-{n}");
    }
    let check::Setup {
        packs,
        rules,
        context,
        code_sets,
        crosswalks,
    } = check::setup(ws, &opts.packs, Some(&store))?;
    if ws.datasets.is_empty() {
        return Err(miette::miette!(
            code = "yibao::run::no_dataset",
            help = "declare datasets in yibao.toml ([[datasets]])",
            "nothing to run in {}",
            ws.config_path().display()
        ));
    }

    // read
    let mut reads = Vec::new();
    let mut files = Vec::new();
    for ds in &ws.datasets {
        let read = timed(progress, Stage::Read, ds.name.clone(), || {
            let read = read_dataset(ws, ds, None)?;
            for (path, report) in resolve(ws, ds)?.iter().zip(&read.files) {
                files.push(hash_input(ws, &ds.name, path, report.rows)?);
            }
            Ok(read)
        })?;
        reads.push(read);
    }

    // map
    let mut tally = Tally::default();
    let mut inputs = Vec::new();
    for (ds, read) in ws.datasets.iter().zip(&reads) {
        let frame = timed(progress, Stage::Map, ds.name.clone(), || {
            let frame = apply(read.frame.clone(), ds, &crosswalks).map_err(polars_err)?;
            if !ds.codes.is_empty() {
                tally.add(&frame, ds).map_err(polars_err)?;
            }
            Ok(frame)
        })?;
        inputs.push(Input::sliced(ds, frame, |offset, len| {
            apply(read.frame.clone().slice(offset, len), ds, &crosswalks)
        }));
    }
    let coverage = tally.finish();
    let (codes, mapped) = coverage
        .iter()
        .fold((0u64, 0u64), |(a, b), c| (a + c.codes, b + c.codes_mapped));
    let coverage_rate = (codes > 0).then(|| mapped as f64 / codes as f64);
    let coverage_breached = match (ws.thresholds.coverage, coverage_rate) {
        (Some(t), Some(c)) => c < t,
        _ => false,
    };

    // check
    let engine_opts = engine::Options {
        samples: opts.samples,
        rejects: true,
        dirty: batch.is_some(),
        ..engine::Options::default()
    };
    let mut outcome = timed(
        progress,
        Stage::Check,
        format!("{} rules on {} datasets", rules.len(), inputs.len()),
        || engine::check(&inputs, &rules, context, &engine_opts).map_err(miette::Report::new),
    )?;

    // batch
    let out_dir = ws.out.join(&id);
    let batches = match batch {
        Some(stage) => timed(progress, Stage::Batch, "clean records".into(), || {
            stage(&BatchInput {
                workspace: ws,
                run_id: &id,
                out_dir: &out_dir,
                inputs: &inputs,
                outcome: &outcome,
                code_sets: &code_sets,
                rule_packs: packs
                    .iter()
                    .map(|p| format!("{}@{}", p.name, p.version))
                    .collect(),
            })
        })?,
        None => Vec::new(),
    };
    drop(inputs);
    drop(reads);

    // report
    let report = Report::new(
        id.clone(),
        started.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ws.name.clone(),
        check::pack_refs(&packs),
        code_sets,
        outcome.datasets.clone(),
        ws.thresholds.dirty_rate,
    );
    let dirty_records = timed(
        progress,
        Stage::Report,
        out_dir.display().to_string(),
        || {
            let rejects_dir = out_dir.join("rejects");
            std::fs::create_dir_all(&rejects_dir).map_err(|e| io_err(&rejects_dir, e))?;
            for (name, df) in &mut outcome.rejects {
                // Serialised straight into the file that is renamed into place: at 10M
                // records the rejects are hundreds of megabytes.
                let path = confined(&rejects_dir, &[&format!("{name}.csv")])?;
                crate::atomic::write_with(&path, |w| {
                    report::write_rejects_csv(df, w).map_err(std::io::Error::other)
                })
                .map_err(|e| io_err(&path, e))?;
            }
            let path = out_dir.join("report.json");
            crate::atomic::write(&path, &report::json(&report)).map_err(|e| io_err(&path, e))?;
            let dirty = record::dirty_records(ws, &outcome).map_err(polars_err)?;
            let n = dirty.len();
            let rec = record::run_record(
                ws,
                &report,
                record::Extra {
                    finished_at: chrono::Utc::now()
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    command: opts.command.clone(),
                    coverage: &coverage,
                    coverage_rate,
                    breached: report.breached || coverage_breached,
                    inputs: files,
                    dirty,
                    batches: batches.clone(),
                },
            );
            store.record_run(&rec)?;
            let since = started - opts.since;
            let view = trend::load(
                &store,
                &ws.name,
                &since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            )?;
            if let Some(view) = view {
                let path = out_dir.join("report.html");
                crate::atomic::write(&path, report::html::render(&view).as_bytes())
                    .map_err(|e| io_err(&path, e))?;
            }
            Ok(n)
        },
    )?;
    Ok(RunOutcome {
        report,
        coverage,
        coverage_rate,
        coverage_breached,
        batches,
        out_dir,
        dirty_records,
        elapsed: clock.elapsed(),
    })
}

/// Size and SHA-256 of an input file, its path relative to the workspace.
fn hash_input(ws: &Workspace, dataset: &str, path: &Path, rows: u64) -> miette::Result<InputFile> {
    let read_err = |e: std::io::Error| {
        miette::miette!(
            code = "yibao::io::read",
            "cannot read {} to hash it: {e}",
            path.display()
        )
    };
    let mut f = std::fs::File::open(path).map_err(read_err)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(read_err)?;
        if n == 0 {
            break;
        }
        bytes += n as u64;
        hasher.update(&buf[..n]);
    }
    let digest = hasher.finalize();
    let rel = path.strip_prefix(&ws.root).unwrap_or(path);
    Ok(InputFile {
        dataset: dataset.to_string(),
        path: rel.to_string_lossy().replace('\\', "/"),
        bytes,
        sha256: digest.iter().map(|b| format!("{b:02x}")).collect(),
        rows,
    })
}
