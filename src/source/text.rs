//! Delimited text (CSV, TSV, pipe-delimited) in UTF-8, UTF-8 with BOM, GBK or GB18030: the
//! encoding, delimiter and header row are detected from the first bytes unless declared; the file
//! is then streamed record by record (quoted fields may hold newlines) into the sink.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use encoding_rs_io::DecodeReaderBytesBuilder;

use super::encoding::{guess, Guess};
use super::sink::{ColumnRole, Sink, Written};
use super::split::{records_of, CrToLf, Record, Splitter};
use super::{FileOptions, ReadError};
use crate::workspace::Encoding;

/// Bytes looked at to detect the encoding, delimiter and header.
const HEAD_BYTES: usize = 1 << 20;
/// Records looked at to find the header row.
const HEAD_RECORDS: usize = 200;

/// What reading one text file found.
pub struct TextRead {
    /// The encoding used, guessed or declared.
    pub encoding: Guess,
    /// The delimiter used.
    pub delimiter: u8,
    /// 1-based line of the header.
    pub header_line: u64,
    /// Column names.
    pub columns: Vec<String>,
    /// Lines in the file (a last line without a newline counts).
    pub lines: u64,
    /// Empty lines, which hold no record.
    pub blank_lines: u64,
    /// What the sink wrote.
    pub written: Written,
    /// SHA-256 and size of the file, taken while it was streamed.
    pub sha256: (String, u64),
}

/// Stream a text file into a sink at `out`; `roles` gives each column's treatment by name.
pub fn read(
    path: &Path,
    opts: &FileOptions,
    out: &Path,
    roles: &dyn Fn(&str) -> ColumnRole,
) -> Result<TextRead, ReadError> {
    let open = || File::open(path).map_err(|e| ReadError::open(path, e));
    let mut head = Vec::with_capacity(HEAD_BYTES);
    open()?
        .take(HEAD_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(|e| ReadError::open(path, e))?;
    let encoding = match opts.encoding {
        Some(e) => Guess {
            encoding: e,
            confidence: 1.0,
            bom: head.starts_with(b"\xEF\xBB\xBF"),
            declared: true,
        },
        None => guess(&head),
    };
    let head_text = decode_head(&head, encoding.encoding);
    let delimiter = opts
        .delimiter
        .unwrap_or_else(|| detect_delimiter(&head_text));
    let header_index = match opts.header_row {
        Some(row) => row - 1,
        None => detect_header(&head_text, delimiter),
    };

    // Classic Mac exports end lines with a lone `\r`; the splitter reads `\n`.
    let mac_line_ends = !head_text.contains('\n') && head_text.contains('\r');
    let tap = super::hash::Tap::default();
    let decoder = DecodeReaderBytesBuilder::new()
        .encoding(Some(encoding.encoding.decoder()))
        .bom_sniffing(true)
        .build(tap.wrap(open()?));
    let decoded: Box<dyn Read> = if mac_line_ends {
        Box::new(CrToLf(decoder))
    } else {
        Box::new(decoder)
    };
    let mut splitter = Splitter::new(BufReader::with_capacity(1 << 16, decoded), delimiter);
    let mut record = Record::default();
    let mut index = 0usize;
    let mut header: Option<(u64, Vec<String>)> = None;
    let mut sink: Option<Sink> = None;
    loop {
        let more = splitter
            .next_record(&mut record)
            .map_err(|e| read_error(path, encoding, splitter.lines_read() + 1, e))?;
        if !more {
            break;
        }
        let line = record.line;
        if record.fields.iter().any(|f| f.contains('\u{FFFD}')) {
            return Err(ReadError::Undecodable {
                path: path.to_path_buf(),
                line,
                encoding: encoding.encoding.as_str(),
                declared: encoding.declared,
            });
        }
        // A declared header row is a line number, as `profile` reports it (blank lines and
        // multi-line fields above it count); a detected one is a record index of the head sample.
        let before_header = match opts.header_row {
            Some(row) => line < row as u64,
            None => index < header_index,
        };
        if before_header && sink.is_none() {
            index += 1;
            continue;
        }
        index += 1;
        let fields = record.fields.iter().map(String::as_str);
        match sink.as_mut() {
            Some(s) => {
                s.push(line, fields, record.defect.map(|d| d.note().to_string()))?;
                if index % 65_536 == 0 {
                    if let Some(p) = &opts.progress {
                        (p.0)(index as u64);
                    }
                }
            }
            None => {
                let names = super::column_names(fields);
                // From here on, a record spanning lines must have the header's field count.
                splitter.expect_width(names.len());
                let role_list = names.iter().map(|n| roles(n)).collect();
                sink = Some(Sink::create(
                    out,
                    path.display().to_string(),
                    names.clone(),
                    role_list,
                )?);
                header = Some((line, names));
            }
        }
    }
    let (Some(sink), Some((header_line, columns))) = (sink, header) else {
        return Err(ReadError::NoHeader {
            path: path.to_path_buf(),
            detail: match opts.header_row {
                Some(row) => format!(
                    "no record starts on or after line {row}, so header_row = {row} does not exist"
                ),
                None => "the file has no records".to_string(),
            },
        });
    };
    Ok(TextRead {
        encoding,
        delimiter,
        header_line,
        columns,
        lines: splitter.lines_read(),
        blank_lines: splitter.blank_lines(),
        written: sink.finish()?,
        sha256: tap.finish(),
    })
}

fn read_error(path: &Path, encoding: Guess, line: u64, e: std::io::Error) -> ReadError {
    if e.kind() == std::io::ErrorKind::InvalidData {
        ReadError::Undecodable {
            path: path.to_path_buf(),
            line,
            encoding: encoding.encoding.as_str(),
            declared: encoding.declared,
        }
    } else {
        ReadError::Io {
            path: path.to_path_buf(),
            source: e,
        }
    }
}

/// Decode the head sample for detection; a character cut at the end is dropped.
fn decode_head(head: &[u8], encoding: Encoding) -> String {
    // A byte-order mark of the file's own encoding is no text.
    let (text, _) = encoding.decoder().decode_with_bom_removal(head);
    let mut text = text.into_owned();
    if head.len() >= HEAD_BYTES {
        // The last line may be cut: leave it out of detection.
        if let Some(at) = text.rfind('\n') {
            text.truncate(at + 1);
        }
    }
    text
}

/// The delimiter whose count per line is most consistent over the first lines.
fn detect_delimiter(text: &str) -> u8 {
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(50)
        .collect();
    let mut best = (0.0f64, b',');
    for d in [b',', b'\t', b'|', b';'] {
        let counts: Vec<usize> = lines.iter().map(|l| l.matches(d as char).count()).collect();
        let modal = modal(&counts);
        if modal == 0 {
            continue;
        }
        let agree = counts.iter().filter(|c| **c == modal).count() as f64 / counts.len() as f64;
        let score = agree * (modal as f64).sqrt();
        if score > best.0 {
            best = (score, d);
        }
    }
    best.1
}

/// The index of the header record: the first record with the field count most records have and
/// at least half of its fields filled (title lines above a header have one field, or one filled
/// field and trailing delimiters).
fn detect_header(text: &str, delimiter: u8) -> usize {
    let (records, _, _) = records_of(text.as_bytes(), delimiter, None);
    let shapes: Vec<(usize, usize)> = records
        .iter()
        .take(HEAD_RECORDS)
        .map(|r| {
            let filled = r.fields.iter().filter(|f| !f.trim().is_empty()).count();
            (r.fields.len(), filled)
        })
        .collect();
    let totals: Vec<usize> = shapes.iter().map(|s| s.0).collect();
    let modal = modal(&totals);
    shapes
        .iter()
        .position(|(total, filled)| *total == modal && filled * 2 >= modal)
        .unwrap_or(0)
}

fn modal(counts: &[usize]) -> usize {
    let mut tally = std::collections::BTreeMap::new();
    for c in counts {
        *tally.entry(*c).or_insert(0usize) += 1;
    }
    tally
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(&b.0)))
        .map_or(0, |(c, _)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters() {
        assert_eq!(detect_delimiter("a,b,c\n1,2,3\n"), b',');
        assert_eq!(detect_delimiter("a\tb\tc\n1\t2,5\t3\n"), b'\t');
        assert_eq!(detect_delimiter("a|b|c\n1|2|3\n"), b'|');
    }

    #[test]
    fn lines_are_counted_on_crlf_and_embedded_newlines() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("t.csv");
        std::fs::write(&src, "title\r\na,b\r\n1,\"x\r\ny\"\r\n\r\n2,z\r\n3\r\n").unwrap();
        let read = read(
            &src,
            &FileOptions::default(),
            &dir.path().join("t.parquet"),
            &|_| ColumnRole::Plain,
        )
        .unwrap();
        assert_eq!(read.header_line, 2);
        assert_eq!(read.written.rows, 3);
        assert_eq!(
            read.written.defects.0[&super::super::DefectKind::Ragged].samples,
            ["t.csv:7".replace("t.csv", &src.display().to_string())]
        );
    }

    #[test]
    fn header_below_title_lines() {
        let text = "盐城市医保结算清单导出\n导出时间：2024-01-15\na,b,c\n1,2,3\n4,5,6\n";
        assert_eq!(detect_header(text, b','), 2);
        assert_eq!(detect_header("a,b\n1,2\n", b','), 0);
        let excel_title = "结算清单,,\na,b,c\n1,,3\n4,5,\n";
        assert_eq!(detect_header(excel_title, b','), 1);
    }
}
