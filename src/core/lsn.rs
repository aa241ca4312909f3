//! `Lsn`: a PostgreSQL WAL location, written `X/Y` in upper-case hex like PostgreSQL.

use crate::core::wal_segment_size::WalSegmentSize;
use std::fmt;
use std::str::FromStr;

/// A WAL location (byte position in the WAL stream).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

/// The text is not `X/Y` with hex numbers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid LSN '{0}': expected two hexadecimal numbers separated by '/'")]
pub struct LsnParseError(pub String);

impl FromStr for Lsn {
    type Err = LsnParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || LsnParseError(text.to_string());
        let (high, low) = text.trim().split_once('/').ok_or_else(bad)?;
        let parse = |part: &str| {
            if part.is_empty() || part.len() > 8 || !part.bytes().all(|b| b.is_ascii_hexdigit()) {
                Err(bad())
            } else {
                u64::from_str_radix(part, 16).map_err(|_| bad())
            }
        };
        Ok(Lsn((parse(high)? << 32) | parse(low)?))
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:X}/{:X}", self.0 >> 32, self.0 & 0xFFFF_FFFF)
    }
}

impl Lsn {
    /// The absolute segment number holding this location.
    pub fn segment_no(self, size: WalSegmentSize) -> u64 {
        self.0 / size.bytes()
    }

    /// The byte offset of this location inside its segment.
    pub fn segment_offset(self, size: WalSegmentSize) -> u64 {
        self.0 % size.bytes()
    }

    /// Bytes from `other` to `self` (negative when `self` is earlier).
    pub fn diff(self, other: Lsn) -> i128 {
        i128::from(self.0) - i128::from(other.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn lsn_parses_and_prints_like_postgresql() {
        let lsn: Lsn = "0/5000028".parse().unwrap();
        assert_eq!(lsn.0, 0x0500_0028);
        assert_eq!(lsn.to_string(), "0/5000028");
        assert_eq!("1/a".parse::<Lsn>().unwrap().to_string(), "1/A");
        assert_eq!("16/B374D848".parse::<Lsn>().unwrap().0, 0x16_B374_D848);
    }

    #[test]
    fn lsn_rejects_malformed_text() {
        for bad in ["", "0", "0/", "/1", "g/1", "0/123456789", "1/2/3"] {
            assert!(bad.parse::<Lsn>().is_err(), "{bad}");
        }
    }

    #[test]
    fn lsn_segment_arithmetic() {
        let size = WalSegmentSize::DEFAULT;
        let lsn: Lsn = "0/5000028".parse().unwrap();
        assert_eq!(lsn.segment_no(size), 5);
        assert_eq!(lsn.segment_offset(size), 0x28);
        assert_eq!(
            "0/90000C8"
                .parse::<Lsn>()
                .unwrap()
                .diff("0/9000000".parse().unwrap()),
            200
        );
    }

    proptest! {
        #[test]
        fn lsn_round_trips(v in any::<u64>()) {
            prop_assert_eq!(Lsn(v).to_string().parse::<Lsn>().unwrap(), Lsn(v));
        }
    }
}
