//! The commit-time index: for each archived WAL segment, the earliest and latest
//! transaction end (commit/abort) time its records carry ([`super::wal_records`]), one line
//! per segment in the sidecar `<server>-xlog.db.commits` beside xlog.db. What it decides:
//! which WAL a `--target-time` recovery can leave behind ([`plan_time_cut`]), how much WAL a
//! recovery replays ([`estimate`]) and how far a backup can be recovered ([`latest_commit`]).
//! Pure: the adapter reads and appends the file. See doc/commit-index.md.

use super::wal_name::WalSegmentName;
use super::wal_records::CommitSpan;
use chrono::{DateTime, TimeZone, Utc};
use std::collections::HashMap;

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 00:00 UTC).
const PG_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;

/// A PostgreSQL `TimestampTz` as a UTC time (None when out of chrono's range).
pub fn pg_time(micros: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_micros(micros.checked_add(PG_EPOCH_UNIX_MICROS)?)
        .single()
}

/// A time as a PostgreSQL `TimestampTz`.
pub fn to_pg_time<Tz: TimeZone>(time: &DateTime<Tz>) -> i64 {
    time.timestamp_micros() - PG_EPOCH_UNIX_MICROS
}

/// One line of the index: a segment and its transaction end times (None: unreadable).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexLine {
    /// The segment's file name (24 hex digits).
    pub name: String,
    /// What its records say; None when the reader could not read it.
    pub span: Option<CommitSpan>,
}

fn format_time(micros: Option<i64>) -> String {
    match micros.and_then(pg_time) {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
        None => "-".into(),
    }
}

fn parse_time(text: &str) -> Option<Option<i64>> {
    if text == "-" {
        return Some(None);
    }
    let t = DateTime::parse_from_rfc3339(text).ok()?;
    Some(Some(to_pg_time(&t)))
}

impl IndexLine {
    /// `NAME FIRST LAST COUNT\n` (times in UTC, `-` without any), or `NAME unknown\n`.
    pub fn to_line(&self) -> String {
        match &self.span {
            Some(s) => format!(
                "{} {} {} {}\n",
                self.name,
                format_time(s.first),
                format_time(s.last),
                s.count
            ),
            None => format!("{} unknown\n", self.name),
        }
    }

    /// One line back (None for a torn or foreign line).
    pub fn parse(line: &str) -> Option<IndexLine> {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let name = fields.first()?;
        name.parse::<WalSegmentName>().ok()?;
        let span = match fields[1..] {
            ["unknown"] => None,
            [first, last, count] => {
                let span = CommitSpan {
                    count: count.parse().ok()?,
                    first: parse_time(first)?,
                    last: parse_time(last)?,
                };
                if (span.count == 0) != span.first.is_none()
                    || span.first.is_none() != span.last.is_none()
                {
                    return None;
                }
                Some(span)
            }
            _ => return None,
        };
        Some(IndexLine {
            name: name.to_string(),
            span,
        })
    }
}

/// The index as read: segment name → span (None: unknown). Lines that do not parse (a torn
/// last line) are skipped; a later line for the same segment wins.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CommitIndex {
    spans: HashMap<String, Option<CommitSpan>>,
}

impl CommitIndex {
    /// Parse the sidecar's text.
    pub fn parse(text: &str) -> CommitIndex {
        let spans = text
            .lines()
            .filter_map(IndexLine::parse)
            .map(|l| (l.name, l.span))
            .collect();
        CommitIndex { spans }
    }

    /// What is known of `name`: None when the index has no line, Some(None) when unknown.
    pub fn get(&self, name: &str) -> Option<Option<CommitSpan>> {
        self.spans.get(name).copied()
    }

    /// Indexed segments.
    pub fn len(&self) -> usize {
        self.spans.len()
    }

    /// True without any line.
    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }
}

/// What a `--target-time` recovery can leave behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeCut {
    /// Copy everything: why.
    All(&'static str),
    /// Copy up to and including `last`; these later names are not needed.
    After {
        /// The segment holding the first transaction end after the target.
        last: String,
        /// The names (in the list's order) recovery will not read.
        skipped: Vec<String>,
    },
}

/// Which of `names` (the WAL a recovery would copy, in archive order: history files and
/// segments, `.partial` names stripped) a recovery to `target` (a `TimestampTz`) needs.
/// PostgreSQL stops before the first transaction end later than the target
/// (`recoveryStopsBefore`; exactly at it when not inclusive), so every segment after the
/// first one holding such a record is never read — provided that segment comes after the
/// backup's end (`end_wal`, needed for consistency) and all segments after the end are on
/// one timeline (a timeline switch makes "after" ambiguous). A segment the index does not
/// know only moves the cut later. History files are always kept.
pub fn plan_time_cut(names: &[String], end_wal: &str, target: i64, index: &CommitIndex) -> TimeCut {
    let Ok(end) = end_wal.parse::<WalSegmentName>() else {
        return TimeCut::All("the backup's end WAL is unknown");
    };
    let after: Vec<(usize, WalSegmentName)> = names
        .iter()
        .enumerate()
        .filter_map(|(i, n)| Some((i, n.parse::<WalSegmentName>().ok()?)))
        .filter(|(_, s)| s.to_string().as_str() > end_wal)
        .collect();
    if after.iter().any(|(_, s)| s.tli != end.tli) {
        return TimeCut::All("the WAL after the backup crosses a timeline switch");
    }
    let cut = after.iter().find(|(i, _)| {
        index
            .get(&names[*i])
            .flatten()
            .and_then(|s| s.last)
            .is_some_and(|last| last > target)
    });
    let Some((at, seg)) = cut else {
        return TimeCut::All("no indexed segment has a transaction end after the target");
    };
    let skipped = after
        .iter()
        .filter(|(i, _)| i > at)
        .map(|(i, _)| names[*i].clone())
        .collect();
    TimeCut::After {
        last: seg.to_string(),
        skipped,
    }
}

/// How much WAL a recovery replays, and the transaction end times it spans.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReplayEstimate {
    /// Segments to replay.
    pub segments: u64,
    /// Their plain size in bytes.
    pub bytes: u64,
    /// Segments the index does not know (their commits are not in `span`).
    pub unindexed: u64,
    /// The earliest and latest transaction end in the indexed segments.
    pub span: CommitSpan,
}

impl ReplayEstimate {
    /// The console sentence: `3 WAL segments (48.0 MiB), commits from … to …`.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "{} WAL segments ({:.1} MiB)",
            self.segments,
            self.bytes as f64 / 1048576.0
        );
        match (
            self.span.first.and_then(pg_time),
            self.span.last.and_then(pg_time),
        ) {
            (Some(first), Some(last)) => text.push_str(&format!(
                ", {} transactions ending from {} to {}",
                self.span.count,
                first.format("%Y-%m-%d %H:%M:%S%.3f UTC"),
                last.format("%Y-%m-%d %H:%M:%S%.3f UTC")
            )),
            _ => text.push_str(", no transaction ends indexed"),
        }
        if self.unindexed > 0 {
            text.push_str(&format!(" ({} segments not indexed)", self.unindexed));
        }
        text
    }
}

/// The replay estimate of the segments among `names` (of `segment_size` bytes each).
pub fn estimate(names: &[String], segment_size: u64, index: &CommitIndex) -> ReplayEstimate {
    let mut e = ReplayEstimate::default();
    for name in names {
        if name.parse::<WalSegmentName>().is_err() {
            continue;
        }
        e.segments += 1;
        e.bytes += segment_size;
        match index.get(name).flatten() {
            Some(s) => {
                e.span.count += s.count;
                e.span.first = min_some(e.span.first, s.first);
                e.span.last = e.span.last.max(s.last);
            }
            None => e.unindexed += 1,
        }
    }
    e
}

fn min_some(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// The latest transaction end indexed on timeline `tli` at or after segment `from`: how far
/// the archive can take a backup that starts there.
pub fn latest_commit(index: &CommitIndex, tli: u32, from: &str) -> Option<i64> {
    index
        .spans
        .iter()
        .filter(|(name, _)| name.as_str() >= from)
        .filter(|(name, _)| name.parse::<WalSegmentName>().is_ok_and(|s| s.tli == tli))
        .filter_map(|(_, span)| span.and_then(|s| s.last))
        .max()
}

#[cfg(test)]
#[path = "commit_index_tests.rs"]
mod tests;
