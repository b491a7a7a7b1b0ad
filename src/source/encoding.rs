//! Guessing a text file's encoding from its first bytes: UTF-8 (with or without BOM), GBK, or
//! GB18030 (GBK plus four-byte sequences). The guess carries a confidence so `profile` can say
//! how sure it is; a declared encoding in yibao.toml always wins.

use serde::Serialize;

use crate::workspace::Encoding;

/// An encoding guess.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Guess {
    /// The encoding.
    pub encoding: Encoding,
    /// 0..1: how sure the guess is.
    pub confidence: f64,
    /// The file starts with a UTF-8 byte-order mark.
    pub bom: bool,
    /// True when yibao.toml declared it (confidence 1).
    pub declared: bool,
}

/// Guess the encoding of `head`, the first bytes of a file (it may end mid-character).
pub fn guess(head: &[u8]) -> Guess {
    if let Some((encoding, bom)) = utf16(head) {
        return Guess {
            encoding,
            confidence: if bom { 1.0 } else { 0.9 },
            bom,
            declared: false,
        };
    }
    if let Some(rest) = head.strip_prefix(b"\xEF\xBB\xBF") {
        let _ = rest;
        return Guess {
            encoding: Encoding::Utf8,
            confidence: 1.0,
            bom: true,
            declared: false,
        };
    }
    let non_ascii = head.iter().filter(|b| !b.is_ascii()).count();
    if non_ascii == 0 {
        // Pure ASCII reads the same in every candidate.
        return Guess {
            encoding: Encoding::Utf8,
            confidence: 1.0,
            bom: false,
            declared: false,
        };
    }
    match std::str::from_utf8(head) {
        Ok(_) => {
            return utf8(non_ascii);
        }
        Err(e) if e.error_len().is_none() && e.valid_up_to() + 4 > head.len() => {
            // Only cut mid-character at the end of the sample.
            return utf8(non_ascii);
        }
        Err(_) => {
            // Mostly well-formed UTF-8 with a few broken sequences is a UTF-8 file with damaged
            // bytes, not GBK: read as GBK every character would become mojibake. Guess UTF-8,
            // less sure, and let the reader name the line of the bad bytes.
            let share = utf8_share(head);
            if share >= 0.8 {
                return Guess {
                    encoding: Encoding::Utf8,
                    confidence: (share * 0.9 * 1000.0).round() / 1000.0,
                    bom: false,
                    declared: false,
                };
            }
        }
    }
    let (text, _, had_errors) = encoding_rs::GB18030.decode(head);
    let chars: Vec<char> = text.chars().filter(|c| !c.is_ascii()).collect();
    let common = chars
        .iter()
        .filter(|c| {
            ('\u{4E00}'..='\u{9FFF}').contains(*c)
                || ('\u{3000}'..='\u{303F}').contains(*c)
                || ('\u{FF00}'..='\u{FFEF}').contains(*c)
        })
        .count();
    let share = if chars.is_empty() {
        0.0
    } else {
        common as f64 / chars.len() as f64
    };
    let four_byte = has_gb18030_four_byte(head);
    let confidence = if had_errors {
        share * 0.5
    } else {
        0.5 + 0.5 * share
    };
    Guess {
        encoding: if four_byte {
            Encoding::Gb18030
        } else {
            Encoding::Gbk
        },
        confidence: (confidence * 1000.0).round() / 1000.0,
        bom: false,
        declared: false,
    }
}

/// UTF-16 by its byte-order mark, or without one by the zero bytes that ASCII text leaves in
/// every other byte; with whether a BOM was there.
pub fn utf16(head: &[u8]) -> Option<(Encoding, bool)> {
    if head.starts_with(b"\xFF\xFE") {
        return Some((Encoding::Utf16Le, true));
    }
    if head.starts_with(b"\xFE\xFF") {
        return Some((Encoding::Utf16Be, true));
    }
    let pairs = head.len() / 2;
    if pairs < 8 {
        return None;
    }
    let zeros_at = |parity: usize| {
        head.iter()
            .skip(parity)
            .step_by(2)
            .take(pairs)
            .filter(|b| **b == 0)
            .count()
    };
    let (even, odd) = (zeros_at(0), zeros_at(1));
    // ASCII in UTF-16LE is `x 00 x 00`: most odd bytes zero, almost no even ones.
    if odd * 10 >= pairs * 4 && even * 20 < pairs {
        Some((Encoding::Utf16Le, false))
    } else if even * 10 >= pairs * 4 && odd * 20 < pairs {
        Some((Encoding::Utf16Be, false))
    } else {
        None
    }
}

fn utf8(non_ascii: usize) -> Guess {
    // Multi-byte sequences that happen to be valid UTF-8 in GBK text are rare, and rarer the more
    // of them there are.
    let confidence = if non_ascii >= 12 { 0.99 } else { 0.9 };
    Guess {
        encoding: Encoding::Utf8,
        confidence,
        bom: false,
        declared: false,
    }
}

/// The share of the non-ASCII bytes of `bytes` that sit in well-formed UTF-8 sequences (GBK
/// text scores low: few of its byte pairs happen to be UTF-8).
fn utf8_share(bytes: &[u8]) -> f64 {
    let total = bytes.iter().filter(|b| !b.is_ascii()).count();
    let (mut valid, mut rest) = (0usize, bytes);
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                valid += s.bytes().filter(|b| !b.is_ascii()).count();
                break;
            }
            Err(e) => {
                valid += rest[..e.valid_up_to()]
                    .iter()
                    .filter(|b| !b.is_ascii())
                    .count();
                match e.error_len() {
                    Some(n) => rest = &rest[e.valid_up_to() + n..],
                    None => break,
                }
            }
        }
    }
    if total == 0 {
        1.0
    } else {
        valid as f64 / total as f64
    }
}

/// GB18030's four-byte sequences: lead 0x81-0xFE, then 0x30-0x39, 0x81-0xFE, 0x30-0x39.
fn has_gb18030_four_byte(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i + 3 < bytes.len() {
        let b = bytes[i];
        if b < 0x80 {
            i += 1;
            continue;
        }
        if (0x81..=0xFE).contains(&b)
            && (0x30..=0x39).contains(&bytes[i + 1])
            && (0x81..=0xFE).contains(&bytes[i + 2])
            && (0x30..=0x39).contains(&bytes[i + 3])
        {
            return true;
        }
        i += 2;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "结算ID,姓名,医疗费总额\nS001,张三,1234.50\nS002,李四,88.00\n";

    #[test]
    fn utf8_with_and_without_bom() {
        let g = guess(TEXT.as_bytes());
        assert_eq!((g.encoding, g.bom), (Encoding::Utf8, false));
        assert!(g.confidence >= 0.99);
        let mut bom = b"\xEF\xBB\xBF".to_vec();
        bom.extend_from_slice(TEXT.as_bytes());
        assert_eq!(guess(&bom).bom, true);
    }

    #[test]
    fn gbk_is_recognised() {
        let (bytes, _, _) = encoding_rs::GBK.encode(TEXT);
        let g = guess(&bytes);
        assert_eq!(g.encoding, Encoding::Gbk);
        assert!(g.confidence > 0.9, "{g:?}");
    }

    #[test]
    fn gb18030_four_byte_sequences() {
        // 𠀀 (U+20000) needs four bytes in GB18030.
        let (bytes, _, _) = encoding_rs::GB18030.encode("姓名,𠀀\n");
        assert_eq!(guess(&bytes).encoding, Encoding::Gb18030);
    }

    #[test]
    fn utf16_with_and_without_bom() {
        let mut le = vec![0xFF, 0xFE];
        for unit in TEXT.encode_utf16() {
            le.extend_from_slice(&unit.to_le_bytes());
        }
        assert_eq!(
            (guess(&le).encoding, guess(&le).bom),
            (Encoding::Utf16Le, true)
        );
        assert_eq!(guess(&le[2..]).encoding, Encoding::Utf16Le);
        let be: Vec<u8> = "a,b,c\n1,2,3\n"
            .encode_utf16()
            .flat_map(|u| u.to_be_bytes())
            .collect();
        assert_eq!(guess(&be).encoding, Encoding::Utf16Be);
        // GBK text has no zero bytes.
        assert!(utf16(&encoding_rs::GBK.encode(TEXT).0).is_none());
    }

    #[test]
    fn a_cut_utf8_sample_is_still_utf8() {
        let bytes = TEXT.as_bytes();
        let cut = &bytes[..bytes.len() - 20];
        let cut = &cut[..cut.len() - 1];
        assert_eq!(guess(cut).encoding, Encoding::Utf8);
    }
}
