//! `profile`: what a dataset holds, column by column — rows, inferred type, null / blank /
//! distinct rates, min / max, top values, columns that look like national codes (which family,
//! share well-formed) or legacy codes, and suspicious columns (codes that lost leading zeros,
//! mixed date formats, Excel damage).
//!
//! Counts over the whole data run as polars aggregations on the streaming engine (memory does
//! not grow with the input); what needs a look at values (types, code families, date layouts,
//! value shapes) is measured on the first [`SAMPLE_ROWS`] rows, and says so.

pub mod render;
mod sample;

use std::collections::BTreeMap;

use polars::prelude::*;
use serde::Serialize;

use crate::codes::Family;
use crate::source::{FileReport, ReadError};

pub use sample::{CodeGuess, ColumnSample, InferredType};

/// Rows looked at for what needs the values themselves.
pub const SAMPLE_ROWS: usize = 100_000;
/// Above this many distinct values a column's top values are not counted (they are ids).
const TOP_DISTINCT_LIMIT: u64 = 1_000_000;
/// Top values listed per column.
const TOP_K: usize = 5;

/// The profile of one column.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnProfile {
    /// Column name.
    pub name: String,
    /// Inferred type.
    pub inferred_type: InferredType,
    /// Values present.
    pub non_null: u64,
    /// Missing values (empty, blank or placeholder).
    pub nulls: u64,
    /// Share of rows missing.
    pub null_rate: f64,
    /// Values that were only spaces or a placeholder (`--`, `nan` …), part of `nulls`.
    pub blanks: u64,
    /// Share of rows blank.
    pub blank_rate: f64,
    /// Distinct values.
    pub distinct: u64,
    /// Distinct / rows.
    pub distinct_rate: f64,
    /// True when `distinct` was counted exactly (the whole column fitted in the sample);
    /// otherwise it is a HyperLogLog estimate.
    pub distinct_exact: bool,
    /// Smallest value (numbers compared as numbers, text as text; dates in legacy or mixed
    /// layouts compared as dates, on the sample).
    pub min: Option<String>,
    /// Largest value.
    pub max: Option<String>,
    /// Most frequent values with their counts (not counted for near-unique columns).
    pub top: Vec<(String, u64)>,
    /// National code family the values look like, with the share well-formed (on the sample).
    pub national_code: Option<CodeGuess>,
    /// A legacy (local) code column: the most common value shape, e.g. `A9999999AA99`.
    pub legacy_code: Option<String>,
    /// Things that look wrong.
    pub suspicious: Vec<String>,
}

/// The profile of a dataset or file.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    /// What was profiled (a dataset name or a file).
    pub target: String,
    /// Records.
    pub rows: u64,
    /// What reading each file found (encoding, header, defects).
    pub files: Vec<FileReport>,
    /// Rows in the sample used for types, families and shapes.
    pub sample_rows: u64,
    /// One entry per column.
    pub columns: Vec<ColumnProfile>,
}

/// Columns the readers add, not part of the data.
pub fn is_internal(name: &str) -> bool {
    matches!(name, "_row" | "_file" | "_sheet" | "_defect" | "_raw")
}

fn err(e: PolarsError) -> ReadError {
    ReadError::Polars {
        path: "profile".into(),
        detail: e.to_string(),
    }
}

/// Run a query on the streaming engine.
pub fn collect(frame: LazyFrame) -> PolarsResult<DataFrame> {
    frame
        .collect_with_engine(Engine::Streaming)
        .map(|r| r.unwrap_single())
}

/// Profile `frame`, read from `files`, with per-column blank counts from the readers.
pub fn profile(
    target: String,
    frame: LazyFrame,
    files: Vec<FileReport>,
    blanks: &BTreeMap<String, u64>,
) -> Result<Profile, ReadError> {
    let schema = frame.clone().collect_schema().map_err(err)?;
    let names: Vec<String> = schema
        .iter_names()
        .map(|n| n.to_string())
        .filter(|n| !is_internal(n))
        .collect();
    let sample_df = collect(
        frame
            .clone()
            .select(names.iter().map(|n| col(n.as_str())).collect::<Vec<_>>())
            .limit(SAMPLE_ROWS as IdxSize),
    )
    .map_err(err)?;
    let samples: Vec<ColumnSample> = names
        .iter()
        .map(|n| sample::analyse(n, sample_df.column(n).ok()))
        .collect();

    // One pass for the whole-data counts.
    let mut exprs = vec![len().alias("__rows")];
    for (i, (n, s)) in names.iter().zip(&samples).enumerate() {
        let c = col(n.as_str());
        exprs.push(c.clone().null_count().alias(format!("{i}_null")));
        exprs.push(c.clone().approx_n_unique().alias(format!("{i}_distinct")));
        let (lo, hi) = if s.inferred_type.is_numeric() {
            let num = c.cast(DataType::Float64);
            (
                num.clone().min().cast(DataType::String),
                num.max().cast(DataType::String),
            )
        } else {
            let text = c.cast(DataType::String);
            (text.clone().min(), text.max())
        };
        exprs.push(lo.alias(format!("{i}_min")));
        exprs.push(hi.alias(format!("{i}_max")));
    }
    let stats = collect(frame.clone().select(exprs)).map_err(err)?;
    let get_u64 = |name: &str| -> u64 {
        stats
            .column(name)
            .ok()
            .and_then(|c| c.get(0).ok())
            .and_then(|v| v.extract::<u64>())
            .unwrap_or(0)
    };
    let get_str = |name: &str| -> Option<String> {
        stats
            .column(name)
            .ok()
            .and_then(|c| c.get(0).ok())
            .and_then(|v| match v {
                AnyValue::Null => None,
                AnyValue::String(s) => Some(s.to_string()),
                AnyValue::StringOwned(s) => Some(s.to_string()),
                other => Some(other.to_string()),
            })
    };
    let rows = get_u64("__rows");
    let rate = |n: u64| {
        if rows == 0 {
            0.0
        } else {
            round4(n as f64 / rows as f64)
        }
    };
    let mut columns = Vec::with_capacity(names.len());
    for (i, (name, s)) in names.iter().zip(samples).enumerate() {
        let nulls = get_u64(&format!("{i}_null"));
        // The sample is all the data for small inputs: then the distinct count is exact.
        let exact = sample_df.height() as u64 == rows;
        let distinct = if exact {
            s.distinct
        } else {
            get_u64(&format!("{i}_distinct")).min(rows - nulls.min(rows))
        };
        let top = if distinct <= TOP_DISTINCT_LIMIT && distinct > 0 {
            top_values(&frame, name)?
        } else {
            Vec::new()
        };
        let blank = blanks.get(name).copied().unwrap_or(0);
        let mut suspicious = s.suspicious.clone();
        suspicious.sort();
        columns.push(ColumnProfile {
            name: name.clone(),
            inferred_type: s.inferred_type,
            non_null: rows - nulls.min(rows),
            nulls,
            null_rate: rate(nulls),
            blanks: blank,
            blank_rate: rate(blank),
            distinct,
            distinct_rate: rate(distinct),
            min: match &s.date_range {
                Some((lo, _)) => Some(lo.clone()),
                None => get_str(&format!("{i}_min")).map(|v| tidy_number(&v, s.inferred_type)),
            },
            max: match &s.date_range {
                Some((_, hi)) => Some(hi.clone()),
                None => get_str(&format!("{i}_max")).map(|v| tidy_number(&v, s.inferred_type)),
            },
            distinct_exact: exact,
            top,
            national_code: s.national_code,
            legacy_code: s.legacy_code,
            suspicious,
        });
    }
    Ok(Profile {
        target,
        rows,
        files,
        sample_rows: sample_df.height() as u64,
        columns,
    })
}

/// `12.0` -> `12` for integer columns.
fn tidy_number(v: &str, t: InferredType) -> String {
    if t == InferredType::Integer {
        v.strip_suffix(".0").unwrap_or(v).to_string()
    } else {
        v.to_string()
    }
}

fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// The most frequent values of a column, most frequent first (ties by value).
fn top_values(frame: &LazyFrame, name: &str) -> Result<Vec<(String, u64)>, ReadError> {
    let c = col(name).cast(DataType::String);
    let df = collect(
        frame
            .clone()
            .select([c.alias("v")])
            .filter(col("v").is_not_null())
            .group_by([col("v")])
            .agg([len().alias("n")])
            .sort_by_exprs(
                [col("n"), col("v")],
                SortMultipleOptions::default().with_order_descending_multi([true, false]),
            )
            .limit(TOP_K as IdxSize),
    )
    .map_err(err)?;
    let values = df.column("v").map_err(err)?.str().map_err(err)?.clone();
    let counts = df
        .column("n")
        .map_err(err)?
        .cast(&DataType::UInt64)
        .map_err(err)?;
    let counts = counts.u64().map_err(err)?.clone();
    Ok(values
        .iter()
        .zip(counts.iter())
        .filter_map(|(v, n)| Some((v?.to_string(), n?)))
        .collect())
}

/// The families a column may be checked against, for callers that know the field.
pub fn family_of(guess: &CodeGuess) -> Option<Family> {
    guess.kind.family()
}
