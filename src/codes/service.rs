//! 医疗服务项目分类与代码: 15 digits (`001102000010000`), in records often joined with the 9-digit
//! item code of the 全国医疗服务价格项目规范 (`001102000010000-110200001`). The length and the
//! combined form are verified, and so is the 9-digit price-spec code inside the 15 (`00` + 9
//! digits + 2 拓展 + 2 加收), held against real lists (docs/CODE-STRUCTURES.md); the names of the
//! other parts are inferred.
//! Also names two legacy shapes: the 20-digit local code `60011020000100000000` and a 9-digit
//! price-item code standing alone.

use super::clean::{clean, digits, name, seg, Names};
use super::{Certainty, Kind, Malformed, Parsed, Segment};

const PREFIX: Names = ("前缀", "prefix");
const SPEC_ITEM: Names = ("价格项目编码", "price-spec item code");
const SUB_ITEM: Names = ("拓展码", "extension");
const TAIL: Names = ("加收码", "surcharge");
const PRICE_ITEM: Names = ("价格项目代码", "price-item code");

/// What the 2 digits after the price-spec item are, from real codes.
const SUB: &str =
    "sub-item of the price-spec item: 00 the item itself (001216000010100 导尿(留置导尿), \
                   003401000230600 牵引 + 06 悬吊治疗)";
/// What the last 2 digits are, from real codes.
const SURCHARGE: &str = "00 the item itself; otherwise a surcharge or variant billed with it \
                         (001203000010001 氧气吸入(加压给氧加收), 001208000010002 鼻饲管置管(注药))";
const LOCAL: Names = ("地方扩展", "local extension");
const WHOLE: Names = ("代码", "whole code");

/// Recognise a medical service item code (see the module docs).
pub fn recognise(code: &str) -> Option<Result<Parsed, Malformed>> {
    let cleaned = clean(code);
    let s = cleaned.text.as_str();
    let (head, price) = match s.split_once('-') {
        Some((h, p)) => (h, Some(p)),
        None => (s, None),
    };
    if !digits(head) {
        return None;
    }
    let fail = |reason: String, names: Names, span: std::ops::Range<usize>| {
        Malformed::new(Kind::Service, code, reason).at(name(names), cleaned.to_input(span))
    };
    match (head.len(), price) {
        (15, None) => {}
        (15, Some(p)) => {
            let (item, local) = match p.split_once('.') {
                Some((i, l)) => (i, Some(l)),
                None => (p, None),
            };
            if item.len() != 9 || !digits(item) || local.is_some_and(|l| !digits(l)) {
                return Some(Err(fail(
                    format!(
                        "after the 15 digits and `-` comes the 9-digit price-item code, not `{p}`"
                    ),
                    PRICE_ITEM,
                    16..s.len(),
                )));
            }
        }
        (20, None) if s.starts_with('6') => {
            let mut m = fail(
                "a legacy 20-digit local service code, not the 15-digit national 医疗服务项目代码"
                    .to_string(),
                WHOLE,
                0..20,
            );
            // The one legacy code seen (普通门诊诊查费) is `6` + the national code + `0000`.
            if s.ends_with("0000") {
                m.reason.push_str(
                    "; in the one example seen, 60011020000100000000 (普通门诊诊查费), it is `6` + \
                     the national code + `0000`",
                );
                m = m.suggest(&s[1..16]);
            }
            return Some(Err(m));
        }
        (11, None) if s.starts_with("00") => {
            return Some(Err(fail(
                "an 11-digit local service code (as in 00330610001 扁桃体切除); the national \
                 医疗服务项目代码 has 15 digits"
                    .to_string(),
                WHOLE,
                0..11,
            )))
        }
        (9, None) => {
            return Some(Err(fail(
                "a 9-digit price-item code (全国医疗服务价格项目规范) on its own; the national \
                 医疗服务项目代码 is 15 digits, optionally followed by `-` and this code"
                    .to_string(),
                WHOLE,
                0..9,
            )))
        }
        _ => return None,
    }
    Some(Ok(parsed(code, s, cleaned.flags)))
}

fn parsed(input: &str, s: &str, flags: Vec<super::Flag>) -> Parsed {
    let prefix = (&s[..2] != "00").then(|| {
        "every national code seen starts `00`; codes starting otherwise (e.g. `33`) were local \
         variants"
            .to_string()
    });
    let class = match &s[2..4] {
        "11" => "; its first 2 digits 11: 一般医疗服务 (general medical services)",
        "12" => "; its first 2 digits 12: 一般治疗操作 (general treatment procedures)",
        _ => "",
    };
    let segments: Vec<Segment> = vec![
        seg(s, 0..2, PREFIX, prefix, Certainty::Unverified),
        seg(
            s,
            2..11,
            SPEC_ITEM,
            Some(format!(
                "the item code of the 全国医疗服务价格项目规范 (as after `-` in \
                 001102000010000-110200001; 2,978 of 3,056 real national codes carry a \
                 9-digit code of a provincial price list there){class}"
            )),
            Certainty::Verified,
        ),
        seg(
            s,
            11..13,
            SUB_ITEM,
            Some(SUB.to_string()),
            Certainty::Inferred,
        ),
        seg(
            s,
            13..15,
            TAIL,
            Some(SURCHARGE.to_string()),
            Certainty::Inferred,
        ),
    ];
    let mut segments = segments;
    let mut form = "15-digit";
    if s.len() > 15 {
        segments.push(seg(
            s,
            16..25,
            PRICE_ITEM,
            Some("item code of the 全国医疗服务价格项目规范 (or a local one)".to_string()),
            Certainty::Verified,
        ));
        form = "15-digit + price-item code";
    }
    if s.len() > 25 {
        segments.push(seg(
            s,
            26..s.len(),
            LOCAL,
            Some("a local suffix after `.`, seen in a 重庆 catalog (500000)".to_string()),
            Certainty::Unverified,
        ));
        form = "15-digit + price-item code + local suffix";
    }
    Parsed {
        kind: Kind::Service,
        input: input.to_string(),
        canonical: s.to_string(),
        form,
        segments,
        flags,
    }
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
    fn the_documented_forms_parse() {
        let p = ok("001102000010000");
        assert_eq!(p.form, "15-digit");
        assert!(p.is_well_formed());
        let texts: Vec<&str> = p.segments.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["00", "110200001", "00", "00"]);
        assert_eq!(p.segments[1].certainty, Certainty::Verified);
        assert!(p.segments[1]
            .meaning
            .as_deref()
            .is_some_and(|m| m.contains("11: 一般医疗服务")));
        assert_eq!(p.segments[3].certainty, Certainty::Inferred);
        let p = ok("001216000010100");
        assert_eq!(p.segments[2].text, "01");
        let p = ok("001102000010000-110200001");
        assert_eq!(p.form, "15-digit + price-item code");
        assert_eq!(p.segments[4].text, "110200001");
        assert_eq!(p.segments[4].certainty, Certainty::Verified);
        assert_eq!(p.segments[1].text, p.segments[4].text);
        let p = ok("001102000000100-110200002.10");
        assert_eq!(p.segments[5].text, "10");
        assert_eq!(p.segments[5].certainty, Certainty::Unverified);
        let p = ok(" 001101000010000 ");
        assert_eq!(p.flags[0].code, "surrounding-space");
    }

    #[test]
    fn legacy_shapes_are_named() {
        let m = err("60011020000100000000");
        assert!(m.reason.starts_with("a legacy 20-digit local service code"));
        assert_eq!(m.suggestion.as_deref(), Some("001102000010000"));
        let m = err("110200001");
        assert!(m.reason.contains("9-digit price-item code"));
        let m = err("00330610001");
        assert!(m.reason.starts_with("an 11-digit local service code"));
        let m = err("001102000010000-11020001");
        assert_eq!(m.segment.as_deref(), Some("价格项目代码 (price-item code)"));
        assert_eq!(m.span, Some(16..24));
    }

    #[test]
    fn other_digit_strings_are_not_service_items() {
        for code in [
            "320900",
            "86900483000019",
            "11010519491231002X",
            "440524188001010014",
            "0011020000100001",
            "00.0100",
            "",
        ] {
            assert!(recognise(code).is_none(), "{code}");
        }
    }
}
