//! Parquet dumps. Typed and columnar, but read like every other source: batch by batch through
//! the sink, so a Parquet file gives the same records as the CSV of the same data (trimmed,
//! half-width, placeholders missing, legacy dates rewritten, defects counted). Values become
//! text the way the SQLite reader writes them: integers in decimal, floats in Rust's shortest
//! form (`7`, `12.5`), dates `YYYY-MM-DD`, date-times `YYYY-MM-DD HH:MM:SS`; a number in a code
//! column is counted as `code-as-number`, as for a workbook.

use std::borrow::Cow;
use std::path::Path;
use std::sync::{Arc, Mutex};

use miette::Diagnostic;
use polars::prelude::*;
use thiserror::Error;

use super::sink::{ColumnRole, DefectKind, Sink, Written};
use super::ReadError;
use crate::codes::damage::long_number_text;

/// A Parquet file polars cannot read: bad input (exit 2), not a failure of yibao.
#[derive(Debug, Error, Diagnostic)]
#[error("{path}: not a readable Parquet file: {detail}")]
#[diagnostic(
    code(yibao::source::parquet),
    help("the file is truncated or damaged, or not Parquet: export it again")
)]
pub struct ParquetError {
    /// The file.
    pub path: String,
    /// polars' message.
    pub detail: String,
}

/// What reading a Parquet file wrote.
pub struct ParquetRead {
    /// The column names.
    pub columns: Vec<String>,
    /// What the sink wrote.
    pub written: Written,
}

/// Read a Parquet file into a sink at `out`, in the file's order, record number as `_row`.
pub fn read(
    path: &Path,
    out: &Path,
    roles: &dyn Fn(&str) -> ColumnRole,
) -> Result<ParquetRead, ReadError> {
    let bad = |e: PolarsError| {
        ReadError::Parquet(ParquetError {
            path: path.display().to_string(),
            detail: e.to_string(),
        })
    };
    let p = PlRefPath::try_from_path(path).map_err(|e| ReadError::polars(path, e))?;
    // A path, not a pattern: a folder named `医保[2024]` is a folder.
    let args = ScanArgsParquet {
        glob: false,
        ..Default::default()
    };
    let mut frame = LazyFrame::scan_parquet(p, args).map_err(bad)?;
    let schema = frame.collect_schema().map_err(bad)?;
    let raw_names: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    let columns = super::column_names(raw_names.iter().map(String::as_str));
    // Text everywhere but floats, which are written here in the SQLite reader's form.
    let exprs: Vec<Expr> = schema
        .iter()
        .zip(&columns)
        .map(|((name, dtype), clean)| {
            let c = col(name.clone());
            let e = match dtype {
                DataType::Float32 | DataType::Float64 => c.cast(DataType::Float64),
                DataType::Date => c.dt().to_string("%Y-%m-%d"),
                DataType::Datetime(_, _) => c.dt().to_string("%Y-%m-%d %H:%M:%S"),
                DataType::String => c,
                _ => c.cast(DataType::String),
            };
            e.alias(clean.as_str())
        })
        .collect();
    let numeric_code: Vec<bool> = schema
        .iter()
        .map(|(name, dtype)| dtype.is_primitive_numeric() && super::excel::is_code_header(name))
        .collect();
    let roles_list = columns.iter().map(|c| roles(c)).collect();
    let origin = path.display().to_string();
    let sink = Sink::create(out, origin.clone(), columns.clone(), roles_list)?;
    let state = Arc::new(Mutex::new(Feed {
        sink,
        row: 0,
        failed: None,
        numeric_code,
        origin,
    }));
    let shared = Arc::clone(&state);
    let callback = PlanCallback::new(move |batch: DataFrame| -> PolarsResult<bool> {
        let mut feed = shared
            .lock()
            .map_err(|_| polars_err!(ComputeError: "a Parquet batch failed earlier"))?;
        match feed.push(&batch) {
            Ok(()) => Ok(false),
            Err(e) => {
                feed.failed = Some(e);
                // true: stop, no more batches.
                Ok(true)
            }
        }
    });
    frame
        .select(exprs)
        .sink_batches(callback, true, None)
        .and_then(|q| q.collect_with_engine(Engine::Streaming))
        .map_err(bad)?;
    let feed = Arc::try_unwrap(state)
        .map_err(|_| ReadError::polars(path, polars_err!(ComputeError: "batches still held")))?
        .into_inner()
        .map_err(|_| ReadError::polars(path, polars_err!(ComputeError: "a batch failed")))?;
    if let Some(e) = feed.failed {
        return Err(e);
    }
    Ok(ParquetRead {
        columns,
        written: feed.sink.finish()?,
    })
}

/// The sink and where in the file the batches have got to.
struct Feed {
    sink: Sink,
    row: u64,
    failed: Option<ReadError>,
    numeric_code: Vec<bool>,
    origin: String,
}

enum Cells<'a> {
    Text(&'a StringChunked),
    Float(&'a Float64Chunked),
}

impl Feed {
    fn push(&mut self, batch: &DataFrame) -> Result<(), ReadError> {
        let cols: Vec<Cells<'_>> = batch
            .columns()
            .iter()
            .map(|c| match c.dtype() {
                DataType::Float64 => c.f64().map(Cells::Float),
                _ => c.str().map(Cells::Text),
            })
            .collect::<PolarsResult<_>>()
            .map_err(|e| ReadError::polars(Path::new(&self.origin), e))?;
        let mut iters: Vec<Box<dyn Iterator<Item = Option<Cow<'_, str>>> + '_>> = cols
            .iter()
            .map(|c| -> Box<dyn Iterator<Item = Option<Cow<'_, str>>>> {
                match c {
                    Cells::Text(ca) => Box::new(ca.iter().map(|v| v.map(Cow::Borrowed))),
                    Cells::Float(ca) => {
                        Box::new(ca.iter().map(|v| v.map(|f| Cow::Owned(f.to_string()))))
                    }
                }
            })
            .collect();
        let names = self.sink.names().to_vec();
        let mut cells: Vec<Cow<'_, str>> = Vec::with_capacity(iters.len());
        for _ in 0..batch.height() {
            self.row += 1;
            cells.clear();
            for (c, it) in iters.iter_mut().enumerate() {
                let mut v = it.next().flatten();
                if v.is_some() && self.numeric_code.get(c).copied().unwrap_or(false) {
                    // A code stored as a float of 16 digits or more has lost digits: say so.
                    if let Some(long) = v
                        .as_deref()
                        .and_then(|t| t.parse::<f64>().ok())
                        .filter(|_| matches!(cols[c], Cells::Float(_)))
                        .and_then(long_number_text)
                    {
                        v = Some(Cow::Owned(long));
                    }
                    let (origin, row) = (&self.origin, self.row);
                    let name = names.get(c).map(String::as_str).unwrap_or("");
                    self.sink.defects.add(DefectKind::CodeAsNumber, || {
                        format!("{origin}:{row}:{name}")
                    });
                }
                cells.push(v.unwrap_or(Cow::Borrowed("")));
            }
            self.sink
                .push(self.row, cells.iter().map(|c| c.as_ref()), None)?;
        }
        Ok(())
    }
}
