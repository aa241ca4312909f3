//! `check-archived-wal-range`'s pure half (Barman 3.20's `cli.check_archived_wal_range`
//! and `xlog.generate_segment_names`): the validation of the two names, in Barman's order
//! and words, and the segments between them.
//!
//! Barman's quirks are kept because scripts may rely on the exit code: a name is checked
//! on its last path component (`is_wal_file` takes a path), lower-case hex is accepted, and
//! `begin_wal > end_wal` compares the arguments as text (so `...0b` is "greater" than
//! `...0C`).

/// Barman's `DEFAULT_XLOG_SEG_SIZE`, used when `backup.info` lacks the field.
pub const DEFAULT_SEGMENT_SIZE: u64 = 1 << 24;

/// Timeline, log and segment of a valid argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Parts {
    tli: u64,
    log: u64,
    seg: u64,
}

/// Barman's `is_wal_file` + `decode_segment_name`: the last path component must be 24 hex
/// digits (Python's `$` also allows one trailing newline).
fn decode(arg: &str) -> Option<Parts> {
    let name = arg.rsplit('/').next().unwrap_or(arg);
    let name = name.strip_suffix('\n').unwrap_or(name);
    if name.len() != 24 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let hex = |range: std::ops::Range<usize>| u64::from_str_radix(&name[range], 16).ok();
    Some(Parts {
        tli: hex(0..8)?,
        log: hex(8..16)?,
        seg: hex(16..24)?,
    })
}

/// A validated range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WalRange {
    begin: Parts,
    end: Parts,
}

/// Check the two arguments as Barman does, in its order.
///
/// # Errors
/// Barman's message for the first problem found.
pub fn validate(begin_wal: &str, end_wal: &str) -> Result<WalRange, String> {
    let begin =
        decode(begin_wal).ok_or_else(|| format!("Invalid WAL segment name: {begin_wal}"))?;
    let end = decode(end_wal).ok_or_else(|| format!("Invalid WAL segment name: {end_wal}"))?;
    if begin.tli != end.tli {
        return Err(format!(
            "begin_wal ({begin_wal}) and end_wal ({end_wal}) must be on the same timeline"
        ));
    }
    if begin_wal > end_wal {
        return Err(format!(
            "begin_wal ({begin_wal}) must not be greater than end_wal ({end_wal})"
        ));
    }
    Ok(WalRange { begin, end })
}

impl WalRange {
    /// Every segment name from begin to end inclusive (Barman's `generate_segment_names`
    /// with a known segment size; a size of 0 makes it list every possible name, as
    /// Barman's does for an unknown size).
    pub fn segments(&self, segment_size: u64) -> impl Iterator<Item = String> {
        let per_log = 0xFFFF_FFFF_u64.checked_div(segment_size).unwrap_or(0x7FFFF);
        let (tli, end) = (self.begin.tli, self.end);
        let mut current = (self.begin.log, self.begin.seg);
        std::iter::from_fn(move || {
            let (log, seg) = current;
            if log > end.log || (log == end.log && seg > end.seg) {
                return None;
            }
            current = if seg + 1 > per_log {
                (log + 1, 0)
            } else {
                (log, seg + 1)
            };
            Some(format!("{tli:08X}{log:08X}{seg:08X}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wal_range_validation_is_barmans_in_order() {
        assert_eq!(
            validate("bad", "also-bad").unwrap_err(),
            "Invalid WAL segment name: bad"
        );
        assert_eq!(
            validate("000000010000000000000001", "00000001000000000000000Z").unwrap_err(),
            "Invalid WAL segment name: 00000001000000000000000Z"
        );
        assert_eq!(
            validate(
                "000000010000000000000001.partial",
                "000000010000000000000002"
            )
            .unwrap_err(),
            "Invalid WAL segment name: 000000010000000000000001.partial"
        );
        assert_eq!(
            validate("000000010000000000000001", "000000020000000000000002").unwrap_err(),
            "begin_wal (000000010000000000000001) and end_wal (000000020000000000000002) must be on the same timeline"
        );
        assert_eq!(
            validate("000000010000000000000003", "000000010000000000000002").unwrap_err(),
            "begin_wal (000000010000000000000003) must not be greater than end_wal (000000010000000000000002)"
        );
        // Text comparison, as Barman: lower-case 'b' sorts after 'C'.
        assert!(validate("00000001000000000000000b", "00000001000000000000000C").is_err());
        assert!(validate("/w/00000001000000000000000A", "00000001000000000000000B").is_ok());
    }

    #[test]
    fn wal_range_segments_cross_the_log_boundary_by_segment_size() {
        let range = validate("0000000100000000000000FE", "000000010000000100000001").unwrap();
        let names: Vec<String> = range.segments(DEFAULT_SEGMENT_SIZE).collect();
        assert_eq!(
            names,
            vec![
                "0000000100000000000000FE",
                "0000000100000000000000FF",
                "000000010000000100000000",
                "000000010000000100000001"
            ]
        );
        let range = validate("00000001000000000000003F", "000000010000000100000000").unwrap();
        let with_64mb: Vec<String> = range.segments(64 << 20).collect();
        assert_eq!(
            with_64mb,
            vec!["00000001000000000000003F", "000000010000000100000000"]
        );
    }

    #[test]
    fn wal_range_single_segment_and_lower_case_input_give_upper_case_names() {
        let range = validate("0000000a0000000000000001", "0000000a0000000000000001").unwrap();
        assert_eq!(
            range.segments(DEFAULT_SEGMENT_SIZE).collect::<Vec<_>>(),
            vec!["0000000A0000000000000001"]
        );
    }
}
