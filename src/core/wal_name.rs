//! WAL file names and their arithmetic, with Barman's `xlog.py` semantics:
//! `TTTTTTTTLLLLLLLLSSSSSSSS` segments, `.partial`, `.<offset>.backup` labels and
//! `TTTTTTTT.history` files; hash folders; next/previous segment; ranges.

use crate::core::lsn::Lsn;
use crate::core::timeline::TimelineId;
use crate::core::wal_segment_size::WalSegmentSize;
use std::fmt;
use std::str::FromStr;

/// A WAL segment: timeline, log (high 32 bits) and segment within the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WalSegmentName {
    /// Timeline.
    pub tli: u32,
    /// "xlog id": the high 32 bits of the position.
    pub log: u32,
    /// Segment number inside the log.
    pub seg: u32,
}

/// A name that is not a WAL file name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid WAL name '{0}'")]
pub struct WalNameError(pub String);

fn hex8(text: &str) -> Option<u32> {
    (text.len() == 8 && text.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u32::from_str_radix(text, 16).ok())
        .flatten()
}

impl FromStr for WalSegmentName {
    type Err = WalNameError;

    /// 24 hex digits; lower case accepted, as Barman's regex does.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || WalNameError(text.to_string());
        if text.len() != 24 || !text.is_ascii() {
            return Err(bad());
        }
        Ok(WalSegmentName {
            tli: hex8(&text[..8]).ok_or_else(bad)?,
            log: hex8(&text[8..16]).ok_or_else(bad)?,
            seg: hex8(&text[16..]).ok_or_else(bad)?,
        })
    }
}

impl fmt::Display for WalSegmentName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:08X}{:08X}{:08X}", self.tli, self.log, self.seg)
    }
}

impl WalSegmentName {
    /// The segment holding `lsn` on `tli` (Barman's `location_to_xlogfile_name_offset`),
    /// with the offset inside it.
    pub fn from_lsn(lsn: Lsn, tli: TimelineId, size: WalSegmentSize) -> (WalSegmentName, u64) {
        let log = (lsn.0 >> 32) as u32;
        let mask = size.bytes() * size.max_segment_in_xlogid();
        let seg = ((lsn.0 & mask) / size.bytes()) as u32;
        let offset = lsn.0 & (size.bytes() - 1);
        (
            WalSegmentName {
                tli: tli.get(),
                log,
                seg,
            },
            offset,
        )
    }

    /// The hash folder in the archive: the first 16 hex digits.
    pub fn hash_dir(&self) -> String {
        format!("{:08X}{:08X}", self.tli, self.log)
    }

    /// The following segment (Barman's `next_segment_name`).
    pub fn next(&self, size: WalSegmentSize) -> WalSegmentName {
        if u64::from(self.seg) >= size.max_segment_in_xlogid() {
            WalSegmentName {
                log: self.log + 1,
                seg: 0,
                ..*self
            }
        } else {
            WalSegmentName {
                seg: self.seg + 1,
                ..*self
            }
        }
    }

    /// The preceding segment (Barman's `previous_segment_name`).
    pub fn previous(&self, size: WalSegmentSize) -> WalSegmentName {
        if self.seg == 0 {
            WalSegmentName {
                log: self.log.saturating_sub(1),
                seg: size.max_segment_in_xlogid() as u32,
                ..*self
            }
        } else {
            WalSegmentName {
                seg: self.seg - 1,
                ..*self
            }
        }
    }

    /// Every segment from `self` to `end` inclusive on one timeline (Barman's
    /// `generate_segment_names`); `skip_last` for PostgreSQL < 9.3, which never used the
    /// last segment of a log.
    pub fn range_to(
        self,
        end: WalSegmentName,
        size: WalSegmentSize,
        skip_last: bool,
    ) -> impl Iterator<Item = WalSegmentName> {
        let max = size.max_segment_in_xlogid();
        let mut current = Some(self);
        std::iter::from_fn(move || {
            let this = current?;
            if (this.log, this.seg) > (end.log, end.seg) {
                return None;
            }
            let mut next = this.next(size);
            if skip_last && u64::from(next.seg) == max {
                next = WalSegmentName {
                    log: next.log + 1,
                    seg: 0,
                    ..next
                };
            }
            current = Some(next);
            Some(this)
        })
    }
}

/// Any file of the WAL archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WalFileName {
    /// A full segment.
    Segment(WalSegmentName),
    /// `<segment>.partial`.
    Partial(WalSegmentName),
    /// `<segment>.<offset>.backup`.
    BackupLabel {
        /// The segment the backup started in.
        segment: WalSegmentName,
        /// The start offset (8 hex digits).
        offset: u32,
    },
    /// `<TLI>.history`.
    History(u32),
}

impl FromStr for WalFileName {
    type Err = WalNameError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bad = || WalNameError(text.to_string());
        if let Some(tli) = text.strip_suffix(".history") {
            return hex8(tli).map(WalFileName::History).ok_or_else(bad);
        }
        if let Some(segment) = text.strip_suffix(".partial") {
            return segment.parse().map(WalFileName::Partial).map_err(|_| bad());
        }
        if let Some(rest) = text.strip_suffix(".backup") {
            let (segment, offset) = rest.split_once('.').ok_or_else(bad)?;
            return Ok(WalFileName::BackupLabel {
                segment: segment.parse().map_err(|_| bad())?,
                offset: hex8(offset).ok_or_else(bad)?,
            });
        }
        text.parse().map(WalFileName::Segment).map_err(|_| bad())
    }
}

impl fmt::Display for WalFileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WalFileName::Segment(s) => write!(f, "{s}"),
            WalFileName::Partial(s) => write!(f, "{s}.partial"),
            WalFileName::BackupLabel { segment, offset } => {
                write!(f, "{segment}.{offset:08X}.backup")
            }
            WalFileName::History(tli) => write!(f, "{tli:08X}.history"),
        }
    }
}

impl WalFileName {
    /// The archive sub-folder: the segment's hash folder, `""` (the archive root) for
    /// history files.
    pub fn hash_dir(&self) -> String {
        match self {
            WalFileName::Segment(s)
            | WalFileName::Partial(s)
            | WalFileName::BackupLabel { segment: s, .. } => s.hash_dir(),
            WalFileName::History(_) => String::new(),
        }
    }

    /// True for a plain segment (Barman's `is_wal_file`).
    pub fn is_segment(&self) -> bool {
        matches!(self, WalFileName::Segment(_))
    }
}

/// Barman's `is_any_xlog_file`: any name of the WAL archive.
pub fn is_any_xlog_file(name: &str) -> bool {
    name.parse::<WalFileName>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SIZE: WalSegmentSize = WalSegmentSize::DEFAULT;

    fn seg(text: &str) -> WalSegmentName {
        text.parse().unwrap()
    }

    #[test]
    fn wal_name_parses_all_kinds_and_prints_upper_case() {
        assert_eq!(
            "000000010000000000000003".parse::<WalFileName>().unwrap(),
            WalFileName::Segment(seg("000000010000000000000003"))
        );
        assert_eq!(
            seg("0000000a0000000b0000000c").to_string(),
            "0000000A0000000B0000000C"
        );
        let label: WalFileName = "000000010000000000000003.00000028.backup".parse().unwrap();
        assert_eq!(
            label.to_string(),
            "000000010000000000000003.00000028.backup"
        );
        assert_eq!(label.hash_dir(), "0000000100000000");
        let history: WalFileName = "00000002.history".parse().unwrap();
        assert_eq!(history, WalFileName::History(2));
        assert_eq!(history.hash_dir(), "");
        assert!(matches!(
            "000000010000000000000047.partial"
                .parse::<WalFileName>()
                .unwrap(),
            WalFileName::Partial(_)
        ));
    }

    #[test]
    fn wal_name_rejects_non_wal_names() {
        for bad in [
            "",
            "junkfile",
            "00000001000000000000000",
            "0000000100000000000000GG",
            "000000010000000000000003.tmp",
            "0000001.history",
            "000000010000000000000003.partial.gz",
            "000000010000000000000003.0028.backup",
        ] {
            assert!(bad.parse::<WalFileName>().is_err(), "{bad}");
            assert!(!is_any_xlog_file(bad), "{bad}");
        }
    }

    #[test]
    fn wal_name_next_and_previous_cross_logs_like_barman() {
        assert_eq!(
            seg("0000000100000000000000FF").next(SIZE).to_string(),
            "000000010000000100000000"
        );
        assert_eq!(
            seg("000000010000000100000000").previous(SIZE).to_string(),
            "0000000100000000000000FF"
        );
        assert_eq!(
            seg("000000010000000000000003").next(SIZE).to_string(),
            "000000010000000000000004"
        );
    }

    #[test]
    fn wal_name_range_with_and_without_pre_93_skip() {
        let range: Vec<String> = seg("0000000100000000000000FE")
            .range_to(seg("000000010000000100000001"), SIZE, false)
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            range,
            [
                "0000000100000000000000FE",
                "0000000100000000000000FF",
                "000000010000000100000000",
                "000000010000000100000001"
            ]
        );
        let old: Vec<String> = seg("0000000100000000000000FE")
            .range_to(seg("000000010000000100000000"), SIZE, true)
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            old,
            ["0000000100000000000000FE", "000000010000000100000000"]
        );
    }

    #[test]
    fn wal_name_from_lsn_matches_pg_walfile_name_offset() {
        let tli = TimelineId::new(1).unwrap();
        let (name, offset) = WalSegmentName::from_lsn("0/5000028".parse().unwrap(), tli, SIZE);
        assert_eq!(
            (name.to_string(), offset),
            ("000000010000000000000005".to_string(), 0x28)
        );
        let (name, _) = WalSegmentName::from_lsn("1/FF000000".parse().unwrap(), tli, SIZE);
        assert_eq!(name.to_string(), "0000000100000001000000FF");
        let small = WalSegmentSize::new(1 << 20).unwrap();
        let (name, offset) = WalSegmentName::from_lsn("0/500028".parse().unwrap(), tli, small);
        assert_eq!(
            (name.to_string(), offset),
            ("000000010000000000000005".to_string(), 0x28)
        );
    }

    proptest! {
        #[test]
        fn wal_segment_name_round_trips(tli in 1u32.., log in any::<u32>(), s in 0u32..256) {
            let name = WalSegmentName { tli, log, seg: s };
            prop_assert_eq!(name.to_string().parse::<WalSegmentName>().unwrap(), name);
            prop_assert_eq!(name.to_string().to_lowercase().parse::<WalSegmentName>().unwrap(), name);
        }
    }
}
