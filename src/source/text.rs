//! Delimited text (CSV, TSV, pipe-delimited) in UTF-8, UTF-8 with BOM, GBK or GB18030: the
//! encoding, delimiter and header row are detected from the first bytes unless declared; the file
//! is then streamed record by record (quoted fields may hold newlines) into the sink.

use std::fs::File;
use std::io::Read;
use std::path::Path;

use encoding_rs_io::DecodeReaderBytesBuilder;

use super::encoding::{guess, Guess};
use super::sink::{ColumnRole, Sink, Written};
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
    /// What the sink wrote.
    pub written: Written,
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

    let decoder = DecodeReaderBytesBuilder::new()
        .encoding(Some(match encoding.encoding {
            Encoding::Utf8 => encoding_rs::UTF_8,
            Encoding::Gbk | Encoding::Gb18030 => encoding_rs::GB18030,
        }))
        .bom_sniffing(true)
        .build(open()?);
    let lines = LineIndex::default();
    let decoder = LineCounting {
        inner: decoder,
        offset: 0,
        index: lines.clone(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .buffer_capacity(1 << 16)
        .from_reader(decoder);

    let mut record = csv::StringRecord::new();
    let mut index = 0usize;
    let mut header: Option<(u64, Vec<String>)> = None;
    let mut sink: Option<Sink> = None;
    loop {
        let more = reader
            .read_record(&mut record)
            .map_err(|e| csv_error(path, encoding, e))?;
        if !more {
            break;
        }
        // csv's own line numbers drift on CRLF files; count newlines before the record's byte.
        let line = lines.line_of(record.position().map_or(0, |p| p.byte()));
        if record.iter().any(|f| f.contains('\u{FFFD}')) {
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
        match sink.as_mut() {
            Some(s) => {
                s.push(line, record.iter(), None)?;
                if index % 65_536 == 0 {
                    if let Some(p) = &opts.progress {
                        (p.0)(index as u64);
                    }
                }
            }
            None => {
                let names = super::column_names(record.iter());
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
        written: sink.finish()?,
    })
}

/// Newline offsets seen by the reader and not yet counted: record starts only move forward, so
/// each offset is counted once and dropped.
#[derive(Clone, Default)]
struct LineIndex(std::rc::Rc<std::cell::RefCell<(u64, std::collections::VecDeque<u64>)>>);

impl LineIndex {
    /// The 1-based line of a record starting at `offset` of the decoded stream. On CRLF files csv
    /// puts a record's start on the `\n` ending the line before, so a newline at `offset` counts.
    fn line_of(&self, offset: u64) -> u64 {
        let mut inner = self.0.borrow_mut();
        let (counted, pending) = &mut *inner;
        while pending.front().is_some_and(|nl| *nl <= offset) {
            pending.pop_front();
            *counted += 1;
        }
        *counted + 1
    }
}

/// Passes the decoded bytes through, noting where each newline is.
struct LineCounting<R> {
    inner: R,
    offset: u64,
    index: LineIndex,
}

impl<R: Read> Read for LineCounting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut pending = self.index.0.borrow_mut();
        for at in memchr::memchr_iter(b'\n', &buf[..n]) {
            pending.1.push_back(self.offset + at as u64);
        }
        self.offset += n as u64;
        Ok(n)
    }
}

fn csv_error(path: &Path, encoding: Guess, e: csv::Error) -> ReadError {
    let line = e.position().map_or(0, |p| p.line());
    match e.kind() {
        csv::ErrorKind::Io(io) if io.kind() == std::io::ErrorKind::InvalidData => {
            ReadError::Undecodable {
                path: path.to_path_buf(),
                line,
                encoding: encoding.encoding.as_str(),
                declared: encoding.declared,
            }
        }
        _ => ReadError::Csv {
            path: path.to_path_buf(),
            line,
            detail: e.to_string(),
        },
    }
}

/// Decode the head sample for detection; a character cut at the end is dropped.
fn decode_head(head: &[u8], encoding: Encoding) -> String {
    let body = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let enc = match encoding {
        Encoding::Utf8 => encoding_rs::UTF_8,
        Encoding::Gbk | Encoding::Gb18030 => encoding_rs::GB18030,
    };
    let (text, _) = enc.decode_without_bom_handling(body);
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
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    let shapes: Vec<(usize, usize)> = reader
        .records()
        .take(HEAD_RECORDS)
        .map_while(Result::ok)
        .map(|r| (r.len(), r.iter().filter(|f| !f.trim().is_empty()).count()))
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
