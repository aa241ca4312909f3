//! Modification times of tar members, read as Python's `tarfile` reads them and bounded as
//! `os.utime` bounds them: a header's numeric field (octal text, or GNU base-256 which can
//! be negative) or a PAX `mtime` record (a decimal number, possibly fractional). Nothing here
//! trusts the value: every conversion is checked.

/// Seconds since the epoch (negative before it) and nanoseconds (`0..1e9`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemberTime {
    /// Whole seconds, rounded down.
    pub secs: i64,
    /// The fraction of the second.
    pub nanos: u32,
}

/// A modification time that cannot be set on a file; the value is quoted printable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TarTimeError {
    /// Outside what a 64-bit `time_t` holds (Python: "timestamp out of range for platform
    /// time_t").
    #[error("Timestamp {0} out of range")]
    OutOfRange(String),
    /// Not a number (Python: "invalid header").
    #[error("Invalid timestamp '{0}'")]
    Invalid(String),
}

/// 2^63 as a float: the first value a signed 64-bit `time_t` cannot hold.
const TIME_T_LIMIT: f64 = 9_223_372_036_854_775_808.0;

/// A header's 12-byte `mtime` field, as `tarfile.nti`: base-256 when the first byte is
/// 0x80 (positive) or 0xff (negative, two's complement), else octal text up to the first
/// NUL, blanks around it ignored, empty meaning 0.
pub fn from_header(field: &[u8]) -> Result<MemberTime, TarTimeError> {
    let value: i128 = match field.first() {
        Some(0x80 | 0xff) => base256(field)?,
        _ => octal(field)?,
    };
    i64::try_from(value)
        .map(|secs| MemberTime { secs, nanos: 0 })
        .map_err(|_| TarTimeError::OutOfRange(value.to_string()))
}

fn base256(field: &[u8]) -> Result<i128, TarTimeError> {
    let too_long = || TarTimeError::OutOfRange(crate::core::escape::bytes(field));
    let mut n: i128 = 0;
    for b in &field[1..] {
        n = n
            .checked_mul(256)
            .and_then(|n| n.checked_add(i128::from(*b)))
            .ok_or_else(too_long)?;
    }
    if field[0] == 0xff {
        let span = 1i128
            .checked_shl(8 * u32::try_from(field.len() - 1).map_err(|_| too_long())?)
            .filter(|span| *span > 0)
            .ok_or_else(too_long)?;
        n -= span;
    }
    Ok(n)
}

fn octal(field: &[u8]) -> Result<i128, TarTimeError> {
    let end = field.iter().position(|b| *b == 0).unwrap_or(field.len());
    let invalid = || TarTimeError::Invalid(crate::core::escape::bytes(&field[..end]));
    let text = std::str::from_utf8(&field[..end]).map_err(|_| invalid())?;
    let text = text.trim_matches(|c: char| c.is_ascii_whitespace());
    if text.is_empty() {
        return Ok(0);
    }
    i128::from_str_radix(text, 8).map_err(|_| invalid())
}

/// A PAX `mtime` record, as `tarfile` (`float(value)`, 0 when that fails) then `os.utime`
/// (rounded down to the nanosecond; refused unless the seconds fit a 64-bit `time_t`).
pub fn from_pax(value: &str) -> Result<MemberTime, TarTimeError> {
    let Ok(v) = value.trim().parse::<f64>() else {
        return Ok(MemberTime { secs: 0, nanos: 0 });
    };
    let out_of_range = || TarTimeError::OutOfRange(crate::core::escape::text(value.trim()));
    if !v.is_finite() {
        return Err(out_of_range());
    }
    let mut secs = v.trunc();
    let mut nanos = ((v - secs) * 1e9).floor();
    if nanos >= 1e9 {
        nanos -= 1e9;
        secs += 1.0;
    } else if nanos < 0.0 {
        nanos += 1e9;
        secs -= 1.0;
    }
    if !(-TIME_T_LIMIT..TIME_T_LIMIT).contains(&secs) {
        return Err(out_of_range());
    }
    // Both are integral and in range: the casts are exact.
    Ok(MemberTime {
        secs: secs as i64,
        nanos: nanos as u32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64, nanos: u32) -> Result<MemberTime, TarTimeError> {
        Ok(MemberTime { secs, nanos })
    }

    #[test]
    fn tar_time_reads_octal_and_base256_header_fields() {
        assert_eq!(from_header(b"14524770400\0"), at(1_700_000_000, 0));
        assert_eq!(from_header(b" 17 \0\0\0\0\0\0\0\0"), at(15, 0));
        assert_eq!(from_header(b"\0\0\0\0\0\0\0\0\0\0\0\0"), at(0, 0));
        assert_eq!(from_header(&[0xff; 12]), at(-1, 0));
        let min = [0xff, 0xff, 0xff, 0xff, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(from_header(&min), at(i64::MIN, 0));
        assert_eq!(
            from_header(&[0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0]),
            at(256, 0)
        );
        let huge = [0x80, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert_eq!(
            from_header(&huge),
            Err(TarTimeError::OutOfRange("9223372036854775808".into()))
        );
        let below = [
            0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ];
        assert!(matches!(
            from_header(&below),
            Err(TarTimeError::OutOfRange(_))
        ));
        assert_eq!(
            from_header(b"\x1b[31m\xff\0"),
            Err(TarTimeError::Invalid("\\x1b[31m\\xff".into()))
        );
        assert_eq!(
            from_header(b"99999999999\0"),
            Err(TarTimeError::Invalid("99999999999".into()))
        );
    }

    #[test]
    fn tar_time_reads_pax_records_as_python_and_refuses_what_utime_refuses() {
        assert_eq!(from_pax("1700000000.5"), at(1_700_000_000, 500_000_000));
        assert_eq!(from_pax("-1"), at(-1, 0));
        assert_eq!(from_pax("-1.5"), at(-2, 500_000_000));
        assert_eq!(from_pax("junk"), at(0, 0));
        assert_eq!(
            from_pax("9223372036854774784"),
            at(9_223_372_036_854_774_784, 0)
        );
        for refused in ["9223372036854775807", "1e19", "-1e19", "inf", "NaN"] {
            assert!(
                matches!(from_pax(refused), Err(TarTimeError::OutOfRange(_))),
                "{refused}"
            );
        }
    }
}
