//! Running rules over datasets: one streaming pass per chunk of a dataset computes a boolean
//! column per rule. The pass's batches are summed as they come ([`super::tally`]) into counts,
//! the dirty-data rate and per-institution figures. What a chunk leaves behind goes to a
//! [`Consumer`] as soon as the chunk is checked: its flagged (dirty or warned) records as
//! rejects, with a copy of their fields, and, when asked, its clean records (the batch planner).
//! Only a rule's first failing records are kept, as its samples. Memory follows one chunk, not
//! the input.
//!
//! Figures follow `../shared/PRODUCT.md`: a record is dirty when it fails at least one rule of
//! severity error; warnings are counted apart.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use miette::Diagnostic;
use polars::prelude::*;
use serde::Serialize;
use thiserror::Error;

use super::compile::{
    compile, detail_sum_column, missing_fields, narrowed, narrowing, typed_columns, Context,
};
use super::tally::{self, Tally};
use super::{RepeatedKey, Rule, RuleKind, Severity};
use crate::workspace::{Dataset, DatasetKind};

/// The records of a dataset from `offset`, at most `len` of them, as [`Input::frame`] would give
/// them: built so that the slice reaches the reader rather than cutting a frame already read.
pub type Slicer<'a> = Box<dyn Fn(i64, IdxSize) -> PolarsResult<LazyFrame> + 'a>;

/// A figure the caller gathers from the check's own pass: given a batch of the pass with the
/// [`Input::carry`] columns (as the frame has them), a small frame to hand to
/// [`Consumer::tallied`] (mapping coverage: one row per distinct local code).
pub type Grouper = Arc<dyn Fn(LazyFrame) -> PolarsResult<LazyFrame> + Send + Sync>;

/// A dataset to check: its declaration and its frame (after crosswalks were applied).
pub struct Input<'a> {
    /// The dataset.
    pub dataset: &'a Dataset,
    /// Its records.
    pub frame: LazyFrame,
    /// Its records a chunk at a time; without it, chunks are slices of `frame`.
    pub slicer: Option<Slicer<'a>>,
    /// Columns of `frame` carried through the pass for `grouper`.
    pub carry: Vec<String>,
    /// Run on every batch of the pass (see [`Grouper`]).
    pub grouper: Option<Grouper>,
    /// Where passes that sort more than memory should hold (a uniqueness rule's keys) put
    /// their temporary files; the system's temporary folder without one.
    pub spill: Option<std::path::PathBuf>,
}

impl<'a> Input<'a> {
    /// A dataset whose chunks are slices of `frame` (in-memory frames, tests).
    pub fn new(dataset: &'a Dataset, frame: LazyFrame) -> Self {
        Input {
            dataset,
            frame,
            slicer: None,
            carry: Vec::new(),
            grouper: None,
            spill: None,
        }
    }

    /// The same, with chunks built by `slicer`.
    pub fn sliced(
        dataset: &'a Dataset,
        frame: LazyFrame,
        slicer: impl Fn(i64, IdxSize) -> PolarsResult<LazyFrame> + 'a,
    ) -> Self {
        Input {
            dataset,
            frame,
            slicer: Some(Box::new(slicer)),
            carry: Vec::new(),
            grouper: None,
            spill: None,
        }
    }

    /// The same, with temporary files in `dir`.
    pub fn spilling_to(mut self, dir: std::path::PathBuf) -> Self {
        self.spill = Some(dir);
        self
    }

    /// The same, with `grouper` run on each batch of the pass over the `carry` columns.
    pub fn tallied(mut self, carry: Vec<String>, grouper: Grouper) -> Self {
        self.carry = carry;
        self.grouper = Some(grouper);
        self
    }

    fn chunk(&self, offset: i64, len: IdxSize) -> PolarsResult<LazyFrame> {
        match &self.slicer {
            Some(f) => f(offset, len),
            None => Ok(self.frame.clone().slice(offset, len)),
        }
    }
}

/// One rule's figures on one dataset.
#[derive(Debug, Clone, Serialize)]
pub struct RuleResult {
    /// Rule id.
    pub id: String,
    /// Chinese title.
    pub title: String,
    /// English title.
    pub title_en: String,
    /// Pack.
    pub pack: String,
    /// error | warning.
    pub severity: Severity,
    /// The dimension.
    pub dimension: super::Dimension,
    /// Records the rule applies to.
    pub applicable: u64,
    /// Records failing it.
    pub failed: u64,
    /// failed / applicable.
    pub rate: f64,
    /// Up to N failing records with their source location.
    pub samples: Vec<Sample>,
    /// What the rule checked without, when a field it reads is not in the dataset and it
    /// checked what is present (`compile::narrowing`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub narrowed: Vec<String>,
    /// A `unique` rule's choice of which records of a repeated key fail.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repeats: Option<RepeatedKey>,
}

/// Where a failing record is in the source.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Sample {
    /// Source file.
    pub file: String,
    /// Sheet, for workbooks.
    pub sheet: Option<String>,
    /// 1-based row (line) in the file.
    pub row: u64,
    /// The record's key fields.
    pub key: BTreeMap<String, String>,
}

/// A rule that could not run on a dataset, and why.
#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    /// Rule id.
    pub id: String,
    /// Why.
    pub reason: String,
    /// The fields it needs that the dataset does not map, when that is why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
}

/// An institution's figures on one dataset.
#[derive(Debug, Clone, Serialize)]
pub struct InstitutionResult {
    /// fixmedins_code.
    pub code: String,
    /// Records.
    pub records: u64,
    /// Dirty records.
    pub dirty: u64,
    /// dirty / records.
    pub rate: f64,
}

/// One dataset's figures.
#[derive(Debug, Clone, Serialize)]
pub struct DatasetResult {
    /// Dataset name.
    pub name: String,
    /// Its kind.
    pub kind: DatasetKind,
    /// Its area.
    pub area: Option<String>,
    /// Records.
    pub records: u64,
    /// Records failing at least one error rule.
    pub dirty: u64,
    /// dirty / records.
    pub rate: f64,
    /// Records failing only warnings... or warnings at all: records with at least one warning.
    pub warned: u64,
    /// Per rule.
    pub rules: Vec<RuleResult>,
    /// Rules that did not run.
    pub skipped: Vec<Skipped>,
    /// Per institution, highest rate first.
    pub institutions: Vec<InstitutionResult>,
}

/// What a check found.
pub struct Outcome {
    /// Per dataset.
    pub datasets: Vec<DatasetResult>,
}

/// Settings of a check.
#[derive(Debug, Clone)]
pub struct Options {
    /// Sample rows kept per rule.
    pub samples: usize,
    /// Hand each chunk's rejects to the consumer ([`Consumer::rejects`]).
    pub rejects: bool,
    /// Hand each chunk's clean records to the consumer ([`Consumer::clean`]), for `batch`.
    pub clean: bool,
    /// Records per pass ([`chunk_rows`]).
    pub chunk_rows: IdxSize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            samples: 5,
            rejects: true,
            clean: false,
            chunk_rows: chunk_rows(),
        }
    }
}

/// Records evaluated per streaming pass: 1,048,576 (eight of the read cache's row groups), or
/// `YIBAO_CHUNK_ROWS`. The streaming engine reads ahead of a slow sink, so that one pass over a
/// whole dataset can hold most of it decoded at once; a pass per chunk bounds that to a chunk.
pub fn chunk_rows() -> IdxSize {
    std::env::var("YIBAO_CHUNK_ROWS")
        .ok()
        .and_then(|v| v.parse::<IdxSize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(1 << 20)
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// Why a check failed.
#[derive(Debug, Error, Diagnostic)]
pub enum EngineError {
    /// One rule cannot run on these records (a comparison of mismatched types, a strict cast, a
    /// value its SQL cannot take): a mistake of the pack, named with the rule, exit 2.
    #[error("rule `{rule}` of pack `{pack}` ({origin}) failed on dataset `{dataset}`: {detail}")]
    #[diagnostic(
        code(yibao::rules::failed),
        help("fix the rule in its pack (`yibao rules test` runs its examples), or run without that pack (--pack)")
    )]
    Rule {
        /// The rule id.
        rule: String,
        /// Its pack.
        pack: String,
        /// `file:line` of the rule.
        origin: String,
        /// The dataset it failed on.
        dataset: String,
        /// The query engine's message.
        detail: String,
    },
    /// The query engine failed otherwise.
    #[error("{0}")]
    #[diagnostic(code(yibao::internal::polars))]
    Polars(#[from] PolarsError),
    /// The consumer of clean records stopped the check (its own error says why).
    #[error("the check was stopped by what its clean records were handed to")]
    #[diagnostic(code(yibao::internal::stopped))]
    Stopped,
}

impl EngineError {
    fn rule(rule: &Rule, dataset: &str, e: &PolarsError) -> EngineError {
        EngineError::Rule {
            rule: rule.id.clone(),
            pack: rule.pack.clone(),
            origin: rule.origin.clone(),
            dataset: dataset.to_string(),
            detail: e.to_string(),
        }
    }
}

/// What a check hands over, chunk by chunk, in the dataset's order. A consumer that fails keeps
/// its error and returns [`Stop`]; the check then ends with [`EngineError::Stopped`].
pub trait Consumer {
    /// A chunk's dirty or warned records ([`Options::rejects`]): `file, sheet, row, errors,
    /// warnings` (rule ids joined by `;`), then the record's fields as read. Chunks without any
    /// are not handed over.
    fn rejects(&mut self, dataset: &Dataset, rejects: &DataFrame) -> Result<(), Stop> {
        let _ = (dataset, rejects);
        Ok(())
    }

    /// What the input's [`Grouper`] made of a chunk's batches, one frame per batch, in order.
    fn tallied(&mut self, dataset: &Dataset, grouped: &DataFrame) -> Result<(), Stop> {
        let _ = (dataset, grouped);
        Ok(())
    }

    /// A chunk's clean records ([`Options::clean`]): the fields as read (text, crosswalks
    /// applied). After the last chunk, an empty frame of the same columns with `last` marks the
    /// dataset's end.
    fn clean(&mut self, dataset: &Dataset, records: &DataFrame, last: bool) -> Result<(), Stop> {
        let _ = (dataset, records, last);
        Ok(())
    }
}

/// The consumer of a check's records failed (it holds the reason).
#[derive(Debug, Clone, Copy)]
pub struct Stop;

/// A consumer that keeps every dataset's rejects in memory: for small checks (a rule's
/// examples, tests), never for a workspace's data.
#[derive(Default)]
pub struct Collect {
    /// Per dataset with any, its rejects in order.
    pub rejects: Vec<(String, DataFrame)>,
}

impl Consumer for Collect {
    fn rejects(&mut self, dataset: &Dataset, rejects: &DataFrame) -> Result<(), Stop> {
        match self.rejects.last_mut() {
            Some((name, df)) if *name == dataset.name => {
                df.vstack_mut(rejects).map_err(|_| Stop)?;
            }
            _ => self.rejects.push((dataset.name.clone(), rejects.clone())),
        }
        Ok(())
    }
}

/// Check `inputs` against `rules`. `ctx` carries code sets and dictionaries; references to other
/// datasets are filled in here. Each chunk's rejects and (with [`Options::clean`]) clean records
/// go to `consumer` before the next chunk is read; an error there stops the check.
pub fn check(
    inputs: &[Input<'_>],
    rules: &[Rule],
    mut ctx: Context,
    opts: &Options,
    consumer: &mut dyn Consumer,
) -> Result<Outcome, EngineError> {
    prepare_references(inputs, rules, &mut ctx, opts.chunk_rows)?;
    let sums = prepare_detail_sums(inputs, rules, opts.chunk_rows)?;
    let mut datasets = Vec::new();
    for input in inputs {
        datasets.push(check_one(input, rules, &ctx, &sums, opts, consumer)?);
    }
    Ok(Outcome { datasets })
}

/// A check whose rejects are kept in memory and returned beside the figures (small inputs).
pub fn check_only(
    inputs: &[Input<'_>],
    rules: &[Rule],
    ctx: Context,
    opts: &Options,
) -> Result<(Outcome, Vec<(String, DataFrame)>), EngineError> {
    let mut keep = Collect::default();
    let outcome = check(inputs, rules, ctx, opts, &mut keep)?;
    Ok((outcome, keep.rejects))
}

/// Distinct values of every field that a `reference` rule points at.
fn prepare_references(
    inputs: &[Input<'_>],
    rules: &[Rule],
    ctx: &mut Context,
    chunk_rows: IdxSize,
) -> PolarsResult<()> {
    for rule in rules {
        let RuleKind::Reference {
            field,
            to,
            to_field,
            ..
        } = &rule.kind
        else {
            continue;
        };
        let target = to_field.clone().unwrap_or_else(|| field.clone());
        if ctx.references.contains_key(&(*to, target.clone())) {
            continue;
        }
        // The target's values, a chunk at a time, into sorted digests on disk.
        let mut builder = None;
        for i in inputs.iter().filter(|i| i.dataset.kind == *to) {
            if !i.frame.clone().collect_schema()?.contains(&target) {
                continue;
            }
            let b = builder
                .get_or_insert_with(|| super::positions::TargetsBuilder::new(i.spill.as_deref()));
            let value = [col(target.as_str()).cast(DataType::String)];
            each_chunk(i, &[], &value, chunk_rows, |df, offset| {
                super::positions::each_row(df, offset, |v, _| b.push(v[0]))
            })?;
        }
        if let Some(b) = builder {
            let targets = b.finish().map_err(PolarsError::from)?;
            ctx.references.insert((*to, target), Arc::new(targets));
        }
    }
    Ok(())
}

/// Every chunk of `input`, typed by `typed`, as the columns `select`: `each(frame, offset)`.
fn each_chunk(
    input: &Input,
    typed: &[Expr],
    select: &[Expr],
    chunk_rows: IdxSize,
    mut each: impl FnMut(&DataFrame, u64) -> PolarsResult<()>,
) -> PolarsResult<()> {
    let mut offset: i64 = 0;
    loop {
        let df = input
            .chunk(offset, chunk_rows)?
            .with_columns(typed.to_vec())
            .select(select.to_vec())
            .collect()?;
        let n = df.height();
        each(&df, offset as u64)?;
        if n < chunk_rows as usize {
            return Ok(());
        }
        offset += n as i64;
    }
}

/// Per `detail-sum` rule: the detail lines' amounts summed by key, a chunk at a time into
/// sorted digests on disk ([`super::positions::Sums`]), so the detail dataset's keys are never
/// all in memory (a hash aggregation of 50 million fee lines into 5 million sums held about a
/// gigabyte, and joining it on every chunk of settlements rebuilt its table each time).
fn prepare_detail_sums(
    inputs: &[Input<'_>],
    rules: &[Rule],
    chunk_rows: IdxSize,
) -> PolarsResult<BTreeMap<String, super::positions::Sums>> {
    let mut out = BTreeMap::new();
    for rule in rules {
        let RuleKind::DetailSum {
            detail,
            detail_field,
            key,
            ..
        } = &rule.kind
        else {
            continue;
        };
        let mut builder = None;
        for i in inputs.iter().filter(|i| i.dataset.kind == *detail) {
            let schema = i.frame.clone().collect_schema()?;
            if !(schema.contains(key) && schema.contains(detail_field)) {
                continue;
            }
            let b = builder
                .get_or_insert_with(|| super::positions::SumsBuilder::new(i.spill.as_deref()));
            let select = [
                col(key.as_str()).cast(DataType::String),
                col(detail_field.as_str())
                    .str()
                    .strip_chars(lit(NULL))
                    .cast(DataType::Float64),
            ];
            each_chunk(i, &[], &select, chunk_rows, |df, _| {
                let keys = df.columns()[0].str()?;
                let amounts = df.columns()[1].f64()?;
                for (k, a) in keys.iter().zip(amounts.iter()) {
                    // A line without a key belongs to no total; one without an amount adds
                    // nothing (a total with no summed line is compared with 0).
                    if let (Some(k), Some(a)) = (k, a) {
                        b.push(k, a).map_err(PolarsError::from)?;
                    }
                }
                Ok(())
            })?;
        }
        if let Some(b) = builder {
            out.insert(rule.id.clone(), b.finish().map_err(PolarsError::from)?);
        }
    }
    Ok(out)
}

/// The sums a `detail-sum` rule's totals are compared with, by the position of their record:
/// a pass over the key field, sorted on disk against `sums`.
fn summed(
    input: &Input,
    typed: &[Expr],
    key: &str,
    sums: &super::positions::Sums,
    chunk_rows: IdxSize,
) -> PolarsResult<super::positions::SumsAt> {
    let mut s = super::positions::Summed::new(input.spill.as_deref());
    let value = [col(key).cast(DataType::String)];
    each_chunk(input, typed, &value, chunk_rows, |df, offset| {
        super::positions::each_row(df, offset, |v, p| s.push(v[0], p))
    })?;
    s.finish(sums).map_err(PolarsError::from)
}

/// The frame joined on a chunk for a `detail-sum` rule: its records' positions and sums.
fn sums_frame(column: &str, rows: &[(u64, f64)]) -> PolarsResult<DataFrame> {
    let positions: Vec<u64> = rows.iter().map(|r| r.0).collect();
    let sums: Vec<f64> = rows.iter().map(|r| r.1).collect();
    let index = Series::new(ROW_INDEX.into(), positions).cast(&IDX_DTYPE)?;
    DataFrame::new(
        rows.len(),
        vec![index.into(), Series::new(column.into(), sums).into()],
    )
}

fn check_one(
    input: &Input<'_>,
    rules: &[Rule],
    ctx: &Context,
    sums: &BTreeMap<String, super::positions::Sums>,
    opts: &Options,
    consumer: &mut dyn Consumer,
) -> Result<DatasetResult, EngineError> {
    let ds = input.dataset;
    let mut frame = input.frame.clone();
    let schema = frame.collect_schema()?;
    let (typed_exprs, typed) = typed_columns(&schema);
    // The rejects carry the record's own fields as read: copies taken before typing, so the
    // one pass yields them for the flagged rows and the cache need not be read and joined again.
    let fields: Vec<(String, String)> = if opts.rejects || opts.clean {
        schema
            .iter_names()
            .filter(|n| !n.starts_with('_'))
            .enumerate()
            .map(|(n, name)| (format!("__raw{n}"), name.to_string()))
            .collect()
    } else {
        Vec::new()
    };
    let copies: Vec<Expr> = fields
        .iter()
        .map(|(raw, name)| col(name.as_str()).alias(raw.as_str()))
        .collect();
    let mut skipped = Vec::new();
    let mut active: Vec<&Rule> = Vec::new();
    // Detail sums joined on by position: (rule, key, its sums).
    let mut joins: Vec<(&Rule, &str, &super::positions::Sums)> = Vec::new();
    for rule in rules.iter().filter(|r| r.datasets.contains(&ds.kind)) {
        let missing = missing_fields(rule, &schema);
        if !missing.is_empty() {
            skipped.push(Skipped {
                id: rule.id.clone(),
                reason: format!("not mapped in this dataset: {}", missing.join(", ")),
                fields: missing,
            });
            continue;
        }
        if let RuleKind::DetailSum { detail, key, .. } = &rule.kind {
            let Some(s) = sums.get(&rule.id) else {
                skipped.push(Skipped {
                    id: rule.id.clone(),
                    reason: format!("no {detail} dataset with the fields it needs"),
                    fields: Vec::new(),
                });
                continue;
            };
            joins.push((rule, key.as_str(), s));
        }
        if let RuleKind::Reference {
            field,
            to,
            to_field,
        } = &rule.kind
        {
            let target = to_field.clone().unwrap_or_else(|| field.clone());
            if !ctx.references.contains_key(&(*to, target)) {
                skipped.push(Skipped {
                    id: rule.id.clone(),
                    reason: format!("no {to} dataset to look the value up in"),
                    fields: Vec::new(),
                });
                continue;
            }
        }
        active.push(rule);
    }
    let mut select = vec![col("_file"), col("_sheet"), col("_row")];
    let inst = schema.contains("fixmedins_code");
    if inst {
        select.push(col("fixmedins_code").cast(DataType::String).alias("__inst"));
    }
    let keys: Vec<String> = ds
        .key
        .iter()
        .filter(|k| schema.contains(k))
        .cloned()
        .collect();
    for (n, k) in keys.iter().enumerate() {
        select.push(
            col(k.as_str())
                .cast(DataType::String)
                .alias(format!("__k{n}")),
        );
    }
    // Each detail-sum rule's sums by position, taken a chunk at a time (`sums_frame`).
    let mut sums_at = Vec::new();
    for (rule, key, s) in &joins {
        let at = summed(input, &typed_exprs, key, s, opts.chunk_rows)
            .map_err(|e| EngineError::rule(rule, &ds.name, &e))?;
        sums_at.push((detail_sum_column(&rule.id), at));
    }
    let no_sums: Vec<DataFrame> = sums_at
        .iter()
        .map(|(c, _)| sums_frame(c, &[]))
        .collect::<PolarsResult<_>>()?;
    // Typing replaces the fields in place; the copies keep the text. `sums` are the chunk's
    // detail sums, one frame per detail-sum rule.
    let prepare = |frame: LazyFrame, sums: &[DataFrame]| -> LazyFrame {
        let mut lf = frame
            .with_columns(copies.clone())
            .with_columns(typed_exprs.clone());
        for s in sums {
            lf = lf.join(
                s.clone().lazy(),
                [col(ROW_INDEX)],
                [col(ROW_INDEX)],
                JoinArgs {
                    maintain_order: MaintainOrderJoin::Left,
                    ..JoinArgs::new(JoinType::Left)
                },
            );
        }
        lf
    };
    let mut counted = Vec::new();
    let mut indexed = !sums_at.is_empty();
    // Each rule's own expressions, to name the one that fails when the whole query does.
    let mut probes: Vec<Expr> = Vec::new();
    // Per rule judged by position (uniqueness, reference): its place in `select`, what it
    // applies to, the sorted positions of
    // the records failing it and its column.
    let mut positional_slots: Vec<(usize, Expr, Vec<u64>, String)> = Vec::new();
    for (n, rule) in active.iter().enumerate() {
        let mut c = compile(&narrowed(rule, &schema), &typed, ctx)
            .map_err(|e| EngineError::rule(rule, &ds.name, &e))?;
        // A key's first record is known only over the whole dataset, a value's presence only
        // over the whole target: one pass finds the records that fail by position, and each
        // chunk looks its records up.
        let positional = match &rule.kind {
            RuleKind::Unique { fields, repeats } => Some(repeated(
                input,
                &typed_exprs,
                fields,
                *repeats,
                opts.chunk_rows,
            )),
            RuleKind::Reference {
                field,
                to,
                to_field,
            } => {
                let target = to_field.clone().unwrap_or_else(|| field.clone());
                ctx.references
                    .get(&(*to, target))
                    .map(|t| missing(input, &typed_exprs, field, t, opts.chunk_rows))
            }
            _ => None,
        };
        if let Some(positions) = positional {
            let positions = positions.map_err(|e| EngineError::rule(rule, &ds.name, &e))?;
            c.fails = repeats_in(&c.applies, &positions);
            // Each chunk gets the positions that fall inside it (`repeats_in`), not the whole
            // dataset's: a list of every repeat, looked up by every batch, made the check
            // quadratic in the dataset's size.
            positional_slots.push((select.len(), c.applies.clone(), positions, format!("f{n}")));
            indexed = true;
        }
        probes.push(c.fails.clone().or(c.applies.clone()));
        select.push(c.fails.alias(format!("f{n}")));
        counted.push(format!("f{n}"));
        if rule.when.is_some() {
            select.push(c.applies.alias(format!("a{n}")));
            counted.push(format!("a{n}"));
        }
    }
    select.extend(fields.iter().map(|(raw, _)| col(raw.as_str())));
    let carry: Vec<String> = input
        .carry
        .iter()
        .filter(|c| schema.contains(c))
        .cloned()
        .collect();
    select.extend(carry.iter().map(|c| col(c.as_str())));
    let errors: Vec<Expr> = active
        .iter()
        .enumerate()
        .filter(|(_, r)| r.severity == Severity::Error)
        .map(|(n, _)| col(format!("f{n}")))
        .collect();
    let warnings: Vec<Expr> = active
        .iter()
        .enumerate()
        .filter(|(_, r)| r.severity == Severity::Warning)
        .map(|(n, _)| col(format!("f{n}")))
        .collect();
    let flag = |v: &[Expr]| -> PolarsResult<Expr> {
        Ok(if v.is_empty() {
            lit(false)
        } else {
            any_horizontal(v.to_vec())?
        })
    };
    let flags = [
        flag(&errors)?.alias("__dirty"),
        flag(&warnings)?.alias("__warn"),
    ];
    let query = |frame: LazyFrame| -> LazyFrame {
        prepare(frame, &no_sums)
            .select(select.clone())
            .with_columns(flags.clone())
    };
    // The query of the chunk of `len` records from `offset`: uniqueness rules look up only
    // the repeats inside it.
    let chunk_query =
        |frame: LazyFrame, offset: i64, len: IdxSize, sums: &[DataFrame]| -> LazyFrame {
            if positional_slots.is_empty() {
                return prepare(frame, sums)
                    .select(select.clone())
                    .with_columns(flags.clone());
            }
            let mut sel = select.clone();
            let (lo, hi) = (offset as u64, offset as u64 + len as u64);
            for (slot, applies, positions, name) in &positional_slots {
                let from = positions.partition_point(|p| *p < lo);
                let to = positions.partition_point(|p| *p < hi);
                sel[*slot] = repeats_in(applies, &positions[from..to]).alias(name.as_str());
            }
            prepare(frame, sums).select(sel).with_columns(flags.clone())
        };
    let indexing = |frame: LazyFrame, offset: i64| -> LazyFrame {
        if indexed {
            frame.with_row_index(ROW_INDEX, Some(offset as IdxSize))
        } else {
            frame
        }
    };
    // A query error is some rule's: run each alone to name it.
    let blame = |frame: LazyFrame, e: PolarsError| -> EngineError {
        for (rule, probe) in active.iter().zip(&probes) {
            let alone = prepare(frame.clone(), &no_sums).select([probe.clone()]);
            if let Err(err) = alone.collect() {
                return EngineError::rule(rule, &ds.name, &err);
            }
        }
        EngineError::Polars(e)
    };
    let out_schema = query(indexing(input.frame.clone(), 0))
        .collect_schema()
        .map_err(|e| blame(indexing(input.frame.clone().slice(0, 1000), 0), e))?;
    counted.push("__dirty".into());
    counted.push("__warn".into());
    // A streaming pass per chunk: figures are summed batch by batch, only flagged rows are
    // kept. Chunks come in the dataset's order, so samples are its first failing records.
    let mut tally = Tally {
        clean_columns: opts.clean.then(|| fields.clone()),
        grouper: input.grouper.clone().map(|g| (carry.clone(), g)),
        ..Tally::default()
    };
    let mut offset: i64 = 0;
    // Each rule's first failing records, from the first chunks that have them.
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); active.len()];
    loop {
        let chunk = indexing(input.chunk(offset, opts.chunk_rows)?, offset);
        let before = tally.records;
        let end = offset as u64 + opts.chunk_rows as u64;
        let sums = sums_at
            .iter_mut()
            .map(|(c, at)| sums_frame(c, &at.below(end).map_err(PolarsError::from)?))
            .collect::<PolarsResult<Vec<_>>>()?;
        let q = chunk_query(chunk.clone(), offset, opts.chunk_rows, &sums);
        if let Err(e) = tally::run(&mut tally, q, &counted, inst) {
            return Err(blame(chunk, e));
        }
        // What the chunk leaves behind goes out before the next chunk is read.
        let flagged = tally.flagged_frame(&out_schema)?;
        for (n, kept) in samples.iter_mut().enumerate() {
            if kept.len() < opts.samples && flagged.height() > 0 {
                let more =
                    samples_of(&flagged, &format!("f{n}"), &keys, opts.samples - kept.len())?;
                kept.extend(more);
            }
        }
        if opts.rejects && flagged.height() > 0 {
            let rejects = rejects_of(&flagged, &active, &fields)?;
            drop(flagged);
            consumer
                .rejects(ds, &rejects)
                .map_err(|Stop| EngineError::Stopped)?;
        }
        for part in std::mem::take(&mut tally.grouped) {
            consumer
                .tallied(ds, &part)
                .map_err(|Stop| EngineError::Stopped)?;
        }
        for part in std::mem::take(&mut tally.clean) {
            consumer
                .clean(ds, &part, false)
                .map_err(|Stop| EngineError::Stopped)?;
        }
        let read = tally.records - before;
        if read < opts.chunk_rows as u64 {
            break;
        }
        offset += read as i64;
    }
    if opts.clean {
        let columns: Vec<Column> = fields
            .iter()
            .map(|(_, name)| Column::new_empty(name.as_str().into(), &DataType::String))
            .collect();
        let end = DataFrame::new(0, columns)?;
        consumer
            .clean(ds, &end, true)
            .map_err(|Stop| EngineError::Stopped)?;
    }
    tally.sums.resize(counted.len(), 0);
    let records = tally.records;
    let sums: HashMap<&str, u64> = counted
        .iter()
        .map(String::as_str)
        .zip(tally.sums.iter().copied())
        .collect();
    let count = |name: &str| -> u64 { sums.get(name).copied().unwrap_or(0) };
    let dirty = count("__dirty");
    let warned = count("__warn");
    let mut results = Vec::new();
    for ((n, rule), samples) in active.iter().enumerate().zip(samples) {
        let failed = count(&format!("f{n}"));
        let applicable = if rule.when.is_some() {
            count(&format!("a{n}"))
        } else {
            records
        };
        results.push(RuleResult {
            id: rule.id.clone(),
            title: rule.title.clone(),
            title_en: rule.title_en.clone(),
            pack: rule.pack.clone(),
            severity: rule.severity,
            dimension: rule.dimension,
            applicable,
            failed,
            rate: ratio(failed, applicable),
            samples,
            narrowed: narrowing(rule, &schema),
            repeats: match &rule.kind {
                RuleKind::Unique { repeats, .. } => Some(*repeats),
                _ => None,
            },
        });
    }
    let institutions = if inst {
        institutions_of(&tally)
    } else {
        Vec::new()
    };
    Ok(DatasetResult {
        name: ds.name.clone(),
        kind: ds.kind,
        area: ds.area.clone(),
        records,
        dirty,
        rate: ratio(dirty, records),
        warned,
        rules: results,
        skipped,
        institutions,
    })
}

/// The column numbering a dataset's records for uniqueness rules.
const ROW_INDEX: &str = "__idx";

/// A uniqueness rule's failure: it applies and the record's position is one of `positions`.
fn repeats_in(applies: &Expr, positions: &[u64]) -> Expr {
    let list = Series::new("__later".into(), positions)
        .cast(&IDX_DTYPE)
        .unwrap_or_else(|_| Series::new_empty("__later".into(), &IDX_DTYPE));
    applies
        .clone()
        .and(col(ROW_INDEX).is_in(lit(list).implode(false), false))
}

/// Positions (as [`ROW_INDEX`] numbers them) of the records whose key (`fields`, typed) an
/// earlier record of the dataset has (or, with [`RepeatedKey::All`], any other record),
/// ascending: a pass over the key fields a chunk at a time, sorted on disk (`positions`), so
/// the dataset's keys are never all in memory.
fn repeated(
    input: &Input,
    typed: &[Expr],
    fields: &[String],
    mode: RepeatedKey,
    chunk_rows: IdxSize,
) -> PolarsResult<Vec<u64>> {
    let mut repeats = super::positions::Repeats::new(input.spill.as_deref());
    let keys: Vec<Expr> = fields
        .iter()
        .map(|f| col(f.as_str()).cast(DataType::String))
        .collect();
    each_chunk(input, typed, &keys, chunk_rows, |df, offset| {
        super::positions::push_chunk(&mut repeats, df, offset)
    })?;
    repeats.finish(mode).map_err(PolarsError::from)
}

/// Positions of the records whose `field` (typed, as text) `targets` lacks, ascending.
fn missing(
    input: &Input,
    typed: &[Expr],
    field: &str,
    targets: &super::positions::Targets,
    chunk_rows: IdxSize,
) -> PolarsResult<Vec<u64>> {
    let mut misses = super::positions::Misses::new(input.spill.as_deref());
    let value = [col(field).cast(DataType::String)];
    each_chunk(input, typed, &value, chunk_rows, |df, offset| {
        super::positions::each_row(df, offset, |v, p| misses.push(v[0], p))
    })?;
    misses.finish(targets).map_err(PolarsError::from)
}

fn samples_of(df: &DataFrame, flag: &str, keys: &[String], n: usize) -> PolarsResult<Vec<Sample>> {
    let hit = df
        .clone()
        .lazy()
        .filter(col(flag))
        .limit(n as IdxSize)
        .collect()?;
    let file = hit.column("_file")?.cast(&DataType::String)?;
    let sheet = hit.column("_sheet")?.cast(&DataType::String)?;
    let row = hit.column("_row")?.cast(&DataType::UInt64)?;
    let key_cols: Vec<Column> = (0..keys.len())
        .map(|k| hit.column(&format!("__k{k}")).cloned())
        .collect::<PolarsResult<_>>()?;
    let mut out = Vec::new();
    for i in 0..hit.height() {
        let text = |c: &Column| -> Option<String> {
            c.str().ok().and_then(|s| s.get(i)).map(str::to_string)
        };
        out.push(Sample {
            file: text(&file).unwrap_or_default(),
            sheet: text(&sheet),
            row: row.u64()?.get(i).unwrap_or(0),
            key: keys
                .iter()
                .zip(&key_cols)
                .filter_map(|(k, c)| text(c).map(|v| (k.clone(), v)))
                .collect(),
        });
    }
    Ok(out)
}

fn institutions_of(tally: &Tally) -> Vec<InstitutionResult> {
    let mut out: Vec<InstitutionResult> = tally
        .institutions
        .iter()
        .map(|(code, &(r, d))| InstitutionResult {
            code: code.clone().unwrap_or_default(),
            records: r,
            dirty: d,
            rate: ratio(d, r),
        })
        .collect();
    out.sort_by(|a, b| b.rate.total_cmp(&a.rate).then(a.code.cmp(&b.code)));
    out
}

/// The dirty (or warned) records: location, the rules failed, then the record's own fields
/// (`fields`: the copy's column and the field's name), in the order read.
fn rejects_of(
    flagged: &DataFrame,
    active: &[&Rule],
    fields: &[(String, String)],
) -> PolarsResult<DataFrame> {
    let list = |sev: Severity| -> Expr {
        let parts: Vec<Expr> = active
            .iter()
            .enumerate()
            .filter(|(_, r)| r.severity == sev)
            .map(|(n, r)| {
                when(col(format!("f{n}")))
                    .then(lit(r.id.clone()))
                    .otherwise(lit(NULL).cast(DataType::String))
            })
            .collect();
        if parts.is_empty() {
            lit("")
        } else {
            concat_str(parts, ";", true)
        }
    };
    let mut cols = vec![
        col("_file").alias("file"),
        col("_sheet")
            .cast(DataType::String)
            .fill_null(lit(""))
            .alias("sheet"),
        col("_row").alias("row"),
        list(Severity::Error).alias("errors"),
        list(Severity::Warning).alias("warnings"),
    ];
    cols.extend(
        fields
            .iter()
            .map(|(raw, name)| col(raw.as_str()).alias(name.as_str())),
    );
    // Chunks and batches come in the dataset's order: files sorted by path, sheets in workbook
    // order, rows ascending (source order, docs/REPORT.md).
    flagged.clone().lazy().select(cols).collect()
}
