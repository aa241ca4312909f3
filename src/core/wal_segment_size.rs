//! `WalSegmentSize`: PostgreSQL's WAL segment size, a power of two from 1 MiB to 1 GiB.

use std::fmt;

/// A validated WAL segment size in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WalSegmentSize(u64);

/// The size is not a power of two between 1 MiB and 1 GiB.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid WAL segment size {0}: must be a power of two between 1 MiB and 1 GiB")]
pub struct WalSegmentSizeError(pub u64);

impl WalSegmentSize {
    /// PostgreSQL's default, 16 MiB.
    pub const DEFAULT: WalSegmentSize = WalSegmentSize(16 * 1024 * 1024);

    /// Validate a size in bytes.
    pub fn new(bytes: u64) -> Result<Self, WalSegmentSizeError> {
        if bytes.is_power_of_two() && (1 << 20..=1 << 30).contains(&bytes) {
            Ok(WalSegmentSize(bytes))
        } else {
            Err(WalSegmentSizeError(bytes))
        }
    }

    /// The size in bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }

    /// The highest segment number inside one 4 GiB "xlog id", Barman's
    /// `xlog_segments_per_file` (`0xFFFFFFFF // size`: 255 for 16 MiB, so names run
    /// `…00` to `…FF`; before PostgreSQL 9.3 the last one was never used).
    pub fn max_segment_in_xlogid(self) -> u64 {
        0xFFFF_FFFF / self.0
    }
}

impl Default for WalSegmentSize {
    fn default() -> Self {
        WalSegmentSize::DEFAULT
    }
}

impl fmt::Display for WalSegmentSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wal_segment_size_accepts_powers_of_two_in_range() {
        assert_eq!(
            WalSegmentSize::new(16 << 20)
                .unwrap()
                .max_segment_in_xlogid(),
            255
        );
        assert_eq!(
            WalSegmentSize::new(1 << 20)
                .unwrap()
                .max_segment_in_xlogid(),
            4095
        );
        assert_eq!(
            WalSegmentSize::new(1 << 30)
                .unwrap()
                .max_segment_in_xlogid(),
            3
        );
        for bad in [0, 1 << 19, (1 << 31), 3 << 20] {
            assert!(WalSegmentSize::new(bad).is_err(), "{bad}");
        }
    }
}
