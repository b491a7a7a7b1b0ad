//! 医保药品分类与代码. 西药 (`X`): 23 characters, `XA01ABD075A002010100483` is X, 分类 `A01AB`,
//! 通用名码 `D075`, 剂型码 `A002`, 规格包装码 `0101` and 企业码 `00483`. 中成药 (`Z`): the 通用名码
//! is a letter and 4 digits and the code has 20 characters (`ZA04BAX0061020300423` 夏桑菊颗粒),
//! not the 23 of `code-families.md`. 中药饮片 and
//! 中药配方颗粒 (`T`) and 医疗机构制剂 (`J`) are detected with their structure unverified.
//! Legacy dashed catalog keys, truncated rule keys and wrong lengths are named, not accepted.
//! Evidence for each segment: docs/CODE-STRUCTURES.md.

use super::clean::{clean, digits, lower_case_flag, name, province, seg, Names};
use super::{Certainty, Kind, Malformed, Parsed, Segment};

const MARKER: Names = ("药品标识", "drug marker");
const CLASS: Names = ("分类码", "classification");
const GENERIC: Names = ("通用名码", "generic-name code");
const FORM: Names = ("剂型码", "dosage-form code");
const PACK: Names = ("规格包装码", "specification/package code");
const MAKER: Names = ("企业码", "enterprise code");
const REST: Names = ("其余", "rest");
const STANDARD: Names = ("标准分类码", "standard code");
const EFFICACY: Names = ("功效分类码", "efficacy class");
const HERB: Names = ("名称码", "name code");
const GENUINE: Names = ("道地药材识别码", "genuine-region marker");
const WHOLE: Names = ("代码", "whole code");

/// The 西药 parts after the marker: names and length.
const WESTERN: [(Names, usize); 5] = [(CLASS, 5), (GENERIC, 4), (FORM, 4), (PACK, 4), (MAKER, 5)];

/// Recognise a drug code (see the module docs).
pub fn recognise(code: &str) -> Option<Result<Parsed, Malformed>> {
    let cleaned = clean(code);
    let t = cleaned.text.as_str();
    let upper = t.to_ascii_uppercase();
    let mut flags = cleaned.flags.clone();
    if upper != t {
        flags.push(lower_case_flag());
    }
    let s = upper.as_str();
    let b = s.as_bytes();
    if !s.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') || b.len() < 2 {
        return None;
    }
    let fail = |reason: String, names: Names, span: std::ops::Range<usize>| {
        Malformed::new(Kind::Drug, code, reason).at(name(names), cleaned.to_input(span))
    };
    let result = match b[0] {
        b'X' | b'Z' if b.len() >= 6 && (b[1].is_ascii_uppercase() || b[1] == b'-') => {
            if s.contains('-') {
                Err(fail(
                    format!(
                        "`{s}` is the legacy dashed catalog key (药品标识-分类-通用名码[-剂型码]): it \
                         names a catalog entry, not a product; the national code is written \
                         without dashes and has 23 characters for 西药"
                    ),
                    WHOLE,
                    0..s.len(),
                ))
            } else if b[0] == b'X' {
                western(s, &fail)
            } else {
                patent(s, &fail)
            }
        }
        b'T' if (b.len() == 10 || b.len() == 20) && digits(&s[1..5]) => Ok(herbal(s)),
        b'J' if b.len() == 16 => Ok(preparation(s)),
        _ => return None,
    };
    Some(result.map(|(form, segments)| Parsed {
        kind: Kind::Drug,
        input: code.to_string(),
        canonical: s.to_string(),
        form,
        segments,
        flags,
    }))
}

type Fail<'a> = &'a dyn Fn(String, Names, std::ops::Range<usize>) -> Malformed;
type Split = (&'static str, Vec<Segment>);

fn marker(s: &str) -> Segment {
    let meaning = if s.starts_with('X') {
        "X: 西药 (Western medicine)"
    } else {
        "Z: 中成药 (Chinese patent medicine)"
    };
    seg(
        s,
        0..1,
        MARKER,
        Some(meaning.to_string()),
        Certainty::Verified,
    )
}

/// An ATC level-4 shaped class (`A01AB`): letter, 2 digits, 2 letters.
fn class_shape(c: &str) -> bool {
    let b = c.as_bytes();
    b.len() == 5
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_digit()
        && b[2].is_ascii_digit()
        && b[3].is_ascii_uppercase()
        && b[4].is_ascii_uppercase()
}

/// A letter then digits (`D075`, `G0120`).
fn letter_digits(c: &str, len: usize) -> bool {
    c.len() == len && c.as_bytes()[0].is_ascii_uppercase() && digits(&c[1..])
}

#[allow(clippy::result_large_err)] // `Malformed` is the shared error type of every parser.
fn western(s: &str, fail: Fail) -> Result<Split, Malformed> {
    let class = s.get(1..6).unwrap_or_default();
    if !class_shape(class) {
        return Err(fail(
            format!("the 分类码 is an ATC level-4 class such as `A01AB`, not `{class}`"),
            CLASS,
            1..s.len().min(6),
        ));
    }
    let generic = s.get(6..10).unwrap_or_default();
    if !letter_digits(generic, 4) {
        return Err(fail(
            format!(
                "the 通用名码 is a pinyin initial and 3 digits such as `D075`, not `{generic}`"
            ),
            GENERIC,
            6..s.len().min(10),
        ));
    }
    if s.len() == 12 {
        return Err(fail(
            "a truncated 12-character rule key (药品标识 + 分类码 + 通用名码 + the first 2 \
             characters of the 剂型码), as 限制规则 lists use: it names a drug group, not a product; \
             the national code has 23 characters"
                .to_string(),
            FORM,
            10..12,
        ));
    }
    if s.len() != 23 {
        return Err(wrong_length(s, fail));
    }
    let form = &s[10..14];
    if !form.as_bytes()[0].is_ascii_uppercase() || !s[14..].bytes().all(|c| c.is_ascii_digit()) {
        return Err(fail(
            "the 剂型码 starts with a letter and the 规格包装码 and 企业码 are digits in every code \
             seen"
                .to_string(),
            FORM,
            10..23,
        ));
    }
    let atc = atc_group(s.as_bytes()[1]).map(|g| format!("ATC {}: {g}", &s[1..2]));
    Ok((
        "23-char 西药",
        vec![
            marker(s),
            seg(s, 1..6, CLASS, atc, Certainty::Inferred),
            seg(
                s,
                6..10,
                GENERIC,
                Some(format!("pinyin initial `{}` + 3 digits", &s[6..7])),
                Certainty::Inferred,
            ),
            seg(s, 10..14, FORM, None, Certainty::Inferred),
            seg(s, 14..18, PACK, None, Certainty::Inferred),
            seg(
                s,
                18..23,
                MAKER,
                Some(
                    "equals the enterprise part of the drug's 本位码 in the one example checked"
                        .to_string(),
                ),
                Certainty::Inferred,
            ),
        ],
    ))
}

/// Name the first 西药 part whose characters are missing or damaged.
fn wrong_length(s: &str, fail: Fail) -> Malformed {
    let mut at = 1;
    let mut bad = (MAKER, s.len().min(18)..s.len());
    for (names, len) in WESTERN {
        let part = s.get(at..at + len);
        let ok = if names == FORM {
            part.is_some_and(|p| p.as_bytes()[0].is_ascii_uppercase())
        } else if names == PACK || names == MAKER {
            part.is_some_and(digits)
        } else {
            part.is_some()
        };
        if !ok {
            bad = (names, at.min(s.len())..s.len());
            break;
        }
        at += len;
    }
    let surplus = s.len() > 23;
    let reason = if surplus {
        format!("{} characters; a 西药 code has 23", s.len())
    } else {
        format!(
            "{} characters; a 西药 code has 23 (X + 分类码 5 + 通用名码 4 + 剂型码 4 + 规格包装码 4 + \
             企业码 5): the {} is missing or damaged",
            s.len(),
            bad.0 .0
        )
    };
    let span = if surplus { 23..s.len() } else { bad.1 };
    fail(reason, if surplus { MAKER } else { bad.0 }, span)
}

#[allow(clippy::result_large_err)] // `Malformed` is the shared error type of every parser.
fn patent(s: &str, fail: Fail) -> Result<Split, Malformed> {
    let class = s.get(1..6).unwrap_or_default();
    if !class_shape(class) {
        return Err(fail(
            format!("the 中成药 分类码 is shaped like `A01BA`, not `{class}`"),
            CLASS,
            1..s.len().min(6),
        ));
    }
    let generic_ok = s.get(6..11).is_some_and(|g| letter_digits(g, 5));
    let class_meaning = patent_class(s.as_bytes()[1]);
    let mut segments = vec![
        marker(s),
        seg(s, 1..6, CLASS, class_meaning.0, class_meaning.1),
    ];
    if generic_ok {
        segments.push(seg(
            s,
            6..11,
            GENERIC,
            Some("a letter and 4 digits for 中成药 (`Z-A01BA-G0120`)".to_string()),
            Certainty::Inferred,
        ));
    }
    match s.len() {
        11 if generic_ok => Err(fail(
            "an 11-character rule key (药品标识 + 分类码 + 通用名码), as 限制规则 lists use: it \
             names a drug group, not a product"
                .to_string(),
            PACK,
            11..11,
        )),
        20 if generic_ok => {
            segments.push(seg(s, 11..15, PACK, None, Certainty::Inferred));
            segments.push(seg(s, 15..20, MAKER, None, Certainty::Inferred));
            Ok(("20-char 中成药", segments))
        }
        _ if !generic_ok => Err(fail(
            "the 中成药 通用名码 is a letter and 4 digits (`G0120`)".to_string(),
            GENERIC,
            6..s.len().min(11),
        )),
        n => Err(fail(
            format!(
                "{n} characters; a 中成药 code has 20 (Z + 分类码 5 + 通用名码 5 + 规格包装码 4 + \
                 企业码 5)"
            ),
            WHOLE,
            0..n,
        )),
    }
}

/// 中药饮片 (10) and 中药配方颗粒 (20): T + 标准分类码 + 功效分类码 + …
fn herbal(s: &str) -> Split {
    let standard = match &s[1..3] {
        "00" => Some("00: national standard (药典), unverified".to_string()),
        p => province(p).map(|name| format!("{p}: local standard of {name}, unverified")),
    };
    let mut segments = vec![
        seg(
            s,
            0..1,
            MARKER,
            Some("T: 中药饮片 / 中药配方颗粒".to_string()),
            Certainty::Inferred,
        ),
        seg(s, 1..3, STANDARD, standard, Certainty::Inferred),
        seg(s, 3..5, EFFICACY, None, Certainty::Inferred),
    ];
    let assumed = "length assumed; not confirmed".to_string();
    segments.push(seg(
        s,
        5..10,
        HERB,
        Some(assumed.clone()),
        Certainty::Unverified,
    ));
    if s.len() == 10 {
        return ("10-char 中药饮片 (unverified)", segments);
    }
    segments.push(seg(
        s,
        10..11,
        GENUINE,
        Some("1 道地药材, 0 not or not established; position assumed".to_string()),
        Certainty::Unverified,
    ));
    segments.push(seg(
        s,
        11..15,
        PACK,
        Some(assumed.clone()),
        Certainty::Unverified,
    ));
    segments.push(seg(s, 15..20, MAKER, Some(assumed), Certainty::Unverified));
    ("20-char 中药配方颗粒 (unverified)", segments)
}

/// 医疗机构制剂: J + 15 characters, from one unconfirmed source.
fn preparation(s: &str) -> Split {
    (
        "16-char 医疗机构制剂 (unverified)",
        vec![
            seg(
                s,
                0..1,
                MARKER,
                Some("J: 医疗机构制剂 (one unconfirmed source)".to_string()),
                Certainty::Unverified,
            ),
            seg(s, 1..16, REST, None, Certainty::Unverified),
        ],
    )
}

/// WHO ATC anatomical main groups.
fn atc_group(letter: u8) -> Option<&'static str> {
    Some(match letter {
        b'A' => "消化道及代谢 (alimentary tract and metabolism)",
        b'B' => "血液和造血器官 (blood and blood-forming organs)",
        b'C' => "心血管系统 (cardiovascular system)",
        b'D' => "皮肤病用药 (dermatologicals)",
        b'G' => "泌尿生殖系统和性激素 (genito-urinary system and sex hormones)",
        b'H' => "全身用激素类制剂 (systemic hormonal preparations)",
        b'J' => "全身用抗感染药 (anti-infectives for systemic use)",
        b'L' => "抗肿瘤药及免疫调节剂 (antineoplastic and immunomodulating agents)",
        b'M' => "肌肉-骨骼系统 (musculo-skeletal system)",
        b'N' => "神经系统 (nervous system)",
        b'P' => "抗寄生虫药 (antiparasitic products)",
        b'R' => "呼吸系统 (respiratory system)",
        b'S' => "感觉器官 (sensory organs)",
        b'V' => "其他 (various)",
        _ => return None,
    })
}

/// The 中成药 section of the 医保目录, where real rule keys agree (A 内科, C 肿瘤, E 眼科, G 骨伤科).
fn patent_class(letter: u8) -> (Option<String>, Certainty) {
    let meaning = match letter {
        b'A' => "A: 内科用药 (internal medicine)",
        b'C' => "C: 肿瘤用药 (oncology)",
        b'E' => "E: 眼科用药 (ophthalmology)",
        b'G' => "G: 骨伤科用药 (orthopaedics and trauma)",
        _ => return (None, Certainty::Inferred),
    };
    (Some(meaning.to_string()), Certainty::Inferred)
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
    fn western_codes_split_into_six_parts() {
        let p = ok("XA01ABD075A002010100483");
        assert!(p.is_well_formed());
        assert_eq!(p.form, "23-char 西药");
        let texts: Vec<&str> = p.segments.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["X", "A01AB", "D075", "A002", "0101", "00483"]);
        assert_eq!(
            p.segments[0].meaning.as_deref(),
            Some("X: 西药 (Western medicine)")
        );
        assert!(p.segments[1]
            .meaning
            .as_deref()
            .is_some_and(|m| m.starts_with("ATC A")));
        assert_eq!(p.segments[5].certainty, Certainty::Inferred);
        let p = ok("xj01caa040a001010102699");
        assert_eq!(p.canonical, "XJ01CAA040A001010102699");
        assert_eq!(p.flags[0].code, "lower-case");
    }

    #[test]
    fn legacy_and_truncated_forms_are_named() {
        let m = err("X-J01CA-A040-A006");
        assert!(m.reason.contains("legacy dashed catalog key"));
        assert!(err("Z-A01BA-G0120").reason.contains("legacy dashed"));
        let m = err("XB06ACL388B0");
        assert!(m.reason.contains("truncated 12-character rule key"));
        assert_eq!(m.segment.as_deref(), Some("剂型码 (dosage-form code)"));
        let m = err("ZA06CAJ0740");
        assert!(m.reason.contains("11-character rule key"));
        let m = err("XJ01CAA04501010113");
        assert!(m.reason.starts_with("18 characters; a 西药 code has 23"));
        assert!(m.reason.contains("the 剂型码 is missing or damaged"));
        assert_eq!(m.segment.as_deref(), Some("剂型码 (dosage-form code)"));
        assert_eq!(m.span, Some(10..18));
        let m = err("XA01ABD075A00201010048");
        assert!(m.reason.contains("the 企业码 is missing or damaged"));
        let m = err("XA01A1D075A002010100483");
        assert_eq!(m.segment.as_deref(), Some("分类码 (classification)"));
    }

    #[test]
    fn patent_and_herbal_forms() {
        let p = ok("ZA04BAX0061020300423");
        assert_eq!(p.form, "20-char 中成药");
        let texts: Vec<&str> = p.segments.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["Z", "A04BA", "X0061", "0203", "00423"]);
        assert_eq!(
            p.segments[1].meaning.as_deref(),
            Some("A: 内科用药 (internal medicine)")
        );
        let m = err("ZA04BAX0061020300423123");
        assert!(m.reason.starts_with("23 characters; a 中成药 code has 20"));
        let p = ok("T511702879");
        assert_eq!(
            p.segments[1].meaning.as_deref(),
            Some("51: local standard of 四川省, unverified")
        );
        let p = ok("T001700643");
        assert_eq!(p.form, "10-char 中药饮片 (unverified)");
        assert_eq!(
            p.segments[1].meaning.as_deref(),
            Some("00: national standard (药典), unverified")
        );
        assert_eq!(p.segments[3].certainty, Certainty::Unverified);
        let p = ok("T3201000101010100001");
        assert_eq!(p.form, "20-char 中药配方颗粒 (unverified)");
        assert_eq!(
            p.segments[1].meaning.as_deref(),
            Some("32: local standard of 江苏省, unverified")
        );
        assert_eq!(p.segments[4].text, "1");
        let p = ok("J420100000000001");
        assert!(p
            .segments
            .iter()
            .all(|s| s.certainty == Certainty::Unverified));
    }

    #[test]
    fn other_kinds_are_not_drugs() {
        for code in [
            "X59.900",
            "Z001",
            "Z01.000",
            "T82.800x003",
            "C0301010010000100001",
            "86900483000019",
            "H32090200001",
            "",
        ] {
            assert!(recognise(code).is_none(), "{code}");
        }
    }
}
