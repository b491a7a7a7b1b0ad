//! Candidates for one local code: exact identifiers first (批准文号, 本位码, 注册备案号, a
//! legacy ICD code), then the bigram index with IDF weights, then the best of those re-scored
//! on name, salt, form, spec, manufacturer and unit, each with the evidence that scored it.

use std::fmt::Write as _;

use super::index::{Entry, Index, EMPTY};
use super::normalise::{
    bigrams, canonical_form, dice, fold, form_similarity, identifier, maker_core,
    maker_similarity_with, name_parts, parse_spec, sound_grams, spec_similarity, squash,
    stem_grams, NameParts, Spec, SEG,
};
use super::synonyms::Synonyms;
use crate::codes::Family;
use crate::mapping::gather::Local;

/// At most this many entries (the best by bigram score) are re-scored per local code.
const POOL: usize = 1500;

/// The best score fields alone can give: above it only exact identifiers and codes.
const NAME_CAP: f64 = 0.9;

/// Candidates scoring under this are not offered.
const FLOOR: f64 = 0.15;

/// One way of reading a local name: as written, with its qualifier moved back to the front,
/// without a clinical qualifier (`左侧`, `待查`), or with an abbreviation written out.
#[derive(Debug, Clone)]
struct Alt {
    /// The stem without segment breaks, for an exact comparison.
    joined: String,
    grams: Vec<u64>,
    /// Generic qualifier taken out (`其他`, `未特指`).
    neutral: String,
    /// How much this reading is believed, against the name as written (1).
    factor: f64,
    /// Evidence: how the name was read (empty: as written).
    why: String,
}

/// Clinical qualifiers a coder leaves out when picking the code: side, and certainty words.
const CLINICAL_PREFIXES: &[&str] = &[
    "左侧", "右侧", "双侧", "单侧", "疑似", "可疑", "考虑", "左", "右", "双",
];
const CLINICAL_SUFFIXES: &[&str] = &[
    "待查",
    "待排",
    "待除外",
    "可能",
    "可能性大",
    "急性发作",
    "术后",
    "左侧",
    "右侧",
    "双侧",
];

/// At most this many readings of one name.
const MAX_ALTS: usize = 10;

/// A local code prepared for search.
#[derive(Debug, Clone)]
pub struct Query {
    alts: Vec<Alt>,
    /// The characters of the whole name, for the last resort.
    chars: Vec<char>,
    /// The name as written, read by sound.
    sound: Vec<u64>,
    salt: String,
    tag: String,
    grams: Vec<u64>,
    form: String,
    spec: Spec,
    spec_grams: Vec<u64>,
    maker_core: String,
    maker_grams: Vec<u64>,
    ids: Vec<String>,
    unit: String,
    icd: Option<Icd>,
    /// A service item's 9-digit 全国医疗服务价格项目规范 code, read from its local code.
    price_spec: Option<String>,
    /// The local code itself, when it is a well-formed national code of the family.
    national: Option<String>,
}

/// The 9-digit price-spec code a local service code carries: the code itself (`110200001`,
/// or with a provincial sub-item letter, `110200002a`), the part after `-` of the combined
/// form (`001102000010000-110200001`), or digits 3–11 of a 15-digit national code. Every
/// national 15-digit code holds its price-spec code there (`00` + 9 + 2 拓展 + 2 加收;
/// docs/CODE-STRUCTURES.md), so the national codes starting `00` + those 9 digits are the
/// item and its extensions.
fn price_spec_of(family: Family, code: &str) -> Option<String> {
    if family != Family::Service {
        return None;
    }
    let c: String = code.trim().chars().filter(|c| !c.is_whitespace()).collect();
    let nine = |s: &str| -> Option<String> {
        let d: String = s.chars().take_while(char::is_ascii_digit).collect();
        let rest = &s[d.len()..];
        (d.len() == 9
            && (rest.is_empty()
                || (rest.len() == 1 && rest.chars().all(|c| c.is_ascii_lowercase()))))
        .then_some(d)
    };
    if let Some((head, tail)) = c.split_once('-') {
        return nine(tail.split('.').next().unwrap_or("")).or_else(|| price_spec_of(family, head));
    }
    if c.len() == 15 && c.starts_with("00") && c.chars().all(|c| c.is_ascii_digit()) {
        return Some(c[2..11].to_string());
    }
    nine(&c)
}

/// A legacy ICD code: the code as written (upper case) and the 医保版 code it stands for.
#[derive(Debug, Clone, PartialEq)]
struct Icd {
    /// A dagger/asterisk pair's asterisk part (`+G01*`), upper case.
    asterisk: String,
    written: String,
    padded: String,
    stem: String,
    category: String,
}

/// Read a local code as a legacy ICD-10 (diagnoses) or ICD-9-CM-3 (procedures) code:
/// `j18.9` → `J18.900`, `I10` → `I10.X00`, `K35.8` → `K35.800`, `37.83` → `37.8300`. A code
/// without a dot is read only when it is a bare category (`I10`, `37`), so that opaque HIS codes
/// are not taken for ICD codes.
fn legacy_icd(family: Family, code: &str) -> Option<Icd> {
    let c: String = code
        .trim()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_ascii_uppercase();
    let (main, asterisk) = match c.split_once('+') {
        Some((m, a)) if family == Family::Diagnosis => (m.to_string(), format!("+{a}")),
        _ => (c.clone(), String::new()),
    };
    let (head, tail) = match main.split_once('.') {
        Some((h, t)) => (h.to_string(), t.to_string()),
        None => (main.clone(), String::new()),
    };
    let (sub, ext) = match tail.find('X').filter(|&i| i > 0) {
        Some(i) => (tail[..i].to_string(), tail[i..].to_string()),
        None => (tail.clone(), String::new()),
    };
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    let ext_ok = ext.is_empty() || (ext.len() >= 4 && digits(&ext[1..]));
    match family {
        Family::Diagnosis => {
            let mut h = head.chars();
            let letter = h.next().filter(|c| c.is_ascii_uppercase())?;
            let num: String = h.collect();
            if num.len() != 2 || !digits(&num) || sub.len() > 3 || !ext_ok {
                return None;
            }
            if !sub.chars().all(|c| c.is_ascii_digit() || c == 'X') {
                return None;
            }
            let category = format!("{letter}{num}");
            let base = if sub.is_empty() { "X".to_string() } else { sub };
            let stem = format!("{category}.{base:0<3}");
            Some(Icd {
                written: c,
                padded: format!("{stem}{ext}{asterisk}"),
                asterisk,
                stem,
                category,
            })
        }
        Family::Procedure => {
            if head.len() != 2 || !digits(&head) || sub.len() > 4 || !digits(&sub) || !ext_ok {
                return None;
            }
            let stem = format!("{head}.{sub:0<4}");
            Some(Icd {
                written: c,
                padded: format!("{stem}{ext}"),
                asterisk,
                stem,
                category: head,
            })
        }
        _ => None,
    }
}

/// The readings of a non-drug stem (`肺炎|细菌性`): as written, all segments joined, the last
/// segment moved to the front (`细菌性肺炎`), and without clinical qualifiers.
fn structural_alts(parts: &NameParts, why: &str, factor: f64, out: &mut Vec<Alt>) {
    let segs: Vec<&str> = parts.stem.split(SEG).filter(|s| !s.is_empty()).collect();
    let neutral = parts.neutral.clone().unwrap_or_default();
    let push = |stem: String, how: &str, f: f64, out: &mut Vec<Alt>| {
        if stem.is_empty() || out.len() >= MAX_ALTS {
            return;
        }
        let joined: String = stem.chars().filter(|c| *c != SEG).collect();
        if out
            .iter()
            .any(|a| a.joined == joined && a.grams == stem_grams(&stem, false))
        {
            return;
        }
        let why = [why, how]
            .iter()
            .filter(|s| !s.is_empty())
            .copied()
            .collect::<Vec<_>>()
            .join(", ");
        out.push(Alt {
            grams: stem_grams(&stem, false),
            joined,
            neutral: neutral.clone(),
            factor: factor * f,
            why,
        });
    };
    push(parts.stem.clone(), "", 1.0, out);
    if (2..=4).contains(&segs.len()) {
        push(segs.concat(), "", 1.0, out);
        let mut moved = vec![segs[segs.len() - 1]];
        moved.extend(&segs[..segs.len() - 1]);
        push(moved.concat(), "qualifier moved to the front", 1.0, out);
    }
    // Without clinical qualifiers: whole segments, or a prefix or suffix of one.
    let mut kept: Vec<String> = Vec::new();
    let mut dropped: Vec<&str> = Vec::new();
    for seg in &segs {
        if let Some(q) = CLINICAL_PREFIXES
            .iter()
            .chain(CLINICAL_SUFFIXES)
            .find(|q| seg == *q)
        {
            dropped.push(q);
            continue;
        }
        let mut s: &str = seg;
        if let Some(q) = CLINICAL_PREFIXES
            .iter()
            .find(|q| s.starts_with(**q) && s.chars().count() >= q.chars().count() + 2)
        {
            dropped.push(q);
            s = &s[q.len()..];
        }
        if let Some(q) = CLINICAL_SUFFIXES
            .iter()
            .find(|q| s.ends_with(**q) && s.chars().count() >= q.chars().count() + 2)
        {
            dropped.push(q);
            s = &s[..s.len() - q.len()];
        }
        kept.push(s.to_string());
    }
    if !dropped.is_empty() && !kept.is_empty() {
        let how = format!("without {}", dropped.join(", "));
        push(kept.join(&SEG.to_string()), &how, 0.97, out);
        if kept.len() >= 2 {
            let mut moved = vec![kept[kept.len() - 1].clone()];
            moved.extend(kept[..kept.len() - 1].iter().cloned());
            push(
                moved.concat(),
                &format!("{how}, qualifier moved"),
                0.97,
                out,
            );
        }
    }
}

/// How much a reading by sound is believed: a homophone is a typo more often than not, but
/// below the name as written and below the knowledge base.
const SOUND_FACTOR: f64 = 0.95;

/// How much a reading through the knowledge base is believed against the name as written.
const SYNONYM_FACTOR: f64 = 0.98;

/// The builtin knowledge base, for callers without a workspace.
fn builtin_synonyms() -> &'static Synonyms {
    static BASE: std::sync::OnceLock<Synonyms> = std::sync::OnceLock::new();
    BASE.get_or_init(Synonyms::builtin)
}

impl Query {
    /// Prepare a local code of `family` with the built-in knowledge base.
    pub fn new(family: Family, local: &Local) -> Query {
        Query::with_synonyms(family, local, builtin_synonyms())
    }

    /// Prepare a local code of `family`, reading its name also through `synonyms`.
    pub fn with_synonyms(family: Family, local: &Local, synonyms: &Synonyms) -> Query {
        let drug = family == Family::Drug;
        let parts = name_parts(&local.name, drug);
        let mut alts: Vec<Alt> = Vec::new();
        // A form word the knowledge base knows (`针剂`, `冲剂`) gives the form.
        let mut reading_form: Option<String> = None;
        let readings = if synonyms.is_empty() {
            Vec::new()
        } else {
            synonyms.rewrite(family, &fold(&local.name), 4)
        };
        if drug {
            alts.push(Alt {
                joined: parts.stem.clone(),
                grams: bigrams(&parts.stem),
                neutral: String::new(),
                factor: 1.0,
                why: String::new(),
            });
            for (name, why) in &readings {
                let p = name_parts(name, true);
                if reading_form.is_none() && parts.form.is_none() {
                    reading_form = p.form.clone();
                }
                if p.stem.is_empty() || alts.iter().any(|a| a.joined == p.stem) {
                    continue;
                }
                alts.push(Alt {
                    grams: bigrams(&p.stem),
                    joined: p.stem,
                    neutral: String::new(),
                    factor: SYNONYM_FACTOR,
                    why: why.clone(),
                });
            }
        } else {
            structural_alts(&parts, "", 1.0, &mut alts);
            for (name, why) in &readings {
                structural_alts(&name_parts(name, false), why, SYNONYM_FACTOR, &mut alts);
            }
        }
        let spec_text = local
            .spec
            .clone()
            .filter(|s| !s.trim().is_empty())
            .or(parts.spec.clone())
            .unwrap_or_default();
        let form = match local.form.as_deref().filter(|f| !f.trim().is_empty()) {
            Some(f) if drug => canonical_form(f),
            _ => parts.form.clone().or(reading_form).unwrap_or_default(),
        };
        let ids = [&local.approval_no, &local.std_code]
            .iter()
            .filter_map(|v| v.as_deref())
            .flat_map(|v| v.split([';', '；', ',']))
            .map(identifier)
            .filter(|s| s.len() >= 6)
            .collect();
        let maker_core = local
            .manufacturer
            .as_deref()
            .map(maker_core)
            .unwrap_or_default();
        Query {
            chars: squash(&fold(&local.name)).chars().collect(),
            sound: sound_grams(&parts.stem, drug),
            grams: alts.first().map(|a| a.grams.clone()).unwrap_or_default(),
            alts,
            salt: parts.salt.unwrap_or_default(),
            tag: parts.tag.unwrap_or_default(),
            form,
            spec: parse_spec(&spec_text),
            spec_grams: bigrams(&squash(&fold(&spec_text))),
            maker_grams: bigrams(&maker_core),
            maker_core,
            ids,
            unit: local.unit.as_deref().map(identifier).unwrap_or_default(),
            icd: legacy_icd(family, &local.code),
            price_spec: price_spec_of(family, &local.code),
            national: family
                .parse(local.code.trim())
                .ok()
                .filter(|p| p.is_well_formed())
                // The combined service form names its national code before the `-`.
                .map(|p| {
                    p.canonical
                        .split('-')
                        .next()
                        .unwrap_or_default()
                        .to_string()
                }),
        }
    }
}

/// One proposed national code.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Candidate {
    /// The national code.
    pub code: String,
    /// Its national name.
    pub name: String,
    /// 0..1.
    pub score: f64,
    /// Which fields matched and how.
    pub evidence: String,
}

/// Per-thread work space: bigram score per entry and which entries were touched; which
/// entries one search has already taken (`seen[i] == stamp`), without a hash set per search.
#[derive(Debug, Default)]
pub struct Scratch {
    acc: Vec<f32>,
    touched: Vec<u32>,
    seen: Vec<u32>,
    stamp: u32,
}

impl Scratch {
    /// Forget which entries were taken, for a new set over `n` entries.
    fn fresh(&mut self, n: usize) {
        if self.seen.len() != n {
            self.seen = vec![0; n];
            self.stamp = 0;
        }
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.seen.fill(0);
            self.stamp = 1;
        }
    }

    /// True the first time entry `i` is taken since [`Scratch::fresh`].
    fn first_time(&mut self, i: u32) -> bool {
        let m = &mut self.seen[i as usize];
        if *m == self.stamp {
            false
        } else {
            *m = self.stamp;
            true
        }
    }
}

/// Values of a pure function of the query and one of an index's distinct strings (a form, a
/// manufacturer core), worked out once per search instead of once per candidate.
struct Memo(Vec<f64>);

impl Memo {
    fn new(n: usize) -> Memo {
        Memo(vec![f64::NAN; n])
    }

    fn get(&mut self, k: u32, f: impl FnOnce() -> f64) -> f64 {
        let v = &mut self.0[k as usize];
        if v.is_nan() {
            *v = f();
        }
        *v
    }
}

/// What one search compares every candidate with, prepared once: the query's strings as
/// numbers of the index's [`Index::words`] (none when no entry has the string), and the memos.
struct Ctx {
    /// Per reading: its joined stem and its generic qualifier.
    joined: Vec<Option<u32>>,
    neutral: Vec<Option<u32>>,
    salt: Option<u32>,
    tag: Option<u32>,
    forms: Memo,
    makers: Memo,
}

impl Ctx {
    fn new(index: &Index, q: &Query) -> Ctx {
        let w = &index.words;
        Ctx {
            joined: q.alts.iter().map(|a| w.id(&a.joined)).collect(),
            neutral: q.alts.iter().map(|a| w.id(&a.neutral)).collect(),
            salt: w.id(&q.salt),
            tag: w.id(&q.tag),
            forms: Memo::new(index.forms.list.len()),
            makers: Memo::new(index.makers.list.len()),
        }
    }
}

/// `v` sorted stably by `cmp` and cut to `top`, without sorting what is cut: the best `top` are
/// chosen first and then sorted, with the position as the last key, which is the order a
/// stable sort leaves. `cmp` must be a total order (scores here are never NaN).
fn best_sorted<T>(v: Vec<T>, top: usize, cmp: impl Fn(&T, &T) -> std::cmp::Ordering) -> Vec<T> {
    if top == 0 {
        return Vec::new();
    }
    let mut v: Vec<(usize, T)> = v.into_iter().enumerate().collect();
    let total = |a: &(usize, T), b: &(usize, T)| cmp(&a.1, &b.1).then(a.0.cmp(&b.0));
    if v.len() > top {
        v.select_nth_unstable_by(top - 1, total);
        v.truncate(top);
    }
    v.sort_unstable_by(total);
    v.into_iter().map(|(_, t)| t).collect()
}

/// Where evidence goes: a string when it is wanted, nowhere while the pool is scored.
struct Evidence<'a>(Option<&'a mut String>);

impl std::fmt::Write for Evidence<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        if let Some(out) = self.0.as_mut() {
            out.push_str(s);
        }
        Ok(())
    }

    fn write_fmt(&mut self, args: std::fmt::Arguments<'_>) -> std::fmt::Result {
        match self.0.as_mut() {
            Some(out) => out.write_fmt(args),
            None => Ok(()),
        }
    }
}

/// Field weights per family: name, form, spec, manufacturer, unit.
fn weights(family: Family) -> [f64; 5] {
    match family {
        Family::Drug => [0.5, 0.15, 0.2, 0.15, 0.0],
        Family::Consumable => [0.6, 0.0, 0.2, 0.2, 0.0],
        Family::Service => [0.85, 0.0, 0.0, 0.0, 0.15],
        Family::Diagnosis | Family::Procedure => [1.0, 0.0, 0.0, 0.0, 0.0],
    }
}

impl Index {
    /// The best `top` candidates for `q`, skipping national codes `skip` says no to (candidates
    /// already rejected for this local code).
    pub fn search(
        &self,
        q: &Query,
        top: usize,
        skip: &dyn Fn(&str) -> bool,
        scratch: &mut Scratch,
    ) -> Vec<Candidate> {
        // (entry, prior score, evidence) from exact identifiers and legacy ICD codes.
        let mut exact: Vec<(u32, f64, String)> = Vec::new();
        for id in &q.ids {
            if let Some(hits) = self.by_id.get(id) {
                let label = if id.starts_with("国药准字") || id.starts_with("国药") {
                    "批准文号"
                } else if id.starts_with("国械") || id.contains("械") {
                    "注册证号"
                } else {
                    "本位码"
                };
                for &h in hits {
                    exact.push((h, 0.95, format!("{label} exact")));
                }
            }
        }
        if let Some(icd) = &q.icd {
            if let Some(i) = self.entry_of(&icd.written) {
                exact.push((i, 0.95, format!("ICD code {} =", icd.written)));
            }
            if icd.padded != icd.written {
                if let Some(i) = self.entry_of(&icd.padded) {
                    exact.push((i, 0.92, format!("ICD {} → {}", icd.written, icd.padded)));
                }
            }
            // A dagger code's asterisk part (`+G01*`) must agree for the stem or category to
            // count for much: the pair is one diagnosis.
            let same_asterisk =
                |code: &str| !icd.asterisk.is_empty() && code.ends_with(icd.asterisk.as_str());
            let mut near: Vec<(u32, f64, String)> = Vec::new();
            for (code, i) in self.with_prefix(&icd.stem).iter().take(200) {
                let prior = if same_asterisk(code) { 0.7 } else { 0.6 };
                near.push((*i, prior, format!("ICD stem {}", icd.stem)));
            }
            for (code, i) in self
                .with_prefix(&format!("{}.", icd.category))
                .iter()
                .take(400)
            {
                if same_asterisk(code) {
                    near.push((
                        *i,
                        0.65,
                        format!("ICD category {} and {}", icd.category, icd.asterisk),
                    ));
                } else {
                    near.push((*i, 0.4, format!("ICD category {}", icd.category)));
                }
            }
            near.sort_by(|a, b| b.1.partial_cmp(&a.1).unwrap_or(std::cmp::Ordering::Equal));
            exact.extend(near);
        }
        // A local code that is itself a national code of the family, or a service item's
        // price-spec code: the national codes it names.
        if let Some(i) = q.national.as_deref().and_then(|c| self.entry_of(c)) {
            exact.push((i, 0.95, "national code =".to_string()));
        }
        if let Some(p) = &q.price_spec {
            for (_, i) in self.with_prefix(&format!("00{p}")).iter().take(100) {
                exact.push((*i, 0.9, format!("价格项目编码 {p}")));
            }
        }
        let shared_chars: Vec<(f64, u32, String)>;
        let pool = self.pool(q, scratch);
        let ctx = &mut Ctx::new(self, q);
        // (score, entry, why): evidence is written only for the candidates kept.
        let mut scored: Vec<(f64, u32, Option<&str>)> =
            Vec::with_capacity(pool.len() + exact.len());
        scratch.fresh(self.entries.len());
        for (i, prior, why) in &exact {
            if !scratch.first_time(*i) {
                continue;
            }
            let s = self.rescore(q, *i as usize, ctx, None);
            // Exact identifiers and codes make a candidate near-certain (0.9 and up); the fields
            // still order several. A stem or category of a legacy ICD code only lifts the floor.
            let score = if *prior >= 0.9 {
                prior + (1.0 - prior) * s
            } else {
                prior + (NAME_CAP - prior) * s
            };
            scored.push((score, *i, Some(why.as_str())));
        }
        // Under the floor, kept only for a local code that has nothing better: every local
        // code gets ranked candidates, and the score says how sure they are.
        let mut weak: Vec<(f64, u32, Option<&str>)> = Vec::new();
        for i in pool {
            if !scratch.first_time(i) {
                continue;
            }
            let score = self.rescore(q, i as usize, ctx, None) * NAME_CAP;
            if score >= FLOOR {
                scored.push((score, i, None));
            } else if score > 0.0 {
                weak.push((score, i, None));
            }
        }
        scored.retain(|(_, i, _)| !skip(&self.entries[*i as usize].code));
        if scored.is_empty() {
            weak.retain(|(_, i, _)| !skip(&self.entries[*i as usize].code));
            scored = weak;
        }
        if scored.is_empty() {
            shared_chars = self.by_characters(q, top, skip, ctx);
            scored = shared_chars
                .iter()
                .map(|(s, i, why)| (*s, *i, Some(why.as_str())))
                .collect();
        }
        let scored = best_sorted(scored, top, |a, b| {
            b.0.partial_cmp(&a.0)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| {
                    self.entries[a.1 as usize]
                        .code
                        .cmp(&self.entries[b.1 as usize].code)
                })
        });
        scored
            .into_iter()
            .map(|(score, i, why)| {
                let e = &self.entries[i as usize];
                let mut evidence = String::new();
                if let Some(why) = why {
                    evidence.push_str(why);
                    evidence.push_str("; ");
                }
                self.rescore(q, i as usize, ctx, Some(&mut evidence));
                Candidate {
                    code: e.code.clone(),
                    name: e.name.clone(),
                    score: (score * 1000.0).round() / 1000.0,
                    evidence,
                }
            })
            .collect()
    }

    /// The last resort for a name that shares no bigram with any national name (a brand name,
    /// a typo in every pair): the national names holding the most of its characters, ordered
    /// among the best 50 by the other fields too, scored low (at most 0.3), so the reviewer still
    /// has a ranked list and sees how unsure it is. A scan of the table, run only for such
    /// names. A name sharing no character at all with any national name has no candidate.
    fn by_characters(
        &self,
        q: &Query,
        top: usize,
        skip: &dyn Fn(&str) -> bool,
        ctx: &mut Ctx,
    ) -> Vec<(f64, u32, String)> {
        let mut chars: Vec<char> = q.chars.clone();
        chars.extend(q.alts.iter().flat_map(|a| a.joined.chars()));
        chars.sort_unstable();
        chars.dedup();
        if chars.is_empty() {
            return Vec::new();
        }
        let mut best: Vec<(f64, u32, usize)> = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            let shared = chars.iter().filter(|c| e.name.contains(**c)).count();
            if shared == 0 {
                continue;
            }
            let len = e.name.chars().count().max(1);
            let s = 2.0 * shared as f64 / (chars.len() + len) as f64;
            best.push((s, i as u32, shared));
        }
        best.sort_by(|a, b| {
            b.0.partial_cmp(&a.0)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.1.cmp(&b.1))
        });
        best.retain(|(_, i, _)| !skip(&self.entries[*i as usize].code));
        best.truncate(50);
        // Among those, the other fields (form, spec, maker) order them.
        let mut out: Vec<(f64, u32, String)> = best
            .into_iter()
            .map(|(s, i, n)| {
                let fields = self.rescore(q, i as usize, ctx, None);
                let why = format!("weak: {n} of {} characters shared", chars.len());
                (0.3 * (0.6 * s + 0.4 * fields), i, why)
            })
            .collect();
        out.sort_by(|a, b| {
            b.0.partial_cmp(&a.0)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.1.cmp(&b.1))
        });
        out.truncate(top);
        out
    }

    /// Entries worth re-scoring: the best by IDF-weighted cosine over stem bigrams. Bigrams in
    /// more than 1 of 20 entries are skipped when the name has rarer ones, so a common pair
    /// (`头孢`, `肿瘤`) does not touch a third of the table.
    fn pool(&self, q: &Query, scratch: &mut Scratch) -> Vec<u32> {
        let mut out = self.pool_of(&q.grams, scratch);
        if q.alts.len() > 1 {
            scratch.fresh(self.entries.len());
            for &i in &out {
                scratch.first_time(i);
            }
            for alt in &q.alts[1..] {
                if alt.grams == q.grams {
                    continue;
                }
                for i in self.pool_of(&alt.grams, scratch) {
                    if scratch.first_time(i) {
                        out.push(i);
                    }
                }
            }
        }
        out
    }

    /// [`Index::pool`] for one reading's bigrams.
    fn pool_of(&self, grams: &[u64], scratch: &mut Scratch) -> Vec<u32> {
        let n = self.entries.len();
        if scratch.acc.len() != n {
            scratch.acc = vec![0.0; n];
        }
        let cap = (n / 20).max(5000);
        let mut terms: Vec<(&Vec<u32>, f32)> = Vec::new();
        let mut qnorm = 0f32;
        for g in grams {
            match self.postings.get(g) {
                Some(ids) => {
                    let idf = self.idf(ids.len());
                    qnorm += idf * idf;
                    terms.push((ids, idf));
                }
                None => {
                    let idf = self.idf(1);
                    qnorm += idf * idf;
                }
            }
        }
        if terms.is_empty() {
            return Vec::new();
        }
        let has_rare = terms.iter().any(|(ids, _)| ids.len() <= cap);
        for (ids, idf) in &terms {
            if has_rare && ids.len() > cap {
                continue;
            }
            for &i in ids.iter() {
                let a = &mut scratch.acc[i as usize];
                if *a == 0.0 {
                    scratch.touched.push(i);
                }
                *a += idf * idf;
            }
        }
        let qnorm = qnorm.sqrt();
        let mut best = 0f32;
        let mut ranked: Vec<(f32, u32)> = scratch
            .touched
            .iter()
            .map(|&i| {
                let s = scratch.acc[i as usize] / (qnorm * self.norms[i as usize]).max(1e-6);
                best = best.max(s);
                (s, i)
            })
            .collect();
        for &i in &scratch.touched {
            scratch.acc[i as usize] = 0.0;
        }
        scratch.touched.clear();
        ranked.retain(|(s, _)| *s >= best * 0.5);
        ranked.sort_by(|a, b| {
            b.0.partial_cmp(&a.0)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then(a.1.cmp(&b.1))
        });
        ranked.truncate(POOL);
        ranked.into_iter().map(|(_, i)| i).collect()
    }

    /// Score one entry against the query on every field both have; with `evidence`, say how.
    fn rescore(&self, q: &Query, i: usize, ctx: &mut Ctx, evidence: Option<&mut String>) -> f64 {
        let e: &Entry = &self.entries[i];
        let w = weights(self.family);
        let mut sink = Evidence(evidence);
        let ev = &mut sink;
        // The best reading of the local name decides.
        let (mut name, mut alt) = (0.0, 0usize);
        let mut exact = false;
        // Strings compare by their numbers in `self.words` (equal numbers, equal strings).
        for (k, a) in q.alts.iter().enumerate() {
            let same = ctx.joined[k] == Some(self.joined_id[i]);
            let d = if same {
                1.0
            } else {
                dice(&a.grams, &self.grams[i])
            } * a.factor;
            if d > name {
                (name, alt, exact) = (d, k, same);
            }
        }
        // A homophone typo (`颈锥` for `颈椎`): the name as written, read by sound.
        let mut by_sound = false;
        // Only between names of one length that already share some bigrams: a typo replaces
        // a character, it adds none, and leaves the markers and the other bigrams.
        if !exact
            && (0.3..SOUND_FACTOR).contains(&name)
            && q.alts
                .first()
                .is_some_and(|a| a.joined.chars().count() == self.joined[i].chars().count())
        {
            let d = dice(&q.sound, self.sound_of(i)) * SOUND_FACTOR;
            if d > name {
                (name, alt, by_sound) = (d, 0, true);
            }
        }
        let reading = q.alts.get(alt);
        if by_sound {
            let _ = write!(ev, "name {name:.2} (by sound)");
        } else if exact {
            let _ = write!(ev, "name = (normalised)");
        } else {
            let _ = write!(ev, "name {name:.2} (bigram)");
        }
        if let Some(a) = reading.filter(|a| !a.why.is_empty()) {
            let _ = write!(ev, " via {}", a.why);
        }
        // Generic qualifiers (`其他`, `未特指`) do not find candidates but tell two apart.
        let q_neutral = reading.map_or("", |a| a.neutral.as_str());
        let q_neutral_id = if reading.is_some() {
            ctx.neutral[alt]
        } else {
            Some(EMPTY)
        };
        if q_neutral_id != Some(self.neutral_id[i]) {
            name *= match (q_neutral.is_empty(), e.neutral.as_str()) {
                (true, "未特指") => 0.995,
                (true, _) => 0.98,
                (false, "") => 0.98,
                _ => 0.96,
            };
            let show = |s: &str| {
                if s.is_empty() {
                    "—".to_string()
                } else {
                    s.to_string()
                }
            };
            let _ = write!(ev, "; qualifier {}≠{}", show(q_neutral), show(&e.neutral));
        }
        let (salt, tag) = (self.salt_id[i], self.tag_id[i]);
        if !q.salt.is_empty() && salt != EMPTY {
            if ctx.salt == Some(salt) {
                let _ = write!(ev, "; salt {} =", e.salt);
            } else {
                name *= 0.75;
                let _ = write!(ev, "; salt {}≠{}", q.salt, e.salt);
            }
        } else if ctx.salt != Some(salt) {
            name *= 0.97;
        }
        if tag != EMPTY && ctx.tag != Some(tag) {
            name *= if q.tag.is_empty() { 0.97 } else { 0.9 };
            let _ = write!(ev, "; tag {}≠{}", q.tag, e.tag);
        }
        let mut total = w[0] * name;
        let mut weight = w[0];
        let form = self.form_of[i];
        if w[1] > 0.0 && !q.form.is_empty() && form != EMPTY {
            let s = ctx.forms.get(form, || {
                form_similarity(&q.form, &self.forms.list[form as usize])
            });
            total += w[1] * s;
            weight += w[1];
            if s == 1.0 {
                let _ = write!(ev, "; form {} =", e.form);
            } else if s >= 0.9 {
                let _ = write!(ev, "; form {} ≈ {}", q.form, e.form);
            } else {
                let _ = write!(ev, "; form {}≠{}", q.form, e.form);
            }
        }
        if w[2] > 0.0 && (q.spec.is_empty() || e.spec.is_empty()) {
            // Specs without quantities (`直头、弯头；型号1`, `双腔`) compare as text; the
            // entry's text is folded only when the query has enough of its own.
            let eg = if q.spec_grams.len() > 2 {
                bigrams(&squash(&fold(&e.spec_text)))
            } else {
                Vec::new()
            };
            if q.spec_grams.len() > 2 && eg.len() > 2 {
                let s = dice(&q.spec_grams, &eg);
                total += w[2] * s;
                weight += w[2];
                let mark = if s == 1.0 {
                    "="
                } else if s >= 0.6 {
                    "≈"
                } else {
                    "≠"
                };
                let _ = write!(ev, "; spec {} {mark}", e.spec_text);
            }
        } else if w[2] > 0.0 {
            let s = spec_similarity(&q.spec, &e.spec);
            total += w[2] * s;
            weight += w[2];
            // Formatting the specs costs more than scoring them: only for evidence wanted.
            if ev.0.is_some() {
                let (a, b) = (q.spec.display(), e.spec.display());
                if s == 1.0 {
                    let _ = write!(ev, "; spec {b} =");
                } else if s > 0.0 {
                    let _ = write!(ev, "; spec {a} ≈ {b}");
                } else {
                    let _ = write!(ev, "; spec {a}≠{b}");
                }
            }
        }
        let maker = self.maker_of[i];
        if w[3] > 0.0 && !q.maker_core.is_empty() && maker != EMPTY {
            let s = ctx.makers.get(maker, || {
                maker_similarity_with(
                    &q.maker_core,
                    &q.maker_grams,
                    &self.makers.list[maker as usize],
                    &self.maker_grams[maker as usize],
                )
            });
            total += w[3] * s;
            weight += w[3];
            let mark = if s == 1.0 {
                "="
            } else if s >= 0.5 {
                "≈"
            } else {
                "≠"
            };
            let _ = write!(ev, "; maker {} {mark}", e.maker_core);
        }
        if w[4] > 0.0 && !q.unit.is_empty() && !e.unit.is_empty() {
            let s = if q.unit == e.unit { 1.0 } else { 0.0 };
            total += w[4] * s;
            weight += w[4];
            if s == 1.0 {
                let _ = write!(ev, "; unit {} =", e.unit);
            } else {
                let _ = write!(ev, "; unit {}≠{}", q.unit, e.unit);
            }
        }
        total / weight
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn legacy_icd_codes() {
        let d = |c| legacy_icd(Family::Diagnosis, c).map(|i| i.padded);
        assert_eq!(d("j18.9").as_deref(), Some("J18.900"));
        assert_eq!(d("J18.900").as_deref(), Some("J18.900"));
        assert_eq!(d("K35.8").as_deref(), Some("K35.800"));
        assert_eq!(d("I10").as_deref(), Some("I10.X00"));
        assert_eq!(d("A01.000x002").as_deref(), Some("A01.000X002"));
        assert_eq!(d("A9400091IJ00"), None);
        assert_eq!(d("L00001"), None);
        let a = legacy_icd(Family::Diagnosis, "A01.000x003+G01*").unwrap();
        assert_eq!((a.stem.as_str(), a.asterisk.as_str()), ("A01.000", "+G01*"));
        let p = |c| legacy_icd(Family::Procedure, c).map(|i| i.padded);
        assert_eq!(p("37.83").as_deref(), Some("37.8300"));
        assert_eq!(p("85.5300x001").as_deref(), Some("85.5300X001"));
    }

    fn local(name: &str) -> Local {
        Local {
            code: "L1".into(),
            name: name.into(),
            ..Default::default()
        }
    }

    #[test]
    fn finds_drugs_by_name_spec_and_identifier() {
        let rows = vec![
            ("X1".to_string(), "盐酸二甲双胍片".to_string(), Some(r#"{"剂型":"片剂","规格":"0.5g","最小包装数量":"48","药品企业":"石药集团欧意药业有限公司","批准文号":"国药准字H20067255"}"#.to_string())),
            ("X2".to_string(), "盐酸二甲双胍片".to_string(), Some(r#"{"剂型":"片剂","规格":"0.25g","最小包装数量":"48","药品企业":"华北制药股份有限公司"}"#.to_string())),
            ("X3".to_string(), "氯化钾注射液".to_string(), None),
            ("X4".to_string(), "氯化钠注射液".to_string(), None),
        ];
        let ix = Index::build(Family::Drug, &rows);
        let mut s = Scratch::default();
        let mut l = local("二甲双胍片剂");
        l.spec = Some("250mg*48片/盒".into());
        l.manufacturer = Some("华北制药".into());
        let c = ix.search(&Query::new(Family::Drug, &l), 5, &|_| false, &mut s);
        assert_eq!(c[0].code, "X2", "{c:?}");
        assert!(
            c[0].evidence.contains("spec 250mg×48 ="),
            "{}",
            c[0].evidence
        );
        l.approval_no = Some("国药准字 H20067255".into());
        let c = ix.search(&Query::new(Family::Drug, &l), 5, &|_| false, &mut s);
        assert_eq!(c[0].code, "X1");
        assert!(
            c[0].evidence.starts_with("批准文号 exact"),
            "{}",
            c[0].evidence
        );
        let c = ix.search(
            &Query::new(Family::Drug, &local("氯化钠注射液")),
            5,
            &|_| false,
            &mut s,
        );
        assert_eq!(c[0].code, "X4");
        assert!(c[1].evidence.contains("salt 钠≠钾"), "{}", c[1].evidence);
        let c = ix.search(
            &Query::new(Family::Drug, &local("氯化钠注射液")),
            5,
            &|c| c == "X4",
            &mut s,
        );
        assert_eq!(c[0].code, "X3");
    }

    #[test]
    fn finds_diagnoses_by_legacy_code() {
        let rows: Vec<_> = [
            ("J18.900", "肺炎"),
            ("J18.900x001", "社区获得性肺炎"),
            ("K35.800", "急性阑尾炎"),
        ]
        .iter()
        .map(|(c, n)| (c.to_string(), n.to_string(), None))
        .collect();
        let ix = Index::build(Family::Diagnosis, &rows);
        let mut l = local("肺部感染");
        l.code = "j18.9".into();
        let c = ix.search(
            &Query::new(Family::Diagnosis, &l),
            5,
            &|_| false,
            &mut Scratch::default(),
        );
        assert_eq!(c[0].code, "J18.900", "{c:?}");
        assert!(c[0].evidence.starts_with("ICD J18.9 → J18.900"));
    }
}
