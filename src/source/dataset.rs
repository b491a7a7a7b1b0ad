//! A dataset of yibao.toml read as one frame: its path or glob resolved to files, each file read
//! with the dataset's options, mapped source columns renamed onto their national field names,
//! and the files stacked (a column one file lacks is missing, never invented).

use std::path::{Path, PathBuf};

use miette::Diagnostic;
use polars::prelude::*;
use thiserror::Error;

use super::sink::ColumnRole;
use super::{read_file, FileOptions, FileReport, ReadError};
use crate::workspace::{did_you_mean, field_type, ConfigError, Dataset, FieldType, Workspace};

/// A dataset read into one lazily scanned frame.
pub struct DatasetRead {
    /// The records, columns renamed to national fields where mapped, plus `_file`, `_sheet`,
    /// `_row`, `_defect`, `_raw`.
    pub frame: LazyFrame,
    /// What reading each file found.
    pub files: Vec<FileReport>,
    /// The cache files behind the frame; removed when this is dropped.
    _cache: super::cache::ReadCache,
}

/// Why a dataset could not be read.
#[derive(Debug, Error, Diagnostic)]
pub enum DatasetError {
    /// A mistake in yibao.toml (for example a glob that matches nothing).
    #[error(transparent)]
    #[diagnostic(transparent)]
    Config(#[from] ConfigError),
    /// A file could not be read.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Read(#[from] ReadError),
}

/// The treatment of a source column under a dataset's mapping.
pub fn role_for(dataset: Option<&Dataset>, column: &str) -> ColumnRole {
    let Some(field) = dataset.and_then(|d| d.columns.get(column)) else {
        return ColumnRole::Plain;
    };
    match field_type(field) {
        FieldType::Date => ColumnRole::Date(false),
        FieldType::DateTime => ColumnRole::Date(true),
        _ => ColumnRole::Plain,
    }
}

/// The glob of a dataset: the workspace root taken literally (a folder named `医保[2024]` is a
/// name, not a character class), then the dataset's `path`, the only part that is a pattern. An
/// absolute `path` is the whole pattern.
fn pattern_of(root: &Path, path: &str) -> String {
    if Path::new(path).is_absolute() {
        return path.to_string();
    }
    let root = root.to_string_lossy();
    let root = glob::Pattern::escape(&root);
    if root.is_empty() {
        path.to_string()
    } else if root.ends_with(std::path::is_separator) {
        format!("{root}{path}")
    } else {
        format!("{root}{}{path}", std::path::MAIN_SEPARATOR)
    }
}

/// The files a dataset's path or glob matches, sorted. An entry the glob reaches but cannot
/// read (a folder without permission, a link to nothing) refuses the dataset, naming each one:
/// read without them, the dataset would silently lack their records, and a run would report and
/// batch too little. It is the user's to fix (permissions, a narrower glob), so exit 2.
pub fn resolve(ws: &Workspace, ds: &Dataset) -> Result<Vec<PathBuf>, ConfigError> {
    let pattern_text = pattern_of(&ws.root, &ds.path);
    let mut unreadable: Vec<String> = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    match glob::glob(&pattern_text) {
        Ok(paths) => {
            for entry in paths {
                match entry {
                    Ok(p) => match std::fs::metadata(&p) {
                        Ok(m) if m.is_file() => files.push(p),
                        // Folders the glob also matches are not data.
                        Ok(_) => {}
                        Err(e) => unreadable.push(format!("{} ({e})", p.display())),
                    },
                    Err(e) => unreadable.push(format!("{} ({})", e.path().display(), e.error())),
                }
            }
        }
        Err(e) => {
            return Err(ws.error_at(
                ds.path_span.clone(),
                format!("`{}` is not a valid path or glob: {e}", ds.path),
                "here",
                None,
            ));
        }
    };
    if !unreadable.is_empty() {
        unreadable.sort();
        return Err(ws.error_at(
            ds.path_span.clone(),
            format!(
                "dataset `{}`: `{}` reaches {} entr{} that cannot be read: {}",
                ds.name,
                ds.path,
                unreadable.len(),
                if unreadable.len() == 1 { "y" } else { "ies" },
                unreadable.join("; ")
            ),
            "cannot be read",
            Some(
                "make them readable, remove them, or narrow the path so it does not reach them"
                    .into(),
            ),
        ));
    }
    files.sort();
    if files.is_empty() {
        return Err(ws.error_at(
            ds.path_span.clone(),
            format!("dataset `{}`: `{}` matches no file", ds.name, ds.path),
            "matches nothing",
            Some(format!(
                "paths are relative to the workspace folder {}",
                ws.root.display()
            )),
        ));
    }
    Ok(files)
}

/// Read a dataset of the workspace.
pub fn read_dataset(
    ws: &Workspace,
    ds: &Dataset,
    progress: Option<super::Progress>,
) -> Result<DatasetRead, DatasetError> {
    let files = resolve(ws, ds)?;
    let cache = super::cache::ReadCache::new(&ws.root)?;
    let opts = FileOptions {
        format: ds.format,
        encoding: ds.encoding,
        delimiter: ds.delimiter,
        sheet: ds.sheet.clone(),
        header_row: ds.header_row,
        sqlite: ds.sqlite.clone(),
        progress,
    };
    let roles = |c: &str| role_for(Some(ds), c);
    let mut frames = Vec::new();
    let mut reports = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let read = read_file(
            file,
            &opts,
            &cache.path().join(format!("{i}.parquet")),
            &roles,
        )?;
        check_columns(ws, file, ds, &read.report)?;
        let (old, new): (Vec<&str>, Vec<&str>) = ds
            .columns
            .iter()
            .map(|(s, f)| (s.as_str(), f.as_str()))
            .unzip();
        frames.push(read.frame.rename(old, new, true));
        let mut report = read.report;
        // Blank counts follow the frame's column names (national fields where mapped).
        report.blanks = std::mem::take(&mut report.blanks)
            .into_iter()
            .map(|(k, v)| (ds.columns.get(&k).cloned().unwrap_or(k), v))
            .collect();
        reports.push(report);
    }
    let frame = stack(frames, &files)?;
    Ok(DatasetRead {
        frame,
        files: reports,
        _cache: cache,
    })
}

fn check_columns(
    ws: &Workspace,
    file: &Path,
    ds: &Dataset,
    report: &FileReport,
) -> Result<(), DatasetError> {
    let columns = &report.columns;
    for source in ds.columns.keys() {
        if !columns.iter().any(|c| c == source) {
            let names: Vec<&str> = columns.iter().map(String::as_str).collect();
            let help = match did_you_mean(source, &names) {
                Some(d) => format!("{d} (columns in the file: {})", names.join(", ")),
                None => format!("columns in the file: {}", names.join(", ")),
            };
            let Some(span) = ds.column_spans.get(source) else {
                return Err(ReadError::MissingColumn {
                    path: file.to_path_buf(),
                    column: source.clone(),
                    help,
                }
                .into());
            };
            let header = match report.header_row {
                Some(row) => format!("{}:{row}", file.display()),
                None => file.display().to_string(),
            };
            return Err(ws
                .error_at(
                    span.clone(),
                    format!(
                        "dataset `{}`: column `{source}` is not in the header of {header}",
                        ds.name
                    ),
                    "not in the file",
                    Some(help),
                )
                .into());
        }
    }
    Ok(())
}

/// Stack frames vertically over the union of their columns, in first-seen order.
fn stack(mut frames: Vec<LazyFrame>, files: &[PathBuf]) -> Result<LazyFrame, ReadError> {
    if frames.len() == 1 {
        return Ok(frames.remove(0));
    }
    let mut schemas = Vec::new();
    let mut all: Vec<(PlSmallStr, DataType)> = Vec::new();
    for (f, path) in frames.iter_mut().zip(files) {
        let schema = f.collect_schema().map_err(|e| ReadError::polars(path, e))?;
        for (n, t) in schema.iter() {
            if !all.iter().any(|(m, _)| m == n) {
                all.push((n.clone(), t.clone()));
            }
        }
        schemas.push(schema);
    }
    let aligned: Vec<LazyFrame> = frames
        .into_iter()
        .zip(schemas)
        .map(|(f, schema)| {
            let exprs: Vec<Expr> = all
                .iter()
                .map(|(n, t)| {
                    if schema.contains(n) {
                        col(n.clone()).cast(t.clone())
                    } else {
                        lit(NULL).cast(t.clone()).alias(n.clone())
                    }
                })
                .collect();
            f.select(exprs)
        })
        .collect();
    concat(aligned, UnionArgs::default()).map_err(|e| ReadError::polars(&files[0], e))
}
