//! Geo-redundancy rules (Barman's `Server.sync_status`, `check_sync_required`,
//! `load_sync_wals_info` and `BackupInfo.to_json`/`from_json`): which WAL a primary lists for
//! a passive node, where the passive node resumes, what it does with each backup, and the
//! backup record as it travels between them in JSON. Pure: the caller reads the files.

use crate::core::backup_info::Field;
use crate::core::backup_info::{python_isoformat, BackupInfo, BackupStatus};
use crate::core::py_literal::{self, PyValue};
use crate::core::xlog_db::XlogDbEntry;
use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};

/// A sync request that cannot be answered (Barman's `SyncError`), with Barman's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct SyncError(pub String);

/// What `sync-info` lists of the WAL catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct WalSelection {
    /// The entries after `last_wal` (or from the first backup's `begin_wal`).
    pub wals: Vec<XlogDbEntry>,
    /// Name in the catalog's last line (`""` for an empty catalog).
    pub last_name: String,
    /// Byte offset where the catalog's last line starts (0 for an empty catalog).
    pub last_position: u64,
}

/// Barman's `sync_status` over the text of the WAL catalog.
///
/// `last_position` is only a hint: it is used when the line there starts with `last_wal`,
/// otherwise the catalog is read from its start (it was rewritten meanwhile).
///
/// # Errors
/// `last_wal` older than the catalog's first entry or newer than its last (Barman's
/// messages), or a line that is not a catalog entry.
pub fn select_wals(
    xlog_db: &str,
    last_wal: Option<&str>,
    last_position: Option<u64>,
    first_useful_wal: Option<&str>,
) -> Result<WalSelection, SyncError> {
    let hint = last_position.unwrap_or(0) as usize;
    let start = match (last_wal, xlog_db.get(hint..hint.saturating_add(24))) {
        (Some(wal), Some(found)) if found == wal => hint,
        _ => 0,
    };
    let mut check_first_wal = start == 0 && last_wal.is_some();
    let mut wals = Vec::new();
    let mut last: Option<(u64, String)> = None;
    let mut offset = start;
    for line in xlog_db[start..].split_inclusive('\n') {
        let line_start = offset;
        offset += line.len();
        if line.trim().is_empty() {
            continue;
        }
        let entry = XlogDbEntry::parse(line).map_err(|e| SyncError(e.to_string()))?;
        if let (true, Some(wal)) = (check_first_wal, last_wal) {
            if wal < entry.name.as_str() {
                return Err(SyncError(format!(
                    "last_wal '{wal}' is older than the first available wal '{}'",
                    entry.name
                )));
            }
            check_first_wal = false;
        }
        last = Some((line_start as u64, entry.name.clone()));
        let keep = match (last_wal, first_useful_wal) {
            (Some(wal), _) => entry.name.as_str() > wal,
            (None, Some(first)) => entry.name.as_str() >= first,
            (None, None) => true,
        };
        if keep {
            wals.push(entry);
        }
    }
    let Some((last_position, last_name)) = last else {
        return Ok(WalSelection {
            wals,
            last_name: String::new(),
            last_position: 0,
        });
    };
    if let Some(wal) = last_wal.filter(|wal| *wal > last_name.as_str()) {
        // Barman's message has two spaces before the name.
        return Err(SyncError(format!(
            "last_wal '{wal}' is newer than the last available wal  '{last_name}'"
        )));
    }
    Ok(WalSelection {
        wals,
        last_name,
        last_position,
    })
}

/// A WAL entry as `sync-info` lists it (`WalFileInfo.to_json`).
pub fn wal_json(entry: &XlogDbEntry) -> Value {
    let mut map = Map::new();
    map.insert(
        "compression".into(),
        opt_string(entry.compression.as_deref()),
    );
    map.insert("encryption".into(), opt_string(entry.encryption.as_deref()));
    map.insert("name".into(), Value::String(entry.name.clone()));
    map.insert("size".into(), Value::from(entry.size));
    map.insert(
        "time".into(),
        serde_json::Number::from_f64(entry.time).map_or(Value::Null, Value::Number),
    );
    Value::Object(map)
}

/// A WAL entry from a primary's `sync-info` (`WalFileInfo(**wal)`).
///
/// # Errors
/// A missing or mistyped name, size or time.
pub fn wal_from_json(value: &Value) -> Result<XlogDbEntry, SyncError> {
    let bad = |what: &str| SyncError(format!("invalid WAL entry in primary.info: {what}"));
    let name = value["name"].as_str().ok_or_else(|| bad("no name"))?;
    if !crate::core::wal_name::is_any_xlog_file(name) {
        return Err(bad(&format!(
            "'{}' is not a WAL file name",
            name.escape_debug()
        )));
    }
    Ok(XlogDbEntry {
        name: name.to_string(),
        size: value["size"].as_u64().ok_or_else(|| bad("no size"))?,
        time: value["time"].as_f64().ok_or_else(|| bad("no time"))?,
        compression: value["compression"].as_str().map(str::to_string),
        encryption: value["encryption"].as_str().map(str::to_string),
    })
}

fn opt_string(text: Option<&str>) -> Value {
    text.map_or(Value::Null, |t| Value::String(t.to_string()))
}

/// Python's `datetime.ctime()`: `Tue Nov 24 00:43:44 2026` (day padded with a space).
pub fn python_ctime(t: &DateTime<FixedOffset>) -> String {
    t.format("%a %b %e %H:%M:%S %Y").to_string()
}

/// `BackupInfo.to_json()`: the `diagnose` form with `begin_time`/`end_time` as `ctime()`
/// and their ISO 8601 text beside them in `*_iso`.
pub fn backup_json(info: &BackupInfo, backup_id: &str, local_offset: FixedOffset) -> Value {
    let mut json = info.to_json(backup_id, local_offset);
    if let Value::Object(map) = &mut json {
        for field in [Field::BeginTime, Field::EndTime] {
            if let Some(t) = info.time(field, local_offset) {
                let t = t.with_timezone(&local_offset);
                map.insert(field.name().into(), Value::String(python_ctime(&t)));
                map.insert(format!("{field}_iso"), Value::String(python_isoformat(&t)));
            }
        }
    }
    json
}

/// The catalog entry a passive node writes for a primary's backup (`BackupInfo.from_json`
/// then `save`).
///
/// Python writes `backup_label` through `repr()` a second time here (its JSON already holds
/// the quoted text), so a label synced by Python reads back quoted twice; we keep the
/// primary's text as it was.
///
/// # Errors
/// A field Barman does not know or a value of the wrong shape.
pub fn backup_from_json(json: &Value, local_offset: FixedOffset) -> Result<BackupInfo, SyncError> {
    let Value::Object(map) = json else {
        return Err(SyncError(
            "backup entry in primary.info is not an object".into(),
        ));
    };
    let mut text = String::new();
    for (key, value) in map {
        let field = key.as_str();
        if matches!(field, "backup_id" | "begin_time_iso" | "end_time_iso") {
            continue;
        }
        let raw = field_text(field, value, map, local_offset)?;
        text.push_str(&format!(
            "{field}={}\n",
            raw.unwrap_or_else(|| "None".into())
        ));
    }
    BackupInfo::parse(&text).map_err(|e| SyncError(format!("backup entry in primary.info: {e}")))
}

/// One field's `backup.info` text from its JSON value (`None` for null).
fn field_text(
    field: &str,
    value: &Value,
    map: &Map<String, Value>,
    local_offset: FixedOffset,
) -> Result<Option<String>, SyncError> {
    if value.is_null() {
        return Ok(None);
    }
    let bad = || SyncError(format!("unexpected value for '{field}' in primary.info"));
    Ok(Some(match field {
        "begin_time" | "end_time" => {
            let iso = map
                .get(&format!("{field}_iso"))
                .and_then(Value::as_str)
                .ok_or_else(bad)?;
            let t = crate::core::backup_info::parse_python_datetime(iso, local_offset)
                .ok_or_else(bad)?;
            python_str_datetime(&t)
        }
        "tablespaces" => {
            let items = value.as_array().ok_or_else(bad)?;
            let tuples = items
                .iter()
                .map(|item| match json_to_py(item) {
                    PyValue::List(parts) => Ok(PyValue::Tuple(parts)),
                    _ => Err(bad()),
                })
                .collect::<Result<Vec<_>, _>>()?;
            py_literal::repr(&PyValue::List(tuples))
        }
        "included_files" | "copy_stats" | "snapshots_info" => py_literal::repr(&json_to_py(value)),
        _ => match value {
            Value::String(s) => s.clone(),
            Value::Number(n) => n.to_string(),
            Value::Bool(b) => if *b { "True" } else { "False" }.to_string(),
            _ => return Err(bad()),
        },
    }))
}

/// Python's `str(datetime)`: `2026-11-24 00:43:44.287423+00:00`.
fn python_str_datetime(t: &DateTime<FixedOffset>) -> String {
    python_isoformat(t).replacen('T', " ", 1)
}

fn json_to_py(value: &Value) -> PyValue {
    match value {
        Value::Null => PyValue::None,
        Value::Bool(b) => PyValue::Bool(*b),
        Value::Number(n) => n
            .as_i64()
            .map(PyValue::Int)
            .unwrap_or_else(|| PyValue::Float(n.as_f64().unwrap_or(0.0))),
        Value::String(s) => PyValue::Str(s.clone()),
        Value::Array(items) => PyValue::List(items.iter().map(json_to_py).collect()),
        Value::Object(map) => PyValue::Dict(
            map.iter()
                .map(|(k, v)| (PyValue::Str(k.clone()), json_to_py(v)))
                .collect(),
        ),
    }
}

/// What a passive node does with one backup (Barman's `check_sync_required`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncDecision {
    /// Copy it.
    Sync,
    /// Nothing to do (Barman's text, logged at info).
    NothingToDo(String),
    /// Gone from the primary and incomplete here: delete the local copy.
    ToBeDeleted(String),
    /// Neither side has it.
    Absent(SyncError),
}

/// Barman's `check_sync_required` without the retention check (the caller adds it).
pub fn sync_decision(
    server: &str,
    backup_id: &str,
    on_primary: bool,
    local: Option<BackupStatus>,
) -> SyncDecision {
    match (on_primary, local) {
        (false, None) => SyncDecision::Absent(SyncError(format!(
            "Backup {backup_id} is absent on {server} server"
        ))),
        (false, Some(BackupStatus::Failed)) => SyncDecision::ToBeDeleted(format!(
            "Backup {backup_id} is absent on {server} server and is incomplete locally"
        )),
        (false, Some(BackupStatus::Done)) => SyncDecision::NothingToDo(format!(
            "Backup {backup_id} is absent on {server} server, but present locally (local copy only)"
        )),
        (true, Some(BackupStatus::Done)) => SyncDecision::NothingToDo(format!(
            "Backup {backup_id} is already synced with {server} server"
        )),
        _ => SyncDecision::Sync,
    }
}

/// `<wals_directory>/sync-wals.info`: where the passive node resumes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SyncWalsInfo {
    /// The last WAL name read from the primary's catalog.
    pub last_wal: Option<String>,
    /// Its line's byte offset there, as text (passed back verbatim).
    pub last_position: Option<String>,
}

impl SyncWalsInfo {
    /// Read the file's first line (`<last_wal>\t<last_position>`).
    ///
    /// # Errors
    /// A line without exactly two tab-separated fields.
    pub fn parse(text: &str) -> Result<Self, SyncError> {
        let line = text.split('\n').next().unwrap_or_default();
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            [wal, position] => Ok(SyncWalsInfo {
                last_wal: Some((*wal).to_string()),
                last_position: Some((*position).to_string()),
            }),
            _ => Err(SyncError(format!(
                "invalid sync-wals.info content '{}': expected '<last_wal>\\t<last_position>'",
                line.escape_debug()
            ))),
        }
    }

    /// The file's text (no newline, as Barman writes it).
    pub fn to_text(last_name: &str, last_position: u64) -> String {
        format!("{last_name}\t{last_position}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DB: &str = "000000010000000000000002\t16777216\t1700000000.5\tNone\tNone\n\
                      000000010000000000000003\t16777216\t1700000001.0\tgzip\tNone\n\
                      000000010000000000000004\t16777216\t1700000002.0\tNone\tNone\n";

    fn names(s: &WalSelection) -> Vec<&str> {
        s.wals.iter().map(|w| w.name.as_str()).collect()
    }

    #[test]
    fn sync_select_wals_from_first_backup_and_after_last_wal() {
        let all = select_wals(DB, None, None, Some("000000010000000000000003")).unwrap();
        assert_eq!(
            names(&all),
            ["000000010000000000000003", "000000010000000000000004"]
        );
        assert_eq!(all.last_name, "000000010000000000000004");
        assert_eq!(
            all.last_position,
            (DB.len() - DB.lines().last().unwrap().len() - 1) as u64
        );
        // Resuming at the hint gives only what follows.
        let next = select_wals(
            DB,
            Some("000000010000000000000004"),
            Some(all.last_position),
            None,
        )
        .unwrap();
        assert!(next.wals.is_empty());
        assert_eq!(next.last_position, all.last_position);
        // A wrong hint reads from the start.
        let wrong = select_wals(DB, Some("000000010000000000000002"), Some(7), None).unwrap();
        assert_eq!(
            names(&wrong),
            ["000000010000000000000003", "000000010000000000000004"]
        );
    }

    #[test]
    fn sync_select_wals_refuses_wal_outside_the_catalog() {
        let old = select_wals(DB, Some("000000010000000000000001"), None, None).unwrap_err();
        assert_eq!(
            old.0,
            "last_wal '000000010000000000000001' is older than the first available wal '000000010000000000000002'"
        );
        let new = select_wals(DB, Some("000000010000000000000009"), None, None).unwrap_err();
        assert_eq!(
            new.0,
            "last_wal '000000010000000000000009' is newer than the last available wal  '000000010000000000000004'"
        );
        let empty = select_wals("", None, None, None).unwrap();
        assert_eq!((empty.last_name.as_str(), empty.last_position), ("", 0));
    }

    #[test]
    fn sync_wal_json_round_trips() {
        let entry = XlogDbEntry::parse(DB.lines().nth(1).unwrap()).unwrap();
        assert_eq!(wal_from_json(&wal_json(&entry)).unwrap(), entry);
        let hostile = serde_json::json!({"name": "../../etc/passwd", "size": 1, "time": 1.0});
        assert!(wal_from_json(&hostile).is_err());
    }

    #[test]
    fn sync_backup_json_round_trips_through_backup_info() {
        let text = include_str!(
            "../../tests/fixtures/barman-3.20/catalog/pgr-20261124T004344-backup.info"
        );
        let info = BackupInfo::parse(text).unwrap();
        let utc = FixedOffset::east_opt(0).unwrap();
        let json = backup_json(&info, "20261124T004344", utc);
        assert!(json["begin_time"].as_str().unwrap().contains("2026"));
        let back = backup_from_json(&json, utc).unwrap();
        // JSON objects come back with sorted keys (serde_json's map here), so only the
        // order inside `copy_stats` may differ from the primary's text.
        let without_stats = |i: &BackupInfo| {
            let mut i = i.clone();
            i.set_raw(Field::CopyStats, None);
            i.to_text()
        };
        assert_eq!(without_stats(&back), without_stats(&info));
        assert_eq!(
            back.literal(Field::CopyStats).unwrap().to_json(),
            info.literal(Field::CopyStats).unwrap().to_json()
        );
    }

    #[test]
    fn sync_decisions_follow_barman() {
        use BackupStatus::*;
        assert!(matches!(
            sync_decision("s", "b", false, None),
            SyncDecision::Absent(_)
        ));
        assert!(matches!(
            sync_decision("s", "b", false, Some(Failed)),
            SyncDecision::ToBeDeleted(_)
        ));
        assert!(matches!(
            sync_decision("s", "b", true, Some(Done)),
            SyncDecision::NothingToDo(_)
        ));
        assert_eq!(sync_decision("s", "b", true, None), SyncDecision::Sync);
        assert_eq!(
            sync_decision("s", "b", true, Some(Failed)),
            SyncDecision::Sync
        );
    }

    #[test]
    fn sync_wals_info_parses_barmans_file() {
        let info = SyncWalsInfo::parse("000000010000000000000004\t120").unwrap();
        assert_eq!(info.last_position.as_deref(), Some("120"));
        assert_eq!(
            SyncWalsInfo::to_text("000000010000000000000004", 120),
            "000000010000000000000004\t120"
        );
        assert!(SyncWalsInfo::parse("garbage").is_err());
    }
}
