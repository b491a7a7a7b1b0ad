//! Check-character algorithms of the identifiers records carry, as pure functions so each can be
//! tested on the valid and invalid examples of `shared/domain/legacy-data.md`.
//!
//! Each `*_check` computes the check character of a body and returns `None` when the body has the
//! wrong length or a character the standard does not allow; each `*_valid` checks a whole code.

/// The 31 characters of GB 32100-2015 (no I, O, S, V, Z), in value order.
pub const GB32100_CHARSET: &str = "0123456789ABCDEFGHJKLMNPQRTUWXY";

const GB32100_WEIGHTS: [u32; 17] = [
    1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
];
const GB11643_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const GB11643_CHECK: &[u8; 11] = b"10X98765432";
const GB11714_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];

/// GS1 mod-10 check digit (药品本位码, EAN/GTIN) of an all-digit body: weights 3,1,3,1…
/// from the rightmost body digit; check = (10 − sum mod 10) mod 10.
pub fn gs1_check(body: &str) -> Option<char> {
    if body.is_empty() {
        return None;
    }
    let mut sum = 0;
    for (i, c) in body.chars().rev().enumerate() {
        let d = c.to_digit(10)?;
        sum += d * if i % 2 == 0 { 3 } else { 1 };
    }
    char::from_digit((10 - sum % 10) % 10, 10)
}

/// Whether an all-digit code ends in its GS1 mod-10 check digit.
pub fn gs1_valid(code: &str) -> bool {
    match code.char_indices().last() {
        Some((i, last)) if i > 0 => gs1_check(&code[..i]) == Some(last),
        _ => false,
    }
}

/// GB 11643-1999 check character of the first 17 digits of a resident ID (ISO 7064 MOD 11-2):
/// weights 7,9,10,5,8,4,2,1,6,3,7,9,10,5,8,4,2; sum mod 11 indexes "10X98765432".
pub fn gb11643_check(body: &str) -> Option<char> {
    if body.len() != 17 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in body.chars().zip(GB11643_WEIGHTS) {
        sum += c.to_digit(10)? * w;
    }
    Some(char::from(GB11643_CHECK[(sum % 11) as usize]))
}

/// Whether an 18-character resident ID ends in its GB 11643 check character (upper-case `X`).
pub fn gb11643_valid(id: &str) -> bool {
    id.len() == 18 && id.is_char_boundary(17) && gb11643_check(&id[..17]) == id[17..].chars().next()
}

/// GB 32100-2015 check character of the first 17 characters of a unified social credit code:
/// weights 1,3,9,27,…,28 over [`GB32100_CHARSET`] values; check = charset[(31 − sum mod 31) mod 31].
pub fn gb32100_check(body: &str) -> Option<char> {
    if body.chars().count() != 17 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in body.chars().zip(GB32100_WEIGHTS) {
        sum += gb32100_value(c)? * w;
    }
    GB32100_CHARSET.chars().nth(((31 - sum % 31) % 31) as usize)
}

/// Whether an 18-character credit code ends in its GB 32100 check character.
pub fn gb32100_valid(code: &str) -> bool {
    code.len() == 18 && code.is_ascii() && gb32100_check(&code[..17]) == code[17..].chars().next()
}

/// The value of a character in [`GB32100_CHARSET`], or `None` when the standard does not allow it.
pub fn gb32100_value(c: char) -> Option<u32> {
    GB32100_CHARSET.find(c).map(|i| i as u32)
}

/// GB 11714 check character of the first 8 characters of an organisation code (digits and
/// upper-case letters, A = 10 … Z = 35): weights 3,7,9,10,5,8,4,2; c = 11 − sum mod 11,
/// 10 → `X`, 11 → `0`.
pub fn gb11714_check(body: &str) -> Option<char> {
    if body.chars().count() != 8 {
        return None;
    }
    let mut sum = 0;
    for (c, w) in body.chars().zip(GB11714_WEIGHTS) {
        let v = match c {
            '0'..='9' => c.to_digit(10)?,
            'A'..='Z' => u32::from(c) - u32::from('A') + 10,
            _ => return None,
        };
        sum += v * w;
    }
    match 11 - sum % 11 {
        10 => Some('X'),
        11 => Some('0'),
        c => char::from_digit(c, 10),
    }
}

/// Whether a 9-character organisation code ends in its GB 11714 check character.
pub fn gb11714_valid(code: &str) -> bool {
    code.len() == 9 && code.is_ascii() && gb11714_check(&code[..8]) == code[8..].chars().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gs1_on_real_drug_standard_codes() {
        // legacy-data.md: each matches; 86900483000019 is 地喹氯铵含片's 本位码 (code-families.md).
        for code in [
            "86901110000020",
            "86900594000335",
            "86904495000166",
            "86904495000173",
            "86900483000019",
        ] {
            assert!(gs1_valid(code), "{code}");
        }
        assert_eq!(gs1_check("8690048300001"), Some('9'));
        assert!(!gs1_valid("86900483000018"));
        assert!(!gs1_valid("8690048300001X"));
        assert!(!gs1_valid("8"));
        assert_eq!(gs1_check(""), None);
    }

    #[test]
    fn gb11643_on_the_documented_examples() {
        assert!(gb11643_valid("11010519491231002X"));
        assert!(gb11643_valid("440524188001010014"));
        assert_eq!(gb11643_check("11010519491231002"), Some('X'));
        assert!(!gb11643_valid("110105194912310021"));
        assert!(
            !gb11643_valid("11010519491231002x"),
            "lower-case x is not canonical"
        );
        assert_eq!(gb11643_check("1101051949123100"), None);
        assert_eq!(gb11643_check("1101051949123100A"), None);
    }

    #[test]
    fn gb32100_on_the_documented_examples() {
        for code in [
            "91350200776049653A",
            "913502000728319549",
            "91350500798359476R",
            "91440101MA5CJQ4N59",
        ] {
            assert!(gb32100_valid(code), "{code}");
            assert!(gb11714_valid(&code[8..17]), "organisation code of {code}");
        }
        // legacy-data.md's invalid example: the organisation code passes, the whole code does not.
        assert!(!gb32100_valid("91350203M0001QAY9B"));
        assert!(gb11714_valid("M0001QAY9"));
        assert_eq!(gb32100_check("91350203M0001QAY9"), Some('9'));
        assert_eq!(gb32100_value('I'), None);
        assert_eq!(gb32100_value('Y'), Some(30));
    }

    #[test]
    fn gb11714_maps_ten_and_eleven() {
        assert_eq!(gb11714_check("77604965"), Some('3'));
        assert_eq!(gb11714_check("MA5CJQ4N"), Some('5'));
        assert_eq!(gb11714_check("00000006"), Some('X'));
        assert_eq!(gb11714_check("00000019"), Some('0'));
        assert!(!gb11714_valid("776049654"));
        assert_eq!(gb11714_check("7760496"), None);
        assert_eq!(gb11714_check("7760496a"), None);
    }
}
