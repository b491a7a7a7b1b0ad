//! Reading an officially published national code table (xlsx, xls or csv, as NHSA publishes it)
//! into validated rows, ready for the store.
//!
//! Columns are found by their published Chinese header, never by position; title rows above the
//! header are skipped. Every row's code must be a well-formed code of the family: one bad row
//! fails the whole table (the import is all or nothing) and every bad row is named as
//! `file:sheet:row:column`.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use miette::Diagnostic;
use sha2::{Digest, Sha256};
use thiserror::Error;

use super::headers::{self, Columns};
use super::Family;

/// How many rows are searched for the header row.
const HEADER_SEARCH_ROWS: usize = 30;
/// How many row errors are listed before the rest are only counted.
const MAX_LISTED_ERRORS: usize = 20;

/// Where a row came from: file, sheet (for workbooks) and 1-based row number as a spreadsheet shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// The file as given on the command line.
    pub file: PathBuf,
    /// The sheet, for workbooks.
    pub sheet: Option<String>,
    /// 1-based row (line for CSV files without embedded newlines).
    pub row: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(sheet) = &self.sheet {
            write!(f, ":{sheet}")?;
        }
        write!(f, ":{}", self.row)
    }
}

/// One code of a published table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableRow {
    /// The code, trimmed, exactly as published otherwise.
    pub code: String,
    /// The name as published (注册名称, 诊断名称, ...).
    pub name: String,
    /// True when the table marks the code as retired (停用, 作废 ...).
    pub retired: bool,
    /// Every other column: (header, value), empty values left out.
    pub attrs: Vec<(String, String)>,
    /// Where the row was read.
    pub location: Location,
}

/// What was read from one file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// The file as given.
    pub path: PathBuf,
    /// SHA-256 of the file's bytes, hex.
    pub sha256: String,
    /// The sheet the table was found on, for workbooks.
    pub sheet: Option<String>,
    /// 1-based row of the header.
    pub header_row: usize,
    /// The header that identified the code column.
    pub code_header: String,
    /// The header that identified the name column.
    pub name_header: String,
    /// The header of the column read for a name where the name column is empty.
    pub fallback_header: Option<String>,
    /// Codes named from the fallback column.
    pub by_fallback: usize,
    /// Codes with no name in either column (kept: membership needs no name; name checks and
    /// `map suggest` cannot use them).
    pub nameless: usize,
    /// Data rows read.
    pub rows: usize,
}

/// A whole table, possibly read from several files (a family published in parts).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Table {
    /// Every code, in file order.
    pub rows: Vec<TableRow>,
    /// One entry per file read.
    pub files: Vec<SourceFile>,
}

/// One bad row.
#[derive(Debug, Clone, PartialEq, Eq, Error, Diagnostic)]
#[error("{location}: column {column}: {message}")]
#[diagnostic(code(yibao::codes::import::row))]
pub struct RowError {
    /// Where.
    pub location: Location,
    /// The column, as `header (letter or number)`.
    pub column: String,
    /// What is wrong.
    pub message: String,
}

/// Why a table could not be read.
#[derive(Debug, Error, Diagnostic)]
pub enum TableError {
    /// The file does not exist.
    #[error("{path}: no such file")]
    #[diagnostic(
        code(yibao::codes::import::missing),
        help("check the path; several files may be given for one version")
    )]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// The file could not be read at all.
    #[error("cannot read {path}")]
    #[diagnostic(code(yibao::io::read))]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The extension is not one the published tables come in.
    #[error("{path}: unsupported file type `{ext}`")]
    #[diagnostic(
        code(yibao::codes::import::format),
        help("national tables are published as .xlsx, .xls or .csv (also .tsv / .txt)")
    )]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// Its extension.
        ext: String,
    },
    /// calamine could not open the workbook (corrupt, truncated, or not really a workbook).
    #[error("{path}: not a readable {ext} workbook: {detail}")]
    #[diagnostic(
        code(yibao::codes::import::workbook),
        help("the file may be truncated, password-protected or not what its extension says; re-download it")
    )]
    Workbook {
        /// The file.
        path: PathBuf,
        /// Its extension.
        ext: String,
        /// calamine's message.
        detail: String,
    },
    /// A CSV file is neither UTF-8 nor GB18030/GBK.
    #[error("{path}:{line}: bytes that are neither UTF-8 nor GBK/GB18030")]
    #[diagnostic(
        code(yibao::codes::import::encoding),
        help("save the file as UTF-8 or GBK, or check that it is a text file")
    )]
    Encoding {
        /// The file.
        path: PathBuf,
        /// 1-based line of the first undecodable byte.
        line: usize,
    },
    /// A CSV record could not be parsed.
    #[error("{path}:{line}: {detail}")]
    #[diagnostic(code(yibao::codes::import::csv))]
    Csv {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// The csv crate's message.
        detail: String,
    },
    /// No header row with the family's code and name columns was found.
    #[error("{path}: no {family} table found: no row in the first {HEADER_SEARCH_ROWS} rows of {searched} has a code column and a name column")]
    #[diagnostic(
        code(yibao::codes::import::header),
        help("{looks_like}a {family} table needs a code column headed one of: {code_headers}; and a name column headed one of: {name_headers}")
    )]
    NoHeader {
        /// The file.
        path: PathBuf,
        /// The family looked for.
        family: Family,
        /// What was searched ("sheet 总表", "the file").
        searched: String,
        /// Accepted code headers.
        code_headers: String,
        /// What the file looks like instead, when yibao recognises it (with a trailing space).
        looks_like: String,
        /// Accepted name headers.
        name_headers: String,
    },
    /// Rows with bad values.
    #[error("{count} bad row(s) in the {family} table; nothing was imported")]
    #[diagnostic(
        code(yibao::codes::import::rows),
        help("fix the rows listed (or check that --family is right) and import again")
    )]
    BadRows {
        /// The family.
        family: Family,
        /// How many rows were bad in all.
        count: usize,
        /// The first of them.
        #[related]
        errors: Vec<RowError>,
    },
    /// The files hold no codes.
    #[error("no {family} codes found in the given file(s)")]
    #[diagnostic(code(yibao::codes::import::empty))]
    Empty {
        /// The family.
        family: Family,
    },
}

/// Read the published table of `family` from `paths` (all parts of one version).
pub fn read_table(family: Family, paths: &[PathBuf]) -> Result<Table, TableError> {
    let mut table = Table::default();
    let mut errors = Vec::new();
    let mut error_count = 0usize;
    let mut seen: HashMap<String, Location> = HashMap::new();
    for path in paths {
        let bytes = std::fs::read(path).map_err(|source| match source.kind() {
            std::io::ErrorKind::NotFound => TableError::Missing { path: path.clone() },
            _ => TableError::Io {
                path: path.clone(),
                source,
            },
        })?;
        let sha256 = hex(&Sha256::digest(&bytes));
        let grid = read_grid(path, bytes)?;
        let found = find_header(family, path, &grid)?;
        let mut rows = 0usize;
        let (mut by_fallbacks, mut nameless) = (0usize, 0usize);
        for (index, cells) in grid.rows.iter().enumerate().skip(found.row_index + 1) {
            let location = Location {
                file: path.clone(),
                sheet: grid.sheet.clone(),
                row: grid.row_number(index),
            };
            if cells.iter().all(|c| c.text.trim().is_empty()) {
                continue;
            }
            rows += 1;
            match table_row(family, &found, cells, location) {
                Ok((row, by_fallback)) => {
                    by_fallbacks += usize::from(by_fallback);
                    if row.name.is_empty() {
                        nameless += 1;
                    }
                    if let Some(first) = seen.get(&row.code) {
                        error_count += 1;
                        if errors.len() < MAX_LISTED_ERRORS {
                            errors.push(RowError {
                                location: row.location.clone(),
                                column: column_label(&grid, &found.code_header, found.columns.code),
                                message: format!(
                                    "code `{}` appears twice in this version (first at {first})",
                                    row.code
                                ),
                            });
                        }
                    } else {
                        seen.insert(row.code.clone(), row.location.clone());
                        table.rows.push(row);
                    }
                }
                Err(e) => {
                    error_count += 1;
                    if errors.len() < MAX_LISTED_ERRORS {
                        errors.push(RowError {
                            column: column_label(&grid, e.header, e.column),
                            location: e.location,
                            message: e.message,
                        });
                    }
                }
            }
        }
        table.files.push(SourceFile {
            path: path.clone(),
            sha256,
            sheet: grid.sheet.clone(),
            header_row: grid.row_number(found.row_index),
            code_header: found.code_header.to_string(),
            name_header: found.name_header.to_string(),
            fallback_header: found.fallback_header.map(str::to_string),
            by_fallback: by_fallbacks,
            nameless,
            rows,
        });
        // A name column empty in every row is the wrong column (or the wrong family), not a
        // table of codes without names.
        if rows > 0 && nameless == rows {
            error_count += 1;
            errors.push(RowError {
                location: Location {
                    file: path.clone(),
                    sheet: grid.sheet.clone(),
                    row: grid.row_number(found.row_index),
                },
                column: column_label(&grid, found.name_header, found.columns.name),
                message: "the name column is empty in every row; check that it is the name \
                          column and that --family is right"
                    .to_string(),
            });
        }
    }
    if error_count > 0 {
        return Err(TableError::BadRows {
            family,
            count: error_count,
            errors,
        });
    }
    if table.rows.is_empty() {
        return Err(TableError::Empty { family });
    }
    Ok(table)
}

/// A cell's text and whether a workbook stored it as a number.
#[derive(Debug, Clone, Default)]
pub(super) struct Cell {
    pub(super) text: String,
    pub(super) numeric: bool,
}

/// A sheet or CSV file as rows of cells, with how to number them for people.
pub(super) struct Grid {
    pub(super) sheet: Option<String>,
    /// 0-based row index of `rows[0]` in the sheet (workbooks may start below row 1).
    first_row: usize,
    /// Excel-style column letters (workbooks) or 1-based numbers (CSV).
    letters: bool,
    /// 0-based column index of `rows[_][0]`.
    first_col: usize,
    pub(super) rows: Vec<Vec<Cell>>,
    /// For CSV: the 1-based line each record starts on.
    lines: Option<Vec<usize>>,
}

impl Grid {
    fn row_number(&self, index: usize) -> usize {
        match &self.lines {
            Some(lines) => lines.get(index).copied().unwrap_or(index + 1),
            None => self.first_row + index + 1,
        }
    }
}

fn column_label(grid: &Grid, header: &str, index: usize) -> String {
    let n = grid.first_col + index;
    if grid.letters {
        format!("{header} ({})", excel_column(n))
    } else {
        format!("{header} (#{})", n + 1)
    }
}

/// `0` -> `A`, `26` -> `AA`.
fn excel_column(mut n: usize) -> String {
    let mut s = Vec::new();
    loop {
        s.push(b'A' + (n % 26) as u8);
        if n < 26 {
            break;
        }
        n = n / 26 - 1;
    }
    s.reverse();
    String::from_utf8_lossy(&s).into_owned()
}

fn read_grid(path: &Path, bytes: Vec<u8>) -> Result<Grid, TableError> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    match ext.as_str() {
        "xlsx" | "xlsm" | "xls" => super::table_excel::read_workbook(path, &ext, bytes),
        "csv" | "tsv" | "txt" => read_csv(path, &bytes),
        _ => Err(TableError::Unsupported {
            path: path.to_path_buf(),
            ext,
        }),
    }
}

pub(super) fn workbook_grid(
    sheet: String,
    first_row: usize,
    first_col: usize,
    rows: Vec<Vec<(String, bool)>>,
) -> Grid {
    Grid {
        sheet: Some(sheet),
        first_row,
        first_col,
        letters: true,
        rows: rows
            .into_iter()
            .map(|r| {
                r.into_iter()
                    .map(|(text, numeric)| Cell { text, numeric })
                    .collect()
            })
            .collect(),
        lines: None,
    }
}

/// Decode a text table: UTF-8 (with or without BOM) when valid, else GB18030 (a superset of GBK).
fn decode(path: &Path, bytes: &[u8]) -> Result<String, TableError> {
    let body = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    if let Ok(text) = std::str::from_utf8(body) {
        return Ok(text.to_string());
    }
    let (text, had_errors) = encoding_rs::GB18030.decode_without_bom_handling(body);
    if had_errors {
        let line = text
            .find('\u{FFFD}')
            .map(|at| text[..at].matches('\n').count() + 1)
            .unwrap_or(1);
        return Err(TableError::Encoding {
            path: path.to_path_buf(),
            line,
        });
    }
    Ok(text.into_owned())
}

fn read_csv(path: &Path, bytes: &[u8]) -> Result<Grid, TableError> {
    let text = decode(path, bytes)?;
    let first_line = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let delimiter = [b'\t', b',', b'|', b';']
        .into_iter()
        .max_by_key(|d| first_line.matches(*d as char).count())
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| TableError::Csv {
            path: path.to_path_buf(),
            line: e.position().map(|p| p.line() as usize).unwrap_or(0),
            detail: e.to_string(),
        })?;
        lines.push(record.position().map(|p| p.line() as usize).unwrap_or(0));
        rows.push(
            record
                .iter()
                .map(|v| Cell {
                    text: v.to_string(),
                    numeric: false,
                })
                .collect(),
        );
    }
    Ok(Grid {
        sheet: None,
        first_row: 0,
        first_col: 0,
        letters: false,
        rows,
        lines: Some(lines),
    })
}

/// A sentence on what a file without a code table's header is, when its header says: a
/// provincial price list (计价单位 and 最高限价 beside 编码) holds the 9-digit
/// 全国医疗服务价格项目规范 codes and their prices, not the national 15-digit service codes.
fn looks_like(grid: &Grid) -> String {
    let price_list = grid.rows.iter().take(HEADER_SEARCH_ROWS).any(|cells| {
        let names: Vec<String> = cells.iter().map(|c| headers::normalise(&c.text)).collect();
        let has = |h: &str| names.iter().any(|n| n.contains(h));
        has("编码") && has("计价单位") && (has("最高限价") || has("价格"))
    });
    if price_list {
        "this is a price list (编码, 计价单位, 最高限价): its codes are the 9-digit 全国医疗服务价格项目规范 \
         items, whose national 15-digit service codes hold them at digits 3–11 (`yibao codes explain`); \
         a price list is not a code table to import. "
            .to_string()
    } else {
        String::new()
    }
}

struct Found {
    row_index: usize,
    columns: Columns,
    code_header: &'static str,
    name_header: &'static str,
    fallback_header: Option<&'static str>,
    /// Header text of every column, for attributes.
    names: Vec<String>,
}

fn find_header(family: Family, path: &Path, grid: &Grid) -> Result<Found, TableError> {
    for (row_index, cells) in grid.rows.iter().take(HEADER_SEARCH_ROWS).enumerate() {
        let names: Vec<String> = cells.iter().map(|c| headers::normalise(&c.text)).collect();
        if let Some(l) = headers::locate(family, &names) {
            return Ok(Found {
                row_index,
                columns: l.columns,
                code_header: l.code_header,
                name_header: l.name_header,
                fallback_header: l.fallback_header,
                names,
            });
        }
    }
    Err(TableError::NoHeader {
        path: path.to_path_buf(),
        family,
        searched: match &grid.sheet {
            Some(sheet) => format!("sheet `{sheet}`"),
            None => "the file".to_string(),
        },
        code_headers: headers::code_headers(family).join(", "),
        name_headers: headers::name_headers(family).join(", "),
        looks_like: looks_like(grid),
    })
}

struct CellError {
    location: Location,
    header: &'static str,
    column: usize,
    message: String,
}

fn table_row(
    family: Family,
    found: &Found,
    cells: &[Cell],
    location: Location,
) -> Result<(TableRow, bool), CellError> {
    let empty = Cell::default();
    let code_cell = cells.get(found.columns.code).unwrap_or(&empty);
    let fail = |message: String| CellError {
        location: location.clone(),
        header: found.code_header,
        column: found.columns.code,
        message,
    };
    let code = code_cell.text.trim().to_string();
    if code.is_empty() {
        return Err(fail("empty code".to_string()));
    }
    match family.parse(&code) {
        Ok(parsed) if parsed.is_well_formed() => {}
        Ok(parsed) => {
            let why: Vec<&str> = parsed.flags.iter().map(|f| f.message.as_str()).collect();
            return Err(fail(format!(
                "code `{code}` is not well-formed: {} (canonical form `{}`)",
                why.join("; "),
                parsed.canonical
            )));
        }
        Err(m) => {
            let mut message = m.to_string();
            if code_cell.numeric {
                message.push_str(
                    "; the workbook stores this code as a number, so leading zeros or digits may be lost",
                );
            }
            return Err(fail(message));
        }
    }
    // The name column, else the fallback one; a code with neither is kept without a name
    // (counted in the file's summary): it is still a code of the version.
    let text_at = |i: usize| {
        cells
            .get(i)
            .map(|c| c.text.trim().to_string())
            .unwrap_or_default()
    };
    let mut name = text_at(found.columns.name);
    let mut by_fallback = false;
    if name.is_empty() {
        if let Some(i) = found.columns.fallback_name {
            name = text_at(i);
            by_fallback = !name.is_empty();
        }
    }
    let retired = found.columns.status.is_some_and(|(i, values)| {
        cells
            .get(i)
            .is_some_and(|c| headers::means_retired(values, &c.text))
    });
    let attrs = cells
        .iter()
        .enumerate()
        .filter(|(i, c)| {
            *i != found.columns.code && *i != found.columns.name && !c.text.trim().is_empty()
        })
        .filter_map(|(i, c)| {
            let header = found.names.get(i).filter(|h| !h.is_empty())?;
            Some((header.clone(), c.text.trim().to_string()))
        })
        .collect();
    Ok((
        TableRow {
            code,
            name,
            retired,
            attrs,
            location,
        },
        by_fallback,
    ))
}

/// Lower-case hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_columns() {
        assert_eq!(excel_column(0), "A");
        assert_eq!(excel_column(25), "Z");
        assert_eq!(excel_column(26), "AA");
        assert_eq!(excel_column(27), "AB");
        assert_eq!(excel_column(701), "ZZ");
        assert_eq!(excel_column(702), "AAA");
    }

    #[test]
    fn decodes_gbk_and_utf8_bom() {
        let p = Path::new("t.csv");
        let (gbk, _, _) = encoding_rs::GBK.encode("诊断代码,诊断名称\n");
        assert_eq!(decode(p, &gbk).unwrap(), "诊断代码,诊断名称\n");
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice("代码".as_bytes());
        assert_eq!(decode(p, &bom).unwrap(), "代码");
    }
}
