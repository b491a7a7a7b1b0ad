//! `yibao.toml` exactly as written: serde structs that keep each value's span, so that every
//! mistake found later can point at its line. Nothing here is validated; see `super::load`.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    /// `[workspace]`.
    #[serde(default)]
    pub workspace: RawWorkspace,
    /// `[[areas]]`.
    #[serde(default)]
    pub areas: Vec<RawArea>,
    /// `[code_sets]`: family -> `"version"` or `{ version, files }` (checked in validation, so
    /// that a mistake gets a precise message).
    #[serde(default)]
    pub code_sets: BTreeMap<Spanned<String>, Spanned<toml::Value>>,
    /// `[[datasets]]`.
    #[serde(default)]
    pub datasets: Vec<RawDataset>,
    /// `[rules]`.
    #[serde(default)]
    pub rules: RawRules,
    /// `[batch]`.
    #[serde(default)]
    pub batch: RawBatch,
    /// `[thresholds]`.
    #[serde(default)]
    pub thresholds: RawThresholds,
}

/// `[workspace]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWorkspace {
    /// A name for people.
    pub name: Option<Spanned<String>>,
    /// Output folder, relative to the workspace.
    pub out: Option<Spanned<String>>,
}

/// `[[areas]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawArea {
    /// 6-digit 医保区划 code.
    pub code: Spanned<String>,
    /// Name, e.g. 盐城市.
    pub name: Spanned<String>,
}

/// `[[datasets]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDataset {
    /// Unique name.
    pub name: Spanned<String>,
    /// Area code.
    pub area: Option<Spanned<String>>,
    /// Dataset kind.
    pub kind: Spanned<String>,
    /// Path or glob, relative to the workspace.
    pub path: Spanned<String>,
    /// File format (default: from the extension).
    pub format: Option<Spanned<String>>,
    /// Text encoding for CSV (default: detected).
    pub encoding: Option<Spanned<String>>,
    /// CSV delimiter (default: detected).
    pub delimiter: Option<Spanned<String>>,
    /// Sheet name for workbooks.
    pub sheet: Option<Spanned<String>>,
    /// 1-based header row (default: detected).
    pub header_row: Option<Spanned<i64>>,
    /// SQLite table.
    pub table: Option<Spanned<String>>,
    /// SQLite query.
    pub query: Option<Spanned<String>>,
    /// Canonical fields forming the record key.
    #[serde(default)]
    pub key: Vec<Spanned<String>>,
    /// Source column -> canonical field.
    #[serde(default)]
    pub columns: BTreeMap<Spanned<String>, Spanned<String>>,
    /// Canonical field holding local codes -> family (`drug`, `diagnosis` … or `catalog`).
    #[serde(default)]
    pub codes: BTreeMap<Spanned<String>, Spanned<String>>,
    /// Canonical field -> where its value comes from when the source leaves it empty.
    #[serde(default)]
    pub fill: BTreeMap<Spanned<String>, Spanned<RawFill>>,
}

/// One `[datasets.fill]` entry: `{ value = "101" }` or `{ from = "settlements", by = "setl_id" }`
/// (with `match` and `take` when the other dataset names the fields differently).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawFill {
    /// A constant.
    pub value: Option<Spanned<String>>,
    /// The dataset the value is looked up in.
    pub from: Option<Spanned<String>>,
    /// This dataset's field whose value is looked up.
    pub by: Option<Spanned<String>>,
    /// The other dataset's field matched against `by` (default: the same name).
    #[serde(rename = "match")]
    pub matching: Option<Spanned<String>>,
    /// The other dataset's field whose value is taken (default: the filled field's name).
    pub take: Option<Spanned<String>>,
}

/// `[rules]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRules {
    /// Packs to run.
    #[serde(default)]
    pub packs: Vec<Spanned<String>>,
}

/// `[batch]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBatch {
    /// Most records per batch.
    pub max_records: Option<Spanned<i64>>,
    /// Most bytes per batch.
    pub max_bytes: Option<Spanned<i64>>,
}

/// `[thresholds]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawThresholds {
    /// Highest acceptable dirty-data rate (0..1).
    pub dirty_rate: Option<Spanned<f64>>,
    /// Lowest acceptable mapping coverage (0..1).
    pub coverage: Option<Spanned<f64>>,
}
