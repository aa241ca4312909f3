//! `backup.info`: Barman's catalog entry of one backup (`barman/infofile.py`).
//!
//! One `key=value` line per field, keys sorted, `None` for null, Python `repr()` literals for
//! the structured fields. Values are kept as written, so reading and writing a file Barman
//! wrote gives the same bytes; typed accessors interpret them on demand.

use crate::core::py_literal::{self, PyValue};
use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// Every field Barman 3.20 writes, sorted.
pub const FIELDS: [&str; 35] = [
    "backup_label",
    "backup_name",
    "begin_offset",
    "begin_time",
    "begin_wal",
    "begin_xlog",
    "children_backup_ids",
    "cluster_size",
    "compression",
    "config_file",
    "copy_stats",
    "data_checksums",
    "deduplicated_size",
    "encryption",
    "end_offset",
    "end_time",
    "end_wal",
    "end_xlog",
    "error",
    "hba_file",
    "ident_file",
    "included_files",
    "mode",
    "parent_backup_id",
    "pgdata",
    "server_name",
    "size",
    "snapshots_info",
    "status",
    "summarize_wal",
    "systemid",
    "tablespaces",
    "timeline",
    "version",
    "xlog_segment_size",
];

/// Fields left out of the file when they are null.
const HIDDEN_WHEN_NULL: [&str; 2] = ["backup_name", "snapshots_info"];
/// Fields holding Python literals.
const LITERAL_FIELDS: [&str; 5] = [
    "backup_label",
    "copy_stats",
    "included_files",
    "snapshots_info",
    "tablespaces",
];
/// Fields holding integers.
const INT_FIELDS: [&str; 9] = [
    "begin_offset",
    "cluster_size",
    "deduplicated_size",
    "end_offset",
    "size",
    "timeline",
    "version",
    "xlog_segment_size",
    "cluster_size",
];

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
fn check_value(key: &str, value: &str) -> Result<(), String> {
    if value == "None" {
        return Ok(());
    }
    if LITERAL_FIELDS.contains(&key) {
        py_literal::parse(value).map_err(|e| e.to_string())?;
    }
    if key == "status" {
        value.parse::<BackupStatus>()?;
    }
    if (key == "begin_wal" || key == "end_wal")
        && value
            .parse::<crate::core::wal_name::WalSegmentName>()
            .is_err()
    {
        return Err(format!("'{}' is not a WAL segment name", printable(value)));
    }
    if INT_FIELDS.contains(&key) && value.parse::<i64>().is_err() {
        return Err(format!("'{}' is not an integer", printable(value)));
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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupInfo {
    /// Field → value text as written (`None` for null). Absent = null.
    fields: BTreeMap<String, String>,
}

impl BackupInfo {
    /// A fresh entry as Barman creates it: status EMPTY, 16 MiB segments.
    pub fn empty() -> Self {
        let mut fields = BTreeMap::new();
        fields.insert("status".to_string(), "EMPTY".to_string());
        fields.insert("xlog_segment_size".to_string(), "16777216".to_string());
        BackupInfo { fields }
    }

    /// Parse a file's text.
    ///
    /// # Errors
    /// A line without `=`, a field Barman does not know (Barman's "Unsupported field"
    /// message), or a malformed literal in a structured field.
    pub fn parse(text: &str) -> Result<Self, BackupInfoError> {
        let mut info = BackupInfo {
            fields: BTreeMap::new(),
        };
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
            if !FIELDS.contains(&key) {
                return Err(BackupInfoError {
                    line: line_no,
                    key: Some(key.to_string()),
                    reason: format!(
                        "Unsupported field '{key}' found in backup metadata. This indicates the backup was created with a newer version of Barman. Please upgrade Barman to the latest version."
                    ),
                });
            }
            check_value(key, value).map_err(|reason| BackupInfoError {
                line: line_no,
                key: Some(key.to_string()),
                reason,
            })?;
            info.fields.insert(key.to_string(), value.to_string());
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
        if !info.fields.contains_key("status") {
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
        for field in FIELDS {
            let value = self.fields.get(field).map(String::as_str).unwrap_or("None");
            if value == "None" && HIDDEN_WHEN_NULL.contains(&field) {
                continue;
            }
            out.push_str(field);
            out.push('=');
            out.push_str(value);
            out.push('\n');
        }
        out
    }

    /// The raw text of a field, `None` when null.
    pub fn raw(&self, field: &str) -> Option<&str> {
        self.fields
            .get(field)
            .map(String::as_str)
            .filter(|v| *v != "None")
    }

    /// Set a field's raw text (`None` clears it).
    pub fn set_raw(&mut self, field: &str, value: Option<String>) {
        match value {
            Some(v) => self.fields.insert(field.to_string(), v),
            None => self.fields.insert(field.to_string(), "None".to_string()),
        };
    }

    /// An integer field.
    pub fn int(&self, field: &str) -> Option<i64> {
        self.raw(field).and_then(|v| v.parse().ok())
    }

    /// The status (EMPTY when absent).
    pub fn status(&self) -> BackupStatus {
        self.raw("status")
            .and_then(|s| s.parse().ok())
            .unwrap_or(BackupStatus::Empty)
    }

    /// A structured field as a Python literal.
    pub fn literal(&self, field: &str) -> Option<PyValue> {
        self.raw(field).and_then(|v| py_literal::parse(v).ok())
    }

    /// `begin_time`/`end_time` with their offset; a naive value is read in `local_offset`
    /// (Barman reads naive times in the Barman host's zone).
    pub fn time(&self, field: &str, local_offset: FixedOffset) -> Option<DateTime<FixedOffset>> {
        parse_python_datetime(self.raw(field)?, local_offset)
    }

    /// Barman's backup type: `rsync`, `incremental`, `snapshot` or `full`.
    pub fn backup_type(&self) -> &'static str {
        let mode = self.raw("mode").unwrap_or_default();
        if mode.starts_with("rsync") || mode == "passive" {
            "rsync"
        } else if mode.starts_with("snapshot") {
            "snapshot"
        } else if self.raw("parent_backup_id").is_some() {
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
        for field in FIELDS {
            let raw = self.raw(field);
            let value = match (field, raw) {
                (_, None) => Value::Null,
                ("backup_label", Some(v)) => Value::String(v.to_string()),
                ("begin_time" | "end_time", Some(_)) => self
                    .time(field, local_offset)
                    .map(|t| Value::String(python_isoformat(&t.with_timezone(&local_offset))))
                    .unwrap_or(Value::Null),
                (f, Some(v)) if LITERAL_FIELDS.contains(&f) => py_literal::parse(v)
                    .map(|p| p.to_json())
                    .unwrap_or(Value::Null),
                (f, Some(v)) if INT_FIELDS.contains(&f) => {
                    v.parse::<i64>().map(Value::from).unwrap_or(Value::Null)
                }
                (_, Some(v)) => Value::String(v.to_string()),
            };
            if value.is_null() && HIDDEN_WHEN_NULL.contains(&field) {
                continue;
            }
            map.insert(field.to_string(), value);
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
        assert!(info.int("size").unwrap() > 0);
        let utc = FixedOffset::east_opt(0).unwrap();
        assert!(info.time("begin_time", utc).is_some());
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
