//! yibao's clock is Beijing time (UTC+8, no daylight saving), whatever zone the host is set to:
//! "today" in a rule (`range` with `max = "today"`) and the `inf_time` of a batch are what they
//! are for the insurance bureau, not for a server that runs in UTC. A UTC host at 23:30 is
//! already on the next day in Beijing; with the host's zone a rule was a day behind before
//! 08:00 (issue 16 item 11).
//!
//! Test hook: `YIBAO_TODAY=YYYY-MM-DD` fixes "today" (nothing else), so a test can pin the date a
//! rule compares with. [`check_env`] refuses a malformed value before anything runs.

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};

/// The variable that fixes "today" for tests.
pub const TODAY_VAR: &str = "YIBAO_TODAY";

/// UTC+8. Evaluated at compile time: an offset out of range would fail the build, not a run.
pub const BEIJING: FixedOffset = match FixedOffset::east_opt(8 * 3600) {
    Some(offset) => offset,
    None => panic!("UTC+8 is a valid offset"),
};

/// The moment `now` in Beijing.
pub fn in_beijing(now: DateTime<Utc>) -> DateTime<FixedOffset> {
    now.with_timezone(&BEIJING)
}

/// Now, in Beijing.
pub fn now() -> DateTime<FixedOffset> {
    in_beijing(Utc::now())
}

/// The Beijing date at the moment `now`.
pub fn today_at(now: DateTime<Utc>) -> NaiveDate {
    in_beijing(now).date_naive()
}

fn parse_today(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()
}

/// Today in Beijing, or the date `YIBAO_TODAY` gives.
pub fn today() -> NaiveDate {
    std::env::var(TODAY_VAR)
        .ok()
        .and_then(|s| parse_today(&s))
        .unwrap_or_else(|| today_at(Utc::now()))
}

/// A malformed `YIBAO_TODAY`, as a message; `Ok` when it is unset or a date.
pub fn check_env() -> Result<(), String> {
    match std::env::var(TODAY_VAR) {
        Ok(s) if parse_today(&s).is_none() => {
            Err(format!("{TODAY_VAR}=`{s}` is not a YYYY-MM-DD date"))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn i16_11_a_utc_host_at_23_30_is_on_the_next_day() {
        let late = Utc.with_ymd_and_hms(2024, 3, 31, 23, 30, 0).unwrap();
        assert_eq!(today_at(late), NaiveDate::from_ymd_opt(2024, 4, 1).unwrap());
        let early = Utc.with_ymd_and_hms(2024, 3, 31, 15, 59, 59).unwrap();
        assert_eq!(
            today_at(early),
            NaiveDate::from_ymd_opt(2024, 3, 31).unwrap()
        );
        assert_eq!(
            in_beijing(late).format("%Y-%m-%d %H:%M:%S").to_string(),
            "2024-04-01 07:30:00"
        );
    }

    #[test]
    fn the_test_hook_is_a_date() {
        assert_eq!(
            parse_today("2024-04-01"),
            NaiveDate::from_ymd_opt(2024, 4, 1)
        );
        assert_eq!(parse_today("2024-4-1x"), None);
    }
}
