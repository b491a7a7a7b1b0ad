//! The review file `map suggest` writes and `map accept` reads: one row per candidate, edited by
//! a reviewer in a spreadsheet (CSV or XLSX). The reviewer writes `approve` in the `decision`
//! column of the right candidate, or `reject` on candidates that are wrong; rows left empty stay
//! undecided. Format: docs/MAPPINGS.md.

use std::path::Path;

use calamine::{open_workbook_auto, Data, Reader};
use miette::Diagnostic;
use serde::Serialize;
use thiserror::Error;

/// The review file's columns, in order.
pub const COLUMNS: [&str; 14] = [
    "area",
    "family",
    "local_code",
    "local_name",
    "local_detail",
    "rank",
    "national_code",
    "national_name",
    "score",
    "evidence",
    "decision",
    "reviewer",
    "note",
    "records",
];

/// One candidate row.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
pub struct ReviewRow {
    /// 1-based row in the file (0 before it is written).
    pub row: usize,
    /// Area.
    pub area: String,
    /// Family.
    pub family: String,
    /// The local code.
    pub local_code: String,
    /// Its local name.
    pub local_name: String,
    /// Spec, form, manufacturer, approval number… as the legacy catalog has them.
    pub local_detail: String,
    /// 1 = best candidate; 0 for a local code with no candidate.
    pub rank: u32,
    /// The candidate national code (the reviewer may type one where none was found).
    pub national_code: String,
    /// Its national name.
    pub national_name: String,
    /// 0..1.
    pub score: f64,
    /// Why it was proposed.
    pub evidence: String,
    /// `approve`, `reject` or empty.
    pub decision: String,
    /// Who decided.
    pub reviewer: String,
    /// Free text.
    pub note: String,
    /// Records in the data carrying the local code (to review the common ones first).
    pub records: u64,
}

impl ReviewRow {
    fn cells(&self) -> [String; 14] {
        [
            self.area.clone(),
            self.family.clone(),
            self.local_code.clone(),
            self.local_name.clone(),
            self.local_detail.clone(),
            self.rank.to_string(),
            self.national_code.clone(),
            self.national_name.clone(),
            format!("{:.3}", self.score),
            self.evidence.clone(),
            self.decision.clone(),
            self.reviewer.clone(),
            self.note.clone(),
            self.records.to_string(),
        ]
    }
}

/// Why a review file could not be read.
#[derive(Debug, Error, Diagnostic)]
pub enum ReviewError {
    /// Not readable.
    #[error("cannot read {path}: {detail}")]
    #[diagnostic(
        code(yibao::mapping::review_read),
        help("give the CSV or XLSX file `yibao map suggest` wrote")
    )]
    Read {
        /// The file.
        path: String,
        /// What went wrong.
        detail: String,
    },
    /// No file at the path given.
    #[error("{path}: no such file")]
    #[diagnostic(
        code(yibao::mapping::review_missing),
        help("the path is taken from the current folder, not from --workspace: give the path `yibao map suggest` printed (e.g. gen/out/suggest/320900-drug.xlsx)")
    )]
    Missing {
        /// The file.
        path: String,
    },
    /// A required column is missing.
    #[error("{path}: the review file has no `{column}` column")]
    #[diagnostic(code(yibao::mapping::review_columns), help("columns: {}", COLUMNS.join(", ")))]
    Column {
        /// The file.
        path: String,
        /// The column.
        column: String,
    },
}

/// The review file as CSV (UTF-8 with BOM, so Excel opens the Chinese text correctly), with
/// cells a spreadsheet would run as formulas neutralised ([`crate::sheet`]).
pub fn to_csv(rows: &[ReviewRow]) -> Vec<u8> {
    let mut w = crate::sheet::Writer::new();
    w.record(COLUMNS);
    for r in rows {
        w.record(r.cells());
    }
    w.into_bytes()
}

/// The review file as XLSX, one sheet `review`, header frozen, columns sized.
pub fn to_xlsx(rows: &[ReviewRow]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("review")?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (c, h) in COLUMNS.iter().enumerate() {
        sheet.write_string_with_format(0, c as u16, *h, &bold)?;
    }
    for (i, r) in rows.iter().enumerate() {
        for (c, v) in r.cells().iter().enumerate() {
            sheet.write_string(i as u32 + 1, c as u16, v)?;
        }
    }
    sheet.set_freeze_panes(1, 0)?;
    for (c, width) in [8, 10, 16, 24, 30, 5, 24, 24, 6, 40, 10, 10, 20, 8]
        .iter()
        .enumerate()
    {
        sheet.set_column_width(c as u16, *width)?;
    }
    book.save_to_buffer()
}

/// Read a review file (CSV or XLSX) by its header names.
pub fn read(path: &Path) -> Result<Vec<ReviewRow>, ReviewError> {
    let name = path.display().to_string();
    let fail = |detail: String| ReviewError::Read {
        path: name.clone(),
        detail,
    };
    if !path.exists() {
        return Err(ReviewError::Missing { path: name });
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let grid: Vec<Vec<String>> = if ext == "xlsx" || ext == "xls" {
        let mut book = open_workbook_auto(path).map_err(|e| fail(e.to_string()))?;
        let sheet = book
            .sheet_names()
            .first()
            .cloned()
            .ok_or_else(|| fail("no sheet".into()))?;
        let range = book
            .worksheet_range(&sheet)
            .map_err(|e| fail(e.to_string()))?;
        range
            .rows()
            .map(|r| {
                r.iter()
                    .map(|c| match c {
                        Data::Empty => String::new(),
                        Data::Float(f) if f.fract() == 0.0 => format!("{}", *f as i64),
                        other => other.to_string(),
                    })
                    .collect()
            })
            .collect()
    } else {
        let bytes = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
        let text = String::from_utf8(bytes)
            .map_err(|_| fail("not UTF-8 text (save the CSV as UTF-8)".into()))?;
        let body = text.strip_prefix('\u{FEFF}').unwrap_or(&text);
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(body.as_bytes());
        reader
            .records()
            .map(|r| {
                // The quote `to_csv` put before a formula character comes off again.
                r.map(|r| {
                    r.iter()
                        .map(|c| crate::sheet::undo(c).to_string())
                        .collect()
                })
                .map_err(|e| fail(e.to_string()))
            })
            .collect::<Result<_, _>>()?
    };
    let Some(header) = grid.first() else {
        return Ok(Vec::new());
    };
    let col = |n: &str| header.iter().position(|h| h.trim() == n);
    for required in ["area", "family", "local_code", "national_code", "decision"] {
        if col(required).is_none() {
            return Err(ReviewError::Column {
                path: name,
                column: required.into(),
            });
        }
    }
    let mut rows = Vec::new();
    for (i, cells) in grid.iter().enumerate().skip(1) {
        let get = |n: &str| {
            col(n)
                .and_then(|c| cells.get(c))
                .map(|v| v.trim().to_string())
                .unwrap_or_default()
        };
        if cells.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        rows.push(ReviewRow {
            row: i + 1,
            area: get("area"),
            family: get("family"),
            local_code: get("local_code"),
            local_name: get("local_name"),
            local_detail: get("local_detail"),
            rank: get("rank").parse().unwrap_or(0),
            national_code: get("national_code"),
            national_name: get("national_name"),
            score: get("score").parse().unwrap_or(0.0),
            evidence: get("evidence"),
            decision: get("decision"),
            reviewer: get("reviewer"),
            note: get("note"),
            records: get("records").parse().unwrap_or(0),
        });
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> ReviewRow {
        ReviewRow {
            area: "320900".into(),
            family: "drug".into(),
            local_code: "A94".into(),
            local_name: "阿莫西林胶囊".into(),
            rank: 1,
            national_code: "XJ01CAA040A001010102699".into(),
            national_name: "阿莫西林胶囊".into(),
            score: 0.93,
            evidence: "name bigram 0.93".into(),
            records: 12,
            ..Default::default()
        }
    }

    #[test]
    fn csv_and_xlsx_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in [
            ("r.csv", to_csv(&[row()])),
            ("r.xlsx", to_xlsx(&[row()]).unwrap()),
        ] {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).unwrap();
            let back = read(&p).unwrap();
            assert_eq!(back.len(), 1, "{name}");
            assert_eq!(back[0].row, 2);
            assert_eq!(back[0].national_code, "XJ01CAA040A001010102699");
            assert_eq!(back[0].records, 12);
            assert_eq!(back[0].local_name, "阿莫西林胶囊");
        }
    }
}
