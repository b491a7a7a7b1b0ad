//! One record as it goes into a batch: its national fields, in the order of the national field
//! list (`workspace::fields`), written as one line of compact JSON. Those bytes are the record's
//! canonical form: its content hash is their SHA-256, so the same record always hashes the same
//! whatever order the source columns came in.
//!
//! Values follow the national formats (docs/BATCH.md): amounts are numbers with two decimals,
//! quantities numbers, dates `yyyy-MM-dd` and times `yyyy-MM-dd HH:mm:ss` (normalised by the
//! readers), codes and everything else strings. A field without a value is left out.

use std::borrow::Cow;

use sha2::{Digest, Sha256};

use super::layout::{Layout, INSTITUTION_FIELD, INSTITUTION_NAME_FIELD};
use crate::workspace::{field_type, Dataset, FieldType};

/// The field marking a correction (see docs/BATCH.md): the national warehouse tables' 更新时间.
/// It is written after the canonical fields and is not part of the content hash.
pub const CORRECTION_FIELD: &str = "updt_time";

/// How a field's value is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Text,
    Amount,
    Number,
}

/// Writes the records of one dataset.
#[derive(Debug, Clone)]
pub struct Encoder {
    /// Emitted fields, in canonical order, with the JSON-escaped `"name":` prefix of each.
    fields: Vec<(String, Vec<u8>, Shape)>,
    /// Index into `fields`'s column order of each key field.
    keys: Vec<usize>,
    /// Index of the institution's code and name (the envelope's), when the records have them.
    institution: Option<(usize, Option<usize>)>,
}

impl Encoder {
    /// The encoder for a dataset whose frame has the columns `columns`. Only the fields of the
    /// dataset's national node are written ([`Layout`]); local extras (`x_…`), internal
    /// columns (`_…`), the local value kept as `<field>_local` and the fields the node does not
    /// take are left out. Returns the encoder and the columns it reads, in the order
    /// [`Encoder::encode`] expects them; `Err` names the key fields missing.
    pub fn new(ds: &Dataset, columns: &[String]) -> Result<(Encoder, Vec<String>), Vec<String>> {
        let layout = Layout::of(ds.kind);
        let mut read: Vec<String> = layout
            .fields(ds.kind)
            .into_iter()
            .filter(|f| columns.iter().any(|c| c == f))
            .map(str::to_string)
            .collect();
        let emitted = read.len();
        let missing: Vec<String> = ds
            .key
            .iter()
            .filter(|k| !columns.contains(k))
            .cloned()
            .collect();
        if !missing.is_empty() || ds.key.is_empty() {
            return Err(missing);
        }
        let at = |read: &mut Vec<String>, f: &str| match read.iter().position(|x| x == f) {
            Some(i) => i,
            None => {
                read.push(f.to_string());
                read.len() - 1
            }
        };
        let keys = ds.key.iter().map(|k| at(&mut read, k)).collect();
        let has = |f: &str| columns.iter().any(|c| c == f);
        let institution = has(INSTITUTION_FIELD).then(|| {
            let code = at(&mut read, INSTITUTION_FIELD);
            let name = has(INSTITUTION_NAME_FIELD).then(|| at(&mut read, INSTITUTION_NAME_FIELD));
            (code, name)
        });
        let fields = read[..emitted]
            .iter()
            .map(|f| {
                let shape = match field_type(f) {
                    FieldType::Amount => Shape::Amount,
                    FieldType::Number => Shape::Number,
                    _ => Shape::Text,
                };
                let mut prefix = json_string(f);
                prefix.push(b':');
                (f.clone(), prefix, shape)
            })
            .collect();
        Ok((
            Encoder {
                fields,
                keys,
                institution,
            },
            read,
        ))
    }

    /// The institution of a row (its code and name), for the envelope: `None` when the records
    /// have no institution field or the row leaves it empty.
    pub fn institution<'v>(
        &self,
        values: &[Option<&'v str>],
    ) -> Option<(&'v str, Option<&'v str>)> {
        let (code, name) = self.institution?;
        let c = values
            .get(code)
            .copied()
            .flatten()
            .filter(|v| !v.is_empty())?;
        let n = name.and_then(|n| values.get(n).copied().flatten().filter(|v| !v.is_empty()));
        Some((c, n))
    }

    /// The emitted field names, in canonical order.
    pub fn field_names(&self) -> Vec<String> {
        self.fields.iter().map(|(f, _, _)| f.clone()).collect()
    }

    /// The record key of a row (`values` in the order of the columns `new` returned): the key
    /// fields joined with `|`; `None` when one is empty.
    pub fn key(&self, values: &[Option<&str>]) -> Option<String> {
        let mut key = String::new();
        for (n, &i) in self.keys.iter().enumerate() {
            let v = values.get(i).copied().flatten().filter(|v| !v.is_empty())?;
            if n > 0 {
                key.push('|');
            }
            key.push_str(v);
        }
        Some(key)
    }

    /// Append the canonical JSON of a row to `out`.
    pub fn encode(&self, values: &[Option<&str>], out: &mut Vec<u8>) {
        out.push(b'{');
        let mut first = true;
        for ((_, prefix, shape), value) in self.fields.iter().zip(values) {
            let Some(v) = value else { continue };
            if !first {
                out.push(b',');
            }
            first = false;
            out.extend_from_slice(prefix);
            write_value(v, *shape, out);
        }
        out.push(b'}');
    }
}

/// SHA-256 of a record's canonical bytes and the institution its message names (the same
/// record sent for another institution is another record).
pub fn content_hash(canonical: &[u8], institution: Option<&str>) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(canonical);
    if let Some(i) = institution {
        h.update(b"\n");
        h.update(i.as_bytes());
    }
    h.finalize().into()
}

/// Append the correction marker to a record's canonical bytes (which end with `}`).
pub fn mark_correction(record: &mut Vec<u8>, time: &str) {
    if record.last() == Some(&b'}') {
        record.pop();
        if record.len() > 1 {
            record.push(b',');
        }
        record.extend_from_slice(&json_string(CORRECTION_FIELD));
        record.push(b':');
        record.extend_from_slice(&json_string(time));
        record.push(b'}');
    }
}

/// A record line of a batch file back to its canonical bytes, and whether it is a correction:
/// the marker, when present, is the last field, holding a `yyyy-MM-dd HH:mm:ss` time.
pub fn canonical_of(line: &[u8]) -> (Cow<'_, [u8]>, bool) {
    let mut marker = json_string(CORRECTION_FIELD);
    marker.push(b':');
    // `"` + 19 characters of time + `"` + `}`.
    let tail = marker.len() + 22;
    if line.len() > tail && line.ends_with(b"\"}") {
        let at = line.len() - tail;
        if line[at..].starts_with(&marker) {
            let mut head = line[..at].to_vec();
            match head.last() {
                Some(b',') => {
                    head.pop();
                }
                Some(b'{') => {}
                _ => return (Cow::Borrowed(line), false),
            }
            head.push(b'}');
            return (Cow::Owned(head), true);
        }
    }
    (Cow::Borrowed(line), false)
}

fn json_string(s: &str) -> Vec<u8> {
    // A &str always serialises.
    serde_json::to_vec(s).unwrap_or_default()
}

fn write_value(v: &str, shape: Shape, out: &mut Vec<u8>) {
    match shape {
        Shape::Amount => match v.trim().parse::<f64>() {
            Ok(x) if x.is_finite() => {
                // Two decimals, as the national interfaces carry money; -0.00 reads as 0.00.
                let s = format!("{:.2}", x);
                out.extend_from_slice(if s == "-0.00" { "0.00" } else { &s }.as_bytes());
            }
            _ => out.extend_from_slice(&json_string(v)),
        },
        Shape::Number => {
            let t = v.trim();
            if is_json_decimal(t) {
                out.extend_from_slice(t.as_bytes());
            } else {
                match t.parse::<f64>() {
                    Ok(x) if x.is_finite() => out.extend_from_slice(format!("{x}").as_bytes()),
                    _ => out.extend_from_slice(&json_string(v)),
                }
            }
        }
        Shape::Text => out.extend_from_slice(&json_string(v)),
    }
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?`: a decimal JSON writes as it is.
fn is_json_decimal(s: &str) -> bool {
    let b = s.strip_prefix('-').unwrap_or(s).as_bytes();
    let (int, frac) = match b.iter().position(|&c| c == b'.') {
        Some(p) => (&b[..p], Some(&b[p + 1..])),
        None => (b, None),
    };
    let int_ok =
        !int.is_empty() && int.iter().all(u8::is_ascii_digit) && (int.len() == 1 || int[0] != b'0');
    let frac_ok = frac.is_none_or(|f| !f.is_empty() && f.iter().all(u8::is_ascii_digit));
    int_ok && frac_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workspace::DatasetKind;

    fn fee() -> Dataset {
        let ws = crate::workspace::Workspace::parse(
            std::path::Path::new("."),
            std::path::Path::new("yibao.toml"),
            r#"
[[datasets]]
name = "fee"
kind = "fee-detail"
path = "fee.csv"
key = ["feedetl_sn"]
[datasets.columns]
"a" = "feedetl_sn"
"b" = "det_item_fee_sumamt"
"c" = "cnt"
"d" = "fee_ocur_time"
"#
            .to_string(),
        )
        .unwrap();
        ws.datasets[0].clone()
    }

    #[test]
    fn canonical_order_and_formats() {
        let ds = fee();
        assert_eq!(ds.kind, DatasetKind::FeeDetail);
        let cols: Vec<String> = [
            "cnt",
            "fee_ocur_time",
            "det_item_fee_sumamt",
            "feedetl_sn",
            "x_local",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (enc, read) = Encoder::new(&ds, &cols).unwrap();
        assert_eq!(
            read,
            ["feedetl_sn", "fee_ocur_time", "det_item_fee_sumamt", "cnt"]
        );
        let mut out = Vec::new();
        enc.encode(
            &[
                Some("F1"),
                Some("2024-01-02 03:04:05"),
                Some("45"),
                Some("007"),
            ],
            &mut out,
        );
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            r#"{"feedetl_sn":"F1","fee_ocur_time":"2024-01-02 03:04:05","det_item_fee_sumamt":45.00,"cnt":7}"#
        );
        assert_eq!(
            enc.key(&[Some("F1"), None, None, None]).as_deref(),
            Some("F1")
        );
        assert_eq!(enc.key(&[None, None, None, None]), None);
        let mut none = Vec::new();
        enc.encode(&[Some("F1"), None, Some("x"), Some("-2")], &mut none);
        assert_eq!(
            String::from_utf8(none).unwrap(),
            r#"{"feedetl_sn":"F1","det_item_fee_sumamt":"x","cnt":-2}"#
        );
    }

    #[test]
    fn corrections_round_trip() {
        let canonical = br#"{"a":"1"}"#.to_vec();
        let mut marked = canonical.clone();
        mark_correction(&mut marked, "2024-01-02 03:04:05");
        assert_eq!(marked, br#"{"a":"1","updt_time":"2024-01-02 03:04:05"}"#);
        let (back, correction) = canonical_of(&marked);
        assert!(correction);
        assert_eq!(&back[..], &canonical[..]);
        let (same, correction) = canonical_of(&canonical);
        assert!(!correction);
        assert_eq!(&same[..], &canonical[..]);
    }

    #[test]
    fn missing_key_is_refused() {
        let ds = fee();
        let cols = vec!["cnt".to_string()];
        assert_eq!(Encoder::new(&ds, &cols).unwrap_err(), ["feedetl_sn"]);
    }
}
