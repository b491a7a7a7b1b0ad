//! Loading every crosswalk of a workspace (`mappings/<area>/<family>.csv`), checked against the
//! national version in force for each family (pinned in yibao.toml, else the latest loaded).

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use miette::Diagnostic;
use thiserror::Error;

use super::crosswalk::{parse, Crosswalk, CrosswalkErrors, Status, TableStatus};
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
    /// Approved rows a newer national version retired or renamed (only from
    /// [`Crosswalks::load_carrying`]).
    pub carried: Vec<Carried>,
    /// Codes the version in force added since the version before (only from
    /// [`Crosswalks::load_carrying`]): the likelier successors of a retired code.
    pub added: BTreeMap<Family, std::collections::BTreeSet<String>>,
}

/// What a newer national version did to a code an approved row uses.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "change", rename_all = "lowercase")]
pub enum Change {
    /// The code is retired (or gone) in the version in force; it was current in `last`.
    Retired {
        /// The last loaded version in which the code was current.
        last: String,
    },
    /// The code is current but its name changed since the version before.
    Renamed {
        /// The name in the version before.
        from: String,
        /// The name now.
        to: String,
    },
}

/// An approved crosswalk row to carry forward to the version in force.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Carried {
    /// The area.
    pub area: String,
    /// The family.
    pub family: Family,
    /// The crosswalk file and line.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// The local code.
    pub local_code: String,
    /// Its local name.
    pub local_name: String,
    /// The national code it maps to.
    pub national_code: String,
    /// The national name as the row has it.
    pub national_name: String,
    /// The version in force.
    pub version: String,
    /// What happened to the code.
    #[serde(flatten)]
    pub change: Change,
}

impl Carried {
    /// True when the row no longer maps anything (its code is retired).
    pub fn is_retired(&self) -> bool {
        matches!(self.change, Change::Retired { .. })
    }
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
    /// Load every crosswalk under `mappings/`; areas are the folder names. An approved row
    /// whose code is not current in the version in force is a mistake.
    pub fn load(ws: &Workspace, store: Option<&Store>) -> Result<Crosswalks, LoadError> {
        Crosswalks::load_with(ws, store, false)
    }

    /// [`Crosswalks::load`] for the commands that review mappings (`map coverage`, `map
    /// suggest`, `map accept`) after a newer national version was loaded: an approved row whose
    /// code was current in an earlier loaded version but is retired in the version in force is
    /// not a mistake but a row to carry forward, listed in `carried` (as is a row whose code was
    /// renamed). Such retired rows stay in their crosswalk; [`Crosswalks::without_retired`]
    /// leaves them out for counting and suggesting.
    pub fn load_carrying(ws: &Workspace, store: Option<&Store>) -> Result<Crosswalks, LoadError> {
        Crosswalks::load_with(ws, store, true)
    }

    /// The crosswalks without the approved rows whose code is retired: their local codes count
    /// as unmapped, and `map suggest` proposes a successor.
    pub fn without_retired(&self) -> Crosswalks {
        let mut out = self.clone();
        for c in self.carried.iter().filter(|c| c.is_retired()) {
            if let Some(cw) = out.by_key.get_mut(&(c.area.clone(), c.family)) {
                cw.rows.retain(|m| {
                    !(m.line == c.line
                        && m.local_code == c.local_code
                        && m.national_code == c.national_code)
                });
            }
        }
        out
    }

    fn load_with(
        ws: &Workspace,
        store: Option<&Store>,
        carrying: bool,
    ) -> Result<Crosswalks, LoadError> {
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
        // Per family: code -> the last earlier version it was current in; code -> (from, to).
        let mut earlier_codes: HashMap<Family, HashMap<String, String>> = HashMap::new();
        let mut renames: HashMap<Family, HashMap<String, (String, String)>> = HashMap::new();
        for family in Family::ALL {
            if let Some(store) = store {
                if let Some(version) =
                    store.version_for(family, ws.code_sets.get(&family).map(String::as_str))?
                {
                    tables.insert(family, store.code_statuses(family, &version)?);
                    if carrying {
                        let (earlier, renamed, added) = history(store, family, &version)?;
                        earlier_codes.insert(family, earlier);
                        renames.insert(family, renamed);
                        out.added.insert(family, added);
                    }
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
                let earlier = earlier_codes.get(&family);
                let status = |code: &str| match table.and_then(|t| t.get(code)) {
                    Some(false) => TableStatus::Current,
                    Some(true) => TableStatus::Retired,
                    None => TableStatus::Absent,
                };
                // Carrying: a code current in an earlier version passes, and is listed below.
                let lookup = |code: &str| match status(code) {
                    TableStatus::Current => TableStatus::Current,
                    _ if earlier.is_some_and(|e| e.contains_key(code)) => TableStatus::Current,
                    other => other,
                };
                let check: Option<&dyn Fn(&str) -> TableStatus> =
                    if table.is_some() { Some(&lookup) } else { None };
                let cw = read_crosswalk(&area, family, &path, &bytes, check)?;
                if carrying {
                    let version = out.versions.get(&family).cloned().unwrap_or_default();
                    for m in cw.rows.iter().filter(|m| m.status == Status::Approved) {
                        let change = if status(&m.national_code) != TableStatus::Current {
                            earlier
                                .and_then(|e| e.get(&m.national_code))
                                .map(|last| Change::Retired { last: last.clone() })
                        } else {
                            renames
                                .get(&family)
                                .and_then(|r| r.get(&m.national_code))
                                .map(|(from, to)| Change::Renamed {
                                    from: from.clone(),
                                    to: to.clone(),
                                })
                        };
                        if let Some(change) = change {
                            out.carried.push(Carried {
                                area: area.clone(),
                                family,
                                file: path.display().to_string(),
                                line: m.line,
                                local_code: m.local_code.clone(),
                                local_name: m.local_name.clone(),
                                national_code: m.national_code.clone(),
                                national_name: m.national_name.clone(),
                                version: version.clone(),
                                change,
                            });
                        }
                    }
                }
                out.by_key.insert((area.clone(), family), cw);
            }
        }
        Ok(out)
    }

    /// The retired rows of an area and family, by local code.
    pub fn retired_in(&self, area: &str, family: Family) -> HashMap<String, Carried> {
        self.carried
            .iter()
            .filter(|c| c.is_retired() && c.area == area && c.family == family)
            .map(|c| (c.local_code.clone(), c.clone()))
            .collect()
    }

    /// The crosswalk of an area and family, if there is one.
    pub fn get(&self, area: &str, family: Family) -> Option<&Crosswalk> {
        self.by_key.get(&(area.to_string(), family))
    }
}

/// What the versions loaded before `current` say: every code current in one of them (with the
/// last such version), and the codes renamed and added from the version just before to
/// `current`.
#[allow(clippy::type_complexity)]
fn history(
    store: &Store,
    family: Family,
    current: &str,
) -> Result<
    (
        HashMap<String, String>,
        HashMap<String, (String, String)>,
        std::collections::BTreeSet<String>,
    ),
    StoreError,
> {
    let sets = store.code_sets(family)?;
    let Some(at) = sets.iter().position(|s| s.version == current) else {
        return Ok(Default::default());
    };
    let mut earlier = HashMap::new();
    for set in &sets[..at] {
        for (code, retired) in store.code_statuses(family, &set.version)? {
            if !retired {
                earlier.insert(code, set.version.clone());
            }
        }
    }
    let mut renamed = HashMap::new();
    let mut added = std::collections::BTreeSet::new();
    if let Some(before) = at.checked_sub(1).map(|i| &sets[i]) {
        let diff = store.diff(family, &before.version, current)?;
        for r in diff.renamed {
            renamed.insert(r.code, (r.from, r.to));
        }
        added.extend(diff.added.into_iter().map(|(code, _)| code));
    }
    Ok((earlier, renamed, added))
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
