//! Parquet dumps: already typed and columnar, so they are scanned directly (no cache), with the
//! row number added as `_row` and the file as `_file`.

use std::path::Path;

use polars::prelude::*;

use super::sink::Defects;
use super::{FileReport, ReadError};
use crate::workspace::Format;

/// Scan a Parquet file lazily.
pub fn read(path: &Path) -> Result<(LazyFrame, FileReport), ReadError> {
    let p = PlRefPath::try_from_path(path).map_err(|e| ReadError::polars(path, e))?;
    let args = ScanArgsParquet {
        row_index: Some(RowIndex {
            name: "_row".into(),
            offset: 1,
        }),
        ..Default::default()
    };
    let mut frame = LazyFrame::scan_parquet(p, args).map_err(|e| ReadError::polars(path, e))?;
    let schema = frame
        .collect_schema()
        .map_err(|e| ReadError::polars(path, e))?;
    let columns: Vec<String> = schema
        .iter_names()
        .filter(|n| n.as_str() != "_row")
        .map(|n| n.to_string())
        .collect();
    let rows = frame
        .clone()
        .select([len().alias("n")])
        .collect()
        .and_then(|df| {
            df.column("n")?
                .get(0)
                .map(|v| v.extract::<u64>().unwrap_or(0))
        })
        .map_err(|e| ReadError::polars(path, e))?;
    let frame = frame.with_columns([
        col("_row").cast(DataType::UInt64),
        lit(path.display().to_string()).alias("_file"),
        lit("").alias("_sheet"),
        lit(NULL).cast(DataType::String).alias("_defect"),
        lit(NULL).cast(DataType::String).alias("_raw"),
    ]);
    Ok((
        frame,
        FileReport {
            path: path.to_path_buf(),
            format: Format::Parquet,
            encoding: None,
            delimiter: None,
            sheet: None,
            header_row: None,
            rows,
            lines: None,
            blank_lines: None,
            columns,
            defects: Defects::default(),
            blanks: Default::default(),
        },
    ))
}
