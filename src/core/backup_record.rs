//! How a running backup fills its `backup.info` (Barman's `BackupStrategy`): begin/end
//! positions turned into WAL names and offsets, the fields read back from a `backup_label`,
//! and the Python encodings those fields use (`str(datetime)`, `repr()` of strings, lists
//! of tuples and dicts). Pure: the adapters hand in what PostgreSQL returned.

use crate::core::backup_info::BackupInfo;
use crate::core::backup_info::Field;
use crate::core::lsn::Lsn;
use crate::core::py_literal::{self, PyValue};
use crate::core::timeline::TimelineId;
use crate::core::wal_name::WalSegmentName;
use crate::core::wal_segment_size::WalSegmentSize;
use chrono::{DateTime, FixedOffset};

/// Python's `str(datetime)`: `YYYY-MM-DD HH:MM:SS[.ffffff]+HH:MM`.
pub fn python_datetime(t: &DateTime<FixedOffset>) -> String {
    if t.timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%d %H:%M:%S%:z").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S%.6f%:z").to_string()
    }
}

/// A WAL position as PostgreSQL reported it.
#[derive(Debug, Clone)]
pub struct ReportedPosition {
    /// The LSN.
    pub location: Lsn,
    /// The timeline, when PostgreSQL gave it.
    pub timeline: Option<u32>,
    /// `pg_walfile_name_offset()` file name, when PostgreSQL computed it.
    pub file_name: Option<String>,
    /// Offset inside `file_name`.
    pub file_offset: Option<u64>,
    /// `now()` at that moment.
    pub timestamp: DateTime<FixedOffset>,
}

/// The segment size recorded in the backup (Barman's default when absent or invalid).
pub fn segment_size(info: &BackupInfo) -> WalSegmentSize {
    info.int(Field::XlogSegmentSize)
        .and_then(|b| u64::try_from(b).ok())
        .and_then(|b| WalSegmentSize::new(b).ok())
        .unwrap_or_default()
}

fn name_and_offset(
    position: &ReportedPosition,
    timeline: u32,
    size: WalSegmentSize,
) -> (String, u64) {
    match (&position.file_name, position.file_offset) {
        (Some(name), Some(offset)) => (name.clone(), offset),
        _ => {
            let tli = TimelineId::new(timeline.max(1)).expect("invariant: timeline is at least 1");
            let (name, offset) = WalSegmentName::from_lsn(position.location, tli, size);
            (name.to_string(), offset)
        }
    }
}

/// `_backup_info_from_start_location`: status STARTED, begin time/LSN/WAL/offset/timeline.
pub fn record_start(info: &mut BackupInfo, start: &ReportedPosition) {
    info.set_raw(Field::Status, Some("STARTED".into()));
    info.set_raw(Field::BeginTime, Some(python_datetime(&start.timestamp)));
    info.set_raw(Field::BeginXlog, Some(start.location.to_string()));
    let size = segment_size(info);
    let timeline = match start.timeline {
        Some(tli) => {
            info.set_raw(Field::Timeline, Some(tli.to_string()));
            Some(tli)
        }
        None => None,
    };
    let known = timeline.is_some() || start.file_name.is_some();
    if known {
        let (name, offset) = name_and_offset(start, timeline.unwrap_or(1), size);
        if timeline.is_none() {
            if let Some(tli) = TimelineId::of_name(&name) {
                info.set_raw(Field::Timeline, Some(tli.to_string()));
            }
        }
        info.set_raw(Field::BeginWal, Some(name));
        info.set_raw(Field::BeginOffset, Some(offset.to_string()));
    }
}

/// `_backup_info_from_stop_location`: end time/LSN/WAL/offset. `fallback_timeline` is used
/// when PostgreSQL gave neither a file name nor a timeline.
pub fn record_stop(info: &mut BackupInfo, stop: &ReportedPosition, fallback_timeline: u32) {
    let size = segment_size(info);
    let timeline = stop.timeline.unwrap_or(fallback_timeline);
    let (name, offset) = name_and_offset(stop, timeline, size);
    info.set_raw(Field::EndTime, Some(python_datetime(&stop.timestamp)));
    info.set_raw(Field::EndXlog, Some(stop.location.to_string()));
    info.set_raw(Field::EndWal, Some(name));
    info.set_raw(Field::EndOffset, Some(offset.to_string()));
}

/// A `backup_label` that lacks `START WAL LOCATION` or `START TIME`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Failure parsing backup_label for backup {0}")]
pub struct BackupLabelError(pub String);

/// `_backup_info_from_backup_label` (postgres method): timeline, begin LSN/WAL/offset
/// from the label; begin_time from `START TIME` only when not already known.
pub fn record_from_label(
    info: &mut BackupInfo,
    backup_id: &str,
    label: &str,
    start_time: Option<DateTime<FixedOffset>>,
) -> Result<(), BackupLabelError> {
    let bad = || BackupLabelError(backup_id.to_string());
    let wal_line = label
        .lines()
        .find_map(|l| l.strip_prefix("START WAL LOCATION: "))
        .ok_or_else(bad)?;
    let (lsn_text, rest) = wal_line.split_once(" (file ").ok_or_else(bad)?;
    let wal = rest.strip_suffix(')').ok_or_else(bad)?;
    let has_time = label.lines().any(|l| l.starts_with("START TIME: "));
    let lsn: Lsn = lsn_text.parse().map_err(|_| bad())?;
    let tli = TimelineId::of_name(wal).ok_or_else(bad)?.get();
    if !has_time {
        return Err(bad());
    }
    info.set_raw(Field::BackupLabel, Some(py_literal::str_repr(label)));
    info.set_raw(Field::Timeline, Some(tli.to_string()));
    info.set_raw(Field::BeginXlog, Some(lsn.to_string()));
    info.set_raw(Field::BeginWal, Some(wal.to_string()));
    let size = segment_size(info);
    info.set_raw(Field::BeginOffset, Some((lsn.0 % size.bytes()).to_string()));
    if info.raw(Field::BeginTime).is_none() {
        if let Some(t) = start_time {
            info.set_raw(Field::BeginTime, Some(python_datetime(&t)));
        }
    }
    Ok(())
}

/// `tablespaces` as Barman writes it: `[('name', oid, 'location'), ...]`, or None.
pub fn tablespaces_literal(tablespaces: &[(String, u32, String)]) -> Option<String> {
    if tablespaces.is_empty() {
        return None;
    }
    let items = tablespaces
        .iter()
        .map(|(name, oid, location)| {
            PyValue::Tuple(vec![
                PyValue::Str(name.clone()),
                PyValue::Int(i64::from(*oid)),
                PyValue::Str(location.clone()),
            ])
        })
        .collect();
    Some(py_literal::repr(&PyValue::List(items)))
}

/// A list of strings as `repr()`, or None when empty (Barman writes `None` for falsy).
pub fn string_list_literal(items: &[String]) -> Option<String> {
    if items.is_empty() {
        return None;
    }
    Some(py_literal::repr(&PyValue::List(
        items.iter().cloned().map(PyValue::Str).collect(),
    )))
}

/// Seconds rounded as Barman's copy controller does (`round(x, 6)`).
fn seconds(x: f64) -> PyValue {
    PyValue::Float((x * 1e6).round() / 1e6)
}

/// Timings of an rsync copy, per item label.
#[derive(Debug, Clone, Default)]
pub struct RsyncCopyStats {
    /// Wall time of the whole copy.
    pub total_time: f64,
    /// Worker processes used.
    pub number_of_workers: u32,
    /// Analysis (listing) time per item.
    pub analysis_time_per_item: Vec<(String, f64)>,
    /// Copy wall time per item.
    pub copy_time_per_item: Vec<(String, f64)>,
    /// Sum of the workers' copy times per item.
    pub serialized_copy_time_per_item: Vec<(String, f64)>,
}

impl RsyncCopyStats {
    /// The `copy_stats` literal (keys in Barman's order).
    pub fn literal(&self) -> String {
        let per = |items: &[(String, f64)]| {
            PyValue::Dict(
                items
                    .iter()
                    .map(|(k, v)| (PyValue::Str(k.clone()), seconds(*v)))
                    .collect(),
            )
        };
        let sum = |items: &[(String, f64)]| items.iter().map(|(_, v)| v).sum::<f64>();
        let dict = PyValue::Dict(vec![
            (PyValue::Str("total_time".into()), seconds(self.total_time)),
            (
                PyValue::Str("number_of_workers".into()),
                PyValue::Int(i64::from(self.number_of_workers)),
            ),
            (
                PyValue::Str("analysis_time_per_item".into()),
                per(&self.analysis_time_per_item),
            ),
            (
                PyValue::Str("copy_time_per_item".into()),
                per(&self.copy_time_per_item),
            ),
            (
                PyValue::Str("serialized_copy_time_per_item".into()),
                per(&self.serialized_copy_time_per_item),
            ),
            (
                PyValue::Str("analysis_time".into()),
                seconds(sum(&self.analysis_time_per_item)),
            ),
            (
                PyValue::Str("copy_time".into()),
                seconds(sum(&self.copy_time_per_item)),
            ),
            (
                PyValue::Str("serialized_copy_time".into()),
                seconds(sum(&self.serialized_copy_time_per_item)),
            ),
        ]);
        py_literal::repr(&dict)
    }
}

/// The postgres method's `copy_stats`: `{'copy_time': x, 'total_time': x}`.
pub fn postgres_copy_stats(copy_time: f64) -> String {
    py_literal::repr(&PyValue::Dict(vec![
        (PyValue::Str("copy_time".into()), seconds(copy_time)),
        (PyValue::Str("total_time".into()), seconds(copy_time)),
    ]))
}

/// Barman's `failure <action> (<first line of the message>)` for the `error` field.
pub fn failure_text(action: &str, message: &str) -> String {
    let first = message
        .trim()
        .lines()
        .next()
        .filter(|l| !l.is_empty())
        .unwrap_or("Error");
    format!("failure {action} ({first})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<FixedOffset> {
        DateTime::parse_from_rfc3339(text).unwrap()
    }

    #[test]
    fn python_datetime_drops_zero_microseconds() {
        assert_eq!(
            python_datetime(&at("2026-11-24T01:05:19.287423+00:00")),
            "2026-11-24 01:05:19.287423+00:00"
        );
        assert_eq!(
            python_datetime(&at("2025-01-01T01:05:00+01:00")),
            "2025-01-01 01:05:00+01:00"
        );
    }

    #[test]
    fn record_start_and_stop_compute_wal_names() {
        let mut info = BackupInfo::empty();
        let start = ReportedPosition {
            location: "0/5000028".parse().unwrap(),
            timeline: Some(1),
            file_name: None,
            file_offset: None,
            timestamp: at("2026-11-24T01:05:19.287423+00:00"),
        };
        record_start(&mut info, &start);
        assert_eq!(info.raw(Field::Status), Some("STARTED"));
        assert_eq!(info.raw(Field::BeginWal), Some("000000010000000000000005"));
        assert_eq!(info.raw(Field::BeginOffset), Some("40"));
        assert_eq!(info.raw(Field::Timeline), Some("1"));
        let stop = ReportedPosition {
            location: "0/5000100".parse().unwrap(),
            timeline: Some(1),
            file_name: None,
            file_offset: None,
            timestamp: at("2026-11-24T01:05:19.974036+00:00"),
        };
        record_stop(&mut info, &stop, 1);
        assert_eq!(info.raw(Field::EndWal), Some("000000010000000000000005"));
        assert_eq!(info.raw(Field::EndOffset), Some("256"));
        assert_eq!(info.raw(Field::EndXlog), Some("0/5000100"));
    }

    #[test]
    fn record_stop_keeps_postgres_file_name_on_a_boundary() {
        // pg_walfile_name_offset names the previous segment exactly on a boundary.
        let mut info = BackupInfo::empty();
        let stop = ReportedPosition {
            location: "0/4000000".parse().unwrap(),
            timeline: None,
            file_name: Some("000000010000000000000003".into()),
            file_offset: Some(0),
            timestamp: at("2026-11-24T01:05:09.035667+00:00"),
        };
        record_stop(&mut info, &stop, 1);
        assert_eq!(info.raw(Field::EndWal), Some("000000010000000000000003"));
        assert_eq!(info.raw(Field::EndOffset), Some("0"));
    }

    #[test]
    fn record_from_label_reads_barmans_fields() {
        let label = "START WAL LOCATION: 0/3000028 (file 000000010000000000000003)\nCHECKPOINT LOCATION: 0/3000060\nBACKUP METHOD: streamed\nBACKUP FROM: primary\nSTART TIME: 2026-11-24 01:02:56 UTC\nLABEL: pg_basebackup base backup\nSTART TIMELINE: 1\n";
        let mut info = BackupInfo::empty();
        record_from_label(&mut info, "X", label, None).unwrap();
        assert_eq!(info.raw(Field::BeginWal), Some("000000010000000000000003"));
        assert_eq!(info.raw(Field::BeginOffset), Some("40"));
        assert!(info
            .raw(Field::BackupLabel)
            .unwrap()
            .starts_with("'START WAL"));
        assert!(record_from_label(&mut info, "X", "LABEL: x\n", None).is_err());
    }

    #[test]
    fn literals_match_barman() {
        assert_eq!(
            tablespaces_literal(&[("tbs1".into(), 16384, "/srv/pg/tbs1".into())]).unwrap(),
            "[('tbs1', 16384, '/srv/pg/tbs1')]"
        );
        assert_eq!(tablespaces_literal(&[]), None);
        assert_eq!(
            postgres_copy_stats(132.8737114),
            "{'copy_time': 132.873711, 'total_time': 132.873711}"
        );
        let stats = RsyncCopyStats {
            total_time: 0.6248871,
            number_of_workers: 1,
            analysis_time_per_item: vec![("pgdata".into(), 0.25)],
            copy_time_per_item: vec![("pgdata".into(), 0.5)],
            serialized_copy_time_per_item: vec![("pgdata".into(), 0.5)],
        };
        assert_eq!(stats.literal(), "{'total_time': 0.624887, 'number_of_workers': 1, 'analysis_time_per_item': {'pgdata': 0.25}, 'copy_time_per_item': {'pgdata': 0.5}, 'serialized_copy_time_per_item': {'pgdata': 0.5}, 'analysis_time': 0.25, 'copy_time': 0.5, 'serialized_copy_time': 0.5}");
        assert_eq!(
            failure_text("copying files", "rsync error\nmore"),
            "failure copying files (rsync error)"
        );
    }
}
