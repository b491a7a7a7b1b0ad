//! What a check found, as the outputs scripts and people read: `report.json` (schema in
//! docs/REPORT.md), `rejects/<dataset>.csv`, and the summary printed to the terminal. Pure
//! renderers: they return bytes or text and never touch the file system.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use polars::prelude::*;
use serde::Serialize;

use crate::rules::engine::DatasetResult;
use crate::rules::Severity;

pub mod html;
pub mod svg;
pub mod trend;

/// The version of report.json's layout.
pub const SCHEMA: u32 = 1;

/// A pack that ran.
#[derive(Debug, Clone, Serialize)]
pub struct PackRef {
    /// Name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Rules in it.
    pub rules: usize,
}

/// Records, dirty records and their rate over some group of datasets.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Totals {
    /// Records.
    pub records: u64,
    /// Dirty records.
    pub dirty: u64,
    /// dirty / records.
    pub rate: f64,
}

impl Totals {
    fn add(&mut self, records: u64, dirty: u64) {
        self.records += records;
        self.dirty += dirty;
        self.rate = if self.records == 0 {
            0.0
        } else {
            self.dirty as f64 / self.records as f64
        };
    }
}

/// report.json.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Layout version.
    pub schema: u32,
    /// The run id (also the folder under `out/`).
    pub run_id: String,
    /// When (RFC 3339, UTC).
    pub time: String,
    /// The workspace name.
    pub workspace: String,
    /// Packs that ran.
    pub packs: Vec<PackRef>,
    /// Code-set versions checked against, by family.
    pub code_sets: BTreeMap<String, String>,
    /// All datasets together.
    pub overall: Totals,
    /// Per area: the sum of dirty over the sum of records.
    pub areas: BTreeMap<String, Totals>,
    /// Per dataset, with per rule and per institution figures.
    pub datasets: Vec<DatasetResult>,
    /// 贯标率 when the conformance pack ran: 1 - the overall dirty-data rate.
    pub compliance: Option<f64>,
    /// The dirty-data rate threshold of yibao.toml.
    pub threshold: Option<f64>,
    /// True when the overall rate is above the threshold.
    pub breached: bool,
}

impl Report {
    /// Assemble a report from the per-dataset results.
    pub fn new(
        run_id: String,
        time: String,
        workspace: String,
        packs: Vec<PackRef>,
        code_sets: BTreeMap<String, String>,
        datasets: Vec<DatasetResult>,
        threshold: Option<f64>,
    ) -> Report {
        let mut overall = Totals::default();
        let mut areas: BTreeMap<String, Totals> = BTreeMap::new();
        for d in &datasets {
            overall.add(d.records, d.dirty);
            areas
                .entry(d.area.clone().unwrap_or_default())
                .or_default()
                .add(d.records, d.dirty);
        }
        let breached = threshold.is_some_and(|t| overall.rate > t);
        let compliance = packs
            .iter()
            .any(|p| p.name == "conformance")
            .then(|| 1.0 - overall.rate);
        Report {
            schema: SCHEMA,
            run_id,
            time,
            workspace,
            packs,
            code_sets,
            overall,
            areas,
            datasets,
            compliance,
            threshold,
            breached,
        }
    }
}

/// report.json's bytes.
pub fn json(report: &Report) -> Vec<u8> {
    let mut v = serde_json::to_vec_pretty(report).unwrap_or_default();
    v.push(b'\n');
    v
}

/// A rejects file, into a writer: UTF-8 with a BOM so spreadsheet programs show the Chinese
/// right, serialised batch by batch, never whole in memory; a file for people, so cells a
/// spreadsheet would run as formulas are neutralised ([`crate::sheet`]).
pub fn write_rejects_csv<W: std::io::Write>(df: &mut DataFrame, out: W) -> PolarsResult<()> {
    crate::sheet::write_frame(df, out)
}

pub use crate::store::history::location;

fn pct(r: f64) -> String {
    format!("{:.2}%", r * 100.0)
}

/// The summary a person reads after `yibao check`.
pub fn text(report: &Report, verbose: bool) -> String {
    let mut out = String::new();
    for d in &report.datasets {
        let _ = writeln!(
            out,
            "{} ({}, area {}): {} records, {} dirty, dirty-data rate {}{}",
            d.name,
            d.kind,
            d.area.as_deref().unwrap_or("-"),
            d.records,
            d.dirty,
            pct(d.rate),
            if d.warned > 0 {
                format!(", {} with warnings", d.warned)
            } else {
                String::new()
            }
        );
        let mut failing: Vec<_> = d.rules.iter().filter(|r| r.failed > 0 || verbose).collect();
        failing.sort_by(|a, b| b.failed.cmp(&a.failed).then(a.id.cmp(&b.id)));
        if !failing.is_empty() {
            let _ = writeln!(
                out,
                "  {:<34} {:<7} {:>10} {:>10} {:>8}  title",
                "rule", "sev", "applicable", "failed", "rate"
            );
        }
        for r in failing {
            let _ = writeln!(
                out,
                "  {:<34} {:<7} {:>10} {:>10} {:>8}  {}",
                r.id,
                match r.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                },
                r.applicable,
                r.failed,
                pct(r.rate),
                r.title
            );
        }
        let ran = d.rules.len();
        let _ = writeln!(
            out,
            "  {ran} of {} rules for {} ran, {} passed everywhere{}",
            ran + d.skipped.len(),
            d.kind,
            d.rules.iter().filter(|r| r.failed == 0).count(),
            if d.skipped.is_empty() {
                String::new()
            } else {
                format!("; {} skipped:", d.skipped.len())
            }
        );
        // Grouped by the fields they lack, so the summary says which mappings would run them.
        let mut lacking: Vec<(String, Vec<&str>)> = Vec::new();
        for s in &d.skipped {
            if s.fields.is_empty() {
                let _ = writeln!(out, "    skipped {}: {}", s.id, s.reason);
                continue;
            }
            let fields = s.fields.join(", ");
            match lacking.iter_mut().find(|(f, _)| *f == fields) {
                Some((_, ids)) => ids.push(&s.id),
                None => lacking.push((fields, vec![&s.id])),
            }
        }
        if !lacking.is_empty() {
            let _ = writeln!(
                out,
                "    not mapped in this dataset: field (rules it would run)"
            );
            let mut line = String::from("     ");
            for (fields, ids) in &lacking {
                let item = format!(" {fields} ({});", ids.join(", "));
                if line.len() > 5 && line.len() + item.len() > 100 {
                    let _ = writeln!(out, "{line}");
                    line = String::from("     ");
                }
                line.push_str(&item);
            }
            let _ = writeln!(out, "{line}");
        }
        for r in &d.rules {
            for n in &r.narrowed {
                let _ = writeln!(out, "    {}: {n}", r.id);
            }
            if let Some(m) = r.repeats {
                let _ = writeln!(
                    out,
                    "    {}: {} (repeats = \"{}\")",
                    r.id,
                    m.describe(),
                    m.name()
                );
            }
        }
        let worst: Vec<_> = d
            .institutions
            .iter()
            .filter(|i| i.dirty > 0)
            .take(5)
            .collect();
        if !worst.is_empty() {
            let _ = writeln!(out, "  institutions by rate:");
            for i in worst {
                let _ = writeln!(
                    out,
                    "    {:<14} {:>8} records {:>8} dirty {:>8}",
                    i.code,
                    i.records,
                    i.dirty,
                    pct(i.rate)
                );
            }
        }
    }
    if report.areas.len() > 1 {
        for (area, t) in &report.areas {
            let _ = writeln!(
                out,
                "area {area}: {} records, {} dirty, {}",
                t.records,
                t.dirty,
                pct(t.rate)
            );
        }
    }
    let _ = writeln!(
        out,
        "overall: {} records, {} dirty, dirty-data rate {}",
        report.overall.records,
        report.overall.dirty,
        pct(report.overall.rate)
    );
    if report.packs.iter().any(|p| p.name == "conformance") {
        let _ = writeln!(
            out,
            "贯标率 (compliance rate, conformance pack): {} of records clean",
            pct(1.0 - report.overall.rate)
        );
    }
    if let Some(t) = report.threshold {
        let _ = writeln!(
            out,
            "{} the threshold {}",
            if report.breached { "ABOVE" } else { "within" },
            pct(t)
        );
    }
    out
}
