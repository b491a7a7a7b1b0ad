//! What every plan of the driver needs before it reads any data: the packs and their rules, the
//! code books and dictionaries, the code-set versions, the crosswalks; and the error a run stops
//! with. Nothing here prints.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use miette::Diagnostic;
use polars::prelude::PolarsError;
use thiserror::Error;

use crate::mapping::load::{Crosswalks, LoadError};
use crate::report::PackRef;
use crate::rules::codebook::load_books;
use crate::rules::compile::Context;
use crate::rules::pack::PackLoadError;
use crate::rules::{load_packs, Pack, Rule};
use crate::source::dataset::DatasetError;
use crate::store::{Store, StoreError};
use crate::workspace::path::UnsafeName;
use crate::workspace::Workspace;

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
