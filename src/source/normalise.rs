//! Value normalisation where `../shared/domain/legacy-data.md` says it is safe: full-width ASCII
//! to half-width, surrounding spaces trimmed, placeholders (`--`, `----`, `nan`) read as missing,
//! and, for date fields, the legacy date formats of §5 rewritten as ISO dates. The raw value is
//! kept by the caller whenever anything changed.

use std::borrow::Cow;

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

/// What normalisation changed in one value (a bit set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Changes(u8);

impl Changes {
    /// Full-width ASCII or the ideographic space became half-width.
    pub const FULL_WIDTH: Changes = Changes(1);
    /// Surrounding white space was removed.
    pub const TRIMMED: Changes = Changes(2);
    /// A placeholder for "missing" became a missing value.
    pub const PLACEHOLDER: Changes = Changes(4);
    /// A legacy date format became ISO.
    pub const DATE: Changes = Changes(8);

    /// True when nothing changed.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// True when every change of `other` is in `self`.
    pub fn contains(self, other: Changes) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOrAssign for Changes {
    fn bitor_assign(&mut self, rhs: Changes) {
        self.0 |= rhs.0;
    }
}

/// Values that legacy exports write for "no value".
const PLACEHOLDERS: &[&str] = &[
    "--", "---", "----", "nan", "NaN", "NAN", "null", "NULL", "None", "#N/A", "N/A",
];

/// Normalise one text value; `None` is a missing value.
pub fn normalise(value: &str) -> (Option<Cow<'_, str>>, Changes) {
    let mut changes = Changes::default();
    let mut text: Cow<'_, str> = Cow::Borrowed(value);
    if value
        .chars()
        .any(|c| ('\u{FF01}'..='\u{FF5E}').contains(&c) || c == '\u{3000}')
    {
        text = Cow::Owned(value.chars().map(half_width).collect());
        changes |= Changes::FULL_WIDTH;
    }
    let trimmed = text.trim_matches(|c: char| c.is_whitespace() || c == '\u{FEFF}');
    if trimmed.len() != text.len() {
        text = Cow::Owned(trimmed.to_string());
        changes |= Changes::TRIMMED;
    }
    if text.is_empty() {
        return (None, changes);
    }
    if PLACEHOLDERS.contains(&text.as_ref()) {
        changes |= Changes::PLACEHOLDER;
        return (None, changes);
    }
    (Some(text), changes)
}

fn half_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        c => c,
    }
}

/// The layout of a date value, as reported by `profile` ("mixed date formats").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DateShape {
    /// `2024-01-15` or `2024-01-15 10:30:00` (the national format).
    Iso,
    /// `2021/3/5`, `2021/03/05 10:30:00`.
    Slashed,
    /// `1/8/2024 00:00:00`: day first, as legacy exports write it.
    DayMonthYear,
    /// `2019 - 04 - 08`.
    Spaced,
    /// `20210305`.
    Compact,
    /// `20240115103000` or `20240115103000123`.
    CompactTime,
    /// `ThuMay0810:38:38CST2025` (Java's Date.toString with spaces lost).
    JavaString,
    /// `2024年1月15日`.
    Chinese,
}

impl DateShape {
    /// A label for people.
    pub fn label(self) -> &'static str {
        match self {
            DateShape::Iso => "YYYY-MM-DD[ HH:MM:SS]",
            DateShape::Slashed => "YYYY/M/D",
            DateShape::DayMonthYear => "D/M/YYYY",
            DateShape::Spaced => "YYYY - MM - DD",
            DateShape::Compact => "YYYYMMDD",
            DateShape::CompactTime => "YYYYMMDDHHMMSS[SSS]",
            DateShape::JavaString => "EEEMMMddHH:mm:ssZZZyyyy",
            DateShape::Chinese => "YYYY年M月D日",
        }
    }
}

/// Parse a date or date-time in any of the legacy layouts.
pub fn parse_date(value: &str) -> Option<(NaiveDateTime, DateShape, bool)> {
    let v = value.trim();
    let midnight = |d: NaiveDate| d.and_time(NaiveTime::MIN);
    let digits = v.bytes().all(|b| b.is_ascii_digit());
    if digits {
        return match v.len() {
            8 => NaiveDate::parse_from_str(v, "%Y%m%d")
                .ok()
                .map(|d| (midnight(d), DateShape::Compact, false)),
            14 => NaiveDateTime::parse_from_str(v, "%Y%m%d%H%M%S")
                .ok()
                .map(|d| (d, DateShape::CompactTime, true)),
            17 => NaiveDateTime::parse_from_str(&v[..14], "%Y%m%d%H%M%S")
                .ok()
                .map(|d| (d, DateShape::CompactTime, true)),
            _ => None,
        };
    }
    if v.contains('年') {
        let s = v.replace(['年', '月'], "-").replace('日', "");
        return NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
            .ok()
            .map(|d| (midnight(d), DateShape::Chinese, false));
    }
    if v.contains(" - ") {
        let s = v.replace(' ', "");
        return NaiveDate::parse_from_str(&s, "%Y-%m-%d")
            .ok()
            .map(|d| (midnight(d), DateShape::Spaced, false));
    }
    if v.len() >= 20 && v.chars().take(3).all(|c| c.is_ascii_alphabetic()) {
        // ThuMay0810:38:38CST2025
        let (month, day, time, year) = (
            v.get(3..6)?,
            v.get(6..8)?,
            v.get(8..16)?,
            v.get(v.len() - 4..)?,
        );
        let s = format!("{year} {month} {day} {time}");
        return NaiveDateTime::parse_from_str(&s, "%Y %b %d %H:%M:%S")
            .ok()
            .map(|d| (d, DateShape::JavaString, true));
    }
    let (date, time) = match v.split_once([' ', 'T']) {
        Some((d, t)) => (d, Some(t.trim())),
        None => (v, None),
    };
    let time = match time {
        Some(t) if !t.is_empty() => Some(
            NaiveTime::parse_from_str(t, "%H:%M:%S")
                .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M:%S%.f"))
                .or_else(|_| NaiveTime::parse_from_str(t, "%H:%M"))
                .ok()?,
        ),
        _ => None,
    };
    let (d, shape) = if date.contains('-') {
        (
            NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?,
            DateShape::Iso,
        )
    } else if date.contains('/') {
        let first = date.split('/').next()?;
        if first.len() == 4 {
            (
                NaiveDate::parse_from_str(date, "%Y/%m/%d").ok()?,
                DateShape::Slashed,
            )
        } else {
            (
                NaiveDate::parse_from_str(date, "%d/%m/%Y").ok()?,
                DateShape::DayMonthYear,
            )
        }
    } else {
        return None;
    };
    Some((
        d.and_time(time.unwrap_or(NaiveTime::MIN)),
        shape,
        time.is_some(),
    ))
}

/// Whether `value` is already what [`iso_date`] would write for it: a valid `YYYY-MM-DD` (with
/// ` HH:MM:SS` when `with_time`). Most cells are; checking the layout and the calendar here
/// spares parsing and re-formatting them, a fifth of a check's CPU at 10M rows.
pub fn is_iso_date(value: &str, with_time: bool) -> bool {
    let b = value.as_bytes();
    if b.len() != if with_time { 19 } else { 10 } || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
        })
    };
    let date_ok = match (num(0, 4), num(5, 7), num(8, 10)) {
        // Four-digit years only: those format back to the same four digits.
        (Some(y), Some(m), Some(d)) if y >= 1000 => {
            NaiveDate::from_ymd_opt(y as i32, m, d).is_some()
        }
        _ => false,
    };
    if !date_ok || !with_time {
        return date_ok;
    }
    b[10] == b' '
        && b[13] == b':'
        && b[16] == b':'
        && matches!(
            (num(11, 13), num(14, 16), num(17, 19)),
            (Some(h), Some(m), Some(s)) if NaiveTime::from_hms_opt(h, m, s).is_some()
        )
}

/// Rewrite a date value as ISO (`YYYY-MM-DD`, or with ` HH:MM:SS` when `with_time`); `None`
/// when it is not a date in any known layout (left as it is, for the rules to report).
pub fn iso_date(value: &str, with_time: bool) -> Option<String> {
    let (dt, _, _) = parse_date(value)?;
    Some(if with_time {
        dt.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        dt.format("%Y-%m-%d").to_string()
    })
}

/// An Excel serial day number as an ISO date (1900 date system, with Excel's leap-year bug).
pub fn excel_serial_date(serial: f64, with_time: bool) -> Option<String> {
    if !(1.0..2_958_466.0).contains(&serial) {
        return None;
    }
    let base = NaiveDate::from_ymd_opt(1899, 12, 30)?.and_time(NaiveTime::MIN);
    let millis = (serial * 86_400_000.0).round() as i64;
    let dt = base.checked_add_signed(chrono::Duration::milliseconds(millis))?;
    Some(if with_time {
        dt.format("%Y-%m-%d %H:%M:%S").to_string()
    } else {
        dt.format("%Y-%m-%d").to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_fast_path_agrees_with_parsing() {
        for (v, t) in [
            ("2024-01-05", false),
            ("2024-02-30", false),
            ("2024-1-05", false),
            ("0999-01-01", false),
            ("2024-01-05 10:00:00", true),
            ("2024-01-05 24:00:00", true),
            ("2024-01-05 23:59:60", true),
            ("2024-01-05", true),
            ("2024-01-05 10:00:00", false),
            ("2024-01-05T10:00:00", true),
            ("20240105", false),
        ] {
            // The fast path may decline (the slow path then decides) but never accept a value
            // the slow path would rewrite or reject.
            let slow = iso_date(v, t).is_some_and(|iso| iso == v);
            assert!(!is_iso_date(v, t) || slow, "{v} {t}");
        }
        assert!(is_iso_date("2024-01-05", false));
        assert!(is_iso_date("2024-01-05 10:00:00", true));
    }

    #[test]
    fn full_width_and_spaces() {
        let (v, c) = normalise("　Ａ０１　");
        assert_eq!(v.as_deref(), Some("A01"));
        assert!(c.contains(Changes::FULL_WIDTH) && c.contains(Changes::TRIMMED));
        let (v, c) = normalise("1%：80ml（滴眼剂）");
        assert_eq!(v.as_deref(), Some("1%:80ml(滴眼剂)"));
        assert!(c.contains(Changes::FULL_WIDTH));
        let (v, c) = normalise("A01  ");
        assert_eq!((v.as_deref(), c), (Some("A01"), Changes::TRIMMED));
        let (v, c) = normalise("阿莫西林");
        assert_eq!((v.as_deref(), c.is_empty()), (Some("阿莫西林"), true));
    }

    #[test]
    fn placeholders_are_missing() {
        for p in ["--", "----", "nan", " NULL "] {
            assert_eq!(normalise(p).0, None, "{p}");
        }
        assert_eq!(normalise("").1, Changes::default());
    }

    #[test]
    fn legacy_dates_of_the_domain() {
        assert_eq!(
            iso_date("1/8/2024 00:00:00", false).as_deref(),
            Some("2024-08-01")
        );
        assert_eq!(
            iso_date("2019 - 04 - 08", false).as_deref(),
            Some("2019-04-08")
        );
        assert_eq!(
            iso_date("ThuMay0810:38:38CST2025", true).as_deref(),
            Some("2025-05-08 10:38:38")
        );
        assert_eq!(
            iso_date("20240115103000123", true).as_deref(),
            Some("2024-01-15 10:30:00")
        );
        assert_eq!(
            iso_date("2024-01-15 10:30:00", true).as_deref(),
            Some("2024-01-15 10:30:00")
        );
        assert_eq!(
            iso_date("20240115103000", true).as_deref(),
            Some("2024-01-15 10:30:00")
        );
        assert_eq!(iso_date("20210305", false).as_deref(), Some("2021-03-05"));
        assert_eq!(iso_date("2021/3/5", false).as_deref(), Some("2021-03-05"));
        assert_eq!(
            iso_date("2024年1月15日", false).as_deref(),
            Some("2024-01-15")
        );
        assert_eq!(iso_date("2024-02-30", false), None);
        assert_eq!(iso_date("hello", false), None);
    }

    #[test]
    fn excel_serials() {
        assert_eq!(
            excel_serial_date(45306.0, false).as_deref(),
            Some("2024-01-15")
        );
        assert_eq!(
            excel_serial_date(45306.4375, true).as_deref(),
            Some("2024-01-15 10:30:00")
        );
        assert_eq!(excel_serial_date(-1.0, false), None);
    }
}
