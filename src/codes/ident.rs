//! The identifiers records carry besides the five families: 定点医疗机构/药店 codes (`H`/`P` + 11
//! digits), 医保医师/护士 codes (`D`/`N` + 12 digits), 6-digit GB/T 2260 area codes, resident IDs
//! (GB 11643), unified social credit codes (GB 32100), 药品本位码, 批准文号 and 医疗器械注册证号.
//! Check characters come from [`super::checkdigit`]; facts from `shared/domain/legacy-data.md`.

use chrono::NaiveDate;

use super::checkdigit::{gb11643_check, gb11714_check, gb32100_check, gb32100_value, gs1_check};
use super::clean::{clean, digits, lower_case_flag, name, province, seg, Cleaned, Names};
use super::{Certainty, Flag, Kind, Malformed, Parsed, Segment};

const MARKER: Names = ("类别标识", "kind marker");
const AREA: Names = ("行政区划", "administrative area");
const SEQUENCE: Names = ("顺序号", "sequence number");
const PROVINCE: Names = ("省级", "province");
const PREFECTURE: Names = ("地级", "prefecture");
const COUNTY: Names = ("县级", "county");
const ID_AREA: Names = ("地址码", "address code");
const BIRTH: Names = ("出生日期码", "birth date");
const ID_SEQ: Names = ("顺序码", "sequence code");
const CHECK: Names = ("校验码", "check character");
const DEPT: Names = ("登记管理部门码", "registration authority");
const ORG_TYPE: Names = ("机构类别码", "organisation type");
const REG_AREA: Names = ("登记管理机关行政区划码", "registration area");
const ORG_CODE: Names = ("主体标识码", "organisation code (GB 11714)");
const COUNTRY: Names = ("国别码", "country prefix");
const CATEGORY: Names = ("类别码", "category");
const ENTERPRISE: Names = ("企业码", "enterprise code");
const PRODUCT: Names = ("产品码", "product code");
const PREFIX: Names = ("前缀", "prefix");
const LETTER: Names = ("类别", "category letter");
const SOURCE: Names = ("来源码", "issuer code");
const YEAR: Names = ("年份", "year");
const CLASS: Names = ("管理类别", "risk class");
const DEVICE_CAT: Names = ("分类编码", "product category");
const WHOLE: Names = ("代码", "whole code");

/// Recognise `code` as the identifier `kind`; `None` for the five families (see their modules).
pub fn recognise(kind: Kind, code: &str) -> Option<Result<Parsed, Malformed>> {
    let cleaned = clean(code);
    let cx = Cx {
        kind,
        input: code,
        flags: cleaned.flags.clone(),
        cleaned: &cleaned,
    };
    match kind {
        Kind::Institution => practice(
            cx,
            'H',
            11,
            "H: 定点医疗机构 (designated medical institution)",
        ),
        Kind::Pharmacy => practice(cx, 'P', 11, "P: 定点零售药店 (designated retail pharmacy)"),
        Kind::Doctor => practice(cx, 'D', 12, "D: 医保医师 (insurance-registered doctor)"),
        Kind::Nurse => practice(cx, 'N', 12, "N: 医保护士 (insurance-registered nurse)"),
        Kind::AdminArea => admin_area(cx),
        Kind::ResidentId => resident_id(cx),
        Kind::CreditCode => credit_code(cx),
        Kind::DrugStandardCode => standard_code(cx),
        Kind::ApprovalNumber => approval(cx),
        Kind::DeviceRegistration => device(cx),
        _ => None,
    }
}

/// What every identifier parser needs: the kind, the raw input, the cleaned text and its flags.
struct Cx<'a> {
    kind: Kind,
    input: &'a str,
    cleaned: &'a Cleaned,
    flags: Vec<Flag>,
}

type Outcome = Option<Result<Parsed, Malformed>>;

impl Cx<'_> {
    fn text(&self) -> &str {
        &self.cleaned.text
    }

    fn fail(
        &self,
        reason: impl Into<String>,
        names: Names,
        span: std::ops::Range<usize>,
    ) -> Outcome {
        Some(Err(Malformed::new(self.kind, self.input, reason)
            .at(name(names), self.cleaned.to_input(span))))
    }

    /// Upper-case the text, flagging lower case.
    fn upper(&mut self) -> String {
        let upper = self.cleaned.text.to_ascii_uppercase();
        if upper != self.cleaned.text {
            self.flags.push(lower_case_flag());
        }
        upper
    }

    fn done(self, canonical: String, form: &'static str, segments: Vec<Segment>) -> Outcome {
        Some(Ok(Parsed {
            kind: self.kind,
            input: self.input.to_string(),
            canonical,
            form,
            segments,
            flags: self.flags,
        }))
    }
}

fn province_meaning(area: &str) -> Option<String> {
    area.get(..2)
        .and_then(province)
        .map(|p| format!("{}: {p}", &area[..2]))
}

/// `H`/`P` + 11 digits, `D`/`N` + 12 digits: the letter, a 6-digit area (inferred from real
/// codes such as H43010001001, P33052200672, D371072007682) and a sequence number.
fn practice(mut cx: Cx, letter: char, len: usize, meaning: &str) -> Outcome {
    let t = cx.text();
    let rest = t.strip_prefix([letter, letter.to_ascii_lowercase()])?;
    // Lengths far from the standard one are some other code (`H20067255` is a 批准文号 body).
    if !digits(rest) || rest.len() + 2 < len || rest.len() > len + 2 {
        return None;
    }
    if rest.len() != len {
        return cx.fail(
            format!(
                "{} digits after `{letter}`; a {} has {len}",
                rest.len(),
                cx.kind.title_zh()
            ),
            SEQUENCE,
            1..t.len(),
        );
    }
    let s = cx.upper();
    let segments = vec![
        seg(
            &s,
            0..1,
            MARKER,
            Some(meaning.to_string()),
            Certainty::Verified,
        ),
        seg(
            &s,
            1..7,
            AREA,
            province_meaning(&s[1..7]),
            Certainty::Inferred,
        ),
        seg(&s, 7..s.len(), SEQUENCE, None, Certainty::Inferred),
    ];
    let form = if len == 11 { "12-char" } else { "13-char" };
    cx.done(s, form, segments)
}

/// GB/T 2260: 2-digit province, 2-digit prefecture, 2-digit county.
fn admin_area(cx: Cx) -> Outcome {
    let s = cx.text().to_string();
    if s.len() != 6 || !digits(&s) {
        return None;
    }
    if province(&s[..2]).is_none() {
        return cx.fail(
            format!(
                "`{}` is not a GB/T 2260 province code (11–15, 21–23, 31–37, 41–46, 50–54, 61–65, \
                 71, 81, 82)",
                &s[..2]
            ),
            PROVINCE,
            0..2,
        );
    }
    let level = |part: &str, what: &str| (part == "00").then(|| format!("00: {what}"));
    let segments = vec![
        seg(
            &s,
            0..2,
            PROVINCE,
            province_meaning(&s),
            Certainty::Verified,
        ),
        seg(
            &s,
            2..4,
            PREFECTURE,
            level(&s[2..4], "the province itself"),
            Certainty::Verified,
        ),
        seg(
            &s,
            4..6,
            COUNTY,
            level(&s[4..6], "the prefecture itself"),
            Certainty::Verified,
        ),
    ];
    cx.done(s, "6-digit", segments)
}

/// GB 11643-1999: area (6), birth date (8), sequence (3, odd = male), check character.
fn resident_id(mut cx: Cx) -> Outcome {
    let t = cx.text();
    let b = t.as_bytes();
    let shape = b.len() == 18
        && b[..17].iter().all(u8::is_ascii_digit)
        && (b[17].is_ascii_digit() || b[17] == b'X' || b[17] == b'x');
    if !shape {
        return None;
    }
    let s = cx.upper();
    if province(&s[..2]).is_none() {
        return cx.fail(
            format!(
                "the 地址码 `{}` does not start with a GB/T 2260 province code",
                &s[..6]
            ),
            ID_AREA,
            0..6,
        );
    }
    let date = s[6..14].parse::<u32>().ok().and_then(|d| {
        let year = i32::try_from(d / 10000).ok()?;
        NaiveDate::from_ymd_opt(year, d / 100 % 100, d % 100)
            .filter(|_| (1800..2200).contains(&year))
    });
    let Some(date) = date else {
        return cx.fail(
            format!("the 出生日期码 `{}` is not a real date", &s[6..14]),
            BIRTH,
            6..14,
        );
    };
    let expected = gb11643_check(&s[..17]);
    if expected != s[17..].chars().next() {
        let want = expected.map(String::from).unwrap_or_default();
        return cx.fail(
            format!(
                "the check character is `{}`, but the first 17 digits give `{want}`",
                &s[17..]
            ),
            CHECK,
            17..18,
        );
    }
    let digit17 = s.as_bytes()[16] - b'0';
    let sex = if digit17 % 2 == 1 {
        "男 (male)"
    } else {
        "女 (female)"
    };
    let segments = vec![
        seg(&s, 0..6, ID_AREA, province_meaning(&s), Certainty::Verified),
        seg(
            &s,
            6..14,
            BIRTH,
            Some(date.format("%Y-%m-%d").to_string()),
            Certainty::Verified,
        ),
        seg(
            &s,
            14..17,
            ID_SEQ,
            Some(format!("17th digit {digit17}: {sex}")),
            Certainty::Verified,
        ),
        seg(
            &s,
            17..18,
            CHECK,
            Some("GB 11643 MOD 11-2".to_string()),
            Certainty::Verified,
        ),
    ];
    cx.done(s, "18-char", segments)
}

/// GB 32100-2015: authority (1), type (1), area (6), GB 11714 organisation code (9), check (1).
fn credit_code(mut cx: Cx) -> Outcome {
    let t = cx.text();
    let b = t.as_bytes();
    if b.len() != 18 || !b.iter().all(u8::is_ascii_alphanumeric) || !digits(&t[2..8]) {
        return None;
    }
    let s = cx.upper();
    if let Some(i) = s.find(|c| gb32100_value(c).is_none()) {
        return cx.fail(
            format!(
                "`{}` is not a GB 32100 character (it has no I, O, S, V, Z)",
                &s[i..=i]
            ),
            WHOLE,
            i..i + 1,
        );
    }
    if gb11714_check(&s[8..16]) != s[16..17].chars().next() {
        return cx.fail(
            format!(
                "the organisation code `{}` fails its GB 11714 check character",
                &s[8..17]
            ),
            ORG_CODE,
            8..17,
        );
    }
    let expected = gb32100_check(&s[..17]);
    if expected != s[17..].chars().next() {
        let want = expected.map(String::from).unwrap_or_default();
        return cx.fail(
            format!(
                "the check character is `{}`, but the first 17 characters give `{want}`",
                &s[17..]
            ),
            CHECK,
            17..18,
        );
    }
    let dept = match &s[..1] {
        "1" => Some("1: 机构编制 (establishment), unverified"),
        "5" => Some("5: 民政 (civil affairs), unverified"),
        "9" => Some("9: 工商/市场监管 (market regulation), unverified"),
        "Y" => Some("Y: 其他 (other), unverified"),
        _ => None,
    };
    let org_type = match &s[..2] {
        "91" => Some("1: 企业 (enterprise), unverified"),
        "92" => Some("2: 个体工商户 (individual business), unverified"),
        "93" => Some("3: 农民专业合作社 (farmers' cooperative), unverified"),
        _ => None,
    };
    let segments = vec![
        seg(
            &s,
            0..1,
            DEPT,
            dept.map(String::from),
            Certainty::Unverified,
        ),
        seg(
            &s,
            1..2,
            ORG_TYPE,
            org_type.map(String::from),
            Certainty::Unverified,
        ),
        seg(
            &s,
            2..8,
            REG_AREA,
            province_meaning(&s[2..8]),
            Certainty::Verified,
        ),
        seg(
            &s,
            8..17,
            ORG_CODE,
            Some("its GB 11714 check passes".to_string()),
            Certainty::Verified,
        ),
        seg(
            &s,
            17..18,
            CHECK,
            Some("GB 32100 MOD 31".to_string()),
            Certainty::Verified,
        ),
    ];
    cx.done(s, "18-char", segments)
}

/// 药品本位码: 86 + 9 + 5-digit enterprise + 5-digit product + GS1 check digit.
fn standard_code(cx: Cx) -> Outcome {
    let t = cx.text().to_string();
    let parts: Vec<&str> = t.split([';', '；', ',', '，']).map(str::trim).collect();
    if parts.len() > 1 && parts.iter().all(|p| p.len() == 14 && digits(p)) {
        return cx.fail(
            format!(
                "{} 本位码 in one field ({}); split them",
                parts.len(),
                parts.join(", ")
            ),
            WHOLE,
            0..t.len(),
        );
    }
    if t.len() != 14 || !digits(&t) {
        return None;
    }
    if !t.starts_with("86") {
        return cx.fail("a 本位码 starts with 86 (China)", COUNTRY, 0..2);
    }
    if &t[2..3] != "9" {
        return cx.fail("the 3rd digit of a 本位码 is 9 (药品)", CATEGORY, 2..3);
    }
    let expected = gs1_check(&t[..13]);
    if expected != t[13..].chars().next() {
        let want = expected.map(String::from).unwrap_or_default();
        return cx.fail(
            format!(
                "the GS1 check digit is `{}`, but the first 13 digits give `{want}`",
                &t[13..]
            ),
            CHECK,
            13..14,
        );
    }
    let segments = vec![
        seg(
            &t,
            0..2,
            COUNTRY,
            Some("86: China".to_string()),
            Certainty::Verified,
        ),
        seg(
            &t,
            2..3,
            CATEGORY,
            Some("9: 药品 (drug)".to_string()),
            Certainty::Verified,
        ),
        seg(&t, 3..8, ENTERPRISE, None, Certainty::Verified),
        seg(&t, 8..13, PRODUCT, None, Certainty::Verified),
        seg(
            &t,
            13..14,
            CHECK,
            Some("GS1 mod 10".to_string()),
            Certainty::Verified,
        ),
    ];
    cx.done(t, "14-digit", segments)
}

const APPROVAL_PREFIX: &str = "国药准字";

fn approval_letter(l: &str) -> Option<&'static str> {
    Some(match l {
        "H" => "H: 化学药品 (chemical drug)",
        "Z" => "Z: 中成药 (Chinese patent medicine)",
        "S" => "S: 生物制品 (biological product)",
        "B" => "B: 保健药品 (health drug)",
        "T" => "T: 体外诊断试剂 (in-vitro diagnostic reagent)",
        "F" => "F: 药用辅料 (excipient)",
        "J" => "J: 进口分包装 (imported, repacked)",
        "HJ" => "HJ: 化学药品, 进口分包装",
        "ZJ" => "ZJ: 中成药, 进口分包装",
        "SJ" => "SJ: 生物制品, 进口分包装",
        _ => return None,
    })
}

/// 国药准字 + H/Z/S/B/T/F/J (or HJ/ZJ/SJ) + 8 digits; the first 2 digits name the issuer.
fn approval(mut cx: Cx) -> Outcome {
    let upper = cx.upper();
    let (body, p) = match upper.strip_prefix(APPROVAL_PREFIX) {
        Some(body) => (body.to_string(), upper.len() - body.len()),
        None => {
            let l = upper.trim_end_matches(|c: char| c.is_ascii_digit());
            let bare = approval_letter(l).is_some() && upper.len() - l.len() == 8;
            if !bare {
                return None;
            }
            let m = Malformed::new(cx.kind, cx.input, "the 国药准字 prefix is missing")
                .at(name(PREFIX), cx.cleaned.to_input(0..0))
                .suggest(format!("{APPROVAL_PREFIX}{upper}"));
            return Some(Err(m));
        }
    };
    let letters = body.trim_end_matches(|c: char| c.is_ascii_digit());
    let nums = &body[letters.len()..];
    let Some(letter_meaning) = approval_letter(letters) else {
        return cx.fail(
            format!("`{letters}` is not a 批准文号 category (H, Z, S, B, T, F, J, HJ, ZJ, SJ)"),
            LETTER,
            p..p + letters.len(),
        );
    };
    let d = p + letters.len();
    if nums.len() != 8 {
        return cx.fail(
            format!("{} digits after `{letters}`; a 批准文号 has 8", nums.len()),
            SEQUENCE,
            d..upper.len(),
        );
    }
    let source = match &nums[..2] {
        "10" => Some("10: 原卫生部 (former Ministry of Health)".to_string()),
        "19" | "20" => Some(format!(
            "{}: 国家药品监督管理局 (national regulator)",
            &nums[..2]
        )),
        code => province(code).map(|name| format!("{code}: {name}")),
    };
    let Some(source) = source else {
        return cx.fail(
            format!(
                "`{}` is not a 批准文号 issuer (10, 19, 20 or a province code)",
                &nums[..2]
            ),
            SOURCE,
            d..d + 2,
        );
    };
    let mut segments = vec![
        seg(&upper, 0..p, PREFIX, None, Certainty::Verified),
        seg(
            &upper,
            p..d,
            LETTER,
            Some(letter_meaning.to_string()),
            Certainty::Verified,
        ),
        seg(&upper, d..d + 2, SOURCE, Some(source), Certainty::Verified),
    ];
    match &nums[..2] {
        "20" => {
            segments.push(seg(
                &upper,
                d + 2..d + 4,
                YEAR,
                Some(format!("20{}", &nums[2..4])),
                Certainty::Verified,
            ));
            segments.push(seg(
                &upper,
                d + 4..d + 8,
                SEQUENCE,
                None,
                Certainty::Inferred,
            ));
        }
        _ => segments.push(seg(
            &upper,
            d + 2..d + 8,
            SEQUENCE,
            None,
            Certainty::Unverified,
        )),
    }
    cx.done(upper, "国药准字 + letter + 8 digits", segments)
}

/// 国械注准/进/许 + year (4) + class (1) + category (2) + sequence (4): `国械注准20213030647`.
fn device(cx: Cx) -> Outcome {
    let t = cx.text().to_string();
    if t.starts_with("国食药监械") {
        return cx.fail(
            "the pre-2014 registration format (国食药监械(准)字…); not parsed",
            WHOLE,
            0..t.len(),
        );
    }
    let first = t.chars().next()?;
    let rest = &t[first.len_utf8()..];
    let tail = ["械注准", "械注进", "械注许"]
        .iter()
        .find_map(|p| rest.strip_prefix(p))?;
    let p = t.len() - tail.len();
    let national = first == '国';
    if !national && !('\u{4E00}'..='\u{9FFF}').contains(&first) {
        return None;
    }
    if tail.len() != 11 || !digits(tail) {
        return cx.fail(
            format!("`{tail}` after the prefix; a 注册证号 continues with 11 digits (year, class, category, sequence)"),
            SEQUENCE,
            p..t.len(),
        );
    }
    let year: u32 = tail[..4].parse().unwrap_or(0);
    if !(1990..2100).contains(&year) {
        return cx.fail(
            format!("`{}` is not a registration year", &tail[..4]),
            YEAR,
            p..p + 4,
        );
    }
    let kind = match rest.chars().nth(2) {
        Some('准') => "准: 境内 (domestic)",
        Some('进') => "进: 进口 (imported)",
        _ => "许: 港澳台 (Hong Kong, Macao, Taiwan)",
    };
    let issuer = if national {
        "国: 国家药品监督管理局 (national)".to_string()
    } else {
        format!("{first}: a provincial registration")
    };
    let segments = vec![
        seg(
            &t,
            0..p,
            PREFIX,
            Some(format!("{issuer}; {kind}")),
            Certainty::Unverified,
        ),
        seg(
            &t,
            p..p + 4,
            YEAR,
            Some(year.to_string()),
            Certainty::Verified,
        ),
        seg(&t, p + 4..p + 5, CLASS, None, Certainty::Verified),
        seg(&t, p + 5..p + 7, DEVICE_CAT, None, Certainty::Verified),
        seg(&t, p + 7..p + 11, SEQUENCE, None, Certainty::Verified),
    ];
    cx.done(t, "prefix + 11 digits", segments)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(kind: Kind, code: &str) -> Parsed {
        match recognise(kind, code) {
            Some(Ok(p)) => p,
            other => panic!("{kind} {code}: {other:?}"),
        }
    }

    fn err(kind: Kind, code: &str) -> Malformed {
        match recognise(kind, code) {
            Some(Err(m)) => m,
            other => panic!("{kind} {code}: {other:?}"),
        }
    }

    #[test]
    fn practice_codes() {
        let p = ok(Kind::Institution, "H43010001001");
        assert_eq!(p.segments[1].meaning.as_deref(), Some("43: 湖南省"));
        assert_eq!(p.segments[1].certainty, Certainty::Inferred);
        ok(Kind::Pharmacy, "P33052200672");
        let p = ok(Kind::Doctor, "D371072007682");
        assert_eq!(p.segments[2].text, "007682");
        ok(Kind::Nurse, "N371003004401");
        let p = ok(Kind::Doctor, "d371072007682");
        assert_eq!(p.flags[0].code, "lower-case");
        let m = err(Kind::Doctor, "D37107200768");
        assert!(m
            .reason
            .starts_with("11 digits after `D`; a 医保医师代码 has 12"));
        assert!(recognise(Kind::Nurse, "D371072007682").is_none());
        assert!(recognise(Kind::Institution, "H20067255").is_none());
        assert!(recognise(Kind::Doctor, "D24.x01").is_none());
    }

    #[test]
    fn admin_areas_check_the_province() {
        let p = ok(Kind::AdminArea, "320900");
        assert_eq!(p.segments[0].meaning.as_deref(), Some("32: 江苏省"));
        let p = ok(Kind::AdminArea, "110000");
        assert_eq!(
            p.segments[1].meaning.as_deref(),
            Some("00: the province itself")
        );
        let m = err(Kind::AdminArea, "990100");
        assert_eq!(m.segment.as_deref(), Some("省级 (province)"));
        assert!(recognise(Kind::AdminArea, "3209").is_none());
    }

    #[test]
    fn resident_ids() {
        let p = ok(Kind::ResidentId, "11010519491231002X");
        assert_eq!(p.segments[0].meaning.as_deref(), Some("11: 北京市"));
        assert_eq!(p.segments[1].meaning.as_deref(), Some("1949-12-31"));
        assert_eq!(
            p.segments[2].meaning.as_deref(),
            Some("17th digit 2: 女 (female)")
        );
        let p = ok(Kind::ResidentId, "440524188001010014");
        assert_eq!(
            p.segments[2].meaning.as_deref(),
            Some("17th digit 1: 男 (male)")
        );
        let p = ok(Kind::ResidentId, "11010519491231002x");
        assert_eq!(p.flags[0].code, "lower-case");
        let m = err(Kind::ResidentId, "110105194912310021");
        assert_eq!(m.segment.as_deref(), Some("校验码 (check character)"));
        assert!(m.reason.contains("give `X`"));
        let m = err(Kind::ResidentId, "11010519490231002X");
        assert_eq!(m.segment.as_deref(), Some("出生日期码 (birth date)"));
        let m = err(Kind::ResidentId, "99010519491231002X");
        assert_eq!(m.segment.as_deref(), Some("地址码 (address code)"));
        assert!(
            recognise(Kind::ResidentId, "110105491231002").is_none(),
            "15-digit IDs are service-item shaped"
        );
    }

    #[test]
    fn credit_codes() {
        for code in [
            "91350200776049653A",
            "913502000728319549",
            "91350500798359476R",
            "91440101MA5CJQ4N59",
        ] {
            let p = ok(Kind::CreditCode, code);
            assert_eq!(p.segments[3].certainty, Certainty::Verified);
        }
        let p = ok(Kind::CreditCode, "91350200776049653A");
        assert_eq!(p.segments[2].meaning.as_deref(), Some("35: 福建省"));
        let m = err(Kind::CreditCode, "91350203M0001QAY9B");
        assert_eq!(m.segment.as_deref(), Some("校验码 (check character)"));
        assert!(m.reason.contains("give `9`"));
        let m = err(Kind::CreditCode, "91350200776049654A");
        assert_eq!(
            m.segment.as_deref(),
            Some("主体标识码 (organisation code (GB 11714))")
        );
        let m = err(Kind::CreditCode, "91350200I76049653A");
        assert!(m.reason.contains("not a GB 32100 character"));
        assert!(recognise(Kind::CreditCode, "XJ01CAA04501010113").is_none());
    }

    #[test]
    fn drug_standard_codes() {
        let p = ok(Kind::DrugStandardCode, "86900483000019");
        assert_eq!(p.segments[2].text, "00483");
        let m = err(Kind::DrugStandardCode, "86900483000018");
        assert!(m.reason.contains("give `9`"));
        let m = err(Kind::DrugStandardCode, "86904495000166；86904495000173");
        assert!(m.reason.starts_with("2 本位码 in one field"));
        let m = err(Kind::DrugStandardCode, "69012345678901");
        assert_eq!(m.segment.as_deref(), Some("国别码 (country prefix)"));
        assert!(recognise(Kind::DrugStandardCode, "001102000010000").is_none());
    }

    #[test]
    fn approval_numbers() {
        let p = ok(Kind::ApprovalNumber, "国药准字H20067255");
        let texts: Vec<&str> = p.segments.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["国药准字", "H", "20", "06", "7255"]);
        assert_eq!(p.segments[3].meaning.as_deref(), Some("2006"));
        let p = ok(Kind::ApprovalNumber, "国药准字Z44023372");
        assert_eq!(p.segments[2].meaning.as_deref(), Some("44: 广东省"));
        let p = ok(Kind::ApprovalNumber, "国药准字HJ20171237");
        assert_eq!(p.segments[1].text, "HJ");
        let m = err(Kind::ApprovalNumber, "H20067255");
        assert_eq!(m.suggestion.as_deref(), Some("国药准字H20067255"));
        let m = err(Kind::ApprovalNumber, "国药准字X20067255");
        assert_eq!(m.segment.as_deref(), Some("类别 (category letter)"));
        assert_eq!(m.span, Some(12..13));
        let m = err(Kind::ApprovalNumber, "国药准字H2006725");
        assert!(m.reason.starts_with("7 digits"));
        let m = err(Kind::ApprovalNumber, "国药准字H99067255");
        assert_eq!(m.segment.as_deref(), Some("来源码 (issuer code)"));
    }

    #[test]
    fn device_registrations() {
        let p = ok(Kind::DeviceRegistration, "国械注准20213030647");
        let texts: Vec<&str> = p.segments.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["国械注准", "2021", "3", "03", "0647"]);
        ok(Kind::DeviceRegistration, "国械注进20173460123");
        let p = ok(Kind::DeviceRegistration, "粤械注准20192140001");
        assert!(p.segments[0]
            .meaning
            .as_deref()
            .is_some_and(|m| m.contains("provincial")));
        let m = err(Kind::DeviceRegistration, "国械注准2021303064");
        assert_eq!(m.segment.as_deref(), Some("顺序号 (sequence number)"));
        let m = err(Kind::DeviceRegistration, "国食药监械(准)字2014第3460001号");
        assert!(m.reason.contains("pre-2014"));
        assert!(recognise(Kind::DeviceRegistration, "国药准字H20067255").is_none());
    }

    #[test]
    fn families_are_not_identifiers() {
        assert!(recognise(Kind::Diagnosis, "A01.000").is_none());
    }
}
