//! The WAL side of one backup, as pure rules over xlog.db entries: which entries belong to
//! a backup "until the next one" (`Server.get_wal_until_next_backup`), the statistics
//! list-backups/show-backup print (`Server.get_wal_info`), the check-backup decision
//! (`BackupManager.check_backup`), and which WALs a delete keeps
//! (`BackupManager.should_remove_wals`, `remove_wal_before_backup`).

use crate::core::retention::KeepTarget;
use crate::core::timeline::TimelineId;
use crate::core::wal_name::{WalFileName, WalSegmentName};
use crate::core::wal_segment_size::WalSegmentSize;
use crate::core::xlog_db::XlogDbEntry;
use std::collections::BTreeSet;

/// What to do with one xlog.db entry while collecting a backup's WALs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Not part of it.
    Skip,
    /// Part of it.
    Take,
    /// Past the next backup's end: nothing later belongs to it.
    Stop,
}

/// The 8-hex timeline of any archive name, `None` when the name is not one
/// (Barman's `decode_segment_name` raising `BadXlogSegmentName`).
pub fn timeline_of(name: &str) -> Option<u32> {
    name.parse::<WalFileName>().ok()?;
    TimelineId::of_name(name).map(TimelineId::get)
}

/// One step of `get_wal_until_next_backup`: history files only when asked, entries before
/// `begin` skipped, later timelines skipped, non-segments skipped, stop after `next_end`.
///
/// # Errors
/// The name is not a WAL archive name (the caller prints Barman's rebuild-xlogdb hint).
pub fn until_next_step(
    name: &str,
    begin: &str,
    next_end: Option<&str>,
    include_history: bool,
) -> Result<Step, String> {
    let parsed: Option<WalFileName> = name.parse().ok();
    if let Some(WalFileName::History(_)) = parsed {
        return Ok(if include_history {
            Step::Take
        } else {
            Step::Skip
        });
    }
    if name < begin {
        return Ok(Step::Skip);
    }
    let tli = timeline_of(name).ok_or_else(|| name.to_string())?;
    let backup_tli = timeline_of(begin).ok_or_else(|| begin.to_string())?;
    if tli > backup_tli || !matches!(parsed, Some(WalFileName::Segment(_))) {
        return Ok(Step::Skip);
    }
    if next_end.is_some_and(|end| name > end) {
        return Ok(Step::Stop);
    }
    Ok(Step::Take)
}

/// `Server.get_wal_info`: counts and sizes of the WALs a backup needs (`wal_*`) and of
/// those after it until the next backup (`wal_until_next_*`), with rates and ratios.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WalInfo {
    /// WALs from begin to end.
    pub wal_num: u64,
    /// Their size on disk.
    pub wal_size: u64,
    /// WALs after end, until the next backup.
    pub until_next_num: u64,
    /// Their size on disk.
    pub until_next_size: u64,
    /// First WAL (= begin_wal when archived) and its time.
    pub first: Option<(String, f64)>,
    /// Last WAL seen and its time.
    pub last: Option<(String, f64)>,
    /// WAL files per second between first and last.
    pub wals_per_second: f64,
    /// `1 - wal_size / (wal_num × segment size)`.
    pub wal_compression_ratio: f64,
    /// The same for the WALs until the next backup.
    pub until_next_compression_ratio: f64,
}

impl WalInfo {
    /// Account one entry taken by [`until_next_step`].
    pub fn add(&mut self, entry: &XlogDbEntry, begin: &str, end: &str) {
        if entry.name == begin {
            self.first = Some((entry.name.clone(), entry.time));
        }
        if entry.name.as_str() <= end {
            self.wal_num += 1;
            self.wal_size += entry.size;
        } else {
            self.until_next_num += 1;
            self.until_next_size += entry.size;
        }
        self.last = Some((entry.name.clone(), entry.time));
    }

    /// Compute the rates once every entry was added (only when begin_wal was found).
    pub fn finish(&mut self, segment_size: u64) {
        let (Some((_, first)), Some((_, last))) = (&self.first, &self.last) else {
            return;
        };
        let seconds = last - first;
        if seconds > 0.0 {
            self.wals_per_second = (self.wal_num + self.until_next_num) as f64 / seconds;
        }
        let ratio = |size: u64, num: u64| {
            let theoretical = num as f64 * segment_size as f64;
            if theoretical == 0.0 {
                0.0
            } else {
                1.0 - size as f64 / theoretical
            }
        };
        self.wal_compression_ratio = ratio(self.wal_size, self.wal_num);
        self.until_next_compression_ratio = ratio(self.until_next_size, self.until_next_num);
    }

    /// Name of the last WAL, as show-backup prints it (`None` when there is none).
    pub fn last_name(&self) -> Option<&str> {
        self.last.as_ref().map(|(name, _)| name.as_str())
    }
}

/// Every segment from `begin` to `end` (Barman's `get_required_wal_segments`); PostgreSQL
/// before 9.3 skipped the last segment of each log.
pub fn required_segments(
    begin: &str,
    end: &str,
    version: Option<i64>,
    segment_size: WalSegmentSize,
) -> Vec<String> {
    let (Ok(begin), Ok(end)) = (
        begin.parse::<WalSegmentName>(),
        end.parse::<WalSegmentName>(),
    ) else {
        return Vec::new();
    };
    let skip_last = version.is_some_and(|v| v < 90300);
    begin
        .range_to(end, segment_size, skip_last)
        .map(|s| s.to_string())
        .collect()
}

/// The outcome of `check-backup` on a backup with an `end_wal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckOutcome {
    /// Every WAL is archived.
    Done,
    /// Still waiting for WALs to be archived.
    WaitingForWals,
    /// Cannot become consistent: the error text to store.
    Failed(String),
}

/// Barman's `BackupManager.check_backup` decision. `last_archived` is the newest archived
/// segment of the begin timeline; `required` the backup's segments; `exists` tells whether
/// a segment is in the archive.
pub fn check_backup(
    begin_wal: &str,
    end_wal: &str,
    last_archived: Option<&str>,
    required: &[String],
    exists: impl Fn(&str) -> bool,
) -> CheckOutcome {
    let begin_tli = begin_wal.get(..8).unwrap_or(begin_wal);
    let end_tli = end_wal.get(..8).unwrap_or(end_wal);
    if begin_tli != end_tli {
        return CheckOutcome::Failed(format!(
            "Backups spanning multiple timelines are not supported. The backup starts in timeline {begin_tli} and ends in timeline {end_tli}."
        ));
    }
    let Some(last) = last_archived.filter(|last| *last >= begin_wal) else {
        return CheckOutcome::WaitingForWals;
    };
    let missing = required
        .iter()
        .take_while(|wal| wal.as_str() <= last)
        .find(|wal| !exists(wal));
    if let Some(wal) = missing {
        return CheckOutcome::Failed(format!(
            "At least one WAL file is missing. The first missing WAL file is {wal}"
        ));
    }
    if end_wal <= last {
        CheckOutcome::Done
    } else {
        CheckOutcome::WaitingForWals
    }
}

/// A backup as the WAL-removal rules see it.
#[derive(Debug, Clone)]
pub struct BackupWalRange {
    /// Its id.
    pub id: String,
    /// `begin_wal`.
    pub begin_wal: Option<String>,
    /// `end_wal`.
    pub end_wal: Option<String>,
    /// Its keep annotation.
    pub keep: Option<KeepTarget>,
}

/// `BackupManager.should_remove_wals`: walk the backups older than the deleted one (given
/// newest first, already filtered to DONE/WAITING_FOR_WALS); WALs go only when none exists
/// or all are keep:standalone (and only when `skip_if_standalone` is false), protecting each
/// standalone backup's begin..end range.
pub fn should_remove_wals(
    previous_newest_first: &[BackupWalRange],
    skip_if_standalone: bool,
) -> (bool, Vec<(String, String)>) {
    let mut ranges = Vec::new();
    for previous in previous_newest_first {
        if previous.keep != Some(KeepTarget::Standalone) || skip_if_standalone {
            return (false, Vec::new());
        }
        ranges.push((
            previous.begin_wal.clone().unwrap_or_default(),
            previous.end_wal.clone().unwrap_or_default(),
        ));
    }
    (true, ranges)
}

/// What `remove_wal_before_backup` protects.
#[derive(Debug, Clone, Default)]
pub struct WalProtection {
    /// WALs at or after this name stay (the begin_wal of the backup removal stops at).
    pub keep_from: Option<String>,
    /// Timelines used by other backups.
    pub timelines: BTreeSet<u32>,
    /// Inclusive ranges of keep:standalone backups.
    pub ranges: Vec<(String, String)>,
}

impl WalProtection {
    /// True when the archive entry `name` must stay (history files always do).
    pub fn keeps(&self, name: &str) -> bool {
        if matches!(name.parse(), Ok(WalFileName::History(_))) {
            return true;
        }
        if timeline_of(name).is_some_and(|tli| self.timelines.contains(&tli)) {
            return true;
        }
        let range_name = match name.parse() {
            Ok(WalFileName::BackupLabel { .. }) => name.get(..24).unwrap_or(name),
            _ => name,
        };
        if self
            .ranges
            .iter()
            .any(|(begin, end)| range_name >= begin.as_str() && range_name <= end.as_str())
        {
            return true;
        }
        self.keep_from.as_deref().is_some_and(|from| name >= from)
    }
}

#[cfg(test)]
mod tests;
