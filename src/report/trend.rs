//! The latest run with its trend, as `yibao report` shows it: assembled, purely, from the rows
//! the history holds. The JSON output is this structure; the CSV and HTML renderers read it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::store::history::{
    BatchFigure, CoverageFigure, DirtyRecord, Figure, InputFile, RecordChanges, RunRow, SampleRow,
};

/// The layout version of the report's JSON.
pub const SCHEMA: u32 = 1;

/// Records listed per side of the change list (counts are always exact).
pub const CHANGE_LIST_LIMIT: usize = 200;

/// Rules listed under "rules whose rate moved most".
const MOVED_LIMIT: usize = 10;

/// What the history holds for a report (read by `pipeline::trend::load`).
pub struct HistoryRows {
    /// The workspace name.
    pub workspace: String,
    /// Start of the trend window (RFC 3339).
    pub since: String,
    /// The latest run.
    pub latest: RunRow,
    /// The run before it, with its figures.
    pub previous: Option<(RunRow, Vec<Figure>)>,
    /// The runs of the window, oldest first, with their figures and coverage.
    pub runs: Vec<(RunRow, Vec<Figure>, Vec<CoverageFigure>)>,
    /// Input files of the latest run.
    pub inputs: Vec<InputFile>,
    /// Sample rows of the latest run.
    pub samples: Vec<SampleRow>,
    /// Batches of the latest run.
    pub batches: Vec<BatchFigure>,
    /// Records newly dirty and fixed since the previous run.
    pub changes: Option<RecordChanges>,
}

/// The latest run's headline.
#[derive(Debug, Clone, Serialize)]
pub struct Latest {
    /// Run id.
    pub run_id: String,
    /// Start time.
    pub time: String,
    /// Records.
    pub records: u64,
    /// Dirty records.
    pub dirty: u64,
    /// Dirty-data rate.
    pub rate: f64,
    /// Mapping coverage (distinct codes).
    pub coverage: Option<f64>,
    /// A threshold was breached.
    pub breached: bool,
    /// Packs that ran.
    pub packs: serde_json::Value,
    /// Code-set versions.
    pub code_sets: serde_json::Value,
    /// Input files and their hashes.
    pub inputs: Vec<InputFile>,
    /// Batches written.
    pub batches: Vec<BatchFigure>,
}

/// The run before the latest.
#[derive(Debug, Clone, Serialize)]
pub struct Previous {
    /// Run id.
    pub run_id: String,
    /// Start time.
    pub time: String,
    /// Records.
    pub records: u64,
    /// Dirty records.
    pub dirty: u64,
    /// Dirty-data rate.
    pub rate: f64,
    /// Coverage.
    pub coverage: Option<f64>,
}

/// One run on the trend.
#[derive(Debug, Clone, Serialize)]
pub struct TrendPoint {
    /// Run id.
    pub run_id: String,
    /// Start time.
    pub time: String,
    /// Records.
    pub records: u64,
    /// Dirty records.
    pub dirty: u64,
    /// Overall dirty-data rate.
    pub rate: f64,
    /// Overall coverage.
    pub coverage: Option<f64>,
    /// Dirty-data rate per area.
    pub areas: BTreeMap<String, f64>,
    /// Coverage weighted by records: mapped records / records with a local code.
    pub coverage_records: Option<f64>,
    /// Coverage (distinct codes) per area.
    pub coverage_areas: BTreeMap<String, f64>,
    /// Coverage (distinct codes) per `area/family`.
    pub coverage_by: BTreeMap<String, f64>,
}

/// A rule's figures in the latest run, against the previous run.
#[derive(Debug, Clone, Serialize)]
pub struct RuleRow {
    /// Dataset.
    pub dataset: String,
    /// Rule id.
    pub id: String,
    /// Title.
    pub title: String,
    /// error | warning.
    pub severity: String,
    /// Records failing it.
    pub failed: u64,
    /// Records it applies to.
    pub applicable: u64,
    /// failed / applicable.
    pub rate: f64,
    /// Failed in the previous run.
    pub previous_failed: Option<u64>,
    /// Rate in the previous run.
    pub previous_rate: Option<f64>,
    /// rate - previous rate.
    pub delta: Option<f64>,
}

/// An institution over all datasets of the latest run.
#[derive(Debug, Clone, Serialize)]
pub struct InstitutionRow {
    /// fixmedins_code.
    pub code: String,
    /// Records.
    pub records: u64,
    /// Dirty records.
    pub dirty: u64,
    /// dirty / records.
    pub rate: f64,
}

/// Newly dirty and fixed records of one dataset.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetChange {
    /// Dataset.
    pub dataset: String,
    /// Dirty now, not in the previous run.
    pub newly_dirty: u64,
    /// Dirty in the previous run, not now (fixed, or no longer in the input).
    pub fixed: u64,
}

/// What changed since the previous run.
#[derive(Debug, Clone, Serialize)]
pub struct Changes {
    /// The previous run's id.
    pub previous: String,
    /// Records newly dirty, all datasets.
    pub newly_dirty: u64,
    /// Records fixed, all datasets.
    pub fixed: u64,
    /// Per dataset.
    pub by_dataset: Vec<DatasetChange>,
    /// Up to [`CHANGE_LIST_LIMIT`] newly dirty records.
    pub newly_dirty_records: Vec<DirtyRecord>,
    /// Up to [`CHANGE_LIST_LIMIT`] fixed records, as they were.
    pub fixed_records: Vec<DirtyRecord>,
    /// Rules whose violation rate moved most.
    pub rules_moved: Vec<RuleRow>,
}

/// The report.
#[derive(Debug, Clone, Serialize)]
pub struct TrendReport {
    /// Layout version.
    pub schema: u32,
    /// Workspace name.
    pub workspace: String,
    /// Start of the trend window.
    pub since: String,
    /// The latest run.
    pub latest: Latest,
    /// The run before it.
    pub previous: Option<Previous>,
    /// Runs of the window, oldest first.
    pub trend: Vec<TrendPoint>,
    /// Areas of the latest run.
    pub areas: Vec<Figure>,
    /// Datasets of the latest run.
    pub datasets: Vec<Figure>,
    /// Per dataset of the latest run, how much of the packs ran on it.
    pub rules_ran: Vec<RulesRan>,
    /// Rules that failed in the latest or previous run, most failures first.
    pub rules: Vec<RuleRow>,
    /// Institutions, highest rate first.
    pub institutions: Vec<InstitutionRow>,
    /// Coverage per area and family in the latest run.
    pub coverage: Vec<CoverageFigure>,
    /// Sample failing rows per rule with their source location.
    pub samples: Vec<SampleRow>,
    /// Changes since the previous run.
    pub changes: Option<Changes>,
}

/// How much of the packs ran on one dataset: a rate computed with half the pack is visibly so.
#[derive(Debug, Clone, Serialize)]
pub struct RulesRan {
    /// The dataset.
    pub dataset: String,
    /// Rules that ran.
    pub ran: u64,
    /// Rules of the packs for the dataset's kind (those that ran and those skipped).
    pub of: u64,
    /// Rules skipped, with the reason.
    pub skipped: Vec<RuleNote>,
    /// Rules that checked less than they read, with what they left out.
    pub narrowed: Vec<RuleNote>,
}

/// A rule and a sentence about how it ran.
#[derive(Debug, Clone, Serialize)]
pub struct RuleNote {
    /// Rule id.
    pub id: String,
    /// The sentence.
    pub text: String,
}

fn rules_ran(figures: &[Figure]) -> Vec<RulesRan> {
    let notes = |scope: &str, dataset: &str| -> Vec<RuleNote> {
        of_scope(figures, scope)
            .filter(|f| f.dataset == dataset)
            .map(|f| RuleNote {
                id: f.name.clone(),
                text: f.title.clone(),
            })
            .collect()
    };
    of_scope(figures, "dataset")
        .map(|d| {
            let ran = of_scope(figures, "rule")
                .filter(|f| f.dataset == d.name)
                .count() as u64;
            let skipped = notes("skipped", &d.name);
            RulesRan {
                dataset: d.name.clone(),
                ran,
                of: ran + skipped.len() as u64,
                skipped,
                narrowed: notes("narrowed", &d.name),
            }
        })
        .collect()
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

fn of_scope<'a>(figures: &'a [Figure], scope: &'a str) -> impl Iterator<Item = &'a Figure> {
    figures.iter().filter(move |f| f.scope == scope)
}

/// Assemble the report from the history's rows.
pub fn build(rows: HistoryRows) -> TrendReport {
    let latest_figures: Vec<Figure> = rows
        .runs
        .iter()
        .find(|(r, _, _)| r.id == rows.latest.id)
        .map(|(_, f, _)| f.clone())
        .unwrap_or_default();
    let latest_coverage: Vec<CoverageFigure> = rows
        .runs
        .iter()
        .find(|(r, _, _)| r.id == rows.latest.id)
        .map(|(_, _, c)| c.clone())
        .unwrap_or_default();
    let trend = rows
        .runs
        .iter()
        .map(|(r, figures, coverage)| TrendPoint {
            run_id: r.run_id.clone(),
            time: r.started_at.clone(),
            records: r.records,
            dirty: r.dirty,
            rate: r.rate,
            coverage: r.coverage,
            areas: of_scope(figures, "area")
                .map(|f| (f.name.clone(), f.rate))
                .collect(),
            coverage_records: {
                let (n, m) = coverage
                    .iter()
                    .fold((0, 0), |(n, m), c| (n + c.records, m + c.records_mapped));
                (n > 0).then(|| ratio(m, n))
            },
            coverage_areas: {
                let mut by: BTreeMap<String, (u64, u64)> = BTreeMap::new();
                for c in coverage {
                    let e = by.entry(c.area.clone()).or_default();
                    e.0 += c.codes;
                    e.1 += c.codes_mapped;
                }
                by.into_iter()
                    .map(|(a, (n, m))| (a, if n == 0 { 1.0 } else { ratio(m, n) }))
                    .collect()
            },
            coverage_by: coverage
                .iter()
                .map(|c| {
                    (
                        format!("{}/{}", c.area, c.family),
                        if c.codes == 0 {
                            1.0
                        } else {
                            ratio(c.codes_mapped, c.codes)
                        },
                    )
                })
                .collect(),
        })
        .collect();
    let before: BTreeMap<(String, String), &Figure> = rows
        .previous
        .as_ref()
        .map(|(_, f)| {
            of_scope(f, "rule")
                .map(|f| ((f.dataset.clone(), f.name.clone()), f))
                .collect()
        })
        .unwrap_or_default();
    let mut rules: Vec<RuleRow> = of_scope(&latest_figures, "rule")
        .map(|f| {
            let prev = before.get(&(f.dataset.clone(), f.name.clone()));
            RuleRow {
                dataset: f.dataset.clone(),
                id: f.name.clone(),
                title: f.title.clone(),
                severity: f.severity.clone(),
                failed: f.count,
                applicable: f.total,
                rate: f.rate,
                previous_failed: prev.map(|p| p.count),
                previous_rate: prev.map(|p| p.rate),
                delta: prev.map(|p| f.rate - p.rate),
            }
        })
        .filter(|r| r.failed > 0 || r.previous_failed.unwrap_or(0) > 0)
        .collect();
    rules.sort_by(|a, b| {
        b.failed
            .cmp(&a.failed)
            .then(a.dataset.cmp(&b.dataset))
            .then(a.id.cmp(&b.id))
    });
    let mut inst: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for f in of_scope(&latest_figures, "institution") {
        let e = inst.entry(f.name.clone()).or_default();
        e.0 += f.total;
        e.1 += f.count;
    }
    let mut institutions: Vec<InstitutionRow> = inst
        .into_iter()
        .map(|(code, (records, dirty))| InstitutionRow {
            code,
            records,
            dirty,
            rate: ratio(dirty, records),
        })
        .collect();
    institutions.sort_by(|a, b| {
        b.rate
            .total_cmp(&a.rate)
            .then(b.dirty.cmp(&a.dirty))
            .then(a.code.cmp(&b.code))
    });
    let changes = rows.previous.as_ref().map(|(p, _)| {
        let rc = rows.changes.clone().unwrap_or_default();
        let mut moved: Vec<RuleRow> = rules
            .iter()
            .filter(|r| r.delta.is_some_and(|d| d != 0.0))
            .cloned()
            .collect();
        moved.sort_by(|a, b| {
            let (da, db) = (a.delta.unwrap_or(0.0).abs(), b.delta.unwrap_or(0.0).abs());
            db.total_cmp(&da)
                .then(a.dataset.cmp(&b.dataset))
                .then(a.id.cmp(&b.id))
        });
        moved.truncate(MOVED_LIMIT);
        Changes {
            previous: p.run_id.clone(),
            newly_dirty: rc.counts.iter().map(|c| c.1).sum(),
            fixed: rc.counts.iter().map(|c| c.2).sum(),
            by_dataset: rc
                .counts
                .iter()
                .map(|(d, n, f)| DatasetChange {
                    dataset: d.clone(),
                    newly_dirty: *n,
                    fixed: *f,
                })
                .collect(),
            newly_dirty_records: rc.newly_dirty,
            fixed_records: rc.fixed,
            rules_moved: moved,
        }
    });
    let l = &rows.latest;
    TrendReport {
        schema: SCHEMA,
        workspace: rows.workspace,
        since: rows.since,
        latest: Latest {
            run_id: l.run_id.clone(),
            time: l.started_at.clone(),
            records: l.records,
            dirty: l.dirty,
            rate: l.rate,
            coverage: l.coverage,
            breached: l.breached,
            packs: serde_json::from_str(&l.packs).unwrap_or(serde_json::Value::Null),
            code_sets: serde_json::from_str(&l.code_sets).unwrap_or(serde_json::Value::Null),
            inputs: rows.inputs,
            batches: rows.batches,
        },
        previous: rows.previous.as_ref().map(|(p, _)| Previous {
            run_id: p.run_id.clone(),
            time: p.started_at.clone(),
            records: p.records,
            dirty: p.dirty,
            rate: p.rate,
            coverage: p.coverage,
        }),
        trend,
        areas: of_scope(&latest_figures, "area").cloned().collect(),
        datasets: of_scope(&latest_figures, "dataset").cloned().collect(),
        rules_ran: rules_ran(&latest_figures),
        rules,
        institutions,
        coverage: latest_coverage,
        samples: rows.samples,
        changes,
    }
}

/// The report as JSON bytes.
pub fn json(report: &TrendReport) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(report).unwrap_or_default();
    v.push(b'\n');
    v
}

/// The report as one tidy CSV (UTF-8 with a BOM): one line per figure, with a `scope` column:
/// `overall`, `area`, `coverage` for every run of the window; `dataset`, `rule`,
/// `institution`, `sample` for the latest run; `change` (per dataset: `newly_dirty`, `fixed` counts) and `newly_dirty`, `fixed` (the records,
/// up to [`CHANGE_LIST_LIMIT`] each) against the previous run.
/// A file for people: cells a spreadsheet would run as formulas are neutralised
/// ([`crate::sheet`]).
pub fn csv(report: &TrendReport) -> Vec<u8> {
    let mut w = crate::sheet::Writer::new();
    w.record([
        "run_id", "time", "scope", "dataset", "name", "count", "total", "rate", "location",
        "record",
    ]);
    let rate = |r: f64| format!("{r:.6}");
    let mut line = |fields: [&str; 10]| w.record(fields);
    for p in &report.trend {
        line([
            &p.run_id,
            &p.time,
            "overall",
            "",
            "",
            &p.dirty.to_string(),
            &p.records.to_string(),
            &rate(p.rate),
            "",
            "",
        ]);
        for (area, r) in &p.areas {
            line([
                &p.run_id,
                &p.time,
                "area",
                "",
                area,
                "",
                "",
                &rate(*r),
                "",
                "",
            ]);
        }
        for (key, r) in &p.coverage_by {
            line([
                &p.run_id,
                &p.time,
                "coverage",
                "",
                key,
                "",
                "",
                &rate(*r),
                "",
                "",
            ]);
        }
    }
    let (id, time) = (&report.latest.run_id, &report.latest.time);
    for d in &report.datasets {
        line([
            id,
            time,
            "dataset",
            &d.dataset,
            &d.name,
            &d.count.to_string(),
            &d.total.to_string(),
            &rate(d.rate),
            "",
            "",
        ]);
    }
    for r in &report.rules {
        line([
            id,
            time,
            "rule",
            &r.dataset,
            &r.id,
            &r.failed.to_string(),
            &r.applicable.to_string(),
            &rate(r.rate),
            "",
            "",
        ]);
    }
    for i in &report.institutions {
        line([
            id,
            time,
            "institution",
            "",
            &i.code,
            &i.dirty.to_string(),
            &i.records.to_string(),
            &rate(i.rate),
            "",
            "",
        ]);
    }
    for s in &report.samples {
        line([
            id,
            time,
            "sample",
            &s.dataset,
            &s.rule,
            "",
            "",
            "",
            &super::location(&s.file, s.sheet.as_deref(), s.row),
            &s.key,
        ]);
    }
    if let Some(c) = &report.changes {
        for d in &c.by_dataset {
            line([
                id,
                time,
                "change",
                &d.dataset,
                "newly_dirty",
                &d.newly_dirty.to_string(),
                "",
                "",
                "",
                "",
            ]);
            line([
                id,
                time,
                "change",
                &d.dataset,
                "fixed",
                &d.fixed.to_string(),
                "",
                "",
                "",
                "",
            ]);
        }
        for (scope, list) in [
            ("newly_dirty", &c.newly_dirty_records),
            ("fixed", &c.fixed_records),
        ] {
            for r in list {
                line([
                    id, time, scope, &r.dataset, &r.rules, "", "", "", &r.loc, &r.key,
                ]);
            }
        }
    }
    w.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fig(scope: &str, dataset: &str, name: &str, count: u64, total: u64) -> Figure {
        Figure {
            scope: scope.into(),
            dataset: dataset.into(),
            name: name.into(),
            title: format!("{name} 标题"),
            severity: if scope == "rule" {
                "error".into()
            } else {
                String::new()
            },
            count,
            total,
            rate: ratio(count, total),
        }
    }

    fn run(id: i64, dirty: u64) -> RunRow {
        RunRow {
            id,
            run_id: format!("2026110{id}T010000Z"),
            started_at: format!("2026-11-0{id}T01:00:00Z"),
            records: 100,
            dirty,
            rate: ratio(dirty, 100),
            coverage: Some(0.5),
            breached: false,
            packs: "[]".into(),
            code_sets: "{}".into(),
        }
    }

    #[test]
    fn build_ranks_institutions_and_rule_moves() {
        let before = vec![
            fig("rule", "s", "a", 10, 100),
            fig("rule", "s", "b", 1, 100),
        ];
        let now = vec![
            fig("area", "", "320900", 12, 100),
            fig("rule", "s", "a", 2, 100),
            fig("rule", "s", "b", 5, 100),
            fig("rule", "s", "c", 0, 100),
            fig("institution", "s", "H1", 1, 10),
            fig("institution", "f", "H1", 3, 10),
            fig("institution", "s", "H2", 5, 10),
        ];
        let r = build(HistoryRows {
            workspace: "w".into(),
            since: "2026-10-01T00:00:00Z".into(),
            latest: run(2, 12),
            previous: Some((run(1, 11), before.clone())),
            runs: vec![
                (run(1, 11), before, Vec::new()),
                (run(2, 12), now, Vec::new()),
            ],
            inputs: Vec::new(),
            samples: Vec::new(),
            batches: Vec::new(),
            changes: None,
        });
        // Rules that never failed are left out; most failures first.
        let ids: Vec<&str> = r.rules.iter().map(|x| x.id.as_str()).collect();
        assert_eq!(ids, ["b", "a"]);
        // H1: 4 of 20 over both datasets; H2: 5 of 10.
        let inst: Vec<(&str, u64, u64)> = r
            .institutions
            .iter()
            .map(|i| (i.code.as_str(), i.dirty, i.records))
            .collect();
        assert_eq!(inst, [("H2", 5, 10), ("H1", 4, 20)]);
        let c = r.changes.as_ref().unwrap();
        let moved: Vec<&str> = c.rules_moved.iter().map(|x| x.id.as_str()).collect();
        assert_eq!(moved, ["a", "b"], "a moved 8 points, b 4");
        assert_eq!(r.trend.len(), 2);
        assert_eq!(r.trend[1].areas["320900"], 0.12);
        let html = super::super::html::render(&r);
        assert!(html.contains("<meta charset=\"utf-8\">") && html.contains("a 标题"));
        assert!(!html.contains("<script"));
        let csv = String::from_utf8(csv(&r)).unwrap();
        assert!(csv.contains(",institution,,H2,5,10,0.500000,,"), "{csv}");
    }
}
