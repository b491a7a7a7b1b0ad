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

/// A crosswalk file's bytes decoded (UTF-8, with or without a BOM) and parsed: what
/// [`Crosswalks::load`] does with each file, without the disk.
pub fn read_crosswalk(
    area: &str,
    family: Family,
    path: &Path,
    bytes: &[u8],
    table: Option<&dyn Fn(&str) -> TableStatus>,
) -> Result<Crosswalk, LoadError> {
    let text = std::str::from_utf8(bytes).map_err(|e| LoadError::Encoding {
        path: path.to_path_buf(),
        line: 1 + bytes[..e.valid_up_to()]
            .iter()
            .filter(|b| **b == b'\n')
            .count(),
        gbk: encoding_rs::GB18030
            .decode_without_bom_handling_and_without_replacement(bytes)
            .is_some(),
    })?;
    Ok(parse(area, family, path, text, table)?)
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
                let table = tables.get(&family);
                let lookup = |code: &str| match table.and_then(|t| t.get(code)) {
                    Some(false) => TableStatus::Current,
                    Some(true) => TableStatus::Retired,
                    None => TableStatus::Absent,
                };
                let check: Option<&dyn Fn(&str) -> TableStatus> =
                    if table.is_some() { Some(&lookup) } else { None };
                let cw = read_crosswalk(&area, family, &path, &bytes, check)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Item 10 of issue 16: a GBK crosswalk was refused as "not UTF-8 text" without a line.
    #[test]
    fn i16_10_gbk_crosswalk_names_its_line() {
        let (gbk, _, _) = encoding_rs::GBK.encode(
            "local_code,local_name,national_code,status\nH1,,A01.000,pending\nH2,阿莫西林,A01.000,pending\n",
        );
        let path = Path::new("mappings/320900/diagnosis.csv");
        let e = read_crosswalk("320900", Family::Diagnosis, path, &gbk, None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "mappings/320900/diagnosis.csv:3: not UTF-8 text (it reads as GBK)"
        );
    }
}
