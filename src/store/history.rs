//! The run history in the store: every `yibao run` recorded in one transaction (its inputs and
//! their hashes, versions, per area/dataset/rule/institution figures, coverage, sample rows,
//! batches, and the identities of its dirty records), and read back for `yibao report`.
//!
//! Dirty-record identities are what make a record-level change list possible ("newly dirty",
//! "fixed"); they are the bulky part, so only the latest [`KEEP_RECORD_RUNS`] runs keep them.
//! Figures are kept for every run: they are a few hundred rows each.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{Store, StoreError};

/// Runs whose dirty-record identities are kept; older runs keep their figures only.
pub const KEEP_RECORD_RUNS: i64 = 7;

/// One input file of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InputFile {
    /// The dataset it belongs to.
    pub dataset: String,
    /// Its path, relative to the workspace when inside it.
    pub path: String,
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256 of its bytes, hex.
    pub sha256: String,
    /// Records read from it.
    pub rows: u64,
}

/// One figure of a run: a count out of a total, for an area, dataset, rule or institution.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figure {
    /// `area`, `dataset`, `rule` or `institution`.
    pub scope: String,
    /// The dataset (empty for areas).
    pub dataset: String,
    /// Area code, dataset name, rule id or institution code.
    pub name: String,
    /// Rule title, area name; empty otherwise.
    pub title: String,
    /// Rule severity (`error`/`warning`); empty otherwise.
    pub severity: String,
    /// Dirty records, or records failing the rule.
    pub count: u64,
    /// Records, or records the rule applies to.
    pub total: u64,
    /// count / total.
    pub rate: f64,
}

/// Mapping coverage of one area and family in a run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageFigure {
    /// Area.
    pub area: String,
    /// Family.
    pub family: String,
    /// Distinct local codes.
    pub codes: u64,
    /// Of them mapped.
    pub codes_mapped: u64,
    /// Records with a local code.
    pub records: u64,
    /// Of them mapped.
    pub records_mapped: u64,
}

/// A failing sample row of a rule, with its source location.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SampleRow {
    /// Dataset.
    pub dataset: String,
    /// Rule id.
    pub rule: String,
    /// Source file.
    pub file: String,
    /// Sheet, for workbooks.
    pub sheet: Option<String>,
    /// 1-based row in the file.
    pub row: u64,
    /// The record's key (its key fields joined by `|`).
    pub key: String,
}

/// A dirty record's identity: its dataset and key (the dataset's key fields joined by `|`, or
/// `file:sheet:row` when it has none), where it was read, and the error rules it failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DirtyRecord {
    /// Dataset.
    pub dataset: String,
    /// Identity within the dataset.
    pub key: String,
    /// Source file.
    pub file: String,
    /// Sheet, for workbooks.
    pub sheet: Option<String>,
    /// 1-based row (line) in the file.
    pub row: u64,
    /// `file:row` (or `file:sheet:row`), as people type it.
    pub loc: String,
    /// Error rules it failed, joined by `;`.
    pub rules: String,
}

/// Batches one run emitted for a dataset (filled in by the batch stage).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BatchFigure {
    /// Dataset.
    pub dataset: String,
    /// Batch files written.
    pub batches: u64,
    /// Records in them.
    pub records: u64,
    /// Bytes written.
    pub bytes: u64,
}

/// Everything recorded about one run.
#[derive(Debug, Clone, Serialize)]
pub struct RunRecord {
    /// The run id (`YYYYMMDDTHHMMSSZ`, also the folder under `out/`).
    pub run_id: String,
    /// Start (RFC 3339, UTC).
    pub started_at: String,
    /// End (RFC 3339, UTC).
    pub finished_at: String,
    /// The command line that ran it, e.g. `yibao run --nightly`.
    pub command: String,
    /// Records over all datasets.
    pub records: u64,
    /// Dirty records over all datasets.
    pub dirty: u64,
    /// dirty / records.
    pub rate: f64,
    /// Mapped distinct local codes / distinct local codes; `None` without code fields.
    pub coverage: Option<f64>,
    /// A threshold was breached.
    pub breached: bool,
    /// Packs as JSON (`[{name, version, rules}]`).
    pub packs: String,
    /// Code-set versions as JSON (`{family: version}`).
    pub code_sets: String,
    /// Input files.
    pub inputs: Vec<InputFile>,
    /// Figures.
    pub figures: Vec<Figure>,
    /// Coverage.
    pub coverage_figures: Vec<CoverageFigure>,
    /// Sample rows.
    pub samples: Vec<SampleRow>,
    /// Dirty records.
    pub dirty_records: Vec<DirtyRecord>,
    /// Batches.
    pub batches: Vec<BatchFigure>,
}

/// A run as listed in the history (without its detail).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRow {
    /// Row id in the store (orders runs).
    #[serde(skip)]
    pub id: i64,
    /// Run id.
    pub run_id: String,
    /// Start time.
    pub started_at: String,
    /// Records.
    pub records: u64,
    /// Dirty records.
    pub dirty: u64,
    /// Rate.
    pub rate: f64,
    /// Coverage.
    pub coverage: Option<f64>,
    /// Breached.
    pub breached: bool,
    /// Packs (JSON).
    #[serde(skip)]
    pub packs: String,
    /// Code sets (JSON).
    #[serde(skip)]
    pub code_sets: String,
}

/// Records newly dirty and fixed between two runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RecordChanges {
    /// Per dataset: (dataset, newly dirty, fixed).
    pub counts: Vec<(String, u64, u64)>,
    /// Up to `limit` newly dirty records.
    pub newly_dirty: Vec<DirtyRecord>,
    /// Up to `limit` fixed records (as they were in the previous run).
    pub fixed: Vec<DirtyRecord>,
}

/// `file:row`, or `file:sheet:row` for workbooks.
pub fn location(file: &str, sheet: Option<&str>, row: u64) -> String {
    match sheet.filter(|s| !s.is_empty()) {
        Some(s) => format!("{file}:{s}:{row}"),
        None => format!("{file}:{row}"),
    }
}

const RUN_COLUMNS: &str =
    "id, run_id, started_at, records, dirty, rate, coverage, breached, packs, code_sets";

fn run_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunRow> {
    Ok(RunRow {
        id: r.get(0)?,
        run_id: r.get(1)?,
        started_at: r.get(2)?,
        records: r.get::<_, i64>(3)? as u64,
        dirty: r.get::<_, i64>(4)? as u64,
        rate: r.get(5)?,
        coverage: r.get(6)?,
        breached: r.get(7)?,
        packs: r.get(8)?,
        code_sets: r.get(9)?,
    })
}

impl Store {
    /// Record a run, all or nothing; drop the record identities of runs older than the latest
    /// [`KEEP_RECORD_RUNS`]. Returns the run's row id.
    pub fn record_run(&mut self, run: &RunRecord) -> Result<i64, StoreError> {
        self.record_run_with(run, &mut std::iter::empty())
    }

    /// [`Store::record_run`] with more dirty records than the run lists: read one at a time from
    /// `more` (a spool on disk), inside the same transaction, so that a run's millions of dirty
    /// records are never all in memory.
    pub fn record_run_with(
        &mut self,
        run: &RunRecord,
        more: &mut dyn Iterator<Item = std::io::Result<DirtyRecord>>,
    ) -> Result<i64, StoreError> {
        let sql = super::sqlite_err(&self.path);
        let tx = self.conn.transaction().map_err(sql)?;
        tx.execute(
            "INSERT INTO runs (run_id, started_at, finished_at, command, records, dirty, rate,
                               coverage, breached, packs, code_sets)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            params![
                run.run_id,
                run.started_at,
                run.finished_at,
                run.command,
                run.records as i64,
                run.dirty as i64,
                run.rate,
                run.coverage,
                run.breached,
                run.packs,
                run.code_sets
            ],
        )
        .map_err(sql)?;
        let id = tx.last_insert_rowid();
        {
            let mut st = tx
                .prepare("INSERT INTO run_inputs VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                .map_err(sql)?;
            for i in &run.inputs {
                st.execute(params![
                    id,
                    i.dataset,
                    i.path,
                    i.bytes as i64,
                    i.sha256,
                    i.rows as i64
                ])
                .map_err(sql)?;
            }
            let mut st = tx
                .prepare("INSERT INTO run_figures VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")
                .map_err(sql)?;
            for f in &run.figures {
                st.execute(params![
                    id,
                    f.scope,
                    f.dataset,
                    f.name,
                    f.title,
                    f.severity,
                    f.count as i64,
                    f.total as i64,
                    f.rate
                ])
                .map_err(sql)?;
            }
            let mut st = tx
                .prepare("INSERT INTO run_coverage VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
                .map_err(sql)?;
            for c in &run.coverage_figures {
                st.execute(params![
                    id,
                    c.area,
                    c.family,
                    c.codes as i64,
                    c.codes_mapped as i64,
                    c.records as i64,
                    c.records_mapped as i64
                ])
                .map_err(sql)?;
            }
            let mut st = tx
                .prepare("INSERT INTO run_samples VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
                .map_err(sql)?;
            for s in &run.samples {
                st.execute(params![
                    id,
                    s.dataset,
                    s.rule,
                    s.file,
                    s.sheet,
                    s.row as i64,
                    s.key
                ])
                .map_err(sql)?;
            }
            let mut names: HashMap<String, i64> = HashMap::new();
            let mut add_name = tx
                .prepare("INSERT OR IGNORE INTO history_names (text) VALUES (?1)")
                .map_err(sql)?;
            let mut get_name = tx
                .prepare("SELECT id FROM history_names WHERE text = ?1")
                .map_err(sql)?;
            // A key seen twice among one run's dirty records (a duplicated line) is one identity.
            let mut st = tx
                .prepare("INSERT OR IGNORE INTO run_dirty VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")
                .map_err(sql)?;
            let listed = run.dirty_records.iter().cloned().map(Ok);
            for d in listed.chain(more) {
                let d = d.map_err(|source| StoreError::Spool { source })?;
                let mut ids = [0i64; 3];
                for (slot, text) in ids.iter_mut().zip([&d.dataset, &d.file, &d.rules]) {
                    *slot = match names.get(text.as_str()) {
                        Some(id) => *id,
                        None => {
                            add_name.execute(params![text]).map_err(sql)?;
                            let id: i64 = get_name
                                .query_row(params![text], |r| r.get(0))
                                .map_err(sql)?;
                            names.insert(text.clone(), id);
                            id
                        }
                    };
                }
                st.execute(params![
                    id,
                    ids[0],
                    d.key,
                    ids[1],
                    d.sheet,
                    d.row as i64,
                    ids[2]
                ])
                .map_err(sql)?;
            }
            let mut st = tx
                .prepare("INSERT INTO run_batches VALUES (?1, ?2, ?3, ?4, ?5)")
                .map_err(sql)?;
            for b in &run.batches {
                st.execute(params![
                    id,
                    b.dataset,
                    b.batches as i64,
                    b.records as i64,
                    b.bytes as i64
                ])
                .map_err(sql)?;
            }
        }
        tx.execute(
            "DELETE FROM run_dirty WHERE run < (
                 SELECT COALESCE(MIN(id), 0) FROM
                     (SELECT id FROM runs ORDER BY id DESC LIMIT ?1))",
            params![KEEP_RECORD_RUNS],
        )
        .map_err(sql)?;
        tx.commit().map_err(sql)?;
        Ok(id)
    }

    /// Runs started at or after `since` (RFC 3339), oldest first.
    pub fn runs_since(&self, since: &str) -> Result<Vec<RunRow>, StoreError> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM runs WHERE started_at >= ?1 ORDER BY id"
            ))
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![since], run_row)
            .and_then(|r| r.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// The latest run, and the one before it.
    pub fn latest_runs(&self) -> Result<(Option<RunRow>, Option<RunRow>), StoreError> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {RUN_COLUMNS} FROM runs ORDER BY id DESC LIMIT 2"
            ))
            .map_err(|e| self.err(e))?;
        let mut rows = st
            .query_map([], run_row)
            .and_then(|r| r.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err(e))?
            .into_iter();
        Ok((rows.next(), rows.next()))
    }

    /// Whether a run id is recorded.
    pub fn has_run(&self, run_id: &str) -> Result<bool, StoreError> {
        self.conn
            .query_row(
                "SELECT 1 FROM runs WHERE run_id = ?1",
                params![run_id],
                |_| Ok(()),
            )
            .optional()
            .map(|r| r.is_some())
            .map_err(|e| self.err(e))
    }

    /// How many runs the history holds.
    pub fn run_count(&self) -> Result<u64, StoreError> {
        self.conn
            .query_row("SELECT COUNT(*) FROM runs", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| self.err(e))
    }

    /// The figures of a run.
    pub fn run_figures(&self, run: i64) -> Result<Vec<Figure>, StoreError> {
        let mut st = self
            .conn
            .prepare(
                "SELECT scope, dataset, name, title, severity, count, total, rate
                 FROM run_figures WHERE run = ?1 ORDER BY scope, dataset, name",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![run], |r| {
                Ok(Figure {
                    scope: r.get(0)?,
                    dataset: r.get(1)?,
                    name: r.get(2)?,
                    title: r.get(3)?,
                    severity: r.get(4)?,
                    count: r.get::<_, i64>(5)? as u64,
                    total: r.get::<_, i64>(6)? as u64,
                    rate: r.get(7)?,
                })
            })
            .and_then(|r| r.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// The coverage figures of a run.
    pub fn run_coverage(&self, run: i64) -> Result<Vec<CoverageFigure>, StoreError> {
        let mut st = self
            .conn
            .prepare(
                "SELECT area, family, codes, codes_mapped, records, records_mapped
                 FROM run_coverage WHERE run = ?1 ORDER BY area, family",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![run], |r| {
                Ok(CoverageFigure {
                    area: r.get(0)?,
                    family: r.get(1)?,
                    codes: r.get::<_, i64>(2)? as u64,
                    codes_mapped: r.get::<_, i64>(3)? as u64,
                    records: r.get::<_, i64>(4)? as u64,
                    records_mapped: r.get::<_, i64>(5)? as u64,
                })
            })
            .and_then(|r| r.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// The input files of a run.
    pub fn run_inputs(&self, run: i64) -> Result<Vec<InputFile>, StoreError> {
        let mut st = self
            .conn
            .prepare(
                "SELECT dataset, path, bytes, sha256, rows FROM run_inputs
                 WHERE run = ?1 ORDER BY dataset, path",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![run], |r| {
                Ok(InputFile {
                    dataset: r.get(0)?,
                    path: r.get(1)?,
                    bytes: r.get::<_, i64>(2)? as u64,
                    sha256: r.get(3)?,
                    rows: r.get::<_, i64>(4)? as u64,
                })
            })
            .and_then(|r| r.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// The sample rows of a run.
    pub fn run_samples(&self, run: i64) -> Result<Vec<SampleRow>, StoreError> {
        let mut st = self
            .conn
            .prepare(
                "SELECT dataset, rule, file, sheet, row, key FROM run_samples
                 WHERE run = ?1 ORDER BY dataset, rule, file, sheet, row",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![run], |r| {
                Ok(SampleRow {
                    dataset: r.get(0)?,
                    rule: r.get(1)?,
                    file: r.get(2)?,
                    sheet: r.get(3)?,
                    row: r.get::<_, i64>(4)? as u64,
                    key: r.get(5)?,
                })
            })
            .and_then(|r| r.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// The batches of a run.
    pub fn run_batches(&self, run: i64) -> Result<Vec<BatchFigure>, StoreError> {
        let mut st = self
            .conn
            .prepare(
                "SELECT dataset, batches, records, bytes FROM run_batches
                 WHERE run = ?1 ORDER BY dataset",
            )
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map(params![run], |r| {
                Ok(BatchFigure {
                    dataset: r.get(0)?,
                    batches: r.get::<_, i64>(1)? as u64,
                    records: r.get::<_, i64>(2)? as u64,
                    bytes: r.get::<_, i64>(3)? as u64,
                })
            })
            .and_then(|r| r.collect::<Result<Vec<_>, _>>())
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// Whether a run still holds its dirty-record identities.
    pub fn has_dirty_records(&self, run: i64) -> Result<bool, StoreError> {
        let kept: Option<i64> = self
            .conn
            .query_row(
                "SELECT 1 FROM runs WHERE id = ?1 AND id >= (
                     SELECT COALESCE(MIN(id), 0) FROM
                         (SELECT id FROM runs ORDER BY id DESC LIMIT ?2))",
                params![run, KEEP_RECORD_RUNS],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(kept.is_some())
    }

    /// Records dirty in `current` but not in `previous` (newly dirty), and dirty in `previous`
    /// but not in `current` (fixed, or no longer present), per dataset, listing up to `limit`
    /// of each. Both runs are read once, in primary-key order, and merged: linear in their size.
    pub fn record_changes(
        &self,
        previous: i64,
        current: i64,
        limit: usize,
    ) -> Result<RecordChanges, StoreError> {
        let err = |e| self.err(e);
        let mut st = self
            .conn
            .prepare("SELECT id, text FROM history_names")
            .map_err(err)?;
        let names: HashMap<i64, String> = st
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .and_then(|r| r.collect::<Result<_, _>>())
            .map_err(err)?;
        // The primary key's order: SQLite compares keys as bytes, as Rust compares Strings.
        let sql = "SELECT dataset, key, file, sheet, row, rules FROM run_dirty
                   WHERE run = ?1 ORDER BY dataset, key";
        let mut st_prev = self.conn.prepare(sql).map_err(err)?;
        let mut st_cur = self.conn.prepare(sql).map_err(err)?;
        let mut prev = st_prev.query(params![previous]).map_err(err)?;
        let mut cur = st_cur.query(params![current]).map_err(err)?;
        let mut a = next_raw(&mut prev).map_err(err)?;
        let mut b = next_raw(&mut cur).map_err(err)?;
        let mut counts: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
        let (mut newly, mut fixed) = (Vec::new(), Vec::new());
        loop {
            let order = match (&a, &b) {
                (None, None) => break,
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (Some(x), Some(y)) => (x.dataset, &x.key).cmp(&(y.dataset, &y.key)),
            };
            match order {
                Ordering::Less => {
                    if let Some(x) = a.take() {
                        counts.entry(x.dataset).or_default().1 += 1;
                        if fixed.len() < limit {
                            fixed.push(x);
                        }
                    }
                    a = next_raw(&mut prev).map_err(err)?;
                }
                Ordering::Greater => {
                    if let Some(y) = b.take() {
                        counts.entry(y.dataset).or_default().0 += 1;
                        if newly.len() < limit {
                            newly.push(y);
                        }
                    }
                    b = next_raw(&mut cur).map_err(err)?;
                }
                Ordering::Equal => {
                    a = next_raw(&mut prev).map_err(err)?;
                    b = next_raw(&mut cur).map_err(err)?;
                }
            }
        }
        let name = |id: i64| names.get(&id).cloned().unwrap_or_default();
        let records = |raw: Vec<RawDirty>| -> Vec<DirtyRecord> {
            let mut out: Vec<DirtyRecord> = raw
                .into_iter()
                .map(|r| {
                    let file = name(r.file);
                    DirtyRecord {
                        dataset: name(r.dataset),
                        loc: location(&file, r.sheet.as_deref(), r.row),
                        key: r.key,
                        file,
                        sheet: r.sheet,
                        row: r.row,
                        rules: name(r.rules),
                    }
                })
                .collect();
            out.sort_by(|x, y| (&x.dataset, &x.key).cmp(&(&y.dataset, &y.key)));
            out
        };
        let mut by_name: Vec<(String, u64, u64)> = counts
            .into_iter()
            .map(|(d, (n, f))| (name(d), n, f))
            .collect();
        by_name.sort();
        Ok(RecordChanges {
            counts: by_name,
            newly_dirty: records(newly),
            fixed: records(fixed),
        })
    }
}

/// A row of run_dirty as stored (names as ids).
struct RawDirty {
    dataset: i64,
    key: String,
    file: i64,
    sheet: Option<String>,
    row: u64,
    rules: i64,
}

fn next_raw(rows: &mut rusqlite::Rows<'_>) -> rusqlite::Result<Option<RawDirty>> {
    match rows.next()? {
        Some(r) => Ok(Some(RawDirty {
            dataset: r.get(0)?,
            key: r.get(1)?,
            file: r.get(2)?,
            sheet: r.get(3)?,
            row: r.get::<_, i64>(4)? as u64,
            rules: r.get(5)?,
        })),
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(id: &str, dirty: &[(&str, &str)]) -> RunRecord {
        RunRecord {
            run_id: id.into(),
            started_at: format!("2026-11-{}T01:00:00Z", &id[6..8]),
            finished_at: String::new(),
            command: "yibao run".into(),
            records: 10,
            dirty: dirty.len() as u64,
            rate: dirty.len() as f64 / 10.0,
            coverage: Some(0.5),
            breached: false,
            packs: "[]".into(),
            code_sets: "{}".into(),
            inputs: Vec::new(),
            figures: Vec::new(),
            coverage_figures: Vec::new(),
            samples: Vec::new(),
            dirty_records: dirty
                .iter()
                .map(|(d, k)| DirtyRecord {
                    dataset: d.to_string(),
                    key: k.to_string(),
                    file: format!("{d}.csv"),
                    sheet: None,
                    row: k.parse().unwrap(),
                    loc: String::new(),
                    rules: "r".into(),
                })
                .collect(),
            batches: Vec::new(),
        }
    }

    #[test]
    fn change_list_between_two_runs() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let a = store
            .record_run(&run(
                "20261101T010000Z",
                &[("s", "1"), ("s", "2"), ("f", "9")],
            ))
            .unwrap();
        // A key twice in one run (a duplicated line) is one identity.
        let b = store
            .record_run(&run(
                "20261102T010000Z",
                &[("s", "2"), ("s", "3"), ("s", "3"), ("f", "9")],
            ))
            .unwrap();
        let c = store.record_changes(a, b, 10).unwrap();
        assert_eq!(c.counts, vec![("s".to_string(), 1, 1)]);
        assert_eq!(c.newly_dirty[0].key, "3");
        assert_eq!(c.fixed[0].key, "1");
        assert_eq!(c.fixed[0].loc, "s.csv:1");
        assert_eq!(store.run_count().unwrap(), 2);
        assert!(store.has_run("20261102T010000Z").unwrap());
        let (latest, previous) = store.latest_runs().unwrap();
        assert_eq!(latest.unwrap().id, b);
        assert_eq!(previous.unwrap().id, a);
        assert_eq!(store.runs_since("2026-11-02T00:00:00Z").unwrap().len(), 1);
    }

    #[test]
    fn old_runs_keep_figures_but_not_records() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let mut ids = Vec::new();
        for day in 1..=(KEEP_RECORD_RUNS + 1) {
            let id = format!("202611{:02}T010000Z", day);
            ids.push(store.record_run(&run(&id, &[("s", "1")])).unwrap());
        }
        assert!(!store.has_dirty_records(ids[0]).unwrap());
        assert!(store.has_dirty_records(ids[1]).unwrap());
        assert_eq!(store.run_count().unwrap(), KEEP_RECORD_RUNS as u64 + 1);
    }

    /// `cargo test --lib -- --ignored --nocapture million`: time and size of recording a run
    /// with a million dirty records (a 10M-row input at a 10% dirty-data rate).
    #[test]
    #[ignore]
    fn million_dirty_records() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let mut rec = run("20261101T010000Z", &[]);
        rec.dirty_records = (0..1_000_000u64)
            .map(|i| DirtyRecord {
                dataset: "fee_details".into(),
                key: format!("S32090000{:011}", i * 7),
                file: "data/fee_details.csv".into(),
                sheet: None,
                row: i * 10 + 2,
                loc: String::new(),
                rules: "fee.medins_list_codg.mapped".into(),
            })
            .collect();
        let t = std::time::Instant::now();
        let a = store.record_run(&rec).unwrap();
        let first = t.elapsed();
        rec.run_id = "20261102T010000Z".into();
        rec.dirty_records.truncate(990_000);
        let b = store.record_run(&rec).unwrap();
        let t = std::time::Instant::now();
        let c = store.record_changes(a, b, 200).unwrap();
        let diff = t.elapsed();
        let size = std::fs::metadata(Store::path_in(dir.path())).unwrap().len();
        eprintln!(
            "record 1M dirty: {first:?}; change list: {diff:?} ({:?}); store {} MB",
            c.counts,
            size / 1_000_000
        );
    }
}
