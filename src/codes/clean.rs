//! What every family parser does first: undo the defects that do not change a code's meaning
//! (surrounding spaces, full-width characters) and record each as a [`Flag`], plus small helpers
//! for building segments and naming them in errors. Kept in one place so every family reports
//! the same defect under the same flag code.

use std::ops::Range;

use super::{Certainty, Flag, Segment};

/// A code after the family-independent clean-up.
pub(crate) struct Cleaned {
    /// The code trimmed and with full-width ASCII folded to half-width.
    pub text: String,
    /// One flag per kind of defect undone.
    pub flags: Vec<Flag>,
    /// For every byte offset of `text` (and its end), the byte offset in the input.
    offsets: Vec<usize>,
}

impl Cleaned {
    /// Map a byte range of `text` back onto the input, so errors point at what the user typed.
    pub fn to_input(&self, span: Range<usize>) -> Range<usize> {
        let at = |i: usize| {
            self.offsets
                .get(i)
                .or(self.offsets.last())
                .copied()
                .unwrap_or(0)
        };
        at(span.start)..at(span.end)
    }
}

/// Trim whitespace (including the ideographic space U+3000) and fold full-width ASCII
/// (U+FF01–U+FF5E, e.g. `Ｋ４０．９` or `＋`) to half-width.
pub(crate) fn clean(input: &str) -> Cleaned {
    let mut flags = Vec::new();
    let trimmed = input.trim();
    if trimmed.len() != input.len() {
        flags.push(Flag {
            code: "surrounding-space",
            message: "spaces around the code were removed".to_string(),
        });
    }
    let lead = input.len() - input.trim_start().len();
    let mut full_width = false;
    let mut text = String::with_capacity(trimmed.len());
    let mut offsets = Vec::with_capacity(trimmed.len() + 1);
    for (i, c) in trimmed.char_indices() {
        let folded = match c {
            '\u{FF01}'..='\u{FF5E}' => {
                full_width = true;
                char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c)
            }
            '\u{3000}' => {
                full_width = true;
                ' '
            }
            _ => c,
        };
        text.push(folded);
        offsets.extend(std::iter::repeat_n(lead + i, folded.len_utf8()));
    }
    offsets.push(lead + trimmed.len());
    if full_width {
        flags.push(Flag {
            code: "full-width",
            message: "full-width characters were folded to half-width".to_string(),
        });
    }
    Cleaned {
        text,
        flags,
        offsets,
    }
}

/// A segment's Chinese and English names.
pub(crate) type Names = (&'static str, &'static str);

/// The flag for letters that the canonical form writes in upper case.
pub(crate) fn lower_case_flag() -> Flag {
    Flag {
        code: "lower-case",
        message: "lower-case letters were upper-cased".to_string(),
    }
}

/// A segment of `code` (the canonical form) over `span`.
pub(crate) fn seg(
    code: &str,
    span: Range<usize>,
    names: Names,
    meaning: Option<String>,
    certainty: Certainty,
) -> Segment {
    Segment {
        text: code.get(span.clone()).unwrap_or_default().to_string(),
        span,
        name_zh: names.0,
        name_en: names.1,
        meaning,
        certainty,
    }
}

/// A segment's name as errors show it: `类目 (category)`.
pub(crate) fn name(names: (&str, &str)) -> String {
    format!("{} ({})", names.0, names.1)
}

/// Whether every character of `s` is an ASCII digit (and there is at least one).
pub(crate) fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// The province-level division of GB/T 2260 with this 2-digit prefix (11–65, 71, 81, 82).
pub(crate) fn province(prefix: &str) -> Option<&'static str> {
    let name = match prefix {
        "11" => "北京市",
        "12" => "天津市",
        "13" => "河北省",
        "14" => "山西省",
        "15" => "内蒙古自治区",
        "21" => "辽宁省",
        "22" => "吉林省",
        "23" => "黑龙江省",
        "31" => "上海市",
        "32" => "江苏省",
        "33" => "浙江省",
        "34" => "安徽省",
        "35" => "福建省",
        "36" => "江西省",
        "37" => "山东省",
        "41" => "河南省",
        "42" => "湖北省",
        "43" => "湖南省",
        "44" => "广东省",
        "45" => "广西壮族自治区",
        "46" => "海南省",
        "50" => "重庆市",
        "51" => "四川省",
        "52" => "贵州省",
        "53" => "云南省",
        "54" => "西藏自治区",
        "61" => "陕西省",
        "62" => "甘肃省",
        "63" => "青海省",
        "64" => "宁夏回族自治区",
        "65" => "新疆维吾尔自治区",
        "71" => "台湾省",
        "81" => "香港特别行政区",
        "82" => "澳门特别行政区",
        _ => return None,
    };
    Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_and_folds_with_one_flag_each() {
        let c = clean("  Ｋ４０．９００ｘ００３\u{3000}");
        assert_eq!(c.text, "K40.900x003");
        let codes: Vec<&str> = c.flags.iter().map(|f| f.code).collect();
        assert_eq!(codes, ["surrounding-space", "full-width"]);
        assert_eq!(
            c.to_input(0..1),
            2..5,
            "K is the full-width Ｋ after two spaces"
        );
        assert_eq!(c.to_input(3..4), 11..14);
        assert_eq!(c.to_input(0..11), 2..35);
        let c = clean("A01.000");
        assert_eq!(c.text, "A01.000");
        assert!(c.flags.is_empty());
    }

    #[test]
    fn provinces_are_the_gb2260_prefixes() {
        assert_eq!(province("32"), Some("江苏省"));
        assert_eq!(province("82"), Some("澳门特别行政区"));
        for bad in ["10", "16", "20", "66", "70", "80", "99", "00"] {
            assert_eq!(province(bad), None, "{bad}");
        }
    }
}
