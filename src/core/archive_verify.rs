//! `verify-archive`'s pure rules: whether a file's content agrees with its recorded
//! checksum and size, whether the timeline history files hang together, and which
//! segments are missing between each backup's first WAL and the newest one of its
//! timeline (and of the timelines that branched from it after the backup began).

use crate::core::lsn::Lsn;
use crate::core::timeline::{HistoryEntry, TimelineId};
use crate::core::wal_checksums::ChecksumEntry;
use crate::core::wal_name::{WalFileName, WalSegmentName};
use crate::core::wal_segment_size::WalSegmentSize;
use std::collections::{BTreeMap, BTreeSet};

/// What reading one file showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Its content matches its recorded checksum.
    Good,
    /// It had no checksum: this one is recorded now.
    FirstSeen,
    /// Its content no longer matches the checksum recorded for it.
    Mismatch {
        /// What was recorded.
        recorded: String,
        /// What it is now.
        actual: String,
    },
    /// It decompresses to the wrong number of bytes for a segment.
    WrongSize {
        /// Plain bytes read.
        size: u64,
        /// The segment size.
        expected: u64,
    },
}

/// Judge a file read whole: `sha256` and `plain_size` of its decompressed content,
/// `recorded` its index entry, `segment_size` when known. A segment (or archived
/// `.partial`, which pg_receivewal pads) must be exactly one segment long.
pub fn judge(
    name: &WalFileName,
    sha256: &str,
    plain_size: u64,
    recorded: Option<&ChecksumEntry>,
    segment_size: Option<WalSegmentSize>,
) -> Verdict {
    if let Some(recorded) = recorded {
        if recorded.sha256 != sha256 {
            return Verdict::Mismatch {
                recorded: recorded.sha256.clone(),
                actual: sha256.to_string(),
            };
        }
    }
    let whole_segment = matches!(name, WalFileName::Segment(_) | WalFileName::Partial(_));
    if let (true, Some(size)) = (whole_segment, segment_size) {
        if plain_size != size.bytes() {
            return Verdict::WrongSize {
                size: plain_size,
                expected: size.bytes(),
            };
        }
    }
    if recorded.is_some() {
        Verdict::Good
    } else {
        Verdict::FirstSeen
    }
}

/// A timeline history that does not hang together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineFault {
    /// The timeline concerned.
    pub tli: u32,
    /// What is wrong, as a sentence fragment.
    pub problem: String,
}

/// A history file as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum History {
    /// Its entries.
    Read(Vec<HistoryEntry>),
    /// Why it could not be read or parsed.
    Unreadable(String),
    /// gpg-encrypted: present, content unknown.
    Encrypted,
}

/// Check the archive's timelines: every timeline above 1 that has WAL needs its history
/// file; each history file names a parent below its own timeline, whose history file is
/// archived too (timeline 1 has none) and agrees with it line for line; parents rise and
/// switch points never go back.
pub fn timeline_faults(
    histories: &BTreeMap<u32, History>,
    wal_timelines: &BTreeSet<u32>,
) -> Vec<TimelineFault> {
    let mut faults = Vec::new();
    let fault = |tli: u32, problem: String| TimelineFault { tli, problem };
    for &tli in wal_timelines {
        if tli > 1 && !histories.contains_key(&tli) {
            faults.push(fault(
                tli,
                format!("has WAL but no history file {:08X}.history", tli),
            ));
        }
    }
    for (&tli, history) in histories {
        let entries = match history {
            History::Read(entries) => entries,
            History::Unreadable(e) => {
                faults.push(fault(tli, format!("history file cannot be read: {e}")));
                continue;
            }
            History::Encrypted => continue,
        };
        faults.extend(
            history_problems(tli, entries, histories)
                .into_iter()
                .map(|p| fault(tli, p)),
        );
    }
    faults
}

fn history_problems(
    tli: u32,
    entries: &[HistoryEntry],
    histories: &BTreeMap<u32, History>,
) -> Vec<String> {
    let Some(last) = entries.last() else {
        return vec!["history file names no parent timeline".into()];
    };
    let mut problems = Vec::new();
    for pair in entries.windows(2) {
        if pair[1].parent <= pair[0].parent || pair[1].switchpoint < pair[0].switchpoint {
            problems.push(format!(
                "history goes back from timeline {} at {} to timeline {} at {}",
                pair[0].parent, pair[0].switchpoint, pair[1].parent, pair[1].switchpoint
            ));
        }
    }
    let parent = last.parent.get();
    if parent >= tli {
        problems.push(format!("parent timeline {parent} is not below {tli}"));
        return problems;
    }
    if parent == 1 {
        return problems;
    }
    match histories.get(&parent) {
        None => problems.push(format!(
            "parent timeline {parent} has no history file {parent:08X}.history"
        )),
        Some(History::Read(parent_entries)) => {
            let prefix = &entries[..entries.len() - 1];
            let agrees = parent_entries.len() == prefix.len()
                && parent_entries
                    .iter()
                    .zip(prefix)
                    .all(|(a, b)| a.parent == b.parent && a.switchpoint == b.switchpoint);
            if !agrees {
                problems.push(format!(
                    "history does not agree with its parent timeline {parent}'s"
                ));
            }
        }
        // Reported on its own timeline, or cannot be compared.
        Some(History::Unreadable(_) | History::Encrypted) => {}
    }
    problems
}

/// Where a backup's WAL begins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupStart {
    /// Backup id.
    pub id: String,
    /// `begin_wal`.
    pub begin_wal: WalSegmentName,
    /// `begin_xlog`, when recorded.
    pub begin_lsn: Option<Lsn>,
    /// `end_wal` of a backup kept `standalone`: retention keeps only the WAL it needs to
    /// be consistent, so nothing after this is required for it.
    pub standalone_end: Option<WalSegmentName>,
}

/// A run of consecutive missing segments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// First missing segment.
    pub first: WalSegmentName,
    /// Last missing segment.
    pub last: WalSegmentName,
    /// How many.
    pub count: u64,
    /// The backups whose recovery needs them.
    pub backups: Vec<String>,
}

/// How segments follow each other on this server.
#[derive(Debug, Clone, Copy)]
pub struct Geometry {
    /// The WAL segment size.
    pub size: WalSegmentSize,
    /// PostgreSQL before 9.3 never used the last segment of a log (`…FF` at 16 MiB).
    pub skip_last: bool,
}

/// The segments missing between each backup's `begin_wal` and the newest segment of its
/// timeline, and of every timeline that branched from it at or after the backup's start
/// (from where that timeline begins to its newest segment); a backup kept `standalone`
/// needs only its own `begin_wal..end_wal`. `present` holds the segments (and `.partial`
/// segments) in the archive. Consecutive missing segments are reported as one run, with
/// every backup that needs any of them.
pub fn gaps(
    backups: &[BackupStart],
    present: &BTreeSet<WalSegmentName>,
    histories: &BTreeMap<u32, Vec<HistoryEntry>>,
    geometry: Geometry,
) -> Vec<Gap> {
    let mut missing: BTreeMap<WalSegmentName, Vec<String>> = BTreeMap::new();
    for backup in backups {
        let mut needs = vec![(backup.begin_wal, backup.standalone_end, true)];
        if backup.standalone_end.is_none() {
            needs.extend(histories.iter().filter_map(|(&child, history)| {
                branch_start(child, history, backup, geometry.size).map(|s| (s, None, false))
            }));
        }
        for (start, until, own) in needs {
            let Some(end) = until.or_else(|| newest_from(present, start, own)) else {
                continue;
            };
            for segment in start.range_to(end, geometry.size, geometry.skip_last) {
                if !present.contains(&segment) {
                    let ids = missing.entry(segment).or_default();
                    if !ids.contains(&backup.id) {
                        ids.push(backup.id.clone());
                    }
                }
            }
        }
    }
    let mut runs: Vec<Gap> = Vec::new();
    for (segment, ids) in missing {
        match runs.last_mut() {
            Some(run) if step(run.last, geometry) == segment => {
                run.last = segment;
                run.count += 1;
                for id in ids {
                    if !run.backups.contains(&id) {
                        run.backups.push(id);
                    }
                }
            }
            _ => runs.push(Gap {
                first: segment,
                last: segment,
                count: 1,
                backups: ids,
            }),
        }
    }
    runs
}

/// The newest segment of `start`'s timeline from `start` on. With none: `start` itself
/// for a backup's own timeline (at least its first segment is missing), nothing for a
/// timeline that branched off but has no WAL yet.
fn newest_from(
    present: &BTreeSet<WalSegmentName>,
    start: WalSegmentName,
    own: bool,
) -> Option<WalSegmentName> {
    let end_of_timeline = WalSegmentName {
        tli: start.tli,
        log: u32::MAX,
        seg: u32::MAX,
    };
    match present.range(start..=end_of_timeline).next_back() {
        Some(newest) => Some(*newest),
        None if own => Some(start),
        None => None,
    }
}

/// The segment after `segment`, as [`WalSegmentName::range_to`] steps.
fn step(segment: WalSegmentName, geometry: Geometry) -> WalSegmentName {
    let end = WalSegmentName {
        log: segment.log.saturating_add(1),
        ..segment
    };
    segment
        .range_to(end, geometry.size, geometry.skip_last)
        .nth(1)
        .unwrap_or(segment)
}

/// Where timeline `child` begins, when it descends from `backup`'s timeline at a switch
/// point at or after the backup's start.
fn branch_start(
    child: u32,
    history: &[HistoryEntry],
    backup: &BackupStart,
    size: WalSegmentSize,
) -> Option<WalSegmentName> {
    let tli = backup.begin_wal.tli;
    if child == tli {
        return None;
    }
    let branch = history.iter().find(|e| e.parent.get() == tli)?;
    let branch_segment = WalSegmentName::from_lsn(branch.switchpoint, branch.parent, size).0;
    let after_start = match backup.begin_lsn {
        Some(lsn) => branch.switchpoint >= lsn,
        None => {
            (branch_segment.log, branch_segment.seg) >= (backup.begin_wal.log, backup.begin_wal.seg)
        }
    };
    if !after_start {
        return None;
    }
    let own_start = history.last()?.switchpoint;
    let child_tli = TimelineId::new(child).ok()?;
    Some(WalSegmentName::from_lsn(own_start, child_tli, size).0)
}

#[cfg(test)]
mod tests;
