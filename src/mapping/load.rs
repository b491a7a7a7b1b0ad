//! Loading every crosswalk of a workspace (`mappings/<area>/<family>.csv`), checked against the
//! national version in force for each family (pinned in yibao.toml, else the latest loaded).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use miette::Diagnostic;
use thiserror::Error;

use super::crosswalk::{parse, Crosswalk, CrosswalkErrors, TableStatus};
use crate::codes::Family;
use crate::store::{Store, StoreError};
use crate::workspace::path::{confined, UnsafeName};
use crate::workspace::Workspace;

/// Why the crosswalks could not be loaded.
#[derive(Debug, Error, Diagnostic)]
pub enum LoadError {
    /// A crosswalk file has mistakes.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Invalid(#[from] CrosswalkErrors),
    /// The store failed.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Store(#[from] StoreError),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    #[diagnostic(code(yibao::io::read))]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A folder under `mappings/` whose name cannot be an area.
    #[error("mappings/{area}: not an area folder: {source}")]
    #[diagnostic(
        code(yibao::mapping::area_folder),
        help("name the folders under mappings/ by area code")
    )]
    Folder {
        /// The folder name.
        area: String,
        /// Why.
        #[source]
        source: UnsafeName,
    },
    /// A crosswalk that is not UTF-8.
    #[error("{}:{line}: not UTF-8 text{}", path.display(), if *gbk { " (it reads as GBK)" } else { "" })]
    #[diagnostic(
        code(yibao::mapping::encoding),
        help("save crosswalks as UTF-8 CSV (Excel: 另存为 → CSV UTF-8)")
    )]
    Encoding {
        /// The file.
        path: PathBuf,
        /// The 1-based line of the first byte that is not UTF-8.
        line: usize,
        /// Whether the whole file decodes as GBK (GB18030), the usual cause.
        gbk: bool,
    },
}

/// All crosswalks of a workspace, by area and family.
#[derive(Debug, Clone, Default)]
pub struct Crosswalks {
    /// (area, family) -> crosswalk.
    pub by_key: BTreeMap<(String, Family), Crosswalk>,
    /// The national version each family was checked against.
    pub versions: BTreeMap<Family, String>,
}

/// The crosswalk file of an area and family; the area must be a plain folder name (it may come
/// from a review file), so the path stays under `mappings/`.
pub fn crosswalk_path(root: &Path, area: &str, family: Family) -> Result<PathBuf, UnsafeName> {
    confined(root, &["mappings", area, &format!("{family}.csv")])
}

impl Crosswalks {
    /// Load every crosswalk under `mappings/`; areas are the folder names.
    pub fn load(ws: &Workspace, store: Option<&Store>) -> Result<Crosswalks, LoadError> {
        let mut out = Crosswalks::default();
        let dir = ws.root.join("mappings");
        let Ok(entries) = std::fs::read_dir(&dir) else {
            return Ok(out);
        };
        let mut areas: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.path().is_dir())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        areas.sort();
        let mut tables: HashMap<Family, HashMap<String, bool>> = HashMap::new();
        for family in Family::ALL {
            if let Some(store) = store {
                if let Some(version) =
                    store.version_for(family, ws.code_sets.get(&family).map(String::as_str))?
                {
                    tables.insert(family, store.code_statuses(family, &version)?);
                    out.versions.insert(family, version);
                }
            }
        }
        for area in areas {
            for family in Family::ALL {
                let path = crosswalk_path(&ws.root, &area, family).map_err(|source| {
                    LoadError::Folder {
                        area: area.clone(),
                        source,
                    }
                })?;
                if !path.exists() {
                    continue;
                }
                let bytes = std::fs::read(&path).map_err(|source| LoadError::Io {
                    path: path.clone(),
                    source,
                })?;
                let text = String::from_utf8(bytes).map_err(|e| {
                    let bytes = e.as_bytes();
                    let at = e.utf8_error().valid_up_to();
                    LoadError::Encoding {
                        path: path.clone(),
                        line: 1 + bytes[..at].iter().filter(|b| **b == b'\n').count(),
                        gbk: encoding_rs::GB18030
                            .decode_without_bom_handling_and_without_replacement(bytes)
                            .is_some(),
                    }
                })?;
                let table = tables.get(&family);
                let lookup = |code: &str| match table.and_then(|t| t.get(code)) {
                    Some(false) => TableStatus::Current,
                    Some(true) => TableStatus::Retired,
                    None => TableStatus::Absent,
                };
                let check: Option<&dyn Fn(&str) -> TableStatus> =
                    if table.is_some() { Some(&lookup) } else { None };
                let cw = parse(&area, family, &path, &text, check)?;
                out.by_key.insert((area.clone(), family), cw);
            }
        }
        Ok(out)
    }

    /// The crosswalk of an area and family, if there is one.
    pub fn get(&self, area: &str, family: Family) -> Option<&Crosswalk> {
        self.by_key.get(&(area.to_string(), family))
    }
}
