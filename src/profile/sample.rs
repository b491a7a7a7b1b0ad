//! What a column's values look like, judged on a sample: the type they share, the national code
//! family they belong to (and how many are well-formed), the shape of legacy codes, and the
//! signs of damage (lost leading zeros, scientific notation, Excel floats, mixed date layouts).

use std::collections::{BTreeMap, HashMap};

use polars::prelude::*;
use serde::Serialize;

use crate::codes::damage::{excel_damage, is_scientific, ExcelDamage};
use crate::codes::{detect, Detection, Kind};
use crate::source::normalise::{parse_date, DateShape};

/// Distinct values checked for a national code family.
const DISTINCT_CHECKED: usize = 5_000;

/// The type most values of a column share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum InferredType {
    /// No values.
    Empty,
    /// Whole numbers (without leading zeros).
    Integer,
    /// Decimal numbers.
    Decimal,
    /// Dates.
    Date,
    /// Dates with times.
    DateTime,
    /// National codes or identifiers.
    Code,
    /// Text (including local codes and numbers with leading zeros).
    Text,
}

impl InferredType {
    /// Integer or decimal.
    pub fn is_numeric(self) -> bool {
        matches!(self, InferredType::Integer | InferredType::Decimal)
    }
}

/// A column that looks like a national code or identifier.
#[derive(Debug, Clone, Serialize)]
pub struct CodeGuess {
    /// The kind (a family or an identifier).
    pub kind: Kind,
    /// Its Chinese name.
    pub title: &'static str,
    /// Sample values recognised as this kind (well-formed, flagged or malformed).
    pub recognised: u64,
    /// Sample values that are well-formed codes of the kind as written.
    pub well_formed: u64,
    /// Sample values looked at.
    pub values: u64,
    /// well_formed / values.
    pub well_formed_rate: f64,
    /// The commonest reasons values are not well-formed, with counts.
    pub problems: Vec<(String, u64)>,
}

/// What the sample says of one column.
#[derive(Debug, Clone)]
pub struct ColumnSample {
    /// Distinct values in the sample.
    pub distinct: u64,
    /// Smallest and largest date in the sample, ISO, when the dates come in several layouts
    /// (then text order is not date order).
    pub date_range: Option<(String, String)>,
    /// Inferred type.
    pub inferred_type: InferredType,
    /// National code family, if any.
    pub national_code: Option<CodeGuess>,
    /// Legacy code shape, if any.
    pub legacy_code: Option<String>,
    /// Signs of damage.
    pub suspicious: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum ValueClass {
    Integer,
    Decimal,
    Date,
    DateTime,
    Text,
}

fn classify(v: &str) -> (ValueClass, Option<DateShape>) {
    let digits = v.strip_prefix('-').unwrap_or(v);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if (digits.len() == 8 || digits.len() == 14 || digits.len() == 17)
            && parse_date(v).is_some()
        {
            let (_, shape, time) = parse_date(v).unwrap_or_default_shape();
            return (
                if time {
                    ValueClass::DateTime
                } else {
                    ValueClass::Date
                },
                Some(shape),
            );
        }
        if digits.len() > 1 && digits.starts_with('0') {
            return (ValueClass::Text, None);
        }
        return (ValueClass::Integer, None);
    }
    if v.parse::<f64>().is_ok() && v.contains('.') && !v.contains(['e', 'E']) {
        return (ValueClass::Decimal, None);
    }
    if let Some((_, shape, time)) = parse_date(v) {
        return (
            if time {
                ValueClass::DateTime
            } else {
                ValueClass::Date
            },
            Some(shape),
        );
    }
    (ValueClass::Text, None)
}

trait OrShape {
    fn unwrap_or_default_shape(self) -> (chrono::NaiveDateTime, DateShape, bool);
}

impl OrShape for Option<(chrono::NaiveDateTime, DateShape, bool)> {
    fn unwrap_or_default_shape(self) -> (chrono::NaiveDateTime, DateShape, bool) {
        self.unwrap_or((chrono::NaiveDateTime::default(), DateShape::Iso, false))
    }
}

/// Analyse a column of the sample.
pub fn analyse(_name: &str, column: Option<&Column>) -> ColumnSample {
    let values: Vec<String> = match column.and_then(|c| c.cast(&DataType::String).ok()) {
        Some(c) => c
            .str()
            .map(|s| s.iter().flatten().map(str::to_string).collect())
            .unwrap_or_default(),
        None => Vec::new(),
    };
    if values.is_empty() {
        return ColumnSample {
            distinct: 0,
            date_range: None,
            inferred_type: InferredType::Empty,
            national_code: None,
            legacy_code: None,
            suspicious: Vec::new(),
        };
    }
    let mut classes: BTreeMap<ValueClass, u64> = BTreeMap::new();
    let mut shapes: BTreeMap<DateShape, u64> = BTreeMap::new();
    let mut counts: HashMap<&str, u64> = HashMap::new();
    for v in &values {
        let (class, shape) = classify(v);
        *classes.entry(class).or_default() += 1;
        if let Some(s) = shape {
            *shapes.entry(s).or_default() += 1;
        }
        *counts.entry(String::as_str(v)).or_default() += 1;
    }
    let n = values.len() as u64;
    let share = |c: ValueClass| classes.get(&c).copied().unwrap_or(0) as f64 / n as f64;
    let dates = share(ValueClass::Date) + share(ValueClass::DateTime);
    let mut inferred = if share(ValueClass::Integer) >= 0.9 {
        InferredType::Integer
    } else if share(ValueClass::Integer) + share(ValueClass::Decimal) >= 0.9 {
        InferredType::Decimal
    } else if dates >= 0.9 {
        if share(ValueClass::DateTime) > share(ValueClass::Date) {
            InferredType::DateTime
        } else {
            InferredType::Date
        }
    } else {
        InferredType::Text
    };

    let mut suspicious = Vec::new();
    if shapes.len() > 1 && dates >= 0.5 {
        let list: Vec<String> = shapes
            .iter()
            .map(|(s, c)| format!("{} ({c})", s.label()))
            .collect();
        suspicious.push(format!("mixed date formats: {}", list.join(", ")));
    }
    let sci = values.iter().filter(|v| is_scientific(v)).count();
    if sci > 0 {
        suspicious.push(format!(
            "{sci} values in scientific notation (long codes Excel turned into numbers)"
        ));
    }
    let floats = values
        .iter()
        .filter(|v| excel_damage(v) == Some(ExcelDamage::FloatNoise))
        .count();
    if floats > 0 {
        suspicious.push(format!("{floats} values with float artefacts such as 93.351699999999994 (codes Excel stored as numbers)"));
    }
    if let Some(s) = lost_zeros(&values) {
        suspicious.push(s);
    }

    let checkable = match inferred {
        InferredType::Decimal | InferredType::Date | InferredType::DateTime => false,
        InferredType::Integer => {
            let len = values[0].len();
            len >= 6 && values.iter().all(|v| v.len() == len)
        }
        _ => true,
    };
    let national_code = if checkable {
        national(&counts, n)
    } else {
        None
    };
    if national_code.is_some() {
        inferred = InferredType::Code;
    }
    let legacy_code = if national_code.is_none() && inferred == InferredType::Text {
        legacy(&counts, n)
    } else {
        None
    };
    let range_of_dates = if shapes.len() > 1 || shapes.keys().any(|s| *s != DateShape::Iso) {
        let parsed: Vec<chrono::NaiveDateTime> = values
            .iter()
            .filter_map(|v| parse_date(v).map(|p| p.0))
            .collect();
        let with_time = inferred == InferredType::DateTime;
        let fmt = |d: &chrono::NaiveDateTime| {
            if with_time {
                d.format("%Y-%m-%d %H:%M:%S").to_string()
            } else {
                d.format("%Y-%m-%d").to_string()
            }
        };
        match (parsed.iter().min(), parsed.iter().max()) {
            (Some(a), Some(b)) => Some((fmt(a), fmt(b))),
            _ => None,
        }
    } else {
        None
    };
    ColumnSample {
        distinct: counts.len() as u64,
        date_range: range_of_dates,
        inferred_type: inferred,
        national_code,
        legacy_code,
        suspicious,
    }
}

/// The kind most values are recognised as, if at least half are.
fn national(counts: &HashMap<&str, u64>, n: u64) -> Option<CodeGuess> {
    let mut by_count: Vec<(&&str, &u64)> = counts.iter().collect();
    by_count.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let mut recognised: BTreeMap<Kind, (u64, u64)> = BTreeMap::new();
    let mut problems: BTreeMap<(Kind, String), u64> = BTreeMap::new();
    let mut looked = 0u64;
    let mut parsed_values = 0u64;
    for (v, c) in by_count.into_iter().take(DISTINCT_CHECKED) {
        looked += c;
        let detection = detect(v);
        if matches!(
            detection,
            Detection::Unique { .. } | Detection::Ambiguous { .. }
        ) {
            parsed_values += c;
        }
        match detection {
            Detection::Unique { parsed } => {
                let e = recognised.entry(parsed.kind).or_default();
                e.0 += c;
                if parsed.is_well_formed() {
                    e.1 += c;
                } else {
                    for f in &parsed.flags {
                        *problems
                            .entry((parsed.kind, f.message.clone()))
                            .or_default() += c;
                    }
                }
            }
            Detection::Ambiguous { candidates } => {
                for p in candidates {
                    let e = recognised.entry(p.kind).or_default();
                    e.0 += c;
                    if p.is_well_formed() {
                        e.1 += c;
                    }
                }
            }
            Detection::Malformed { reasons } => {
                for m in reasons {
                    recognised.entry(m.kind).or_default().0 += c;
                    *problems.entry((m.kind, m.reason.clone())).or_default() += c;
                }
            }
            Detection::Unknown => {}
        }
    }
    let (kind, (rec, well)) = recognised
        .into_iter()
        .max_by(|a, b| a.1 .0.cmp(&b.1 .0).then(b.0.cmp(&a.0)))?;
    // Most values must resemble the kind, and a fair share must actually parse: a column of
    // local ids like `S00001` resembles a diagnosis code but parses as none.
    if rec * 2 < looked || parsed_values * 4 < looked {
        return None;
    }
    let mut problems: Vec<(String, u64)> = problems
        .into_iter()
        .filter(|((k, _), _)| *k == kind)
        .map(|((_, reason), c)| (reason, c))
        .collect();
    problems.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    problems.truncate(5);
    let _ = n;
    Some(CodeGuess {
        kind,
        title: kind.title_zh(),
        recognised: rec,
        well_formed: well,
        values: looked,
        well_formed_rate: if looked == 0 {
            0.0
        } else {
            (well as f64 / looked as f64 * 10_000.0).round() / 10_000.0
        },
        problems,
    })
}

/// A local code column: most values are short runs of letters and digits with a digit in them.
fn legacy(counts: &HashMap<&str, u64>, n: u64) -> Option<String> {
    if counts.len() < 10 {
        return None;
    }
    let mut shapes: HashMap<String, u64> = HashMap::new();
    let mut codeish = 0u64;
    for (v, c) in counts {
        let ok = (3..=30).contains(&v.len())
            && v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'_')
            && v.bytes().any(|b| b.is_ascii_digit());
        if ok {
            codeish += c;
            *shapes.entry(shape(v)).or_default() += c;
        }
    }
    if (codeish as f64) < 0.9 * n as f64 {
        return None;
    }
    let (top, count) = shapes
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))?;
    Some(format!("{top} ({}% of values)", (count * 100 / n.max(1))))
}

/// A value's shape: letters as `A`, digits as `9`, the rest kept.
fn shape(v: &str) -> String {
    v.chars()
        .map(|c| {
            if c.is_ascii_alphabetic() {
                'A'
            } else if c.is_ascii_digit() {
                '9'
            } else {
                c
            }
        })
        .collect()
}

/// Digit-only codes of one usual length with some shorter: leading zeros lost.
fn lost_zeros(values: &[String]) -> Option<String> {
    let digits: Vec<&String> = values
        .iter()
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .collect();
    if digits.len() * 10 < values.len() * 8 || digits.is_empty() {
        return None;
    }
    let mut lens: BTreeMap<usize, u64> = BTreeMap::new();
    for d in &digits {
        *lens.entry(d.len()).or_default() += 1;
    }
    let (usual, _) = lens.iter().max_by(|a, b| a.1.cmp(b.1).then(a.0.cmp(b.0)))?;
    let zero_led = digits
        .iter()
        .filter(|d| d.len() == *usual && d.starts_with('0'))
        .count();
    let shorter: u64 = lens.range(..*usual).map(|(_, c)| *c).sum();
    if *usual >= 4 && shorter > 0 && zero_led > 0 {
        Some(format!("{shorter} values shorter than the usual {usual} digits, which start with 0: leading zeros lost?"))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn col(values: &[&str]) -> Column {
        Column::new(
            "c".into(),
            values
                .iter()
                .map(|v| Some(v.to_string()))
                .collect::<Vec<_>>(),
        )
    }

    #[test]
    fn types() {
        assert_eq!(
            analyse("c", Some(&col(&["1", "22", "-3"]))).inferred_type,
            InferredType::Integer
        );
        assert_eq!(
            analyse("c", Some(&col(&["1.5", "22", "3.25"]))).inferred_type,
            InferredType::Decimal
        );
        assert_eq!(
            analyse("c", Some(&col(&["2024-01-01", "2024-02-03"]))).inferred_type,
            InferredType::Date
        );
        assert_eq!(
            analyse("c", Some(&col(&["张三", "李四"]))).inferred_type,
            InferredType::Text
        );
        assert_eq!(
            analyse("c", Some(&col(&["007", "008"]))).inferred_type,
            InferredType::Text
        );
    }

    #[test]
    fn national_codes_and_their_share() {
        let ids: Vec<String> = (1..20).map(|i| format!("S{i:05}")).collect();
        let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        assert!(analyse("c", Some(&col(&refs))).national_code.is_none());
        let s = analyse(
            "c",
            Some(&col(&["K92.210", "R18.x00", "k40.900x003", "I10.x00x032"])),
        );
        let g = s.national_code.unwrap();
        assert_eq!(g.kind, Kind::Diagnosis);
        assert_eq!((g.recognised, g.well_formed, g.values), (4, 3, 4));
        assert_eq!(s.inferred_type, InferredType::Code);
    }

    #[test]
    fn damage() {
        let s = analyse(
            "c",
            Some(&col(&["2024-01-01", "1/8/2024 00:00:00", "20240105"])),
        );
        assert!(
            s.suspicious
                .iter()
                .any(|x| x.starts_with("mixed date formats")),
            "{:?}",
            s.suspicious
        );
        let s = analyse(
            "c",
            Some(&col(&[
                "001102000010000",
                "1102000010000",
                "001101000010000",
                "001201000010000",
            ])),
        );
        assert!(
            s.suspicious.iter().any(|x| x.contains("leading zeros")),
            "{:?}",
            s.suspicious
        );
        let s = analyse("c", Some(&col(&["1.23E+14", "8.69E+13"])));
        assert!(
            s.suspicious.iter().any(|x| x.contains("scientific")),
            "{:?}",
            s.suspicious
        );
    }

    #[test]
    fn legacy_shapes() {
        let values: Vec<String> = (0..20).map(|i| format!("A94{i:05}TA00")).collect();
        let refs: Vec<&str> = values.iter().map(String::as_str).collect();
        let s = analyse("c", Some(&col(&refs)));
        assert_eq!(
            s.legacy_code.as_deref(),
            Some("A9999999AA99 (100% of values)")
        );
    }
}
