//! `show-backup` renderings, row for row as Barman's `ConsoleOutputWriter.render_show_backup`
//! and `JsonOutputWriter.result_show_backup`.

use super::common::ServerCatalog;
use super::show::Extended;
use crate::core::backup_id::BackupId;
use crate::core::backup_info::BackupInfo;
use crate::core::backup_info::Field;
use crate::core::py_literal::PyValue;
use crate::output::python::{human_timedelta, pretty_size};
use chrono::{DateTime, FixedOffset};
use serde_json::{Map, Value};

/// Python's `str(datetime)` for an aware datetime.
pub fn python_str(t: &DateTime<FixedOffset>) -> String {
    if t.timestamp_subsec_micros() == 0 {
        t.format("%Y-%m-%d %H:%M:%S%:z").to_string()
    } else {
        t.format("%Y-%m-%d %H:%M:%S%.6f%:z").to_string()
    }
}

pub fn percent(ratio: f64) -> String {
    format!("{:.2}%", ratio * 100.0)
}

fn row(label: &str, value: &str) -> String {
    format!("  {label:<23}: {value}")
}

fn nested(label: &str, value: &str) -> String {
    format!("    {label:<21}: {value}")
}

/// The `Server information:` block (checksums, WAL summarizer), shown only when the
/// backup recorded one of them; `barman-cloud-backup-show` prints it the same way.
pub fn server_information(info: &BackupInfo, lines: &mut Vec<String>) {
    let checksums = info.raw(Field::DataChecksums).filter(|s| !s.is_empty());
    let summarize = info.raw(Field::SummarizeWal).filter(|s| !s.is_empty());
    if checksums.is_some() || summarize.is_some() {
        lines.push("  Server information:".into());
        if let Some(c) = checksums {
            lines.push(nested("Checksums", c));
        }
        if let Some(s) = summarize {
            lines.push(nested("WAL summarizer", s));
        }
        lines.push(String::new());
    }
}

fn raw(info: &BackupInfo, field: Field) -> &str {
    info.raw(field).unwrap_or("None")
}

pub fn seconds(value: &PyValue) -> f64 {
    match value {
        PyValue::Int(n) => *n as f64,
        PyValue::Float(f) => *f,
        _ => 0.0,
    }
}

/// The console lines.
pub fn console(
    catalog: &ServerCatalog,
    id: &BackupId,
    info: &BackupInfo,
    ext: Option<&Extended>,
) -> Vec<String> {
    let mut lines = vec![format!("Backup {id}:")];
    if let Some(name) = info.raw(Field::BackupName).filter(|n| !n.is_empty()) {
        lines.push(row("Backup Name", name));
    }
    lines.push(row("Server Name", raw(info, Field::ServerName)));
    if let Some(systemid) = info.raw(Field::Systemid).filter(|s| !s.is_empty()) {
        lines.push(row("System Id", systemid));
    }
    lines.push(row("Status", &info.status().to_string()));
    if info.status().copy_done() {
        lines.push(row("PostgreSQL Version", raw(info, Field::Version)));
        lines.push(row("PGDATA directory", raw(info, Field::Pgdata)));
        if let Some(size) = info.int(Field::ClusterSize).filter(|s| *s != 0) {
            lines.push(row("Estimated Cluster Size", &pretty_size(size as f64)));
        }
    }
    lines.push(String::new());
    server_information(info, &mut lines);
    match ext {
        Some(ext) => {
            snapshots(info, &mut lines);
            tablespaces(info, &mut lines);
            base(catalog, info, ext, &mut lines);
            wal_block(ext, &mut lines);
            catalog_block(info, ext, &mut lines);
        }
        None => {
            if let Some(error) = info.raw(Field::Error).filter(|e| !e.is_empty()) {
                lines.push(row("Error", error));
            }
        }
    }
    lines
}

pub fn snapshots(info: &BackupInfo, lines: &mut Vec<String>) {
    let Some(PyValue::Dict(items)) = info.literal(Field::SnapshotsInfo) else {
        return;
    };
    lines.push("  Snapshot information:".into());
    let get = |key: &str| {
        items
            .iter()
            .find(|(k, _)| matches!(k, PyValue::Str(s) if s == key))
            .map(|(_, v)| v.clone())
    };
    for (key, value) in &items {
        let key = py_str(key);
        if key != "snapshots" && key != "provider_info" {
            lines.push(nested(&key, &py_str(value)));
        }
    }
    if let Some(PyValue::Dict(provider)) = get("provider_info") {
        for (key, value) in &provider {
            lines.push(nested(&py_str(key), &py_str(value)));
        }
    }
    lines.push(String::new());
    if let Some(PyValue::List(snaps)) = get("snapshots") {
        for snap in snaps {
            let PyValue::Dict(fields) = snap else {
                continue;
            };
            let field = |key: &str| {
                fields
                    .iter()
                    .find(|(k, _)| matches!(k, PyValue::Str(s) if s == key))
                    .map(|(_, v)| v.clone())
            };
            if let Some(PyValue::Dict(mut provider)) = field("provider") {
                provider.sort_by_key(|(k, _)| py_str(k));
                for (key, value) in &provider {
                    lines.push(nested(&py_str(key), &py_str(value)));
                }
            }
            if let Some(PyValue::Dict(mount)) = field("mount") {
                let m = |key: &str| {
                    mount
                        .iter()
                        .find(|(k, _)| matches!(k, PyValue::Str(s) if s == key))
                        .map_or_else(|| "None".to_string(), |(_, v)| py_str(v))
                };
                lines.push(nested("Mount point", &m("mount_point")));
                lines.push(nested("Mount options", &m("mount_options")));
            }
            lines.push(String::new());
        }
    }
}

/// Python's `str()` of a literal value.
fn py_str(value: &PyValue) -> String {
    match value {
        PyValue::Str(s) => s.clone(),
        other => crate::core::py_literal::repr(other),
    }
}

/// `(name, oid, location)` of each tablespace.
pub fn tablespace_list(info: &BackupInfo) -> Vec<(String, String, String)> {
    let Some(PyValue::List(items)) = info.literal(Field::Tablespaces) else {
        return Vec::new();
    };
    items
        .iter()
        .filter_map(|item| match item {
            PyValue::Tuple(f) | PyValue::List(f) if f.len() == 3 => {
                Some((py_str(&f[0]), py_str(&f[1]), py_str(&f[2])))
            }
            _ => None,
        })
        .collect()
}

pub fn tablespaces(info: &BackupInfo, lines: &mut Vec<String>) {
    let list = tablespace_list(info);
    if list.is_empty() {
        return;
    }
    lines.push("  Tablespaces:".into());
    for (name, oid, location) in list {
        lines.push(nested(&name, &format!("{location} (oid: {oid})")));
    }
    lines.push(String::new());
}

fn base(catalog: &ServerCatalog, info: &BackupInfo, ext: &Extended, lines: &mut Vec<String>) {
    lines.push("  Base backup information:".into());
    let mode = info.raw(Field::Mode).filter(|m| !m.is_empty());
    if let Some(mode) = mode {
        lines.push(nested("Backup Method", mode));
    }
    if let Some(encryption) = info.raw(Field::Encryption).filter(|e| !e.is_empty()) {
        lines.push(nested("Encryption", encryption));
    }
    if mode == Some("postgres") {
        lines.push(nested("Backup Type", ext.backup_type));
    }
    sizes(info, ext, lines);
    lines.push(nested("Timeline", raw(info, Field::Timeline)));
    lines.push(nested("Begin WAL", raw(info, Field::BeginWal)));
    lines.push(nested("End WAL", raw(info, Field::EndWal)));
    if ext.wal.wal_num != 0 {
        lines.push(nested("Number of WALs", &ext.wal.wal_num.to_string()));
    }
    if ext.wal.wal_compression_ratio > 0.0 {
        lines.push(nested(
            "WAL compression ratio",
            &percent(ext.wal.wal_compression_ratio),
        ));
    }
    for (label, field) in [
        ("Begin time", Field::BeginTime),
        ("End time", Field::EndTime),
    ] {
        let text = catalog
            .time(info, field)
            .map_or_else(|| "None".to_string(), |t| python_str(&t));
        lines.push(nested(label, &text));
    }
    copy_time(ext, lines);
    lines.push(nested("Begin Offset", raw(info, Field::BeginOffset)));
    lines.push(nested("End Offset", raw(info, Field::EndOffset)));
    lines.push(nested("Begin LSN", raw(info, Field::BeginXlog)));
    lines.push(nested("End LSN", raw(info, Field::EndXlog)));
    lines.push(String::new());
}

/// Backup, compression and WAL sizes, and what deduplication saved.
fn sizes(info: &BackupInfo, ext: &Extended, lines: &mut Vec<String>) {
    let wal_size = ext.wal.wal_size;
    if let Some(size) = info.int(Field::DeduplicatedSize).filter(|s| *s != 0) {
        let mut text = pretty_size(size as f64);
        if wal_size != 0 {
            text.push_str(&format!(
                " ({} with WALs)",
                pretty_size((size + wal_size as i64) as f64)
            ));
        }
        lines.push(nested("Backup Size", &text));
    }
    if let Some(compression) = info
        .raw(Field::Compression)
        .filter(|c| !c.is_empty() && *c != "none")
    {
        lines.push(nested("Backup Compression", compression));
    }
    if wal_size != 0 {
        lines.push(nested("WAL Size", &pretty_size(wal_size as f64)));
    }
    if matches!(ext.backup_type, "rsync" | "incremental") {
        lines.push(nested(
            "Resources saved",
            &format!(
                "{} ({})",
                pretty_size(ext.est_dedup_size.unwrap_or(0.0)),
                percent(ext.dedup_ratio.unwrap_or(0.0))
            ),
        ));
    }
}

/// Copy time (with rsync's start-up) and the throughput it gives.
fn copy_time(ext: &Extended, lines: &mut Vec<String>) {
    if let Some(copy) = &ext.copy_time {
        let mut text = human_timedelta(seconds(copy));
        if let Some(analysis) = &ext.analysis_time {
            text.push_str(&format!(
                " + {} startup",
                human_timedelta(seconds(analysis))
            ));
        }
        lines.push(nested("Copy time", &text));
        if let Some(throughput) = ext.throughput.filter(|t| *t != 0.0) {
            let mut text = format!("{}/s", pretty_size(throughput));
            if ext.workers > 1 {
                text.push_str(&format!(" ({} jobs)", ext.workers));
            }
            lines.push(nested("Estimated throughput", &text));
        }
    }
}

fn wal_block(ext: &Extended, lines: &mut Vec<String>) {
    let wal = &ext.wal;
    lines.push("  WAL information:".into());
    lines.push(nested("Number of files", &wal.until_next_num.to_string()));
    lines.push(nested(
        "Disk usage",
        &pretty_size(wal.until_next_size as f64),
    ));
    if wal.wals_per_second > 0.0 {
        lines.push(nested(
            "WAL rate",
            &format!("{:.2}/hour", wal.wals_per_second * 3600.0),
        ));
    }
    if wal.until_next_compression_ratio > 0.0 {
        lines.push(nested(
            "Compression ratio",
            &percent(wal.until_next_compression_ratio),
        ));
    }
    lines.push(nested("Last available", wal.last_name().unwrap_or("None")));
    if !ext.children_timelines.is_empty() {
        let tlis: Vec<String> = ext.children_timelines.iter().map(u32::to_string).collect();
        lines.push(nested("Reachable timelines", &tlis.join(", ")));
    }
    lines.push(String::new());
}

fn catalog_block(info: &BackupInfo, ext: &Extended, lines: &mut Vec<String>) {
    lines.push("  Catalog information:".into());
    lines.push(nested(
        "Retention Policy",
        ext.retention.as_deref().unwrap_or("not enforced"),
    ));
    lines.push(nested(
        "Previous Backup",
        ext.previous
            .as_deref()
            .unwrap_or("- (this is the oldest base backup)"),
    ));
    lines.push(nested(
        "Next Backup",
        ext.next
            .as_deref()
            .unwrap_or("- (this is the latest base backup)"),
    ));
    if !ext.children_timelines.is_empty() {
        lines.push(String::new());
        lines.push(
            "WARNING: WAL information is inaccurate due to multiple timelines interacting with this backup"
                .into(),
        );
    }
    if ext.backup_type == "incremental" {
        lines.push(nested("Root Backup", &ext.root.0));
        lines.push(nested("Parent Backup", raw(info, Field::ParentBackupId)));
        lines.push(nested("Backup chain size", &ext.root.1.to_string()));
    }
    if info.raw(Field::Mode) == Some("postgres") {
        if let Some(ids) = info.raw(Field::ChildrenBackupIds) {
            lines.push(nested("Children Backup(s)", ids));
        }
    }
}

/// A backup.info field as Barman's JSON writer shows it (integers typed, null for None).
pub fn field(info: &BackupInfo, name: Field) -> Value {
    match info.raw(name) {
        None => Value::Null,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|_| {
                matches!(
                    name,
                    Field::Version
                        | Field::Timeline
                        | Field::BeginOffset
                        | Field::EndOffset
                        | Field::ClusterSize
                        | Field::DeduplicatedSize
                        | Field::Size
                )
            })
            .map_or_else(|| Value::String(text.to_string()), Value::from),
    }
}

/// The JSON document (`{"<server>": …}` member).
pub fn json(
    catalog: &ServerCatalog,
    id: &BackupId,
    info: &BackupInfo,
    ext: Option<&Extended>,
) -> Value {
    let mut doc = Map::new();
    doc.insert("backup_id".into(), Value::String(id.to_string()));
    doc.insert("status".into(), Value::String(info.status().to_string()));
    if let Some(name) = info.raw(Field::BackupName).filter(|n| !n.is_empty()) {
        doc.insert("backup_name".into(), Value::String(name.into()));
    }
    if let Some(systemid) = info.raw(Field::Systemid).filter(|s| !s.is_empty()) {
        doc.insert("system_id".into(), Value::String(systemid.into()));
    }
    let mut server_info = Map::new();
    server_info.insert("data_checksums".into(), field(info, Field::DataChecksums));
    server_info.insert("summarize_wal".into(), field(info, Field::SummarizeWal));
    doc.insert("server_information".into(), Value::Object(server_info));
    match ext {
        Some(ext) => super::show_json::copy_done(catalog, info, ext, &mut doc),
        None => {
            if let Some(error) = info.raw(Field::Error).filter(|e| !e.is_empty()) {
                doc.insert("error".into(), Value::String(error.into()));
            }
        }
    }
    Value::Object(doc)
}
