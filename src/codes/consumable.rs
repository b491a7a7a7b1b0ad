//! 医保医用耗材分类与代码: `C` + 6-digit 分类码 + 3-digit 通用名码 + 5-digit 产品特征码 + 5-digit
//! 生产企业码 = 20 characters; the 27-character form adds a 7-digit serial for the single product
//! or specification-model level. Structure from `code-families.md`, confirmed by the NHSA coding
//! rule as reprinted on public pages (see docs/CODE-STRUCTURES.md).

use super::clean::{clean, digits, lower_case_flag, name, seg, Names};
use super::{Certainty, Kind, Malformed, Parsed};

const MARKER: Names = ("耗材标识码", "consumable marker");
const CLASS: Names = ("分类码", "classification");
const DISCIPLINE: Names = ("一级分类", "level 1: discipline");
const USE: Names = ("二级分类", "level 2: use");
const SITE: Names = ("三级分类", "level 3: site/function");
const GENERIC: Names = ("通用名码", "generic-name code");
const FEATURE: Names = ("产品特征码", "product-feature code");
const MAKER: Names = ("生产企业码", "manufacturer code");
const SERIAL: Names = ("流水号", "serial number");

/// The 6-digit 分类码 is verified; its 2+2+2 split into three levels is inferred.
const SPLIT: &str = "2 of the 6 digits of the 分类码; published tables give each level as `NN-名称` \
                     (一级分类（学科、品类）, 二级分类（用途、品目）, 三级分类（部位、功能、品种）)";

/// The parts after the marker, with their lengths, in order.
const PARTS: [(Names, usize); 4] = [(CLASS, 6), (GENERIC, 3), (FEATURE, 5), (MAKER, 5)];

/// Recognise a consumable code (see the module docs).
pub fn recognise(code: &str) -> Option<Result<Parsed, Malformed>> {
    let cleaned = clean(code);
    let t = cleaned.text.as_str();
    let body = t.strip_prefix('C').or_else(|| t.strip_prefix('c'))?;
    if body.len() < 10 || !digits(body) {
        return None;
    }
    let mut flags = cleaned.flags.clone();
    if t.starts_with('c') {
        flags.push(lower_case_flag());
    }
    let s = format!("C{body}");
    if s.len() != 20 && s.len() != 27 {
        // Name the first part the characters run out in (or the surplus).
        let mut at = 1;
        let mut missing = None;
        for (names, len) in PARTS {
            if s.len() < at + len {
                missing = Some(names);
                break;
            }
            at += len;
        }
        let (segment, span) = match missing {
            Some(names) => (names, at..s.len()),
            None => (SERIAL, 20..s.len()),
        };
        let m = Malformed::new(
            Kind::Consumable,
            code,
            format!(
                "{} characters; a consumable code has 20 (C + 分类码 6 + 通用名码 3 + 产品特征码 5 \
                 + 生产企业码 5) or 27 (+ a 7-digit serial)",
                s.len()
            ),
        )
        .at(name(segment), cleaned.to_input(span));
        return Some(Err(m));
    }
    let mut segments = vec![
        seg(&s, 0..1, MARKER, None, Certainty::Verified),
        seg(
            &s,
            1..3,
            DISCIPLINE,
            Some(SPLIT.to_string()),
            Certainty::Inferred,
        ),
        seg(&s, 3..5, USE, Some(SPLIT.to_string()), Certainty::Inferred),
        seg(&s, 5..7, SITE, Some(SPLIT.to_string()), Certainty::Inferred),
        seg(&s, 7..10, GENERIC, None, Certainty::Verified),
        seg(
            &s,
            10..15,
            FEATURE,
            Some("material, specification and similar features".to_string()),
            Certainty::Verified,
        ),
        seg(
            &s,
            15..20,
            MAKER,
            Some("assigned from the device registration certificate or filing".to_string()),
            Certainty::Verified,
        ),
    ];
    let form = if s.len() == 27 {
        segments.push(seg(
            &s,
            20..27,
            SERIAL,
            Some("single product / specification-model level".to_string()),
            Certainty::Verified,
        ));
        "27-char (单件产品/规格型号)"
    } else {
        "20-char"
    };
    Some(Ok(Parsed {
        kind: Kind::Consumable,
        input: code.to_string(),
        canonical: s,
        form,
        segments,
        flags,
    }))
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
    fn both_lengths_parse() {
        assert!(
            matches!(recognise("C14010201100100001234"), Some(Err(_))),
            "21 characters"
        );
        let p = ok("C0301010010000100001");
        assert_eq!(p.form, "20-char");
        let texts: Vec<&str> = p.segments.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(texts, ["C", "03", "01", "01", "001", "00001", "00001"]);
        assert_eq!(p.segments[1].certainty, Certainty::Inferred);
        assert_eq!(p.segments[4].certainty, Certainty::Verified);
        let p = ok("C03010100100001000011234567");
        assert_eq!(p.form, "27-char (单件产品/规格型号)");
        assert_eq!(p.segments[7].text, "1234567");
        let p = ok("c0301010010000100001");
        assert_eq!(p.canonical, "C0301010010000100001");
        assert_eq!(p.flags[0].code, "lower-case");
    }

    #[test]
    fn wrong_lengths_name_the_part() {
        let m = err("C03010100100001");
        assert_eq!(m.segment.as_deref(), Some("生产企业码 (manufacturer code)"));
        assert!(m.reason.starts_with("15 characters"));
        let m = err("C030101001000010000112");
        assert_eq!(m.segment.as_deref(), Some("流水号 (serial number)"));
        assert_eq!(m.span, Some(20..22));
    }

    #[test]
    fn other_kinds_are_not_consumables() {
        for code in ["C22.101", "C34.900x004", "C001", "CA01ABD075", ""] {
            assert!(recognise(code).is_none(), "{code}");
        }
    }
}
