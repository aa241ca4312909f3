//! Python's `repr(LocalBackupInfo)`, which Barman interpolates into
//! `Cannot delete backup (<server> <repr>)`: `LocalBackupInfo(field=value, ...)`, fields
//! sorted, dumped fields (literals, tablespaces, children) as the repr of their file text,
//! integers bare, strings quoted, times as `datetime.datetime(...)` reprs.

use crate::core::backup_info::BackupInfo;
use crate::core::backup_info::Field;
use crate::core::py_literal::str_repr;
use chrono::{DateTime, Datelike, FixedOffset, Timelike};

const DUMPED: [Field; 6] = [
    Field::BackupLabel,
    Field::ChildrenBackupIds,
    Field::CopyStats,
    Field::IncludedFiles,
    Field::SnapshotsInfo,
    Field::Tablespaces,
];
const INTS: [Field; 8] = [
    Field::BeginOffset,
    Field::ClusterSize,
    Field::DeduplicatedSize,
    Field::EndOffset,
    Field::Size,
    Field::Timeline,
    Field::Version,
    Field::XlogSegmentSize,
];

/// `repr(datetime)` with the zone dateutil gives: `tzlocal()` for naive text and for `+00:00`
/// on a UTC host, `tzutc()` for `+00:00` elsewhere, `tzoffset(None, N)` otherwise.
fn datetime_repr(t: &DateTime<FixedOffset>, naive: bool, local_offset: FixedOffset) -> String {
    let mut parts = vec![
        t.year().to_string(),
        t.month().to_string(),
        t.day().to_string(),
        t.hour().to_string(),
        t.minute().to_string(),
    ];
    let micros = t.nanosecond() / 1000;
    if t.second() != 0 || micros != 0 {
        parts.push(t.second().to_string());
    }
    if micros != 0 {
        parts.push(micros.to_string());
    }
    let offset = t.offset().local_minus_utc();
    let zone = if naive || (offset == 0 && local_offset.local_minus_utc() == 0) {
        "tzlocal()".to_string()
    } else if offset == 0 {
        "tzutc()".to_string()
    } else {
        format!("tzoffset(None, {offset})")
    };
    format!("datetime.datetime({}, tzinfo={zone})", parts.join(", "))
}

/// True when the time text carries a UTC offset.
fn has_offset(text: &str) -> bool {
    let time_part = text.get(10..).unwrap_or_default();
    time_part.contains('+') || time_part.contains('-') || time_part.ends_with('Z')
}

/// The repr Barman prints.
pub fn backup_info_repr(info: &BackupInfo, local_offset: FixedOffset) -> String {
    let mut items = Vec::new();
    for &field in Field::ALL {
        let raw = info.raw(field);
        if raw.is_none() && matches!(field, Field::BackupName | Field::SnapshotsInfo) {
            continue;
        }
        let value = match (field, raw) {
            (Field::Status, None) => "'EMPTY'".to_string(),
            (Field::XlogSegmentSize, None) => "16777216".to_string(),
            (_, None) => "None".to_string(),
            (Field::BeginTime | Field::EndTime, Some(text)) => {
                info.time(field, local_offset).map_or_else(
                    || str_repr(text),
                    |t| datetime_repr(&t, !has_offset(text), local_offset),
                )
            }
            (f, Some(text)) if DUMPED.contains(&f) => str_repr(text),
            (f, Some(text)) if INTS.contains(&f) => text.to_string(),
            (_, Some(text)) => str_repr(text),
        };
        items.push(format!("{field}={value}"));
    }
    format!("LocalBackupInfo({})", items.join(", "))
}
