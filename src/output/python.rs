//! Text renderings Barman's output inherits from Python: `pretty_size`, `ctime()`,
//! `human_readable_timedelta`. Kept here so every command prints them the same way.

use chrono::{DateTime, Datelike, FixedOffset, Timelike};

/// Barman's `pretty_size`: 1024-based units; bytes as `N B`, others as `N.N <unit>`.
pub fn pretty_size(bytes: f64) -> String {
    const UNITS: [&str; 8] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
    if bytes.abs() < 1024.0 {
        return format!("{} B", bytes as i64);
    }
    let mut value = bytes;
    for unit in UNITS {
        value /= 1024.0;
        if value.abs() < 1024.0 {
            return format!("{value:.1} {unit}");
        }
    }
    format!("{value:.1} YiB")
}

/// Python's `datetime.ctime()`: `Tue Nov 24 01:05:09 2026`, day padded with a space.
pub fn ctime(t: &DateTime<FixedOffset>) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {} {:>2} {:02}:{:02}:{:02} {}",
        DAYS[t.weekday().num_days_from_monday() as usize],
        MONTHS[t.month0() as usize],
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.year()
    )
}

/// Barman's `human_readable_timedelta`: `2 minutes, 12 seconds`, `less than one second`,
/// with ` ago` for negative spans (fractions of a second are dropped, as Python does).
pub fn human_timedelta(seconds: f64) -> String {
    crate::core::config::value::human_timedelta(seconds.trunc() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pretty_size_matches_barman() {
        assert_eq!(pretty_size(0.0), "0 B");
        assert_eq!(pretty_size(1023.0), "1023 B");
        assert_eq!(pretty_size(66126.0), "64.6 KiB");
        assert_eq!(pretty_size(37075950.0), "35.4 MiB");
    }

    #[test]
    fn ctime_pads_day_with_space() {
        let t = DateTime::parse_from_rfc3339("2025-01-01T01:02:03+00:00").unwrap();
        assert_eq!(ctime(&t), "Wed Jan  1 01:02:03 2025");
    }

    #[test]
    fn human_timedelta_matches_barman() {
        assert_eq!(human_timedelta(132.9), "2 minutes, 12 seconds");
        assert_eq!(human_timedelta(0.5), "less than one second");
        assert_eq!(
            human_timedelta(90061.0),
            "1 day, 1 hour, 1 minute, 1 second"
        );
        assert_eq!(human_timedelta(-3600.0), "1 hour ago");
    }
}
