//! What a rule checks: one serde-tagged variant per kind of rule (`kind = "..."` in the pack),
//! with the fields it reads. Compilation to polars expressions: `compile.rs`.

use serde::{Deserialize, Serialize};

use crate::codes::Kind;
use crate::workspace::DatasetKind;

/// The kinds of rule, as written in a pack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum RuleKind {
    /// Every listed field has a value.
    Required {
        /// The fields.
        fields: Vec<String>,
    },
    /// A present value matches a regular expression (whole value).
    Pattern {
        /// The field.
        field: String,
        /// The regular expression, anchored at both ends.
        regex: String,
    },
    /// A present value is a well-formed code of a national family or identifier kind; for the five
    /// families, optionally also present in the loaded code set and not retired at the record's
    /// date.
    NationalCode {
        /// The field.
        field: String,
        /// `diagnosis`, `procedure`, `service`, `drug`, `consumable`, `catalog` (any of the three
        /// catalog families), or an identifier kind (`doctor`, `institution`, ...).
        family: String,
        /// Also require the code in the loaded version (default true for the five families).
        #[serde(default)]
        present: Option<bool>,
        /// The field whose date picks the code-set version in force (dated version names).
        #[serde(default)]
        date_field: Option<String>,
    },
    /// No present value of the listed identifier fields is a number Excel made of it:
    /// scientific notation (`3.209E+15`), a float ending (`….0`) or float noise
    /// (`93.351699999999994`); `codes::damage`. Fields the dataset does not have are not
    /// checked; the rule is skipped only when it has none of them.
    Identifier {
        /// The identifier fields.
        fields: Vec<String>,
    },
    /// A present identifier passes its check digit (and its other structure).
    CheckDigit {
        /// The field.
        field: String,
        /// `resident-id` (GB 11643), `credit-code` (GB 32100) or `drug-standard-code` (GS1).
        scheme: Kind,
    },
    /// A present local code has an approved mapping (crosswalk) for its area.
    Mapped {
        /// The local-code field declared under `[datasets.codes]`.
        field: String,
    },
    /// The name of an item agrees with the national name of its national code (贯标: the code
    /// labels the right item). Needs the family's code set loaded; without it the rule passes.
    NameAgrees {
        /// The field holding the national code.
        field: String,
        /// The field holding the item's own name.
        name_field: String,
        /// The family (as for `national-code`).
        family: String,
        /// Least similarity of the two names, 0..1 (default 0.5): character-bigram Dice after
        /// folding full-width characters, spaces and brackets.
        #[serde(default)]
        min_similarity: Option<f64>,
    },
    /// A present value is one of a list or of a named dictionary of the pack.
    Allowed {
        /// The field.
        field: String,
        /// The values, inline.
        #[serde(default)]
        values: Vec<String>,
        /// A dictionary of the pack (`[dictionaries]`).
        #[serde(default)]
        dictionary: Option<String>,
    },
    /// A present value parses as a number (or date) and lies within bounds.
    Range {
        /// The field.
        field: String,
        /// Lower bound (number, or `YYYY-MM-DD` for date fields).
        #[serde(default)]
        min: Option<toml::Value>,
        /// Upper bound.
        #[serde(default)]
        max: Option<toml::Value>,
    },
    /// Dates in the listed order (each <= the next); missing dates are skipped.
    DateOrder {
        /// The fields, earliest first.
        fields: Vec<String>,
    },
    /// `total` equals the sum of `parts`, within `tolerance`.
    Sum {
        /// The total.
        total: String,
        /// The parts.
        parts: Vec<String>,
        /// Allowed absolute difference (default 0.01).
        #[serde(default)]
        tolerance: Option<f64>,
    },
    /// A settlement total equals the sum of its detail lines in another dataset.
    DetailSum {
        /// The total on this dataset.
        total: String,
        /// The kind of the dataset holding the lines.
        detail: DatasetKind,
        /// The amount field of a line.
        detail_field: String,
        /// The field joining a line to this record (same name on both).
        key: String,
        /// Allowed absolute difference (default 0.01).
        #[serde(default)]
        tolerance: Option<f64>,
    },
    /// When a code field starts with one of `prefixes`, the SQL condition `then` must hold
    /// (sex against diagnosis, age against neonatal codes...).
    CrossField {
        /// The code field.
        field: String,
        /// Code prefixes (case-insensitive).
        prefixes: Vec<String>,
        /// SQL condition over the record that must hold for those codes.
        then: String,
    },
    /// The key fields together are unique: a record whose key another record of the dataset
    /// has fails, every one after the first (`repeats = "later"`, the default) or all of them
    /// (`repeats = "all"`).
    Unique {
        /// The key fields.
        fields: Vec<String>,
        /// Which records of a repeated key fail.
        #[serde(default)]
        repeats: RepeatedKey,
    },
    /// A present value exists in a field of another dataset.
    Reference {
        /// The field.
        field: String,
        /// The kind of the referenced dataset.
        to: DatasetKind,
        /// The field there (default: the same name).
        #[serde(default)]
        to_field: Option<String>,
    },
    /// A SQL expression over the record that must hold (a null result passes).
    Expression {
        /// The expression.
        expr: String,
    },
}

/// Which records of a key that several records have fail a `unique` rule.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RepeatedKey {
    /// Every record after the first in the dataset's order: what an upload's unique
    /// constraint rejects (the first insert of a key is accepted).
    #[default]
    Later,
    /// Every record of the key, the first included: none of them can be trusted to be the
    /// right one (a migration source's quality, DataQualityDashboard's primary-key check).
    All,
}

impl RepeatedKey {
    /// As written in a pack.
    pub fn name(self) -> &'static str {
        match self {
            RepeatedKey::Later => "later",
            RepeatedKey::All => "all",
        }
    }

    /// What the rule counts, for a person reading the report.
    pub fn describe(self) -> &'static str {
        match self {
            RepeatedKey::Later => "the first record of a key passes, every later one fails",
            RepeatedKey::All => "every record of a repeated key fails, the first included",
        }
    }
}

impl RuleKind {
    /// The kind's name as written in a pack.
    pub fn name(&self) -> &'static str {
        match self {
            RuleKind::Required { .. } => "required",
            RuleKind::Pattern { .. } => "pattern",
            RuleKind::NationalCode { .. } => "national-code",
            RuleKind::Identifier { .. } => "identifier",
            RuleKind::CheckDigit { .. } => "check-digit",
            RuleKind::Mapped { .. } => "mapped",
            RuleKind::NameAgrees { .. } => "name-agrees",
            RuleKind::Allowed { .. } => "allowed",
            RuleKind::Range { .. } => "range",
            RuleKind::DateOrder { .. } => "date-order",
            RuleKind::Sum { .. } => "sum",
            RuleKind::DetailSum { .. } => "detail-sum",
            RuleKind::CrossField { .. } => "cross-field",
            RuleKind::Unique { .. } => "unique",
            RuleKind::Reference { .. } => "reference",
            RuleKind::Expression { .. } => "expression",
        }
    }

    /// The fields of this record the rule reads directly (SQL expressions aside).
    pub fn fields(&self) -> Vec<&str> {
        match self {
            RuleKind::Required { fields }
            | RuleKind::Identifier { fields }
            | RuleKind::DateOrder { fields }
            | RuleKind::Unique { fields, .. } => fields.iter().map(String::as_str).collect(),
            RuleKind::Pattern { field, .. }
            | RuleKind::CheckDigit { field, .. }
            | RuleKind::Mapped { field }
            | RuleKind::Allowed { field, .. }
            | RuleKind::Range { field, .. }
            | RuleKind::CrossField { field, .. }
            | RuleKind::Reference { field, .. } => vec![field],
            RuleKind::NationalCode {
                field, date_field, ..
            } => {
                let mut v = vec![field.as_str()];
                v.extend(date_field.as_deref());
                v
            }
            RuleKind::NameAgrees {
                field, name_field, ..
            } => vec![field, name_field],
            RuleKind::Sum { total, parts, .. } => {
                let mut v = vec![total.as_str()];
                v.extend(parts.iter().map(String::as_str));
                v
            }
            RuleKind::DetailSum { total, key, .. } => vec![total, key],
            RuleKind::Expression { .. } => Vec::new(),
        }
    }
}
