//! Quality rules: rule packs (`quality-rules/*.toml`) parsed into typed rules, compiled to polars
//! expressions and run over a workspace's datasets in one pass each, to measure the dirty-data
//! rate of `../shared/PRODUCT.md` and say exactly which records fail which rule.
//!
//! Formats: docs/RULES.md. Rule categories: `../shared/domain/legacy-data.md` §3.

pub mod codebook;
pub mod compile;
pub mod engine;
pub mod examples;
pub mod kind;
pub mod pack;
mod positions;
pub use positions::Targets;
pub mod tally;

use serde::{Deserialize, Serialize};

pub use kind::{RepeatedKey, RuleKind};
pub use pack::{load_packs, Pack, PackError, BUILTIN};

/// The quality dimension a rule measures (the platform's six QC dimensions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Dimension {
    /// 完整性: required values present.
    Completeness,
    /// 规范性: formats, value sets, codes in the table.
    Validity,
    /// 一致性: dates in order, amounts that add up, fields that agree.
    Consistency,
    /// 唯一性: platform keys unique.
    Uniqueness,
    /// 及时性: records uploaded in time.
    Timeliness,
    /// 准确性: the right code type, the right table version.
    Accuracy,
}

impl Dimension {
    /// The Chinese name.
    pub fn title_zh(self) -> &'static str {
        match self {
            Dimension::Completeness => "完整性",
            Dimension::Validity => "规范性",
            Dimension::Consistency => "一致性",
            Dimension::Uniqueness => "唯一性",
            Dimension::Timeliness => "及时性",
            Dimension::Accuracy => "准确性",
        }
    }
}

/// Whether a failure makes the record dirty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Makes the record dirty.
    Error,
    /// Counted apart; never makes a record dirty.
    Warning,
}

/// One quality rule, validated.
#[derive(Debug, Clone, Serialize)]
pub struct Rule {
    /// Unique within all loaded packs.
    pub id: String,
    /// The pack it came from.
    pub pack: String,
    /// Chinese title.
    pub title: String,
    /// English title.
    pub title_en: String,
    /// The dimension it measures.
    pub dimension: Dimension,
    /// Error or warning.
    pub severity: Severity,
    /// Dataset kinds it applies to.
    pub datasets: Vec<crate::workspace::DatasetKind>,
    /// SQL condition selecting the records it applies to.
    pub when: Option<String>,
    /// What it checks.
    pub kind: RuleKind,
    /// Rows that must pass.
    #[serde(skip)]
    pub pass: Vec<Row>,
    /// Rows that must fail.
    #[serde(skip)]
    pub fail: Vec<Row>,
    /// Rows of the other dataset for rules that look across datasets.
    #[serde(skip)]
    pub other: Vec<Row>,
    /// A national code table for the examples (code, name): `yibao rules test` checks
    /// `national-code` and `name-agrees` examples against it instead of the store.
    #[serde(skip)]
    pub codes: Vec<(String, String)>,
    /// `file:line` of the rule, for messages.
    #[serde(skip)]
    pub origin: String,
}

/// An example row: field name to value (empty = missing).
pub type Row = Vec<(String, String)>;
