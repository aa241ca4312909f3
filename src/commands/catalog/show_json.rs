//! The copy-done part of `show-backup -f json` (Barman's `JsonOutputWriter.result_show_backup`).

use super::common::ServerCatalog;
use super::show::{children_ids, Extended};
use super::show_render::{field, percent, python_str, seconds, tablespace_list};
use crate::core::backup_info::BackupInfo;
use crate::core::backup_info::Field;
use crate::core::py_literal::PyValue;
use crate::output::python::{human_timedelta, pretty_size};
use serde_json::{Map, Value};

fn float(value: f64) -> Value {
    serde_json::Number::from_f64(value).map_or(Value::Null, Value::Number)
}

fn py_number(value: &PyValue) -> Value {
    value.to_json()
}

fn s(text: impl Into<String>) -> Value {
    Value::String(text.into())
}

/// Fill `doc` with the members of a copy-done backup.
pub fn copy_done(
    catalog: &ServerCatalog,
    info: &BackupInfo,
    ext: &Extended,
    doc: &mut Map<String, Value>,
) {
    doc.insert("backup_type".into(), s(ext.backup_type));
    if let Some(size) = info.int(Field::ClusterSize).filter(|c| *c != 0) {
        doc.insert("cluster_size".into(), s(pretty_size(size as f64)));
        doc.insert("cluster_size_bytes".into(), Value::from(size));
    }
    doc.insert("postgresql_version".into(), field(info, Field::Version));
    doc.insert("pgdata_directory".into(), field(info, Field::Pgdata));
    let tablespaces: Vec<Value> = tablespace_list(info)
        .into_iter()
        .map(|(name, oid, location)| {
            let mut t = Map::new();
            t.insert("name".into(), s(name));
            t.insert("location".into(), s(location));
            t.insert(
                "oid".into(),
                oid.parse::<i64>()
                    .map_or_else(|_| s(oid.clone()), Value::from),
            );
            Value::Object(t)
        })
        .collect();
    doc.insert("tablespaces".into(), Value::Array(tablespaces));
    doc.insert(
        "base_backup_information".into(),
        Value::Object(base(catalog, info, ext)),
    );
    doc.insert(
        "catalog_information".into(),
        Value::Object(catalog_info(info, ext)),
    );
    doc.insert("wal_information".into(), Value::Object(wal_info(ext)));
    if let Some(snapshots) = info
        .literal(Field::SnapshotsInfo)
        .filter(|v| *v != PyValue::None)
    {
        doc.insert("snapshots_info".into(), snapshots.to_json());
    }
}

fn base(catalog: &ServerCatalog, info: &BackupInfo, ext: &Extended) -> Map<String, Value> {
    let mut b = Map::new();
    let dedup = info.int(Field::DeduplicatedSize).unwrap_or(0);
    let wal_size = ext.wal.wal_size as i64;
    b.insert("backup_method".into(), field(info, Field::Mode));
    b.insert("encryption".into(), field(info, Field::Encryption));
    b.insert("compression".into(), field(info, Field::Compression));
    b.insert("backup_size".into(), s(pretty_size(dedup as f64)));
    b.insert("backup_size_bytes".into(), Value::from(dedup));
    b.insert(
        "backup_size_with_wals".into(),
        s(pretty_size((dedup + wal_size) as f64)),
    );
    b.insert(
        "backup_size_with_wals_bytes".into(),
        Value::from(dedup + wal_size),
    );
    b.insert("wal_size".into(), s(pretty_size(wal_size as f64)));
    b.insert("wal_size_bytes".into(), Value::from(wal_size));
    b.insert("timeline".into(), field(info, Field::Timeline));
    b.insert("begin_wal".into(), field(info, Field::BeginWal));
    b.insert("end_wal".into(), field(info, Field::EndWal));
    b.insert("wal_num".into(), Value::from(ext.wal.wal_num));
    for name in [Field::BeginTime, Field::EndTime] {
        let t = catalog.time(info, name);
        b.insert(
            format!("{name}_timestamp"),
            s(t.map_or(0, |t| t.timestamp()).to_string()),
        );
        b.insert(
            name.name().into(),
            t.map_or(Value::Null, |t| s(python_str(&t))),
        );
    }
    b.insert("begin_offset".into(), field(info, Field::BeginOffset));
    b.insert("end_offset".into(), field(info, Field::EndOffset));
    b.insert("begin_lsn".into(), field(info, Field::BeginXlog));
    b.insert("end_lsn".into(), field(info, Field::EndXlog));
    if matches!(ext.backup_type, "rsync" | "incremental") {
        let est = ext.est_dedup_size.unwrap_or(0.0);
        b.insert("resources_saved".into(), s(pretty_size(est)));
        b.insert(
            "resources_saved_bytes".into(),
            Value::from(est.trunc() as i64),
        );
        b.insert(
            "resources_saved_percentage".into(),
            s(percent(ext.dedup_ratio.unwrap_or(0.0))),
        );
    }
    if ext.wal.wal_compression_ratio > 0.0 {
        b.insert(
            "wal_compression_ratio".into(),
            s(percent(ext.wal.wal_compression_ratio)),
        );
    }
    if let Some(copy) = &ext.copy_time {
        let copy_seconds = seconds(copy);
        b.insert("copy_time".into(), s(human_timedelta(copy_seconds)));
        b.insert("copy_time_seconds".into(), py_number(copy));
        if let Some(analysis) = &ext.analysis_time {
            b.insert(
                "analysis_time".into(),
                s(human_timedelta(seconds(analysis))),
            );
            b.insert("analysis_time_seconds".into(), py_number(analysis));
        }
        let throughput = ext.throughput.unwrap_or(dedup as f64 / copy_seconds);
        b.insert(
            "throughput".into(),
            s(format!("{}/s", pretty_size(throughput))),
        );
        b.insert(
            "throughput_bytes".into(),
            Value::from(throughput.trunc() as i64),
        );
        b.insert("number_of_workers".into(), Value::from(ext.workers));
    }
    b
}

fn catalog_info(info: &BackupInfo, ext: &Extended) -> Map<String, Value> {
    let mut c = Map::new();
    c.insert(
        "retention_policy".into(),
        s(ext.retention.as_deref().unwrap_or("not enforced")),
    );
    c.insert(
        "previous_backup".into(),
        s(ext
            .previous
            .as_deref()
            .unwrap_or("- (this is the oldest base backup)")),
    );
    c.insert(
        "next_backup".into(),
        s(ext
            .next
            .as_deref()
            .unwrap_or("- (this is the latest base backup)")),
    );
    if ext.backup_type == "incremental" {
        c.insert("root_backup_id".into(), s(ext.root.0.clone()));
        c.insert(
            "parent_backup_id".into(),
            field(info, Field::ParentBackupId),
        );
        c.insert("chain_size".into(), Value::from(ext.root.1));
    }
    if info.raw(Field::Mode) == Some("postgres") {
        c.insert(
            "children_backup_ids".into(),
            children_ids(info).map_or(Value::Null, |ids| {
                Value::Array(ids.into_iter().map(Value::String).collect())
            }),
        );
    }
    c
}

fn wal_info(ext: &Extended) -> Map<String, Value> {
    let wal = &ext.wal;
    let mut w = Map::new();
    w.insert("no_of_files".into(), Value::from(wal.until_next_num));
    w.insert(
        "disk_usage".into(),
        s(pretty_size(wal.until_next_size as f64)),
    );
    w.insert("disk_usage_bytes".into(), Value::from(wal.until_next_size));
    w.insert("wal_rate".into(), Value::from(0));
    w.insert("wal_rate_per_second".into(), Value::from(0));
    w.insert("compression_ratio".into(), Value::from(0));
    w.insert(
        "last_available".into(),
        wal.last_name().map_or(Value::Null, s),
    );
    if wal.wals_per_second > 0.0 {
        w.insert(
            "wal_rate".into(),
            s(format!("{:.2}/hour", wal.wals_per_second * 3600.0)),
        );
        w.insert("wal_rate_per_second".into(), float(wal.wals_per_second));
    }
    if wal.until_next_compression_ratio > 0.0 {
        w.insert(
            "compression_ratio".into(),
            s(percent(wal.until_next_compression_ratio)),
        );
    }
    let mut timelines = Vec::new();
    if !ext.children_timelines.is_empty() {
        w.insert(
            "_WARNING".into(),
            s("WAL information is inaccurate                     due to multiple timelines interacting with                     this backup"),
        );
        timelines = ext
            .children_timelines
            .iter()
            .map(|t| s(t.to_string()))
            .collect();
    }
    w.insert("timelines".into(), Value::Array(timelines));
    w
}
