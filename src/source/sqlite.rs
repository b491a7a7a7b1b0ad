//! A table or query of a SQLite dump (a legacy HIS export), streamed row by row into the sink.
//! This reads the user's file, never the workspace store (`crate::store` owns that).

use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::sink::{ColumnRole, Sink, Written};
use super::ReadError;
use crate::workspace::SqliteSource;

/// What reading a SQLite source found.
pub struct SqliteRead {
    /// `table NAME` or `query`.
    pub label: String,
    /// Column names.
    pub columns: Vec<String>,
    /// What the sink wrote.
    pub written: Written,
}

/// Read a table or query into a sink at `out`.
pub fn read(
    path: &Path,
    source: &SqliteSource,
    out: &Path,
    roles: &dyn Fn(&str) -> ColumnRole,
) -> Result<SqliteRead, ReadError> {
    let fail = |detail: String| ReadError::Sqlite {
        path: path.to_path_buf(),
        detail,
    };
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| fail(e.to_string()))?;
    let (sql, label) = match source {
        SqliteSource::Table(t) => (
            format!("SELECT * FROM \"{}\"", t.replace('"', "\"\"")),
            format!("table {t}"),
        ),
        SqliteSource::Query(q) => (q.clone(), "query".to_string()),
    };
    let mut stmt = conn
        .prepare(&sql)
        .map_err(|e| fail(format!("{label}: {e}")))?;
    let columns = super::column_names(stmt.column_names().into_iter());
    let roles_list = columns.iter().map(|c| roles(c)).collect();
    let mut sink = Sink::create(
        out,
        format!("{}:{label}", path.display()),
        columns.clone(),
        roles_list,
    )?;
    let width = columns.len();
    let mut rows = stmt.query([]).map_err(|e| fail(format!("{label}: {e}")))?;
    let mut n = 0u64;
    let mut cells: Vec<String> = Vec::with_capacity(width);
    while let Some(row) = rows
        .next()
        .map_err(|e| fail(format!("{label}: row {}: {e}", n + 1)))?
    {
        n += 1;
        cells.clear();
        for i in 0..width {
            let v = row
                .get_ref(i)
                .map_err(|e| fail(format!("{label}: row {n}: {e}")))?;
            cells.push(match v {
                ValueRef::Null => String::new(),
                ValueRef::Integer(i) => i.to_string(),
                ValueRef::Real(f) => f.to_string(),
                ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                ValueRef::Blob(b) => format!("<{} bytes>", b.len()),
            });
        }
        sink.push(n, cells.iter().map(String::as_str), None)?;
    }
    Ok(SqliteRead {
        label,
        columns,
        written: sink.finish()?,
    })
}
