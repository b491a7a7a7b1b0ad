//! What a run leaves in the history: its figures flattened into rows, and its dirty records'
//! identities taken from each chunk of the check's rejects (the records whose `errors` list is
//! not empty), spooled to disk until the run is recorded ([`super::spool`]).

use polars::prelude::*;

use crate::mapping::coverage::Coverage;
use crate::report::{location, Report};
use crate::rules::Severity;
use crate::store::history::{
    BatchFigure, CoverageFigure, DirtyRecord, Figure, InputFile, RunRecord, SampleRow,
};
use crate::workspace::Workspace;

/// What the history needs beyond report.json.
pub struct Extra<'a> {
    /// End time (RFC 3339).
    pub finished_at: String,
    /// The command line.
    pub command: String,
    /// Coverage per area and family.
    pub coverage: &'a [Coverage],
    /// Overall coverage.
    pub coverage_rate: Option<f64>,
    /// Any threshold breached.
    pub breached: bool,
    /// Input files with their hashes.
    pub inputs: Vec<InputFile>,
    /// Batches.
    pub batches: Vec<BatchFigure>,
}

/// A source file as the history keeps it: relative to the workspace, so the history reads the
/// same however the workspace folder was named on the command line.
fn relative(ws: &Workspace, file: &str) -> String {
    std::path::Path::new(file)
        .strip_prefix(&ws.root)
        .map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_else(|_| file.to_string())
}

/// Flatten a run's report and extras into the rows the history stores.
pub fn run_record(ws: &Workspace, report: &Report, extra: Extra<'_>) -> RunRecord {
    let mut figures = Vec::new();
    for (area, t) in &report.areas {
        figures.push(Figure {
            scope: "area".into(),
            dataset: String::new(),
            name: area.clone(),
            title: ws
                .areas
                .iter()
                .find(|a| &a.code == area)
                .map(|a| a.name.clone())
                .unwrap_or_default(),
            severity: String::new(),
            count: t.dirty,
            total: t.records,
            rate: t.rate,
        });
    }
    let mut samples = Vec::new();
    for d in &report.datasets {
        figures.push(Figure {
            scope: "dataset".into(),
            dataset: d.name.clone(),
            name: d.name.clone(),
            title: d.area.clone().unwrap_or_default(),
            severity: String::new(),
            count: d.dirty,
            total: d.records,
            rate: d.rate,
        });
        let keys = ws
            .dataset(&d.name)
            .map(|ds| ds.key.clone())
            .unwrap_or_default();
        for r in &d.rules {
            figures.push(Figure {
                scope: "rule".into(),
                dataset: d.name.clone(),
                name: r.id.clone(),
                title: r.title.clone(),
                severity: match r.severity {
                    Severity::Error => "error".into(),
                    Severity::Warning => "warning".into(),
                },
                count: r.failed,
                total: r.applicable,
                rate: r.rate,
            });
            for s in &r.samples {
                samples.push(SampleRow {
                    dataset: d.name.clone(),
                    rule: r.id.clone(),
                    file: relative(ws, &s.file),
                    sheet: s.sheet.clone().filter(|s| !s.is_empty()),
                    row: s.row,
                    key: keys
                        .iter()
                        .filter_map(|k| s.key.get(k).cloned())
                        .collect::<Vec<_>>()
                        .join("|"),
                });
            }
        }
        // How much of the pack ran (issue 18): the rules skipped with the reason, and the
        // rules that checked less than they read, as figures without counts.
        let notes = d
            .skipped
            .iter()
            .map(|s| ("skipped", &s.id, s.reason.clone()))
            .chain(
                d.rules
                    .iter()
                    .filter(|r| !r.narrowed.is_empty())
                    .map(|r| ("narrowed", &r.id, r.narrowed.join("; "))),
            );
        for (scope, id, text) in notes {
            figures.push(Figure {
                scope: scope.into(),
                dataset: d.name.clone(),
                name: id.clone(),
                title: text,
                severity: String::new(),
                count: 0,
                total: 0,
                rate: 0.0,
            });
        }
        for i in &d.institutions {
            figures.push(Figure {
                scope: "institution".into(),
                dataset: d.name.clone(),
                name: i.code.clone(),
                title: String::new(),
                severity: String::new(),
                count: i.dirty,
                total: i.records,
                rate: i.rate,
            });
        }
    }
    RunRecord {
        run_id: report.run_id.clone(),
        started_at: report.time.clone(),
        finished_at: extra.finished_at,
        command: extra.command,
        records: report.overall.records,
        dirty: report.overall.dirty,
        rate: report.overall.rate,
        coverage: extra.coverage_rate,
        breached: extra.breached,
        packs: serde_json::to_string(&report.packs).unwrap_or_else(|_| "[]".into()),
        code_sets: serde_json::to_string(&report.code_sets).unwrap_or_else(|_| "{}".into()),
        inputs: extra.inputs,
        figures,
        coverage_figures: extra
            .coverage
            .iter()
            .map(|c| CoverageFigure {
                area: c.area.clone(),
                family: c.family.clone(),
                codes: c.codes,
                codes_mapped: c.codes_mapped,
                records: c.records,
                records_mapped: c.records_mapped,
            })
            .collect(),
        samples,
        // Streamed into the store from the run's spool (`Store::record_run_with`).
        dirty_records: Vec::new(),
        batches: extra.batches,
    }
}

/// The identities of the dirty records among a chunk of a dataset's rejects: its key fields
/// joined by `|` (the source location when it has no key, or a key field is empty), where it
/// was read, and the error rules it failed. Records with warnings only are not dirty and are
/// left out.
pub fn dirty_of(ws: &Workspace, name: &str, df: &DataFrame) -> PolarsResult<Vec<DirtyRecord>> {
    let mut out = Vec::new();
    {
        let schema = df.schema();
        let keys: Vec<String> = ws
            .dataset(name)
            .map(|d| d.key.clone())
            .unwrap_or_default()
            .into_iter()
            .filter(|k| schema.contains(k))
            .collect();
        let mut select = vec![
            col("file").cast(DataType::String),
            col("sheet").cast(DataType::String),
            col("row").cast(DataType::UInt64),
            col("errors").cast(DataType::String),
        ];
        for (n, k) in keys.iter().enumerate() {
            select.push(
                col(k.as_str())
                    .cast(DataType::String)
                    .alias(format!("__k{n}")),
            );
        }
        let dirty = df
            .clone()
            .lazy()
            .filter(
                col("errors")
                    .is_not_null()
                    .and(col("errors").cast(DataType::String).neq(lit(""))),
            )
            .select(select)
            .collect()?;
        let file = dirty.column("file")?.str()?.clone();
        let sheet = dirty.column("sheet")?.str()?.clone();
        let row = dirty.column("row")?.u64()?.clone();
        let errors = dirty.column("errors")?.str()?.clone();
        let key_cols = (0..keys.len())
            .map(|n| Ok(dirty.column(&format!("__k{n}"))?.str()?.clone()))
            .collect::<PolarsResult<Vec<_>>>()?;
        out.reserve(dirty.height());
        for i in 0..dirty.height() {
            let path = relative(ws, file.get(i).unwrap_or(""));
            let (f, sh, r) = (
                path.as_str(),
                sheet.get(i).filter(|s| !s.is_empty()),
                row.get(i).unwrap_or(0),
            );
            let loc = location(f, sh, r);
            let parts: Option<Vec<&str>> = key_cols
                .iter()
                .map(|c| c.get(i).filter(|v| !v.is_empty()))
                .collect();
            let key = match parts {
                Some(p) if !p.is_empty() => p.join("|"),
                _ => loc.clone(),
            };
            out.push(DirtyRecord {
                dataset: name.to_string(),
                key,
                file: f.to_string(),
                sheet: sh.map(str::to_string),
                row: r,
                loc,
                rules: errors.get(i).unwrap_or("").to_string(),
            });
        }
    }
    Ok(out)
}
