//! Delimited text (CSV, TSV, pipe-delimited) in UTF-8, UTF-8 with BOM, GBK or GB18030: the
//! encoding, delimiter and header row are detected from the first bytes unless declared; the file
//! is then streamed record by record (quoted fields may hold newlines) into the sink.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use encoding_rs_io::DecodeReaderBytesBuilder;

use super::encoding::{guess, Guess};
use super::sink::{ColumnRole, Part, Sink, Written};
use super::split::{records_of, CrToLf, QuoteDefect, Record, Splitter};
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
    // A declared header row is a line number, as `profile` reports it (blank lines and
    // multi-line fields above it count); a detected one is a record index of the head sample.
    let header_row = opts.header_row;
    let before_header = move |line: u64, index: usize| match header_row {
        Some(row) => line < row as u64,
        None => index < header_index,
    };
    let file = open()?;
    // A spawned thread hashes, decodes and splits the file into records, a block at a time;
    // [`NORMALISERS`] threads normalise them into parts of the cache; this one finds the header
    // and writes the parts, in order, to the Parquet cache.
    std::thread::scope(|scope| {
        let (blocks, received) = std::sync::mpsc::sync_channel::<Piece>(QUEUED_BLOCKS);
        let (recycle, recycled) = std::sync::mpsc::channel::<Block>();
        let splitting = scope.spawn(move || {
            split_file(
                file,
                encoding,
                delimiter,
                mac_line_ends,
                before_header,
                blocks,
                recycled,
            )
        });
        let filled = fill_sink(
            scope,
            path,
            encoding,
            opts,
            out,
            roles,
            &before_header,
            received,
            recycle,
        );
        let (lines, blank_lines, sha256) = splitting.join().map_err(|_| {
            ReadError::open(path, std::io::Error::other("the splitting thread panicked"))
        })?;
        let (header_line, columns, written) = match filled {
            Ok(f) => f,
            // The splitter's error is the cause when it stopped first.
            Err(e) => return Err(e),
        };
        Ok(TextRead {
            encoding,
            delimiter,
            header_line,
            columns,
            lines,
            blank_lines,
            written,
            sha256,
        })
    })
}

/// Records per block handed from the splitting thread to the sink's.
const BLOCK_RECORDS: usize = 4096;
/// Blocks that may wait between the two threads.
const QUEUED_BLOCKS: usize = 4;

/// Records as the splitting thread hands them over: every field's text one after another in one
/// buffer, so that no field is a string of its own allocated on one thread and freed on the
/// other. Blocks go back to the splitting thread to be filled again.
#[derive(Default)]
struct Block {
    /// The fields' text.
    text: String,
    /// Where each field ends in `text`.
    ends: Vec<usize>,
    /// Per record: its line, its field count and its quoting defect.
    records: Vec<(u64, usize, Option<QuoteDefect>)>,
}

impl Block {
    fn clear(&mut self) {
        self.text.clear();
        self.ends.clear();
        self.records.clear();
    }

    fn push(&mut self, record: &Record) {
        for f in &record.fields {
            self.text.push_str(f);
            self.ends.push(self.text.len());
        }
        self.records
            .push((record.line, record.fields.len(), record.defect));
    }
}

/// What the splitting thread hands over.
enum Piece {
    /// Records, in order.
    Records(Block),
    /// Reading stopped at this line with this error.
    Failed(u64, std::io::Error),
}

/// Hash, decode and split `file`, sending its records in blocks; returns the lines read, the
/// blank lines and the file's SHA-256 and size. Stops early when the receiver is gone.
fn split_file(
    file: File,
    encoding: Guess,
    delimiter: u8,
    mac_line_ends: bool,
    before_header: impl Fn(u64, usize) -> bool,
    blocks: std::sync::mpsc::SyncSender<Piece>,
    recycled: std::sync::mpsc::Receiver<Block>,
) -> (u64, u64, (String, u64)) {
    let tap = super::hash::Tap::default();
    let decoder = DecodeReaderBytesBuilder::new()
        .encoding(Some(encoding.encoding.decoder()))
        .bom_sniffing(true)
        .build(tap.wrap(file));
    let decoded: Box<dyn Read> = if mac_line_ends {
        Box::new(CrToLf(decoder))
    } else {
        Box::new(decoder)
    };
    let mut splitter = Splitter::new(BufReader::with_capacity(1 << 16, decoded), delimiter);
    let mut index = 0usize;
    let mut width_known = false;
    let mut record = Record::default();
    let mut block = Block::default();
    loop {
        match splitter.next_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let _ = blocks.send(Piece::Failed(splitter.lines_read() + 1, e));
                return (splitter.lines_read(), splitter.blank_lines(), tap.finish());
            }
        }
        if !width_known && !before_header(record.line, index) {
            // From the header on, a record spanning lines must have the header's field count.
            splitter.expect_width(record.fields.len());
            width_known = true;
        }
        index += 1;
        block.push(&record);
        if block.records.len() >= BLOCK_RECORDS {
            let mut next = recycled.try_recv().unwrap_or_default();
            next.clear();
            if blocks
                .send(Piece::Records(std::mem::replace(&mut block, next)))
                .is_err()
            {
                return (splitter.lines_read(), splitter.blank_lines(), tap.finish());
            }
        }
    }
    if !block.records.is_empty() {
        let _ = blocks.send(Piece::Records(block));
    }
    (splitter.lines_read(), splitter.blank_lines(), tap.finish())
}

/// Threads normalising records into parts of the cache.
const NORMALISERS: usize = 2;

/// Records to normalise into one part: blocks, each with the number of its first records to
/// leave out (those up to the header).
struct Work {
    number: u64,
    part: Part,
    blocks: Vec<(Block, usize)>,
}

/// The sink's side: the header, then every record normalised, on [`NORMALISERS`] threads, into
/// parts written in order; the header's line, the column names and what the sink wrote.
#[allow(clippy::too_many_arguments)]
fn fill_sink<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    path: &'scope Path,
    encoding: Guess,
    opts: &FileOptions,
    out: &Path,
    roles: &dyn Fn(&str) -> ColumnRole,
    before_header: &dyn Fn(u64, usize) -> bool,
    received: std::sync::mpsc::Receiver<Piece>,
    recycle: std::sync::mpsc::Sender<Block>,
) -> Result<(u64, Vec<String>, Written), ReadError> {
    use std::sync::mpsc;
    let (work_tx, work_rx) = mpsc::sync_channel::<Work>(1);
    let work_rx = std::sync::Arc::new(std::sync::Mutex::new(work_rx));
    let (done_tx, done_rx) = mpsc::channel::<(u64, Result<Part, ReadError>)>();
    for _ in 0..NORMALISERS {
        let (work_rx, done_tx, recycle) = (work_rx.clone(), done_tx.clone(), recycle.clone());
        scope.spawn(move || loop {
            let next = match work_rx.lock() {
                Ok(rx) => rx.recv(),
                Err(_) => return,
            };
            let Ok(work) = next else { return };
            let mut part = work.part;
            let filled = fill_part(&mut part, &work.blocks, path, encoding).map(|()| part);
            for (block, _) in work.blocks {
                let _ = recycle.send(block);
            }
            if done_tx.send((work.number, filled)).is_err() {
                return;
            }
        });
    }
    drop(done_tx);
    let mut index = 0usize;
    let mut header: Option<(u64, Vec<String>)> = None;
    let mut sink: Option<Sink> = None;
    let mut pending: Vec<(Block, usize)> = Vec::new();
    let mut pending_records = 0usize;
    let (mut sent, mut next_written) = (0u64, 0u64);
    let mut ready: std::collections::BTreeMap<u64, Part> = Default::default();
    // Write the parts that are next in order; with `wait`, until every sent part is written.
    let write_ready = |sink: &mut Sink,
                       ready: &mut std::collections::BTreeMap<u64, Part>,
                       next_written: &mut u64,
                       sent: u64,
                       wait: bool|
     -> Result<(), ReadError> {
        loop {
            while let Some(part) = ready.remove(next_written) {
                sink.write_part(part)?;
                *next_written += 1;
            }
            if *next_written >= sent {
                return Ok(());
            }
            let got = if wait {
                done_rx.recv().ok()
            } else {
                done_rx.try_recv().ok()
            };
            let Some((n, filled)) = got else {
                if wait {
                    return Err(ReadError::open(
                        path,
                        std::io::Error::other("a normalising thread stopped"),
                    ));
                }
                return Ok(());
            };
            ready.insert(n, filled?);
        }
    };
    for piece in received {
        let block = match piece {
            Piece::Records(b) => b,
            Piece::Failed(line, e) => return Err(read_error(path, encoding, line, e)),
        };
        let mut skip = 0usize;
        if sink.is_none() {
            // Up to the header: each record here, then the rest of the block to the workers.
            let mut field = 0usize;
            for &(line, width, _) in &block.records {
                let from = if field == 0 { 0 } else { block.ends[field - 1] };
                let ends = &block.ends[field..field + width];
                field += width;
                skip += 1;
                let to = ends.last().copied().unwrap_or(from);
                if block.text[from..to].contains('\u{FFFD}') {
                    return Err(undecodable(path, encoding, line));
                }
                if before_header(line, index) {
                    index += 1;
                    continue;
                }
                index += 1;
                let names = super::column_names(fields_of(&block.text, from, ends));
                let role_list = names.iter().map(|n| roles(n)).collect();
                sink = Some(Sink::create(
                    out,
                    path.display().to_string(),
                    names.clone(),
                    role_list,
                )?);
                header = Some((line, names));
                break;
            }
        }
        let Some(s) = sink.as_mut() else {
            let _ = recycle.send(block);
            continue;
        };
        let records = block.records.len() - skip;
        index += records;
        pending_records += records;
        pending.push((block, skip));
        if pending_records >= super::sink::CHUNK_ROWS {
            let work = Work {
                number: sent,
                part: s.part(),
                blocks: std::mem::take(&mut pending),
            };
            pending_records = 0;
            sent += 1;
            if work_tx.send(work).is_err() {
                break;
            }
            if let Some(p) = &opts.progress {
                (p.0)(index as u64);
            }
        }
        write_ready(s, &mut ready, &mut next_written, sent, false)?;
    }
    if let Some(s) = sink.as_mut() {
        if !pending.is_empty() {
            let work = Work {
                number: sent,
                part: s.part(),
                blocks: std::mem::take(&mut pending),
            };
            sent += 1;
            let _ = work_tx.send(work);
        }
        drop(work_tx);
        write_ready(s, &mut ready, &mut next_written, sent, true)?;
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
    Ok((header_line, columns, sink.finish()?))
}

/// The fields of a record of a block: `ends` are theirs, the first starting at `from`.
fn fields_of<'t>(text: &'t str, from: usize, ends: &'t [usize]) -> impl Iterator<Item = &'t str> {
    ends.iter().scan(from, move |start, &end| {
        let f = &text[*start..end];
        *start = end;
        Some(f)
    })
}

fn undecodable(path: &Path, encoding: Guess, line: u64) -> ReadError {
    ReadError::Undecodable {
        path: path.to_path_buf(),
        line,
        encoding: encoding.encoding.as_str(),
        declared: encoding.declared,
    }
}

/// Normalise the records of `blocks` (each from its skip on) into `part`.
fn fill_part(
    part: &mut Part,
    blocks: &[(Block, usize)],
    path: &Path,
    encoding: Guess,
) -> Result<(), ReadError> {
    for (block, skip) in blocks {
        let mut field = 0usize;
        for (n, &(line, width, defect)) in block.records.iter().enumerate() {
            let from = if field == 0 { 0 } else { block.ends[field - 1] };
            let ends = &block.ends[field..field + width];
            field += width;
            if n < *skip {
                continue;
            }
            let to = ends.last().copied().unwrap_or(from);
            if block.text[from..to].contains('\u{FFFD}') {
                return Err(undecodable(path, encoding, line));
            }
            part.push(
                line,
                fields_of(&block.text, from, ends),
                defect.map(|d| d.note().to_string()),
            );
        }
    }
    Ok(())
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
    use polars::prelude::*;

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

    /// Issue 14 item 4: a file of many parts, normalised on several threads, gives the records
    /// in their order, each defect counted once with its first locations in file order, and a
    /// bad byte deep in the file named by its own line, whichever thread met it.
    #[test]
    fn parts_normalised_on_threads_keep_the_file_order() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("big.csv");
        let n: u64 = 3 * super::super::sink::CHUNK_ROWS as u64 + 1234;
        let mut text = String::from("导出,,\r\ncode,name,day\r\n");
        for i in 0..n {
            // Every 1000th record has a full-width code, every 777th a legacy date.
            let code = if i % 1000 == 7 {
                format!("Ａ{i}")
            } else {
                format!("A{i}")
            };
            let day = if i % 777 == 0 {
                "2024/1/5"
            } else {
                "2024-01-05"
            };
            text.push_str(&format!("{code},n{i},{day}\r\n"));
        }
        let (bytes, _, _) = encoding_rs::GBK.encode(&text);
        std::fs::write(&src, &bytes).unwrap();
        let roles = |name: &str| {
            if name == "day" {
                ColumnRole::Date(false)
            } else {
                ColumnRole::Plain
            }
        };
        let cache = dir.path().join("big.parquet");
        let read = read(&src, &FileOptions::default(), &cache, &roles).unwrap();
        assert_eq!(read.header_line, 2);
        assert_eq!(read.written.rows, n);
        let full = &read.written.defects.0[&super::super::DefectKind::FullWidth];
        assert_eq!(full.count, (0..n).filter(|i| i % 1000 == 7).count() as u64);
        let at = |line: u64, col: &str| format!("{}:{line}:{col}", src.display());
        let first: Vec<String> = (0..10).map(|k| at(3 + 7 + 1000 * k, "code")).collect();
        assert_eq!(full.samples, first);
        let dates = &read.written.defects.0[&super::super::DefectKind::DateRewritten];
        assert_eq!(dates.count, n.div_ceil(777));
        let df =
            LazyFrame::scan_parquet(cache.to_str().unwrap().into(), ScanArgsParquet::default())
                .unwrap()
                .collect()
                .unwrap();
        assert_eq!(df.height() as u64, n);
        let rows: Vec<u64> = df
            .column("_row")
            .unwrap()
            .u64()
            .unwrap()
            .into_no_null_iter()
            .collect();
        assert!(rows.iter().copied().eq(3..3 + n), "records out of order");
        let names = df.column("name").unwrap().str().unwrap();
        assert_eq!(names.get(0), Some("n0"));
        assert_eq!(
            names.get(n as usize - 1),
            Some(format!("n{}", n - 1).as_str())
        );

        // One byte GBK cannot decode, in the third part: its line is named.
        let bad_line = 2 * super::super::sink::CHUNK_ROWS as u64 + 555;
        let mut lines: Vec<Vec<u8>> = bytes.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
        lines[bad_line as usize - 1].splice(0..0, [0xFFu8]);
        std::fs::write(&src, lines.join(&b'\n')).unwrap();
        let opts = FileOptions {
            encoding: Some(Encoding::Gbk),
            ..FileOptions::default()
        };
        match super::read(&src, &opts, &cache, &roles) {
            Err(ReadError::Undecodable { line, .. }) => assert_eq!(line, bad_line),
            Err(e) => panic!("{e}"),
            Ok(_) => panic!("read"),
        }
    }
}
