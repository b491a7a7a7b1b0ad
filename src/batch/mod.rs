//! Upload batches: the clean records of each dataset, in the national message layout, cut into
//! files by a record count and a byte size, each recorded in the ledger so that a record is
//! emitted exactly once however often the machine stops (docs/BATCH.md).
//!
//! Plan, then act, one batch at a time: [`plan`] turns the clean records into a stream of
//! planned batches (which records, which bytes) and [`emit`] writes each one, so 10 million
//! records never sit in memory at once. `--dry-run` runs the planner alone.

mod layout;
mod plan;
pub mod record;
mod seen;
pub mod verify;
mod write;

use std::collections::BTreeMap;
use std::path::PathBuf;

use miette::Diagnostic;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::store::StoreError;
use crate::workspace::DatasetKind;

pub use layout::{incomplete, Layout};
pub use plan::{Encoded, Encoding, Planned, Planner};
pub use write::{batch_dir, recover, Emitter, Ledger, Recovery};

/// Refuse, before anything is read, a dataset whose records could leave a mandatory field of
/// their node empty (docs/BATCH.md "Mandatory fields").
pub fn require_complete(
    ds: &crate::workspace::Dataset,
    columns: &[String],
    rules: &[crate::rules::Rule],
) -> Result<(), BatchError> {
    let Some((missing, unguarded)) = incomplete(ds, columns, rules) else {
        return Ok(());
    };
    let layout = Layout::of(ds.kind);
    let message = format!(
        "{} `{}`",
        layout.infno.unwrap_or("a dictionary"),
        layout.node
    );
    let list = |v: &[&str]| {
        v.iter()
            .map(|f| format!("`{f}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let (problem, help) = if !missing.is_empty() {
        (
            format!("its records have no {}, which the node requires", list(&missing)),
            format!(
                "map a column onto {} under [datasets.columns], or fill {} from another dataset under [datasets.fill], e.g. `med_type = {{ from = \"<settlements>\", by = \"setl_id\" }}` (docs/WORKSPACE.md, \"Filling fields\")",
                if missing.len() == 1 { "it" } else { "each" },
                if missing.len() == 1 { "it" } else { "them" }
            ),
        )
    } else {
        (
            format!(
                "no error-level rule that runs makes a record without {} dirty, so such a record would be sent",
                list(&unguarded)
            ),
            "run the national pack beside your own (`[rules] packs = [\"national\", …]`), or add a `required` rule on each of these fields for the kind".to_string(),
        )
    };
    Err(BatchError::Incomplete {
        dataset: ds.name.clone(),
        message,
        problem,
        help,
    })
}

/// Limits and mode of a batch run.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Most records in one batch.
    pub max_records: usize,
    /// Most bytes in one batch file (a single record larger than this goes alone).
    pub max_bytes: usize,
    /// The run id: batches go to `out/<run_id>/batches/`.
    pub run_id: String,
    /// The run's time, `yyyy-MM-dd HH:mm:ss`: the messages' `inf_time` and corrections' mark.
    pub time: String,
    /// Code-set versions the records were checked against, by family.
    pub code_sets: BTreeMap<String, String>,
    /// Rule packs that ran, `name@version`.
    pub rule_packs: Vec<String>,
}

impl Settings {
    /// The settings of a run's batches: the workspace's `[batch]` limits, the run id, the
    /// code-set versions and packs checked against, and the time now in Beijing.
    pub fn new(
        ws: &crate::workspace::Workspace,
        run_id: &str,
        code_sets: &BTreeMap<String, String>,
        rule_packs: Vec<String>,
    ) -> Settings {
        Settings {
            max_records: ws.batch.max_records,
            max_bytes: ws.batch.max_bytes,
            run_id: run_id.to_string(),
            // inf_time is the sender's time, which for the national platform is Beijing's.
            time: crate::clock::now().format("%Y-%m-%d %H:%M:%S").to_string(),
            code_sets: code_sets.clone(),
            rule_packs,
        }
    }
}

/// A batch's line in `manifest.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestBatch {
    /// Batch number.
    pub number: u64,
    /// File name, `NNNNNN.json`.
    pub file: String,
    /// Records in it.
    pub records: u64,
    /// Of which corrections.
    pub corrections: u64,
    /// File size in bytes.
    pub bytes: u64,
    /// SHA-256 of the file, lower-case hex.
    pub sha256: String,
    /// Key of its first record.
    pub first_key: String,
    /// Key of its last record.
    pub last_key: String,
}

/// `out/<run>/batches/<dataset>/manifest.json`: what a run emitted for one dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Layout version of this file.
    pub schema: u32,
    /// The run.
    pub run_id: String,
    /// The dataset.
    pub dataset: String,
    /// Its kind.
    pub kind: DatasetKind,
    /// Its coordination area.
    pub area: Option<String>,
    /// 交易编号 of the messages.
    pub infno: Option<String>,
    /// The `input` node holding the records.
    pub node: String,
    /// The record key fields.
    pub key: Vec<String>,
    /// The fields a record may carry, in canonical order.
    pub fields: Vec<String>,
    /// Code-set versions, by family.
    pub code_sets: BTreeMap<String, String>,
    /// Rule packs, `name@version`.
    pub rule_packs: Vec<String>,
    /// The yibao that wrote it.
    pub yibao: String,
    /// The batches, by number.
    #[serde(default)]
    pub batches: Vec<ManifestBatch>,
}

/// The layout version of manifest.json.
pub const MANIFEST_SCHEMA: u32 = 1;

/// A dataset's records' identity in the ledger beyond their key: `<area>/<kind>` (`-` without
/// an area). What was uploaded is a fact about the record, so renaming the dataset in
/// yibao.toml neither re-emits its records nor forgets them.
pub fn stream_of(ds: &crate::workspace::Dataset) -> String {
    format!("{}/{}", ds.area.as_deref().unwrap_or("-"), ds.kind.as_str())
}

/// The stream of a manifest's dataset, as [`stream_of`] gives it for the dataset.
fn stream_of_manifest(m: &Manifest) -> String {
    format!("{}/{}", m.area.as_deref().unwrap_or("-"), m.kind.as_str())
}

/// The file name of a batch.
pub fn file_name(number: u64) -> String {
    format!("{number:06}.json")
}

/// One dataset's part of a batch run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DatasetSummary {
    /// The dataset.
    pub dataset: String,
    /// Clean records read.
    pub clean: u64,
    /// Emitted as new records.
    pub new: u64,
    /// Emitted as corrections (content changed since emitted).
    pub corrections: u64,
    /// Already emitted with the same content: not emitted again.
    pub unchanged: u64,
    /// Clean records whose key another clean record of this run already has: left out.
    pub duplicate_keys: u64,
    /// Clean records with an empty key field: cannot be tracked, left out.
    pub missing_key: u64,
    /// The most keys met in this run held in memory at once (the rest were sorted to disk, see
    /// `seen`): bounded whatever the dataset's size.
    pub held_keys: u64,
    /// Keys met in this run sorted to disk.
    pub spilled_keys: u64,
    /// Other dataset names under which records of the same area and kind were emitted before
    /// (a rename): those records count as emitted.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub continues: Vec<String>,
    /// The folder of its batches.
    pub dir: PathBuf,
    /// Batches (planned with `--dry-run`, else written).
    pub batches: Vec<ManifestBatch>,
}

/// What a batch run did (or, dry, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    /// The run.
    pub run_id: String,
    /// Nothing was written.
    pub dry_run: bool,
    /// What recovery of an interrupted run did first.
    pub recovered: Recovery,
    /// Per dataset.
    pub datasets: Vec<DatasetSummary>,
}

/// Why batches could not be emitted or verified.
#[derive(Debug, Error, Diagnostic)]
pub enum BatchError {
    /// The ledger failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] StoreError),
    /// A dataset's key fields are not among its columns.
    #[error(
        "dataset `{dataset}` cannot be batched: its key {key:?} is not mapped (missing: {missing})"
    )]
    #[diagnostic(
        code(yibao::batch::no_key),
        help(
            "declare `key = [...]` for the dataset in yibao.toml with fields its columns map onto"
        )
    )]
    NoKey {
        /// The dataset.
        dataset: String,
        /// Its key fields.
        key: Vec<String>,
        /// What is wrong with it.
        missing: String,
    },
    /// A dataset lacks fields its national node requires, or nothing keeps a record without
    /// one from being counted clean.
    #[error("dataset `{dataset}` cannot be batched as {message}: {problem}")]
    #[diagnostic(code(yibao::batch::incomplete), help("{help}"))]
    Incomplete {
        /// The dataset.
        dataset: String,
        /// The transaction and node.
        message: String,
        /// What is missing.
        problem: String,
        /// What to do.
        help: String,
    },
    /// The query engine failed.
    #[error("{0}")]
    #[diagnostic(code(yibao::internal::polars))]
    Polars(#[from] polars::prelude::PolarsError),
    /// A file could not be written, read or removed.
    #[error("{path}: {source}")]
    #[diagnostic(
        code(yibao::io::batch),
        help("check the folder is writable and the disk has space; running again resumes safely")
    )]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A manifest or header could not be read.
    #[error("{path}: not a yibao manifest: {message}")]
    #[diagnostic(code(yibao::batch::manifest))]
    Manifest {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A dataset name, run id or manifest entry that cannot be a file or folder name.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Name(#[from] crate::workspace::path::UnsafeName),
    /// The folder given to verify does not exist (or is not a folder).
    #[error("{}: {}", .0.display(), if .0.exists() { "not a folder" } else { "no such folder" })]
    #[diagnostic(
        code(yibao::batch::no_folder),
        help("pass out/<run>/batches, a dataset folder under it, or the run folder out/<run>; `yibao batch` prints where it wrote")
    )]
    NoFolder(PathBuf),
    /// The folder given to verify holds no batches.
    #[error("no manifest.json under {0}")]
    #[diagnostic(
        code(yibao::batch::no_manifest),
        help("pass out/<run>/batches, a dataset folder under it, or the run folder out/<run>")
    )]
    NoManifest(PathBuf),
}

impl BatchError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> BatchError {
        let path = path.into();
        move |source| BatchError::Io { path, source }
    }
}
