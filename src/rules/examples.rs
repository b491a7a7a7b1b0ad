//! `yibao rules test`: every rule's own `pass` and `fail` rows run through the same engine as
//! `yibao check`, so a rule that does not do what its examples say is caught before it runs on
//! real data.

use polars::prelude::*;
use serde::Serialize;

use super::compile::Context;
use super::engine::{Input, Options};
use super::{Row, Rule, RuleKind};
use crate::workspace::{Dataset, DatasetKind};

/// The outcome of one rule's examples.
#[derive(Debug, Clone, Serialize)]
pub struct ExampleResult {
    /// Rule id.
    pub id: String,
    /// Where the rule is.
    pub origin: String,
    /// Examples run.
    pub examples: usize,
    /// What went wrong, one line each (empty: all good).
    pub problems: Vec<String>,
}

impl ExampleResult {
    /// True when every example behaved.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

fn dataset(name: &str, kind: DatasetKind) -> Dataset {
    Dataset {
        name: name.to_string(),
        area: None,
        kind,
        path: String::new(),
        path_span: 0..0,
        format: None,
        encoding: None,
        delimiter: None,
        sheet: None,
        header_row: None,
        sqlite: None,
        key: Vec::new(),
        columns: Default::default(),
        column_spans: Default::default(),
        fill: Vec::new(),
        codes: Vec::new(),
    }
}

/// Rows as a frame of strings ("" is missing), with the location columns the engine expects.
fn frame(rows: &[&Row]) -> PolarsResult<LazyFrame> {
    let mut names: Vec<&str> = Vec::new();
    for r in rows {
        for (k, _) in r.iter() {
            if !names.contains(&k.as_str()) {
                names.push(k);
            }
        }
    }
    let mut columns: Vec<Column> = names
        .iter()
        .map(|n| {
            let values: Vec<Option<&str>> = rows
                .iter()
                .map(|r| {
                    r.iter()
                        .find(|(k, _)| k == n)
                        .map(|(_, v)| v.as_str())
                        .filter(|v| !v.trim().is_empty())
                })
                .collect();
            Column::new((*n).into(), values)
        })
        .collect();
    let n = rows.len();
    columns.push(Column::new("_file".into(), vec!["examples"; n]));
    columns.push(Column::new("_sheet".into(), vec![None::<&str>; n]));
    columns.push(Column::new(
        "_row".into(),
        (1..=n as u64).collect::<Vec<_>>(),
    ));
    Ok(DataFrame::new(n, columns)?.lazy())
}

/// Run one rule's examples. `ctx` supplies code sets (when a store is at hand) and dictionaries;
/// a rule's own `codes` table replaces the store's.
pub fn run(rule: &Rule, mut ctx: Context) -> ExampleResult {
    if !rule.codes.is_empty() {
        let mut book = super::codebook::CodeBook::default();
        book.add_version(
            "examples",
            rule.codes.iter().map(|(c, _)| (c.clone(), false)).collect(),
            true,
        );
        book.names = rule.codes.iter().cloned().collect();
        let book = std::sync::Arc::new(book);
        for f in crate::codes::Family::ALL {
            ctx.books.insert(f, book.clone());
        }
    }
    let mut result = ExampleResult {
        id: rule.id.clone(),
        origin: rule.origin.clone(),
        examples: rule.pass.len() + rule.fail.len(),
        problems: Vec::new(),
    };
    if rule.pass.is_empty() || rule.fail.is_empty() {
        result
            .problems
            .push("needs at least one `pass` and one `fail` example".into());
        return result;
    }
    match failing_rows(rule, ctx) {
        Ok(failing) => {
            for (i, row) in rule.pass.iter().enumerate() {
                if failing.contains(&(i as u64 + 1)) {
                    result
                        .problems
                        .push(format!("pass example {} failed: {}", i + 1, show(row)));
                }
            }
            for (i, row) in rule.fail.iter().enumerate() {
                if !failing.contains(&((rule.pass.len() + i) as u64 + 1)) {
                    result
                        .problems
                        .push(format!("fail example {} passed: {}", i + 1, show(row)));
                }
            }
        }
        Err(e) => result.problems.push(format!("cannot run: {e}")),
    }
    result
}

fn show(row: &Row) -> String {
    let parts: Vec<String> = row.iter().map(|(k, v)| format!("{k} = {v:?}")).collect();
    format!("{{ {} }}", parts.join(", "))
}

/// The 1-based example rows (pass rows first, then fail rows) the rule fails.
fn failing_rows(rule: &Rule, ctx: Context) -> PolarsResult<Vec<u64>> {
    let kind = rule.datasets[0];
    let rows: Vec<&Row> = rule.pass.iter().chain(&rule.fail).collect();
    let main = dataset("examples", kind);
    let other_kind = match &rule.kind {
        RuleKind::Reference { to, .. } => Some(*to),
        RuleKind::DetailSum { detail, .. } => Some(*detail),
        _ => None,
    };
    let other = other_kind.map(|k| dataset("other", k));
    // A field no example mentions is missing in every example, not absent from the dataset.
    let mut main_frame = frame(&rows)?;
    let schema = main_frame.collect_schema()?;
    let absent = super::compile::missing_fields(rule, &schema);
    if !absent.is_empty() {
        main_frame = main_frame.with_columns(
            absent
                .iter()
                .map(|f| lit(NULL).cast(DataType::String).alias(f.as_str()))
                .collect::<Vec<_>>(),
        );
    }
    let mut inputs = vec![Input::new(&main, main_frame)];
    if let Some(o) = &other {
        let other_rows: Vec<&Row> = rule.other.iter().collect();
        if !other_rows.is_empty() {
            inputs.push(Input::new(o, frame(&other_rows)?));
        }
    }
    let opts = Options {
        samples: 0,
        rejects: true,
        clean: false,
        ..Options::default()
    };
    let (outcome, rejects) =
        super::engine::check_only(&inputs, std::slice::from_ref(rule), ctx, &opts)
            .map_err(|e| polars_err!(ComputeError: "{e}"))?;
    if let Some(skip) = outcome.datasets[0].skipped.first() {
        polars_bail!(ComputeError: "{}", skip.reason);
    }
    let Some((_, rejects)) = rejects.iter().find(|(n, _)| n == "examples") else {
        return Ok(Vec::new());
    };
    let rows = rejects.column("row")?.cast(&DataType::UInt64)?;
    Ok(rows.u64()?.iter().flatten().collect())
}
