//! What Excel does to an identifier it took for a number: `3.209E+15` (scientific notation, the
//! digits past the 15th gone), `3209000002839237.0` (a float ending), `93.351699999999994` (a
//! short decimal printed with binary float noise). An identifier holding any of these was
//! damaged on its way through a spreadsheet; the original cannot be recovered from the value.
//! One definition for the readers' defect counts, `profile` and the national pack's
//! `identifier` rules (../shared/domain/legacy-data.md, Excel damage).

/// A kind of Excel damage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExcelDamage {
    /// `1.23E+14`.
    Scientific,
    /// `123456.0`: digits, a point, only zeros.
    FloatEnding,
    /// `93.351699999999994`: twelve or more decimals with a run of nines or zeros.
    FloatNoise,
}

impl ExcelDamage {
    /// What it is, for people.
    pub fn describe(self) -> &'static str {
        match self {
            ExcelDamage::Scientific => "scientific notation",
            ExcelDamage::FloatEnding => "a float ending (.0)",
            ExcelDamage::FloatNoise => "float noise",
        }
    }
}

/// The same test as regular expressions, for engines that match whole columns at once (the
/// rules): damaged when `SCIENTIFIC` or `FLOAT_ENDING` matches, or both `FLOAT_NOISE_SHAPE` and
/// `FLOAT_NOISE_RUN` do. A test holds them to [`excel_damage`].
pub const SCIENTIFIC: &str = r"^\s*[0-9]+(?:\.[0-9]*)?[eE][+-]?[0-9]+\s*$";
/// See [`SCIENTIFIC`].
pub const FLOAT_ENDING: &str = r"^\s*[0-9]+\.0+\s*$";
/// See [`SCIENTIFIC`].
pub const FLOAT_NOISE_SHAPE: &str = r"^\s*[0-9]+\.[0-9]{12,}\s*$";
/// See [`SCIENTIFIC`].
pub const FLOAT_NOISE_RUN: &str = r"\.[0-9]*(?:99999|00000)";

/// The damage a value shows, if any (surrounding spaces ignored).
pub fn excel_damage(value: &str) -> Option<ExcelDamage> {
    let v = value.trim();
    if is_scientific(v) {
        return Some(ExcelDamage::Scientific);
    }
    let (int, frac) = v.split_once('.')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(int) || !digits(frac) {
        return None;
    }
    if frac.bytes().all(|b| b == b'0') {
        return Some(ExcelDamage::FloatEnding);
    }
    if frac.len() >= 12 && (frac.contains("99999") || frac.contains("00000")) {
        return Some(ExcelDamage::FloatNoise);
    }
    None
}

/// A number read from a workbook or a typed dump where a code belongs, as Excel writes it when it
/// has 16 digits or more: it keeps 15 significant digits, so `3209000002839237` is stored as
/// 3209000002839240 and exported as `3.20900000283924E+15`. Written that way, the damage is
/// visible to the `identifier` rules instead of passing as a plausible code. `None` below 1e15,
/// where the digits are intact (leading zeros aside).
pub fn long_number_text(f: f64) -> Option<String> {
    if !f.is_finite() || f.abs() < 1e15 {
        return None;
    }
    let s = format!("{f:.14E}");
    let (mantissa, exp) = s.split_once('E')?;
    let mantissa = mantissa.trim_end_matches('0').trim_end_matches('.');
    let exp = exp
        .strip_prefix('-')
        .map_or(format!("+{exp}"), |e| format!("-{e}"));
    Some(format!("{mantissa}E{exp}"))
}

/// `1.23E+14`, `8.69e13`: a number in scientific notation.
pub fn is_scientific(v: &str) -> bool {
    let Some((m, e)) = v.split_once(['E', 'e']) else {
        return false;
    };
    let e = e.strip_prefix(['+', '-']).unwrap_or(e);
    !m.is_empty()
        && m.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && m.bytes().filter(|b| *b == b'.').count() <= 1
        && m.as_bytes()[0].is_ascii_digit()
        && !e.is_empty()
        && e.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn by_regex(v: &str) -> bool {
        let re = |p: &str| regex::Regex::new(p).unwrap().is_match(v);
        re(SCIENTIFIC) || re(FLOAT_ENDING) || (re(FLOAT_NOISE_SHAPE) && re(FLOAT_NOISE_RUN))
    }

    #[test]
    fn long_numbers_are_written_as_excel_writes_them() {
        assert_eq!(
            long_number_text(3209000002839237.0).as_deref(),
            Some("3.20900000283924E+15")
        );
        assert_eq!(long_number_text(1e15).as_deref(), Some("1E+15"));
        assert_eq!(long_number_text(320900000001.0), None);
        assert_eq!(
            excel_damage(&long_number_text(3209000002839237.0).unwrap()),
            Some(ExcelDamage::Scientific)
        );
    }

    proptest! {
        #[test]
        fn the_regexes_agree_with_excel_damage(v in "[ 0-9.eE+9X-]{0,24}|[0-9]{1,4}\\.[09]{8,16}[0-9]?") {
            prop_assert_eq!(by_regex(&v), excel_damage(&v).is_some(), "{:?}", v);
        }
    }

    #[test]
    fn excel_damage_of_identifiers() {
        use ExcelDamage::*;
        for (v, want) in [
            ("3.209E+15", Some(Scientific)),
            ("1.23e14", Some(Scientific)),
            ("8.69E+13 ", Some(Scientific)),
            ("3209000002839237.0", Some(FloatEnding)),
            ("12.00", Some(FloatEnding)),
            ("93.351699999999994", Some(FloatNoise)),
            ("3209000002839237", None),
            ("E11.900", None),
            ("A32.01", None),
            ("XE+1", None),
            ("1.2.3E4", None),
            ("H32090000024", None),
            ("11010519491231002X", None),
            ("12.5", None),
            ("", None),
        ] {
            assert_eq!(excel_damage(v), want, "{v}");
        }
    }
}
