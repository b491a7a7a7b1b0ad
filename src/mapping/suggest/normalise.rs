//! How legacy names, specs and manufacturers are brought to one form before they are compared:
//! legacy catalogs write the same drug as `盐酸二甲双胍片 0.5g*48片`, `二甲双胍片剂（0.5g）` or
//! `ＤＤ二甲双胍片`, and the national table as `盐酸二甲双胍片` with `0.5g` and `48`.

/// Fold what a keyboard, an old system or a clinical coder changes without changing meaning,
/// the one fold `map suggest` and the code book's name check share:
///
/// - NFKC (`unicode-normalization`): full-width ASCII (`０`, `Ｇ`, `：`), the ideographic space,
///   circled and parenthesised numerals (`②`, `⑵`), Roman-numeral characters (`Ⅱ` → `II`),
///   compatibility units (`㎎`);
/// - traditional → simplified characters (zhconv's OpenCC tables, Apache-2.0): `頸椎` → `颈椎`;
/// - Roman numerals written as letters (`II型`, `IV期`) and Chinese numerals before `型`, `期`,
///   `度`, `级` (`二型`) become Arabic digits; `°` after a digit becomes `度` (`Ⅲ°烧伤`);
/// - Chinese brackets to `(` `)`, `μ`/`µ` to `u`, `×`/`＊` to `*`, `、` to `,`, lower case.
pub fn fold(s: &str) -> String {
    use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};
    let nfkc: String = if s.is_ascii() {
        s.to_string()
    } else {
        // Most names are already in NFKC, and the quick check says so without normalising.
        let n: String = if is_nfkc_quick(s.chars()) == IsNormalized::Yes {
            s.to_string()
        } else {
            s.nfkc().collect()
        };
        if n.chars().any(|c| ('\u{3400}'..='\u{9FFF}').contains(&c)) {
            zhconv::zhconv(&n, zhconv::Variant::ZhHans)
        } else {
            n
        }
    };
    // `numerals` changes nothing in a name without a numeral or a degree sign.
    let numbered = if nfkc
        .chars()
        .any(|c| roman_letter(c) || chinese_digit(c).is_some() || c == '°')
    {
        numerals(&nfkc)
    } else {
        nfkc
    };
    let mut out = String::with_capacity(numbered.len());
    for c in numbered.chars() {
        let c = match c {
            '\u{3000}' | '\u{00A0}' => ' ',
            '【' | '〔' | '〈' | '《' | '[' | '{' => '(',
            '】' | '〕' | '〉' | '》' | ']' | '}' => ')',
            'μ' | 'µ' => 'u',
            '×' | '╳' => '*',
            '、' => ',',
            '—' | '–' | '－' => '-',
            _ => c,
        };
        out.extend(c.to_lowercase());
    }
    out
}

/// Words a numeral stands before when it numbers a type, stage or degree: `型期度级类组段`.
fn numbered_word(c: char) -> bool {
    matches!(c, '型' | '期' | '度' | '级' | '类' | '组' | '段')
}

/// The letters of a Roman numeral written in letters, either case.
fn roman_letter(c: char) -> bool {
    matches!(c, 'I' | 'V' | 'X' | 'i' | 'v' | 'x')
}

/// The value of `一` … `九`.
fn chinese_digit(c: char) -> Option<usize> {
    Some(match c {
        '一' => 1,
        '二' => 2,
        '三' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

/// The value of a Roman numeral written in letters (`II`, `iv`), 1..=39, if it is one.
fn roman(s: &str) -> Option<u32> {
    let mut total = 0u32;
    let mut prev = 0u32;
    for c in s.chars().rev() {
        let v = match c.to_ascii_uppercase() {
            'I' => 1,
            'V' => 5,
            'X' => 10,
            _ => return None,
        };
        if v < prev {
            total = total.checked_sub(v)?;
        } else {
            total += v;
            prev = v;
        }
    }
    // Only the canonical spelling: `IIII` and `VX` are not numerals.
    const CANON: [&str; 10] = ["", "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX"];
    let canon = format!(
        "{}{}",
        "X".repeat((total / 10) as usize),
        CANON[(total % 10) as usize]
    );
    (total > 0 && total < 40 && canon.eq_ignore_ascii_case(s)).then_some(total)
}

/// Roman and Chinese numerals that number a type, stage or degree, as Arabic digits: `II型` →
/// `2型`, `IV期` → `4期`, `二型` → `2型`, `3°` → `3度`. A Roman numeral stands alone between
/// non-letters; a single `I`, `V` or `X` only before a numbered word (`X线` stays).
fn numerals(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let before_letter = i > 0 && chars[i - 1].is_ascii_alphanumeric();
        if !before_letter && roman_letter(c) {
            let mut j = i;
            while j < chars.len() && roman_letter(chars[j]) {
                j += 1;
            }
            let next = chars.get(j).copied();
            let word: String = chars[i..j].iter().collect();
            let bounded = !next.is_some_and(|n| n.is_ascii_alphanumeric());
            let numbered = next.is_some_and(numbered_word);
            let upper = word.chars().all(|c| c.is_ascii_uppercase());
            if bounded && (numbered || (j - i >= 2 && upper)) {
                if let Some(v) = roman(&word) {
                    out.push_str(&v.to_string());
                    i = j;
                    continue;
                }
            }
            out.push_str(&word);
            i = j;
            continue;
        }
        if let Some(d) = chinese_digit(c) {
            let next = chars.get(i + 1).copied();
            let prev = i.checked_sub(1).map(|p| chars[p]);
            if next.is_some_and(numbered_word)
                && !prev.is_some_and(|p| {
                    chinese_digit(p).is_some() || matches!(p, '十' | '单' | '唯' | '统' | '同')
                })
            {
                out.push_str(&d.to_string());
                i += 1;
                continue;
            }
        }
        if c == '°' && out.ends_with(|p: char| p.is_ascii_digit()) {
            out.push('度');
            i += 1;
            continue;
        }
        out.push(c);
        i += 1;
    }
    out
}

/// The characters that carry a name's meaning: letters, digits and CJK, with brackets, spaces
/// and punctuation dropped. A bracket's content stays, as part of the name.
pub fn squash(folded: &str) -> String {
    folded.chars().filter(|c| c.is_alphanumeric()).collect()
}

/// Salts written before a drug's base name (`盐酸二甲双胍`), longest first.
const SALT_PREFIXES: &[&str] = &[
    "对甲苯磺酸",
    "门冬氨酸",
    "葡萄糖酸",
    "马来酸",
    "枸橼酸",
    "甲磺酸",
    "苯磺酸",
    "酒石酸",
    "富马酸",
    "琥珀酸",
    "氢溴酸",
    "苯甲酸",
    "盐酸",
    "硫酸",
    "磷酸",
    "醋酸",
    "乳酸",
    "硝酸",
    "草酸",
];

/// Salts written after it (`头孢曲松钠`, `阿托伐他汀钙`).
const SALT_SUFFIXES: &[&str] = &["钠", "钾", "钙", "镁", "锌"];

/// Dosage-form words at the end of a drug name, longest first, with the form they mean.
const FORMS: &[(&str, &str)] = &[
    ("口服溶液剂", "口服溶液"),
    ("吸入混悬液", "吸入混悬液"),
    ("薄膜衣片", "薄膜衣片"),
    ("肠溶胶囊", "肠溶胶囊"),
    ("缓释胶囊", "缓释胶囊"),
    ("注射液剂", "注射液"),
    ("小容量注射剂", "注射液"),
    ("口服溶液", "口服溶液"),
    ("胶囊剂", "胶囊"),
    ("颗粒剂", "颗粒"),
    ("注射剂", "注射"),
    ("注射液", "注射液"),
    ("缓释片", "缓释片"),
    ("控释片", "控释片"),
    ("肠溶片", "肠溶片"),
    ("分散片", "分散片"),
    ("泡腾片", "泡腾片"),
    ("咀嚼片", "咀嚼片"),
    ("口崩片", "口崩片"),
    ("软胶囊", "软胶囊"),
    ("口服液", "口服溶液"),
    ("滴眼液", "滴眼液"),
    ("滴眼剂", "滴眼液"),
    ("滴耳液", "滴耳液"),
    ("混悬液", "混悬液"),
    ("气雾剂", "气雾剂"),
    ("喷雾剂", "喷雾剂"),
    ("软膏剂", "软膏"),
    ("乳膏剂", "乳膏"),
    ("栓剂", "栓"),
    ("丸剂", "丸"),
    ("散剂", "散"),
    ("片剂", "片"),
    ("胶囊", "胶囊"),
    ("颗粒", "颗粒"),
    ("含片", "含片"),
    ("滴丸", "滴丸"),
    ("糖浆", "糖浆"),
    ("软膏", "软膏"),
    ("乳膏", "乳膏"),
    ("凝胶", "凝胶"),
    ("贴剂", "贴剂"),
    ("贴膏", "贴膏"),
    ("合剂", "合剂"),
    ("溶液", "溶液"),
    ("片", "片"),
    ("丸", "丸"),
    ("栓", "栓"),
    ("散", "散"),
    ("酊", "酊"),
];

/// The canonical form a 剂型 column value means (`片剂` → `片`, `注射剂` → `注射液`), or the
/// squashed value itself.
pub fn canonical_form(value: &str) -> String {
    let s = squash(&fold(value));
    if s.starts_with("注射用") || s.contains("粉针") || s.contains("冻干粉") {
        return "注射用".into();
    }
    for (word, form) in FORMS {
        if s == *word {
            return (*form).into();
        }
    }
    for (word, form) in FORMS {
        if s.ends_with(word) {
            return (*form).into();
        }
    }
    s
}

/// How close two canonical forms are: 1 equal, 0.9 when one is the broad `注射` (注射剂 covers
/// solutions and powders) and the other an injection, 0.6 the same kind (two tablets), else 0.
pub fn form_similarity(a: &str, b: &str) -> f64 {
    if a == b {
        return 1.0;
    }
    // The broad 注射剂 covers solutions and powders; a solution is the likelier of the two.
    if (a == "注射" && b == "注射液") || (b == "注射" && a == "注射液") {
        return 0.92;
    }
    if (a == "注射" && b.contains("注射")) || (b == "注射" && a.contains("注射")) {
        return 0.9;
    }
    let kind = |f: &str| {
        ["片", "胶囊", "注射", "颗粒", "溶液", "丸", "膏", "液"]
            .iter()
            .position(|k| f.contains(k))
    };
    match (kind(a), kind(b)) {
        (Some(x), Some(y)) if x == y => 0.6,
        _ => 0.0,
    }
}

/// A name taken apart: what is left to compare by characters, and the parts compared apart.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NameParts {
    /// Squashed name without salt, form and any spec written into it.
    pub stem: String,
    /// The salt, if the name carries one.
    pub salt: Option<String>,
    /// The canonical dosage form the name ends with.
    pub form: Option<String>,
    /// A spec written into the name (`阿莫西林胶囊0.25g*24粒`).
    pub spec: Option<String>,
    /// A bracketed addition at the end of a drug name (`(基药)`, `（进口）`), kept as a token of
    /// its own so it neither hides the form nor dilutes the name.
    pub tag: Option<String>,
    /// A generic qualifier taken out of a diagnosis or procedure name (`其他的`, `未特指`):
    /// neutral for finding candidates, a small difference between two that otherwise agree.
    pub neutral: Option<String>,
}

/// What separates a name's qualifier segments (`肺炎，细菌性`, `…视网膜病-2型`, `(待查)`),
/// after [`fold`]. Inside a stem the segments are joined by [`SEG`].
const SEGMENT_BREAKS: &[char] = &[',', ';', '-', '(', ')', ':', '/', '，', '；', '：', '。'];

/// Joins the segments of a non-drug stem: [`bigrams`] do not cross it, so a qualifier moved
/// after a comma keeps its bigrams.
pub const SEG: char = '|';

/// Generic qualifiers that say only "other" or "unspecified" (ICD's NOS and NEC): a whole
/// segment, or the start of one.
const NEUTRAL_SEGMENTS: &[&str] = &[
    "其他的不可归类在他处者",
    "其他不可归类在他处者",
    "不可归类在他处者",
    "其他和未特指的",
    "其他特指的",
    "未特指的",
    "未特指",
    "其他的",
    "其他",
];
const NEUTRAL_PREFIXES: &[&str] = &["未特指的", "未特指", "其他的"];

/// A non-drug name's segments, squashed, with generic qualifiers taken out (and returned).
pub fn segments(folded: &str) -> (Vec<String>, Option<String>) {
    let mut neutral: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for piece in folded.split(SEGMENT_BREAKS) {
        let mut seg = squash(piece);
        if seg.is_empty() {
            continue;
        }
        if let Some(n) = NEUTRAL_SEGMENTS.iter().find(|n| seg == **n) {
            neutral.push(n);
            continue;
        }
        if let Some(n) = NEUTRAL_PREFIXES
            .iter()
            .find(|n| seg.starts_with(**n) && seg.chars().count() >= n.chars().count() + 2)
        {
            neutral.push(n);
            seg = seg[n.len()..].to_string();
        }
        out.push(seg);
    }
    if out.is_empty() {
        // A name that is nothing but a qualifier keeps it.
        return (vec![squash(folded)], None);
    }
    let neutral = (!neutral.is_empty()).then(|| {
        neutral
            .iter()
            .map(|n| n.trim_end_matches('的'))
            .collect::<Vec<_>>()
            .join("+")
    });
    (out, neutral)
}

/// Take a name apart. Salt and form are split off drug names only: in a diagnosis `钠` or `片`
/// are just characters.
pub fn name_parts(name: &str, drug: bool) -> NameParts {
    let folded = fold(name);
    let (base, spec) = split_spec(&folded);
    let mut parts = NameParts {
        spec,
        ..Default::default()
    };
    if !drug {
        let (segs, neutral) = segments(base);
        parts.stem = segs.join(&SEG.to_string());
        parts.neutral = neutral;
        return parts;
    }
    let mut base = base.trim_end();
    if let Some(open) = base.rfind('(').filter(|_| base.ends_with(')')) {
        if open > 0 {
            let tag = squash(&base[open..]);
            if !tag.is_empty() {
                parts.tag = Some(tag);
            }
            base = &base[..open];
        }
    }
    let mut s = squash(base);
    if let Some(rest) = s.strip_prefix("注射用") {
        parts.form = Some("注射用".into());
        s = rest.to_string();
    } else {
        for (word, form) in FORMS {
            if s.chars().count() > word.chars().count() && s.ends_with(word) {
                parts.form = Some((*form).into());
                s.truncate(s.len() - word.len());
                break;
            }
        }
    }
    for salt in SALT_PREFIXES {
        if s.chars().count() >= salt.chars().count() + 2 && s.starts_with(salt) {
            parts.salt = Some((*salt).into());
            s = s[salt.len()..].to_string();
            break;
        }
    }
    if parts.salt.is_none() {
        for salt in SALT_SUFFIXES {
            if s.chars().count() >= 3 && s.ends_with(salt) {
                parts.salt = Some((*salt).into());
                s.truncate(s.len() - salt.len());
                break;
            }
        }
    }
    parts.stem = s;
    parts
}

/// Characters a spec written after a name may contain.
fn spec_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || " .*/:%+-~()".contains(c)
        || "片粒支袋瓶盒丸贴枚万单位国际毫克升微".contains(c)
}

/// Split `阿莫西林胶囊0.25g*24粒` into the name and the spec written after it.
fn split_spec(folded: &str) -> (&str, Option<String>) {
    for (i, c) in folded.char_indices() {
        if i > 0 && c.is_ascii_digit() {
            let tail = &folded[i..];
            if tail.chars().all(spec_char) && !parse_spec(tail).quantities.is_empty() {
                let head = folded[..i].trim_end_matches([' ', '(']);
                if !head.is_empty() {
                    return (head, Some(tail.trim().to_string()));
                }
            }
        }
    }
    (folded, None)
}

/// What a quantity measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Dim {
    /// Mass, in mg.
    Mass,
    /// Volume, in ml.
    Volume,
    /// Units (IU, 单位), in U.
    Units,
    /// A percentage.
    Percent,
    /// Length, in mm.
    Length,
}

impl Dim {
    fn code(self) -> u8 {
        self as u8
    }

    fn from_code(c: u8) -> Option<Dim> {
        Some(match c {
            0 => Dim::Mass,
            1 => Dim::Volume,
            2 => Dim::Units,
            3 => Dim::Percent,
            4 => Dim::Length,
            _ => return None,
        })
    }

    fn unit(self) -> &'static str {
        match self {
            Dim::Mass => "mg",
            Dim::Volume => "ml",
            Dim::Units => "U",
            Dim::Percent => "%",
            Dim::Length => "mm",
        }
    }
}

/// Units a spec may use, longest first: (written, dimension, factor to the base unit).
const UNITS: &[(&str, Dim, f64)] = &[
    ("万单位", Dim::Units, 10_000.0),
    ("国际单位", Dim::Units, 1.0),
    ("万iu", Dim::Units, 10_000.0),
    ("万u", Dim::Units, 10_000.0),
    ("单位", Dim::Units, 1.0),
    ("毫克", Dim::Mass, 1.0),
    ("微克", Dim::Mass, 0.001),
    ("毫升", Dim::Volume, 1.0),
    ("mcg", Dim::Mass, 0.001),
    ("iu", Dim::Units, 1.0),
    ("mg", Dim::Mass, 1.0),
    ("ug", Dim::Mass, 0.001),
    ("kg", Dim::Mass, 1_000_000.0),
    ("ml", Dim::Volume, 1.0),
    ("mm", Dim::Length, 1.0),
    ("cm", Dim::Length, 10.0),
    ("克", Dim::Mass, 1000.0),
    ("升", Dim::Volume, 1000.0),
    ("g", Dim::Mass, 1000.0),
    ("l", Dim::Volume, 1000.0),
    ("u", Dim::Units, 1.0),
    ("%", Dim::Percent, 1.0),
];

/// Words that count pieces in a pack.
const COUNT_WORDS: &str = "片粒支袋瓶盒丸贴枚只个包";

/// A spec in canonical form: its quantities in base units and the pieces per pack.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Spec {
    /// (value × 1000 in the base unit, rounded; dimension), in the order written.
    pub quantities: Vec<(u64, Dim)>,
    /// Pieces per pack (`*24片`).
    pub count: Option<u32>,
}

impl Spec {
    /// True when nothing was understood.
    pub fn is_empty(&self) -> bool {
        self.quantities.is_empty() && self.count.is_none()
    }

    /// Shown in evidence: `250mg×24`, `2ml+1mg×5`.
    pub fn display(&self) -> String {
        let mut s = self
            .quantities
            .iter()
            .map(|(v, d)| format!("{}{}", trim_num(*v as f64 / 1000.0), d.unit()))
            .collect::<Vec<_>>()
            .join("+");
        if let Some(n) = self.count {
            s.push_str(&format!("×{n}"));
        }
        s
    }

    /// Compact bytes for the index.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.push(self.quantities.len() as u8);
        for (v, d) in &self.quantities {
            out.extend_from_slice(&v.to_le_bytes());
            out.push(d.code());
        }
        out.extend_from_slice(&self.count.unwrap_or(0).to_le_bytes());
    }

    /// Read what [`Spec::encode`] wrote; `None` on truncated bytes.
    pub fn decode(bytes: &[u8], at: &mut usize) -> Option<Spec> {
        let n = *bytes.get(*at)? as usize;
        *at += 1;
        let mut quantities = Vec::with_capacity(n);
        for _ in 0..n {
            let v = u64::from_le_bytes(bytes.get(*at..*at + 8)?.try_into().ok()?);
            let d = Dim::from_code(*bytes.get(*at + 8)?)?;
            *at += 9;
            quantities.push((v, d));
        }
        let c = u32::from_le_bytes(bytes.get(*at..*at + 4)?.try_into().ok()?);
        *at += 4;
        Some(Spec {
            quantities,
            count: (c > 0).then_some(c),
        })
    }
}

fn trim_num(v: f64) -> String {
    let s = format!("{v:.3}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Parse a spec as catalogs write it: `0.25g*24片/盒`, `250mg`, `0.25 g x 24`, `2ml:1mg*5支`,
/// `3ml:300单位`, `8cm*10cm`. Masses become mg, volumes ml, units U (万单位 × 10,000).
pub fn parse_spec(spec: &str) -> Spec {
    let s = fold(spec);
    let chars: Vec<char> = s.chars().collect();
    let mut out = Spec::default();
    let mut i = 0;
    let mut after_separator = false;
    while i < chars.len() {
        let c = chars[i];
        if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let num: String = chars[start..i].iter().collect();
            let Ok(value) = num.trim_end_matches('.').parse::<f64>() else {
                continue;
            };
            let mut j = i;
            while j < chars.len() && chars[j] == ' ' {
                j += 1;
            }
            let rest: String = chars[j..chars.len().min(j + 4)].iter().collect();
            let unit = UNITS.iter().find(|(u, _, _)| {
                rest.starts_with(u)
                    // `g`, `l`, `u` alone only when no other letter follows (`gtt`, `ug`).
                    && !(u.len() == 1
                        && rest[u.len()..]
                            .chars()
                            .next()
                            .is_some_and(|n| n.is_ascii_alphabetic()))
            });
            if let Some((u, dim, factor)) = unit {
                out.quantities
                    .push(((value * factor * 1000.0).round() as u64, *dim));
                i = j + u.chars().count();
            } else if after_separator
                || chars.get(j).is_some_and(|n| COUNT_WORDS.contains(*n))
                || (j >= chars.len() && !out.quantities.is_empty())
            {
                if value.fract() == 0.0 && value > 0.0 {
                    out.count = Some(value as u32);
                }
                i = j;
            }
            after_separator = false;
        } else {
            if matches!(c, '*' | 'x' | '/') {
                after_separator = true;
            } else if c != ' ' {
                after_separator = false;
            }
            i += 1;
        }
    }
    out
}

/// How close two specs are: 1 when every quantity and the count agree; partial credit for the
/// quantities shared; 0 when they contradict.
pub fn spec_similarity(a: &Spec, b: &Spec) -> f64 {
    if a.quantities.is_empty() || b.quantities.is_empty() {
        return match (a.count, b.count) {
            (Some(x), Some(y)) if x == y => 1.0,
            (Some(_), Some(_)) => 0.3,
            _ => 0.5,
        };
    }
    let shared = a
        .quantities
        .iter()
        .filter(|q| b.quantities.contains(q))
        .count();
    let q = shared as f64 / a.quantities.len().max(b.quantities.len()) as f64;
    let count = match (a.count, b.count) {
        (Some(x), Some(y)) if x != y => 0.8,
        _ => 1.0,
    };
    q * count
}

/// Words a manufacturer's name carries that say nothing about which one it is.
const MAKER_NOISE: &[&str] = &[
    "股份有限公司",
    "有限责任公司",
    "有限公司",
    "责任公司",
    "公司",
    "股份",
    "集团",
    "制药厂",
    "制药",
    "药业",
    "药厂",
    "医药",
    "生物",
    "科技",
    "工业",
    "实业",
    "医疗器械",
    "医疗用品",
    "医疗",
    "器械",
    "总厂",
    "厂",
];

/// The distinctive core of a manufacturer's name: `华北制药股份有限公司` and `华北制药` both
/// give `华北`. Bracketed parts and company words are removed; a place in front is kept
/// (`江苏示例` and `河南示例` are different makers), so `示例` ⊂ `江苏示例` scores as containment.
pub fn maker_core(name: &str) -> String {
    let folded = fold(name);
    let mut s = String::new();
    let mut depth = 0;
    for c in folded.chars() {
        match c {
            '(' => depth += 1,
            ')' => depth = (depth - 1).max(0),
            _ if depth == 0 && c.is_alphanumeric() => s.push(c),
            _ => {}
        }
    }
    // One searcher per word, made once: `str::find` would set one up for every word of every
    // name. Both find the first occurrence.
    static NOISE: std::sync::OnceLock<Vec<memchr::memmem::Finder<'static>>> =
        std::sync::OnceLock::new();
    let noise = NOISE.get_or_init(|| {
        MAKER_NOISE
            .iter()
            .map(|w| memchr::memmem::Finder::new(w.as_bytes()))
            .collect()
    });
    loop {
        let before = s.len();
        for word in noise {
            if let Some(i) = word.find(s.as_bytes()) {
                if i > 0 {
                    s.replace_range(i..i + word.needle().len(), "");
                }
            }
        }
        if s.len() == before {
            break;
        }
    }
    s
}

/// The characters of a string as bigram keys, with start and end markers so one-character
/// names have keys and the first and last characters weigh a little more (drug stems).
pub fn bigrams(s: &str) -> Vec<u64> {
    let mut chars = vec!['^'];
    chars.extend(s.chars());
    chars.push('$');
    let mut out: Vec<u64> = chars
        .windows(2)
        .map(|w| ((w[0] as u64) << 32) | w[1] as u64)
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// The bigram keys of a segmented stem (`细菌性|肺炎`): bigrams within each segment and none
/// across a segment break, so a qualifier moved after a comma keeps its bigrams; one start and
/// one end marker for the whole name (not per segment), which still tell `脑穿刺术` from
/// `小脑穿刺术`. A one-character segment gives a key of its own.
pub fn segment_bigrams(stem: &str) -> Vec<u64> {
    let mut out = Vec::new();
    let joined: Vec<char> = stem.chars().filter(|c| *c != SEG).collect();
    if let (Some(f), Some(l)) = (joined.first(), joined.last()) {
        out.push((('^' as u64) << 32) | *f as u64);
        out.push(((*l as u64) << 32) | '$' as u64);
    }
    for seg in stem.split(SEG) {
        let chars: Vec<char> = seg.chars().collect();
        match chars.len() {
            0 => {}
            1 => out.push(((chars[0] as u64) << 32) | '$' as u64),
            _ => out.extend(
                chars
                    .windows(2)
                    .map(|w| ((w[0] as u64) << 32) | w[1] as u64),
            ),
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// A character's sounds: its toneless pinyin readings (`椎` is `zhui` and `chui`, `锥` is
/// `zhui`), or the character itself when it has none (Latin letters, digits).
fn sounds(c: char) -> Vec<u32> {
    use pinyin::ToPinyinMulti;
    let hash = |s: &str| {
        // FNV-1a of the syllable, in the upper half of u32 so it never equals a character.
        let mut h: u32 = 0x811c_9dc5;
        for b in s.bytes() {
            h = (h ^ b as u32).wrapping_mul(0x0100_0193);
        }
        h | 0x8000_0000
    };
    match c.to_pinyin_multi() {
        Some(multi) => {
            let mut out: Vec<u32> = multi.into_iter().map(|p| hash(p.plain())).collect();
            out.sort_unstable();
            out.dedup();
            out.truncate(3);
            out
        }
        None => vec![c as u32],
    }
}

/// The bigram keys of a stem read by sound, laid out as [`stem_grams`]: a homophone typo from a
/// pinyin keyboard (`颈锥病`) shares its keys with the name it stands for (`颈椎病`). A
/// character with several readings gives a key for each.
pub fn sound_grams(stem: &str, drug: bool) -> Vec<u64> {
    let mut out = Vec::new();
    let mut pairs = |keys: &[Vec<u32>]| {
        for w in keys.windows(2) {
            for a in &w[0] {
                for b in &w[1] {
                    out.push(((*a as u64) << 32) | *b as u64);
                }
            }
        }
    };
    if drug {
        let mut keys = vec![vec!['^' as u32]];
        keys.extend(stem.chars().map(sounds));
        keys.push(vec!['$' as u32]);
        pairs(&keys);
    } else {
        let joined: Vec<char> = stem.chars().filter(|c| *c != SEG).collect();
        if let (Some(f), Some(l)) = (joined.first(), joined.last()) {
            pairs(&[vec!['^' as u32], sounds(*f)]);
            pairs(&[sounds(*l), vec!['$' as u32]]);
        }
        for seg in stem.split(SEG) {
            let keys: Vec<Vec<u32>> = seg.chars().map(sounds).collect();
            if keys.len() == 1 {
                pairs(&[keys[0].clone(), vec!['$' as u32]]);
            } else {
                pairs(&keys);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The bigram keys of a stem of `family`'s kind: drugs [`bigrams`], the rest
/// [`segment_bigrams`].
pub fn stem_grams(stem: &str, drug: bool) -> Vec<u64> {
    if drug {
        bigrams(stem)
    } else {
        segment_bigrams(stem)
    }
}

/// Dice coefficient of two sorted, deduplicated bigram lists.
pub fn dice(a: &[u64], b: &[u64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    let (mut i, mut j, mut shared) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                shared += 1;
                i += 1;
                j += 1;
            }
        }
    }
    2.0 * shared as f64 / (a.len() + b.len()) as f64
}

/// How close two manufacturer cores are: 1 equal, 0.9 when one holds the other, else Dice.
pub fn maker_similarity(a: &str, b: &str) -> f64 {
    maker_similarity_with(a, &bigrams(a), b, &bigrams(b))
}

/// [`maker_similarity`] given each core's [`bigrams`], for a core compared many times.
pub fn maker_similarity_with(a: &str, a_grams: &[u64], b: &str, b_grams: &[u64]) -> f64 {
    if a.is_empty() || b.is_empty() {
        return 0.0;
    }
    // A longer string is never held by a shorter one: the length test spares the search.
    if a == b {
        1.0
    } else if (a.len() > b.len() && a.contains(b)) || (b.len() > a.len() && b.contains(a)) {
        0.9
    } else {
        dice(a_grams, b_grams)
    }
}

/// An identifier as compared: folded, without spaces or punctuation, upper case
/// (`国药准字 h20067255` → `国药准字H20067255`).
pub fn identifier(s: &str) -> String {
    squash(&fold(s)).to_uppercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`fold`] as it was before its shortcuts (the NFKC quick check, numerals skipped in a
    /// name without any): every string through the full normalisation and `numerals`.
    fn fold_in_full(s: &str) -> String {
        use unicode_normalization::UnicodeNormalization;
        let nfkc: String = if s.is_ascii() {
            s.to_string()
        } else {
            let n: String = s.nfkc().collect();
            if n.chars().any(|c| ('\u{3400}'..='\u{9FFF}').contains(&c)) {
                zhconv::zhconv(&n, zhconv::Variant::ZhHans)
            } else {
                n
            }
        };
        let numbered = numerals(&nfkc);
        let mut out = String::new();
        for c in numbered.chars() {
            let c = match c {
                '\u{3000}' | '\u{00A0}' => ' ',
                '【' | '〔' | '〈' | '《' | '[' | '{' => '(',
                '】' | '〕' | '〉' | '》' | ']' | '}' => ')',
                'μ' | 'µ' => 'u',
                '×' | '╳' => '*',
                '、' => ',',
                '—' | '–' | '－' => '-',
                _ => c,
            };
            out.extend(c.to_lowercase());
        }
        out
    }

    #[test]
    fn fold_shortcuts_change_nothing() {
        // Every character of the basic plane, alone and where a numeral would be read.
        for c in (0u32..0x1_0000).filter_map(char::from_u32) {
            for s in [
                c.to_string(),
                format!("{c}型"),
                format!("二{c}"),
                format!("乙{c}\u{301}期"),
            ] {
                assert_eq!(fold(&s), fold_in_full(&s), "{s:?}");
            }
        }
        // The names, specs and makers of a drug table, and the same with full-width forms.
        for (_, name, attrs) in crate::mapping::suggest::eval::synthetic_drugs(3000) {
            for s in std::iter::once(name).chain(attrs.into_iter().map(|(_, v)| v)) {
                let wide: String = s
                    .chars()
                    .map(|c| match c {
                        '!'..='~' => char::from_u32(c as u32 + 0xFEE0).unwrap_or(c),
                        _ => c,
                    })
                    .collect();
                assert_eq!(fold(&s), fold_in_full(&s), "{s:?}");
                assert_eq!(fold(&wide), fold_in_full(&wide), "{wide:?}");
            }
        }
    }

    /// [`maker_core`] as it was before its searchers were made once: `str::find` per word.
    fn maker_core_in_full(name: &str) -> String {
        let folded = fold(name);
        let mut s = String::new();
        let mut depth = 0;
        for c in folded.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth = (depth - 1).max(0),
                _ if depth == 0 && c.is_alphanumeric() => s.push(c),
                _ => {}
            }
        }
        loop {
            let before = s.len();
            for word in MAKER_NOISE {
                if let Some(i) = s.find(word) {
                    if i > 0 {
                        s = format!("{}{}", &s[..i], &s[i + word.len()..]);
                    }
                }
            }
            if s.len() == before {
                break;
            }
        }
        s
    }

    #[test]
    fn maker_core_searchers_change_nothing() {
        let rows = crate::mapping::suggest::eval::synthetic_drugs(3000);
        let makers = rows
            .iter()
            .flat_map(|r| r.2.iter().map(|(_, v)| v.as_str()));
        let odd = [
            "华北制药股份有限公司(原华北制药厂)制药厂",
            "制药厂药业",
            "公司公司有限公司",
            "厂",
            "国药集团工业有限公司廊坊分公司",
            "上海医药集团股份有限公司华氏制药厂",
            "",
        ];
        for m in makers.chain(odd) {
            assert_eq!(maker_core(m), maker_core_in_full(m), "{m:?}");
        }
    }

    #[test]
    fn i19_1_nfkc_folds_width_circled_numerals_and_units() {
        assert_eq!(fold("ＡＢ１２"), "ab12");
        assert_eq!(fold("②号"), "2号");
        assert_eq!(fold("⑵"), "(2)");
        assert_eq!(fold("５㎎"), "5mg");
        assert_eq!(fold("肺炎，细菌性"), "肺炎,细菌性");
    }

    #[test]
    fn i19_1_traditional_characters_fold_to_simplified() {
        assert_eq!(fold("頸椎間盤突出"), "颈椎间盘突出");
        assert_eq!(fold("慢性腎臟病"), "慢性肾脏病");
        assert_eq!(fold("乳腺惡性腫瘤"), "乳腺恶性肿瘤");
        // Simplified text is left as it is.
        assert_eq!(fold("颈椎病"), "颈椎病");
    }

    #[test]
    fn i19_1_roman_and_chinese_numerals_become_digits() {
        assert_eq!(fold("Ⅱ型糖尿病"), "2型糖尿病");
        assert_eq!(fold("II型糖尿病"), "2型糖尿病");
        assert_eq!(fold("ⅱ型糖尿病"), "2型糖尿病");
        assert_eq!(fold("二型糖尿病"), "2型糖尿病");
        assert_eq!(fold("宫颈上皮内瘤变Ⅲ级"), "宫颈上皮内瘤变3级");
        assert_eq!(fold("IV期"), "4期");
        assert_eq!(fold("I度房室传导阻滞"), "1度房室传导阻滞");
        assert_eq!(fold("Ⅲ°烧伤"), "3度烧伤");
        // Not numerals: a lone X, letters inside a word, 十二指肠, 单一型.
        assert_eq!(fold("X线检查"), "x线检查");
        assert_eq!(fold("HIV感染"), "hiv感染");
        assert_eq!(fold("CINIII级"), "ciniii级");
        assert_eq!(fold("十二指肠"), "十二指肠");
        assert_eq!(fold("维生素B1"), "维生素b1");
    }

    #[test]
    fn i19_1_homophone_typos_read_the_same_by_sound() {
        let same = |a: &str, b: &str| dice(&sound_grams(a, false), &sound_grams(b, false));
        // 椎 reads zhui and chui, 锥 zhui: every bigram of 颈锥病 is one of 颈椎病.
        let typo = sound_grams("颈锥病", false);
        let right = sound_grams("颈椎病", false);
        assert!(typo.iter().all(|k| right.contains(k)), "{typo:?} {right:?}");
        assert!(same("颈锥病", "颈椎病") > same("颈锥病", "颈部病"));
        assert_eq!(same("菲骨ct检查", "腓骨ct检查"), 1.0);
    }

    #[test]
    fn i19_1_latin_abbreviations_fold_in_any_case() {
        assert_eq!(fold("COPD"), fold("copd"));
        assert_eq!(fold("Copd"), "copd");
        assert_eq!(fold("ＣＯＰＤ"), "copd");
    }

    #[test]
    fn i19_1_qualifier_segments_and_neutral_qualifiers() {
        let p = name_parts("肺炎，细菌性", false);
        assert_eq!(p.stem, "肺炎|细菌性");
        // 肺炎, 细菌, 菌性 and the two whole-name markers; nothing across the comma.
        assert_eq!(segment_bigrams(&p.stem).len(), 5);
        let p = name_parts("细菌性痢疾，其他的", false);
        assert_eq!(
            (p.stem.as_str(), p.neutral.as_deref()),
            ("细菌性痢疾", Some("其他"))
        );
        let p = name_parts("未特指的乙型病毒性肝炎", false);
        assert_eq!(p.stem, "乙型病毒性肝炎");
        assert_eq!(p.neutral.as_deref(), Some("未特指"));
        let p = name_parts("登革热，未特指", false);
        assert_eq!(
            (p.stem.as_str(), p.neutral.as_deref()),
            ("登革热", Some("未特指"))
        );
        // Both sides fold the same way: a qualifier moved after a dash keeps its bigrams.
        let moved = segment_bigrams(&name_parts("糖尿病性视网膜病-2型", false).stem);
        let front = segment_bigrams(&name_parts("2型，糖尿病性视网膜病", false).stem);
        // Every bigram but the two whole-name markers is shared.
        assert_eq!(moved.len(), 10);
        assert!((dice(&moved, &front) - 16.0 / 20.0).abs() < 1e-9);
        // A name that is only a qualifier keeps it.
        assert_eq!(name_parts("其他", false).stem, "其他");
    }

    #[test]
    fn folds_full_width_and_brackets() {
        assert_eq!(fold("ＡＢ１２（注）【x】"), "ab12(注)(x)");
        assert_eq!(squash(&fold("床位费【三人间】")), "床位费三人间");
    }

    #[test]
    fn splits_salt_form_and_spec_off_drug_names() {
        let p = name_parts("盐酸二甲双胍片 0.5g*48片", true);
        assert_eq!(p.stem, "二甲双胍");
        assert_eq!(p.salt.as_deref(), Some("盐酸"));
        assert_eq!(p.form.as_deref(), Some("片"));
        assert_eq!(p.spec.as_deref(), Some("0.5g*48片"));
        let p = name_parts("注射用头孢曲松钠", true);
        assert_eq!(
            (p.stem.as_str(), p.salt.as_deref(), p.form.as_deref()),
            ("头孢曲松", Some("钠"), Some("注射用"))
        );
        let p = name_parts("阿莫西林胶囊剂", true);
        assert_eq!(
            (p.stem.as_str(), p.form.as_deref()),
            ("阿莫西林", Some("胶囊"))
        );
        assert_eq!(name_parts("维生素B1片", true).stem, "维生素b1");
        let p = name_parts("阿莫西林片剂（基药）", true);
        assert_eq!(
            (p.stem.as_str(), p.form.as_deref(), p.tag.as_deref()),
            ("阿莫西林", Some("片"), Some("基药"))
        );
        assert_eq!(name_parts("低钾血症", false).stem, "低钾血症");
    }

    #[test]
    fn specs_reach_base_units() {
        let a = parse_spec("0.25g*24片/盒");
        let b = parse_spec("250mg×24粒");
        let c = parse_spec("0.25 g x 24");
        assert_eq!(a.quantities, vec![(250_000, Dim::Mass)]);
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a.display(), "250mg×24");
        let d = parse_spec("3ml:300单位");
        assert_eq!(
            d.quantities,
            vec![(3000, Dim::Volume), (300_000, Dim::Units)]
        );
        assert_eq!(
            parse_spec("80万单位").quantities,
            vec![(800_000_000, Dim::Units)]
        );
        assert_eq!(parse_spec("500μg").quantities, vec![(500, Dim::Mass)]);
        assert_eq!(spec_similarity(&a, &parse_spec("0.5g*24片")), 0.0);
        let e = Spec::decode(
            &{
                let mut v = Vec::new();
                d.encode(&mut v);
                v
            },
            &mut 0,
        );
        assert_eq!(e, Some(d));
    }

    #[test]
    fn manufacturer_cores_compare() {
        assert_eq!(maker_core("华北制药股份有限公司"), "华北");
        assert_eq!(maker_core("华北制药"), "华北");
        assert_eq!(maker_core("浙江华海药业股份有限公司"), "浙江华海");
        assert_eq!(maker_similarity("华海", "浙江华海"), 0.9);
        assert_eq!(maker_core("石药集团欧意药业有限公司"), "石药欧意");
        assert!(
            maker_similarity(
                &maker_core("石药欧意"),
                &maker_core("石药集团欧意药业有限公司")
            ) >= 0.9
        );
    }

    #[test]
    fn canonical_forms() {
        assert_eq!(canonical_form("片剂"), "片");
        assert_eq!(canonical_form("注射剂"), "注射");
        assert_eq!(form_similarity("注射", "注射用"), 0.9);
        assert_eq!(canonical_form("注射用无菌粉末"), "注射用");
        assert_eq!(canonical_form("硬胶囊"), "胶囊");
    }
}
