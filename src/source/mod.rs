//! Readers: legacy datasets in whatever their old system exported (CSV in UTF-8/GBK/GB18030,
//! .xlsx, .xls, Parquet, SQLite) become one polars `LazyFrame` per dataset.
//!
//! Text and workbook sources are first streamed through a [`sink::Sink`], which normalises values
//! (keeping raw ones), tallies defects with their locations and writes Parquet chunks to a cache
//! file; the frame scans that file lazily, so memory does not grow with the input. Every record
//! keeps `_file`, `_sheet` and `_row`: where an analyst finds it in the source.

pub mod cache;
pub mod dataset;
pub mod encoding;
mod excel;
pub mod hash;
pub mod normalise;
mod parquet;
pub mod sink;
pub mod split;
mod sqlite;
mod text;

use std::path::{Path, PathBuf};

use miette::Diagnostic;
use polars::prelude::*;
use serde::Serialize;
use thiserror::Error;

pub use encoding::Guess;
pub use sink::{ColumnRole, DefectCount, DefectKind, Defects, Written};

use crate::workspace::{Encoding, Format, SqliteSource};

/// A callback told how many records have been read so far (for a progress bar); called every
/// few tens of thousands of records from the reading thread.
#[derive(Clone)]
pub struct Progress(pub std::sync::Arc<dyn Fn(u64) + Send + Sync>);

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

/// How to read one file (from a dataset of yibao.toml, or defaults for a bare file).
#[derive(Debug, Clone, Default)]
pub struct FileOptions {
    /// Declared format (else from the extension, checked against the file's first bytes).
    pub format: Option<Format>,
    /// Declared encoding (else detected).
    pub encoding: Option<Encoding>,
    /// Declared delimiter (else detected).
    pub delimiter: Option<u8>,
    /// Sheet (else the first with data).
    pub sheet: Option<String>,
    /// 1-based header row (else detected).
    pub header_row: Option<usize>,
    /// SQLite table or query.
    pub sqlite: Option<SqliteSource>,
    /// Told the records read so far.
    pub progress: Option<Progress>,
}

/// What reading one file found.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// The file.
    pub path: PathBuf,
    /// SHA-256 (lower-case hex) and size of the file as read, taken while reading.
    #[serde(skip)]
    pub sha256: (String, u64),
    /// Its format.
    pub format: Format,
    /// Text files: the encoding used and how sure the guess was.
    pub encoding: Option<Guess>,
    /// Text files: the delimiter.
    pub delimiter: Option<String>,
    /// Workbooks: the sheet read.
    pub sheet: Option<String>,
    /// 1-based row (line) of the header, when the format has one.
    pub header_row: Option<u64>,
    /// Records read.
    pub rows: u64,
    /// Text files: lines in the file; every one is in the header, a record (which may span
    /// lines), the title rows above the header, or blank.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lines: Option<u64>,
    /// Text files: empty lines, which hold no record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blank_lines: Option<u64>,
    /// Column names as found (after trimming).
    pub columns: Vec<String>,
    /// Defects found while reading, with sample locations.
    pub defects: Defects,
    /// Per column: values that were only spaces or a placeholder (read as missing).
    pub blanks: std::collections::BTreeMap<String, u64>,
}

/// A file read into a lazily scanned frame.
pub struct Read {
    /// The frame: the file's columns (text) plus `_file`, `_sheet`, `_row`, `_defect`, `_raw`.
    pub frame: LazyFrame,
    /// What was found.
    pub report: FileReport,
}

/// Why a file could not be read. Every variant names the file, and the line or row when known.
#[derive(Debug, Error, Diagnostic)]
pub enum ReadError {
    /// The file does not exist.
    #[error("{path}: no such file")]
    #[diagnostic(code(yibao::source::missing))]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// The file exists but cannot be read.
    #[error("cannot read {path}")]
    #[diagnostic(code(yibao::io::read))]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Neither a declared format nor the extension says what the file is.
    #[error("{path}: cannot tell the format from the extension")]
    #[diagnostic(
        code(yibao::source::format),
        help("declare `format = \"csv\"` (or xlsx, xls, parquet, sqlite) for the dataset")
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// The first bytes contradict the extension or declared format.
    #[error("{path}: the file is not {expected}: its first bytes look like {found}")]
    #[diagnostic(
        code(yibao::source::not_what_it_says),
        help("rename the file, or declare its real format in yibao.toml")
    )]
    NotWhatItSays {
        /// The file.
        path: PathBuf,
        /// What the extension or declaration says.
        expected: &'static str,
        /// What the bytes look like.
        found: &'static str,
    },
    /// Bytes that the encoding cannot decode.
    #[error("{path}:{line}: bytes that are not valid {encoding}{}", if *.declared { " (the encoding declared in yibao.toml)" } else { " (the detected encoding)" })]
    #[diagnostic(code(yibao::source::encoding), help("declare the file's real encoding (`encoding = \"gbk\"`, \"gb18030\" or \"utf-8\"), or repair the bytes on that line"))]
    Undecodable {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// The encoding tried.
        encoding: &'static str,
        /// Whether it was declared.
        declared: bool,
    },
    /// A CSV record the csv parser rejects.
    #[error("{path}:{line}: {detail}")]
    #[diagnostic(code(yibao::source::csv))]
    Csv {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u64,
        /// What went wrong.
        detail: String,
    },
    /// A workbook calamine cannot open (truncated, corrupt, encrypted).
    #[error("{path}: not a readable workbook: {detail}")]
    #[diagnostic(
        code(yibao::source::workbook),
        help("the file may be truncated or corrupt: export it again")
    )]
    Workbook {
        /// The file.
        path: PathBuf,
        /// calamine's message.
        detail: String,
    },
    /// A sheet that does not exist.
    #[error("{path}: no sheet named `{sheet}`")]
    #[diagnostic(code(yibao::source::sheet), help("sheets in the file: {available}"))]
    NoSheet {
        /// The file.
        path: PathBuf,
        /// The sheet asked for.
        sheet: String,
        /// The sheets there are.
        available: String,
    },
    /// No header row.
    #[error("{path}: no header row: {detail}")]
    #[diagnostic(code(yibao::source::header))]
    NoHeader {
        /// The file.
        path: PathBuf,
        /// Why.
        detail: String,
    },
    /// A column yibao.toml maps is not in the file.
    #[error("{path}: column `{column}` (mapped in yibao.toml) is not in the file")]
    #[diagnostic(code(yibao::source::missing_column), help("{help}"))]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// Did you mean, and the columns there are.
        help: String,
    },
    /// A SQLite source failed.
    #[error("{path}: {detail}")]
    #[diagnostic(code(yibao::source::sqlite))]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// Writing the cache failed (disk full, permissions).
    #[error("cannot write the read cache {path}")]
    #[diagnostic(code(yibao::io::cache), help("check free disk space"))]
    Cache {
        /// The cache file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A Parquet file that cannot be read (truncated, damaged).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Parquet(#[from] parquet::ParquetError),
    /// polars failed.
    #[error("{path}: {detail}")]
    #[diagnostic(code(yibao::io::polars))]
    Polars {
        /// The file involved.
        path: PathBuf,
        /// polars' message.
        detail: String,
    },
}

impl ReadError {
    pub(crate) fn open(path: &Path, e: std::io::Error) -> ReadError {
        match e.kind() {
            std::io::ErrorKind::NotFound => ReadError::Missing {
                path: path.to_path_buf(),
            },
            _ => ReadError::Io {
                path: path.to_path_buf(),
                source: e,
            },
        }
    }

    pub(crate) fn polars(path: &Path, e: PolarsError) -> ReadError {
        ReadError::Polars {
            path: path.to_path_buf(),
            detail: e.to_string(),
        }
    }
}

/// What a file's first bytes say it is.
fn sniff(path: &Path) -> Result<Option<(Format, &'static str)>, ReadError> {
    use std::io::Read as _;
    // Enough for the zero bytes of UTF-16 text to show past a title line of CJK characters.
    let mut head = Vec::with_capacity(4096);
    let file = std::fs::File::open(path).map_err(|e| ReadError::open(path, e))?;
    file.take(4096)
        .read_to_end(&mut head)
        .map_err(|e| ReadError::open(path, e))?;
    let head = &head[..];
    Ok(if head.starts_with(b"PK\x03\x04") {
        Some((Format::Xlsx, "an xlsx workbook (zip)"))
    } else if head.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        Some((Format::Xls, "an xls workbook (OLE2)"))
    } else if head.starts_with(b"PAR1") {
        Some((Format::Parquet, "a Parquet file"))
    } else if head.starts_with(b"SQLite format 3") {
        Some((Format::Sqlite, "a SQLite database"))
    } else if head.is_empty() {
        None
    } else if head.contains(&0) && encoding::utf16(head).is_none() {
        Some((Format::Csv, "binary data"))
    } else {
        Some((Format::Csv, "text"))
    })
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Csv => "a text (CSV) file",
        Format::Xlsx => "an xlsx workbook",
        Format::Xls => "an xls workbook",
        Format::Parquet => "a Parquet file",
        Format::Sqlite => "a SQLite database",
    }
}

/// Read one file into a frame. Text and workbook files are normalised into a Parquet cache
/// file at `cache` (the caller keeps it until the frame is consumed).
pub fn read_file(
    path: &Path,
    opts: &FileOptions,
    cache: &Path,
    roles: &dyn Fn(&str) -> ColumnRole,
) -> Result<Read, ReadError> {
    let format = opts
        .format
        .or_else(|| Format::from_path(path))
        .ok_or_else(|| ReadError::UnknownFormat {
            path: path.to_path_buf(),
        })?;
    if let Some((found, what)) = sniff(path)? {
        let binary_as_text = format == Format::Csv && what == "binary data";
        if found != format || binary_as_text {
            return Err(ReadError::NotWhatItSays {
                path: path.to_path_buf(),
                expected: format_name(format),
                found: what,
            });
        }
    }
    let file_lit = path.display().to_string();
    let (frame_path, report, sheet) = match format {
        Format::Csv => {
            let t = text::read(path, opts, cache, roles)?;
            let report = FileReport {
                path: path.to_path_buf(),
                sha256: t.sha256,
                format,
                encoding: Some(t.encoding),
                delimiter: Some(match t.delimiter {
                    b'\t' => "tab".to_string(),
                    d => (d as char).to_string(),
                }),
                sheet: None,
                header_row: Some(t.header_line),
                rows: t.written.rows,
                lines: Some(t.lines),
                blank_lines: Some(t.blank_lines),
                columns: t.columns,
                defects: t.written.defects,
                blanks: t.written.blanks,
            };
            (cache.to_path_buf(), report, None)
        }
        Format::Xlsx | Format::Xls => {
            let x = excel::read(path, opts, cache, roles)?;
            let sheet = x.sheet.clone();
            let mut report = library_report(path, format, x.columns, x.written)?;
            report.sheet = Some(x.sheet);
            report.header_row = Some(x.header_row);
            (cache.to_path_buf(), report, Some(sheet))
        }
        Format::Sqlite => {
            let source = opts.sqlite.clone().ok_or_else(|| ReadError::Sqlite {
                path: path.to_path_buf(),
                detail: "a SQLite source needs a table or a query".to_string(),
            })?;
            let s = sqlite::read(path, &source, cache, roles)?;
            let mut report = library_report(path, format, s.columns, s.written)?;
            report.sheet = Some(s.label.clone());
            (cache.to_path_buf(), report, Some(s.label))
        }
        Format::Parquet => {
            let p = parquet::read(path, cache, roles)?;
            let report = library_report(path, format, p.columns, p.written)?;
            (cache.to_path_buf(), report, None)
        }
    };
    let frame = scan_cache(&frame_path)?.with_columns([
        lit(file_lit).alias("_file"),
        lit(sheet.unwrap_or_default()).alias("_sheet"),
    ]);
    Ok(Read { frame, report })
}

/// The report of a file a library read (workbooks, SQLite, Parquet): no encoding, delimiter or
/// lines; hashed apart, since the library read the file itself.
fn library_report(
    path: &Path,
    format: Format,
    columns: Vec<String>,
    written: sink::Written,
) -> Result<FileReport, ReadError> {
    Ok(FileReport {
        path: path.to_path_buf(),
        sha256: hash::file(path).map_err(|e| ReadError::open(path, e))?,
        format,
        encoding: None,
        delimiter: None,
        sheet: None,
        header_row: None,
        rows: written.rows,
        lines: None,
        blank_lines: None,
        columns,
        defects: written.defects,
        blanks: written.blanks,
    })
}

/// Scan a cache file written by a sink. The path is one file, not a pattern: a workspace folder
/// named `医保[2024]` must not be read as a character class.
fn scan_cache(path: &Path) -> Result<LazyFrame, ReadError> {
    let p = PlRefPath::try_from_path(path).map_err(|e| ReadError::polars(path, e))?;
    let args = ScanArgsParquet {
        glob: false,
        ..Default::default()
    };
    LazyFrame::scan_parquet(p, args).map_err(|e| ReadError::polars(path, e))
}

/// Clean header names: trimmed, half-width, never empty, never repeated.
pub(crate) fn column_names<'a>(raw: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (i, r) in raw.enumerate() {
        let base = normalise::normalise(r)
            .0
            .map(|c| c.into_owned())
            .unwrap_or_else(|| format!("column_{}", i + 1));
        let mut name = base.clone();
        let mut n = 2;
        while names.contains(&name)
            || name.starts_with('_')
                && matches!(
                    name.as_str(),
                    "_row" | "_file" | "_sheet" | "_defect" | "_raw"
                )
        {
            name = format!("{base}_{n}");
            n += 1;
        }
        names.push(name);
    }
    names
}
