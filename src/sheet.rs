//! CSV files written for people, who open them in a spreadsheet: the `map suggest` review file,
//! `rejects/<dataset>.csv` and `report --format csv`. Their cells hold text from legacy data (a
//! local name, a raw amount, a doctor's note), and a spreadsheet runs a cell that begins with
//! `=`, `+`, `-` or `@` (and, in some programs, a tab or carriage return) as a formula:
//! `=HYPERLINK(…)` sends a click to anyone's site, `+cmd|' /C calc'!A0` starts a program. As
//! OWASP's "CSV Injection" page advises, such a cell is written with a single quote `'` in front,
//! which makes it text; `map accept` takes exactly that quote off again ([`undo`]).
//!
//! One exception, on purpose: a plain negative decimal (`-12.5`, `-3`: a minus, ASCII digits,
//! at most one point with digits after it) is written as it is. It is not a formula in any
//! spreadsheet (nothing in it can call a function, name a cell or reach another program), fee
//! details are full of them (refunds and write-offs, 冲销), and with a quote a spreadsheet would
//! read them as text, so a reviewer's sum over the amount column would silently skip them.
//!
//! A cell that already begins with quotes before a formula character gets one more, so that
//! [`undo`] is the exact inverse of [`cell`] for every string. Files read back by machines (batch
//! files, crosswalks, report.json) are not written through here and stay byte-exact.

use std::borrow::Cow;

use polars::prelude::{
    ChunkApply, CsvWriter, DataFrame, DataType, IntoColumn, PolarsResult, SerWriter,
};

/// The characters that make a spreadsheet read a cell as a formula.
const FORMULA: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// `-` then ASCII digits, optionally `.` and more digits: a number, never a formula.
fn plain_negative(s: &str) -> bool {
    let Some(rest) = s.strip_prefix('-') else {
        return false;
    };
    let (int, frac) = match rest.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (rest, None),
    };
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    digits(int) && frac.is_none_or(digits)
}

/// Would a spreadsheet run `s` (after any quotes in front) as a formula?
fn triggers(s: &str) -> bool {
    let rest = s.trim_start_matches('\'');
    rest.starts_with(FORMULA) && !plain_negative(rest)
}

/// A cell as written for people: `'` in front of anything a spreadsheet would run.
pub fn cell(s: &str) -> Cow<'_, str> {
    if triggers(s) {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    }
}

/// A cell read back from a file written with [`cell`]: the quote [`cell`] added, taken off.
pub fn undo(s: &str) -> &str {
    match s.strip_prefix('\'') {
        Some(rest) if triggers(rest) => rest,
        _ => s,
    }
}

/// A CSV for people, in memory: UTF-8 with a BOM (so a spreadsheet shows the Chinese text),
/// every cell through [`cell`].
pub struct Writer {
    inner: csv::Writer<Vec<u8>>,
}

impl Default for Writer {
    fn default() -> Self {
        Writer::new()
    }
}

impl Writer {
    /// An empty file (just the BOM).
    pub fn new() -> Writer {
        Writer {
            inner: csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec()),
        }
    }

    /// One record.
    pub fn record<I, S>(&mut self, cells: I)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        // Writing into memory cannot fail.
        let _ = self
            .inner
            .write_record(cells.into_iter().map(|c| cell(c.as_ref()).into_owned()));
    }

    /// The file's bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.inner.into_inner().unwrap_or_default()
    }
}

/// A frame as a CSV for people into `out` (BOM, header), every text cell through [`cell`].
/// Numeric and date columns are formatted by yibao from parsed values, so they cannot hold a
/// formula. `df` itself is left as it is: the caller still reads its values.
pub fn write_frame<W: std::io::Write>(df: &DataFrame, out: W) -> PolarsResult<()> {
    write_frame_part(df, out, true)
}

/// [`write_frame`] for one part of a file written in parts: the first (`first`) with the BOM
/// and the header, the others with neither, so that the parts make one CSV.
pub fn write_frame_part<W: std::io::Write>(
    df: &DataFrame,
    out: W,
    first: bool,
) -> PolarsResult<()> {
    let mut safe = df.clone();
    for column in df.columns() {
        if column.dtype() != &DataType::String {
            continue;
        }
        let ca = column.str()?;
        // Most columns hold nothing to neutralise: they are shared, not copied.
        if !ca
            .downcast_iter()
            .flat_map(|a| a.iter())
            .flatten()
            .any(triggers)
        {
            continue;
        }
        let fixed = ca.apply_values(cell);
        safe.with_column(fixed.into_column())?;
    }
    CsvWriter::new(out)
        .include_bom(first)
        .include_header(first)
        .finish(&mut safe)
}

#[cfg(test)]
mod tests {
    use super::*;
    use polars::prelude::*;

    #[test]
    fn i16_4_formula_cells_are_quoted_and_undone_exactly() {
        for (raw, written) in [
            (
                "=HYPERLINK(\"http://x\",\"y\")",
                "'=HYPERLINK(\"http://x\",\"y\")",
            ),
            ("+cmd|/c calc!A0", "'+cmd|/c calc!A0"),
            ("@SUM(A1)", "'@SUM(A1)"),
            ("-2+3", "'-2+3"),
            ("\t=1", "'\t=1"),
            ("\r=1", "'\r=1"),
            ("'=1", "''=1"),
            ("-", "'-"),
            ("-1.", "'-1."),
            ("-1e5", "'-1e5"),
            ("-１２", "'-１２"),
            ("-12.5", "-12.5"),
            ("-3", "-3"),
            ("'-3", "'-3"),
            ("12.5", "12.5"),
            ("阿莫西林", "阿莫西林"),
            ("", ""),
            ("'", "'"),
            ("a=b", "a=b"),
        ] {
            assert_eq!(cell(raw), written, "{raw:?}");
            assert_eq!(undo(written), raw, "{raw:?}");
        }
    }

    #[test]
    fn i16_4_frames_are_written_neutralised_and_left_unchanged() {
        let df = df!(
            "name" => ["=1+1", "ok", "@x"],
            "amount" => ["-12.5", "3", "-1+1"],
            "n" => [-1i64, 2, 3],
        )
        .unwrap();
        let mut out = Vec::new();
        write_frame(&df, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\u{FEFF}name,amount,n\n'=1+1,-12.5,-1\nok,3,2\n'@x,'-1+1,3\n"
        );
        assert_eq!(
            df.column("name").unwrap().str().unwrap().get(0),
            Some("=1+1")
        );
    }
}
