//! Where every reader puts its rows: values are normalised, defects tallied with their
//! locations, and rows written in chunks to a Parquet file that polars then scans lazily. Memory
//! stays at one chunk whatever the input's size.
//!
//! The file has the source's columns (as text) plus `_row` (the 1-based row or line the record
//! starts on in the source), `_defect` (what is structurally wrong with the record, e.g. ragged)
//! and `_raw` (a JSON object of the original value of every cell that normalisation changed).

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use polars::prelude::*;
use serde::Serialize;

use super::normalise::{is_iso_date, iso_date, normalise, Changes};
use super::ReadError;

/// Rows per chunk written.
pub(crate) const CHUNK_ROWS: usize = 128 * 1024;
/// Sample locations kept per defect kind.
const MAX_SAMPLES: usize = 10;

/// Kinds of defects found while reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DefectKind {
    /// A record with more or fewer fields than the header (kept, padded or with extras in `_raw`).
    Ragged,
    /// A record the reader could not split as written (an unbalanced quote): read from its own
    /// line alone, marked, and reading went on.
    Malformed,
    /// Full-width ASCII turned half-width.
    FullWidth,
    /// Surrounding spaces trimmed.
    Trimmed,
    /// A placeholder (`--`, `nan` …) read as missing.
    Placeholder,
    /// A legacy date layout rewritten as ISO.
    DateRewritten,
    /// A value in a date column that is no date in any known layout (left as is).
    BadDate,
    /// A code column cell the workbook stored as a number (leading zeros may be lost).
    CodeAsNumber,
    /// A value in scientific notation, e.g. `1.23E+14` (a long code Excel turned into a number).
    ScientificNotation,
    /// An Excel serial day number in a date column, converted.
    ExcelSerialDate,
    /// A number a workbook stored as text.
    NumberAsText,
}

impl DefectKind {
    /// What it means, for people.
    pub fn describe(self) -> &'static str {
        match self {
            DefectKind::Ragged => "records with a different number of fields than the header",
            DefectKind::Malformed => {
                "records with an unbalanced quote (each read from its own line, marked dirty)"
            }
            DefectKind::FullWidth => "values with full-width characters (made half-width)",
            DefectKind::Trimmed => "values with surrounding spaces (trimmed)",
            DefectKind::Placeholder => "placeholders such as -- or nan (read as missing)",
            DefectKind::DateRewritten => "dates in a legacy layout (rewritten as ISO)",
            DefectKind::BadDate => "values in a date column that are not dates",
            DefectKind::CodeAsNumber => {
                "codes stored as numbers by Excel (leading zeros may be lost)"
            }
            DefectKind::ScientificNotation => {
                "values in scientific notation (codes Excel turned into numbers)"
            }
            DefectKind::ExcelSerialDate => "dates stored as Excel serial numbers (converted)",
            DefectKind::NumberAsText => "numbers stored as text in a workbook",
        }
    }
}

/// How many of one defect, and where the first ones are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DefectCount {
    /// How many cells or records.
    pub count: u64,
    /// The first locations, as `file:row` or `file:sheet:row:column`.
    pub samples: Vec<String>,
}

/// Defects of one file, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Defects(pub BTreeMap<DefectKind, DefectCount>);

impl Defects {
    /// Count one defect at a location.
    pub fn add(&mut self, kind: DefectKind, location: impl FnOnce() -> String) {
        let entry = self.0.entry(kind).or_default();
        entry.count += 1;
        if entry.samples.len() < MAX_SAMPLES {
            entry.samples.push(location());
        }
    }

    /// How many of a kind.
    pub fn count(&self, kind: DefectKind) -> u64 {
        self.0.get(&kind).map_or(0, |d| d.count)
    }
}

/// How a column's values are treated beyond the safe normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnRole {
    /// Text.
    Plain,
    /// A date field: legacy layouts become `YYYY-MM-DD` (or with time when `true`).
    Date(bool),
}

fn builder(name: &str) -> StringChunkedBuilder {
    StringChunkedBuilder::new(name.into(), CHUNK_ROWS)
}

/// Records normalised into columns, not yet written: a sink fills one at a time, and the text
/// reader fills several at once on other threads ([`Sink::part`], [`Sink::write_part`]).
pub struct Part {
    /// Where locations point: the source file and sheet, for defect samples.
    origin: Arc<str>,
    names: Arc<[String]>,
    roles: Arc<[ColumnRole]>,
    /// Builders append values without a String per cell: legacy files are mostly clean text.
    columns: Vec<StringChunkedBuilder>,
    rows: Vec<u64>,
    defect: StringChunkedBuilder,
    raw: StringChunkedBuilder,
    /// Per column: values that were only spaces or a placeholder.
    blanks: Vec<u64>,
    /// Defects found in these records.
    defects: Defects,
    /// Raw values of the next record's cells that a reader converted before pushing them.
    pending_raw: Vec<(usize, String)>,
}

/// Writes normalised rows to a Parquet file in chunks.
pub struct Sink {
    path: PathBuf,
    names: Arc<[String]>,
    part: Part,
    writer: Option<polars::io::parquet::write::BatchedWriter<File>>,
    written: u64,
    /// Per column: values that were only spaces or a placeholder.
    blanks: Vec<u64>,
    /// Defects found so far.
    pub defects: Defects,
}

/// What a sink wrote.
#[derive(Debug, Clone, Default)]
pub struct Written {
    /// Records.
    pub rows: u64,
    /// Defects, with sample locations.
    pub defects: Defects,
    /// Per column name: values that were only spaces or a placeholder (now missing).
    pub blanks: BTreeMap<String, u64>,
}

impl Part {
    fn new(origin: Arc<str>, names: Arc<[String]>, roles: Arc<[ColumnRole]>) -> Part {
        let width = names.len();
        Part {
            columns: names.iter().map(|n| builder(n)).collect(),
            origin,
            names,
            roles,
            rows: Vec::with_capacity(CHUNK_ROWS),
            defect: builder("_defect"),
            raw: builder("_raw"),
            blanks: vec![0; width],
            defects: Defects::default(),
            pending_raw: Vec::new(),
        }
    }

    /// Records in the part.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether it holds no record.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Add one record, as [`Sink::push`] does.
    pub fn push<'a>(
        &mut self,
        row: u64,
        cells: impl IntoIterator<Item = &'a str>,
        defect: Option<String>,
    ) {
        let width = self.names.len();
        if defect.is_some() {
            let origin = &self.origin;
            self.defects
                .add(DefectKind::Malformed, || format!("{origin}:{row}"));
        }
        let mut raw: Option<serde_json::Map<String, serde_json::Value>> = None;
        let mut n = 0usize;
        let mut extras = Vec::new();
        for cell in cells {
            if n >= width {
                extras.push(cell.to_string());
                n += 1;
                continue;
            }
            let (value, mut changes) = normalise(cell);
            if value.is_none() && !cell.is_empty() {
                self.blanks[n] += 1;
            }
            let mut value = value;
            if let (ColumnRole::Date(with_time), Some(v)) = (self.roles[n], value.as_deref()) {
                // Already ISO (most cells): nothing to rewrite, nothing to report.
                let iso = if is_iso_date(v, with_time) {
                    Some(None)
                } else {
                    iso_date(v, with_time).map(|iso| (iso != v).then_some(iso))
                };
                match iso {
                    Some(Some(iso)) => {
                        value = Some(std::borrow::Cow::Owned(iso));
                        changes |= Changes::DATE;
                    }
                    Some(None) => {}
                    None => {
                        let (origin, name) = (&self.origin, &self.names[n]);
                        self.defects
                            .add(DefectKind::BadDate, || format!("{origin}:{row}:{name}"));
                    }
                }
            }
            if !changes.is_empty() {
                let (origin, name) = (&self.origin, &self.names[n]);
                for (flag, kind) in [
                    (Changes::FULL_WIDTH, DefectKind::FullWidth),
                    (Changes::TRIMMED, DefectKind::Trimmed),
                    (Changes::PLACEHOLDER, DefectKind::Placeholder),
                    (Changes::DATE, DefectKind::DateRewritten),
                ] {
                    if changes.contains(flag) {
                        self.defects.add(kind, || format!("{origin}:{row}:{name}"));
                    }
                }
                raw.get_or_insert_with(Default::default)
                    .insert(name.clone(), serde_json::Value::String(cell.to_string()));
            }
            self.columns[n].append_option(value);
            n += 1;
        }
        for (c, value) in std::mem::take(&mut self.pending_raw) {
            if let Some(name) = self.names.get(c) {
                raw.get_or_insert_with(Default::default)
                    .insert(name.clone(), serde_json::Value::String(value));
            }
        }
        let mut defect = defect;
        if n != width {
            let origin = &self.origin;
            self.defects
                .add(DefectKind::Ragged, || format!("{origin}:{row}"));
            let note = format!("ragged: {n} fields, header has {width}");
            defect = Some(match defect {
                Some(d) => format!("{d}; {note}"),
                None => note,
            });
            for column in self.columns.iter_mut().skip(n.min(width)) {
                column.append_null();
            }
            if !extras.is_empty() {
                raw.get_or_insert_with(Default::default).insert(
                    "_extra".to_string(),
                    serde_json::Value::Array(
                        extras.into_iter().map(serde_json::Value::String).collect(),
                    ),
                );
            }
        }
        self.rows.push(row);
        self.defect.append_option(defect);
        self.raw
            .append_option(raw.map(|m| serde_json::Value::Object(m).to_string()));
    }

    /// The part as the cache's columns: `_row`, the fields, `_defect`, `_raw`.
    fn frame(mut self) -> PolarsResult<DataFrame> {
        let height = self.rows.len();
        let mut cols: Vec<Column> = Vec::with_capacity(self.names.len() + 3);
        cols.push(Column::new("_row".into(), std::mem::take(&mut self.rows)));
        for b in self.columns {
            cols.push(b.finish().into_column());
        }
        cols.push(self.defect.finish().into_column());
        cols.push(self.raw.finish().into_column());
        DataFrame::new(height, cols)
    }
}

impl Sink {
    /// A sink writing to `path`, for a source with these column names and roles; `origin` is how
    /// defect locations name the source (`file` or `file:sheet`).
    pub fn create(
        path: &Path,
        origin: String,
        names: Vec<String>,
        roles: Vec<ColumnRole>,
    ) -> Result<Sink, ReadError> {
        let file = File::create(path).map_err(|source| ReadError::Cache {
            path: path.to_path_buf(),
            source,
        })?;
        let mut schema = Schema::default();
        schema.insert("_row".into(), DataType::UInt64);
        for n in &names {
            schema.insert(n.as_str().into(), DataType::String);
        }
        schema.insert("_defect".into(), DataType::String);
        schema.insert("_raw".into(), DataType::String);
        let writer = ParquetWriter::new(file)
            .with_compression(ParquetCompression::Lz4Raw)
            .batched(&schema)
            .map_err(|e| ReadError::polars(path, e))?;
        let width = names.len();
        let names: Arc<[String]> = names.into();
        let part = Part::new(origin.into(), Arc::clone(&names), roles.into());
        Ok(Sink {
            path: path.to_path_buf(),
            names,
            part,
            writer: Some(writer),
            written: 0,
            blanks: vec![0; width],
            defects: Defects::default(),
        })
    }

    /// A new empty part for this sink's records, to fill elsewhere and hand to
    /// [`Sink::write_part`].
    pub fn part(&self) -> Part {
        Part::new(
            Arc::clone(&self.part.origin),
            Arc::clone(&self.names),
            Arc::clone(&self.part.roles),
        )
    }

    /// Keep `value` as the raw value of column `column` of the next record pushed: for a cell
    /// the reader converted before the sink saw it (an Excel serial number made a date).
    pub fn keep_raw(&mut self, column: usize, value: String) {
        self.part.pending_raw.push((column, value));
    }

    /// The column names.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Add one record: its 1-based source row, its cells (fewer or more than the header is a
    /// ragged record, kept and marked), and any defect the reader already found.
    pub fn push<'a>(
        &mut self,
        row: u64,
        cells: impl IntoIterator<Item = &'a str>,
        defect: Option<String>,
    ) -> Result<(), ReadError> {
        self.part.push(row, cells, defect);
        if self.part.len() >= CHUNK_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), ReadError> {
        let fresh = self.part();
        let part = std::mem::replace(&mut self.part, fresh);
        self.write_part(part)
    }

    /// Write a part's records after those written so far (parts must come in the source's
    /// order: defect samples are the first ones met).
    pub fn write_part(&mut self, part: Part) -> Result<(), ReadError> {
        if part.rows.is_empty() {
            return Ok(());
        }
        for (total, n) in self.blanks.iter_mut().zip(&part.blanks) {
            *total += n;
        }
        for (kind, count) in &part.defects.0 {
            let entry = self.defects.0.entry(*kind).or_default();
            entry.count += count.count;
            let room = MAX_SAMPLES.saturating_sub(entry.samples.len());
            entry
                .samples
                .extend(count.samples.iter().take(room).cloned());
        }
        let height = part.rows.len();
        let df = part.frame().map_err(|e| ReadError::polars(&self.path, e))?;
        if let Some(w) = self.writer.as_mut() {
            w.write_batch(&df)
                .map_err(|e| ReadError::polars(&self.path, e))?;
        }
        self.written += height as u64;
        Ok(())
    }

    /// Write what is left and close the file.
    pub fn finish(mut self) -> Result<Written, ReadError> {
        self.flush()?;
        if let Some(w) = self.writer.take() {
            w.finish().map_err(|e| ReadError::polars(&self.path, e))?;
        }
        let blanks = self
            .names
            .iter()
            .zip(&self.blanks)
            .filter(|(_, b)| **b > 0)
            .map(|(n, b)| (n.clone(), *b))
            .collect();
        Ok(Written {
            rows: self.written,
            defects: self.defects,
            blanks,
        })
    }
}
