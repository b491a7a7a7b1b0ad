//! The workbook half of the table reader: .xlsx and legacy .xls (BIFF8) through calamine.
//!
//! The published drug table keeps its data on a sheet named like `总表（YYMMDD）`; other tables
//! use the first sheet. A workbook is searched sheet by sheet, preferring a `总表` sheet, and the
//! first sheet with a recognisable header wins.

use std::io::Cursor;
use std::path::Path;

use calamine::{open_workbook_auto_from_rs, Data, Reader};

use super::table::{workbook_grid, Grid, TableError};

/// Read the sheet most likely to hold the table: the first, in preference order, with a row
/// that looks like a header; the caller then finds the family's columns in it.
pub(super) fn read_workbook(path: &Path, ext: &str, bytes: Vec<u8>) -> Result<Grid, TableError> {
    let mut sheets = read_workbook_sheets(path, ext, bytes)?;
    if sheets.is_empty() {
        return Err(TableError::Workbook {
            path: path.to_path_buf(),
            ext: ext.to_string(),
            detail: "the workbook has no sheets".to_string(),
        });
    }
    let best = sheets
        .iter()
        .position(|g| g.rows.iter().take(30).any(|r| is_header_like(r)))
        .unwrap_or(0);
    Ok(sheets.swap_remove(best))
}

/// A row that has a cell naming a code column, in any family.
fn is_header_like(row: &[super::table::Cell]) -> bool {
    row.iter()
        .any(|c| super::headers::is_any_code_header(&c.text))
}

/// Every sheet of a workbook, `总表` sheets first.
fn read_workbook_sheets(path: &Path, ext: &str, bytes: Vec<u8>) -> Result<Vec<Grid>, TableError> {
    let fail = |detail: String| TableError::Workbook {
        path: path.to_path_buf(),
        ext: ext.to_string(),
        detail,
    };
    let mut workbook =
        open_workbook_auto_from_rs(Cursor::new(bytes)).map_err(|e| fail(e.to_string()))?;
    let mut names = workbook.sheet_names();
    names.sort_by_key(|n| !n.starts_with("总表"));
    let mut grids = Vec::new();
    for name in names {
        let range = workbook
            .worksheet_range(&name)
            .map_err(|e| fail(format!("sheet `{name}`: {e}")))?;
        let (first_row, first_col) = range
            .start()
            .map(|(r, c)| (r as usize, c as usize))
            .unwrap_or((0, 0));
        let rows = range
            .rows()
            .map(|r| r.iter().map(cell_text).collect())
            .collect();
        grids.push(workbook_grid(name, first_row, first_col, rows));
    }
    Ok(grids)
}

/// A cell as text, and whether the workbook stored it as a number (codes that lost zeros).
fn cell_text(cell: &Data) -> (String, bool) {
    match cell {
        Data::Empty => (String::new(), false),
        Data::String(s) => (s.clone(), false),
        Data::Int(i) => (i.to_string(), true),
        Data::Float(f) => (float_text(*f), true),
        Data::Bool(b) => (b.to_string(), false),
        Data::DateTime(d) => (d.to_string(), false),
        Data::DateTimeIso(s) | Data::DurationIso(s) => (s.clone(), false),
        Data::Error(e) => (format!("#{e:?}"), false),
    }
}

/// Integral floats print without `.0` (Excel keeps every number as a float).
fn float_text(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_excel_shows_them() {
        assert_eq!(float_text(1102000010000.0), "1102000010000");
        assert_eq!(float_text(93.351_699_999_999_994), "93.3517");
        assert_eq!(float_text(-2.5), "-2.5");
    }
}
