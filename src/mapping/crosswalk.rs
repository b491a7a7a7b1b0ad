//! Crosswalk files (对码表): `mappings/<area>/<family>.csv`, one row per local code -> national
//! code decision, with its relation, condition, validity window, review status and who/when.
//!
//! Loading validates every row and reports every mistake as `file:line` with the line shown:
//! a malformed national code, a national code absent from (or retired in) the loaded version,
//! a 1:n row without the condition that picks it, the same local code mapped twice without a
//! condition, and overlapping validity windows. Format: docs/MAPPINGS.md.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use miette::{Diagnostic, NamedSource, SourceSpan};
use serde::Serialize;
use thiserror::Error;

use crate::codes::Family;

/// The columns of a crosswalk file, in order.
pub const COLUMNS: [&str; 12] = [
    "local_code",
    "local_name",
    "national_code",
    "national_name",
    "relation",
    "condition",
    "valid_from",
    "valid_to",
    "status",
    "reviewer",
    "reviewed_at",
    "note",
];

/// How local codes relate to national ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Relation {
    /// One local code, one national code.
    #[serde(rename = "1:1")]
    OneToOne,
    /// Several local codes (spec variants) onto one national code.
    #[serde(rename = "n:1")]
    ManyToOne,
    /// One local code onto several national codes; each row's condition picks one.
    #[serde(rename = "1:n")]
    OneToMany,
}

impl Relation {
    fn parse(s: &str) -> Option<Relation> {
        Some(match s.trim() {
            "" | "1:1" => Relation::OneToOne,
            "n:1" | "N:1" => Relation::ManyToOne,
            "1:n" | "1:N" => Relation::OneToMany,
            _ => return None,
        })
    }

    /// As written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::OneToOne => "1:1",
            Relation::ManyToOne => "n:1",
            Relation::OneToMany => "1:n",
        }
    }
}

/// Review status of a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// In force: applied to data.
    Approved,
    /// Proposed, not yet reviewed: not applied.
    Pending,
    /// Reviewed and refused: never applied, never suggested again.
    Rejected,
}

impl Status {
    fn parse(s: &str) -> Option<Status> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "approved" | "通过" | "已审核" => Status::Approved,
            "" | "pending" | "待审核" => Status::Pending,
            "rejected" | "驳回" | "拒绝" => Status::Rejected,
            _ => return None,
        })
    }

    /// As written in the file.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Approved => "approved",
            Status::Pending => "pending",
            Status::Rejected => "rejected",
        }
    }
}

/// A comparison in a condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `in a|b|c`
    In,
}

/// One clause: `field op value`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Clause {
    /// A national field of the record (e.g. `bilg_dept_codg`, `age`, `fee_ocur_time`).
    pub field: String,
    /// The comparison.
    pub op: Op,
    /// The value(s); several only for `in`.
    pub values: Vec<String>,
}

/// A condition: clauses joined by `and`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition(pub Vec<Clause>);

impl Condition {
    /// Parse `bilg_dept_codg = A03 and age < 18`.
    pub fn parse(s: &str) -> Result<Condition, String> {
        let mut clauses = Vec::new();
        for part in s.split(" and ") {
            let part = part.trim();
            let ops = [
                ("!=", Op::Ne),
                ("<=", Op::Le),
                (">=", Op::Ge),
                ("=", Op::Eq),
                ("<", Op::Lt),
                (">", Op::Gt),
            ];
            let found = if let Some((f, v)) = part.split_once(" in ") {
                Some((f, Op::In, v))
            } else {
                ops.iter()
                    .find_map(|(tok, op)| part.split_once(tok).map(|(f, v)| (f, *op, v)))
            };
            let Some((field, op, value)) = found else {
                return Err(format!(
                    "`{part}` is not `field op value` (ops: = != < <= > >= in)"
                ));
            };
            let field = field.trim();
            if field.is_empty() || !field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("`{field}` is not a field name"));
            }
            let values: Vec<String> = if op == Op::In {
                value.split('|').map(|v| v.trim().to_string()).collect()
            } else {
                vec![value.trim().to_string()]
            };
            if values.iter().any(String::is_empty) {
                return Err(format!("`{part}` has an empty value"));
            }
            clauses.push(Clause {
                field: field.to_string(),
                op,
                values,
            });
        }
        Ok(Condition(clauses))
    }

    /// Evaluate against a record's field values (numbers compare as numbers when both parse).
    pub fn matches(&self, get: &dyn Fn(&str) -> Option<String>) -> bool {
        self.0.iter().all(|c| {
            let Some(v) = get(&c.field) else {
                return false;
            };
            let cmp = |want: &str| match (v.parse::<f64>(), want.parse::<f64>()) {
                (Ok(a), Ok(b)) => a.partial_cmp(&b),
                _ => Some(v.as_str().cmp(want)),
            };
            use std::cmp::Ordering::*;
            match c.op {
                Op::Eq => cmp(&c.values[0]) == Some(Equal),
                Op::Ne => cmp(&c.values[0]) != Some(Equal),
                Op::Lt => cmp(&c.values[0]) == Some(Less),
                Op::Le => matches!(cmp(&c.values[0]), Some(Less | Equal)),
                Op::Gt => cmp(&c.values[0]) == Some(Greater),
                Op::Ge => matches!(cmp(&c.values[0]), Some(Greater | Equal)),
                Op::In => c.values.iter().any(|w| cmp(w) == Some(Equal)),
            }
        })
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|c| {
                let op = match c.op {
                    Op::Eq => "=",
                    Op::Ne => "!=",
                    Op::Lt => "<",
                    Op::Le => "<=",
                    Op::Gt => ">",
                    Op::Ge => ">=",
                    Op::In => "in",
                };
                format!("{} {op} {}", c.field, c.values.join("|"))
            })
            .collect();
        f.write_str(&parts.join(" and "))
    }
}

/// One decision of a crosswalk.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Mapping {
    /// 1-based line in the file (0 for rows not read from a file).
    pub line: usize,
    /// The hospital's or area's code.
    pub local_code: String,
    /// Its local name.
    pub local_name: String,
    /// The national code.
    pub national_code: String,
    /// The national name.
    pub national_name: String,
    /// Relation.
    pub relation: Relation,
    /// What picks this row among a local code's rows.
    pub condition: Option<Condition>,
    /// First day in force (inclusive).
    pub valid_from: Option<NaiveDate>,
    /// Last day in force (inclusive).
    pub valid_to: Option<NaiveDate>,
    /// Review status.
    pub status: Status,
    /// Who reviewed it.
    pub reviewer: String,
    /// When (as written, RFC 3339 or a date).
    pub reviewed_at: String,
    /// Free text.
    pub note: String,
}

impl Mapping {
    /// True when in force on `day` (or always, without a day).
    pub fn valid_on(&self, day: Option<NaiveDate>) -> bool {
        let Some(d) = day else { return true };
        self.valid_from.is_none_or(|f| d >= f) && self.valid_to.is_none_or(|t| d <= t)
    }

    fn overlaps(&self, other: &Mapping) -> bool {
        let start = self.valid_from.max(other.valid_from);
        let end = match (self.valid_to, other.valid_to) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        match (start, end) {
            (Some(s), Some(e)) => s <= e,
            _ => true,
        }
    }
}

/// A crosswalk: an area's decisions for one family.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Crosswalk {
    /// The coordination area.
    pub area: String,
    /// The family.
    pub family: Family,
    /// The file it was read from.
    pub path: PathBuf,
    /// Rows in file order.
    pub rows: Vec<Mapping>,
}

/// What the loaded national table says of a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableStatus {
    /// In the version, current.
    Current,
    /// In the version, marked retired.
    Retired,
    /// Not in the version.
    Absent,
}

/// One mistake in a crosswalk file.
#[derive(Debug, Error, Diagnostic)]
#[error("{location}: {message}")]
#[diagnostic(code(yibao::mapping::row))]
pub struct RowError {
    /// `file:line`.
    pub location: String,
    /// What is wrong.
    pub message: String,
    #[source_code]
    src: NamedSource<String>,
    #[label("here")]
    span: SourceSpan,
}

/// Every mistake of a crosswalk file.
#[derive(Debug, Error, Diagnostic)]
#[error("{path}: {} mistake(s) in the crosswalk; it was not used", .errors.len())]
#[diagnostic(
    code(yibao::mapping::invalid),
    help("fix the lines listed; the format is in docs/MAPPINGS.md")
)]
pub struct CrosswalkErrors {
    /// The file.
    pub path: String,
    /// The mistakes.
    #[related]
    pub errors: Vec<RowError>,
}

/// Parse and validate a crosswalk's text. `table` says what the loaded national version says of
/// a code (`None` when no version is loaded: presence is then not checked).
pub fn parse(
    area: &str,
    family: Family,
    path: &Path,
    text: &str,
    table: Option<&dyn Fn(&str) -> TableStatus>,
) -> Result<Crosswalk, CrosswalkErrors> {
    let name = path.display().to_string();
    let body = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let offset = text.len() - body.len();
    // Byte span of each 1-based line, for labels.
    let mut line_spans = Vec::new();
    let mut start = offset;
    for l in body.split_inclusive('\n') {
        line_spans.push((start, l.trim_end_matches(['\r', '\n']).len()));
        start += l.len();
    }
    let mut found: Vec<(usize, String)> = Vec::new();
    let mut err = |line: usize, message: String| found.push((line, message));
    // csv's own line numbers drift on CRLF files (Excel saves them): count from byte offsets.
    let starts: Vec<usize> = line_spans.iter().map(|(s, _)| s - offset).collect();
    let line_at = |byte: u64| {
        let mut b = byte as usize;
        if body.as_bytes().get(b) == Some(&b'\n') {
            b += 1;
        }
        starts.partition_point(|s| *s <= b)
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(body.as_bytes());
    let headers: Vec<String> = match reader.headers() {
        Ok(h) => h.iter().map(|s| s.trim().to_string()).collect(),
        Err(e) => {
            err(1, format!("cannot read the header: {e}"));
            Vec::new()
        }
    };
    let col = |n: &str| headers.iter().position(|h| h == n);
    for required in ["local_code", "national_code"] {
        if col(required).is_none() && !headers.is_empty() {
            err(
                1,
                format!(
                    "the header lacks `{required}`: it has {}; a crosswalk's columns are {}",
                    headers
                        .iter()
                        .map(|h| format!("`{h}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    COLUMNS.join(",")
                ),
            );
        }
    }
    let mut rows: Vec<Mapping> = Vec::new();
    let header_ok = col("local_code").is_some() && col("national_code").is_some();
    if header_ok {
        for record in reader.records() {
            let record = match record {
                Ok(r) => r,
                Err(e) => {
                    let line = e.position().map_or(0, |p| line_at(p.byte()));
                    err(line, e.to_string());
                    continue;
                }
            };
            let line = record.position().map_or(0, |p| line_at(p.byte()));
            let get = |n: &str| {
                col(n)
                    .and_then(|i| record.get(i))
                    .unwrap_or("")
                    .trim()
                    .to_string()
            };
            let local_code = get("local_code");
            let national_code = get("national_code");
            if local_code.is_empty() {
                err(line, "empty local_code".into());
                continue;
            }
            let status = match Status::parse(&get("status")) {
                Some(s) => s,
                None => {
                    err(
                        line,
                        format!(
                            "status `{}` is not approved, pending or rejected",
                            get("status")
                        ),
                    );
                    continue;
                }
            };
            let relation = match Relation::parse(&get("relation")) {
                Some(r) => r,
                None => {
                    err(
                        line,
                        format!("relation `{}` is not 1:1, n:1 or 1:n", get("relation")),
                    );
                    continue;
                }
            };
            let condition = match get("condition").as_str() {
                "" => None,
                c => match Condition::parse(c) {
                    Ok(c) => Some(c),
                    Err(e) => {
                        err(line, format!("condition: {e}"));
                        continue;
                    }
                },
            };
            let date = |field: &str| -> Result<Option<NaiveDate>, String> {
                match get(field).as_str() {
                    "" => Ok(None),
                    d => NaiveDate::parse_from_str(d, "%Y-%m-%d")
                        .map(Some)
                        .map_err(|_| format!("{field} `{d}` is not a date (YYYY-MM-DD)")),
                }
            };
            let (valid_from, valid_to) = match (date("valid_from"), date("valid_to")) {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) => {
                    err(line, e);
                    continue;
                }
            };
            if let (Some(a), Some(b)) = (valid_from, valid_to) {
                if a > b {
                    err(line, format!("valid_from {a} is after valid_to {b}"));
                    continue;
                }
            }
            if status != Status::Rejected || !national_code.is_empty() {
                if national_code.is_empty() {
                    err(
                        line,
                        format!("local code `{local_code}` has no national_code"),
                    );
                    continue;
                }
                match family.parse(&national_code) {
                    Ok(p) if p.is_well_formed() => {}
                    Ok(p) => {
                        err(line, format!("national code `{national_code}` is not well-formed as written (canonical `{}`)", p.canonical));
                        continue;
                    }
                    Err(m) => {
                        err(line, format!("national code: {m}"));
                        continue;
                    }
                }
                if status == Status::Approved {
                    match table.map(|t| t(&national_code)) {
                        Some(TableStatus::Absent) => {
                            err(line, format!("national code `{national_code}` is not in the loaded {family} version"));
                            continue;
                        }
                        Some(TableStatus::Retired) => {
                            err(line, format!("national code `{national_code}` is retired in the loaded {family} version"));
                            continue;
                        }
                        _ => {}
                    }
                }
            }
            if relation == Relation::OneToMany && condition.is_none() && status == Status::Approved
            {
                err(
                    line,
                    format!(
                        "a 1:n row needs a condition that picks it (local code `{local_code}`)"
                    ),
                );
                continue;
            }
            rows.push(Mapping {
                line,
                local_code,
                local_name: get("local_name"),
                national_code,
                national_name: get("national_name"),
                relation,
                condition,
                valid_from,
                valid_to,
                status,
                reviewer: get("reviewer"),
                reviewed_at: get("reviewed_at"),
                note: get("note"),
            });
        }
    }
    // The same local code twice: only with a condition, or in windows that do not overlap.
    let mut by_local: HashMap<&str, Vec<&Mapping>> = HashMap::new();
    for r in rows.iter().filter(|r| r.status == Status::Approved) {
        by_local.entry(r.local_code.as_str()).or_default().push(r);
    }
    let mut clashes = Vec::new();
    for group in by_local.values() {
        for (i, a) in group.iter().enumerate() {
            for b in &group[i + 1..] {
                if a.condition.is_some() && b.condition.is_some() && a.condition != b.condition {
                    continue;
                }
                if a.overlaps(b) {
                    let why = if a.valid_from.is_some()
                        || a.valid_to.is_some()
                        || b.valid_from.is_some()
                        || b.valid_to.is_some()
                    {
                        "with overlapping validity"
                    } else {
                        "without a condition that tells them apart"
                    };
                    clashes.push((b.line, format!("local code `{}` is mapped again {why} (first at line {}: `{}`, here `{}`)", b.local_code, a.line, a.national_code, b.national_code)));
                }
            }
        }
    }
    clashes.sort();
    for (line, message) in clashes {
        err(line, message);
    }
    let mut errors: Vec<RowError> = found
        .into_iter()
        .map(|(line, message)| {
            let (s, len) = line_spans
                .get(line.saturating_sub(1))
                .copied()
                .unwrap_or((0, 0));
            RowError {
                location: format!("{name}:{line}"),
                message,
                src: NamedSource::new(name.clone(), text.to_string()),
                span: (s, len).into(),
            }
        })
        .collect();
    if errors.is_empty() {
        Ok(Crosswalk {
            area: area.to_string(),
            family,
            path: path.to_path_buf(),
            rows,
        })
    } else {
        errors.sort_by_key(|e| e.span.offset());
        Err(CrosswalkErrors { path: name, errors })
    }
}

impl Crosswalk {
    /// The national code for a local code on a day, given the record's fields for conditions.
    pub fn resolve(
        &self,
        local: &str,
        day: Option<NaiveDate>,
        get: &dyn Fn(&str) -> Option<String>,
    ) -> Option<&Mapping> {
        self.rows.iter().find(|r| {
            r.status == Status::Approved
                && r.local_code == local
                && r.valid_on(day)
                && r.condition.as_ref().is_none_or(|c| c.matches(get))
        })
    }

    /// The file's bytes: header and rows, UTF-8, as `parse` reads them.
    pub fn to_csv(&self) -> Vec<u8> {
        let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
        let _ = w.write_record(COLUMNS);
        for r in &self.rows {
            let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
            let _ = w.write_record([
                r.local_code.as_str(),
                &r.local_name,
                &r.national_code,
                &r.national_name,
                r.relation.as_str(),
                &r.condition
                    .as_ref()
                    .map(|c| c.to_string())
                    .unwrap_or_default(),
                &date(r.valid_from),
                &date(r.valid_to),
                r.status.as_str(),
                &r.reviewer,
                &r.reviewed_at,
                &r.note,
            ]);
        }
        w.into_inner().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "local_code,local_name,national_code,national_name,relation,condition,valid_from,valid_to,status,reviewer,reviewed_at,note\n";

    fn load(body: &str) -> Result<Crosswalk, CrosswalkErrors> {
        parse(
            "320900",
            Family::Drug,
            Path::new("m.csv"),
            &format!("{HEAD}{body}"),
            None,
        )
    }

    fn messages(body: &str) -> Vec<String> {
        load(body)
            .unwrap_err()
            .errors
            .iter()
            .map(|e| e.to_string())
            .collect()
    }

    #[test]
    fn reads_a_valid_file() {
        let c = load("A94,阿莫西林胶囊,XJ01CAA040A001010102699,阿莫西林胶囊,1:1,,,,approved,王,2024-07-01,\n").unwrap();
        assert_eq!(c.rows.len(), 1);
        assert_eq!(c.rows[0].line, 2);
        let round = parse(
            "320900",
            Family::Drug,
            Path::new("m.csv"),
            std::str::from_utf8(&c.to_csv()).unwrap(),
            None,
        )
        .unwrap();
        assert_eq!(round.rows[0].national_code, c.rows[0].national_code);
    }

    #[test]
    fn crlf_lines_are_right() {
        let text = format!(
            "{}A1,x,XJ01CAA040A00101010269,y,1:1,,,,approved,,,\r\n",
            HEAD.replace('\n', "\r\n")
        );
        let text = format!("{text}A2,x,XJ01CAA040A00101010269,y,1:1,,,,approved,,,\r\n");
        let e = parse("320900", Family::Drug, Path::new("m.csv"), &text, None).unwrap_err();
        assert!(e.errors[0].to_string().starts_with("m.csv:2:"));
        assert!(e.errors[1].to_string().starts_with("m.csv:3:"));
    }

    #[test]
    fn every_defect_is_located() {
        let m = messages(concat!(
            "A1,x,XJ01CAA040A00101010269,y,1:1,,,,approved,,,\n",
            "A2,x,XJ01CAA040A001010102699,y,1:n,,,,approved,,,\n",
            "A3,x,XJ01CAA040A001010102699,y,1:1,,,,approved,,,\n",
            "A3,x,XA01ABD075A002010100483,y,1:1,,,,approved,,,\n",
            "A4,x,XJ01CAA040A001010102699,y,1:1,,2024-01-01,2024-06-30,approved,,,\n",
            "A4,x,XA01ABD075A002010100483,y,1:1,,2024-06-01,,approved,,,\n",
            "A5,x,XJ01CAA040A001010102699,y,1:1,,,,maybe,,,\n",
            "A6,x,XJ01CAA040A001010102699,y,1:1,,2024-13-01,,approved,,,\n",
        ));
        assert_eq!(m.len(), 6, "{m:#?}");
        assert!(m[0].starts_with("m.csv:2: national code:"), "{}", m[0]);
        assert!(
            m[1].starts_with("m.csv:3: a 1:n row needs a condition"),
            "{}",
            m[1]
        );
        assert!(
            m[2].starts_with("m.csv:5: local code `A3` is mapped again without a condition"),
            "{}",
            m[2]
        );
        assert!(
            m[3].starts_with("m.csv:7: local code `A4` is mapped again with overlapping validity"),
            "{}",
            m[3]
        );
        assert!(m[4].starts_with("m.csv:8: status `maybe`"), "{}", m[4]);
        assert!(
            m[5].starts_with("m.csv:9: valid_from `2024-13-01`"),
            "{}",
            m[5]
        );
    }

    #[test]
    fn windows_and_conditions_tell_rows_apart() {
        let c = load(concat!(
            "A4,x,XJ01CAA040A001010102699,y,1:1,,2024-01-01,2024-06-30,approved,,,\n",
            "A4,x,XA01ABD075A002010100483,y,1:1,,2024-07-01,,approved,,,\n",
            "B1,x,XJ01CAA040A001010102699,y,1:n,bilg_dept_codg = A03,,,approved,,,\n",
            "B1,x,XA01ABD075A002010100483,y,1:n,bilg_dept_codg in A04|A05 and age >= 18,,,approved,,,\n",
        ))
        .unwrap();
        let none = |_: &str| None;
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        assert_eq!(
            c.resolve("A4", d("2024-03-01"), &none)
                .unwrap()
                .national_code,
            "XJ01CAA040A001010102699"
        );
        assert_eq!(
            c.resolve("A4", d("2024-08-01"), &none)
                .unwrap()
                .national_code,
            "XA01ABD075A002010100483"
        );
        let rec = |f: &str| match f {
            "bilg_dept_codg" => Some("A05".to_string()),
            "age" => Some("40".to_string()),
            _ => None,
        };
        assert_eq!(
            c.resolve("B1", None, &rec).unwrap().national_code,
            "XA01ABD075A002010100483"
        );
        let child = |f: &str| match f {
            "bilg_dept_codg" => Some("A05".to_string()),
            "age" => Some("9".to_string()),
            _ => None,
        };
        assert!(c.resolve("B1", None, &child).is_none());
    }

    #[test]
    fn table_presence_is_checked_for_approved_rows() {
        let table = |code: &str| {
            if code == "XJ01CAA040A001010102699" {
                TableStatus::Retired
            } else {
                TableStatus::Absent
            }
        };
        let e = parse(
            "320900",
            Family::Drug,
            Path::new("m.csv"),
            &format!("{HEAD}A1,x,XJ01CAA040A001010102699,y,1:1,,,,approved,,,\nA2,x,XA01ABD075A002010100483,y,1:1,,,,approved,,,\nA3,x,XA01ABD075A002010100483,y,1:1,,,,pending,,,\n"),
            Some(&table),
        )
        .unwrap_err();
        let m: Vec<String> = e.errors.iter().map(|e| e.to_string()).collect();
        assert_eq!(m.len(), 2);
        assert!(m[0].contains("retired"));
        assert!(m[1].contains("is not in the loaded drug version"));
    }
}
