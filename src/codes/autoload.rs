//! National tables a workspace declares with their files (`[code_sets] drug = { version, files }`)
//! are imported the first time a command needs them, so a workspace that ships its tables (the
//! demo does) runs in one command on a fresh machine. An import is one transaction, as with
//! `yibao codes import`; a version already in the store is never re-read.

use crate::codes::table::read_table;
use crate::codes::Family;
use crate::store::Store;
use crate::workspace::Workspace;

/// A version imported on first use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    /// The family.
    pub family: Family,
    /// The version from yibao.toml.
    pub version: String,
    /// Codes it holds.
    pub codes: usize,
}

/// Import every declared version with files that the store does not hold yet.
pub fn ensure_loaded(ws: &Workspace, store: &mut Store) -> miette::Result<Vec<Loaded>> {
    let mut loaded = Vec::new();
    for (family, files) in &ws.code_files {
        let Some(version) = ws.code_sets.get(family) else {
            continue;
        };
        if files.is_empty()
            || store
                .code_sets(*family)?
                .iter()
                .any(|s| &s.version == version)
        {
            continue;
        }
        let table = read_table(*family, files)?;
        let summary = store.import_code_set(*family, version, &table, false)?;
        loaded.push(Loaded {
            family: *family,
            version: version.clone(),
            codes: summary.codes,
        });
    }
    Ok(loaded)
}

/// True when the workspace declares tables to import on first use.
pub fn has_files(ws: &Workspace) -> bool {
    ws.code_files.values().any(|f| !f.is_empty())
}
