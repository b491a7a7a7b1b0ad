//! 医保手术操作分类与代码 (ICD-9-CM-3 医保版): `00.0100`, `56.0x03`, `85.5300x001`, the 中医 block
//! `17.91100`/`17.912A0` and the two odd codes `86.700x0013`/`86.700x0014` of the real
//! national list (13,686 codes). Names the legacy defects records carry: codes that went through
//! Excel as numbers (`93.351699999999994`), short ICD-9-CM-3 base codes (`57.94`), short bases
//! with an extension (`66.69x001`), non-standard suffixes.

use super::clean::{clean, digits, lower_case_flag, name, seg, Cleaned, Names};
use super::{Certainty, Flag, Kind, Malformed, Parsed, Segment};

const CATEGORY: Names = ("类目", "category");
const SUBCATEGORY: Names = ("亚目", "subcategory");
const DETAIL: Names = ("细目", "detail");
const NATIONAL: Names = ("医保版细目", "national 2-digit extension");
const EXTENSION: Names = ("扩展码", "extension");
const TCM_GROUP: Names = ("中医类别", "TCM group");
const TCM_DETAIL: Names = ("中医细目", "TCM detail");
const SUFFIX: Names = ("后缀", "suffix");
const WHOLE: Names = ("代码", "whole code");

/// Recognise an ICD-9-CM-3 医保版 procedure code (see the module docs).
pub fn recognise(code: &str) -> Option<Result<Parsed, Malformed>> {
    let cleaned = clean(code);
    if let Some(m) = excel_number(&cleaned, code) {
        return Some(Err(m));
    }
    let (canonical, case_flags) = fold_case(&cleaned.text);
    let b = canonical.as_bytes();
    let dot = b.iter().position(|&c| c == b'.')?;
    if !(1..=2).contains(&dot) || !b[..dot].iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut flags = cleaned.flags.clone();
    flags.extend(case_flags);
    Some(parse(&canonical, &cleaned, code, flags))
}

/// `X` is the lower-case `x` placeholder/extension marker; other letters (only the 中医 block
/// has them) are upper case.
fn fold_case(text: &str) -> (String, Vec<Flag>) {
    let mut lower = false;
    let mut upper_x = false;
    let out = text
        .chars()
        .map(|c| match c {
            'X' => {
                upper_x = true;
                'x'
            }
            'x' => 'x',
            c if c.is_ascii_lowercase() => {
                lower = true;
                c.to_ascii_uppercase()
            }
            c => c,
        })
        .collect();
    let mut flags = Vec::new();
    if lower {
        flags.push(lower_case_flag());
    }
    if upper_x {
        flags.push(Flag {
            code: "upper-case-x",
            message: "the placeholder/extension `X` was written as lower-case `x`".to_string(),
        });
    }
    (out, flags)
}

/// A code that went through a spreadsheet as a number: too many decimals
/// (`93.351699999999994`), a lost leading zero (`3.3100999999999998`) or an exponent (`9.01E-2`).
fn excel_number(cleaned: &Cleaned, input: &str) -> Option<Malformed> {
    let t = cleaned.text.as_str();
    let (int, frac) = t.split_once('.').unwrap_or((t, ""));
    let all_digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    // `9.01E-2`; the sign is required, because `17.922E0` is a real 中医 code.
    let exponent = t.split_once(['e', 'E']).is_some_and(|(m, e)| {
        m.bytes().all(|c| c.is_ascii_digit() || c == b'.')
            && m.bytes().next().is_some_and(|c| c.is_ascii_digit())
            && e.len() >= 2
            && e.starts_with(['+', '-'])
            && e[1..].bytes().all(|c| c.is_ascii_digit())
    });
    let plain = all_digits(int) && all_digits(frac) && int.len() <= 2;
    let float = exponent || (plain && (frac.len() >= 6 || int.len() == 1));
    if !float {
        return None;
    }
    let value: f64 = t.parse().ok()?;
    if !(0.0..100.0).contains(&value) {
        return None;
    }
    let tcm = (17.9..18.0).contains(&value);
    let candidate = if tcm {
        format!("{value:08.5}")
    } else {
        format!("{value:07.4}")
    };
    let shortest = value.to_string();
    let mut reason = format!(
        "Excel float: the code was stored as a number and written back as `{t}` (the number \
         {shortest})"
    );
    let decimals = shortest.split_once('.').map_or(0, |(_, f)| f.len());
    if decimals < if tcm { 5 } else { 4 } {
        reason.push_str("; a number drops trailing zeros, so check the code against the table");
    }
    let m = Malformed::new(Kind::Procedure, input, reason)
        .at(name(WHOLE), cleaned.to_input(0..t.len()));
    let parses = parse(&candidate, cleaned, input, Vec::new()).is_ok();
    Some(if parses { m.suggest(candidate) } else { m })
}

#[allow(clippy::result_large_err)] // `Malformed` is the shared error type of every parser.
fn parse(s: &str, cleaned: &Cleaned, input: &str, flags: Vec<Flag>) -> Result<Parsed, Malformed> {
    let fail = |reason: String, names: Names, span: std::ops::Range<usize>| {
        Malformed::new(Kind::Procedure, input, reason).at(name(names), cleaned.to_input(span))
    };
    let b = s.as_bytes();
    if b.len() < 4 || b[2] != b'.' {
        return Err(fail(
            "an ICD-9-CM-3 医保版 code starts with a 2-digit 类目 and a dot".to_string(),
            CATEGORY,
            0..s.find('.').unwrap_or(s.len()),
        ));
    }
    let is_d = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let is_dx = |i: usize| is_d(i) || b.get(i) == Some(&b'x');
    // `x` is a placeholder only in the 亚目/细目 positions; later it starts an extension.
    let end_of_digits = (3..b.len())
        .find(|&i| !(is_d(i) || (i < 5 && is_dx(i))))
        .unwrap_or(b.len());
    if end_of_digits == 6 && s.len() == 11 && s[6..].starts_with('x') && digits(&s[7..]) {
        return Ok(shifted_extension(s, flags, input));
    }
    if end_of_digits < 7 && (end_of_digits == b.len() || b[end_of_digits] == b'x') {
        return Err(short_form(s, end_of_digits, &fail));
    }
    if !is_dx(3) || !is_dx(4) {
        return Err(fail(
            "the 亚目 and 细目 after the dot are digits or `x`".to_string(),
            SUBCATEGORY,
            3..5,
        ));
    }
    if s.starts_with("17.9") && b.len() == 8 {
        return tcm(s, flags, input, &fail);
    }
    if !is_d(5) || !is_d(6) {
        return Err(fail(
            "the 医保版细目 (characters 6–7) must be 2 digits".to_string(),
            NATIONAL,
            5..b.len().min(7),
        ));
    }
    let national = (&s[5..7] == "00").then(|| {
        "00: the ICD-9-CM-3 code itself (3,876 of the 3,886 base codes of the national list have \
         it)"
        .to_string()
    });
    let mut segments: Vec<Segment> = vec![
        seg(s, 0..2, CATEGORY, None, Certainty::Inferred),
        seg(s, 3..4, SUBCATEGORY, x_meaning(b[3]), Certainty::Inferred),
        seg(s, 4..5, DETAIL, x_meaning(b[4]), Certainty::Inferred),
        seg(s, 5..7, NATIONAL, national, Certainty::Inferred),
    ];
    let tail = &s[7..];
    let ext_digits = tail.strip_prefix('x').filter(|d| digits(d));
    let form = match ext_digits.map(str::len) {
        None if tail.is_empty() => "7-char",
        Some(3) => "11-char (扩展码)",
        Some(_) => {
            return Err(fail(
                format!("the 扩展码 is `x` + 3 digits, not `{tail}`"),
                EXTENSION,
                7..s.len(),
            ))
        }
        None if tail.len() == 1 && digits(tail) => {
            return Err(fail(
                "8-character codes occur only in the 17.9 中医 block (`17.91100`)".to_string(),
                SUFFIX,
                7..8,
            ))
        }
        None => {
            return Err(fail(
                format!(
                    "non-standard suffix `{tail}` after the 7-char code `{}`",
                    &s[..7]
                ),
                SUFFIX,
                7..s.len(),
            ))
        }
    };
    if !tail.is_empty() {
        segments.push(seg(
            s,
            7..s.len(),
            EXTENSION,
            Some("医保版 extension".to_string()),
            Certainty::Inferred,
        ));
    }
    Ok(Parsed {
        kind: Kind::Procedure,
        input: input.to_string(),
        canonical: s.to_string(),
        form,
        segments,
        flags,
    })
}

fn x_meaning(c: u8) -> Option<String> {
    (c == b'x').then(|| "x: no subdivision at this level".to_string())
}

/// `86.700x0013`, `86.700x0014`: two codes of the national list with one 医保版细目 digit and a
/// 4-digit extension. Accepted as written; what the split means is not confirmed.
fn shifted_extension(s: &str, flags: Vec<Flag>, input: &str) -> Parsed {
    let b = s.as_bytes();
    let note = "as written in 2 codes of the national list (86.700x0013, 86.700x0014): 1 digit of \
                医保版细目 and a 4-digit 扩展码; the reason for this split is not confirmed";
    Parsed {
        kind: Kind::Procedure,
        input: input.to_string(),
        canonical: s.to_string(),
        form: "11-char (1-digit 医保版细目 + 4-digit 扩展码)",
        segments: vec![
            seg(s, 0..2, CATEGORY, None, Certainty::Inferred),
            seg(s, 3..4, SUBCATEGORY, x_meaning(b[3]), Certainty::Inferred),
            seg(s, 4..5, DETAIL, x_meaning(b[4]), Certainty::Inferred),
            seg(
                s,
                5..6,
                NATIONAL,
                Some(note.to_string()),
                Certainty::Unverified,
            ),
            seg(
                s,
                6..11,
                EXTENSION,
                Some(note.to_string()),
                Certainty::Unverified,
            ),
        ],
        flags,
    }
}

/// `57.94` (the ICD-9-CM-3 code without the 医保版 2 digits), `57.9`, `48.351`, `66.69x001`.
fn short_form(
    s: &str,
    end: usize,
    fail: &dyn Fn(String, Names, std::ops::Range<usize>) -> Malformed,
) -> Malformed {
    let base = &s[..end];
    let ext = &s[end..];
    match end {
        5 if ext.is_empty() => fail(
            format!(
                "`{base}` is the short form: the bare ICD-9-CM-3 code without the 医保版 2-digit \
                 细目 (or a 7-char code whose trailing zeros were lost as a number); the national \
                 list codes the base itself as `{base}00`"
            ),
            NATIONAL,
            5..5,
        )
        .suggest(format!("{base}00")),
        5 => fail(
            format!(
                "`{s}` has the 扩展码 on the short base `{base}`: the 2-digit 医保版细目 is missing"
            ),
            NATIONAL,
            5..5,
        )
        .suggest(format!("{base}00{ext}")),
        6 if ext.is_empty() => fail(
            format!(
                "`{base}` has 3 characters after the dot: a 7-char code missing its last digit, or \
                 one whose trailing zero was lost as a number"
            ),
            NATIONAL,
            5..6,
        )
        .suggest(format!("{base}0")),
        _ => fail(
            format!("`{base}` is the short form: only the ICD-9-CM-3 类目/亚目, no 细目"),
            DETAIL,
            end..end,
        ),
    }
}

/// The 中医 block: `17.9` + 3 characters + a digit, the 7th character a digit or a letter.
#[allow(clippy::result_large_err)] // `Malformed` is the shared error type of every parser.
fn tcm(
    s: &str,
    flags: Vec<Flag>,
    input: &str,
    fail: &dyn Fn(String, Names, std::ops::Range<usize>) -> Malformed,
) -> Result<Parsed, Malformed> {
    let b = s.as_bytes();
    let ok = b[5].is_ascii_digit()
        && (b[6].is_ascii_digit() || b[6].is_ascii_uppercase())
        && b[7].is_ascii_digit();
    if !ok {
        return Err(fail(
            format!(
                "non-standard suffix `{}`: 17.9 中医 codes end in a digit, a digit or letter, and a digit",
                &s[5..]
            ),
            SUFFIX,
            5..8,
        ));
    }
    let group = match &s[3..5] {
        "91" => Some("针刺与灸 (acupuncture, moxibustion)"),
        "92" => Some("推拿 (tuina)"),
        "93" => Some("刮痧、砭石 (scraping, stone)"),
        "94" => Some("拔罐 (cupping)"),
        "95" => Some("贴敷 (application)"),
        "96" => Some("针刀 (needle-knife)"),
        "97" => Some("手法整复 (manual reduction)"),
        "98" => Some("挂线 (thread-drawing)"),
        "99" => Some("功法 (qigong and exercise therapies)"),
        _ => None,
    };
    let letter = b[6].is_ascii_uppercase().then(|| {
        "a letter in the 7th position, as in 44 codes of the national list (17.912A0 电针治疗)"
            .to_string()
    });
    Ok(Parsed {
        kind: Kind::Procedure,
        input: input.to_string(),
        canonical: s.to_string(),
        form: "8-char (中医 17.9)",
        segments: vec![
            seg(
                s,
                0..2,
                CATEGORY,
                Some("17: 中医 block of the 医保版".to_string()),
                Certainty::Inferred,
            ),
            seg(
                s,
                3..5,
                TCM_GROUP,
                group.map(|g| format!("{g}, from the names in the national list")),
                Certainty::Inferred,
            ),
            seg(s, 5..8, TCM_DETAIL, letter, Certainty::Inferred),
        ],
        flags,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(code: &str) -> Parsed {
        match recognise(code) {
            Some(Ok(p)) => p,
            other => panic!("{code}: {other:?}"),
        }
    }

    fn err(code: &str) -> Malformed {
        match recognise(code) {
            Some(Err(m)) => m,
            other => panic!("{code}: {other:?}"),
        }
    }

    #[test]
    fn real_national_shapes_parse_well_formed() {
        for (code, form) in [
            ("00.0100", "7-char"),
            ("99.2503", "7-char"),
            ("56.0x03", "7-char"),
            ("59.8x03", "7-char"),
            ("85.5300x001", "11-char (扩展码)"),
            ("56.0x00x006", "11-char (扩展码)"),
            ("17.91100", "8-char (中医 17.9)"),
            ("17.912A0", "8-char (中医 17.9)"),
            ("17.922E0", "8-char (中医 17.9)"),
            (
                "86.700x0013",
                "11-char (1-digit 医保版细目 + 4-digit 扩展码)",
            ),
            (
                "86.700x0014",
                "11-char (1-digit 医保版细目 + 4-digit 扩展码)",
            ),
        ] {
            let p = ok(code);
            assert!(p.is_well_formed(), "{code}");
            assert_eq!(p.form, form, "{code}");
            assert_eq!(p.canonical, code);
        }
        let p = ok("17.912A0");
        assert_eq!(p.segments[1].text, "91");
        assert!(p.segments[2]
            .meaning
            .as_deref()
            .is_some_and(|m| m.contains("44 codes")));
    }

    #[test]
    fn excel_floats_suggest_the_code() {
        for (float, code) in [
            ("93.351699999999994", "93.3517"),
            ("44.140099999999897", "44.1401"),
            ("3.3100999999999998", "03.3101"),
            ("39.950000000000003", "39.9500"),
            ("17.911000000000001", "17.91100"),
            ("86.1099999999999", "86.1100"),
            ("9.01E-2", "00.0901"),
        ] {
            let m = err(float);
            assert!(m.reason.starts_with("Excel float"), "{float}: {}", m.reason);
            assert_eq!(m.suggestion.as_deref(), Some(code), "{float}");
        }
        assert!(err("39.950000000000003").reason.contains("trailing zeros"));
        assert!(!err("93.351699999999994").reason.contains("trailing zeros"));
    }

    #[test]
    fn lower_case_suffix_letter_is_flagged() {
        let p = ok("17.912a0");
        assert_eq!(p.canonical, "17.912A0");
        assert_eq!(p.flags[0].code, "lower-case");
        let p = ok("56.0X00x006");
        assert_eq!(p.canonical, "56.0x00x006");
        assert_eq!(p.flags[0].code, "upper-case-x");
    }

    #[test]
    fn short_forms_and_suffixes_name_the_segment() {
        for short in ["57.94", "96.04", "99.92"] {
            let m = err(short);
            assert!(m.reason.contains("short form"), "{}", m.reason);
            assert_eq!(
                m.segment.as_deref(),
                Some("医保版细目 (national 2-digit extension)")
            );
            assert_eq!(m.suggestion, Some(format!("{short}00")));
        }
        let m = err("66.69x001");
        assert_eq!(m.suggestion.as_deref(), Some("66.6900x001"));
        let m = err("57.9");
        assert_eq!(m.suggestion, None);
        assert_eq!(m.segment.as_deref(), Some("细目 (detail)"));
        let m = err("48.351");
        assert_eq!(m.suggestion.as_deref(), Some("48.3510"));
        let m = err("93.3500-1");
        assert!(m.reason.contains("non-standard suffix `-1`"));
        assert_eq!(m.segment.as_deref(), Some("后缀 (suffix)"));
        assert_eq!(m.span, Some(7..9));
        let m = err("93.35170");
        assert!(m.reason.contains("17.9 中医 block"));
        let m = err("17.912AB");
        assert!(m.reason.contains("non-standard suffix `2AB`"));
        let m = err("85.5300x01");
        assert_eq!(m.segment.as_deref(), Some("扩展码 (extension)"));
    }

    #[test]
    fn other_kinds_are_not_procedures() {
        for code in [
            "A01.000",
            "001102000010000",
            "320900",
            "86900483000019",
            "110.5",
            "",
        ] {
            assert!(recognise(code).is_none(), "{code}");
        }
    }
}
