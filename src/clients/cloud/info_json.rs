//! A backup.info as Python's `BackupInfo.to_json()` dumped by `json.dumps` (no sorting):
//! the fields in file order, then `backup_id`, `begin_time_iso`, `end_time_iso`; times in
//! `ctime()` form; dicts read from the file keep their written order. The bytes matter:
//! scripts diff barman-cloud-backup-list output.

use crate::core::backup_info::{python_isoformat, BackupInfo, Field};
use crate::core::py_literal::{self, PyValue};
use crate::output::json::{dumps, python_float_repr};
use crate::output::python::ctime;
use chrono::FixedOffset;
use serde_json::Value;

/// `json.dumps(backup_info.to_json())`.
pub fn dumps_info(info: &BackupInfo, id: &str, local: FixedOffset) -> String {
    let mut items: Vec<(String, String)> = Vec::new();
    let mut isos = Vec::new();
    for &field in Field::ALL {
        let raw = info.raw(field);
        if raw.is_none() && matches!(field, Field::BackupName | Field::SnapshotsInfo) {
            continue;
        }
        let text = match (field, raw) {
            (_, None) => "null".to_string(),
            (Field::BeginTime | Field::EndTime, Some(_)) => match info.time(field, local) {
                Some(t) => {
                    isos.push((format!("{field}_iso"), string(&python_isoformat(&t))));
                    string(&ctime(&t))
                }
                None => "null".to_string(),
            },
            (
                Field::BeginOffset
                | Field::ClusterSize
                | Field::DeduplicatedSize
                | Field::EndOffset
                | Field::Size
                | Field::Timeline
                | Field::Version
                | Field::XlogSegmentSize,
                Some(v),
            ) => v
                .parse::<i64>()
                .map_or_else(|_| string(v), |n| n.to_string()),
            (
                Field::CopyStats | Field::IncludedFiles | Field::SnapshotsInfo | Field::Tablespaces,
                Some(v),
            ) => py_literal::parse(v).map_or_else(|_| string(v), |p| py_json(&p)),
            (Field::ChildrenBackupIds, Some(v)) => {
                let ids: Vec<String> = v.split(',').map(string).collect();
                format!("[{}]", ids.join(", "))
            }
            (_, Some(v)) => string(v),
        };
        items.push((field.name().to_string(), text));
    }
    items.push(("backup_id".into(), string(id)));
    items.extend(isos);
    object(&items)
}

/// A JSON string as Python writes it (`ensure_ascii`).
pub fn string(text: &str) -> String {
    dumps(&Value::String(text.to_string()))
}

/// `{"k": v, ...}` from rendered pairs, in their order.
pub fn object(items: &[(String, String)]) -> String {
    let body: Vec<String> = items
        .iter()
        .map(|(k, v)| format!("{}: {v}", string(k)))
        .collect();
    format!("{{{}}}", body.join(", "))
}

/// A Python literal as `json.dumps` writes it, dict order kept.
fn py_json(value: &PyValue) -> String {
    match value {
        PyValue::None => "null".into(),
        PyValue::Bool(b) => b.to_string(),
        PyValue::Int(n) => n.to_string(),
        PyValue::Float(f) => python_float_repr(*f),
        PyValue::Str(s) => string(s),
        PyValue::List(items) | PyValue::Tuple(items) => {
            let parts: Vec<String> = items.iter().map(py_json).collect();
            format!("[{}]", parts.join(", "))
        }
        PyValue::Dict(pairs) => {
            let items: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        PyValue::Str(s) => s.clone(),
                        PyValue::None => "null".into(),
                        PyValue::Bool(b) => if *b { "true" } else { "false" }.into(),
                        other => py_literal::repr(other),
                    };
                    (key, py_json(v))
                })
                .collect();
            object(&items)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Python's `json.dumps(BackupInfo.to_json())` of the same file, written by Barman 3.20.1
    /// (tablespace tuples become lists, copy_stats keeps its order).
    #[test]
    fn a_barman_backup_info_dumps_as_python_dumps_it() {
        let text = include_str!(
            "../../../tests/fixtures/barman-3.20/catalog/pgr-20261124T004344-backup.info"
        );
        let expected = include_str!(
            "../../../tests/fixtures/barman-3.20/catalog/pgr-20261124T004344-to_json.json"
        );
        let info = BackupInfo::parse(text).unwrap();
        let utc = FixedOffset::east_opt(0).unwrap();
        assert_eq!(
            dumps_info(&info, "20261124T004344", utc),
            expected.trim_end()
        );
    }

    #[test]
    fn nested_dicts_keep_their_order_and_python_separators() {
        let value =
            py_literal::parse("{'total_time': 5.5, 'a': {'data': 0}, 'l': [1, 'x']}").unwrap();
        assert_eq!(
            py_json(&value),
            r#"{"total_time": 5.5, "a": {"data": 0}, "l": [1, "x"]}"#
        );
    }
}
