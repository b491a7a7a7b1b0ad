//! The check stage as a library call: load the workspace's packs, code sets and crosswalks, read
//! and map every dataset, run the rules, and hand back the report, the rejects and (when asked)
//! the clean records. `yibao check`, `yibao batch` and the nightly `yibao run` all go through
//! [`check`], so the three agree on what a clean record is.
//!
//! Nothing here prints: progress goes to a callback the command turns into spinners.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use miette::Diagnostic;
use polars::prelude::{DataFrame, LazyFrame, PolarsError};
use thiserror::Error;

use crate::mapping::apply::apply;
use crate::mapping::load::{Crosswalks, LoadError};
use crate::report::{self, PackRef, Report};
use crate::rules::codebook::load_books;
use crate::rules::compile::Context;
use crate::rules::engine::{self, Input};
use crate::rules::pack::PackLoadError;
use crate::rules::{load_packs, Pack, Rule};
use crate::source::dataset::{read_dataset, DatasetError, DatasetRead};
use crate::store::{Store, StoreError};
use crate::workspace::path::{confined, UnsafeName};
use crate::workspace::{Dataset, Workspace};

/// What a check is asked to do.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// Rule packs to run; empty: the workspace's packs, else the national pack.
    pub packs: Vec<String>,
    /// Datasets to check; empty: all of them.
    pub datasets: Vec<String>,
    /// Failing sample rows kept per rule in report.json.
    pub samples: usize,
    /// Keep the clean records of each dataset ([`Checked::clean`]), for `batch`.
    pub clean: bool,
}

/// Where a check is, for a progress display.
#[derive(Debug, Clone)]
pub enum Stage<'a> {
    /// Reading and mapping a dataset.
    Reading(&'a str),
    /// Running `rules` rules over `datasets` datasets.
    Checking {
        /// Rules.
        rules: usize,
        /// Datasets.
        datasets: usize,
    },
    /// Finished.
    Done,
}

/// The clean records of one dataset: mapped onto national codes, dirty records left out.
pub struct Clean {
    /// The dataset.
    pub dataset: Dataset,
    /// Its clean records, lazily: scanning it reads the dataset's cache again.
    pub frame: LazyFrame,
}

/// What a check found.
pub struct Checked {
    /// The run id (also the folder under `out/`).
    pub run_id: String,
    /// report.json.
    pub report: Report,
    /// The dirty records of each dataset, for `rejects/<dataset>.csv`.
    pub rejects: Vec<(String, DataFrame)>,
    /// With [`CheckOptions::clean`]: the clean records of each dataset, in dataset order.
    pub clean: Vec<Clean>,
    /// The read caches the clean frames scan; removed when this is dropped.
    _reads: Vec<DatasetRead>,
}

impl Checked {
    /// The run's folder, `out/<run-id>/`.
    pub fn run_dir(&self, ws: &Workspace) -> PathBuf {
        ws.out.join(&self.run_id)
    }
}

/// Why a check could not run (exit code 2 for input and configuration, 3 for the rest, by the
/// diagnostic codes of the wrapped errors).
#[derive(Debug, Error, Diagnostic)]
pub enum CheckError {
    /// A rule pack could not be loaded.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Pack(#[from] PackLoadError),
    /// The store failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] StoreError),
    /// The crosswalks could not be loaded.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Crosswalks(#[from] LoadError),
    /// A dataset could not be read (boxed: its diagnostic carries the source text).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Dataset(Box<DatasetError>),
    /// Nothing to check.
    #[error("nothing to check in {0}")]
    #[diagnostic(
        code(yibao::check::no_dataset),
        help(
            "declare datasets in yibao.toml ([[datasets]]), or name one that exists with --dataset"
        )
    )]
    NoDataset(PathBuf),
    /// The query engine failed.
    #[error("{0}")]
    #[diagnostic(code(yibao::internal::polars))]
    Polars(#[from] PolarsError),
    /// A rule could not run, or the engine failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Engine(#[from] crate::rules::engine::EngineError),
    /// A dataset name that cannot be a file name.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Name(#[from] UnsafeName),
    /// An output could not be written.
    #[error("cannot write {path}: {source}")]
    #[diagnostic(
        code(yibao::io::write),
        help("check the folder is writable and the disk has space")
    )]
    Write {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl From<DatasetError> for CheckError {
    fn from(e: DatasetError) -> Self {
        CheckError::Dataset(Box::new(e))
    }
}

/// A run id: the UTC time, sortable, safe in a folder name.
pub fn run_id() -> String {
    chrono::Utc::now().format("%Y%m%dT%H%M%SZ").to_string()
}

/// A run id whose folder does not exist yet under the workspace's `out/`: two runs within one
/// second (a re-run after an interrupted one) must not share a folder. `-2`, `-3`… are added.
pub fn fresh_run_id(ws: &Workspace) -> String {
    let base = run_id();
    let out = ws.out.clone();
    if !out.join(&base).exists() {
        return base;
    }
    (2u32..)
        .map(|n| format!("{base}-{n}"))
        .find(|id| !out.join(id).exists())
        .unwrap_or(base)
}

/// What a check needs before it reads any data: the packs and their rules, the code books and
/// dictionaries, the code-set versions, the crosswalks.
pub struct Setup {
    /// The packs that run.
    pub packs: Vec<Pack>,
    /// Their rules, in pack order.
    pub rules: Vec<Rule>,
    /// Code books and dictionaries the rules look values up in.
    pub context: Context,
    /// Code-set versions checked against, by family.
    pub code_sets: BTreeMap<String, String>,
    /// The workspace's crosswalks.
    pub crosswalks: Crosswalks,
}

/// Load what a check needs. `packs` empty: the workspace's packs, else `national`. Without a
/// store, no code book is loaded (codes are checked for their form only).
pub fn setup(ws: &Workspace, packs: &[String], store: Option<&Store>) -> Result<Setup, CheckError> {
    let names = if !packs.is_empty() {
        packs.to_vec()
    } else if ws.packs.is_empty() {
        vec!["national".to_string()]
    } else {
        ws.packs.clone()
    };
    let packs = load_packs(&ws.root, &names)?;
    let mut context = Context::default();
    let mut code_sets = BTreeMap::new();
    if let Some(store) = store {
        let (books, current) = load_books(store, &ws.code_sets)?;
        context.books = books;
        code_sets = current
            .into_iter()
            .map(|(f, v)| (f.as_str().to_string(), v))
            .collect();
    }
    context.dictionaries = packs
        .iter()
        .map(|p| (p.name.clone(), p.dictionaries.clone()))
        .collect::<HashMap<_, _>>();
    let rules = packs.iter().flat_map(|p| p.rules.iter().cloned()).collect();
    let crosswalks = Crosswalks::load(ws, store)?;
    Ok(Setup {
        packs,
        rules,
        context,
        code_sets,
        crosswalks,
    })
}

/// The packs as report.json names them.
pub fn pack_refs(packs: &[Pack]) -> Vec<PackRef> {
    packs
        .iter()
        .map(|p| PackRef {
            name: p.name.clone(),
            version: p.version.clone(),
            rules: p.rules.len(),
        })
        .collect()
}

/// Check the workspace's datasets. `progress` hears of each stage as it starts.
pub fn check(
    ws: &Workspace,
    opts: &CheckOptions,
    progress: &mut dyn FnMut(Stage<'_>),
) -> Result<Checked, CheckError> {
    let store = Store::open_existing(&ws.root)?;
    let Setup {
        packs,
        rules,
        context,
        code_sets,
        crosswalks,
    } = setup(ws, &opts.packs, store.as_ref())?;
    drop(store);
    let datasets: Vec<&Dataset> = ws
        .datasets
        .iter()
        .filter(|d| opts.datasets.is_empty() || opts.datasets.contains(&d.name))
        .collect();
    if datasets.is_empty() {
        return Err(CheckError::NoDataset(ws.config_path()));
    }
    let mut reads = Vec::new();
    for ds in &datasets {
        progress(Stage::Reading(&ds.name));
        reads.push(read_dataset(ws, ds, None)?);
    }
    let mut inputs = Vec::new();
    for (ds, read) in datasets.iter().zip(&reads) {
        let frame = apply(read.frame.clone(), ds, &crosswalks)?;
        // Each chunk is sliced before the crosswalks, so that only its rows are read.
        inputs.push(Input::sliced(ds, frame, |offset, len| {
            apply(read.frame.clone().slice(offset, len), ds, &crosswalks)
        }));
    }
    progress(Stage::Checking {
        rules: rules.len(),
        datasets: inputs.len(),
    });
    let engine_opts = engine::Options {
        samples: opts.samples,
        rejects: true,
        dirty: opts.clean,
        ..engine::Options::default()
    };
    let outcome = engine::check(&inputs, &rules, context, &engine_opts)?;
    let mut clean = Vec::new();
    if opts.clean {
        for input in &inputs {
            let Some((_, locations)) = outcome
                .dirty
                .iter()
                .find(|(name, _)| *name == input.dataset.name)
            else {
                continue;
            };
            clean.push(Clean {
                dataset: input.dataset.clone(),
                frame: engine::clean_of(input.frame.clone(), locations),
            });
        }
    }
    drop(inputs);
    progress(Stage::Done);
    let id = fresh_run_id(ws);
    let report = Report::new(
        id.clone(),
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ws.name.clone(),
        pack_refs(&packs),
        code_sets,
        outcome.datasets,
        ws.thresholds.dirty_rate,
    );
    Ok(Checked {
        run_id: id,
        report,
        rejects: outcome.rejects,
        clean,
        _reads: reads,
    })
}

/// Write `report.json` and `rejects/<dataset>.csv` into the run's folder; returns the path of
/// report.json. Each file is written atomically.
pub fn write_report(ws: &Workspace, checked: &mut Checked) -> Result<PathBuf, CheckError> {
    let dir = checked.run_dir(ws);
    let rejects_dir = dir.join("rejects");
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| CheckError::Write { path, source }
    };
    std::fs::create_dir_all(&rejects_dir).map_err(io(&rejects_dir))?;
    for (name, df) in &mut checked.rejects {
        let path = confined(&rejects_dir, &[&format!("{name}.csv")])?;
        crate::atomic::write_with(&path, |w| {
            report::write_rejects_csv(df, w).map_err(std::io::Error::other)
        })
        .map_err(io(&path))?;
    }
    let path = dir.join("report.json");
    crate::atomic::write(&path, &report::json(&checked.report)).map_err(io(&path))?;
    Ok(path)
}
