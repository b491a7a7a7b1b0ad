//! Workbooks (.xlsx and legacy .xls/BIFF8) through calamine: any sheet, merged title rows above
//! the header skipped, and the ways Excel damages legacy data detected and reported: codes stored
//! as numbers (leading zeros lost), codes shown in scientific notation (`1.23E+14`), dates left
//! as serial numbers, numbers stored as text.

use std::path::Path;

use calamine::{open_workbook_auto, Data, Reader};

use super::sink::{ColumnRole, DefectKind, Sink, Written};
use super::{FileOptions, ReadError};
use crate::codes::damage::{is_scientific, long_number_text};

/// What reading one workbook found.
pub struct ExcelRead {
    /// The sheet read.
    pub sheet: String,
    /// 1-based header row.
    pub header_row: u64,
    /// Column names.
    pub columns: Vec<String>,
    /// What the sink wrote.
    pub written: Written,
}

/// Header words of columns that hold codes or identifiers (where a number means lost zeros).
const CODE_WORDS: &[&str] = &[
    "编码",
    "代码",
    "编号",
    "号码",
    "证号",
    "文号",
    "本位码",
    "code",
    "codg",
];
/// Header endings of identifier columns.
const ID_ENDINGS: &[&str] = &["_id", "_no", "_sn", "id"];
/// Header words of date columns.
const DATE_WORDS: &[&str] = &["日期", "时间", "date", "time"];

pub(super) fn is_code_header(h: &str) -> bool {
    let h = h.to_lowercase();
    CODE_WORDS.iter().any(|w| h.contains(w)) || ID_ENDINGS.iter().any(|w| h.ends_with(w))
}

fn is_date_header(h: &str) -> bool {
    let h = h.to_lowercase();
    DATE_WORDS.iter().any(|w| h.contains(w))
}

/// Read a workbook's sheet into a sink at `out`.
pub fn read(
    path: &Path,
    opts: &FileOptions,
    out: &Path,
    roles: &dyn Fn(&str) -> ColumnRole,
) -> Result<ExcelRead, ReadError> {
    let fail = |detail: String| ReadError::Workbook {
        path: path.to_path_buf(),
        detail,
    };
    let mut book = open_workbook_auto(path).map_err(|e| fail(e.to_string()))?;
    let names = book.sheet_names();
    let mut chosen = None;
    for name in &names {
        if opts.sheet.as_ref().is_some_and(|s| s != name) {
            continue;
        }
        let range = book
            .worksheet_range(name)
            .map_err(|e| fail(format!("sheet `{name}`: {e}")))?;
        if opts.sheet.is_some() || !range.is_empty() {
            chosen = Some((name.clone(), range));
            break;
        }
    }
    let Some((sheet, range)) = chosen else {
        return Err(match &opts.sheet {
            Some(s) => ReadError::NoSheet {
                path: path.to_path_buf(),
                sheet: s.clone(),
                available: names.join(", "),
            },
            None => ReadError::NoHeader {
                path: path.to_path_buf(),
                detail: "every sheet is empty".to_string(),
            },
        });
    };
    let first_row = range.start().map_or(0, |(r, _)| r as u64);
    let rows: Vec<&[Data]> = range.rows().collect();
    let header_index = match opts.header_row {
        Some(h) => (h as u64).checked_sub(first_row + 1).map(|i| i as usize),
        None => Some(detect_header(&rows)),
    };
    let Some(header_index) = header_index.filter(|i| *i < rows.len()) else {
        return Err(ReadError::NoHeader {
            path: path.to_path_buf(),
            detail: format!(
                "sheet `{sheet}` has no row {}",
                opts.header_row.unwrap_or(1)
            ),
        });
    };
    let columns = super::column_names(rows[header_index].iter().map(|c| match c {
        Data::String(s) => s.as_str(),
        _ => "",
    }));
    let headers_owned: Vec<String> = rows[header_index].iter().map(cell_string).collect();
    let roles_list: Vec<ColumnRole> = columns.iter().map(|n| roles(n)).collect();
    let data = &rows[header_index + 1..];
    // Columns most of whose cells are numbers: a text cell there is a number stored as text.
    let numeric_cols: Vec<bool> = (0..columns.len())
        .map(|c| {
            let (mut nums, mut filled) = (0, 0);
            for r in data.iter().take(1000) {
                match r.get(c) {
                    Some(Data::Float(_) | Data::Int(_)) => {
                        nums += 1;
                        filled += 1;
                    }
                    Some(Data::Empty) | None => {}
                    Some(_) => filled += 1,
                }
            }
            filled > 0 && nums * 2 > filled
        })
        .collect();
    let origin = format!("{}:{sheet}", path.display());
    let mut sink = Sink::create(out, origin.clone(), columns.clone(), roles_list.clone())?;
    let mut cells: Vec<String> = Vec::with_capacity(columns.len());
    for (i, r) in data.iter().enumerate() {
        let row = first_row + (header_index + 1 + i) as u64 + 1;
        if r.iter().all(|c| matches!(c, Data::Empty)) {
            continue;
        }
        cells.clear();
        let width = r.len().max(columns.len());
        for c in 0..width {
            let cell = r.get(c).unwrap_or(&Data::Empty);
            let name = columns.get(c).map(String::as_str).unwrap_or("");
            let header = headers_owned.get(c).map(String::as_str).unwrap_or("");
            let role = roles_list.get(c).copied().unwrap_or(ColumnRole::Plain);
            let date_col = matches!(role, ColumnRole::Date(_)) || is_date_header(header);
            let at = || format!("{origin}:{row}:{name}");
            let text = match cell {
                Data::Float(f) if date_col && (20_000.0..80_000.0).contains(f) => {
                    sink.defects.add(DefectKind::ExcelSerialDate, at);
                    sink.keep_raw(c, cell_string(cell));
                    let with_time = f.fract() != 0.0 || matches!(role, ColumnRole::Date(true));
                    super::normalise::excel_serial_date(*f, with_time)
                        .unwrap_or_else(|| f.to_string())
                }
                Data::Float(_) | Data::Int(_) if is_code_header(header) => {
                    sink.defects.add(DefectKind::CodeAsNumber, at);
                    match cell {
                        Data::Float(f) => long_number_text(*f).unwrap_or_else(|| cell_string(cell)),
                        _ => cell_string(cell),
                    }
                }
                Data::String(s) if is_scientific(s.trim()) => {
                    sink.defects.add(DefectKind::ScientificNotation, at);
                    s.clone()
                }
                Data::String(s)
                    if numeric_cols.get(c).copied().unwrap_or(false)
                        && s.trim().parse::<f64>().is_ok() =>
                {
                    sink.defects.add(DefectKind::NumberAsText, at);
                    s.clone()
                }
                _ => cell_string(cell),
            };
            cells.push(text);
        }
        // A row as wide as the header with trailing empties is not ragged.
        while cells.len() > columns.len() && cells.last().is_some_and(|c| c.is_empty()) {
            cells.pop();
        }
        sink.push(row, cells.iter().map(String::as_str), None)?;
    }
    Ok(ExcelRead {
        sheet,
        header_row: first_row + header_index as u64 + 1,
        columns,
        written: sink.finish()?,
    })
}

/// A cell as text: integral numbers without `.0`, dates as ISO.
fn cell_string(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => b.to_string(),
        Data::DateTime(d) => match d.as_datetime() {
            Some(dt) if dt.time() == chrono::NaiveTime::MIN => dt.format("%Y-%m-%d").to_string(),
            Some(dt) => dt.format("%Y-%m-%d %H:%M:%S").to_string(),
            None => d.to_string(),
        },
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// The header row: the first row with the most common number of filled cells, at least two
/// (merged title rows hold one filled cell).
fn detect_header(rows: &[&[Data]]) -> usize {
    let filled: Vec<usize> = rows
        .iter()
        .take(200)
        .map(|r| r.iter().filter(|c| !matches!(c, Data::Empty)).count())
        .collect();
    let mut tally = std::collections::BTreeMap::new();
    for f in filled.iter().filter(|f| **f >= 2) {
        *tally.entry(*f).or_insert(0usize) += 1;
    }
    let modal = tally
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)))
        .map_or(0, |(f, _)| f);
    // The header is at least as filled as the typical row (data rows may leave cells empty).
    filled.iter().position(|f| *f >= modal.max(2)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_words() {
        assert!(is_code_header("药品编码"));
        assert!(is_code_header("med_list_codg"));
        assert!(!is_code_header("数量"));
        assert!(is_date_header("结算日期"));
    }
}
