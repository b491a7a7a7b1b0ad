//! The workspace's SQLite store, `.yibao/state.db`: the only module that touches rusqlite.
//!
//! It holds the national code sets (several versions of each family side by side) and, as later
//! stages land, runs, results and the batch ledger. Every write that must be all-or-nothing is one
//! transaction; the schema is versioned with `PRAGMA user_version` and migrated on open.

mod codes;
pub mod history;
pub mod ledger;

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use miette::Diagnostic;
use rusqlite::Connection;
use thiserror::Error;

pub use codes::{CodeSet, Diff, ImportSummary, Lookup, Renamed};

/// Schema migrations, applied in order; the index + 1 is the `user_version` after each.
const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE code_sets (
    id          INTEGER PRIMARY KEY,
    family      TEXT NOT NULL,
    version     TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    sources     TEXT NOT NULL,   -- JSON: [{path, sha256, sheet, header_row, rows}]
    code_count  INTEGER NOT NULL,
    UNIQUE (family, version)
);
CREATE TABLE codes (
    set_id  INTEGER NOT NULL REFERENCES code_sets(id) ON DELETE CASCADE,
    code    TEXT NOT NULL,
    name    TEXT NOT NULL,
    retired INTEGER NOT NULL DEFAULT 0,  -- marked retired by the published table itself
    attrs   TEXT,                        -- JSON object of the table's other columns
    source  TEXT NOT NULL,               -- file:sheet:row it was read from
    PRIMARY KEY (set_id, code)
) WITHOUT ROWID;
CREATE INDEX codes_by_code ON codes (code);
"#,
    r#"
CREATE TABLE suggest_index (
    set_id   INTEGER PRIMARY KEY REFERENCES code_sets(id) ON DELETE CASCADE,
    format   INTEGER NOT NULL,   -- the index layout's version; another layout is rebuilt
    built_at TEXT NOT NULL,
    bytes    BLOB NOT NULL
);
"#,
    // The batch ledger (docs/BATCH.md): every batch emitted and every record key in it.
    r#"
CREATE TABLE ledger_batches (
    id          INTEGER PRIMARY KEY,
    dataset     TEXT NOT NULL,
    number      INTEGER NOT NULL,   -- NNNNNN of the file name; never reused within a dataset
    run_id      TEXT NOT NULL,      -- the folder out/<run_id>/batches/<dataset>/ holds the file
    records     INTEGER NOT NULL,
    corrections INTEGER NOT NULL,
    bytes       INTEGER NOT NULL,
    sha256      TEXT NOT NULL,      -- of the whole file, known before it is written
    first_key   TEXT NOT NULL,
    last_key    TEXT NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'done', 'abandoned')),
    created_at  TEXT NOT NULL,
    UNIQUE (dataset, number)
);
CREATE TABLE ledger_records (
    id          INTEGER PRIMARY KEY,
    batch_id    INTEGER NOT NULL REFERENCES ledger_batches(id),
    key         TEXT NOT NULL,      -- the dataset's key fields, joined with '|'
    hash        BLOB NOT NULL,      -- SHA-256 of the record's canonical JSON
    correction  INTEGER NOT NULL    -- 1: replaces the record of the same key emitted before
);
CREATE INDEX ledger_records_by_batch ON ledger_records (batch_id);
CREATE TABLE ledger_manifests (
    run_id      TEXT NOT NULL,
    dataset     TEXT NOT NULL,
    header      TEXT NOT NULL,      -- JSON: the manifest without its batch list
    PRIMARY KEY (run_id, dataset)
);
"#,
    // The run history (history.rs, docs/REPORT.md).
    r#"
CREATE TABLE runs (
    id          INTEGER PRIMARY KEY,
    run_id      TEXT NOT NULL UNIQUE,  -- YYYYMMDDTHHMMSSZ, the folder under out/
    started_at  TEXT NOT NULL,         -- RFC 3339, UTC
    finished_at TEXT NOT NULL,
    command     TEXT NOT NULL,
    records     INTEGER NOT NULL,
    dirty       INTEGER NOT NULL,
    rate        REAL NOT NULL,
    coverage    REAL,                  -- mapped distinct local codes / distinct local codes
    breached    INTEGER NOT NULL,
    packs       TEXT NOT NULL,         -- JSON: [{name, version, rules}]
    code_sets   TEXT NOT NULL          -- JSON: {family: version}
);
CREATE INDEX runs_by_time ON runs (started_at);
CREATE TABLE run_inputs (
    run     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    dataset TEXT NOT NULL,
    path    TEXT NOT NULL,
    bytes   INTEGER NOT NULL,
    sha256  TEXT NOT NULL,
    rows    INTEGER NOT NULL,
    PRIMARY KEY (run, dataset, path)  -- one workbook may hold several datasets (sheets)
) WITHOUT ROWID;
CREATE TABLE run_figures (
    run      INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    scope    TEXT NOT NULL,            -- area | dataset | rule | institution
    dataset  TEXT NOT NULL,            -- '' for areas
    name     TEXT NOT NULL,            -- area code, dataset, rule id, institution code
    title    TEXT NOT NULL,
    severity TEXT NOT NULL,
    count    INTEGER NOT NULL,         -- dirty records, or records failing the rule
    total    INTEGER NOT NULL,         -- records, or records the rule applies to
    rate     REAL NOT NULL,
    PRIMARY KEY (run, scope, dataset, name)
) WITHOUT ROWID;
CREATE TABLE run_coverage (
    run            INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    area           TEXT NOT NULL,
    family         TEXT NOT NULL,
    codes          INTEGER NOT NULL,
    codes_mapped   INTEGER NOT NULL,
    records        INTEGER NOT NULL,
    records_mapped INTEGER NOT NULL,
    PRIMARY KEY (run, area, family)
) WITHOUT ROWID;
CREATE TABLE run_samples (
    run     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    dataset TEXT NOT NULL,
    rule    TEXT NOT NULL,
    file    TEXT NOT NULL,
    sheet   TEXT,
    row     INTEGER NOT NULL,
    key     TEXT NOT NULL
);
CREATE INDEX run_samples_by_run ON run_samples (run);
-- Dataset names, file paths and rule lists of run_dirty, stored once: a run may have a
-- million dirty records, and these repeat on every one of them.
CREATE TABLE history_names (
    id   INTEGER PRIMARY KEY,
    text TEXT NOT NULL UNIQUE
);
CREATE TABLE run_dirty (
    run     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    dataset INTEGER NOT NULL REFERENCES history_names(id),
    key     TEXT NOT NULL,             -- key fields joined by |, else file:sheet:row
    file    INTEGER NOT NULL REFERENCES history_names(id),
    sheet   TEXT,
    row     INTEGER NOT NULL,          -- 1-based row (line) in the file
    rules   INTEGER NOT NULL REFERENCES history_names(id),  -- error rules failed, joined by ;
    PRIMARY KEY (run, dataset, key)
) WITHOUT ROWID;
CREATE TABLE run_batches (
    run     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    dataset TEXT NOT NULL,
    batches INTEGER NOT NULL,
    records INTEGER NOT NULL,
    bytes   INTEGER NOT NULL,
    PRIMARY KEY (run, dataset)
) WITHOUT ROWID;
"#,
    // A record's identity in the ledger is its area, kind and key, not the dataset's name in
    // yibao.toml (issue 16): `stream` is `<area>/<kind>`. Rows from before are '' until a
    // dataset of that name next emits and adopts them (`Store::ledger_adopt`).
    r#"
ALTER TABLE ledger_batches ADD COLUMN stream TEXT NOT NULL DEFAULT '';
CREATE INDEX ledger_batches_by_stream ON ledger_batches (stream, state);
"#,
];

/// A failure of the store itself (exit code 3) or a request it cannot honour (exit code 2).
#[derive(Debug, Error, Diagnostic)]
pub enum StoreError {
    /// SQLite failed: disk full, locked, corrupt file...
    #[error("the workspace store {path} failed: {source}")]
    #[diagnostic(
        code(yibao::io::store),
        help("check free disk space and that no other program holds the file; nothing was half-written")
    )]
    Sqlite {
        /// The database file.
        path: PathBuf,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The `.yibao` folder could not be created.
    #[error("cannot create {path}")]
    #[diagnostic(code(yibao::io::store_dir))]
    CreateDir {
        /// The folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The store was written by a newer yibao.
    #[error("{path} has schema version {found}, newer than this yibao knows ({known})")]
    #[diagnostic(code(yibao::store::schema), help("upgrade yibao"))]
    Schema {
        /// The database file.
        path: PathBuf,
        /// The version found.
        found: i64,
        /// The newest version this build knows.
        known: i64,
    },
    /// A version is already loaded and replacing it was not asked for.
    #[error(
        "{family} version `{version}` is already loaded ({count} codes, imported {imported_at})"
    )]
    #[diagnostic(
        code(yibao::codes::version_exists),
        help("pass --replace to load it again over the old copy, or import under another version name")
    )]
    VersionExists {
        /// The family.
        family: String,
        /// The version.
        version: String,
        /// Codes it holds.
        count: i64,
        /// When it was imported.
        imported_at: String,
    },
    /// The run's dirty records could not be read back from where they were spooled.
    #[error("cannot read back the run's dirty records: {source}")]
    #[diagnostic(
        code(yibao::io::spool),
        help("check free disk space in the workspace's out folder; nothing was recorded")
    )]
    Spool {
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A version that is not loaded.
    #[error("{family} version `{version}` is not loaded")]
    #[diagnostic(code(yibao::codes::unknown_version), help("{help}"))]
    UnknownVersion {
        /// The family.
        family: String,
        /// The version asked for.
        version: String,
        /// Which versions are loaded.
        help: String,
    },
}

/// An open store.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// The store's file inside a workspace.
    pub fn path_in(workspace: &Path) -> PathBuf {
        workspace.join(".yibao").join("state.db")
    }

    /// Open (creating it and its folder when missing) and migrate the store of a workspace.
    pub fn open(workspace: &Path) -> Result<Store, StoreError> {
        let path = Self::path_in(workspace);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let conn = Connection::open(&path).map_err(|source| StoreError::Sqlite {
            path: path.clone(),
            source,
        })?;
        let mut store = Store { conn, path };
        store.setup()?;
        Ok(store)
    }

    /// Open the store only if it exists; `None` when the workspace has none yet.
    pub fn open_existing(workspace: &Path) -> Result<Option<Store>, StoreError> {
        if Self::path_in(workspace).exists() {
            Self::open(workspace).map(Some)
        } else {
            Ok(None)
        }
    }

    fn setup(&mut self) -> Result<(), StoreError> {
        let sql = sqlite_err(&self.path);
        self.conn
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(sql)?;
        self.conn
            .execute_batch(
                "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
            )
            .map_err(sql)?;
        let found: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(sql)?;
        let known = MIGRATIONS.len() as i64;
        if found > known {
            return Err(StoreError::Schema {
                path: self.path.clone(),
                found,
                known,
            });
        }
        for (i, migration) in MIGRATIONS.iter().enumerate().skip(found as usize) {
            let tx = self.conn.transaction().map_err(sql)?;
            tx.execute_batch(migration).map_err(sql)?;
            tx.pragma_update(None, "user_version", i as i64 + 1)
                .map_err(sql)?;
            tx.commit().map_err(sql)?;
        }
        Ok(())
    }

    /// Wrap a rusqlite error with the store's path.
    fn err(&self, source: rusqlite::Error) -> StoreError {
        sqlite_err(&self.path)(source)
    }
}

/// Wraps a rusqlite error with the store's path; usable while a transaction borrows the
/// connection (the path is a field of its own).
pub(crate) fn sqlite_err(
    path: &std::path::Path,
) -> impl Fn(rusqlite::Error) -> StoreError + Copy + '_ {
    move |source| StoreError::Sqlite {
        path: path.to_path_buf(),
        source,
    }
}

/// Order version names naturally: digit runs compare as numbers, so `2.0` < `10.0` and
/// `20240101` < `20240701`; other characters compare as text.
pub fn version_order(a: &str, b: &str) -> Ordering {
    fn parts(s: &str) -> Vec<(bool, &str)> {
        let mut out = Vec::new();
        let mut start = 0;
        let bytes = s.as_bytes();
        for i in 1..=bytes.len() {
            if i == bytes.len() || bytes[i].is_ascii_digit() != bytes[start].is_ascii_digit() {
                out.push((bytes[start].is_ascii_digit(), &s[start..i]));
                start = i;
            }
        }
        out
    }
    let (pa, pb) = (parts(a), parts(b));
    for ((da, sa), (db, sb)) in pa.iter().zip(pb.iter()) {
        let ord = if *da && *db {
            let (ta, tb) = (sa.trim_start_matches('0'), sb.trim_start_matches('0'));
            ta.len().cmp(&tb.len()).then_with(|| ta.cmp(tb))
        } else {
            sa.cmp(sb)
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    pa.len().cmp(&pb.len()).then_with(|| a.cmp(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_order_naturally() {
        let mut v = vec!["10.0", "2.0", "1.0", "2.0.1", "20240701", "20240101"];
        v.sort_by(|a, b| version_order(a, b));
        assert_eq!(v, ["1.0", "2.0", "2.0.1", "10.0", "20240101", "20240701"]);
    }

    #[test]
    fn opens_and_migrates_once() {
        let dir = tempfile::tempdir().unwrap();
        drop(Store::open(dir.path()).unwrap());
        let store = Store::open(dir.path()).unwrap();
        let v: i64 = store
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, MIGRATIONS.len() as i64);
    }
}
