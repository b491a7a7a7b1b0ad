//! Splitting delimited text into records without ever losing a line.
//!
//! A quoted field may hold delimiters and newlines, so one stray `"` makes an ordinary CSV
//! parser read the rest of the file as a single field: thousands of records gone without a
//! word. Here a record may span lines only while that stays believable: when a quote opened
//! on a line is not closed within [`MAX_SPAN_LINES`] lines or [`MAX_SPAN_BYTES`], or closes into
//! a record whose field count is not the header's, the record is taken to be the first line
//! alone (flagged as a defect with an unbalanced quote) and the lines after it are read again as
//! records of their own. So every line of the input ends up in exactly one record or is blank.
//!
//! The quoting rules are csv-core's (RFC 4180 with its leniencies): a quote opens a quoted
//! field only at the start of a field, `""` inside one is a quote, and text after a closing
//! quote belongs to the field. Records end at `\n`; a `\r` before it is part of the line end.

use std::collections::VecDeque;
use std::io::BufRead;

/// Lines a quoted field may span before an unclosed quote is taken for a stray one.
pub const MAX_SPAN_LINES: u64 = 1_000;
/// Bytes a record may span before an unclosed quote is taken for a stray one.
pub const MAX_SPAN_BYTES: usize = 1 << 20;

const QUOTE: u8 = b'"';

/// What was wrong with a record's quoting; the record is still read, and marked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuoteDefect {
    /// An unbalanced quote: the line was split at every delimiter, quotes kept as text.
    SplitPlain,
    /// An unbalanced quote: the open quoted field was closed at the end of the line.
    ClosedAtLineEnd,
}

impl QuoteDefect {
    /// The note kept in the record's `_defect`.
    pub fn note(self) -> &'static str {
        match self {
            QuoteDefect::SplitPlain => {
                "unbalanced quote: the line was split at every delimiter, its quotes kept as text"
            }
            QuoteDefect::ClosedAtLineEnd => {
                "unbalanced quote: the quoted field was closed at the end of the line"
            }
        }
    }
}

/// One record: where it starts, how many lines it spans and its fields.
#[derive(Debug, Default, Clone)]
pub struct Record {
    /// 1-based line the record starts on.
    pub line: u64,
    /// Lines it spans (more than one when a quoted field holds newlines).
    pub lines: u64,
    /// Its fields.
    pub fields: Vec<String>,
    /// Set when its quoting was broken and how it was read instead.
    pub defect: Option<QuoteDefect>,
}

/// Reads records from decoded UTF-8 text, line by line.
pub struct Splitter<R> {
    input: R,
    delimiter: u8,
    width: Option<usize>,
    /// Lines read ahead for a record that turned out not to span them: read again first.
    replay: VecDeque<(u64, Vec<u8>)>,
    next_line: u64,
    blank_lines: u64,
    lines_read: u64,
    line: Vec<u8>,
    field: Vec<u8>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    StartField,
    InField,
    InQuoted,
    QuoteInQuoted,
}

impl<R: BufRead> Splitter<R> {
    /// A splitter over `input` with this delimiter.
    pub fn new(input: R, delimiter: u8) -> Splitter<R> {
        Splitter {
            input,
            delimiter,
            width: None,
            replay: VecDeque::new(),
            next_line: 1,
            blank_lines: 0,
            lines_read: 0,
            line: Vec::new(),
            field: Vec::new(),
        }
    }

    /// From now on, a record spanning several lines must have `width` fields to be believed
    /// (the header's field count, once the header is known).
    pub fn expect_width(&mut self, width: usize) {
        self.width = Some(width);
    }

    /// Empty lines skipped so far (they hold no record).
    pub fn blank_lines(&self) -> u64 {
        self.blank_lines
    }

    /// Lines of the input read so far (a last line without a newline counts).
    pub fn lines_read(&self) -> u64 {
        self.lines_read
    }

    /// Read the next line (with its `\n`, if any) into `buf`; its number, or `None` at the end.
    fn take_line(&mut self, buf: &mut Vec<u8>) -> std::io::Result<Option<u64>> {
        buf.clear();
        if let Some((n, bytes)) = self.replay.pop_front() {
            *buf = bytes;
            return Ok(Some(n));
        }
        if self.input.read_until(b'\n', buf)? == 0 {
            return Ok(None);
        }
        let n = self.next_line;
        self.next_line += 1;
        self.lines_read += 1;
        Ok(Some(n))
    }

    /// The next record into `rec`; false at the end of the input.
    pub fn next_record(&mut self, rec: &mut Record) -> std::io::Result<bool> {
        let mut line = std::mem::take(&mut self.line);
        let found = self.next_record_with(rec, &mut line);
        self.line = line;
        found
    }

    fn next_record_with(&mut self, rec: &mut Record, line: &mut Vec<u8>) -> std::io::Result<bool> {
        let number = loop {
            let Some(n) = self.take_line(line)? else {
                return Ok(false);
            };
            if body(line).is_empty() {
                self.blank_lines += 1;
                continue;
            }
            break n;
        };
        rec.line = number;
        rec.lines = 1;
        rec.defect = None;
        rec.fields.clear();
        if memchr::memchr(QUOTE, line).is_none() {
            split_plain(body(line), self.delimiter, &mut rec.fields);
            return Ok(true);
        }
        // Quote-aware, across lines while a quoted field stays open.
        let mut state = State::StartField;
        self.field.clear();
        let mut spanned: Vec<(u64, Vec<u8>)> = Vec::new();
        let mut bytes = line.len();
        let (mut current_n, mut current) = (number, std::mem::take(line));
        let closed = loop {
            let (text, end) = split_end(&current);
            state = self.scan(text, state, &mut rec.fields);
            if state != State::InQuoted {
                finish_field(&mut self.field, &mut rec.fields);
                break true;
            }
            // Still inside quotes: the line end belongs to the field.
            self.field.extend_from_slice(end);
            if rec.lines >= MAX_SPAN_LINES || bytes > MAX_SPAN_BYTES {
                break false;
            }
            let mut next = Vec::new();
            let Some(n) = self.take_line(&mut next)? else {
                break false;
            };
            bytes += next.len();
            rec.lines += 1;
            spanned.push((current_n, std::mem::replace(&mut current, next)));
            current_n = n;
        };
        let believable =
            closed && (rec.lines == 1 || self.width.is_none_or(|w| rec.fields.len() == w));
        if believable {
            *line = current;
            return Ok(true);
        }
        // A stray quote: the record is the first line alone; the lines after it are read again,
        // in order and ahead of anything not read yet.
        spanned.push((current_n, current));
        let mut taken = spanned.into_iter();
        let first = taken.next().map(|(_, b)| b).unwrap_or_default();
        for later in taken.rev() {
            self.replay.push_front(later);
        }
        rec.lines = 1;
        self.read_broken(&first, rec);
        *line = first;
        Ok(true)
    }

    /// Fields of a line whose quote never closes: split at every delimiter, or quote-aware with
    /// the open field closed at the line end, whichever has the expected field count.
    fn read_broken(&mut self, line: &[u8], rec: &mut Record) {
        let text = body(line);
        let mut plain = Vec::new();
        split_plain(text, self.delimiter, &mut plain);
        let mut closed = Vec::new();
        self.field.clear();
        self.scan(text, State::StartField, &mut closed);
        finish_field(&mut self.field, &mut closed);
        let use_closed = self
            .width
            .is_some_and(|w| plain.len() != w && closed.len() == w);
        if use_closed {
            rec.fields = closed;
            rec.defect = Some(QuoteDefect::ClosedAtLineEnd);
        } else {
            rec.fields = plain;
            rec.defect = Some(QuoteDefect::SplitPlain);
        }
    }

    /// Run the quoting state machine over `text`, pushing finished fields.
    fn scan(&mut self, text: &[u8], mut state: State, fields: &mut Vec<String>) -> State {
        let d = self.delimiter;
        for &b in text {
            state = match (state, b) {
                (State::StartField, QUOTE) => State::InQuoted,
                (State::StartField | State::InField | State::QuoteInQuoted, _) if b == d => {
                    finish_field(&mut self.field, fields);
                    State::StartField
                }
                (State::StartField | State::InField, _) => {
                    self.field.push(b);
                    State::InField
                }
                (State::InQuoted, QUOTE) => State::QuoteInQuoted,
                (State::InQuoted, _) => {
                    self.field.push(b);
                    State::InQuoted
                }
                (State::QuoteInQuoted, QUOTE) => {
                    self.field.push(QUOTE);
                    State::InQuoted
                }
                (State::QuoteInQuoted, _) => {
                    self.field.push(b);
                    State::InField
                }
            };
        }
        state
    }
}

/// A line without its line end (`\n` or `\r\n`).
fn body(line: &[u8]) -> &[u8] {
    split_end(line).0
}

/// A line split into its text and its line end.
fn split_end(line: &[u8]) -> (&[u8], &[u8]) {
    let cut = if line.ends_with(b"\r\n") {
        2
    } else if line.ends_with(b"\n") {
        1
    } else {
        0
    };
    line.split_at(line.len() - cut)
}

fn split_plain(text: &[u8], delimiter: u8, fields: &mut Vec<String>) {
    let mut start = 0;
    for at in memchr::memchr_iter(delimiter, text) {
        fields.push(String::from_utf8_lossy(&text[start..at]).into_owned());
        start = at + 1;
    }
    fields.push(String::from_utf8_lossy(&text[start..]).into_owned());
}

fn finish_field(field: &mut Vec<u8>, fields: &mut Vec<String>) {
    fields.push(String::from_utf8_lossy(field).into_owned());
    field.clear();
}

/// Turns lone carriage returns (classic Mac line ends) into newlines, for files that have no
/// `\n` at all.
pub struct CrToLf<R>(pub R);

impl<R: std::io::Read> std::io::Read for CrToLf<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.0.read(buf)?;
        for b in &mut buf[..n] {
            if *b == b'\r' {
                *b = b'\n';
            }
        }
        Ok(n)
    }
}

/// Every record of `text`, for tests and the head sample.
pub fn records_of(text: &[u8], delimiter: u8, width: Option<usize>) -> (Vec<Record>, u64, u64) {
    let mut s = Splitter::new(text, delimiter);
    if let Some(w) = width {
        s.expect_width(w);
    }
    let mut out = Vec::new();
    let mut rec = Record::default();
    // Reading from a slice cannot fail.
    while let Ok(true) = s.next_record(&mut rec) {
        out.push(rec.clone());
    }
    (out, s.blank_lines(), s.lines_read())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str, width: Option<usize>) -> Vec<(u64, u64, Vec<String>, bool)> {
        records_of(text.as_bytes(), b',', width)
            .0
            .into_iter()
            .map(|r| (r.line, r.lines, r.fields, r.defect.is_some()))
            .collect()
    }

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn quoted_fields_hold_delimiters_newlines_and_quotes() {
        let got = fields(
            "a,b\n\"x,1\",\"say \"\"hi\"\"\"\n\"two\r\nlines\",z\r\n",
            Some(2),
        );
        assert_eq!(
            got,
            [
                (1, 1, v(&["a", "b"]), false),
                (2, 1, v(&["x,1", "say \"hi\""]), false),
                (3, 2, v(&["two\r\nlines", "z"]), false),
            ]
        );
    }

    #[test]
    fn a_stray_quote_costs_one_record_not_the_rest_of_the_file() {
        let text = "a,b,c\n1,2,3\n4,\"5,6\n7,8,9\n10,11,12\n";
        let (recs, blank, lines) = records_of(text.as_bytes(), b',', Some(3));
        assert_eq!((blank, lines), (0, 5));
        let got: Vec<_> = recs.iter().map(|r| (r.line, r.fields.clone())).collect();
        assert_eq!(
            got,
            [
                (1, v(&["a", "b", "c"])),
                (2, v(&["1", "2", "3"])),
                (3, v(&["4", "\"5", "6"])),
                (4, v(&["7", "8", "9"])),
                (5, v(&["10", "11", "12"])),
            ]
        );
        assert_eq!(recs[2].defect, Some(QuoteDefect::SplitPlain));
        assert!(recs
            .iter()
            .enumerate()
            .all(|(i, r)| (i == 2) == r.defect.is_some()));
    }

    #[test]
    fn an_unclosed_quote_after_a_good_one_is_closed_at_the_line_end() {
        // Split plain, `"b` and `c"` would make five fields; closing at the end gives four.
        let text = "w,x,y,z\na,\"b,c\",d,\"e\nf,g,h,i\n";
        let recs = fields(text, Some(4));
        assert_eq!(recs[1], (2, 1, v(&["a", "b,c", "d", "e"]), true));
        assert_eq!(recs[2], (3, 1, v(&["f", "g", "h", "i"]), false));
    }

    #[test]
    fn a_quote_closing_into_the_wrong_width_is_not_believed() {
        // The quote opened on line 2 closes on line 4, but that record would have 4 fields.
        let text = "a,b,c\n1,\"2,3\n4,5,6\n7,8\",9,x\n";
        let recs = fields(text, Some(3));
        let lines: Vec<u64> = recs.iter().map(|r| r.1).collect();
        assert_eq!(lines, [1, 1, 1, 1]);
        assert_eq!(recs[2], (3, 1, v(&["4", "5", "6"]), false));
        assert!(recs[1].3);
        // Line 4's quote is mid-field, so text: that line is ragged, not mis-quoted.
        assert_eq!(recs[3], (4, 1, v(&["7", "8\"", "9", "x"]), false));
    }

    #[test]
    fn blank_lines_and_a_missing_last_newline_are_counted() {
        let (recs, blank, lines) = records_of(b"a,b\n\n\r\n1,2", b',', None);
        assert_eq!((recs.len(), blank, lines), (2, 2, 4));
        assert_eq!(recs[1].line, 4);
    }

    #[test]
    fn text_after_a_closing_quote_stays_in_the_field() {
        assert_eq!(fields("\"a\"b,c\n", None)[0].2, v(&["ab", "c"]));
        assert_eq!(fields("x\"y,z\n", None)[0].2, v(&["x\"y", "z"]));
    }

    mod properties {
        //! Issue 16: for any input, the records read (clean or marked defective), the blank lines
        //! and nothing else account for every line, in order, each line once; nothing panics.
        use super::*;
        use proptest::prelude::*;

        /// Lines in the input: `\n`-terminated, plus a last one without a newline.
        fn line_count(text: &[u8]) -> u64 {
            let n = memchr::memchr_iter(b'\n', text).count() as u64;
            n + u64::from(!text.is_empty() && !text.ends_with(b"\n"))
        }

        /// CSV-like text from the characters that matter to quoting, plus anything.
        fn csvish() -> impl Strategy<Value = Vec<u8>> {
            let piece = prop_oneof![
                4 => Just(b",".to_vec()),
                4 => Just(b"\"".to_vec()),
                4 => Just(b"\n".to_vec()),
                1 => Just(b"\r\n".to_vec()),
                1 => Just(b"\r".to_vec()),
                1 => Just("医保".as_bytes().to_vec()),
                6 => "[a-z0-9]{1,4}".prop_map(String::into_bytes),
                1 => any::<u8>().prop_map(|b| vec![b]),
            ];
            prop::collection::vec(piece, 0..200).prop_map(|v| v.concat())
        }

        fn check(text: &[u8], width: Option<usize>) -> Result<(), TestCaseError> {
            let (records, blank, lines) = records_of(text, b',', width);
            prop_assert_eq!(lines, line_count(text));
            // Records in order, never overlapping, each line in at most one record.
            let mut next = 1;
            let mut covered = 0;
            for r in &records {
                prop_assert!(r.line >= next, "record at line {} overlaps", r.line);
                prop_assert!(r.lines >= 1);
                prop_assert!(r.line + r.lines - 1 <= lines);
                prop_assert!(r.lines <= MAX_SPAN_LINES);
                // A record spanning lines is believed only at the expected width.
                if r.lines > 1 {
                    if let Some(w) = width {
                        prop_assert_eq!(r.fields.len(), w);
                    }
                    prop_assert!(r.defect.is_none());
                }
                next = r.line + r.lines;
                covered += r.lines;
            }
            prop_assert_eq!(covered + blank, lines, "every line accounted for");
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(
                std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(512)
            ))]

            #[test]
            fn every_line_is_a_record_part_of_one_or_blank(text in csvish(), width in prop::option::of(1usize..6)) {
                check(&text, width)?;
            }

            #[test]
            fn arbitrary_bytes_do_not_panic(text in prop::collection::vec(any::<u8>(), 0..400)) {
                check(&text, Some(3))?;
            }

            #[test]
            fn without_quotes_each_line_is_its_split(rows in prop::collection::vec("[a-z,]{1,12}", 1..30)) {
                let text = rows.join("\n");
                let (records, blank, _) = records_of(text.as_bytes(), b',', Some(3));
                prop_assert_eq!(blank, 0);
                prop_assert_eq!(records.len(), rows.len());
                for (r, row) in records.iter().zip(&rows) {
                    prop_assert_eq!(&r.fields, &row.split(',').map(str::to_string).collect::<Vec<_>>());
                    prop_assert!(r.defect.is_none());
                }
            }
        }
    }
}
