//! `backup.info`: Barman's catalog entry of one backup (`barman/infofile.py`).
//!
//! One `key=value` line per field, keys sorted, `None` for null, Python `repr()` literals for
//! the structured fields. Values are kept as written, so reading and writing a file Barman
//! wrote gives the same bytes; typed accessors interpret them on demand.

use crate::core::lsn::Lsn;
use crate::core::pg_version::PgVersion;
use crate::core::py_literal::{self, PyValue};
use crate::core::timeline::TimelineId;
use crate::core::wal_name::WalSegmentName;
use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone};
use std::fmt;
use std::str::FromStr;

/// How a field's text is read (Barman's `Field` loaders in `infofile.py`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FieldKind {
    /// Free text.
    Text,
    /// An integer.
    Int,
    /// A Python literal (`repr()` of a dict or list).
    Literal,
    /// Python's `str(datetime)`.
    Time,
    /// A WAL segment name.
    Wal,
    /// An LSN (`X/X`).
    Lsn,
    /// A [`BackupStatus`].
    Status,
}

/// Declares [`Field`] (one variant per key, in the file's sorted order), [`FIELDS`] and
/// each field's [`FieldKind`] from one table, so the parser, the writer and every reader
/// agree, and a misspelt field is a compile error instead of a silent `None`.
macro_rules! backup_info_fields {
    ($( $variant:ident = $name:literal : $kind:ident $(, $hidden:ident)? ; )*) => {
        /// A field of `backup.info`. The declaration order is the file's (sorted) order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Field {
            $( #[doc = concat!("`", $name, "`")] $variant, )*
        }

        /// Every field Barman 3.20 writes, sorted.
        pub const FIELDS: &[&str] = &[ $( $name ),* ];

        impl Field {
            /// Every field, in the file's order.
            pub const ALL: &'static [Field] = &[ $( Field::$variant ),* ];

            /// The key as written in the file.
            pub fn name(self) -> &'static str {
                match self { $( Field::$variant => $name, )* }
            }

            /// The field named `key`, if Barman knows it.
            pub fn from_name(key: &str) -> Option<Field> {
                match key { $( $name => Some(Field::$variant), )* _ => None }
            }

            fn kind(self) -> FieldKind {
                match self { $( Field::$variant => FieldKind::$kind, )* }
            }

            /// Left out of the file when null (`backup_name`, `snapshots_info`).
            fn hidden_when_null(self) -> bool {
                match self { $( Field::$variant => backup_info_fields!(@hidden $($hidden)?), )* }
            }
        }
    };
    (@hidden hidden) => { true };
    (@hidden) => { false };
}

backup_info_fields! {
    BackupLabel = "backup_label": Literal;
    BackupName = "backup_name": Text, hidden;
    BeginOffset = "begin_offset": Int;
    BeginTime = "begin_time": Time;
    BeginWal = "begin_wal": Wal;
    BeginXlog = "begin_xlog": Lsn;
    ChildrenBackupIds = "children_backup_ids": Text;
    ClusterSize = "cluster_size": Int;
    Compression = "compression": Text;
    ConfigFile = "config_file": Text;
    CopyStats = "copy_stats": Literal;
    DataChecksums = "data_checksums": Text;
    DeduplicatedSize = "deduplicated_size": Int;
    Encryption = "encryption": Text;
    EndOffset = "end_offset": Int;
    EndTime = "end_time": Time;
    EndWal = "end_wal": Wal;
    EndXlog = "end_xlog": Lsn;
    Error = "error": Text;
    HbaFile = "hba_file": Text;
    IdentFile = "ident_file": Text;
    IncludedFiles = "included_files": Literal;
    Mode = "mode": Text;
    ParentBackupId = "parent_backup_id": Text;
    Pgdata = "pgdata": Text;
    ServerName = "server_name": Text;
    Size = "size": Int;
    SnapshotsInfo = "snapshots_info": Literal, hidden;
    Status = "status": Status;
    SummarizeWal = "summarize_wal": Text;
    Systemid = "systemid": Text;
    Tablespaces = "tablespaces": Literal;
    Timeline = "timeline": Int;
    Version = "version": Int;
    XlogSegmentSize = "xlog_segment_size": Int;
}

impl fmt::Display for Field {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A backup's status (Barman's `BackupInfo.STATUS_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum BackupStatus {
    /// Created, nothing done yet.
    Empty,
    /// Start-backup issued.
    Started,
    /// Copy finished, waiting for the WAL files it needs.
    WaitingForWals,
    /// Complete.
    Done,
    /// Failed (see `error`).
    Failed,
    /// Being copied from a primary Barman (passive node).
    Syncing,
}

impl BackupStatus {
    /// Statuses whose copy is complete (restorable, used by the backup-id words).
    pub fn copy_done(self) -> bool {
        matches!(self, BackupStatus::Done | BackupStatus::WaitingForWals)
    }
}

impl FromStr for BackupStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "EMPTY" => BackupStatus::Empty,
            "STARTED" => BackupStatus::Started,
            "WAITING_FOR_WALS" => BackupStatus::WaitingForWals,
            "DONE" => BackupStatus::Done,
            "FAILED" => BackupStatus::Failed,
            "SYNCING" => BackupStatus::Syncing,
            other => return Err(format!("unknown backup status '{other}'")),
        })
    }
}

impl fmt::Display for BackupStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BackupStatus::Empty => "EMPTY",
            BackupStatus::Started => "STARTED",
            BackupStatus::WaitingForWals => "WAITING_FOR_WALS",
            BackupStatus::Done => "DONE",
            BackupStatus::Failed => "FAILED",
            BackupStatus::Syncing => "SYNCING",
        })
    }
}

/// Barman's reading of one known field's value: structured fields must be Python literals,
/// `status` a known status, `begin_wal`/`end_wal` segment names, integer fields integers.
fn check_value(field: Field, value: &str) -> Result<(), String> {
    if value == "None" {
        return Ok(());
    }
    match field.kind() {
        FieldKind::Literal => {
            py_literal::parse(value).map_err(|e| e.to_string())?;
        }
        FieldKind::Status => {
            value.parse::<BackupStatus>()?;
        }
        FieldKind::Wal if value.parse::<WalSegmentName>().is_err() => {
            return Err(format!("'{}' is not a WAL segment name", printable(value)));
        }
        FieldKind::Int if value.parse::<i64>().is_err() => {
            return Err(format!("'{}' is not an integer", printable(value)));
        }
        // LSNs and times are read leniently, as Barman reads them: a bad one reads as null.
        _ => {}
    }
    Ok(())
}

/// `text` with control characters escaped (`\u{1b}`), cut to 60 characters, so an error
/// about a binary file stays one readable line.
pub fn printable(text: &str) -> String {
    let mut out: String = text
        .chars()
        .take(60)
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect();
    if text.chars().count() > 60 {
        out.push('…');
    }
    out
}

/// A `backup.info` that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {reason}")]
pub struct BackupInfoError {
    /// 1-based line.
    pub line: usize,
    /// The key involved, when known.
    pub key: Option<String>,
    /// What is wrong (Barman's text for unknown fields).
    pub reason: String,
}

/// One backup's catalog entry.
///
/// Kept compact: retention, `list-backups` and `delete` hold a server's whole catalog at
/// once (10,000 backups must fit in a few MiB), so the values share one buffer with an
/// index of spans sorted by field, instead of one allocation per field (a map of strings
/// cost ~4 KiB per backup).
#[derive(Clone, Default)]
pub struct BackupInfo {
    /// Every present field's text as written (`None` for null), back to back.
    text: String,
    /// Where each present field's text is in `text`, sorted by field. Absent = null.
    spans: Vec<Span>,
}

/// One field's value: `text[start..end]`.
#[derive(Debug, Clone, Copy)]
struct Span {
    field: Field,
    start: u32,
    end: u32,
}

/// The largest `backup.info` read: the spans index it with `u32` (Barman's files are a
/// few KiB).
const MAX_TEXT: usize = 64 << 20;

/// Equal when every field reads the same, an absent field being null (`None`).
impl PartialEq for BackupInfo {
    fn eq(&self, other: &Self) -> bool {
        Field::ALL
            .iter()
            .all(|&f| self.get(f).unwrap_or("None") == other.get(f).unwrap_or("None"))
    }
}

impl Eq for BackupInfo {}

impl fmt::Debug for BackupInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.entries().map(|(field, value)| (field.name(), value)))
            .finish()
    }
}

impl BackupInfo {
    /// A fresh entry as Barman creates it: status EMPTY, 16 MiB segments.
    pub fn empty() -> Self {
        let mut info = BackupInfo::default();
        info.put(Field::Status, "EMPTY");
        info.put(Field::XlogSegmentSize, "16777216");
        info
    }

    /// Every present field and its text (nulls as `None`), in the file's order.
    fn entries(&self) -> impl Iterator<Item = (Field, &str)> {
        self.spans.iter().map(|span| {
            (
                span.field,
                &self.text[span.start as usize..span.end as usize],
            )
        })
    }

    /// A field's text as written, `None` when absent.
    fn get(&self, field: Field) -> Option<&str> {
        let at = self.spans.binary_search_by_key(&field, |s| s.field).ok()?;
        let span = self.spans[at];
        Some(&self.text[span.start as usize..span.end as usize])
    }

    /// Set a field's text, in place: the spans after it move by the difference.
    fn put(&mut self, field: Field, value: &str) {
        match self.spans.binary_search_by_key(&field, |s| s.field) {
            Ok(at) => {
                let Span { start, end, .. } = self.spans[at];
                self.text.replace_range(start as usize..end as usize, value);
                let new_end = start as usize + value.len();
                let new_end = u32::try_from(new_end).expect("backup.info fits in u32");
                self.spans[at].end = new_end;
                for span in &mut self.spans {
                    if span.start >= end && span.field != field {
                        span.start = span.start - end + new_end;
                        span.end = span.end - end + new_end;
                    }
                }
            }
            Err(at) => {
                let start = u32::try_from(self.text.len()).expect("backup.info fits in u32");
                self.text.push_str(value);
                let end = u32::try_from(self.text.len()).expect("backup.info fits in u32");
                self.spans.insert(at, Span { field, start, end });
            }
        }
    }

    /// Parse a file's text.
    ///
    /// # Errors
    /// A line without `=`, a field Barman does not know (Barman's "Unsupported field"
    /// message), or a malformed literal in a structured field.
    pub fn parse(text: &str) -> Result<Self, BackupInfoError> {
        if text.len() > MAX_TEXT {
            return Err(BackupInfoError {
                line: 1,
                key: None,
                reason: format!("{} bytes: larger than any backup.info", text.len()),
            });
        }
        let mut info = BackupInfo::default();
        for (index, line) in text.lines().enumerate() {
            let line_no = index + 1;
            let trimmed = line.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                return Err(BackupInfoError {
                    line: line_no,
                    key: None,
                    reason: format!("line is not key=value: '{}'", printable(trimmed)),
                });
            };
            let (key, value) = (key.trim(), value.trim());
            let Some(field) = Field::from_name(key) else {
                return Err(BackupInfoError {
                    line: line_no,
                    key: Some(key.to_string()),
                    reason: format!(
                        "Unsupported field '{key}' found in backup metadata. This indicates the backup was created with a newer version of Barman. Please upgrade Barman to the latest version."
                    ),
                });
            };
            check_value(field, value).map_err(|reason| BackupInfoError {
                line: line_no,
                key: Some(key.to_string()),
                reason,
            })?;
            info.put(field, value);
        }
        // Barman writes every line with its newline and always a status: a file that
        // lacks either was cut short, and what is missing cannot be told.
        if !text.is_empty() && !text.ends_with('\n') {
            return Err(BackupInfoError {
                line: text.lines().count(),
                key: None,
                reason: "truncated: the last line has no end".into(),
            });
        }
        // Parsing grew both by doubling: give back the slack, the entry is kept.
        info.text.shrink_to_fit();
        info.spans.shrink_to_fit();
        if info.get(Field::Status).is_none() {
            return Err(BackupInfoError {
                line: text.lines().count(),
                key: Some("status".into()),
                reason: "no 'status' field (truncated?)".into(),
            });
        }
        Ok(info)
    }

    /// The file's text: keys sorted, nulls as `None`, `backup_name`/`snapshots_info` left
    /// out when null.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for &field in Field::ALL {
            let value = self.get(field).unwrap_or("None");
            if value == "None" && field.hidden_when_null() {
                continue;
            }
            out.push_str(field.name());
            out.push('=');
            out.push_str(value);
            out.push('\n');
        }
        out
    }

    /// The raw text of a field, `None` when null.
    pub fn raw(&self, field: Field) -> Option<&str> {
        self.get(field).filter(|v| *v != "None")
    }

    /// Set a field's raw text (`None` clears it).
    pub fn set_raw(&mut self, field: Field, value: Option<String>) {
        self.put(field, value.as_deref().unwrap_or("None"));
    }

    /// An integer field.
    pub fn int(&self, field: Field) -> Option<i64> {
        self.raw(field).and_then(|v| v.parse().ok())
    }

    /// The status (EMPTY when absent).
    pub fn status(&self) -> BackupStatus {
        self.raw(Field::Status)
            .and_then(|s| s.parse().ok())
            .unwrap_or(BackupStatus::Empty)
    }

    /// A structured field as a Python literal.
    pub fn literal(&self, field: Field) -> Option<PyValue> {
        self.raw(field).and_then(|v| py_literal::parse(v).ok())
    }

    /// `begin_time`/`end_time` with their offset; a naive value is read in `local_offset`
    /// (Barman reads naive times in the Barman host's zone).
    pub fn time(&self, field: Field, local_offset: FixedOffset) -> Option<DateTime<FixedOffset>> {
        parse_python_datetime(self.raw(field)?, local_offset)
    }

    /// `timeline`.
    pub fn timeline(&self) -> Option<TimelineId> {
        self.int(Field::Timeline)
            .and_then(|n| u32::try_from(n).ok())
            .and_then(|n| TimelineId::new(n).ok())
    }

    /// `begin_wal`.
    pub fn begin_wal(&self) -> Option<WalSegmentName> {
        self.raw(Field::BeginWal).and_then(|v| v.parse().ok())
    }

    /// `end_wal`.
    pub fn end_wal(&self) -> Option<WalSegmentName> {
        self.raw(Field::EndWal).and_then(|v| v.parse().ok())
    }

    /// `begin_xlog`.
    pub fn begin_xlog(&self) -> Option<Lsn> {
        self.raw(Field::BeginXlog).and_then(|v| v.parse().ok())
    }

    /// `end_xlog`.
    pub fn end_xlog(&self) -> Option<Lsn> {
        self.raw(Field::EndXlog).and_then(|v| v.parse().ok())
    }

    /// `size` in bytes.
    pub fn size(&self) -> Option<u64> {
        self.bytes(Field::Size)
    }

    /// `deduplicated_size` in bytes.
    pub fn deduplicated_size(&self) -> Option<u64> {
        self.bytes(Field::DeduplicatedSize)
    }

    /// `cluster_size` in bytes.
    pub fn cluster_size(&self) -> Option<u64> {
        self.bytes(Field::ClusterSize)
    }

    /// `xlog_segment_size` (16 MiB when null, Barman's default).
    pub fn xlog_segment_size(&self) -> u64 {
        self.bytes(Field::XlogSegmentSize).unwrap_or(16 << 20)
    }

    /// `version`: the server's `server_version_num`.
    pub fn version(&self) -> Option<PgVersion> {
        self.int(Field::Version)
            .and_then(|n| u32::try_from(n).ok())
            .map(PgVersion::from_num)
    }

    /// `begin_time` (a naive value is read in `local_offset`).
    pub fn begin_time(&self, local_offset: FixedOffset) -> Option<DateTime<FixedOffset>> {
        self.time(Field::BeginTime, local_offset)
    }

    /// `end_time` (a naive value is read in `local_offset`).
    pub fn end_time(&self, local_offset: FixedOffset) -> Option<DateTime<FixedOffset>> {
        self.time(Field::EndTime, local_offset)
    }

    fn bytes(&self, field: Field) -> Option<u64> {
        self.int(field).and_then(|n| u64::try_from(n).ok())
    }

    /// Barman's backup type: `rsync`, `incremental`, `snapshot` or `full`.
    pub fn backup_type(&self) -> &'static str {
        let mode = self.raw(Field::Mode).unwrap_or_default();
        if mode.starts_with("rsync") || mode == "passive" {
            "rsync"
        } else if mode.starts_with("snapshot") {
            "snapshot"
        } else if self.raw(Field::ParentBackupId).is_some() {
            "incremental"
        } else {
            "full"
        }
    }

    /// The `to_dict()` form `diagnose` prints: typed values, literals decoded, times as
    /// ISO 8601 in the zone `local_offset` (Barman converts them to the host's zone).
    pub fn to_json(&self, backup_id: &str, local_offset: FixedOffset) -> serde_json::Value {
        use serde_json::Value;
        let mut map = serde_json::Map::new();
        for &field in Field::ALL {
            let raw = self.raw(field);
            let value = match (field.kind(), raw) {
                (_, None) => Value::Null,
                // Barman keeps the label as the text PostgreSQL returned.
                (_, Some(v)) if field == Field::BackupLabel => Value::String(v.to_string()),
                (FieldKind::Time, Some(_)) => self
                    .time(field, local_offset)
                    .map(|t| Value::String(python_isoformat(&t.with_timezone(&local_offset))))
                    .unwrap_or(Value::Null),
                (FieldKind::Literal, Some(v)) => py_literal::parse(v)
                    .map(|p| p.to_json())
                    .unwrap_or(Value::Null),
                (FieldKind::Int, Some(v)) => {
                    v.parse::<i64>().map(Value::from).unwrap_or(Value::Null)
                }
                (_, Some(v)) => Value::String(v.to_string()),
            };
            if value.is_null() && field.hidden_when_null() {
                continue;
            }
            map.insert(field.name().to_string(), value);
        }
        map.insert("backup_id".into(), Value::String(backup_id.to_string()));
        Value::Object(map)
    }
}

/// Parse Python's `str(datetime)` (`2026-11-24 01:05:19.287423+00:00`, offset optional).
pub fn parse_python_datetime(
    text: &str,
    local_offset: FixedOffset,
) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    for format in [
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(t);
        }
    }
    for format in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
            return local_offset.from_local_datetime(&naive).single();
        }
    }
    None
}

/// Python's `datetime.isoformat()`: microseconds only when non-zero, `+HH:MM` offset.
pub fn python_isoformat(t: &DateTime<FixedOffset>) -> String {
    if t.timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%dT%H:%M:%S%:z").to_string()
    } else {
        t.format("%Y-%m-%dT%H:%M:%S%.6f%:z").to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PGR: &str =
        include_str!("../../tests/fixtures/barman-3.20/catalog/pgr-20261124T004344-backup.info");

    #[test]
    fn backup_info_round_trips_a_barman_file_byte_for_byte() {
        let info = BackupInfo::parse(PGR).unwrap();
        assert_eq!(info.to_text(), PGR);
    }

    #[test]
    fn backup_info_set_raw_replaces_in_place() {
        let mut info = BackupInfo::parse(PGR).unwrap();
        let mut expected = BackupInfo::parse(PGR).unwrap();
        // Longer, shorter, null, new: every other field keeps its text.
        info.set_raw(Field::BeginWal, Some("000000010000000000000099".into()));
        info.set_raw(
            Field::Error,
            Some("a much longer error text than before".into()),
        );
        info.set_raw(Field::Error, Some("x".into()));
        info.set_raw(Field::BackupName, Some("night".into()));
        info.set_raw(Field::BackupName, None);
        let text = info.to_text();
        assert!(text.contains("begin_wal=000000010000000000000099\n"));
        assert!(text.contains("error=x\n"));
        assert!(!text.contains("backup_name"));
        expected.set_raw(Field::Error, Some("x".into()));
        expected.set_raw(Field::BeginWal, Some("000000010000000000000099".into()));
        assert_eq!(info, expected);
        assert_eq!(BackupInfo::parse(&text).unwrap(), info);
    }

    #[test]
    fn backup_info_unknown_field_uses_barmans_message() {
        let bogus = BackupInfo::parse("status=BOGUS\n").unwrap_err();
        assert_eq!(bogus.to_string(), "line 1: unknown backup status 'BOGUS'");
        let wal = BackupInfo::parse("begin_wal=ZZZ\n").unwrap_err();
        assert_eq!(wal.to_string(), "line 1: 'ZZZ' is not a WAL segment name");
        let binary = BackupInfo::parse("\u{1}\u{2}garbage\u{7f}").unwrap_err();
        assert!(
            !binary.to_string().chars().any(char::is_control),
            "{binary}"
        );
        let err = BackupInfo::parse("status=DONE\nfuture_field=1\n").unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err
            .reason
            .starts_with("Unsupported field 'future_field' found in backup metadata."));
    }

    #[test]
    fn backup_info_empty_entry_matches_barman() {
        let text = BackupInfo::empty().to_text();
        assert!(text.contains("status=EMPTY\n"));
        assert!(text.contains("xlog_segment_size=16777216\n"));
        assert!(!text.contains("backup_name"));
        assert_eq!(text.lines().count(), 33);
    }

    #[test]
    fn backup_info_typed_accessors() {
        let info = BackupInfo::parse(PGR).unwrap();
        assert_eq!(info.status(), BackupStatus::Done);
        assert_eq!(info.backup_type(), "rsync");
        assert!(info.int(Field::Size).unwrap() > 0);
        let utc = FixedOffset::east_opt(0).unwrap();
        assert!(info.time(Field::BeginTime, utc).is_some());
    }

    #[test]
    fn backup_info_rejects_malformed_literal_and_int() {
        assert!(BackupInfo::parse("tablespaces=[('a', 1\n").is_err());
        assert!(BackupInfo::parse("size=big\n").is_err());
    }

    #[test]
    fn python_datetime_parsing_and_isoformat() {
        let utc = FixedOffset::east_opt(0).unwrap();
        let t = parse_python_datetime("2026-11-24 01:05:19.287423+00:00", utc).unwrap();
        assert_eq!(python_isoformat(&t), "2026-11-24T01:05:19.287423+00:00");
        let t = parse_python_datetime("2025-01-01 01:05:00+01:00", utc).unwrap();
        assert_eq!(python_isoformat(&t), "2025-01-01T01:05:00+01:00");
        let naive =
            parse_python_datetime("2025-01-01 01:05:00", FixedOffset::east_opt(3600).unwrap())
                .unwrap();
        assert_eq!(python_isoformat(&naive), "2025-01-01T01:05:00+01:00");
    }
}
