//! 医保疾病诊断分类与代码 (ICD-10 医保版): `A01.000`, `A00.000x001`, `R18.x00`, dagger/asterisk pairs
//! `K72.900x003+G94.3*`. Recognises the shapes of the real national list (33,304 codes) and names
//! what is wrong with the legacy shapes records carry: lower case, a dropped dot, short forms,
//! glued morphology codes, local 门诊慢特病 codes that only look like ICD Z-codes.

use super::clean::{clean, lower_case_flag, name, seg, Cleaned, Names};
use super::{Certainty, Flag, Kind, Malformed, Parsed, Segment};

const CATEGORY: Names = ("类目", "category");
const SUBCATEGORY: Names = ("亚目", "subcategory");
const DETAIL: Names = ("细目", "detail");
const EXTENSION: Names = ("扩展码", "extension");
const ASTERISK: Names = ("星号码", "asterisk code");
const SEPARATOR: Names = ("分隔符", "separator");
const SUFFIX: Names = ("后缀", "suffix");
const WHOLE: Names = ("代码", "whole code");

/// Recognise an ICD-10 医保版 diagnosis code (see the module docs).
pub fn recognise(code: &str) -> Option<Result<Parsed, Malformed>> {
    let cleaned = clean(code);
    let (canonical, case_flags) = fold_case(&cleaned.text);
    if !resembles(&canonical) {
        return None;
    }
    let fail = |reason: String, names: Names, span: std::ops::Range<usize>| {
        Malformed::new(Kind::Diagnosis, code, reason).at(name(names), cleaned.to_input(span))
    };
    let b = canonical.as_bytes();
    let len = canonical.len();
    if len == 4 && b[1..].iter().all(u8::is_ascii_digit) {
        return Some(Err(fail(
            format!(
                "`{canonical}` (a letter and 3 digits, no dot) looks like a local 门诊慢特病 \
                 (chronic-disease) code such as Z001 恶性肿瘤放化疗 or Z014 丙型肝炎, not an \
                 ICD-10 医保版 code"
            ),
            WHOLE,
            0..len,
        )));
    }
    if len == 3 {
        return Some(Err(fail(
            format!(
                "`{canonical}` is a bare 类目; an ICD-10 医保版 code continues `.` + 亚目 + 细目"
            ),
            SUBCATEGORY,
            3..3,
        )));
    }
    if b[3] != b'.' {
        let with_dot = format!("{}.{}", &canonical[..3], &canonical[3..]);
        let mut m = fail(
            "the `.` after the 类目 is missing".to_string(),
            SEPARATOR,
            3..3,
        );
        if parse(&with_dot, &cleaned, code, Vec::new()).is_ok() {
            m = m.suggest(with_dot);
        }
        return Some(Err(m));
    }
    let mut flags = cleaned.flags.clone();
    flags.extend(case_flags);
    Some(parse(&canonical, &cleaned, code, flags))
}

/// Upper-case the letters, except an `x` that is a placeholder or extension marker (any `x`
/// that does not start a code: `X59.900` is a category, `R18.x00` a placeholder).
fn fold_case(text: &str) -> (String, Vec<Flag>) {
    let mut lower = false;
    let mut upper_x = false;
    let mut out = String::with_capacity(text.len());
    let mut starts_code = true;
    for c in text.chars() {
        let folded = if !starts_code && (c == 'x' || c == 'X') {
            upper_x |= c == 'X';
            'x'
        } else {
            lower |= c.is_ascii_lowercase();
            c.to_ascii_uppercase()
        };
        starts_code = c == '+';
        out.push(folded);
    }
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

/// A letter and two digits, then either a dot or one of the dot-less shapes records carry.
fn resembles(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() < 3 || !b[0].is_ascii_uppercase() || !b[1].is_ascii_digit() || !b[2].is_ascii_digit()
    {
        return false;
    }
    if b.len() == 3 || b[3] == b'.' {
        return true;
    }
    let rest = &s[3..];
    let dotless_main = |r: &str| {
        let r = r.as_bytes();
        r.len() == 3
            && (r[0].is_ascii_digit() || r[0] == b'x')
            && r[1].is_ascii_digit()
            && r[2].is_ascii_digit()
    };
    (rest.len() == 1 && b[3].is_ascii_digit())
        || dotless_main(rest)
        || (rest.len() == 7
            && rest.get(..3).is_some_and(dotless_main)
            && rest.get(3..).is_some_and(is_extension))
}

fn is_extension(s: &str) -> bool {
    s.len() == 4 && s.starts_with('x') && s[1..].bytes().all(|b| b.is_ascii_digit())
}

/// Parse a canonical code that has its dot.
#[allow(clippy::result_large_err)] // `Malformed` is the shared error type of every parser.
fn parse(s: &str, cleaned: &Cleaned, input: &str, flags: Vec<Flag>) -> Result<Parsed, Malformed> {
    let fail = |reason: String, names: Names, span: std::ops::Range<usize>| {
        Malformed::new(Kind::Diagnosis, input, reason).at(name(names), cleaned.to_input(span))
    };
    let (main, asterisk) = match s.split_once('+') {
        Some((m, a)) => (m, Some(a)),
        None => (s, None),
    };
    let b = main.as_bytes();
    let sub = b.get(4).copied();
    if !matches!(sub, Some(c) if c.is_ascii_digit() || c == b'x') {
        return Err(fail(
            "the 亚目 after the dot must be a digit or `x` (no subcategory)".to_string(),
            SUBCATEGORY,
            4..main.len().min(5),
        ));
    }
    if main.len() == 5 {
        let short = main;
        let mut m = fail(
            format!(
                "`{short}` is the short form: the ICD-10 亚目 without the 医保版 2-digit 细目 \
                 (in the national list the 亚目 itself is coded `{short}00`)"
            ),
            DETAIL,
            5..5,
        );
        if asterisk.is_none() {
            m = m.suggest(format!("{short}00"));
        }
        return Err(m);
    }
    let detail_ok = b.len() >= 7 && b[5].is_ascii_digit() && b[6].is_ascii_digit();
    if !detail_ok {
        return Err(fail(
            "the 细目 must be 2 digits".to_string(),
            DETAIL,
            5..main.len().min(7),
        ));
    }
    let tail = &main[7..];
    let mut segments = vec![
        seg(s, 0..3, CATEGORY, None, Certainty::Verified),
        seg(
            s,
            4..5,
            SUBCATEGORY,
            (sub == Some(b'x')).then(|| "x: the 类目 has no subcategory".to_string()),
            Certainty::Verified,
        ),
        seg(s, 5..7, DETAIL, None, Certainty::Verified),
    ];
    let mut form = "7-char (细目)";
    if let Some(morph) = morphology(tail) {
        return Err(fail(
            format!(
                "an ICD-O morphology code `{morph}` is glued to the diagnosis; it belongs in its own \
                 field"
            ),
            SUFFIX,
            7..main.len(),
        )
        .suggest(&main[..7]));
    }
    if !tail.is_empty() {
        if is_extension(tail) {
            segments.push(seg(
                s,
                7..11,
                EXTENSION,
                Some("医保版 extension below the 细目".to_string()),
                Certainty::Inferred,
            ));
            form = "11-char (扩展码)";
        } else if tail.starts_with('x') && tail[1..].bytes().all(|c| c.is_ascii_digit()) {
            return Err(fail(
                format!("the 扩展码 is `x` + 3 digits, not `{tail}`"),
                EXTENSION,
                7..main.len(),
            ));
        } else if let Some(split) = glued_asterisk(main) {
            let (dagger, star) = main.split_at(split);
            return Err(fail(
                format!(
                    "`{star}` follows the code without the `+` and `*` of a dagger/asterisk pair"
                ),
                SEPARATOR,
                split..main.len(),
            )
            .suggest(format!("{dagger}+{star}*")));
        } else {
            return Err(fail(
                format!("non-standard suffix `{tail}` after the 细目"),
                SUFFIX,
                7..main.len(),
            ));
        }
    }
    if let Some(star) = asterisk {
        let at = main.len() + 1;
        segments.push(
            asterisk_segment(s, at, star).map_err(|(reason, span, suggestion)| {
                let m = fail(reason, ASTERISK, span);
                match suggestion {
                    Some(x) => m.suggest(format!("{main}+{x}")),
                    None => m,
                }
            })?,
        );
        form = if form.starts_with("11") {
            "11-char (扩展码) + asterisk"
        } else {
            "7-char (细目) + asterisk"
        };
    }
    Ok(Parsed {
        kind: Kind::Diagnosis,
        input: input.to_string(),
        canonical: s.to_string(),
        form,
        segments,
        flags,
    })
}

/// The asterisk code after `+`: a category (`G01*`) or subcategory (`G94.3*`), as the national
/// list writes them. On error: reason, span in the canonical code, suggested asterisk part.
fn asterisk_segment(
    s: &str,
    at: usize,
    star: &str,
) -> Result<Segment, (String, std::ops::Range<usize>, Option<String>)> {
    let span = at..at + star.len();
    let body = star.strip_suffix('*');
    let code = body.unwrap_or(star);
    let b = code.as_bytes();
    let category =
        b.len() >= 3 && b[0].is_ascii_uppercase() && b[1].is_ascii_digit() && b[2].is_ascii_digit();
    let shape_ok =
        category && (b.len() == 3 || (b.len() == 5 && b[3] == b'.' && b[4].is_ascii_digit()));
    if category && b.len() == 7 && b[3] == b'.' && code[4..].bytes().all(|c| c.is_ascii_digit()) {
        return Err((
            format!(
                "the asterisk code `{code}` carries a 细目; the national list writes asterisk codes \
                 as a category or subcategory (`G01*`, `G94.3*`)"
            ),
            span,
            Some(format!("{}*", &code[..5])),
        ));
    }
    if !shape_ok {
        return Err((
            format!("`{star}` after `+` is not an asterisk code (`G01*` or `G94.3*`)"),
            span,
            None,
        ));
    }
    if body.is_none() {
        return Err((
            format!("the asterisk code `{code}` lacks its closing `*`"),
            span,
            Some(format!("{code}*")),
        ));
    }
    let meaning = if b.len() == 3 {
        "manifestation (星号) code paired with the dagger (剑号) code before `+`; a bare category, as \
         41 codes of the national list write it"
    } else {
        "manifestation (星号) code paired with the dagger (剑号) code before `+`"
    };
    Ok(seg(
        s,
        span,
        ASTERISK,
        Some(meaning.to_string()),
        Certainty::Verified,
    ))
}

/// `M81600/3`: an ICD-O morphology code (M + 5 digits + `/` + behaviour digit) glued on.
fn morphology(tail: &str) -> Option<&str> {
    let b = tail.as_bytes();
    let ok = b.len() == 8
        && b[0] == b'M'
        && b[1..6].iter().all(u8::is_ascii_digit)
        && b[6] == b'/'
        && b[7].is_ascii_digit();
    ok.then_some(tail)
}

/// Where a second code starts when it was glued on without `+` and `*` (`B37.600I39.8`).
fn glued_asterisk(main: &str) -> Option<usize> {
    let split = if main.as_bytes().get(7) == Some(&b'x') {
        11
    } else {
        7
    };
    let star = main.get(split..)?.as_bytes();
    let ok = (star.len() == 3 || (star.len() == 5 && star[3] == b'.' && star[4].is_ascii_digit()))
        && star[0].is_ascii_uppercase()
        && star[1].is_ascii_digit()
        && star[2].is_ascii_digit();
    ok.then_some(split)
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
            ("A01.000", "7-char (细目)"),
            ("A01.003", "7-char (细目)"),
            ("K92.210", "7-char (细目)"),
            ("R18.x00", "7-char (细目)"),
            ("A00.000x001", "11-char (扩展码)"),
            ("I10.x00x032", "11-char (扩展码)"),
            ("K72.900x003+G94.3*", "11-char (扩展码) + asterisk"),
            ("A01.002+G01*", "7-char (细目) + asterisk"),
            ("B49.x01+G02.1*", "7-char (细目) + asterisk"),
            ("X59.900", "7-char (细目)"),
        ] {
            let p = ok(code);
            assert!(p.is_well_formed(), "{code}");
            assert_eq!(p.canonical, code);
            assert_eq!(p.form, form, "{code}");
        }
    }

    #[test]
    fn segments_name_the_parts() {
        let p = ok("I10.x00x032");
        let texts: Vec<&str> = p.segments.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["I10", "x", "00", "x032"]);
        assert_eq!(p.segments[0].name_zh, "类目");
        assert_eq!(
            p.segments[1].meaning.as_deref(),
            Some("x: the 类目 has no subcategory")
        );
        assert_eq!(p.segments[3].certainty, Certainty::Inferred);
        let p = ok("K72.900x003+G94.3*");
        assert_eq!(p.segments[4].text, "G94.3*");
        assert_eq!(p.segments[4].span, 12..18);
        assert_eq!(p.segments[4].name_en, "asterisk code");
    }

    #[test]
    fn lower_case_is_flagged_and_canonicalised() {
        let p = ok("k40.900x003");
        assert_eq!(p.canonical, "K40.900x003");
        assert!(!p.is_well_formed());
        assert_eq!(p.flags[0].code, "lower-case");
        let p = ok("b02.202+g53.0*");
        assert_eq!(p.canonical, "B02.202+G53.0*");
        let p = ok("R18.X00");
        assert_eq!(p.canonical, "R18.x00");
        assert_eq!(p.flags[0].code, "upper-case-x");
    }

    #[test]
    fn spaces_and_full_width_are_flagged() {
        let p = ok(" A01.000 ");
        assert_eq!(p.flags[0].code, "surrounding-space");
        assert_eq!(p.canonical, "A01.000");
        let p = ok("Ｉ１０．ｘ００");
        assert_eq!(p.canonical, "I10.x00");
        assert_eq!(p.flags[0].code, "full-width");
    }

    #[test]
    fn local_chronic_disease_codes_are_not_icd() {
        for code in ["Z001", "Z014", "Z030"] {
            let m = err(code);
            assert!(m.reason.contains("门诊慢特病"), "{}", m.reason);
            assert!(m.reason.contains("not an ICD-10 医保版 code"));
            assert_eq!(m.segment.as_deref(), Some("代码 (whole code)"));
        }
    }

    #[test]
    fn legacy_defects_name_the_segment() {
        let m = err("K40.9");
        assert!(m.reason.contains("short form"), "{}", m.reason);
        assert_eq!(m.segment.as_deref(), Some("细目 (detail)"));
        assert_eq!(m.suggestion.as_deref(), Some("K40.900"));

        let m = err("K40900x003");
        assert_eq!(m.segment.as_deref(), Some("分隔符 (separator)"));
        assert_eq!(m.suggestion.as_deref(), Some("K40.900x003"));

        let m = err("C22.101M81600/3");
        assert!(m.reason.contains("morphology"));
        assert_eq!(m.suggestion.as_deref(), Some("C22.101"));
        assert_eq!(m.span, Some(7..15));

        let m = err("B37.600I39.8");
        assert_eq!(m.suggestion.as_deref(), Some("B37.600+I39.8*"));

        let m = err("K74.300x011+I98.2");
        assert!(m.reason.contains("closing `*`"));
        assert_eq!(m.suggestion.as_deref(), Some("K74.300x011+I98.2*"));

        let m = err("E88.902+M90.803*");
        assert!(m.reason.contains("carries a 细目"));
        assert_eq!(m.suggestion.as_deref(), Some("E88.902+M90.8*"));

        let m = err("A01.000x01");
        assert_eq!(m.segment.as_deref(), Some("扩展码 (extension)"));
        let m = err("A01.000-1");
        assert!(m.reason.contains("non-standard suffix `-1`"));
        let m = err("K40");
        assert_eq!(m.segment.as_deref(), Some("亚目 (subcategory)"));
        let m = err("K40.9a");
        assert_eq!(m.segment.as_deref(), Some("细目 (detail)"));
    }

    #[test]
    fn other_kinds_are_not_diagnoses() {
        for code in [
            "00.0100",
            "XA01ABD075A002010100483",
            "C14010201100100001",
            "D371072007682",
            "H32090200001",
            "320900",
            "T001700643",
            "",
        ] {
            assert!(recognise(code).is_none(), "{code}");
        }
    }
}
