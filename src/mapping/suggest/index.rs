//! The candidate index of one national code-set version: every code's name taken apart once
//! (stem, salt, form, spec, manufacturer core, identifiers) and a bigram inverted index over the
//! stems. Built once per version and kept in the store as bytes (`FORMAT` says the layout), so
//! suggesting for 10,000 local codes never compares every pair.

use std::collections::HashMap;
use std::sync::OnceLock;

use rayon::prelude::*;

use super::normalise::{
    bigrams, canonical_form, identifier, maker_core, name_parts, parse_spec, sound_grams,
    stem_grams, Spec, SEG,
};
use crate::codes::Family;

/// The layout of [`Index::to_bytes`]; a stored index of another layout is rebuilt.
pub const FORMAT: i64 = 3;

const MAGIC: &[u8; 8] = b"YBSUGG03";

/// One national code, prepared for comparison.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry {
    /// The national code.
    pub code: String,
    /// Its name as published.
    pub name: String,
    /// Squashed name without salt and form (drugs) — what bigrams are taken of.
    pub stem: String,
    /// Salt (drugs).
    pub salt: String,
    /// Bracketed addition at the end of the name (drugs).
    pub tag: String,
    /// Generic qualifier taken out of the name (`其他`, `未特指`; diagnoses, procedures…).
    pub neutral: String,
    /// Canonical dosage form (drugs).
    pub form: String,
    /// Spec as published.
    pub spec_text: String,
    /// Spec parsed.
    pub spec: Spec,
    /// Manufacturer as published.
    pub maker: String,
    /// Its core.
    pub maker_core: String,
    /// Exact identifiers: 批准文号, 药品本位码, 注册备案号 (normalised).
    pub ids: Vec<String>,
    /// Pricing unit (services).
    pub unit: String,
}

fn attr<'a>(attrs: &'a HashMap<String, String>, keys: &[&str]) -> &'a str {
    for k in keys {
        if let Some(v) = attrs.get(*k).filter(|v| !v.trim().is_empty()) {
            return v;
        }
    }
    for k in keys {
        if let Some((_, v)) = attrs
            .iter()
            .find(|(h, v)| h.starts_with(k) && !v.trim().is_empty())
        {
            return v;
        }
    }
    ""
}

impl Entry {
    /// Prepare one row of a national table: its code, name and other columns as JSON (the
    /// store's `attrs`, keyed by the published Chinese header).
    pub fn new(family: Family, code: &str, name: &str, attrs_json: Option<&str>) -> Entry {
        let attrs: HashMap<String, String> = attrs_json
            .and_then(|j| serde_json::from_str(j).ok())
            .unwrap_or_default();
        let drug = family == Family::Drug;
        let parts = name_parts(name, drug);
        let mut spec_text = attr(
            &attrs,
            &["规格", "实际规格", "注册规格", "规格（特征、参数）"],
        )
        .trim()
        .to_string();
        let mut spec = parse_spec(&spec_text);
        if spec.count.is_none() {
            if let Ok(n) = attr(&attrs, &["最小包装数量"]).trim().parse::<u32>() {
                spec.count = (n > 0).then_some(n);
                if !spec_text.is_empty() {
                    spec_text.push_str(&format!("*{n}"));
                }
            }
        }
        if spec.is_empty() {
            if let Some(s) = &parts.spec {
                spec = parse_spec(s);
                spec_text = s.clone();
            }
        }
        let form_col = attr(&attrs, &["剂型", "实际剂型", "注册剂型"]);
        let form = if drug {
            if form_col.is_empty() {
                parts.form.clone().unwrap_or_default()
            } else {
                canonical_form(form_col)
            }
        } else {
            String::new()
        };
        let maker = attr(
            &attrs,
            &["药品企业", "生产企业", "耗材企业", "上市药品持有人"],
        )
        .trim()
        .to_string();
        let ids = ["批准文号", "药品本位码", "注册备案号"]
            .iter()
            .flat_map(|k| {
                attrs
                    .get(*k)
                    .map(|v| v.as_str())
                    .unwrap_or("")
                    .split([';', '；', ','])
            })
            .map(identifier)
            .filter(|s| s.len() >= 6)
            .collect();
        Entry {
            code: code.to_string(),
            name: name.to_string(),
            stem: parts.stem,
            salt: parts.salt.unwrap_or_default(),
            tag: parts.tag.unwrap_or_default(),
            neutral: parts.neutral.unwrap_or_default(),
            form,
            spec_text,
            spec,
            maker_core: maker_core(&maker),
            maker,
            ids,
            unit: identifier(attr(&attrs, &["计价单位"])),
        }
    }
}

/// The index of one version of one family.
#[derive(Debug, Clone)]
pub struct Index {
    /// The family.
    pub family: Family,
    /// Every current code, prepared.
    pub entries: Vec<Entry>,
    /// bigram -> entries whose stem has it (ascending).
    pub(crate) postings: HashMap<u64, Vec<u32>>,
    /// Per entry: its stem's bigrams (sorted), for re-scoring.
    pub(crate) grams: Vec<Vec<u64>>,
    /// Per entry: its stem's bigrams read by sound (toneless pinyin), for homophone typos;
    /// read only for the few entries a homophone comparison reaches, so taken on first use
    /// ([`Index::sound_of`]) rather than for every name when the index is built or loaded.
    sounds: Vec<OnceLock<Vec<u64>>>,
    /// Per entry: its stem without segment breaks, for an exact comparison.
    pub(crate) joined: Vec<String>,
    /// The distinct joined stems, salts, tags and generic qualifiers, numbered: two of them are
    /// equal exactly when their numbers are, so re-scoring compares numbers kept side by side
    /// instead of reading every candidate's strings from all over the heap.
    pub(crate) words: Words,
    /// Per entry: the numbers in `words` of its joined stem, salt, tag and generic qualifier.
    pub(crate) joined_id: Vec<u32>,
    pub(crate) salt_id: Vec<u32>,
    pub(crate) tag_id: Vec<u32>,
    pub(crate) neutral_id: Vec<u32>,
    /// The distinct forms of the entries, and per entry the number of its form.
    pub(crate) forms: Words,
    pub(crate) form_of: Vec<u32>,
    /// The distinct manufacturer cores, per entry the number of its core, and per core its
    /// bigrams.
    pub(crate) makers: Words,
    pub(crate) maker_of: Vec<u32>,
    pub(crate) maker_grams: Vec<Vec<u64>>,
    /// Per entry: √Σ idf² over its bigrams (cosine norm).
    pub(crate) norms: Vec<f32>,
    /// Identifier -> entries.
    pub(crate) by_id: HashMap<String, Vec<u32>>,
    /// Codes sorted, for exact and prefix look-ups of legacy ICD codes.
    pub(crate) codes: Vec<(String, u32)>,
}

/// Distinct strings, each numbered once in order of first use; the empty string is [`EMPTY`].
#[derive(Debug, Clone)]
pub(crate) struct Words {
    at: HashMap<String, u32>,
    /// The strings by number.
    pub(crate) list: Vec<String>,
}

/// The number of the empty string in every [`Words`].
pub(crate) const EMPTY: u32 = 0;

impl Words {
    fn new() -> Words {
        let mut w = Words {
            at: HashMap::new(),
            list: Vec::new(),
        };
        w.add("");
        w
    }

    /// The number of `s`, given one if it has none yet.
    fn add(&mut self, s: &str) -> u32 {
        if let Some(&i) = self.at.get(s) {
            return i;
        }
        let i = self.list.len() as u32;
        self.list.push(s.to_string());
        self.at.insert(s.to_string(), i);
        i
    }

    /// The number of `s`; none when no entry has it (so it equals no entry's string).
    pub(crate) fn id(&self, s: &str) -> Option<u32> {
        self.at.get(s).copied()
    }
}

/// Why stored index bytes could not be used: what was wrong and at which byte. The index is a
/// cache of the store's code rows, so a corrupt one is rebuilt from them (and the rebuild says
/// why), never trusted and never fatal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Corrupt {
    /// Byte offset where the defect was found.
    pub at: usize,
    /// What was wrong there.
    pub what: String,
}

impl std::fmt::Display for Corrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "byte {}: {}", self.at, self.what)
    }
}

/// Fewest bytes one entry takes: eleven string lengths, an empty spec (count byte + pack count),
/// and the identifier count.
const MIN_ENTRY: usize = 11 * 4 + 1 + 4 + 4;
/// Fewest bytes one posting list takes: its bigram and its length.
const MIN_POSTING: usize = 8 + 4;

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn corrupt(&self, what: impl Into<String>) -> Corrupt {
        Corrupt {
            at: self.at,
            what: what.into(),
        }
    }
    fn left(&self) -> usize {
        self.bytes.len().saturating_sub(self.at)
    }
    fn take(&mut self, n: usize, what: &str) -> Result<&[u8], Corrupt> {
        let left = self.left();
        if n > left {
            return Err(self.corrupt(format!("{what} needs {n} bytes, {left} left")));
        }
        let b = &self.bytes[self.at..self.at + n];
        self.at += n;
        Ok(b)
    }
    fn u32(&mut self, what: &str) -> Result<u32, Corrupt> {
        let b = self.take(4, what)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn u64(&mut self, what: &str) -> Result<u64, Corrupt> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }
    /// A count of items that take at least `each` bytes, refused when the bytes left cannot
    /// hold that many: what a count may allocate is bounded by the input, whatever it says.
    fn count(&mut self, each: usize, what: &str) -> Result<usize, Corrupt> {
        let at = self.at;
        let n = self.u32(what)? as usize;
        let left = self.left();
        if n > left / each.max(1) {
            return Err(Corrupt {
                at,
                what: format!(
                    "{what} {n} needs at least {} bytes, {left} left",
                    n.saturating_mul(each)
                ),
            });
        }
        Ok(n)
    }
    fn str(&mut self, what: &str) -> Result<String, Corrupt> {
        let n = self.count(1, what)?;
        let at = self.at;
        let b = self.take(n, what)?;
        String::from_utf8(b.to_vec()).map_err(|_| Corrupt {
            at,
            what: format!("{what} is not UTF-8"),
        })
    }
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u32).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

impl Index {
    /// Build the index of a version from the store's rows `(code, name, attrs_json)`.
    pub fn build(family: Family, rows: &[(String, String, Option<String>)]) -> Index {
        // Every row on every core; `collect` keeps the rows' order.
        let entries: Vec<Entry> = rows
            .par_iter()
            .map(|(c, n, a)| Entry::new(family, c, n, a.as_deref()))
            .collect();
        let drug = family == Family::Drug;
        let grams = Index::grams_of(&entries, drug);
        let mut postings: HashMap<u64, Vec<u32>> = HashMap::new();
        for (i, gs) in grams.iter().enumerate() {
            for &g in gs {
                postings.entry(g).or_default().push(i as u32);
            }
        }
        Index::assemble(family, entries, postings, grams)
    }

    /// Per entry: its stem's bigrams, on every core.
    fn grams_of(entries: &[Entry], drug: bool) -> Vec<Vec<u64>> {
        entries
            .par_iter()
            .map(|e| stem_grams(&e.stem, drug))
            .collect()
    }

    /// The derived parts: norms, identifier and code look-ups, given the per-entry bigrams.
    fn assemble(
        family: Family,
        entries: Vec<Entry>,
        postings: HashMap<u64, Vec<u32>>,
        grams: Vec<Vec<u64>>,
    ) -> Index {
        let n = entries.len().max(1) as f32;
        let sounds = (0..entries.len()).map(|_| OnceLock::new()).collect();
        let joined: Vec<String> = entries
            .par_iter()
            .map(|e| e.stem.chars().filter(|c| *c != SEG).collect())
            .collect();
        let mut words = Words::new();
        let (mut joined_id, mut salt_id, mut tag_id, mut neutral_id) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        let (mut forms, mut makers) = (Words::new(), Words::new());
        let (mut form_of, mut maker_of) = (Vec::new(), Vec::new());
        for (e, j) in entries.iter().zip(&joined) {
            joined_id.push(words.add(j));
            salt_id.push(words.add(&e.salt));
            tag_id.push(words.add(&e.tag));
            neutral_id.push(words.add(&e.neutral));
            form_of.push(forms.add(&e.form));
            maker_of.push(makers.add(&e.maker_core));
        }
        let maker_grams: Vec<Vec<u64>> = makers
            .list
            .iter()
            .map(|m| if m.is_empty() { Vec::new() } else { bigrams(m) })
            .collect();
        let mut norms = vec![0f32; entries.len()];
        for ids in postings.values() {
            let idf = (n / ids.len() as f32).ln() + 1.0;
            for &i in ids {
                norms[i as usize] += idf * idf;
            }
        }
        for v in &mut norms {
            *v = v.sqrt();
        }
        let mut by_id: HashMap<String, Vec<u32>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            for id in &e.ids {
                by_id.entry(id.clone()).or_default().push(i as u32);
            }
        }
        let mut codes: Vec<(String, u32)> = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.code.to_ascii_uppercase(), i as u32))
            .collect();
        codes.sort();
        Index {
            family,
            entries,
            postings,
            grams,
            sounds,
            joined,
            words,
            joined_id,
            salt_id,
            tag_id,
            neutral_id,
            forms,
            form_of,
            makers,
            maker_of,
            maker_grams,
            norms,
            by_id,
            codes,
        }
    }

    /// Inverse document frequency of a bigram present in `df` entries.
    pub(crate) fn idf(&self, df: usize) -> f32 {
        (self.entries.len().max(1) as f32 / df.max(1) as f32).ln() + 1.0
    }

    /// The index as bytes for the store: entries, then postings.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.entries.len() * 160);
        out.extend_from_slice(MAGIC);
        put_str(&mut out, self.family.as_str());
        out.extend_from_slice(&(self.entries.len() as u32).to_le_bytes());
        for e in &self.entries {
            for s in [
                &e.code,
                &e.name,
                &e.stem,
                &e.salt,
                &e.tag,
                &e.neutral,
                &e.form,
                &e.spec_text,
                &e.maker,
                &e.maker_core,
                &e.unit,
            ] {
                put_str(&mut out, s);
            }
            e.spec.encode(&mut out);
            out.extend_from_slice(&(e.ids.len() as u32).to_le_bytes());
            for id in &e.ids {
                put_str(&mut out, id);
            }
        }
        let mut keys: Vec<&u64> = self.postings.keys().collect();
        keys.sort();
        out.extend_from_slice(&(keys.len() as u32).to_le_bytes());
        for k in keys {
            let ids = &self.postings[k];
            out.extend_from_slice(&k.to_le_bytes());
            out.extend_from_slice(&(ids.len() as u32).to_le_bytes());
            for i in ids {
                out.extend_from_slice(&i.to_le_bytes());
            }
        }
        out
    }

    /// Read what [`Index::to_bytes`] wrote. Every count is checked against the bytes left
    /// before anything is allocated for it, so corrupt bytes give [`Corrupt`] and never a huge
    /// allocation or a panic.
    pub fn from_bytes(bytes: &[u8]) -> Result<Index, Corrupt> {
        if bytes.get(..8) != Some(MAGIC.as_slice()) {
            return Err(Corrupt {
                at: 0,
                what: "not a suggestion index (magic bytes differ)".to_string(),
            });
        }
        let mut r = Reader { bytes, at: 8 };
        let family_at = r.at;
        let family: Family = r.str("family")?.parse().map_err(|_| Corrupt {
            at: family_at,
            what: "unknown family".to_string(),
        })?;
        let n = r.count(MIN_ENTRY, "entry count")?;
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let mut f = [(); 11].map(|_| String::new());
            for s in f.iter_mut() {
                *s = r.str("entry field")?;
            }
            let spec_at = r.at;
            let spec = Spec::decode(r.bytes, &mut r.at).ok_or_else(|| Corrupt {
                at: spec_at,
                what: "spec is truncated or has an unknown dimension".to_string(),
            })?;
            let k = r.count(4, "identifier count")?;
            let ids = (0..k)
                .map(|_| r.str("identifier"))
                .collect::<Result<_, _>>()?;
            let [code, name, stem, salt, tag, neutral, form, spec_text, maker, maker_core, unit] =
                f;
            entries.push(Entry {
                code,
                name,
                stem,
                salt,
                tag,
                neutral,
                form,
                spec_text,
                spec,
                maker,
                maker_core,
                ids,
                unit,
            });
        }
        let k = r.count(MIN_POSTING, "posting-list count")?;
        let mut postings = HashMap::with_capacity(k);
        for _ in 0..k {
            let key = r.u64("bigram")?;
            let m = r.count(4, "posting-list length")?;
            let at = r.at;
            let ids = (0..m)
                .map(|_| r.u32("posting"))
                .collect::<Result<Vec<_>, _>>()?;
            if ids.iter().any(|&i| i as usize >= n) {
                return Err(Corrupt {
                    at,
                    what: format!("a posting names an entry beyond the {n} entries"),
                });
            }
            if postings.insert(key, ids).is_some() {
                return Err(r.corrupt("a bigram has two posting lists"));
            }
        }
        if r.left() > 0 {
            return Err(r.corrupt(format!("{} byte(s) after the end", r.left())));
        }
        let grams = Index::grams_of(&entries, family == Family::Drug);
        Ok(Index::assemble(family, entries, postings, grams))
    }

    /// Entry `i`'s stem bigrams read by sound ([`sound_grams`]), worked out on first use.
    pub(crate) fn sound_of(&self, i: usize) -> &[u64] {
        self.sounds[i]
            .get_or_init(|| sound_grams(&self.entries[i].stem, self.family == Family::Drug))
    }

    /// The entry of a national code.
    pub fn entry_of(&self, code: &str) -> Option<u32> {
        let up = code.to_ascii_uppercase();
        self.codes
            .binary_search_by(|(c, _)| c.as_str().cmp(up.as_str()))
            .ok()
            .map(|i| self.codes[i].1)
    }

    /// Entries whose code starts with `prefix` (upper case), in code order.
    pub(crate) fn with_prefix(&self, prefix: &str) -> &[(String, u32)] {
        let start = self.codes.partition_point(|(c, _)| c.as_str() < prefix);
        let end = start
            + self.codes[start..]
                .iter()
                .take_while(|(c, _)| c.starts_with(prefix))
                .count();
        &self.codes[start..end]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_round_trip() {
        let rows = vec![
            (
                "X1".to_string(),
                "盐酸二甲双胍片".to_string(),
                Some(r#"{"剂型":"片剂","规格":"0.5g","最小包装数量":"48","药品企业":"石药集团欧意药业有限公司","批准文号":"国药准字H20067255"}"#.to_string()),
            ),
            ("X2".to_string(), "阿莫西林胶囊".to_string(), None),
        ];
        let ix = Index::build(Family::Drug, &rows);
        let back = Index::from_bytes(&ix.to_bytes()).unwrap();
        assert_eq!(back.entries, ix.entries);
        assert_eq!(back.postings, ix.postings);
        assert_eq!(back.entries[0].spec.display(), "500mg×48");
        assert_eq!(back.entries[0].maker_core, "石药欧意");
        assert_eq!(back.entries[0].form, "片");
        assert_eq!(back.entry_of("x2"), Some(1));
        assert!(Index::from_bytes(b"junk").is_err());
    }

    fn sample() -> Vec<u8> {
        let rows = vec![
            ("X1".to_string(), "阿莫西林胶囊".to_string(), None),
            ("X2".to_string(), "头孢克肟片".to_string(), None),
        ];
        Index::build(Family::Drug, &rows).to_bytes()
    }

    /// Item 11 of issue 16: a count of u32::MAX used to reach `Vec::with_capacity` and abort
    /// the process; now every count is bounded by the bytes left and the defect is located.
    #[test]
    fn i16_11_corrupt_counts_are_bounded() {
        let good = sample();
        // MAGIC (8) + family string (4 + 4 "drug") = the entry count at byte 16.
        let mut bad = good.clone();
        bad[16..20].copy_from_slice(&u32::MAX.to_le_bytes());
        let e = Index::from_bytes(&bad).unwrap_err();
        assert_eq!(e.at, 16);
        assert_eq!(
            e.to_string(),
            format!(
                "byte 16: entry count 4294967295 needs at least 227633266635 bytes, {} left",
                good.len() - 20
            )
        );
        // The first string length of the first entry.
        let mut bad = good.clone();
        bad[20..24].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
        assert_eq!(Index::from_bytes(&bad).unwrap_err().at, 20);
        // The posting-list count is the last count before the lists.
        let ix = Index::from_bytes(&good).unwrap();
        let lists: usize = ix.postings.values().map(|v| 12 + 4 * v.len()).sum();
        let at = good.len() - lists - 4;
        let mut bad = good.clone();
        bad[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(Index::from_bytes(&bad).unwrap_err().at, at);
        // Truncated anywhere, or with bytes after the end: corrupt, never a panic.
        for cut in 0..good.len() {
            assert!(Index::from_bytes(&good[..cut]).is_err(), "cut at {cut}");
        }
        let mut long = good.clone();
        long.push(0);
        assert_eq!(
            Index::from_bytes(&long).unwrap_err().to_string(),
            format!("byte {}: 1 byte(s) after the end", good.len())
        );
    }
}
